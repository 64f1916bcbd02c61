#include "app/migrate.hpp"

#include <vector>

#include "config/commands.hpp"
#include "domain/url.hpp"
#include "storage/open.hpp"

namespace dutydesk::app {

namespace {

struct schema_state {
  int version = 0;
  std::vector<storage::migration_info> pending;
};

// Opens the store without migrating and reads where its schema stands; the message on failure.
storage::result<schema_state> inspect(const std::string& url) {
  auto store = storage::open_store(url, storage::open_options{false});
  if (!store.ok())
    return store.err();
  auto version = (*store)->schema_version();
  if (!version.ok())
    return version.err();
  auto pending = (*store)->pending_migrations();
  if (!pending.ok())
    return pending.err();
  return schema_state{*version, std::move(*pending)};
}

} // namespace

int migrate(const config::config& cfg, bool check_only, std::ostream& out, std::ostream& err) {
  namespace ec = config::exit_code;
  // The URL may carry a password: it is only ever printed redacted, and storage errors never quote it.
  auto where = domain::redact_url_text(cfg.storage.url);
  auto before = inspect(cfg.storage.url);
  if (!before.ok()) {
    err << "dutydesk migrate: cannot open " << where << ": " << before.err().message << '\n';
    return ec::storage_error;
  }
  if (before->pending.empty()) {
    out << where << ": schema version " << before->version << ", up to date\n";
    return ec::ok;
  }
  if (check_only) {
    out << where << ": schema version " << before->version << ", " << before->pending.size() << " pending:\n";
    for (const auto& m : before->pending)
      out << "  " << m.version << " " << m.name << '\n';
    return ec::migrations_pending;
  }
  // Opening with migrations on applies every pending one in one transaction, or none.
  auto store = storage::open_store(cfg.storage.url, storage::open_options{true});
  if (!store.ok()) {
    err << "dutydesk migrate: cannot migrate " << where << ": " << store.err().message << '\n';
    return ec::storage_error;
  }
  auto version = (*store)->schema_version();
  if (!version.ok()) {
    err << "dutydesk migrate: cannot read the schema of " << where << ": " << version.err().message << '\n';
    return ec::storage_error;
  }
  out << where << ": applied " << before->pending.size() << " migration(s), schema version " << before->version
      << " -> " << *version << '\n';
  return ec::ok;
}

} // namespace dutydesk::app
