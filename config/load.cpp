#include "config/load.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "domain/duration.hpp"
#include "domain/url.hpp"

namespace dutydesk::config {

std::string format(const diagnostic& d) {
  return d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.col) + ": " + d.message;
}

env_lookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* value = std::getenv(name.c_str()))
      return std::string{value};
    return std::nullopt;
  };
}

env_lookup map_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    if (auto it = vars.find(name); it != vars.end())
      return it->second;
    return std::nullopt;
  };
}

namespace {

using YAML::Node;
using keys = std::vector<std::string>;

// -- small text helpers ------------------------------------------------------------------------------------------

std::string lower(std::string_view s) {
  std::string result{s};
  for (auto& c : result)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return result;
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent transpositions cost 1.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      auto cost = a[i - 1] == b[j - 1] ? 0u : 1u;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

/// The candidate `word` was most likely meant to be, if any is close enough.
std::optional<std::string> closest(std::string_view word, const keys& candidates) {
  auto w = lower(word);
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const auto& c : candidates) {
    auto d = edit_distance(w, c);
    // A prefix of at least 3 characters ("remind" for "remind_after") also counts as close.
    if (w.size() >= 3 && c.size() > w.size() && c.compare(0, w.size(), w) == 0)
      d = std::min<std::size_t>(d, 1);
    if (d <= 2 && d * 2 <= std::max<std::size_t>(w.size(), 2) && (!best || d < best_distance)) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string join(const keys& xs, std::string_view sep = ", ") {
  std::string result;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      result += sep;
    result += xs[i];
  }
  return result;
}

/// "a", "a or b", "a, b or c".
std::string join_or(const keys& xs) {
  std::string result;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      result += i + 1 == xs.size() ? " or " : ", ";
    result += xs[i];
  }
  return result;
}

std::string kind_name(const Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a single value";
    default:
      return "nothing";
  }
}

bool has_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_status_id(std::string_view s) {
  if (s.empty() || !is_lower(s.front()))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_lower(c) || is_digit(c) || c == '_' || c == '-'; });
}

bool is_emoji(std::string_view s) {
  if (s.size() < 3 || s.front() != ':' || s.back() != ':')
    return false;
  auto name = s.substr(1, s.size() - 2);
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return is_lower(c) || is_digit(c) || c == '_' || c == '+' || c == '-'; });
}

bool is_project_key(std::string_view s) {
  if (s.empty() || !is_upper(s.front()))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_upper(c) || is_digit(c) || c == '_'; });
}

/// NATS subject tokens: no spaces, wildcards or empty tokens.
bool is_subject_prefix(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.' || s.find("..") != std::string_view::npos)
    return false;
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '*' || c == '>' || c == ' ' || c == '\t'; });
}

bool is_secret_key(std::string_view key) {
  return key == "auth_token" || key == "password" || key == "token" || key == "webhook_secret" || key == "secret";
}

// -- ${ENV} expansion --------------------------------------------------------------------------------------------

struct expansion {
  std::string value;
  std::vector<std::string> names; // every referenced variable
  std::vector<std::string> unset; // referenced but not set
  bool malformed = false;
};

bool is_env_name(std::string_view s) {
  if (s.empty() || is_digit(s.front()))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_upper(c) || is_lower(c) || is_digit(c) || c == '_'; });
}

/// Replaces every ${NAME} in `text`; "$${" is a literal "${".
expansion expand(std::string_view text, const env_lookup& env) {
  expansion result;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      result.value += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      result.value += text[i++];
      continue;
    }
    auto close = text.find('}', i + 2);
    auto name = close == std::string_view::npos ? std::string_view{} : text.substr(i + 2, close - i - 2);
    if (!is_env_name(name)) {
      result.malformed = true;
      return result;
    }
    std::string n{name};
    result.names.push_back(n);
    if (auto value = env(n))
      result.value += *value;
    else
      result.unset.push_back(n);
    i = close + 1;
  }
  return result;
}

// -- the loader --------------------------------------------------------------------------------------------------

/// One key of a YAML map.
struct entry {
  std::string key;
  Node key_node;
  Node value;
};

/// A YAML map whose keys were checked against the allowed ones.
struct section {
  std::string path; // "" for the top level, "jira", "channels[0].oncall", ...
  YAML::Mark mark;  // of the map (or of its key when the map is empty)
  std::vector<entry> entries;

