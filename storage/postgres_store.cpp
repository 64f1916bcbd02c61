#include "storage/postgres_store.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storage/sql_backend.hpp"

namespace dutydesk::storage {
namespace {

/// One statement parameter in libpq's text format; bytea values are hex ("\x...").
struct pg_param {
  std::string value;
  bool is_null = false;
};

} // namespace
} // namespace dutydesk::storage

namespace pqxx {
template <>
struct string_traits<dutydesk::storage::pg_param> {
  static constexpr const char* name() noexcept { return "dutydesk::storage::pg_param"; }
  static constexpr bool has_null() noexcept { return true; }
  static bool is_null(const dutydesk::storage::pg_param& p) { return p.is_null; }
  static dutydesk::storage::pg_param null() { return {{}, true}; }
  static void from_string(const char str[], dutydesk::storage::pg_param& p) { p = {str, false}; }
  static std::string to_string(const dutydesk::storage::pg_param& p) { return p.value; }
};
} // namespace pqxx

namespace dutydesk::storage {
namespace {

constexpr unsigned bytea_oid = 17;
// Any key: migrations of every dutydesk instance on a database serialise on it.
constexpr long long migration_lock = 0x64757479646b; // "dutydk"

// The first line of a libpq/pqxx message: its DETAIL lines may quote row values.
std::string first_line(const char* what) {
  std::string s{what};
  if (auto nl = s.find('\n'); nl != std::string::npos)
    s.resize(nl);
  return s;
}

// SQLSTATE classes that mean the server went away or refused us for now: 08 connection exception, 57P01..57P03
// admin shutdown / crash shutdown / cannot connect now, 53300 too many connections.
bool lost_connection(const std::string& state) {
  return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03" || state == "53300";
}

std::string to_hex_bytea(const std::string& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (char ch : bytes) {
    auto b = static_cast<unsigned char>(ch);
    out += digits[b >> 4];
    out += digits[b & 0x0f];
  }
  return out;
}

// "?12" → "$12": the statements of sql_store.cpp hold no '?' anywhere else.
std::string dollar_placeholders(const char* sql) {
  std::string out{sql};
  for (auto& ch : out)
    if (ch == '?')
      ch = '$';
  return out;
}

class pg_backend;

class pg_query final : public detail::sql_query {
public:
  pg_query(pg_backend& backend, std::string name, const char* what)
    : backend_(backend), name_(std::move(name)), what_(what) {}

  result<bool> step() override;

  std::int64_t col_i64(int i) const override { return row()[i].as<std::int64_t>(); }
  bool col_null(int i) const override { return row()[i].is_null(); }
  std::string col_str(int i) const override {
    const auto& f = row()[i];
    if (f.is_null())
      return {};
    if (res_.column_type(static_cast<pqxx::row::size_type>(i)) == bytea_oid)
      return pqxx::binarystring{f}.str();
    return std::string{f.c_str(), f.size()};
  }
  std::int64_t changes() const override { return static_cast<std::int64_t>(res_.affected_rows()); }

private:
  void bind_text(const std::string& x) override { params_.push_back({x, false}); }
  void bind_blob(const std::string& x) override { params_.push_back({to_hex_bytea(x), false}); }
  void bind_i64(std::int64_t x) override { params_.push_back({std::to_string(x), false}); }
  void bind_null() override { params_.push_back({{}, true}); }

  pqxx::row row() const { return res_[static_cast<pqxx::result::size_type>(next_ - 1)]; }

  pg_backend& backend_;
  std::string name_;
  const char* what_;
  std::vector<pg_param> params_;
  pqxx::result res_;
  bool ran_ = false;
  std::size_t next_ = 0;
};

class pg_backend final : public detail::sql_backend {
public:
  pg_backend(std::string url, std::span<const migration> migrations)
    : url_(std::move(url)), migrations_(migrations) {}

  ~pg_backend() override { drop(); }

  /// Connects when there is no connection.
  result<void> connect() {
    if (conn_)
      return {};
    return guard("connect to PostgreSQL", [&] {
      conn_ = std::make_unique<pqxx::connection>(url_);
      names_.clear();
    });
  }

