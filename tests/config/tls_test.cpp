// tls.ca_file: extra trust anchors for every outbound https/wss connection; a file that cannot be read is a config
// error at its position (certificates are always verified, so there is no key to turn that off).

#include "config/load.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "support.hpp"

using namespace dutydesk::config;
using namespace dutydesk::config::test;
using testing::ElementsAre;
using testing::IsEmpty;

TEST(config_tls, no_tls_section_means_the_system_store_only) {
  EXPECT_EQ(load_ok(minimal).tls.ca_file, "");
}

TEST(config_tls, a_readable_ca_file_is_taken) {
  char path[] = "/tmp/dutydesk-ca-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  {
    std::ofstream out{path};
    out << "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
  }
  auto cfg = load_ok(minimal + "tls:\n  ca_file: " + path + "\n");
  EXPECT_EQ(cfg.tls.ca_file, path);
  std::remove(path);
}

TEST(config_tls, an_unreadable_ca_file_is_an_error_at_its_position) {
  EXPECT_THAT(errors(minimal + "tls:\n  ca_file: /nonexistent/ca.pem\n"),
              ElementsAre("t.yaml:25:12: tls.ca_file: cannot read the CA file '/nonexistent/ca.pem'"));
  EXPECT_THAT(errors(minimal + "tls:\n  verify: false\n"),
              ElementsAre("t.yaml:25:3: unknown key 'verify' in tls; expected one of: ca_file"));
}
