include(CMakePackageConfigHelpers)
get_property(_layers GLOBAL PROPERTY HERALD_LAYERS)
install(TARGETS herald ${_layers} EXPORT heraldTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT heraldTargets NAMESPACE herald:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/herald)
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/heraldConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/heraldConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/herald)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/heraldConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/heraldConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/heraldConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/herald)

# pkg-config, for builds without CMake: `pkg-config --cflags --libs herald`.
file(RELATIVE_PATH HERALD_PC_UP ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/herald.pc.in ${CMAKE_CURRENT_BINARY_DIR}/herald.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/herald.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
