#pragma once
// The fuzz targets' invariant check: CHECK(cond[, detail]) aborts with the condition and the detail bytes, which
// libFuzzer reports as a crash and keeps the input of.

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace dutydesk::fuzz {

[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz: invariant broken: %s [%.*s]\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

} // namespace dutydesk::fuzz

#define CHECK(cond, ...)                                                                                               \
  do {                                                                                                                 \
    if (!(cond))                                                                                                       \
      ::dutydesk::fuzz::fail(#cond __VA_OPT__(, ) __VA_ARGS__);                                                        \
  } while (false)
