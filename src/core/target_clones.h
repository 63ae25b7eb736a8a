// TQ_TARGET_CLONES: build a function for AVX-512, AVX2 and the baseline, picked once at load time (an
// ifunc). Under ThreadSanitizer it builds the baseline only: the ifunc resolver runs while the dynamic
// loader relocates the executable, before the TSan runtime is initialised, and an instrumented resolver
// crashes there (every process, before main).
#pragma once

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TQ_UNDER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define TQ_UNDER_TSAN 1
#endif

#ifdef TQ_UNDER_TSAN
#define TQ_TARGET_CLONES
#else
#define TQ_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
