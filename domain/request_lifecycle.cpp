#include "domain/request_lifecycle.hpp"

#include <algorithm>
#include <cctype>
#include <span>
#include <type_traits>

#include "domain/commands.hpp"
#include "domain/duration.hpp"

namespace dutydesk::domain {

namespace {

// Rocket.Chat reports reactions as ":name:"; the config may write "name".
std::string normalize_emoji(std::string_view emoji) {
  if (emoji.empty())
    return {};
  std::string result{emoji};
  if (result.front() != ':')
    result.insert(result.begin(), ':');
  if (result.size() == 1 || result.back() != ':')
    result.push_back(':');
  return result;
}

std::string tags(const std::vector<std::string>& users) {
  std::string result;
  for (const auto& u : users) {
    if (!result.empty())
      result += ' ';
    result += '@';
    result += u;
  }
  return result;
}

void add_unique(std::vector<std::string>& xs, const std::string& x) {
  if (!x.empty() && std::find(xs.begin(), xs.end(), x) == xs.end())
    xs.push_back(x);
}

} // namespace

std::string_view to_string(request_phase x) {
  switch (x) {
    case request_phase::fresh: return "fresh";
    case request_phase::active: return "active";
    case request_phase::moving: return "moving";
    case request_phase::moved: return "moved";
  }
  return "unknown";
}

std::string_view to_string(survey_phase x) {
  switch (x) {
    case survey_phase::none: return "none";
    case survey_phase::open: return "open";
    case survey_phase::rated: return "rated";
    case survey_phase::withdrawn: return "withdrawn";
    case survey_phase::expired: return "expired";
  }
  return "unknown";
}

std::string_view to_string(jira_kind x) {
  switch (x) {
    case jira_kind::create: return "create";
    case jira_kind::comment: return "comment";
    case jira_kind::edit_comment: return "edit_comment";
    case jira_kind::transition: return "transition";
    case jira_kind::assign: return "assign";
  }
  return "unknown";
}

std::vector<button> status_buttons(const std::vector<status_def>& statuses) {
  std::vector<button> result;
  result.reserve(statuses.size());
  for (const auto& s : statuses)
    result.push_back(button{s.label.empty() ? s.id : s.label, "!dd status " + s.id, true});
  return result;
}

request_lifecycle::request_lifecycle(lifecycle_params params) : params_(std::move(params)) {
}

std::vector<effect> request_lifecycle::step(const event& e, timestamp now) {
  // A restore compares against the record it brings: only what the restore itself changes (the epoch) is written.
  auto before = std::holds_alternative<restored>(e) ? std::get<restored>(e).record : record_;
  pending_change_.reset();
  auto result = std::visit([&](const auto& x) { return on(x, now); }, e);
  bool outbox = std::any_of(result.begin(), result.end(), [](const effect& x) {
    return std::holds_alternative<jira_action>(x) || std::holds_alternative<publish_event>(x);
  });
  if (record_ != before || pending_change_ || outbox) {
    // A reply that changed something is remembered, so that it is not handled again when delivered again; one
    // that changed nothing would change nothing again (its answers are keyed, so they are not repeated).
    if (const auto* r = std::get_if<thread_reply>(&e); r != nullptr && !r->edited) {
      auto& seen = record_.handled_replies;
      seen.push_back(r->message_id);
      if (seen.size() > handled_replies_kept)
        seen.erase(seen.begin());
    }
    result.emplace_back(persist{record_, pending_change_});
  }
  pending_change_.reset();
  return result;
}

std::vector<std::string> request_lifecycle::on_duty_now() const {
  if (!record_.assignee.empty())
    return {record_.assignee};
  return record_.on_duty.users;
}

// -- helpers ------------------------------------------------------------------------------------------------------

const status_def* request_lifecycle::find_status(std::string_view id) const {
  for (const auto& s : params_.statuses)
    if (iequals(s.id, id))
      return &s;
  return nullptr;
}

const status_def* request_lifecycle::find_status_by_emoji(std::string_view emoji) const {
  auto wanted = normalize_emoji(emoji);
  if (wanted.empty())
    return nullptr;
  for (const auto& s : params_.statuses)
    if (!s.emoji.empty() && normalize_emoji(s.emoji) == wanted)
      return &s;
  return nullptr;
}

request_roles request_lifecycle::roles() const {
  request_roles result;
  result.requester = record_.requester;
  result.on_duty = record_.on_duty.users;
  add_unique(result.on_duty, record_.assignee);
  result.members = params_.members;
  result.bot_user = params_.bot_user;
  return result;
}

std::string request_lifecycle::key(std::string_view kind) const {
  std::string result = record_.request_id;
  result += '/';
  result += kind;
  return result;
}

std::string request_lifecycle::label(const status_def& s) const {
  return s.label.empty() ? s.id : s.label;
}

std::string request_lifecycle::status_list() const {
  std::string result;
  for (const auto& s : params_.statuses) {
    if (!result.empty())
      result += ", ";
    result += s.id;
  }
  return result;
}

std::string request_lifecycle::render(template_id id, std::initializer_list<template_arg> args) const {
  return domain::render(id, params_.lang, std::span<const template_arg>{args.begin(), args.size()});
}

post_thread request_lifecycle::note(std::string key, template_id id,
                                    std::initializer_list<template_arg> args) const {
  return post_thread{std::move(key), id, render(id, args), {}, {}};
}

void request_lifecycle::jira(std::vector<effect>& xs, jira_action a) const {
  if (params_.jira)
    xs.emplace_back(std::move(a));
}

namespace {

jira_action make_action(std::string key, jira_kind kind) {
  jira_action a;
  a.key = std::move(key);
  a.kind = kind;
  return a;
}

// FNV-1a of a text, hex: tells the versions of an edited message apart in keys.
std::string text_hash(std::string_view text) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string result(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4)
    result[static_cast<std::size_t>(i)] = digits[h & 15];
  return result;
}

} // namespace

