#include "support/parquet_support.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "support/test_support.h"

namespace tinyqat::test {

namespace {
fs::path duckdb_script() {
  return fs::path(TQ_SOURCE_DIR) / "tools" / "parquet" / "duckdb_sql.js";
}
}  // namespace

std::string duckdb_missing() {
  static const std::string why = []() -> std::string {
    if (!fs::exists(fs::path(TQ_SOURCE_DIR) / "tools" / "parquet" / "node_modules" / "@duckdb" / "node-api"))
      return "tools/parquet/node_modules/@duckdb/node-api is not installed (scripts/setup.sh)";
    if (std::system("node --version >/dev/null 2>&1") != 0) return "node is not installed";
    if (std::system(fmt::format("node '{}' --version >/dev/null 2>&1", duckdb_script().string()).c_str()) !=
        0)
      return "node cannot run @duckdb/node-api";
    return "";
  }();
  return why;
}

void run_duckdb(const std::string& sql, const fs::path& work) {
  fs::create_directories(work);
  const fs::path script = work / "duckdb_script.sql", log = work / "duckdb_log.txt";
  std::ofstream(script) << sql;
  // In `work`: relative paths in the SQL resolve there.
  const std::string cmd = fmt::format("cd '{}' && node '{}' '{}' >'{}' 2>&1", work.string(),
                                      duckdb_script().string(), script.string(), log.string());
  const int rc = std::system(cmd.c_str());
  if (rc != 0) throw std::runtime_error("DuckDB failed: " + text_of(log));
}

std::string arrow_missing() {
  static const std::string why = []() -> std::string {
    const fs::path dir = fs::path(TQ_SOURCE_DIR) / "tools" / "parquet";
    if (!fs::exists(dir / "node_modules" / "parquet-wasm"))
      return "tools/parquet/node_modules/parquet-wasm is not installed (scripts/setup.sh)";
    const std::string cmd =
        fmt::format("cd '{}' && node -e \"require('parquet-wasm/node')\" >/dev/null 2>&1", dir.string());
    if (std::system(cmd.c_str()) != 0) return "node cannot load parquet-wasm";
    return "";
  }();
  return why;
}

void arrow_rewrite(const fs::path& in, const std::string& jobs_json, const fs::path& work) {
  const fs::path jobs = work / "arrow_jobs.json", log = work / "arrow_log.txt";
  std::ofstream(jobs) << jobs_json;
  const fs::path script = fs::path(TQ_SOURCE_DIR) / "tools" / "parquet" / "arrow_rewrite.js";
  const int rc = std::system(
      fmt::format("node '{}' '{}' '{}' >'{}' 2>&1", script.string(), in.string(), jobs.string(), log.string())
          .c_str());
  if (rc != 0) throw std::runtime_error("arrow_rewrite failed: " + text_of(log));
}

void CompactWriter::varint(uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

void CompactWriter::field(int id, int type) {
  const int delta = id - last_.back();
  if (delta > 0 && delta <= 15) {
    out.push_back(static_cast<uint8_t>(delta << 4 | type));
  } else {
    out.push_back(static_cast<uint8_t>(type));
    zigzag(id);
  }
  last_.back() = id;
}

void CompactWriter::str(int id, const std::string& s) {
  field(id, 8);
  element_str(s);
}

void CompactWriter::element_str(const std::string& s) {
  varint(s.size());
  out.insert(out.end(), s.begin(), s.end());
}

void CompactWriter::begin(int id) {
  field(id, 12);
  last_.push_back(0);
}

void CompactWriter::end() {
  out.push_back(0);
  last_.pop_back();
}

void CompactWriter::list(int id, int elem_type, size_t n) {
  field(id, 9);
  if (n < 15) {
    out.push_back(static_cast<uint8_t>(n << 4 | elem_type));
  } else {
    out.push_back(static_cast<uint8_t>(0xf0 | elem_type));
    varint(n);
  }
}

std::vector<uint8_t> handmade_parquet(int64_t rows, const Lies& lies) {
  std::vector<uint8_t> file = {'P', 'A', 'R', '1'};
  struct Chunk {
    std::string name;
    int type, repetition;
    int64_t offset, size;
  };
  std::vector<Chunk> chunks;
  auto add_page = [&](const std::string& name, int type, int repetition, const std::vector<uint8_t>& body) {
    CompactWriter h;
    h.i32(1, 0);  // DATA_PAGE
    h.i32(2, lies.page_uncompressed >= 0 ? lies.page_uncompressed : static_cast<int32_t>(body.size()));
    h.i32(3, static_cast<int32_t>(body.size()));
    h.begin(5);
    h.i32(1, lies.page_num_values >= 0 ? lies.page_num_values : static_cast<int32_t>(rows));
    h.i32(2, 0);                        // PLAIN
    h.i32(3, repetition == 1 ? 4 : 3);  // definition levels: BIT_PACKED (optional column) / RLE
    h.i32(4, 3);                        // repetition levels: RLE (none: flat)
    h.end();
    h.out.push_back(0);
    const int64_t offset = static_cast<int64_t>(file.size());
    file.insert(file.end(), h.out.begin(), h.out.end());
    file.insert(file.end(), body.begin(), body.end());
    chunks.push_back({name, type, repetition, offset, static_cast<int64_t>(file.size()) - offset});
  };
  std::vector<uint8_t> x, y, z;
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t xv = 7 * i - 3;
    const double yv = static_cast<double>(i) / 4;
    x.insert(x.end(), reinterpret_cast<const uint8_t*>(&xv), reinterpret_cast<const uint8_t*>(&xv) + 8);
    y.insert(y.end(), reinterpret_cast<const uint8_t*>(&yv), reinterpret_cast<const uint8_t*>(&yv) + 8);
  }
  // BIT_PACKED levels, most significant bit first, then the present values.
  std::vector<uint8_t> levels(static_cast<size_t>((rows + 7) / 8), 0);
  for (int64_t i = 0; i < rows; ++i)
    if (i % 3 != 2) {
      levels[static_cast<size_t>(i / 8)] |= static_cast<uint8_t>(0x80 >> (i % 8));
      const int32_t zv = static_cast<int32_t>(i);
      z.insert(z.end(), reinterpret_cast<const uint8_t*>(&zv), reinterpret_cast<const uint8_t*>(&zv) + 4);
    }
  levels.insert(levels.end(), z.begin(), z.end());
  add_page("x", 2, 0, x);
  add_page("y", 5, 0, y);
  add_page("z", lies.z_type, 1, levels);

  CompactWriter f;
  f.i32(1, 1);
  f.list(2, 12, 4);
  f.element_struct();
  f.str(4, "schema");
  f.i32(5, 3);
  f.end();
  for (const auto& c : chunks) {
    f.element_struct();
    f.i32(1, c.type);
    f.i32(3, c.repetition);
    f.str(4, c.name);
    f.end();
  }
  f.i64(3, lies.file_rows >= 0 ? lies.file_rows : rows);
  f.list(4, 12, 1);
  f.element_struct();
  f.list(1, 12, chunks.size());
  for (const auto& c : chunks) {
    f.element_struct();
    f.i64(2, c.offset);
    f.begin(3);
    f.i32(1, c.type);
    f.list(2, 5, 1);
    f.element_i32(0);
    f.list(3, 8, 1);
    f.element_str(c.name);
    f.i32(4, 0);
    f.i64(5, lies.row_group_rows >= 0 ? lies.row_group_rows : rows);
    f.i64(6, c.size);
    f.i64(7, c.size + lies.chunk_bytes_delta);
    f.i64(9, c.offset);
    f.end();
    f.end();
  }
  f.i64(2, static_cast<int64_t>(file.size()));
  f.i64(3, lies.row_group_rows >= 0 ? lies.row_group_rows : rows);
  f.end();
  f.str(6, "tinyqat tests (hand-built)");
  f.out.push_back(0);
  file.insert(file.end(), f.out.begin(), f.out.end());
  const uint32_t n = static_cast<uint32_t>(f.out.size());
  for (int i = 0; i < 4; ++i) file.push_back(static_cast<uint8_t>(n >> (8 * i)));
  file.insert(file.end(), {'P', 'A', 'R', '1'});
  return file;
}

}  // namespace tinyqat::test
