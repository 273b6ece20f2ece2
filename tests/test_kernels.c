/* test_kernels.c — every SIMD kernel level compiled in and runnable here (AVX2, AVX-512, wasm
 * SIMD128) against the scalar reference of quant.c (the specification): activation quantization
 * byte for byte; gemv and gemm per weight type on random bit patterns and on quantized
 * real-valued rows, odd sizes, unaligned row ranges, 1..17 and 260 tokens.
 *
 * Tolerance (gemv/gemm vs reference): the integer block sums are exact in both, so they differ
 * only by float rounding of the block products and by summation order. With u = 2^-24 and k
 * float additions, each side's error is at most ~k u S, where S bounds the magnitudes of the
 * summed terms: S = sum_e |a_e| (|scale_e| U + |offset_e|), U the largest unsigned code plus the
 * offset the kernels remove (e.g. 15 + 8 for Q4_0), offset_e the Q4_1/Q5_1 min or the K-quant
 * dmin*m. We allow |fast - ref| <= 2 (k + 32) u S = (k + 32) FLT_EPSILON S with k = n for float
 * weights and k = 2 n / 32 for quantized ones. Errors of wrong kernels (a block missed, a wrong
 * nibble or scale) are of order S / sqrt(n), orders of magnitude above this. */
#include "test.h"

#include "cpu/cpu.h"
#include "quant.h"

#include <float.h>
#include <stdint.h>

typedef struct { uint64_t s; } rng_t;
static uint64_t rng_next(rng_t *r) {
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}
static float rng_unit(rng_t *r) { return (float)((rng_next(r) >> 40) * (1.0 / 16777216.0)); } /* [0,1) */
static float rng_sym(rng_t *r) { return 2 * rng_unit(r) - 1; }

static const uint32_t all_types[] = {QT_F32, QT_F16, QT_BF16, QT_Q4_0, QT_Q4_1, QT_Q5_0,
                                     QT_Q5_1, QT_Q8_0, QT_Q4_K, QT_Q5_K, QT_Q6_K};
static const cpu_level levels[] = {CPU_AVX2, CPU_AVX512, CPU_WASM_SIMD128};

/* Activation-like floats: mostly in [-1, 1], some outliers, a zero block, a constant block. */
static void fill_act(rng_t *r, float *x, int64_t n, int variant) {
    for (int64_t i = 0; i < n; i++) {
        x[i] = rng_sym(r);
        if (rng_next(r) % 37 == 0) x[i] *= 20;
    }
    if (variant == 1 && n >= 64) {
        for (int i = 0; i < 32; i++) x[i] = 0;
        for (int i = 32; i < 64; i++) x[i] = -0.375f;
    }
    if (variant == 2) /* amax = 127 gives id = 1: every k + 0.5 is a rounding tie */
        for (int64_t i = 0; i < n; i++) x[i] = (i % 32 == 0) ? 127.0f : (float)((int)(rng_next(r) % 254) - 127) + 0.5f;
}

