// A real Prometheus scrapes an exposer of a registry holding the scripted recordings (every family has a series),
// then every PromQL expression of the dashboard and the rules is evaluated through its query API, the key series
// are read back with their values, the rules load healthy, and a dropped websocket turns the alert pending.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "metrics/exposer.hpp"
#include "metrics/registry.hpp"
#include "tests/metrics/expressions.hpp"
#include "tests/metrics/loopback.hpp"
#include "tests/metrics/process.hpp"
#include "tests/metrics/scripted.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

class RealPrometheus : public ::testing::Test {
protected:
  void SetUp() override {
    auto bin = dutydesk::test::find_program("prometheus");
    if (bin.empty())
      GTEST_SKIP() << "prometheus is not installed";
    char tmpl[] = "/tmp/dutydesk-prometheus-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;

    metrics_ = std::make_shared<dutydesk::metrics::registry>();
    dutydesk::test::record_script(*metrics_);
    exposer_ = std::make_unique<dutydesk::metrics::exposer>(metrics_, "127.0.0.1", 0);
    ASSERT_EQ(exposer_->listen(), "");

    std::ofstream cfg(dir_ / "prometheus.yml");
    cfg << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "rule_files:\n  - '" << (dutydesk::test::source_dir() / "docker/prometheus/rules.yml").string() << "'\n"
        << "scrape_configs:\n  - job_name: dutydesk\n    static_configs:\n"
        << "      - targets: ['127.0.0.1:" << exposer_->port() << "']\n";
    cfg.close();

    port_ = dutydesk::test::free_port();
    ASSERT_NE(port_, 0);
    prometheus_ = std::make_unique<dutydesk::test::child_process>(
        std::vector<std::string>{bin, "--config.file=" + (dir_ / "prometheus.yml").string(),
                                 "--storage.tsdb.path=" + (dir_ / "data").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_)},
        dir_ / "prometheus.log");
    ASSERT_GT(prometheus_->pid(), 0);
  }

  void TearDown() override {
    if (prometheus_)
      prometheus_->stop();
    exposer_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  std::string log() const { return dutydesk::test::read_text(dir_ / "prometheus.log"); }

  /// GET `target` from Prometheus' API as JSON; nullopt when it does not answer (yet).
  std::optional<json> api(const std::string& target) {
    auto ans = dutydesk::test::http_get(port_, target);
    if (!ans)
      return std::nullopt;
    auto j = json::parse(ans->body, nullptr, false);
    if (j.is_discarded())
      return std::nullopt;
    return j;
  }

  /// An instant query's answer.
  std::optional<json> query(const std::string& promql) { return api("/api/v1/query?query=" + url_encode(promql)); }

  /// The single value of an instant query's vector result; nullopt unless there is exactly one sample.
  std::optional<std::string> value_of(const std::string& promql) {
    auto j = query(promql);
    if (!j || (*j)["status"] != "success" || (*j)["data"]["result"].size() != 1)
      return std::nullopt;
    return (*j)["data"]["result"][0]["value"][1].get<std::string>();
  }

  /// Polls `done` (every 100 ms, at most 30 s); false when it never held or Prometheus exited.
  bool eventually(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done())
        return true;
      if (!prometheus_->running())
        return false;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  fs::path dir_;
  std::shared_ptr<dutydesk::metrics::registry> metrics_;
  std::unique_ptr<dutydesk::metrics::exposer> exposer_;
  std::uint16_t port_ = 0;
  std::unique_ptr<dutydesk::test::child_process> prometheus_;
};

} // namespace

