/* gpu_test_util.h — shared helpers of the GPU tests: a device on SwiftShader unless the caller
 * chose a Vulkan ICD, deterministic random data, buffer upload/readback, kernels from the
 * embedded WGSL, and error norms.
 *
 *   gpu_device *d = gtu_device(0);            // NULL (and a message) if there is no adapter
 *   gpu_buffer *b = gtu_upload(d, floats, n * 4);
 *   gpu_kernel *k = gtu_kernel(d, "wq_q4_0", "matvec_q", consts, n_consts);
 *   double e = gtu_nmse(gpu_out, ref, n);
 */
#ifndef HEARTH_TESTS_GPU_TEST_UTIL_H
#define HEARTH_TESTS_GPU_TEST_UTIL_H

#include "gpu/gpu.h"

#include <stddef.h>
#include <stdint.h>

/* A device (max_binding 0 = the adapter's limit). Sets VK_ICD_FILENAMES to SwiftShader when
 * unset and SwiftShader is installed. Prints why on failure. */
gpu_device *gtu_device(uint64_t max_binding);

typedef struct gtu_rng {
    uint64_t s;
} gtu_rng;
uint32_t gtu_u32(gtu_rng *r);
float gtu_uniform(gtu_rng *r);  /* [-1, 1) */
float gtu_normal(gtu_rng *r);

/* A storage buffer holding the n bytes (padded with zeros to a multiple of 16). NULL on error
 * (printed). */
gpu_buffer *gtu_upload(gpu_device *d, const void *data, size_t n);
/* Reads n bytes; returns 0 on success (errors printed). */
int gtu_read(gpu_device *d, gpu_buffer *b, uint64_t off, void *dst, size_t n);
/* Kernel from the embedded sources: module (may be NULL) + kernel. NULL on error (printed). */
gpu_kernel *gtu_kernel(gpu_device *d, const char *module, const char *kernel, const gpu_const *c, int nc);
/* Normalized squared error sum((a - b)^2) / sum(b^2) (1 if a has a NaN where b has none). */
double gtu_nmse(const float *a, const double *b, size_t n);
/* 1 if the full (slow) grid was asked for (HEARTH_GPU_FULL=1). */
int gtu_full(void);

#endif
