// The C API (include/tinyqat/session.h) over tinyqat::Session. No exception crosses the boundary:
// each call catches, sets the per-thread message and returns a status.
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/version.h"
#include "session/session.h"
#include "tinyqat/session.h"

using tinyqat::DType;
using tinyqat::OpenError;
using tinyqat::Session;
using tinyqat::Tensor;

struct tq_session {
  std::unique_ptr<Session> impl;
  std::vector<std::vector<int64_t>> input_shapes;
};

struct tq_outputs {
  std::vector<Tensor> tensors;
  std::vector<std::string> names;
  std::vector<tq_tensor> views;
};

namespace {

thread_local std::string last_error;

tq_status set_error(tq_status st, const std::string& msg) noexcept {
  try {
    last_error = msg;
  } catch (...) {  // no memory for the message: the status still says what failed
    last_error.clear();
  }
  return st;
}

// Runs `f`: TQ_OK (message cleared), or the status of what it threw (`on_error` for an Error or any other
// exception, with its message).
template <class F>
tq_status status_of(tq_status on_error, F&& f) noexcept {
  try {
    f();
    last_error.clear();
    return TQ_OK;
  } catch (const std::bad_alloc&) {
    return set_error(TQ_ERR_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return set_error(on_error, e.what());
  } catch (...) {
    return set_error(on_error, "unexpected failure");
  }
}

bool to_dtype(int code, DType* out) {
  switch (code) {
    case TQ_FLOAT32:
      *out = DType::F32;
      return true;
    case TQ_UINT8:
      *out = DType::U8;
      return true;
    case TQ_INT8:
      *out = DType::I8;
      return true;
    case TQ_INT32:
      *out = DType::I32;
      return true;
    case TQ_INT64:
      *out = DType::I64;
      return true;
    case TQ_BOOL:
      *out = DType::Bool;
      return true;
  }
  return false;
}

tq_dtype from_dtype(DType t) {
  switch (t) {
    case DType::F32:
      return TQ_FLOAT32;
    case DType::U8:
      return TQ_UINT8;
    case DType::I8:
      return TQ_INT8;
    case DType::I32:
      return TQ_INT32;
    case DType::I64:
      return TQ_INT64;
    case DType::Bool:
      return TQ_BOOL;
  }
  return TQ_FLOAT32;
}

}  // namespace

extern "C" {

void tq_session_options_init(tq_session_options* opts) {
  if (!opts) return;
  opts->threads = 1;
  opts->prefer_fp32 = 0;
  opts->force_int8 = 0;
}

tq_status tq_session_open(const char* registry_path, const char* id, const tq_session_options* opts,
                          tq_session** out) {
  if (out) *out = nullptr;
  if (!registry_path || !id || !out)
    return set_error(TQ_ERR_INVALID_ARGUMENT, "tq_session_open: registry_path, id and out must not be NULL");
  tinyqat::SessionOptions o;
  if (opts) {
    o.threads = opts->threads;
    o.prefer_fp32 = opts->prefer_fp32 != 0;
    o.force_int8 = opts->force_int8 != 0;
  }
  if (o.threads < 0 || o.threads > 256)
    return set_error(
        TQ_ERR_INVALID_ARGUMENT,
        "tq_session_open: threads must be in [0, 256] (0: all cores), got " + std::to_string(o.threads));
  try {
    auto s = std::make_unique<tq_session>();
    s->impl = Session::open(registry_path, id, o);
    for (const auto& in : s->impl->inputs()) {
      std::vector<int64_t> dims;
      for (const auto& d : in.shape) dims.push_back(d.is_known() ? d.value : -1);
      s->input_shapes.push_back(std::move(dims));
    }
    *out = s.release();
    last_error.clear();
    return TQ_OK;
  } catch (const OpenError& e) {
    switch (e.stage) {
      case OpenError::Stage::Registry:
        return set_error(TQ_ERR_REGISTRY, e.what());
      case OpenError::Stage::UnknownId:
        return set_error(TQ_ERR_UNKNOWN_ID, e.what());
      case OpenError::Stage::Digest:
        return set_error(TQ_ERR_DIGEST, e.what());
      case OpenError::Stage::Model:
        return set_error(TQ_ERR_MODEL, e.what());
    }
    return set_error(TQ_ERR_MODEL, e.what());
  } catch (const std::bad_alloc&) {
    return set_error(TQ_ERR_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return set_error(TQ_ERR_MODEL, e.what());
  } catch (...) {
    return set_error(TQ_ERR_MODEL, "tq_session_open: unexpected failure");
  }
}

void tq_session_close(tq_session* s) {
  if (s && s->impl->recorder() && s->impl->recorder()->stats().kept > 0) tq_session_record_flush(s);
  delete s;
}

tq_status tq_session_record(tq_session* s, const char* npz_path, size_t max_samples) {
  if (!s || !npz_path || !*npz_path)
    return set_error(TQ_ERR_INVALID_ARGUMENT,
                     "tq_session_record: session and npz_path must not be NULL or empty");
  if (max_samples > static_cast<size_t>(tinyqat::kMaxRecorderSamples))
    return set_error(TQ_ERR_INVALID_ARGUMENT, "tq_session_record: max_samples must be at most " +
                                                  std::to_string(tinyqat::kMaxRecorderSamples));
  return status_of(TQ_ERR_INVALID_ARGUMENT, [&] {
    tinyqat::RecorderOptions o;
    o.path = npz_path;
    if (max_samples > 0) o.samples = static_cast<int64_t>(max_samples);
    o.max_bytes = int64_t(1) << 30;
    s->impl->record(o);
  });
}

tq_status tq_session_record_flush(tq_session* s) {
  if (!s) return set_error(TQ_ERR_INVALID_ARGUMENT, "tq_session_record_flush: session must not be NULL");
  tinyqat::InputRecorder* r = s->impl->recorder();
  if (!r) return set_error(TQ_ERR_INVALID_ARGUMENT, "tq_session_record_flush: the session does not record");
  return status_of(TQ_ERR_RUN, [&] { r->flush(); });
}

tq_variant tq_session_variant(const tq_session* s) {
  return s && s->impl->decision().variant == tinyqat::registry::Variant::Int8 ? TQ_VARIANT_INT8
                                                                              : TQ_VARIANT_FP32;
}
tq_reason tq_session_reason(const tq_session* s) {
  return s ? static_cast<tq_reason>(s->impl->decision().reason) : TQ_REASON_FP32_ENTRY;
}
const char* tq_session_reason_text(const tq_session* s) {
  return s ? s->impl->decision().text.c_str() : "";
}
const char* tq_session_model_path(const tq_session* s) {
  return s ? s->impl->decision().model_path.c_str() : "";
}
const char* tq_session_model_sha256(const tq_session* s) {
  return s ? s->impl->decision().sha256.c_str() : "";
}
const char* tq_reason_name(tq_reason r) {
  if (r < TQ_REASON_FP32_ENTRY || r > TQ_REASON_INT8_SLOWER_ON_THIS_CPU) return "unknown";
  return tinyqat::registry::name(static_cast<tinyqat::registry::Reason>(r));
}
const char* tq_variant_name(tq_variant v) {
  return v == TQ_VARIANT_INT8 ? "int8" : "fp32";
}
int tq_reason_is_fallback(tq_reason r) {
  return tinyqat::registry::is_fallback(static_cast<tinyqat::registry::Reason>(r)) ? 1 : 0;
}

size_t tq_session_input_count(const tq_session* s) {
  return s ? s->impl->inputs().size() : 0;
}
size_t tq_session_output_count(const tq_session* s) {
  return s ? s->impl->outputs().size() : 0;
}
const char* tq_session_input_name(const tq_session* s, size_t i) {
  return s && i < s->impl->inputs().size() ? s->impl->inputs()[i].name.c_str() : nullptr;
}
const char* tq_session_output_name(const tq_session* s, size_t i) {
  return s && i < s->impl->outputs().size() ? s->impl->outputs()[i].name.c_str() : nullptr;
}
tq_dtype tq_session_input_dtype(const tq_session* s, size_t i) {
  return s && i < s->impl->inputs().size() ? from_dtype(s->impl->inputs()[i].dtype) : TQ_FLOAT32;
}
size_t tq_session_input_rank(const tq_session* s, size_t i) {
  return s && i < s->input_shapes.size() ? s->input_shapes[i].size() : 0;
}
const int64_t* tq_session_input_shape(const tq_session* s, size_t i) {
  return s && i < s->input_shapes.size() ? s->input_shapes[i].data() : nullptr;
}

tq_status tq_session_run(tq_session* s, const tq_tensor* inputs, size_t n_inputs, tq_outputs** out) {
  if (out) *out = nullptr;
  if (!s || !out || (n_inputs > 0 && !inputs))
    return set_error(TQ_ERR_INVALID_ARGUMENT, "tq_session_run: session, inputs and out must not be NULL");
  try {
    std::vector<std::pair<std::string, Tensor>> feeds;
    for (size_t i = 0; i < n_inputs; ++i) {
      const tq_tensor& t = inputs[i];
      DType dt;
      if (!t.name)
        return set_error(TQ_ERR_INVALID_ARGUMENT,
                         "tq_session_run: input " + std::to_string(i) + " has no name");
      // A C caller may store any int in the enum; reading it as tq_dtype in C++ would be undefined for a
      // value outside the enum's range (UBSan: fuzz/fuzz_c_api.cpp), so the code is read as an int.
      static_assert(sizeof(tq_dtype) == sizeof(int));
      int code = 0;
      std::memcpy(&code, &t.dtype, sizeof code);
      if (!to_dtype(code, &dt))
        return set_error(TQ_ERR_INVALID_ARGUMENT, std::string("tq_session_run: input '") + t.name +
                                                      "': unknown dtype code " + std::to_string(code));
      if (t.rank > 16)
        return set_error(TQ_ERR_INVALID_ARGUMENT, std::string("tq_session_run: input '") + t.name +
                                                      "': rank " + std::to_string(t.rank) + " (at most 16)");
      if (t.rank > 0 && !t.shape)
        return set_error(TQ_ERR_INVALID_ARGUMENT,
                         std::string("tq_session_run: input '") + t.name + "': no shape");
      tinyqat::Shape shape(t.shape, t.shape + t.rank);
      for (int64_t d : shape)
        if (d < 0)
          return set_error(TQ_ERR_INVALID_ARGUMENT,
                           std::string("tq_session_run: input '") + t.name + "': negative dimension");
      Tensor x = Tensor::empty(dt, shape);  // size-checked: negative or absurd dims are an Error
      if (x.nbytes() > 0) {
        if (!t.data)
          return set_error(TQ_ERR_INVALID_ARGUMENT,
                           std::string("tq_session_run: input '") + t.name + "': no data");
        std::memcpy(x.raw(), t.data, x.nbytes());
      }
      feeds.emplace_back(t.name, std::move(x));
    }
    auto result = std::make_unique<tq_outputs>();
    result->tensors = s->impl->run(feeds);
    const auto& outs = s->impl->outputs();
    for (size_t i = 0; i < result->tensors.size(); ++i) result->names.push_back(outs[i].name);
    for (size_t i = 0; i < result->tensors.size(); ++i) {
      const Tensor& t = result->tensors[i];
      result->views.push_back(tq_tensor{result->names[i].c_str(), from_dtype(t.dtype()), t.shape().size(),
                                        t.shape().data(), t.raw()});
    }
    *out = result.release();
    last_error.clear();
    return TQ_OK;
  } catch (const std::bad_alloc&) {
    return set_error(TQ_ERR_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return set_error(TQ_ERR_RUN, e.what());
  } catch (...) {
    return set_error(TQ_ERR_RUN, "tq_session_run: unexpected failure");
  }
}

size_t tq_outputs_count(const tq_outputs* o) {
  return o ? o->views.size() : 0;
}
const tq_tensor* tq_outputs_get(const tq_outputs* o, size_t i) {
  return o && i < o->views.size() ? &o->views[i] : nullptr;
}
void tq_outputs_free(tq_outputs* o) {
  delete o;
}

const char* tq_last_error(void) {
  return last_error.c_str();
}
const char* tq_version(void) {
  return tinyqat::kVersion;
}

}  // extern "C"
