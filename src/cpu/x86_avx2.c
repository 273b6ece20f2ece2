/* x86_avx2.c — AVX2 + FMA + F16C kernels (x86-64 CPUs without AVX-512 VNNI): byte-exact
 * activation quantization, and for every type a "one row x up to 4 tokens" register kernel:
 * each weight block is unpacked once and multiplied with 1 (gemv) or 4 (gemm) activation rows.
 * Integer dot products use vpmaddubsw (u8 x s8 -> s16 pairs, which must not saturate: signed
 * codes go through the |w|, sign(a, w) trick, unsigned codes are at most 63) and vpmaddwd.
 * Built with per-object flags (mk/cpu.mk); without them only an empty table is exported. */
#include "cpu_impl.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include <immintrin.h>

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
AI float f16(const uint8_t *p) { return _cvtsh_ss(rd16(p)); }

AI float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
AI int hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}
AI float hmax_ps(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}
AI __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

/* 32 int32 (four vectors of 8, in element order) -> 32 int8, saturating like vpmovsdb. */
AI __m256i pack_q8(__m256i q0, __m256i q1, __m256i q2, __m256i q3) {
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* ---- activation quantization (same bytes as quant_act_row_ref) ------------------------------ */

static void qa_q8_32(const float *x, void *dst, int64_t n) {
    act_q8_32 *y = dst;
    for (int64_t b = 0; b < n / 32; b++, x += 32) {
        __m256 v[4];
        for (int i = 0; i < 4; i++) v[i] = _mm256_loadu_ps(x + 8 * i);
        __m256 m = _mm256_max_ps(_mm256_max_ps(abs_ps(v[0]), abs_ps(v[1])), _mm256_max_ps(abs_ps(v[2]), abs_ps(v[3])));
        float amax = hmax_ps(m);
        float d = amax / 127.0f, id = d != 0 ? 127.0f / amax : 0;
        __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int i = 0; i < 4; i++) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], vid));
        _mm256_storeu_si256((__m256i *)y[b].qs, pack_q8(q[0], q[1], q[2], q[3]));
        y[b].d = d;
        y[b].s = d * (float)hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    }
}

static void qa_q8_256(const float *x, void *dst, int64_t n) {
    act_q8_256 *y = dst;
    for (int64_t b = 0; b < n / 256; b++, x += 256) {
        __m256 m = _mm256_setzero_ps();
        for (int i = 0; i < 32; i++) m = _mm256_max_ps(abs_ps(_mm256_loadu_ps(x + 8 * i)), m);
        float amax = hmax_ps(m);
        float d = amax / 127.0f, id = d != 0 ? 127.0f / amax : 0;
        __m256 vid = _mm256_set1_ps(id);
        for (int g = 0; g < 8; g++) {
            __m256i q[4];
            for (int i = 0; i < 4; i++) q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * g + 8 * i), vid));
            _mm256_storeu_si256((__m256i *)(y[b].qs + 32 * g), pack_q8(q[0], q[1], q[2], q[3]));
            y[b].bsums[2 * g] = (int16_t)hsum_epi32(_mm256_add_epi32(q[0], q[1]));
            y[b].bsums[2 * g + 1] = (int16_t)hsum_epi32(_mm256_add_epi32(q[2], q[3]));
        }
        y[b].d = d;
    }
}

static void qa_f32(const float *x, void *dst, int64_t n) { memcpy(dst, x, (size_t)n * sizeof(float)); }

/* ---- F32 / F16 / BF16 --------------------------------------------------------------------------- */

