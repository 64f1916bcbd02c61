// Fuzzes the config loader: config::load_config_text on the input as YAML, and load_config on the same bytes in a
// temp file, with a fixed environment whose secret values (SECRET, RC_TOKEN, ...) must never show.
// Invariants (config/load.hpp, config/config.hpp):
//   - nothing throws (every problem is a diagnostic);
//   - ok() exactly when there are no diagnostics; each one names the file, has a 1-based line within the text and a
//     column, a non-empty message, and format() gives "FILE:LINE:COL: message"; they are sorted by position;
//   - loading the file gives what loading the text gave (same diagnostics, the path as FILE);
//   - no message and no redacted_summary shows a value that came from ${ENV}, nor a value written under a secret key
//     (auth_token, password, token, webhook_secret, secret) when that value appears nowhere else;
//   - a loaded config holds what config.hpp promises: statuses resolve, durations are positive, names are unique,
//     the realtime URL parses, a CA file can be opened.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <set>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "config/load.hpp"
#include "domain/url.hpp"
#include "fuzz/support/check.hpp"

namespace {

using ::dutydesk::fuzz::fail;

using namespace dutydesk;
using namespace dutydesk::config;

constexpr std::string_view env_secret = "EnvSecretValue9931";
constexpr std::string_view literal_secret = "LitSecret4471";
const std::string display_name = "fuzz.yaml";

const env_lookup& env() {
  // SECRET plus the variables the example config (corpus/config/example.yaml) uses, all holding the value that
  // must never show; RC_URL, PORT and EMPTY give the loader ordinary values to work with.
  static const env_lookup e = [] {
    const std::string v(env_secret);
    return map_env({{"SECRET", v},
                    {"RC_USER_ID", v},
                    {"RC_TOKEN", v},
                    {"JIRA_TOKEN", v},
                    {"JIRA_WEBHOOK_SECRET", v},
                    {"ONCALL_TOKEN", v},
                    {"DUTYDESK_HOOK_SECRET", v},
                    {"RC_URL", "http://127.0.0.1:3000"},
                    {"PORT", "8090"},
                    {"EMPTY", ""}});
  }();
  return e;
}

const std::string& temp_path() {
  static const std::string path = [] {
    // Under $TMPDIR, which scripts/fuzz.sh points at its own temp dir (removed afterwards).
    const char* dir = std::getenv("TMPDIR");
    std::string name = std::string(dir && *dir ? dir : "/tmp") + "/fuzz_config_XXXXXX";
    int fd = mkstemp(name.data());
    if (fd < 0)
      fail("mkstemp", name);
    close(fd);
    std::atexit([] { std::remove(temp_path().c_str()); });
    return name;
  }();
  return path;
}

bool is_secret_key(const std::string& k) {
  return k == "auth_token" || k == "password" || k == "token" || k == "webhook_secret" || k == "secret";
}

// True when every scalar (key or value) holding the literal marker is the direct value of a secret key, outside any
// ${NAME}; then the marker is a secret wherever the loader shows things. Aliases are visited where they are used. Depth is bounded
// by the text (yaml-cpp limits nesting), and anchors can make a graph with cycles, so visits are bounded too.
struct marker_walk {
  bool only_secret = true;
  bool seen = false;
  std::size_t budget = 200000;

  void visit(const YAML::Node& n, bool under_secret_key, int depth) {
    if (!only_secret || budget == 0 || depth > 300) {
      only_secret = false;
      return;
    }
    --budget;
    switch (n.Type()) {
      case YAML::NodeType::Scalar:
        if (n.Scalar().find(literal_secret) != std::string::npos) {
          seen = true;
          // Inside a ${NAME} reference it is a variable name, which messages may show ("... is not set").
          if (!under_secret_key || n.Scalar().find("${") != std::string::npos)
            only_secret = false;
        }
        break;
      case YAML::NodeType::Sequence:
        for (const auto& x : n)
          visit(x, false, depth + 1);
        break;
      case YAML::NodeType::Map:
        for (auto it = n.begin(); it != n.end(); ++it) {
          const YAML::Node k = it->first;
          const YAML::Node v = it->second;
          visit(k, false, depth + 1);
          visit(v, k.IsScalar() && is_secret_key(k.Scalar()), depth + 1);
        }
        break;
      default:
        break;
    }
  }
};

// Whether the literal marker must stay hidden: it is in the text, and only as secret values.
bool literal_marker_is_secret(std::string_view text) {
  if (text.find(literal_secret) == std::string_view::npos && text.find('\\') == std::string_view::npos)
    return false; // cannot be in any value (a double-quoted escape could spell it, hence the backslash test)
  try {
    auto root = YAML::Load(std::string(text));
    marker_walk w;
    w.visit(root, false, 0);
    return w.seen && w.only_secret;
  } catch (const std::exception&) {
    return false; // the loader reports invalid YAML without quoting values
  }
}

void check_hidden(std::string_view shown, std::string_view text, bool literal_hidden, const char* where) {
  // ${SECRET}'s value may show only when the text itself spells it (or might, through an escape).
  if (text.find(env_secret) == std::string_view::npos && text.find('\\') == std::string_view::npos)
    if (shown.find(env_secret) != std::string_view::npos)
      fail(where, shown);
  if (literal_hidden && shown.find(literal_secret) != std::string_view::npos)
    fail(where, shown);
}

std::size_t line_count(std::string_view text) {
  // yaml-cpp breaks lines at \n, \r\n and \r; counting both characters over-estimates, which is fine for a bound.
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) +
         static_cast<std::size_t>(std::count(text.begin(), text.end(), '\r'));
}

