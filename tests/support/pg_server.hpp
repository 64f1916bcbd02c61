#pragma once
// A PostgreSQL of one test's own, through scripts/pg_server.sh (initdb in a temp dir, a free port on 127.0.0.1), for
// the tests that stop, kill and start it; removed with its data when the object goes.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace dutydesk::test {

class pg_server {
public:
  pg_server() {
    char tmpl[] = "/tmp/dutydesk-pgtest-XXXXXX";
    if (char* d = mkdtemp(tmpl); d != nullptr)
      dir_ = d;
  }
  ~pg_server() {
    (void)sh("destroy");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  pg_server(const pg_server&) = delete;
  pg_server& operator=(const pg_server&) = delete;

  /// Runs `scripts/pg_server.sh <cmd> <dir>` (start, stop, kill, restart, status); true on exit 0.
  bool sh(const std::string& cmd) const {
    auto line = std::string{DUTYDESK_SOURCE_DIR} + "/scripts/pg_server.sh " + cmd + " " + dir_ + " >/dev/null 2>&1";
    return !dir_.empty() && std::system(line.c_str()) == 0;
  }

  /// The URL of the server once started.
  std::string url() const {
    std::ifstream in{dir_ + "/url"};
    std::string u;
    std::getline(in, u);
    return u;
  }

private:
  std::string dir_;
};

} // namespace dutydesk::test
