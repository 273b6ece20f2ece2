/* gpu.h — the small GPU interface the WebGPU backend is written against: a device, buffers,
 * kernels compiled from WGSL, prepared bindings, dispatches with a small parameter block,
 * copies, submit, and asynchronous readback. Native: gpu_dawn.c (Dawn's webgpu.h via dlopen);
 * browser: a JS implementation over navigator.gpu (same semantics, same WGSL).
 *
 *   gpu_device *d;
 *   if (gpu_device_create(&d, NULL, &err)) { ... }                  // adapter limits requested
 *   gpu_buffer *x, *y, *rb;
 *   gpu_buffer_create(d, &x, 4096, GPU_STORAGE, "x", &err);         // zero-filled
 *   gpu_buffer_create(d, &rb, 4096, GPU_READBACK, "rb", &err);
 *   gpu_buffer_write(d, x, 0, host, 4096, &err);
 *   const char *src[] = {wgsl_scale};                               // build/gen/wgsl.h
 *   gpu_kernel *k;  gpu_kernel_create(d, &k, "scale", src, 1, NULL, 0, &err);
 *   gpu_bind b[] = {{x, 0, 0}, {y, 0, 0}};                          // bindings 1.. in order
 *   gpu_bindings *bg;  gpu_bindings_create(d, k, b, 2, &bg, &err);
 *   struct { uint32_t n; float s; } p = {1024, 2.0f};               // binding 0 (uniform)
 *   gpu_dispatch(d, k, bg, &p, sizeof p, 4, 1, 1);
 *   gpu_copy(d, y, 0, rb, 0, 4096);
 *   gpu_submit(d, &err);
 *   gpu_map_begin(d, rb, 0, 4096, &err);
 *   const void *ptr;  while (gpu_map_poll(d, rb, 0, &ptr, &err) == HEARTH_ERR_AGAIN) { other work }
 *   ...; gpu_map_end(rb);
 *
 * Kernels: binding 0 is the parameter block (`var<uniform>`, at most GPU_PARAMS_MAX bytes) when
 * the kernel declares one; the storage bindings follow in binding order. The bind layout is
 * read from the WGSL declarations (`@binding(N) var<storage, read>` / `read_write` /
 * `var<uniform>`), all in group 0. Parameters are copied at dispatch time, so one prepared
 * gpu_bindings serves every dispatch with different parameters.
 *
 * Errors: recording calls (dispatch, copy) never fail on their own; a problem is remembered and
 * reported by the next gpu_submit. Validation errors, out-of-memory and device loss become
 * HEARTH_ERR_GPU / HEARTH_ERR_DEVICE_LOST with Dawn's message. After a loss every call fails
 * cleanly; free everything and create a new device.
 */
#ifndef HEARTH_GPU_H
#define HEARTH_GPU_H

#include "base.h"

typedef struct gpu_device gpu_device;
typedef struct gpu_buffer gpu_buffer;
typedef struct gpu_kernel gpu_kernel;
typedef struct gpu_bindings gpu_bindings;

#define GPU_PARAMS_MAX 256 /* bytes of the per-dispatch parameter block */
#define GPU_MAX_BINDINGS 12

typedef struct gpu_device_params {
    const char *lib_path;  /* NULL: $HEARTH_WEBGPU_LIB, else node_modules/bun-webgpu-linux-x64/
                              libwebgpu_wrapper.so under the current directory or the
                              executable's ../ */
    int low_power;         /* prefer an integrated/low-power adapter */
    int robustness;        /* 1: keep Dawn's bounds clamping in shaders (default 1 through
                              gpu_device_default_params; 0 is faster on big GPUs) */
    uint64_t max_binding;  /* 0, or a smaller storage-binding limit to use than the adapter's
                              (tests use it to exercise buffer splitting) */
} gpu_device_params;

gpu_device_params gpu_device_default_params(void);

typedef struct gpu_info {
    char vendor[64], architecture[64], device[128], description[128];
    const char *backend;      /* "vulkan", "metal", ... */
    const char *adapter_type; /* "discrete", "integrated", "cpu", "unknown" */
    uint32_t vendor_id, device_id;
    int has_f16, has_subgroups, has_timestamps;
    uint32_t subgroup_min, subgroup_max;
    /* limits of the device (the adapter's, requested as requiredLimits) */
    uint64_t max_storage_binding; /* after gpu_device_params.max_binding */
    uint64_t max_buffer;
    uint64_t max_uniform_binding;
    uint32_t max_storage_buffers_per_stage;
    uint32_t max_workgroup_storage, max_invocations, max_wg_x, max_wg_y, max_wg_z;
    uint32_t max_workgroups_per_dim;
    uint32_t min_storage_offset_align, min_uniform_offset_align;
    uint32_t max_bind_groups, max_bindings_per_group;
    int n_features;
    uint32_t features[64]; /* WGPUFeatureName values the adapter offers */
} gpu_info;

