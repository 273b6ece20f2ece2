/* x86_avx2.c — AVX2 + FMA + F16C kernels (x86-64 CPUs without AVX-512 VNNI): byte-exact
 * activation quantization; for every type a "one row x up to 4 tokens" register kernel (gemv,
 * and gemm of a few tokens: each weight block is unpacked once and multiplied with 1-4
 * activation rows); and for the quantized types a packed-panel gemm (8 rows x 4 tokens).
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
 * for Q4_1 / Q5_1 (with sub_off = 0 also Q4_0 / Q5_0: q + 8, q + 16). */
AI __m256i q32_codes_off(uint32_t t, const uint8_t *p, int sub_off) {
    if (t == QT_Q8_0) return _mm256_loadu_si256((const __m256i *)(p + 2));
    const int qs = t == QT_Q4_0 ? 2 : t == QT_Q4_1 ? 4 : t == QT_Q5_0 ? 6 : 8;
    __m128i b = _mm_loadu_si128((const __m128i *)(p + qs));
    __m256i v = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(0x0F));
    if (t == QT_Q5_0 || t == QT_Q5_1) v = _mm256_or_si256(v, bits_to_0x10(p + (t == QT_Q5_0 ? 2 : 4)));
    if (sub_off && t == QT_Q4_0) v = _mm256_sub_epi8(v, _mm256_set1_epi8(8));
    if (sub_off && t == QT_Q5_0) v = _mm256_sub_epi8(v, _mm256_set1_epi8(16));
    return v;
}
AI __m256i q32_codes(uint32_t t, const uint8_t *p) { return q32_codes_off(t, p, 1); }

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

/* ---- packed-panel gemm (prefill) ---------------------------------------------------------------
 * The scheme of x86_avx512_gemm.c with 8 rows per panel (one per 32-bit lane of a ymm): 8 rows
 * x one K chunk are unpacked to unsigned codes and transposed so that lane r holds 4 consecutive
 * codes of row r; vpmaddubsw with 4 activation bytes broadcast gives two int16 sums per row,
 * which are added in int16 over as many 4-code groups as cannot overflow (G below: 8 for 4-bit
 * codes, 30480 at most; 4 for 5-bit; 2 for Q6_K's 6-bit) and then widened (vpmaddwd, which also
 * applies the K-quants' integer sub-block scales). Q8_0 keeps |q| in the panel and applies the
 * sign of q to the activations (vpsignb), so its pairs stay below 2 * 128 * 127. A register tile
 * of 8 rows x 4 tokens; a panel (<= 12 KiB, stack) serves a block of 256 tokens. */

#define P2R 8     /* rows per panel */
#define P2T 4     /* tokens per register tile */
#define P2TB 256  /* tokens per block */
#define P2KB 16   /* 32-blocks per K chunk */
#define P2KS 2    /* K-quant super-blocks per chunk */
#define P2MIN 6   /* fewer tokens: the row kernels (measured crossover 4-6) */

AI __m256i bc32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* 8x8 transpose of 32-bit elements: r[i] lane c -> r[c] lane i. */
AI void tr8x8(__m256i r[8]) {
    __m256i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i + 0] = _mm256_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 1] = _mm256_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        u[4 * i + 2] = _mm256_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        u[4 * i + 3] = _mm256_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    /* u[4m + c], 128-bit half h = rows 4m..4m+3 of column 4h + c */
    for (int c = 0; c < 4; c++) {
        r[c] = _mm256_permute2x128_si256(u[c], u[4 + c], 0x20);
        r[4 + c] = _mm256_permute2x128_si256(u[c], u[4 + c], 0x31);
    }
}

/* Prefetch the same chunk of the next row group into L2, a row group ahead (x86_avx512_gemm.c). */
AI void p2_prefetch(const uint8_t *p, size_t rb, int nr, size_t bytes) {
    for (int i = 0; i < nr; i++)
        for (size_t o = 0; o < bytes + 63; o += 64) _mm_prefetch((const char *)(p + (size_t)i * rb + o), _MM_HINT_T1);
}

AI void p2_store(float *yp, int nr, __m256 v, int first) {
    if (nr == P2R) {
        if (!first) v = _mm256_add_ps(v, _mm256_loadu_ps(yp));
        _mm256_storeu_ps(yp, v);
        return;
    }
    float tmp[P2R];
    _mm256_storeu_ps(tmp, v);
    for (int i = 0; i < nr; i++) yp[i] = first ? tmp[i] : yp[i] + tmp[i];
}

