/* x86_avx512.h — internal: inline helpers shared by the AVX-512 kernel files (x86_avx512.c:
 * activations, float and gemv kernels; x86_avx512_gemm.c: packed-panel gemm). Include only from
 * files compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mavx512vbmi -mavx2 -mfma -mf16c. */
#ifndef HEARTH_X86_AVX512_H
#define HEARTH_X86_AVX512_H

#include "cpu_impl.h"

#include <immintrin.h>

#define AI static inline __attribute__((always_inline))

/* 32 bits at p broadcast to 16 lanes (folds into an embedded {1to16} operand). */
AI __m512i a5_bc32(const void *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

AI uint16_t a5_rd16(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

AI uint32_t a5_rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* [f0 x8, f1 x8] */
AI __m512 a5_pair_ps(float f0, float f1) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_set1_ps(f0)),
                                               _mm256_castps_pd(_mm256_set1_ps(f1)), 1));
}

/* ---- 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) ------------------------------------
 * A block's 32 weights become 32 unsigned bytes u = q + off (q the signed code); the activation
 * bias off * sum(a) is removed exactly in integers by starting vpdpbusd from -off * sum(a).
 * Q4_1 / Q5_1 have off = 0 and add m * s (s = d_a * sum(a)) in float, as the reference does. */

AI int q32_bytes(uint32_t t) {
    return t == QT_Q4_0 ? 18 : t == QT_Q4_1 ? 20 : t == QT_Q5_0 ? 22 : t == QT_Q5_1 ? 24 : 34;
}
AI int q32_qs_off(uint32_t t) {
    return t == QT_Q4_0 ? 2 : t == QT_Q4_1 ? 4 : t == QT_Q5_0 ? 6 : t == QT_Q5_1 ? 8 : 2;
}
AI int q32_qh_off(uint32_t t) { return t == QT_Q5_0 ? 2 : 4; }
AI int q32_has_m(uint32_t t) { return t == QT_Q4_1 || t == QT_Q5_1; }
AI int q32_is5(uint32_t t) { return t == QT_Q5_0 || t == QT_Q5_1; }
AI int q32_off(uint32_t t) { return t == QT_Q4_0 ? 8 : t == QT_Q5_0 ? 16 : t == QT_Q8_0 ? 128 : 0; }

/* vpermb index taking the 16 code bytes of two consecutive blocks to [qs0, qs0, qs1, qs1]
 * (Q8_0: its first block's 32 codes to bytes 0-31). */
AI __m512i q32_perm_idx(uint32_t t) {
    int B = q32_bytes(t), o = q32_qs_off(t);
    if (t == QT_Q8_0) /* Q8_0: bytes 2..33 (the first block's codes) to bytes 0..31 */
        return _mm512_add_epi8(_mm512_set_epi32(0x3f3e3d3c, 0x3b3a3938, 0x37363534, 0x33323130,
                                                0x2f2e2d2c, 0x2b2a2928, 0x27262524, 0x23222120,
                                                0x1f1e1d1c, 0x1b1a1918, 0x17161514, 0x13121110,
                                                0x0f0e0d0c, 0x0b0a0908, 0x07060504, 0x03020100),
                               _mm512_set1_epi8(2));
    const __m512i lane = _mm512_set_epi32(0x0f0e0d0c, 0x0b0a0908, 0x07060504, 0x03020100,
                                          0x0f0e0d0c, 0x0b0a0908, 0x07060504, 0x03020100,
                                          0x0f0e0d0c, 0x0b0a0908, 0x07060504, 0x03020100,
                                          0x0f0e0d0c, 0x0b0a0908, 0x07060504, 0x03020100);
    __m512i base = _mm512_inserti64x4(_mm512_set1_epi8((char)o), _mm256_set1_epi8((char)(B + o)), 1);
    return _mm512_add_epi8(lane, base);
}

/* A plain 64-byte load kept as its own instruction: folded into vpermb / vpermw as a memory
 * operand, loads that miss the cache streamed 2-3x slower on Zen 5 (docs/KERNELS.md). */
AI __m512i a5_load_plain(const uint8_t *p) {
    __m512i v = _mm512_loadu_si512(p);
    __asm__("" : "+v"(v));
    return v;
}

/* The 64 bytes at p, or only the first `bytes` of them when a full load would pass `end` (the end
 * of the readable weights). Masked loads are used only there: on Zen 5 masked loads that miss the
 * cache measured 4-5x slower than plain ones (docs/KERNELS.md). */
AI __m512i a5_load64(const uint8_t *p, const uint8_t *end, int bytes) {
    if (H_LIKELY(p + 64 <= end)) return a5_load_plain(p);
    return _mm512_maskz_loadu_epi8(((__mmask64)1 << bytes) - 1, p);
}

/* Unsigned codes u = q + off of nblk (1 or 2) consecutive blocks at p: [blk0 x32, blk1 x32]
 * (zeros for a missing second block). L holds the 64 bytes at p (at least the nblk blocks). */
AI __m512i q32_codes(uint32_t t, const uint8_t *p, __m512i L, int nblk, __m512i perm) {
    const int B = q32_bytes(t);
    if (t == QT_Q8_0) {
        __m256i a = _mm512_castsi512_si256(_mm512_permutexvar_epi8(perm, L)); /* bytes 2..33 */
        __m256i b = nblk == 2 ? _mm256_loadu_si256((const __m256i *)(p + B + 2)) : _mm256_set1_epi8((char)0x80);
        return _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1),
                                _mm512_set1_epi8((char)0x80));
    }
    __m512i v = _mm512_permutexvar_epi8(perm, L);
    v = _mm512_and_si512(_mm512_mask_srli_epi16(v, 0xFF00FF00u, v, 4), _mm512_set1_epi8(0x0F));
    if (q32_is5(t)) {
        uint64_t h = a5_rd32(p + q32_qh_off(t));
        if (nblk == 2) h |= (uint64_t)a5_rd32(p + B + q32_qh_off(t)) << 32;
        v = _mm512_mask_add_epi8(v, (__mmask64)h, v, _mm512_set1_epi8(16));
    }
    return v;
}

/* Bytes of nblk blocks that a 64-byte window at their start must cover: the blocks (Q8_0: its
 * two f16 scales only; the codes of its second block are loaded separately). */
AI int q32_span(uint32_t t, int nblk) {
    return t == QT_Q8_0 ? (nblk == 2 ? 36 : 34) : nblk * q32_bytes(t);
}

/* [f16(p+wo) x8, f16(p+B+wo) x8] for the scale (wo = 0) or min (wo = 2) of two blocks. */
AI __m512 q32_pair_f16(const uint8_t *p, int B, int wo, int nblk) {
    __m128i h0 = _mm_set1_epi16((short)a5_rd16(p + wo));
    __m128i h1 = nblk == 2 ? _mm_set1_epi16((short)a5_rd16(p + B + wo)) : _mm_setzero_si128();
    return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(h0), h1, 1));
}

/* [a0.qs, a1.qs] of nblk activation blocks. */
AI __m512i act32_pair(const act_q8_32 *a, int nblk) {
    __m256i lo = _mm256_loadu_si256((const __m256i *)a[0].qs);
    __m256i hi = nblk == 2 ? _mm256_loadu_si256((const __m256i *)a[1].qs) : _mm256_setzero_si256();
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

#endif
