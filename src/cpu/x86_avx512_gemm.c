/* x86_avx512_gemm.c — AVX-512 VNNI gemm (prefill) for the quantized types, on packed panels.
 *
 * The weights keep their GGUF layout; packing happens on the fly, per thread, on the stack:
 * 16 rows x one K chunk are unpacked to unsigned 8-bit codes and transposed so that 32-bit lane
 * r of a vector holds 4 consecutive codes of row r. One vpdpbusd with 4 activation bytes
 * broadcast from memory ({1to16}) then advances 16 rows at once, each lane summing a block of one
 * row; the per-row block scales are applied once per block as a 16-lane vector. A register tile
 * of 16 rows x up to 8 tokens reuses every unpacked weight vector 8 times; the panel (<= 12 KiB)
 * is reused by every token of a block of TB tokens.
 *
 * Integer parts are exact: codes are q + off, and off * sum(a) is removed in integers (Q6_K,
 * K-quant mins) or, for the 32-blocks, through the activation's s = d * sum(q) in float (the
 * reference's own formula for Q4_1 / Q5_1). Results equal the reference up to float order. */
#include "cpu_impl.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512VNNI__) && defined(__AVX512VBMI__) && defined(__FMA__) && defined(__F16C__)

#include "x86_avx512.h"

#include <limits.h>

void cpu_avx512_gemv(uint32_t type, const void *w, size_t rb, const void *act, float *y, int64_t n,
                     int64_t r0, int64_t r1);

#define PR 16     /* rows per panel: one per 32-bit lane */
#define MT 8      /* tokens per register tile */
#define TB 256    /* tokens per block: their activations stay in L2 while a panel is reused */
#define MIN_TOK 5 /* fewer tokens: one gemv per token (measured: packing pays from 5 tokens on) */

/* 16x16 transpose of 32-bit elements: r[i] lane c -> r[c] lane i. */
AI void tr16x16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    /* r[4m + c], 128-bit lane L = rows 4m..4m+3 of column 4L + c */
    for (int c = 0; c < 4; c++) {
        __m512i u0 = _mm512_shuffle_i32x4(r[c], r[4 + c], 0x44);
        __m512i u1 = _mm512_shuffle_i32x4(r[c], r[4 + c], 0xEE);
        __m512i u2 = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0x44);
        __m512i u3 = _mm512_shuffle_i32x4(r[8 + c], r[12 + c], 0xEE);
        t[c] = _mm512_shuffle_i32x4(u0, u2, 0x88);
        t[4 + c] = _mm512_shuffle_i32x4(u0, u2, 0xDD);
        t[8 + c] = _mm512_shuffle_i32x4(u1, u3, 0x88);
        t[12 + c] = _mm512_shuffle_i32x4(u1, u3, 0xDD);
    }
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

/* Byte offsets i * rb of the panel's rows, for gathers of per-row block fields. */
AI __m512i row_offsets(size_t rb) {
    return _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                              _mm512_set1_epi32((int)rb));
}

AI __m512i gather32(const uint8_t *base, __m512i offs, __mmask16 km) {
    return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), km, offs, base, 1);
}

/* f16 in the low (hi = 0) or high (hi = 1) half of each lane -> float */
AI __m512 f16_lanes(__m512i g, int hi) {
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(hi ? _mm512_srli_epi32(g, 16) : g));
}

/* Prefetch `bytes` at each of nr rows rb apart: the hardware prefetcher does not follow 16
 * interleaved row streams (docs/KERNELS.md). Used for the same chunk of the next row group, into
 * L2, a whole row group ahead of its use (one chunk ahead was too short under memory contention). */
AI void prefetch_rows(const uint8_t *p, size_t rb, int nr, size_t bytes) {
    for (int i = 0; i < nr; i++)
        for (size_t o = 0; o < bytes + 63; o += 64) _mm_prefetch((const char *)(p + (size_t)i * rb + o), _MM_HINT_T1);
}

/* Masked loads and stores only for a partial panel: they are slow on Zen 5 (docs/KERNELS.md). */
AI void y_update(float *yp, __mmask16 km, __m512 v, int first) {
    if (km == 0xFFFF) {
        if (!first) v = _mm512_add_ps(v, _mm512_loadu_ps(yp));
        _mm512_storeu_ps(yp, v);
        return;
    }
    if (!first) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(km, yp));
    _mm512_mask_storeu_ps(yp, km, v);
}

