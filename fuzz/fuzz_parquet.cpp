// libFuzzer target for the Parquet reader: any bytes must end in columns or a tinyqat::Error, never a
// crash, a sanitizer report or an allocation beyond what the (small) limits below allow. The whole input
// is read as a file; then, so that mutations reach the decoders without a valid footer around them, the
// bytes after the first go straight to one decoder chosen by the first byte.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "io/parquet.h"
#include "io/parquet_decode.h"

namespace pq = tinyqat::parquet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pq::ReadLimits limits;
  limits.max_footer_bytes = 1 << 20;
  limits.max_page_bytes = 8 << 20;
  limits.max_column_bytes = 32 << 20;
  try {
    const pq::File f(pq::memory_source(data, size), "fuzz.parquet", limits);
    for (int g = 0; g < f.num_row_groups(); ++g)
      for (int c = 0; c < static_cast<int>(f.columns().size()); ++c) {
        try {
          const pq::Column col = f.read(g, c);
          for (int64_t r = 0; r < col.rows; ++r)
            if (!col.is_null(r) && col.bytes.empty()) (void)col.number(r);
        } catch (const tinyqat::Error&) {
        }
      }
  } catch (const tinyqat::Error&) {
  }
  if (size < 2) return 0;
  const pq::detail::Span s{data + 1, size - 1};
  const uint8_t sel = data[0];
  const size_t count = (sel >> 3) * 37 + 1;  // up to ~1200 values
  try {
    switch (sel & 7) {
      case 0: {
        std::vector<uint32_t> out(count);
        pq::detail::rle_hybrid(s, (sel >> 3) % 33, count, out.data());
        break;
      }
      case 1: {
        size_t used = 0;
        pq::detail::delta_binary_packed(s, count, &used);
        break;
      }
      case 2: {
        size_t used = 0;
        pq::detail::delta_length_byte_array(s, count % 64, &used);
        break;
      }
      case 3:
        pq::detail::delta_byte_array(s, count % 64, 1 << 20);
        break;
      case 4: {
        std::vector<uint32_t> out(count);
        pq::detail::bit_packed_msb(s, (sel >> 3) % 33, count, out.data());
        break;
      }
      default:  // codecs: SNAPPY, GZIP, BROTLI, ZSTD, LZ4_RAW into at most 64 KiB
        pq::detail::decompress(static_cast<int32_t>((sel >> 3) % 8), s,
                               (static_cast<size_t>(sel) * 257) % 65536);
    }
  } catch (const tinyqat::Error&) {
  }
  return 0;
}
