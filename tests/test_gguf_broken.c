/* test_gguf_broken.c — the GGUF reader rejects every hostile file of the catalogue
 * (tests/hostile_cases.c) with the right status and a message that says what and where, never
 * crashes, never leaks, and never allocates more than a small multiple of the input; the committed
 * corpus tests/data/hostile/ is current; a file cut at every byte and a file with every byte
 * corrupted are handled cleanly. */
#include "test.h"

#include "faults.h"
#include "gguf.h"
#include "gguf_writer.h"
#include "hostile_cases.h"

/* Memory bound for a hostile file of n bytes: the header copy (n) plus tables that cost at most a
 * few bytes per input byte (a 12-byte nested array header becomes a 48-byte value, a 32-byte tensor
 * info a 72-byte record, with doubling growth) plus fixed initial capacities (~14 KiB). */
#define MEM_FACTOR 8
#define MEM_CONST (64 * 1024)

static int known_failures_seen;

typedef struct open_result {
    int status;
    char msg[512];
    size_t peak, largest, leaked;
} open_result;

/* Opens bytes through a memory source under the counting allocator; checks the invariants of a
 * successful open (every tensor inside the file, aligned, findable by name; every key findable). */
static open_result open_bytes(const uint8_t *data, size_t len) {
    open_result r = {0};
    hearth_source src;
    hearth_source_from_memory(&src, data, len);
    hearth_error err = {0};
    fault_alloc fa;
    fault_alloc_install(&fa, 0);
    gguf_file *g = NULL;
    r.status = gguf_open(&g, &src, &err);
    snprintf(r.msg, sizeof r.msg, "%s", err.msg);
    if (r.status == HEARTH_OK) {
        CHECK(g != NULL);
        uint64_t al = gguf_alignment(g);
        CHECK(al && (al & (al - 1)) == 0);
        for (uint64_t i = 0; g && i < gguf_n_tensors(g); i++) {
            const gguf_tensor *t = gguf_tensor_at(g, i);
            CHECK_MSG(t->offset >= gguf_data_offset(g) && t->offset <= len && t->size <= len - t->offset,
                      "tensor '%s' [%llu, +%llu) outside a %zu-byte file", t->name,
                      (unsigned long long)t->offset, (unsigned long long)t->size, len);
            CHECK(t->offset % al == 0);
            CHECK(t->n_dims >= 1 && t->n_dims <= GGUF_MAX_DIMS);
            CHECK(gguf_find_tensor(g, t->name) == t);
        }
        for (uint64_t i = 0; g && i < gguf_n_kv(g); i++) {
            const gguf_kv *kv = gguf_kv_at(g, i);
            CHECK(gguf_get(g, kv->key) == &kv->value);
        }
    } else {
        CHECK(g == NULL);
        CHECK_MSG(strncmp(r.msg, "gguf: ", 6) == 0, "message '%s' does not name the module", r.msg);
    }
    gguf_close(g);
    r.peak = fa.peak;
    r.largest = fa.largest;
    r.leaked = fa.live;
    fault_alloc_uninstall(&fa);
    CHECK_MSG(r.leaked == 0, "%zu bytes leaked", r.leaked);
    CHECK_MSG(r.peak <= MEM_FACTOR * len + MEM_CONST,
              "peak %zu bytes for a %zu-byte input (bound %d x + %d)", r.peak, len, MEM_FACTOR, MEM_CONST);
    return r;
}

static void check_case(const char *name, const uint8_t *data, size_t len, const hostile_expect *e) {
    open_result r = open_bytes(data, len);
    if (e->known_issue && r.status == HEARTH_OK) {
        /* a known gap of the reader (docs/RELIABILITY.md): reported, not counted as a failure */
        fprintf(stderr, "XFAIL %s: %s\n", name, e->known_issue);
        known_failures_seen++;
        return;
    }
    CHECK_MSG(r.status == e->status, "%s: status %s, expected %s (%s)", name, hearth_status_name(r.status),
              hearth_status_name(e->status), r.msg);
    for (int k = 0; k < e->n_sub; k++)
        CHECK_MSG(strstr(r.msg, e->sub[k]) != NULL, "%s: message '%s' lacks '%s'", name, r.msg, e->sub[k]);
}

static void test_catalogue(void) {
    CHECK(hostile_n_cases >= 60);
    size_t worst_peak = 0, worst_len = 0;
    for (size_t i = 0; i < hostile_n_cases; i++) {
        gw_buf file = {0};
        hostile_expect e;
        hostile_cases[i].build(&file, &e);
        check_case(hostile_cases[i].name, file.data, file.len, &e);
        open_result r = open_bytes(file.data, file.len);
        if (r.peak > worst_peak) worst_peak = r.peak, worst_len = file.len;
        gw_buf_free(&file);
    }
    fprintf(stderr, "  %zu hostile cases; largest peak %zu bytes (input %zu bytes)\n", hostile_n_cases,
            worst_peak, worst_len);
}

/* The corpus in tests/data/hostile/ is what the catalogue builds (regenerate it with
 * `make hostile-corpus` after changing a case) and each file is rejected when read from disk. */
