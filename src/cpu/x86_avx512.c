/* x86_avx512.c — AVX-512 (F/BW/VL/VNNI/VBMI) kernels: activation quantization, F32/F16/BF16
 * gemv + gemm, and the gemv (one token, decode) of every quantized type. The packed-panel gemm of
 * the quantized types is in x86_avx512_gemm.c. Built with per-object flags (mk/cpu.mk); compiled
 * without them this file only exports an empty table. */
#include "cpu_impl.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512VNNI__) && defined(__AVX512VBMI__) && defined(__FMA__) && defined(__F16C__)

#include "x86_avx512.h"

/* gemm of the quantized types (x86_avx512_gemm.c). */
void cpu_avx512_gemm_q32(uint32_t type, const void *w, size_t rb, const void *act, size_t as, int nt,
                         float *y, size_t ldy, int64_t n, int64_t r0, int64_t r1);
void cpu_avx512_gemm_qk(uint32_t type, const void *w, size_t rb, const void *act, size_t as, int nt,
                        float *y, size_t ldy, int64_t n, int64_t r0, int64_t r1);

/* Software prefetch GEMV_PF bytes ahead of the row stream, into L2, covering `bytes` (the step of
 * the caller's loop; the hardware prefetcher alone left ~15% of decode speed on the table with two
 * threads streaming: qwen2.5-0.5b Q4_0 decode 90-94 -> 106-110 tok/s, docs/KERNELS.md). Running
 * past the end of the weights is harmless: prefetches never fault. */
#define GEMV_PF 4096
AI void gemv_prefetch(const uint8_t *p, int bytes) {
    for (int o = 0; o < bytes; o += 64) _mm_prefetch((const char *)(p + GEMV_PF + o), _MM_HINT_T1);
}

/* ---- activation quantization (same bytes as quant_act_row_ref) ------------------------------ */

/* amax, d = amax / 127 and 1/d = 127 / amax computed exactly like the reference; the products
 * x * id are the same float products and vcvtps2dq rounds half to even like nearbyintf. */
static void qa_q8_32(const float *x, void *dst, int64_t n) {
    act_q8_32 *y = dst;
    for (int64_t b = 0; b < n / 32; b++, x += 32) {
        __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        float d = amax / 127.0f, id = d != 0 ? 127.0f / amax : 0;
        __m512 vid = _mm512_set1_ps(id);
        __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, vid));
        __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, vid));
        _mm_storeu_si128((__m128i *)y[b].qs, _mm512_cvtsepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(y[b].qs + 16), _mm512_cvtsepi32_epi8(q1));
        y[b].d = d;
        y[b].s = d * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
}

static void qa_q8_256(const float *x, void *dst, int64_t n) {
    act_q8_256 *y = dst;
    for (int64_t b = 0; b < n / 256; b++, x += 256) {
        __m512 m = _mm512_setzero_ps();
        for (int i = 0; i < 16; i++) m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * i)), m);
        float amax = _mm512_reduce_max_ps(m);
        float d = amax / 127.0f, id = d != 0 ? 127.0f / amax : 0;
        __m512 vid = _mm512_set1_ps(id);
        for (int g = 0; g < 16; g++) {
            __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * g), vid));
            _mm_storeu_si128((__m128i *)(y[b].qs + 16 * g), _mm512_cvtsepi32_epi8(q));
            y[b].bsums[g] = (int16_t)_mm512_reduce_add_epi32(q);
        }
        y[b].d = d;
    }
}

/* ---- F32 / F16 / BF16 weights, float activations ------------------------------------------ */

