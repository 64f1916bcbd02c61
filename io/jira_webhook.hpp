#pragma once
// Inbound Jira webhooks (reference jira.md §3.4, §7): checking a delivery (signature, content type, JSON), parsing
// the envelope of both flavours (Data Center/Server and Cloud send the REST v2 representation), and interpreting it
// into the changes dutydesk acts on, with the bridge's own writes dropped and a dedupe key per change:
//   comment_created, jira:issue_updated carrying a new comment (issue_commented, a transition comment)
//                                          → comment_added    "comment:<comment id>" (the pair yields one post)
//   comment_updated, issue_comment_edited  → comment_edited   "comment:<comment id>:edit:<comment updated>"
//   comment_deleted, issue_comment_deleted → comment_deleted  "comment:<comment id>:deleted"
//   jira:issue_updated, changelog "status" → status_changed   "status:<issue id>:<changelog id>"
//   jira:issue_updated, changelog "assignee" → assignee_changed "assignee:<issue id>:<changelog id>"
//   jira:issue_created                     → issue_created    "created:<issue id>"
// Status changes come only from changelog items, never from issue_event_type_name (an open, admin-extensible set).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "io/http_server.hpp"

namespace dutydesk::io::jira {

/// Whether a delivery is accepted, and what to answer: 200, 401 (signature), 415 (content type), 400 (JSON).
struct intake_verdict {
  unsigned status = 0;
  std::string delivery_id; // set when status == 200
  std::string reason;      // why not, for the answer body and logs; never contains the secret
};

/// Checks a webhook delivery before it is parsed. The `X-Hub-Signature` ("sha256=<lower hex>" HMAC-SHA256 of the raw
/// body, compared in constant time) is required unless `secret` is empty (Jira DC ≤ 9 cannot sign; protect that
/// route by other means, e.g. an unguessable path). The delivery id is `X-Atlassian-Webhook-Identifier` when
/// present (stable across Cloud's retries), else "sha256:" + hex SHA-256 of the body, so an identical repeat dedupes.
intake_verdict check_delivery(const http_server_request& req, std::string_view secret);

/// A user as webhooks carry it: DC fills name/key, current Cloud only account_id. Absent values are "".
struct actor {
  std::string name, key, account_id, display_name, email;
};

/// One changelog item; null values are "".
struct changelog_item {
  std::string field, field_id, fieldtype, from, from_string, to, to_string, tmp_from_account_id, tmp_to_account_id;
};

struct comment {
  std::string id, self, body;
  std::string issue_id; // the payload's issue id, else taken from `self` ".../issue/{issueId}/comment/{id}"
  actor author, update_author;
  std::string created, updated;
};

struct issue_ref {
  std::string id, key, project_key, summary, description, status_name, status_category, updated;
  actor reporter, creator, assignee;
  bool has_assignee = false;
  std::vector<std::string> labels;
  /// customfield id → the option's `value`, the string, or the number as text; other shapes are left out.
  std::map<std::string, std::string> custom;
};

struct webhook {
  std::int64_t timestamp = 0; // ms since the epoch; 0 when absent
  std::string event;          // webhookEvent
  std::string type_name;      // issue_event_type_name; "" on comment events
  actor user;
  bool has_user = false;
  std::optional<issue_ref> issue;
  std::optional<jira::comment> comment;
  std::string changelog_id;
  std::vector<changelog_item> changelog;
};

/// Parses a webhook body. Unknown fields are ignored and nulls count as absent; a known field of the wrong type, a
/// missing `webhookEvent` or invalid JSON (including nesting deeper than the parser's limit) is an error text.
/// Never throws.
std::variant<webhook, std::string> parse_webhook(std::string_view body);

/// The bridge's own Jira account (from /myself): DC name and key, Cloud account id; empty values never match.
struct self_identity {
  std::string name, key, account_id;
};

enum class change_kind { comment_added, comment_edited, comment_deleted, status_changed, assignee_changed, issue_created };

/// Text for logs.
const char* to_string(change_kind k);

/// One thing that happened in Jira that the bridge may act on.
struct change {
  change_kind kind = change_kind::comment_added;
  std::string issue_id, issue_key; // issue_key is "" when the payload has no issue (DC comment events)
  std::string dedupe_key;          // see the table at the top of this file
  std::string comment_id, body, author_display, author_id; // comment changes; author_id: account id, else name
  std::string status_name, status_category;                // status_changed: toString and the issue's category key
  std::string assignee_display, assignee_id;               // assignee_changed; both "" when unassigned
  std::optional<issue_ref> issue;                           // the payload's issue, when it has one
};

/// The changes in `w`, leaving out everything `self` did: issue events by `user`, comment_created by the comment's
/// author, edits by its updateAuthor, deletions by `user` when the payload names one. Unknown events yield nothing.
std::vector<change> interpret(const webhook& w, const self_identity& self);

} // namespace dutydesk::io::jira
