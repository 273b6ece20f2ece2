/* wasm_simd128.c — WebAssembly SIMD128 kernels (the CPU path of the browser build; compiled
 * with clang --target=wasm32-wasi -msimd128). Byte-exact activation quantization (f32x4.nearest
 * rounds half to even like nearbyintf) and, for every type, a "one row x up to 4 tokens" kernel.
 * SIMD128 has no 8-bit dot product: codes are kept signed (q - offset) and multiplied with
 * i16x8.extmul_{low,high}_i8x16, two products summed in 16 bits (|q| <= 128, |a| <= 127, so a
 * pair is at most 32512) and widened with i32x4.extadd_pairwise_i16x8. Without -msimd128 this
 * file only exports an empty table. */
#include "cpu_impl.h"

#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

#define AI static inline __attribute__((always_inline))
#define TT 4 /* tokens per gemm tile */

AI uint16_t rd16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}
AI uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
AI float f16(const uint8_t *p) { return h_f16_to_f32(rd16(p)); }

AI float hsum_f32(v128_t v) {
    return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) +
           wasm_f32x4_extract_lane(v, 3);
}
AI int hsum_i32(v128_t v) {
    return wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1) + wasm_i32x4_extract_lane(v, 2) +
           wasm_i32x4_extract_lane(v, 3);
}
AI float hmax_f32(v128_t v) {
    v = wasm_f32x4_max(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    v = wasm_f32x4_max(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    return wasm_f32x4_extract_lane(v, 0);
}

/* sum over 16 lanes of a * b (signed bytes) as 4 int32 partial sums */
AI v128_t dot_i8(v128_t a, v128_t b) {
    return wasm_i32x4_extadd_pairwise_i16x8(
        wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16(a, b), wasm_i16x8_extmul_high_i8x16(a, b)));
}

/* ---- activation quantization (same bytes as quant_act_row_ref) ------------------------------- */

/* 16 floats * id -> 16 int8 (round half to even), and their int32 partial sums. */
AI v128_t quant16(const float *x, v128_t vid, v128_t *sum) {
    v128_t q[4];
    for (int i = 0; i < 4; i++)
        q[i] = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(x + 4 * i), vid)));
    *sum = wasm_i32x4_add(wasm_i32x4_add(q[0], q[1]), wasm_i32x4_add(q[2], q[3]));
    return wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(q[0], q[1]), wasm_i16x8_narrow_i32x4(q[2], q[3]));
}

AI float amax_of(const float *x, int k) {
    v128_t m = wasm_f32x4_splat(0);
    for (int i = 0; i < k; i += 4) m = wasm_f32x4_max(wasm_f32x4_abs(wasm_v128_load(x + i)), m);
    return hmax_f32(m);
}

static void qa_q8_32(const float *x, void *dst, int64_t n) {
    act_q8_32 *y = dst;
    for (int64_t b = 0; b < n / 32; b++, x += 32) {
        float amax = amax_of(x, 32);
        float d = amax / 127.0f, id = d != 0 ? 127.0f / amax : 0;
        v128_t vid = wasm_f32x4_splat(id), s0, s1;
        wasm_v128_store(y[b].qs, quant16(x, vid, &s0));
        wasm_v128_store(y[b].qs + 16, quant16(x + 16, vid, &s1));
        y[b].d = d;
        y[b].s = d * (float)hsum_i32(wasm_i32x4_add(s0, s1));
    }
}

static void qa_q8_256(const float *x, void *dst, int64_t n) {
    act_q8_256 *y = dst;
    for (int64_t b = 0; b < n / 256; b++, x += 256) {
        float amax = amax_of(x, 256);
        float d = amax / 127.0f, id = d != 0 ? 127.0f / amax : 0;
        v128_t vid = wasm_f32x4_splat(id);
        for (int g = 0; g < 16; g++) {
            v128_t s;
            wasm_v128_store(y[b].qs + 16 * g, quant16(x + 16 * g, vid, &s));
            y[b].bsums[g] = (int16_t)hsum_i32(s);
        }
        y[b].d = d;
    }
}

static void qa_f32(const float *x, void *dst, int64_t n) { memcpy(dst, x, (size_t)n * sizeof(float)); }

