#include "events/nats_publisher.hpp"

#include <nats/nats.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

namespace dutydesk::events {

namespace {

/// Status text, libnats' last error of this thread and the JetStream error code, for logs and results.
std::string describe(natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  std::string text = natsStatus_GetText(s);
  if (const char* last = nats_GetLastError(nullptr); last != nullptr && *last != '\0' && text != last)
    text += std::string{": "} + last;
  if (jerr != 0)
    text += " (JetStream error " + std::to_string(static_cast<int>(jerr)) + ")";
  return text;
}

/// Whether a failed publish may succeed later with nothing changed but time (reference events.md §3.1, §4).
bool retryable(natsStatus s) {
  switch (s) {
    case NATS_TIMEOUT:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_INSUFFICIENT_BUFFER:
    case NATS_NOT_YET_CONNECTED:
    case NATS_NO_RESPONDERS:
    case NATS_IO_ERROR:
    case NATS_NO_SERVER:
    case NATS_STALE_CONNECTION:
    case NATS_DRAINING:
      return true;
    default:
      return false;
  }
}

publish_result retry_result(std::string why) {
  publish_result r;
  r.kind = publish_result::outcome::retryable;
  r.error = std::move(why);
  return r;
}

} // namespace

struct nats_publisher::core {
  nats_options opts;
  connection_callback on_connection;

  mutable std::mutex m;
  mutable std::condition_variable cv;
  std::deque<std::function<void()>> jobs; // guarded by m
  std::string problem;                    // guarded by m
  bool started = false;                   // guarded by m
  bool stopping = false;                  // guarded by m
  bool finished = false;                  // guarded by m: the worker has freed its handles and returned
  bool closed = false;                    // guarded by m: libnats ran the closed callback
  bool attempted = false;                 // guarded by m: the first natsConnection_Connect has returned

  std::atomic<bool> up{false};
  std::atomic<bool> stream_ok{false};

  // The worker's alone.
  natsOptions* nopts = nullptr;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;

  explicit core(nats_options o, connection_callback cb) : opts(std::move(o)), on_connection(std::move(cb)) {}

