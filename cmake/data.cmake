# Data tools: corpus builders (real photos → degraded/clean luma sets, feature CSV → arrays) written as
# .npz for the accuracy benchmarks, calibration and the trainer. Part of libtinyqat only: OpenCV (image
# decoding, Gaussian blur, JPEG) is linked privately and never reaches libtinyqat_rt.
find_package(OpenCV REQUIRED COMPONENTS core imgproc imgcodecs)
file(GLOB TQ_DATA_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/data/*.cpp)
target_sources(tinyqat PRIVATE ${TQ_DATA_SOURCES})
target_include_directories(tinyqat SYSTEM PRIVATE ${OpenCV_INCLUDE_DIRS})
target_link_libraries(tinyqat PRIVATE opencv_core opencv_imgproc opencv_imgcodecs)