  const entry* find(std::string_view key) const {
    for (const auto& e : entries)
      if (e.key == key)
        return &e;
    return nullptr;
  }
  bool has(std::string_view key) const { return find(key) != nullptr; }
  std::string child(std::string_view key) const { return path.empty() ? std::string{key} : path + "." + std::string{key}; }
  std::string in() const { return path.empty() ? "" : " in " + path; }
};

/// A scalar after ${ENV} expansion.
struct scalar {
  std::string value;
  YAML::Mark mark;
  std::string path;
  std::vector<std::string> env; // variables it came from; non-empty makes it a secret
  bool secret = false;          // from env, or the value of a secret key
};

/// How a message may quote `s`: " 'value'", " (from ${NAME})" or nothing for a secret.
std::string quote(const scalar& s) {
  if (!s.env.empty()) {
    std::string names;
    for (const auto& n : s.env)
      names += (names.empty() ? "${" : ", ${") + n + "}";
    return " (from " + names + ")";
  }
  if (s.secret)
    return "";
  return " '" + s.value + "'";
}

/// Like quote, for URLs: a password inside the URL is masked.
std::string quote_url(const scalar& s) {
  if (!s.env.empty() || s.secret)
    return quote(s);
  return " '" + domain::redact_url_text(s.value) + "'";
}

std::string trim_trailing_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/' && s.find("://") + 3 < s.size() - 1)
    s.pop_back();
  return s;
}

enum class url_kind { http, nats, storage };

class loader {
public:
  loader(std::string file, const env_lookup& env) : file_(std::move(file)), env_(env) {}

  std::vector<diagnostic> diagnostics;
  config cfg;

  void error(const YAML::Mark& m, std::string message) {
    int line = m.line < 0 ? 1 : m.line + 1;
    int col = m.column < 0 ? 1 : m.column + 1;
    diagnostics.push_back({file_, line, col, std::move(message)});
  }

  void load(const Node& root) {
    YAML::Mark start; // 0:0, i.e. 1:1
    auto top = open(root, start, "", {"rocketchat", "jira", "oncall", "storage", "events", "http", "metrics",
                                      "tls", "statuses", "initial_status", "channels", "feedback", "users",
                                      "language"});
    if (!top)
      return;
    load_rocketchat(*top);
    load_jira(*top);
    load_oncall(*top);
    load_storage(*top);
    load_events(*top);
    load_listeners(*top);
    load_tls(*top);
    load_statuses(*top);
    load_channels(*top);
    load_feedback(*top);
    load_users(*top);
    enumeration(*top, "language", {{"en", ui_language::en}, {"ru", ui_language::ru}}, cfg.language);
  }

private:
  std::string file_;
  const env_lookup& env_;
  // Follow-on errors of one already reported are suppressed. statuses_complete_ is false when a status item was
  // dropped or its `final` is unknown: the checks over the whole list are skipped. status_ids_complete_ is false
  // when an item's id is missing or invalid: a reference to an unknown id might mean that one, so it is not reported.
  bool statuses_complete_ = true;
  bool status_ids_complete_ = true;

  // -- structure ---------------------------------------------------------------------------------------------------

  /// Opens `n` as a map with the allowed `names`; reports unknown and duplicate keys. A null node is an empty map
  /// at `fallback`. Reports and returns nullopt when `n` is not a map.
  std::optional<section> open(const Node& n, const YAML::Mark& fallback, std::string path, const keys& names) {
    section s{std::move(path), fallback, {}};
    if (!n.IsDefined() || n.IsNull())
      return s;
    if (!n.IsMap()) {
      error(n.Mark(), (s.path.empty() ? std::string{"the top level"} : s.path) + ": expected a map, got " +
                        kind_name(n));
      return std::nullopt;
    }
    s.mark = n.Mark();
    for (auto it = n.begin(); it != n.end(); ++it) {
      // yaml-cpp's iterator hands out a temporary pair: copy the nodes (handles) out of it, never bind references.
      const Node k = it->first;
      const Node v = it->second;
      if (!k.IsScalar()) {
        error(k.Mark(), "keys must be plain names" + s.in());
        continue;
      }
      const auto& key = k.Scalar();
      if (const auto* first = s.find(key)) {
        error(k.Mark(), "duplicate key '" + key + "'" + s.in() + " (first at line " +
                          std::to_string(first->key_node.Mark().line + 1) + ")");
        continue;
      }
      if (std::find(names.begin(), names.end(), key) == names.end()) {
        auto message = "unknown key '" + key + "'" + s.in();
        if (auto guess = closest(key, names))
          message += "; did you mean '" + *guess + "'?";
        else
          message += "; expected one of: " + join(names);
        error(k.Mark(), message);
        continue;
      }
      s.entries.push_back({key, k, v});
    }
    return s;
  }

