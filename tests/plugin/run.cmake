# Plugins end to end, as README "Plugins" tells a user: install actlab into a scratch prefix,
# build examples/plugin against it, and run the installed `actlab` with it in `activations`,
# `compare` (the example sweep) and `diagnose`; then each way a plugin is refused, with its
# exact line on stderr and exit 2. Run by ctest with SOURCE_DIR, BUILD_DIR, WORK_DIR and
# SANITIZE (ON in a sanitizer build, whose flags the plugins are then built with) set.
file(REMOVE_RECURSE ${WORK_DIR})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed: ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

# Builds the CMake project in SOURCE against the scratch prefix, in WORK_DIR/NAME.
function(build_against_prefix name source)
  set(flags)
  if(SANITIZE)
    list(APPEND flags "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer")
  endif()
  run(${CMAKE_COMMAND} -S ${source} -B ${WORK_DIR}/${name} -DCMAKE_BUILD_TYPE=Release
      -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix ${flags})
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/${name})
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
build_against_prefix(example ${SOURCE_DIR}/examples/plugin)
build_against_prefix(bad ${SOURCE_DIR}/tests/plugin)
set(actlab ${WORK_DIR}/prefix/bin/actlab)
set(squareplus ${WORK_DIR}/example/libactlab_squareplus.so)

# Runs the installed actlab with `env` (NAME=value assignments, or "") and the arguments;
# ACTLAB_PLUGINS from the caller's environment never leaks in. Sets status, out and err.
macro(actlab_run env)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=ACTLAB_PLUGINS ${env} ${actlab} ${ARGN}
                  WORKING_DIRECTORY ${WORK_DIR}
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
endmacro()

macro(expect_success env)
  actlab_run("${env}" ${ARGN})
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "actlab ${ARGN} (${env}) exited ${status}:\n${err}")
  endif()
endmacro()

function(expect_equal what found expected)
  if(NOT found STREQUAL expected)
    message(FATAL_ERROR "${what}: expected \"${expected}\", found \"${found}\"")
  endif()
endfunction()

# A refused plugin: exit 2, the one line `message` on stderr, nothing on stdout, and no
# directory made for --out.
function(expect_refused message env)
  actlab_run("${env}" ${ARGN} --out ${WORK_DIR}/refused)
  expect_equal("exit status of actlab ${ARGN}" "${status}" 2)
  expect_equal("stderr of actlab ${ARGN}" "${err}" "actlab: ${message}\n")
  expect_equal("stdout of actlab ${ARGN}" "${out}" "")
  if(EXISTS ${WORK_DIR}/refused)
    message(FATAL_ERROR "actlab ${ARGN} made ${WORK_DIR}/refused")
  endif()
endfunction()

# ---- the plugin's activation works as a built-in one ------------------------------------------

# `actlab activations`: its row (f(0) = sqrt(4) / 2 = 1, f'(0) = 1/2) and its JSON entry.
expect_success("" --plugin ${squareplus} activations)
if(NOT out MATCHES "\nsquareplus +\\(0, inf\\) +1 +0\\.5 ")
  message(FATAL_ERROR "no squareplus row in `actlab activations`:\n${out}")
endif()
expect_success("" --plugin ${squareplus} activations --json)
string(JSON count LENGTH "${out}" activations)
math(EXPR last "${count} - 1")
string(JSON name GET "${out}" activations ${last} name)
string(JSON f0 GET "${out}" activations ${last} f0)
string(JSON df0 GET "${out}" activations ${last} df0)
expect_equal("the last activation listed" "${name} ${f0} ${df0}" "squareplus 1.0 0.5")

# The plugin's layer type is in the config schema, with its field.
expect_success("" --plugin ${squareplus} schema)
string(JSON layer_types GET "${out}" "$defs" layer anyOf 0 enum)
if(NOT layer_types MATCHES "\"layer_scale\"")
  message(FATAL_ERROR "`actlab --plugin ... schema` lists no layer_scale: ${layer_types}")
endif()
string(JSON count LENGTH "${out}" "$defs" layer anyOf)
set(found "")
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON type ERROR_VARIABLE missing GET "${out}" "$defs" layer anyOf ${i} properties type const)
  if(type STREQUAL "layer_scale")
    string(JSON found GET "${out}" "$defs" layer anyOf ${i} properties init default)
  endif()