AI __m512 ldw_float(uint32_t t, const uint8_t *p) {
    if (t == QT_F32) return _mm512_loadu_ps((const float *)p);
    __m256i h = _mm256_loadu_si256((const __m256i *)p);
    if (t == QT_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

AI __m512 ldw_float_mask(uint32_t t, const uint8_t *p, __mmask16 k) {
    if (t == QT_F32) return _mm512_maskz_loadu_ps(k, (const float *)p);
    __m256i h = _mm256_maskz_loadu_epi16(k, p);
    if (t == QT_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

AI int float_size(uint32_t t) { return t == QT_F32 ? 4 : 2; }

/* lane i = the horizontal sum of v[i] (16 reductions in 46 operations instead of ~130). */
AI __m512 reduce16(const __m512 *v) {
    __m512 s[8], u[4];
    for (int i = 0; i < 8; i++) /* 128-bit lane k: 4 partial sums of v[2i] (k < 2) / v[2i+1] */
        s[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], 0xEE));
    for (int j = 0; j < 4; j++) /* 128-bit lane k: 4 partial sums of v[4j + k] */
        u[j] = _mm512_add_ps(_mm512_shuffle_f32x4(s[2 * j], s[2 * j + 1], 0x88),
                             _mm512_shuffle_f32x4(s[2 * j], s[2 * j + 1], 0xDD));
    __m512 a = _mm512_add_ps(_mm512_unpacklo_ps(u[0], u[1]), _mm512_unpackhi_ps(u[0], u[1]));
    __m512 b = _mm512_add_ps(_mm512_unpacklo_ps(u[2], u[3]), _mm512_unpackhi_ps(u[2], u[3]));
    __m512 c = _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x44), _mm512_shuffle_ps(a, b, 0xEE));
    /* lane 4k + j of c = sum of v[4j + k] */
    return _mm512_permutexvar_ps(_mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0), c);
}

#define FROWS 16    /* rows per small-n kernel call (one per lane after reduce16) */
#define FSMALL_N 256 /* n up to this: the 16-row kernel (weights converted once, kept in L1) */

/* 16 rows (nr valid) x nt tokens for n <= FSMALL_N: y_t[i] = row i . token t at yt + t * ldy.
 * The rows are first copied (F16/BF16: converted) to a stack buffer with a constant stride, so
 * that all 16 row loads address off one register; the buffer stays in L1 for all tokens. */
AI void float_rows16(uint32_t t, const uint8_t *w, size_t rb, int nr, const float *x0, size_t as, int nt,
                     float *yt, size_t ldy, int64_t n) {
    const int es = float_size(t);
    float buf[FROWS * FSMALL_N] __attribute__((aligned(64)));
    for (int i = 0; i < FROWS; i++) {
        const uint8_t *p = w + (size_t)(i < nr ? i : 0) * rb;
        int64_t k = 0;
        for (; k + 16 <= n; k += 16) _mm512_store_ps(buf + i * FSMALL_N + k, ldw_float(t, p + k * es));
        if (k < n) _mm512_store_ps(buf + i * FSMALL_N + k, ldw_float_mask(t, p + k * es, (__mmask16)((1u << (n - k)) - 1)));
    }
    const __mmask16 km = (__mmask16)((1u << nr) - 1);
    const int64_t n16 = (n + 15) & ~(int64_t)15; /* buffer rows are zero-padded... */
    for (int tok = 0; tok < nt; tok++) {
        const float *x = (const float *)((const uint8_t *)x0 + (size_t)tok * as);
        __m512 acc[FROWS];
        _Pragma("GCC unroll 16")
        for (int i = 0; i < FROWS; i++) acc[i] = _mm512_setzero_ps();
        int64_t k = 0;
        for (; k + 16 <= n; k += 16) {
            __m512 xv = _mm512_loadu_ps(x + k);
            _Pragma("GCC unroll 16")
            for (int i = 0; i < FROWS; i++) acc[i] = _mm512_fmadd_ps(_mm512_load_ps(buf + i * FSMALL_N + k), xv, acc[i]);
        }
        if (k < n16) { /* ...so only x needs a (slow on Zen 5) masked load in the tail */
            __m512 xv = _mm512_maskz_loadu_ps((__mmask16)((1u << (n - k)) - 1), x + k);
            _Pragma("GCC unroll 16")
            for (int i = 0; i < FROWS; i++) acc[i] = _mm512_fmadd_ps(_mm512_load_ps(buf + i * FSMALL_N + k), xv, acc[i]);
        }
        if (nr == FROWS) _mm512_storeu_ps(yt + (size_t)tok * ldy, reduce16(acc));
        else _mm512_mask_storeu_ps(yt + (size_t)tok * ldy, km, reduce16(acc));
    }
}

/* RT rows x TT tokens register tile for long rows: acc[i][j] = row i . token j over all n. Rows
 * and tokens past the ends are passed as repeats of valid ones (results discarded). */
