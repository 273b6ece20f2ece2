/* source.c — byte sources: caller memory and files (mmap where available, pread otherwise). */
#include "base.h"

#include <errno.h>
#include <stdio.h>

#if !defined(__wasm__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define HAVE_POSIX_FILES 1
#endif

typedef struct mem_source {
    const uint8_t *data;
} mem_source;

static int mem_read(void *ctx, uint64_t off, void *dst, size_t len) {
    const uint8_t *data = ctx;
    memcpy(dst, data + off, len);
    return HEARTH_OK;
}

static const void *mem_map(void *ctx, uint64_t off, uint64_t len) {
    (void)len;
    return (const uint8_t *)ctx + off;
}

void hearth_source_from_memory(hearth_source *out, const void *data, size_t size) {
    memset(out, 0, sizeof *out);
    out->ctx = (void *)data;
    out->size = size;
    out->read = mem_read;
    out->map = mem_map;
}

void hearth_source_close(hearth_source *src) {
    if (!src) return;
    if (src->close) src->close(src->ctx);
    memset(src, 0, sizeof *src);
}

#ifdef HAVE_POSIX_FILES
typedef struct file_source {
    int fd;
    void *map;
    uint64_t size;
} file_source;

/* pread, also when the file is mapped: copying from the mapping would make every page of the file
 * resident in this process (counted in its RSS) on top of the copy. */
static int file_read(void *ctx, uint64_t off, void *dst, size_t len) {
    file_source *f = ctx;
    uint8_t *p = dst;
    while (len > 0) {
        ssize_t r = pread(f->fd, p, len, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return HEARTH_ERR_IO;
        p += r;
        off += (uint64_t)r;
        len -= (size_t)r;
    }
    return HEARTH_OK;
}

static const void *file_map(void *ctx, uint64_t off, uint64_t len) {
    file_source *f = ctx;
    (void)len;
    return f->map ? (const uint8_t *)f->map + off : NULL;
}

static void file_close(void *ctx) {
    file_source *f = ctx;
    if (!f) return;
    if (f->map) munmap(f->map, (size_t)f->size);
    if (f->fd >= 0) close(f->fd);
    h_free(f);
}

int hearth_source_open_file(hearth_source *out, const char *path, hearth_error *err) {
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return h_err(err, HEARTH_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return h_err(err, HEARTH_ERR_IO, "'%s' is not a regular file", path);
    }
    file_source *f = h_malloc(sizeof *f);
    if (!f) {
        close(fd);
        return h_err(err, HEARTH_ERR_NOMEM, "out of memory opening '%s'", path);
    }
    f->fd = fd;
    f->size = (uint64_t)st.st_size;
    f->map = NULL;
    if (f->size > 0 && (uint64_t)(size_t)f->size == f->size) {
        void *m = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) f->map = m;
    }
    out->ctx = f;
    out->size = f->size;
    out->read = file_read;
    out->map = file_map;
    out->close = file_close;
    return HEARTH_OK;
}
#else
int hearth_source_open_file(hearth_source *out, const char *path, hearth_error *err) {
    memset(out, 0, sizeof *out);
    return h_err(err, HEARTH_ERR_UNSUPPORTED, "cannot open '%s': no file system in this build", path);
}
#endif