AI __m256 ldw_float(uint32_t t, const uint8_t *p) {
    if (t == QT_F32) return _mm256_loadu_ps((const float *)p);
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    if (t == QT_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

AI float ldw_float1(uint32_t t, const uint8_t *p) {
    if (t == QT_F32) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    return t == QT_F16 ? _cvtsh_ss(rd16(p)) : h_bf16_to_f32(rd16(p));
}

/* 4 rows x 4 tokens (rows / tokens past the end repeat valid ones; their results are dropped). */
AI void tile_float(uint32_t t, const uint8_t *const *wr, const float *const *xr, int64_t n, float out[4][4]) {
    const int es = t == QT_F32 ? 4 : 2;
    __m256 acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 w[4];
        for (int i = 0; i < 4; i++) w[i] = ldw_float(t, wr[i] + k * es);
        for (int j = 0; j < 4; j++) {
            __m256 x = _mm256_loadu_ps(xr[j] + k);
            for (int i = 0; i < 4; i++) acc[i][j] = _mm256_fmadd_ps(w[i], x, acc[i][j]);
        }
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            float s = hsum_ps(acc[i][j]);
            for (int64_t e = k; e < n; e++) s += ldw_float1(t, wr[i] + e * es) * xr[j][e];
            out[i][j] = s;
        }
}

AI void gemv_float(uint32_t t, const void *w, size_t rb, const void *act, float *y, int64_t n, int64_t r0, int64_t r1) {
    const int es = t == QT_F32 ? 4 : 2;
    const float *x = act;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)r * rb;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        int64_t k = 0;
        for (; k + 16 <= n; k += 16) {
            a0 = _mm256_fmadd_ps(ldw_float(t, wr + k * es), _mm256_loadu_ps(x + k), a0);
            a1 = _mm256_fmadd_ps(ldw_float(t, wr + (k + 8) * es), _mm256_loadu_ps(x + k + 8), a1);
        }
        for (; k + 8 <= n; k += 8) a0 = _mm256_fmadd_ps(ldw_float(t, wr + k * es), _mm256_loadu_ps(x + k), a0);
        float s = hsum_ps(_mm256_add_ps(a0, a1));
        for (; k < n; k++) s += ldw_float1(t, wr + k * es) * x[k];
        y[r - r0] = s;
    }
}

AI void gemm_float(uint32_t t, const void *w, size_t rb, const void *act, size_t as, int nt, float *y, size_t ldy,
                   int64_t n, int64_t r0, int64_t r1) {
    if (nt == 1) {
        gemv_float(t, w, rb, act, y + r0, n, r0, r1);
        return;
    }
    for (int64_t r = r0; r < r1; r += 4) {
        int nr = (int)H_MIN(4, r1 - r);
        const uint8_t *wr[4];
        for (int i = 0; i < 4; i++) wr[i] = (const uint8_t *)w + (size_t)(r + (i < nr ? i : 0)) * rb;
        for (int t0 = 0; t0 < nt; t0 += 4) {
            int ntk = H_MIN(4, nt - t0);
            const float *xr[4];
            for (int j = 0; j < 4; j++) xr[j] = (const float *)((const uint8_t *)act + (size_t)(t0 + (j < ntk ? j : 0)) * as);
            float out[4][4];
            tile_float(t, wr, xr, n, out);
            for (int j = 0; j < ntk; j++)
                for (int i = 0; i < nr; i++) y[(size_t)(t0 + j) * ldy + (size_t)(r + i)] = out[i][j];
        }
    }
}

float cpu_avx2_dot_f32(const float *a, const float *b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    float s = hsum_ps(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* ---- 32-element blocks ------------------------------------------------------------------------- */

AI int q32_bytes(uint32_t t) {
    return t == QT_Q4_0 ? 18 : t == QT_Q4_1 ? 20 : t == QT_Q5_0 ? 22 : t == QT_Q5_1 ? 24 : 34;
}
AI int q32_signed(uint32_t t) { return t == QT_Q4_0 || t == QT_Q5_0 || t == QT_Q8_0; }
AI int q32_has_m(uint32_t t) { return t == QT_Q4_1 || t == QT_Q5_1; }

/* Bit j of the 32-bit word at p -> 0x10 in byte j. */
AI __m256i bits_to_0x10(const uint8_t *p) {
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)rd32(p)),
                                    _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                     2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(b, bit), bit), _mm256_set1_epi8(0x10));
}

