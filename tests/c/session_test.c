/* The runtime session's C API from a C99 program (tests/c/run_c_test.sh drives it).
 *   session_test open REGISTRY ID VARIANT REASON [prefer-fp32|force-int8]
 *       opens ID, checks which file runs and why, runs a 1x1x16x16 image once, then from 4 threads at
 *       once (25 runs each; TQ_TEST_THREADS and TQ_TEST_RUNS change these, scripts/sanitize.sh runs
 *       8 x 200 under TSan) and checks every result is bit-identical to the first.
 *   session_test refuse REGISTRY ID STATUS
 *       the open must fail with that tq_status code and a message. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyqat/session.h"

#define H 16
#define W 16
#define MAX_THREADS 64

static int threads = 4, runs = 25;

static float image[H * W];
static const int64_t image_shape[4] = {1, 1, H, W};

typedef struct {
  tq_session* s;
  const float* expect;
  size_t n;
  int failures;
} worker_arg;

static int run_once(tq_session* s, float** out, size_t* n) {
  tq_tensor in;
  tq_outputs* outs = NULL;
  const tq_tensor* y;
  in.name = tq_session_input_name(s, 0);
  in.dtype = TQ_FLOAT32;
  in.rank = 4;
  in.shape = image_shape;
  in.data = image;
  if (tq_session_run(s, &in, 1, &outs) != TQ_OK) {
    fprintf(stderr, "run failed: %s\n", tq_last_error());
    return 1;
  }
  y = tq_outputs_get(outs, 0);
  if (!y || y->dtype != TQ_FLOAT32 || y->rank != 4 || y->shape[2] != H || y->shape[3] != W) {
    fprintf(stderr, "unexpected output\n");
    tq_outputs_free(outs);
    return 1;
  }
  *n = (size_t)(y->shape[0] * y->shape[1] * y->shape[2] * y->shape[3]);
  *out = (float*)malloc(*n * sizeof(float));
  memcpy(*out, y->data, *n * sizeof(float));
  tq_outputs_free(outs);
  return 0;
}

static void* worker(void* p) {
  worker_arg* a = (worker_arg*)p;
  int r;
  for (r = 0; r < runs; ++r) {
    float* got = NULL;
    size_t n = 0;
    if (run_once(a->s, &got, &n) != 0 || n != a->n || memcmp(got, a->expect, n * sizeof(float)) != 0)
      ++a->failures;
    free(got);
  }
  return NULL;
}

static int cmd_open(const char* registry, const char* id, const char* variant, const char* reason,
                    const char* option) {
  tq_session_options o;
  tq_session* s = NULL;
  tq_status st;
  float* first = NULL;
  size_t n = 0, i;
  pthread_t th[MAX_THREADS];
  worker_arg args[MAX_THREADS];
  int failures = 0, t;
  const char* record = getenv("TQ_TEST_RECORD");
  tq_session_options_init(&o);
  o.prefer_fp32 = strcmp(option, "prefer-fp32") == 0;
  o.force_int8 = strcmp(option, "force-int8") == 0;
  o.threads = 2;
  st = tq_session_open(registry, id, &o, &s);
  if (st != TQ_OK) {
    fprintf(stderr, "open %s failed (%d): %s\n", id, (int)st, tq_last_error());
    return 1;
  }
  printf("%s: runs %s (%s): %s\n  file %s\n", id, tq_variant_name(tq_session_variant(s)),
         tq_reason_name(tq_session_reason(s)), tq_session_reason_text(s), tq_session_model_path(s));
  if (strcmp(tq_variant_name(tq_session_variant(s)), variant) != 0 ||
      strcmp(tq_reason_name(tq_session_reason(s)), reason) != 0) {
    fprintf(stderr, "expected %s (%s)\n", variant, reason);
    tq_session_close(s);
    return 1;
  }
  if (tq_session_input_count(s) != 1 || tq_session_input_rank(s, 0) != 4 || tq_session_output_count(s) != 1) {
    fprintf(stderr, "unexpected graph interface\n");
    tq_session_close(s);
    return 1;
  }
  /* TQ_TEST_RECORD=FILE.npz: every run below also goes through the input recorder (the TSan run of
   * scripts/sanitize.sh sets it: recording must not race or change a result). */
  if (record && tq_session_record(s, record, 64) != TQ_OK) {
    fprintf(stderr, "tq_session_record failed: %s\n", tq_last_error());
    tq_session_close(s);
    return 1;
  }
  for (i = 0; i < H * W; ++i) image[i] = (float)(0.5 + 0.4 * sin(0.37 * (double)i));
  if (run_once(s, &first, &n) != 0) {
    tq_session_close(s);
    return 1;
  }
  for (i = 0; i < n; ++i)
    if (!(first[i] >= 0.0f && first[i] <= 1.0f)) {
      fprintf(stderr, "output %lu = %g is outside [0, 1]\n", (unsigned long)i, first[i]);
      ++failures;
      break;
    }
  for (t = 0; t < threads; ++t) {
    args[t].s = s;
    args[t].expect = first;
    args[t].n = n;
    args[t].failures = 0;
    pthread_create(&th[t], NULL, worker, &args[t]);
  }
  for (t = 0; t < threads; ++t) {
    pthread_join(th[t], NULL);
    failures += args[t].failures;
  }
  printf("  %d threads x %d concurrent runs: %s\n", threads, runs, failures ? "MISMATCH" : "all identical");
  if (record) {
    if (tq_session_record_flush(s) != TQ_OK) {
      fprintf(stderr, "tq_session_record_flush failed: %s\n", tq_last_error());
      ++failures;
    } else {
      printf("  recorded the inputs to %s\n", record);
    }
  }
  free(first);
  tq_session_close(s);
  return failures ? 1 : 0;
}

static int cmd_refuse(const char* registry, const char* id, int want) {
  tq_session* s = (tq_session*)&want; /* must come back NULL */
  tq_status st = tq_session_open(registry, id, NULL, &s);
  printf("%s: status %d: %s\n", id, (int)st, tq_last_error());
  if ((int)st != want || s != NULL || tq_last_error()[0] == '\0') {
    fprintf(stderr, "expected status %d and no session\n", want);
    tq_session_close(s == (tq_session*)&want ? NULL : s);
    return 1;
  }
  return 0;
}

/* A count from the environment, or `fallback` when unset; outside [1, max] is a usage error. */
static int env_count(const char* name, int fallback, int max) {
  const char* v = getenv(name);
  char* end = NULL;
  long n;
  if (!v || !*v) return fallback;
  n = strtol(v, &end, 10);
  if (*end != '\0' || n < 1 || n > max) {
    fprintf(stderr, "%s=%s: expected an integer in [1, %d]\n", name, v, max);
    exit(2);
  }
  return (int)n;
}

int main(int argc, char** argv) {
  threads = env_count("TQ_TEST_THREADS", threads, MAX_THREADS);
  runs = env_count("TQ_TEST_RUNS", runs, 100000);
  if (argc >= 6 && strcmp(argv[1], "open") == 0)
    return cmd_open(argv[2], argv[3], argv[4], argv[5], argc >= 7 ? argv[6] : "");
  if (argc == 5 && strcmp(argv[1], "refuse") == 0) return cmd_refuse(argv[2], argv[3], atoi(argv[4]));
  fprintf(stderr,
          "usage: %s open REGISTRY ID VARIANT REASON [prefer-fp32|force-int8] | refuse REGISTRY ID STATUS\n",
          argv[0]);
  fprintf(stderr, "tinyqat %s\n", tq_version());
  return 2;
}
