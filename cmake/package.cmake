# Install rules and the package files for embedding programs. `find_package(tinyqat)` gives
#   tinyqat::rt         the shared libtinyqat_rt (exports the C API of include/tinyqat/session.h only):
#                       links from C and C++ alike, nothing else to name;
#   tinyqat::rt_static  the static libtinyqat_rt with its dependencies and the C++ standard library;
#   tinyqat::vmafdnn    libvmaf's DNN API (cmake/vmafdnn.cmake);
# `pkg-config tinyqat_rt` (shared; `--static` adds Requires.private/Libs.private) and `tinyqat_vmafdnn`
# the same for other build systems. Also installed: the CLI (bin/tinyqat, libexec/tinyqat/tinyqat-train),
# the docs and the LICENSE.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(tinyqat_rt PROPERTIES EXPORT_NAME rt_static)
# C programs link with the C driver: the static library brings the C++ standard library along.
target_link_libraries(tinyqat_rt INTERFACE "$<INSTALL_INTERFACE:stdc++>" "$<INSTALL_INTERFACE:m>")

# The shared libtinyqat_rt: the same objects (compiled -fPIC), its dependencies linked in privately.
set(TQ_RT_MAP ${CMAKE_CURRENT_SOURCE_DIR}/src/session/session_rt.map)
add_library(tinyqat_rt_shared SHARED $<TARGET_OBJECTS:tinyqat_rt>)
target_link_libraries(tinyqat_rt_shared PRIVATE onnx_proto protobuf::libprotobuf fmt::fmt ZLIB::ZLIB
                                                Threads::Threads OpenSSL::Crypto onnx)
target_include_directories(tinyqat_rt_shared INTERFACE
  "$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>" "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
target_link_options(tinyqat_rt_shared PRIVATE "LINKER:--version-script=${TQ_RT_MAP}")
if(NOT TINYQAT_BUILD_FUZZ AND NOT TINYQAT_SANITIZE)
  target_link_options(tinyqat_rt_shared PRIVATE "LINKER:--no-undefined")
endif()
set_target_properties(tinyqat_rt_shared PROPERTIES OUTPUT_NAME tinyqat_rt EXPORT_NAME rt LINK_DEPENDS ${TQ_RT_MAP}
                                                   VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
# The root CMakeLists gives tinyqat_rt its source folders as include paths; an installed package has
# only the public header folder.
set_property(TARGET tinyqat_rt PROPERTY INTERFACE_INCLUDE_DIRECTORIES
  "$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/src>"
  "$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>"
  "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")

install(TARGETS tinyqat_rt tinyqat_rt_shared EXPORT tinyqatTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/LICENSE)
  install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
endif()
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

if(TINYQAT_BUILD_TESTS AND NOT TINYQAT_BUILD_FUZZ AND NOT TINYQAT_SANITIZE)
  # (Not in sanitizer builds: plain consumers cannot link instrumented libraries.)
  # Installs into a temporary prefix, then builds the C test program against it: a C-only CMake project
  # (find_package(tinyqat), tinyqat::rt and tinyqat::rt_static) and plain cc + pkg-config (shared and
  # --static), and runs each on a small registry; also the installed CLI.
  add_test(NAME package_consumer
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/c/package_test.sh ${CMAKE_BINARY_DIR}
                   ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/test-tmp/package_consumer ${CMAKE_C_COMPILER})
  set_tests_properties(package_consumer PROPERTIES TIMEOUT 600)
endif()