/* ---- F32 / F16 / BF16 ------------------------------------------------------------------------------ */

/* 4 f16 (low 64 bits of h, as u16) -> f32, exact for every input incl. subnormals, inf, NaN. */
AI v128_t f16x4_to_f32(v128_t h4) {
    v128_t h = wasm_u32x4_extend_low_u16x8(h4);
    v128_t sign = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16);
    v128_t em = wasm_v128_and(h, wasm_i32x4_splat(0x7fff));
    /* finite: the bits em << 13 read as f32 are the value * 2^-112 (also for subnormals) */
    v128_t fin = wasm_f32x4_mul(wasm_i32x4_shl(em, 13), wasm_f32x4_splat(0x1p112f));
    v128_t inf = wasm_v128_or(wasm_i32x4_shl(em, 13), wasm_i32x4_splat(0x7f800000));
    v128_t special = wasm_i32x4_ge(em, wasm_i32x4_splat(0x7c00));
    return wasm_v128_or(sign, wasm_v128_bitselect(inf, fin, special));
}

/* 4 weights of type t at p as f32 */
AI v128_t ldw4(uint32_t t, const uint8_t *p) {
    if (t == QT_F32) return wasm_v128_load(p);
    v128_t h = wasm_v128_load64_zero(p);
    if (t == QT_F16) return f16x4_to_f32(h);
    return wasm_i32x4_shl(wasm_u32x4_extend_low_u16x8(h), 16);
}

AI float ldw1(uint32_t t, const uint8_t *p) {
    if (t == QT_F32) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    return t == QT_F16 ? h_f16_to_f32(rd16(p)) : h_bf16_to_f32(rd16(p));
}

AI void row_float(uint32_t t, const int T, const uint8_t *w, const float *const *x, int64_t n, float *out) {
    const int es = t == QT_F32 ? 4 : 2;
    v128_t acc[TT];
    for (int j = 0; j < T; j++) acc[j] = wasm_f32x4_splat(0);
    int64_t k = 0;
    for (; k + 4 <= n; k += 4) {
        v128_t wv = ldw4(t, w + k * es);
        for (int j = 0; j < T; j++) acc[j] = wasm_f32x4_add(acc[j], wasm_f32x4_mul(wv, wasm_v128_load(x[j] + k)));
    }
    for (int j = 0; j < T; j++) {
        float s = hsum_f32(acc[j]);
        for (int64_t e = k; e < n; e++) s += ldw1(t, w + e * es) * x[j][e];
        out[j] = s;
    }
}

