#include "actors/event_render.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <variant>

#include "domain/date.hpp"

namespace dutydesk::actors {

namespace {

using json = nlohmann::json;

// Chat text may hold invalid UTF-8; JSON text may not, so such bytes become U+FFFD.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

std::string subject_token(std::string_view s) {
  if (s.empty())
    return "unknown";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    char l = static_cast<char>(std::tolower(c));
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == '-';
    out += ok ? l : '-';
  }
  return out;
}

storage::outbox_event to_outbox(const domain::publish_event& e, const domain::request_record& r,
                                const event_context& ctx) {
  json data = json::object();
  data["request_id"] = r.request_id;
  data["team"] = r.team;
  data["channel"] = r.room;
  for (const auto& [k, v] : e.data)
    std::visit([&, &k = k](const auto& x) { data[k] = x; }, v);
  if (!r.jira_key.empty() && !data.contains("jira_key"))
    data["jira_key"] = r.jira_key;
  auto at = e.at.time_since_epoch().count();
  json ce{
    {"specversion", "1.0"},
    {"id", e.id},
    {"source", ctx.source},
    {"type", "dutydesk.request." + e.kind},
    {"subject", r.request_id},
    {"time", domain::format_rfc3339_ms(at)},
    {"datacontenttype", "application/json"},
    {"data", std::move(data)},
  };
  storage::outbox_event row;
  row.id = e.id;
  row.request_id = r.request_id;
  row.subject = ctx.subject_prefix + ".request." + subject_token(r.team) + "." + e.kind;
  row.payload = dump(ce);
  row.created_at = at;
  return row;
}

} // namespace dutydesk::actors
