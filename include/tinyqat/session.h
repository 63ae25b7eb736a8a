/* tinyqat runtime session: the C API of libtinyqat_rt (C99 and C++).
 *
 * A session is opened from a model registry (registry.json in the VMAF fork's format) and a model id.
 * The registry is the trust root:
 *   - the fp32 file must match the registry's sha256, otherwise nothing loads (TQ_ERR_DIGEST); an
 *     unknown id is TQ_ERR_UNKNOWN_ID;
 *   - when the entry's quant_mode is not fp32, the int8 twin "<stem>.int8.onnx" runs only when it is
 *     present, matches int8_sha256 and its recorded PLCC drop (if any) is within the entry's budget;
 *     otherwise the session falls back to fp32 on its own and says why (tq_session_reason);
 *   - a verified int8 file that this CPU's kernels are predicted to run slower than the fp32 one falls
 *     back too (TQ_REASON_INT8_SLOWER_ON_THIS_CPU) unless force_int8 is set.
 * The exact bytes that were verified are the ones loaded.
 *
 * tq_session_run may be called from several threads at once on one session.
 *
 * Errors: every function returning tq_status sets a per-thread message, read with tq_last_error().
 *
 * Build: find_package(tinyqat) and link tinyqat::rt, or pkg-config tinyqat_rt. */
#ifndef TINYQAT_SESSION_H
#define TINYQAT_SESSION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tq_status {
  TQ_OK = 0,
  TQ_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, a bad option or a bad tensor */
  TQ_ERR_REGISTRY = 2,         /* the registry is unreadable, not JSON or violates the schema */
  TQ_ERR_UNKNOWN_ID = 3,       /* no entry with that id */
  TQ_ERR_DIGEST = 4,           /* the fp32 file is missing or does not match its sha256: refused */
  TQ_ERR_MODEL = 5,            /* the verified model does not load */
  TQ_ERR_RUN = 6,              /* a run failed (input names, dtypes, shapes) */
  TQ_ERR_NO_MEMORY = 7
} tq_status;

/* Which file the session runs. */
typedef enum tq_variant { TQ_VARIANT_FP32 = 0, TQ_VARIANT_INT8 = 1 } tq_variant;

/* Why it runs that file. The TQ_REASON_INT8_* values from 4 on are fallbacks to fp32. */
typedef enum tq_reason {
  TQ_REASON_FP32_ENTRY = 0,             /* the entry's quant_mode is fp32 */
  TQ_REASON_FP32_PREFERRED = 1,         /* the options asked for fp32 */
  TQ_REASON_INT8_WITHIN_BUDGET = 2,     /* int8 verified; its recorded drop is within budget */
  TQ_REASON_INT8_UNMEASURED = 3,        /* int8 verified; no drop recorded for this file */
  TQ_REASON_INT8_MISSING = 4,           /* fallback: the int8 file is missing */
  TQ_REASON_INT8_DIGEST_MISMATCH = 5,   /* fallback: the int8 file does not match int8_sha256 */
  TQ_REASON_INT8_OVER_BUDGET = 6,       /* fallback: recorded PLCC drop over the budget */
  TQ_REASON_INT8_UNLOADABLE = 7,        /* fallback: verified but not loadable by this runtime */
  TQ_REASON_MEASUREMENT_UNREADABLE = 8, /* fallback: the sidecar with the measurement is unreadable */
  TQ_REASON_INT8_INTERFACE_MISMATCH =
      9, /* fallback: the int8 file's inputs/outputs are not the fp32 model's */
  TQ_REASON_INT8_SLOWER_ON_THIS_CPU =
      10 /* fallback: verified, but this CPU's int8 kernels are predicted slower than its fp32 ones */
} tq_reason;

/* Element types: the ONNX TensorProto codes. */
typedef enum tq_dtype {
  TQ_FLOAT32 = 1,
  TQ_UINT8 = 2,
  TQ_INT8 = 3,
  TQ_INT32 = 6,
  TQ_INT64 = 7,
  TQ_BOOL = 9
} tq_dtype;

