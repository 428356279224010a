# Installs the built actlab into a scratch prefix, then configures, builds and runs the
# consumer project against it. Run by ctest with SOURCE_DIR, BUILD_DIR and WORK_DIR set.
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install_consumer -B ${WORK_DIR}/build
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DEXAMPLES_DIR=${EXAMPLES_DIR})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
run(${WORK_DIR}/build/custom_layer)
# The installed command line finds OpenBLAS's OpenMP build too (its RUNPATH names the directory,
# as the plain libopenblas.so.0 is the pthread build whenever both are installed).
execute_process(COMMAND ldd ${WORK_DIR}/prefix/bin/actlab OUTPUT_VARIABLE libraries)
if(NOT libraries MATCHES "libopenblas[.]so[.]0 => [^\n]*/openblas-openmp/")
  message(FATAL_ERROR "the installed actlab does not load OpenBLAS's OpenMP build:\n${libraries}")
endif()
