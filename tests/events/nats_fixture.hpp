#pragma once
// A real `nats-server -js` for the event tests: 127.0.0.1, a free port and a temporary store directory, started as a
// child process and stopped by its PID; stop() and start() again keep the port and the store (an outage and a
// restart as production sees them). Tests skip when no nats-server binary is found ($DUTYDESK_NATS_SERVER, else
// /usr/sbin/nats-server or /usr/bin/nats-server). Also a bounded polling helper: tests never sleep to wait.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nats/nats.h>

#include <vector>

namespace dutydesk::test {

/// Polls `done()` every few milliseconds until it holds or `limit` passed; true when it holds.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(15000)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

/// The nats-server binary, or "" when there is none.
inline std::string nats_server_binary() {
  if (const char* env = std::getenv("DUTYDESK_NATS_SERVER"); env != nullptr && *env != '\0')
    return env;
  for (const char* p : {"/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"})
    if (access(p, X_OK) == 0)
      return p;
  return {};
}

/// A free TCP port on 127.0.0.1 (bound once, then released).
inline std::uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0
      && getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
inline bool port_open(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

class nats_server {
public:
  nats_server() {
    char tmpl[] = "/tmp/dutydesk-nats-XXXXXX";
    if (char* d = mkdtemp(tmpl); d != nullptr)
      dir_ = d;
    port_ = free_port();
  }

  ~nats_server() {
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  nats_server(const nats_server&) = delete;
  nats_server& operator=(const nats_server&) = delete;

  /// Starts the server (same port and store as before) and waits until it accepts connections; "" or why not.
  std::string start() {
    if (pid_ > 0)
      return {};
    auto bin = nats_server_binary();
    if (bin.empty())
      return "no nats-server binary";
    if (dir_.empty() || port_ == 0)
      return "no temp dir or port";
    auto port = std::to_string(port_);
    auto store = dir_ + "/js";
    auto log = dir_ + "/nats.log";
    pid_ = fork();
    if (pid_ == 0) {
      execl(bin.c_str(), bin.c_str(), "-a", "127.0.0.1", "-p", port.c_str(), "-js", "-sd", store.c_str(), "-l",
            log.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    if (pid_ < 0)
      return "fork failed";
    bool up = eventually([&] { return exited() || port_open(port_); }, std::chrono::milliseconds(10000));
    if (!up || pid_ <= 0)
      return "nats-server did not come up (see " + log + ")";
    return {};
  }

  /// Stops the server by its PID (SIGTERM: JetStream shuts down cleanly), waiting at most 10 s, then SIGKILL.
  void stop() {
    if (pid_ <= 0)
      return;
    kill(pid_, SIGTERM);
    if (!eventually([&] { return exited(); }, std::chrono::milliseconds(10000))) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    eventually([&] { return !port_open(port_); }, std::chrono::milliseconds(5000));
  }

  bool running() const { return pid_ > 0; }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }

private:
  /// Reaps the child if it has exited.
  bool exited() {
    if (pid_ <= 0)
      return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }

  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

/// A plain libnats client for checking what the stream holds: stream info, and an ordered JetStream consumer that
/// reads messages from the start of the stream.
class jetstream_probe {
public:
  struct message {
    std::string subject;
    std::string data;
    std::string msg_id; // the Nats-Msg-Id header
    std::uint64_t sequence = 0;
  };
  struct stream_state {
    bool found = false;
    std::uint64_t messages = 0;
    std::int64_t duplicates_ns = 0;
    std::vector<std::string> subjects;
  };

  explicit jetstream_probe(const std::string& url) {
    natsOptions* o = nullptr;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, url.c_str());
    natsOptions_SetTimeout(o, 2000);
    if (natsConnection_Connect(&nc_, o) == NATS_OK)
      natsConnection_JetStream(&js_, nc_, nullptr);
    natsOptions_Destroy(o);
  }

  ~jetstream_probe() {
    if (sub_ != nullptr)
      natsSubscription_Destroy(sub_);
    if (js_ != nullptr)
      jsCtx_Destroy(js_);
    if (nc_ != nullptr)
      natsConnection_Destroy(nc_);
  }

  jetstream_probe(const jetstream_probe&) = delete;
  jetstream_probe& operator=(const jetstream_probe&) = delete;

  bool ok() const { return js_ != nullptr; }

  stream_state stream(const std::string& name) {
    stream_state st;
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (js_GetStreamInfo(&si, js_, name.c_str(), nullptr, &jerr) != NATS_OK)
      return st;
    st.found = true;
    st.messages = si->State.Msgs;
    st.duplicates_ns = si->Config->Duplicates;
    for (int i = 0; i < si->Config->SubjectsLen; ++i)
      st.subjects.emplace_back(si->Config->Subjects[i]);
    jsStreamInfo_Destroy(si);
    return st;
  }

  /// Reads the next `n` messages of `stream` on `filter` (an ordered consumer from the stream's start), waiting at
  /// most `limit` in all; then checks for `quiet` that nothing more arrives (returned beyond the n).
  std::vector<message> read(const std::string& stream, const std::string& filter, std::size_t n,
                            std::chrono::milliseconds limit = std::chrono::milliseconds(15000),
                            std::chrono::milliseconds quiet = std::chrono::milliseconds(300)) {
    std::vector<message> out;
    if (sub_ == nullptr) {
      jsSubOptions so;
      jsSubOptions_Init(&so);
      so.Stream = stream.c_str();
      so.Ordered = true;
      jsErrCode jerr = static_cast<jsErrCode>(0);
      if (js_SubscribeSync(&sub_, js_, filter.c_str(), nullptr, &so, &jerr) != NATS_OK)
        return out;
    }
    auto deadline = std::chrono::steady_clock::now() + limit;
    auto next = [&](std::chrono::milliseconds wait) {
      natsMsg* m = nullptr;
      if (natsSubscription_NextMsg(&m, sub_, wait.count()) != NATS_OK)
        return false;
      message x;
      x.subject = natsMsg_GetSubject(m);
      x.data.assign(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
      const char* id = nullptr;
      if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr)
        x.msg_id = id;
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        x.sequence = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
      }
      natsMsg_Destroy(m);
      out.push_back(std::move(x));
      return true;
    };
    while (out.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !next(left))
        break;
    }
    while (out.size() >= n && next(quiet)) {
    }
    return out;
  }

private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  natsSubscription* sub_ = nullptr;
};

/// Base fixture: a started server; skipped when nats-server is absent.
class nats_test : public ::testing::Test {
protected:
  void SetUp() override {
    if (nats_server_binary().empty())
      GTEST_SKIP() << "nats-server not found; set DUTYDESK_NATS_SERVER";
    auto err = server.start();
    ASSERT_EQ(err, "");
  }

  nats_server server;
};

} // namespace dutydesk::test
