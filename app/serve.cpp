#include "app/serve.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/atoms.hpp"
#include "actors/channel_supervisor.hpp"
#include "actors/duty_actor.hpp"
#include "actors/error.hpp"
#include "actors/event_render.hpp"
#include "actors/feedback_router.hpp"
#include "actors/interfaces.hpp"
#include "actors/metrics_sampler.hpp"
#include "actors/storage_actor.hpp"
#include "config/commands.hpp"
#include "config/to_domain.hpp"
#include "domain/url.hpp"
#include "events/event_relay.hpp"
#include "io/chat_gateway.hpp"
#include "io/http_server.hpp"
#include "io/io_runtime.hpp"
#include "io/jira_bridge.hpp"
#include "io/oncall_gateway.hpp"
#include "metrics/exposer.hpp"
#include "metrics/registry.hpp"
#include "storage/instance_lock.hpp"
#include "storage/open.hpp"

namespace dutydesk::app {

namespace {

struct serve_config : caf::actor_system_config {
  serve_config() {
    // Two cores is the norm where dutydesk runs next to Rocket.Chat; the actors are light, I/O has its own thread.
    set("scheduler.max-threads", 2);
    // The sharing policy: idle workers wait on a condition variable. CAF's default work stealing polls with 50 us
    // sleeps while idle, which took a third of serve's CPU under load (bench/run.sh --requests 1000 --rate max:
    // 80-84 -> 105-112 requests/s, 12.6-13.0 -> 8.6-9.1 CPU s; BENCHMARKS.md).
    set("scheduler.policy", caf::atom("sharing"));
    add_error_category(caf::atom("dutydesk"), [](std::uint8_t code, caf::atom_value, const caf::message& ctx) {
      std::string result = to_string(static_cast<ec>(code));
      if (ctx.match_elements<std::string>() && !ctx.get_as<std::string>(0).empty())
        result += ": " + ctx.get_as<std::string>(0);
      return result;
    });
  }
};

io::jira_bridge_config bridge_config(const config::config& cfg) {
  io::jira_bridge_config b;
  b.base_url = cfg.jira.url;
  b.flavor = cfg.jira.flavor == config::jira_flavor::cloud ? io::jira::flavor::cloud : io::jira::flavor::datacenter;
  b.auth = cfg.jira.auth.type == config::jira_auth_type::basic ? io::jira::auth::basic(cfg.jira.auth.user, cfg.jira.auth.token)
                                                               : io::jira::auth::bearer(cfg.jira.auth.token);
  b.webhook_secret = cfg.jira.webhook_secret;
  b.service_field = cfg.jira.service_field;
  b.poll_interval = cfg.jira.poll_interval;
  for (const auto& c : cfg.channels)
    b.channels.push_back(io::jira_bridge_channel{c.room, c.jira.project, c.jira.issue_type, c.services});
  for (const auto& u : cfg.users) {
    if (u.jira)
      b.jira_user_of[u.rocketchat] = *u.jira;
    if (u.email)
      b.email_of[u.rocketchat] = *u.email;
  }
  return b;
}

domain::timestamp system_now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// Wakes every relay when a request actor saved events. Takes an argument: CAF 0.17 spawns an argument-less function
// through a null std::tuple<> pointer (ASan sees the null dereference).
actors::event_relay_actor::behavior_type wake_every_relay(actors::event_relay_actor::pointer,
                                                          events::event_relays* all) {
  return {[all](atom::tick) { all->tick(); }};
}

// Blocks SIGINT/SIGTERM in every thread (the mask is inherited), so that only sigwait in main sees them.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

} // namespace

int serve(const config::config& cfg, std::ostream& out, std::ostream& err) {
  auto signals = block_stop_signals();

  auto opened = storage::open_store(cfg.storage.url);
  if (!opened) {
    err << "dutydesk serve: cannot open the store: " << opened.err().message << '\n';
    return config::exit_code::storage_error;
  }
  std::shared_ptr<storage::store> store = std::move(*opened);
  // One serve per store (storage/instance_lock.hpp): held until serve returns.
  auto where = storage::parse_store_url(cfg.storage.url);
  auto lock = where ? storage::instance_lock::acquire(*where)
                    : storage::result<std::unique_ptr<storage::instance_lock>>(where.err());
  if (!lock) {
    err << "dutydesk serve: " << lock.err().message << '\n';
    return config::exit_code::storage_error;
  }
  spdlog::info("storage: this serve holds the store's instance lock ({})", (*lock)->describe());

  serve_config sys_cfg;
  caf::actor_system sys{sys_cfg};
  // Metrics: one registry for the process (served on metrics.listen below, also while connecting).
  auto metrics = std::make_shared<metrics::registry>();
  // A database that cannot be reached (a PostgreSQL restart) makes the storage actor wait and retry in order;
  // /readyz and dutydesk_storage_up show it meanwhile.
  actors::storage_retry retry;
  retry.on_health = [metrics](bool up) { metrics->storage_up(up); };
  auto storage_health = retry.health;
  metrics->storage_up(true);
  auto storage = actors::spawn_storage(sys, store, true, {}, std::move(retry));

  // Where the realtime connection's backfill starts: the oldest room cursor, so nothing unhandled is skipped.
  std::int64_t backfill_since = 0;
  std::vector<std::string> without_cursor; // configured rooms no cursor was ever written for
  bool cursors_read = false;
  {
    caf::scoped_actor self{sys};
    self->request(storage, std::chrono::seconds(30), atom::cursors_v)
      .receive(
        [&](const std::vector<storage::room_cursor>& xs) {
          cursors_read = true;
          for (const auto& c : xs)
            if (cfg.find_channel(c.room_id) != nullptr)
              backfill_since = backfill_since == 0 ? c.last_ts : std::min(backfill_since, c.last_ts);
          for (const auto& ch : cfg.channels)
            if (std::none_of(xs.begin(), xs.end(), [&](const auto& c) { return c.room_id == ch.room; }))
              without_cursor.push_back(ch.room);
        },
        [&](const caf::error& e) { spdlog::warn("storage fails to list room cursors: {}", describe(e)); });
  }

  // A first start has no cursor: backfill from now, so a message posted while the subscriptions are being set up
  // is not lost (live delivery only starts once they are).
  if (backfill_since == 0)
    backfill_since = system_now().time_since_epoch().count();
  // A room without a cursor gets this starting point written now: a room's cursor is only written once a message
  // in it is handled, so a dutydesk killed before that would start from "now" again and skip what was posted while
  // it was down (chaos seed 10: two requests posted between a first start and a kill -9 never became requests).
  if (cursors_read && !without_cursor.empty()) {
    caf::scoped_actor self{sys};
    for (const auto& room : without_cursor)
      self->request(storage, std::chrono::seconds(30), atom::cursor_v, actors::cursor_update{room, backfill_since, ""})
        .receive([](bool) {},
                 [&](const caf::error& e) {
                   spdlog::warn("storage fails to write the starting cursor of {}: {}", room, describe(e));
                 });
  }

  metrics::exposer exposer{metrics, cfg.metrics.listen.host, cfg.metrics.listen.port};
  if (auto problem = exposer.listen(); !problem.empty()) {
    err << "dutydesk serve: cannot serve metrics on " << cfg.metrics.listen.host << ':' << cfg.metrics.listen.port
        << ": " << problem << '\n';
    caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
    return config::exit_code::unavailable;
  }

  io::http_client_options http_client_opts;
  http_client_opts.metrics = metrics; // each client labels its calls (rocketchat, jira, oncall)
  http_client_opts.tls.ca_file = cfg.tls.ca_file; // certificates are always verified; this adds trust anchors
  io::io_runtime runtime{http_client_opts};
  runtime.start();

  io::chat_gateway_config chat_cfg;
  chat_cfg.base_url = cfg.rocketchat.url;
  chat_cfg.user_id = cfg.rocketchat.user_id;
  chat_cfg.auth_token = cfg.rocketchat.auth_token;
  if (cfg.rocketchat.auth == config::rocketchat_auth::password) {
    chat_cfg.username = cfg.rocketchat.username;
    chat_cfg.password = cfg.rocketchat.password;
  }
  for (const auto& c : cfg.channels)
    chat_cfg.rooms.push_back(c.room);
  chat_cfg.backfill_since_ms = backfill_since;
  chat_cfg.metrics = metrics;
  chat_cfg.tls.ca_file = cfg.tls.ca_file;
  io::chat_gateway chat{sys, runtime, chat_cfg};
  if (auto chat_err = chat.open()) {
    err << "dutydesk serve: cannot start the Rocket.Chat connection: " << describe(chat_err) << '\n';
    caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
    runtime.stop();
    return config::exit_code::unavailable;
  }
  const std::string bot = chat.bot_username();

  io::oncall_gateway_config oncall_cfg;
  oncall_cfg.base_url = cfg.oncall.url;
  oncall_cfg.token = cfg.oncall.token;
  oncall_cfg.grafana_url = cfg.oncall.grafana_url.value_or("");
  io::oncall_gateway oncall{sys, runtime, oncall_cfg, chat_cfg};

  // Jira: the flavour and credentials are checked now (a wrong flavour or token is a configuration error); an
  // unreachable Jira is not: the outbox waits for it.
  auto directory = std::make_shared<actors::channel_directory>(); // filled below, before any traffic
  auto jira_cfg = bridge_config(cfg);
  jira_cfg.metrics = metrics;
  io::jira_bridge jira{sys, runtime, std::move(jira_cfg), storage, directory};
  if (auto problem = jira.open(); !problem.empty()) {
    err << "dutydesk serve: Jira at " << cfg.jira.url << ": " << problem << '\n';
    jira.stop();
    chat.stop();
    caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
    runtime.stop();
    return config::exit_code::unavailable;
  }

  // POST /jira/webhook, GET /healthz, GET /readyz.
  io::http_server_options http_opts;
  http_opts.host = cfg.http.listen.host;
  http_opts.port = cfg.http.listen.port;
  http_opts.on_reject = [metrics](unsigned status, const std::string& path) {
    if (path == "/jira/webhook")
      metrics->webhook_delivery(status == 413 ? "too_large" : status == 400 ? "bad_request" : "error");
  };
  io::http_server http{runtime.context(), http_opts};
  std::string listen_error;
  runtime.run_sync([&] {
    http.on("POST", "/jira/webhook", jira.webhook_handler());
    http.on("GET", "/healthz", [](io::http_server_request, io::http_server::respond r) {
      r(io::http_server_response{200, "text/plain; charset=utf-8", "ok\n", {}});
    });
    http.on("GET", "/readyz", [&chat, storage_health](io::http_server_request, io::http_server::respond r) {
      bool live = chat.stats().lives > chat.stats().drops;
      bool db = storage_health->up.load();
      r(io::http_server_response{live && db ? 200u : 503u, "text/plain; charset=utf-8",
                                 !db     ? "storage unavailable\n"
                                 : !live ? "realtime connection down\n"
                                         : "ready\n",
                                 {}});
    });
    listen_error = http.listen();
  });
  if (!listen_error.empty()) {
    err << "dutydesk serve: cannot listen on " << cfg.http.listen.host << ':' << cfg.http.listen.port << ": "
        << listen_error << '\n';
    jira.stop();
    chat.stop();
    caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
    runtime.stop();
    return config::exit_code::unavailable;
  }

  // Events: one relay per sink draining the outbox. An unreachable NATS does not stop the start (the outbox keeps
  // the events until it is back); a stream that cannot be created does.
  std::unique_ptr<events::event_relays> relays;
  std::shared_ptr<const actors::event_context> event_ctx;
  actors::event_relay_actor relay_fanout;
  auto stop_relays = [&] {
    if (relay_fanout)
      caf::anon_send_exit(relay_fanout, caf::exit_reason::user_shutdown);
    if (relays)
      relays->stop();
  };
  if (cfg.events) {
    relays = events::start_event_relays(sys, runtime, storage, *cfg.events, metrics);
    if (auto problem = relays->prepare(std::chrono::seconds(5)); !problem.empty()) {
      err << "dutydesk serve: events: " << problem << '\n';
      stop_relays();
      runtime.run_sync([&] { http.stop(); });
      jira.stop();
      chat.stop();
      caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
      runtime.stop();
      return config::exit_code::unavailable;
    }
    event_ctx = std::make_shared<const actors::event_context>(
      actors::event_context{cfg.events->source, cfg.events->subject_prefix});
    relay_fanout = sys.spawn(wake_every_relay, relays.get());
    if (!cfg.events->nats_url.empty())
      spdlog::info("events go to NATS {} (stream {}) and {} webhooks", domain::redact_url_text(cfg.events->nats_url),
                   cfg.events->stream, cfg.events->webhooks.size());
  }

  actors::duty_args duty_args;
  for (const auto& c : cfg.channels)
    duty_args.rooms[c.room] = actors::duty_channel{c.oncall.schedule_id, c.oncall.fallback, c.team};
  duty_args.metrics = metrics;
  duty_args.overrides = config::duty_overrides(cfg);
  duty_args.oncall = oncall.actor();
  auto duty = actors::spawn_duty(sys, std::move(duty_args));

  auto filter = config::filter_for(cfg, bot);
  for (const auto& c : cfg.channels) {
    actors::channel_args args;
    args.room = c.room;
    args.params = config::lifecycle_for(cfg, c, bot);
    args.filter = filter;
    args.chat = chat.actor();
    args.storage = storage;
    args.duty = duty;
    args.channels = directory;
    args.now = system_now;
    args.jira = jira.actor();
    args.events = event_ctx;
    args.relay = relay_fanout;
    args.metrics = metrics;
    directory->by_room.emplace(c.room, actors::spawn_channel(sys, std::move(args)));
  }

  // Survey answers typed (or clicked) in the DMs with the bot.
  actors::feedback_router_args router_args;
  router_args.storage = storage;
  router_args.chat = chat.actor();
  router_args.channels = directory;
  router_args.lang = cfg.language == config::ui_language::ru ? domain::language::ru : domain::language::en;
  auto router = actors::spawn_feedback_router(sys, std::move(router_args));

  actors::metrics_sampler_args sampler_args;
  sampler_args.storage = storage;
  sampler_args.metrics = metrics;
  sampler_args.events_sink = !cfg.events || !cfg.events->nats_url.empty() ? "nats" : "webhook:0";
  sampler_args.now = system_now;
  auto sampler = actors::spawn_metrics_sampler(sys, std::move(sampler_args));

  std::size_t restored = 0;
  {
    caf::scoped_actor self{sys};
    for (const auto& [room, ch] : directory->by_room)
      self->request(ch, std::chrono::seconds(60), atom::restore_v)
        .receive([&](std::size_t n) { restored += n; },
                 [&](const caf::error& e) { spdlog::error("channel {} fails to restore: {}", room, describe(e)); });
  }

  jira.start();
  chat.connect(directory, router);
  // "ready" means live: wait (bounded) until the realtime session has subscribed to every room and backfilled.
  auto live_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (chat.stats().lives == 0 && std::chrono::steady_clock::now() < live_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (chat.stats().lives == 0)
    spdlog::warn("realtime connection is not live after 30 s; serving anyway (it keeps retrying)");

  nlohmann::json ready{{"bot", bot},
                       {"restored", restored},
                       {"backfill_since", backfill_since},
                       {"live", chat.stats().lives > 0},
                       {"metrics", cfg.metrics.listen.host + ":" + std::to_string(exposer.port())},
                       {"http", cfg.http.listen.host + ":" + std::to_string(http.port())},
                       {"events", relays ? relays->sinks() : std::vector<std::string>{}},
                       {"feedback", cfg.feedback.enabled}};
  for (const auto& c : cfg.channels)
    ready["channels"].push_back(c.room);
  // One write: the log threads write to the same stdout, and a line written piecewise came out with a log line
  // inside it ("dutydesk ready [2026-…] [info] …", chaos seed 3).
  const std::string ready_line = "dutydesk ready " + ready.dump() + "\n";
  out.write(ready_line.data(), static_cast<std::streamsize>(ready_line.size()));
  out.flush();
  spdlog::info("dutydesk serves {} channels as {}", cfg.channels.size(), bot);

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("dutydesk stops on signal {}", sig);

  chat.stop();
  runtime.run_sync([&] { http.stop(); });
  jira.stop();
  caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(sampler, caf::exit_reason::user_shutdown);
  for (const auto& [room, ch] : directory->by_room)
    caf::anon_send_exit(ch, caf::exit_reason::user_shutdown);
  stop_relays();
  caf::anon_send_exit(duty, caf::exit_reason::user_shutdown);
  oncall.stop();
  storage_health->stopping = true; // a storage actor waiting for the database gives up now
  caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
  runtime.stop();
  exposer.stop();
  spdlog::info("dutydesk waits for its actors to finish");
  return config::exit_code::ok;
}

} // namespace dutydesk::app
