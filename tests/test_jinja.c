/* test_jinja.c — the Jinja interpreter: every construct in tests/data/chat/jinja_cases.json (whose
 * expected outputs tests/js/chat.test.mjs checks against @huggingface/jinja), error messages with
 * positions, the limits (steps, output, memory, depth, template size), strftime_now with a given
 * time, invalid UTF-8, allocation failures and arbitrary template bytes. */
#include "jinja.h"
#include "json.h"

#include "faults.h"
#include "test.h"

#include <stdint.h>


/* renders tmpl with vars (JSON text or NULL); returns the status, *out h_malloc'ed */
static int render_opts(const char *tmpl, const char *vars, const jinja_render_opts *o, char **out, hearth_error *err) {
    jinja_template *t = NULL;
    json_doc *d = NULL;
    *out = NULL;
    int rc = jinja_parse(&t, tmpl, strlen(tmpl), err);
    if (!rc && vars) rc = json_parse(&d, vars, strlen(vars), NULL, err);
    if (!rc) rc = jinja_render(t, d ? json_root(d) : NULL, o, out, NULL, err);
    json_free(d);
    jinja_template_free(t);
    return rc;
}

static int render(const char *tmpl, const char *vars, char **out, hearth_error *err) {
    return render_opts(tmpl, vars, NULL, out, err);
}

static void check_render(const char *tmpl, const char *vars, const char *expected) {
    char *out;
    hearth_error e = {0};
    int rc = render(tmpl, vars, &out, &e);
    CHECK_MSG(rc == HEARTH_OK, "%s: %s", tmpl, e.msg);
    if (!rc) CHECK_MSG(!strcmp(out, expected), "%s\n  got:      '%s'\n  expected: '%s'", tmpl, out, expected);
    h_free(out);
}

static void check_error(const char *tmpl, const char *vars, int status, const char *msg) {
    char *out;
    hearth_error e = {0};
    int rc = render(tmpl, vars, &out, &e);
    CHECK_MSG(rc == status, "%s: status %d (%s), expected %d", tmpl, rc, e.msg, status);
    CHECK(out == NULL);
    CHECK_STR_CONTAINS(e.msg, msg);
    h_free(out);
}

static void test_cases_file(void) {
    size_t len;
    char *text = test_read_file("tests/data/chat/jinja_cases.json", &len);
    CHECK_MSG(text != NULL, "cannot read tests/data/chat/jinja_cases.json (run from the repository root)");
    if (!text) return;
    json_doc *d;
    hearth_error e;
    CHECK_EQ_INT(json_parse(&d, text, len, NULL, &e), HEARTH_OK);
    free(text);
    const json_value *cases = json_root(d);
    CHECK(cases->type == JSON_ARRAY && cases->len >= 50);
    int n_ok = 0, n_err = 0;
    for (size_t i = 0; i < cases->len; i++) {
        const json_value *c = &cases->items[i];
        const json_value *name = json_get(c, "name"), *tmpl = json_get(c, "template"), *vars = json_get(c, "vars");
        const json_value *expected = json_get(c, "expected"), *error = json_get(c, "error");
        jinja_template *t = NULL;
        char *out = NULL;
        size_t out_len = 0;
        hearth_error err = {0};
        int rc = jinja_parse(&t, tmpl->str, tmpl->len, &err);
        if (!rc) rc = jinja_render(t, vars, NULL, &out, &out_len, &err);
        if (expected) {
            CHECK_MSG(rc == HEARTH_OK, "%s: %s", name->str, err.msg);
            if (!rc)
                CHECK_MSG(out_len == expected->len && !memcmp(out, expected->str, out_len),
                          "%s\n  got:      '%s'\n  expected: '%s'", name->str, out, expected->str);
            n_ok += rc == 0;
        } else {
            CHECK_MSG(rc != HEARTH_OK, "%s: rendered '%s' but should fail", name->str, out ? out : "");
            CHECK_MSG(strstr(err.msg, error->str) != NULL, "%s: message '%s' lacks '%s'", name->str, err.msg, error->str);
            n_err++;
        }
        h_free(out);
        jinja_template_free(t);
    }
    CHECK(n_ok >= 40 && n_err >= 8);
    json_free(d);
}

