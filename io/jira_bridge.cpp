#include "io/jira_bridge.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "actors/error.hpp"
#include "actors/storage_actor.hpp"
#include "domain/commands.hpp"
#include "io/io_runtime.hpp"
#include "io/jira_payloads.hpp"
#include "io/jira_webhook.hpp"

namespace dutydesk::io {

/// What carrying out one outbox row came to; built on the I/O thread, applied by the actor.
struct jira_outcome {
  enum class verdict { done, retry, failed } v = verdict::done;
  std::chrono::milliseconds retry_in{0};
  bool rate_limited = false;
  std::string result;
  std::string error;       // for the log and the row's last_error
  std::string problem;     // a note for the request's thread; "" for none
  std::string problem_key; // keys that note
  std::optional<storage::jira_link> link;
  std::optional<storage::jira_comment_link> comment;
  std::vector<storage::jira_op> enqueue;
  std::optional<domain::jira_linked> linked;
};

/// The answer owed to one webhook delivery.
struct webhook_reply {
  http_server::respond respond;
};

/// What the I/O side read for a status change: the issue's status now.
struct jira_status_now {
  std::string status; // "" when the read failed
};

/// Changes a poll found, to route like webhook changes.
struct poll_result {
  std::string project;
  std::string watermark; // the newest `updated` seen, as "yyyy-MM-dd HH:mm"
  std::vector<jira::change> changes;
  bool ok = false;
};

} // namespace dutydesk::io

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::io::jira_outcome)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::io::webhook_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::io::jira_status_now)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dutydesk::io::poll_result)

namespace dutydesk::io {

namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

using bridge_actor = actors::jira_bridge_actor::extend<
  caf::reacts_to<atom::done, std::uint64_t, jira_outcome>,
  caf::reacts_to<atom::inbox, storage::inbox_delivery, webhook_reply>,
  caf::reacts_to<atom::status, std::uint64_t, jira_status_now>,
  caf::reacts_to<atom::lookup, poll_result>,
  caf::reacts_to<atom::open>,
  caf::reacts_to<atom::inbox, atom::done>>;

std::int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// Jira time ("2024-11-26T14:06:40.000+0000") → the JQL minute literal "2024-11-26 14:06" (UTC in the simulator
/// and for a bot account whose profile zone is UTC; the poll's overlap covers small offsets).
std::string jql_minute(const std::string& jira_time) {
  if (jira_time.size() < 16)
    return {};
  auto s = jira_time.substr(0, 16);
  s[10] = ' ';
  return s;
}

std::string jql_minute_of(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

} // namespace

// -- the I/O side -------------------------------------------------------------------------------------------------

struct jira_bridge::impl {
  caf::actor_system& sys;
  io_runtime& runtime;
  jira_bridge_config cfg;
  actors::storage_actor storage;
  std::shared_ptr<const actors::channel_directory> channels;
  bridge_actor actor;

  mutable std::mutex stats_mutex;
  jira_bridge_stats counters;

  // I/O thread only.
  std::unique_ptr<jira_client> client;
  std::map<std::string, jira::create_meta> meta_cache;          // "<project>/<type>"
  std::map<std::string, jira::jira_user> user_cache;            // chat username → Jira user
  std::map<std::string, std::set<std::string>> workflow_edges;  // Jira status → statuses a transition leads to
  // Op key → the statuses its unfinished walk went through, kept across the op's retries: a retry after a 503
  // mid-walk that started with nothing visited walked back through the status it had started from (chaos seed 11).
  std::map<std::string, std::set<std::string>> walk_visited;

  // Written by open() or the I/O thread, read by the actor.
  std::mutex identity_mutex;
  std::optional<jira::self_identity> identity;

  impl(caf::actor_system& s, io_runtime& r, jira_bridge_config c, actors::storage_actor st,
       std::shared_ptr<const actors::channel_directory> ch)
    : sys(s), runtime(r), cfg(std::move(c)), storage(std::move(st)), channels(std::move(ch)) {}

  template <class F>
  void count(F f) {
    std::lock_guard<std::mutex> lock(stats_mutex);
    f(counters);
  }

  jira_client& jc() {
    if (!client)
      client = std::make_unique<jira_client>(runtime.http(), cfg.base_url, cfg.flavor, cfg.auth);
    return *client;
  }

  std::optional<jira::self_identity> self_identity() {
    std::lock_guard<std::mutex> lock(identity_mutex);
    return identity;
  }

  const jira_bridge_channel* channel_of_room(const std::string& room) const {
    for (const auto& c : cfg.channels)
      if (c.room == room)
        return &c;
    return nullptr;
  }

  /// The channel a Jira-created issue belongs to: by its service field's value, else by its project.
  const jira_bridge_channel* channel_of_issue(const jira::issue_ref& i) const {
    if (cfg.service_field)
      if (auto v = i.custom.find(*cfg.service_field); v != i.custom.end())
        for (const auto& c : cfg.channels)
          for (const auto& s : c.services)
            if (domain::iequals(s, v->second))
              return &c;
    for (const auto& c : cfg.channels)
      if (domain::iequals(c.project, i.project_key))
        return &c;
    return nullptr;
  }

  std::atomic<bool> checking{false};

  /// Checks serverInfo and /myself on the I/O thread; `done(problem, reachable)` runs there.
  void check_async(std::function<void(std::string, bool)> done) {
    runtime.post([this, done = std::move(done)] {
      auto finish = done;
      jc().server_info([this, finish](api_result<jira::server_info> info) {
        if (!info.ok()) {
          bool down = info.error().code == api_errc::transport || info.error().code == api_errc::server
                      || info.error().code == api_errc::rate_limited;
          return finish(down ? "" : "serverInfo: " + describe(info.error()), !down);
        }
        bool cloud = domain::iequals(info->deployment_type, "Cloud");
        if (cloud != (cfg.flavor == jira::flavor::cloud))
          return finish(std::string{"jira.flavor is "} + (cfg.flavor == jira::flavor::cloud ? "cloud" : "datacenter")
                          + " but serverInfo says deploymentType " + info->deployment_type,
                        true);
        jc().myself([this, finish](api_result<jira::jira_user> me) {
          if (!me.ok()) {
            bool down = me.error().code == api_errc::transport || me.error().code == api_errc::server
                        || me.error().code == api_errc::rate_limited;
            return finish(down ? "" : "myself: " + describe(me.error()), !down);
          }
          {
            std::lock_guard<std::mutex> lock(identity_mutex);
            identity = jira::self_identity{me->name, me->key, me->account_id};
          }
          spdlog::info("jira: {} as {} ({})", cfg.base_url, me->display_name,
                       me->account_id.empty() ? me->name : me->account_id);
          finish("", true);
        });
      });
    });
  }

