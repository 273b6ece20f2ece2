/* fuzz_tokenizer.c — libFuzzer target: the tokenizer of every vocabulary in ../shared/testdata
 * (llama-spm, gpt-2, deepseek-llm, phi-3 vocab files; qwen2 and qwen3 from the tiny models;
 * stories260K) on arbitrary text and arbitrary ids. Input: [selector][text...]; the selector picks
 * the vocabulary (low 3 bits) and add_special / parse_special / remove_special / unparse_special.
 * Oracles beyond the sanitizers: ids in range; decode of valid ids succeeds; the streaming decoder
 * emits valid UTF-8 only; bad ids give HEARTH_ERR_ARG; pieces respect their buffer; no leak. */
#include "faults.h"
#include "gguf.h"
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c)                                                                        \
    do {                                                                                     \
        if (!(c)) {                                                                          \
            fprintf(stderr, "fuzz_tokenizer: invariant failed: %s (line %d)\n", #c, __LINE__); \
            __builtin_trap();                                                                \
        }                                                                                    \
    } while (0)

static const char *const vocab_files[] = {
    "vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-gpt-2.gguf",  "vocab/ggml-vocab-deepseek-llm.gguf",
    "vocab/ggml-vocab-phi-3.gguf",     "models/tiny-qwen2-q8_0.gguf", "models/tiny-qwen3-q8_0.gguf",
    "models/stories260K.gguf",
};
#define N_VOCABS (sizeof vocab_files / sizeof vocab_files[0])
static tokenizer *toks[N_VOCABS];
static int n_loaded;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *dir = getenv("HEARTH_TESTDATA");
    if (!dir || !*dir) dir = "../shared/testdata";
    for (size_t i = 0; i < N_VOCABS; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, vocab_files[i]);
        hearth_source src;
        hearth_error err = {0};
        gguf_file *g = NULL;
        if (hearth_source_open_file(&src, path, &err) || gguf_open(&g, &src, &err) ||
            tokenizer_load(&toks[i], g, &err)) {
            fprintf(stderr, "fuzz_tokenizer: %s: %s\n", path, err.msg);
            exit(1);
        }
        gguf_close(g);
        hearth_source_close(&src);
        n_loaded++;
    }
    return 0;
}

/* Length of the valid UTF-8 prefix (shortest forms, no surrogates, <= U+10FFFF). */
static size_t utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!len || i + len > n) return i;
        unsigned cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += len;
    }
    return i;
}

static void check_stream(const tokenizer *t, const int32_t *ids, int n, int unparse) {
    tokenizer_stream st;
    tokenizer_stream_init(&st, t, unparse);
    size_t cap = tokenizer_stream_cap(t);
    char *buf = malloc(cap);
    FUZZ_CHECK(buf);
    for (int i = 0; i <= n; i++) {
        int k = i < n ? tokenizer_stream_push(&st, ids[i], buf, cap) : tokenizer_stream_flush(&st, buf, cap);
        if (i < n && (ids[i] < 0 || ids[i] >= tokenizer_n_vocab(t))) {
            FUZZ_CHECK(k == -HEARTH_ERR_ARG);
            continue;
        }
        FUZZ_CHECK(k >= 0 && (size_t)k <= cap);
        FUZZ_CHECK(utf8_valid((const unsigned char *)buf, (size_t)k) == (size_t)k);
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || !n_loaded) return 0;
    const tokenizer *t = toks[data[0] % N_VOCABS];
    const int add_special = (data[0] >> 3) & 1, parse_special = (data[0] >> 4) & 1,
              remove_special = (data[0] >> 5) & 1, unparse_special = (data[0] >> 6) & 1;
    const char *text = (const char *)data + 1;
    const size_t len = size - 1;
    const int nv = tokenizer_n_vocab(t);
    fault_alloc fa;
    fault_alloc_install(&fa, 0);
    hearth_error err = {0};
    int32_t *ids = NULL;
    int n = 0;
    int st = tokenizer_encode(t, text, len, add_special, parse_special, &ids, &n, &err);
    if (st == HEARTH_OK) {
        FUZZ_CHECK(n >= 0 && (n == 0 || ids));
        for (int i = 0; i < n; i++) FUZZ_CHECK(ids[i] >= 0 && ids[i] < nv);
        char *out = NULL;
        size_t out_len = 0;
        FUZZ_CHECK(tokenizer_decode(t, ids, n, remove_special, unparse_special, &out, &out_len, &err) == HEARTH_OK);
        FUZZ_CHECK(out && out[out_len] == 0);
        h_free(out);
        check_stream(t, ids, n, unparse_special);
    } else {
        FUZZ_CHECK(err.msg[0] && st != HEARTH_ERR_INTERNAL);
    }
    h_free(ids);
    /* the input bytes as token ids, some out of range */
    int32_t raw[64];
    int nr = 0;
    for (size_t i = 1; i + 1 < size && nr < 64; i += 2)
        raw[nr++] = (int32_t)(((uint32_t)data[i] | (uint32_t)data[i + 1] << 8) * 7u % (uint32_t)(nv + 3)) - 1;
    int bad = 0;
    for (int i = 0; i < nr; i++) bad |= raw[i] < 0 || raw[i] >= nv;
    char *out = NULL;
    size_t out_len = 0;
    st = tokenizer_decode(t, raw, nr, remove_special, unparse_special, &out, &out_len, &err);
    FUZZ_CHECK(bad ? st == HEARTH_ERR_ARG : st == HEARTH_OK);
    h_free(out);
    check_stream(t, raw, nr, unparse_special);
    for (int i = 0; i < nr; i++) {
        char piece[8];
        int k = tokenizer_piece(t, raw[i], unparse_special, piece, sizeof piece);
        FUZZ_CHECK(k == -HEARTH_ERR_ARG || k == -HEARTH_ERR_RANGE || (k >= 0 && k <= (int)sizeof piece));
    }
    fault_alloc_uninstall(&fa);
    FUZZ_CHECK(fa.live == 0 && fa.n_live == 0);
    return 0;
}