/* ---- 32-element blocks ------------------------------------------------------------------------ */

#define KB32 16 /* blocks per K chunk (512 elements) */

typedef struct {
    __m512i q[KB32][8]; /* [block][4-code group]: lane r = codes 4c..4c+3 of row r */
    __m512 ws[KB32];    /* lane r: d of row r's block */
    __m512 wo[KB32];    /* lane r: coefficient of s = d_a * sum(a): -off * d, or m */
} panel_q32;

/* w: the panel's first row at the chunk's first block; end: end of the panel's last row. */
AI void pack_q32(uint32_t t, const uint8_t *w, const uint8_t *end, size_t rb, int nr, int ns, panel_q32 *P) {
    const int B = q32_bytes(t), off = q32_off(t);
    const __m512i perm = q32_perm_idx(t);
    int j = 0;
    if (t == QT_Q4_0 || t == QT_Q4_1) {
        /* 4 blocks at a time, transposing the packed nibbles: lane r of transposed vector c holds
         * qs bytes 4(c%4).. of block c/4 of row r, i.e. codes 4(c%4).. (low nibbles) and
         * 16 + 4(c%4).. (high nibbles); a third fewer operations than unpacking first. */
        const int o = q32_qs_off(t);
        const __m512i idx4 = _mm512_add_epi8(
            _mm512_set_epi32(0x0f0e0d0c, 0x0b0a0908, 0x07060504, 0x03020100, 0x0f0e0d0c, 0x0b0a0908, 0x07060504,
                             0x03020100, 0x0f0e0d0c, 0x0b0a0908, 0x07060504, 0x03020100, 0x0f0e0d0c, 0x0b0a0908,
                             0x07060504, 0x03020100),
            _mm512_set_epi32((64 + B + o) * 0x01010101, (64 + B + o) * 0x01010101, (64 + B + o) * 0x01010101,
                             (64 + B + o) * 0x01010101, (64 + o) * 0x01010101, (64 + o) * 0x01010101, (64 + o) * 0x01010101,
                             (64 + o) * 0x01010101, (B + o) * 0x01010101, (B + o) * 0x01010101, (B + o) * 0x01010101,
                             (B + o) * 0x01010101, o * 0x01010101, o * 0x01010101, o * 0x01010101, o * 0x01010101));
        const __m512i m4 = _mm512_set1_epi8(0x0F);
        for (; j + 4 <= ns; j += 4) {
            __m512i r[16];
            for (int i = 0; i < 16; i++) {
                const uint8_t *p = w + (size_t)i * rb + (size_t)j * B;
                r[i] = i < nr ? _mm512_permutex2var_epi8(a5_load_plain(p), idx4, a5_load64(p + 2 * B, end, 2 * B))
                              : _mm512_setzero_si512();
            }
            tr16x16(r);
            for (int c = 0; c < 16; c++) {
                P->q[j + c / 4][c % 4] = _mm512_and_si512(r[c], m4);
                P->q[j + c / 4][4 + c % 4] = _mm512_and_si512(_mm512_srli_epi16(r[c], 4), m4);
            }
        }
    }
    for (; j < ns; j += 2) {
        const int nblk = ns - j >= 2 ? 2 : 1;
        __m512i r[16];
        for (int i = 0; i < 16; i++) {
            const uint8_t *p = w + (size_t)i * rb + (size_t)j * B;
            r[i] = i < nr ? q32_codes(t, p, a5_load64(p, end, q32_span(t, nblk)), nblk, perm)
                          : _mm512_setzero_si512();
        }
        tr16x16(r);
        for (int c = 0; c < 8; c++) {
            P->q[j][c] = r[c];
            if (nblk == 2) P->q[j + 1][c] = r[8 + c];
        }
    }
    const __m512i offs = row_offsets(rb);
    const __mmask16 km = (__mmask16)((1u << nr) - 1);
    for (int b = 0; b < ns; b++) {
        __m512i g = gather32(w + (size_t)b * B, offs, km);
        __m512 d = f16_lanes(g, 0);
        P->ws[b] = d;
        P->wo[b] = q32_has_m(t) ? f16_lanes(g, 1) : _mm512_mul_ps(d, _mm512_set1_ps((float)-off));
    }
}

