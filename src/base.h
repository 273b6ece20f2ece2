/* base.h — shared foundations of the core: status + error messages, the allocation hook,
 * overflow-checked size arithmetic, little-endian loads and f16/bf16 conversion. */
#ifndef HEARTH_BASE_H
#define HEARTH_BASE_H

#include "hearth.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define H_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define H_LIKELY(x) __builtin_expect(!!(x), 1)
#define H_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define H_PRINTF(a, b)
#define H_LIKELY(x) (x)
#define H_UNLIKELY(x) (x)
#endif

/* Sets err (may be NULL) to status + formatted message; returns status. */
int h_err(hearth_error *err, int status, const char *fmt, ...) H_PRINTF(3, 4);
/* Prefixes an existing message: "what: <old message>". Returns err->status. */
int h_err_prefix(hearth_error *err, const char *fmt, ...) H_PRINTF(2, 3);
void h_err_clear(hearth_error *err);

/* Allocation through the hook. h_malloc(0) returns a valid unique pointer or NULL. */
void *h_malloc(size_t n);
void *h_calloc(size_t count, size_t size); /* overflow-checked, zeroed */
void *h_realloc(void *p, size_t n);
void h_free(void *p);
/* Allocates count*size bytes, or NULL on overflow / failure. */
void *h_malloc_array(size_t count, size_t size);
/* 64-byte aligned allocation (SIMD, cache lines). Free with h_free_aligned. */
void *h_malloc_aligned(size_t n);
void h_free_aligned(void *p);
/* Large long-lived buffers (model weights): 2 MiB-aligned anonymous memory with transparent huge
 * pages where the OS offers them (fewer TLB misses, and hardware prefetchers that stop at page
 * boundaries run on). Through the allocation hook (64-byte aligned) when one is installed.
 * *mapped tells h_free_large how the block was made. */
void *h_alloc_large(size_t n, int *mapped);
void h_free_large(void *p, size_t n, int mapped);
char *h_strdup(const char *s);
char *h_strndup(const char *s, size_t n);

/* Checked arithmetic: return false on overflow. */
static inline bool h_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool h_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline bool h_mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool h_add_size(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* Little-endian loads from unaligned bytes. */
static inline uint16_t h_rd_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t h_rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t h_rd_u64(const uint8_t *p) {
    return (uint64_t)h_rd_u32(p) | ((uint64_t)h_rd_u32(p + 4) << 32);
}

/* IEEE half and bfloat16 <-> float (exact for every input, NaN/Inf preserved). */
float h_f16_to_f32(uint16_t h);
uint16_t h_f32_to_f16(float f); /* round to nearest even */
static inline float h_bf16_to_f32(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
uint16_t h_f32_to_bf16(float f);

/* Monotonic time in seconds (for benchmarks and logs only, never for results). */
double h_time_s(void);

#define H_MIN(a, b) ((a) < (b) ? (a) : (b))
#define H_MAX(a, b) ((a) > (b) ? (a) : (b))
#define H_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
