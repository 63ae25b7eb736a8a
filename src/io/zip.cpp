#include "io/zip.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "core/tensor.h"

namespace tinyqat::zip {
namespace {

static_assert(std::endian::native == std::endian::little, "zip/npy code assumes a little-endian host");

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50, kLocator64Sig = 0x07064b50;
constexpr uint32_t kMax32 = 0xFFFFFFFF;
constexpr uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01, the earliest DOS date
// An npy member is a header plus data; float64 data is twice the float32 tensor it becomes.
constexpr uint64_t kMaxMemberBytes = 2 * uint64_t(kMaxTensorBytes) + (1 << 20);
// All members read from one archive, inflated: at most this, and at most the machine's memory.
constexpr uint64_t kMaxTotalBytes = 2 * kMaxMemberBytes;
// zlib's avail_in/avail_out are 32-bit, so large buffers go through in pieces.
constexpr size_t kChunk = size_t(1) << 30;

template <typename T>
T rd(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
void put(std::vector<uint8_t>& o, T v) {
  const auto* b = reinterpret_cast<const uint8_t*>(&v);
  o.insert(o.end(), b, b + sizeof v);
}

uint32_t crc_of(const uint8_t* p, size_t n) {
  uLong c = crc32(0, nullptr, 0);
  for (size_t i = 0; i < n; i += kChunk) c = crc32(c, p + i, static_cast<uInt>(std::min(n - i, kChunk)));
  return static_cast<uint32_t>(c);
}

// Inflates exactly `usize` bytes; a stream that ends early or would produce more is an error.
std::unique_ptr<uint8_t[]> inflate_exact(const uint8_t* in, uint64_t csize, uint64_t usize,
                                         const std::string& where) {
  z_stream zs{};
  if (inflateInit2(&zs, -15) != Z_OK) fail("{}: cannot initialise zlib", where);
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  auto out = std::make_unique_for_overwrite<uint8_t[]>(usize);
  uint8_t spare;
  for (;;) {
    zs.next_in = const_cast<Bytef*>(in + zs.total_in);
    zs.avail_in = static_cast<uInt>(std::min<uint64_t>(csize - zs.total_in, kChunk));
    if (zs.total_out < usize) {
      zs.next_out = out.get() + zs.total_out;
      zs.avail_out = static_cast<uInt>(std::min<uint64_t>(usize - zs.total_out, kChunk));
    } else {  // one spare byte detects a stream longer than declared
      zs.next_out = &spare;
      zs.avail_out = 1;
    }
    int r = inflate(&zs, Z_NO_FLUSH);
    if (zs.total_out > usize) fail("{}: inflates to more than the declared {} bytes", where, usize);
    if (r == Z_STREAM_END) break;
    if (r == Z_BUF_ERROR) fail("{}: deflate data is truncated", where);
    if (r != Z_OK) fail("{}: corrupt deflate data ({})", where, zs.msg ? zs.msg : "unknown error");
  }
  TQ_CHECK(zs.total_out == usize, "{}: inflates to {} bytes, but the header declares {}", where,
           static_cast<uint64_t>(zs.total_out), usize);
  return out;
}

std::vector<uint8_t> deflate_raw(const uint8_t* in, size_t size) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    fail("cannot initialise zlib");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, deflateEnd);
  std::vector<uint8_t> out(deflateBound(&zs, size));
  for (;;) {
    if (zs.total_out == out.size()) out.resize(out.size() * 2);
    zs.next_in = const_cast<Bytef*>(in + zs.total_in);
    zs.avail_in = static_cast<uInt>(std::min<uint64_t>(size - zs.total_in, kChunk));
    zs.next_out = out.data() + zs.total_out;
    zs.avail_out = static_cast<uInt>(std::min<uint64_t>(out.size() - zs.total_out, kChunk));
    int r = deflate(&zs, zs.total_in + zs.avail_in == size ? Z_FINISH : Z_NO_FLUSH);
    if (r == Z_STREAM_END) break;
    if (r != Z_OK && r != Z_BUF_ERROR) fail("deflate failed ({})", r);
  }
  out.resize(zs.total_out);
  return out;
}

// Replaces the 32-bit fields saturated at 0xFFFFFFFF by their values from the ZIP64 extra field.
void apply_zip64(const uint8_t* x, size_t n, uint64_t* fields[3], const std::string& where) {
  while (n >= 4) {
    uint16_t id = rd<uint16_t>(x), len = rd<uint16_t>(x + 2);
    TQ_CHECK(len <= n - 4, "{}: extra field runs past its header", where);
    if (id == 1) {
      const uint8_t* f = x + 4;
      size_t left = len;
      for (int i = 0; i < 3; ++i) {
        if (*fields[i] != kMax32) continue;
        TQ_CHECK(left >= 8, "{}: ZIP64 extra field is too short", where);
        *fields[i] = rd<uint64_t>(f);
        f += 8;
        left -= 8;
      }
    }
    x += 4 + len;
    n -= 4 + len;
  }
}

}  // namespace

