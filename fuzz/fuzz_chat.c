/* fuzz_chat.c — libFuzzer target: the chat-template renderer on arbitrary templates and messages.
 * Input: template bytes, optionally followed by "\n#####\n" and a JSON array of messages (else a
 * fixed system/user/assistant/user conversation). Runs jinja_parse + jinja_render and chat_render_ex
 * (with the family fallback) under small limits (200k steps, 1 MiB output, 32 MiB memory).
 * Oracles beyond the sanitizers: only the documented statuses, each with a message; output
 * NUL-terminated and within max_output; no leak; memory within the limit plus a constant. */
#include "chat.h"
#include "faults.h"

#include <stdio.h>
#include <string.h>

#define FUZZ_CHECK(c)                                                                    \
    do {                                                                                 \
        if (!(c)) {                                                                      \
            fprintf(stderr, "fuzz_chat: invariant failed: %s (line %d)\n", #c, __LINE__); \
            __builtin_trap();                                                            \
        }                                                                                \
    } while (0)

static const char default_messages[] =
    "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hi \\u00e9!\"},"
    "{\"role\":\"assistant\",\"content\":\"Hello.\"},{\"role\":\"user\",\"content\":\"2+2?\"}]";

static int status_ok(int st) {
    return st == HEARTH_OK || st == HEARTH_ERR_FORMAT || st == HEARTH_ERR_UNSUPPORTED || st == HEARTH_ERR_ARG ||
           st == HEARTH_ERR_RANGE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *sep = "\n#####\n";
    const char *text = (const char *)data;
    size_t tmpl_len = size;
    const char *msgs = default_messages;
    size_t msgs_len = sizeof default_messages - 1;
    for (size_t i = 0; i + 7 <= size; i++)
        if (memcmp(text + i, sep, 7) == 0) {
            tmpl_len = i;
            msgs = text + i + 7;
            msgs_len = size - i - 7;
            break;
        }
    fault_alloc fa;
    fault_alloc_install(&fa, 0);
    hearth_error err = {0};
    json_doc *doc = NULL;
    const json_limits jl = {32, 4u << 20};
    if (json_parse(&doc, msgs, msgs_len, &jl, &err) != HEARTH_OK) {
        json_free(doc);
        doc = NULL;
        FUZZ_CHECK(json_parse(&doc, default_messages, sizeof default_messages - 1, NULL, &err) == HEARTH_OK);
    }
    jinja_render_opts lim = jinja_default_opts();
    lim.max_steps = 200000;
    lim.max_output = 1u << 20;
    lim.max_memory = 32u << 20;
    lim.has_now = 1;
    lim.now = 1700000000;
    /* the interpreter directly, with {"messages": [...], "add_generation_prompt": true} */
    jinja_template *t = NULL;
    int st = jinja_parse(&t, text, tmpl_len, &err);
    FUZZ_CHECK(status_ok(st) && (st == HEARTH_OK) == (t != NULL));
    if (st) FUZZ_CHECK(err.msg[0]);
    if (t) {
        json_doc *vars = NULL;
        FUZZ_CHECK(json_doc_new(&vars, &err) == HEARTH_OK);
        json_value *root = json_doc_root_mut(vars);
        json_set_object(root);
        json_value *m = json_object_add(vars, root, "messages");
        FUZZ_CHECK(m && json_copy(vars, m, json_root(doc)) == HEARTH_OK);
        json_value *g = json_object_add(vars, root, "add_generation_prompt");
        FUZZ_CHECK(g);
        json_set_bool(g, 1);
        char *out = NULL;
        size_t n = 0;
        st = jinja_render(t, json_root(vars), &lim, &out, &n, &err);
        FUZZ_CHECK(status_ok(st));
        if (st == HEARTH_OK) FUZZ_CHECK(out && out[n] == 0 && n <= lim.max_output);
        else FUZZ_CHECK(err.msg[0] && out == NULL);
        h_free(out);
        json_free(vars);
        jinja_template_free(t);
    }
    /* the chat API, with its fallback to a family formatter */
    chat_options o = chat_default_options();
    o.limits = lim;
    char *out = NULL;
    size_t n = 0;
    chat_render_info info;
    st = chat_render_ex(text, tmpl_len, json_root(doc), &o, &out, &n, &info, &err);
    FUZZ_CHECK(status_ok(st));
    if (st == HEARTH_OK) FUZZ_CHECK(out && out[n] == 0);
    else FUZZ_CHECK(err.msg[0]);
    h_free(out);
    json_free(doc);
    fault_alloc_uninstall(&fa);
    FUZZ_CHECK(fa.live == 0 && fa.n_live == 0);
    FUZZ_CHECK(fa.peak <= lim.max_memory + 64 * size + (8u << 20));
    return 0;
}
