#pragma once
// The PromQL expressions shipped with dutydesk: every panel target of docker/grafana/dashboard.json (Grafana's
// variables replaced by values Prometheus accepts) and every rule of docker/prometheus/rules.yml.

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace dutydesk::test {

inline std::filesystem::path source_dir() { return DUTYDESK_SOURCE_DIR; }

struct named_expr {
  std::string where; // panel title or rule name, for failure messages
  std::string expr;
};

/// Replaces every `from` in `s` by `to`.
inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

/// Grafana's variables as a query for "All teams" over the last hour would see them.
inline std::string grafana_to_promql(std::string e) {
  e = replace_all(e, "${team}", ".*");
  e = replace_all(e, "$team", ".*");
  e = replace_all(e, "$__rate_interval", "1m");
  e = replace_all(e, "$__interval", "1m");
  e = replace_all(e, "$__range", "1h");
  return e;
}

namespace detail {

inline void collect_panels(const nlohmann::json& panels, std::vector<named_expr>& out) {
  for (const auto& p : panels) {
    if (p.contains("targets"))
      for (const auto& t : p["targets"])
        if (t.contains("expr"))
          out.push_back({p.value("title", "?"), grafana_to_promql(t["expr"].get<std::string>())});
    if (p.contains("panels"))
      collect_panels(p["panels"], out); // a collapsed row holds its panels
  }
}

inline std::size_t indent_of(const std::string& line) { return line.find_first_not_of(' '); }

} // namespace detail

/// The dashboard as JSON.
inline nlohmann::json dashboard() {
  std::ifstream in(source_dir() / "docker/grafana/dashboard.json");
  return nlohmann::json::parse(in);
}

/// Every target expression of every panel, variables substituted.
inline std::vector<named_expr> dashboard_exprs() {
  std::vector<named_expr> out;
  detail::collect_panels(dashboard()["panels"], out);
  return out;
}

/// Every `expr:` of rules.yml, in order: inline values and block scalars (`>-` folded, `|` literal).
inline std::vector<named_expr> rule_exprs() {
  std::ifstream in(source_dir() / "docker/prometheus/rules.yml");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  std::vector<named_expr> out;
  std::string name;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    auto ind = detail::indent_of(line);
    if (ind == std::string::npos)
      continue;
    auto body = line.substr(ind);
    for (const char* key : {"- record: ", "- alert: "})
      if (body.rfind(key, 0) == 0)
        name = body.substr(std::string(key).size());
    if (body.rfind("expr:", 0) != 0)
      continue;
    auto value = body.substr(5);
    value.erase(0, value.find_first_not_of(' '));
    if (value == ">-" || value == ">" || value == "|" || value == "|-") {
      std::string joined;
      for (; i + 1 < lines.size(); ++i) {
        auto next = detail::indent_of(lines[i + 1]);
        if (next == std::string::npos || next <= ind)
          break;
        joined += (joined.empty() ? "" : value[0] == '|' ? "\n" : " ") + lines[i + 1].substr(next);
      }
      value = joined;
    }
    out.push_back({name, value});
  }
  return out;
}

/// How many rules (record or alert) rules.yml declares.
inline std::size_t rule_count() {
  std::ifstream in(source_dir() / "docker/prometheus/rules.yml");
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    auto ind = detail::indent_of(line);
    if (ind != std::string::npos &&
        (line.compare(ind, 10, "- record: ") == 0 || line.compare(ind, 9, "- alert: ") == 0))
      ++n;
  }
  return n;
}

} // namespace dutydesk::test
