/* x86_avx2.c — AVX2 + FMA + F16C kernels (placeholder until written). */
#include "cpu_impl.h"

const quant_kernels *cpu_avx2_kernels(uint32_t type) {
    (void)type;
    return NULL;
}

float cpu_avx2_dot_f32(const float *a, const float *b, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
