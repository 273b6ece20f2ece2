/* test_limits.c — resource bounds (issue 5): a prompt longer than the context, max_tokens beyond
 * the context, 10 MB of input text through both tokenizer kinds, a 4-level nested chat-template
 * loop, and deeply nested / huge JSON each end in a clear status or a documented truncation, with
 * memory measured by the counting allocator (bounds stated below). No timing assertions: a run
 * that does not terminate fails by the test runner's patience; times are in docs/RELIABILITY.md. */
#include "test.h"

#include "chat.h"
#include "faults.h"
#include "gguf_writer.h"
#include "json.h"
#include "micro_model.h"

static hearth_model *load_micro(gw_buf *file, hearth_error *err) {
    micro_model(file, "llama", 1);
    hearth_source src;
    hearth_source_from_memory(&src, file->data, file->len);
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = 1;
    hearth_model *m = NULL;
    CHECK_MSG(hearth_model_load(&m, &src, &mp, err) == HEARTH_OK, "%s", err->msg);
    return m;
}

static int count_cb(void *user, int32_t id, const char *text, size_t len) {
    (void)text, (void)len;
    if (id >= 0) ++*(int *)user;
    return 0;
}

/* A prompt longer than the context is refused whole (RANGE, naming the sizes); the session keeps
 * what it held and stays usable. */
static void test_prompt_longer_than_context(void) {
    gw_buf file = {0};
    hearth_error err = {0};
    hearth_model *m = load_micro(&file, &err);
    if (!m) return;
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = 16;
    hearth_session *s = NULL;
    CHECK(hearth_session_new(&s, m, &sp, &err) == HEARTH_OK);
    if (s) {
        CHECK_EQ_INT(hearth_session_n_ctx(s), 16);
        int32_t ids[40];
        for (int i = 0; i < 40; i++) ids[i] = 3 + i;
        CHECK_EQ_INT(hearth_session_eval(s, ids, 17), HEARTH_ERR_RANGE);
        CHECK_STR_CONTAINS(hearth_session_errmsg(s), "context full: 0 tokens held + 17 new exceed the context of 16");
        CHECK_EQ_INT(hearth_session_n_tokens(s), 0);
        CHECK_EQ_INT(hearth_session_set_tokens(s, ids, 40, NULL), HEARTH_ERR_RANGE);
        CHECK_EQ_INT(hearth_session_eval(s, ids, 10), HEARTH_OK);
        CHECK_EQ_INT(hearth_session_eval(s, ids + 10, 7), HEARTH_ERR_RANGE);
        CHECK_STR_CONTAINS(hearth_session_errmsg(s), "10 tokens held + 7 new");
        CHECK_EQ_INT(hearth_session_n_tokens(s), 10);
        CHECK_EQ_INT(hearth_session_eval(s, ids + 10, 6), HEARTH_OK);
        CHECK_EQ_INT(hearth_session_n_tokens(s), 16);
        CHECK_EQ_INT(hearth_session_eval(s, ids, 1), HEARTH_ERR_RANGE);
        /* the session is still usable after truncation */
        CHECK_EQ_INT(hearth_session_truncate(s, 4), HEARTH_OK);
        CHECK_EQ_INT(hearth_session_eval(s, ids + 4, 12), HEARTH_OK);
        /* a huge count is a range error, not an overflow */
        CHECK_EQ_INT(hearth_session_truncate(s, 0), HEARTH_OK);
        CHECK(hearth_session_eval(s, ids, 0x7fffffff) != HEARTH_OK);
    }
    hearth_session_free(s);
    hearth_model_free(m);
    gw_buf_free(&file);
}

/* max_tokens beyond the context: generation stops with HEARTH_STOP_CONTEXT_FULL and the session
 * holds exactly n_ctx tokens; a full session generates nothing more that needs evaluating. */
