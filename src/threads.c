/* threads.c — the thread pool: workers wait for a generation counter to change, run the job,
 * and count themselves done; the barrier is a sense-reversing spin barrier. */
#include "threads.h"

#if defined(__wasm__) && !defined(__wasm_atomics__)
#define HEARTH_NO_THREADS 1
#endif

#ifndef HEARTH_NO_THREADS
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Waiting: spin with a pause (fast hand-over while the pool is busy), then yield the core (when
 * more threads than cores compete, a spinning waiter would burn the time slice the thread it
 * waits for needs), then (workers between runs) sleep on the condition variable. */
#define SPIN_PAUSES 2000
#define SPIN_BEFORE_SLEEP 200000

static inline void spin_wait(int *spins) {
    if (++*spins < SPIN_PAUSES) cpu_relax();
    else sched_yield();
}

struct threadpool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic unsigned gen;     /* incremented for each run */
    _Atomic int done;         /* workers finished with the current run */
    _Atomic int quit;
    _Atomic int sleeping;     /* workers waiting on cv */
    threadpool_fn fn;
    void *ctx;
    /* barrier */
    _Atomic int bar_count;
    _Atomic unsigned bar_gen;
    /* work sharing: items handed out and items finished since the start of the run; loop k
     * owns the items [base_k, base_k + n_k) of this sequence */
    _Atomic uint64_t claimed, finished;
};

typedef struct worker_arg {
    threadpool *p;
    int ith;
} worker_arg;

static void *worker_main(void *arg) {
    worker_arg *wa = arg;
    threadpool *p = wa->p;
    int ith = wa->ith;
    h_free(wa);
    unsigned seen = 0;
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen &&
               !atomic_load_explicit(&p->quit, memory_order_acquire)) {
            if (spins < SPIN_BEFORE_SLEEP) {
                spin_wait(&spins);
                continue;
            }
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleeping, 1);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->quit))
                pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleeping, 1);
            pthread_mutex_unlock(&p->mu);
            spins = 0;
        }
        if (atomic_load(&p->quit)) return NULL;
        seen = atomic_load(&p->gen);
        p->fn(p->ctx, ith, p->n);
        atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel);
    }
}

int threadpool_new(threadpool **out, int n_threads, hearth_error *err) {
    *out = NULL;
    if (n_threads < 1) n_threads = 1;
    if (n_threads > 256) return h_err(err, HEARTH_ERR_ARG, "threads: %d threads requested (at most 256)", n_threads);
    threadpool *p = h_calloc(1, sizeof *p);
    if (!p) return h_err(err, HEARTH_ERR_NOMEM, "threads: out of memory");
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->threads = h_calloc((size_t)n_threads, sizeof *p->threads);
    if (!p->threads) goto nomem;
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = h_malloc(sizeof *wa);
        if (!wa) goto nomem;
        wa->p = p;
        wa->ith = i;
        if (pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            h_free(wa);
            p->n = i; /* threads 1..i-1 exist */
            threadpool_free(p);
            return h_err(err, HEARTH_ERR_NOMEM, "threads: cannot start thread %d of %d", i, n_threads);
        }
    }
    *out = p;
    return HEARTH_OK;
nomem:;
    /* no worker may be running here unless some started: stop those */
    int started = 0;
    for (int i = 1; i < n_threads && p->threads; i++)
        if (p->threads[i]) started = i + 1;
    p->n = started ? started : 1;
    threadpool_free(p);
    return h_err(err, HEARTH_ERR_NOMEM, "threads: out of memory");
}

void threadpool_free(threadpool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++)
        if (p->threads && p->threads[i]) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    h_free(p->threads);
    h_free(p);
}

int threadpool_size(const threadpool *p) { return p ? p->n : 1; }

void threadpool_run(threadpool *p, threadpool_fn fn, void *ctx) {
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->done, 0);
    atomic_store(&p->bar_count, 0);
    atomic_store(&p->claimed, 0);
    atomic_store(&p->finished, 0);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_acq_rel);
    if (atomic_load(&p->sleeping)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    fn(ctx, 0, p->n);
    int spins = 0;
    while (atomic_load_explicit(&p->done, memory_order_acquire) < p->n - 1) spin_wait(&spins);
}

void threadpool_barrier(threadpool *p) {
    if (!p || p->n == 1) return;
    unsigned g = atomic_load_explicit(&p->bar_gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) == p->n - 1) {
        atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->bar_gen, 1, memory_order_acq_rel);
    } else {
        int spins = 0;
        while (atomic_load_explicit(&p->bar_gen, memory_order_acquire) == g) spin_wait(&spins);
    }
}

void threadpool_for(threadpool *p, uint64_t *pos, int64_t n, threadpool_item_fn fn, void *ctx, int ith) {
    if (n <= 0) return;
    uint64_t base = *pos, end = base + (uint64_t)n;
    *pos = end;
    if (!p || p->n == 1) {
        for (int64_t i = 0; i < n; i++) fn(ctx, i, ith);
        return;
    }
    uint64_t c = atomic_load_explicit(&p->claimed, memory_order_acquire);
    while (c < end) {
        if (c < base) { /* impossible: a loop starts only after the previous one finished */
            c = atomic_load_explicit(&p->claimed, memory_order_acquire);
            continue;
        }
        if (!atomic_compare_exchange_weak_explicit(&p->claimed, &c, c + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        fn(ctx, (int64_t)(c - base), ith);
        atomic_fetch_add_explicit(&p->finished, 1, memory_order_acq_rel);
        c = atomic_load_explicit(&p->claimed, memory_order_acquire);
    }
    int spins = 0;
    while (atomic_load_explicit(&p->finished, memory_order_acquire) < end) spin_wait(&spins);
}

int threadpool_default_threads(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int c = CPU_COUNT(&set);
        if (c > 0) return c;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

#else /* one-thread pool */

struct threadpool {
    int n;
};

int threadpool_new(threadpool **out, int n_threads, hearth_error *err) {
    (void)n_threads;
    *out = h_calloc(1, sizeof **out);
    if (!*out) return h_err(err, HEARTH_ERR_NOMEM, "threads: out of memory");
    (*out)->n = 1;
    return HEARTH_OK;
}
void threadpool_free(threadpool *p) { h_free(p); }
int threadpool_size(const threadpool *p) { (void)p; return 1; }
void threadpool_run(threadpool *p, threadpool_fn fn, void *ctx) { (void)p; fn(ctx, 0, 1); }
void threadpool_barrier(threadpool *p) { (void)p; }
void threadpool_for(threadpool *p, uint64_t *pos, int64_t n, threadpool_item_fn fn, void *ctx, int ith) {
    (void)p;
    *pos += (uint64_t)(n > 0 ? n : 0);
    for (int64_t i = 0; i < n; i++) fn(ctx, i, ith);
}
int threadpool_default_threads(void) { return 1; }
#endif