TEST_F(RealPrometheus, EvaluatesEveryShippedExpressionAndSeesTheRecordedValues) {
  // Up and scraped: the target is up and a scripted series is stored.
  ASSERT_TRUE(eventually([&] {
    return value_of(R"(up{job="dutydesk"})") == "1" &&
           value_of(R"(dutydesk_requests_created_total{team="cicd",source="chat"})") == "3";
  })) << log();

  // Every expression of the dashboard and the rules evaluates without error.
  auto xs = dutydesk::test::dashboard_exprs();
  auto rules = dutydesk::test::rule_exprs();
  ASSERT_EQ(rules.size(), dutydesk::test::rule_count());
  xs.insert(xs.end(), rules.begin(), rules.end());
  ASSERT_GE(xs.size(), 35u);
  for (const auto& x : xs) {
    auto j = query(x.expr);
    ASSERT_TRUE(j) << x.where << ": no answer to " << x.expr;
    EXPECT_EQ((*j)["status"], "success") << x.where << ": " << x.expr << "\n" << j->dump();
    EXPECT_FALSE(j->contains("error")) << x.where << ": " << j->dump();
    EXPECT_FALSE(j->contains("warnings")) << x.where << ": " << j->dump();
  }

  // The key series as Prometheus stored them.
  EXPECT_EQ(value_of(R"(dutydesk_requests_created_total{team="cicd",source="jira"})"), "1");
  EXPECT_EQ(value_of(R"(sum(dutydesk_requests_created_total{team="infra"}))"), "2");
  EXPECT_EQ(value_of(R"(dutydesk_requests_open{team="infra",status="new"})"), "4");
  EXPECT_EQ(value_of(R"(sum(dutydesk_requests_open{team="cicd"}))"), "3");
  EXPECT_EQ(value_of(R"(dutydesk_feedback_ratings_total{team="cicd",rating="5"})"), "2");
  EXPECT_EQ(value_of(R"(sum(dutydesk_feedback_ratings_total{team="cicd",rating=~"4|5"}))"), "3");
  EXPECT_EQ(value_of(R"(dutydesk_feedback_surveys_sent_total{team="cicd"})"), "4");
  EXPECT_EQ(value_of(R"(dutydesk_oncall_lookups_total{team="infra",result="error"})"), "1");
  EXPECT_EQ(value_of(R"(dutydesk_outbound_calls_total{system="rocketchat",result="rate_limited"})"), "1");
  EXPECT_EQ(value_of(R"(dutydesk_outbound_call_seconds_count{system="jira"})"), "2");
  EXPECT_EQ(value_of(R"(dutydesk_outbound_call_seconds_sum{system="jira"})"), "2.05");
  EXPECT_EQ(value_of(R"(dutydesk_outbox_oldest_age_seconds{queue="events"})"), "120");
  EXPECT_EQ(value_of("dutydesk_websocket_connected"), "1");
  EXPECT_EQ(value_of("dutydesk_nats_connected"), "1");
  EXPECT_EQ(value_of("dutydesk_storage_up"), "1");
  // 120 s and 600 s: the median is the top of the 60..300 bucket.
  EXPECT_EQ(value_of(R"(histogram_quantile(0.5, sum by (le) (dutydesk_first_response_seconds_bucket{team="cicd"})))"),
            "300");
  // Every family of the registry reached Prometheus.
  auto names = query(R"(count by (__name__) ({__name__=~"dutydesk_.*"}))");
  ASSERT_TRUE(names);
  EXPECT_EQ((*names)["data"]["result"].size(), 23u + 2 * 3) << names->dump(); // histograms: _bucket, _sum, _count

  // The rules loaded and evaluate cleanly.
  ASSERT_TRUE(eventually([&] {
    auto j = api("/api/v1/rules");
    if (!j || (*j)["status"] != "success")
      return false;
    std::size_t healthy = 0;
    for (const auto& g : (*j)["data"]["groups"])
      for (const auto& r : g["rules"])
        healthy += r["health"] == "ok";
    return healthy == dutydesk::test::rule_count();
  })) << api("/api/v1/rules").value_or(json{}).dump();
  EXPECT_EQ(value_of(R"(ALERTS{alertname="DutydeskWebsocketDown"})"), std::nullopt);

  // The realtime session drops: the alert goes pending (it fires only after 2 minutes).
  metrics_->websocket_connected(false);
  ASSERT_TRUE(eventually([&] {
    return value_of(R"(ALERTS{alertname="DutydeskWebsocketDown",alertstate="pending"})") == "1";
  })) << log();
}
