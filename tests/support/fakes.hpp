#pragma once
// Fakes of the chat adapter and the storage actor for actor tests. Each records every call in a log struct that
// the test holds through a shared_ptr (the fake runs on the test scheduler, so reading the log between sched.run()
// calls is safe). Both can be told to fail their next N calls with make_error(ec::chat_failed / ec::storage_failed).
//
//   auto chat = std::make_shared<test::chat_log>();
//   auto hdl = sys.spawn(test::fake_chat, chat);
//   ... run() ...
//   EXPECT_EQ(chat->posts.size(), 1u);

#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/error.hpp"
#include "actors/interfaces.hpp"
#include "tests/support/storage_behavior.hpp"

namespace dutydesk::test {

/// Everything the fake chat was asked, in order per kind, plus the switch to make it fail.
struct chat_log {
  std::vector<actors::chat_post> posts;         // every post call, repeated keys included
  std::vector<actors::chat_reaction> reactions; // every react call
  std::vector<actors::chat_dm> dms;             // every dm call
  std::vector<actors::chat_edit> edits;         // every edit call
  std::vector<std::string> calls;               // "post <key>", "react+ <emoji>", "react- <emoji>", "dm <user>"
  std::map<std::string, std::string> ids;       // key -> message id ("m1", "m2", ... in order of first use)
  int fail_next = 0;                            // the next N calls answer ec::chat_failed
  std::set<std::string> rejected_emoji;         // reactions with these answer ec::chat_rejected (as an unknown emoji)
  int failed = 0;                               // how many calls failed

  /// The message id for `key`: the same key gives the same id, as the adapter derives ids from keys.
  std::string id_for(const std::string& key) {
    auto [it, added] = ids.try_emplace(key, "");
    if (added)
      it->second = "m" + std::to_string(ids.size());
    return it->second;
  }

  static std::string permalink(const std::string& room, const std::string& id) {
    return "http://chat.test/channel/" + room + "?msg=" + id;
  }

  /// Posts whose key is `key`.
  std::size_t posts_with_key(const std::string& key) const {
    return static_cast<std::size_t>(
      std::count_if(posts.begin(), posts.end(), [&](const actors::chat_post& p) { return p.key == key; }));
  }

  bool should_fail() {
    if (fail_next <= 0)
      return false;
    --fail_next;
    ++failed;
    return true;
  }
};

/// The fake chat adapter (chat_actor) over `log`.
inline actors::chat_actor::behavior_type fake_chat(actors::chat_actor::pointer, std::shared_ptr<chat_log> log) {
  return {
    [log](atom::post, actors::chat_post& x) -> caf::result<actors::posted> {
      log->calls.push_back("post " + x.key);
      log->posts.push_back(x);
      if (log->should_fail())
        return make_error(ec::chat_failed, "fake chat: post " + x.key);
      auto id = log->id_for(x.key);
      return actors::posted{id, chat_log::permalink(x.room, id)};
    },
    [log](atom::react, actors::chat_reaction& x) -> caf::result<bool> {
      log->calls.push_back(std::string{x.add ? "react+ " : "react- "} + x.emoji);
      log->reactions.push_back(x);
      if (log->should_fail())
        return make_error(ec::chat_failed, "fake chat: react " + x.key);
      if (log->rejected_emoji.count(x.emoji))
        return make_error(ec::chat_rejected, "chat.react: rejected (HTTP 400): Invalid emoji provided.");
      return true;
    },
    [log](atom::dm, actors::chat_dm& x) -> caf::result<actors::posted> {
      log->calls.push_back("dm " + x.user);
      log->dms.push_back(x);
      if (log->should_fail())
        return make_error(ec::chat_failed, "fake chat: dm " + x.key);
      auto id = log->id_for(x.key);
      return actors::posted{id, "http://chat.test/direct/" + x.user + "?msg=" + id};
    },
    [log](atom::edit, actors::chat_edit& x) -> caf::result<bool> {
      log->calls.push_back("edit " + x.key);
      log->edits.push_back(x);
      if (log->should_fail())
        return make_error(ec::chat_failed, "fake chat: edit " + x.key);
      return true;
    },
  };
}

/// The fake storage's memory and everything it was asked.
struct storage_log {
  struct action {
    storage::claim_status status = storage::claim_status::pending;
    std::string result;
  };
  std::map<std::string, action> actions;                // idempotency key -> state
  std::vector<std::string> claims;                      // every claimed key, in order
  std::vector<std::pair<std::string, std::string>> dones; // every (key, result) marked done
  std::vector<actors::persist_request> saves;           // every save
  std::vector<domain::request_record> records;          // the last saved record per request, oldest request first
  std::vector<domain::status_change> changes;           // every saved status change
  std::map<std::string, storage::room_cursor> room_cursors;
  int fail_next = 0; // the next N calls answer ec::storage_failed (a failing `done` is dropped)
  int failed = 0;