/* int16 pair sums -> int32 lanes */
AI __m256i widen16(__m256i s16) { return _mm256_madd_epi16(s16, _mm256_set1_epi16(1)); }

typedef struct {
    __m256i q[P2KB][8]; /* unsigned codes (Q8_0: |q|) */
    __m256i s[P2KB][8]; /* Q8_0 only: q, for the signs */
    __m256 ws[P2KB], wo[P2KB];
} p2_q32;

AI int q32_g(uint32_t t) { return t == QT_Q4_0 || t == QT_Q4_1 ? 8 : t == QT_Q8_0 ? 1 : 4; }

AI void p2_pack_q32(uint32_t t, const uint8_t *w, size_t rb, int nr, int ns, p2_q32 *P) {
    const int B = q32_bytes(t);
    for (int j = 0; j < ns; j++) {
        __m256i r[8], sg[8];
        for (int i = 0; i < 8; i++) {
            if (i >= nr) {
                r[i] = sg[i] = _mm256_setzero_si256();
                continue;
            }
            __m256i v = q32_codes_off(t, w + (size_t)i * rb + (size_t)j * B, 0);
            if (t == QT_Q8_0) sg[i] = v, v = _mm256_sign_epi8(v, v);
            r[i] = v;
        }
        tr8x8(r);
        for (int c = 0; c < 8; c++) P->q[j][c] = r[c];
        if (t == QT_Q8_0) {
            tr8x8(sg);
            for (int c = 0; c < 8; c++) P->s[j][c] = sg[c];
        }
        float d[8], o[8];
        for (int i = 0; i < 8; i++) {
            const uint8_t *p = w + (size_t)(i < nr ? i : 0) * rb + (size_t)j * B;
            d[i] = i < nr ? f16(p) : 0;
            o[i] = i >= nr ? 0 : q32_has_m(t) ? f16(p + 2) : t == QT_Q4_0 ? -8 * d[i] : t == QT_Q5_0 ? -16 * d[i] : 0;
        }
        P->ws[j] = _mm256_loadu_ps(d);
        P->wo[j] = _mm256_loadu_ps(o);
    }
}

AI void p2_mk_q32(uint32_t t, const int T, const p2_q32 *P, int ns, const uint8_t *ap, size_t as, __m256 *out) {
    const int G = q32_g(t);
    __m256 acc[P2T];
    _Pragma("GCC unroll 4")
    for (int k = 0; k < T; k++) acc[k] = _mm256_setzero_ps();
    for (int j = 0; j < ns; j++) {
        __m256i w[8];
        _Pragma("GCC unroll 8")
        for (int c = 0; c < 8; c++) w[c] = P->q[j][c];
        const __m256 ws = P->ws[j], wo = P->wo[j];
        _Pragma("GCC unroll 4")
        for (int k = 0; k < T; k++) {
            const act_q8_32 *a = (const act_q8_32 *)(ap + (size_t)k * as) + j;
            __m256i s32 = _mm256_setzero_si256(), s16 = _mm256_setzero_si256();
            _Pragma("GCC unroll 8")
            for (int c = 0; c < 8; c++) {
                __m256i b = bc32(a->qs + 4 * c);
                if (t == QT_Q8_0) b = _mm256_sign_epi8(b, P->s[j][c]);
                __m256i p = _mm256_maddubs_epi16(w[c], b);
                if (G == 1) {
                    s32 = _mm256_add_epi32(s32, widen16(p));
                } else {
                    s16 = _mm256_add_epi16(s16, p);
                    if ((c + 1) % G == 0) s32 = _mm256_add_epi32(s32, widen16(s16)), s16 = _mm256_setzero_si256();
                }
            }
            __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(s32), _mm256_set1_ps(a->d));
            acc[k] = _mm256_fmadd_ps(f, ws, acc[k]);
            if (t != QT_Q8_0) acc[k] = _mm256_fmadd_ps(wo, _mm256_set1_ps(a->s), acc[k]);
        }
    }
    _Pragma("GCC unroll 4")
    for (int k = 0; k < T; k++) out[k] = acc[k];
}

typedef struct {
    __m256i q[8][8]; /* [sub-block of 32][4-code group] */
    __m256i sc[8];   /* lane r: (sc_j, sc_j) int16 pair */
    __m256i mm[8];   /* lane r: (m_j, m_j) int16 pair */
    __m256 d, dmin;
} p2_k45;