void request_lifecycle::publish(std::vector<effect>& xs, std::string what, std::string kind, timestamp now,
                                std::vector<std::pair<std::string, fact_value>> data) const {
  xs.emplace_back(publish_event{key("event/" + what), std::move(kind), now, std::move(data)});
}

std::optional<std::int64_t> request_lifecycle::respond(const std::string& user, timestamp now) {
  if (record_.first_response_at || user.empty() || user == record_.requester || user == params_.bot_user)
    return std::nullopt;
  record_.first_response_at = now;
  return seconds_between(record_.created_at, now);
}

std::int64_t request_lifecycle::seconds_between(timestamp from, timestamp to) {
  return std::chrono::duration_cast<std::chrono::seconds>(to - from).count();
}

std::vector<button> request_lifecycle::rating_buttons() const {
  std::vector<button> result;
  for (int n = 1; n <= 5; ++n)
    result.push_back(button{std::to_string(n), "!dd rate " + record_.request_id + " " + std::to_string(n), true});
  return result;
}

std::string request_lifecycle::survey_key() const {
  return key("survey/" + std::to_string(record_.survey.round));
}

void request_lifecycle::survey_closed(std::vector<effect>& xs, survey_phase phase) {
  record_.survey.phase = phase;
  auto id = phase == survey_phase::withdrawn ? template_id::survey_withdrawn : template_id::survey_expired;
  xs.emplace_back(edit_dm{survey_key(), record_.requester, id,
                          render(id, {{"room", record_.room}, {"text", record_.text}})});
}

void request_lifecycle::arm(std::vector<effect>& xs, timestamp now) {
  ++record_.reminder_epoch;
  record_.reminder_deadline = now + params_.remind_after;
  xs.emplace_back(arm_reminder{*record_.reminder_deadline, record_.reminder_epoch});
}

void request_lifecycle::cancel(std::vector<effect>& xs) {
  if (!record_.reminder_deadline)
    return;
  ++record_.reminder_epoch;
  record_.reminder_deadline.reset();
  xs.emplace_back(cancel_reminders{record_.reminder_epoch});
}

// -- events -------------------------------------------------------------------------------------------------------