#define RT 4
#define TT 4
AI void tile_float(uint32_t t, const uint8_t *const *wr, const float *const *xr, int64_t n,
                   float out[RT][TT]) {
    const int es = float_size(t);
    __m512 acc[RT * TT];
    _Pragma("GCC unroll 16")
    for (int i = 0; i < RT * TT; i++) acc[i] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512 w[RT];
        _Pragma("GCC unroll 4")
        for (int i = 0; i < RT; i++) w[i] = ldw_float(t, wr[i] + k * es);
        _Pragma("GCC unroll 4")
        for (int j = 0; j < TT; j++) {
            __m512 x = _mm512_loadu_ps(xr[j] + k);
            _Pragma("GCC unroll 4")
            for (int i = 0; i < RT; i++) acc[i * TT + j] = _mm512_fmadd_ps(w[i], x, acc[i * TT + j]);
        }
    }
    if (k < n) {
        __mmask16 m = (__mmask16)((1u << (n - k)) - 1);
        __m512 w[RT];
        _Pragma("GCC unroll 4")
        for (int i = 0; i < RT; i++) w[i] = ldw_float_mask(t, wr[i] + k * es, m);
        _Pragma("GCC unroll 4")
        for (int j = 0; j < TT; j++) {
            __m512 x = _mm512_maskz_loadu_ps(m, xr[j] + k);
            _Pragma("GCC unroll 4")
            for (int i = 0; i < RT; i++) acc[i * TT + j] = _mm512_fmadd_ps(w[i], x, acc[i * TT + j]);
        }
    }
    __m512 r = reduce16(acc); /* lane i * TT + j */
    _mm512_storeu_ps(&out[0][0], r);
}

/* One token, long rows: one row at a time (rows streamed in memory order), 4 accumulators. */
AI float dot_float_row(uint32_t t, const uint8_t *w, const float *x, int64_t n) {
    const int es = float_size(t);
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 64 <= n; k += 64) {
        gemv_prefetch(w + k * es, 64 * es);
        a0 = _mm512_fmadd_ps(ldw_float(t, w + k * es), _mm512_loadu_ps(x + k), a0);
        a1 = _mm512_fmadd_ps(ldw_float(t, w + (k + 16) * es), _mm512_loadu_ps(x + k + 16), a1);
        a2 = _mm512_fmadd_ps(ldw_float(t, w + (k + 32) * es), _mm512_loadu_ps(x + k + 32), a2);
        a3 = _mm512_fmadd_ps(ldw_float(t, w + (k + 48) * es), _mm512_loadu_ps(x + k + 48), a3);
    }
    for (; k < n; k += 16) {
        __mmask16 m = n - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - k)) - 1);
        a0 = _mm512_fmadd_ps(ldw_float_mask(t, w + k * es, m), _mm512_maskz_loadu_ps(m, x + k), a0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

AI void gemv_float(uint32_t t, const void *w, size_t rb, const void *act, float *y, int64_t n,
                   int64_t r0, int64_t r1) {
    if (n <= FSMALL_N) {
        for (int64_t r = r0; r < r1; r += FROWS)
            float_rows16(t, (const uint8_t *)w + (size_t)r * rb, rb, (int)H_MIN(FROWS, r1 - r), act, 0, 1,
                         y + (r - r0), 0, n);
        return;
    }
    for (int64_t r = r0; r < r1; r++) y[r - r0] = dot_float_row(t, (const uint8_t *)w + (size_t)r * rb, act, n);
}

AI void gemm_float(uint32_t t, const void *w, size_t rb, const void *act, size_t as, int nt,
                   float *y, size_t ldy, int64_t n, int64_t r0, int64_t r1) {
    if (n <= FSMALL_N) {
        for (int64_t r = r0; r < r1; r += FROWS)
            float_rows16(t, (const uint8_t *)w + (size_t)r * rb, rb, (int)H_MIN(FROWS, r1 - r), act, as, nt,
                         y + r, ldy, n);
        return;
    }
    if (nt == 1) {
        gemv_float(t, w, rb, act, y + r0, n, r0, r1);
        return;
    }
    for (int64_t r = r0; r < r1; r += RT) {
        int nr = (int)H_MIN(RT, r1 - r);
        const uint8_t *wr[RT];
        for (int i = 0; i < RT; i++) wr[i] = (const uint8_t *)w + (size_t)(r + (i < nr ? i : 0)) * rb;
        for (int t0 = 0; t0 < nt; t0 += TT) {
            int ntk = H_MIN(TT, nt - t0);
            const float *xr[TT];
            for (int j = 0; j < TT; j++)
                xr[j] = (const float *)((const uint8_t *)act + (size_t)(t0 + (j < ntk ? j : 0)) * as);
            float out[RT][TT];
            tile_float(t, wr, xr, n, out);
            for (int j = 0; j < ntk; j++)
                for (int i = 0; i < nr; i++) y[(size_t)(t0 + j) * ldy + (size_t)(r + i)] = out[i][j];
        }
    }
}

#define FLOAT_KERNELS(T, NAME)                                                                      \
    static void gemv_##NAME(const void *w, size_t rb, const void *act, float *y, int64_t n,        \
                            int64_t r0, int64_t r1) {                                              \
        gemv_float(T, w, rb, act, y, n, r0, r1);                                                   \
    }                                                                                              \
    static void gemm_##NAME(const void *w, size_t rb, const void *act, size_t as, int nt, float *y, \
                            size_t ldy, int64_t n, int64_t r0, int64_t r1) {                       \
        gemm_float(T, w, rb, act, as, nt, y, ldy, n, r0, r1);                                      \
    }