  /// Queues `job` for the worker; false (not queued) once stopping.
  bool post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(m);
      if (stopping || !started)
        return false;
      jobs.push_back(std::move(job));
    }
    cv.notify_all();
    return true;
  }

  bool is_stopping() const {
    std::lock_guard<std::mutex> lock(m);
    return stopping;
  }

  void set_problem(std::string p) {
    std::lock_guard<std::mutex> lock(m);
    problem = std::move(p);
  }

  // -- libnats callbacks (libnats threads) ------------------------------------------------------------------------

  void went_up() {
    stream_ok = false;
    bool was = up.exchange(true);
    post([this] { ensure(); });
    cv.notify_all();
    if (!was) {
      spdlog::info("nats: connected");
      if (on_connection)
        on_connection(true);
    }
  }

  void went_down(const char* why) {
    stream_ok = false;
    bool was = up.exchange(false);
    if (was) {
      if (is_stopping())
        spdlog::info("nats: connection closed");
      else
        spdlog::warn("nats: {}", why);
      if (on_connection)
        on_connection(false);
    }
  }

  static void connected_cb(natsConnection*, void* closure) { static_cast<core*>(closure)->went_up(); }
  static void reconnected_cb(natsConnection*, void* closure) { static_cast<core*>(closure)->went_up(); }
  static void disconnected_cb(natsConnection*, void* closure) {
    static_cast<core*>(closure)->went_down("disconnected; reconnecting");
  }
  static void closed_cb(natsConnection*, void* closure) {
    auto* c = static_cast<core*>(closure);
    c->went_down("connection closed");
    // Notified under the lock: once the worker sees `closed` it may free this core (the destructor returns, the
    // last reference goes), so this thread must not touch `cv` after unlocking (TSan: pthread_cond_destroy in ~core
    // against pthread_cond_broadcast here).
    std::lock_guard<std::mutex> lock(c->m);
    c->closed = true;
    c->cv.notify_all();
  }
  static void error_cb(natsConnection*, natsSubscription*, natsStatus err, void*) {
    spdlog::warn("nats: asynchronous error: {}", natsStatus_GetText(err));
  }

  // -- the worker -------------------------------------------------------------------------------------------------

  void connect() {
    attempt();
    {
      std::lock_guard<std::mutex> lock(m);
      attempted = true;
    }
    cv.notify_all();
  }

  void attempt() {
    natsStatus s = natsOptions_Create(&nopts);
    if (s == NATS_OK)
      s = natsOptions_SetURL(nopts, opts.url.c_str());
    if (s == NATS_OK)
      s = natsOptions_SetName(nopts, opts.name.c_str());
    if (s == NATS_OK)
      s = natsOptions_SetTimeout(nopts, opts.connect_timeout.count());
    if (s == NATS_OK)
      s = natsOptions_SetMaxReconnect(nopts, -1);
    if (s == NATS_OK)
      s = natsOptions_SetReconnectWait(nopts, opts.reconnect_wait.count());
    if (s == NATS_OK)
      s = natsOptions_SetReconnectJitter(nopts, 100, 1000);
    if (s == NATS_OK)
      s = natsOptions_SetRetryOnFailedConnect(nopts, true, &connected_cb, this);
    if (s == NATS_OK)
      s = natsOptions_SetDisconnectedCB(nopts, &disconnected_cb, this);
    if (s == NATS_OK)
      s = natsOptions_SetReconnectedCB(nopts, &reconnected_cb, this);
    if (s == NATS_OK)
      s = natsOptions_SetClosedCB(nopts, &closed_cb, this);
    if (s == NATS_OK)
      s = natsOptions_SetErrorHandler(nopts, &error_cb, this);
    if (s != NATS_OK) {
      auto p = "nats: the connection options are invalid: " + describe(s);
      spdlog::error("{}", p);
      set_problem(p);
      return;
    }
    s = natsConnection_Connect(&nc, nopts);
    if (s == NATS_NOT_YET_CONNECTED) {
      spdlog::warn("nats: the server is not reachable yet; connecting in the background");
    } else if (s != NATS_OK) {
      auto p = "nats: cannot connect: " + describe(s);
      spdlog::error("{}", p);
      set_problem(p);
      nc = nullptr;
      return;
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = opts.publish_timeout.count();
    if (natsStatus js_s = natsConnection_JetStream(&js, nc, &jo); js_s != NATS_OK) {
      auto p = "nats: no JetStream context: " + describe(js_s);
      spdlog::error("{}", p);
      set_problem(p);
      js = nullptr;
      return;
    }
    // A connect that succeeded in the call itself runs no connected callback.
    if (s == NATS_OK)
      went_up();
  }

  /// Creates the stream when missing, updates its duplicate window when different; "" on success.
  std::string ensure() {
    if (js == nullptr || !up)
      return "not connected";
    const std::int64_t window_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(opts.duplicate_window).count();
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&si, js, opts.stream.c_str(), nullptr, &jerr);
    std::string problem_text;
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
      std::vector<const char*> subjects;
      for (const auto& x : opts.subjects)
        subjects.push_back(x.c_str());
      jsStreamConfig cfg;
      jsStreamConfig_Init(&cfg);
      cfg.Name = opts.stream.c_str();
      cfg.Subjects = subjects.data();
      cfg.SubjectsLen = static_cast<int>(subjects.size());
      cfg.Storage = js_FileStorage;
      cfg.Duplicates = window_ns;
      jerr = static_cast<jsErrCode>(0);
      s = js_AddStream(&si, js, &cfg, nullptr, &jerr);
      if (s == NATS_OK)
        spdlog::info("nats: created stream {} (duplicate window {} ms)", opts.stream, opts.duplicate_window.count());
      else
        problem_text = "creating stream " + opts.stream + " fails: " + describe(s, jerr);
    } else if (s == NATS_OK) {
      if (si->Config != nullptr && si->Config->Duplicates != window_ns) {
        si->Config->Duplicates = window_ns;
        jsStreamInfo* updated = nullptr;
        jerr = static_cast<jsErrCode>(0);
        s = js_UpdateStream(&updated, js, si->Config, nullptr, &jerr);
        if (s == NATS_OK)
          spdlog::info("nats: stream {} now has a duplicate window of {} ms", opts.stream,
                       opts.duplicate_window.count());
        else
          problem_text = "updating stream " + opts.stream + " fails: " + describe(s, jerr);
        jsStreamInfo_Destroy(updated);
      }
    } else {
      problem_text = "reading stream " + opts.stream + " fails: " + describe(s, jerr);
    }
    jsStreamInfo_Destroy(si);
    if (!problem_text.empty()) {
      spdlog::error("nats: {}", problem_text);
      set_problem(problem_text);
      return problem_text;
    }
    set_problem({});
    stream_ok = true;
    cv.notify_all();
    return {};
  }

  publish_result publish(const std::string& subject, const std::string& payload, const std::string& msg_id) {
    if (is_stopping())
      return retry_result("shutting down");
    if (js == nullptr || !up)
      return retry_result("not connected");
    if (!stream_ok)
      if (auto p = ensure(); !p.empty())
        return retry_result("stream not ready: " + p);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id.c_str();
    po.MaxWait = opts.publish_timeout.count();
    po.ExpectStream = opts.stream.c_str();
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_Publish(&ack, js, subject.c_str(), payload.data(), static_cast<int>(payload.size()), &po, &jerr);
    publish_result r;
    if (s == NATS_OK) {
      r.kind = publish_result::outcome::ok;
      r.sequence = ack->Sequence;
      r.duplicate = ack->Duplicate;
      jsPubAck_Destroy(ack);
      return r;
    }
    r.error = describe(s, jerr);
    if (s == NATS_NO_RESPONDERS)
      stream_ok = false; // no stream covers the subject (or JetStream is off): ensure it again before the next one
    r.kind = retryable(s) ? publish_result::outcome::retryable : publish_result::outcome::failed;
    return r;
  }

  void free_handles(const std::shared_ptr<core>& self) {
    if (js != nullptr)
      jsCtx_Destroy(js);
    js = nullptr;
    bool callbacks_done = true;
    if (nc != nullptr) {
      natsConnection_Close(nc);
      std::unique_lock<std::mutex> lock(m);
      callbacks_done = cv.wait_for(lock, opts.shutdown_timeout, [this] { return closed; });
      lock.unlock();
      natsConnection_Destroy(nc);
      nc = nullptr;
    }
    if (nopts != nullptr)
      natsOptions_Destroy(nopts);
    nopts = nullptr;
    if (!callbacks_done) {
      // libnats still holds `this` as the closure of a callback it has not run: keep it alive for good.
      spdlog::error("nats: the connection did not report its close; leaking its state");
      new std::shared_ptr<core>(self);
    }
  }

  static void run(std::shared_ptr<core> self) {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(self->m);
        self->cv.wait(lock, [&] { return self->stopping || !self->jobs.empty(); });
        if (self->jobs.empty())
          break;
        job = std::move(self->jobs.front());
        self->jobs.pop_front();
      }
      job();
    }
    self->free_handles(self);
    {
      std::lock_guard<std::mutex> lock(self->m);
      self->finished = true;
    }
    self->cv.notify_all();
  }
};

