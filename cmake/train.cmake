# The QAT trainer (src/train, the `train` and `qat` commands): LibTorch as the training engine.
# Debian's libtorch-dev (CPU) by default; a CUDA LibTorch works the same way: configure with
# -DCMAKE_PREFIX_PATH=/path/to/libtorch and train with `--device cuda`. yaml-cpp reads the configs.
# Kept out of libtinyqat_rt and libtinyqat: only the CLI and the trainer tests link it.
find_package(Torch REQUIRED)
find_package(yaml-cpp REQUIRED)
file(GLOB TQ_TRAIN_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/train/*.cpp)
add_library(tinyqat_train ${TQ_TRAIN_SOURCES})
target_include_directories(tinyqat_train PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_include_directories(tinyqat_train SYSTEM PUBLIC ${TORCH_INCLUDE_DIRS})
target_link_libraries(tinyqat_train PUBLIC tinyqat ${TORCH_LIBRARIES} yaml-cpp)
# Gloo itself (src/train/distributed.cpp runs the all-reduces on a Gloo context of its own): Debian's
# libtorch links the shared libgloo; a LibTorch that carries Gloo inside needs nothing more.
find_library(TQ_GLOO_LIBRARY gloo)
if(TQ_GLOO_LIBRARY)
  target_link_libraries(tinyqat_train PRIVATE ${TQ_GLOO_LIBRARY})
endif()
# LibTorch's headers warn under our flags; they are not ours to fix.
target_compile_options(tinyqat_train PRIVATE -Wno-unused-parameter)
target_compile_definitions(tinyqat_train PUBLIC TINYQAT_HAVE_TRAIN=1)
# The fused fake-quant kernel (target_clones per ISA inside): vectorised loops.
set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/src/train/fake_quant.cpp PROPERTIES COMPILE_OPTIONS "-O3;-fno-math-errno")