  /// Runs `f` and turns what pqxx throws into a storage error; a lost connection is dropped.
  template <class F>
  result<void> guard(const char* what, F f) {
    try {
      f();
      return {};
    } catch (const pqxx::broken_connection& e) {
      drop();
      return error{errc::unavailable, std::string{what} + ": PostgreSQL connection lost: " + first_line(e.what())};
    } catch (const pqxx::in_doubt_error& e) {
      drop();
      return error{errc::unavailable, std::string{what} + ": PostgreSQL connection lost during COMMIT (in doubt): "
                                        + first_line(e.what())};
    } catch (const pqxx::integrity_constraint_violation& e) {
      return error{errc::constraint, std::string{what} + ": " + first_line(e.what())};
    } catch (const pqxx::sql_error& e) {
      if (lost_connection(e.sqlstate())) {
        drop();
        return error{errc::unavailable, std::string{what} + ": PostgreSQL unavailable: " + first_line(e.what())};
      }
      auto code = e.sqlstate() == "40001" || e.sqlstate() == "40P01" ? errc::busy : errc::database;
      return error{code, std::string{what} + ": " + first_line(e.what())};
    } catch (const std::exception& e) {
      // pqxx::failure without a more specific type; a dead socket may also show up here.
      if (conn_ && !conn_->is_open())
        drop();
      return error{conn_ ? errc::database : errc::unavailable, std::string{what} + ": " + first_line(e.what())};
    }
  }

  /// Runs the prepared statement `name` with `params` on the open transaction, or on its own outside one.
  pqxx::result exec(const std::string& name, const std::vector<pg_param>& params) {
    auto args = pqxx::prepare::make_dynamic_params(params);
    if (work_)
      return work_->exec_prepared(name, args);
    pqxx::nontransaction auto_commit{*conn_};
    return auto_commit.exec_prepared(name, args);
  }

  result<void> with(const char* sql, const char* what,
                    const std::function<void(detail::sql_query&)>& body) override {
    if (auto ok = connect(); !ok)
      return ok;
    auto name = names_.find(sql);
    if (name == names_.end()) {
      std::string n = "dd" + std::to_string(names_.size() + 1);
      if (auto ok = guard(what, [&] { conn_->prepare(n, dollar_placeholders(sql)); }); !ok)
        return ok;
      name = names_.emplace(sql, std::move(n)).first;
    }
    pg_query q{*this, name->second, what};
    body(q);
    return {};
  }

  result<void> begin() override {
    if (auto ok = connect(); !ok)
      return ok;
    return guard("begin transaction", [&] { work_ = std::make_unique<pqxx::work>(*conn_); });
  }

  result<void> commit() override {
    if (!work_)
      return error{errc::unavailable, "commit transaction: the PostgreSQL connection was lost"};
    auto ok = guard("commit transaction", [&] { work_->commit(); });
    work_.reset();
    return ok;
  }

  void rollback() override {
    if (!work_)
      return;
    try {
      work_->abort();
    } catch (const std::exception&) {
      drop(); // the server rolls back a transaction whose connection is gone
    }
    work_.reset();
  }

  result<int> schema_version() override {
    auto v = applied();
    if (!v)
      return v.err();
    return v->first;
  }

  result<std::vector<migration_info>> pending_migrations() override {
    auto version = checked_version();
    if (!version)
      return version.err();
    std::vector<migration_info> out;
    for (const auto& m : migrations_.subspan(static_cast<std::size_t>(*version)))
      out.push_back({m.version, std::string{m.name}});
    return out;
  }

  // PostgreSQL keeps its own consistency (constraints are always enforced); what can drift is the schema.
  result<void> check_integrity() override {
    auto version = checked_version();
    if (!version)
      return version.err();
    return {};
  }