static void test_errors(void) {
    check_error("{{ raise_exception('Only user and assistant roles are supported!') }}", NULL, HEARTH_ERR_ARG,
                "jinja: template error: Only user and assistant roles are supported! (raise_exception at line 1 col 4)");
    check_error("line1\nline2 {{ x | frobnicate }}", NULL, HEARTH_ERR_UNSUPPORTED,
                "jinja: unsupported filter 'frobnicate' at line 2 col 14");
    check_error("{{ 5 | upper }}", NULL, HEARTH_ERR_ARG, "filter 'upper' cannot be applied to IntegerValue at line 1 col 8");
    check_error("{% if x is frob %}{% endif %}", NULL, HEARTH_ERR_UNSUPPORTED, "unsupported test 'frob' at line 1 col 12");
    check_error("{% include 'x.j2' %}", NULL, HEARTH_ERR_UNSUPPORTED, "unsupported statement 'include' at line 1 col 1");
    check_error("{% frob %}", NULL, HEARTH_ERR_FORMAT, "unexpected statement 'frob'");
    check_error("{% for x in y %}\n{% if x %}", NULL, HEARTH_ERR_FORMAT, "missing {% endif %} for the block opened at line 2 col 1");
    check_error("{{ 'a' + }}", NULL, HEARTH_ERR_FORMAT, "expected an expression but found '}}' at line 1 col 10");
    check_error("{{ (1, 2 }}", NULL, HEARTH_ERR_FORMAT, "expected ')'");
    check_error("{% endif %}", NULL, HEARTH_ERR_FORMAT, "unexpected statement 'endif'");
    check_error("{{ 'x' }", NULL, HEARTH_ERR_FORMAT, "expected '}}'");
    check_error("{# never closed", NULL, HEARTH_ERR_FORMAT, "missing end of comment tag");
    check_error("{{ '\\q' }}", NULL, HEARTH_ERR_FORMAT, "unexpected escaped character 'q'");
    check_error("{{ messages[0] + 1 }}", "{\"messages\": [{\"role\": \"user\"}]}", HEARTH_ERR_ARG,
                "unknown operator '+' between ObjectValue and IntegerValue at line 1 col 16");
    check_error("{% break %}", NULL, HEARTH_ERR_ARG, "outside a loop");
    check_error("{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", NULL, HEARTH_ERR_ARG, "takes not more than 1 argument");
    check_error("{% macro m(a) %}{% endmacro %}{{ m(b=2) }}", NULL, HEARTH_ERR_ARG, "takes no keyword argument 'b'");
}