FLOAT_KERNELS(QT_F32, f32)
FLOAT_KERNELS(QT_F16, f16)
FLOAT_KERNELS(QT_BF16, bf16)

static void qa_f32(const float *x, void *dst, int64_t n) { memcpy(dst, x, (size_t)n * sizeof(float)); }

float cpu_avx512_dot_f32(const float *a, const float *b, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

/* ---- 32-element block types: gemv ------------------------------------------------------------
 * One row at a time: rows are streamed in memory order, which is what the hardware prefetcher
 * follows best (interleaving 2-4 rows measured 2-5x slower from DRAM on Zen 5; docs/KERNELS.md).
 * Two blocks per 512-bit vector: lanes 0-7 hold block b's partial sums, lanes 8-15 block b+1's,
 * scaled by [d_w*d_a x8 | x8] and accumulated in float. */

/* vpermw index: [word 0 x8, word B/2 x8] (the f16 d of two blocks at p, or m with +1) */
AI __m512i q32_scale_idx(int B, int wo) {
    return _mm512_castsi256_si512(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16((short)wo)),
                                                          _mm_set1_epi16((short)(B / 2 + wo)), 1));
}

/* The activation side of two blocks, prepared once per gemv call and shared by all rows: the
 * codes [a_b | a_b+1], -off * (partial sums of a) to start vpdpbusd from, [d_a x8 | x8], and
 * [s_a, 0 x7 | s_a+1, 0 x7] (Q4_1 / Q5_1: m * s once per block). */
typedef struct {
    __m512i a, nbias;
    __m512 da, sa;
} act_pair;

#define GEMV_PAIRS 128 /* block pairs per prepared chunk: 8192 elements, 32 KiB of stack */

AI void act_pairs_prepare(uint32_t t, const act_q8_32 *a, int nb, act_pair *ap) {
    const __m512i offv = _mm512_set1_epi8((char)q32_off(t));
    for (int b = 0; b < nb; b += 2) {
        const int nblk = nb - b >= 2 ? 2 : 1;
        act_pair *p = ap + b / 2;
        __m512i A = act32_pair(a + b, nblk);
        p->a = A;
        p->nbias = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), offv, A));
        p->da = a5_pair_ps(a[b].d, nblk == 2 ? a[b + 1].d : 0);
        if (q32_has_m(t)) p->sa = _mm512_maskz_mov_ps(0x0101, a5_pair_ps(a[b].s, nblk == 2 ? a[b + 1].s : 0));
    }
}

/* One pair of blocks (nblk = 1 or 2) of a row against a prepared pair. checked = 0: a full
 * 64-byte load at p is known to stay inside the readable weights. */
