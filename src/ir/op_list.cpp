#include "ir/op_list.h"

namespace tinyqat {

const char* family_name(OpFamily f) {
  switch (f) {
    case OpFamily::Elementwise:
      return "elementwise";
    case OpFamily::Conv:
      return "conv";
    case OpFamily::MatMul:
      return "matmul";
    case OpFamily::Pool:
      return "pool";
    case OpFamily::Shape:
      return "shape";
    case OpFamily::Quant:
      return "quant";
  }
  return "?";
}

const OpInfo* find_op(std::string_view domain, std::string_view op_type) {
  for (const OpInfo& op : kOps)
    if (op.name == op_type && op.domain == domain) return &op;
  return nullptr;
}

bool is_supported_op(const std::string& domain, const std::string& op_type, int64_t opset) {
  const OpInfo* op = find_op(domain, op_type);
  return op && op->imported.yes() && opset >= op->since && opset <= op->until;
}

}  // namespace tinyqat