static void test_limits(void) {
    /* four nested loops of 100: 10^8 iterations stop at the step limit with a clear error */
    const char *nested = "{% for a in range(100) %}{% for b in range(100) %}{% for c in range(100) %}"
                         "{% for d in range(100) %}x{% endfor %}{% endfor %}{% endfor %}{% endfor %}";
    char *out;
    hearth_error e;
    int rc = render(nested, NULL, &out, &e);
    CHECK_EQ_INT(rc, HEARTH_ERR_RANGE);
    CHECK_STR_CONTAINS(e.msg, "limit exceeded");
    jinja_render_opts o = jinja_default_opts();
    o.max_steps = 5000;
    CHECK_EQ_INT(render_opts(nested, NULL, &o, &out, &e), HEARTH_ERR_RANGE);
    CHECK_STR_CONTAINS(e.msg, "step limit exceeded (5000 steps) at line 1 col");
    o = jinja_default_opts();
    o.max_output = 100;
    CHECK_EQ_INT(render_opts("{% for i in range(1000) %}ab{% endfor %}", NULL, &o, &out, &e), HEARTH_ERR_RANGE);
    CHECK_STR_CONTAINS(e.msg, "output limit exceeded (100 bytes)");
    CHECK_EQ_INT(render_opts("{% for i in range(50) %}ab{% endfor %}", NULL, &o, &out, &e), HEARTH_OK);
    CHECK(out && strlen(out) == 100);
    h_free(out);
    /* quadratic string building hits the memory budget */
    o = jinja_default_opts();
    o.max_memory = 4 << 20;
    CHECK_EQ_INT(render_opts("{% set ns = namespace(s='') %}{% for i in range(100000) %}{% set ns.s = ns.s ~ 'abcdefghij' %}{% endfor %}",
                             NULL, &o, &out, &e),
                 HEARTH_ERR_RANGE);
    CHECK_STR_CONTAINS(e.msg, "memory limit exceeded");
    /* unbounded recursion and deep nesting */
    check_error("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", NULL, HEARTH_ERR_RANGE, "evaluation nested deeper than 200 levels");
    char deep[2100] = "{{ ";
    size_t k = 3;
    for (int i = 0; i < 1000; i++) deep[k++] = '(';
    deep[k++] = '1';
    for (int i = 0; i < 1000; i++) deep[k++] = ')';
    strcpy(deep + k, " }}");
    check_error(deep, NULL, HEARTH_ERR_RANGE, "template nested deeper than 100 levels");
    char deepif[12000] = "";
    for (int i = 0; i < 500; i++) strcat(deepif, "{% if 1 %}");
    check_error(deepif, NULL, HEARTH_ERR_RANGE, "nested deeper");
    check_error("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns | tojson }}", NULL, HEARTH_ERR_RANGE, "nested too deeply");
    check_error("{{ range(1000000000000) | length }}", NULL, HEARTH_ERR_RANGE, "exceeds the step limit");
    size_t big = (4u << 20) + 1;
    char *huge = malloc(big + 1);
    memset(huge, 'a', big);
    huge[big] = 0;
    jinja_template *t;
    CHECK_EQ_INT(jinja_parse(&t, huge, big, &e), HEARTH_ERR_RANGE);
    CHECK_STR_CONTAINS(e.msg, "exceeds the limit");
    /* just under the limit: 4 MiB of text renders to itself */
    CHECK_EQ_INT(jinja_parse(&t, huge, big - 1, &e), HEARTH_OK);
    size_t n = 0;
    CHECK_EQ_INT(jinja_render(t, NULL, NULL, &out, &n, &e), HEARTH_OK);
    CHECK_EQ_INT(n, big - 1);
    h_free(out);
    jinja_template_free(t);
    free(huge);
}

static void test_strftime(void) {
    jinja_render_opts o = jinja_default_opts();
    o.has_now = 1;
    o.now = 1700000000; /* 2023-11-14 22:13:20 UTC, a Tuesday */
    char *out;
    hearth_error e;
    CHECK_EQ_INT(render_opts("{{ strftime_now('%Y-%m-%d %H:%M:%S|%d %b %Y|%B %e|%a %A|%y %I%p %%|%Q') }}", NULL, &o, &out, &e), HEARTH_OK);
    CHECK_MSG(out && !strcmp(out, "2023-11-14 22:13:20|14 Nov 2023|November 14|Tue Tuesday|23 10PM %|%Q"), "%s", out);
    h_free(out);
    o.now = -1; /* one second before the epoch */
    CHECK_EQ_INT(render_opts("{{ strftime_now('%Y-%m-%d %H:%M:%S %A') }}", NULL, &o, &out, &e), HEARTH_OK);
    CHECK_MSG(out && !strcmp(out, "1969-12-31 23:59:59 Wednesday"), "%s", out);
    h_free(out);
    o.now = 951782400; /* 2000-02-29 00:00:00 UTC (leap day of a century leap year) */
    CHECK_EQ_INT(render_opts("{{ strftime_now('%d %b %Y') }}", NULL, &o, &out, &e), HEARTH_OK);
    CHECK_MSG(out && !strcmp(out, "29 Feb 2000"), "%s", out);
    h_free(out);
    /* without a time, strftime_now is undefined and Llama 3.x templates take their default date */
    check_render("{% if strftime_now is defined %}{{ strftime_now('%Y') }}{% else %}26 Jul 2024{% endif %}", NULL, "26 Jul 2024");
}

