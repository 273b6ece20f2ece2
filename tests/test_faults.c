/* test_faults.c — fault injection: the 1st, 2nd, ... Nth allocation fails (through
 * hearth_set_allocator) during gguf_open, model load, session creation, evaluation, tokenization
 * and generation; read call k of the byte source fails with IO, says AGAIN, or delivers garbage.
 * Each must end in an error status with a message (or succeed when the fault is not reached),
 * leak nothing (the counting allocator's live bytes return to zero; LeakSanitizer in check-asan),
 * and leave the process usable: the same call succeeds right after. */
#include "test.h"

#include "faults.h"
#include "gguf.h"
#include "gguf_writer.h"
#include "hostile_cases.h"
#include "micro_model.h"

/* ---- gguf_open ----------------------------------------------------------------------------- */

/* Fails allocation 1, 2, ... until an open succeeds; returns how many allocations a clean open
 * makes. Every failing open must be NOMEM with an "out of memory" message and free everything. */
static size_t gguf_alloc_faults(const char *label, const uint8_t *data, size_t len) {
    size_t n = 0;
    for (size_t fail_at = 1;; fail_at++) {
        hearth_source src;
        hearth_source_from_memory(&src, data, len);
        hearth_error err = {0};
        fault_alloc fa;
        fault_alloc_install(&fa, fail_at);
        gguf_file *g = NULL;
        int st = gguf_open(&g, &src, &err);
        gguf_close(g);
        fault_alloc_uninstall(&fa);
        CHECK_MSG(fa.live == 0 && fa.n_live == 0, "%s: fail at %zu leaks %zu bytes", label, fail_at, fa.live);
        if (st == HEARTH_OK) {
            CHECK_EQ_INT(fa.n_failed, 0);
            n = fa.n_allocs;
            break;
        }
        CHECK_MSG(st == HEARTH_ERR_NOMEM && strstr(err.msg, "out of memory"), "%s: fail at %zu: %s '%s'", label,
                  fail_at, hearth_status_name(st), err.msg);
        /* the process is usable: a clean open right after succeeds */
        g = NULL;
        CHECK(gguf_open(&g, &src, &err) == HEARTH_OK);
        gguf_close(g);
        if (fail_at > 100000) {
            CHECK_MSG(0, "%s: no success after %zu allocations", label, fail_at);
            break;
        }
    }
    fprintf(stderr, "  %s: each of %zu allocations failed in turn\n", label, n);
    return n;
}

static void test_gguf_alloc_failures(void) {
    gw_buf rich = {0};
    hostile_rich(&rich, 3);
    CHECK(gguf_alloc_faults("rich v3", rich.data, rich.len) >= 5);
    gw_buf_free(&rich);
    gw_buf micro = {0};
    micro_model(&micro, "llama", 1);
    CHECK(gguf_alloc_faults("micro llama", micro.data, micro.len) >= 5);
    gw_buf_free(&micro);
    char path[512];
    size_t len = 0;
    uint8_t *data = gw_read_file(test_path(path, sizeof path, "models/tiny-llama-f32.gguf"), &len);
    CHECK_MSG(data != NULL, "%s", path);
    if (data) CHECK(gguf_alloc_faults("tiny-llama-f32", data, len) >= 5);
    free(data);
}

/* Read call k fails (IO), stalls (AGAIN) or returns garbage, for every k up to the clean count;
 * a header larger than the first read window makes several read calls. */
static void gguf_read_faults(const char *label, const uint8_t *data, size_t len) {
    fault_source fs;
    fault_source_init(&fs, data, len);
    hearth_source src = fault_source_get(&fs);
    hearth_error err = {0};
    gguf_file *g = NULL;
    CHECK(gguf_open(&g, &src, &err) == HEARTH_OK);
    gguf_close(g);
    const size_t n_reads = fs.n_reads;
    CHECK(n_reads >= 1);
    for (size_t k = 1; k <= n_reads; k++) {
        for (int mode = 0; mode < 3; mode++) {
            fault_source_init(&fs, data, len);
            fs.fail_at = k;
            fs.fail_status = mode == 0 ? HEARTH_ERR_IO : HEARTH_ERR_AGAIN;
            fs.short_read = mode == 2;
            fault_alloc fa;
            fault_alloc_install(&fa, 0);
            g = NULL;
            int st = gguf_open(&g, &src, &err);
            gguf_close(g);
            fault_alloc_uninstall(&fa);
            CHECK_EQ_INT(fa.live, 0);
            if (mode == 0) {
                CHECK_MSG(st == HEARTH_ERR_IO && strstr(err.msg, "cannot read"), "%s read %zu: %s", label, k, err.msg);
            } else if (mode == 1) {
                CHECK_MSG(st == HEARTH_ERR_AGAIN && strstr(err.msg, "waiting for bytes"), "%s read %zu: %s", label, k,
                          err.msg);
            } else {
                CHECK_MSG(st == HEARTH_OK || st == HEARTH_ERR_FORMAT || st == HEARTH_ERR_UNSUPPORTED,
                          "%s garbage read %zu: %s", label, k, err.msg);
            }
            CHECK_EQ_INT(fs.bad_calls, 0);
            /* and a clean retry works */
            fault_source_init(&fs, data, len);
            g = NULL;
            CHECK(gguf_open(&g, &src, &err) == HEARTH_OK);
            gguf_close(g);
        }
    }
    fprintf(stderr, "  %s: each of %zu read calls failed 3 ways\n", label, n_reads);
}