/* The 32 codes of the block at p in element order: signed q for Q4_0 / Q5_0 / Q8_0, unsigned
 * for Q4_1 / Q5_1. */
AI __m256i q32_codes(uint32_t t, const uint8_t *p) {
    if (t == QT_Q8_0) return _mm256_loadu_si256((const __m256i *)(p + 2));
    const int qs = t == QT_Q4_0 ? 2 : t == QT_Q4_1 ? 4 : t == QT_Q5_0 ? 6 : 8;
    __m128i b = _mm_loadu_si128((const __m128i *)(p + qs));
    __m256i v = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0x0F));
    if (t == QT_Q5_0 || t == QT_Q5_1) v = _mm256_or_si256(v, bits_to_0x10(p + (t == QT_Q5_0 ? 2 : 4)));
    if (t == QT_Q4_0) v = _mm256_sub_epi8(v, _mm256_set1_epi8(8));
    if (t == QT_Q5_0) v = _mm256_sub_epi8(v, _mm256_set1_epi8(16));
    return v;
}

/* One row against T tokens: out[j] = row . token j. */
AI void row_q32(uint32_t t, const int T, const uint8_t *w, const act_q8_32 *const *a, int nb, float *out) {
    const int B = q32_bytes(t);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[TT];
    float accm[TT];
    for (int j = 0; j < T; j++) acc[j] = _mm256_setzero_ps(), accm[j] = 0;
    for (int b = 0; b < nb; b++) {
        const uint8_t *p = w + (size_t)b * B;
        __m256i q = q32_codes(t, p);
        __m256i aq = q32_signed(t) ? _mm256_sign_epi8(q, q) : q; /* |q| as unsigned bytes */
        float d = f16(p);
        for (int j = 0; j < T; j++) {
            const act_q8_32 *x = a[j] + b;
            __m256i v = _mm256_loadu_si256((const __m256i *)x->qs);
            if (q32_signed(t)) v = _mm256_sign_epi8(v, q);
            __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(aq, v), ones);
            acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), _mm256_set1_ps(d * x->d), acc[j]);
            if (q32_has_m(t)) accm[j] += f16(p + 2) * x->s;
        }
    }
    for (int j = 0; j < T; j++) out[j] = hsum_ps(acc[j]) + accm[j];
}

/* ---- K-quants ---------------------------------------------------------------------------------- */

/* [sc0-3, sc4-7, m0-3, m4-7] bytes of a Q4_K / Q5_K block from its 12 scale bytes at s. */
AI __m128i k4_scales(const uint8_t *s) {
    __m128i x = _mm_loadu_si128((const __m128i *)s);
    __m128i lo = _mm_and_si128(x, _mm_set1_epi32(0x3f3f3f3f));
    __m128i w2 = _mm_shuffle_epi32(x, 0xAA);
    __m128i a = _mm_and_si128(_mm_srlv_epi32(w2, _mm_set_epi32(0, 0, 4, 0)), _mm_set1_epi32(0x0f0f0f0f));
    __m128i b = _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(x, 6), _mm_set1_epi32(0x03030303)), 4);
    return _mm_unpacklo_epi32(lo, _mm_or_si128(a, b));
}

/* int16 vector of scale byte j (unsigned) of the 16 bytes in s (both 128-bit lanes). */
AI __m256i bcast_u8_16(__m256i s2, int j) {
    return _mm256_shuffle_epi8(s2, _mm256_set1_epi16((short)(0x8000 | j)));
}