float cpu_wasm_dot_f32(const float *a, const float *b, int64_t n) {
    v128_t s0 = wasm_f32x4_splat(0), s1 = wasm_f32x4_splat(0);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
        s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
    }
    float s = hsum_f32(wasm_f32x4_add(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* ---- 32-element blocks ------------------------------------------------------------------------- */

AI int q32_bytes(uint32_t t) {
    return t == QT_Q4_0 ? 18 : t == QT_Q4_1 ? 20 : t == QT_Q5_0 ? 22 : t == QT_Q5_1 ? 24 : 34;
}
AI int q32_has_m(uint32_t t) { return t == QT_Q4_1 || t == QT_Q5_1; }

/* Bits 0-15 (hi = 0) or 16-31 (hi = 1) of the 32-bit word at p -> 0x10 in bytes 0-15. */
AI v128_t bits_to_0x10(const uint8_t *p, int hi) {
    v128_t b = wasm_i8x16_swizzle(wasm_i32x4_splat((int)rd32(p)),
                                  hi ? wasm_i8x16_make(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3)
                                     : wasm_i8x16_make(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    const v128_t bit = wasm_i8x16_make(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
    return wasm_v128_and(wasm_i8x16_eq(wasm_v128_and(b, bit), bit), wasm_i8x16_splat(0x10));
}

/* Signed codes of the block at p (q - offset; Q4_1 / Q5_1 unsigned, < 32): elements 0-15 in
 * *lo, 16-31 in *hi. */
AI void q32_codes(uint32_t t, const uint8_t *p, v128_t *lo, v128_t *hi) {
    if (t == QT_Q8_0) {
        *lo = wasm_v128_load(p + 2);
        *hi = wasm_v128_load(p + 18);
        return;
    }
    const int qs = t == QT_Q4_0 ? 2 : t == QT_Q4_1 ? 4 : t == QT_Q5_0 ? 6 : 8;
    v128_t b = wasm_v128_load(p + qs);
    v128_t l = wasm_v128_and(b, wasm_i8x16_splat(0x0F)), h = wasm_u8x16_shr(b, 4);
    if (t == QT_Q5_0 || t == QT_Q5_1) {
        const uint8_t *qh = p + (t == QT_Q5_0 ? 2 : 4);
        l = wasm_v128_or(l, bits_to_0x10(qh, 0));
        h = wasm_v128_or(h, bits_to_0x10(qh, 1));
    }
    if (t == QT_Q4_0 || t == QT_Q5_0) {
        v128_t off = wasm_i8x16_splat(t == QT_Q4_0 ? 8 : 16);
        l = wasm_i8x16_sub(l, off);
        h = wasm_i8x16_sub(h, off);
    }
    *lo = l;
    *hi = h;
}

AI void row_q32(uint32_t t, const int T, const uint8_t *w, const act_q8_32 *const *a, int nb, float *out) {
    const int B = q32_bytes(t);
    v128_t acc[TT];
    float accm[TT];
    for (int j = 0; j < T; j++) acc[j] = wasm_f32x4_splat(0), accm[j] = 0;
    for (int b = 0; b < nb; b++) {
        const uint8_t *p = w + (size_t)b * B;
        v128_t lo, hi;
        q32_codes(t, p, &lo, &hi);
        float d = f16(p);
        for (int j = 0; j < T; j++) {
            const act_q8_32 *x = a[j] + b;
            v128_t s = wasm_i32x4_add(dot_i8(lo, wasm_v128_load(x->qs)), dot_i8(hi, wasm_v128_load(x->qs + 16)));
            acc[j] = wasm_f32x4_add(acc[j], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(s), wasm_f32x4_splat(d * x->d)));
            if (q32_has_m(t)) accm[j] += f16(p + 2) * x->s;
        }
    }
    for (int j = 0; j < T; j++) out[j] = hsum_f32(acc[j]) + accm[j];
}

/* ---- K-quants ---------------------------------------------------------------------------------- */

AI void row_k45(uint32_t t, const int T, const uint8_t *w, const act_q8_256 *const *a, int nsb, float *out) {
    const int B = t == QT_Q4_K ? 144 : 176, qs_off = t == QT_Q4_K ? 16 : 48;
    const v128_t m4 = wasm_i8x16_splat(0x0F), one = wasm_i8x16_splat(1);
    v128_t acc[TT];
    for (int j = 0; j < T; j++) acc[j] = wasm_f32x4_splat(0);
    for (int s = 0; s < nsb; s++) {
        const uint8_t *p = w + (size_t)s * B;
        uint8_t sc[8], m[8];
        for (int k = 0; k < 8; k++) quant_k4_scale_min(k, p + 4, &sc[k], &m[k]);
        v128_t W[16]; /* sub-block k: W[2k] elements 0-15, W[2k+1] 16-31 (unsigned, < 32) */
        for (int g = 0; g < 4; g++)
            for (int h = 0; h < 2; h++) {
                v128_t q = wasm_v128_load(p + qs_off + 32 * g + 16 * h);
                v128_t l = wasm_v128_and(q, m4), u = wasm_u8x16_shr(q, 4);
                if (t == QT_Q5_K) {
                    v128_t qh = wasm_v128_load(p + 16 + 16 * h);
                    l = wasm_v128_or(l, wasm_i8x16_shl(wasm_v128_and(wasm_u8x16_shr(qh, 2 * g), one), 4));
                    u = wasm_v128_or(u, wasm_i8x16_shl(wasm_v128_and(wasm_u8x16_shr(qh, 2 * g + 1), one), 4));
                }
                W[4 * g + h] = l;
                W[4 * g + 2 + h] = u;
            }
        float d = f16(p), dmin = f16(p + 2);
        for (int j = 0; j < T; j++) {
            const act_q8_256 *x = a[j] + s;
            v128_t isum = wasm_i32x4_splat(0);
            int imin = 0;
            for (int k = 0; k < 8; k++) {
                v128_t sk = wasm_i32x4_add(dot_i8(W[2 * k], wasm_v128_load(x->qs + 32 * k)),
                                           dot_i8(W[2 * k + 1], wasm_v128_load(x->qs + 32 * k + 16)));
                isum = wasm_i32x4_add(isum, wasm_i32x4_mul(sk, wasm_i32x4_splat(sc[k])));
                imin += m[k] * (x->bsums[2 * k] + x->bsums[2 * k + 1]);
            }
            acc[j] = wasm_f32x4_add(acc[j], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum), wasm_f32x4_splat(d * x->d)));
            acc[j] = wasm_f32x4_sub(acc[j], wasm_f32x4_make(dmin * x->d * (float)imin, 0, 0, 0));
        }
    }
    for (int j = 0; j < T; j++) out[j] = hsum_f32(acc[j]);
}

AI void row_q6k(const int T, const uint8_t *w, const act_q8_256 *const *a, int nsb, float *out) {
    const v128_t m4 = wasm_i8x16_splat(0x0F), m3 = wasm_i8x16_splat(3), o32 = wasm_i8x16_splat(32);
    v128_t acc[TT];
    for (int j = 0; j < T; j++) acc[j] = wasm_f32x4_splat(0);
    for (int s = 0; s < nsb; s++) {
        const uint8_t *p = w + (size_t)s * 210;
        v128_t W[16]; /* W[i]: signed codes of elements 16i .. 16i+15 (sub-block i) */
        for (int h = 0; h < 2; h++)
            for (int half = 0; half < 2; half++) {
                v128_t l0 = wasm_v128_load(p + 64 * h + 16 * half);
                v128_t l1 = wasm_v128_load(p + 64 * h + 32 + 16 * half);
                v128_t qh = wasm_v128_load(p + 128 + 32 * h + 16 * half);
                v128_t c[4] = {
                    wasm_v128_or(wasm_v128_and(l0, m4), wasm_i8x16_shl(wasm_v128_and(qh, m3), 4)),
                    wasm_v128_or(wasm_v128_and(l1, m4), wasm_i8x16_shl(wasm_v128_and(wasm_u8x16_shr(qh, 2), m3), 4)),
                    wasm_v128_or(wasm_u8x16_shr(l0, 4), wasm_i8x16_shl(wasm_v128_and(wasm_u8x16_shr(qh, 4), m3), 4)),
                    wasm_v128_or(wasm_u8x16_shr(l1, 4), wasm_i8x16_shl(wasm_u8x16_shr(qh, 6), 4)),
                };
                for (int k = 0; k < 4; k++) W[8 * h + 2 * k + half] = wasm_i8x16_sub(c[k], o32);
            }
        float d = f16(p + 208);
        const int8_t *sc = (const int8_t *)(p + 192);
        for (int j = 0; j < T; j++) {
            const act_q8_256 *x = a[j] + s;
            v128_t isum = wasm_i32x4_splat(0);
            for (int i = 0; i < 16; i++)
                isum = wasm_i32x4_add(isum, wasm_i32x4_mul(dot_i8(W[i], wasm_v128_load(x->qs + 16 * i)), wasm_i32x4_splat(sc[i])));
            acc[j] = wasm_f32x4_add(acc[j], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum), wasm_f32x4_splat(d * x->d)));
        }
    }
    for (int j = 0; j < T; j++) out[j] = hsum_f32(acc[j]);
}

