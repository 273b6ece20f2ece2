/* fuzz_gguf_faults.c — libFuzzer target: gguf_open under injected faults, checked against a clean
 * open of the same bytes. Input: [mode][n][file bytes...].
 *   mode 0: streaming: bytes arrive in chunks of 1 + 97 n; AGAIN until then, and the final result
 *           (status, message, counts) equals the clean open
 *   mode 1: the (n+1)-th allocation fails: NOMEM or the clean result; no leak; a later clean open
 *           gives the clean result again (the process stays usable)
 *   mode 2: read call (n % 4) + 1 fails with HEARTH_ERR_IO: IO or the clean result
 *   mode 3: read call (n % 4) + 1 delivers half the bytes and zeros (a buggy source): any
 *           FORMAT/UNSUPPORTED/OK outcome, with the invariants of a successful open */
#include "faults.h"
#include "gguf.h"

#include <stdio.h>
#include <string.h>

#define FUZZ_CHECK(c)                                                                          \
    do {                                                                                       \
        if (!(c)) {                                                                            \
            fprintf(stderr, "fuzz_gguf_faults: invariant failed: %s (line %d)\n", #c, __LINE__); \
            __builtin_trap();                                                                  \
        }                                                                                      \
    } while (0)

typedef struct result {
    int status;
    char msg[512];
    uint64_t n_kv, n_tensors, data_offset;
} result;

static result open_with(hearth_source *src, fault_alloc *fa, size_t fail_at, uint64_t size) {
    result r = {0};
    hearth_error err = {0};
    fault_alloc_install(fa, fail_at);
    gguf_file *g = NULL;
    r.status = gguf_open(&g, src, &err);
    if (r.status == HEARTH_OK) {
        FUZZ_CHECK(g);
        r.n_kv = gguf_n_kv(g);
        r.n_tensors = gguf_n_tensors(g);
        r.data_offset = gguf_data_offset(g);
        for (uint64_t i = 0; i < r.n_tensors; i++) {
            const gguf_tensor *t = gguf_tensor_at(g, i);
            FUZZ_CHECK(t->offset <= size && t->size <= size - t->offset);
        }
    } else {
        FUZZ_CHECK(g == NULL && err.msg[0]);
        snprintf(r.msg, sizeof r.msg, "%s", err.msg);
    }
    gguf_close(g);
    fault_alloc_uninstall(fa);
    FUZZ_CHECK(fa->live == 0 && fa->n_live == 0);
    return r;
}

static int same(const result *a, const result *b) {
    return a->status == b->status && a->n_kv == b->n_kv && a->n_tensors == b->n_tensors &&
           a->data_offset == b->data_offset && strcmp(a->msg, b->msg) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t in_size) {
    if (in_size < 2) return 0;
    const int mode = in[0] & 3, n = in[1];
    const uint8_t *data = in + 2;
    const size_t size = in_size - 2;
    fault_alloc fa;
    fault_source fs;
    fault_source_init(&fs, data, size);
    hearth_source src = fault_source_get(&fs);
    result clean = open_with(&src, &fa, 0, size);
    FUZZ_CHECK(clean.status != HEARTH_ERR_AGAIN && clean.status != HEARTH_ERR_IO);
    const size_t clean_allocs = fa.n_allocs;
    fault_source_init(&fs, data, size);
    if (mode == 0) {
        const uint64_t chunk = 1 + 97 * (uint64_t)n;
        fs.avail = 0;
        for (;;) {
            result r = open_with(&src, &fa, 0, size);
            if (r.status != HEARTH_ERR_AGAIN) {
                FUZZ_CHECK(same(&r, &clean));
                break;
            }
            FUZZ_CHECK(fs.avail < size);
            fs.avail = fs.avail + chunk < size ? fs.avail + chunk : size;
        }
    } else if (mode == 1) {
        result r = open_with(&src, &fa, (size_t)n + 1, size);
        if ((size_t)n + 1 <= clean_allocs) FUZZ_CHECK(r.status == HEARTH_ERR_NOMEM || same(&r, &clean));
        else FUZZ_CHECK(same(&r, &clean));
        result again = open_with(&src, &fa, 0, size);
        FUZZ_CHECK(same(&again, &clean));
    } else {
        fs.fail_at = (size_t)(n % 4) + 1;
        fs.fail_status = HEARTH_ERR_IO;
        fs.short_read = mode == 3;
        result r = open_with(&src, &fa, 0, size);
        if (mode == 2) FUZZ_CHECK(r.status == HEARTH_ERR_IO || same(&r, &clean));
        else FUZZ_CHECK(r.status == HEARTH_OK || r.status == HEARTH_ERR_FORMAT || r.status == HEARTH_ERR_UNSUPPORTED);
    }
    FUZZ_CHECK(fs.bad_calls == 0);
    return 0;
}