AI void gemv_q32_pair(uint32_t t, const uint8_t *p, const uint8_t *end, const act_pair *x, int nblk, int checked,
                      __m512i perm, __m512i didx, __m512i midx, __m512 *acc, __m512 *accm) {
    /* both blocks' f16 fields lie in the first 64 bytes (Q8_0: words 0 and 17) */
    __m512i L = checked ? a5_load64(p, end, q32_span(t, nblk)) : a5_load_plain(p);
    __m512i dp = _mm512_dpbusd_epi32(q32_off(t) ? x->nbias : _mm512_setzero_si512(),
                                     q32_codes(t, p, L, nblk, perm), x->a);
    __m512 dw = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(didx, L)));
    *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp), _mm512_mul_ps(dw, x->da), *acc);
    if (q32_has_m(t))
        *accm = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(midx, L))), x->sa, *accm);
}

/* Blocks [0, nb) of one row against prepared pairs; two accumulators alternate. checked = 0 when
 * every 64-byte load of the row stays before `end` (all rows but the last one or two). */
AI float gemv_q32_row(uint32_t t, const uint8_t *w, const uint8_t *end, const act_pair *ap, int nb, int checked) {
    const int B = q32_bytes(t);
    const __m512i perm = q32_perm_idx(t);
    const __m512i didx = q32_scale_idx(B, 0), midx = q32_scale_idx(B, 1);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), accm = _mm512_setzero_ps();
    const uint8_t *p = w;
    const act_pair *x = ap;
    int b = 0;
    for (; b + 4 <= nb; b += 4, p += 4 * B, x += 2) {
        gemv_prefetch(p, 4 * B);
        gemv_q32_pair(t, p, end, x, 2, checked, perm, didx, midx, &acc0, &accm);
        gemv_q32_pair(t, p + 2 * B, end, x + 1, 2, checked, perm, didx, midx, &acc1, &accm);
    }
    for (; b < nb; b += 2, p += 2 * B, x++)
        gemv_q32_pair(t, p, end, x, H_MIN(2, nb - b), 1, perm, didx, midx, &acc0, &accm);
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), accm));
}

AI void gemv_q32(uint32_t t, const void *w, size_t rb, const void *act, float *y, int64_t n,
                 int64_t r0, int64_t r1) {
    const uint8_t *end = (const uint8_t *)w + (size_t)r1 * rb;
    const int nb = (int)(n / 32), B = q32_bytes(t);
    act_pair ap[GEMV_PAIRS];
    for (int k0 = 0; k0 < nb; k0 += 2 * GEMV_PAIRS) {
        const int kn = H_MIN(2 * GEMV_PAIRS, nb - k0);
        act_pairs_prepare(t, (const act_q8_32 *)act + k0, kn, ap);
        for (int64_t r = r0; r < r1; r++) {
            const uint8_t *row = (const uint8_t *)w + (size_t)r * rb + (size_t)k0 * B;
            /* the main loop's last 64-byte load starts before row + kn * B */
            float v = row + (size_t)kn * B + 64 <= end ? gemv_q32_row(t, row, end, ap, kn, 0)
                                                        : gemv_q32_row(t, row, end, ap, kn, 1);
            y[r - r0] = k0 ? y[r - r0] + v : v;
        }
    }
}

/* ---- K-quants: gemv ------------------------------------------------------------------------ */

/* The 8 six-bit scales (bytes 0-7) and mins (bytes 8-15) of a Q4_K / Q5_K block, from the 12
 * scale bytes at s (16 bytes are read; the block continues past them). */
AI __m128i k4_scales(const uint8_t *s) {
    __m128i x = _mm_loadu_si128((const __m128i *)s); /* [w0, w1, w2, -] */
    __m128i lo = _mm_and_si128(x, _mm_set1_epi32(0x3f3f3f3f)); /* [sc0-3, m0-3] */
    __m128i w2 = _mm_shuffle_epi32(x, 0xAA);
    __m128i a = _mm_and_si128(_mm_srlv_epi32(w2, _mm_set_epi32(0, 0, 4, 0)), _mm_set1_epi32(0x0f0f0f0f));
    __m128i b = _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(x, 6), _mm_set1_epi32(0x03030303)), 4);
    return _mm_unpacklo_epi32(lo, _mm_or_si128(a, b)); /* [sc0-3, sc4-7, m0-3, m4-7] */
}