typedef struct {
    __m256i q[8][8]; /* [32 codes: elements 32u..][4-code group]; groups 0-3 sub-block 2u, 4-7 2u+1 */
    __m256i sc[16];  /* lane r: (sc_j, sc_j) int16 pair */
    __m256i mm[8];   /* lane r: (32 sc_2i, 32 sc_2i+1) */
    __m256 d;
} p2_k6;


AI void p2_pack_k45(uint32_t t, const uint8_t *w, size_t rb, int nr, p2_k45 *P) {
    const int qs_off = t == QT_Q4_K ? 16 : 48;
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    for (int k = 0; k < 8; k++) {
        __m256i r[8];
        for (int i = 0; i < 8; i++) {
            if (i >= nr) {
                r[i] = _mm256_setzero_si256();
                continue;
            }
            const uint8_t *p = w + (size_t)i * rb;
            __m256i q = _mm256_loadu_si256((const __m256i *)(p + qs_off + 32 * (k / 2)));
            __m256i v = _mm256_and_si256(k & 1 ? _mm256_srli_epi16(q, 4) : q, m4);
            if (t == QT_Q5_K) {
                __m256i h = _mm256_loadu_si256((const __m256i *)(p + 16));
                v = _mm256_or_si256(v, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, k), one), 4));
            }
            r[i] = v;
        }
        tr8x8(r);
        for (int c = 0; c < 8; c++) P->q[k][c] = r[c];
    }
    int32_t sc[8][8], mm[8][8];
    float d[8], dmin[8];
    for (int i = 0; i < 8; i++) {
        const uint8_t *p = w + (size_t)(i < nr ? i : 0) * rb;
        for (int j = 0; j < 8; j++) {
            uint8_t s_, m_;
            quant_k4_scale_min(j, p + 4, &s_, &m_);
            sc[j][i] = i < nr ? s_ | (s_ << 16) : 0;
            mm[j][i] = i < nr ? m_ | (m_ << 16) : 0;
        }
        d[i] = i < nr ? f16(p) : 0;
        dmin[i] = i < nr ? f16(p + 2) : 0;
    }
    for (int j = 0; j < 8; j++) {
        P->sc[j] = _mm256_loadu_si256((const __m256i *)sc[j]);
        P->mm[j] = _mm256_loadu_si256((const __m256i *)mm[j]);
    }
    P->d = _mm256_loadu_ps(d);
    P->dmin = _mm256_loadu_ps(dmin);
}

AI void p2_pack_k6(const uint8_t *w, size_t rb, int nr, p2_k6 *P) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m3 = _mm256_set1_epi8(3);
    for (int u = 0; u < 8; u++) {
        const int h = u / 4, k = u % 4;
        __m256i r[8];
        for (int i = 0; i < 8; i++) {
            if (i >= nr) {
                r[i] = _mm256_setzero_si256();
                continue;
            }
            const uint8_t *p = w + (size_t)i * rb;
            __m256i l = _mm256_loadu_si256((const __m256i *)(p + 64 * h + 32 * (k & 1)));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(p + 128 + 32 * h));
            __m256i lo = _mm256_and_si256(k >= 2 ? _mm256_srli_epi16(l, 4) : l, m4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m3);
            r[i] = _mm256_or_si256(lo, _mm256_slli_epi16(hi, 4));
        }
        tr8x8(r);
        for (int c = 0; c < 8; c++) P->q[u][c] = r[c];
    }
    int32_t sc[16][8], mm[8][8];
    float d[8];
    for (int i = 0; i < 8; i++) {
        const uint8_t *p = w + (size_t)(i < nr ? i : 0) * rb;
        const int8_t *s8 = (const int8_t *)(p + 192);
        for (int j = 0; j < 16; j++) sc[j][i] = i < nr ? (int32_t)((uint32_t)(uint16_t)s8[j] | ((uint32_t)(uint16_t)s8[j] << 16)) : 0;
        for (int j = 0; j < 8; j++)
            mm[j][i] = i < nr ? (int32_t)((uint32_t)(uint16_t)(32 * s8[2 * j]) | ((uint32_t)(uint16_t)(32 * s8[2 * j + 1]) << 16)) : 0;
        d[i] = i < nr ? f16(p + 208) : 0;
    }
    for (int j = 0; j < 16; j++) P->sc[j] = _mm256_loadu_si256((const __m256i *)sc[j]);
    for (int j = 0; j < 8; j++) P->mm[j] = _mm256_loadu_si256((const __m256i *)mm[j]);
    P->d = _mm256_loadu_ps(d);
}

