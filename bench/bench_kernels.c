/* bench_kernels.c — speed of the CPU matrix kernels: gemv (one token, decode) and gemm (a batch
 * of tokens, prefill) per weight type and SIMD level, against the scalar reference, on the
 * matrix shapes of real models. Prints GB/s of weights streamed and GOP/s (2 ops per
 * multiply-add), plus a plain streaming-read roofline of this machine.
 *
 *   build/bench/bench_kernels                          # default types and shapes
 *   build/bench/bench_kernels --types q4_0,q4_k --shapes 4864x896 --tok 512 -t 2 --ref
 */
#include "cpu/cpu.h"
#include "quant.h"

#include <stdio.h>
#include <time.h>

#if defined(__wasi__) /* wasm32-wasi: one thread (make bench-kernels-wasm) */
typedef int pthread_t;
static int pthread_create(pthread_t *t, const void *attr, void *(*fn)(void *), void *arg) {
    (void)t, (void)attr;
    fn(arg);
    return 0;
}
static int pthread_join(pthread_t t, void **ret) {
    (void)t, (void)ret;
    return 0;
}
#else
#include <pthread.h>
#endif
#include <stdlib.h>
#include <string.h>

typedef struct { uint64_t s; } rng_t;
static uint64_t rng_next(rng_t *r) {
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static const struct { const char *name; uint32_t type; } type_names[] = {
    {"f32", QT_F32},   {"f16", QT_F16},   {"bf16", QT_BF16}, {"q4_0", QT_Q4_0},
    {"q4_1", QT_Q4_1}, {"q5_0", QT_Q5_0}, {"q5_1", QT_Q5_1}, {"q8_0", QT_Q8_0},
    {"q4_k", QT_Q4_K}, {"q5_k", QT_Q5_K}, {"q6_k", QT_Q6_K},
};

/* Random bits with sane f16 scales: speed does not depend on the values. */
static uint8_t *make_weights(uint32_t type, int64_t rows, int64_t n, size_t *rb_out) {
    size_t rb = quant_row_bytes(type, n);
    uint8_t *w = h_malloc_aligned((size_t)rows * rb);
    if (!w) return NULL;
    rng_t r = {0x1234567 + type};
    uint64_t *p64 = (uint64_t *)w;
    for (size_t i = 0; i < (size_t)rows * rb / 8; i++) p64[i] = rng_next(&r);
    const quant_info *qi = quant_info_of(type);
    uint16_t one = h_f32_to_f16(0.01f);
    if (type == QT_F16 || type == QT_BF16 || type == QT_F32) {
        for (size_t i = 0; i < (size_t)rows * n; i++) {
            if (type == QT_F32) {
                float f = 0.01f;
                memcpy(w + 4 * i, &f, 4);
            } else {
                memcpy(w + 2 * i, &one, 2);
            }
        }
    } else {
        for (size_t b = 0; b < (size_t)rows * (rb / qi->bytes); b++) {
            uint8_t *blk = w + b * qi->bytes;
            if (type == QT_Q6_K) memcpy(blk + 208, &one, 2);
            else memcpy(blk, &one, 2);
            if (type == QT_Q4_1 || type == QT_Q5_1 || type == QT_Q4_K || type == QT_Q5_K) memcpy(blk + 2, &one, 2);
        }
    }
    *rb_out = rb;
    return w;
}

typedef struct {
    const quant_kernels *k;
    int inner; /* calls per run (small products) */
    const uint8_t *w;
    size_t rb, as;
    const uint8_t *act;
    float *y;
    size_t ldy;
    int64_t n, r0, r1;
    int nt; /* 0: gemv */
} job;

static void run_job(const job *j) {
    if (j->nt == 0) j->k->gemv(j->w, j->rb, j->act, j->y + j->r0, j->n, j->r0, j->r1);
    else j->k->gemm(j->w, j->rb, j->act, j->as, j->nt, j->y, j->ldy, j->n, j->r0, j->r1);
}

/* --cpu-time: CPU seconds of this process divided by the threads, instead of wall time: on a
 * machine shared with other jobs it measures the kernels, not the scheduler. */
static int use_cpu_time;
static double now_s(void) {
    if (!use_cpu_time) return h_time_s();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *thread_main(void *p) {
    const job *j = p;
    for (int k = 0; k < j->inner; k++) run_job(j);
    return NULL;
}

/* Runs the product over rows [0, rows) split across nth threads; returns seconds per call. */
static double time_product(const quant_kernels *k, const uint8_t *w, size_t rb, const uint8_t *act,
                           size_t as, int nt, float *y, size_t ldy, int64_t n, int64_t rows, int nth,
                           double min_time) {
    job jobs[16];
    for (int i = 0; i < nth; i++) {
        int64_t a = rows * i / nth, b = rows * (i + 1) / nth;
        /* split on 16-row boundaries like an engine would */
        a = i == 0 ? 0 : (a + 15) / 16 * 16;
        b = i == nth - 1 ? rows : (b + 15) / 16 * 16;
        jobs[i] = (job){k, 1, w, rb, as, act, y, ldy, n, a, b, nt};
    }
    /* small products: several calls per sample, so that timer and thread start-up do not count */
    double t0 = now_s();
    run_job(&jobs[0]);
    double one = (now_s() - t0) * nth, best = 1e30, total = 0;
    int inner = one > 0 && one < 2e-3 ? (int)(2e-3 / one) + 1 : 1, reps = 0;
    for (int i = 0; i < nth; i++) jobs[i].inner = inner;
    while (total < min_time || reps < 3) {
        t0 = now_s();
        pthread_t th[16];
        for (int i = 1; i < nth; i++) pthread_create(&th[i], NULL, thread_main, &jobs[i]);
        for (int c = 0; c < inner; c++) run_job(&jobs[0]);
        for (int i = 1; i < nth; i++) pthread_join(th[i], NULL);
        double dt = (now_s() - t0) / (use_cpu_time ? nth : 1) / inner;
        total += dt * inner;
        if (dt < best) best = dt;
        reps++;
        if (reps >= 1000) break;
    }
    return best;
}

/* Plain streaming read of a large buffer (the memory roofline of one core / nth cores). */
typedef struct { const uint64_t *p; size_t n; uint64_t sum; } stream_job;
static void *stream_main(void *arg) {
    stream_job *s = arg;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= s->n; i += 4) a += s->p[i], b ^= s->p[i + 1], c += s->p[i + 2], d ^= s->p[i + 3];
    s->sum = a + b + c + d;
    return NULL;
}

static void roofline(int nth) {
#if defined(__wasi__)
    size_t bytes = (size_t)256 << 20;
#else
    size_t bytes = (size_t)512 << 20;
#endif
    uint64_t *buf = h_malloc_aligned(bytes);
    if (!buf) return;
    memset(buf, 1, bytes);
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        stream_job sj[16];
        pthread_t th[16];
        double t0 = h_time_s();
        for (int i = 0; i < nth; i++) {
            sj[i] = (stream_job){buf + bytes / 8 / nth * i, bytes / 8 / nth, 0};
            if (i) pthread_create(&th[i], NULL, stream_main, &sj[i]);
        }
        stream_main(&sj[0]);
        for (int i = 1; i < nth; i++) pthread_join(th[i], NULL);
        double dt = h_time_s() - t0;
        if (dt < best) best = dt;
    }
    printf("roofline: streaming read of %zu MiB with %d thread(s): %.1f GB/s\n", bytes >> 20, nth, bytes / best / 1e9);
    h_free_aligned(buf);
}