  void missing(const section& s, std::string_view key) {
    error(s.mark, "missing required key '" + std::string{key} + "'" + s.in());
  }

  /// The sub-map `key` of `parent`; nullopt when absent (reported if `required`) or not a map.
  std::optional<section> sub(const section& parent, std::string_view key, bool required, const keys& names) {
    const auto* e = parent.find(key);
    if (!e) {
      if (required)
        missing(parent, key);
      return std::nullopt;
    }
    return open(e->value, e->key_node.Mark(), parent.child(key), names);
  }

  /// The items of list `key`, with their paths; nullopt when absent (reported if `required`) or not a list.
  std::optional<std::vector<std::pair<Node, std::string>>> list(const section& parent, std::string_view key,
                                                                bool required, YAML::Mark* key_mark = nullptr) {
    const auto* e = parent.find(key);
    if (!e) {
      if (required)
        missing(parent, key);
      return std::nullopt;
    }
    if (key_mark)
      *key_mark = e->key_node.Mark();
    std::vector<std::pair<Node, std::string>> items;
    if (e->value.IsNull())
      return items;
    if (!e->value.IsSequence()) {
      error(e->value.Mark(), parent.child(key) + ": expected a list, got " + kind_name(e->value));
      return std::nullopt;
    }
    std::size_t i = 0;
    for (const auto& item : e->value)
      items.emplace_back(item, parent.child(key) + "[" + std::to_string(i++) + "]");
    return items;
  }

  /// A list item opened as a map.
  std::optional<section> item_section(const Node& item, const std::string& path, const YAML::Mark& list_mark,
                                      const keys& names) {
    if (item.IsNull()) {
      error(item.Mark().line < 0 ? list_mark : item.Mark(), path + ": expected a map, got nothing");
      return std::nullopt;
    }
    return open(item, list_mark, path, names);
  }

  // -- scalars -----------------------------------------------------------------------------------------------------

  /// `v` as an expanded scalar; reports null, non-scalar, malformed and unset ${ENV} references.
  std::optional<scalar> read(const Node& v, const YAML::Mark& key_mark, const std::string& path, bool secret_key) {
    if (v.IsNull()) {
      error(key_mark, path + ": missing value");
      return std::nullopt;
    }
    if (!v.IsScalar()) {
      error(v.Mark(), path + ": expected a single value, got " + kind_name(v));
      return std::nullopt;
    }
    auto x = expand(v.Scalar(), env_);
    if (x.malformed) {
      error(v.Mark(), path + ": malformed ${...} reference (write ${NAME} with letters, digits and _; $${ is a literal ${)");
      return std::nullopt;
    }
    if (!x.unset.empty()) {
      for (const auto& name : x.unset)
        error(v.Mark(), path + ": environment variable " + name + " is not set");
      return std::nullopt;
    }
    if (!x.names.empty())
      cfg.from_env.insert(path);
    scalar s{std::move(x.value), v.Mark(), path, std::move(x.names), false};
    s.secret = secret_key || !s.env.empty();
    return s;
  }

  /// The scalar at `key`; nullopt when absent (reported if `required`) or invalid (reported).
  std::optional<scalar> field(const section& s, std::string_view key, bool required) {
    const auto* e = s.find(key);
    if (!e) {
      if (required)
        missing(s, key);
      return std::nullopt;
    }
    return read(e->value, e->key_node.Mark(), s.child(key), is_secret_key(key));
  }

  /// A non-empty string at `key`.
  std::optional<scalar> text(const section& s, std::string_view key, bool required) {
    auto v = field(s, key, required);
    if (v && v->value.empty()) {
      error(v->mark, v->path + ": must not be empty");
      return std::nullopt;
    }
    return v;
  }

  void text_into(const section& s, std::string_view key, bool required, std::string& out) {
    if (auto v = text(s, key, required))
      out = v->value;
  }

  void text_into(const section& s, std::string_view key, std::optional<std::string>& out) {
    if (auto v = text(s, key, false))
      out = v->value;
  }

