#pragma once
// The demo seed (sim/seed/demo.json) that the simulator module tests load.

#include <fstream>
#include <string>

#include "sim/core.hpp"

namespace dutydesk::sim::test {

/// One system's section of the demo seed ("rocketchat", "jira", "oncall"), parsed once.
inline const json& demo_seed(const std::string& section) {
  static const json seed = [] {
    std::ifstream in(DUTYDESK_SOURCE_DIR "/sim/seed/demo.json");
    return json::parse(in);
  }();
  return seed.at(section);
}

} // namespace dutydesk::sim::test