endforeach()
if(NOT found EQUAL 0.1)
  message(FATAL_ERROR "layer_scale's init default in the schema: expected 0.1, found \"${found}\"")
endif()

# `actlab compare` over the example sweep (sequential models with the plugin's layer_scale after
# each activation; the first activation squareplus at two b or GELU, 3 seeds each): three groups
# that all learn the 3 spirals (chance is 1/3), whose models hold layer_scale's factors (2 x 64
# of the 4675 parameters: 2*64+64 + 64 + 64*64+64 + 64 + 64*3+3), and a report that names them.
expect_success("" --plugin ${squareplus} compare ${SOURCE_DIR}/examples/plugin/sweep.json
               --out ${WORK_DIR}/compare --jobs 2 --json)
set(groups)
foreach(g RANGE 2)
  string(JSON group GET "${out}" groups ${g} group)
  string(JSON accuracy GET "${out}" groups ${g} test_accuracy mean)
  string(JSON parameters GET "${out}" groups ${g} parameters)
  list(APPEND groups "${group}")
  if(accuracy LESS 0.8)
    message(FATAL_ERROR "${group} reached a test accuracy of only ${accuracy}")
  endif()
  expect_equal("the parameters of ${group}" "${parameters}" 4675)
endforeach()
expect_equal("compare's groups" "${groups}" "GELU;squareplus (b = 4);squareplus (b = 1)")
string(JSON axis GET "${out}" axes 0)
expect_equal("compare's first axis" "${axis}" "model.layers.1")
file(READ ${WORK_DIR}/compare/report.html report)
if(NOT report MATCHES "squareplus \\(b = 1\\)")
  message(FATAL_ERROR "compare's report does not name squareplus")
endif()

# `actlab diagnose`, the plugin named by ACTLAB_PLUGINS (an empty entry is skipped): each layer's
# statistics under the plugin's name.
expect_success("ACTLAB_PLUGINS=:${squareplus}" diagnose
               ${SOURCE_DIR}/examples/plugin/moons_mlp_squareplus.json --steps 100 --json)
string(JSON first GET "${out}" layers 0 activation)
string(JSON second GET "${out}" layers 1 activation)
expect_equal("diagnose's layers" "${first} ${second}" "squareplus squareplus")

# ---- each way a plugin is refused ---------------------------------------------------------------

expect_refused("--plugin ${WORK_DIR}/missing.so: no such file" "" --plugin ${WORK_DIR}/missing.so
               activations)
set(not_a_library ${SOURCE_DIR}/examples/plugin/sweep.json)
expect_refused("--plugin ${not_a_library}: cannot load it: invalid ELF header" ""
               --plugin ${not_a_library} activations)
set(no_entry ${WORK_DIR}/bad/libno_entry.so)
expect_refused("--plugin ${no_entry}: not an actlab plugin: it has no actlab_plugin_entry (define one with ACTLAB_PLUGIN from <actlab/plugin.hpp>)"
               "" --plugin ${no_entry} activations)
file(STRINGS ${WORK_DIR}/prefix/include/actlab/plugin.hpp version_line
     REGEX "^#define ACTLAB_PLUGIN_INTERFACE_VERSION ")
string(REGEX REPLACE ".* " "" version "${version_line}")
math(EXPR other_version "${version} + 1")
set(other ${WORK_DIR}/bad/libother_version.so)
expect_refused("--plugin ${other}: built for plugin interface version ${other_version}, but this actlab loads version ${version}: rebuild it against this actlab"
               "" --plugin ${other} activations)
set(clash ${WORK_DIR}/bad/libclash.so)
# (after a plugin that loads: --plugin repeats, and the plugins load in order)
expect_refused("--plugin ${clash}: its registration failed: register_activation: \"gelu\" is already registered"
               "" --plugin ${squareplus} --plugin ${clash} activations)
# The same plugin twice, once from ACTLAB_PLUGINS and once from --plugin: its name is taken by
# the time the second registers.
expect_refused("--plugin ${squareplus}: its registration failed: register_activation: \"squareplus\" is already registered"
               "ACTLAB_PLUGINS=${squareplus}" --plugin ${squareplus} activations)
expect_refused("ACTLAB_PLUGINS: ${WORK_DIR}/missing.so: no such file"
               "ACTLAB_PLUGINS=${squareplus}:${WORK_DIR}/missing.so" activations)