std::vector<effect> request_lifecycle::on(const created& e, timestamp now) {
  std::vector<effect> result;
  if (record_.phase != request_phase::fresh || params_.statuses.empty())
    return result; // a duplicate created (the actor saw the root twice) changes nothing
  record_.request_id = e.request_id;
  record_.room = e.room;
  record_.root_message_id = e.root_message_id;
  record_.requester = e.requester;
  record_.text = e.text;
  record_.permalink = e.permalink;
  record_.on_duty = e.on_duty;
  record_.phase = request_phase::active;
  record_.team = params_.team;
  record_.created_at = now;
  const status_def* initial = find_status(params_.initial_status);
  if (initial == nullptr)
    initial = &params_.statuses.front();
  record_.status = initial->id;
  if (!initial->emoji.empty())
    result.emplace_back(add_reaction{key("status/0-add"), normalize_emoji(initial->emoji)});
  auto users = on_duty_now();
  auto id = e.on_duty.source == duty_source::ok ? template_id::thread_intro : template_id::thread_intro_fallback;
  auto text = render(id, {{"on_duty", tags(users)},
                          {"requester", e.requester},
                          {"status", label(*initial)},
                          {"reason", e.on_duty.reason}});
  result.emplace_back(post_thread{key("intro"), id, std::move(text), users, status_buttons(params_.statuses)});
  if (!initial->final)
    arm(result, now);
  pending_change_ = status_change{"", record_.status, "", now, record_.status_seq};
  publish(result, "created", "created", now,
          {{"requester", e.requester},
           {"text", e.text},
           {"status", record_.status},
           {"source", std::string{e.from_jira ? "jira" : "chat"}},
           {"on_duty", users.empty() ? std::string{} : users.front()},
           {"permalink", e.permalink},
           {"jira_key", e.jira_key}});
  if (params_.jira) {
    auto create = make_action(key("jira/create"), jira_kind::create);
    create.text = e.text;
    create.author = e.requester;
    create.issue_key = e.jira_key;
    if (!e.jira_key.empty()) {
      record_.jira_key = e.jira_key;
      record_.jira_url = e.jira_url;
      record_.jira_status = e.jira_status;
      result.emplace_back(note(key("jira/link"), template_id::jira_linked, {{"key", e.jira_key}, {"url", e.jira_url}}));
    }
    jira(result, std::move(create));
    if (!users.empty()) {
      auto assign = make_action(key("jira/assign/0"), jira_kind::assign);
      assign.author = users.front();
      jira(result, std::move(assign));
    }
  }
  return result;
}