AI void row_k45(uint32_t t, const int T, const uint8_t *w, const act_q8_256 *const *a, int nsb, float *out) {
    const int B = t == QT_Q4_K ? 144 : 176, qs_off = t == QT_Q4_K ? 16 : 48;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[TT];
    for (int j = 0; j < T; j++) acc[j] = _mm256_setzero_ps();
    for (int s = 0; s < nsb; s++) {
        const uint8_t *p = w + (size_t)s * B;
        __m128i sm = k4_scales(p + 4);
        __m256i s2 = _mm256_broadcastsi128_si256(sm);
        /* [m0 m0 m1 m1 ... m7 m7] as int16, for vpmaddwd with the 16 bsums */
        __m256i mp = _mm256_shuffle_epi8(s2, _mm256_setr_epi8(8, -1, 8, -1, 9, -1, 9, -1, 10, -1, 10, -1, 11, -1, 11, -1,
                                                               12, -1, 12, -1, 13, -1, 13, -1, 14, -1, 14, -1, 15, -1, 15, -1));
        __m256i W[8];
        for (int g = 0; g < 4; g++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(p + qs_off + 32 * g));
            W[2 * g] = _mm256_and_si256(q, m4);
            W[2 * g + 1] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            if (t == QT_Q5_K) {
                __m256i h = _mm256_loadu_si256((const __m256i *)(p + 16));
                const __m256i one = _mm256_set1_epi8(1);
                W[2 * g] = _mm256_or_si256(W[2 * g], _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2 * g), one), 4));
                W[2 * g + 1] = _mm256_or_si256(W[2 * g + 1], _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2 * g + 1), one), 4));
            }
        }
        __m256i sc[8];
        for (int k = 0; k < 8; k++) sc[k] = bcast_u8_16(s2, k);
        float d = f16(p), dmin = f16(p + 2);
        for (int j = 0; j < T; j++) {
            const act_q8_256 *x = a[j] + s;
            __m256i isum = _mm256_setzero_si256();
            for (int k = 0; k < 8; k++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * k));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(W[k], v), sc[k]));
            }
            __m256i mins = _mm256_madd_epi16(mp, _mm256_loadu_si256((const __m256i *)x->bsums));
            acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d * x->d), acc[j]);
            acc[j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(mins), _mm256_set1_ps(dmin * x->d), acc[j]);
        }
    }
    for (int j = 0; j < T; j++) out[j] = hsum_ps(acc[j]);
}

AI void row_q6k(const int T, const uint8_t *w, const act_q8_256 *const *a, int nsb, float *out) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
    __m256 acc[TT];
    for (int j = 0; j < T; j++) acc[j] = _mm256_setzero_ps();
    for (int s = 0; s < nsb; s++) {
        const uint8_t *p = w + (size_t)s * 210;
        __m256i W[8], sc[8];
        __m128i sc8 = _mm_loadu_si128((const __m128i *)(p + 192));
        __m256i s2 = _mm256_broadcastsi128_si256(sc8);
        for (int h = 0; h < 2; h++) {
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(p + 64 * h));
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(p + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(p + 128 + 32 * h));
            W[4 * h + 0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m3), 4));
            W[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m3), 4));
            W[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m3), 4));
            W[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m3), 4));
        }
        /* chunk k (32 codes) spans sub-blocks 2k (int16 lanes 0-7) and 2k+1 (lanes 8-15): the
         * signed scale sits in the high byte of each int16, then an arithmetic shift */
        for (int k = 0; k < 8; k++) {
            __m256i idx = _mm256_setr_epi8(-1, 2 * k, -1, 2 * k, -1, 2 * k, -1, 2 * k, -1, 2 * k, -1, 2 * k, -1, 2 * k, -1, 2 * k,
                                           -1, 2 * k + 1, -1, 2 * k + 1, -1, 2 * k + 1, -1, 2 * k + 1, -1, 2 * k + 1,
                                           -1, 2 * k + 1, -1, 2 * k + 1, -1, 2 * k + 1);
            sc[k] = _mm256_srai_epi16(_mm256_shuffle_epi8(s2, idx), 8);
        }
        __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
        float d = f16(p + 208);
        for (int j = 0; j < T; j++) {
            const act_q8_256 *x = a[j] + s;
            /* codes are q + 32: start from -32 sum_j sc_j bsum_j */
            __m256i isum = _mm256_slli_epi32(_mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)x->bsums)), 5);
            isum = _mm256_sub_epi32(_mm256_setzero_si256(), isum);
            for (int k = 0; k < 8; k++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * k));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(W[k], v), sc[k]));
            }
            acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d * x->d), acc[j]);
        }
    }
    for (int j = 0; j < T; j++) out[j] = hsum_ps(acc[j]);
}

