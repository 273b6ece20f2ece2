/* test_json.c — the strict JSON parser and writer: RFC 8259 values, escapes and surrogate pairs,
 * every class of invalid input with its line:col, depth and memory limits, invalid UTF-8, huge
 * numbers, the builder, JSON.stringify-compatible escaping, allocation failures, arbitrary bytes. */
#include "json.h"

#include "faults.h"
#include "test.h"

#include <math.h>

static int parse(const char *s, json_doc **d, hearth_error *e) { return json_parse(d, s, strlen(s), NULL, e); }

static char *write_str(const json_value *v, int indent) {
    char *out = NULL;
    size_t n;
    hearth_error e;
    if (json_write(v, indent, &out, &n, &e)) return NULL;
    return out;
}

static void test_values(void) {
    json_doc *d;
    hearth_error e;
    const char *src = " {\"a\": [1, -0, 2.5e3, -1.25E-2, true, false, null], \"s\": \"x\\ty\\n\\\"q\\\" \\\\ \\/\", "
                      "\"u\": \"\\u00e9\\ud83e\\udd99\\u0000z\", \"o\": {}, \"e\": []}\n";
    CHECK_EQ_INT(parse(src, &d, &e), HEARTH_OK);
    const json_value *r = json_root(d);
    CHECK_EQ_INT(r->type, JSON_OBJECT);
    CHECK_EQ_INT(r->len, 5);
    const json_value *a = json_get(r, "a");
    CHECK(a && a->type == JSON_ARRAY && a->len == 7);
    if (a && a->len == 7) {
        CHECK(a->items[0].type == JSON_NUMBER && a->items[0].number == 1);
        CHECK(a->items[1].number == 0 && signbit(a->items[1].number));
        CHECK(a->items[2].number == 2500);
        CHECK(a->items[3].number == -0.0125);
        CHECK(a->items[4].type == JSON_BOOL && a->items[4].boolean == 1);
        CHECK(a->items[5].type == JSON_BOOL && a->items[5].boolean == 0);
        CHECK(a->items[6].type == JSON_NULL);
    }
    const json_value *s = json_get(r, "s");
    CHECK(s && s->len == 11 && memcmp(s->str, "x\ty\n\"q\" \\ /", 11) == 0);
    const json_value *u = json_get(r, "u");
    /* é = c3 a9, 🦙 (U+1F999) = f0 9f a6 99, then an embedded NUL and z */
    CHECK(u && u->len == 8 && memcmp(u->str, "\xc3\xa9\xf0\x9f\xa6\x99\0z", 8) == 0);
    CHECK(json_get(r, "o")->type == JSON_OBJECT && json_get(r, "o")->len == 0);
    CHECK(json_get(r, "e")->type == JSON_ARRAY && json_get(r, "e")->len == 0);
    CHECK(json_get(r, "missing") == NULL);
    CHECK(json_get(a, "a") == NULL); /* not an object */
    json_free(d);

    /* scalars at the top level, BOM skipped, duplicate keys: json_get finds the last */
    CHECK_EQ_INT(parse("\xef\xbb\xbf  \"top\" ", &d, &e), HEARTH_OK);
    CHECK(json_root(d)->type == JSON_STRING && !strcmp(json_root(d)->str, "top"));
    json_free(d);
    CHECK_EQ_INT(parse("{\"k\": 1, \"k\": 2}", &d, &e), HEARTH_OK);
    CHECK(json_get(json_root(d), "k")->number == 2);
    CHECK_EQ_INT(json_root(d)->len, 2);
    json_free(d);
}