  /// Checks serverInfo and /myself, blocking the caller (not the I/O thread). "" when fine or unreachable.
  std::string check() {
    std::string problem;
    bool reachable = true;
    std::mutex m;
    std::condition_variable cv;
    bool finished = false;
    check_async([&](std::string p, bool r) {
      std::lock_guard<std::mutex> lock(m);
      problem = std::move(p);
      reachable = r;
      finished = true;
      cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(m);
    cv.wait_for(lock, std::chrono::seconds(60), [&] { return finished; });
    if (!finished)
      return "";
    if (!reachable)
      spdlog::warn("jira: {} is not reachable yet; the outbox waits for it", cfg.base_url);
    return problem;
  }

  // -- carrying out one row (I/O thread) --------------------------------------------------------------------------

  struct run {
    std::uint64_t corr = 0;
    storage::jira_op op;
    domain::jira_action action;
    std::optional<storage::jira_link> link;
    std::optional<domain::request_record> request;
    std::string comment_id; // edit_comment: the Jira comment of the chat message (from its comment link)
    jira_outcome out;
    std::set<std::string> visited; // transition walk
    std::size_t steps = 0;
    // The I/O callbacks of a run capture `this`: the run keeps the impl alive until its last callback is gone, also
    // when the actor (the other owner) exits with a call in flight (TSan: heap-use-after-free of `actor` in
    // finish() after ~bridge_state freed the impl).
    std::shared_ptr<impl> keep;
  };
  using run_ptr = std::shared_ptr<run>;

  void finish(const run_ptr& r) {
    if (r->out.v != jira_outcome::verdict::retry)
      walk_visited.erase(r->op.key);
    caf::anon_send(actor, atom::done_v, r->corr, std::move(r->out));
  }

  /// Classifies a failed call: 429 and outages are retried, other answers fail the row and say so in the thread.
  void failed(const run_ptr& r, const api_error& e, const std::string& what) {
    r->out.error = what + ": " + describe(e);
    switch (e.code) {
      case api_errc::rate_limited:
        r->out.v = jira_outcome::verdict::retry;
        r->out.rate_limited = true;
        r->out.retry_in = e.retry_after.value_or(std::chrono::seconds(30));
        break;
      case api_errc::auth:
        // Jira refuses dutydesk's credentials (an expired or revoked token): nothing is wrong with the row, so it
        // waits like in an outage instead of failing for good; it goes through once the token works again.
        spdlog::error("jira: Jira refuses dutydesk's credentials ({}); {} waits. Fix jira.auth (a restart reads "
                      "the config again)",
                      describe(e), r->op.key);
        [[fallthrough]];
      case api_errc::transport:
      case api_errc::server: {
        r->out.v = jira_outcome::verdict::retry;
        auto n = std::min<std::int32_t>(r->op.attempts, 20);
        auto backoff = milliseconds(1000) * (std::int64_t{1} << std::clamp(n - 1, 0, 16));
        r->out.retry_in = std::min(backoff, cfg.max_backoff);
        if (e.retry_after)
          r->out.retry_in = std::max(r->out.retry_in, *e.retry_after);
        break;
      }
      default:
        r->out.v = jira_outcome::verdict::failed;
        r->out.problem = "could not " + what + ": " + describe(e);
        r->out.problem_key = r->op.key;
        break;
    }
    finish(r);
  }

  void start(run_ptr r) {
    auto kind = r->op.kind;
    if (kind == "link")
      return remote_link(r);
    if (kind == "create")
      return create(r);
    if (!r->link) {
      // Rows of a request run in order, so the create ran before: it failed for good (or is the blocked row
      // ahead, which keeps the others waiting).
      r->out.v = jira_outcome::verdict::failed;
      r->out.error = "the request has no Jira issue";
      return finish(r);
    }
    if (kind == "comment")
      return comment(r);
    if (kind == "edit_comment")
      return edit_comment(r);
    if (kind == "transition")
      return transition(r);
    if (kind == "assign")
      return assign(r);
    r->out.v = jira_outcome::verdict::failed;
    r->out.error = "unknown outbox row kind " + kind;
    finish(r);
  }

  // create -------------------------------------------------------------------------------------------------------

  void linked(const run_ptr& r, const std::string& id, const std::string& key, const std::string& status,
              const std::string& project) {
    storage::jira_link l;
    l.request_id = r->op.request_id;
    l.issue_key = key;
    l.issue_id = id;
    l.url = cfg.base_url + "/browse/" + key;
    l.project = project;
    l.linked_at = now_ms();
    r->out.link = l;
    r->out.linked = domain::jira_linked{key, l.url, status};
    r->out.result = key;
    storage::jira_op link_op;
    link_op.key = r->op.request_id + "/jira/remotelink";
    link_op.request_id = r->op.request_id;
    link_op.kind = "link";
    link_op.payload = "{}";
    link_op.created_at = link_op.next_attempt_at = now_ms();
    r->out.enqueue.push_back(std::move(link_op));
    r->out.v = jira_outcome::verdict::done;
    finish(r);
  }

  void create(const run_ptr& r) {
    if (r->link) {
      // Linked already: a task born in Jira (the inbox linked it) or an earlier attempt whose row update was lost.
      // What follows a link (the remote link back to the thread) is queued all the same; its key dedupes.
      auto l = *r->link;
      return linked(r, l.issue_id, l.issue_key, "", l.project);
    }
    if (!r->request) {
      r->out.v = jira_outcome::verdict::failed;
      r->out.error = "the request is not stored";
      return finish(r);
    }
    const auto* ch = channel_of_room(r->request->room);
    if (ch == nullptr || ch->project.empty()) {
      r->out.v = jira_outcome::verdict::failed;
      r->out.error = "room " + r->request->room + " has no Jira project";
      return finish(r);
    }
    if (!r->action.issue_key.empty()) {
      jc().get_issue(r->action.issue_key, {}, [this, r](api_result<jira::issue> i) {
        if (!i.ok())
          return failed(r, i.error(), "read " + r->action.issue_key);
        auto project = i->key.substr(0, i->key.find('-'));
        linked(r, i->id, i->key, i->status, project);
      });
      return;
    }
    if (r->op.attempts > 1) {
      // An earlier attempt may have created the issue and died before storing its key: look for it first.
      jc().search(jira::jql_for_request(ch->project, r->op.request_id), {},
                  [this, r, ch](api_result<std::vector<jira::issue>> found) {
                    if (!found.ok())
                      return failed(r, found.error(), "search for the issue of " + r->op.request_id);
                    if (!found->empty()) {
                      const auto& i = found->front();
                      spdlog::info("jira: request {} already has {} (an earlier attempt created it)",
                                   r->op.request_id, i.key);
                      return linked(r, i.id, i.key, i.status, ch->project);
                    }
                    with_meta(r, ch);
                  });
      return;
    }
    with_meta(r, ch);
  }

  void with_meta(const run_ptr& r, const jira_bridge_channel* ch) {
    auto cache_key = ch->project + "/" + ch->issue_type;
    if (auto m = meta_cache.find(cache_key); m != meta_cache.end())
      return create_checked(r, ch, m->second);
    jc().create_meta(ch->project, ch->issue_type, [this, r, ch, cache_key](api_result<jira::create_meta> m) {
      if (!m.ok())
        return failed(r, m.error(), "read the create screen of " + ch->project);
      meta_cache[cache_key] = m.value();
      create_checked(r, ch, m.value());
    });
  }

  void create_checked(const run_ptr& r, const jira_bridge_channel* ch, const jira::create_meta& meta) {
    static const std::set<std::string> filled{"project", "issuetype", "summary", "description", "labels",
                                              "reporter"};
    std::optional<std::string> service;
    if (cfg.service_field && !ch->services.empty())
      service = ch->services.front();
    std::vector<std::string> missing;
    for (const auto& f : meta.fields) {
      if (!f.required || f.has_default || filled.count(f.id) > 0)
        continue;
      if (cfg.service_field && f.id == *cfg.service_field && service)
        continue;
      missing.push_back(f.name.empty() ? f.id : f.name + " (" + f.id + ")");
    }
    if (!missing.empty()) {
      std::string names;
      for (const auto& m : missing)
        names += (names.empty() ? "" : ", ") + m;
      r->out.v = jira_outcome::verdict::retry;
      r->out.retry_in = cfg.blocked_retry;
      r->out.error = "required fields without a value: " + names;
      r->out.problem = "cannot create the issue in " + ch->project + ": required fields without a value: " + names
                       + ". Configure them (jira.service_field and the channel's services); dutydesk keeps trying.";
      r->out.problem_key = r->op.key + "/fields";
      meta_cache.erase(ch->project + "/" + ch->issue_type); // re-read the screen next time
      return finish(r);
    }
    jira::issue_draft d;
    d.request_id = r->op.request_id;
    d.project_key = ch->project;
    d.issue_type = ch->issue_type;
    d.summary = jira::summary_from(r->request->text);
    d.text = r->request->text;
    d.requester = r->request->requester;
    d.room = r->request->room;
    d.permalink = r->request->permalink;
    if (cfg.service_field && service) {
      d.service_field = *cfg.service_field;
      d.service_value = *service;
    }
    jc().create_issue(jira::create_issue_body(cfg.flavor, d), [this, r, ch](api_result<jira::created_issue> c) {
      if (!c.ok()) {
        if (c.error().code == api_errc::rejected) {
          auto fields = jira::rejected_fields(c.error());
          meta_cache.erase(ch->project + "/" + ch->issue_type);
          if (!fields.empty()) {
            std::string names;
            for (const auto& f : fields)
              names += (names.empty() ? "" : ", ") + f;
            r->out.v = jira_outcome::verdict::retry;
            r->out.retry_in = cfg.blocked_retry;
            r->out.error = "create rejected: " + describe(c.error());
            r->out.problem = "cannot create the issue in " + ch->project + ": Jira refuses the fields " + names
                             + " (" + c.error().error + "). Fix the configuration; dutydesk keeps trying.";
            r->out.problem_key = r->op.key + "/fields";
            return finish(r);
          }
        }
        return failed(r, c.error(), "create the issue in " + ch->project);
      }
      spdlog::info("jira: request {} is {}", r->op.request_id, c->key);
      linked(r, c->id, c->key, "", ch->project);
    });
  }

  // link ---------------------------------------------------------------------------------------------------------

  void remote_link(const run_ptr& r) {
    if (!r->link || !r->request) {
      r->out.v = jira_outcome::verdict::failed;
      r->out.error = "no issue or request to link";
      return finish(r);
    }
    auto title = "#" + r->request->room + " thread";
    auto body = jira::remote_link_body(r->op.request_id, r->request->permalink, title,
                                       jira::summary_from(r->request->text), false);
    jc().put_remote_link(r->link->issue_key, body, [this, r](api_result<std::string> id) {
      if (!id.ok())
        return failed(r, id.error(), "link " + r->link->issue_key + " to the chat thread");
      r->out.v = jira_outcome::verdict::done;
      r->out.result = id.value();
      finish(r);
    });
  }

  // comments -----------------------------------------------------------------------------------------------------

  std::string comment_text(const run_ptr& r) const {
    return jira::attributed_comment(r->action.author_name, r->action.author, r->action.text);
  }

  void commented(const run_ptr& r, const std::string& id) {
    storage::jira_comment_link l;
    l.request_id = r->op.request_id;
    l.chat_message_id = r->action.message_id;
    l.comment_id = id;
    l.direction = "to_jira";
    l.at = now_ms();
    r->out.comment = l;
    r->out.result = id;
    r->out.v = jira_outcome::verdict::done;
    finish(r);
  }

  void comment(const run_ptr& r) {
    if (r->op.attempts > 1)
      return find_comment(r);
    post_comment(r);
  }

  void post_comment(const run_ptr& r) {
    jc().add_comment(r->link->issue_key, jira::comment_body(cfg.flavor, comment_text(r), r->action.message_id),
                     [this, r](api_result<std::string> id) {
                       if (!id.ok())
                         return failed(r, id.error(), "comment on " + r->link->issue_key);
                       commented(r, id.value());
                     });
  }

  /// A retried attempt: a comment of ours whose `dutydesk` property names the chat message is the earlier one.
  void find_comment(const run_ptr& r) {
    jc().comments(r->link->issue_key, [this, r](api_result<std::vector<jira::issue_comment>> cs) {
      if (!cs.ok())
        return failed(r, cs.error(), "read the comments of " + r->link->issue_key);
      auto me = self_identity();
      auto ours = std::make_shared<std::deque<std::string>>();
      for (const auto& c : cs.value()) {
        bool mine = me && ((!me->account_id.empty() && c.author.account_id == me->account_id)
                           || (!me->name.empty() && c.author.name == me->name));
        if (mine && c.body == comment_text(r))
          ours->push_back(c.id);
      }
      check_property(r, ours);
    });
  }

  void check_property(const run_ptr& r, std::shared_ptr<std::deque<std::string>> ids) {
    if (ids->empty())
      return post_comment(r);
    auto id = ids->front();
    ids->pop_front();
    jc().comment_property(id, "dutydesk", [this, r, ids, id](api_result<std::optional<json>> p) {
      if (!p.ok())
        return failed(r, p.error(), "read the property of comment " + id);
      const auto& v = p.value();
      if (v && v->is_object() && v->value("chatMessageId", std::string{}) == r->action.message_id) {
        spdlog::info("jira: reply {} of request {} is comment {} already", r->action.message_id, r->op.request_id,
                     id);
        return commented(r, id);
      }
      check_property(r, ids);
    });
  }

  void edit_comment(const run_ptr& r) {
    // The comment link was written when the comment was made (an earlier row of the same request).
    r->out.v = jira_outcome::verdict::done;
    if (r->comment_id.empty()) {
      r->out.error = "no comment to edit (the reply was never mirrored)";
      return finish(r);
    }
    jc().update_comment(r->link->issue_key, r->comment_id, jira::comment_edit_body(cfg.flavor, comment_text(r)),
                        [this, r](api_result<std::monostate> ok) {
                          if (!ok.ok())
                            return failed(r, ok.error(), "edit comment " + r->comment_id);
                          r->out.result = r->comment_id;
                          finish(r);
                        });
  }

  // transitions --------------------------------------------------------------------------------------------------

  void transition(const run_ptr& r) {
    if (auto v = walk_visited.find(r->op.key); v != walk_visited.end())
      r->visited = v->second;
    jc().get_issue(r->link->issue_key, {}, [this, r](api_result<jira::issue> i) {
      if (!i.ok())
        return failed(r, i.error(), "read " + r->link->issue_key);
      walk(r, i->status);
    });
  }

  /// The next status on the shortest known way to `target` from the status whose transitions are `available`, if
  /// the transitions seen so far know one.
  std::optional<std::string> next_hop(const std::string& target, const std::vector<jira::transition>& available) {
    std::map<std::string, std::string> first; // status → the first hop that reaches it
    std::deque<std::string> q;
    for (const auto& t : available)
      if (first.emplace(t.to_name, t.to_name).second)
        q.push_back(t.to_name);
    while (!q.empty()) {
      auto s = q.front();
      q.pop_front();
      if (domain::iequals(s, target))
        return first[s];
      if (auto e = workflow_edges.find(s); e != workflow_edges.end())
        for (const auto& n : e->second)
          if (first.emplace(n, first[s]).second)
            q.push_back(n);
    }
    return std::nullopt;
  }

  void walk(const run_ptr& r, const std::string& current) {
    const auto& target = r->action.jira_status;
    if (domain::iequals(current, target)) {
      r->out.v = jira_outcome::verdict::done;
      r->out.result = current;
      return finish(r);
    }
    if (r->steps >= cfg.max_walk) {
      r->out.v = jira_outcome::verdict::failed;
      r->out.error = "no way from " + current + " to " + target + " within " + std::to_string(cfg.max_walk) + " steps";
      r->out.problem = "cannot move " + r->link->issue_key + " from \"" + current + "\" to \"" + target
                       + "\": no transition leads there.";
      r->out.problem_key = r->op.key;
      return finish(r);
    }
    r->visited.insert(current);
    walk_visited[r->op.key] = r->visited;
    jc().transitions(r->link->issue_key, [this, r, current, target](api_result<std::vector<jira::transition>> ts) {
      if (!ts.ok())
        return failed(r, ts.error(), "read the transitions of " + r->link->issue_key);
      auto& edges = workflow_edges[current];
      for (const auto& t : ts.value())
        edges.insert(t.to_name);
      const jira::transition* pick = nullptr;
      for (const auto& t : ts.value())
        if (pick == nullptr && domain::iequals(t.to_name, target))
          pick = &t;
      if (pick == nullptr)
        if (auto hop = next_hop(target, ts.value()))
          for (const auto& t : ts.value())
            if (pick == nullptr && domain::iequals(t.to_name, *hop) && r->visited.count(t.to_name) == 0)
              pick = &t;
      if (pick == nullptr) {
        // Nothing known leads there: explore a status not visited yet, open ones before done ones.
        for (int pass = 0; pass < 2 && pick == nullptr; ++pass)
          for (const auto& t : ts.value())
            if (pick == nullptr && r->visited.count(t.to_name) == 0 && ((t.to_category == "done") == (pass == 1)))
              pick = &t;
      }
      if (pick == nullptr) {
        r->out.v = jira_outcome::verdict::failed;
        r->out.error = "no transition from " + current + " leads towards " + target;
        r->out.problem = "cannot move " + r->link->issue_key + " from \"" + current + "\" to \"" + target
                         + "\": no transition leads there.";
        r->out.problem_key = r->op.key;
        return finish(r);
      }
      std::optional<std::string> resolution;
      if (pick->resolution_required || !pick->resolution_allowed.empty()) {
        for (const auto& a : pick->resolution_allowed)
          if (!resolution && domain::iequals(a, "Done"))
            resolution = a;
        if (!resolution && !pick->resolution_allowed.empty())
          resolution = pick->resolution_allowed.front();
      }
      auto to = pick->to_name;
      ++r->steps;
      jc().do_transition(r->link->issue_key, jira::transition_body(pick->id, resolution),
                         [this, r, to](api_result<std::monostate> ok) {
                           if (!ok.ok())
                             return failed(r, ok.error(), "move " + r->link->issue_key + " to " + to);
                           spdlog::info("jira: {} moved to {}", r->link->issue_key, to);
                           walk(r, to);
                         });
    });
  }

  // assignee -----------------------------------------------------------------------------------------------------

  void assign(const run_ptr& r) {
    const auto& user = r->action.author;
    if (auto u = user_cache.find(user); u != user_cache.end())
      return assign_to(r, u->second);
    if (auto o = cfg.jira_user_of.find(user); o != cfg.jira_user_of.end()) {
      jira::jira_user u;
      if (cfg.flavor == jira::flavor::cloud)
        u.account_id = o->second;
      else
        u.name = o->second;
      u.display_name = o->second;
      return assign_to(r, u);
    }
    auto email = cfg.email_of.count(user) > 0 ? cfg.email_of.at(user) : std::string{};
    auto query = !email.empty() ? email : user;
    jc().find_users(query, [this, r, user, email](api_result<std::vector<jira::jira_user>> us) {
      if (!us.ok())
        return failed(r, us.error(), "look up the Jira user of @" + user);
      const jira::jira_user* pick = nullptr;
      for (const auto& u : us.value()) {
        if (!u.active)
          continue;
        auto local = u.email.substr(0, u.email.find('@'));
        bool exact = (!email.empty() && domain::iequals(u.email, email)) || domain::iequals(u.name, user) || domain::iequals(local, user);
        if (pick == nullptr && exact)
          pick = &u;
      }
      if (pick == nullptr) {
        r->out.v = jira_outcome::verdict::failed;
        r->out.error = "no Jira user for @" + user;
        r->out.problem = "no Jira user matches @" + user + "; map it under users: (jira: or email:) to assign "
                         + r->link->issue_key + ".";
        r->out.problem_key = r->op.key;
        return finish(r);
      }
      user_cache[user] = *pick;
      assign_to(r, *pick);
    });
  }

  void assign_to(const run_ptr& r, const jira::jira_user& u) {
    jc().assign(r->link->issue_key, jira::user_ref(cfg.flavor, u), [this, r, u](api_result<std::monostate> ok) {
      if (!ok.ok())
        return failed(r, ok.error(), "assign " + r->link->issue_key + " to " + (u.name.empty() ? u.account_id : u.name));
      r->out.v = jira_outcome::verdict::done;
      r->out.result = u.name.empty() ? u.account_id : u.name;
      finish(r);
    });
  }

  // reads for the inbox ------------------------------------------------------------------------------------------

  void status_now(std::uint64_t corr, const std::string& issue) {
    jc().get_issue(issue, {}, [this, corr, issue](api_result<jira::issue> i) {
      jira_status_now s;
      if (i.ok())
        s.status = i->status;
      else
        spdlog::warn("jira: reading the status of {} fails: {}", issue, describe(i.error()));
      caf::anon_send(actor, atom::status_v, corr, std::move(s));
    });
  }

  // polling ------------------------------------------------------------------------------------------------------

  void poll(const std::string& project, const std::string& since) {
    std::vector<std::string> fields{"description", "created", "creator"};
    if (cfg.service_field)
      fields.push_back(*cfg.service_field);
    jc().search(jira::jql_updated_since(project, since), fields,
                [this, project, since](api_result<std::vector<jira::issue>> found) {
                  poll_result p;
                  p.project = project;
                  p.watermark = since;
                  if (!found.ok()) {
                    spdlog::warn("jira: polling {} fails: {}", project, describe(found.error()));
                    caf::anon_send(actor, atom::lookup_v, std::move(p));
                    return;
                  }
                  auto issues = std::make_shared<std::vector<jira::issue>>(found.value());
                  auto result = std::make_shared<poll_result>(std::move(p));
                  result->ok = true;
                  poll_comments(issues, 0, result);
                });
  }

  /// Turns the polled issues into changes: each issue's current status (as a status change the routing converges
  /// on), its creation, and its comments.
  void poll_comments(std::shared_ptr<std::vector<jira::issue>> issues, std::size_t i,
                     std::shared_ptr<poll_result> result) {
    if (i >= issues->size()) {
      caf::anon_send(actor, atom::lookup_v, std::move(*result));
      return;
    }
    const auto& is = (*issues)[i];
    auto minute = jql_minute(is.updated);
    if (minute > result->watermark)
      result->watermark = minute;
    jira::issue_ref ref;
    ref.id = is.id;
    ref.key = is.key;
    ref.project_key = result->project;
    ref.summary = is.summary;
    ref.status_name = is.status;
    ref.status_category = is.status_category;
    ref.updated = is.updated;
    ref.labels = is.labels;
    if (auto d = is.field_values.find("description"); d != is.field_values.end())
      ref.description = d->second;
    if (is.reporter) {
      ref.reporter.name = is.reporter->name;
      ref.reporter.account_id = is.reporter->account_id;
      ref.reporter.display_name = is.reporter->display_name;
    }
    if (cfg.service_field)
      if (auto v = is.field_values.find(*cfg.service_field); v != is.field_values.end())
        ref.custom[*cfg.service_field] = v->second;
    jira::change created;
    created.kind = jira::change_kind::issue_created;
    created.issue_id = is.id;
    created.issue_key = is.key;
    created.dedupe_key = "created:" + is.id;
    created.issue = ref;
    result->changes.push_back(created);
    jira::change status;
    status.kind = jira::change_kind::status_changed;
    status.issue_id = is.id;
    status.issue_key = is.key;
    status.status_name = is.status;
    status.status_category = is.status_category;
    status.dedupe_key = "status:" + is.id + ":poll:" + is.updated;
    status.author_display = "Jira";
    result->changes.push_back(status);
    jc().comments(is.key, [this, issues, i, result](api_result<std::vector<jira::issue_comment>> cs) {
      const auto& is = (*issues)[i];
      if (cs.ok()) {
        auto me = self_identity();
        for (const auto& c : cs.value()) {
          bool mine = me && ((!me->account_id.empty() && c.author.account_id == me->account_id)
                             || (!me->name.empty() && c.author.name == me->name));
          if (mine)
            continue;
          jira::change ch;
          ch.kind = jira::change_kind::comment_added;
          ch.issue_id = is.id;
          ch.issue_key = is.key;
          ch.comment_id = c.id;
          ch.body = c.body;
          ch.author_display = c.author.display_name;
          ch.dedupe_key = "comment:" + c.id;
          result->changes.push_back(std::move(ch));
        }
      } else {
        spdlog::warn("jira: reading the comments of {} fails: {}", is.key, describe(cs.error()));
      }
      poll_comments(issues, i + 1, result);
    });
  }
};

// -- the actor ----------------------------------------------------------------------------------------------------

namespace {

struct bridge_state {
  static constexpr const char* name = "jira-bridge";
  std::shared_ptr<jira_bridge::impl> impl;
  bool started = false;
  // outbox
  bool draining = false;
  bool drain_again = false;
  std::set<std::string> busy_requests;
  std::uint64_t next_corr = 0;
  std::map<std::uint64_t, storage::jira_op> in_flight;
  std::map<std::uint64_t, std::optional<domain::request_record>> request_of;
  std::int64_t wake_at = 0; // the earliest delayed tick armed; 0 for none
  // inbox
  bool inboxing = false;
  bool inbox_again = false;
  std::map<std::uint64_t, std::function<void(std::string)>> status_waiters;
  // polling
  std::map<std::string, std::string> watermarks; // project → "yyyy-MM-dd HH:mm"
  bool polling = false;
  std::shared_ptr<std::deque<std::string>> polling_rest; // projects still to poll in this round
};

using self_ptr = bridge_actor::stateful_pointer<bridge_state>;

constexpr std::chrono::seconds storage_timeout{30};
constexpr std::chrono::seconds supervisor_timeout{120};
constexpr std::size_t inbox_batch = 50;

void drain(self_ptr self);
void process_inbox(self_ptr self);

/// Arms one tick at `at` (epoch ms) unless an earlier one is armed.
void wake_at(self_ptr self, std::int64_t at) {
  auto& st = self->state;
  auto now = now_ms();
  if (st.wake_at != 0 && st.wake_at <= at && st.wake_at > now)
    return;
  st.wake_at = at;
  self->delayed_send(self, milliseconds(std::max<std::int64_t>(at - now, 0)), atom::tick_v);
}

const actors::channel_actor* channel_of(self_ptr self, const std::string& room) {
  const auto& dir = self->state.impl->channels;
  if (!dir)
    return nullptr;
  auto it = dir->by_room.find(room);
  return it == dir->by_room.end() ? nullptr : &it->second;
}

/// Hands a Jira change to the request's actor through its channel supervisor; `then` runs either way.
void to_request(self_ptr self, const domain::request_record& req, actors::jira_change change,
                std::function<void()> then) {
  const auto* ch = channel_of(self, req.room);
  if (ch == nullptr) {
    spdlog::warn("jira: request {} is in room {}, which has no supervisor", req.request_id, req.room);
    then();
    return;
  }
  self->request(*ch, supervisor_timeout, atom::jira_v, actors::jira_update{req.request_id, std::move(change)})
    .then([then](bool) { then(); },
          [req, then](caf::error& err) {
            spdlog::warn("jira: request {} did not take a Jira change: {}", req.request_id, dutydesk::describe(err));
            then();
          });
}

// -- outbox -------------------------------------------------------------------------------------------------------

void apply(self_ptr self, std::uint64_t corr, jira_outcome out) {
  auto& st = self->state;
  auto it = st.in_flight.find(corr);
  if (it == st.in_flight.end())
    return;
  auto op = std::move(it->second);
  st.in_flight.erase(it);
  auto req = std::move(st.request_of[corr]);
  st.request_of.erase(corr);
  auto now = now_ms();
  switch (out.v) {
    case jira_outcome::verdict::done:
      op.state = storage::jira_op_state::done;
      op.finished_at = now;
      op.result = out.result;
      if (!out.error.empty())
        op.last_error = out.error;
      st.impl->count([](auto& c) { ++c.ops_done; });
      break;
    case jira_outcome::verdict::failed:
      op.state = storage::jira_op_state::failed;
      op.finished_at = now;
      op.last_error = out.error;
      st.impl->count([](auto& c) { ++c.ops_failed; });
      spdlog::error("jira: {} failed for good: {}", op.key, out.error);
      break;
    case jira_outcome::verdict::retry:
      op.next_attempt_at = now + out.retry_in.count();
      op.last_error = out.error;
      st.impl->count([&](auto& c) {
        ++c.ops_retried;
        if (out.rate_limited)
          ++c.rate_limited;
      });
      spdlog::warn("jira: {} retries in {} ms: {}", op.key, out.retry_in.count(), out.error);
      break;
  }
  actors::jira_op_update u{op, out.link, out.comment, out.enqueue};
  auto request_id = op.request_id;
  self->request(st.impl->storage, storage_timeout, atom::jira_v, std::move(u))
    .then(
      [self, request_id, req, out = std::move(out)](bool) mutable {
        auto finish = [self, request_id] {
          self->state.busy_requests.erase(request_id);
          drain(self);
        };
        if (!req) {
          finish();
          return;
        }
        auto problem = [self, req, out, finish] {
          if (out.problem.empty())
            return finish();
          to_request(self, *req, domain::jira_problem{out.problem_key, out.problem}, finish);
        };
        if (out.linked)
          to_request(self, *req, *out.linked, problem);
        else
          problem();
      },
      [self, request_id](caf::error& err) {
        spdlog::error("jira: storing the outcome of a row of {} fails: {}", request_id, dutydesk::describe(err));
        self->state.busy_requests.erase(request_id);
        wake_at(self, now_ms() + 5000);
      });
}

/// Commits the attempt, then carries the row out on the I/O thread.
void begin_op(self_ptr self, storage::jira_op op) {
  auto& st = self->state;
  st.busy_requests.insert(op.request_id);
  auto request_id = op.request_id;
  auto release = [self, request_id](const std::string& what, const caf::error& err) {
    spdlog::error("jira: {} of {} fails: {}", what, request_id, dutydesk::describe(err));
    self->state.busy_requests.erase(request_id);
    wake_at(self, now_ms() + 5000);
  };
  self->request(st.impl->storage, storage_timeout, atom::jira_v, actors::jira_link_query{op.request_id, ""})
    .then(
      [self, op, release](actors::jira_link_answer& a) mutable {
        auto action = actors::action_of(op);
        if (!action && op.kind != "link") {
          op.state = storage::jira_op_state::failed;
          op.last_error = "malformed outbox row";
          op.finished_at = now_ms();
        } else {
          ++op.attempts;
        }
        auto committed = op;
        auto finish_edit = [self, op, a, action](std::string comment_id) mutable {
          auto& st = self->state;
          auto corr = ++st.next_corr;
          st.in_flight[corr] = op;
          st.request_of[corr] = a.request;
          auto r = std::make_shared<jira_bridge::impl::run>();
          r->corr = corr;
          r->op = op;
          if (action)
            r->action = *action;
          if (!comment_id.empty())
            r->comment_id = comment_id;
          r->link = a.link;
          r->request = a.request;
          auto impl = st.impl;
          r->keep = impl;
          impl->runtime.post([impl, r] { impl->start(r); });
        };
        self->request(self->state.impl->storage, storage_timeout, atom::jira_v, actors::jira_op_update{committed, {}, {}, {}})
          .then(
            [self, committed, action, finish_edit, release](bool) mutable {
              if (committed.state == storage::jira_op_state::failed) {
                self->state.busy_requests.erase(committed.request_id);
                drain(self);
                return;
              }
              if (action && action->kind == domain::jira_kind::edit_comment) {
                self->request(self->state.impl->storage, storage_timeout, atom::jira_v,
                              actors::jira_comment_query{committed.request_id, action->message_id, ""})
                  .then([finish_edit](actors::jira_comment_answer& c) mutable {
                          finish_edit(c.link ? c.link->comment_id : std::string{});
                        },
                        [release](caf::error& err) { release("reading the comment link", err); });
                return;
              }
              finish_edit({});
            },
            [release](caf::error& err) { release("committing the attempt", err); });
      },
      [release](caf::error& err) { release("reading the issue link", err); });
}

void drain(self_ptr self) {
  auto& st = self->state;
  if (!st.started)
    return;
  if (st.draining) {
    st.drain_again = true;
    return;
  }
  if (!st.impl->self_identity()) {
    // Jira was not reachable at start: learn who we are before anything else (echoes are told apart by it).
    auto impl = st.impl;
    if (!impl->checking.exchange(true)) {
      impl->check_async([impl](std::string problem, bool) {
        impl->checking = false;
        if (!problem.empty())
          spdlog::error("jira: {}", problem);
        if (impl->self_identity())
          caf::anon_send(impl->actor, atom::tick_v);
      });
    }
    wake_at(self, now_ms() + 5000);
    return;
  }
  st.draining = true;
  st.drain_again = false;
  self->request(st.impl->storage, storage_timeout, atom::jira_v, actors::jira_ops_query{1000})
    .then(
      [self](std::vector<storage::jira_op>& ops) {
        auto& st = self->state;
        auto now = now_ms();
        std::set<std::string> heads;
        std::int64_t earliest = 0;
        for (auto& op : ops) {
          if (!heads.insert(op.request_id).second)
            continue; // only the oldest queued row of a request may run
          if (st.busy_requests.count(op.request_id) > 0)
            continue;
          if (op.next_attempt_at > now) {
            earliest = earliest == 0 ? op.next_attempt_at : std::min(earliest, op.next_attempt_at);
            continue;
          }
          if (st.busy_requests.size() >= st.impl->cfg.max_in_flight) {
            st.drain_again = true; // a finishing row drains again
            continue;
          }
          begin_op(self, std::move(op));
        }
        if (earliest != 0)
          wake_at(self, earliest);
        st.draining = false;
        if (st.drain_again && st.busy_requests.size() < st.impl->cfg.max_in_flight) {
          st.drain_again = false;
          drain(self);
        }
      },
      [self](caf::error& err) {
        spdlog::error("jira: reading the outbox fails: {}", dutydesk::describe(err));
        self->state.draining = false;
        wake_at(self, now_ms() + 5000);
      });
}

// -- inbox --------------------------------------------------------------------------------------------------------

using changes_ptr = std::shared_ptr<std::deque<jira::change>>;

void route_changes(self_ptr self, changes_ptr changes, std::function<void()> done);

/// A task created in Jira: a new request in the channel its service (or project) maps to, unless it is ours.
void born(self_ptr self, const jira::change& c, std::function<void()> next) {
  auto& st = self->state;
  if (!c.issue) {
    next();
    return;
  }
  const auto& i = *c.issue;
  for (const auto& l : i.labels)
    if (l == "dutydesk") {
      next(); // one of ours (created from chat)
      return;
    }
  const auto* cfg_ch = st.impl->channel_of_issue(i);
  if (cfg_ch == nullptr) {
    spdlog::info("jira: {} is in no configured channel's project or service; not posted", i.key);
    next();
    return;
  }
  const auto* ch = channel_of(self, cfg_ch->room);
  if (ch == nullptr) {
    next();
    return;
  }
  actors::jira_born b;
  b.issue_key = i.key;
  b.issue_url = st.impl->cfg.base_url + "/browse/" + i.key;
  b.issue_status = i.status_name;
  b.reporter = !i.reporter.display_name.empty() ? i.reporter.display_name : i.creator.display_name;
  for (const auto& [chat_user, jira_user] : st.impl->cfg.jira_user_of)
    if (!jira_user.empty() && (jira_user == i.reporter.name || jira_user == i.reporter.account_id))
      b.requester = chat_user; // the reporter is a known chat user: they own the request
  b.summary = i.summary;
  b.text = i.description;
  auto issue_id = i.id;
  auto issue_key = i.key;
  auto project = i.project_key;
  self->request(*ch, supervisor_timeout, atom::open_v, std::move(b))
    .then(
      [self, issue_id, issue_key, project, room = cfg_ch->room, next](std::string& request_id) {
        self->state.impl->count([](auto& c) { ++c.changes_routed; });
        // Link it now, so that changes of this issue later in the inbox find the request. The request actor
        // answers this no-op (it is linked from birth) only after its first step stored the request.
        auto url = self->state.impl->cfg.base_url + "/browse/" + issue_key;
        storage::jira_link l{request_id, issue_key, issue_id, url, project, now_ms()};
        domain::request_record req;
        req.request_id = request_id;
        req.room = room;
        to_request(self, req, domain::jira_linked{issue_key, url, ""}, [self, l, next] {
          self->request(self->state.impl->storage, storage_timeout, atom::jira_v, l)
            .then([next](bool) { next(); },
                  [next, key = l.issue_key](caf::error& err) {
                    spdlog::error("jira: linking {} fails: {}", key, dutydesk::describe(err));
                    next();
                  });
        });
      },
      [issue_key, next](caf::error& err) {
        spdlog::error("jira: posting {} as a request fails: {}", issue_key, dutydesk::describe(err));
        next();
      });
}

void route_one(self_ptr self, jira::change c, std::function<void()> next) {
  auto& st = self->state;
  auto issue = !c.issue_key.empty() ? c.issue_key : c.issue_id;
  self->request(st.impl->storage, storage_timeout, atom::jira_v, actors::jira_link_query{"", issue})
    .then(
      [self, c, next](actors::jira_link_answer& a) {
        auto& st = self->state;
        if (c.kind == jira::change_kind::issue_created) {
          if (a.link) {
            next(); // ours, or posted already
            return;
          }
          born(self, c, next);
          return;
        }
        if (!a.link || !a.request) {
          if (c.kind == jira::change_kind::status_changed && c.dedupe_key.find(":poll:") == std::string::npos)
            spdlog::debug("jira: {} of {} belongs to no request", jira::to_string(c.kind), c.issue_key);
          next();
          return;
        }
        auto req = *a.request;
        switch (c.kind) {
          case jira::change_kind::comment_added: {
            // A comment known here is one of ours (to_jira) or posted before (from_jira): the pair of deliveries
            // of one comment, a replay, or a poll that sees it again.
            storage::jira_comment_link l{req.request_id, "jira:" + c.comment_id, c.comment_id, "from_jira", now_ms()};
            auto post = [self, req, c, l, next] {
              self->state.impl->count([](auto& x) { ++x.changes_routed; });
              to_request(self, req,
                         domain::jira_comment_added{c.comment_id, c.author_display.empty() ? "Jira" : c.author_display,
                                                    c.body},
                         [self, l, next] {
                           self->request(self->state.impl->storage, storage_timeout, atom::jira_v, l)
                             .then([next](bool) { next(); },
                                   [next](caf::error& err) {
                                     spdlog::error("jira: recording a comment link fails: {}", dutydesk::describe(err));
                                     next();
                                   });
                         });
            };
            self->request(st.impl->storage, storage_timeout, atom::jira_v, actors::jira_comment_query{"", "", c.comment_id})
              .then(
                [post, next](actors::jira_comment_answer& known) {
                  if (known.link)
                    next();
                  else
                    post();
                },
                [next](caf::error& err) {
                  spdlog::error("jira: looking up a comment fails: {}", dutydesk::describe(err));
                  next();
                });
            return;
          }
          case jira::change_kind::assignee_changed:
            st.impl->count([](auto& x) { ++x.changes_routed; });
            to_request(self, req, domain::jira_assignee_changed{c.dedupe_key, c.assignee_display}, next);
            return;
          case jira::change_kind::status_changed: {
            // Converge on the issue's status now rather than on this delivery's (deliveries may be reordered) --
            // unless the request has a transition of its own still queued: then the issue's status is the one
            // before that transition, not news (found by the chaos run: a poll while the transition waited out a
            // 503 flipped the chat status back and, once the transition was done, forth again). The transition
            // brings the issue to the request's status; a later read converges. A transition the request asks for
            // after this look-up is caught by the request itself (jira_status_changed::seen).
            auto key = a.link->issue_key;
            auto route = [self, req, c, key, next] {
              auto& st = self->state;
              auto corr = ++st.next_corr;
              auto by = c.author_display.empty() ? std::string{"Jira"} : c.author_display;
              auto dedupe = c.dedupe_key;
              st.status_waiters[corr] = [self, req, by, dedupe, next](std::string status) {
                if (status.empty() || status == req.jira_status) {
                  next();
                  return;
                }
                self->state.impl->count([](auto& x) { ++x.changes_routed; });
                to_request(self, req, domain::jira_status_changed{dedupe, status, by, req.jira_status}, next);
              };
              auto impl = st.impl;
              impl->runtime.post([impl, corr, key] { impl->status_now(corr, key); });
            };
            self->request(st.impl->storage, storage_timeout, atom::jira_v, actors::jira_ops_query{1000})
              .then(
                [req, key, route, next](std::vector<storage::jira_op>& ops) {
                  for (const auto& op : ops)
                    if (op.request_id == req.request_id && op.kind == "transition") {
                      spdlog::info("jira: a status change of {} waits for the transition {} of request {}", key,
                                   op.key, req.request_id);
                      next();
                      return;
                    }
                  route();
                },
                [route](caf::error& err) {
                  spdlog::warn("jira: reading the outbox before a status change fails: {}", dutydesk::describe(err));
                  route();
                });
            return;
          }
          default:
            next(); // edits and deletions in Jira are not mirrored
            return;
        }
      },
      [next](caf::error& err) {
        spdlog::error("jira: looking up an issue's request fails: {}", dutydesk::describe(err));
        next();
      });
}

void route_changes(self_ptr self, changes_ptr changes, std::function<void()> done) {
  if (changes->empty()) {
    done();
    return;
  }
  auto c = std::move(changes->front());
  changes->pop_front();
  route_one(self, std::move(c), [self, changes, done] { route_changes(self, changes, done); });
}

void process_rows(self_ptr self, std::shared_ptr<std::deque<storage::inbox_delivery>> rows) {
  auto& st = self->state;
  if (rows->empty()) {
    st.inboxing = false;
    if (st.inbox_again)
      process_inbox(self);
    return;
  }
  auto row = std::move(rows->front());
  rows->pop_front();
  auto changes = std::make_shared<std::deque<jira::change>>();
  std::string outcome = "routed";
  auto parsed = jira::parse_webhook(row.body);
  if (auto* err = std::get_if<std::string>(&parsed)) {
    outcome = "malformed: " + *err;
    spdlog::warn("jira: inbox row {} is malformed: {}", row.seq, *err);
  } else {
    auto me = st.impl->self_identity().value_or(jira::self_identity{});
    const auto& w = std::get<jira::webhook>(parsed);
    auto xs = jira::interpret(w, me);
    if (xs.empty())
      st.impl->count([](auto& x) { ++x.own_events_dropped; });
    for (auto& x : xs) {
      if (x.author_display.empty() && w.has_user)
        x.author_display = w.user.display_name; // who made a status or assignee change
      changes->push_back(std::move(x));
    }
  }
  auto seq = row.seq;
  route_changes(self, changes, [self, rows, seq, outcome] {
    self->request(self->state.impl->storage, storage_timeout, atom::inbox_v, actors::inbox_done{seq, outcome})
      .then(
        [self, rows](bool) {
          self->state.impl->count([](auto& x) { ++x.inbox_processed; });
          process_rows(self, rows);
        },
        [self, seq](caf::error& err) {
          spdlog::error("jira: marking inbox row {} fails: {}", seq, dutydesk::describe(err));
          self->state.inboxing = false;
          wake_at(self, now_ms() + 5000);
        });
  });
}

void process_inbox(self_ptr self) {
  auto& st = self->state;
  if (!st.started)
    return;
  if (st.inboxing) {
    st.inbox_again = true;
    return;
  }
  st.inboxing = true;
  st.inbox_again = false;
  self->request(st.impl->storage, storage_timeout, atom::inbox_v, inbox_batch)
    .then(
      [self](std::vector<storage::inbox_delivery>& rows) {
        if (rows.size() == inbox_batch)
          self->state.inbox_again = true;
        process_rows(self, std::make_shared<std::deque<storage::inbox_delivery>>(rows.begin(), rows.end()));
      },
      [self](caf::error& err) {
        spdlog::error("jira: reading the inbox fails: {}", dutydesk::describe(err));
        self->state.inboxing = false;
        wake_at(self, now_ms() + 5000);
      });
}

// -- polling ------------------------------------------------------------------------------------------------------

void poll_next(self_ptr self, std::shared_ptr<std::deque<std::string>> projects);

void poll_all(self_ptr self) {
  auto& st = self->state;
  if (st.polling || !st.impl->cfg.poll_interval)
    return;
  st.polling = true;
  std::set<std::string> seen;
  auto projects = std::make_shared<std::deque<std::string>>();
  for (const auto& c : st.impl->cfg.channels)
    if (!c.project.empty() && seen.insert(c.project).second)
      projects->push_back(c.project);
  poll_next(self, projects);
}

void poll_next(self_ptr self, std::shared_ptr<std::deque<std::string>> projects) {
  auto& st = self->state;
  if (projects->empty()) {
    st.polling = false;
    st.impl->count([](auto& c) { ++c.polls; });
    self->delayed_send(self, *st.impl->cfg.poll_interval, atom::open_v);
    return;
  }
  auto project = projects->front();
  projects->pop_front();
  auto key = "jira.poll." + project;
  self->request(st.impl->storage, storage_timeout, atom::get_v, key)
    .then(
      [self, project, projects](std::string& mark) {
        auto& st = self->state;
        // The watermark is a minute; look back an overlap before it (minute precision, clock skew).
        auto since = mark.empty() ? jql_minute_of(now_ms() - st.impl->cfg.poll_overlap.count()) : mark;
        if (!mark.empty() && since.size() == 16) {
          std::tm tm{};
          if (strptime(since.c_str(), "%Y-%m-%d %H:%M", &tm) != nullptr)
            since = jql_minute_of(static_cast<std::int64_t>(timegm(&tm)) * 1000 - st.impl->cfg.poll_overlap.count());
        }
        st.watermarks[project] = mark;
        auto impl = st.impl;
        self->state.polling_rest = projects;
        impl->runtime.post([impl, project, since] { impl->poll(project, since); });
      },
      [self, projects](caf::error& err) {
        spdlog::error("jira: reading the poll watermark fails: {}", dutydesk::describe(err));
        poll_next(self, projects);
      });
}

} // namespace

// -- the bridge object --------------------------------------------------------------------------------------------

namespace {

bridge_actor::behavior_type bridge_behavior(bridge_actor::stateful_pointer<bridge_state> self,
                                            std::shared_ptr<jira_bridge::impl> impl) {
  self->state.impl = std::move(impl);
  return {
    [self](atom::tick) {
      self->state.wake_at = 0;
      drain(self);
      process_inbox(self);
    },
    [self](atom::open) {
      // Started (first call) or the poll interval passed.
      if (!self->state.started) {
        self->state.started = true;
        drain(self);
        process_inbox(self);
        self->send(self, atom::inbox_v, atom::done_v);
      }
      poll_all(self);
    },
    [self](atom::done, std::uint64_t corr, jira_outcome& out) { apply(self, corr, std::move(out)); },
    [self](atom::inbox, atom::done) {
      // Daily: processed deliveries older than inbox_keep go; their ids stay remembered for dedupe.
      auto keep = self->state.impl->cfg.inbox_keep;
      self->request(self->state.impl->storage, storage_timeout, atom::inbox_v, actors::inbox_prune{now_ms() - keep.count()})
        .then([](std::size_t n) { spdlog::info("jira: pruned {} processed webhook deliveries", n); },
              [](caf::error& err) { spdlog::warn("jira: pruning the inbox fails: {}", dutydesk::describe(err)); });
      self->delayed_send(self, std::chrono::hours(24), atom::inbox_v, atom::done_v);
    },
    [self](atom::status, std::uint64_t corr, jira_status_now& s) {
      auto it = self->state.status_waiters.find(corr);
      if (it == self->state.status_waiters.end())
        return;
      auto f = std::move(it->second);
      self->state.status_waiters.erase(it);
      f(s.status);
    },
    [self](atom::inbox, storage::inbox_delivery& d, webhook_reply& reply) {
      auto respond = reply.respond;
      self->request(self->state.impl->storage, storage_timeout, atom::inbox_v, d)
        .then(
          [self, respond](bool added) {
            self->state.impl->count([added](auto& c) { ++(added ? c.webhooks_accepted : c.webhooks_duplicate); });
            if (self->state.impl->cfg.metrics)
              self->state.impl->cfg.metrics->webhook_delivery(added ? "accepted" : "duplicate");
            respond(http_server_response{200, "application/json",
                                         json{{"accepted", true}, {"duplicate", !added}}.dump(), {}});
            if (added)
              process_inbox(self);
          },
          [self, respond](caf::error& err) {
            spdlog::error("jira: storing a webhook delivery fails: {}", dutydesk::describe(err));
            if (self->state.impl->cfg.metrics)
              self->state.impl->cfg.metrics->webhook_delivery("error");
            // Jira retries 5xx answers: the delivery comes back once storage works again.
            respond(http_server_response{503, "application/json", json{{"error", "storage unavailable"}}.dump(), {}});
          });
    },
    [self](atom::lookup, poll_result& p) {
      auto& st = self->state;
      auto rest = st.polling_rest;
      auto project = p.project;
      auto mark = p.watermark;
      bool ok = p.ok;
      auto changes = std::make_shared<std::deque<jira::change>>(p.changes.begin(), p.changes.end());
      route_changes(self, changes, [self, rest, project, mark, ok] {
        auto next = [self, rest] { poll_next(self, rest ? rest : std::make_shared<std::deque<std::string>>()); };
        if (!ok || mark.empty()) {
          next();
          return;
        }
        self->request(self->state.impl->storage, storage_timeout, atom::save_v, "jira.poll." + project, mark)
          .then([next](bool) { next(); }, [next](caf::error&) { next(); });
      });
    },
  };
}

} // namespace

jira_bridge::jira_bridge(caf::actor_system& sys, io_runtime& runtime, jira_bridge_config config,
                         actors::storage_actor storage, std::shared_ptr<const actors::channel_directory> channels)
  : impl_(std::make_shared<impl>(sys, runtime, std::move(config), std::move(storage), std::move(channels))) {
  impl_->actor = sys.spawn(bridge_behavior, impl_);
}

jira_bridge::~jira_bridge() {
  stop();
}

std::string jira_bridge::open() {
  return impl_->check();
}

void jira_bridge::start() {
  caf::anon_send(impl_->actor, atom::open_v);
}

actors::jira_bridge_actor jira_bridge::actor() const {
  return caf::actor_cast<actors::jira_bridge_actor>(impl_->actor);
}

http_server::handler jira_bridge::webhook_handler() {
  auto impl = impl_;
  return [impl](http_server_request req, http_server::respond respond) {
    auto verdict = jira::check_delivery(req, impl->cfg.webhook_secret);
    if (verdict.status != 200) {
      impl->count([](auto& c) { ++c.webhooks_rejected; });
      if (impl->cfg.metrics)
        impl->cfg.metrics->webhook_delivery(verdict.status == 401   ? "unauthorized"
                                            : verdict.status == 415 ? "unsupported"
                                            : verdict.status == 400 ? "bad_request"
                                                                    : "error");
      spdlog::warn("jira: webhook from {} refused ({}): {}", req.remote_address, verdict.status, verdict.reason);
      respond(http_server_response{verdict.status, "application/json", json{{"error", verdict.reason}}.dump(), {}});
      return;
    }
    storage::inbox_delivery d;
    d.delivery_id = verdict.delivery_id;
    d.source = "webhook";
    d.body = std::move(req.body);
    d.received_at = now_ms();
    caf::anon_send(impl->actor, atom::inbox_v, std::move(d), webhook_reply{std::move(respond)});
  };
}

void jira_bridge::stop() {
  if (impl_->actor)
    caf::anon_send_exit(impl_->actor, caf::exit_reason::user_shutdown);
}

jira_bridge_stats jira_bridge::stats() const {
  std::lock_guard<std::mutex> lock(impl_->stats_mutex);
  return impl_->counters;
}

} // namespace dutydesk::io