static void test_max_tokens_beyond_context(void) {
    gw_buf file = {0};
    hearth_error err = {0};
    hearth_model *m = load_micro(&file, &err);
    if (!m) return;
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = 16;
    hearth_session *s = NULL;
    hearth_sampler *smp = NULL;
    hearth_sampler_params sap = hearth_sampler_default_params();
    hearth_model_info info;
    hearth_model_get_info(m, &info);
    CHECK(hearth_session_new(&s, m, &sp, &err) == HEARTH_OK);
    CHECK(hearth_sampler_new(&smp, &sap, info.n_vocab, &err) == HEARTH_OK);
    if (s && smp) {
        const int32_t prompt[4] = {1, 270, 262, 265};
        CHECK_EQ_INT(hearth_session_set_tokens(s, prompt, 4, NULL), HEARTH_OK);
        hearth_generate_params gp = {.max_tokens = 1000, .ignore_eog = 1};
        int got = 0, n_gen = 0, reason = -1;
        CHECK_EQ_INT(hearth_generate(s, smp, &gp, count_cb, &got, &n_gen, &reason), HEARTH_OK);
        CHECK_EQ_INT(reason, HEARTH_STOP_CONTEXT_FULL);
        CHECK_EQ_INT(hearth_session_n_tokens(s), 16);
        /* 12 tokens fill the context; the 13th is delivered but has no room to be evaluated */
        CHECK_MSG(n_gen >= 12 && n_gen <= 13, "generated %d", n_gen);
        CHECK_EQ_INT(got, n_gen);
        n_gen = -1;
        CHECK_EQ_INT(hearth_generate(s, smp, &gp, count_cb, &got, &n_gen, &reason), HEARTH_OK);
        CHECK_EQ_INT(reason, HEARTH_STOP_CONTEXT_FULL);
        CHECK_MSG(n_gen <= 1, "generated %d into a full context", n_gen);
        CHECK_EQ_INT(hearth_session_n_tokens(s), 16);
    }
    hearth_sampler_free(smp);
    hearth_session_free(s);
    hearth_model_free(m);
    gw_buf_free(&file);
}

/* ~10 MB of mixed text (words, punctuation, digits, accents, CJK, emoji, newlines), deterministic. */
static char *make_text(size_t len, int all_a, size_t *out_len) {
    static const char *const words[] = {"the ", "quick ", "brown ", "fox, ", "jumps ", "over 12 ", "lazy ",
                                        "d\xc3\xb6gs. ", "\xe4\xbd\xa0\xe5\xa5\xbd ", "\xf0\x9f\xa6\x99\n"};
    char *t = malloc(len + 1);
    size_t k = 0;
    uint32_t s = 1;
    while (t && k < len) {
        if (all_a) {
            t[k++] = 'a';
            continue;
        }
        s = s * 1103515245u + 12345u;
        const char *w = words[(s >> 16) % 10];
        size_t wl = strlen(w);
        if (k + wl > len) break;
        memcpy(t + k, w, wl);
        k += wl;
    }
    *out_len = k;
    return t;
}

/* 10 MB of text through a SentencePiece vocabulary (tiny-llama) and a byte-level BPE one
 * (tiny-qwen2), plus 1 MB of one repeated letter (one giant word: the merge loop's worst case).
 * Expected: every call succeeds with ids in range; a too-small id buffer gives RANGE with the full
 * count; the allocator's peak stays below 128 bytes per input byte + 64 MiB. That bound is the
 * measured behaviour with margin (SPM 42 B/byte on 10 MB of text and 46 B/byte on 1 MB of one
 * letter, BPE 14 and 78 B/byte), a guard against regressions (docs/RELIABILITY.md). */
