// The pictures tinyqat draws (OpenCV, linked privately into libtinyqat; src/handoff/plots_png.cpp).
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tinyqat::handoff {

// `measure --plots`: one output's fp32 values against int8 and beside it the residual (Bland–Altman)
// plot, as one PNG.
void write_scatter_png(const std::string& path, const std::vector<double>& fp32,
                       const std::vector<double>& int8, const std::string& title);
// `measure --plots`, image outputs ([N,C,H,W] float; sample 0, channel 0): fp32, int8 and |int8 − fp32|.
void write_frame_png(const std::string& path, const Tensor& fp32, const Tensor& int8,
                     const std::string& title);

// `compare --per-layer --plot`: one bar per quantized tensor (SQNR in dB, graph order), labelled by its
// producing node; `marked` bars are drawn red (the worst), `note` printed after the value.
struct SqnrBar {
  std::string label, note;
  double sqnr_db = 0;
  bool marked = false;
};
void write_sqnr_png(const std::string& path, const std::vector<SqnrBar>& bars, const std::string& title);

}  // namespace tinyqat::handoff