std::vector<effect> request_lifecycle::on(const thread_reply& e, timestamp now) {
  std::vector<effect> result;
  if (record_.phase == request_phase::fresh || e.author.empty() || e.author == params_.bot_user)
    return result;
  auto reply_key = [&](std::string_view kind) { return key("reply/" + e.message_id + "-" + std::string{kind}); };
  auto cmd = parse_command(e.text);
  if (!e.edited) {
    const auto& seen = record_.handled_replies;
    if (std::find(seen.begin(), seen.end(), e.message_id) != seen.end())
      return result; // handled before, and this version came again (a backfill after a restart re-reads)
  }
  if (e.edited) {
    // Only the Jira comment follows an edit: commands and activity were counted for the first version.
    if (!cmd && record_.phase != request_phase::moved)
      jira(result, jira_action{key("jira/edit/" + e.message_id + "/" + text_hash(e.text)), jira_kind::edit_comment,
                               e.message_id, e.author, e.author_name, e.text, "", ""});
    return result;
  }
  if (!cmd) {
    if (record_.phase != request_phase::moved) {
      jira(result, jira_action{key("jira/comment/" + e.message_id), jira_kind::comment, e.message_id, e.author,
                               e.author_name, e.text, "", ""});
      std::vector<std::pair<std::string, fact_value>> data{
        {"side", std::string{"chat"}}, {"author", e.author}, {"message_id", e.message_id}, {"text", e.text}};
      if (counts_as_activity(roles(), e.author))
        if (auto first = respond(e.author, now))
          data.emplace_back("first_response_seconds", *first);
      publish(result, "comment/" + e.message_id, "comment_added", now, std::move(data));
    }
    if (record_.phase != request_phase::active || !counts_as_activity(roles(), e.author))
      return result;
    record_.unanswered_reminders = 0;
    if (const auto* s = find_status(record_.status); s != nullptr && !s->final)
      arm(result, now);
    return result;
  }
  if (const auto* x = std::get_if<rate_command>(&*cmd)) {
    // A rating typed in the thread counts like one in the DM (for this request only).
    if (x->request_id == record_.request_id && record_.phase == request_phase::active)
      return on(survey_answer{e.message_id, e.author, x->score}, now);
    return result;
  }
  if (record_.phase == request_phase::moving) {
    result.emplace_back(note(reply_key("moving"), template_id::moving_note, {{"target", record_.move_target_room}}));
    return result;
  }
  if (record_.phase == request_phase::moved) {
    result.emplace_back(note(reply_key("closed"), template_id::closed_note,
                             {{"target", record_.move_target_room}, {"link", record_.moved_permalink}}));
    return result;
  }
  auto help = [&] {
    result.emplace_back(note(reply_key("help"), template_id::help, {{"statuses", status_list()}}));
    return result;
  };
  if (const auto* x = std::get_if<status_command>(&*cmd)) {
    const auto* target = find_status(x->status_id);
    if (target == nullptr) {
      result.emplace_back(note(reply_key("unknown-status"), template_id::unknown_status,
                               {{"status", x->status_id}, {"statuses", status_list()}}));
      return result;
    }
    return set_status(e.author, *target, reply_key("refused"), now);
  }
  if (const auto* x = std::get_if<move_command>(&*cmd))
    return move(e, x->target, x->is_room);
  if (const auto* x = std::get_if<assign_command>(&*cmd)) {
    if (!may_assign(roles(), e.author)) {
      result.emplace_back(dm_user{reply_key("refused"), e.author, template_id::refused_assign,
                                  render(template_id::refused_assign,
                                         {{"request", record_.request_id}, {"room", record_.room}})});
      return result;
    }
    if (x->user == record_.assignee)
      return result;
    record_.assignee = x->user;
    auto assign = make_action(key("jira/assign/" + e.message_id), jira_kind::assign);
    assign.author = x->user;
    jira(result, std::move(assign));
    std::vector<std::pair<std::string, fact_value>> data{
      {"side", std::string{"chat"}}, {"assignee", x->user}, {"by", e.author}};
    if (auto first = respond(e.author, now))
      data.emplace_back("first_response_seconds", *first);
    publish(result, "assign/" + e.message_id, "assigned", now, std::move(data));
    record_.unanswered_reminders = 0;
    auto n = note(reply_key("assigned"), template_id::assigned, {{"user", e.author}, {"assignee", x->user}});
    n.mentions = {x->user};
    result.emplace_back(std::move(n));
    if (const auto* s = find_status(record_.status); s != nullptr && !s->final)
      arm(result, now);
    return result;
  }
  return help(); // help_command and unknown_command
}

