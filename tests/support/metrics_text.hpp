#pragma once
// Reads one series out of a metrics::registry the way Prometheus would see it (the text exposition format).

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <string>

#include "metrics/registry.hpp"

namespace dutydesk::test {

/// The value of the exposition line for `series` (e.g. `x_total{a="b"}`, labels in name order), or "absent".
inline std::string value_of(const metrics::registry& m, const std::string& series) {
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, m.prometheus()->Collect());
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0)
      return line.substr(series.size() + 1);
  return "absent";
}

} // namespace dutydesk::test
