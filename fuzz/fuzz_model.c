/* fuzz_model.c — libFuzzer target: hearth_model_load over a memory source on arbitrary bytes
 * (seeds: micro llama / qwen2 / qwen3 models, tests/micro_model.c), then, when it loads, a
 * session with a small context: evaluate a few tokens, tokenize a short text, generate two tokens
 * greedily, and turn a conversation into tokens with the model's chat template. Oracles: the sanitizers, clean statuses with messages, no leak (counting allocator). */
#include "faults.h"
#include "hearth.h"

#include <stdio.h>
#include <string.h>

#define FUZZ_CHECK(c)                                                                    \
    do {                                                                                 \
        if (!(c)) {                                                                      \
            fprintf(stderr, "fuzz_model: invariant failed: %s (line %d)\n", #c, __LINE__); \
            __builtin_trap();                                                            \
        }                                                                                \
    } while (0)

static int count_tokens(void *user, int32_t id, const char *text, size_t len) {
    (void)id, (void)text, (void)len;
    ++*(int *)user;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fault_alloc fa;
    fault_alloc_install(&fa, 0);
    hearth_source src;
    hearth_source_from_memory(&src, data, size);
    hearth_model_params mp = hearth_model_default_params();
    mp.n_threads = 1;
    hearth_error err = {0};
    hearth_model *m = NULL;
    int st = hearth_model_load(&m, &src, &mp, &err);
    if (st) {
        FUZZ_CHECK(m == NULL && err.msg[0]);
        FUZZ_CHECK(st == HEARTH_ERR_FORMAT || st == HEARTH_ERR_UNSUPPORTED);
    } else {
        hearth_model_info info;
        hearth_model_get_info(m, &info);
        FUZZ_CHECK(info.n_vocab > 0);
        hearth_session_params sp = hearth_session_default_params();
        sp.n_ctx = 8;
        sp.n_batch = 4;
        hearth_session *s = NULL;
        if (hearth_session_new(&s, m, &sp, &err) == HEARTH_OK) {
            int32_t ids[3];
            for (int i = 0; i < 3; i++) ids[i] = (int32_t)((size + 7u * (unsigned)i) % (unsigned)info.n_vocab);
            if (hearth_session_eval(s, ids, 3) == HEARTH_OK) {
                const float *logits = hearth_session_logits(s);
                FUZZ_CHECK(logits != NULL);
                volatile float sink = logits[info.n_vocab - 1];
                (void)sink;
            } else {
                FUZZ_CHECK(hearth_session_errmsg(s)[0]);
            }
            int32_t toks[16];
            int n_tok = 0;
            if (hearth_tokenize(m, "hello ab", 8, 1, 0, toks, 16, &n_tok, &err) == HEARTH_OK) {
                FUZZ_CHECK(n_tok >= 0 && n_tok <= 16);
                for (int i = 0; i < n_tok; i++) {
                    FUZZ_CHECK(toks[i] >= 0 && toks[i] < info.n_vocab);
                    char piece[64];
                    (void)hearth_token_piece(m, toks[i], piece, sizeof piece);
                }
                if (n_tok > 0 && n_tok <= 6 && hearth_session_set_tokens(s, toks, n_tok, NULL) == HEARTH_OK) {
                    hearth_sampler *smp = NULL;
                    hearth_sampler_params sap = hearth_sampler_default_params();
                    if (hearth_sampler_new(&smp, &sap, info.n_vocab, &err) == HEARTH_OK) {
                        hearth_generate_params gp = {.max_tokens = 2};
                        int got = 0, n_gen = 0, reason = 0;
                        int gst = hearth_generate(s, smp, &gp, count_tokens, &got, &n_gen, &reason);
                        FUZZ_CHECK(gst != HEARTH_OK || n_gen <= 2);
                    }
                    hearth_sampler_free(smp);
                }
            }
        }
        hearth_session_free(s);
        /* the model's chat template over two messages (text from the input's last bytes) */
        char text[17];
        size_t tl = size < 16 ? size : 16;
        for (size_t i = 0; i < tl; i++) text[i] = (char)(data[size - tl + i] ? data[size - tl + i] : ' ');
        text[tl] = 0;
        const hearth_chat_message msgs[2] = {{"system", "be brief"}, {"user", text}};
        hearth_chat_params cp = {.add_generation_prompt = 1, .enable_thinking = -1};
        int32_t *cids = NULL;
        int n_cids = 0;
        int cst = hearth_chat_tokenize(m, msgs, 2, &cp, &cids, &n_cids, &err);
        if (cst == HEARTH_OK)
            for (int i = 0; i < n_cids; i++) FUZZ_CHECK(cids[i] >= 0 && cids[i] < info.n_vocab);
        else
            FUZZ_CHECK(err.msg[0]);
        hearth_free(cids);
    }
    hearth_model_free(m);
    fault_alloc_uninstall(&fa);
    FUZZ_CHECK(fa.live == 0 && fa.n_live == 0);
    return 0;
}