std::vector<effect> request_lifecycle::set_status(const std::string& user, const status_def& target,
                                                  const std::string& refusal_key, timestamp now, bool from_jira) {
  std::vector<effect> result;
  if (iequals(target.id, record_.status))
    return result; // idempotent: a repeated click or reaction
  switch (from_jira ? status_permission::allowed : may_set_status(roles(), user, target.final)) {
    case status_permission::allowed:
      break;
    case status_permission::refused:
      result.emplace_back(dm_user{refusal_key, user, template_id::refused_status,
                                  render(template_id::refused_status,
                                         {{"request", record_.request_id}, {"room", record_.room}})});
      return result;
    case status_permission::requester_not_final: {
      std::string finals;
      for (const auto& s : params_.statuses)
        if (s.final)
          finals += (finals.empty() ? "" : ", ") + s.id;
      result.emplace_back(dm_user{refusal_key, user, template_id::refused_requester,
                                  render(template_id::refused_requester,
                                         {{"request", record_.request_id}, {"finals", finals}})});
      return result;
    }
  }
  const status_def* old = find_status(record_.status);
  auto old_emoji = old != nullptr ? normalize_emoji(old->emoji) : std::string{};
  auto new_emoji = normalize_emoji(target.emoji);
  auto seq = std::to_string(record_.status_seq + 1);
  if (old_emoji != new_emoji) {
    if (!old_emoji.empty())
      result.emplace_back(remove_reaction{key("status/" + seq + "-remove"), old_emoji});
    if (!new_emoji.empty())
      result.emplace_back(add_reaction{key("status/" + seq + "-add"), new_emoji});
  }
  auto from_label = old != nullptr ? label(*old) : record_.status;
  if (from_jira)
    result.emplace_back(note(key("status/" + seq + "-note"), template_id::jira_status_changed,
                             {{"user", user}, {"key", record_.jira_key}, {"from", from_label}, {"to", label(target)}}));
  else
    result.emplace_back(note(key("status/" + seq + "-note"), template_id::status_changed,
                             {{"user", user}, {"from", from_label}, {"to", label(target)}}));
  if (!from_jira && !target.jira_status.empty() && !iequals(target.jira_status, record_.jira_status)) {
    auto t = make_action(key("jira/transition/" + seq), jira_kind::transition);
    t.jira_status = target.jira_status;
    if (params_.jira)
      record_.jira_status = target.jira_status;
    jira(result, std::move(t));
  }
  status_change change{record_.status, target.id, from_jira ? "jira:" + user : user, now, record_.status_seq + 1};
  bool was_final = old != nullptr && old->final;
  ++record_.status_seq;
  record_.status = target.id;
  record_.unanswered_reminders = 0;
  result.emplace_back(mirror_status_change{change});
  std::vector<std::pair<std::string, fact_value>> data{{"from", change.from},
                                                       {"to", change.to},
                                                       {"by", user},
                                                       {"source", std::string{from_jira ? "jira" : "chat"}},
                                                       {"final", std::int64_t{target.final ? 1 : 0}}};
  if (auto first = respond(from_jira ? "jira:" + user : user, now))
    data.emplace_back("first_response_seconds", *first);
  if (target.final && !was_final) {
    record_.resolved_at = now;
    data.emplace_back("resolution_seconds", seconds_between(record_.created_at, now));
  } else if (!target.final && was_final) {
    ++record_.reopens;
    record_.resolved_at.reset();
    data.emplace_back("reopened", std::int64_t{1});
  }
  publish(result, "status/" + std::to_string(change.seq), "status_changed", now, std::move(data));
  if (target.final) {
    cancel(result);
    result.emplace_back(request_final{record_.request_id, record_.requester, target.id});
    if (!was_final)
      send_survey(result, now);
  } else {
    if (was_final && record_.survey.phase == survey_phase::open)
      survey_closed(result, survey_phase::withdrawn);
    arm(result, now); // a status change is activity; from a final status it reopens the reminders
  }
  pending_change_ = std::move(change);
  return result;
}

std::vector<effect> request_lifecycle::move(const thread_reply& e, const std::string& target, bool is_room) {
  std::vector<effect> result;
  auto reply_key = [&](std::string_view kind) { return key("reply/" + e.message_id + "-" + std::string{kind}); };
  if (!may_move(roles(), e.author)) {
    result.emplace_back(dm_user{reply_key("refused"), e.author, template_id::refused_move,
                                render(template_id::refused_move,
                                       {{"request", record_.request_id}, {"room", record_.room}})});
    return result;
  }
  const move_target* found = nullptr;
  for (const auto& c : params_.channels)
    if (c.room == target)
      found = &c;
  if (found == nullptr && !is_room)
    for (const auto& c : params_.channels)
      for (const auto& s : c.services)
        if (found == nullptr && iequals(s, target))
          found = &c;
  if (found == nullptr) {
    result.emplace_back(note(reply_key("move-unknown"), template_id::move_unknown_target, {{"target", target}}));
    return result;
  }
  if (found->room == record_.room) {
    result.emplace_back(note(reply_key("move-same"), template_id::move_same_room, {{"room", record_.room}}));
    return result;
  }
  record_.phase = request_phase::moving;
  record_.move_target_room = found->room;
  record_.moved_by = e.author;
  result.emplace_back(repost{key("move/repost"), found->room,
                             render(template_id::moved_repost, {{"permalink", record_.permalink},
                                                                {"from", record_.room},
                                                                {"by", e.author},
                                                                {"requester", record_.requester},
                                                                {"text", record_.text}})});
  return result;
}

std::vector<effect> request_lifecycle::on(const reaction_added& e, timestamp now) {
  if (record_.phase != request_phase::active || e.user.empty() || e.user == params_.bot_user)
    return {};
  const auto* target = find_status_by_emoji(e.emoji);
  if (target == nullptr || !may_react(roles(), e.user))
    return {}; // reactions are a shortcut for staff; anyone else's are just reactions
  return set_status(e.user, *target, {}, now);
}

