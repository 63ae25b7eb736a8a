# OpenCV, linked privately into libtinyqat (never into libtinyqat_rt): image decoding, Gaussian blur and
# JPEG for the data tools (src/data: real photos → degraded/clean luma sets, feature CSV → arrays, written
# as .npz for the accuracy benchmarks, calibration and the trainer) and the PNG scatter plot of the gate
# (src/handoff/plots_png.cpp).
find_package(OpenCV REQUIRED COMPONENTS core imgproc imgcodecs)
target_include_directories(tinyqat SYSTEM PRIVATE ${OpenCV_INCLUDE_DIRS})
target_link_libraries(tinyqat PRIVATE opencv_core opencv_imgproc opencv_imgcodecs)
