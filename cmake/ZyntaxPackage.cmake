# Installation: libzyntax with its SONAME, headers, plugins (added by
# zyntax_add_backend), zyntax.pc for pkg-config and a CMake package so that
# find_package(Zyntax) gives Zyntax::zyntax.

include(CMakePackageConfigHelpers)

set_target_properties(zyntax PROPERTIES EXPORT_NAME zyntax)
install(TARGETS zyntax zyntax_api EXPORT ZyntaxTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/Zyntax)
install(EXPORT ZyntaxTargets NAMESPACE Zyntax:: DESTINATION ${_cmake_dir})
configure_package_config_file(cmake/ZyntaxConfig.cmake.in
  ${CMAKE_BINARY_DIR}/ZyntaxConfig.cmake
  INSTALL_DESTINATION ${_cmake_dir}
  PATH_VARS ZYNTAX_PLUGIN_INSTALL_DIR)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/ZyntaxConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/ZyntaxConfig.cmake
              ${CMAKE_BINARY_DIR}/ZyntaxConfigVersion.cmake
        DESTINATION ${_cmake_dir})

# What a program linking the static archive also needs.
set(ZYNTAX_PC_LIBS_PRIVATE "-lpthread -ldl")
if("uv" IN_LIST ZYNTAX_STATIC_BACKENDS)
  string(APPEND ZYNTAX_PC_LIBS_PRIVATE " -luv")
endif()
if("ev" IN_LIST ZYNTAX_STATIC_BACKENDS)
  string(APPEND ZYNTAX_PC_LIBS_PRIVATE " -lev")
endif()
if("tokio" IN_LIST ZYNTAX_STATIC_BACKENDS)
  string(APPEND ZYNTAX_PC_LIBS_PRIVATE " -lm")
endif()
# Relocatable: the prefix is found from the .pc file's own folder, so an
# install into any prefix (or a moved tree) describes itself correctly.
file(RELATIVE_PATH ZYNTAX_PC_PREFIX_FROM_PCDIR
     "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" ZYNTAX_PC_PREFIX_FROM_PCDIR "${ZYNTAX_PC_PREFIX_FROM_PCDIR}")
configure_file(cmake/zyntax.pc.in ${CMAKE_BINARY_DIR}/zyntax.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/zyntax.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(ZYNTAX_INSTALL_EXECUTOR)
  configure_file(cmake/zyntax-executor.pc.in ${CMAKE_BINARY_DIR}/zyntax-executor.pc @ONLY)
  install(FILES ${CMAKE_BINARY_DIR}/zyntax-executor.pc
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()