static void test_utf8(void) {
    /* invalid bytes in the template and in variables become U+FFFD, like a TextDecoder */
    check_render("a\xff{{ s }}\xe2\x82", "{\"s\": \"ok\"}", "a\xef\xbf\xbdok\xef\xbf\xbd");
    json_doc *d;
    hearth_error e;
    CHECK_EQ_INT(json_doc_new(&d, &e), HEARTH_OK);
    json_value *root = json_doc_root_mut(d);
    json_set_object(root);
    json_set_string(d, json_object_add(d, root, "s"), "x\xc3(\xf0\x9f\x98", 6);
    jinja_template *t;
    CHECK_EQ_INT(jinja_parse(&t, "{{ s }}|{{ s | length }}", 24, &e), HEARTH_OK);
    char *out;
    CHECK_EQ_INT(jinja_render(t, root, NULL, &out, NULL, &e), HEARTH_OK);
    CHECK_MSG(out && !strcmp(out, "x\xef\xbf\xbd(\xef\xbf\xbd|4"), "%s", out);
    h_free(out);
    jinja_template_free(t);
    json_free(d);
    /* NUL bytes pass through (the output length says where the text ends) */
    CHECK_EQ_INT(jinja_parse(&t, "a\0b{{ 'c' }}", 12, &e), HEARTH_OK);
    size_t n;
    CHECK_EQ_INT(jinja_render(t, NULL, NULL, &out, &n, &e), HEARTH_OK);
    CHECK(n == 4 && !memcmp(out, "a\0bc", 4));
    h_free(out);
    jinja_template_free(t);
}

static void test_vars(void) {
    check_render("{{ x }}{{ y }}", "{\"x\": 1.0, \"y\": 2.5}", "12.5"); /* JSON 1.0 is the integer 1, as in JavaScript */
    check_render("{% for k in d %}{{ k }}{% endfor %}", "{\"d\": {\"b\": 1, \"10\": 2, \"a\": 3, \"2\": 4}}", "210ba");
    check_render("{{ true }}{{ x }}", "{\"true\": false, \"x\": null}", "false");
    char *out;
    hearth_error e;
    jinja_template *t;
    json_doc *d;
    CHECK_EQ_INT(jinja_parse(&t, "x", 1, &e), HEARTH_OK);
    CHECK_EQ_INT(json_parse(&d, "[1]", 3, NULL, &e), HEARTH_OK);
    CHECK_EQ_INT(jinja_render(t, json_root(d), NULL, &out, NULL, &e), HEARTH_ERR_ARG);
    json_free(d);
    CHECK_EQ_INT(jinja_render(NULL, NULL, NULL, &out, NULL, &e), HEARTH_ERR_ARG);
    jinja_template_free(t);
    jinja_template_free(NULL);
}

static const char *qwen3_like =
    "{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}"
    "{%- for message in messages[::-1] %}{%- set index = (messages|length - 1) - loop.index0 %}"
    "{%- if ns.multi_step_tool and message.role == \"user\" and message.content is string %}"
    "{%- set ns.multi_step_tool = false %}{%- set ns.last_query_index = index %}{%- endif %}{%- endfor %}"
    "{%- for message in messages %}{%- if '</think>' in message.content %}"
    "{%- set c = message.content.split('</think>')[-1].lstrip('\\n') %}{%- else %}{%- set c = message.content %}{%- endif %}"
    "{{- '<|im_start|>' + message.role + '\\n' + c | trim + '<|im_end|>\\n' }}{%- endfor %}"
    "{%- macro gen(p) %}{{ p }}{% endmacro %}{%- if add_generation_prompt %}{{- gen('<|im_start|>assistant\\n') }}{%- endif %}"
    "{{ ns.last_query_index }}{{ tools | tojson(indent=2) }}";

