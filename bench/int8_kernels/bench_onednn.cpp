// oneDNN (Debian libdnnl-dev 2.6) int8 convolution on the two shapes: u8 activations, s8 weights,
// int32 bias, u8 output with per-channel output scales, 1 thread (OMP_NUM_THREADS=1). Two timings: the
// convolution primitive alone in the layouts it picks (format `any`: blocked nChw16c/nhwc), and with
// the reorders from/to plain NCHW that our runtime's tensors would need.
#include <dnnl.hpp>

#include "common.h"

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

int main() {
  engine eng(engine::kind::cpu, 0);
  stream st(eng);
  for (const Shape& s : kShapes) {
    memory::dims src_d = {1, s.C, s.H, s.W}, w_d = {s.M, s.C, s.K, s.K}, b_d = {s.M},
                 dst_d = {1, s.M, s.H, s.W};
    auto src_any = memory::desc(src_d, dt::u8, tag::any), w_any = memory::desc(w_d, dt::s8, tag::any),
         b_md = memory::desc(b_d, dt::s32, tag::x), dst_any = memory::desc(dst_d, dt::u8, tag::any);
    auto cd = convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, src_any,
                                        w_any, b_md, dst_any, {1, 1}, {s.pad, s.pad}, {s.pad, s.pad});
    primitive_attr attr;
    attr.set_output_scales(2, std::vector<float>(s.M, 0.0009f));  // mask 2: per output channel
    auto pd = convolution_forward::primitive_desc(cd, attr, eng);
    std::printf("# oneDNN %s: impl %s, src %s\n", s.name, pd.impl_info_str(),
                pd.src_desc() == memory::desc(src_d, dt::u8, tag::nchw) ? "nchw" : "blocked/nhwc");
    auto x = lcg_bytes(size_t(s.C) * s.H * s.W, 1, 0, 255);
    auto w = lcg_bytes(size_t(s.M) * s.C * s.K * s.K, 2, 0, 254);
    for (auto& b : w) b = static_cast<uint8_t>(int8_t(int(b) - 127));
    std::vector<int32_t> bias(s.M, 100);
    memory src_plain({src_d, dt::u8, tag::nchw}, eng, x.data()),
        w_plain({w_d, dt::s8, tag::oihw}, eng, w.data());
    memory dst_plain({dst_d, dt::u8, tag::nchw}, eng), bmem(b_md, eng, bias.data());
    memory src(pd.src_desc(), eng), wts(pd.weights_desc(), eng), dst(pd.dst_desc(), eng);
    reorder(w_plain, wts).execute(st, w_plain, wts);
    reorder r_in(src_plain, src), r_out(dst, dst_plain);
    convolution_forward conv(pd);
    auto run_conv = [&] {
      conv.execute(
          st, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wts}, {DNNL_ARG_BIAS, bmem}, {DNNL_ARG_DST, dst}});
      st.wait();
    };
    r_in.execute(st, src_plain, src);
    report("oneDNN 2.6 (own layout)", s, time_ms(run_conv));
    report("oneDNN 2.6 (+ NCHW reorders)", s, time_ms([&] {
             r_in.execute(st, src_plain, src);
             run_conv();
             r_out.execute(st, dst, dst_plain);
             st.wait();
           }));
  }
}
