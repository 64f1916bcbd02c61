#include "io/jira_payloads.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace dutydesk::io::jira {

using nlohmann::json;

namespace {

constexpr std::size_t max_summary_bytes = 255;
constexpr std::string_view ellipsis = "\xE2\x80\xA6"; // U+2026, 3 bytes

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

bool blank(std::string_view line) {
  return trim(line).empty();
}

/// Lines of `text`, with "\r\n" and a lone '\r' both ending a line.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> result;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n' && text[i] != '\r')
      continue;
    result.push_back(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')
      ++i;
    start = i + 1;
  }
  result.push_back(text.substr(start));
  return result;
}

/// A run of one line: plain text or a URL.
struct segment {
  std::string_view text;
  bool url = false;
};

bool url_start(std::string_view line, std::size_t i) {
  auto rest = line.substr(i);
  if (rest.rfind("http://", 0) != 0 && rest.rfind("https://", 0) != 0)
    return false;
  // "xhttp://" is not a URL start; a URL glued to a word rarely is one.
  return i == 0 || !std::isalnum(static_cast<unsigned char>(line[i - 1]));
}

/// True when the last character of `url` is punctuation after it rather than part of it: ".,;:!?'\"", or a closing
/// bracket without its opening one inside the URL ("(see https://x/y)" vs "https://x/wiki/A_(b)").
bool trailing_punctuation(std::string_view url) {
  char c = url.back();
  if (std::string_view(".,;:!?'\"").find(c) != std::string_view::npos)
    return true;
  for (auto [open, close] : {std::pair{'(', ')'}, std::pair{'[', ']'}, std::pair{'{', '}'}})
    if (c == close)
      return std::count(url.begin(), url.end(), close) > std::count(url.begin(), url.end(), open);
  return false;
}

std::vector<segment> segments(std::string_view line) {
  std::vector<segment> result;
  std::size_t plain = 0;
  std::size_t i = 0;
  while (i < line.size()) {
    if (!url_start(line, i)) {
      ++i;
      continue;
    }
    auto end = i;
    while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end])))
      ++end;
    while (end > i && trailing_punctuation(line.substr(i, end - i)))
      --end;
    auto scheme = line.substr(i, 8) == "https://" ? 8u : 7u;
    if (end - i <= scheme) { // the scheme alone
      i += scheme;
      continue;
    }
    if (i > plain)
      result.push_back({line.substr(plain, i - plain), false});
    result.push_back({line.substr(i, end - i), true});
    plain = i = end;
  }
  if (plain < line.size())
    result.push_back({line.substr(plain), false});
  return result;
}

/// Wiki text with every special character escaped; `line_start` when `s` begins a line.
std::string wiki_escape(std::string_view s, bool line_start) {
  std::string result;
  std::size_t dot = std::string_view::npos; // the '.' of a line-start "h1." .. "h6." or "bq."
  if (line_start) {
    auto lead = s.find_first_not_of(" \t");
    if (lead != std::string_view::npos) {
      auto rest = s.substr(lead);
      if (rest.size() >= 3 && rest[2] == '.' &&
          ((rest[0] == 'h' && rest[1] >= '1' && rest[1] <= '6') || rest.substr(0, 2) == "bq"))
        dot = lead + 2;
    }
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\')
      result += "&#92;";
    else if (std::string_view("*_?-+^~{}[]|!#").find(c) != std::string_view::npos || i == dot)
      (result += '\\') += c;
    else
      result += c;
  }
  return result;
}

std::string wiki_link(std::string_view url) {
  std::string result = "[";
  for (char c : url) {
    if (c == '[')
      result += "%5B";
    else if (c == ']')
      result += "%5D";
    else if (c == '|')
      result += "%7C";
    else
      result += c;
  }
  return result + "]";
}

std::string wiki(std::string_view plain) {
  std::string result;
  bool first = true;
  for (auto line : split_lines(plain)) {
    if (!first)
      result += '\n';
    first = false;
    bool line_start = true;
    for (const auto& seg : segments(line)) {
      result += seg.url ? wiki_link(seg.text) : wiki_escape(seg.text, line_start);
      line_start = false;
    }
  }
  return result;
}

json adf(std::string_view plain) {
  json content = json::array();
  json paragraph = json::array();
  auto flush = [&] {
    if (!paragraph.empty())
      content.push_back({{"type", "paragraph"}, {"content", std::move(paragraph)}});
    paragraph = json::array();
  };
  for (auto line : split_lines(plain)) {
    if (blank(line)) {
      flush();
      continue;
    }
    if (!paragraph.empty())
      paragraph.push_back({{"type", "hardBreak"}});
    for (const auto& seg : segments(line)) {
      json node{{"type", "text"}, {"text", std::string(seg.text)}};
      if (seg.url)
        node["marks"] = json::array({{{"type", "link"}, {"attrs", {{"href", std::string(seg.text)}}}}});
      paragraph.push_back(std::move(node));
    }
  }
  flush();
  return {{"type", "doc"}, {"version", 1}, {"content", std::move(content)}};
}

