#include "runtime/kernels/sgemm.h"

#include <algorithm>
#include <cstring>

#include "runtime/kernels/cpu_features.h"

namespace tinyqat {

const SgemmKernel& sgemm_kernel() {
  static const SgemmKernel& k = []() -> const SgemmKernel& {
    switch (cpu_isa()) {
      case Isa::Avx512:
        return sgemm_kernel_avx512();
      case Isa::Avx2:
        return sgemm_kernel_avx2();
      default:
        return sgemm_kernel_generic();
    }
  }();
  return k;
}

void pack_panel(const float* base, int64_t rs, int64_t ks, int64_t rows, int64_t K, int width, float* out) {
  if (ks == 1) {
    for (int64_t k = 0; k < K; ++k) {
      float* o = out + k * width;
      for (int64_t r = 0; r < rows; ++r) o[r] = base[r * rs + k];
      for (int64_t r = rows; r < width; ++r) o[r] = 0.f;
    }
    return;
  }
  for (int64_t k = 0; k < K; ++k) {
    float* o = out + k * width;
    const float* src = base + k * ks;
    if (rs == 1) {
      std::memcpy(o, src, rows * sizeof(float));
    } else {
      for (int64_t r = 0; r < rows; ++r) o[r] = src[r * rs];
    }
    for (int64_t r = rows; r < width; ++r) o[r] = 0.f;
  }
}

void sgemm_panel(int64_t M, int mr, int64_t p, int64_t* i0, int* rows) {
  if (M <= 0) {
    *i0 = 0, *rows = 0;
    return;
  }
  const int64_t panels = (M + mr - 1) / mr, base = M / panels, extra = M % panels;
  *i0 = p * base + std::min(p, extra);
  *rows = static_cast<int>(base + (p < extra ? 1 : 0));
}

PackedA pack_a(const float* base, int64_t rs, int64_t ks, int64_t M, int64_t K) {
  PackedA a;
  a.M = M;
  a.K = K;
  a.data.resize(static_cast<size_t>(M * K));
  const int mr = sgemm_kernel().mr;
  for (int64_t p = 0, panels = (M + mr - 1) / mr; p < panels; ++p) {
    int64_t i0;
    int rows;
    sgemm_panel(M, mr, p, &i0, &rows);
    pack_panel(base + i0 * rs, rs, ks, rows, K, rows, a.data.data() + i0 * K);
  }
  return a;
}

PackedPanels pack_all(const float* base, int64_t rs, int64_t ks, int64_t rows, int64_t K, int width) {
  PackedPanels p;
  p.rows = rows;
  p.K = K;
  p.width = width;
  int64_t panels = (rows + width - 1) / width;
  p.data.resize(static_cast<size_t>(panels * K * width));
  for (int64_t i = 0; i < panels; ++i) {
    int64_t r0 = i * width;
    pack_panel(base + r0 * rs, rs, ks, std::min<int64_t>(width, rows - r0), K, width,
               p.data.data() + i * K * width);
  }
  return p;
}

void packed_rows(const float* strip, int64_t K, int width, const float** rows) {
  for (int64_t k = 0; k < K; ++k) rows[k] = strip + k * width;
}

BRowSource strided_b(const float* base, int64_t ks, int64_t js, int64_t N, int64_t K) {
  return [=](int64_t j0, int nr, float* buf, const float** rows) {
    const int w = sgemm_kernel().nr;
    if (js == 1 && nr == w) {  // a whole strip of contiguous rows: read in place
      for (int64_t k = 0; k < K; ++k) rows[k] = base + k * ks + j0;
      return;
    }
    pack_panel(base + j0 * js, js, ks, nr, K, w, buf);
    packed_rows(buf, K, w, rows);
  };
}

BRowSource prepacked_b(const PackedPanels& p) {
  return [&p](int64_t j0, int, float*, const float** rows) {
    packed_rows(p.panel(j0 / p.width), p.K, p.width, rows);
  };
}

void sgemm(const SgemmArgs& g, ThreadPool& pool) {
  const SgemmKernel& uk = sgemm_kernel();
  const int64_t mpanels = (g.M + uk.mr - 1) / uk.mr;
  const int64_t nstrips = g.n_tiles >= 0 ? g.n_tiles : (g.N + uk.nr - 1) / uk.nr;
  if (mpanels == 0 || nstrips == 0) return;
  // Work items are (strip, block of panels); a strip is packed once per item. Blocks keep the B strip
  // hot while several A panels pass over it.
  const int64_t mblock = std::max<int64_t>(1, std::min<int64_t>(mpanels, 16));
  const int64_t mblocks = (mpanels + mblock - 1) / mblock;
  const int64_t items = nstrips * mblocks;
  const double work_ns = std::max(work::f32_macs(static_cast<double>(g.M) * g.N * g.K),
                                  work::bytes(4.0 * static_cast<double>(g.M * g.N)));
  pool.parallel_for(items, {work_ns}, [&](int64_t begin, int64_t end, int) {
    std::vector<float> bbuf(static_cast<size_t>(g.K * uk.nr) + 16),
        abuf(static_cast<size_t>(g.K * uk.mr) + 16);
    std::vector<const float*> rows(static_cast<size_t>(g.K) + 1);
    int64_t cur_strip = -1, j0 = 0;
    int nr = 0;
    for (int64_t it = begin; it < end; ++it) {
      int64_t s = it / mblocks, mb = it % mblocks;
      if (s != cur_strip) {
        if (g.tile) {
          g.tile(s, &j0, &nr);
        } else {
          j0 = s * uk.nr;
          nr = static_cast<int>(std::min<int64_t>(uk.nr, g.N - j0));
        }
        g.b(j0, nr, bbuf.data(), rows.data());
        cur_strip = s;
      }
      for (int64_t p = mb * mblock; p < std::min(mpanels, (mb + 1) * mblock); ++p) {
        int64_t i0;
        int mr;
        sgemm_panel(g.M, uk.mr, p, &i0, &mr);
        const float* ap;
        int64_t a_rs = 1, a_ks = mr;
        if (!g.a_direct) {
          ap = g.a(i0, mr, abuf.data());
        } else {  // A in place: the kernel reads exactly the panel's rows
          ap = g.a_direct + i0 * g.a_rs;
          a_rs = g.a_rs, a_ks = g.a_ks;
        }
        uk.run(g.K, ap, a_rs, a_ks, rows.data(), g.C + i0 * g.rs_c + j0 * g.cs_c, g.rs_c, g.cs_c, mr, nr,
               g.bias_m ? g.bias_m + i0 : nullptr, g.bias_n ? g.bias_n + j0 : nullptr,
               g.R ? g.R + i0 * g.rs_c + j0 * g.cs_c : nullptr, g.lo, g.hi);
      }
    }
  });
}

}  // namespace tinyqat