static void test_numbers(void) {
    json_doc *d;
    hearth_error e;
    /* like JSON.parse: overflow to infinity, underflow to zero, long integers rounded to a double */
    CHECK_EQ_INT(parse("[1e400, -1e400, 1e-400, 123456789012345678901234567890, 9007199254740993, 0.1]", &d, &e), HEARTH_OK);
    const json_value *a = json_root(d);
    CHECK(isinf(a->items[0].number) && a->items[0].number > 0);
    CHECK(isinf(a->items[1].number) && a->items[1].number < 0);
    CHECK(a->items[2].number == 0);
    CHECK(a->items[3].number == 1.2345678901234568e29);
    CHECK(a->items[4].number == 9007199254740992.0); /* 2^53 + 1 rounds to even */
    CHECK(a->items[5].number == 0.1);
    char *w = write_str(a, 0);
    CHECK_MSG(w && !strcmp(w, "[null,null,0,1.2345678901234568e+29,9007199254740992,0.1]"), "%s", w ? w : "(null)");
    h_free(w);
    json_free(d);
    /* a 5000-digit number is still one number */
    char big[5100] = "[";
    memset(big + 1, '7', 5000);
    strcpy(big + 5001, "]");
    CHECK_EQ_INT(parse(big, &d, &e), HEARTH_OK);
    CHECK(isinf(json_root(d)->items[0].number));
    json_free(d);
}

static void expect_error(const char *src, size_t len, int status, const char *msg) {
    json_doc *d = (json_doc *)1;
    hearth_error e = {0};
    int rc = json_parse(&d, src, len, NULL, &e);
    CHECK_MSG(rc == status, "'%.*s': status %d, expected %d (%s)", (int)len, src, rc, status, e.msg);
    CHECK(d == NULL);
    CHECK_STR_CONTAINS(e.msg, msg);
}

#define EXPECT_ERROR(src, status, msg) expect_error(src, sizeof(src) - 1, status, msg)

static void test_invalid(void) {
    EXPECT_ERROR("", HEARTH_ERR_FORMAT, "json: unexpected end of input at line 1 col 1");
    EXPECT_ERROR("   ", HEARTH_ERR_FORMAT, "unexpected end of input at line 1 col 4");
    EXPECT_ERROR("[1,]", HEARTH_ERR_FORMAT, "expected a value) at line 1 col 4");
    EXPECT_ERROR("[1 2]", HEARTH_ERR_FORMAT, "expected ',' or ']' at line 1 col 4");
    EXPECT_ERROR("{\"a\":1,}", HEARTH_ERR_FORMAT, "expected a string key at line 1 col 8");
    EXPECT_ERROR("{a: 1}", HEARTH_ERR_FORMAT, "expected a string key at line 1 col 2");
    EXPECT_ERROR("{\n  \"a\": 1,\n  \"b\" 2\n}", HEARTH_ERR_FORMAT, "expected ':' after key at line 3 col 7");
    EXPECT_ERROR("{\"a\": 1 \"b\": 2}", HEARTH_ERR_FORMAT, "expected ',' or '}' at line 1 col 9");
    EXPECT_ERROR("01", HEARTH_ERR_FORMAT, "leading zero");
    EXPECT_ERROR("-", HEARTH_ERR_FORMAT, "invalid number");
    EXPECT_ERROR("1.", HEARTH_ERR_FORMAT, "digits expected after '.'");
    EXPECT_ERROR("1e+", HEARTH_ERR_FORMAT, "digits expected in exponent");
    EXPECT_ERROR(".5", HEARTH_ERR_FORMAT, "unexpected character");
    EXPECT_ERROR("+1", HEARTH_ERR_FORMAT, "unexpected character");
    EXPECT_ERROR("NaN", HEARTH_ERR_FORMAT, "unexpected character");
    EXPECT_ERROR("Infinity", HEARTH_ERR_FORMAT, "unexpected character");
    EXPECT_ERROR("tru", HEARTH_ERR_FORMAT, "unexpected character");
    EXPECT_ERROR("'single'", HEARTH_ERR_FORMAT, "unexpected character");
    EXPECT_ERROR("[1] /* comment */", HEARTH_ERR_FORMAT, "unexpected content after the value at line 1 col 5");
    EXPECT_ERROR("1 2", HEARTH_ERR_FORMAT, "unexpected content after the value");
    EXPECT_ERROR("\"abc", HEARTH_ERR_FORMAT, "unterminated string at line 1 col 1");
    EXPECT_ERROR("\"a\\", HEARTH_ERR_FORMAT, "unterminated string");
    EXPECT_ERROR("\"tab\there\"", HEARTH_ERR_FORMAT, "control character in string");
    EXPECT_ERROR("\"\\q\"", HEARTH_ERR_FORMAT, "invalid escape");
    EXPECT_ERROR("\"\\u12\"", HEARTH_ERR_FORMAT, "invalid \\u escape");
    EXPECT_ERROR("\"\\ud800\"", HEARTH_ERR_FORMAT, "lone high surrogate");
    EXPECT_ERROR("\"\\ud800\\u0041\"", HEARTH_ERR_FORMAT, "lone high surrogate");
    EXPECT_ERROR("\"\\udc00\"", HEARTH_ERR_FORMAT, "lone low surrogate");
    EXPECT_ERROR("\"\xff\"", HEARTH_ERR_FORMAT, "invalid UTF-8 in string at line 1 col 2");
    EXPECT_ERROR("\"\xc0\xaf\"", HEARTH_ERR_FORMAT, "invalid UTF-8");     /* overlong '/' */
    EXPECT_ERROR("\"\xed\xa0\x80\"", HEARTH_ERR_FORMAT, "invalid UTF-8"); /* encoded surrogate */
    EXPECT_ERROR("\"\xf4\x90\x80\x80\"", HEARTH_ERR_FORMAT, "invalid UTF-8"); /* above U+10FFFF */
    EXPECT_ERROR("\"\xe4\xbd\"", HEARTH_ERR_FORMAT, "invalid UTF-8");     /* truncated */
    EXPECT_ERROR("{\"\xff\": 1}", HEARTH_ERR_FORMAT, "invalid UTF-8");
    EXPECT_ERROR("\xff", HEARTH_ERR_FORMAT, "invalid UTF-8 at line 1 col 1");
    EXPECT_ERROR("[\"a\",\n\"\xe2\x82\xac\", x]", HEARTH_ERR_FORMAT, "at line 2 col 6"); /* columns count code points */
    expect_error("[1, \0]", 6, HEARTH_ERR_FORMAT, "unexpected character");
    json_doc *d;
    hearth_error e;
    CHECK_EQ_INT(json_parse(&d, NULL, 3, NULL, &e), HEARTH_ERR_ARG);
}