  /// Reads an optional boolean into `out`; false when the value was invalid (reported).
  bool boolean(const section& s, std::string_view key, bool& out) {
    const auto* e = s.find(key);
    if (!e)
      return true;
    auto v = read(e->value, e->key_node.Mark(), s.child(key), false);
    if (!v)
      return false;
    if (v->value == "true" || v->value == "True" || v->value == "TRUE")
      out = true;
    else if (v->value == "false" || v->value == "False" || v->value == "FALSE")
      out = false;
    else {
      error(v->mark, v->path + ": expected true or false, got" + quote(*v));
      return false;
    }
    return true;
  }

  /// A positive duration at `key`.
  std::optional<milliseconds> duration(const section& s, std::string_view key) {
    auto v = field(s, key, false);
    if (!v)
      return std::nullopt;
    auto d = domain::parse_duration(v->value);
    if (!d) {
      error(v->mark, v->path + ": invalid duration" + quote(*v) + ": " + d.error());
      return std::nullopt;
    }
    if (d->count() == 0) {
      error(v->mark, v->path + ": must be longer than 0");
      return std::nullopt;
    }
    return *d;
  }

  template <class E>
  void enumeration(const section& s, std::string_view key, const std::vector<std::pair<std::string, E>>& options,
                   E& out) {
    auto v = field(s, key, false);
    if (!v)
      return;
    keys names;
    for (const auto& [name, value] : options) {
      if (name == v->value) {
        out = value;
        return;
      }
      names.push_back(name);
    }
    error(v->mark, v->path + ": unknown value" + quote(*v) + "; expected " + join_or(names));
  }

  /// A URL at `key` that fits `kind`; nullopt when absent or invalid (reported).
  std::optional<std::pair<scalar, domain::url>> url(const section& s, std::string_view key, bool required,
                                                    url_kind kind) {
    auto v = field(s, key, required);
    if (!v)
      return std::nullopt;
    auto fail = [&](const std::string& reason) {
      error(v->mark, v->path + ": invalid URL" + quote_url(*v) + ": " + reason);
      return std::nullopt;
    };
    auto u = domain::parse_url(v->value);
    if (!u)
      return fail(u.error());
    switch (kind) {
      case url_kind::http:
        if (u->scheme != "http" && u->scheme != "https")
          return fail("scheme must be http or https");
        if (!u->user.empty())
          return fail("credentials do not belong in this URL; use the auth keys");
        if (u->has_query || u->has_fragment)
          return fail("a base URL has no query or fragment");
        break;
      case url_kind::nats:
        if (u->scheme != "nats" && u->scheme != "tls")
          return fail("scheme must be nats (or tls)");
        break;
      case url_kind::storage:
        if (u->scheme == "sqlite") {
          if (!u->host.empty() || u->port || !u->user.empty())
            return fail("a sqlite URL has no host; write sqlite:///absolute/path.db");
          if (u->path.size() < 2 || u->path.back() == '/')
            return fail("missing database file path; write sqlite:///absolute/path.db");
          return std::pair{std::move(*v), *u};
        }
        if (u->scheme != "postgresql" && u->scheme != "postgres")
          return fail("scheme must be sqlite or postgresql");
        break;
    }
    if (u->host.empty())
      return fail("missing host");
    return std::pair{std::move(*v), *u};
  }

  void listen(const section& s, domain::host_port& out) {
    auto v = field(s, "listen", false);
    if (!v)
      return;
    auto hp = domain::parse_host_port(v->value);
    if (!hp) {
      error(v->mark, v->path + ": invalid listen address" + quote(*v) + ": " + hp.error());
      return;
    }
    out = *hp;
  }

  /// A list of non-empty names; a leading '@' is dropped (operators copy "@alice" from the chat).
  std::vector<std::string> names(const section& s, std::string_view key, std::vector<scalar>* raw = nullptr) {
    std::vector<std::string> result;
    auto items = list(s, key, false);
    if (!items)
      return result;
    for (const auto& [node, path] : *items) {
      const auto* e = s.find(key);
      auto v = read(node, e->key_node.Mark(), path, false);
      if (!v)
        continue;
      auto name = v->value;
      if (!name.empty() && name.front() == '@')
        name.erase(0, 1);
      if (name.empty() || has_space(name)) {
        error(v->mark, path + ": invalid name" + quote(*v) + ": must be non-empty, without spaces");
        continue;
      }
      result.push_back(name);
      if (raw)
        raw->push_back(*v);
    }
    return result;
  }