std::string quoted(std::string_view s) {
  std::string r = "'";
  for (size_t i = 0; i < s.size() && i < 80; ++i) r += (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  return r + (s.size() > 80 ? "...'" : "'");
}

uint64_t default_total_limit() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  const uint64_t phys = pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : kMaxTotalBytes;
  return std::min<uint64_t>(kMaxTotalBytes, phys);
}

void read_members(const uint8_t* data, size_t size, const std::string& what, const MemberFn& fn) {
  read_members(data, size, what, fn, nullptr, default_total_limit());
}

void read_members(const uint8_t* data, size_t size, const std::string& what, const MemberFn& fn,
                  const WantFn& want, uint64_t max_total) {
  TQ_CHECK(size >= 22, "{}: not a zip archive (only {} bytes)", what, size);
  // The end record sits before an optional comment of up to 64 KiB.
  size_t eocd = SIZE_MAX, lowest = size - 22 > 0xFFFF ? size - 22 - 0xFFFF : 0;
  for (size_t p = size - 22 + 1; p-- > lowest;) {
    if (rd<uint32_t>(data + p) == kEndSig && p + 22 + rd<uint16_t>(data + p + 20) <= size) {
      eocd = p;
      break;
    }
  }
  TQ_CHECK(eocd != SIZE_MAX, "{}: not a zip archive (no end of central directory record)", what);
  const uint8_t* e = data + eocd;
  TQ_CHECK(rd<uint16_t>(e + 4) == 0 && rd<uint16_t>(e + 6) == 0,
           "{}: multi-disk zip archives are not supported", what);
  uint64_t count = rd<uint16_t>(e + 10), cd_size = rd<uint32_t>(e + 12), cd_off = rd<uint32_t>(e + 16);
  uint64_t cd_limit = eocd;
  if (eocd >= 20 && rd<uint32_t>(e - 20) == kLocator64Sig) {
    uint64_t z = rd<uint64_t>(e - 20 + 8);
    TQ_CHECK(z <= eocd - 20 && eocd - 20 - z >= 56 && rd<uint32_t>(data + z) == kEnd64Sig,
             "{}: corrupt ZIP64 end of central directory", what);
    TQ_CHECK(rd<uint32_t>(data + z + 16) == 0 && rd<uint32_t>(data + z + 20) == 0,
             "{}: multi-disk zip archives are not supported", what);
    count = rd<uint64_t>(data + z + 32);
    cd_size = rd<uint64_t>(data + z + 40);
    cd_off = rd<uint64_t>(data + z + 48);
    cd_limit = z;
  }
  TQ_CHECK(cd_off <= cd_limit && cd_size <= cd_limit - cd_off,
           "{}: central directory ({} bytes at offset {}) lies outside the archive", what, cd_size, cd_off);

  // First every header is checked and the wanted members' sizes are added up; only then is anything
  // inflated, so an archive that claims more than max_total in the members used is refused before one
  // byte is allocated for them.
  struct Member {
    std::string name, where;
    uint16_t method;
    uint32_t crc;
    uint64_t csize, usize, start;
  };
  std::vector<Member> members;
  uint64_t wanted_total = 0;
  const uint8_t* cd = data + cd_off;
  uint64_t pos = 0, used = 0;
  for (uint64_t i = 0; i < count; ++i) {
    TQ_CHECK(cd_size - pos >= 46 && rd<uint32_t>(cd + pos) == kCentralSig,
             "{}: central directory entry {} is truncated or corrupt", what, i);
    const uint8_t* c = cd + pos;
    size_t nlen = rd<uint16_t>(c + 28), xlen = rd<uint16_t>(c + 30), clen = rd<uint16_t>(c + 32);
    TQ_CHECK(cd_size - pos - 46 >= nlen + xlen + clen, "{}: central directory entry {} is truncated", what,
             i);
    std::string name(reinterpret_cast<const char*>(c + 46), nlen);
    std::string where = fmt::format("{}: member {}", what, quoted(name));
    uint16_t flags = rd<uint16_t>(c + 8), method = rd<uint16_t>(c + 10);
    uint32_t crc = rd<uint32_t>(c + 16);
    uint64_t csize = rd<uint32_t>(c + 20), usize = rd<uint32_t>(c + 24), off = rd<uint32_t>(c + 42);
    uint64_t* fields[3] = {&usize, &csize, &off};
    apply_zip64(c + 46 + nlen, xlen, fields, where);
    pos += 46 + nlen + xlen + clen;
    TQ_CHECK(!(flags & 1), "{}: encrypted members are not supported", where);
    TQ_CHECK(method == 0 || method == 8,
             "{}: compression method {} is not supported (only stored and deflate)", where, method);

    // Sizes come from the central directory: numpy writes 0xFFFFFFFF placeholders in local headers.
    TQ_CHECK(off <= size && size - off >= 30 && rd<uint32_t>(data + off) == kLocalSig,
             "{}: no local header at offset {}", where, off);
    const uint8_t* l = data + off;
    size_t lnlen = rd<uint16_t>(l + 26), lxlen = rd<uint16_t>(l + 28);
    TQ_CHECK(size - off - 30 >= lnlen + lxlen, "{}: local header is truncated", where);
    TQ_CHECK(lnlen == nlen && std::memcmp(l + 30, name.data(), nlen) == 0,
             "{}: local header names a different file", where);
    uint64_t start = off + 30 + lnlen + lxlen;
    TQ_CHECK(csize <= size - start, "{}: {} bytes of data at offset {} run past the end of the archive",
             where, csize, start);
    // Members may not share bytes; this bounds the total inflated size by the archive size.
    used += 30 + lnlen + lxlen + csize;
    TQ_CHECK(used <= size, "{}: overlaps other members", where);

    if (method == 0) {
      TQ_CHECK(csize == usize, "{}: stored member has compressed size {} but size {}", where, csize, usize);
    } else {
      TQ_CHECK(usize <= kMaxMemberBytes, "{}: declared size {} is too large", where, usize);
      // Deflate cannot expand by more than ~1032x; a larger claim is a lie or a bomb.
      TQ_CHECK(usize <= csize * 1032 + 1024, "{}: declares {} bytes from only {} compressed bytes", where,
               usize, csize);
    }
    if (want && !want(name)) continue;
    if (method != 0) {
      wanted_total += usize;
      TQ_CHECK(wanted_total <= max_total,
               "{}: the members read declare more than {} bytes once inflated (at {}); refused before "
               "inflating",
               what, max_total, where);
    }
    members.push_back(Member{std::move(name), std::move(where), method, crc, csize, usize, start});
  }
  for (const Member& m : members) {
    std::unique_ptr<uint8_t[]> inflated;
    const uint8_t* bytes = data + m.start;
    if (m.method != 0) {
      inflated = inflate_exact(bytes, m.csize, m.usize, m.where);
      bytes = inflated.get();
    }
    uint32_t got = crc_of(bytes, m.usize);
    TQ_CHECK(got == m.crc, "{}: CRC-32 mismatch (stored {:08x}, data {:08x})", m.where, m.crc, got);
    fn(m.name, bytes, m.usize);
  }
}