static void test_gguf_read_failures(void) {
    gw_buf rich = {0};
    hostile_rich(&rich, 3);
    gguf_read_faults("rich v3", rich.data, rich.len);
    gw_buf_free(&rich);
    /* a 2.5 MB header: the reader grows its window in several reads */
    gguf_writer w;
    gw_init(&w);
    gw_buf v = {0};
    gw_put_arr_header(&v, GW_STRING, 120000);
    for (int i = 0; i < 120000; i++) gw_put_str(&v, "a-token-string");
    gw_kv_raw(&w, "tokens", 6, GW_ARRAY, v.data, v.len);
    gw_buf_free(&v);
    gw_buf big = {0};
    gw_finish(&w, &big, NULL);
    gw_free(&w);
    gguf_read_faults("2.5 MB header", big.data, big.len);
    gw_buf_free(&big);
}

/* ---- model load, session, eval, tokenize, generate ------------------------------------------- */

typedef struct gen_text {
    char buf[512];
    size_t len;
    int calls;
} gen_text;

typedef struct model_run {
    int load_st, session_st, eval_st, tok_st, gen_st;
    int n_tok, n_gen, n_chat;
    gen_text text; /* what the token callback received */
    char msg[512];
} model_run;

static int on_token(void *user, int32_t id, const char *text, size_t len) {
    (void)id;
    gen_text *t = user;
    t->calls++;
    if (t->len + len <= sizeof t->buf) memcpy(t->buf + t->len, text, len), t->len += len;
    return 0;
}

/* Load, new session, eval 3 tokens, tokenize (plain and a chat through the model's template),
 * generate 3 tokens; stops at the first error.
 * fa is installed for the whole run; fail_at counts from the first allocation of the run. */
static model_run run_model(const uint8_t *data, size_t len, fault_alloc *fa, size_t fail_at, int with_tok) {
    model_run r = {0};
    r.load_st = r.session_st = r.eval_st = r.tok_st = r.gen_st = -1;
    fault_alloc_install(fa, fail_at);
    hearth_source src;
    hearth_source_from_memory(&src, data, len);
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = 1;
    hearth_error err = {0};
    hearth_model *m = NULL;
    hearth_session *s = NULL;
    hearth_sampler *smp = NULL;
    if ((r.load_st = hearth_model_load(&m, &src, &mp, &err))) goto done;
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = 32;
    if ((r.session_st = hearth_session_new(&s, m, &sp, &err))) goto done;
    const int32_t ids[3] = {1, 5, 7};
    if ((r.eval_st = hearth_session_eval(s, ids, 3))) {
        snprintf(err.msg, sizeof err.msg, "%s", hearth_session_errmsg(s));
        goto done;
    }
    if (with_tok) {
        int32_t toks[16];
        if ((r.tok_st = hearth_tokenize(m, "hello ab", 8, 1, 0, toks, 16, &r.n_tok, &err))) goto done;
        const hearth_chat_message msgs[2] = {{"system", "be brief"}, {"user", "hello"}};
        hearth_chat_params cp = {.add_generation_prompt = 1, .enable_thinking = -1};
        int32_t *cids = NULL;
        r.tok_st = hearth_chat_tokenize(m, msgs, 2, &cp, &cids, &r.n_chat, &err);
        hearth_free(cids);
        if (r.tok_st) goto done;
        if ((r.eval_st = hearth_session_set_tokens(s, toks, r.n_tok, NULL))) {
            snprintf(err.msg, sizeof err.msg, "%s", hearth_session_errmsg(s));
            goto done;
        }
    }
    hearth_sampler_params sap = hearth_sampler_default_params();
    hearth_generate_params gp = {.max_tokens = 3, .ignore_eog = 1};
    hearth_model_info info;
    hearth_model_get_info(m, &info);
    if ((r.gen_st = hearth_sampler_new(&smp, &sap, info.n_vocab, &err))) goto done;
    int reason = 0;
    if ((r.gen_st = hearth_generate(s, smp, &gp, on_token, &r.text, &r.n_gen, &reason)))
        snprintf(err.msg, sizeof err.msg, "%s", hearth_session_errmsg(s));
done:
    snprintf(r.msg, sizeof r.msg, "%s", err.msg);
    hearth_sampler_free(smp);
    hearth_session_free(s);
    hearth_model_free(m);
    fault_alloc_uninstall(fa);
    return r;
}