  // -- sections ----------------------------------------------------------------------------------------------------

  void load_rocketchat(const section& top) {
    auto s = sub(top, "rocketchat", true, {"url", "user_id", "auth_token", "username", "password"});
    if (!s)
      return;
    auto& rc = cfg.rocketchat;
    if (auto u = url(*s, "url", true, url_kind::http)) {
      rc.url = trim_trailing_slash(u->first.value);
      auto path = u->second.path;
      while (!path.empty() && path.back() == '/')
        path.pop_back();
      domain::url ws = u->second;
      ws.scheme = ws.scheme == "https" ? "wss" : "ws";
      ws.path = path + "/websocket";
      rc.realtime_url = domain::to_string(ws);
      if (!u->first.env.empty())
        cfg.from_env.insert("rocketchat.realtime_url");
    }
    bool token = s->has("user_id") || s->has("auth_token");
    bool password = s->has("username") || s->has("password");
    if (token && password) {
      error(s->mark, "rocketchat: give either user_id + auth_token or username + password, not both");
    } else if (password) {
      rc.auth = rocketchat_auth::password;
      text_into(*s, "username", true, rc.username);
      text_into(*s, "password", true, rc.password);
    } else if (token) {
      rc.auth = rocketchat_auth::token;
      text_into(*s, "user_id", true, rc.user_id);
      text_into(*s, "auth_token", true, rc.auth_token);
    } else {
      error(s->mark, "missing required keys 'user_id' and 'auth_token' (or 'username' and 'password') in rocketchat");
    }
  }

  void load_jira(const section& top) {
    auto s = sub(top, "jira", true, {"url", "flavor", "auth", "webhook_secret", "service_field", "poll_interval"});
    if (!s)
      return;
    auto& j = cfg.jira;
    if (auto u = url(*s, "url", true, url_kind::http))
      j.url = trim_trailing_slash(u->first.value);
    enumeration(*s, "flavor", {{"datacenter", jira_flavor::datacenter}, {"cloud", jira_flavor::cloud}}, j.flavor);
    if (auto a = sub(*s, "auth", true, {"type", "token", "user"})) {
      enumeration(*a, "type", {{"bearer", jira_auth_type::bearer}, {"basic", jira_auth_type::basic}}, j.auth.type);
      text_into(*a, "token", true, j.auth.token);
      if (j.auth.type == jira_auth_type::basic)
        text_into(*a, "user", true, j.auth.user);
      else if (const auto* e = a->find("user"))
        error(e->key_node.Mark(), "jira.auth.user: only used with type: basic");
    }
    text_into(*s, "webhook_secret", true, j.webhook_secret);
    if (auto v = text(*s, "service_field", false)) {
      if (has_space(v->value))
        error(v->mark, v->path + ": invalid field id" + quote(*v) + ": write a field id such as customfield_10100");
      else
        j.service_field = v->value;
    }
    j.poll_interval = duration(*s, "poll_interval");
  }

  void load_oncall(const section& top) {
    auto s = sub(top, "oncall", true, {"url", "token", "grafana_url"});
    if (!s)
      return;
    if (auto u = url(*s, "url", true, url_kind::http))
      cfg.oncall.url = trim_trailing_slash(u->first.value);
    text_into(*s, "token", true, cfg.oncall.token);
    if (auto u = url(*s, "grafana_url", false, url_kind::http))
      cfg.oncall.grafana_url = trim_trailing_slash(u->first.value);
  }

  void load_storage(const section& top) {
    auto s = sub(top, "storage", false, {"url"});
    if (s) {
      if (auto u = url(*s, "url", false, url_kind::storage))
        cfg.storage.url = u->first.value;
      else if (s->has("url"))
        return; // reported
    }
    auto u = domain::parse_url(cfg.storage.url);
    if (!u)
      return;
    if (u->scheme == "sqlite") {
      cfg.storage.kind = storage_kind::sqlite;
      cfg.storage.path = u->path;
    } else {
      cfg.storage.kind = storage_kind::postgresql;
      cfg.storage.conninfo = cfg.storage.url;
      if (cfg.from_env.count("storage.url") != 0)
        cfg.from_env.insert("storage.conninfo");
    }
  }

