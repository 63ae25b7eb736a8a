// Parquet's value and level encodings (parquet_decode.cpp) and page codecs (parquet_codec.cpp), on
// bytes already in memory. Internal to the reader (parquet.cpp); kept apart so tests and the fuzzer can
// reach them. Errors are tinyqat::Error with a short message; the reader adds file, column and page.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tinyqat::parquet::detail {

struct Span {
  const uint8_t* p = nullptr;
  size_t n = 0;
  Span sub(size_t from, size_t len) const;  // Error when outside
};

// ULEB128 (at most 10 bytes) and its zigzag form; advance `s`.
uint64_t uleb128(Span& s);
int64_t zigzag(Span& s);

// `count` values of `bit_width` bits each, packed least-significant bit first (Parquet's bit-packing
// order); needs ceil(count·bit_width / 8) bytes. bit_width 0..64.
void unpack_bits(const uint8_t* p, size_t bytes, int bit_width, size_t count, uint64_t* out);

// The RLE / bit-packing hybrid: exactly `count` values of `bit_width` (0..32) bits. Returns the bytes
// used.
size_t rle_hybrid(Span s, int bit_width, size_t count, uint32_t* out);
// The deprecated BIT_PACKED level encoding (most significant bit first). Returns the bytes used.
size_t bit_packed_msb(Span s, int bit_width, size_t count, uint32_t* out);

// DELTA_BINARY_PACKED: at most `max_values` values (Error if the stream holds more); *used receives the
// bytes the stream takes. Arithmetic wraps at 64 bits (callers truncate INT32 values).
std::vector<int64_t> delta_binary_packed(Span s, size_t max_values, size_t* used);
// DELTA_LENGTH_BYTE_ARRAY and DELTA_BYTE_ARRAY: `count` strings. DELTA_BYTE_ARRAY values share
// prefixes, so a few bytes can describe many long values: `max_bytes` bounds their total.
std::vector<std::string> delta_length_byte_array(Span s, size_t count, size_t* used);
std::vector<std::string> delta_byte_array(Span s, size_t count, uint64_t max_bytes);

// Decompresses one page (codec numbered as in the spec) into exactly `size` bytes.
std::vector<uint8_t> decompress(int32_t codec, Span in, size_t size);

}  // namespace tinyqat::parquet::detail