static int run_failed(const model_run *r) {
    return r->load_st > 0 || r->session_st > 0 || r->eval_st > 0 || r->tok_st > 0 || r->gen_st > 0;
}


/* Fails every allocation of a full model run in turn (load ... generation). */
static void model_alloc_faults(const char *label, const uint8_t *data, size_t len, int with_tok) {
    fault_alloc fa;
    model_run clean = run_model(data, len, &fa, 0, with_tok);
    CHECK_MSG(!run_failed(&clean), "%s: clean run failed: %s", label, clean.msg);
    CHECK_EQ_INT(clean.n_gen, 3);
    if (with_tok) CHECK(clean.n_chat > 10);
    CHECK_EQ_INT(fa.live, 0);
    const size_t n = fa.n_allocs;
    int stages[5] = {0};
    for (size_t fail_at = 1; fail_at <= n; fail_at++) {
        model_run r = run_model(data, len, &fa, fail_at, with_tok);
        CHECK_MSG(fa.live == 0 && fa.n_live == 0, "%s: fail at %zu/%zu leaks %zu bytes in %zu blocks", label, fail_at,
                  n, fa.live, fa.n_live);
        if (fa.n_failed == 0) continue; /* the run took another path (e.g. fewer threads) */
        if (!run_failed(&r)) {
            /* a failed allocation absorbed by a fallback is fine only if nothing was lost */
            int same = r.n_gen == clean.n_gen && r.text.len == clean.text.len &&
                       memcmp(r.text.buf, clean.text.buf, r.text.len) == 0;
            CHECK_MSG(same, "%s: allocation %zu/%zu failed, every call succeeded, output differs", label, fail_at,
                      n);
            continue;
        }
        int st = r.load_st > 0 ? r.load_st : r.session_st > 0 ? r.session_st : r.eval_st > 0 ? r.eval_st
                                                                  : r.tok_st > 0 ? r.tok_st : r.gen_st;
        CHECK_MSG(st == HEARTH_ERR_NOMEM && r.msg[0], "%s: fail at %zu: %s '%s'", label, fail_at,
                  hearth_status_name(st), r.msg);
        stages[r.load_st > 0 ? 0 : r.session_st > 0 ? 1 : r.eval_st > 0 ? 2 : r.tok_st > 0 ? 3 : 4]++;
    }
    /* usable afterwards */
    model_run again = run_model(data, len, &fa, 0, with_tok);
    CHECK(!run_failed(&again) && again.n_gen == 3);
    fprintf(stderr, "  %s: %zu allocations failed in turn (load %d, session %d, eval %d, tokenize %d, generate %d)\n",
            label, n, stages[0], stages[1], stages[2], stages[3], stages[4]);
}

static void test_model_alloc_failures(void) {
    const char *archs[3] = {"llama", "qwen2", "qwen3"};
    for (int a = 0; a < 3; a++) {
        for (int tok = 0; tok < 2; tok++) {
            if (tok && a == 2) continue;
            gw_buf b = {0};
            micro_model(&b, archs[a], tok);
            char label[64];
            snprintf(label, sizeof label, "micro %s%s", archs[a], tok ? " + tokenizer" : "");
            model_alloc_faults(label, b.data, b.len, tok);
            gw_buf_free(&b);
        }
    }
}

/* Read faults during model load from a source without map(): the weights are read through the
 * source; every read call fails in turn (IO and AGAIN). */
