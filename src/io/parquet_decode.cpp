// Parquet's level and value encodings, as the format specification (parquet-format's Encodings.md)
// describes them. Every count and length is checked against the bytes there are before it is used.
#include "io/parquet_decode.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace tinyqat::parquet::detail {

Span Span::sub(size_t from, size_t len) const {
  TQ_CHECK(from <= n && len <= n - from, "{} bytes at offset {} lie outside the {} bytes there are", len,
           from, n);
  return {p + from, len};
}

uint64_t uleb128(Span& s) {
  uint64_t v = 0;
  for (int i = 0; i < 10; ++i) {
    TQ_CHECK(i < static_cast<int>(s.n), "a variable-length integer runs past the end of the data");
    const uint8_t b = s.p[i];
    if (i == 9 && b > 1) fail("a variable-length integer does not fit 64 bits");
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      s.p += i + 1, s.n -= i + 1;
      return v;
    }
  }
  fail("a variable-length integer is longer than 10 bytes");
}

int64_t zigzag(Span& s) {
  const uint64_t u = uleb128(s);
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

namespace {

template <class T>
void unpack(const uint8_t* p, size_t bytes, int bw, size_t count, T* out) {
  TQ_CHECK(bw >= 0 && bw <= 64, "bit width {} is not 0..64", bw);
  if (bw == 0) {
    std::fill(out, out + count, T(0));
    return;
  }
  const uint64_t need = (static_cast<unsigned __int128>(count) * bw + 7) / 8;
  TQ_CHECK(need <= bytes, "{} values of {} bits need {} bytes, {} are left", count, bw, need, bytes);
  const uint64_t mask = bw == 64 ? ~uint64_t(0) : (uint64_t(1) << bw) - 1;
  uint64_t bit = 0;
  for (size_t i = 0; i < count; ++i, bit += static_cast<uint64_t>(bw)) {
    const size_t at = static_cast<size_t>(bit >> 3);
    const int shift = static_cast<int>(bit & 7);
    uint64_t v;
    if (at + 8 <= bytes) {
      std::memcpy(&v, p + at, 8);
      v >>= shift;
      if (shift + bw > 64) v |= static_cast<uint64_t>(p[at + 8]) << (64 - shift);
    } else {
      unsigned __int128 acc = 0;
      for (size_t k = 0; k < 9 && at + k < bytes; ++k)
        acc |= static_cast<unsigned __int128>(p[at + k]) << (8 * k);
      v = static_cast<uint64_t>(acc >> shift);
    }
    out[i] = static_cast<T>(v & mask);
  }
}

}  // namespace

void unpack_bits(const uint8_t* p, size_t bytes, int bit_width, size_t count, uint64_t* out) {
  unpack(p, bytes, bit_width, count, out);
}

size_t rle_hybrid(Span s, int bw, size_t count, uint32_t* out) {
  TQ_CHECK(bw >= 0 && bw <= 32, "RLE bit width {} is not 0..32", bw);
  Span r = s;
  const size_t value_bytes = static_cast<size_t>((bw + 7) / 8);
  size_t done = 0;
  while (done < count) {
    TQ_CHECK(r.n > 0, "RLE/bit-packed data ends after {} of {} values", done, count);
    const uint64_t header = uleb128(r);
    if (header & 1) {  // bit-packed: groups of 8 values
      const uint64_t groups = header >> 1;
      const uint64_t values = groups > (uint64_t(1) << 60) ? uint64_t(1) << 63 : groups * 8;
      const size_t take = static_cast<size_t>(std::min<uint64_t>(values, count - done));
      unpack(r.p, r.n, bw, take, out + done);
      // The run's bytes; a writer may cut the last run short after the values it holds.
      const uint64_t run_bytes = groups > r.n ? r.n : groups * static_cast<uint64_t>(bw);
      const size_t adv = static_cast<size_t>(std::min<uint64_t>(run_bytes, r.n));
      r.p += adv, r.n -= adv;
      done += take;
    } else {  // RLE: one value repeated
      const uint64_t run = header >> 1;
      TQ_CHECK(r.n >= value_bytes, "an RLE run's value runs past the end of the data");
      uint32_t v = 0;
      for (size_t k = 0; k < value_bytes; ++k) v |= static_cast<uint32_t>(r.p[k]) << (8 * k);
      r.p += value_bytes, r.n -= value_bytes;
      TQ_CHECK(bw == 32 || v >> bw == 0, "an RLE run holds {}, which does not fit {} bits", v, bw);
      const size_t take = static_cast<size_t>(std::min<uint64_t>(run, count - done));
      std::fill(out + done, out + done + take, v);
      done += take;
    }
  }
  return s.n - r.n;
}

size_t bit_packed_msb(Span s, int bw, size_t count, uint32_t* out) {
  TQ_CHECK(bw >= 0 && bw <= 32, "BIT_PACKED bit width {} is not 0..32", bw);
  const uint64_t need = (static_cast<unsigned __int128>(count) * bw + 7) / 8;
  TQ_CHECK(need <= s.n, "BIT_PACKED levels need {} bytes, {} are left", need, s.n);
  uint64_t bit = 0;
  for (size_t i = 0; i < count; ++i) {
    uint32_t v = 0;
    for (int k = 0; k < bw; ++k, ++bit) v = (v << 1) | ((s.p[bit >> 3] >> (7 - (bit & 7))) & 1);
    out[i] = v;
  }
  return static_cast<size_t>(need);
}

std::vector<int64_t> delta_binary_packed(Span s, size_t max_values, size_t* used) {
  Span r = s;
  const uint64_t block = uleb128(r), minis = uleb128(r), total = uleb128(r);
  const int64_t first = zigzag(r);
  TQ_CHECK(block > 0 && block % 128 == 0 && block <= (1u << 20),
           "DELTA_BINARY_PACKED block size {} is not a multiple of 128 up to 2^20", block);
  TQ_CHECK(minis > 0 && block % minis == 0 && (block / minis) % 32 == 0,
           "DELTA_BINARY_PACKED: {} miniblocks do not divide a block of {} into multiples of 32", minis,
           block);
  TQ_CHECK(total <= max_values, "DELTA_BINARY_PACKED claims {} values where at most {} fit", total,
           max_values);
  std::vector<int64_t> out;
  if (total == 0) {
    *used = s.n - r.n;
    return out;
  }
  out.reserve(static_cast<size_t>(total));
  out.push_back(first);
  uint64_t last = static_cast<uint64_t>(first);
  const size_t per_mini = static_cast<size_t>(block / minis);
  std::vector<uint64_t> deltas(per_mini);
  while (out.size() < total) {
    const uint64_t min_delta = static_cast<uint64_t>(zigzag(r));
    TQ_CHECK(r.n >= minis, "DELTA_BINARY_PACKED: a block's bit widths run past the end of the data");
    const uint8_t* widths = r.p;
    r.p += minis, r.n -= minis;
    for (size_t m = 0; m < minis && out.size() < total; ++m) {
      const int bw = widths[m];
      TQ_CHECK(bw <= 64, "DELTA_BINARY_PACKED: miniblock bit width {} is over 64", bw);
      const size_t take = static_cast<size_t>(std::min<uint64_t>(per_mini, total - out.size()));
      unpack(r.p, r.n, bw, take, deltas.data());
      const size_t adv = std::min(r.n, per_mini * static_cast<size_t>(bw) / 8);
      r.p += adv, r.n -= adv;
      for (size_t k = 0; k < take; ++k) {
        last += min_delta + deltas[k];  // wraps, as the format intends
        out.push_back(static_cast<int64_t>(last));
      }
    }
  }
  *used = s.n - r.n;
  return out;
}

namespace {

std::vector<int64_t> lengths_of(Span s, size_t count, size_t* used, const char* what) {
  std::vector<int64_t> len = delta_binary_packed(s, count, used);
  TQ_CHECK(len.size() == count, "{}: {} lengths for {} values", what, len.size(), count);
  for (int64_t l : len) TQ_CHECK(l >= 0, "{}: negative length {}", what, l);
  return len;
}

}  // namespace

std::vector<std::string> delta_length_byte_array(Span s, size_t count, size_t* used) {
  size_t u = 0;
  const std::vector<int64_t> len = lengths_of(s, count, &u, "DELTA_LENGTH_BYTE_ARRAY");
  Span r = s.sub(u, s.n - u);
  std::vector<std::string> out;
  out.reserve(count);
  for (int64_t l : len) {
    TQ_CHECK(static_cast<uint64_t>(l) <= r.n, "DELTA_LENGTH_BYTE_ARRAY: a {}-byte value runs past the end",
             l);
    out.emplace_back(reinterpret_cast<const char*>(r.p), static_cast<size_t>(l));
    r.p += l, r.n -= static_cast<size_t>(l);
  }
  *used = s.n - r.n;
  return out;
}

std::vector<std::string> delta_byte_array(Span s, size_t count, uint64_t max_bytes) {
  size_t u = 0;
  const std::vector<int64_t> prefix = lengths_of(s, count, &u, "DELTA_BYTE_ARRAY prefixes");
  size_t u2 = 0;
  std::vector<std::string> out = delta_length_byte_array(s.sub(u, s.n - u), count, &u2);
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t keep = static_cast<uint64_t>(prefix[i]);
    TQ_CHECK(keep == 0 || (i > 0 && keep <= out[i - 1].size()),
             "DELTA_BYTE_ARRAY: value {} reuses {} bytes of a {}-byte predecessor", i, keep,
             i > 0 ? out[i - 1].size() : 0);
    total += keep + out[i].size();
    TQ_CHECK(total <= max_bytes, "DELTA_BYTE_ARRAY values grow past the {}-byte limit", max_bytes);
    if (keep) out[i].insert(0, out[i - 1], 0, static_cast<size_t>(keep));
  }
  return out;
}

}  // namespace tinyqat::parquet::detail
