/* cpu.c — run-time choice of SIMD kernels. Until a SIMD level registers kernels for a type,
 * the scalar reference of quant.c is used. */
#include "cpu.h"

const quant_kernels *cpu_kernels_for(uint32_t type) {
    (void)type;
    return NULL;
}

const char *cpu_simd_name(void) { return "scalar"; }

float cpu_dot_f32(const float *a, const float *b, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