static uint16_t sane_f16(rng_t *r) {
    float v = ldexpf(0.5f + rng_unit(r), -(int)(rng_next(r) % 12)); /* 2^-12 .. 1.5 */
    return h_f32_to_f16(rng_next(r) & 1 ? -v : v);
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* rows x n weights: random bit patterns with sane f16 scales (mode 0) or quantized floats (1). */
static uint8_t *make_weights(rng_t *r, uint32_t type, int64_t rows, int64_t n, int mode) {
    size_t rb = quant_row_bytes(type, n);
    uint8_t *w = malloc(rows * rb);
    float *x = malloc(n * sizeof(float));
    const quant_info *qi = quant_info_of(type);
    for (int64_t row = 0; row < rows; row++) {
        uint8_t *p = w + row * rb;
        if (mode == 1 || type == QT_F32 || type == QT_F16 || type == QT_BF16) {
            float scale = ldexpf(1, -(int)(rng_next(r) % 6));
            for (int64_t i = 0; i < n; i++) x[i] = scale * rng_sym(r) * (rng_next(r) % 50 == 0 ? 8 : 1);
            CHECK(quant_quantize_row_ref(type, x, p, n) == 0);
            continue;
        }
        for (size_t i = 0; i < rb; i++) p[i] = (uint8_t)rng_next(r);
        for (int64_t b = 0; b < n / qi->block; b++) {
            uint8_t *blk = p + b * qi->bytes;
            switch (type) {
            case QT_Q4_1: case QT_Q5_1: case QT_Q4_K: case QT_Q5_K:
                put16(blk, sane_f16(r));
                put16(blk + 2, sane_f16(r));
                break;
            case QT_Q6_K: put16(blk + 208, sane_f16(r)); break;
            default: put16(blk, sane_f16(r)); break;
            }
        }
    }
    free(x);
    return w;
}

static double f16d(const uint8_t *p) { return h_f16_to_f32(h_rd_u16(p)); }

/* Per-element bound |scale| U + |offset| of the terms the kernels sum (see the top comment). */
static void weight_mags(uint32_t type, const uint8_t *p, int64_t n, double *mag) {
    switch (type) {
    case QT_F32: case QT_F16: case QT_BF16: {
        float *w = malloc(n * sizeof(float));
        quant_dequant_row_ref(type, p, w, n);
        for (int64_t i = 0; i < n; i++) mag[i] = fabs(w[i]);
        free(w);
        return;
    }
    case QT_Q4_0: case QT_Q4_1: case QT_Q5_0: case QT_Q5_1: case QT_Q8_0: {
        const quant_info *qi = quant_info_of(type);
        double U = type == QT_Q4_0 ? 23 : type == QT_Q4_1 ? 15 : type == QT_Q5_0 ? 47 : type == QT_Q5_1 ? 31 : 383;
        int has_m = type == QT_Q4_1 || type == QT_Q5_1;
        for (int64_t b = 0; b < n / 32; b++) {
            const uint8_t *blk = p + b * qi->bytes;
            double m = fabs(f16d(blk)) * U + (has_m ? fabs(f16d(blk + 2)) : 0);
            for (int i = 0; i < 32; i++) mag[32 * b + i] = m;
        }
        return;
    }
    case QT_Q4_K: case QT_Q5_K: {
        const quant_info *qi = quant_info_of(type);
        double U = type == QT_Q4_K ? 15 : 31;
        for (int64_t b = 0; b < n / 256; b++) {
            const uint8_t *blk = p + b * qi->bytes;
            for (int j = 0; j < 8; j++) {
                uint8_t sc, m;
                quant_k4_scale_min(j, blk + 4, &sc, &m);
                double v = fabs(f16d(blk)) * sc * U + fabs(f16d(blk + 2)) * m;
                for (int i = 0; i < 32; i++) mag[256 * b + 32 * j + i] = v;
            }
        }
        return;
    }
    case QT_Q6_K:
        for (int64_t b = 0; b < n / 256; b++) {
            const uint8_t *blk = p + b * 210;
            for (int j = 0; j < 16; j++) {
                double v = fabs(f16d(blk + 208)) * abs((int8_t)blk[192 + j]) * 95;
                for (int i = 0; i < 16; i++) mag[256 * b + 16 * j + i] = v;
            }
        }
        return;
    }
}

/* |a_e| of an activation row in its format. */
static void act_abs(quant_act a, const void *act, int64_t n, double *out) {
    if (a == QA_F32) {
        for (int64_t i = 0; i < n; i++) out[i] = fabs(((const float *)act)[i]);
    } else if (a == QA_Q8_32) {
        const act_q8_32 *x = act;
        for (int64_t i = 0; i < n; i++) out[i] = fabs((double)x[i / 32].d * x[i / 32].qs[i % 32]);
    } else {
        const act_q8_256 *x = act;
        for (int64_t i = 0; i < n; i++) out[i] = fabs((double)x[i / 256].d * x[i / 256].qs[i % 256]);
    }
}

static double tolerance(uint32_t type, int64_t n, const double *mag, const double *aabs) {
    double S = 0;
    for (int64_t i = 0; i < n; i++) S += mag[i] * aabs[i];
    double k = (type == QT_F32 || type == QT_F16 || type == QT_BF16) ? (double)n : 2.0 * n / 32;
    return (k + 32) * FLT_EPSILON * S;
}

static int levels_checked[CPU_LEVEL_COUNT];

/* ---- activation quantization ------------------------------------------------------------------- */

static void test_quantize_act(void) {
    rng_t r = {0x9E3779B97F4A7C15ull};
    const int64_t sizes[] = {32, 256, 512, 768, 4096, 4864};
    for (size_t li = 0; li < H_ARRAY_LEN(levels); li++) {
        for (uint32_t type = QT_Q4_0; type <= QT_Q6_K; type++) {
            const quant_kernels *k = cpu_kernels_at(levels[li], type);
            if (!k || (type != QT_Q8_0 && type != QT_Q4_K)) continue; /* one type per format */
            for (size_t si = 0; si < H_ARRAY_LEN(sizes); si++) {
                int64_t n = sizes[si];
                if (n % (k->act == QA_Q8_256 ? 256 : 32)) continue;
                for (int variant = 0; variant < 3; variant++) {
                    float *x = malloc(n * sizeof(float));
                    fill_act(&r, x, n, variant);
                    size_t ab = quant_act_row_bytes(k->act, n);
                    uint8_t *ref = malloc(ab), *fast = malloc(ab);
                    memset(ref, 0xAA, ab);
                    memset(fast, 0x55, ab);
                    quant_act_row_ref(k->act, x, ref, n);
                    k->quantize_act(x, fast, n);
                    CHECK_MSG(memcmp(ref, fast, ab) == 0, "%s %s act n=%lld variant %d: bytes differ",
                              cpu_level_name(levels[li]), quant_type_name(type), (long long)n, variant);
                    free(x);
                    free(ref);
                    free(fast);
                }
            }
        }
    }
}

/* ---- gemv / gemm --------------------------------------------------------------------------------- */

typedef struct {
    const quant_kernels *fast, *ref;
    uint32_t type;
    int64_t rows, n;
    size_t rb;
    const uint8_t *w;
    double *mags; /* rows x n */
} mat_case;

/* nt activation rows (float inputs quantized by the reference), stride `as` bytes. */
static uint8_t *make_acts(rng_t *r, const mat_case *m, int nt, size_t *as) {
    size_t ab = quant_act_row_bytes(m->ref->act, m->n);
    *as = ab;
    uint8_t *act = malloc(ab * nt);
    float *x = malloc(m->n * sizeof(float));
    for (int t = 0; t < nt; t++) {
        fill_act(r, x, m->n, t % 3 == 1 ? 1 : 0);
        m->ref->quantize_act(x, act + t * ab, m->n);
    }
    free(x);
    return act;
}

static const char *case_name(const mat_case *m, char *buf, size_t len) {
    snprintf(buf, len, "%s %s %lldx%lld", m->fast->impl, quant_type_name(m->type), (long long)m->rows,
             (long long)m->n);
    return buf;
}

static void check_gemv(rng_t *r, const mat_case *m, int64_t r0, int64_t r1) {
    size_t as;
    uint8_t *act = make_acts(r, m, 1, &as);
    int64_t nr = r1 - r0;
    float *yf = malloc((nr + 2) * sizeof(float)), *yr = malloc(nr * sizeof(float));
    double *aabs = malloc(m->n * sizeof(double));
    act_abs(m->ref->act, act, m->n, aabs);
    yf[nr] = yf[nr + 1] = 777.0f;
    m->fast->gemv(m->w, m->rb, act, yf, m->n, r0, r1);
    m->ref->gemv(m->w, m->rb, act, yr, m->n, r0, r1);
    char nm[96];
    int bad = 0;
    for (int64_t i = 0; i < nr && bad < 3; i++) {
        double tol = tolerance(m->type, m->n, m->mags + (r0 + i) * m->n, aabs);
        if (!(fabs((double)yf[i] - yr[i]) <= tol)) {
            bad++;
            CHECK_MSG(0, "%s gemv rows [%lld,%lld) row %lld: %.9g vs ref %.9g (tol %.3g)",
                      case_name(m, nm, sizeof nm), (long long)r0, (long long)r1, (long long)(r0 + i),
                      yf[i], yr[i], tol);
        }
    }
    CHECK_MSG(yf[nr] == 777.0f && yf[nr + 1] == 777.0f, "%s gemv wrote past y[r1 - r0]",
              case_name(m, nm, sizeof nm));
    free(act);
    free(yf);
    free(yr);
    free(aabs);
}

static void check_gemm(rng_t *r, const mat_case *m, int nt, int64_t r0, int64_t r1) {
    size_t as;
    uint8_t *act = make_acts(r, m, nt, &as);
    size_t ldy = (size_t)m->rows + 3;
    float *yf = malloc(ldy * nt * sizeof(float)), *yr = malloc(ldy * nt * sizeof(float));
    for (size_t i = 0; i < ldy * nt; i++) yf[i] = yr[i] = 4321.0f;
    m->fast->gemm(m->w, m->rb, act, as, nt, yf, ldy, m->n, r0, r1);
    m->ref->gemm(m->w, m->rb, act, as, nt, yr, ldy, m->n, r0, r1);
    double *aabs = malloc(m->n * sizeof(double));
    char nm[96];
    int bad = 0;
    for (int t = 0; t < nt; t++) {
        act_abs(m->ref->act, act + t * as, m->n, aabs);
        for (size_t i = 0; i < ldy; i++) {
            float f = yf[t * ldy + i], g = yr[t * ldy + i];
            if ((int64_t)i < r0 || (int64_t)i >= r1) {
                if (f != 4321.0f && bad++ < 3)
                    CHECK_MSG(0, "%s gemm nt=%d rows [%lld,%lld): wrote y[%d][%zu] outside the range",
                              case_name(m, nm, sizeof nm), nt, (long long)r0, (long long)r1, t, i);
                continue;
            }
            double tol = tolerance(m->type, m->n, m->mags + i * m->n, aabs);
            if (!(fabs((double)f - g) <= tol) && bad++ < 3)
                CHECK_MSG(0, "%s gemm nt=%d rows [%lld,%lld) y[%d][%zu]: %.9g vs ref %.9g (tol %.3g)",
                          case_name(m, nm, sizeof nm), nt, (long long)r0, (long long)r1, t, i, f, g, tol);
        }
    }
    CHECK(bad == 0);
    free(act);
    free(yf);
    free(yr);
    free(aabs);
}

static void run_matrix_cases(cpu_level lvl, uint32_t type, rng_t *r) {
    const quant_kernels *fast = cpu_kernels_at(lvl, type), *ref = quant_kernels_ref(type);
    CHECK_MSG(fast != NULL, "%s has no kernels for %s", cpu_level_name(lvl), quant_type_name(type));
    if (!fast) return;
    CHECK(fast->act == ref->act && fast->type == type);
    const quant_info *qi = quant_info_of(type);
    /* n: one block, a few, an odd count of blocks, many; float types also unaligned lengths */
    int64_t ns_q[] = {32, 96, 544, 2048}, ns_k[] = {256, 768, 2304}, ns_f[] = {1, 17, 100, 544};
    const int64_t *ns = qi->block == 1 ? ns_f : qi->block == 32 ? ns_q : ns_k;
    int nn = qi->block == 256 ? 3 : 4;
    for (int ni = 0; ni < nn; ni++) {
        for (int mode = 0; mode < 2; mode++) {
            if (qi->block == 1 && mode == 1) continue; /* float weights: one kind of data */
            mat_case m = {fast, ref, type, 37, ns[ni], quant_row_bytes(type, ns[ni]), NULL, NULL};
            uint8_t *w = make_weights(r, type, m.rows, m.n, mode);
            m.w = w;
            m.mags = malloc(m.rows * m.n * sizeof(double));
            for (int64_t row = 0; row < m.rows; row++) weight_mags(type, w + row * m.rb, m.n, m.mags + row * m.n);
            check_gemv(r, &m, 0, m.rows);
            check_gemv(r, &m, 5, 22);
            check_gemv(r, &m, 36, 37);
            if (ni < 3) {
                for (int nt = 1; nt <= 17; nt++) check_gemm(r, &m, nt, nt % 2 ? 0 : 3, nt % 3 ? m.rows : 35);
            } else {
                check_gemm(r, &m, 9, 0, m.rows);
            }
            check_gemm(r, &m, 17, 17, 18);
            free(m.mags);
            free(w);
        }
    }
    /* more tokens than one token block of the AVX-512 gemm (260 > 256), 40 rows */
    mat_case m = {fast, ref, type, 40, qi->block == 256 ? 512 : 64, 0, NULL, NULL};
    m.rb = quant_row_bytes(type, m.n);
    uint8_t *w = make_weights(r, type, m.rows, m.n, 1);
    m.w = w;
    m.mags = malloc(m.rows * m.n * sizeof(double));
    for (int64_t row = 0; row < m.rows; row++) weight_mags(type, w + row * m.rb, m.n, m.mags + row * m.n);
    check_gemm(r, &m, 260, 1, 39);
    free(m.mags);
    free(w);
}

static void test_matrix_kernels(void) {
    rng_t r = {0xD1B54A32D192ED03ull};
    for (size_t li = 0; li < H_ARRAY_LEN(levels); li++) {
        if (!cpu_level_available(levels[li])) continue;
        levels_checked[levels[li]] = 1;
        for (size_t ti = 0; ti < H_ARRAY_LEN(all_types); ti++) run_matrix_cases(levels[li], all_types[ti], &r);
    }
}

static void test_dot_f32(void) {
    rng_t r = {12345};
    for (int64_t n = 0; n < 300; n += 7) {
        float *a = malloc((n + 1) * sizeof(float)), *b = malloc((n + 1) * sizeof(float));
        double S = 0, ref = 0;
        for (int64_t i = 0; i < n; i++) {
            a[i] = rng_sym(&r), b[i] = rng_sym(&r);
            S += fabs((double)a[i] * b[i]);
            ref += (double)a[i] * b[i];
        }
        CHECK_NEAR(cpu_dot_f32(a, b, n), ref, (n + 32) * FLT_EPSILON * S);
        free(a);
        free(b);
    }
}

/* The levels this machine should run are compiled in and selected. */
static void test_dispatch(void) {
    const quant_kernels *k = quant_kernels_for(QT_Q4_0);
    CHECK(k != NULL);
    CHECK_STR_CONTAINS(quant_simd_name(), cpu_simd_name());
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        CHECK_MSG(cpu_level_available(CPU_AVX2), "CPU has AVX2 but the AVX2 kernels are not compiled in");
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
        __builtin_cpu_supports("avx512vbmi")) {
        CHECK_MSG(cpu_level_available(CPU_AVX512), "CPU has AVX-512 VNNI/VBMI but the kernels are not compiled in");
        CHECK(cpu_best_level() == CPU_AVX512);
        CHECK(strcmp(k->impl, "avx512") == 0);
    }
#elif defined(__wasm_simd128__)
    CHECK(cpu_best_level() == CPU_WASM_SIMD128);
#endif
    for (size_t ti = 0; ti < H_ARRAY_LEN(all_types); ti++)
        CHECK(cpu_kernels_at(CPU_SCALAR, all_types[ti]) == NULL);
    quant_force_reference(1);
    CHECK(strcmp(quant_kernels_for(QT_Q4_0)->impl, "ref") == 0);
    quant_force_reference(0);
}

int main(void) {
    RUN(test_dispatch);
    RUN(test_quantize_act);
    RUN(test_matrix_kernels);
    RUN(test_dot_f32);
    fprintf(stderr, "SIMD levels checked against the reference:");
    int any = 0;
    for (int l = 0; l < CPU_LEVEL_COUNT; l++)
        if (levels_checked[l]) fprintf(stderr, " %s", cpu_level_name((cpu_level)l)), any = 1;
    fprintf(stderr, "%s (best here: %s)\n", any ? "" : " none", cpu_simd_name());
    return test_summary();
}
