# Every test has a timeout sized to it - about ten times what it takes in a
# plain build on a busy 2-core machine, 15 s at least - so a hang costs
# seconds, not CTest's default of 1500. Instrumented builds are slower and
# get more: x3 under AddressSanitizer (its Debug builds ran the stress
# family up to 6x slower), x4 under ThreadSanitizer (up to 8x).
# ZYNTAX_TEST_TIMEOUT_SCALE multiplies every timeout on top (an integer;
# e.g. 20 for a run under valgrind).
set(ZYNTAX_TEST_TIMEOUT_SCALE "1" CACHE STRING
    "Integer factor applied to every test's timeout")

# zyntax_test_timeout(SECONDS TEST...): sets the named tests' TIMEOUT to
# SECONDS (their plain-build size) scaled as above.
function(zyntax_test_timeout seconds)
  set(_factor ${ZYNTAX_TEST_TIMEOUT_SCALE})
  if(ZYNTAX_SANITIZE MATCHES "thread")
    math(EXPR _factor "${_factor} * 4")
  elseif(ZYNTAX_SANITIZE)
    math(EXPR _factor "${_factor} * 3")
  endif()
  math(EXPR _timeout "${seconds} * ${_factor}")
  set_tests_properties(${ARGN} PROPERTIES TIMEOUT ${_timeout})
endfunction()

# zyntax_add_backend_tests(TARGET LABEL [TIMEOUT seconds] [PASS_REGEX re]
#                          [LABELS more...] [ARGS arguments...])
# Registers TARGET once per backend mode (the global property
# ZYNTAX_TEST_MODES, filled by zyntax_add_backend): test LABEL-<mode> runs
# with the mode's environment and labels "LABEL;<mode>" plus LABELS. With
# PASS_REGEX the output must match it as well as the exit code being 0.
# TIMEOUT is the plain-build size (default 15 s), see zyntax_test_timeout.
# ARGS are passed to TARGET.
function(zyntax_add_backend_tests target label)
  cmake_parse_arguments(ARG "" "TIMEOUT;PASS_REGEX" "LABELS;ARGS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 15)
  endif()
  get_property(_modes GLOBAL PROPERTY ZYNTAX_TEST_MODES)
  foreach(_mode IN LISTS _modes)
    string(REPLACE "|" ";" _parts "${_mode}")
    list(POP_FRONT _parts _name)
    add_test(NAME ${label}-${_name} COMMAND ${target} ${ARG_ARGS})
    set_tests_properties(${label}-${_name} PROPERTIES
      ENVIRONMENT "${_parts}" LABELS "${label};${_name};${ARG_LABELS}")
    zyntax_test_timeout(${ARG_TIMEOUT} ${label}-${_name})
    if(ARG_PASS_REGEX)
      # ctest ignores the exit code once a pass regex is set: check both.
      add_test(NAME ${label}-${_name}-exit COMMAND ${target} ${ARG_ARGS})
      set_tests_properties(${label}-${_name}-exit PROPERTIES
        ENVIRONMENT "${_parts}" LABELS "${label};${_name};${ARG_LABELS}")
      zyntax_test_timeout(${ARG_TIMEOUT} ${label}-${_name}-exit)
      set_tests_properties(${label}-${_name} PROPERTIES PASS_REGULAR_EXPRESSION "${ARG_PASS_REGEX}")
    endif()
  endforeach()
endfunction()

# zyntax_add_cmocka_test(TARGET SOURCES...): a cmocka binary on the public
# API. A hung case is named in CTest's output by cmocka's "[ RUN ]" line;
# stdout is line-buffered so the test's own lines before it are kept too.
function(zyntax_add_cmocka_test target)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  add_executable(${target} ${ARGN} ${PROJECT_SOURCE_DIR}/tests/support/line_buffered.c)
  zyntax_target_defaults(${target})
  target_link_libraries(${target} PRIVATE zyntax PkgConfig::CMOCKA Threads::Threads)
endfunction()