  void load_events(const section& top) {
    auto s = sub(top, "events", false,
                 {"nats_url", "subject_prefix", "stream", "duplicate_window", "source", "webhooks"});
    if (!s)
      return;
    events_config ev;
    if (auto u = url(*s, "nats_url", false, url_kind::nats))
      ev.nats_url = u->first.value;
    if (auto v = text(*s, "stream", false)) {
      if (v->value.empty() || v->value.find_first_of(" .*>\t") != std::string::npos)
        error(v->mark, v->path + ": invalid JetStream stream name" + quote(*v) +
                         ": no spaces, '.', '*' or '>'");
      else
        ev.stream = v->value;
    }
    if (auto d = duration(*s, "duplicate_window"))
      ev.duplicate_window = *d;
    if (auto v = text(*s, "source", false)) {
      if (v->value.empty())
        error(v->mark, v->path + ": the CloudEvents source must not be empty");
      else
        ev.source = v->value;
    }
    YAML::Mark list_mark = s->mark;
    if (auto items = list(*s, "webhooks", false, &list_mark)) {
      for (const auto& [node, path] : *items) {
        auto w = item_section(node, path, list_mark, {"url", "secret"});
        if (!w)
          continue;
        event_webhook hook;
        if (auto u = url(*w, "url", true, url_kind::http))
          hook.url = u->first.value;
        if (auto sec = text(*w, "secret", true)) {
          if (sec->value.empty())
            error(sec->mark, sec->path + ": the webhook secret must not be empty");
          hook.secret = sec->value;
        }
        ev.webhooks.push_back(std::move(hook));
      }
    }
    // A key that is present but invalid has its own error already.
    if (!s->has("nats_url") && !s->has("webhooks"))
      error(s->mark, s->path + ": set nats_url, webhooks or both");
    if (auto v = text(*s, "subject_prefix", false)) {
      if (!is_subject_prefix(v->value))
        error(v->mark, v->path + ": invalid NATS subject prefix" + quote(*v) +
                         ": use tokens separated by '.', without spaces, '*' or '>'");
      else
        ev.subject_prefix = v->value;
    }
    cfg.events = std::move(ev);
  }

  void load_tls(const section& top) {
    auto s = sub(top, "tls", false, {"ca_file"});
    if (!s)
      return;
    auto v = text(*s, "ca_file", false);
    if (!v)
      return;
    std::ifstream in{v->value};
    if (!in) {
      error(v->mark, v->path + ": cannot read the CA file" + quote(*v));
      return;
    }
    cfg.tls.ca_file = v->value;
  }

  void load_listeners(const section& top) {
    if (auto s = sub(top, "http", false, {"listen"}))
      listen(*s, cfg.http.listen);
    if (auto s = sub(top, "metrics", false, {"listen"})) {
      listen(*s, cfg.metrics.listen);
      if (cfg.metrics.listen == cfg.http.listen && cfg.http.listen.port != 0)
        if (const auto* e = s->find("listen"))
          error(e->value.Mark(), "metrics.listen: must differ from http.listen");
    }
  }

  /// `v` must name a configured status that is not final.
  void status_reference(const scalar& v, std::string& out) {
    // Ids that came from ${ENV} are secrets: never suggested, listed as ***.
    keys ids, suggestible;
    for (std::size_t i = 0; i < cfg.statuses.size(); ++i) {
      bool secret = cfg.from_env.count("statuses[" + std::to_string(i) + "].id") != 0;
      ids.push_back(secret ? "***" : cfg.statuses[i].id);
      if (!secret)
        suggestible.push_back(cfg.statuses[i].id);
    }
    const auto* st = cfg.find_status(v.value);
    if (!st && !status_ids_complete_)
      return;
    if (!st) {
      auto message = v.path + ": unknown status id" + quote(v);
      if (auto guess = v.secret ? std::nullopt : closest(v.value, suggestible))
        message += "; did you mean '" + *guess + "'?";
      else
        message += "; expected one of: " + join(ids);
      error(v.mark, message);
      return;
    }
    if (st->final) {
      error(v.mark, v.path + ": status" + quote(v) + " is final; a new request cannot start closed");
      return;
    }
    out = st->id;
  }