nats_publisher::nats_publisher(nats_options options, connection_callback on_connection)
  : core_(std::make_shared<core>(std::move(options), std::move(on_connection))) {}

nats_publisher::~nats_publisher() {
  bool had_worker = false;
  {
    std::lock_guard<std::mutex> lock(core_->m);
    had_worker = core_->started;
    core_->stopping = true;
  }
  core_->cv.notify_all();
  if (!had_worker)
    return;
  std::unique_lock<std::mutex> lock(core_->m);
  // The worker waits up to shutdown_timeout for the close callback; allow for that plus a job in progress.
  auto bound = core_->opts.shutdown_timeout * 2 + core_->opts.publish_timeout + core_->opts.connect_timeout;
  if (!core_->cv.wait_for(lock, bound, [this] { return core_->finished; }))
    spdlog::error("nats: the publisher's worker is stuck in libnats (nats.c #707?); abandoning it");
}

void nats_publisher::start() {
  {
    std::lock_guard<std::mutex> lock(core_->m);
    if (core_->started || core_->stopping)
      return;
    core_->started = true;
    core_->jobs.push_back([c = core_.get()] { c->connect(); });
  }
  // Detached: the worker owns a reference to the state and frees the libnats handles itself; the destructor waits
  // for it with a bound, so a worker stuck inside libnats cannot hang the process.
  std::thread(&core::run, core_).detach();
}

bool nats_publisher::connected() const {
  return core_->up;
}

bool nats_publisher::ready() const {
  return core_->up && core_->stream_ok;
}

bool nats_publisher::wait_ready(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(core_->m);
  return core_->cv.wait_for(lock, timeout, [this] { return core_->up && core_->stream_ok; });
}

bool nats_publisher::wait_attempted(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(core_->m);
  return core_->cv.wait_for(lock, timeout, [this] { return core_->attempted; });
}

std::string nats_publisher::stream_problem() const {
  std::lock_guard<std::mutex> lock(core_->m);
  return core_->problem;
}

std::string nats_publisher::ensure_stream() {
  auto result = std::make_shared<std::promise<std::string>>();
  auto answer = result->get_future();
  if (!core_->post([c = core_.get(), result] { result->set_value(c->ensure()); }))
    return "not started";
  if (answer.wait_for(core_->opts.connect_timeout + core_->opts.publish_timeout) != std::future_status::ready)
    return "publisher busy";
  return answer.get();
}

void nats_publisher::publish(std::string subject, std::string payload, std::string msg_id, publish_callback done) {
  auto job = [c = core_.get(), subject = std::move(subject), payload = std::move(payload), msg_id = std::move(msg_id),
              done]() { done(c->publish(subject, payload, msg_id)); };
  if (!core_->post(std::move(job)))
    done(retry_result(core_->is_stopping() ? "shutting down" : "not started"));
}

publish_result nats_publisher::publish_sync(std::string subject, std::string payload, std::string msg_id) {
  auto result = std::make_shared<std::promise<publish_result>>();
  auto answer = result->get_future();
  publish(std::move(subject), std::move(payload), std::move(msg_id),
          [result](publish_result r) { result->set_value(std::move(r)); });
  if (answer.wait_for(core_->opts.connect_timeout + core_->opts.publish_timeout * 2) != std::future_status::ready)
    return retry_result("publisher busy");
  return answer.get();
}

} // namespace dutydesk::events