static void test_committed_corpus(void) {
    int missing = 0;
    for (size_t i = 0; i < hostile_n_cases; i++) {
        char path[512];
        snprintf(path, sizeof path, "tests/data/hostile/%s.gguf", hostile_cases[i].name);
        size_t len = 0;
        uint8_t *data = gw_read_file(path, &len);
        if (!data) {
            missing++;
            CHECK_MSG(0, "%s missing (run `make hostile-corpus`)", path);
            continue;
        }
        gw_buf file = {0};
        hostile_expect e;
        hostile_cases[i].build(&file, &e);
        CHECK_MSG(len == file.len && (len == 0 || memcmp(data, file.data, len) == 0),
                  "%s differs from its builder (run `make hostile-corpus`)", path);
        hearth_source src;
        hearth_error err = {0};
        int st = hearth_source_open_file(&src, path, &err);
        CHECK_MSG(st == 0, "%s", err.msg);
        if (st == 0) {
            gguf_file *g = NULL;
            st = gguf_open(&g, &src, &err);
            if (!(e.known_issue && st == 0))
                CHECK_MSG(st == e.status, "%s: %s (%s)", path, hearth_status_name(st), err.msg);
            gguf_close(g);
            hearth_source_close(&src);
        }
        gw_buf_free(&file);
        free(data);
    }
    CHECK_EQ_INT(missing, 0);
}

/* Cutting a valid file at every byte: always FORMAT, with a message about missing bytes. */
static void cut_everywhere(const gw_buf *file, const char *label) {
    open_result full = open_bytes(file->data, file->len);
    CHECK_MSG(full.status == HEARTH_OK, "%s: %s", label, full.msg);
    int bad = 0;
    for (size_t cut = 0; cut < file->len; cut++) {
        open_result r = open_bytes(file->data, cut);
        int ok = r.status == HEARTH_ERR_FORMAT &&
                 (strstr(r.msg, "truncated file") || strstr(r.msg, "exceeds") ||
                  strstr(r.msg, "left in the file") || strstr(r.msg, "bytes follow the header"));
        if (!ok && bad++ < 5)
            CHECK_MSG(0, "%s cut at %zu: %s '%s'", label, cut, hearth_status_name(r.status), r.msg);
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_truncated_everywhere(void) {
    gguf_writer w;
    gw_init(&w);
    hostile_base(&w);
    gw_buf base = {0};
    gw_finish(&w, &base, NULL);
    gw_free(&w);
    cut_everywhere(&base, "base v3");
    gw_buf_free(&base);
    for (uint32_t version = 2; version <= 3; version++) {
        gw_buf rich = {0};
        hostile_rich(&rich, version);
        cut_everywhere(&rich, version == 2 ? "rich v2" : "rich v3");
        gw_buf_free(&rich);
    }
}

/* Every byte of a valid file replaced by a few values: any outcome but a crash, a leak, an
 * unbounded allocation, a broken invariant after success, or an error without a message. */
static void test_every_byte_corrupted(void) {
    gw_buf file = {0};
    hostile_rich(&file, 3);
    uint8_t *copy = malloc(file.len);
    int ok = 0, rejected = 0;
    for (size_t pos = 0; pos < file.len; pos++) {
        const uint8_t orig = file.data[pos];
        const uint8_t vals[5] = {0x00, 0xff, 0x80, (uint8_t)(orig ^ 1), (uint8_t)(orig + 1)};
        for (int k = 0; k < 5; k++) {
            if (vals[k] == orig) continue;
            memcpy(copy, file.data, file.len);
            copy[pos] = vals[k];
            open_result r = open_bytes(copy, file.len);
            if (r.status == HEARTH_OK) {
                ok++;
            } else {
                rejected++;
                CHECK_MSG(r.status == HEARTH_ERR_FORMAT || r.status == HEARTH_ERR_UNSUPPORTED,
                          "byte %zu = 0x%02x: %s '%s'", pos, vals[k], hearth_status_name(r.status), r.msg);
                CHECK(strlen(r.msg) > 6);
            }
        }
    }
    fprintf(stderr, "  %zu bytes corrupted 5 ways: %d accepted, %d rejected\n", file.len, ok, rejected);
    CHECK(rejected > 0 && ok > 0); /* data bytes and values may change freely; structure may not */
    free(copy);
    gw_buf_free(&file);
}

/* Exactly at the nesting limit (8 levels) is a valid file; the catalogue checks 9. */
static void test_nesting_limit_accepted(void) {
    gguf_writer w;
    gw_init(&w);
    gw_buf v = {0};
    for (int d = 0; d < GGUF_MAX_ARRAY_DEPTH - 1; d++) gw_put_arr_header(&v, GW_ARRAY, 1);
    gw_put_arr_header(&v, GW_UINT8, 1);
    gw_put_u8(&v, 42);
    gw_kv_raw(&w, "deep", 4, GW_ARRAY, v.data, v.len);
    gw_buf_free(&v);
    gw_buf file = {0};
    gw_finish(&w, &file, NULL);
    gw_free(&w);
    hearth_source src;
    hearth_source_from_memory(&src, file.data, file.len);
    hearth_error err = {0};
    gguf_file *g = NULL;
    CHECK_MSG(gguf_open(&g, &src, &err) == HEARTH_OK, "%s", err.msg);
    if (g) {
        const gguf_value *x = gguf_get(g, "deep");
        int depth = 0;
        while (x && x->type == GGUF_TYPE_ARRAY && x->elem_type == GGUF_TYPE_ARRAY && x->n == 1) {
            x = &x->items[0];
            depth++;
        }
        CHECK_EQ_INT(depth, GGUF_MAX_ARRAY_DEPTH - 1);
        CHECK(x && x->elem_type == GGUF_TYPE_UINT8 && x->n == 1 && x->raw[0] == 42);
    }
    gguf_close(g);
    gw_buf_free(&file);
}

int main(void) {
    RUN(test_catalogue);
    RUN(test_committed_corpus);
    RUN(test_truncated_everywhere);
    RUN(test_every_byte_corrupted);
    RUN(test_nesting_limit_accepted);
    if (known_failures_seen)
        fprintf(stderr, "%d known reader gaps (XFAIL above; see docs/RELIABILITY.md)\n", known_failures_seen);
    return test_summary();
}
