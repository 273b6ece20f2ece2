/* threads.h — a small thread pool for the CPU forward pass: run one function on every thread
 * (the caller is thread 0) and synchronise the threads with a spinning barrier inside it.
 *
 *   threadpool *p;  threadpool_new(&p, 4, &err);
 *   threadpool_run(p, work, ctx);     // work(ctx, ith, nth) on 4 threads; returns when all finish
 *   ...inside work: threadpool_barrier(p);   // all threads wait for each other
 *   ...or: uint64_t pos = 0; threadpool_for(p, &pos, n, item_fn, ctx, ith);  // items shared out
 *   threadpool_free(p);
 *
 * Workers spin briefly between runs (decode issues a run every few hundred microseconds) and
 * then sleep on a condition variable. Builds without pthreads (wasm) get a one-thread pool.
 */
#ifndef HEARTH_THREADS_H
#define HEARTH_THREADS_H

#include "base.h"

typedef struct threadpool threadpool;
typedef void (*threadpool_fn)(void *ctx, int ith, int nth);

int threadpool_new(threadpool **out, int n_threads, hearth_error *err);
void threadpool_free(threadpool *p);
int threadpool_size(const threadpool *p);
void threadpool_run(threadpool *p, threadpool_fn fn, void *ctx);
/* Only from inside a run, called by every thread of the pool. */
void threadpool_barrier(threadpool *p);

/* Work sharing inside a run: every thread calls threadpool_for with the same sequence of loops
 * (same n each time, so the loops line up without communication); the n items of a loop are
 * handed out one at a time to whichever thread asks, and the call returns once all n are done.
 * A thread that falls behind (descheduled on a busy machine) does not hold the others up: they
 * take its share, and it skips loops that are already finished. *pos is the thread's running
 * item count: start it at 0 in each run. */
typedef void (*threadpool_item_fn)(void *ctx, int64_t item, int ith);
void threadpool_for(threadpool *p, uint64_t *pos, int64_t n, threadpool_item_fn fn, void *ctx, int ith);
/* Number of CPU cores available to this process (>= 1). */
int threadpool_default_threads(void);

/* Splits [0, n) into nth parts, the part of thread ith is [*lo, *hi); parts are multiples of
 * `align` (except the last). */
static inline void threadpool_split(int64_t n, int ith, int nth, int64_t align, int64_t *lo, int64_t *hi) {
    int64_t blocks = (n + align - 1) / align;
    int64_t b0 = blocks * ith / nth, b1 = blocks * (ith + 1) / nth;
    *lo = H_MIN(b0 * align, n);
    *hi = H_MIN(b1 * align, n);
}

#endif
