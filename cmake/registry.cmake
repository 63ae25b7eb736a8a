# The model registry (src/registry) and the runtime session with its C API (src/session), both in
# libtinyqat_rt (docs/registry.md). The registry validates against the fork's JSON schema with valijson
# (header-only, Debian libvalijson-dev) over nlohmann-json; sha256 is core's (OpenSSL).
# Also: the C99 test program (tests/c/) and the install/package files (cmake/package.cmake).
find_package(nlohmann_json 3 REQUIRED)
find_path(TINYQAT_VALIJSON_INCLUDE_DIR valijson/validator.hpp)
if(NOT TINYQAT_VALIJSON_INCLUDE_DIR)
  message(FATAL_ERROR "valijson not found: install Debian's libvalijson-dev (scripts/setup.sh does)")
endif()

file(GLOB TQ_REGISTRY_RT_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/registry/*.cpp
     ${CMAKE_CURRENT_SOURCE_DIR}/src/session/*.cpp)
if(NOT TINYQAT_VALIJSON_INCLUDE_DIR STREQUAL "/usr/include")
  set_source_files_properties(${TQ_REGISTRY_RT_SOURCES} PROPERTIES INCLUDE_DIRECTORIES "${TINYQAT_VALIJSON_INCLUDE_DIR}")
endif()
# GCC 12 warns (-Wrestrict, a known false positive) inside valijson's string handling.
set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/src/registry/schema_errors.cpp PROPERTIES COMPILE_OPTIONS "-Wno-restrict")

if(TINYQAT_BUILD_TESTS)
  enable_testing()
  # The C API from a C99 program (linked with the C++ linker: libtinyqat_rt is C++).
  add_executable(tinyqat_c_session_test ${CMAKE_CURRENT_SOURCE_DIR}/tests/c/session_test.c)
  set_target_properties(tinyqat_c_session_test PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
                                                          LINKER_LANGUAGE CXX)
  target_compile_options(tinyqat_c_session_test PRIVATE -Wall -Wextra -pedantic -Werror)
  target_link_libraries(tinyqat_c_session_test PRIVATE tinyqat_rt Threads::Threads)
  add_test(NAME c_session_api
           COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/c/run_c_test.sh
                   $<TARGET_FILE:tinyqat_cli> $<TARGET_FILE:tinyqat_c_session_test> ${CMAKE_BINARY_DIR}/test-tmp/c_session_api)
  set_tests_properties(c_session_api PROPERTIES TIMEOUT 300)
endif()

include(${CMAKE_CURRENT_LIST_DIR}/package.cmake)