static void test_model_read_failures(void) {
    gw_buf b = {0};
    micro_model(&b, "llama", 1);
    fault_source fs;
    fault_source_init(&fs, b.data, b.len);
    hearth_source src = fault_source_get(&fs);
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = 1;
    hearth_error err = {0};
    hearth_model *m = NULL;
    CHECK_MSG(hearth_model_load(&m, &src, &mp, &err) == HEARTH_OK, "%s", err.msg);
    hearth_model_free(m);
    const size_t n_reads = fs.n_reads;
    CHECK(n_reads >= 2); /* header + weights */
    for (size_t k = 1; k <= n_reads; k++) {
        for (int mode = 0; mode < 2; mode++) {
            fault_source_init(&fs, b.data, b.len);
            fs.fail_at = k;
            fs.fail_status = mode ? HEARTH_ERR_AGAIN : HEARTH_ERR_IO;
            src = fault_source_get(&fs);
            fault_alloc fa;
            fault_alloc_install(&fa, 0);
            m = NULL;
            int st = hearth_model_load(&m, &src, &mp, &err);
            hearth_model_free(m);
            fault_alloc_uninstall(&fa);
            CHECK_EQ_INT(fa.live, 0);
            CHECK_MSG(st == (mode ? HEARTH_ERR_AGAIN : HEARTH_ERR_IO) && m == NULL && err.msg[0],
                      "read %zu/%zu %s: %s '%s'", k, n_reads, mode ? "AGAIN" : "IO", hearth_status_name(st), err.msg);
            CHECK_EQ_INT(fs.bad_calls, 0);
        }
    }
    /* a clean load afterwards */
    fault_source_init(&fs, b.data, b.len);
    src = fault_source_get(&fs);
    m = NULL;
    CHECK(hearth_model_load(&m, &src, &mp, &err) == HEARTH_OK);
    hearth_model_free(m);
    fprintf(stderr, "  micro llama without map(): each of %zu read calls failed 2 ways\n", n_reads);
    gw_buf_free(&b);
}

/* Tokenization of real vocabularies under allocation failure: load once with the counting
 * allocator installed, then fail each allocation of one tokenize call in turn. */
static void test_tokenize_alloc_failures(void) {
    const char *models[2] = {"models/tiny-llama-q4_0.gguf", "models/tiny-qwen2-q4_0.gguf"};
    const char *text = "Hello world! h\xc3\xa9llo \xf0\x9f\xa6\x99 <|im_start|> 12345 don't";
    for (int k = 0; k < 2; k++) {
        char path[512];
        hearth_source src;
        hearth_error err = {0};
        fault_alloc fa;
        fault_alloc_install(&fa, 0); /* before anything is allocated: every block is freed through it */
        if (hearth_source_open_file(&src, test_path(path, sizeof path, models[k]), &err)) {
            CHECK_MSG(0, "%s", err.msg);
            fault_alloc_uninstall(&fa);
            continue;
        }
        hearth_model_params mp = hearth_model_default_params();
        mp.n_threads = 1;
        hearth_model *m = NULL;
        if (hearth_model_load(&m, &src, &mp, &err)) {
            CHECK_MSG(0, "%s: %s", models[k], err.msg);
            fault_alloc_uninstall(&fa);
            hearth_source_close(&src);
            continue;
        }
        int32_t ids[64];
        int n = 0, n_clean = 0;
        size_t base = fa.n_allocs;
        CHECK(hearth_tokenize(m, text, strlen(text), 1, 1, ids, 64, &n_clean, &err) == HEARTH_OK);
        size_t per_call = fa.n_allocs - base, live = fa.live;
        for (size_t f = 1; f <= per_call; f++) {
            fa.fail_at = fa.n_allocs + f;
            int st = hearth_tokenize(m, text, strlen(text), 1, 1, ids, 64, &n, &err);
            CHECK_MSG(st == HEARTH_ERR_NOMEM && err.msg[0], "%s: fail %zu/%zu: %s", models[k], f, per_call, err.msg);
            CHECK_EQ_INT(fa.live, live);
        }
        fa.fail_at = 0;
        CHECK(hearth_tokenize(m, text, strlen(text), 1, 1, ids, 64, &n, &err) == HEARTH_OK && n == n_clean);
        hearth_model_free(m);
        fault_alloc_uninstall(&fa);
        CHECK_EQ_INT(fa.live, 0);
        fprintf(stderr, "  %s: each of %zu allocations of a tokenize call failed in turn\n", models[k], per_call);
    }
}

int main(void) {
    RUN(test_gguf_alloc_failures);
    RUN(test_gguf_read_failures);
    RUN(test_model_alloc_failures);
    RUN(test_model_read_failures);
    RUN(test_tokenize_alloc_failures);
    return test_summary();
}