void Writer::add(const std::string& name, const uint8_t* data, size_t size) {
  TQ_CHECK(name.size() <= 0xFFFF, "zip member name of {} bytes is too long", name.size());
  Entry e{name, crc_of(data, size), size, size, out_.size(), uint16_t(compress_ ? 8 : 0)};
  std::vector<uint8_t> packed;
  if (compress_) {
    packed = deflate_raw(data, size);
    data = packed.data();
    e.csize = packed.size();
  }
  bool z64 = force64_ || e.csize >= kMax32 || e.usize >= kMax32;
  bool utf8 = std::any_of(name.begin(), name.end(), [](char ch) { return ch & 0x80; });
  put<uint32_t>(out_, kLocalSig);
  put<uint16_t>(out_, z64 ? 45 : 20);
  put<uint16_t>(out_, utf8 ? 0x800 : 0);
  put<uint16_t>(out_, e.method);
  put<uint16_t>(out_, 0);
  put<uint16_t>(out_, kDosDate);
  put<uint32_t>(out_, e.crc);
  put<uint32_t>(out_, z64 ? kMax32 : uint32_t(e.csize));
  put<uint32_t>(out_, z64 ? kMax32 : uint32_t(e.usize));
  put<uint16_t>(out_, uint16_t(name.size()));
  put<uint16_t>(out_, z64 ? 20 : 0);
  out_.insert(out_.end(), name.begin(), name.end());
  if (z64) {
    put<uint16_t>(out_, 1);
    put<uint16_t>(out_, 16);
    put<uint64_t>(out_, e.usize);
    put<uint64_t>(out_, e.csize);
  }
  out_.insert(out_.end(), data, data + e.csize);
  entries_.push_back(std::move(e));
}

