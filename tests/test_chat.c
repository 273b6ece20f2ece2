/* test_chat.c — chat templates through the C API: llama.cpp's reference chat prompts reproduced
 * from the GGUF templates, variables and options, family detection (template text, vocabulary),
 * the fallback formatters and when they are used, limits, allocation failures, a large conversation. */
#include "chat.h"

#include "faults.h"
#include "test.h"


typedef struct model {
    hearth_source src;
    gguf_file *g;
} model;

static int model_open(model *m, const char *rel) {
    char path[512];
    hearth_error e;
    test_path(path, sizeof path, rel);
    if (hearth_source_open_file(&m->src, path, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 0;
    }
    if (gguf_open(&m->g, &m->src, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        hearth_source_close(&m->src);
        return 0;
    }
    return 1;
}

static void model_close(model *m) {
    gguf_close(m->g);
    hearth_source_close(&m->src);
}

static void test_reference_prompts(void) {
    static const char *models[] = {"tiny-qwen2-q4_0", "tiny-qwen2-q8_0", "tiny-qwen2-f16", "tiny-qwen3-q8_0",
                                   "tiny-qwen3-q4_k_m"};
    int n_cases = 0;
    for (size_t mi = 0; mi < H_ARRAY_LEN(models); mi++) {
        char rel[256], path[512];
        snprintf(rel, sizeof rel, "reference/llama.cpp/%s.jsonl", models[mi]);
        char *text = test_read_file(test_path(path, sizeof path, rel), NULL);
        CHECK_MSG(text != NULL, "cannot read %s", path);
        model m;
        snprintf(rel, sizeof rel, "models/%s.gguf", models[mi]);
        int have = model_open(&m, rel);
        CHECK(have);
        for (char *line = text; text && have && *line;) {
            char *nl = strchr(line, '\n');
            size_t len = nl ? (size_t)(nl - line) : strlen(line);
            json_doc *d;
            hearth_error e;
            if (len && !json_parse(&d, line, len, NULL, &e)) {
                const json_value *r = json_root(d), *kind = json_get(r, "kind");
                if (kind && !strcmp(kind->str, "chat")) {
                    const json_value *vars = json_get(r, "chat_vars"), *th = json_get(vars, "enable_thinking");
                    const json_value *gen = json_get(vars, "add_generation_prompt");
                    chat_options o = chat_default_options();
                    o.add_generation_prompt = gen ? gen->boolean : 1;
                    o.enable_thinking = th ? th->boolean : -1;
                    char *out = NULL;
                    size_t out_len = 0;
                    chat_render_info info;
                    int rc = chat_render_gguf_ex(m.g, json_get(r, "messages"), &o, &out, &out_len, &info, &e);
                    const json_value *want = json_get(r, "rendered");
                    CHECK_MSG(rc == HEARTH_OK, "%s/%s: %s", models[mi], json_get(r, "case")->str, e.msg);
                    CHECK(info.used_template == 1);
                    CHECK_MSG(!rc && out_len == want->len && !memcmp(out, want->str, out_len), "%s/%s:\n%s\nvs\n%s", models[mi],
                              json_get(r, "case")->str, out ? out : "", want->str);
                    h_free(out);
                    n_cases++;
                }
                json_free(d);
            }
            line = nl ? nl + 1 : line + len;
        }
        if (have) model_close(&m);
        free(text);
    }
    CHECK_EQ_INT(n_cases, 3 * 3 + 2 * 4);
}

static void test_detection(void) {
    CHECK_EQ_INT(chat_detect_family("{{ '<|im_start|>' + m }}", 23), CHAT_FAMILY_CHATML);
    CHECK_EQ_INT(chat_detect_family("<|start_header_id|>", 19), CHAT_FAMILY_LLAMA3);
    CHECK_EQ_INT(chat_detect_family("[INST] <<SYS>>", 14), CHAT_FAMILY_LLAMA2);
    CHECK_EQ_INT(chat_detect_family("{{ '[INST] ' }}", 15), CHAT_FAMILY_MISTRAL);
    CHECK_EQ_INT(chat_detect_family("<start_of_turn>", 15), CHAT_FAMILY_GEMMA);
    CHECK_EQ_INT(chat_detect_family("<|user|>x<|end|>", 16), CHAT_FAMILY_PHI3);
    CHECK_EQ_INT(chat_detect_family("plain", 5), CHAT_FAMILY_AUTO);
    CHECK_EQ_INT(chat_detect_family(NULL, 0), CHAT_FAMILY_AUTO);
    static const struct {
        const char *file;
        int family;
    } g[] = {{"models/tiny-qwen2-q4_0.gguf", CHAT_FAMILY_CHATML},  {"models/tiny-qwen3-q8_0.gguf", CHAT_FAMILY_CHATML},
             {"models/tiny-llama-q8_0.gguf", CHAT_FAMILY_LLAMA2},  {"models/stories260K.gguf", CHAT_FAMILY_LLAMA2},
             {"vocab/ggml-vocab-phi-3.gguf", CHAT_FAMILY_PHI3},    {"vocab/ggml-vocab-gpt-2.gguf", CHAT_FAMILY_CHATML}};
    for (size_t i = 0; i < H_ARRAY_LEN(g); i++) {
        model m;
        CHECK(model_open(&m, g[i].file));
        CHECK_MSG(chat_family_from_gguf(m.g) == g[i].family, "%s: %s", g[i].file, chat_family_name(chat_family_from_gguf(m.g)));
        model_close(&m);
    }
    for (int f = 0; f < CHAT_FAMILY_COUNT; f++) CHECK_EQ_INT(chat_family_from_name(chat_family_name(f)), f);
    CHECK_EQ_INT(chat_family_from_name("nope"), -1);
}

static const chat_message conv[] = {{"system", "sys"}, {"user", " hi "}, {"assistant", "yo"}, {"user", "again"}};

static void check_out(int rc, char *out, const char *want, const hearth_error *e) {
    CHECK_MSG(rc == HEARTH_OK, "%s", e->msg);
    CHECK_MSG(out && !strcmp(out, want), "\n  got:  '%s'\n  want: '%s'", out ? out : "(null)", want);
    h_free(out);
}

static void test_gguf_fallbacks(void) {
    /* the tiny Llama models have no template: Llama-2 chat format with the GGUF's <s> and </s>
     * (this format equals the official Llama-2 template's output: tests/js/chat.test.mjs) */
    model m;
    CHECK(model_open(&m, "models/tiny-llama-q8_0.gguf"));
    chat_options o = chat_default_options();
    char *out;
    hearth_error e;
    json_doc *msgs;
    CHECK_EQ_INT(chat_messages_to_json(&msgs, conv, 4, &e), HEARTH_OK);
    chat_render_info info;
    int rc = chat_render_gguf_ex(m.g, json_root(msgs), &o, &out, NULL, &info, &e);
    /* strip() applies to the whole first turn, so the space before "hi" stays, as in the official template */
    check_out(rc, out, "<s>[INST] <<SYS>>\nsys\n<</SYS>>\n\n hi [/INST] yo </s><s>[INST] again [/INST]", &e);
    CHECK_EQ_INT(info.used_template, 0);
    CHECK_EQ_INT(info.family, CHAT_FAMILY_LLAMA2);
    CHECK_STR_CONTAINS(info.note, "no template; formatted as llama2");
    o.family = CHAT_FAMILY_CHATML; /* an explicit family wins */
    rc = chat_render_gguf(m.g, conv, 2, &o, &out, NULL, &e);
    check_out(rc, out, "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\n hi <|im_end|>\n<|im_start|>assistant\n", &e);
    model_close(&m);

    /* Phi-3's vocabulary GGUF carries the original Phi-3 template, with {{ bos_token }} */
    CHECK(model_open(&m, "vocab/ggml-vocab-phi-3.gguf"));
    o = chat_default_options();
    rc = chat_render_gguf(m.g, conv + 1, 3, &o, &out, NULL, &e);
    check_out(rc, out, "<s><|user|>\n hi <|end|>\n<|assistant|>\nyo<|end|>\n<|user|>\nagain<|end|>\n<|assistant|>\n", &e);
    model_close(&m);
    json_free(msgs);
}

static void test_template_fallbacks(void) {
    chat_options o = chat_default_options();
    char *out;
    hearth_error e;
    /* no template: ChatML unless told otherwise */
    int rc = chat_render(NULL, 0, conv, 2, &o, &out, NULL, &e);
    check_out(rc, out, "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\n hi <|im_end|>\n<|im_start|>assistant\n", &e);
    static const struct {
        int family;
        const char *want;
    } fam[] = {
        {CHAT_FAMILY_LLAMA3, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nsys<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
                             "<|start_header_id|>assistant<|end_header_id|>\n\nyo<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nagain<|eot_id|>"},
        {CHAT_FAMILY_MISTRAL, "<s>[INST] sys\n\n hi  [/INST]yo</s> [INST] again [/INST]"},
        {CHAT_FAMILY_GEMMA, "<bos><start_of_turn>user\nsys\n\nhi<end_of_turn>\n<start_of_turn>model\nyo<end_of_turn>\n<start_of_turn>user\nagain<end_of_turn>\n"},
        {CHAT_FAMILY_PHI3, "<|system|>\nsys<|end|>\n<|user|>\n hi <|end|>\n<|assistant|>\nyo<|end|>\n<|user|>\nagain<|end|>\n<|endoftext|>"},
    };
    o.add_generation_prompt = 0;
    for (size_t i = 0; i < H_ARRAY_LEN(fam); i++) {
        o.family = fam[i].family;
        rc = chat_render(NULL, 0, conv, 4, &o, &out, NULL, &e);
        check_out(rc, out, fam[i].want, &e);
    }
    /* a template that cannot be parsed (or uses something unsupported) falls back to the family
     * its text names; with no_fallback the error comes back */
    o = chat_default_options();
    const char *broken = "{% for m in messages %}<|start_header_id|>{{ m.role }}{% endfor";
    chat_render_info info;
    json_doc *msgs;
    CHECK_EQ_INT(chat_messages_to_json(&msgs, conv, 2, &e), HEARTH_OK);
    rc = chat_render_ex(broken, strlen(broken), json_root(msgs), &o, &out, NULL, &info, &e);
    check_out(rc, out, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nsys<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
                       "<|start_header_id|>assistant<|end_header_id|>\n\n", &e);
    CHECK_EQ_INT(info.used_template, 0);
    CHECK_STR_CONTAINS(info.note, "formatted as llama3");
    CHECK_STR_CONTAINS(info.note, "jinja: unexpected end of input at line 1 col 64");
    o.no_fallback = 1;
    CHECK_EQ_INT(chat_render_ex(broken, strlen(broken), json_root(msgs), &o, &out, NULL, &info, &e), HEARTH_ERR_FORMAT);
    CHECK_STR_CONTAINS(e.msg, "jinja: unexpected end of input at line 1 col 64");
    o.no_fallback = 0;
    const char *unsupported = "<|im_start|>{{ messages | batch(2) }}";
    rc = chat_render_ex(unsupported, strlen(unsupported), json_root(msgs), &o, &out, NULL, &info, &e);
    CHECK_EQ_INT(rc, HEARTH_OK);
    h_free(out);
    CHECK_STR_CONTAINS(info.note, "unsupported filter 'batch'");
    /* unknown family: the template's error is returned */
    CHECK_EQ_INT(chat_render(" {% frob %}", 11, conv, 2, &o, &out, NULL, &e), HEARTH_ERR_FORMAT);
    CHECK_STR_CONTAINS(e.msg, "family is not recognized");
    CHECK_STR_CONTAINS(e.msg, "unexpected statement 'frob'");
    /* what the template raises is never papered over */
    const char *raises = "<|im_start|>{{ raise_exception('no system role') }}";
    CHECK_EQ_INT(chat_render(raises, strlen(raises), conv, 2, &o, &out, NULL, &e), HEARTH_ERR_ARG);
    CHECK_STR_CONTAINS(e.msg, "template error: no system role");
    /* nor are limits */
    o.limits.max_output = 16;
    const char *t = "{% for m in messages %}<|im_start|>{{ m.content }}{% endfor %}";
    CHECK_EQ_INT(chat_render(t, strlen(t), conv, 4, &o, &out, NULL, &e), HEARTH_ERR_RANGE);
    CHECK_STR_CONTAINS(e.msg, "output limit exceeded (16 bytes)");
    json_free(msgs);
}

static void test_variables(void) {
    const char *t = "{{ add_generation_prompt }}|{{ enable_thinking is defined }}|{{ enable_thinking }}|{{ bos_token }}|"
                    "{{ eos_token is defined }}|{{ date_string }}|{{ tools | tojson }}|{{ extra }}|{{ messages[1].content is none }}|"
                    "{{ messages | length }}";
    chat_message m[] = {{"user", "a"}, {"assistant", NULL}};
    chat_options o = chat_default_options();
    char *out;
    hearth_error e;
    int rc = chat_render(t, strlen(t), m, 2, &o, &out, NULL, &e);
    check_out(rc, out, "true|false|||false||null||true|2", &e);
    json_doc *tools, *extra;
    const char *tj = "[{\"name\": \"f\"}]", *ej = "{\"extra\": \"x\", \"add_generation_prompt\": 7}";
    CHECK_EQ_INT(json_parse(&tools, tj, strlen(tj), NULL, &e), HEARTH_OK);
    CHECK_EQ_INT(json_parse(&extra, ej, strlen(ej), NULL, &e), HEARTH_OK);
    o.add_generation_prompt = 0;
    o.enable_thinking = 0;
    o.bos_token = "<s>";
    o.eos_token = "</s>";
    o.date_string = "26 Jul 2024";
    o.tools = json_root(tools);
    o.extra_vars = json_root(extra); /* set after the others: they win */
    rc = chat_render(t, strlen(t), m, 2, &o, &out, NULL, &e);
    check_out(rc, out, "7|true|false|<s>|true|26 Jul 2024|[{\"name\": \"f\"}]|x|true|2", &e);
    json_free(tools);
    json_free(extra);
    /* invalid UTF-8 in a message becomes U+FFFD on both paths */
    chat_message bad[] = {{"user", "a\xffz"}};
    o = chat_default_options();
    rc = chat_render("{{ messages[0].content }}", 25, bad, 1, &o, &out, NULL, &e);
    check_out(rc, out, "a\xef\xbf\xbdz", &e);
    rc = chat_render(NULL, 0, bad, 1, &o, &out, NULL, &e);
    check_out(rc, out, "<|im_start|>user\na\xef\xbf\xbdz<|im_end|>\n<|im_start|>assistant\n", &e);
    /* argument errors */
    chat_message norole[] = {{NULL, "x"}};
    CHECK_EQ_INT(chat_render(NULL, 0, norole, 1, &o, &out, NULL, &e), HEARTH_ERR_ARG);
    CHECK_EQ_INT(chat_render(NULL, 0, m, -1, &o, &out, NULL, &e), HEARTH_ERR_ARG);
    json_doc *notarr;
    CHECK_EQ_INT(json_parse(&notarr, "{}", 2, NULL, &e), HEARTH_OK);
    CHECK_EQ_INT(chat_render_ex(NULL, 0, json_root(notarr), &o, &out, NULL, NULL, &e), HEARTH_ERR_ARG);
    CHECK_EQ_INT(chat_format_family(99, json_root(notarr), &o, &out, NULL, &e), HEARTH_ERR_ARG);
    json_free(notarr);
    /* content given as a list of parts: the fallback uses their text */
    json_doc *parts;
    const char *pj = "[{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"see \"}, {\"type\": \"image\"}, {\"type\": \"text\", \"text\": \"this\"}]}]";
    CHECK_EQ_INT(json_parse(&parts, pj, strlen(pj), NULL, &e), HEARTH_OK);
    o.family = CHAT_FAMILY_GEMMA;
    rc = chat_format_family(CHAT_FAMILY_GEMMA, json_root(parts), &o, &out, NULL, &e);
    check_out(rc, out, "<bos><start_of_turn>user\nsee this<end_of_turn>\n<start_of_turn>model\n", &e);
    json_free(parts);
}

static void test_large_conversation(void) {
    /* 4000 messages of ~250 bytes through Qwen3's own template (namespace, reverse loop, splits) */
    model m;
    CHECK(model_open(&m, "models/tiny-qwen3-q8_0.gguf"));
    int n = 4000;
    chat_message *msgs = calloc((size_t)n, sizeof *msgs);
    char *texts = malloc((size_t)n * 256);
    size_t expect_min = 0;
    for (int i = 0; i < n; i++) {
        char *s = texts + (size_t)i * 256;
        snprintf(s, 256, "%s message %d: %0200d", i % 2 ? "assistant" : "user", i, i);
        msgs[i].role = i % 2 ? "assistant" : "user";
        msgs[i].content = s;
        expect_min += strlen(s) + 24;
    }
    chat_options o = chat_default_options();
    char *out;
    size_t len;
    hearth_error e;
    int rc = chat_render_gguf(m.g, msgs, n, &o, &out, &len, &e);
    CHECK_MSG(rc == HEARTH_OK, "%s", e.msg);
    CHECK(!rc && len >= expect_min && strstr(out, "message 3999: ") && !strcmp(out + len - 22, "<|im_start|>assistant\n"));
    if (!rc) h_free(out);
    free(texts);
    free(msgs);
    model_close(&m);
}

static void test_alloc_failures(void) {
    model m;
    CHECK(model_open(&m, "models/tiny-qwen3-q8_0.gguf"));
    chat_options o = chat_default_options();
    o.enable_thinking = 0;
    char *want = NULL;
    hearth_error e;
    CHECK_EQ_INT(chat_render_gguf(m.g, conv, 4, &o, &want, NULL, &e), HEARTH_OK);
    int ok = 0;
    for (size_t n = 1; n < 8000 && !ok; n++) {
        fault_alloc fa;
        fault_alloc_install(&fa, n);
        char *out = NULL;
        int rc = chat_render_gguf(m.g, conv, 4, &o, &out, NULL, &e);
        if (!rc) {
            CHECK(want && !strcmp(out, want));
            ok = fa.n_failed == 0;
        }
        h_free(out);
        CHECK_MSG(rc == HEARTH_OK || rc == HEARTH_ERR_NOMEM, "allocation %zu: %d %s", n, rc, e.msg);
        fault_alloc_uninstall(&fa);
        CHECK_MSG(fa.live == 0, "allocation %zu failing leaked %zu bytes", n, fa.live);
    }
    CHECK(ok);
    h_free(want);
    model_close(&m);
}

int main(void) {
    RUN(test_reference_prompts);
    RUN(test_detection);
    RUN(test_gguf_fallbacks);
    RUN(test_template_fallbacks);
    RUN(test_variables);
    RUN(test_large_conversation);
    RUN(test_alloc_failures);
    return test_summary();
}