/* Q4_K / Q5_K. The activations of a super-block are regrouped to line up with the nibble
 * halves: A[0] = elements 0-31 | 64-95 (low nibbles of qs[0..64)), A[1] = 32-63 | 96-127 (high
 * nibbles), A[2], A[3] the same for 128-255. Product k then holds sub-blocks 0|2, 1|3, 4|6, 5|7
 * in its lower | upper 8 lanes; each lane's integer scale comes from one vpermb of the decoded
 * scales, and the mins term is m_j * (bsum[2j] + bsum[2j+1]). */
AI float gemv_k45_row(uint32_t t, const uint8_t *w, const act_q8_256 *a, int nsb) {
    const int B = t == QT_Q4_K ? 144 : 176, qs_off = t == QT_Q4_K ? 16 : 48;
    const __m512i m4 = _mm512_set1_epi8(0x0F), b4 = _mm512_set1_epi8(0x10);
    __m512i sidx[4];
    for (int k = 0; k < 4; k++) {
        int s0 = (k >> 1) * 4 + (k & 1);
        sidx[k] = _mm512_inserti64x4(_mm512_set1_epi32(s0), _mm256_set1_epi32(s0 + 2), 1);
    }
    /* Q5_K: shift bringing the qh bit of each product's sub-blocks to bit 4, per 256-bit half */
    const __m512i hsh0 = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i hsh1 = _mm512_inserti64x4(_mm512_set1_epi16(3), _mm256_set1_epi16(1), 1);
    const __m512i hsh2 = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
    const __m512i hsh3 = _mm512_inserti64x4(_mm512_set1_epi16(1), _mm256_set1_epi16(3), 1);
    /* int16 k = m_{k/2}: bytes 2k <- 8 + k/2, bytes 2k+1 zeroed */
    const __m256i midx = _mm256_setr_epi8(8, 0, 8, 0, 9, 0, 9, 0, 10, 0, 10, 0, 11, 0, 11, 0, 12, 0, 12, 0,
                                          13, 0, 13, 0, 14, 0, 14, 0, 15, 0, 15, 0);
    __m512 acc = _mm512_setzero_ps();
    __m256 accm = _mm256_setzero_ps();
    for (int s = 0; s < nsb; s++) {
        const act_q8_256 *as = a + s;
        const uint8_t *p = w + (size_t)s * B;
        gemv_prefetch(p, B);
        __m512i x0 = _mm512_loadu_si512(as->qs), x1 = _mm512_loadu_si512(as->qs + 64);
        __m512i x2 = _mm512_loadu_si512(as->qs + 128), x3 = _mm512_loadu_si512(as->qs + 192);
        __m128i sm = k4_scales(p + 4);
        __m512i smz = _mm512_castsi128_si512(sm);
        __m512i q0 = a5_load_plain(p + qs_off), q1 = a5_load_plain(p + qs_off + 64);
        __m512i W0 = _mm512_and_si512(q0, m4), W1 = _mm512_and_si512(_mm512_srli_epi16(q0, 4), m4);
        __m512i W2 = _mm512_and_si512(q1, m4), W3 = _mm512_and_si512(_mm512_srli_epi16(q1, 4), m4);
        if (t == QT_Q5_K) {
            __m512i H = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(p + 16)));
            W0 = _mm512_or_si512(W0, _mm512_and_si512(_mm512_sllv_epi16(H, hsh0), b4));
            W1 = _mm512_or_si512(W1, _mm512_and_si512(_mm512_sllv_epi16(H, hsh1), b4));
            W2 = _mm512_or_si512(W2, _mm512_and_si512(_mm512_srlv_epi16(H, hsh2), b4));
            W3 = _mm512_or_si512(W3, _mm512_and_si512(_mm512_srlv_epi16(H, hsh3), b4));
        }
        const __m512i z = _mm512_setzero_si512();
        __m512i d0 = _mm512_dpbusd_epi32(z, W0, _mm512_shuffle_i64x2(x0, x1, 0x44));
        __m512i d1 = _mm512_dpbusd_epi32(z, W1, _mm512_shuffle_i64x2(x0, x1, 0xEE));
        __m512i d2 = _mm512_dpbusd_epi32(z, W2, _mm512_shuffle_i64x2(x2, x3, 0x44));
        __m512i d3 = _mm512_dpbusd_epi32(z, W3, _mm512_shuffle_i64x2(x2, x3, 0xEE));
        const __mmask64 b0 = 0x1111111111111111ull;
        d0 = _mm512_mullo_epi32(d0, _mm512_maskz_permutexvar_epi8(b0, sidx[0], smz));
        d1 = _mm512_mullo_epi32(d1, _mm512_maskz_permutexvar_epi8(b0, sidx[1], smz));
        d2 = _mm512_mullo_epi32(d2, _mm512_maskz_permutexvar_epi8(b0, sidx[2], smz));
        d3 = _mm512_mullo_epi32(d3, _mm512_maskz_permutexvar_epi8(b0, sidx[3], smz));
        __m512i isc = _mm512_add_epi32(_mm512_add_epi32(d0, d1), _mm512_add_epi32(d2, d3));
        __m256i mp = _mm256_maskz_permutexvar_epi8(0x55555555u, midx, _mm256_castsi128_si256(sm));
        __m256 mins = _mm256_cvtepi32_ps(_mm256_madd_epi16(mp, _mm256_loadu_si256((const __m256i *)as->bsums)));
        __m128 dd = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128((int)a5_rd32(p))), _mm_set1_ps(as->d));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isc), _mm512_broadcastss_ps(dd), acc);
        accm = _mm256_fmadd_ps(mins, _mm256_broadcastss_ps(_mm_movehdup_ps(dd)), accm);
    }
    return _mm512_reduce_add_ps(acc) - _mm512_reduce_add_ps(_mm512_zextps256_ps512(accm));
}

