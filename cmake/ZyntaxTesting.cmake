# zyntax_add_backend_tests(TARGET LABEL [TIMEOUT seconds])
# Registers TARGET once per backend mode (the global property
# ZYNTAX_TEST_MODES, filled by zyntax_add_backend): test LABEL-<mode> runs
# with the mode's environment and labels "LABEL;<mode>".
function(zyntax_add_backend_tests target label)
  cmake_parse_arguments(ARG "" "TIMEOUT" "" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  get_property(_modes GLOBAL PROPERTY ZYNTAX_TEST_MODES)
  foreach(_mode IN LISTS _modes)
    string(REPLACE "|" ";" _parts "${_mode}")
    list(POP_FRONT _parts _name)
    add_test(NAME ${label}-${_name} COMMAND ${target})
    set_tests_properties(${label}-${_name} PROPERTIES
      ENVIRONMENT "${_parts}" LABELS "${label};${_name}" TIMEOUT ${ARG_TIMEOUT})
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
