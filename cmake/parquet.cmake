# The Parquet reader (src/io/parquet*.cpp): a static library of its own, so that libtinyqat_rt stays
# free of thrift and the codec libraries. libtinyqat links it (data caches, `tinyqat data`), and so does
# the fuzz target. All from Debian 12 (scripts/setup.sh): libthrift-dev (the compact protocol the footer
# is written in), libsnappy-dev, libzstd-dev, liblz4-dev, libbrotli-dev, zlib1g-dev.
find_package(PkgConfig REQUIRED)
pkg_check_modules(TQ_PARQUET_DEPS REQUIRED IMPORTED_TARGET thrift snappy libzstd liblz4 libbrotlidec)
file(GLOB TQ_PARQUET_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/io/parquet*.cpp)
add_library(tinyqat_parquet STATIC ${TQ_PARQUET_SOURCES})
target_include_directories(tinyqat_parquet PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_link_libraries(tinyqat_parquet PUBLIC fmt::fmt PRIVATE PkgConfig::TQ_PARQUET_DEPS ZLIB::ZLIB)
target_link_libraries(tinyqat PUBLIC tinyqat_parquet)
