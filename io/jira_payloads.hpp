#pragma once
// Request bodies and query strings for Jira's REST API in both flavours (reference jira.md §0, §2–§6): Data Center
// speaks REST v2 with wiki-markup strings and names users by `name`; Cloud speaks REST v3 with ADF documents and
// names users by `accountId`. Pure functions: no I/O, no clocks; jira_client sends what they build.
//
// Rich text. Chat text must arrive in Jira as the words the user typed, never as markup:
// - Data Center (wiki): every wiki special character is backslash-escaped wherever it appears
//   (`* _ ? - + ^ ~ { } [ ] | ! #`), the `.` of a line-start `h1.`…`h6.` / `bq.` is escaped, and a literal backslash
//   becomes the entity `&#92;` (a doubled backslash would be Jira's forced line break). Escaping was chosen over
//   `{noformat}` because it keeps the text in the normal font and cannot be broken out of by a `{noformat}` inside
//   the chat text. http(s) URLs are not escaped (that would cut the autolink) but written as `[url]` links, with
//   `[`, `]`, `|` percent-encoded. Emoticons such as `:)` and `(y)` still render as icons, which says the same.
// - Cloud (ADF): one paragraph per block of lines separated by blank lines, a hardBreak per newline inside a block,
//   no empty text nodes, and every http(s) URL a text node with a link mark.
// A URL is `http://` or `https://` up to the next whitespace, without trailing `.,;:!?'"` or an unmatched
// closing bracket.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dutydesk::io::jira {

/// Which Jira dutydesk talks to.
enum class flavor { datacenter, cloud };

/// The REST API version a flavour uses: 2 (Data Center) or 3 (Cloud).
int api_version(flavor f);

/// `base_url` + "/rest/api/2" or "/rest/api/3" (a trailing '/' of `base_url` is dropped).
std::string api_base(flavor f, std::string_view base_url);

/// An issue summary from chat text: the first non-blank line, trimmed, at most 255 bytes (so at most 255 characters)
/// cut on a UTF-8 boundary with "…" appended when cut; "(no text)" when there is no non-blank line.
std::string summary_from(std::string_view text);

/// Chat text as a description or comment body: a wiki string (Data Center) or an ADF doc (Cloud); see the header.
nlohmann::json rich_text(flavor f, std::string_view plain);

/// What a new Jira issue for a chat request holds.
struct issue_draft {
  std::string request_id;
  std::string project_key;
  std::string issue_type; // name, e.g. "Task"
  std::string summary;
  std::string text; // the full chat text
  std::string requester;      // chat username
  std::string requester_name; // chat display name; may be empty
  std::string room;           // room name, without '#'
  std::string permalink;      // link back to the chat thread; may be empty
  std::optional<std::string> service_field; // custom field id, e.g. "customfield_10100" (a select)
  std::optional<std::string> service_value; // its option value
  std::map<std::string, nlohmann::json> extra_fields; // raw REST fields, set last (they win)
};

/// The `POST issue` body: project, issuetype, summary, description (the text, "Reported by …", the permalink),
/// labels ["dutydesk", request_label(id)], the service field as {"value": v} when both halves are set, the extra
/// fields, and the issue property `dutydesk` = {"requestId", "origin": "chat"}.
nlohmann::json create_issue_body(flavor f, const issue_draft& d);

/// The label that marks the issue of a request: "dutydesk-" + id, whitespace replaced by '-' (labels cannot hold
/// spaces).
std::string request_label(std::string_view request_id);

/// JQL for the issue of one request: `project = "P" AND labels = "dutydesk-<id>"`.
std::string jql_for_request(std::string_view project, std::string_view request_id);

/// JQL polling for changes: `project = "P" AND updated >= "yyyy-MM-dd HH:mm" ORDER BY updated ASC`.
std::string jql_updated_since(std::string_view project, std::string_view since_yyyy_mm_dd_hh_mm);

/// The `POST issue/{key}/comment` body with the comment property `dutydesk` = {"chatMessageId", "origin": "chat"}.
nlohmann::json comment_body(flavor f, std::string_view text, std::string_view chat_message_id);

/// The `PUT issue/{key}/comment/{id}` body.
nlohmann::json comment_edit_body(flavor f, std::string_view text);

/// "Bob Smith (@bob) in Rocket.Chat: text"; "@bob in Rocket.Chat: text" without a display name.
std::string attributed_comment(std::string_view display_name, std::string_view username, std::string_view text);

/// The `POST issue/{key}/transitions` body; the id is sent as a string (the spec's type), the resolution by name.
nlohmann::json transition_body(std::string_view transition_id, std::optional<std::string> resolution_name);

/// A Jira user as both flavours describe one (Data Center: name + key; Cloud: account_id only).
struct jira_user {
  std::string name;
  std::string key;
  std::string account_id;
  std::string display_name;
  std::string email; // often hidden on Cloud
  bool active = true;
};

/// A user reference for bodies (assign): {"name"} on Data Center, {"accountId"} on Cloud.
nlohmann::json user_ref(flavor f, const jira_user& u);

/// The deterministic remote-link id of a request: "dutydesk:request:<id>".
std::string remote_link_global_id(std::string_view request_id);

/// The `POST issue/{key}/remotelink` body, upserted by globalId remote_link_global_id(request_id).
nlohmann::json remote_link_body(std::string_view request_id, std::string_view url, std::string_view title,
                                std::string_view summary, bool resolved);

} // namespace dutydesk::io::jira