AI void mk_q32(const int T, const panel_q32 *P, int ns, const uint8_t *ap, size_t as, __m512 *out) {
    __m512 acc[MT]; /* local, so it stays in registers; copied to out at the end */
    _Pragma("GCC unroll 8")
    for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    for (int j = 0; j < ns; j++) {
        const __m512i *q = P->q[j];
        const __m512i q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3], q4 = q[4], q5 = q[5], q6 = q[6], q7 = q[7];
        const __m512 ws = P->ws[j], wo = P->wo[j];
        _Pragma("GCC unroll 8")
        for (int t = 0; t < T; t++) {
            const act_q8_32 *a = (const act_q8_32 *)(ap + (size_t)t * as) + j;
            const int8_t *x = a->qs;
            const __m512i z = _mm512_setzero_si512();
            __m512i d0 = _mm512_dpbusd_epi32(z, q0, a5_bc32(x));
            __m512i d1 = _mm512_dpbusd_epi32(z, q1, a5_bc32(x + 4));
            d0 = _mm512_dpbusd_epi32(d0, q2, a5_bc32(x + 8));
            d1 = _mm512_dpbusd_epi32(d1, q3, a5_bc32(x + 12));
            d0 = _mm512_dpbusd_epi32(d0, q4, a5_bc32(x + 16));
            d1 = _mm512_dpbusd_epi32(d1, q5, a5_bc32(x + 20));
            d0 = _mm512_dpbusd_epi32(d0, q6, a5_bc32(x + 24));
            d1 = _mm512_dpbusd_epi32(d1, q7, a5_bc32(x + 28));
            __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(d0, d1)), _mm512_set1_ps(a->d));
            acc[t] = _mm512_fmadd_ps(f, ws, acc[t]);
            acc[t] = _mm512_fmadd_ps(wo, _mm512_set1_ps(a->s), acc[t]);
        }
    }
    _Pragma("GCC unroll 8")
    for (int t = 0; t < T; t++) out[t] = acc[t];
}

static void mk_q32_any(int T, const panel_q32 *P, int ns, const uint8_t *ap, size_t as, __m512 *acc) {
    switch (T) {
    case 1: mk_q32(1, P, ns, ap, as, acc); break;
    case 2: mk_q32(2, P, ns, ap, as, acc); break;
    case 3: mk_q32(3, P, ns, ap, as, acc); break;
    case 4: mk_q32(4, P, ns, ap, as, acc); break;
    case 5: mk_q32(5, P, ns, ap, as, acc); break;
    case 6: mk_q32(6, P, ns, ap, as, acc); break;
    case 7: mk_q32(7, P, ns, ap, as, acc); break;
    default: mk_q32(8, P, ns, ap, as, acc); break;
    }
}

AI void gemm_q32_t(uint32_t t, const uint8_t *w, size_t rb, const uint8_t *act, size_t as, int nt,
                   float *y, size_t ldy, int64_t n, int64_t r0, int64_t r1) {
    const int nb = (int)(n / 32), B = q32_bytes(t);
    panel_q32 P;
    for (int t0 = 0; t0 < nt; t0 += TB) {
        const int tn = H_MIN(TB, nt - t0);
        for (int64_t rg = r0; rg < r1; rg += PR) {
            const int nr = (int)H_MIN(PR, r1 - rg);
            const __mmask16 km = (__mmask16)((1u << nr) - 1);
            const uint8_t *wg = w + (size_t)rg * rb;
            for (int kb = 0; kb < nb; kb += KB32) {
                const int ns = H_MIN(KB32, nb - kb);
                if (rg + PR < r1) prefetch_rows(wg + (size_t)PR * rb + (size_t)kb * B, rb, (int)H_MIN(PR, r1 - rg - PR), (size_t)ns * B);
                pack_q32(t, wg + (size_t)kb * B, wg + (size_t)nr * rb, rb, nr, ns, &P);
                for (int tt = t0; tt < t0 + tn; tt += MT) {
                    const int T = H_MIN(MT, t0 + tn - tt);
                    __m512 acc[MT];
                    mk_q32_any(T, &P, ns, act + (size_t)tt * as + (size_t)kb * sizeof(act_q8_32), as, acc);
                    for (int i = 0; i < T; i++) y_update(y + (size_t)(tt + i) * ldy + rg, km, acc[i], kb == 0);
                }
            }
        }
    }
}

