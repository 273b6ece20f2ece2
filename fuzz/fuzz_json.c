/* fuzz_json.c — libFuzzer target: json_parse on arbitrary bytes (limits: depth 64, 16 MiB DOM).
 * Oracles beyond the sanitizers: statuses FORMAT / RANGE with a "json: " message; strings and keys
 * of the DOM are valid UTF-8; writing is a fixed point (write(parse(write(v))) == write(v), compact
 * and indented); the DOM stays within the limit; no leak. */
#include "faults.h"
#include "json.h"

#include <stdio.h>
#include <string.h>

#define FUZZ_CHECK(c)                                                                    \
    do {                                                                                 \
        if (!(c)) {                                                                      \
            fprintf(stderr, "fuzz_json: invariant failed: %s (line %d)\n", #c, __LINE__); \
            __builtin_trap();                                                            \
        }                                                                                \
    } while (0)

static void check_utf8(const json_value *v, int depth) {
    FUZZ_CHECK(depth <= 65);
    switch (v->type) {
    case JSON_STRING: FUZZ_CHECK(json_utf8_valid_prefix(v->str, v->len) == v->len && v->str[v->len] == 0); break;
    case JSON_ARRAY:
        for (size_t i = 0; i < v->len; i++) check_utf8(&v->items[i], depth + 1);
        break;
    case JSON_OBJECT:
        for (size_t i = 0; i < v->len; i++) {
            const json_member *m = &v->members[i];
            FUZZ_CHECK(json_utf8_valid_prefix(m->key, m->key_len) == m->key_len);
            check_utf8(&m->value, depth + 1);
            if (strlen(m->key) == m->key_len) FUZZ_CHECK(json_get(v, m->key) != NULL); /* C-string lookup */
        }
        break;
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fault_alloc fa;
    fault_alloc_install(&fa, 0);
    const json_limits lim = {64, 16u << 20};
    hearth_error err = {0};
    json_doc *doc = NULL;
    int st = json_parse(&doc, (const char *)data, size, &lim, &err);
    if (st == HEARTH_OK) {
        const json_value *root = json_root(doc);
        check_utf8(root, 0);
        for (int indent = 0; indent <= 2; indent += 2) {
            char *a = NULL, *b = NULL;
            size_t na = 0, nb = 0;
            FUZZ_CHECK(json_write(root, indent, &a, &na, &err) == HEARTH_OK);
            json_doc *d2 = NULL;
            /* the written text parses again (depth limit one more: writing adds no nesting) */
            const json_limits lim2 = {65, 64u << 20};
            FUZZ_CHECK(json_parse(&d2, a, na, &lim2, &err) == HEARTH_OK);
            FUZZ_CHECK(json_write(json_root(d2), indent, &b, &nb, &err) == HEARTH_OK);
            FUZZ_CHECK(na == nb && memcmp(a, b, na) == 0);
            json_free(d2);
            h_free(a);
            h_free(b);
        }
    } else {
        FUZZ_CHECK(doc == NULL);
        FUZZ_CHECK(st == HEARTH_ERR_FORMAT || st == HEARTH_ERR_RANGE);
        FUZZ_CHECK(strncmp(err.msg, "json: ", 6) == 0);
    }
    json_free(doc);
    fault_alloc_uninstall(&fa);
    FUZZ_CHECK(fa.live == 0 && fa.n_live == 0);
    return 0;
}
