#include "io/npy.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string_view>
#include <unordered_set>

#include "core/error.h"
#include "core/file_util.h"
#include "io/zip.h"

namespace tinyqat {
namespace {

constexpr std::string_view kMagic("\x93NUMPY", 6);
constexpr size_t kMaxHeader = 1 << 20;  // numpy itself refuses headers over 10000 bytes by default

// The subset of Python literal syntax that numpy writes in headers (it reads them with
// ast.literal_eval): a dict of str keys to a str, a bool and a tuple of ints.
class HeaderParser {
 public:
  HeaderParser(const char* p, size_t n) : begin_(p), p_(p), end_(p + n) {}

  bool eat(char c) {
    skip_space();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  void expect(char c, const char* context) {
    if (!eat(c)) fail("header: expected '{}' {} at offset {}", c, context, p_ - begin_);
  }
  char peek() {
    skip_space();
    return p_ == end_ ? '\0' : *p_;
  }
  bool at_end() { return peek() == '\0' && p_ == end_; }

  std::string string(const char* context) {
    skip_space();
    if (p_ != end_ && *p_ == 'u') ++p_;  // Python 2 unicode literal
    char q = p_ == end_ ? '\0' : *p_;
    if (q != '\'' && q != '"') fail("header: expected a string for {} at offset {}", context, p_ - begin_);
    const char* s = ++p_;
    while (p_ != end_ && *p_ != q) {
      if (*p_ == '\\') fail("header: escape sequences in strings are not supported");
      ++p_;
    }
    if (p_ == end_) fail("header: unterminated string");
    return std::string(s, p_++);
  }

  bool boolean() {
    skip_space();
    for (auto [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      size_t n = std::strlen(word);
      if (size_t(end_ - p_) >= n && std::memcmp(p_, word, n) == 0) {
        p_ += n;
        return value;
      }
    }
    fail("header: 'fortran_order' is not True or False");
  }

  Shape shape() {
    skip_space();
    if (p_ != end_ && *p_ == '[') fail("header: 'shape' is a list, not a tuple");
    expect('(', "to open 'shape'");
    Shape s;
    bool comma = false;
    while (!eat(')')) {
      s.push_back(integer());
      if (static_cast<int64_t>(s.size()) > kMaxRank)
        fail("header: shape has more than {} dimensions", kMaxRank);
      comma = eat(',');
      if (!comma) {
        expect(')', "or ',' in 'shape'");
        break;
      }
    }
    if (s.size() == 1 && !comma) fail("header: 'shape' is a parenthesised int, not a tuple");
    return s;
  }

 private:
  void skip_space() {
    while (p_ != end_ && std::strchr(" \t\n\r\f\v", *p_) && *p_) ++p_;
  }
  int64_t integer() {
    skip_space();
    bool neg = p_ != end_ && *p_ == '-';
    if (neg) ++p_;
    if (p_ == end_ || *p_ < '0' || *p_ > '9')
      fail("header: shape entry at offset {} is not an integer", p_ - begin_);
    int64_t v = 0;
    for (; p_ != end_ && *p_ >= '0' && *p_ <= '9'; ++p_) {
      if (v > (INT64_MAX - 9) / 10) fail("header: shape entry is too large");
      v = v * 10 + (*p_ - '0');
    }
    if (p_ != end_ && (*p_ == 'L' || *p_ == 'l')) ++p_;  // Python 2 long
    if (neg) fail("header: shape has a negative dimension -{}", v);
    return v;
  }

  const char *begin_, *p_, *end_;
};

struct Header {
  std::string descr;
  bool fortran = false;
  Shape shape;
};

Header parse_header(const char* text, size_t n) {
  HeaderParser p(text, n);
  Header h;
  bool have[3] = {false, false, false};
  p.expect('{', "at the start (the header is not a dict)");
  while (!p.eat('}')) {
    std::string key = p.string("a dict key");
    p.expect(':', "after a dict key");
    int k = key == "descr" ? 0 : key == "fortran_order" ? 1 : key == "shape" ? 2 : -1;
    if (k < 0) fail("header: unexpected key {}", zip::quoted(key));
    if (have[k]) fail("header: duplicate key {}", zip::quoted(key));
    have[k] = true;
    if (k == 0 && p.peek() == '[') fail("header: structured dtypes are not supported");
    if (k == 0) h.descr = p.string("'descr'");
    if (k == 1) h.fortran = p.boolean();
    if (k == 2) h.shape = p.shape();
    if (!p.eat(',')) {
      p.expect('}', "after a dict value");
      break;
    }
  }
  if (!p.at_end()) fail("header: unexpected characters after the dict");
  if (!have[0] || !have[1] || !have[2]) fail("header: needs the keys 'descr', 'fortran_order' and 'shape'");
  return h;
}

// How the file stores elements, and what they become.
struct Descr {
  DType out;
  char kind;
  size_t size;
  bool swap;
};

Descr parse_descr(const std::string& d) {
  std::string_view code(d);
  bool big = false;
  if (!code.empty() && std::string_view("<>|=").find(code[0]) != std::string_view::npos) {
    big = code[0] == '>';
    code.remove_prefix(1);
  }
  static constexpr std::pair<std::string_view, DType> kCodes[] = {
      {"f4", DType::F32}, {"f8", DType::F32}, {"f2", DType::F32}, {"i1", DType::I8},
      {"u1", DType::U8},  {"i4", DType::I32}, {"i8", DType::I64}, {"b1", DType::Bool}};
  for (auto [c, t] : kCodes) {
    size_t size = size_t(c[1] - '0');
    if (code == c) return {t, c[0], size, big && size > 1};
  }
  fail("unsupported dtype {} (supported: <f4 <f8 <f2 |i1 |u1 <i4 <i8 |b1)", zip::quoted(d));
}

template <typename T>
T load(const uint8_t* p, bool swap) {
  uint8_t b[sizeof(T)];
  std::memcpy(b, p, sizeof b);
  if (swap) std::reverse(b, b + sizeof b);
  return std::bit_cast<T>(b);
}

float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp == 0) {  // zero or subnormal: man * 2^-24
    float f = std::ldexp(float(man), -24);
    return sign ? -f : f;
  }
  uint32_t e32 = exp == 0x1f ? 0xff : exp + 112;  // rebias 15 -> 127; inf/nan stay inf/nan
  return std::bit_cast<float>(sign | (e32 << 23) | (man << 13));
}

// Fortran order stores the first index fastest; walk the C-order output and track the source offset.
Tensor fortran_to_c(const Tensor& in) {
  Tensor out = Tensor::empty(in.dtype(), in.shape());
  const Shape& s = in.shape();
  size_t es = dtype_size(in.dtype()), rank = s.size();
  std::vector<int64_t> idx(rank, 0), stride(rank, 1);
  for (size_t k = 1; k < rank; ++k) stride[k] = stride[k - 1] * s[k - 1];
  const auto* src = static_cast<const uint8_t*>(in.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  int64_t off = 0;
  for (int64_t i = 0; i < in.numel(); ++i) {
    std::memcpy(dst + i * es, src + off * es, es);
    for (size_t k = rank; k-- > 0;) {
      if (++idx[k] < s[k]) {
        off += stride[k];
        break;
      }
      off -= stride[k] * (s[k] - 1);
      idx[k] = 0;
    }
  }
  return out;
}

// The header and where the data starts.
Header parse_prefix(const uint8_t* data, size_t size, size_t* data_offset) {
  if (size < 10 || std::memcmp(data, kMagic.data(), kMagic.size()) != 0) fail("not a .npy file (bad magic)");
  uint8_t major = data[6], minor = data[7];
  if (major < 1 || major > 3 || minor != 0) fail("unsupported .npy format version {}.{}", major, minor);
  size_t prefix = major == 1 ? 10 : 12;
  if (size < prefix) fail("truncated header");
  size_t hlen = major == 1 ? load<uint16_t>(data + 8, false) : load<uint32_t>(data + 8, false);
  if (hlen > kMaxHeader) fail("header length {} is implausibly large", hlen);
  if (hlen > size - prefix) fail("truncated header: {} bytes declared, {} present", hlen, size - prefix);
  *data_offset = prefix + hlen;
  return parse_header(reinterpret_cast<const char*>(data + prefix), hlen);
}

// A unicode dtype ('<U12', '>U3', '=U1'): its character count, or 0 when `descr` is not one.
size_t unicode_chars(const std::string& descr, bool* big) {
  std::string_view c(descr);
  *big = !c.empty() && c[0] == '>';
  if (!c.empty() && std::string_view("<>|=").find(c[0]) != std::string_view::npos) c.remove_prefix(1);
  if (c.size() < 2 || c[0] != 'U' || c.size() > 10) return 0;
  size_t n = 0;
  for (char ch : c.substr(1)) {
    if (ch < '0' || ch > '9') return 0;
    n = n * 10 + size_t(ch - '0');
  }
  return n;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6)), out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12)), out += char(0x80 | ((cp >> 6) & 0x3F)), out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18)), out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F)), out += char(0x80 | (cp & 0x3F));
  }
}

