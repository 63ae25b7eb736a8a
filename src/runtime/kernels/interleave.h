// Interleaving two rows into one: dst[2i] = a[i], dst[2i + 1] = b[i] — how a 2-wide, stride-2 transposed
// convolution (U-Net upsampling) lays its kx = 0 and kx = 1 column planes into an output row.
#pragma once
#include <cstdint>

namespace tinyqat {

void interleave2(const uint8_t* a, const uint8_t* b, int64_t n, uint8_t* dst);
// With `add` (the output channel's bias) added to every value.
void interleave2(const float* a, const float* b, int64_t n, float add, float* dst);

}  // namespace tinyqat