  void load_statuses(const section& top) {
    YAML::Mark list_mark = top.mark;
    auto items = list(top, "statuses", true, &list_mark);
    if (!items)
      return;
    if (items->empty()) {
      error(list_mark, "statuses: at least one status is required");
      return;
    }
    std::vector<int> lines; // of each accepted id, for "first at line"
    for (const auto& [node, path] : *items) {
      auto s = item_section(node, path, list_mark, {"id", "label", "emoji", "jira_status", "final"});
      if (!s) {
        statuses_complete_ = status_ids_complete_ = false;
        continue;
      }
      status_config st;
      auto id = text(*s, "id", true);
      if (!id)
        status_ids_complete_ = false;
      if (id) {
        if (!is_status_id(id->value)) {
          error(id->mark, id->path + ": invalid status id" + quote(*id) +
                            ": use lower-case letters, digits, '_' and '-', starting with a letter");
          id.reset();
          status_ids_complete_ = false;
        } else if (cfg.find_status(id->value)) {
          auto first = static_cast<std::size_t>(cfg.find_status(id->value) - cfg.statuses.data());
          error(id->mark, id->path + ": status id" + quote(*id) + " is listed twice (first at line " +
                            std::to_string(lines[first]) + ")");
          id.reset();
        }
      }
      st.label = id ? id->value : "";
      text_into(*s, "label", false, st.label);
      if (auto v = text(*s, "emoji", false)) {
        if (!is_emoji(v->value))
          error(v->mark, v->path + ": invalid emoji" + quote(*v) + ": write an emoji code such as :white_check_mark:");
        else
          st.emoji = v->value;
      }
      text_into(*s, "jira_status", st.jira_status);
      if (!boolean(*s, "final", st.final))
        statuses_complete_ = false; // whether it is final is unknown: skip the checks over all statuses
      if (!id) {
        statuses_complete_ = false;
        continue;
      }
      st.id = id->value;
      lines.push_back(id->mark.line + 1);
      cfg.statuses.push_back(std::move(st));
    }
    if (cfg.statuses.empty())
      return;
    cfg.initial_status = cfg.statuses.front().id;
    auto initial = text(top, "initial_status", false);
    if (initial)
      status_reference(*initial, cfg.initial_status);
    if (!statuses_complete_)
      return;
    if (std::none_of(cfg.statuses.begin(), cfg.statuses.end(), [](const auto& st) { return st.final; }))
      error(list_mark, "statuses: at least one status needs final: true");
    else if (!top.has("initial_status") && cfg.statuses.front().final)
      error(list_mark, "statuses: the first status is final; put an open status first or set initial_status");
  }

  void load_channels(const section& top) {
    YAML::Mark list_mark = top.mark;
    auto items = list(top, "channels", true, &list_mark);
    if (!items)
      return;
    if (items->empty()) {
      error(list_mark, "channels: at least one channel is required");
      return;
    }
    struct seen {
      std::string channel; // for messages: "channel 'name'", or "channels[i]" when the room is a secret
      int line;
    };
    std::map<std::string, seen> rooms, teams, services;
    for (const auto& [node, path] : *items) {
      auto s = item_section(node, path, list_mark,
                            {"room", "team", "members", "member_requests", "jira", "services", "oncall",
                             "remind_after", "default_status"});
      if (!s)
        continue;
      channel_config ch;
      auto room = text(*s, "room", true);
      std::string channel_name = path;
      if (room) {
        if (room->value.front() == '#' || has_space(room->value)) {
          error(room->mark, room->path + ": invalid room name" + quote(*room) + ": write the name without '#' or spaces");
        } else if (auto it = rooms.find(room->value); it != rooms.end()) {
          error(room->mark, room->path + ": room" + quote(*room) + " is listed twice (first at line " +
                              std::to_string(it->second.line) + ")");
        } else {
          if (!room->secret)
            channel_name = "channel '" + room->value + "'";
          rooms[room->value] = {channel_name, room->mark.line + 1};
          ch.room = room->value;
        }
      }
      if (auto team = text(*s, "team", true)) {
        if (auto it = teams.find(team->value); it != teams.end())
          error(team->mark, team->path + ": team" + quote(*team) + " already owns " + it->second.channel +
                              " (line " + std::to_string(it->second.line) + "); a team owns one channel only");
        else
          teams[team->value] = {channel_name, team->mark.line + 1};
        ch.team = team->value;
      }
      ch.members = names(*s, "members");
      boolean(*s, "member_requests", ch.member_requests);
      if (auto j = sub(*s, "jira", true, {"project", "issue_type"})) {
        if (auto p = text(*j, "project", true)) {
          if (!is_project_key(p->value))
            error(p->mark, p->path + ": invalid Jira project key" + quote(*p) +
                             ": use upper-case letters, digits and '_', starting with a letter");
          else
            ch.jira.project = p->value;
        }
        text_into(*j, "issue_type", false, ch.jira.issue_type);
      }
      std::vector<scalar> raw_services;
      ch.services = names(*s, "services", &raw_services);
      for (std::size_t i = 0; i < raw_services.size(); ++i) {
        const auto& v = raw_services[i];
        if (auto it = services.find(ch.services[i]); it != services.end())
          error(v.mark, v.path + ": service" + quote(v) + " is already routed to " + it->second.channel +
                          " (line " + std::to_string(it->second.line) + ")");
        else
          services[ch.services[i]] = {channel_name, v.mark.line + 1};
      }
      if (auto o = sub(*s, "oncall", true, {"schedule_id", "fallback"})) {
        text_into(*o, "schedule_id", true, ch.oncall.schedule_id);
        ch.oncall.fallback = names(*o, "fallback");
      }
      if (auto d = duration(*s, "remind_after"))
        ch.remind_after = *d;
      ch.default_status = cfg.initial_status;
      if (auto v = text(*s, "default_status", false); v && !cfg.statuses.empty())
        status_reference(*v, ch.default_status);
      cfg.channels.push_back(std::move(ch));
    }
  }

