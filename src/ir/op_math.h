// Shape arithmetic shared by shape inference and the runtime, so that both agree by construction.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tinyqat {

struct Node;

// Spatial attributes of Conv / ConvTranspose / pooling, with ONNX defaults filled in.
struct WindowAttrs {
  std::vector<int64_t> kernel, strides, dilations, pads;  // pads: begins then ends
  std::string auto_pad = "NOTSET";
  bool ceil_mode = false;
};

// Largest kernel size, stride, dilation, pad, output_padding and group accepted: window arithmetic on
// them cannot overflow.
inline constexpr int64_t kMaxWindowAttr = int64_t(1) << 24;

// `kernel` comes from the weight (conv) or the kernel_shape attribute (pooling).
WindowAttrs window_attrs(const Node& n, const std::vector<int64_t>& kernel);

// Resolves SAME_UPPER/SAME_LOWER/VALID into explicit pads for the given input sizes (conv/pool).
std::vector<int64_t> resolve_pads(const WindowAttrs& w, const std::vector<int64_t>& in_spatial);

// Output spatial size of a conv/pool window; ceil_mode only for pooling.
int64_t window_out_dim(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pad_begin,
                       int64_t pad_end, bool ceil_mode);

// ConvTranspose's attributes on top of the window ones, validated: output_padding (one value per
// spatial axis, default 0) and output_shape (empty, or its last `kernel.size()` values are the spatial
// output sizes).
struct TransposeAttrs {
  WindowAttrs w;
  std::vector<int64_t> out_pad, out_shape;
};
TransposeAttrs conv_transpose_attrs(const Node& n, const std::vector<int64_t>& kernel);

// One spatial axis of a ConvTranspose output by the ONNX rules (pads, auto_pad, output_padding,
// output_shape): its size and the begin pad actually applied. Error naming the node when the sizes
// overflow or output_shape asks for more than the convolution produces.
struct TransposeAxis {
  int64_t out, pad_begin;
};
TransposeAxis conv_transpose_axis(const Node& n, const TransposeAttrs& a, size_t axis, int64_t in);

// Numpy-style broadcast of two shapes; throws Error naming `ctx` when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& ctx);

// Normalises a possibly negative axis for a tensor of `rank`; throws Error naming `ctx`.
int64_t normalize_axis(int64_t axis, int64_t rank, const std::string& ctx);

// Output shape of Reshape given the input shape and the requested one (0 copies, -1 infers).
Shape reshape_shape(const Shape& in, const std::vector<int64_t>& req, bool allowzero, const std::string& ctx);

// The DType of an ONNX TensorProto element-type code (Cast's `to`); Error naming `ctx` otherwise.
DType dtype_of_onnx_code(int64_t code, const std::string& ctx);

// Slice: per-axis clamped [start, end) with step, following the ONNX definition.
struct SliceRange {
  int64_t start, end, step, count;
};
SliceRange slice_range(int64_t dim, int64_t start, int64_t end, int64_t step);

}  // namespace tinyqat
