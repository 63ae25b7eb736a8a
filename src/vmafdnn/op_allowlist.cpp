// The op allowlist: exactly the ops the runtime executes, read from the one list of operators
// (src/ir/op_list.h), so the quantized ops of the fork's own dynamic-int8 files (DynamicQuantizeLinear,
// ConvInteger, MatMulInteger) and of QDQ / QOperator files load — the fork's list lacks them.
#include <onnx/onnx_pb.h>

#include <cerrno>

#include "ir/op_list.h"
#include "vmafdnn/vmafdnn.h"

namespace tinyqat::vmafdnn {

bool op_allowed(const std::string& domain, const std::string& op_type) {
  const std::string d = domain == "ai.onnx" ? "" : domain;
  const OpInfo* info = find_op(d, op_type);
  return info != nullptr && info->imported.yes() && info->kernel.yes();
}

namespace {

void scan_graph(const onnx::GraphProto& g, const std::string& what) {
  for (const onnx::NodeProto& n : g.node()) {
    if (!op_allowed(n.domain(), n.op_type()))
      throw Refusal(-EPERM,
                    fmt::format("{}: node '{}': op {}{}{} is not on the allowlist (ops the runtime "
                                "executes)",
                                what, n.name(), n.domain(), n.domain().empty() ? "" : ".", n.op_type()));
    // Ops with subgraphs are not on the list; scanned anyway so nothing can hide in one.
    for (const onnx::AttributeProto& a : n.attribute()) {
      if (a.has_g()) scan_graph(a.g(), what);
      for (const onnx::GraphProto& sub : a.graphs()) scan_graph(sub, what);
    }
  }
}

}  // namespace

void check_allowlist(const uint8_t* data, size_t size, const std::string& what) {
  onnx::ModelProto mp;
  if (size > static_cast<size_t>(INT32_MAX) || !mp.ParseFromArray(data, static_cast<int>(size)) ||
      !mp.has_graph())
    throw Refusal(-EBADMSG, fmt::format("{}: not an ONNX model", what));
  scan_graph(mp.graph(), what);
}

}  // namespace tinyqat::vmafdnn
