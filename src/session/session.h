// A runtime session opened from the registry: resolves which file to run (registry/resolve.h), loads exactly
// the bytes it verified, and runs them. run() may be called from several threads at once (the executor's
// kernels hold no per-run state; its thread pool queues concurrent parallel sections). The C API in
// include/tinyqat/session.h wraps this class.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "registry/resolve.h"
#include "session/input_recorder.h"

namespace tinyqat {

class Executor;

struct SessionOptions {
  int threads = 1;  // 0: all cores
  bool prefer_fp32 = false;
  bool force_int8 = false;  // keep a verified int8 file that this CPU is predicted to run slower than fp32
};

// What went wrong when a session does not open (the C API maps it to tq_status).
class OpenError : public Error {
 public:
  enum class Stage { Registry, UnknownId, Digest, Model };
  OpenError(Stage s, const std::string& what) : Error(what), stage(s) {}
  Stage stage;
};

class Session {
 public:
  // Throws OpenError when the registry is invalid, the id unknown, the fp32 file missing or altered, or
  // the verified model does not load.
  static std::unique_ptr<Session> open(const std::string& registry_path, const std::string& id,
                                       const SessionOptions& opts = {});
  ~Session();

  const registry::Decision& decision() const { return decision_; }
  const std::vector<ValueInfo>& inputs() const;
  const std::vector<ValueInfo>& outputs() const;
  std::vector<Tensor> run(const std::vector<std::pair<std::string, Tensor>>& inputs) const;

  // Opt-in: every later run's inputs go to an input recorder (session/input_recorder.h). Once per
  // session (Error otherwise); may be called while other threads run.
  InputRecorder& record(const RecorderOptions& opt);
  InputRecorder* recorder() const { return recorder_.load(std::memory_order_acquire); }

 private:
  Session() = default;
  registry::Decision decision_;
  std::unique_ptr<Executor> exec_;
  std::unique_ptr<InputRecorder> owned_recorder_;
  std::atomic<InputRecorder*> recorder_{nullptr};
  std::mutex record_mu_;
};

}  // namespace tinyqat
