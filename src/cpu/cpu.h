/* cpu.h — the CPU SIMD layer: kernels that override the scalar reference of quant.c, chosen once
 * at run time from the CPU's features (x86: AVX2, AVX-512; wasm: SIMD128). Every kernel here
 * computes the same function as its reference (tests/test_kernels.c checks it). */
#ifndef HEARTH_CPU_H
#define HEARTH_CPU_H

#include "../quant.h"

/* Fast kernels for a weight type, or NULL to use the reference. */
const quant_kernels *cpu_kernels_for(uint32_t type);
/* "avx512", "avx2", "wasm-simd128" or "scalar". */
const char *cpu_simd_name(void);
/* sum a[i] * b[i] */
float cpu_dot_f32(const float *a, const float *b, int64_t n);

#endif
