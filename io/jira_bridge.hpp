#pragma once
// The Jira mirror: one actor (actors::jira_bridge_actor) that carries out the durable Jira outbox and processes the
// durable webhook inbox, with the REST calls (io::jira_client) on the I/O thread.
//
// Outbox (chat → Jira). Request actors write jira_action rows in the same transaction as their state and wake the
// bridge (`tick`). The bridge takes the oldest queued row of each request (rows of one request run strictly in
// order, rows of different requests in parallel, at most `max_in_flight`), commits `attempts + 1` BEFORE the call,
// and then:
//   create      links an existing issue (a Jira-born or moved request), else — when an earlier attempt may have
//               reached Jira — searches the request's label first and adopts what it finds; else checks createmeta
//               (cached per project and type) for required fields it cannot fill (reported in the thread, retried
//               every `blocked_retry`), creates the issue, stores the link and queues the remote link;
//   link        the remote link back to the chat thread (an upsert by globalId);
//   assign      maps the chat user onto a Jira user (config override; Data Center: the same name; Cloud: user
//               search by e-mail, then by name) and assigns;
//   comment     adds the attributed comment with a `dutydesk` property naming the chat message (a retried attempt
//               first looks for a comment of ours carrying that property) and stores the comment link;
//   edit_comment updates the linked comment;
//   transition  walks to the target status: nothing when the issue is there already, the direct transition when
//               there is one, else the shortest walk over the transitions seen (at most `max_walk` steps), with a
//               resolution when the screen requires one; a target no transition reaches is reported in the thread.
// Outcomes: success marks the row done (with its result and what it established, in one transaction); 429 waits
// for the server's Retry-After / X-RateLimit-Reset; 5xx and transport failures back off (1 s doubling, at most
// 5 min) without limit, so an outage of any length loses nothing; other 4xx fail the row and are reported in the
// thread and the log, never retried.
//
// Inbox (Jira → chat). POST /jira/webhook (webhook_handler) checks the signature (401 otherwise, nothing stored),
// stores the delivery in the inbox keyed by its delivery id (a duplicate is answered 200 and dropped), answers, and
// wakes the bridge, which processes rows in arrival order: parse, drop the bridge's own writes, and route each change
// to the request of its issue (via its channel supervisor): comments as "Name (Jira): …", status changes as the
// issue's CURRENT status (read back from Jira, so reordered deliveries converge), assignee changes as notes; a
// jira:issue_created in a configured project whose service field (or project) maps to a channel becomes a new
// request there. A row is marked processed once every change was handled.
//
// Polling (jira.poll_interval): every interval, per project, a JQL search for issues updated since the watermark
// (minus an overlap) feeds the same routing: unlinked issues not made by dutydesk become requests, linked ones
// converge their status and post comments not seen before.

#include <caf/actor_system.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/interfaces.hpp"
#include "io/http_server.hpp"
#include "io/jira_client.hpp"
#include "metrics/registry.hpp"

namespace dutydesk::io {

class io_runtime;

/// A configured channel as the bridge needs it.
struct jira_bridge_channel {
  std::string room;
  std::string project;
  std::string issue_type = "Task";
  std::vector<std::string> services; // the first is the service field's value for its issues
};

struct jira_bridge_config {
  std::string base_url;
  jira::flavor flavor = jira::flavor::datacenter;
  jira::auth auth;
  std::string webhook_secret;
  std::optional<std::string> service_field;
  std::optional<std::chrono::milliseconds> poll_interval;
  std::vector<jira_bridge_channel> channels;
  std::map<std::string, std::string> jira_user_of; // chat username → Jira name (DC) or accountId (Cloud)
  std::map<std::string, std::string> email_of;     // chat username → e-mail, for the Cloud user search
  std::size_t max_in_flight = 4;
  std::size_t max_walk = 6;
  std::chrono::milliseconds blocked_retry = std::chrono::minutes(10);
  std::chrono::milliseconds max_backoff = std::chrono::minutes(5);
  std::chrono::milliseconds poll_overlap = std::chrono::minutes(2);
  std::chrono::milliseconds inbox_keep = std::chrono::hours(24 * 7); // processed deliveries kept this long, pruned daily
  /// Where every webhook answer is recorded (dutydesk_webhook_deliveries_total{result}); nothing when null.
  std::shared_ptr<metrics::registry> metrics{};
};

/// Counters, for metrics and tests.
struct jira_bridge_stats {
  std::uint64_t ops_done = 0;
  std::uint64_t ops_failed = 0;
  std::uint64_t ops_retried = 0;
  std::uint64_t rate_limited = 0;
  std::uint64_t webhooks_accepted = 0;
  std::uint64_t webhooks_duplicate = 0;
  std::uint64_t webhooks_rejected = 0;
  std::uint64_t inbox_processed = 0;
  std::uint64_t changes_routed = 0;
  std::uint64_t own_events_dropped = 0;
  std::uint64_t polls = 0;
};

class jira_bridge {
public:
  /// @pre `runtime` runs and outlives this; `channels` is filled before any tick.
  jira_bridge(caf::actor_system& sys, io_runtime& runtime, jira_bridge_config config, actors::storage_actor storage,
              std::shared_ptr<const actors::channel_directory> channels);
  ~jira_bridge();
  jira_bridge(const jira_bridge&) = delete;
  jira_bridge& operator=(const jira_bridge&) = delete;

  /// Checks Jira at start: serverInfo against the configured flavour and /myself for the bridge's identity. Returns
  /// "" when both answered as expected or Jira is merely unreachable (the bridge keeps trying before it calls
  /// anything else); else the configuration problem (wrong flavour, bad credentials).
  std::string open();

  /// Starts draining the outbox and the inbox (and polling, when configured).
  void start();

  actors::jira_bridge_actor actor() const;

  /// The handler of POST /jira/webhook, for the HTTP server.
  http_server::handler webhook_handler();

  /// Stops the actor.
  void stop();

  jira_bridge_stats stats() const;

  struct impl;

private:
  std::shared_ptr<impl> impl_;
};

} // namespace dutydesk::io
