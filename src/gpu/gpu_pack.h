/* gpu_pack.h — the GPU layouts of weight rows (see src/gpu/wgsl/wq_*.wgsl) and the repacking of
 * ggml rows into them at load time.
 *
 *   uint32_t words;
 *   if (gpu_pack_row_words(QT_Q4_0, n, &words, &err)) ...      // words per GPU row
 *   gpu_pack_rows(QT_Q4_0, n, ggml_rows, nrows, dst_words);     // dst: nrows * words u32
 *   const char *module = gpu_pack_module(QT_Q4_0);             // "wq_q4_0"
 *
 * Every GPU row is a multiple of 16 bytes, so rows and their 16-byte-aligned blocks can be read
 * as vec4<u32>. Bytes per row are ggml's plus at most 14 bytes of padding. */
#ifndef HEARTH_GPU_PACK_H
#define HEARTH_GPU_PACK_H

#include "base.h"

/* 1 if the GPU backend computes with this tensor type. */
int gpu_pack_supported(uint32_t type);
/* WGSL module name of a type ("wq_q4_k"), NULL if unsupported. */
const char *gpu_pack_module(uint32_t type);
/* 1 if the type has an integer-dot path (matvec_q); 0 for float types. */
int gpu_pack_has_int(uint32_t type);
/* Words (u32) of one GPU row of n elements; fails for unsupported types, n not a multiple of
 * the block size, or float rows with n % 4 != 0. */
int gpu_pack_row_words(uint32_t type, int64_t n, uint32_t *words, hearth_error *err);
/* Repacks nrows ggml rows (src, consecutive, quant_row_bytes(type, n) each) into dst
 * (nrows * words u32, little-endian words). */
void gpu_pack_rows(uint32_t type, int64_t n, const void *src, int64_t nrows, uint32_t *dst);

#endif
