/* cpu.h — the CPU SIMD layer: kernels that override the scalar reference of quant.c, chosen once
 * at run time from the CPU's features (x86: AVX2, AVX-512; wasm: SIMD128). Every kernel here
 * computes the same function as its reference (tests/test_kernels.c checks it).
 *
 *   const quant_kernels *k = cpu_kernels_for(QT_Q4_0);   // NULL: use quant_kernels_ref()
 *   const quant_kernels *k2 = cpu_kernels_at(CPU_AVX2, QT_Q4_0); // one level, for tests/benches
 *
 * Kernel contract (see quant.h): quantize_act writes the same bytes as quant_act_row_ref; gemv and
 * gemm equal the reference up to float summation order. Kernels allocate nothing, keep no state
 * and may run concurrently on disjoint row ranges [r0, r1) of the same matrix (one call per
 * thread). gemm uses up to ~12 KiB of stack. */
#ifndef HEARTH_CPU_H
#define HEARTH_CPU_H

#include "../quant.h"

typedef enum cpu_level {
    CPU_SCALAR = 0,       /* no SIMD kernels: the reference of quant.c */
    CPU_AVX2 = 1,         /* x86-64 AVX2 + FMA + F16C */
    CPU_AVX512 = 2,       /* x86-64 AVX-512 F/BW/VL/VNNI/VBMI (+ AVX2, FMA, F16C) */
    CPU_WASM_SIMD128 = 3, /* WebAssembly SIMD128 */
    CPU_LEVEL_COUNT
} cpu_level;

/* Fast kernels for a weight type, or NULL to use the reference. */
const quant_kernels *cpu_kernels_for(uint32_t type);
/* "avx512", "avx2", "wasm-simd128" or "scalar". */
const char *cpu_simd_name(void);
/* sum a[i] * b[i] */
float cpu_dot_f32(const float *a, const float *b, int64_t n);

/* The best level this CPU (and this build) runs. */
cpu_level cpu_best_level(void);
/* 1 if kernels of level l were compiled in and this CPU can run them. */
int cpu_level_available(cpu_level l);
const char *cpu_level_name(cpu_level l);
/* Kernels of one level for a type; NULL if the level is unavailable or has none for the type. */
const quant_kernels *cpu_kernels_at(cpu_level l, uint32_t type);

#endif