std::vector<effect> request_lifecycle::on(const reaction_removed&, timestamp) {
  return {};
}

std::vector<effect> request_lifecycle::on(const reminder_due& e, timestamp now) {
  std::vector<effect> result;
  if (record_.phase != request_phase::active || e.epoch != record_.reminder_epoch || !record_.reminder_deadline)
    return result; // stale or cancelled
  if (now < *record_.reminder_deadline) {
    // Fired early (a clock skew or a restored timer): keep the same timer alive.
    result.emplace_back(arm_reminder{*record_.reminder_deadline, record_.reminder_epoch});
    return result;
  }
  ++record_.unanswered_reminders;
  ++record_.reminders_sent;
  auto users = on_duty_now();
  const auto* s = find_status(record_.status);
  auto status = s != nullptr ? label(*s) : record_.status;
  auto idle = format_duration(params_.remind_after);
  auto k = key("reminder/" + std::to_string(record_.reminders_sent));
  if (record_.unanswered_reminders >= 2) {
    auto mentions = users;
    for (const auto& f : params_.fallback)
      add_unique(mentions, f);
    std::vector<std::string> extra;
    for (const auto& f : params_.fallback)
      if (std::find(users.begin(), users.end(), f) == users.end())
        add_unique(extra, f);
    auto text = render(template_id::reminder_escalated,
                       {{"on_duty", tags(users)}, {"fallback", tags(extra)}, {"idle", idle}, {"status", status}});
    result.emplace_back(post_thread{std::move(k), template_id::reminder_escalated, std::move(text),
                                    std::move(mentions), status_buttons(params_.statuses)});
  } else {
    auto text = render(template_id::reminder, {{"on_duty", tags(users)}, {"idle", idle}, {"status", status}});
    result.emplace_back(
      post_thread{std::move(k), template_id::reminder, std::move(text), users, status_buttons(params_.statuses)});
  }
  arm(result, now);
  return result;
}

std::vector<effect> request_lifecycle::on(const on_duty_changed& e, timestamp) {
  if (record_.phase == request_phase::fresh)
    return {};
  record_.on_duty = e.on_duty;
  return {};
}

std::vector<effect> request_lifecycle::on(const moved& e, timestamp now) {
  std::vector<effect> result;
  if (record_.phase != request_phase::moving)
    return result;
  record_.phase = request_phase::moved;
  record_.moved_permalink = e.permalink;
  std::string to_team;
  for (const auto& c : params_.channels)
    if (c.room == record_.move_target_room)
      to_team = c.team;
  publish(result, "moved", "moved", now,
          {{"to", record_.move_target_room}, {"to_team", to_team}, {"by", record_.moved_by}, {"permalink", e.permalink}});
  result.emplace_back(note(key("move/note"), template_id::moved_note,
                           {{"target", record_.move_target_room}, {"by", record_.moved_by}, {"link", e.permalink}}));
  if (const auto* s = find_status(record_.status); s != nullptr && !s->emoji.empty()) {
    auto emoji = normalize_emoji(s->emoji);
    if (emoji != normalize_emoji(params_.moved_emoji))
      result.emplace_back(remove_reaction{key("move/remove"), emoji});
  }
  if (!params_.moved_emoji.empty())
    result.emplace_back(add_reaction{key("move/add"), normalize_emoji(params_.moved_emoji)});
  cancel(result);
  result.emplace_back(close_request{});
  return result;
}

std::vector<effect> request_lifecycle::on(const restored& e, timestamp) {
  std::vector<effect> result;
  record_ = e.record;
  switch (record_.phase) {
    case request_phase::fresh:
      break;
    case request_phase::active:
      if (record_.reminder_deadline) {
        // Timers of the previous incarnation died with it; one new epoch drops any that still arrive.
        ++record_.reminder_epoch;
        result.emplace_back(arm_reminder{*record_.reminder_deadline, record_.reminder_epoch});
      }
      if (record_.survey.phase == survey_phase::open)
        result.emplace_back(arm_survey{record_.survey.expires_at, record_.survey.round});
      break;
    case request_phase::moving:
      // The repost may not have happened; the key lets the actor skip it if it did.
      result.emplace_back(repost{key("move/repost"), record_.move_target_room,
                                 render(template_id::moved_repost, {{"permalink", record_.permalink},
                                                                    {"from", record_.room},
                                                                    {"by", record_.moved_by},
                                                                    {"requester", record_.requester},
                                                                    {"text", record_.text}})});
      break;
    case request_phase::moved:
      result.emplace_back(close_request{});
      break;
  }
  return result;
}

} // namespace dutydesk::domain