std::vector<uint8_t> Writer::finish() {
  uint64_t cd_off = out_.size();
  for (const Entry& e : entries_) {
    uint64_t vals[3] = {e.usize, e.csize, e.offset};
    std::vector<uint8_t> extra;
    for (uint64_t v : vals)
      if (force64_ || v >= kMax32) put<uint64_t>(extra, v);
    auto field = [&](uint64_t v) { return force64_ || v >= kMax32 ? kMax32 : uint32_t(v); };
    bool utf8 = std::any_of(e.name.begin(), e.name.end(), [](char ch) { return ch & 0x80; });
    uint16_t version = extra.empty() ? 20 : 45;
    put<uint32_t>(out_, kCentralSig);
    put<uint16_t>(out_, (3 << 8) | version);  // made by: Unix
    put<uint16_t>(out_, version);
    put<uint16_t>(out_, utf8 ? 0x800 : 0);
    put<uint16_t>(out_, e.method);
    put<uint16_t>(out_, 0);
    put<uint16_t>(out_, kDosDate);
    put<uint32_t>(out_, e.crc);
    put<uint32_t>(out_, field(e.csize));
    put<uint32_t>(out_, field(e.usize));
    put<uint16_t>(out_, uint16_t(e.name.size()));
    put<uint16_t>(out_, uint16_t(extra.empty() ? 0 : 4 + extra.size()));
    put<uint16_t>(out_, 0);  // comment
    put<uint16_t>(out_, 0);  // disk
    put<uint16_t>(out_, 0);  // internal attributes
    put<uint32_t>(out_, 0644u << 16);
    put<uint32_t>(out_, field(e.offset));
    out_.insert(out_.end(), e.name.begin(), e.name.end());
    if (!extra.empty()) {
      put<uint16_t>(out_, 1);
      put<uint16_t>(out_, uint16_t(extra.size()));
      out_.insert(out_.end(), extra.begin(), extra.end());
    }
  }
  uint64_t cd_size = out_.size() - cd_off, n = entries_.size();
  bool z64 = force64_ || n >= 0xFFFF || cd_size >= kMax32 || cd_off >= kMax32;
  if (z64) {
    uint64_t rec = out_.size();
    put<uint32_t>(out_, kEnd64Sig);
    put<uint64_t>(out_, 44);  // size of the rest of this record
    put<uint16_t>(out_, (3 << 8) | 45);
    put<uint16_t>(out_, 45);
    put<uint32_t>(out_, 0);
    put<uint32_t>(out_, 0);
    put<uint64_t>(out_, n);
    put<uint64_t>(out_, n);
    put<uint64_t>(out_, cd_size);
    put<uint64_t>(out_, cd_off);
    put<uint32_t>(out_, kLocator64Sig);
    put<uint32_t>(out_, 0);
    put<uint64_t>(out_, rec);
    put<uint32_t>(out_, 1);
  }
  uint16_t n16 = z64 ? 0xFFFF : uint16_t(n);
  put<uint32_t>(out_, kEndSig);
  put<uint16_t>(out_, 0);
  put<uint16_t>(out_, 0);
  put<uint16_t>(out_, n16);
  put<uint16_t>(out_, n16);
  put<uint32_t>(out_, z64 ? kMax32 : uint32_t(cd_size));
  put<uint32_t>(out_, z64 ? kMax32 : uint32_t(cd_off));
  put<uint16_t>(out_, 0);  // comment
  entries_.clear();
  return std::move(out_);
}

}  // namespace tinyqat::zip
