/* gpu_test_util.c — helpers of the GPU tests (see gpu_test_util.h). */
#include "gpu_test_util.h"

#include "gpu/wgsl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SWIFTSHADER_ICD "/usr/lib/chromium/vk_swiftshader_icd.json"

gpu_device *gtu_device(uint64_t max_binding) {
    const char *icd = getenv("VK_ICD_FILENAMES");
    if ((!icd || !*icd) && access(SWIFTSHADER_ICD, R_OK) == 0) setenv("VK_ICD_FILENAMES", SWIFTSHADER_ICD, 1);
    gpu_device_params p = gpu_device_default_params();
    p.max_binding = max_binding;
    const char *fast = getenv("HEARTH_GPU_FAST");
    if (fast && *fast == '1') p.robustness = 0;
    gpu_device *d = NULL;
    hearth_error err = {0, ""};
    if (gpu_device_create(&d, &p, &err)) {
        fprintf(stderr, "no WebGPU device: %s\n", err.msg);
        return NULL;
    }
    return d;
}

uint32_t gtu_u32(gtu_rng *r) {
    r->s = r->s * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t x = r->s;
    return (uint32_t)((x ^ (x >> 22)) >> (22 + (x >> 61)));
}

float gtu_uniform(gtu_rng *r) { return (float)((gtu_u32(r) >> 8) * (1.0 / 8388608.0) - 1.0); }

float gtu_normal(gtu_rng *r) {
    double u1 = ((gtu_u32(r) >> 8) + 1) * (1.0 / 16777217.0), u2 = (gtu_u32(r) >> 8) * (1.0 / 16777216.0);
    return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}

gpu_buffer *gtu_upload(gpu_device *d, const void *data, size_t n) {
    size_t n16 = (n + 15) & ~(size_t)15;
    if (n16 == 0) n16 = 16;
    uint8_t *tmp = calloc(1, n16);
    if (!tmp) return NULL;
    if (n) memcpy(tmp, data, n);
    gpu_buffer *b = NULL;
    hearth_error err = {0, ""};
    if (gpu_buffer_create(d, &b, n16, GPU_STORAGE, "test", &err) || gpu_buffer_write(d, b, 0, tmp, n16, &err)) {
        fprintf(stderr, "upload: %s\n", err.msg);
        gpu_buffer_free(b);
        b = NULL;
    }
    free(tmp);
    return b;
}

int gtu_read(gpu_device *d, gpu_buffer *b, uint64_t off, void *dst, size_t n) {
    hearth_error err = {0, ""};
    if (gpu_read(d, b, off, dst, n, &err)) {
        fprintf(stderr, "read: %s\n", err.msg);
        return 1;
    }
    return 0;
}

gpu_kernel *gtu_kernel(gpu_device *d, const char *module, const char *kernel, const gpu_const *c, int nc) {
    const char *srcs[4];
    int n = gpu_wgsl_sources(module, kernel, srcs, 4);
    if (n < 0) {
        fprintf(stderr, "no WGSL kernel %s with modules %s\n", kernel, module ? module : "-");
        return NULL;
    }
    gpu_kernel *k = NULL;
    hearth_error err = {0, ""};
    char label[96];
    snprintf(label, sizeof label, "%s%s%s", kernel, module ? "+" : "", module ? module : "");
    if (gpu_kernel_create(d, &k, label, srcs, n, c, nc, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    return k;
}

double gtu_nmse(const float *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) != isnan(b[i])) return 1;
        if (isnan(b[i])) continue;
        double e = a[i] - b[i];
        num += e * e;
        den += b[i] * b[i];
    }
    return den > 0 ? num / den : num;
}

int gtu_full(void) {
    const char *f = getenv("HEARTH_GPU_FULL");
    return f && *f == '1';
}
