// Page decompression: Debian's libsnappy, zlib, libzstd, liblz4 and libbrotli. Every codec must produce
// exactly the size the page header claims (which the reader has already bounded), so a corrupt or
// lying page is an error, never a larger allocation.
#include <brotli/decode.h>
#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <climits>
#include <cstring>

#include "core/error.h"
#include "io/parquet_decode.h"
#include "io/parquet_format.h"

namespace tinyqat::parquet::detail {

namespace {

void inflate_gzip(Span in, std::vector<uint8_t>& out) {
  z_stream z{};
  TQ_CHECK(inflateInit2(&z, 15 + 32) == Z_OK, "GZIP: zlib could not start");  // gzip or zlib header
  struct End {
    z_stream* z;
    ~End() { inflateEnd(z); }
  } end{&z};
  const uint8_t* p = in.p;
  size_t left_in = in.n, produced = 0;
  for (;;) {
    z.next_in = const_cast<Bytef*>(p);
    z.avail_in = static_cast<uInt>(std::min<size_t>(left_in, UINT_MAX));
    z.next_out = out.data() + produced;
    z.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - produced, UINT_MAX));
    const size_t in_before = z.avail_in, out_before = z.avail_out;
    const int rc = inflate(&z, Z_NO_FLUSH);
    p += in_before - z.avail_in, left_in -= in_before - z.avail_in;
    produced += out_before - z.avail_out;
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members are one stream; trailing zero padding is tolerated.
      if (produced == out.size() || left_in == 0) break;
      TQ_CHECK(inflateReset(&z) == Z_OK, "GZIP: zlib could not restart");
      continue;
    }
    TQ_CHECK(rc == Z_OK || rc == Z_BUF_ERROR, "GZIP data is corrupt ({})", z.msg ? z.msg : "zlib error");
    TQ_CHECK(!(rc == Z_BUF_ERROR && (left_in == 0 || produced == out.size())),
             "GZIP data {} before the {} bytes the page header claims",
             produced == out.size() ? "goes on" : "ends", out.size());
  }
  TQ_CHECK(produced == out.size(), "GZIP data holds {} bytes, the page header claims {}", produced,
           out.size());
}

}  // namespace

std::vector<uint8_t> decompress(int32_t codec, Span in, size_t size) {
  using namespace format;
  std::vector<uint8_t> out(size);
  switch (codec) {
    case kUncompressed:
      TQ_CHECK(in.n == size, "an uncompressed page holds {} bytes, its header claims {}", in.n, size);
      if (size) std::memcpy(out.data(), in.p, size);
      return out;
    case kSnappy: {
      size_t n = 0;
      TQ_CHECK(snappy_uncompressed_length(reinterpret_cast<const char*>(in.p), in.n, &n) == SNAPPY_OK,
               "SNAPPY data is corrupt");
      TQ_CHECK(n == size, "SNAPPY data holds {} bytes, the page header claims {}", n, size);
      TQ_CHECK(snappy_uncompress(reinterpret_cast<const char*>(in.p), in.n,
                                 reinterpret_cast<char*>(out.data()), &n) == SNAPPY_OK &&
                   n == size,
               "SNAPPY data is corrupt");
      return out;
    }
    case kGzip:
      inflate_gzip(in, out);
      return out;
    case kZstd: {
      const size_t n = ZSTD_decompress(out.data(), size, in.p, in.n);
      TQ_CHECK(!ZSTD_isError(n), "ZSTD data is corrupt ({})", ZSTD_getErrorName(n));
      TQ_CHECK(n == size, "ZSTD data holds {} bytes, the page header claims {}", n, size);
      return out;
    }
    case kLz4Raw: {
      TQ_CHECK(in.n <= INT_MAX && size <= INT_MAX, "LZ4_RAW page over 2 GiB");
      const int n =
          LZ4_decompress_safe(reinterpret_cast<const char*>(in.p), reinterpret_cast<char*>(out.data()),
                              static_cast<int>(in.n), static_cast<int>(size));
      TQ_CHECK(n >= 0, "LZ4_RAW data is corrupt");
      TQ_CHECK(static_cast<size_t>(n) == size, "LZ4_RAW data holds {} bytes, the page header claims {}", n,
               size);
      return out;
    }
    case kBrotli: {
      size_t n = size;
      TQ_CHECK(BrotliDecoderDecompress(in.n, in.p, &n, out.data()) == BROTLI_DECODER_RESULT_SUCCESS,
               "BROTLI data is corrupt or longer than the {} bytes the page header claims", size);
      TQ_CHECK(n == size, "BROTLI data holds {} bytes, the page header claims {}", n, size);
      return out;
    }
    default:
      fail("compression codec {} is not supported (UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW and BROTLI are)",
           codec_name(codec));
  }
}

}  // namespace tinyqat::parquet::detail
