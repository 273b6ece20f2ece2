/* test_tokenizer_json.h — a minimal JSON reader for the tokenizer tests' reference files (JSON lines
 * written by llama.cpp-based tools): objects, arrays, strings (with \u escapes), numbers, true,
 * false, null. Test-only: allocation with malloc, errors return NULL. */
#ifndef HEARTH_TEST_TOKENIZER_JSON_H
#define HEARTH_TEST_TOKENIZER_JSON_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum { TJ_NULL, TJ_BOOL, TJ_NUM, TJ_STR, TJ_ARR, TJ_OBJ } tj_type;

typedef struct tj {
    tj_type type;
    double num;
    char *str; /* TJ_STR: bytes (may contain NUL), str_len */
    size_t str_len;
    struct tj **items; /* TJ_ARR / TJ_OBJ values */
    char **keys;       /* TJ_OBJ */
    size_t n;
} tj;

static void tj_free(tj *v) {
    if (!v) return;
    for (size_t i = 0; i < v->n; i++) {
        tj_free(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

static const char *tj_ws(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    return p;
}

static size_t tj_utf8(uint32_t cp, char *o) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 63)); o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 63));
    o[2] = (char)(0x80 | ((cp >> 6) & 63)); o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

static const char *tj_parse_string(const char *p, char **out, size_t *out_len) {
    /* p at the opening quote */
    size_t cap = 64, n = 0;
    char *s = malloc(cap);
    p++;
    while (s && *p && *p != '"') {
        if (n + 8 >= cap) s = realloc(s, cap *= 2);
        if (!s) break;
        if (*p != '\\') { s[n++] = *p++; continue; }
        p++;
        char c = *p++;
        switch (c) {
        case 'n': s[n++] = '\n'; break;
        case 't': s[n++] = '\t'; break;
        case 'r': s[n++] = '\r'; break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'u': {
            uint32_t cp = (uint32_t)strtoul((char[5]){p[0], p[1], p[2], p[3], 0}, NULL, 16);
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && p[0] == '\\' && p[1] == 'u') {
                uint32_t lo = (uint32_t)strtoul((char[5]){p[2], p[3], p[4], p[5], 0}, NULL, 16);
                if (lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
            }
            n += tj_utf8(cp, s + n);
            break;
        }
        default: s[n++] = c; break;
        }
    }
    if (!s || *p != '"') { free(s); return NULL; }
    s[n] = 0;
    *out = s;
    *out_len = n;
    return p + 1;
}

static const char *tj_parse_value(const char *p, tj **out);

static int tj_push(tj *v, tj *item, char *key) {
    tj **items = realloc(v->items, (v->n + 1) * sizeof(tj *));
    if (!items) return 0;
    v->items = items;
    if (v->type == TJ_OBJ) {
        char **keys = realloc(v->keys, (v->n + 1) * sizeof(char *));
        if (!keys) return 0;
        v->keys = keys;
        v->keys[v->n] = key;
    }
    v->items[v->n++] = item;
    return 1;
}

static const char *tj_parse_value(const char *p, tj **out) {
    p = tj_ws(p);
    tj *v = calloc(1, sizeof(tj));
    if (!v) return NULL;
    *out = v;
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        v->type = *p == '{' ? TJ_OBJ : TJ_ARR;
        p = tj_ws(p + 1);
        if (*p == close) return p + 1;
        for (;;) {
            char *key = NULL;
            size_t kl;
            if (v->type == TJ_OBJ) {
                if (*p != '"' || !(p = tj_parse_string(p, &key, &kl))) return NULL;
                p = tj_ws(p);
                if (*p++ != ':') { free(key); return NULL; }
            }
            tj *item = NULL;
            p = tj_parse_value(p, &item);
            if (!p || !tj_push(v, item, key)) { tj_free(item); free(key); return NULL; }
            p = tj_ws(p);
            if (*p == ',') { p = tj_ws(p + 1); continue; }
            if (*p == close) return p + 1;
            return NULL;
        }
    }
    if (*p == '"') {
        v->type = TJ_STR;
        return tj_parse_string(p, &v->str, &v->str_len);
    }
    if (!strncmp(p, "true", 4)) { v->type = TJ_BOOL; v->num = 1; return p + 4; }
    if (!strncmp(p, "false", 5)) { v->type = TJ_BOOL; return p + 5; }
    if (!strncmp(p, "null", 4)) { v->type = TJ_NULL; return p + 4; }
    char *end;
    v->type = TJ_NUM;
    v->num = strtod(p, &end);
    return end == p ? NULL : end;
}

/* Parses one JSON text; NULL on error. */
static tj *tj_parse(const char *text) {
    tj *v = NULL;
    if (!tj_parse_value(text, &v)) { tj_free(v); return NULL; }
    return v;
}

static const tj *tj_get(const tj *o, const char *key) {
    if (!o || o->type != TJ_OBJ) return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], key)) return o->items[i];
    return NULL;
}

/* Hex string -> bytes (malloc'd, NUL-terminated); *n = byte count. */
static char *tj_unhex(const char *hex, size_t *n) {
    size_t len = strlen(hex) / 2;
    char *b = malloc(len + 1);
    for (size_t i = 0; b && i < len; i++) b[i] = (char)strtoul((char[3]){hex[2 * i], hex[2 * i + 1], 0}, NULL, 16);
    if (b) b[len] = 0;
    *n = len;
    return b;
}

#endif