void check_diagnostics(const load_result& r, const std::string& file, std::string_view text) {
  CHECK(r.ok() == r.diagnostics.empty());
  const auto lines = line_count(text);
  for (std::size_t i = 0; i < r.diagnostics.size(); ++i) {
    const auto& d = r.diagnostics[i];
    CHECK(d.file == file, d.file);
    CHECK(d.line >= 1 && d.col >= 1, d.message);
    CHECK(static_cast<std::size_t>(d.line) <= lines, format(d));
    CHECK(!d.message.empty(), format(d));
    CHECK(format(d) == file + ":" + std::to_string(d.line) + ":" + std::to_string(d.col) + ": " + d.message);
    if (i > 0) {
      const auto& p = r.diagnostics[i - 1];
      const bool sorted = p.line < d.line || (p.line == d.line && p.col <= d.col);
      CHECK(sorted, format(d));
    }
  }
}

void check_config(const dutydesk::config::config& c) {
  CHECK(!c.statuses.empty());
  std::set<std::string> ids;
  bool any_final = false;
  for (const auto& s : c.statuses) {
    CHECK(!s.id.empty() && ids.insert(s.id).second, s.id);
    CHECK(!s.label.empty(), s.id);
    any_final = any_final || s.final;
  }
  CHECK(any_final);
  const auto* initial = c.find_status(c.initial_status);
  CHECK(initial && !initial->final, c.initial_status);

  CHECK(!c.channels.empty());
  std::set<std::string> rooms, teams, services;
  for (const auto& ch : c.channels) {
    CHECK(!ch.room.empty() && rooms.insert(ch.room).second, ch.room);
    CHECK(!ch.team.empty() && teams.insert(ch.team).second, ch.team);
    for (const auto& s : ch.services)
      CHECK(!s.empty() && services.insert(s).second, s);
    const auto* st = c.find_status(ch.default_status);
    CHECK(st && !st->final, ch.default_status);
    CHECK(ch.remind_after.count() > 0);
    CHECK(!ch.jira.project.empty() && !ch.oncall.schedule_id.empty(), ch.room);
    CHECK(c.find_channel(ch.room) == &ch, ch.room);
  }

  CHECK(!c.rocketchat.url.empty());
  auto ws = domain::parse_url(c.rocketchat.realtime_url);
  CHECK(ws.ok() && (ws->scheme == "ws" || ws->scheme == "wss"), c.rocketchat.realtime_url);
  if (c.rocketchat.auth == rocketchat_auth::token)
    CHECK(!c.rocketchat.user_id.empty() && !c.rocketchat.auth_token.empty());
  else
    CHECK(!c.rocketchat.username.empty() && !c.rocketchat.password.empty());
  CHECK(!c.jira.url.empty() && !c.jira.auth.token.empty() && !c.jira.webhook_secret.empty());
  CHECK(c.jira.auth.type != jira_auth_type::basic || !c.jira.auth.user.empty());
  CHECK(!c.jira.poll_interval || c.jira.poll_interval->count() > 0);
  CHECK(!c.oncall.url.empty() && !c.oncall.token.empty());
  if (c.storage.kind == storage_kind::sqlite)
    CHECK(c.storage.path.size() >= 2 && c.storage.path.front() == '/', c.storage.path);
  else
    CHECK(!c.storage.conninfo.empty());
  if (c.events) {
    CHECK(c.events->duplicate_window.count() > 0);
    CHECK(!c.events->nats_url.empty() || !c.events->webhooks.empty());
    CHECK(!c.events->subject_prefix.empty() && !c.events->stream.empty() && !c.events->source.empty());
  }
  CHECK(c.feedback.expire_after.count() > 0);
  CHECK(c.tls.ca_file.empty() || std::ifstream(c.tls.ca_file), c.tls.ca_file);
  std::set<std::string> users;
  for (const auto& u : c.users)
    CHECK(users.insert(u.rocketchat).second, u.rocketchat);
}

bool same(const load_result& a, const load_result& b) {
  if (a.ok() != b.ok() || a.diagnostics.size() != b.diagnostics.size())
    return false;
  for (std::size_t i = 0; i < a.diagnostics.size(); ++i) {
    const auto& x = a.diagnostics[i];
    const auto& y = b.diagnostics[i];
    if (x.line != y.line || x.col != y.col || x.message != y.message)
      return false;
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto r = load_config_text(text, display_name, env());
    check_diagnostics(r, display_name, text);
    const bool literal_hidden = literal_marker_is_secret(text);
    for (const auto& d : r.diagnostics)
      check_hidden(d.message, text, literal_hidden, "diagnostic shows a secret");
    if (r.ok()) {
      check_config(*r.value);
      check_hidden(redacted_summary(*r.value), text, literal_hidden, "summary shows a secret");
    }

    // The same bytes from a file.
    const auto& path = temp_path();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    CHECK(f != nullptr, path);
    CHECK(size == 0 || std::fwrite(data, 1, size, f) == size, path);
    std::fclose(f);
    auto from_file = load_config(path, env());
    check_diagnostics(from_file, path, text);
    CHECK(same(r, from_file), text);
  } catch (const std::exception& e) {
    fail("exception escaped", e.what());
  } catch (...) {
    fail("non-standard exception escaped");
  }
  return 0;
}