#define P2ACT(ap, as, k, s) ((const act_q8_256 *)((ap) + (size_t)(k) * (as)) + (s))

AI void p2_mk_k45(uint32_t t, const int T, const p2_k45 *P, int nsb, const uint8_t *ap, size_t as, __m256 *out) {
    const int G = t == QT_Q4_K ? 8 : 4;
    __m256 acc[P2T];
    _Pragma("GCC unroll 4")
    for (int k = 0; k < T; k++) acc[k] = _mm256_setzero_ps();
    for (int s = 0; s < nsb; s++) {
        const p2_k45 *p = P + s;
        __m256i isc[P2T];
        _Pragma("GCC unroll 4")
        for (int k = 0; k < T; k++) isc[k] = _mm256_setzero_si256();
        for (int j = 0; j < 8; j++) {
            __m256i w[8];
            _Pragma("GCC unroll 8")
            for (int c = 0; c < 8; c++) w[c] = p->q[j][c];
            const __m256i sc = p->sc[j];
            _Pragma("GCC unroll 4")
            for (int k = 0; k < T; k++) {
                const int8_t *x = P2ACT(ap, as, k, s)->qs + 32 * j;
                __m256i s16 = _mm256_setzero_si256();
                _Pragma("GCC unroll 8")
                for (int c = 0; c < 8; c++) {
                    s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(w[c], bc32(x + 4 * c)));
                    if ((c + 1) % G == 0) isc[k] = _mm256_add_epi32(isc[k], _mm256_madd_epi16(s16, sc)), s16 = _mm256_setzero_si256();
                }
            }
        }
        _Pragma("GCC unroll 4")
        for (int k = 0; k < T; k++) {
            const act_q8_256 *a = P2ACT(ap, as, k, s);
            __m256i imin = _mm256_setzero_si256();
            for (int j = 0; j < 8; j++) imin = _mm256_add_epi32(imin, _mm256_madd_epi16(p->mm[j], bc32(a->bsums + 2 * j)));
            __m256 da = _mm256_set1_ps(a->d);
            acc[k] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(isc[k]), p->d), da, acc[k]);
            acc[k] = _mm256_fnmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(imin), p->dmin), da, acc[k]);
        }
    }
    _Pragma("GCC unroll 4")
    for (int k = 0; k < T; k++) out[k] = acc[k];
}

AI void p2_mk_k6(const int T, const p2_k6 *P, int nsb, const uint8_t *ap, size_t as, __m256 *out) {
    __m256 acc[P2T];
    _Pragma("GCC unroll 4")
    for (int k = 0; k < T; k++) acc[k] = _mm256_setzero_ps();
    for (int s = 0; s < nsb; s++) {
        const p2_k6 *p = P + s;
        __m256i isc[P2T];
        _Pragma("GCC unroll 4")
        for (int k = 0; k < T; k++) isc[k] = _mm256_setzero_si256();
        for (int u = 0; u < 8; u++) {
            __m256i w[8];
            _Pragma("GCC unroll 8")
            for (int c = 0; c < 8; c++) w[c] = p->q[u][c];
            const __m256i sa = p->sc[2 * u], sb = p->sc[2 * u + 1];
            _Pragma("GCC unroll 4")
            for (int k = 0; k < T; k++) {
                const int8_t *x = P2ACT(ap, as, k, s)->qs + 32 * u;
                _Pragma("GCC unroll 4")
                for (int c = 0; c < 8; c += 2) { /* two 4-code groups per int16 sum (<= 32004) */
                    __m256i s16 = _mm256_add_epi16(_mm256_maddubs_epi16(w[c], bc32(x + 4 * c)),
                                                   _mm256_maddubs_epi16(w[c + 1], bc32(x + 4 * c + 4)));
                    isc[k] = _mm256_add_epi32(isc[k], _mm256_madd_epi16(s16, c < 4 ? sa : sb));
                }
            }
        }
        _Pragma("GCC unroll 4")
        for (int k = 0; k < T; k++) {
            const act_q8_256 *a = P2ACT(ap, as, k, s);
            __m256i imin = _mm256_setzero_si256();
            for (int i = 0; i < 8; i++) imin = _mm256_add_epi32(imin, _mm256_madd_epi16(p->mm[i], bc32(a->bsums + 2 * i)));
            __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(isc[k], imin)), p->d);
            acc[k] = _mm256_fmadd_ps(f, _mm256_set1_ps(a->d), acc[k]);
        }
    }
    _Pragma("GCC unroll 4")
    for (int k = 0; k < T; k++) out[k] = acc[k];
}

