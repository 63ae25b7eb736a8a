// Whether an int8 model runs faster than its fp32 twin on this CPU, predicted from the kernels the runtime
// picks here: the ISA path of the integer micro-kernels (AVX-512 VNNI, AVX-512, AVX2, generic: decision
// 0002; TINYQAT_ISA forces a lower one) and, per node, the kind of work — dense convolution, depthwise
// convolution, GEMM (multiply-accumulates, ir/node_macs.h) or elements moved. The rates per path were
// measured on the fork's models and are checked per path by bench/int8_isa.sh (decision 0006). A session
// opens fp32 instead of a verified int8 twin that is predicted slower (reason int8-slower-on-this-cpu).
#pragma once
#include <string>

#include "ir/graph.h"
#include "ir/node_macs.h"

namespace tinyqat {

enum class KernelPath { Vnni, Avx512, Avx2, Generic };
KernelPath kernel_path();                    // this CPU's, after TINYQAT_ISA
const char* kernel_path_name(KernelPath p);  // "avx512-vnni", "avx512", "avx2", "generic"

// Predicted milliseconds of one run at the graph's inferred shapes (a free dimension counted as 1), on
// one thread: of a graph as the executor runs it (Executor::model().graph, after its fusions), or of a
// model as imported (the executor's fusions are applied here).
double predicted_run_ms(const Graph& executed, KernelPath path);
double predicted_run_ms(Model imported, KernelPath path);

// The thread pool's work estimate (ns of one core) for `macs` int8 multiply-accumulates of `family` on
// this CPU's kernel path: work::i8_macs assumes the VNNI kernels, scaled here by how much slower this path
// runs that family (the rates predicted_run_ms uses; exactly work::i8_macs on the VNNI path). Without it
// AVX2's int8 depthwise convs (~11x VNNI's time) were estimated too small to split.
double int8_work_ns(double macs, MacFamily family);

struct Int8Speed {
  KernelPath path = KernelPath::Generic;
  double int8_ms = 0, fp32_ms = 0;  // predicted, see predicted_run_ms
  double ratio() const { return fp32_ms > 0 ? int8_ms / fp32_ms : 1.0; }
  // Predicted slower by more than the prediction's error (10 %).
  bool slower() const { return int8_ms > 1.1 * fp32_ms; }
};
Int8Speed compare_int8_speed(const Graph& int8_executed, Model fp32_imported, KernelPath path);
// "on this CPU (avx2 kernels) the int8 file is predicted to take 2.10x the fp32 time (0.95 vs 0.45 ms a run)"
std::string describe(const Int8Speed& s);

}  // namespace tinyqat
