# libtinyqat_vmafdnn: the VMAF fork's libvmaf DNN API (include/tinyqat/vmaf_dnn.h, the fork's dnn.h
# signatures) as a shared library over libtinyqat_rt (linked in statically; everything is compiled
# -fPIC: CMAKE_POSITION_INDEPENDENT_CODE). The version script exports exactly the eight vmaf_dnn_*
# symbols. docs/vmaf.md. Also: its example program, install rules, pkg-config file and ABI test.
file(GLOB TQ_VMAFDNN_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/vmafdnn/*.cpp)
# Compiled once: the shared library and the CLI (`tinyqat frames`, src/vmafdnn/vmafdnn.h) share the objects.
add_library(tinyqat_vmafdnn_objs OBJECT ${TQ_VMAFDNN_SOURCES})
target_link_libraries(tinyqat_vmafdnn_objs PRIVATE tinyqat_rt)
add_library(tinyqat_vmafdnn SHARED $<TARGET_OBJECTS:tinyqat_vmafdnn_objs>)
target_link_libraries(tinyqat_vmafdnn PRIVATE tinyqat_rt)
target_include_directories(tinyqat_vmafdnn PUBLIC
  "$<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>" "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
set(TQ_VMAFDNN_MAP ${CMAKE_CURRENT_SOURCE_DIR}/src/vmafdnn/vmafdnn.map)
target_link_options(tinyqat_vmafdnn PRIVATE "LINKER:--version-script=${TQ_VMAFDNN_MAP}")
if(NOT TINYQAT_BUILD_FUZZ AND NOT TINYQAT_SANITIZE)
  # Sanitizer runtimes are resolved from the executable, so only a plain build links with no undefined symbol.
  target_link_options(tinyqat_vmafdnn PRIVATE "LINKER:--no-undefined")
endif()
set_target_properties(tinyqat_vmafdnn PROPERTIES LINK_DEPENDS ${TQ_VMAFDNN_MAP} VERSION ${PROJECT_VERSION}
                                                 SOVERSION ${PROJECT_VERSION_MAJOR} EXPORT_NAME vmafdnn)
add_library(tinyqat::vmafdnn ALIAS tinyqat_vmafdnn)

# A tiny C consumer of the fork-compatible API (built always; run by the tests).
add_executable(vmaf_filter_luma ${CMAKE_CURRENT_SOURCE_DIR}/examples/vmaf_filter_luma.c)
set_target_properties(vmaf_filter_luma PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(vmaf_filter_luma PRIVATE -Wall -Wextra -pedantic -Werror)
target_link_libraries(vmaf_filter_luma PRIVATE tinyqat_vmafdnn)
if(TINYQAT_BUILD_FUZZ OR TINYQAT_SANITIZE)
  # The instrumented library needs the sanitizers' C++ runtime, which only the C++ driver links.
  set_target_properties(vmaf_filter_luma PROPERTIES LINKER_LANGUAGE CXX)
endif()

include(GNUInstallDirs)
install(TARGETS tinyqat_vmafdnn EXPORT tinyqatTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/tinyqat/vmaf_dnn.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tinyqat)
file(RELATIVE_PATH TQ_PC_PREFIX_FROM_PCDIR "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file(${CMAKE_CURRENT_LIST_DIR}/tinyqat_vmafdnn.pc.in ${CMAKE_CURRENT_BINARY_DIR}/tinyqat_vmafdnn.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tinyqat_vmafdnn.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(TINYQAT_BUILD_TESTS)
  enable_testing()
  if(NOT TINYQAT_BUILD_FUZZ AND NOT TINYQAT_SANITIZE)  # a plain C program against the plain .so
    add_test(NAME vmafdnn_abi
             COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/c/vmafdnn_abi.sh $<TARGET_FILE:tinyqat_cli>
                     $<TARGET_FILE:tinyqat_vmafdnn> ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_BINARY_DIR}/test-tmp/vmafdnn_abi
                     ${CMAKE_C_COMPILER})
    set_tests_properties(vmafdnn_abi PROPERTIES TIMEOUT 300)
  endif()
  add_test(NAME vmaf_example
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/c/vmaf_example.sh $<TARGET_FILE:tinyqat_cli>
                   $<TARGET_FILE:vmaf_filter_luma> ${CMAKE_BINARY_DIR}/test-tmp/vmaf_example)
  set_tests_properties(vmaf_example PROPERTIES TIMEOUT 300)
endif()