void cpu_avx512_gemm_q32(uint32_t type, const void *w, size_t rb, const void *act, size_t as, int nt,
                         float *y, size_t ldy, int64_t n, int64_t r0, int64_t r1) {
    if (nt < MIN_TOK || rb > (size_t)INT_MAX / PR) {
        for (int i = 0; i < nt; i++)
            cpu_avx512_gemv(type, w, rb, (const uint8_t *)act + (size_t)i * as, y + (size_t)i * ldy + r0, n, r0, r1);
        return;
    }
    switch (type) {
    case QT_Q4_0: gemm_q32_t(QT_Q4_0, w, rb, act, as, nt, y, ldy, n, r0, r1); break;
    case QT_Q4_1: gemm_q32_t(QT_Q4_1, w, rb, act, as, nt, y, ldy, n, r0, r1); break;
    case QT_Q5_0: gemm_q32_t(QT_Q5_0, w, rb, act, as, nt, y, ldy, n, r0, r1); break;
    case QT_Q5_1: gemm_q32_t(QT_Q5_1, w, rb, act, as, nt, y, ldy, n, r0, r1); break;
    case QT_Q8_0: gemm_q32_t(QT_Q8_0, w, rb, act, as, nt, y, ldy, n, r0, r1); break;
    default: break;
    }
}

/* ---- K-quants (256-element super-blocks) -------------------------------------------------------- */

#define KSB 2 /* super-blocks per K chunk */

typedef struct {
    __m512i q[8][8]; /* [sub-block of 32][4-code group] */
    __m512i sc[8];   /* lane r: 6-bit scale of sub-block j of row r */
    __m512i mm[8];   /* lane r: (m_j, m_j) as two int16, for vpdpwssd with bsum pairs */
    __m512 d, dmin;
} panel_k45;

typedef struct {
    __m512i q[16][4]; /* [sub-block of 16][4-code group], codes q + 32 */
    __m512i sc[16];   /* lane r: int8 scale of sub-block j of row r */
    __m512i mm[8];    /* lane r: (32 sc_2i, 32 sc_2i+1) as two int16 */
    __m512 d;
} panel_k6;

/* Q4_K / Q5_K: vector k of a row = nibbles (k odd: high) of qs[64(k/2) .. +64), i.e. sub-blocks
 * s0 = 4(k/2) + k%2 (bytes 0-31) and s0 + 2 (bytes 32-63). */
AI void pack_k45(uint32_t t, const uint8_t *w, size_t rb, int nr, panel_k45 *P) {
    const int qs_off = t == QT_Q4_K ? 16 : 48;
    const __m512i m4 = _mm512_set1_epi8(0x0F), b4 = _mm512_set1_epi8(0x10);
    for (int k = 0; k < 4; k++) {
        const __m512i hsh = k == 0   ? _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1)
                            : k == 1 ? _mm512_inserti64x4(_mm512_set1_epi16(3), _mm256_set1_epi16(1), 1)
                            : k == 2 ? _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1)
                                     : _mm512_inserti64x4(_mm512_set1_epi16(1), _mm256_set1_epi16(3), 1);
        __m512i r[16];
        for (int i = 0; i < 16; i++) {
            if (i >= nr) {
                r[i] = _mm512_setzero_si512();
                continue;
            }
            const uint8_t *p = w + (size_t)i * rb;
            __m512i q = a5_load_plain(p + qs_off + 64 * (k >> 1));
            __m512i v = _mm512_and_si512(k & 1 ? _mm512_srli_epi16(q, 4) : q, m4);
            if (t == QT_Q5_K) {
                __m512i H = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(p + 16)));
                H = k < 2 ? _mm512_sllv_epi16(H, hsh) : _mm512_srlv_epi16(H, hsh);
                v = _mm512_or_si512(v, _mm512_and_si512(H, b4));
            }
            r[i] = v;
        }
        tr16x16(r);
        const int s0 = (k >> 1) * 4 + (k & 1);
        for (int c = 0; c < 8; c++) {
            P->q[s0][c] = r[c];
            P->q[s0 + 2][c] = r[8 + c];
        }
    }
    const __m512i offs = row_offsets(rb);
    const __mmask16 km = (__mmask16)((1u << nr) - 1);
    __m512i g0 = gather32(w, offs, km), g1 = gather32(w + 4, offs, km);
    __m512i g2 = gather32(w + 8, offs, km), g3 = gather32(w + 12, offs, km);
    const __m512i k3f = _mm512_set1_epi32(0x3f3f3f3f), k0f = _mm512_set1_epi32(0x0f0f0f0f);
    const __m512i k03 = _mm512_set1_epi32(0x03030303), kff = _mm512_set1_epi32(0xFF);
    __m512i sc03 = _mm512_and_si512(g1, k3f), m03 = _mm512_and_si512(g2, k3f);
    __m512i sc47 = _mm512_or_si512(_mm512_and_si512(g3, k0f),
                                   _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(g1, 6), k03), 4));
    __m512i m47 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(g3, 4), k0f),
                                  _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(g2, 6), k03), 4));
    for (int j = 0; j < 4; j++) {
        P->sc[j] = _mm512_and_si512(_mm512_srli_epi32(sc03, 8 * j), kff);
        P->sc[4 + j] = _mm512_and_si512(_mm512_srli_epi32(sc47, 8 * j), kff);
        __m512i ma = _mm512_and_si512(_mm512_srli_epi32(m03, 8 * j), kff);
        __m512i mb = _mm512_and_si512(_mm512_srli_epi32(m47, 8 * j), kff);
        P->mm[j] = _mm512_or_si512(ma, _mm512_slli_epi32(ma, 16));
        P->mm[4 + j] = _mm512_or_si512(mb, _mm512_slli_epi32(mb, 16));
    }
    P->d = f16_lanes(g0, 0);
    P->dmin = f16_lanes(g0, 1);
}

