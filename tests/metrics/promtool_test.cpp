// The shipped Prometheus files pass promtool: rules and config syntax, and the alert unit tests of rules_test.yml.

#include <gtest/gtest.h>

#include <string>

#include "tests/metrics/expressions.hpp"
#include "tests/metrics/process.hpp"

namespace {

using dutydesk::test::find_program;
using dutydesk::test::run_command;
using dutydesk::test::source_dir;

std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

class Promtool : public ::testing::Test {
protected:
  void SetUp() override {
    promtool_ = find_program("promtool");
    if (promtool_.empty())
      GTEST_SKIP() << "promtool is not installed";
  }
  std::string promtool_;
};

} // namespace

TEST_F(Promtool, RulesAreValid) {
  auto r = run_command(promtool_ + " check rules " + quoted(source_dir() / "docker/prometheus/rules.yml"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto n = dutydesk::test::rule_count();
  EXPECT_EQ(n, 11u);
  EXPECT_NE(r.output.find("SUCCESS: " + std::to_string(n) + " rules found"), std::string::npos) << r.output;
}

TEST_F(Promtool, ConfigIsValidAndLoadsTheRules) {
  auto r = run_command(promtool_ + " check config " + quoted(source_dir() / "docker/prometheus/prometheus.yml"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SUCCESS: 1 rule files found"), std::string::npos) << r.output;
}

TEST_F(Promtool, AlertUnitTestsPass) {
  auto r = run_command(promtool_ + " test rules " + quoted(source_dir() / "tests/metrics/rules_test.yml"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("SUCCESS"), std::string::npos) << r.output;
}

TEST(MetricsFiles, RuleExpressionsAreAllFound) {
  auto xs = dutydesk::test::rule_exprs();
  ASSERT_EQ(xs.size(), dutydesk::test::rule_count());
  for (const auto& x : xs) {
    EXPECT_FALSE(x.expr.empty()) << x.where;
    EXPECT_NE(x.expr.front(), '>') << x.where; // a block scalar's indicator is not part of the expression
    EXPECT_NE(x.expr.front(), '|') << x.where;
  }
  EXPECT_EQ(xs.front().where, "dutydesk:outbound_error_ratio:rate5m");
  EXPECT_EQ(xs.front().expr,
            R"(sum by (system) (rate(dutydesk_outbound_calls_total{result!~"ok|rate_limited"}[5m])) / )"
            R"(sum by (system) (rate(dutydesk_outbound_calls_total{result!="rate_limited"}[5m])))");
  EXPECT_EQ(xs.back().where, "DutydeskNatsDown");
  EXPECT_EQ(xs.back().expr, "dutydesk_nats_connected == 0");
}

TEST(MetricsFiles, DashboardHasItsVariablesAndEveryTargetIsSubstituted) {
  auto d = dutydesk::test::dashboard();
  EXPECT_EQ(d["schemaVersion"], 38);
  const auto& vars = d["templating"]["list"];
  ASSERT_EQ(vars.size(), 2u);
  EXPECT_EQ(vars[0]["name"], "DS_PROMETHEUS");
  EXPECT_EQ(vars[0]["type"], "datasource");
  EXPECT_EQ(vars[1]["name"], "team");
  EXPECT_EQ(vars[1]["query"]["query"], "label_values(dutydesk_requests_created_total, team)");
  auto xs = dutydesk::test::dashboard_exprs();
  EXPECT_GE(xs.size(), 25u);
  for (const auto& x : xs)
    EXPECT_EQ(x.expr.find('$'), std::string::npos) << x.where << ": " << x.expr;
  // Every panel queries the datasource variable.
  for (const auto& p : d["panels"]) {
    if (p["type"] != "row") {
      EXPECT_EQ(p["datasource"]["uid"], "${DS_PROMETHEUS}") << p["title"];
    }
  }
}