  /// Seeds an action as done, as a run before a crash would have left it.
  void mark_done(const std::string& key, std::string result) {
    actions[key] = action{storage::claim_status::done, std::move(result)};
  }

  /// The stored record of `request_id`, if any.
  std::optional<domain::request_record> record(const std::string& request_id) const {
    for (const auto& r : records)
      if (r.request_id == request_id)
        return r;
    return std::nullopt;
  }

  bool should_fail() {
    if (fail_next <= 0)
      return false;
    --fail_next;
    ++failed;
    return true;
  }
};

/// The fake storage actor (storage_actor) over `log`.
inline actors::storage_actor::behavior_type fake_storage(actors::storage_actor::pointer,
                                                         std::shared_ptr<storage_log> log) {
  return storage_behavior(
    [log](atom::save, actors::persist_request& x) -> caf::result<bool> {
      if (log->should_fail())
        return make_error(ec::storage_failed, "fake storage: save " + x.record.request_id);
      log->saves.push_back(x);
      if (x.change)
        log->changes.push_back(*x.change);
      auto it = std::find_if(log->records.begin(), log->records.end(),
                             [&](const domain::request_record& r) { return r.request_id == x.record.request_id; });
      if (it == log->records.end())
        log->records.push_back(x.record);
      else
        *it = x.record;
      return true;
    },
    [log](atom::claim, std::string& key, std::int64_t) -> caf::result<actors::claim_reply> {
      if (log->should_fail())
        return make_error(ec::storage_failed, "fake storage: claim " + key);
      log->claims.push_back(key);
      auto [it, added] = log->actions.try_emplace(key, storage_log::action{});
      if (added)
        return actors::claim_reply{storage::claim_status::fresh, {}};
      return actors::claim_reply{it->second.status, it->second.result};
    },
    [log](atom::done, std::string& key, std::string& result, std::int64_t) {
      if (log->should_fail())
        return;
      log->dones.emplace_back(key, result);
      log->actions[key] = storage_log::action{storage::claim_status::done, result};
    },
    [log](atom::find, std::string& root) -> caf::result<actors::found_request> {
      if (log->should_fail())
        return make_error(ec::storage_failed, "fake storage: find " + root);
      for (const auto& r : log->records)
        if (r.root_message_id == root)
          return actors::found_request{r};
      return actors::found_request{};
    },
    [log](atom::load, std::string& room) -> caf::result<std::vector<domain::request_record>> {
      if (log->should_fail())
        return make_error(ec::storage_failed, "fake storage: load " + room);
      std::vector<domain::request_record> result;
      for (const auto& r : log->records)
        if (r.room == room && r.phase != domain::request_phase::moved)
          result.push_back(r);
      return result;
    },
    [log](atom::cursor, actors::cursor_update& x) -> caf::result<bool> {
      if (log->should_fail())
        return make_error(ec::storage_failed, "fake storage: cursor " + x.room);
      log->room_cursors[x.room] = storage::room_cursor{x.room, x.ts_ms, x.message_id};
      return true;
    },
    [log](atom::cursors) -> caf::result<std::vector<storage::room_cursor>> {
      if (log->should_fail())
        return make_error(ec::storage_failed, "fake storage: cursors");
      std::vector<storage::room_cursor> result;
      for (const auto& [room, c] : log->room_cursors)
        result.push_back(c);
      return result;
    });
}

} // namespace dutydesk::test