static void test_tokenize_10mb(void) {
    const char *models[2] = {"models/tiny-llama-q4_0.gguf", "models/tiny-qwen2-q4_0.gguf"};
    for (int k = 0; k < 2; k++) {
        char path[512];
        hearth_error err = {0};
        fault_alloc fa;
        fault_alloc_install(&fa, 0);
        hearth_source src;
        hearth_model *m = NULL;
        hearth_model_params mp = hearth_model_default_params();
        mp.n_threads = 1;
        if (hearth_source_open_file(&src, test_path(path, sizeof path, models[k]), &err) ||
            hearth_model_load(&m, &src, &mp, &err)) {
            CHECK_MSG(0, "%s: %s", models[k], err.msg);
            fault_alloc_uninstall(&fa);
            continue;
        }
        hearth_model_info info;
        hearth_model_get_info(m, &info);
        for (int kind = 0; kind < 2; kind++) {
            size_t len = 0;
            char *text = make_text(kind ? 1000000 : 10000000, kind, &len);
            CHECK(text != NULL);
            if (!text) continue;
            const int cap = 1 << 23;
            int32_t *ids = malloc((size_t)cap * sizeof *ids);
            size_t base = fa.live;
            fault_alloc_reset_peak(&fa);
            int n = 0;
            double t0 = h_time_s();
            int st = hearth_tokenize(m, text, len, 1, 0, ids, cap, &n, &err);
            double secs = h_time_s() - t0;
            size_t peak = fa.peak - base;
            CHECK_MSG(st == HEARTH_OK, "%s: %s", models[k], err.msg);
            int bad = 0;
            for (int i = 0; st == HEARTH_OK && i < n; i++) bad += ids[i] < 0 || ids[i] >= info.n_vocab;
            CHECK_EQ_INT(bad, 0);
            CHECK_MSG(n > 0 && (size_t)n <= len + 1, "%d ids for %zu bytes", n, len);
            CHECK_MSG(peak <= 128 * len + (64u << 20), "%s: peak %zu bytes for %zu bytes of text", models[k], peak, len);
            CHECK_EQ_INT(fa.live, base);
            fprintf(stderr, "  %s: %zu bytes of %s -> %d ids in %.2f s, peak %zu bytes (%.0f B/byte)\n", models[k], len,
                    kind ? "'a'" : "text", n, secs, peak, (double)peak / (double)len);
            /* the same with a buffer that is too small: RANGE, and the full count */
            int n2 = 0;
            if (kind == 1) {
                CHECK_EQ_INT(hearth_tokenize(m, text, len, 1, 0, ids, 1000, &n2, &err), HEARTH_ERR_RANGE);
                CHECK_EQ_INT(n2, n);
                CHECK_STR_CONTAINS(err.msg, "do not fit in 1000");
            }
            free(ids);
            free(text);
        }
        hearth_model_free(m);
        fault_alloc_uninstall(&fa);
        CHECK_EQ_INT(fa.live, 0);
    }
}

/* Chat templates that would run 10^12 iterations or double a string 100 times: stopped by the
 * interpreter's limits with RANGE and a message naming the limit and where; memory within the
 * configured limit (+ 16 MiB for the parse and the caller). A plain 4-level loop over the messages
 * (4^4 short items) renders normally. */
static void test_nested_template_loops(void) {
    static const struct { const char *tmpl; int status; const char *msg; } cases[] = {
        {"{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
         "{% for d in range(1000) %}x{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
         HEARTH_ERR_RANGE, "limit exceeded"},
        {"{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
         "{% for d in range(1000) %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
         HEARTH_ERR_RANGE, "limit exceeded"},
        {"{% set ns = namespace(s='x') %}{% for a in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
         "{{ ns.s|length }}",
         HEARTH_ERR_RANGE, "limit exceeded"},
        {"{% for m in messages %}{% for m2 in messages %}{% for m3 in messages %}{% for m4 in messages %}"
         "{{ m.content ~ m2.content ~ m3.content ~ m4.content }}{% endfor %}{% endfor %}{% endfor %}{% endfor %}",
         HEARTH_OK, NULL},
    };
    for (size_t i = 0; i < H_ARRAY_LEN(cases); i++) {
        for (int small = 0; small < 2; small++) {
            fault_alloc fa;
            fault_alloc_install(&fa, 0);
            chat_message msgs[4] = {{"system", "s"}, {"user", "u"}, {"assistant", "a"}, {"user", "v"}};
            chat_options o = chat_default_options();
            o.no_fallback = 1;
            if (small) { /* tighter limits, as a browser host might set */
                o.limits.max_steps = 1000000;
                o.limits.max_memory = 16u << 20;
                o.limits.max_output = 1u << 20;
            }
            char *out = NULL;
            size_t n = 0;
            hearth_error err = {0};
            int st = chat_render(cases[i].tmpl, strlen(cases[i].tmpl), msgs, 4, &o, &out, &n, &err);
            CHECK_MSG(st == cases[i].status, "case %zu: %s '%s'", i, hearth_status_name(st), err.msg);
            if (cases[i].msg) {
                CHECK_STR_CONTAINS(err.msg, cases[i].msg);
                CHECK_STR_CONTAINS(err.msg, "at line 1 col");
            } else {
                CHECK_EQ_INT(n, 256 * 4);
            }
            size_t mem = small ? (16u << 20) : jinja_default_opts().max_memory;
            CHECK_MSG(fa.peak <= mem + (16u << 20), "case %zu: peak %zu bytes", i, fa.peak);
            h_free(out);
            fault_alloc_uninstall(&fa);
            CHECK_EQ_INT(fa.live, 0);
        }
    }
}

