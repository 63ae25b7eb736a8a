# Install rules and the package files for embedding programs: `find_package(tinyqat)` gives the imported
# target tinyqat::rt (libtinyqat_rt + include/tinyqat/session.h), and `pkg-config tinyqat_rt` the same
# for other build systems. libtinyqat_rt is a static library, so both name its dependencies too.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(tinyqat_rt PROPERTIES EXPORT_NAME rt)
# The root CMakeLists gives tinyqat_rt its source folders as include paths; an installed package has
# only the public header folder.
set_property(TARGET tinyqat_rt PROPERTY INTERFACE_INCLUDE_DIRECTORIES
  "$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/src>"
  "$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>"
  "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")

install(TARGETS tinyqat_rt EXPORT tinyqatTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/tinyqat/session.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tinyqat)
install(EXPORT tinyqatTargets NAMESPACE tinyqat:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tinyqat)

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/tinyqatConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/tinyqatConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tinyqat)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tinyqatConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tinyqatConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/tinyqatConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/tinyqat)

# The .pc file finds its prefix relative to itself, so `cmake --install --prefix DIR` works anywhere.
file(RELATIVE_PATH TQ_PC_PREFIX_FROM_PCDIR "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file(${CMAKE_CURRENT_LIST_DIR}/tinyqat_rt.pc.in ${CMAKE_CURRENT_BINARY_DIR}/tinyqat_rt.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tinyqat_rt.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(TINYQAT_BUILD_TESTS)
  # Installs into a temporary prefix, then builds the C test program against it twice: as a CMake
  # project (find_package(tinyqat), tinyqat::rt) and with plain cc + pkg-config.
  add_test(NAME package_consumer
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/c/package_test.sh ${CMAKE_BINARY_DIR}
                   ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/test-tmp/package_consumer)
  set_tests_properties(package_consumer PROPERTIES TIMEOUT 600)
endif()
