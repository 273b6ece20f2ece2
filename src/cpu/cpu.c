/* cpu.c — run-time choice of SIMD kernels: the best level this CPU supports (x86: AVX-512, then
 * AVX2; wasm: SIMD128 when compiled with it), else the scalar reference of quant.c. */
#include "cpu_impl.h"

#if defined(__x86_64__) || defined(__i386__)
#define CPU_X86 1
#endif

int cpu_level_available(cpu_level l) {
    switch (l) {
    case CPU_SCALAR: return 1;
#ifdef CPU_X86
    /* __builtin_cpu_supports also checks that the OS saves the wider registers (XCR0). */
    case CPU_AVX2:
        return cpu_avx2_kernels(QT_F32) != NULL && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case CPU_AVX512:
        return cpu_avx512_kernels(QT_F32) != NULL && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
               __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
               __builtin_cpu_supports("avx512vbmi");
#endif
#if defined(__wasm_simd128__)
    case CPU_WASM_SIMD128: return cpu_wasm_kernels(QT_F32) != NULL;
#endif
    default: return 0;
    }
}

/* Cheap enough to call per use (a few bit tests of libgcc's cpu model): nothing is cached, so
 * there is no global state. */
cpu_level cpu_best_level(void) {
    if (cpu_level_available(CPU_AVX512)) return CPU_AVX512;
    if (cpu_level_available(CPU_AVX2)) return CPU_AVX2;
    if (cpu_level_available(CPU_WASM_SIMD128)) return CPU_WASM_SIMD128;
    return CPU_SCALAR;
}

const char *cpu_level_name(cpu_level l) {
    switch (l) {
    case CPU_AVX2: return "avx2";
    case CPU_AVX512: return "avx512";
    case CPU_WASM_SIMD128: return "wasm-simd128";
    default: return "scalar";
    }
}

const quant_kernels *cpu_kernels_at(cpu_level l, uint32_t type) {
    if (!cpu_level_available(l)) return NULL;
    switch (l) {
    case CPU_AVX2: return cpu_avx2_kernels(type);
    case CPU_AVX512: return cpu_avx512_kernels(type);
    case CPU_WASM_SIMD128: return cpu_wasm_kernels(type);
    default: return NULL;
    }
}

const quant_kernels *cpu_kernels_for(uint32_t type) {
    return cpu_kernels_at(cpu_best_level(), type);
}

const char *cpu_simd_name(void) { return cpu_level_name(cpu_best_level()); }

float cpu_dot_f32(const float *a, const float *b, int64_t n) {
    switch (cpu_best_level()) {
    case CPU_AVX512: return cpu_avx512_dot_f32(a, b, n);
    case CPU_AVX2: return cpu_avx2_dot_f32(a, b, n);
    case CPU_WASM_SIMD128: return cpu_wasm_dot_f32(a, b, n);
    default: break;
    }
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
