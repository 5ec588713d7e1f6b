# zyntax_add_backend(NAME [SOURCES ...] ENTRY file.c [LIBS ...] [DEFINITIONS ...]
#                    [TEST_MODES ...])
#
# Builds a backend twice from one set of objects:
#   zyntax-backend-NAME        MODULE  libzyntax-backend-NAME.so, exporting only
#                                      zyntax_backend_entry (version script)
#   zyntax_backend_NAME_static STATIC  the same code, entry function renamed
#                                      zyntax_static_backend_NAME, for linking
#                                      into libzyntax (ZYNTAX_STATIC_BACKENDS)
# SOURCES may be empty (a backend whose code is all in LIBS). DEFINITIONS
# are compile definitions of the entry file.
# ENTRY is the file that defines the entry function as
#   ZYNTAX_BACKEND_ENTRY_NAME(void) with ZYNTAX_BACKEND_ENTRY_VISIBILITY.
# TEST_MODES: a list of "label|ENV=VALUE|ENV=VALUE..." strings; each becomes
# one run of the conformance suite with that environment (default: one run
# labelled NAME with ZYNTAX_RUNTIME=NAME). Read by tests/ from the global
# property ZYNTAX_TEST_MODES.
function(zyntax_add_backend name)
  cmake_parse_arguments(ARG "" "ENTRY" "SOURCES;LIBS;DEFINITIONS;TEST_MODES" ${ARGN})

  if(ARG_SOURCES)
    add_library(zyntax_backend_${name}_objs OBJECT ${ARG_SOURCES})
    zyntax_target_defaults(zyntax_backend_${name}_objs)
    target_link_libraries(zyntax_backend_${name}_objs PRIVATE zyntax_abi ${ARG_LIBS})
  else()
    add_library(zyntax_backend_${name}_objs INTERFACE)
    target_link_libraries(zyntax_backend_${name}_objs INTERFACE ${ARG_LIBS})
  endif()

  list(FIND ZYNTAX_BACKENDS ${name} _plugin)
  if(NOT _plugin EQUAL -1)
    add_library(zyntax-backend-${name} MODULE ${ARG_ENTRY})
    zyntax_target_defaults(zyntax-backend-${name})
    target_compile_definitions(zyntax-backend-${name} PRIVATE ${ARG_DEFINITIONS}
      ZYNTAX_BACKEND_ENTRY_NAME=zyntax_backend_entry
      ZYNTAX_BACKEND_ENTRY_VISIBILITY=default)
    target_link_libraries(zyntax-backend-${name} PRIVATE
      zyntax_backend_${name}_objs zyntax_abi ${ARG_LIBS})
    target_link_options(zyntax-backend-${name} PRIVATE
      -Wl,--version-script=${PROJECT_SOURCE_DIR}/backends/plugin.map
      -Wl,--no-undefined)
    set_target_properties(zyntax-backend-${name} PROPERTIES
      PREFIX "lib"
      LIBRARY_OUTPUT_DIRECTORY ${ZYNTAX_PLUGIN_BUILD_DIR}
      LINK_DEPENDS ${PROJECT_SOURCE_DIR}/backends/plugin.map)
    install(TARGETS zyntax-backend-${name}
            LIBRARY DESTINATION ${ZYNTAX_PLUGIN_INSTALL_DIR})
    set_property(GLOBAL APPEND PROPERTY ZYNTAX_PLUGIN_TARGETS zyntax-backend-${name})
  endif()

  list(FIND ZYNTAX_STATIC_BACKENDS ${name} _static)
  if(NOT _static EQUAL -1)
    add_library(zyntax_backend_${name}_static STATIC ${ARG_ENTRY})
    zyntax_target_defaults(zyntax_backend_${name}_static)
    target_compile_definitions(zyntax_backend_${name}_static PRIVATE ${ARG_DEFINITIONS}
      ZYNTAX_BACKEND_ENTRY_NAME=zyntax_static_backend_${name}
      ZYNTAX_BACKEND_ENTRY_VISIBILITY=hidden)
    target_link_libraries(zyntax_backend_${name}_static PUBLIC
      zyntax_backend_${name}_objs ${ARG_LIBS})
    target_link_libraries(zyntax_backend_${name}_static PRIVATE zyntax_abi)
    # libzyntax.a must then carry the executor too (src/CMakeLists.txt).
    if(zyntax_backend_common IN_LIST ARG_LIBS)
      set_property(GLOBAL PROPERTY ZYNTAX_STATIC_NEEDS_EXECUTOR ON)
    endif()
  endif()

  if(NOT ARG_TEST_MODES)
    set(ARG_TEST_MODES "${name}|ZYNTAX_RUNTIME=${name}")
  endif()
  set_property(GLOBAL APPEND PROPERTY ZYNTAX_TEST_MODES ${ARG_TEST_MODES})
endfunction()