static int parse_shape(const char *s, int64_t *rows, int64_t *n) {
    return sscanf(s, "%lldx%lld", (long long *)rows, (long long *)n) == 2 && *rows > 0 && *n > 0;
}

int main(int argc, char **argv) {
    const char *types = "q4_0,q8_0,q4_k,q6_k", *shapes = "896x896,4864x896,896x4864,151936x896,8192x2048,2048x8192";
    const char *level = NULL;
    int ntok = 512, nth = 1, with_ref = 0, do_roof = 1;
    double min_time = 0.3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--types") && i + 1 < argc) types = argv[++i];
        else if (!strcmp(argv[i], "--shapes") && i + 1 < argc) shapes = argv[++i];
        else if (!strcmp(argv[i], "--tok") && i + 1 < argc) ntok = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc) nth = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--level") && i + 1 < argc) level = argv[++i];
        else if (!strcmp(argv[i], "--min-time") && i + 1 < argc) min_time = atof(argv[++i]);
        else if (!strcmp(argv[i], "--ref")) with_ref = 1;
        else if (!strcmp(argv[i], "--no-roofline")) do_roof = 0;
        else if (!strcmp(argv[i], "--cpu-time")) use_cpu_time = 1;
        else {
            fprintf(stderr,
                    "usage: bench_kernels [--types q4_0,q8_0,...] [--shapes ROWSxN,...] [--tok N] [-t THREADS]\n"
                    "                     [--level avx2|avx512] [--ref] [--min-time S] [--no-roofline] [--cpu-time]\n"
                    "Shapes are rows x n (GGUF ne[1] x ne[0]). --ref also times the scalar reference\n"
                    "(on at most 512 rows, scaled). gemm uses --tok tokens (default 512). --cpu-time divides\n"
                    "process CPU time by the threads instead of using wall time (for a busy machine).\n");
            return 2;
        }
    }
    if (nth < 1 || nth > 16 || ntok < 1) return 2;
    cpu_level lvl = cpu_best_level();
    if (level) {
        for (int l = 0; l < CPU_LEVEL_COUNT; l++)
            if (!strcmp(level, cpu_level_name((cpu_level)l))) lvl = (cpu_level)l;
        if (!cpu_level_available(lvl) || strcmp(level, cpu_level_name(lvl))) {
            fprintf(stderr, "level %s not available here\n", level);
            return 1;
        }
    }
    printf("kernels: %s, %d thread(s), gemm with %d tokens%s\n", cpu_level_name(lvl), nth, ntok,
           use_cpu_time ? ", CPU time" : "");
    if (do_roof) roofline(nth);
    printf("%-5s %-12s %-5s %-7s %10s %9s %9s\n", "type", "rows x n", "op", "impl", "ms", "GB/s", "GOP/s");
    char tbuf[256];
    snprintf(tbuf, sizeof tbuf, "%s", types);
    for (char *tn = strtok(tbuf, ","); tn; tn = strtok(NULL, ",")) {
        uint32_t type = QT_COUNT;
        for (size_t i = 0; i < H_ARRAY_LEN(type_names); i++)
            if (!strcmp(tn, type_names[i].name)) type = type_names[i].type;
        if (type == QT_COUNT) {
            fprintf(stderr, "unknown type %s\n", tn);
            return 1;
        }
        const quant_kernels *fast = cpu_kernels_at(lvl, type), *ref = quant_kernels_ref(type);
        if (!fast) fast = ref;
        char sbuf[512];
        snprintf(sbuf, sizeof sbuf, "%s", shapes);
        char *save = NULL;
        for (char *sh = strtok_r(sbuf, ",", &save); sh; sh = strtok_r(NULL, ",", &save)) {
            int64_t rows, n;
            if (!parse_shape(sh, &rows, &n) || n % quant_info_of(type)->block) {
                printf("%-5s %-12s (skipped: n not a multiple of the block)\n", tn, sh);
                continue;
            }
            size_t rb = 0;
            uint8_t *w = make_weights(type, rows, n, &rb);
            size_t as = quant_act_row_bytes(fast->act, n);
            uint8_t *act = h_malloc_aligned(as * ntok);
            float *x = h_malloc_aligned(n * sizeof(float));
            float *y = h_malloc_aligned((size_t)rows * ntok * sizeof(float));
            if (!w || !act || !x || !y) {
                fprintf(stderr, "out of memory\n");
                return 1;
            }
            rng_t r = {99};
            for (int t = 0; t < ntok; t++) {
                for (int64_t i = 0; i < n; i++) x[i] = (float)((int64_t)(rng_next(&r) % 2001) - 1000) / 1000.0f;
                fast->quantize_act(x, act + (size_t)t * as, n);
            }
            double gb = (double)rows * rb / 1e9, gop = 2.0 * rows * n / 1e9;
            for (int op = 0; op < 2; op++) {
                for (int impl = 0; impl < 1 + with_ref; impl++) {
                    const quant_kernels *k = impl ? ref : fast;
                    int nt = op ? ntok : 0;
                    int64_t rr = impl ? H_MIN(rows, 512) : rows; /* the reference is slow */
                    if (impl && op) nt = H_MIN(ntok, 16);
                    double s = time_product(k, w, rb, act, as, nt, y, (size_t)rows, n, rr, nth,
                                            impl ? 0.05 : min_time);
                    double scale = (double)rr / rows * (op ? (double)nt / ntok : 1);
                    double dt = s / scale; /* seconds for the whole matrix (and all tokens) */
                    printf("%-5s %-12s %-5s %-7s %10.3f %9.1f %9.1f\n", tn, sh, op ? "gemm" : "gemv", k->impl,
                           dt * 1e3, op ? gb / dt : gb / dt, (op ? ntok : 1) * gop / dt);
                }
            }
            h_free_aligned(w);
            h_free_aligned(act);
            h_free_aligned(x);
            h_free_aligned(y);
        }
    }
    return 0;
}
