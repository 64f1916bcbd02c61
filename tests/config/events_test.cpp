// The `events:` section: NATS and/or signed webhooks, the stream, the duplicate window, the CloudEvents source;
// every error as FILE:LINE:COL; webhook secrets are secrets.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "config/config.hpp"
#include "tests/config/support.hpp"

namespace dutydesk::config {
namespace {

using namespace dutydesk::config::test;
using testing::ElementsAre;
using testing::HasSubstr;
using testing::Not;

TEST(config_events, every_key_with_its_default) {
  auto c = load_ok(minimal + "events:\n  nats_url: nats://127.0.0.1:4222\n");
  ASSERT_TRUE(c.events);
  EXPECT_EQ(c.events->nats_url, "nats://127.0.0.1:4222");
  EXPECT_EQ(c.events->subject_prefix, "dutydesk");
  EXPECT_EQ(c.events->stream, "DUTYDESK_EVENTS");
  EXPECT_EQ(c.events->duplicate_window, std::chrono::minutes(10));
  EXPECT_EQ(c.events->source, "/dutydesk");
  EXPECT_TRUE(c.events->webhooks.empty());

  auto all = load_ok(minimal + "events:\n"
                               "  nats_url: tls://nats.internal:4222\n"
                               "  subject_prefix: acme.dd\n"
                               "  stream: ACME_DD\n"
                               "  duplicate_window: 2h\n"
                               "  source: https://dutydesk.acme.example\n"
                               "  webhooks:\n"
                               "    - url: https://hooks.example.com/a\n"
                               "      secret: s3cret\n"
                               "    - url: http://127.0.0.1:9000/b\n"
                               "      secret: other\n");
  ASSERT_TRUE(all.events);
  EXPECT_EQ(all.events->stream, "ACME_DD");
  EXPECT_EQ(all.events->duplicate_window, std::chrono::hours(2));
  EXPECT_EQ(all.events->source, "https://dutydesk.acme.example");
  ASSERT_EQ(all.events->webhooks.size(), 2u);
  EXPECT_EQ(all.events->webhooks[0].url, "https://hooks.example.com/a");
  EXPECT_EQ(all.events->webhooks[0].secret, "s3cret");
  EXPECT_EQ(all.events->webhooks[1].url, "http://127.0.0.1:9000/b");
}

TEST(config_events, webhooks_alone_are_enough) {
  auto c = load_ok(minimal + "events:\n  webhooks:\n    - url: http://127.0.0.1:9000/hook\n      secret: x\n");
  ASSERT_TRUE(c.events);
  EXPECT_EQ(c.events->nats_url, "");
  EXPECT_EQ(c.events->webhooks.size(), 1u);
  EXPECT_THAT(redacted_summary(c), HasSubstr("events: no NATS (prefix dutydesk, stream DUTYDESK_EVENTS, 1 webhook)"));
}

TEST(config_events, errors_point_at_the_key) {
  EXPECT_THAT(errors(minimal + "events:\n  subject_prefix: x\n"),
              ElementsAre("t.yaml:25:3: events: set nats_url, webhooks or both"));
  EXPECT_THAT(errors(minimal + "events:\n  nats_url: nats://n:4222\n  stream: my.stream\n"),
              ElementsAre("t.yaml:26:11: events.stream: invalid JetStream stream name 'my.stream': no spaces, '.', "
                          "'*' or '>'"));
  EXPECT_THAT(errors(minimal + "events:\n  nats_url: nats://n:4222\n  source: ''\n"),
              ElementsAre("t.yaml:26:11: events.source: must not be empty"));
  EXPECT_THAT(errors(minimal + "events:\n  webhooks:\n    - url: http://127.0.0.1:9000/h\n"),
              ElementsAre("t.yaml:26:7: missing required key 'secret' in events.webhooks[0]"));
  EXPECT_THAT(errors(minimal + "events:\n  webhooks:\n    - url: http://127.0.0.1:9000/h\n      secret: ''\n"),
              ElementsAre("t.yaml:27:15: events.webhooks[0].secret: must not be empty"));
  EXPECT_THAT(errors(minimal + "events:\n  webhooks:\n    - url: ftp://h/x\n      secret: s\n"),
              ElementsAre(HasSubstr("events.webhooks[0].url")));
  EXPECT_THAT(errors(minimal + "events:\n  nats_url: nats://n:4222\n  retries: 3\n"),
              ElementsAre("t.yaml:26:3: unknown key 'retries' in events; expected one of: nats_url, subject_prefix, "
                          "stream, duplicate_window, source, webhooks"));
}

TEST(config_events, a_webhook_secret_never_shows) {
  auto c = load_ok(minimal + "events:\n  webhooks:\n    - url: http://127.0.0.1:9000/hook\n      secret: "
                             "${HOOK_SECRET}\n",
                   {{"HOOK_SECRET", "very-secret-value"}});
  EXPECT_EQ(c.events->webhooks[0].secret, "very-secret-value");
  EXPECT_THAT(redacted_summary(c), Not(HasSubstr("very-secret-value")));
  auto plain = load_ok(minimal + "events:\n  webhooks:\n    - url: http://127.0.0.1:9000/hook\n      secret: "
                                 "written-in-the-file\n");
  EXPECT_THAT(redacted_summary(plain), Not(HasSubstr("written-in-the-file")));
}

} // namespace
} // namespace dutydesk::config
