#pragma once
// Every text the bot posts, in English and Russian. Placeholders are `{name}`; `{{` and `}}` are literal braces. The
// formatter is deliberately tiny: no nesting, no format specs. A placeholder with no value is left in the text as
// written, so a missing argument shows up in a test or a screenshot instead of vanishing.
// A mention is never followed directly by punctuation: Rocket.Chat usernames may contain '.', so "@bob." would
// mention a user named "bob.".

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dutydesk::domain {

/// The bot's languages (the actor maps config::ui_language onto this).
enum class language { en, ru };

/// One id per bot text.
enum class template_id {
  thread_intro,          // {on_duty} {requester} {status}
  thread_intro_fallback, // {on_duty} {requester} {status} {reason}: OnCall gave nobody usable, fallback tagged
  status_changed,        // {user} {from} {to}
  reminder,              // {on_duty} {idle} {status}
  reminder_escalated,    // {on_duty} {fallback} {idle} {status}
  refused_status,        // {request} {room}
  refused_requester,     // {request} {finals}: the requester tried a non-final status
  refused_move,          // {request} {room}
  refused_assign,        // {request} {room}
  unknown_status,        // {status} {statuses}
  help,                  // {statuses}
  assigned,              // {user} {assignee}
  move_unknown_target,   // {target}
  move_same_room,        // {room}
  moving_note,           // {target}: a command arrived while the repost is in flight
  moved_repost,          // {permalink} {from} {by} {requester} {text}: the text posted in the target channel
  moved_note,            // {target} {by} {link}: the note in the original thread
  closed_note,           // {target} {link}: a command on a moved request
  jira_linked,           // {key} {url}: the request's Jira issue
  jira_comment,          // {author} {text}: a Jira comment mirrored into the thread
  jira_status_changed,   // {user} {key} {from} {to}: a transition made in Jira
  jira_status_unmapped,  // {key} {jira_status}: a Jira status no chat status maps to
  jira_assigned,         // {key} {assignee}: the assignee changed in Jira
  jira_unassigned,       // {key}
  jira_problem,          // {text}: a Jira action that cannot be carried out
  jira_request,          // {key} {reporter} {summary} {url}: a task created in Jira, posted as a new request
  survey,                // {room} {text}: the rating DM of a resolved request (five buttons under it)
  survey_withdrawn,      // {room} {text}: the survey DM after the request was reopened unrated
  survey_expired,        // {room} {text}: the survey DM after feedback.expire_after passed unrated
  rating_thanks,         // {rating}: the answer to an accepted rating
  rating_again,          // {rating}: a second rating is refused
  rating_not_requester,  // {request}: somebody else tried to rate
  rating_invalid,        // a rating outside 1..5
  rating_closed,         // {request}: no open survey (never sent, withdrawn or expired)
  comment_saved,         // a comment typed after the rating was stored with it
  rate_first,            // a message in the DM while the survey is open but unrated
  dm_help,               // a command or a message in the DM with the bot that is no survey answer
};

/// Stable name of `id`, e.g. "thread-intro"; used in logs and idempotency keys.
std::string_view to_string(template_id id);

/// The raw template text.
std::string_view template_text(template_id id, language lang);

/// A placeholder value.
using template_arg = std::pair<std::string_view, std::string>;

/// `tmpl` with every `{name}` that has a value in `args` replaced; `{{`/`}}` become `{`/`}`.
std::string format_template(std::string_view tmpl, std::span<const template_arg> args);

/// format_template(template_text(id, lang), args).
std::string render(template_id id, language lang, std::span<const template_arg> args);

} // namespace dutydesk::domain
