// The pure parts of http_client's retry policy: which outcomes are retried, backoff growth and jitter bounds, and
// the three rate-limit header dialects (rocketchat.md §4, oncall.md §6).

#include <gtest/gtest.h>

#include "io/api_result.hpp"
#include "io/http_client.hpp"

using namespace dutydesk::io;
using std::chrono::milliseconds;

namespace {

http_result answer(unsigned status, std::vector<std::pair<std::string, std::string>> headers = {}) {
  http_result r;
  r.response.status = status;
  r.response.headers = std::move(headers);
  return r;
}

http_result failure(http_failure f) {
  http_result r;
  r.failure = f;
  return r;
}

retry_policy policy() {
  retry_policy p;
  p.max_attempts = 5;
  p.base_delay = milliseconds(100);
  p.max_delay = milliseconds(1000);
  p.max_rate_limit_wait = milliseconds(30000);
  p.default_rate_limit_wait = milliseconds(777);
  p.now_epoch_ms = [] { return std::int64_t{1'700'000'000'000}; };
  return p;
}

} // namespace

TEST(retry_policy, success_and_client_errors_are_final) {
  auto p = policy();
  EXPECT_FALSE(retry_delay(p, 1, answer(200), true, true, 0));
  EXPECT_FALSE(retry_delay(p, 1, answer(400), true, true, 0));
  EXPECT_FALSE(retry_delay(p, 1, answer(401), true, true, 0));
  EXPECT_FALSE(retry_delay(p, 1, answer(404), true, true, 0));
  EXPECT_FALSE(retry_delay(p, 1, failure(http_failure::bad_url), true, false, 0));
}

TEST(retry_policy, server_errors_back_off_exponentially_with_bounded_jitter) {
  auto p = policy();
  for (std::uint64_t rnd : {0ull, 1ull, 49ull, 50ull, 12345ull, ~0ull}) {
    auto d1 = retry_delay(p, 1, answer(503), true, true, rnd);
    auto d2 = retry_delay(p, 2, answer(500), true, true, rnd);
    auto d3 = retry_delay(p, 3, failure(http_failure::timeout), true, true, rnd);
    auto d4 = retry_delay(p, 4, failure(http_failure::io), true, true, rnd);
    ASSERT_TRUE(d1 && d2 && d3 && d4);
    EXPECT_GE(*d1, milliseconds(50));
    EXPECT_LE(*d1, milliseconds(100));
    EXPECT_GE(*d2, milliseconds(100));
    EXPECT_LE(*d2, milliseconds(200));
    EXPECT_GE(*d3, milliseconds(200));
    EXPECT_LE(*d3, milliseconds(400));
    EXPECT_GE(*d4, milliseconds(400));
    EXPECT_LE(*d4, milliseconds(800));
  }
  EXPECT_EQ(*retry_delay(p, 1, answer(503), true, true, 0), milliseconds(50));
  EXPECT_EQ(*retry_delay(p, 1, answer(503), true, true, 50), milliseconds(100));
  p.max_attempts = 20;
  EXPECT_LE(*retry_delay(p, 15, answer(503), true, true, ~0ull), milliseconds(1000)); // capped
  p.max_attempts = 5;
  EXPECT_FALSE(retry_delay(p, 5, answer(503), true, true, 0)); // attempts exhausted
}

TEST(retry_policy, unsafe_posts_are_not_repeated_once_sent) {
  auto p = policy();
  EXPECT_FALSE(retry_delay(p, 1, answer(503), false, true, 0));
  EXPECT_FALSE(retry_delay(p, 1, failure(http_failure::timeout), false, true, 0));
  EXPECT_FALSE(retry_delay(p, 1, failure(http_failure::io), false, true, 0));
  // Not sent yet (connect/TLS failed): safe for any request.
  EXPECT_TRUE(retry_delay(p, 1, failure(http_failure::connect), false, false, 0));
  EXPECT_TRUE(retry_delay(p, 1, failure(http_failure::resolve), false, false, 0));
  // A 429 was refused by the server: always repeated.
  EXPECT_TRUE(retry_delay(p, 1, answer(429), false, true, 0));
}

TEST(retry_policy, rate_limit_header_dialects) {
  auto p = policy();
  EXPECT_EQ(rate_limit_wait(p, answer(429, {{"retry-after", "3"}}).response), milliseconds(3000));
  // Rocket.Chat: epoch ms of the reset.
  EXPECT_EQ(rate_limit_wait(p, answer(429, {{"x-ratelimit-reset", "1700000002500"}}).response), milliseconds(2500));
  EXPECT_EQ(rate_limit_wait(p, answer(429, {{"x-ratelimit-reset", "1699999999000"}}).response), milliseconds(0));
  // OnCall: seconds.
  EXPECT_EQ(rate_limit_wait(p, answer(429, {{"ratelimit-reset", "7"}}).response), milliseconds(7000));
  // Retry-After wins over an ISO X-RateLimit-Reset (Jira).
  EXPECT_EQ(rate_limit_wait(p, answer(429, {{"x-ratelimit-reset", "2024-01-01T00:00Z"}, {"retry-after", "2"}}).response),
            milliseconds(2000));
  EXPECT_EQ(rate_limit_wait(p, answer(429).response), milliseconds(777));
  EXPECT_EQ(rate_limit_wait(p, answer(429, {{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}}).response),
            milliseconds(777));
  // Capped.
  EXPECT_EQ(rate_limit_wait(p, answer(429, {{"ratelimit-reset", "350"}}).response), milliseconds(30000));
  EXPECT_EQ(*retry_delay(p, 1, answer(429, {{"ratelimit-reset", "2"}}), true, true, 0), milliseconds(2000));
}

TEST(retry_policy, header_lookup_is_case_insensitive) {
  http_response r;
  r.headers = {{"x-ratelimit-reset", "5"}};
  EXPECT_EQ(r.header("X-RateLimit-Reset").value_or(""), "5");
  EXPECT_FALSE(r.header("Retry-After"));
}

TEST(api_result, classification_and_url_encoding) {
  api_error e;
  EXPECT_FALSE(classify_http_failure(answer(200), e));
  EXPECT_TRUE(classify_http_failure(answer(429), e));
  EXPECT_EQ(e.code, api_errc::rate_limited);
  EXPECT_TRUE(classify_http_failure(answer(401), e));
  EXPECT_EQ(e.code, api_errc::auth);
  EXPECT_TRUE(classify_http_failure(answer(503), e));
  EXPECT_EQ(e.code, api_errc::server);
  EXPECT_TRUE(classify_http_failure(answer(400), e));
  EXPECT_EQ(e.code, api_errc::rejected);
  EXPECT_TRUE(classify_http_failure(failure(http_failure::connect), e));
  EXPECT_EQ(e.code, api_errc::transport);
  EXPECT_EQ(e.failure, http_failure::connect);
  EXPECT_EQ(url_encode("a@b.c:1+2 /x"), "a%40b.c%3A1%2B2%20%2Fx");
}
