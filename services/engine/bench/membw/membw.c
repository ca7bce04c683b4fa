/*
 * membw: memory read bandwidth at native speed on every core.
 *
 *   membw [--threads N] [--mib M] [--passes P]
 *
 * N threads (default: online cores) each own one contiguous slice of a buffer of M MiB (default
 * 1024, far larger than any last-level cache). Each thread first touches its own slice (so its
 * pages are faulted in, and on NUMA machines placed near it), then every pass all threads read
 * their slices once, between two barriers. One untimed warm-up pass precedes P timed passes
 * (default 20). Prints one JSON line:
 *
 *   {"threads":N,"bytes_per_pass":B,"passes":P,"best_GBps":..,"median_GBps":..,"checksum":..}
 *
 * GBps = bytes read per pass / pass wall time / 1e9 (decimal GB). The pass time runs from the
 * release of the start barrier to the last thread reaching the end barrier, so the slowest thread
 * bounds it, as it bounds a real parallel kernel.
 *
 * The read loop keeps several independent accumulators (AVX2: 4 × 256-bit, 128 bytes per
 * iteration; otherwise 8 × 64-bit, which -O3 -march=native vectorises), so it is limited by
 * bandwidth, not by the add latency chain. Sums are stored to a volatile sink and folded into
 * "checksum", so the compiler cannot drop the reads.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#define ALIGN_BYTES 4096
#define CHUNK_BYTES 256 /* slice sizes are multiples of this: no tail loop */

typedef struct {
  const uint64_t *base;
  size_t bytes;
  int passes;
  pthread_barrier_t *barrier;
  volatile uint64_t sink;
} worker_t;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Sums `bytes` (a multiple of CHUNK_BYTES) starting at p. */
static uint64_t read_sum(const uint64_t *p, size_t bytes) {
#if defined(__AVX2__)
  const __m256i *v = (const __m256i *)p;
  size_t n = bytes / sizeof(__m256i);
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 4) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(v + i));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(v + i + 1));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(v + i + 2));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(v + i + 3));
  }
  __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  uint64_t lanes[4];
  _mm256_storeu_si256((__m256i *)lanes, s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
#else
  size_t n = bytes / sizeof(uint64_t);
  uint64_t a[8] = {0};
  for (size_t i = 0; i < n; i += 8)
    for (int j = 0; j < 8; j++) a[j] += p[i + j];
  return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
#endif
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  /* First touch: this thread faults in (and owns) its slice. Non-zero so sums are non-trivial. */
  uint64_t *mut = (uint64_t *)w->base;
  size_t words = w->bytes / sizeof(uint64_t);
  for (size_t i = 0; i < words; i++) mut[i] = i * 0x9e3779b97f4a7c15ull;
  pthread_barrier_wait(w->barrier); /* all slices touched */
  for (int pass = 0; pass < w->passes + 1; pass++) {
    pthread_barrier_wait(w->barrier); /* start */
    w->sink += read_sum(w->base, w->bytes);
    pthread_barrier_wait(w->barrier); /* end */
  }
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static long parse_arg(int argc, char **argv, const char *name, long fallback) {
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], name) == 0) return strtol(argv[i + 1], NULL, 10);
  return fallback;
}

int main(int argc, char **argv) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int threads = (int)parse_arg(argc, argv, "--threads", cores > 0 ? cores : 1);
  long mib = parse_arg(argc, argv, "--mib", 1024);
  int passes = (int)parse_arg(argc, argv, "--passes", 20);
  if (threads < 1 || mib < 1 || passes < 1) {
    fprintf(stderr, "membw: --threads, --mib and --passes must be >= 1\n");
    return 2;
  }
  size_t slice = ((size_t)mib << 20) / (size_t)threads / CHUNK_BYTES * CHUNK_BYTES;
  if (slice == 0) {
    fprintf(stderr, "membw: buffer too small for %d threads\n", threads);
    return 2;
  }
  size_t total = slice * (size_t)threads;
  uint8_t *buf = aligned_alloc(ALIGN_BYTES, (total + ALIGN_BYTES - 1) / ALIGN_BYTES * ALIGN_BYTES);
  worker_t *ws = calloc((size_t)threads, sizeof(worker_t));
  pthread_t *tids = calloc((size_t)threads, sizeof(pthread_t));
  double *secs = calloc((size_t)passes, sizeof(double));
  if (!buf || !ws || !tids || !secs) {
    fprintf(stderr, "membw: cannot allocate %zu bytes\n", total);
    return 1;
  }
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1); /* + this timing thread */
  for (int t = 0; t < threads; t++) {
    ws[t] = (worker_t){(const uint64_t *)(buf + (size_t)t * slice), slice, passes, &barrier, 0};
    if (pthread_create(&tids[t], NULL, worker_main, &ws[t]) != 0) {
      fprintf(stderr, "membw: pthread_create failed\n");
      return 1;
    }
  }
  pthread_barrier_wait(&barrier); /* touched */
  for (int pass = 0; pass < passes + 1; pass++) {
    pthread_barrier_wait(&barrier);
    double t0 = now_s();
    pthread_barrier_wait(&barrier);
    if (pass > 0) secs[pass - 1] = now_s() - t0; /* pass 0 is the warm-up */
  }
  uint64_t checksum = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(tids[t], NULL);
    checksum += ws[t].sink;
  }
  qsort(secs, (size_t)passes, sizeof(double), cmp_double);
  double median = passes % 2 ? secs[passes / 2] : (secs[passes / 2 - 1] + secs[passes / 2]) / 2;
  printf("{\"threads\":%d,\"bytes_per_pass\":%zu,\"passes\":%d,\"best_GBps\":%.3f,"
         "\"median_GBps\":%.3f,\"checksum\":\"%016llx\"}\n",
         threads, total, passes, (double)total / secs[0] / 1e9, (double)total / median / 1e9,
         (unsigned long long)checksum);
  return 0;
}