AI float gemv_q6k_row(const uint8_t *w, const act_q8_256 *a, int nsb) {
    const int B = 210;
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    const __m512i sh01 = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i sh23 = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
    __m512i pidx[4]; /* lane L of product k covers sub-block (of 16) 4k + L/4 */
    for (int k = 0; k < 4; k++)
        pidx[k] = _mm512_add_epi32(_mm512_set1_epi32(4 * k),
                                   _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0));
    __m512 acc = _mm512_setzero_ps();
    for (int s = 0; s < nsb; s++) {
        const act_q8_256 *as = a + s;
        const uint8_t *p = w + (size_t)s * B;
        gemv_prefetch(p, B);
        __m128i sc8 = _mm_loadu_si128((const __m128i *)(p + 192));
        __m512i sc32 = _mm512_cvtepi8_epi32(sc8);
        __m512i isc = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            __m512i Q = a5_load_plain(p + 64 * h);
            __m512i H = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(p + 128 + 32 * h)));
            __m512i v01 = _mm512_or_si512(_mm512_and_si512(Q, m4), _mm512_and_si512(_mm512_sllv_epi16(H, sh01), m30));
            __m512i v23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(Q, 4), m4),
                                          _mm512_and_si512(_mm512_srlv_epi16(H, sh23), m30));
            __m512i d01 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), v01, _mm512_loadu_si512(as->qs + 128 * h));
            __m512i d23 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), v23, _mm512_loadu_si512(as->qs + 128 * h + 64));
            isc = _mm512_add_epi32(isc, _mm512_mullo_epi32(d01, _mm512_permutexvar_epi32(pidx[2 * h], sc32)));
            isc = _mm512_add_epi32(isc, _mm512_mullo_epi32(d23, _mm512_permutexvar_epi32(pidx[2 * h + 1], sc32)));
        }
        /* codes are q + 32: subtract 32 * sum_j sc_j * bsum_j */
        __m256i corr = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc8), _mm256_loadu_si256((const __m256i *)as->bsums));
        isc = _mm512_sub_epi32(isc, _mm512_slli_epi32(_mm512_zextsi256_si512(corr), 5));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isc), _mm512_set1_ps(_cvtsh_ss(a5_rd16(p + 208)) * as->d), acc);
    }
    return _mm512_reduce_add_ps(acc);
}