  /// Applies the pending migrations in one transaction under the advisory lock; the resulting version.
  result<int> apply_migrations() {
    if (auto ok = connect(); !ok)
      return ok.err();
    int version = 0;
    auto ok = guard("apply migrations", [&] {
      pqxx::work w{*conn_};
      w.exec("SELECT pg_advisory_xact_lock(" + std::to_string(migration_lock) + ")");
      w.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
             "applied_at BIGINT NOT NULL)");
      auto row = w.exec1("SELECT COALESCE(MAX(version), 0), COUNT(*) FROM schema_migrations");
      auto checked = checked_schema_version(row[0].as<int>(), row[1].as<int>(), migrations_);
      if (!checked) {
        failure_ = checked.err();
        return; // the work rolls back as it goes out of scope
      }
      version = *checked;
      auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
      for (const auto& m : migrations_.subspan(static_cast<std::size_t>(version))) {
        w.exec(std::string{m.sql});
        w.exec_params("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", m.version,
                      std::string{m.name}, static_cast<long long>(now));
        version = m.version;
      }
      w.commit();
    });
    if (failure_) {
      auto err = std::move(*failure_);
      failure_.reset();
      return err;
    }
    if (!ok)
      return ok.err();
    return version;
  }

private:
  friend class pg_query;

  // The applied version, checked against the binary's list.
  result<int> checked_version() {
    auto v = applied();
    if (!v)
      return v.err();
    return checked_schema_version(v->first, v->second, migrations_);
  }

  // (newest version, rows) of schema_migrations; (0, 0) when the table does not exist.
  result<std::pair<int, int>> applied() {
    if (auto ok = connect(); !ok)
      return ok.err();
    std::pair<int, int> out{0, 0};
    auto ok = guard("read schema version", [&] {
      auto run = [&](pqxx::transaction_base& t) {
        auto exists = t.exec1("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() "
                              "AND table_name = 'schema_migrations'");
        if (exists[0].as<int>() == 0)
          return;
        auto row = t.exec1("SELECT COALESCE(MAX(version), 0), COUNT(*) FROM schema_migrations");
        out = {row[0].as<int>(), row[1].as<int>()};
      };
      if (work_) {
        run(*work_);
      } else {
        pqxx::nontransaction t{*conn_};
        run(t);
      }
    });
    if (!ok)
      return ok.err();
    return out;
  }

  void drop() {
    work_.reset();
    names_.clear();
    conn_.reset();
  }

  std::string url_;
  std::span<const migration> migrations_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::work> work_;
  std::unordered_map<const char*, std::string> names_; // prepared on conn_, by the address of their SQL
  std::optional<error> failure_;
};

result<bool> pg_query::step() {
  if (!ran_) {
    ran_ = true;
    if (!backend_.conn_)
      return error{errc::unavailable, std::string{what_} + ": the PostgreSQL connection was lost"};
    if (auto ok = backend_.guard(what_, [&] { res_ = backend_.exec(name_, params_); }); !ok)
      return ok.err();
  }
  if (next_ >= res_.size())
    return false;
  ++next_;
  return true;
}

std::vector<std::string> translated_sql() {
  std::vector<std::string> out;
  for (const auto& m : sqlite_migrations())
    out.push_back(postgres_sql(m.sql));
  return out;
}

} // namespace

std::string postgres_sql(std::string_view sqlite_sql) {
  static const std::regex autoincrement{R"(\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b)"};
  static const std::regex blob{R"(\bBLOB\b)"};
  std::string s{sqlite_sql};
  s = std::regex_replace(s, autoincrement, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
  s = std::regex_replace(s, blob, "BYTEA");
  return s;
}

std::span<const migration> postgres_migrations() {
  static const std::vector<std::string> sql = translated_sql();
  static const std::vector<migration> list = [] {
    std::vector<migration> out;
    auto src = sqlite_migrations();
    for (std::size_t i = 0; i < src.size(); ++i)
      out.push_back({src[i].version, src[i].name, sql[i]});
    return out;
  }();
  return list;
}

result<std::unique_ptr<store>> open_postgres(const std::string& url, const postgres_options& opts) {
  auto list = opts.migrations.empty() ? postgres_migrations() : opts.migrations;
  auto backend = std::make_unique<pg_backend>(url, list);
  if (auto ok = backend->connect(); !ok)
    return ok.err();
  bool ready = true;
  if (opts.apply_migrations) {
    auto v = backend->apply_migrations();
    if (!v)
      return v.err();
  } else {
    auto pending = backend->pending_migrations();
    if (!pending)
      return pending.err();
    ready = pending->empty();
  }
  return detail::make_sql_store(std::move(backend), ready);
}

} // namespace dutydesk::storage