int gpu_device_create(gpu_device **out, const gpu_device_params *p, hearth_error *err);
void gpu_device_free(gpu_device *d);
const gpu_info *gpu_device_info(const gpu_device *d);
/* Name of a WGPUFeatureName value ("shader-f16"), or NULL if unknown. */
const char *gpu_feature_name(uint32_t f);
/* HEARTH_OK, or the first recorded GPU error / device loss (the message stays on the device
 * until gpu_device_clear_error). */
int gpu_device_check(gpu_device *d, hearth_error *err);
void gpu_device_clear_error(gpu_device *d);
int gpu_device_lost(const gpu_device *d);
/* Destroys the underlying device as a GPU reset would (fault-injection tests); the _after form
 * does it when n more dispatches have been recorded (mid-pass). */
void gpu_device_force_loss(gpu_device *d);
void gpu_device_lose_after(gpu_device *d, uint64_t n);

/* ---- buffers ------------------------------------------------------------------------------ */

enum {
    GPU_STORAGE = 1,  /* shader storage; copy source and destination */
    GPU_READBACK = 2  /* mappable for reading; copy destination */
};

/* size is rounded up to a multiple of 4. Storage buffers start zero-filled. */
int gpu_buffer_create(gpu_device *d, gpu_buffer **out, uint64_t size, int usage, const char *label,
                      hearth_error *err);
void gpu_buffer_free(gpu_buffer *b);
uint64_t gpu_buffer_size(const gpu_buffer *b);
/* Queues a write of n bytes (offset and n multiples of 4); ordered with submitted work. */
int gpu_buffer_write(gpu_device *d, gpu_buffer *b, uint64_t offset, const void *data, size_t n,
                     hearth_error *err);

/* ---- kernels ------------------------------------------------------------------------------ */

typedef struct gpu_const {
    const char *name; /* a WGSL `override` */
    double value;
} gpu_const;

/* Compiles the concatenation of srcs[0..n_srcs) (a weight-format module and a kernel, or one
 * kernel) with the given override constants; entry point "main". */
int gpu_kernel_create(gpu_device *d, gpu_kernel **out, const char *label, const char *const *srcs,
                      int n_srcs, const gpu_const *consts, int n_consts, hearth_error *err);
void gpu_kernel_free(gpu_kernel *k);
/* Number of storage bindings the kernel declares (bindings 1..n). */
int gpu_kernel_n_bindings(const gpu_kernel *k);

typedef struct gpu_bind {
    gpu_buffer *buf;
    uint64_t offset; /* multiple of min_storage_offset_align */
    uint64_t size;   /* 0: to the end of the buffer */
} gpu_bind;

/* Binds buffers to the kernel's storage bindings 1..n (in order). */
int gpu_bindings_create(gpu_device *d, gpu_kernel *k, const gpu_bind *b, int n, gpu_bindings **out,
                        hearth_error *err);
void gpu_bindings_free(gpu_bindings *g);

/* ---- recording and submission ------------------------------------------------------------- */

/* Records a dispatch of (x, y, z) workgroups. params (n <= GPU_PARAMS_MAX) become binding 0. */
void gpu_dispatch(gpu_device *d, gpu_kernel *k, gpu_bindings *g, const void *params, size_t n,
                  uint32_t x, uint32_t y, uint32_t z);
/* Records a copy (offsets and n multiples of 4). */
void gpu_copy(gpu_device *d, gpu_buffer *src, uint64_t src_off, gpu_buffer *dst, uint64_t dst_off,
              uint64_t n);
/* Records a zero-fill (offset and n multiples of 4). */
void gpu_clear(gpu_device *d, gpu_buffer *b, uint64_t offset, uint64_t n);
/* Submits what was recorded since the last submit. Returns the first error of that recording,
 * a device loss, or an uncaptured GPU error. Does not wait. */
int gpu_submit(gpu_device *d, hearth_error *err);
/* Waits until all submitted work has finished. */
int gpu_finish(gpu_device *d, hearth_error *err);
/* Dispatches recorded since the device was created (for benchmarks). */
uint64_t gpu_dispatch_count(const gpu_device *d);

/* ---- readback ----------------------------------------------------------------------------- */

/* Starts mapping a GPU_READBACK buffer range (after the submit that fills it). */
int gpu_map_begin(gpu_device *d, gpu_buffer *b, uint64_t offset, size_t n, hearth_error *err);
/* HEARTH_OK with *ptr = the mapped bytes, HEARTH_ERR_AGAIN if not ready (wait = 0), or an
 * error. wait = 1 blocks until ready. */
int gpu_map_poll(gpu_device *d, gpu_buffer *b, int wait, const void **ptr, hearth_error *err);
/* Unmaps (the pointer becomes invalid); harmless if not mapped. */
void gpu_map_end(gpu_buffer *b);

/* Convenience for tests and loading: copy + submit + map + wait + memcpy + unmap through an
 * internal readback buffer. */
int gpu_read(gpu_device *d, gpu_buffer *b, uint64_t offset, void *dst, size_t n, hearth_error *err);

#endif
