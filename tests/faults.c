/* faults.c — counting / failing allocator and fault-injecting byte sources for tests (faults.h). */
#include "faults.h"

#include <stdlib.h>
#include <string.h>

/* Every block carries its size in a 16-byte header (keeps 16-byte alignment of the payload). */
#define HDR 16

static int should_fail(fault_alloc *fa, size_t size, size_t old) {
    fa->n_allocs++;
    if (size > fa->largest) fa->largest = size;
    int fail = 0;
    if (fa->fail_at && (fa->n_allocs == fa->fail_at || (fa->fail_all_after && fa->n_allocs > fa->fail_at)))
        fail = 1;
    if (fa->limit && fa->live - old + size > fa->limit) fail = 1;
    if (fail) fa->n_failed++;
    return fail;
}

static void *fa_malloc(void *ctx, size_t size) {
    fault_alloc *fa = ctx;
    if (should_fail(fa, size, 0) || size > SIZE_MAX - HDR) return NULL;
    unsigned char *p = malloc(size + HDR);
    if (!p) return NULL;
    memcpy(p, &size, sizeof size);
    fa->live += size;
    fa->n_live++;
    if (fa->live > fa->peak) fa->peak = fa->live;
    return p + HDR;
}

static void fa_free(void *ctx, void *ptr) {
    fault_alloc *fa = ctx;
    if (!ptr) return;
    unsigned char *p = (unsigned char *)ptr - HDR;
    size_t size;
    memcpy(&size, p, sizeof size);
    fa->live -= size;
    fa->n_live--;
    free(p);
}

static void *fa_realloc(void *ctx, void *ptr, size_t size) {
    fault_alloc *fa = ctx;
    if (!ptr) return fa_malloc(ctx, size);
    unsigned char *old = (unsigned char *)ptr - HDR;
    size_t old_size;
    memcpy(&old_size, old, sizeof old_size);
    if (should_fail(fa, size, old_size) || size > SIZE_MAX - HDR) return NULL;
    /* a moving realloc holds both blocks for a moment: count it that way */
    if (fa->live + size > fa->peak) fa->peak = fa->live + size;
    unsigned char *p = realloc(old, size + HDR);
    if (!p) return NULL;
    memcpy(p, &size, sizeof size);
    fa->live = fa->live - old_size + size;
    return p + HDR;
}

void fault_alloc_install(fault_alloc *fa, size_t fail_at) {
    memset(fa, 0, sizeof *fa);
    fa->fail_at = fail_at;
    hearth_allocator a = {fa_malloc, fa_realloc, fa_free, fa};
    hearth_set_allocator(&a);
}

void fault_alloc_uninstall(fault_alloc *fa) {
    (void)fa;
    hearth_set_allocator(NULL);
}

void fault_alloc_reset_peak(fault_alloc *fa) {
    fa->peak = fa->live;
    fa->largest = 0;
}

/* ---- byte sources --------------------------------------------------------------------------- */

static int fs_read(void *ctx, uint64_t off, void *dst, size_t len) {
    fault_source *fs = ctx;
    fs->n_reads++;
    if (off > fs->size || len > fs->size - off) {
        fs->bad_calls++;
        return HEARTH_ERR_IO;
    }
    int failing = fs->fail_at && (fs->n_reads == fs->fail_at || (fs->fail_sticky && fs->n_reads > fs->fail_at));
    if (failing && fs->short_read) {
        size_t half = len / 2;
        memcpy(dst, fs->data + off, half);
        memset((uint8_t *)dst + half, 0, len - half);
        fs->bytes_read += half;
        return HEARTH_OK;
    }
    if (failing) return fs->fail_status;
    if (off + len > fs->avail) return HEARTH_ERR_AGAIN;
    memcpy(dst, fs->data + off, len);
    fs->bytes_read += len;
    return HEARTH_OK;
}

static const void *fs_map(void *ctx, uint64_t off, uint64_t len) {
    fault_source *fs = ctx;
    if (off > fs->avail || len > fs->avail - off) return NULL;
    return fs->data + off;
}

void fault_source_init(fault_source *fs, const void *data, uint64_t size) {
    memset(fs, 0, sizeof *fs);
    fs->data = data;
    fs->size = size;
    fs->avail = size;
    fs->fail_status = HEARTH_ERR_IO;
}

hearth_source fault_source_get(fault_source *fs) {
    hearth_source s;
    memset(&s, 0, sizeof s);
    s.ctx = fs;
    s.size = fs->size;
    s.read = fs_read;
    s.map = fs->with_map ? fs_map : NULL;
    return s;
}