// UTF-8 → code points; Error on malformed input (overlong forms, surrogates, beyond U+10FFFF).
std::vector<uint32_t> utf8_code_points(const std::string& s) {
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < s.size();) {
    const auto b0 = uint8_t(s[i]);
    int len = b0 < 0x80 ? 1 : (b0 & 0xE0) == 0xC0 ? 2 : (b0 & 0xF0) == 0xE0 ? 3 : (b0 & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + size_t(len) > s.size()) fail("string {} is not valid UTF-8", zip::quoted(s));
    uint32_t cp = len == 1 ? b0 : len == 2 ? b0 & 0x1F : len == 3 ? b0 & 0x0F : b0 & 0x07;
    for (int k = 1; k < len; ++k) {
      const auto b = uint8_t(s[i + size_t(k)]);
      if ((b & 0xC0) != 0x80) fail("string {} is not valid UTF-8", zip::quoted(s));
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      fail("string {} is not valid UTF-8", zip::quoted(s));
    cps.push_back(cp);
    i += size_t(len);
  }
  return cps;
}

std::vector<std::string> parse_npy_strings_unprefixed(const uint8_t* data, size_t size) {
  size_t off = 0;
  Header h = parse_prefix(data, size, &off);
  bool big = false;
  const size_t chars = unicode_chars(h.descr, &big);
  if (chars == 0) fail("dtype {} is not a unicode string dtype ('<U…')", zip::quoted(h.descr));
  if (h.shape.size() != 1) fail("a string array must be 1-D, this one has shape {}", shape_str(h.shape));
  const uint64_t n = uint64_t(h.shape[0]), item = uint64_t(chars) * 4;
  if (item > kMaxTensorBytes || (n > 0 && n > kMaxTensorBytes / item))
    fail("shape {} is too large", shape_str(h.shape));
  if (size - off != n * item)
    fail("{} data bytes for {} strings of {} characters (need {})", size - off, n, chars, n * item);
  std::vector<std::string> out;
  out.reserve(size_t(n));
  for (uint64_t i = 0; i < n; ++i) {
    const uint8_t* p = data + off + i * item;
    size_t len = chars;
    while (len > 0 && load<uint32_t>(p + (len - 1) * 4, big) == 0) --len;  // numpy pads with NULs
    std::string s;
    for (size_t k = 0; k < len; ++k) {
      const uint32_t cp = load<uint32_t>(p + k * 4, big);
      if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("string {} holds code point {:#x}", i, cp);
      append_utf8(s, cp);
    }
    out.push_back(std::move(s));
  }
  return out;
}

