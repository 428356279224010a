# Fails when configs/schema.json differs from what `actlab schema` prints.
execute_process(COMMAND ${CLI} schema OUTPUT_VARIABLE generated RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "actlab schema failed (${status})")
endif()
file(READ ${SCHEMA} committed)
if(NOT generated STREQUAL committed)
  message(FATAL_ERROR "configs/schema.json is out of date: run `actlab schema > configs/schema.json`")
endif()
