/* base.c — error messages, the allocation hook, f16/bf16 conversion, time. */
#include "base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__linux__)
#include <sys/mman.h>
#define HAVE_MMAP_HUGE 1
#endif

static hearth_allocator g_alloc; /* zero = libc; set only through hearth_set_allocator */

const char *hearth_status_name(int status) {
    switch (status) {
    case HEARTH_OK: return "HEARTH_OK";
    case HEARTH_ERR_ARG: return "HEARTH_ERR_ARG";
    case HEARTH_ERR_NOMEM: return "HEARTH_ERR_NOMEM";
    case HEARTH_ERR_IO: return "HEARTH_ERR_IO";
    case HEARTH_ERR_FORMAT: return "HEARTH_ERR_FORMAT";
    case HEARTH_ERR_UNSUPPORTED: return "HEARTH_ERR_UNSUPPORTED";
    case HEARTH_ERR_RANGE: return "HEARTH_ERR_RANGE";
    case HEARTH_ERR_AGAIN: return "HEARTH_ERR_AGAIN";
    case HEARTH_ERR_GPU: return "HEARTH_ERR_GPU";
    case HEARTH_ERR_DEVICE_LOST: return "HEARTH_ERR_DEVICE_LOST";
    case HEARTH_ERR_CANCELLED: return "HEARTH_ERR_CANCELLED";
    case HEARTH_ERR_INTERNAL: return "HEARTH_ERR_INTERNAL";
    default: return "HEARTH_ERR_UNKNOWN";
    }
}

int h_err(hearth_error *err, int status, const char *fmt, ...) {
    if (!err) return status;
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return status;
}

int h_err_prefix(hearth_error *err, const char *fmt, ...) {
    if (!err) return HEARTH_ERR_INTERNAL;
    char prefix[256], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3, m = strnlen(old, sizeof old);
    if (m > rest) m = rest;
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = 0;
    return err->status;
}

void h_err_clear(hearth_error *err) {
    if (!err) return;
    err->status = HEARTH_OK;
    err->msg[0] = 0;
}

void hearth_set_allocator(const hearth_allocator *a) {
    if (a) g_alloc = *a;
    else memset(&g_alloc, 0, sizeof g_alloc);
}

void *h_malloc(size_t n) {
    if (n == 0) n = 1;
    if (g_alloc.malloc_fn) return g_alloc.malloc_fn(g_alloc.ctx, n);
    return malloc(n);
}

void *h_realloc(void *p, size_t n) {
    if (n == 0) n = 1;
    if (g_alloc.realloc_fn) return g_alloc.realloc_fn(g_alloc.ctx, p, n);
    return realloc(p, n);
}

void h_free(void *p) {
    if (!p) return;
    if (g_alloc.free_fn) g_alloc.free_fn(g_alloc.ctx, p);
    else free(p);
}

void *h_malloc_array(size_t count, size_t size) {
    size_t n;
    if (!h_mul_size(count, size, &n)) return NULL;
    return h_malloc(n);
}

void *h_calloc(size_t count, size_t size) {
    size_t n;
    if (!h_mul_size(count, size, &n)) return NULL;
    void *p = h_malloc(n);
    if (p) memset(p, 0, n);
    return p;
}

/* Aligned blocks keep the offset to the hook's pointer just before the aligned address. */
void *h_malloc_aligned(size_t n) {
    size_t total;
    if (!h_add_size(n, 64 + sizeof(void *), &total)) return NULL;
    unsigned char *raw = h_malloc(total);
    if (!raw) return NULL;
    uintptr_t a = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
    memcpy((void *)(a - sizeof(void *)), &raw, sizeof raw);
    return (void *)a;
}

void h_free_aligned(void *p) {
    if (!p) return;
    void *raw;
    memcpy(&raw, (unsigned char *)p - sizeof(void *), sizeof raw);
    h_free(raw);
}

#define HUGE_PAGE ((size_t)2 << 20)

void *h_alloc_large(size_t n, int *mapped) {
    *mapped = 0;
#ifdef HAVE_MMAP_HUGE
    if (!g_alloc.malloc_fn) {
        size_t sz;
        if (!h_add_size(n, HUGE_PAGE - 1, &sz)) return NULL;
        sz &= ~(HUGE_PAGE - 1);
        /* over-allocate by one huge page to align the start, then give back the slack */
        void *p = mmap(NULL, sz + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return NULL;
        uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
        if (a > (uintptr_t)p) munmap(p, a - (uintptr_t)p);
        uintptr_t end = (uintptr_t)p + sz + HUGE_PAGE;
        if (end > a + sz) munmap((void *)(a + sz), end - (a + sz));
        madvise((void *)a, sz, MADV_HUGEPAGE); /* a hint: fine if refused */
        *mapped = 1;
        return (void *)a;
    }
#endif
    return h_malloc_aligned(n);
}

void h_free_large(void *p, size_t n, int mapped) {
    if (!p) return;
#ifdef HAVE_MMAP_HUGE
    if (mapped) {
        munmap(p, (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
        return;
    }
#endif
    (void)n;
    h_free_aligned(p);
}

char *h_strndup(const char *s, size_t n) {
    char *d = h_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *h_strdup(const char *s) { return h_strndup(s, strlen(s)); }

float h_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t h_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000;
    uint32_t a = u & 0x7fffffff;
    if (a >= 0x7f800000u) /* Inf or NaN (keep a quiet NaN bit) */
        return (uint16_t)(sign | 0x7c00 | (a > 0x7f800000u ? 0x200 | ((a >> 13) & 0x3ff) : 0));
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to >= 65520: Inf */
    if (a < 0x38800000u) {                                  /* below smallest normal half */
        if (a < 0x33000000u) return (uint16_t)sign;         /* < 2^-25: rounds to 0 */
        uint32_t e = a >> 23;
        uint32_t m = (a & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t r = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = ((a >> 13) - (112u << 10));
    uint32_t rem = a & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++;
    return (uint16_t)(sign | r);
}

uint16_t h_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

double h_time_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