/* The same loop as a model's own chat template, through hearth_chat_tokenize: a clear error (the
 * template's limit), not a hang, and nothing leaks. */
static void test_nested_loop_model_template(void) {
    const char *tmpl = "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}"
                       "{% for d in range(1000) %}{{ messages[0].content }}{% endfor %}{% endfor %}{% endfor %}"
                       "{% endfor %}";
    gguf_writer w;
    gw_init(&w);
    micro_edit edit = {.skip = {"tokenizer.chat_template"}};
    micro_model_writer(&w, "llama", 1, &edit);
    gw_kv_str(&w, "tokenizer.chat_template", tmpl);
    gw_buf file = {0};
    gw_finish(&w, &file, NULL);
    gw_free(&w);
    fault_alloc fa;
    fault_alloc_install(&fa, 0);
    hearth_source src;
    hearth_source_from_memory(&src, file.data, file.len);
    hearth_error err = {0};
    hearth_model *m = NULL;
    CHECK_MSG(hearth_model_load(&m, &src, NULL, &err) == HEARTH_OK, "%s", err.msg);
    if (m) {
        const hearth_chat_message msgs[1] = {{"user", "hello"}};
        hearth_chat_params cp = {.add_generation_prompt = 1, .enable_thinking = -1};
        int32_t *ids = NULL;
        int n = 0;
        int st = hearth_chat_tokenize(m, msgs, 1, &cp, &ids, &n, &err);
        CHECK_MSG(st == HEARTH_ERR_RANGE, "%s '%s'", hearth_status_name(st), err.msg);
        CHECK_STR_CONTAINS(err.msg, "limit");
        CHECK_STR_CONTAINS(err.msg, "at line 1 col");
        hearth_free(ids);
    }
    hearth_model_free(m);
    fault_alloc_uninstall(&fa);
    CHECK_EQ_INT(fa.live, 0);
    gw_buf_free(&file);
}

/* JSON: 1,000,000 nested arrays stop at the depth limit (RANGE, with the position); a 10 MB string
 * parses with the DOM within a small multiple of the input. */
static void test_json_bounds(void) {
    const size_t depth = 1000000;
    char *deep = malloc(2 * depth);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    fault_alloc fa;
    fault_alloc_install(&fa, 0);
    json_doc *doc = NULL;
    hearth_error err = {0};
    CHECK_EQ_INT(json_parse(&doc, deep, 2 * depth, NULL, &err), HEARTH_ERR_RANGE);
    CHECK_STR_CONTAINS(err.msg, "json: ");
    CHECK_STR_CONTAINS(err.msg, "col 129"); /* the 129th '[' exceeds the default depth 128 */
    CHECK(doc == NULL);
    fault_alloc_uninstall(&fa);
    CHECK_EQ_INT(fa.live, 0);
    free(deep);
    const size_t len = 10000000;
    char *big = malloc(len);
    big[0] = '"';
    for (size_t i = 1; i < len - 1; i++) big[i] = (char)('a' + i % 26);
    big[len - 1] = '"';
    fault_alloc_install(&fa, 0);
    CHECK_EQ_INT(json_parse(&doc, big, len, NULL, &err), HEARTH_OK);
    if (doc) CHECK(json_root(doc)->type == JSON_STRING && json_root(doc)->len == len - 2);
    json_free(doc);
    fault_alloc_uninstall(&fa);
    CHECK_MSG(fa.peak <= 4 * len + (1u << 20), "peak %zu for a %zu-byte string", fa.peak, len);
    CHECK_EQ_INT(fa.live, 0);
    free(big);
}

int main(void) {
    RUN(test_prompt_longer_than_context);
    RUN(test_max_tokens_beyond_context);
    RUN(test_tokenize_10mb);
    RUN(test_nested_template_loops);
    RUN(test_nested_loop_model_template);
    RUN(test_json_bounds);
    return test_summary();
}