static void test_depth(void) {
    json_doc *d;
    hearth_error e;
    char buf[300];
    for (int depth = 127; depth <= 129; depth++) {
        int i = 0;
        for (int k = 0; k < depth; k++) buf[i++] = '[';
        for (int k = 0; k < depth; k++) buf[i++] = ']';
        buf[i] = 0;
        int rc = parse(buf, &d, &e);
        CHECK_EQ_INT(rc, depth <= 128 ? HEARTH_OK : HEARTH_ERR_RANGE);
        if (!rc) json_free(d);
        else CHECK_STR_CONTAINS(e.msg, "nesting deeper than 128 levels at line 1 col 129");
    }
    /* a million open brackets: rejected at the limit, no stack exhaustion */
    size_t n = 1000000;
    char *deep = malloc(n);
    memset(deep, '[', n);
    CHECK_EQ_INT(json_parse(&d, deep, n, NULL, &e), HEARTH_ERR_RANGE);
    memset(deep, '{', n);
    CHECK_EQ_INT(json_parse(&d, deep, n, NULL, &e), HEARTH_ERR_FORMAT); /* '{' is not a key */
    free(deep);
    json_limits lim = {.max_depth = 3};
    CHECK_EQ_INT(json_parse(&d, "[[[1]]]", 7, &lim, &e), HEARTH_OK);
    json_free(d);
    CHECK_EQ_INT(json_parse(&d, "[[[[1]]]]", 9, &lim, &e), HEARTH_ERR_RANGE);
}

