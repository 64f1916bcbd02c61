#pragma once
// Starts the real dutydesk-sim binary (path in $DUTYDESK_SIM) as a child process with ephemeral ports, reads its
// ready line, and offers a blocking control-API helper. Tests drive the io_context with bounded run_for loops.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/http_client.hpp"

namespace dutydesk::test {

/// Identities and rooms of sim/seed/demo.json that the simulator tests use.
namespace seed {
inline constexpr const char* bot_id = "B0tB0tB0tB0tB0tB0";
inline constexpr const char* bot_pat = "dutydesk-pat-0000000000000000000000000000";
inline constexpr const char* cicd = "CicdSupp0rtRoom01";
inline constexpr const char* dba = "DbaSupp0rtRoom002";
inline constexpr const char* oncall_token = "oncall-token-000000000000000000";
} // namespace seed

/// Runs `ioc` until `done()` or `limit` passed; true when done.
inline bool run_until(boost::asio::io_context& ioc, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::milliseconds(10000)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

class sim_process {
public:
  /// Starts the simulator; on failure `error` is set and `ok()` is false.
  bool start(std::string& error) {
    const char* bin = std::getenv("DUTYDESK_SIM");
    if (!bin || !*bin) {
      error = "DUTYDESK_SIM is not set";
      return false;
    }
    int fds[2];
    if (pipe(fds) != 0) {
      error = "pipe failed";
      return false;
    }
    std::string seed = std::string(DUTYDESK_SOURCE_DIR) + "/sim/seed/demo.json";
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      execl(bin, bin, "--seed", seed.c_str(), "--rc-listen", "127.0.0.1:0", "--jira-dc-listen", "127.0.0.1:0",
            "--jira-cloud-listen", "127.0.0.1:0", "--oncall-listen", "127.0.0.1:0", "--control-listen",
            "127.0.0.1:0", "--random-seed", "42", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        error = "no ready line from the simulator";
        return false;
      }
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0)
        continue;
      char buf[512];
      auto n = read(out_, buf, sizeof buf);
      if (n <= 0) {
        error = "simulator exited before it was ready";
        return false;
      }
      line.append(buf, static_cast<std::size_t>(n));
    }
    auto pos = line.find('{');
    if (line.rfind("dutydesk-sim ready", 0) != 0 || pos == std::string::npos) {
      error = "unexpected first line: " + line;
      return false;
    }
    auto j = nlohmann::json::parse(line.substr(pos, line.find('\n') - pos), nullptr, false);
    if (j.is_discarded()) {
      error = "unparsable ready line: " + line;
      return false;
    }
    rocketchat = j.value("rocketchat", "");
    oncall = j.value("oncall", "");
    control = j.value("control", "");
    jira_dc = j.value("jira-dc", "");
    jira_cloud = j.value("jira-cloud", "");
    return !rocketchat.empty() && !oncall.empty() && !control.empty();
  }

  ~sim_process() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (out_ >= 0)
      close(out_);
  }

  std::string rocketchat, oncall, control;
  std::string jira_dc, jira_cloud;

private:
  pid_t pid_ = -1;
  int out_ = -1;
};

/// Base fixture: a simulator, an io_context and a blocking control helper.
class sim_test : public ::testing::Test {
protected:
  void SetUp() override {
    std::string error;
    if (!std::getenv("DUTYDESK_SIM") || !*std::getenv("DUTYDESK_SIM"))
      GTEST_SKIP() << "DUTYDESK_SIM is not set (path of the dutydesk-sim binary); integration test skipped";
    ASSERT_TRUE(sim.start(error)) << error;
  }

  /// A control API call (blocking, bounded); returns the parsed answer, with "_status" added.
  nlohmann::json control(io::http_method m, const std::string& path, const nlohmann::json& body = nullptr) {
    io::retry_policy none;
    none.max_attempts = 1;
    io::http_client_options o;
    o.retry = none;
    io::http_client c(ioc, o);
    io::http_request r;
    r.method = m;
    r.url = sim.control + path;
    if (!body.is_null())
      r.body = body.dump();
    std::optional<io::http_result> out;
    c.request(r, [&](io::http_result x) { out = std::move(x); });
    EXPECT_TRUE(run_until(ioc, [&] { return out.has_value(); })) << path;
    if (!out || !out->ok())
      return nlohmann::json{{"_status", 0}};
    auto j = nlohmann::json::parse(out->response.body, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      j = nlohmann::json::object();
    j["_status"] = out->response.status;
    return j;
  }

  /// Posts `text` as `user` into room `room` (name or id) through the control API; returns the message id.
  std::string post_as(const std::string& user, const std::string& room, const std::string& text) {
    auto j = control(io::http_method::post, "/control/rocketchat/messages",
                     {{"as", user}, {"room", room}, {"text", text}});
    EXPECT_EQ(j["_status"], 200) << j.dump();
    if (!j.contains("message"))
      return {};
    return j["message"].value("_id", "");
  }

  boost::asio::io_context ioc;
  sim_process sim;
};

} // namespace dutydesk::test