/* ---- drivers ------------------------------------------------------------------------------------ */

AI void row_any(uint32_t t, const int T, const uint8_t *w, const void *const *a, int64_t n, float *out) {
    if (t == QT_Q4_K || t == QT_Q5_K) row_k45(t, T, w, (const act_q8_256 *const *)a, (int)(n / 256), out);
    else if (t == QT_Q6_K) row_q6k(T, w, (const act_q8_256 *const *)a, (int)(n / 256), out);
    else row_q32(t, T, w, (const act_q8_32 *const *)a, (int)(n / 32), out);
}

AI void gemv_q(uint32_t t, const void *w, size_t rb, const void *act, float *y, int64_t n, int64_t r0, int64_t r1) {
    const void *a[1] = {act};
    for (int64_t r = r0; r < r1; r++) row_any(t, 1, (const uint8_t *)w + (size_t)r * rb, a, n, y + (r - r0));
}

AI void gemm_q(uint32_t t, const void *w, size_t rb, const void *act, size_t as, int nt, float *y, size_t ldy,
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

#define KERNELS(T, NAME, FAM)                                                                       \
    static void gemv_##NAME(const void *w, size_t rb, const void *act, float *y, int64_t n,        \
                            int64_t r0, int64_t r1) {                                              \
        gemv_##FAM(T, w, rb, act, y, n, r0, r1);                                                   \
    }                                                                                              \
    static void gemm_##NAME(const void *w, size_t rb, const void *act, size_t as, int nt, float *y, \
                            size_t ldy, int64_t n, int64_t r0, int64_t r1) {                       \
        gemm_##FAM(T, w, rb, act, as, nt, y, ldy, n, r0, r1);                                      \
    }
KERNELS(QT_F32, f32, float)
KERNELS(QT_F16, f16, float)
KERNELS(QT_BF16, bf16, float)
KERNELS(QT_Q4_0, q4_0, q)
KERNELS(QT_Q4_1, q4_1, q)
KERNELS(QT_Q5_0, q5_0, q)
KERNELS(QT_Q5_1, q5_1, q)
KERNELS(QT_Q8_0, q8_0, q)
KERNELS(QT_Q4_K, q4_k, q)
KERNELS(QT_Q5_K, q5_k, q)
KERNELS(QT_Q6_K, q6_k, q)

#define ENTRY(T, NAME, ACT, QA) [T] = {T, ACT, "avx2", QA, gemv_##NAME, gemm_##NAME}
static const quant_kernels table[QT_COUNT] = {
    ENTRY(QT_F32, f32, QA_F32, qa_f32),         ENTRY(QT_F16, f16, QA_F32, qa_f32),
    ENTRY(QT_BF16, bf16, QA_F32, qa_f32),       ENTRY(QT_Q4_0, q4_0, QA_Q8_32, qa_q8_32),
    ENTRY(QT_Q4_1, q4_1, QA_Q8_32, qa_q8_32),   ENTRY(QT_Q5_0, q5_0, QA_Q8_32, qa_q8_32),
    ENTRY(QT_Q5_1, q5_1, QA_Q8_32, qa_q8_32),   ENTRY(QT_Q8_0, q8_0, QA_Q8_32, qa_q8_32),
    ENTRY(QT_Q4_K, q4_k, QA_Q8_256, qa_q8_256), ENTRY(QT_Q5_K, q5_k, QA_Q8_256, qa_q8_256),
    ENTRY(QT_Q6_K, q6_k, QA_Q8_256, qa_q8_256),
};

const quant_kernels *cpu_avx2_kernels(uint32_t type) {
    return type < QT_COUNT && table[type].gemv ? &table[type] : NULL;
}

#else

const quant_kernels *cpu_avx2_kernels(uint32_t type) {
    (void)type;
    return NULL;
}

float cpu_avx2_dot_f32(const float *a, const float *b, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

#endif
