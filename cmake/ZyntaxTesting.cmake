# zyntax_add_backend_tests(TARGET LABEL [TIMEOUT seconds] [PASS_REGEX re]
#                          [LABELS more...])
# Registers TARGET once per backend mode (the global property
# ZYNTAX_TEST_MODES, filled by zyntax_add_backend): test LABEL-<mode> runs
# with the mode's environment and labels "LABEL;<mode>" plus LABELS. With
# PASS_REGEX the output must match it as well as the exit code being 0.
function(zyntax_add_backend_tests target label)
  cmake_parse_arguments(ARG "" "TIMEOUT;PASS_REGEX" "LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  get_property(_modes GLOBAL PROPERTY ZYNTAX_TEST_MODES)
  foreach(_mode IN LISTS _modes)
    string(REPLACE "|" ";" _parts "${_mode}")
    list(POP_FRONT _parts _name)
    add_test(NAME ${label}-${_name} COMMAND ${target})
    set_tests_properties(${label}-${_name} PROPERTIES
      ENVIRONMENT "${_parts}" LABELS "${label};${_name};${ARG_LABELS}"
      TIMEOUT ${ARG_TIMEOUT})
    if(ARG_PASS_REGEX)
      # ctest ignores the exit code once a pass regex is set: check both.
      add_test(NAME ${label}-${_name}-exit COMMAND ${target})
      set_tests_properties(${label}-${_name}-exit PROPERTIES
        ENVIRONMENT "${_parts}" LABELS "${label};${_name};${ARG_LABELS}"
        TIMEOUT ${ARG_TIMEOUT})
      set_tests_properties(${label}-${_name} PROPERTIES PASS_REGULAR_EXPRESSION "${ARG_PASS_REGEX}")
    endif()
  endforeach()
endfunction()

# zyntax_add_cmocka_test(TARGET SOURCES...): a cmocka binary on the public API.
function(zyntax_add_cmocka_test target)
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  add_executable(${target} ${ARGN})
  zyntax_target_defaults(${target})
  target_link_libraries(${target} PRIVATE zyntax PkgConfig::CMOCKA Threads::Threads)
endfunction()
