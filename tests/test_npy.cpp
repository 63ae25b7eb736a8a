#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "io/npy.h"
#include "io/zip.h"

namespace tinyqat {
namespace {

using Bytes = std::vector<uint8_t>;

// A .npy file with the given header dict, padded like numpy pads it.
Bytes npy(const std::string& dict, const Bytes& data, int major = 1) {
  size_t prefix = major == 1 ? 10 : 12;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64, hlen = total - prefix;
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
  for (size_t i = 0; i < prefix - 8; ++i) b.push_back(uint8_t(hlen >> (8 * i)));
  b.insert(b.end(), dict.begin(), dict.end());
  b.resize(total - 1, ' ');
  b.push_back('\n');
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

template <typename T>
Bytes raw(std::initializer_list<T> v) {
  Bytes b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.begin(), b.size());
  return b;
}

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

Tensor parse(const Bytes& b) {
  return parse_npy(b.data(), b.size(), "t.npy");
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

// The error must name the input first and then say what is wrong.
template <typename F>
void expect_error(F f, const std::string& what, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error, expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_EQ(m.rfind(what + ": ", 0), 0u) << m;
    EXPECT_NE(m.find(needle), std::string::npos) << m;
  }
}
void expect_npy_error(const Bytes& b, const std::string& needle) {
  expect_error([&] { parse(b); }, "t.npy", needle);
}
void expect_npz_error(const Bytes& b, const std::string& needle) {
  expect_error([&] { parse_npz(b.data(), b.size(), "a.npz"); }, "a.npz", needle);
}

Tensor filled(DType t, const Shape& s) {
  Tensor x = Tensor::empty(t, s);
  auto* p = static_cast<uint8_t*>(x.raw());
  for (size_t i = 0; i < x.nbytes(); ++i) p[i] = uint8_t(i * 37 + 11);
  if (t == DType::Bool)
    for (size_t i = 0; i < x.nbytes(); ++i) p[i] &= 1;
  return x;
}

void expect_same(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  ASSERT_EQ(a.nbytes(), b.nbytes());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("tq_npy_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

TEST(Npy, HeaderLayoutMatchesNumpy) {
  Bytes b = serialize_npy(Tensor::from_f32({3}, {1, 2, 3}));
  std::string d = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  ASSERT_EQ(b.size(), 128u + 12);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(b[8] | b[9] << 8, 118);
  EXPECT_EQ(std::string(b.begin() + 10, b.begin() + 10 + d.size()), d);
  EXPECT_EQ(b[127], '\n');
  for (size_t i = 10 + d.size(); i < 127; ++i) ASSERT_EQ(b[i], ' ');
  std::string h2(reinterpret_cast<const char*>(serialize_npy(filled(DType::I8, {2, 3})).data()) + 10, 56);
  EXPECT_EQ(h2, "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 3)");
}

TEST(Npy, RoundTripEveryDtype) {
  const std::pair<DType, const char*> cases[] = {{DType::F32, "<f4"}, {DType::I8, "|i1"},
                                                 {DType::U8, "|u1"},  {DType::I32, "<i4"},
                                                 {DType::I64, "<i8"}, {DType::Bool, "|b1"}};
  TempDir dir;
  for (auto [dt, descr] : cases) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor t = filled(dt, {2, 3, 5});
    Bytes b = serialize_npy(t);
    EXPECT_EQ((b.size() - t.nbytes()) % 64, 0u);
    EXPECT_NE(std::string(b.begin(), b.end()).find(std::string("'descr': '") + descr + "'"),
              std::string::npos);
    expect_same(parse(b), t);
    std::string path = dir.file("x.npy");
    write_npy(path, t);
    expect_same(read_npy(path), t);
  }
}

TEST(Npy, ScalarAndZeroSize) {
  Bytes s = serialize_npy(Tensor::scalar_f32(3.5f));
  EXPECT_NE(std::string(s.begin(), s.end()).find("'shape': (), }"), std::string::npos);
  Tensor back = parse(s);
  EXPECT_EQ(back.rank(), 0);
  ASSERT_EQ(back.numel(), 1);
  EXPECT_EQ(*back.data<float>(), 3.5f);

  Tensor z = Tensor::empty(DType::I32, {0, 5});
  Bytes zb = serialize_npy(z);
  EXPECT_EQ(zb.size() % 64, 0u);  // header only
  Tensor zback = parse(zb);
  EXPECT_EQ(zback.shape(), (Shape{0, 5}));
  EXPECT_EQ(zback.numel(), 0);
  EXPECT_EQ(zback.dtype(), DType::I32);
  expect_error([] { serialize_npy(Tensor()); }, "serialize_npy", "undefined");
}

TEST(Npy, FortranOrderIsTransposed) {
  // a[i][j] = 10*i + j stored column-major.
  Tensor t = parse(npy(dict("<i4", "(2, 3)", true), raw<int32_t>({0, 10, 1, 11, 2, 12})));
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<int32_t>(t), (std::vector<int32_t>{0, 1, 2, 10, 11, 12}));
  // 3-D: a[i][j][k] = 100i + 10j + k, first index fastest in the file.
  std::vector<int64_t> f;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) f.push_back(100 * i + 10 * j + k);
  Bytes data(f.size() * 8);
  std::memcpy(data.data(), f.data(), data.size());
  Tensor t3 = parse(npy(dict("<i8", "(2, 3, 4)", true), data));
  for (int i = 0, n = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k, ++n) ASSERT_EQ(t3.data<int64_t>()[n], 100 * i + 10 * j + k);
}

TEST(Npy, ConvertsFloat64AndFloat16) {
  Tensor d = parse(npy(dict("<f8", "(4,)"), raw<double>({1.5, -2.25, 1e300, 0.1})));
  EXPECT_EQ(d.dtype(), DType::F32);
  EXPECT_EQ(d.data<float>()[0], 1.5f);
  EXPECT_EQ(d.data<float>()[1], -2.25f);
  EXPECT_TRUE(std::isinf(d.data<float>()[2]));
  EXPECT_EQ(d.data<float>()[3], 0.1f);
  Tensor h = parse(npy(dict("<f2", "(6,)"), raw<uint16_t>({0x3C00, 0xC000, 0x0001, 0x7C00, 0x7E00, 0x3555})));
  EXPECT_EQ(h.dtype(), DType::F32);
  EXPECT_EQ(h.data<float>()[0], 1.0f);
  EXPECT_EQ(h.data<float>()[1], -2.0f);
  EXPECT_EQ(h.data<float>()[2], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(h.data<float>()[3]));
  EXPECT_TRUE(std::isnan(h.data<float>()[4]));
  EXPECT_NEAR(h.data<float>()[5], 1.0f / 3, 1e-3);
}

TEST(Npy, OtherHeaderVariants) {
  // Big-endian is byte-swapped; bools other than 0/1 are normalised.
  EXPECT_EQ(values<int32_t>(parse(npy(dict(">i4", "(2,)"), {0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe}))),
            (std::vector<int32_t>{1, -2}));
  EXPECT_EQ(values<uint8_t>(parse(npy(dict("|b1", "(3,)"), {0, 1, 7}))), (std::vector<uint8_t>{0, 1, 1}));
  // Versions 2.0 and 3.0 have a 32-bit header length.
  for (int v : {2, 3})
    EXPECT_EQ(parse(npy(dict("<f4", "(2, 1)"), raw<float>({1, 2}), v)).shape(), (Shape{2, 1}));
  // Python 2 era headers: double quotes, key order, long suffix, no trailing comma.
  Tensor p2 = parse(npy("{\"shape\": (2L,), 'fortran_order':False,'descr':u'<i8'}", raw<int64_t>({5, 6})));
  EXPECT_EQ(values<int64_t>(p2), (std::vector<int64_t>{5, 6}));
}

TEST(Npy, MalformedInputsAreRefused) {
  Bytes good = npy(dict("<f4", "(2,)"), raw<float>({1, 2}));
  Bytes b = good;
  b[1] = 'X';
  expect_npy_error(b, "bad magic");
  expect_npy_error(Bytes(good.begin(), good.begin() + 5), "bad magic");
  expect_npy_error(Bytes(good.begin(), good.begin() + 40), "truncated header");
  b = good;
  b[6] = 4;
  expect_npy_error(b, "version 4.0");
  expect_npy_error(npy("['descr', '<f4']", {}), "not a dict");
  expect_npy_error(npy(dict("<c8", "(2,)"), Bytes(16)), "unsupported dtype '<c8'");
  expect_npy_error(npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", Bytes(4)),
                   "structured");
  expect_npy_error(npy(dict("<f4", "(2, -3)"), {}), "negative dimension");
  expect_npy_error(npy(dict("<f4", "(2, 'x')"), {}), "not an integer");
  expect_npy_error(npy(dict("<f4", "(2.5,)"), {}), "in 'shape'");
  expect_npy_error(npy(dict("<f4", "(3)"), Bytes(12)), "not a tuple");
  expect_npy_error(npy(dict("<f4", "[3]"), Bytes(12)), "not a tuple");
  expect_npy_error(npy(dict("<f4", "(99999999999999999999,)"), {}), "too large");
  expect_npy_error(npy("{'descr': '<f4', 'shape': (2,)}", Bytes(8)), "needs the keys");
  expect_npy_error(npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", Bytes(8)), "True or False");
  expect_npy_error(npy(dict("<f4", "(2,)") + " x", Bytes(8)), "after the dict");
  expect_npy_error(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", Bytes(8)),
                   "unexpected key 'x'");
  expect_npy_error(npy(dict("<f4", "(3,)"), raw<float>({1, 2})), "truncated data");
  expect_npy_error(npy(dict("<f4", "(1,)"), raw<float>({1, 2})), "unexpected bytes after");
  // Refused from the header alone: nothing near 4e22 bytes is ever requested.
  expect_npy_error(npy(dict("<f4", "(100000000000, 100000000000)"), {}), "too large");
  expect_npy_error(npy(dict("<f4", "(0, 100000000000, 100000000000)", true), {}), "too large");
}

NamedTensors sample() {
  return {{"w", filled(DType::F32, {4, 3})},  {"b", Tensor::from_i64({2}, {7, -9})},
          {"s", Tensor::scalar_f32(2.5f)},    {"e", Tensor::empty(DType::U8, {0})},
          {"flag", filled(DType::Bool, {5})}, {"z", Tensor::zeros(DType::F32, {1000})}};
}

TEST(Npz, RoundTripStoredAndCompressed) {
  NamedTensors in = sample();
  TempDir dir;
  for (bool compress : {false, true}) {
    SCOPED_TRACE(compress);
    Bytes b = serialize_npz(in, compress);
    EXPECT_EQ(b[8], compress ? 8 : 0);  // compression method of the first local header
    NamedTensors out = parse_npz(b.data(), b.size(), "a.npz");
    ASSERT_EQ(out.size(), in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      EXPECT_EQ(out[i].first, in[i].first);
      expect_same(out[i].second, in[i].second);
    }
    std::string path = dir.file("a.npz");
    write_npz(path, in, compress);
    EXPECT_EQ(read_npz(path).size(), in.size());
  }
  EXPECT_LT(serialize_npz(in, true).size() + 3000, serialize_npz(in, false).size());
  EXPECT_EQ(serialize_npz({}, false).size(), 22u);  // just the end record
  EXPECT_TRUE(parse_npz(serialize_npz({}, true).data(), 22, "a.npz").empty());
  expect_error(
      [] {
        serialize_npz({{"a", Tensor::scalar_f32(1)}, {"a", Tensor::scalar_f32(2)}}, false);
      },
      "serialize_npz", "duplicate");
}

TEST(Npz, BytesAreDeterministic) {
  for (bool compress : {false, true}) {
    Bytes a = serialize_npz(sample(), compress), b = serialize_npz(sample(), compress);
    EXPECT_EQ(a, b);
    EXPECT_EQ(a[10] | a[11] << 8, 0);     // DOS time 00:00
    EXPECT_EQ(a[12] | a[13] << 8, 0x21);  // DOS date 1980-01-01
  }
}

// Written by Python's zipfile exactly as numpy.savez_compressed does (force_zip64=True, so local
// headers carry 0xFFFFFFFF sizes and a ZIP64 extra field): x = float32 [1, 2.5, -3], n = int64 [7, -9].
const char* kNumpyStyleNpz =
    "504b03042d0000000800000021006120543bffffffffffffffff05001400782e6e7079010010008c000000000000005000000000"
    "00"
    "00009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a06e9366a2aea3a09e965f54529498179f5f94920a12774bcc294e058a17"
    "67"
    "2416a402f91ac63a9a3a0ab50a14002e0686067b060605070606870300504b03042d00000008000000210055892b6fffffffffff"
    "ff"
    "ffff050014006e2e6e70790100100090000000000000004b000000000000009bec17ea1b10c9c850c650ad9e925a9c5ca46ea5a0"
    "6e"
    "9369a1aea3a09e965f54529498179f5f94920a12774bcc294e058a17672416a402f91a463a9a3a0ab50a14002e760608f8fe1f02"
    "00"
    "504b01022d032d0000000800000021006120543b500000008c000000050000000000000000000000800100000000782e6e707950"
    "4b"
    "01022d032d00000008000000210055892b6f4b000000900000000500000000000000000000008001870000006e2e6e7079504b05"
    "06"
    "000000000200020066000000090100000000";

TEST(Npz, ReadsNumpyStyleZip64Archive) {
  std::string hex = kNumpyStyleNpz;
  Bytes b;
  for (size_t i = 0; i < hex.size(); i += 2) b.push_back(uint8_t(std::stoi(hex.substr(i, 2), nullptr, 16)));
  NamedTensors t = parse_npz(b.data(), b.size(), "a.npz");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].first, "x");
  EXPECT_EQ(values<float>(t[0].second), (std::vector<float>{1, 2.5f, -3}));
  EXPECT_EQ(t[1].first, "n");
  EXPECT_EQ(values<int64_t>(t[1].second), (std::vector<int64_t>{7, -9}));
}