/// A JQL string literal.
std::string jql_string(std::string_view s) {
  std::string result = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      result += '\\';
    result += c;
  }
  return result + "\"";
}

json dutydesk_property(json value) {
  value["origin"] = "chat";
  return json::array({{{"key", "dutydesk"}, {"value", std::move(value)}}});
}

} // namespace

int api_version(flavor f) {
  return f == flavor::cloud ? 3 : 2;
}

std::string api_base(flavor f, std::string_view base_url) {
  while (!base_url.empty() && base_url.back() == '/')
    base_url.remove_suffix(1);
  return std::string(base_url) + "/rest/api/" + std::to_string(api_version(f));
}

std::string summary_from(std::string_view text) {
  for (auto line : split_lines(text)) {
    auto s = trim(line);
    if (s.empty())
      continue;
    if (s.size() <= max_summary_bytes)
      return std::string(s);
    auto cut = max_summary_bytes - ellipsis.size();
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) // s[cut] continues a code point
      --cut;
    return std::string(trim(s.substr(0, cut))) + std::string(ellipsis);
  }
  return "(no text)";
}

json rich_text(flavor f, std::string_view plain) {
  if (f == flavor::cloud)
    return adf(plain);
  return wiki(plain);
}

std::string request_label(std::string_view request_id) {
  std::string result = "dutydesk-";
  for (char c : request_id)
    result += std::isspace(static_cast<unsigned char>(c)) ? '-' : c;
  return result;
}

json create_issue_body(flavor f, const issue_draft& d) {
  std::string description = d.text;
  if (!description.empty())
    description += "\n\n";
  description += "Reported by ";
  description += d.requester_name.empty() ? "@" + d.requester : d.requester_name + " (@" + d.requester + ")";
  if (!d.room.empty())
    description += " in #" + d.room;
  if (!d.permalink.empty())
    description += "\n" + d.permalink;

  json fields{{"project", {{"key", d.project_key}}},
              {"issuetype", {{"name", d.issue_type}}},
              {"summary", d.summary},
              {"description", rich_text(f, description)},
              {"labels", json::array({"dutydesk", request_label(d.request_id)})}};
  if (d.service_field && d.service_value)
    fields[*d.service_field] = {{"value", *d.service_value}};
  for (const auto& [id, value] : d.extra_fields)
    fields[id] = value;
  return {{"fields", std::move(fields)}, {"properties", dutydesk_property({{"requestId", d.request_id}})}};
}

std::string jql_for_request(std::string_view project, std::string_view request_id) {
  return "project = " + jql_string(project) + " AND labels = " + jql_string(request_label(request_id));
}

std::string jql_updated_since(std::string_view project, std::string_view since_yyyy_mm_dd_hh_mm) {
  return "project = " + jql_string(project) + " AND updated >= " + jql_string(since_yyyy_mm_dd_hh_mm) +
         " ORDER BY updated ASC";
}

json comment_body(flavor f, std::string_view text, std::string_view chat_message_id) {
  return {{"body", rich_text(f, text)},
          {"properties", dutydesk_property({{"chatMessageId", std::string(chat_message_id)}})}};
}

json comment_edit_body(flavor f, std::string_view text) {
  return {{"body", rich_text(f, text)}};
}

std::string attributed_comment(std::string_view display_name, std::string_view username, std::string_view text) {
  std::string who = "@" + std::string(username);
  if (!display_name.empty())
    who = std::string(display_name) + " (" + who + ")";
  return who + " in Rocket.Chat: " + std::string(text);
}

json transition_body(std::string_view transition_id, std::optional<std::string> resolution_name) {
  json result{{"transition", {{"id", std::string(transition_id)}}}};
  if (resolution_name)
    result["fields"] = {{"resolution", {{"name", *resolution_name}}}};
  return result;
}

json user_ref(flavor f, const jira_user& u) {
  if (f == flavor::cloud)
    return {{"accountId", u.account_id}};
  return {{"name", u.name}};
}

std::string remote_link_global_id(std::string_view request_id) {
  return "dutydesk:request:" + std::string(request_id);
}

json remote_link_body(std::string_view request_id, std::string_view url, std::string_view title,
                      std::string_view summary, bool resolved) {
  return {{"globalId", remote_link_global_id(request_id)},
          {"application", {{"type", "org.dutydesk"}, {"name", "dutydesk"}}},
          {"relationship", "chat thread"},
          {"object",
           {{"url", std::string(url)},
            {"title", std::string(title)},
            {"summary", std::string(summary)},
            {"status", {{"resolved", resolved}}}}}};
}

} // namespace dutydesk::io::jira