/* ---- drivers ------------------------------------------------------------------------------------ */

AI void row_any(uint32_t t, const int T, const uint8_t *w, const void *const *a, int64_t n, float *out) {
    if (t == QT_F32 || t == QT_F16 || t == QT_BF16) row_float(t, T, w, (const float *const *)a, n, out);
    else if (t == QT_Q4_K || t == QT_Q5_K) row_k45(t, T, w, (const act_q8_256 *const *)a, (int)(n / 256), out);
    else if (t == QT_Q6_K) row_q6k(T, w, (const act_q8_256 *const *)a, (int)(n / 256), out);
    else row_q32(t, T, w, (const act_q8_32 *const *)a, (int)(n / 32), out);
}

AI void gemv_any(uint32_t t, const void *w, size_t rb, const void *act, float *y, int64_t n, int64_t r0, int64_t r1) {
    const void *a[1] = {act};
    for (int64_t r = r0; r < r1; r++) row_any(t, 1, (const uint8_t *)w + (size_t)r * rb, a, n, y + (r - r0));
}

AI void gemm_any(uint32_t t, const void *w, size_t rb, const void *act, size_t as, int nt, float *y, size_t ldy,
                 int64_t n, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)r * rb;
        for (int t0 = 0; t0 < nt; t0 += TT) {
            const int T = H_MIN(TT, nt - t0);
            const void *a[TT];
            float out[TT];
            for (int j = 0; j < T; j++) a[j] = (const uint8_t *)act + (size_t)(t0 + j) * as;
            switch (T) {
            case 1: row_any(t, 1, wr, a, n, out); break;
            case 2: row_any(t, 2, wr, a, n, out); break;
            case 3: row_any(t, 3, wr, a, n, out); break;
            default: row_any(t, 4, wr, a, n, out); break;
            }
            for (int j = 0; j < T; j++) y[(size_t)(t0 + j) * ldy + (size_t)r] = out[j];
        }
    }
}