TEST(Npz, Zip64RecordsRoundTrip) {
  for (bool compress : {false, true}) {
    zip::Writer w(compress, /*force_zip64=*/true);
    Bytes one = serialize_npy(Tensor::from_f32({2}, {1, 2})), two = serialize_npy(Tensor::scalar_f32(4));
    w.add("one.npy", one.data(), one.size());
    w.add("two.npy", two.data(), two.size());
    Bytes b = w.finish();
    EXPECT_EQ(b[b.size() - 22 + 10], 0xff);  // entry count deferred to the ZIP64 end record
    NamedTensors t = parse_npz(b.data(), b.size(), "a.npz");
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[0].first, "one");
    EXPECT_EQ(values<float>(t[0].second), (std::vector<float>{1, 2}));
    EXPECT_EQ(*t[1].second.data<float>(), 4.0f);
  }
}

// Offset of the central directory and the first central entry's fields, for targeted corruption.
size_t cd_offset(const Bytes& b) {
  size_t e = b.size() - 22;
  return b[e + 16] | b[e + 17] << 8 | b[e + 18] << 16 | size_t(b[e + 19]) << 24;
}

TEST(Npz, CorruptArchivesAreRefused) {
  NamedTensors two = {{"a", Tensor::from_f32({3}, {1, 2, 3})}, {"b", Tensor::from_i64({2}, {4, 5})}};
  Bytes stored = serialize_npz(two, false), packed = serialize_npz(two, true);

  Bytes b = stored;
  b[cd_offset(b) - 1] ^= 0x40;  // last data byte of the last member
  expect_npz_error(b, "member 'b.npy': CRC-32 mismatch");
  b = packed;
  b[cd_offset(b) + 16] ^= 1;  // CRC field of the first central entry
  expect_npz_error(b, "CRC-32 mismatch");

  // Truncations: the end record gone, the central directory cut short, an entry count that lies.
  expect_npz_error(Bytes(stored.begin(), stored.end() - 10), "no end of central directory");
  b = stored;
  b.erase(b.begin() + cd_offset(b) + 20, b.begin() + cd_offset(b) + 40);
  expect_npz_error(b, "lies outside the archive");
  b = stored;
  b[b.size() - 22 + 10] = 3;
  expect_npz_error(b, "entry 2 is truncated");
  b = stored;
  b[b.size() - 22 + 12] -= 10;  // central directory size
  expect_npz_error(b, "is truncated");

  // Declared sizes that disagree with the deflate stream, or promise a bomb.
  b = packed;
  b[cd_offset(b) + 24] -= 1;  // uncompressed size
  expect_npz_error(b, "more than the declared");
  b = packed;
  b[cd_offset(b) + 24] += 1;
  expect_npz_error(b, "but the header declares");
  b = packed;
  b[cd_offset(b) + 27] = 0x7f;
  expect_npz_error(b, "compressed bytes");
  b = packed;
  b[cd_offset(b) + 21] = 0x10;  // compressed size past the end of the archive
  expect_npz_error(b, "run past the end");
  b = packed;
  b[cd_offset(b) + 10] = 12;  // bzip2
  expect_npz_error(b, "compression method 12");
  b = stored;
  b[cd_offset(b) + 42] = 7;  // local header offset
  expect_npz_error(b, "no local header");

  expect_npz_error(serialize_npy(Tensor::scalar_f32(1)), "not a zip archive");
  zip::Writer w(false);
  w.add("bad.npy", reinterpret_cast<const uint8_t*>("hello"), 5);
  Bytes bad = w.finish();
  expect_npz_error(bad, "member 'bad.npy': not a .npy file");
}

}  // namespace
}  // namespace tinyqat