Tensor parse_npy_unprefixed(const uint8_t* data, size_t size) {
  size_t off = 0;
  Header h = parse_prefix(data, size, &off);
  bool big = false;
  if (unicode_chars(h.descr, &big) > 0)
    fail("unsupported dtype {}: a string array, not a tensor", zip::quoted(h.descr));
  Descr d = parse_descr(h.descr);
  int64_t n = checked_numel(h.shape, d.out);  // before anything is allocated
  // A zero-size array may not hide absurd dimensions either: strides computed from them would overflow.
  uint64_t extent = 1;
  for (int64_t x : h.shape) {
    if (x > 0 && uint64_t(x) > kMaxTensorBytes / extent) fail("shape {} is too large", shape_str(h.shape));
    extent *= uint64_t(std::max<int64_t>(x, 1));
  }
  size_t need = size_t(n) * d.size, have = size - off;
  if (have < need)
    fail("truncated data: shape {} of {} needs {} bytes, {} present", shape_str(h.shape), h.descr, need,
         have);
  if (have > need) fail("{} unexpected bytes after the data", have - need);

  Tensor t = Tensor::empty(d.out, h.shape);
  const uint8_t* src = data + off;
  if (d.kind == 'f' && d.size != 4) {
    float* o = t.data<float>();
    for (int64_t i = 0; i < n; ++i)
      o[i] = d.size == 8 ? float(load<double>(src + i * 8, d.swap))
                         : half_to_float(load<uint16_t>(src + i * 2, d.swap));
  } else if (n > 0) {
    auto* o = static_cast<uint8_t*>(t.raw());
    std::memcpy(o, src, need);
    if (d.swap)
      for (size_t i = 0; i < need; i += d.size) std::reverse(o + i, o + i + d.size);
    if (d.out == DType::Bool)
      for (size_t i = 0; i < need; ++i) o[i] = o[i] != 0;
  }
  return h.fortran && h.shape.size() > 1 ? fortran_to_c(t) : t;
}