#define KERNELS(T, NAME)                                                                            \
    static void gemv_##NAME(const void *w, size_t rb, const void *act, float *y, int64_t n,        \
                            int64_t r0, int64_t r1) {                                              \
        gemv_any(T, w, rb, act, y, n, r0, r1);                                                     \
    }                                                                                              \
    static void gemm_##NAME(const void *w, size_t rb, const void *act, size_t as, int nt, float *y, \
                            size_t ldy, int64_t n, int64_t r0, int64_t r1) {                       \
        gemm_any(T, w, rb, act, as, nt, y, ldy, n, r0, r1);                                        \
    }
KERNELS(QT_F32, f32)
KERNELS(QT_F16, f16)
KERNELS(QT_BF16, bf16)
KERNELS(QT_Q4_0, q4_0)
KERNELS(QT_Q4_1, q4_1)
KERNELS(QT_Q5_0, q5_0)
KERNELS(QT_Q5_1, q5_1)
KERNELS(QT_Q8_0, q8_0)
KERNELS(QT_Q4_K, q4_k)
KERNELS(QT_Q5_K, q5_k)
KERNELS(QT_Q6_K, q6_k)

#define ENTRY(T, NAME, ACT, QA) [T] = {T, ACT, "wasm-simd128", QA, gemv_##NAME, gemm_##NAME}
static const quant_kernels table[QT_COUNT] = {
    ENTRY(QT_F32, f32, QA_F32, qa_f32),         ENTRY(QT_F16, f16, QA_F32, qa_f32),
    ENTRY(QT_BF16, bf16, QA_F32, qa_f32),       ENTRY(QT_Q4_0, q4_0, QA_Q8_32, qa_q8_32),
    ENTRY(QT_Q4_1, q4_1, QA_Q8_32, qa_q8_32),   ENTRY(QT_Q5_0, q5_0, QA_Q8_32, qa_q8_32),
    ENTRY(QT_Q5_1, q5_1, QA_Q8_32, qa_q8_32),   ENTRY(QT_Q8_0, q8_0, QA_Q8_32, qa_q8_32),
    ENTRY(QT_Q4_K, q4_k, QA_Q8_256, qa_q8_256), ENTRY(QT_Q5_K, q5_k, QA_Q8_256, qa_q8_256),
    ENTRY(QT_Q6_K, q6_k, QA_Q8_256, qa_q8_256),
};

const quant_kernels *cpu_wasm_kernels(uint32_t type) {
    return type < QT_COUNT && table[type].gemv ? &table[type] : NULL;
}

#else

const quant_kernels *cpu_wasm_kernels(uint32_t type) {
    (void)type;
    return NULL;
}

float cpu_wasm_dot_f32(const float *a, const float *b, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

#endif