AI void gemv_qk(uint32_t t, const void *w, size_t rb, const void *act, float *y, int64_t n,
                int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *wr = (const uint8_t *)w + (size_t)r * rb;
        y[r - r0] = t == QT_Q6_K ? gemv_q6k_row(wr, act, (int)(n / 256)) : gemv_k45_row(t, wr, act, (int)(n / 256));
    }
}

/* ---- the table --------------------------------------------------------------------------------- */

#define QUANT_KERNELS(T, NAME, FAM)                                                                 \
    static void gemv_##NAME(const void *w, size_t rb, const void *act, float *y, int64_t n,        \
                            int64_t r0, int64_t r1) {                                              \
        gemv_##FAM(T, w, rb, act, y, n, r0, r1);                                                   \
    }                                                                                              \
    static void gemm_##NAME(const void *w, size_t rb, const void *act, size_t as, int nt, float *y, \
                            size_t ldy, int64_t n, int64_t r0, int64_t r1) {                       \
        cpu_avx512_gemm_##FAM(T, w, rb, act, as, nt, y, ldy, n, r0, r1);                           \
    }
QUANT_KERNELS(QT_Q4_0, q4_0, q32)
QUANT_KERNELS(QT_Q4_1, q4_1, q32)
QUANT_KERNELS(QT_Q5_0, q5_0, q32)
QUANT_KERNELS(QT_Q5_1, q5_1, q32)
QUANT_KERNELS(QT_Q8_0, q8_0, q32)
QUANT_KERNELS(QT_Q4_K, q4_k, qk)
QUANT_KERNELS(QT_Q5_K, q5_k, qk)
QUANT_KERNELS(QT_Q6_K, q6_k, qk)

/* gemv for one token, exported for the gemm file's small-batch path. */
void cpu_avx512_gemv(uint32_t type, const void *w, size_t rb, const void *act, float *y, int64_t n,
                     int64_t r0, int64_t r1) {
    switch (type) {
    case QT_Q4_0: gemv_q4_0(w, rb, act, y, n, r0, r1); break;
    case QT_Q4_1: gemv_q4_1(w, rb, act, y, n, r0, r1); break;
    case QT_Q5_0: gemv_q5_0(w, rb, act, y, n, r0, r1); break;
    case QT_Q5_1: gemv_q5_1(w, rb, act, y, n, r0, r1); break;
    case QT_Q8_0: gemv_q8_0(w, rb, act, y, n, r0, r1); break;
    case QT_Q4_K: gemv_q4_k(w, rb, act, y, n, r0, r1); break;
    case QT_Q5_K: gemv_q5_k(w, rb, act, y, n, r0, r1); break;
    case QT_Q6_K: gemv_q6_k(w, rb, act, y, n, r0, r1); break;
    default: break;
    }
}

#define ENTRY(T, NAME, ACT, QA) [T] = {T, ACT, "avx512", QA, gemv_##NAME, gemm_##NAME}
static const quant_kernels table[QT_COUNT] = {
    ENTRY(QT_F32, f32, QA_F32, qa_f32),         ENTRY(QT_F16, f16, QA_F32, qa_f32),
    ENTRY(QT_BF16, bf16, QA_F32, qa_f32),       ENTRY(QT_Q4_0, q4_0, QA_Q8_32, qa_q8_32),
    ENTRY(QT_Q4_1, q4_1, QA_Q8_32, qa_q8_32),   ENTRY(QT_Q5_0, q5_0, QA_Q8_32, qa_q8_32),
    ENTRY(QT_Q5_1, q5_1, QA_Q8_32, qa_q8_32),   ENTRY(QT_Q8_0, q8_0, QA_Q8_32, qa_q8_32),
    ENTRY(QT_Q4_K, q4_k, QA_Q8_256, qa_q8_256), ENTRY(QT_Q5_K, q5_k, QA_Q8_256, qa_q8_256),
    ENTRY(QT_Q6_K, q6_k, QA_Q8_256, qa_q8_256),
};

const quant_kernels *cpu_avx512_kernels(uint32_t type) {
    return type < QT_COUNT && table[type].gemv ? &table[type] : NULL;
}

#else

const quant_kernels *cpu_avx512_kernels(uint32_t type) {
    (void)type;
    return NULL;
}

float cpu_avx512_dot_f32(const float *a, const float *b, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

#endif