static void test_memory_limit(void) {
    /* 200k small strings: fine by default, over a 1 MiB DOM budget with a clear error */
    size_t n = 200000;
    char *s = malloc(n * 4 + 2);
    size_t k = 0;
    s[k++] = '[';
    for (size_t i = 0; i < n; i++) {
        memcpy(s + k, "\"a\",", 4);
        k += 4;
    }
    s[k - 1] = ']';
    json_doc *d;
    hearth_error e;
    CHECK_EQ_INT(json_parse(&d, s, k, NULL, &e), HEARTH_OK);
    CHECK_EQ_INT(json_root(d)->len, n);
    json_free(d);
    json_limits lim = {.max_memory = 1 << 20};
    CHECK_EQ_INT(json_parse(&d, s, k, &lim, &e), HEARTH_ERR_RANGE);
    CHECK_STR_CONTAINS(e.msg, "more than 1048576 bytes");
    free(s);
}

static void test_writer(void) {
    json_doc *d;
    hearth_error e;
    const char *src = "{\"k\":[1,\"a\\u0001\\u001f\\b\\f\\n\\r\\t\\\"\\\\/\",{\"x\":null,\"y\":[]},{}],"
                      "\"u\":\"\xe2\x80\xa8\xf0\x9f\xa6\x99\",\"n\":-2.5e-7}";
    CHECK_EQ_INT(parse(src, &d, &e), HEARTH_OK);
    char *w = write_str(json_root(d), 0);
    /* escapes as JSON.stringify writes them: short forms, \u00XX lowercase, '/' and U+2028 raw */
    const char *exp = "{\"k\":[1,\"a\\u0001\\u001f\\b\\f\\n\\r\\t\\\"\\\\/\",{\"x\":null,\"y\":[]},{}],"
                      "\"u\":\"\xe2\x80\xa8\xf0\x9f\xa6\x99\",\"n\":-2.5e-7}";
    CHECK_MSG(w && !strcmp(w, exp), "%s", w ? w : "(null)");
    h_free(w);
    w = write_str(json_root(d), 2);
    const char *pretty = "{\n  \"k\": [\n    1,\n    \"a\\u0001\\u001f\\b\\f\\n\\r\\t\\\"\\\\/\",\n    {\n      \"x\": null,\n"
                         "      \"y\": []\n    },\n    {}\n  ],\n  \"u\": \"\xe2\x80\xa8\xf0\x9f\xa6\x99\",\n  \"n\": -2.5e-7\n}";
    CHECK_MSG(w && !strcmp(w, pretty), "%s", w ? w : "(null)");
    /* the pretty form parses back to the same compact form */
    json_doc *d2;
    CHECK_EQ_INT(parse(w, &d2, &e), HEARTH_OK);
    char *w2 = write_str(json_root(d2), 0);
    CHECK(w2 && !strcmp(w2, exp));
    h_free(w2);
    json_free(d2);
    h_free(w);
    json_free(d);

    /* ensure_ascii: UTF-16 escapes like Python's json.dumps */
    char *buf = NULL;
    size_t len = 0, cap = 0;
    CHECK_EQ_INT(json_append_quoted(&buf, &len, &cap, 1000, "\x7f\xc3\xa9\xf0\x9f\xa6\x99", 7, 1), HEARTH_OK);
    CHECK_MSG(buf && !strcmp(buf, "\"\\u007f\\u00e9\\ud83e\\udd99\""), "%s", buf);
    CHECK_EQ_INT(json_append_quoted(&buf, &len, &cap, 20, "0123456789abcdef", 16, 0), HEARTH_ERR_RANGE);
    h_free(buf);
}