namespace dutydesk::domain {

std::vector<effect> request_lifecycle::on(const jira_linked& e, timestamp) {
  std::vector<effect> result;
  if (record_.phase == request_phase::fresh || !record_.jira_key.empty())
    return result; // linked already (a replayed answer of the bridge)
  record_.jira_key = e.key;
  record_.jira_url = e.url;
  if (record_.jira_status.empty())
    record_.jira_status = e.status;
  result.emplace_back(note(key("jira/link"), template_id::jira_linked, {{"key", e.key}, {"url", e.url}}));
  return result;
}

std::vector<effect> request_lifecycle::on(const jira_status_changed& e, timestamp now) {
  std::vector<effect> result;
  if (record_.phase != request_phase::active)
    return result;
  if (e.seen && *e.seen != record_.jira_status)
    return result; // read before a transition this request asked for since: stale, the transition decides
  record_.jira_status = e.status;
  if (const auto* current = find_status(record_.status);
      current != nullptr && iequals(current->jira_status, e.status))
    return result; // the issue reached the status we asked for (or one that maps to ours): nothing to echo
  const status_def* target = nullptr;
  for (const auto& s : params_.statuses)
    if (target == nullptr && iequals(s.jira_status, e.status))
      target = &s;
  if (target == nullptr) {
    result.emplace_back(note(key("jira/status/" + e.dedupe), template_id::jira_status_unmapped,
                             {{"key", record_.jira_key}, {"jira_status", e.status}}));
    return result;
  }
  return set_status(e.by, *target, {}, now, true);
}

std::vector<effect> request_lifecycle::on(const jira_comment_added& e, timestamp now) {
  std::vector<effect> result;
  if (record_.phase == request_phase::fresh || record_.phase == request_phase::moved)
    return result;
  result.emplace_back(note(key("jira/comment-in/" + e.comment_id), template_id::jira_comment,
                           {{"author", e.author}, {"text", e.text}}));
  std::vector<std::pair<std::string, fact_value>> data{
    {"side", std::string{"jira"}}, {"author", e.author}, {"comment_id", e.comment_id}, {"text", e.text}};
  if (auto first = respond("jira:" + e.author, now))
    data.emplace_back("first_response_seconds", *first);
  publish(result, "jira-comment/" + e.comment_id, "comment_added", now, std::move(data));
  return result;
}

std::vector<effect> request_lifecycle::on(const jira_assignee_changed& e, timestamp now) {
  std::vector<effect> result;
  if (record_.phase == request_phase::fresh || record_.phase == request_phase::moved)
    return result;
  if (e.assignee.empty())
    result.emplace_back(note(key("jira/assignee/" + e.dedupe), template_id::jira_unassigned,
                             {{"key", record_.jira_key}}));
  else
    result.emplace_back(note(key("jira/assignee/" + e.dedupe), template_id::jira_assigned,
                             {{"key", record_.jira_key}, {"assignee", e.assignee}}));
  publish(result, "jira-assign/" + e.dedupe, "assigned", now,
          {{"side", std::string{"jira"}}, {"assignee", e.assignee}, {"by", std::string{"jira"}}});
  return result;
}

std::vector<effect> request_lifecycle::on(const jira_problem& e, timestamp) {
  std::vector<effect> result;
  if (record_.phase == request_phase::fresh)
    return result;
  result.emplace_back(note(key("jira/problem/" + e.key), template_id::jira_problem, {{"text", e.text}}));
  return result;
}

// -- feedback -----------------------------------------------------------------------------------------------------

void request_lifecycle::send_survey(std::vector<effect>& xs, timestamp now) {
  if (!params_.feedback.enabled || record_.requester.empty() || record_.requester == params_.bot_user)
    return;
  auto& s = record_.survey;
  s = survey_state{s.round + 1};
  s.phase = survey_phase::open;
  s.sent_at = now;
  s.expires_at = now + params_.feedback.expire_after;
  s.resolved_at = now;
  s.on_duty = !record_.assignee.empty() ? record_.assignee
                                         : (record_.on_duty.users.empty() ? "" : record_.on_duty.users.front());
  if (!params_.feedback.anonymous)
    s.requester = record_.requester;
  xs.emplace_back(dm_user{survey_key(), record_.requester, template_id::survey,
                          render(template_id::survey, {{"room", record_.room}, {"text", record_.text}}),
                          rating_buttons()});
  xs.emplace_back(arm_survey{s.expires_at, s.round});
}

std::vector<effect> request_lifecycle::on(const survey_answer& e, timestamp now) {
  std::vector<effect> result;
  if (record_.phase == request_phase::fresh || e.user.empty() || e.user == params_.bot_user)
    return result;
  auto answer_key = key("survey/answer/" + e.message_id);
  auto answer = [&](template_id id, std::initializer_list<template_arg> args) {
    result.emplace_back(dm_user{answer_key, e.user, id, render(id, args)});
    return result;
  };
  auto& s = record_.survey;
  if (e.user != record_.requester)
    return answer(template_id::rating_not_requester, {{"request", record_.request_id}});
  if (s.phase == survey_phase::rated)
    return answer(template_id::rating_again, {{"rating", std::to_string(s.rating)}});
  if (s.phase == survey_phase::open && now >= s.expires_at)
    survey_closed(result, survey_phase::expired); // the timer has not fired yet
  if (s.phase != survey_phase::open)
    return answer(template_id::rating_closed, {{"request", record_.request_id}});
  if (e.rating < 1 || e.rating > 5)
    return answer(template_id::rating_invalid, {});
  s.phase = survey_phase::rated;
  s.rating = e.rating;
  s.rated_at = now;
  answer(template_id::rating_thanks, {{"rating", std::to_string(e.rating)}});
  publish(result, "rated/" + std::to_string(s.round), "rated", now,
          {{"rating", std::int64_t{e.rating}},
           {"round", static_cast<std::int64_t>(s.round)},
           {"on_duty", s.on_duty},
           {"resolution_seconds", seconds_between(record_.created_at, s.resolved_at)}});
  return result;
}

std::vector<effect> request_lifecycle::on(const survey_comment& e, timestamp now) {
  std::vector<effect> result;
  auto& s = record_.survey;
  if (record_.phase == request_phase::fresh || e.user != record_.requester || e.text.empty())
    return result; // only the requester's words count; anything else in a DM is not ours to answer
  auto answer_key = key("survey/answer/" + e.message_id);
  if (s.phase == survey_phase::open && now < s.expires_at) {
    result.emplace_back(dm_user{answer_key, e.user, template_id::rate_first, render(template_id::rate_first, {})});
    return result;
  }
  if (s.phase != survey_phase::rated)
    return result;
  constexpr std::size_t max_comment = 4000;
  if (!s.comment.empty())
    s.comment += '\n';
  s.comment += e.text;
  if (s.comment.size() > max_comment) {
    // Cut at a character boundary: a UTF-8 character the cut splits goes whole (at most 3 bytes back).
    auto end = max_comment;
    while (end > max_comment - 3 && (static_cast<unsigned char>(s.comment[end]) & 0xC0) == 0x80)
      --end;
    s.comment.resize(end);
  }
  result.emplace_back(dm_user{answer_key, e.user, template_id::comment_saved, render(template_id::comment_saved, {})});
  return result;
}

std::vector<effect> request_lifecycle::on(const survey_due& e, timestamp now) {
  std::vector<effect> result;
  auto& s = record_.survey;
  if (e.round != s.round || s.phase != survey_phase::open)
    return result; // rated, withdrawn or a later round's survey
  if (now < s.expires_at) {
    result.emplace_back(arm_survey{s.expires_at, s.round}); // fired early (a restored timer, clock skew)
    return result;
  }
  survey_closed(result, survey_phase::expired);
  return result;
}

} // namespace dutydesk::domain