typedef struct tq_session_options {
  int threads;     /* worker threads per run, 0..256; 0: all cores (default 1) */
  int prefer_fp32; /* non-zero: run the fp32 model even when a verified int8 one exists */
  int force_int8;  /* non-zero: run a verified int8 file even where this CPU is predicted to run it slower
                      than the fp32 one (TQ_REASON_INT8_SLOWER_ON_THIS_CPU otherwise) */
} tq_session_options;

/* A tensor: dense, row-major. For inputs the caller owns every pointer (they are read during the
 * call only); for outputs the tq_outputs owns them. */
typedef struct tq_tensor {
  const char* name;
  tq_dtype dtype;
  size_t rank;
  const int64_t* shape;
  const void* data;
} tq_tensor;

typedef struct tq_session tq_session;
typedef struct tq_outputs tq_outputs;

void tq_session_options_init(tq_session_options* opts);

/* Opens `id` from the registry at `registry_path`. `opts` may be NULL (defaults). On success *out
 * holds the session; on failure *out is NULL. */
tq_status tq_session_open(const char* registry_path, const char* id, const tq_session_options* opts,
                          tq_session** out);
void tq_session_close(tq_session* s); /* NULL is fine */

tq_variant tq_session_variant(const tq_session* s);
tq_reason tq_session_reason(const tq_session* s);
const char* tq_session_reason_text(const tq_session* s); /* one line saying why */
const char* tq_session_model_path(const tq_session* s);  /* the file that runs */
const char* tq_session_model_sha256(const tq_session* s);
const char* tq_reason_name(tq_reason r);   /* "int8-digest-mismatch", ... */
const char* tq_variant_name(tq_variant v); /* "fp32" / "int8" */
int tq_reason_is_fallback(tq_reason r);

/* Graph inputs and outputs. Dims unknown until run time are -1. Strings and arrays live as long as
 * the session. */
size_t tq_session_input_count(const tq_session* s);
size_t tq_session_output_count(const tq_session* s);
const char* tq_session_input_name(const tq_session* s, size_t i);
const char* tq_session_output_name(const tq_session* s, size_t i);
tq_dtype tq_session_input_dtype(const tq_session* s, size_t i);
size_t tq_session_input_rank(const tq_session* s, size_t i);
const int64_t* tq_session_input_shape(const tq_session* s, size_t i);

/* Runs the model on every graph input (by name). On success *out holds the outputs in graph order;
 * free them with tq_outputs_free. Thread-safe. */
tq_status tq_session_run(tq_session* s, const tq_tensor* inputs, size_t n_inputs, tq_outputs** out);
size_t tq_outputs_count(const tq_outputs* o);
const tq_tensor* tq_outputs_get(const tq_outputs* o, size_t i); /* NULL when out of range */
void tq_outputs_free(tq_outputs* o);                            /* NULL is fine */

/* Calibration from deployment (docs/quantization.md): from this call on, the session keeps a uniform
 * sample of at most `max_samples` (0: 256) of the rows it is fed (axis 0 of every input; a 1 GiB memory
 * bound) and every input's min/max, and writes them to `npz_path` — a file `tinyqat ptq --calibration`,
 * `quantize` and `measure --data` take as it is — at tq_session_record_flush and at tq_session_close
 * (best effort there: a failure only sets tq_last_error). Off by default; never changes a result; safe
 * while other threads run. Once per session: a second call is TQ_ERR_INVALID_ARGUMENT. */
tq_status tq_session_record(tq_session* s, const char* npz_path, size_t max_samples);
/* Writes the recording now (atomically); TQ_ERR_RUN when nothing was recorded yet or the file cannot be
 * written, TQ_ERR_INVALID_ARGUMENT when the session does not record. */
tq_status tq_session_record_flush(tq_session* s);

/* The message of the last failed call on this thread ("" when none). */
const char* tq_last_error(void);
const char* tq_version(void);

#ifdef __cplusplus
}
#endif

#endif /* TINYQAT_SESSION_H */