/* Q6_K: vector k of a row = codes of elements 128(k/2) + 64(k%2) .. +64 in natural order. */
AI void pack_k6(const uint8_t *w, size_t rb, int nr, panel_k6 *P) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    const __m512i sh01 = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i sh23 = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
    for (int k = 0; k < 4; k++) {
        const int h = k >> 1;
        __m512i r[16];
        for (int i = 0; i < 16; i++) {
            if (i >= nr) {
                r[i] = _mm512_setzero_si512();
                continue;
            }
            const uint8_t *p = w + (size_t)i * rb;
            __m512i Q = a5_load_plain(p + 64 * h);
            __m512i H = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(p + 128 + 32 * h)));
            r[i] = k & 1 ? _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(Q, 4), m4),
                                           _mm512_and_si512(_mm512_srlv_epi16(H, sh23), m30))
                         : _mm512_or_si512(_mm512_and_si512(Q, m4),
                                           _mm512_and_si512(_mm512_sllv_epi16(H, sh01), m30));
        }
        tr16x16(r);
        for (int c = 0; c < 16; c++) P->q[8 * h + 4 * (k & 1) + c / 4][c % 4] = r[c];
    }
    const __m512i offs = row_offsets(rb);
    const __mmask16 km = (__mmask16)((1u << nr) - 1);
    __m512i g[4];
    for (int i = 0; i < 4; i++) g[i] = gather32(w + 192 + 4 * i, offs, km);
    for (int j = 0; j < 16; j++)
        P->sc[j] = _mm512_srai_epi32(_mm512_slli_epi32(g[j / 4], 24 - 8 * (j % 4)), 24);
    const __m512i lo16 = _mm512_set1_epi32(0xFFFF);
    for (int i = 0; i < 8; i++)
        P->mm[i] = _mm512_or_si512(_mm512_and_si512(_mm512_slli_epi32(P->sc[2 * i], 5), lo16),
                                   _mm512_slli_epi32(P->sc[2 * i + 1], 21));
    P->d = f16_lanes(gather32(w + 206, offs, km), 1);
}

#define ACT_K(ap, as, t, s) ((const act_q8_256 *)((ap) + (size_t)(t) * (as)) + (s))