static void test_alloc_failures(void) {
    const char *vars = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi \\u00e9\"}, {\"role\": \"assistant\", "
                       "\"content\": \"<think>x</think>\\n\\nyo\"}, {\"role\": \"user\", \"content\": \"again\"}], "
                       "\"add_generation_prompt\": true, \"tools\": [{\"name\": \"f\", \"p\": [1, 2]}]}";
    json_doc *d;
    hearth_error e;
    CHECK_EQ_INT(json_parse(&d, vars, strlen(vars), NULL, &e), HEARTH_OK);
    char *expected = NULL;
    CHECK_EQ_INT(render(qwen3_like, vars, &expected, &e), HEARTH_OK);
    int ok = 0;
    for (size_t n = 1; n < 5000 && !ok; n++) {
        fault_alloc fa;
        fault_alloc_install(&fa, n);
        jinja_template *t = NULL;
        char *out = NULL;
        int rc = jinja_parse(&t, qwen3_like, strlen(qwen3_like), &e);
        if (!rc) rc = jinja_render(t, json_root(d), NULL, &out, NULL, &e);
        jinja_template_free(t);
        if (!rc) {
            CHECK(expected && !strcmp(out, expected));
            ok = fa.n_failed == 0;
        }
        h_free(out);
        CHECK_MSG(rc == HEARTH_OK || rc == HEARTH_ERR_NOMEM, "allocation %zu: status %d (%s)", n, rc, e.msg);
        fault_alloc_uninstall(&fa);
        CHECK_MSG(fa.live == 0, "allocation %zu failing leaked %zu bytes", n, fa.live);
    }
    CHECK(ok);
    CHECK(expected && strstr(expected, "<|im_start|>assistant\nyo<|im_end|>\n<|im_start|>user\nagain<|im_end|>\n<|im_start|>assistant\n2[\n  {\n    \"name\": \"f\","));
    h_free(expected);
    json_free(d);
}

static void test_arbitrary_templates(void) {
    /* deterministic pseudo-random templates from Jinja fragments and raw bytes: each either
     * renders within the limits or fails with a "jinja: " message; never crashes or leaks */
    static const char *frag[] = {
        "{{", "}}", "{%", "%}", "{#", "#}", "{%-", "-%}", "{{-", "-}}", "if ", "elif ", "else", "endif", "for ",
        " in ", "endfor", "set ", "endset", "macro ", "endmacro", "call ", "endcall", "filter ", "endfilter",
        "x", "y", "ns", "loop", "messages", "namespace(", "range(", "(", ")", "[", "]", "{", "}", ":", ",", ".",
        "'", "\"", "|", "~", "+", "-", "*", "**", "//", "%", "==", "!=", "<", " is ", " not ", " and ", " or ",
        "1", "0", "-1", "2.5", "'s'", "tojson", "trim", "length", "items", "join", "default", "selectattr",
        "break", "continue", "\n", " ", "\xff", "\xe2\x80\xa8", "\\", "=", "caller()", "raise_exception(", "x.y",
        "[::-1]", "[1:]", "generation", "endgeneration", "true", "none", "defined", "string", "mapping"};
    const char *vars = "{\"x\": [1, 2, {\"a\": \"b\"}], \"y\": \"str\", \"messages\": [{\"role\": \"user\", \"content\": \"c\"}]}";
    json_doc *d;
    hearth_error e;
    CHECK_EQ_INT(json_parse(&d, vars, strlen(vars), NULL, &e), HEARTH_OK);
    jinja_render_opts o = jinja_default_opts();
    o.max_steps = 20000;
    o.max_output = 1 << 16;
    o.max_memory = 8 << 20;
    o.max_depth = 60;
    uint64_t st = 0x243f6a8885a308d3ull;
    int rendered = 0, parsed = 0;
    for (int it = 0; it < 6000; it++) {
        char buf[600];
        size_t n = 0;
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        int parts = (int)(st >> 58) + 1;
        for (int k = 0; k < parts; k++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            const char *f = frag[(st >> 33) % H_ARRAY_LEN(frag)];
            size_t l = strlen(f);
            if (n + l >= sizeof buf) break;
            memcpy(buf + n, f, l);
            n += l;
        }
        jinja_template *t = NULL;
        char *out = NULL;
        hearth_error err = {0};
        int rc = jinja_parse(&t, buf, n, &err);
        if (!rc) {
            parsed++;
            rc = jinja_render(t, json_root(d), &o, &out, NULL, &err);
            if (!rc) rendered++;
        }
        if (rc) CHECK_MSG(!strncmp(err.msg, "jinja: ", 7), "'%.*s': %s", (int)n, buf, err.msg);
        h_free(out);
        jinja_template_free(t);
    }
    CHECK(parsed > 200 && rendered > 100);
    json_free(d);
}

int main(void) {
    RUN(test_cases_file);
    RUN(test_errors);
    RUN(test_limits);
    RUN(test_strftime);
    RUN(test_utf8);
    RUN(test_vars);
    RUN(test_alloc_failures);
    RUN(test_arbitrary_templates);
    return test_summary();
}