static void test_builder(void) {
    json_doc *d;
    hearth_error e;
    CHECK_EQ_INT(json_doc_new(&d, &e), HEARTH_OK);
    json_value *root = json_doc_root_mut(d);
    json_set_object(root);
    json_value *msgs = json_object_add(d, root, "messages");
    json_set_array(msgs);
    for (int i = 0; i < 20; i++) { /* grows the array several times */
        json_value *m = json_array_add(d, msgs);
        json_set_object(m);
        json_value *r = json_object_add(d, m, "role");
        CHECK_EQ_INT(json_set_string(d, r, i % 2 ? "assistant" : "user", i % 2 ? 9 : 4), HEARTH_OK);
        json_set_number(json_object_add(d, m, "i"), i);
    }
    json_set_bool(json_object_add(d, root, "flag"), 1);
    json_set_null(json_object_add(d, root, "nothing"));
    CHECK(json_object_add(d, msgs, "x") == NULL); /* not an object */
    CHECK(json_array_add(d, root) == NULL);       /* not an array */
    char *w = write_str(root, 0);
    CHECK(w && !strncmp(w, "{\"messages\":[{\"role\":\"user\",\"i\":0},{\"role\":\"assistant\",\"i\":1},", 62));
    CHECK(w && strstr(w, "{\"role\":\"assistant\",\"i\":19}],\"flag\":true,\"nothing\":null}"));
    json_doc *c;
    CHECK_EQ_INT(json_doc_new(&c, &e), HEARTH_OK);
    CHECK_EQ_INT(json_copy(c, json_doc_root_mut(c), root), HEARTH_OK);
    json_free(d); /* the copy owns its own memory */
    char *w2 = write_str(json_root(c), 0);
    CHECK(w && w2 && !strcmp(w, w2));
    h_free(w);
    h_free(w2);
    json_free(c);
}

static void test_alloc_failures(void) {
    const char *src = "{\"messages\": [{\"role\": \"user\", \"content\": \"\\u00e9 hello\"}, [1, 2, [3, {\"x\": null}]]]}";
    int ok = 0;
    for (size_t n = 1; n < 200 && !ok; n++) {
        fault_alloc fa;
        fault_alloc_install(&fa, n);
        json_doc *d;
        hearth_error e;
        int rc = json_parse(&d, src, strlen(src), NULL, &e);
        if (!rc) {
            char *w = NULL;
            size_t wl;
            rc = json_write(json_root(d), 1, &w, &wl, &e);
            h_free(w);
            json_free(d);
            ok = rc == HEARTH_OK && fa.n_failed == 0;
        }
        CHECK_MSG(rc == HEARTH_OK || rc == HEARTH_ERR_NOMEM, "allocation %zu: status %d", n, rc);
        fault_alloc_uninstall(&fa);
        CHECK_MSG(fa.live == 0, "allocation %zu failing leaked %zu bytes", n, fa.live);
    }
    CHECK(ok);
}

static void test_arbitrary_bytes(void) {
    /* deterministic pseudo-random inputs built from JSON fragments and raw bytes: never crash,
     * always either a document or an error message */
    static const char *frag[] = {"[", "]", "{", "}", ",", ":", "\"", "\\", "u", "d800", "1", "-", "e", ".",
                                 "true", "null", " ", "\n", "\xff", "\xc3", "\xa9", "\"k\"", "0", "\\u"};
    uint64_t st = 0x9e3779b97f4a7c15ull;
    int parsed = 0;
    for (int it = 0; it < 20000; it++) {
        char buf[256];
        size_t n = 0;
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        int parts = (int)(st >> 59) + 1;
        for (int k = 0; k < parts && n < 200; k++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            const char *f = frag[(st >> 33) % H_ARRAY_LEN(frag)];
            size_t l = strlen(f);
            memcpy(buf + n, f, l);
            n += l;
        }
        json_doc *d;
        hearth_error e = {0};
        int rc = json_parse(&d, buf, n, NULL, &e);
        if (!rc) {
            parsed++;
            json_free(d);
        } else {
            CHECK(e.msg[0] == 'j');
        }
    }
    CHECK(parsed > 100);
}

int main(void) {
    RUN(test_values);
    RUN(test_numbers);
    RUN(test_invalid);
    RUN(test_depth);
    RUN(test_memory_limit);
    RUN(test_writer);
    RUN(test_builder);
    RUN(test_alloc_failures);
    RUN(test_arbitrary_bytes);
    return test_summary();
}