AI void mk_k45(const int T, const panel_k45 *P, int nsb, const uint8_t *ap, size_t as, __m512 *out) {
    __m512 acc[MT]; /* local, so it stays in registers; copied to out at the end */
    _Pragma("GCC unroll 8")
    for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    for (int s = 0; s < nsb; s++) {
        const panel_k45 *p = P + s;
        __m512i isc[MT];
        _Pragma("GCC unroll 8")
        for (int t = 0; t < T; t++) isc[t] = _mm512_setzero_si512();
        for (int j = 0; j < 8; j++) {
            const __m512i *q = p->q[j];
            const __m512i q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3], q4 = q[4], q5 = q[5], q6 = q[6], q7 = q[7];
            const __m512i sc = p->sc[j];
            _Pragma("GCC unroll 8")
            for (int t = 0; t < T; t++) {
                const int8_t *x = ACT_K(ap, as, t, s)->qs + 32 * j;
                const __m512i z = _mm512_setzero_si512();
                __m512i d0 = _mm512_dpbusd_epi32(z, q0, a5_bc32(x));
                __m512i d1 = _mm512_dpbusd_epi32(z, q1, a5_bc32(x + 4));
                d0 = _mm512_dpbusd_epi32(d0, q2, a5_bc32(x + 8));
                d1 = _mm512_dpbusd_epi32(d1, q3, a5_bc32(x + 12));
                d0 = _mm512_dpbusd_epi32(d0, q4, a5_bc32(x + 16));
                d1 = _mm512_dpbusd_epi32(d1, q5, a5_bc32(x + 20));
                d0 = _mm512_dpbusd_epi32(d0, q6, a5_bc32(x + 24));
                d1 = _mm512_dpbusd_epi32(d1, q7, a5_bc32(x + 28));
                isc[t] = _mm512_add_epi32(isc[t], _mm512_mullo_epi32(_mm512_add_epi32(d0, d1), sc));
            }
        }
        _Pragma("GCC unroll 8")
        for (int t = 0; t < T; t++) {
            const act_q8_256 *a = ACT_K(ap, as, t, s);
            __m512i imin = _mm512_setzero_si512();
            for (int j = 0; j < 8; j++) imin = _mm512_dpwssd_epi32(imin, p->mm[j], a5_bc32(a->bsums + 2 * j));
            __m512 da = _mm512_set1_ps(a->d);
            acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(isc[t]), p->d), da, acc[t]);
            acc[t] = _mm512_fnmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(imin), p->dmin), da, acc[t]);
        }
    }
    _Pragma("GCC unroll 8")
    for (int t = 0; t < T; t++) out[t] = acc[t];
}

AI void mk_k6(const int T, const panel_k6 *P, int nsb, const uint8_t *ap, size_t as, __m512 *out) {
    __m512 acc[MT]; /* local, so it stays in registers; copied to out at the end */
    _Pragma("GCC unroll 8")
    for (int t = 0; t < T; t++) acc[t] = _mm512_setzero_ps();
    for (int s = 0; s < nsb; s++) {
        const panel_k6 *p = P + s;
        __m512i isc[MT];
        _Pragma("GCC unroll 8")
        for (int t = 0; t < T; t++) isc[t] = _mm512_setzero_si512();
        for (int j = 0; j < 16; j++) {
            const __m512i q0 = p->q[j][0], q1 = p->q[j][1], q2 = p->q[j][2], q3 = p->q[j][3];
            const __m512i sc = p->sc[j];
            _Pragma("GCC unroll 8")
            for (int t = 0; t < T; t++) {
                const int8_t *x = ACT_K(ap, as, t, s)->qs + 16 * j;
                const __m512i z = _mm512_setzero_si512();
                __m512i d0 = _mm512_dpbusd_epi32(z, q0, a5_bc32(x));
                __m512i d1 = _mm512_dpbusd_epi32(z, q1, a5_bc32(x + 4));
                d0 = _mm512_dpbusd_epi32(d0, q2, a5_bc32(x + 8));
                d1 = _mm512_dpbusd_epi32(d1, q3, a5_bc32(x + 12));
                isc[t] = _mm512_add_epi32(isc[t], _mm512_mullo_epi32(_mm512_add_epi32(d0, d1), sc));
            }
        }
        _Pragma("GCC unroll 8")
        for (int t = 0; t < T; t++) {
            const act_q8_256 *a = ACT_K(ap, as, t, s);
            __m512i imin = _mm512_setzero_si512();
            for (int i = 0; i < 8; i++) imin = _mm512_dpwssd_epi32(imin, p->mm[i], a5_bc32(a->bsums + 2 * i));
            __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(isc[t], imin)), p->d);
            acc[t] = _mm512_fmadd_ps(f, _mm512_set1_ps(a->d), acc[t]);
        }
    }
    _Pragma("GCC unroll 8")
    for (int t = 0; t < T; t++) out[t] = acc[t];
}