  void load_feedback(const section& top) {
    auto s = sub(top, "feedback", false, {"enabled", "expire_after", "anonymous"});
    if (!s)
      return;
    boolean(*s, "enabled", cfg.feedback.enabled);
    if (auto d = duration(*s, "expire_after"))
      cfg.feedback.expire_after = *d;
    boolean(*s, "anonymous", cfg.feedback.anonymous);
  }

  void load_users(const section& top) {
    YAML::Mark list_mark = top.mark;
    auto items = list(top, "users", false, &list_mark);
    if (!items)
      return;
    std::map<std::string, int> seen;
    for (const auto& [node, path] : *items) {
      auto s = item_section(node, path, list_mark, {"rocketchat", "oncall", "jira", "email"});
      if (!s)
        continue;
      user_override u;
      auto rc = text(*s, "rocketchat", true);
      text_into(*s, "oncall", u.oncall);
      text_into(*s, "jira", u.jira);
      if (auto e = text(*s, "email", false)) {
        auto at = e->value.find('@');
        if (at == 0 || at == std::string::npos || at + 1 == e->value.size() || has_space(e->value))
          error(e->mark, e->path + ": invalid e-mail address" + quote(*e));
        else
          u.email = e->value;
      }
      if (!rc)
        continue;
      u.rocketchat = rc->value;
      if (!u.rocketchat.empty() && u.rocketchat.front() == '@')
        u.rocketchat.erase(0, 1);
      if (auto it = seen.find(u.rocketchat); it != seen.end()) {
        error(rc->mark, rc->path + ": user" + quote(*rc) + " is listed twice (first at line " +
                          std::to_string(it->second) + ")");
        continue;
      }
      seen[u.rocketchat] = rc->mark.line + 1;
      cfg.users.push_back(std::move(u));
    }
  }
};

} // namespace

load_result load_config_text(std::string_view text, const std::string& display_name, const env_lookup& env) {
  loader l{display_name, env};
  Node root;
  try {
    root = YAML::Load(std::string{text});
  } catch (const YAML::Exception& e) {
    l.error(e.mark, "invalid YAML: " + e.msg);
    return {std::nullopt, std::move(l.diagnostics)};
  }
  l.load(root);
  load_result result;
  std::stable_sort(l.diagnostics.begin(), l.diagnostics.end(), [](const diagnostic& a, const diagnostic& b) {
    return std::pair{a.line, a.col} < std::pair{b.line, b.col};
  });
  result.diagnostics = std::move(l.diagnostics);
  if (result.diagnostics.empty())
    result.value = std::move(l.cfg);
  return result;
}

load_result load_config(const std::string& path, const env_lookup& env) {
  auto fail = [&](int err) {
    return load_result{std::nullopt, {{path, 1, 1, std::string{"cannot read file: "} + std::strerror(err)}}};
  };
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    return fail(errno);
  std::string text;
  char buffer[8192];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0)
    text.append(buffer, n);
  int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err != 0)
    return fail(err);
  return load_config_text(text, path, env);
}

} // namespace dutydesk::config
