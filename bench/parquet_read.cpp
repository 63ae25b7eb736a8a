// Parquet read speed: opens each file given and decodes every column of every row group (what a cache
// load does before the float conversion). Two timings, best of 3 each: "cold" with glibc's default
// allocation (large buffers are fresh mmap()s, so every run pays the first-touch page faults of its
// output — on the VMs this project runs on about 4.7 ms per MiB), and "warm" with freed memory kept in
// the heap (mallopt), which is the decoding alone.
//   bench_parquet_read FILE.parquet...
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/parquet.h"

namespace {

struct Timing {
  double seconds = 1e30;
  int64_t rows = 0;
  uint64_t bytes = 0;
};

Timing best_of_3(const char* path) {
  Timing t;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    const tinyqat::parquet::File f = tinyqat::parquet::File::open(path);
    for (int c = 0; c < static_cast<int>(f.columns().size()); ++c)
      if (f.read_column(c).rows != f.num_rows()) std::exit(1);
    t.seconds =
        std::min(t.seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    t.rows = f.num_rows(), t.bytes = f.file_bytes();
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Timing> cold, warm;
  try {
    for (int a = 1; a < argc; ++a) cold.push_back(best_of_3(argv[a]));
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    for (int a = 1; a < argc; ++a) warm.push_back(best_of_3(argv[a]));
  } catch (const tinyqat::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  std::printf("%-52s %8s %9s %10s %10s %10s %10s\n", "file", "MiB", "rows", "cold ms", "cold MiB/s",
              "warm ms", "Mrows/s");
  for (int a = 1; a < argc; ++a) {
    const Timing& c = cold[static_cast<size_t>(a - 1)];
    const Timing& w = warm[static_cast<size_t>(a - 1)];
    const double mib = static_cast<double>(c.bytes) / 1048576.0;
    std::printf("%-52s %8.2f %9lld %10.1f %10.1f %10.1f %10.2f\n", argv[a], mib,
                static_cast<long long>(c.rows), c.seconds * 1e3, mib / c.seconds, w.seconds * 1e3,
                static_cast<double>(w.rows) / w.seconds / 1e6);
  }
  return 0;
}