const char* descr_of(DType t) {
  switch (t) {
    case DType::F32:
      return "<f4";
    case DType::I8:
      return "|i1";
    case DType::U8:
      return "|u1";
    case DType::I32:
      return "<i4";
    case DType::I64:
      return "<i8";
    case DType::Bool:
      return "|b1";
  }
  fail("serialize_npy: unknown dtype");
}

}  // namespace

Tensor parse_npy(const uint8_t* data, size_t size, const std::string& what) {
  try {
    return parse_npy_unprefixed(data, size);
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  }
}

std::vector<uint8_t> serialize_npy_raw(const std::string& descr, const Shape& shape, const void* data,
                                       size_t bytes) {
  std::string dims = "(";
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  dims += shape.size() == 1 ? ",)" : ")";
  std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr, dims);
  // numpy pads with spaces and a final newline so that the data starts 64-byte aligned.
  size_t prefix = 10, total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  if (total - prefix > 0xFFFF) {  // version 1.0 has a 16-bit header length
    prefix = 12;
    total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  }
  size_t hlen = total - prefix;
  std::vector<uint8_t> out(kMagic.begin(), kMagic.end());
  out.push_back(prefix == 10 ? 1 : 2);
  out.push_back(0);
  for (size_t i = 0; i < prefix - 8; ++i) out.push_back(uint8_t(hlen >> (8 * i)));
  out.insert(out.end(), dict.begin(), dict.end());
  out.resize(total - 1, ' ');
  out.push_back('\n');
  const auto* p = static_cast<const uint8_t*>(data);
  if (bytes) out.insert(out.end(), p, p + bytes);
  return out;
}

std::vector<uint8_t> serialize_npy(const Tensor& t) {
  TQ_CHECK(t.numel() == checked_numel(t.shape(), t.dtype()) && (t.numel() == 0 || t.raw()),
           "serialize_npy: the tensor is undefined");
  std::vector<uint8_t> out = serialize_npy_raw(descr_of(t.dtype()), t.shape(), t.raw(), t.nbytes());
  if (t.dtype() == DType::Bool)
    for (size_t i = out.size() - t.nbytes(); i < out.size(); ++i) out[i] = out[i] != 0;
  return out;
}

Tensor read_npy(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  return parse_npy(bytes.data(), bytes.size(), path);
}

void write_npy(const std::string& path, const Tensor& t) {
  write_file_atomic(path, serialize_npy(t));
}

NamedTensors parse_npz(const uint8_t* data, size_t size, const std::string& what) {
  NamedTensors out;
  std::unordered_set<std::string> seen;
  zip::read_members(data, size, what, [&](const std::string& name, const uint8_t* p, size_t n) {
    std::string key = name.ends_with(".npy") ? name.substr(0, name.size() - 4) : name;
    TQ_CHECK(seen.insert(key).second, "{}: duplicate member {}", what, zip::quoted(name));
    out.emplace_back(key, parse_npy(p, n, fmt::format("{}: member {}", what, zip::quoted(name))));
  });
  return out;
}

