/* fuzz_gguf.c — libFuzzer target: gguf_open over a memory source on arbitrary bytes. Oracles beyond
 * the sanitizers: every accessor is exercised on what was parsed; tensors lie inside the input and
 * are aligned; every key and tensor is findable by name; failures carry a "gguf: " message and a
 * FORMAT/UNSUPPORTED status; nothing leaks; peak memory <= 8 x input + 64 KiB. */
#include "faults.h"
#include "gguf.h"

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(c)                                                                   \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "fuzz_gguf: invariant failed: %s (line %d)\n", #c, __LINE__); \
            __builtin_trap();                                                           \
        }                                                                               \
    } while (0)

/* Walks a value; budget bounds the work on huge arrays. Returns a checksum (kept live). */
static double walk(const gguf_value *v, int depth, long *budget) {
    double sum = 0;
    FUZZ_CHECK(depth <= GGUF_MAX_ARRAY_DEPTH);
    if (v->type == GGUF_TYPE_STRING) return v->n ? (unsigned char)v->str[v->n - 1] : 0;
    if (v->type != GGUF_TYPE_ARRAY) return gguf_scalar_f64(v->type, v->raw);
    for (uint64_t i = 0; i < v->n && (*budget)-- > 0; i++) {
        if (v->elem_type == GGUF_TYPE_STRING) {
            if (v->strs[i].n) sum += (unsigned char)v->strs[i].p[v->strs[i].n - 1];
        } else if (v->elem_type == GGUF_TYPE_ARRAY) {
            FUZZ_CHECK(v->items[i].type == GGUF_TYPE_ARRAY);
            sum += walk(&v->items[i], depth + 1, budget);
        } else {
            sum += gguf_arr_f64(v, i);
            /* every element type, floats (NaN, huge) and uint64 above INT64_MAX included:
             * the conversion saturates (UBSan checks that no undefined cast happens) */
            int64_t x = gguf_arr_i64(v, i);
            sum += (double)(x & 1);
        }
    }
    FUZZ_CHECK(gguf_arr_f64(v, v->n) == 0); /* out of range index */
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hearth_source src;
    hearth_source_from_memory(&src, data, size);
    hearth_error err = {0};
    fault_alloc fa;
    fault_alloc_install(&fa, 0);
    gguf_file *g = NULL;
    int st = gguf_open(&g, &src, &err);
    volatile double sink = 0;
    if (st == HEARTH_OK) {
        FUZZ_CHECK(g);
        uint64_t al = gguf_alignment(g);
        FUZZ_CHECK(al && !(al & (al - 1)));
        FUZZ_CHECK(gguf_header_bytes(g) <= size);
        long budget = 100000;
        for (uint64_t i = 0; i < gguf_n_kv(g); i++) {
            const gguf_kv *kv = gguf_kv_at(g, i);
            FUZZ_CHECK(gguf_get(g, kv->key) == &kv->value);
            sink = sink + walk(&kv->value, 0, &budget);
            /* typed getters: a value or a FORMAT error naming the key */
            int64_t x;
            uint32_t u;
            float f;
            int b;
            const char *s;
            size_t sl;
            hearth_error e2 = {0};
            int r1 = gguf_read_i64(g, kv->key, &x, 1, &e2), r2 = gguf_read_u32(g, kv->key, &u, 1, &e2),
                r3 = gguf_read_f32(g, kv->key, &f, 1, &e2), r4 = gguf_read_bool(g, kv->key, &b, 1, &e2),
                r5 = gguf_read_str(g, kv->key, &s, &sl, 1, &e2);
            FUZZ_CHECK((r1 | r2 | r3 | r4 | r5) == 0 || e2.status == HEARTH_ERR_FORMAT);
            FUZZ_CHECK(r1 == 0 || r1 == HEARTH_ERR_FORMAT);
        }
        for (uint64_t i = 0; i < gguf_n_tensors(g); i++) {
            const gguf_tensor *t = gguf_tensor_at(g, i);
            FUZZ_CHECK(t->offset >= gguf_data_offset(g));
            FUZZ_CHECK(t->offset <= size && t->size <= size - t->offset);
            FUZZ_CHECK(t->offset % al == 0);
            FUZZ_CHECK(t->n_dims >= 1 && t->n_dims <= GGUF_MAX_DIMS);
            uint64_t n = 1;
            for (int d = 0; d < GGUF_MAX_DIMS; d++) {
                FUZZ_CHECK(t->ne[d] >= 1);
                n *= t->ne[d];
            }
            FUZZ_CHECK(n == t->n_elements && t->size > 0);
            FUZZ_CHECK(gguf_find_tensor(g, t->name) == t);
            const uint8_t *p = src.map(src.ctx, t->offset, t->size);
            sink = sink + p[0] + p[t->size - 1]; /* ASan: inside the input */
        }
    } else {
        FUZZ_CHECK(g == NULL);
        FUZZ_CHECK(st == HEARTH_ERR_FORMAT || st == HEARTH_ERR_UNSUPPORTED);
        FUZZ_CHECK(err.status == st && strncmp(err.msg, "gguf: ", 6) == 0);
    }
    gguf_close(g);
    fault_alloc_uninstall(&fa);
    FUZZ_CHECK(fa.live == 0 && fa.n_live == 0);
    FUZZ_CHECK(fa.peak <= 8 * size + 65536);
    (void)sink;
    return 0;
}
