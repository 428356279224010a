# Fails when a Catch2 test name holds ';', '[' or ']', or starts with '-': ctest's discovery
# splits names at ';', and Catch reads the others as tags or options, so the test runs nothing.
file(GLOB sources ${TEST_DIR}/test_*.cpp)
foreach(source ${sources})
  file(STRINGS ${source} bad REGEX "TEST_CASE\\(\"([^\"]*[][;]|-)")
  if(bad)
    message(SEND_ERROR "${source}: test names must not contain ';', '[' or ']' nor start with '-': ${bad}")
  endif()
endforeach()
