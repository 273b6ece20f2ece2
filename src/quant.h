/* quant.h — tensor element types: the ggml type table, block layouts, and the scalar reference
 * dequantization and dot products (the specification every SIMD and WGSL kernel is checked
 * against), plus the dispatch table of CPU matrix kernels.
 *
 * A weight matrix W has `rows` rows of `n` elements (GGUF ne[0] = n, ne[1] = rows), each row
 * stored as n / block consecutive blocks. Products are computed like the fastest CPU engines do:
 * the activation row x is first quantized to 8-bit blocks (Q8_32 for 32-element weight blocks,
 * Q8_256 for K-quants; F32 weights and F16/BF16 weights use the floats as they are), then each
 * output is an integer dot product per block times the block scales.
 *
 *   const quant_kernels *k = quant_kernels_for(t->type);
 *   void *xq = malloc(quant_act_row_bytes(k->act, n));
 *   k->quantize_act(x, xq, n);
 *   k->gemv(w, row_bytes, xq, y, n, 0, rows);          // y[r] = W[r,:] . x
 */
#ifndef HEARTH_QUANT_H
#define HEARTH_QUANT_H

#include "base.h"

/* ggml type ids (a fact of the GGUF format). */
enum {
    QT_F32 = 0, QT_F16 = 1, QT_Q4_0 = 2, QT_Q4_1 = 3, QT_Q5_0 = 6, QT_Q5_1 = 7, QT_Q8_0 = 8,
    QT_Q8_1 = 9, QT_Q2_K = 10, QT_Q3_K = 11, QT_Q4_K = 12, QT_Q5_K = 13, QT_Q6_K = 14,
    QT_Q8_K = 15, QT_IQ2_XXS = 16, QT_IQ2_XS = 17, QT_IQ3_XXS = 18, QT_IQ1_S = 19, QT_IQ4_NL = 20,
    QT_IQ3_S = 21, QT_IQ2_S = 22, QT_IQ4_XS = 23, QT_I8 = 24, QT_I16 = 25, QT_I32 = 26,
    QT_I64 = 27, QT_F64 = 28, QT_IQ1_M = 29, QT_BF16 = 30, QT_TQ1_0 = 34, QT_TQ2_0 = 35,
    QT_MXFP4 = 39, QT_COUNT = 40
};

typedef struct quant_info {
    const char *name;  /* "Q4_K"; NULL for ids that are not (or no longer) ggml types */
    uint32_t block;    /* elements per block */
    uint32_t bytes;    /* bytes per block */
    int supported;     /* the engine computes with this type */
} quant_info;

/* NULL for unknown ids. */
const quant_info *quant_info_of(uint32_t type);
const char *quant_type_name(uint32_t type); /* "Q4_K", or "type 77" style for unknown ids */
/* Bytes of a row of n elements (n must be a multiple of the block size); 0 if not. */
size_t quant_row_bytes(uint32_t type, int64_t n);

#define QK 32    /* elements per block of Q4_0..Q8_0 */
#define QK_K 256 /* elements per K-quant super-block */

/* Block layouts (facts of the format; all little-endian, f16 scales as raw bits). */
typedef struct { uint16_t d; uint8_t qs[16]; } blk_q4_0;                  /* x = (q - 8) d      */
typedef struct { uint16_t d, m; uint8_t qs[16]; } blk_q4_1;               /* x = q d + m        */
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } blk_q5_0;   /* x = (q - 16) d     */
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } blk_q5_1; /* x = q d + m       */
typedef struct { uint16_t d; int8_t qs[32]; } blk_q8_0;                   /* x = q d            */
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; } blk_q4_k;
typedef struct { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } blk_q5_k;
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } blk_q6_k;

/* 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block. */
void quant_k4_scale_min(int j, const uint8_t *scales, uint8_t *sc, uint8_t *m);

/* ---- activation formats -------------------------------------------------------------------- */
typedef enum quant_act {
    QA_F32 = 0,    /* plain floats */
    QA_Q8_32 = 1,  /* per 32: float d, float s = d * sum(q), int8 q[32] */
    QA_Q8_256 = 2  /* per 256: float d, int16 bsums[16] (sums of 16 q), int8 q[256] */
} quant_act;

typedef struct { float d, s; int8_t qs[32]; } act_q8_32;
typedef struct { float d; int16_t bsums[16]; int8_t qs[256]; } act_q8_256;

size_t quant_act_row_bytes(quant_act a, int64_t n);

/* ---- scalar references: the specification ------------------------------------------------- */

/* dst[0..n) = the values of n elements of type `type` (n a multiple of the block size). */
void quant_dequant_row_ref(uint32_t type, const void *src, float *dst, int64_t n);
/* Quantizes n floats into blocks of `type` (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K,
 * Q5_K, Q6_K; simple round-to-nearest quantizers, used for test data and `hearth synth`). */
int quant_quantize_row_ref(uint32_t type, const float *src, void *dst, int64_t n);
/* Activation quantization (round half to even, scale = amax / 127). */
void quant_act_row_ref(quant_act a, const float *x, void *dst, int64_t n);
/* Weight row . activation row, computed block by block as specified above. */
float quant_dot_ref(uint32_t type, const void *w, const void *act, int64_t n);
/* The activation format a weight type is multiplied with. */
quant_act quant_act_for(uint32_t type);

/* ---- CPU kernels (reference or SIMD, chosen once by CPU features) ------------------------- */

typedef struct quant_kernels {
    uint32_t type;
    quant_act act;
    const char *impl; /* "ref", "avx2", "avx512", "wasm-simd128" */
    void (*quantize_act)(const float *x, void *dst, int64_t n);
    /* y[r - r0] = W[r,:] . x for r in [r0, r1); W rows are row_bytes apart. */
    void (*gemv)(const void *w, size_t row_bytes, const void *act, float *y, int64_t n, int64_t r0,
                 int64_t r1);
    /* Y[t * ldy + r] = W[r,:] . X[t,:] for t < n_tok, r in [r0, r1); X rows act_stride bytes apart. */
    void (*gemm)(const void *w, size_t row_bytes, const void *act, size_t act_stride, int n_tok,
                 float *y, size_t ldy, int64_t n, int64_t r0, int64_t r1);
} quant_kernels;

/* Kernels for a weight type (NULL if the type is not supported). */
const quant_kernels *quant_kernels_for(uint32_t type);
/* The reference kernels, whatever the CPU (tests compare against them). */
const quant_kernels *quant_kernels_ref(uint32_t type);
/* Forces the reference kernels (1) or the best available (0); for tests and benchmarks. */
void quant_force_reference(int on);
/* Name of the SIMD level in use ("avx512", "avx2", "wasm-simd128", "scalar"). */
const char *quant_simd_name(void);

/* Float helpers with SIMD fast paths (used by the forward pass). */
float quant_dot_f32(const float *a, const float *b, int64_t n);

#endif
