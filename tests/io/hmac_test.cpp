#include "io/hmac.hpp"

#include <gtest/gtest.h>

using namespace dutydesk::io;

TEST(hub_signature, matches_the_websub_test_vector) {
  // jira.md §7.5: the WebSub/GitHub vector.
  EXPECT_EQ(hub_signature("It's a Secret to Everybody", "Hello World!"),
            "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9");
}

TEST(hub_signature, verifies_only_the_exact_signature) {
  auto sig = hub_signature("s3cret", R"({"a":1})");
  EXPECT_TRUE(verify_hub_signature("s3cret", R"({"a":1})", sig));
  EXPECT_FALSE(verify_hub_signature("s3cret", R"({"a":2})", sig));
  EXPECT_FALSE(verify_hub_signature("other", R"({"a":1})", sig));
  EXPECT_FALSE(verify_hub_signature("s3cret", R"({"a":1})", sig.substr(7)));
  EXPECT_FALSE(verify_hub_signature("s3cret", R"({"a":1})", "sha256="));
  EXPECT_FALSE(verify_hub_signature("s3cret", R"({"a":1})", "sha1=" + sig.substr(7)));
}