#define P2_ANY(NAME, PANEL, ...)                                                                   \
    AI void NAME##_any(__VA_ARGS__ int T, const PANEL *P, int ns, const uint8_t *ap, size_t as, __m256 *out)

P2_ANY(p2_mk_q32, p2_q32, uint32_t t, ) {
    switch (T) {
    case 1: p2_mk_q32(t, 1, P, ns, ap, as, out); break;
    case 2: p2_mk_q32(t, 2, P, ns, ap, as, out); break;
    case 3: p2_mk_q32(t, 3, P, ns, ap, as, out); break;
    default: p2_mk_q32(t, 4, P, ns, ap, as, out); break;
    }
}
P2_ANY(p2_mk_k45, p2_k45, uint32_t t, ) {
    switch (T) {
    case 1: p2_mk_k45(t, 1, P, ns, ap, as, out); break;
    case 2: p2_mk_k45(t, 2, P, ns, ap, as, out); break;
    case 3: p2_mk_k45(t, 3, P, ns, ap, as, out); break;
    default: p2_mk_k45(t, 4, P, ns, ap, as, out); break;
    }
}
P2_ANY(p2_mk_k6, p2_k6, ) {
    switch (T) {
    case 1: p2_mk_k6(1, P, ns, ap, as, out); break;
    case 2: p2_mk_k6(2, P, ns, ap, as, out); break;
    case 3: p2_mk_k6(3, P, ns, ap, as, out); break;
    default: p2_mk_k6(4, P, ns, ap, as, out); break;
    }
}

AI void p2_gemm(uint32_t t, const uint8_t *w, size_t rb, const uint8_t *act, size_t as, int nt, float *y, size_t ldy,
                int64_t n, int64_t r0, int64_t r1) {
    const int kq = t == QT_Q4_K || t == QT_Q5_K || t == QT_Q6_K;
    const int B = kq ? (t == QT_Q4_K ? 144 : t == QT_Q5_K ? 176 : 210) : q32_bytes(t);
    const int nbk = (int)(n / (kq ? 256 : 32)), KC = kq ? P2KS : P2KB;
    const size_t ab = kq ? sizeof(act_q8_256) : sizeof(act_q8_32);
    union {
        p2_q32 q32;
        p2_k45 k45[P2KS];
        p2_k6 k6[P2KS];
    } P;
    for (int t0 = 0; t0 < nt; t0 += P2TB) {
        const int tn = H_MIN(P2TB, nt - t0);
        for (int64_t rg = r0; rg < r1; rg += P2R) {
            const int nr = (int)H_MIN(P2R, r1 - rg);
            const uint8_t *wg = w + (size_t)rg * rb;
            for (int kb = 0; kb < nbk; kb += KC) {
                const int ns = H_MIN(KC, nbk - kb);
                if (rg + P2R < r1) p2_prefetch(wg + (size_t)P2R * rb + (size_t)kb * B, rb, (int)H_MIN(P2R, r1 - rg - P2R), (size_t)ns * B);
                if (t == QT_Q6_K)
                    for (int s = 0; s < ns; s++) p2_pack_k6(wg + (size_t)(kb + s) * B, rb, nr, &P.k6[s]);
                else if (kq)
                    for (int s = 0; s < ns; s++) p2_pack_k45(t, wg + (size_t)(kb + s) * B, rb, nr, &P.k45[s]);
                else
                    p2_pack_q32(t, wg + (size_t)kb * B, rb, nr, ns, &P.q32);
                for (int tt = t0; tt < t0 + tn; tt += P2T) {
                    const int T = H_MIN(P2T, t0 + tn - tt);
                    const uint8_t *ap = act + (size_t)tt * as + (size_t)kb * ab;
                    __m256 out[P2T];
                    if (t == QT_Q6_K) p2_mk_k6_any(T, P.k6, ns, ap, as, out);
                    else if (kq) p2_mk_k45_any(t, T, P.k45, ns, ap, as, out);
                    else p2_mk_q32_any(t, T, &P.q32, ns, ap, as, out);
                    for (int k = 0; k < T; k++) p2_store(y + (size_t)(tt + k) * ldy + rg, nr, out[k], kb == 0);
                }
            }
        }
    }
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
    if (nt >= P2MIN) {
        p2_gemm(t, w, rb, act, as, nt, y, ldy, n, r0, r1);
        return;
    }
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
