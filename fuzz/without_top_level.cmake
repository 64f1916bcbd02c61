# Used by scripts/fuzz.sh only while the top-level CMakeLists.txt does not add this folder itself: passed as
# -DCMAKE_PROJECT_dutydesk_INCLUDE=<this file>, it runs right after project(dutydesk) and defers reading
# fuzz/CMakeLists.txt to the end of the top-level file, when dutydesk_flags and the packages exist. (A deferred call
# may not add a subdirectory, so the file is included into the top-level directory instead.)
option(DUTYDESK_FUZZ "Build the libFuzzer targets in fuzz/ (clang only)" OFF)
if(DUTYDESK_FUZZ)
  # The deferred call evaluates its arguments when it runs, where CMAKE_CURRENT_LIST_DIR is the top level: keep the
  # path in a variable of its own.
  set(DUTYDESK_FUZZ_LISTS "${CMAKE_CURRENT_LIST_DIR}/CMakeLists.txt")
  cmake_language(DEFER CALL include "${DUTYDESK_FUZZ_LISTS}")
endif()