#define MK_ANY(NAME, PANEL)                                                                         \
    static void NAME##_any(int T, const PANEL *P, int nsb, const uint8_t *ap, size_t as, __m512 *acc) { \
        switch (T) {                                                                               \
        case 1: NAME(1, P, nsb, ap, as, acc); break;                                               \
        case 2: NAME(2, P, nsb, ap, as, acc); break;                                               \
        case 3: NAME(3, P, nsb, ap, as, acc); break;                                               \
        case 4: NAME(4, P, nsb, ap, as, acc); break;                                               \
        case 5: NAME(5, P, nsb, ap, as, acc); break;                                               \
        case 6: NAME(6, P, nsb, ap, as, acc); break;                                               \
        case 7: NAME(7, P, nsb, ap, as, acc); break;                                               \
        default: NAME(8, P, nsb, ap, as, acc); break;                                              \
        }                                                                                          \
    }
MK_ANY(mk_k45, panel_k45)
MK_ANY(mk_k6, panel_k6)

AI void gemm_qk_t(uint32_t t, const uint8_t *w, size_t rb, const uint8_t *act, size_t as, int nt,
                  float *y, size_t ldy, int64_t n, int64_t r0, int64_t r1) {
    const int nsb = (int)(n / 256), B = t == QT_Q4_K ? 144 : t == QT_Q5_K ? 176 : 210;
    panel_k45 P45[KSB];
    panel_k6 P6[KSB];
    for (int t0 = 0; t0 < nt; t0 += TB) {
        const int tn = H_MIN(TB, nt - t0);
        for (int64_t rg = r0; rg < r1; rg += PR) {
            const int nr = (int)H_MIN(PR, r1 - rg);
            const __mmask16 km = (__mmask16)((1u << nr) - 1);
            const uint8_t *wg = w + (size_t)rg * rb;
            for (int kb = 0; kb < nsb; kb += KSB) {
                const int ns = H_MIN(KSB, nsb - kb);
                if (rg + PR < r1) prefetch_rows(wg + (size_t)PR * rb + (size_t)kb * B, rb, (int)H_MIN(PR, r1 - rg - PR), (size_t)ns * B);
                for (int s = 0; s < ns; s++) {
                    if (t == QT_Q6_K) pack_k6(wg + (size_t)(kb + s) * B, rb, nr, &P6[s]);
                    else pack_k45(t, wg + (size_t)(kb + s) * B, rb, nr, &P45[s]);
                }
                for (int tt = t0; tt < t0 + tn; tt += MT) {
                    const int T = H_MIN(MT, t0 + tn - tt);
                    const uint8_t *ap = act + (size_t)tt * as + (size_t)kb * sizeof(act_q8_256);
                    __m512 acc[MT];
                    if (t == QT_Q6_K) mk_k6_any(T, P6, ns, ap, as, acc);
                    else mk_k45_any(T, P45, ns, ap, as, acc);
                    for (int i = 0; i < T; i++) y_update(y + (size_t)(tt + i) * ldy + rg, km, acc[i], kb == 0);
                }
            }
        }
    }
}

void cpu_avx512_gemm_qk(uint32_t type, const void *w, size_t rb, const void *act, size_t as, int nt,
                        float *y, size_t ldy, int64_t n, int64_t r0, int64_t r1) {
    if (nt < MIN_TOK || rb > (size_t)INT_MAX / PR) {
        for (int i = 0; i < nt; i++)
            cpu_avx512_gemv(type, w, rb, (const uint8_t *)act + (size_t)i * as, y + (size_t)i * ldy + r0, n, r0, r1);
        return;
    }
    switch (type) {
    case QT_Q4_K: gemm_qk_t(QT_Q4_K, w, rb, act, as, nt, y, ldy, n, r0, r1); break;
    case QT_Q5_K: gemm_qk_t(QT_Q5_K, w, rb, act, as, nt, y, ldy, n, r0, r1); break;
    case QT_Q6_K: gemm_qk_t(QT_Q6_K, w, rb, act, as, nt, y, ldy, n, r0, r1); break;
    default: break;
    }
}

#else
typedef int cpu_avx512_gemm_unused; /* ISO C: a translation unit is not empty */
#endif