NamedTensors parse_npz_only(const uint8_t* data, size_t size, const std::string& what,
                            const std::vector<std::string>& names, std::vector<std::string>* skipped) {
  NamedTensors out;
  std::unordered_set<std::string> seen;
  auto key_of = [](const std::string& name) {
    return name.ends_with(".npy") ? name.substr(0, name.size() - 4) : name;
  };
  auto want = [&](const std::string& name) {
    std::string key = key_of(name);
    TQ_CHECK(seen.insert(key).second, "{}: duplicate member {}", what, zip::quoted(name));
    if (std::find(names.begin(), names.end(), key) != names.end()) return true;
    if (skipped) skipped->push_back(key);
    return false;
  };
  zip::read_members(
      data, size, what,
      [&](const std::string& name, const uint8_t* p, size_t n) {
        out.emplace_back(key_of(name),
                         parse_npy(p, n, fmt::format("{}: member {}", what, zip::quoted(name))));
      },
      want, zip::default_total_limit());
  return out;
}

std::vector<uint8_t> serialize_npz(const NamedTensors& arrays, bool compress) {
  zip::Writer w(compress);
  std::unordered_set<std::string> seen;
  for (const auto& [name, t] : arrays) {
    TQ_CHECK(seen.insert(name).second, "serialize_npz: duplicate array name {}", zip::quoted(name));
    std::vector<uint8_t> bytes = serialize_npy(t);
    w.add(name + ".npy", bytes.data(), bytes.size());
  }
  return w.finish();
}

std::vector<std::string> parse_npy_strings(const uint8_t* data, size_t size, const std::string& what) {
  try {
    return parse_npy_strings_unprefixed(data, size);
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  }
}

bool npy_holds_strings(const uint8_t* data, size_t size) {
  try {
    size_t off = 0;
    bool big = false;
    return unicode_chars(parse_prefix(data, size, &off).descr, &big) > 0;
  } catch (const Error&) {
    return false;
  }
}

std::vector<uint8_t> serialize_npy_strings(const std::vector<std::string>& utf8) {
  std::vector<std::vector<uint32_t>> cps;
  size_t chars = 1;  // numpy writes '<U1' for empty strings
  for (const auto& s : utf8) {
    cps.push_back(utf8_code_points(s));
    chars = std::max(chars, cps.back().size());
  }
  std::vector<uint8_t> data;
  data.reserve(utf8.size() * chars * 4);
  for (const auto& c : cps)
    for (size_t k = 0; k < chars; ++k) {
      const uint32_t v = k < c.size() ? c[k] : 0;
      for (int b = 0; b < 4; ++b) data.push_back(uint8_t(v >> (8 * b)));
    }
  return serialize_npy_raw(fmt::format("<U{}", chars), {int64_t(utf8.size())}, data.data(), data.size());
}

NamedTensors parse_npz_with_strings(const uint8_t* data, size_t size, const std::string& what,
                                    NamedStrings* strings) {
  NamedTensors out;
  std::unordered_set<std::string> seen;
  zip::read_members(data, size, what, [&](const std::string& name, const uint8_t* p, size_t n) {
    std::string key = name.ends_with(".npy") ? name.substr(0, name.size() - 4) : name;
    TQ_CHECK(seen.insert(key).second, "{}: duplicate member {}", what, zip::quoted(name));
    const std::string member = fmt::format("{}: member {}", what, zip::quoted(name));
    if (npy_holds_strings(p, n))
      strings->emplace_back(key, parse_npy_strings(p, n, member));
    else
      out.emplace_back(key, parse_npy(p, n, member));
  });
  return out;
}

NamedTensors read_npz_with_strings(const std::string& path, NamedStrings* strings) {
  std::vector<uint8_t> bytes = read_file(path);
  return parse_npz_with_strings(bytes.data(), bytes.size(), path, strings);
}

NamedTensors read_npz(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  return parse_npz(bytes.data(), bytes.size(), path);
}

void write_npz(const std::string& path, const NamedTensors& arrays, bool compress) {
  write_file_atomic(path, serialize_npz(arrays, compress));
}

}  // namespace tinyqat
