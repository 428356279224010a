# Fails when a Catch2 test name holds ';', '[' or ']', which break ctest's test discovery.
file(GLOB sources ${TEST_DIR}/test_*.cpp)
foreach(source ${sources})
  file(STRINGS ${source} bad REGEX "TEST_CASE\\(\"[^\"]*[][;]")
  if(bad)
    message(SEND_ERROR "${source}: test names must not contain ';', '[' or ']': ${bad}")
  endif()
endforeach()
