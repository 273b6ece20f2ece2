/* cpu_impl.h — internal: the kernel tables each SIMD level exports to cpu.c. A level compiled
 * without its instruction set (other flags, other target) returns NULL for every type. */
#ifndef HEARTH_CPU_IMPL_H
#define HEARTH_CPU_IMPL_H

#include "cpu.h"

const quant_kernels *cpu_avx2_kernels(uint32_t type);
float cpu_avx2_dot_f32(const float *a, const float *b, int64_t n);
const quant_kernels *cpu_avx512_kernels(uint32_t type);
float cpu_avx512_dot_f32(const float *a, const float *b, int64_t n);
const quant_kernels *cpu_wasm_kernels(uint32_t type);
float cpu_wasm_dot_f32(const float *a, const float *b, int64_t n);

#endif
