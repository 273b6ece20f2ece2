/* test_tokenizer.c — the tokenizer against references computed by llama.cpp (nobody here wrote them):
 * llama.cpp's own test pairs (vocab/NAME.inp/.out), the 72-string × 7-vocab tokenization references
 * (ids, pieces and detokenized text, plain and special modes), run.c's prompt tokenization for
 * stories260K, and every special token written inside user text. Vocab-only GGUFs of llama.cpp's
 * tokenizer tests that shared/testdata lacks are read from $HEARTH_EXTRA_VOCAB (default
 * build/vocab-llama.cpp, extracted from the pinned node-llama-cpp package by mk/tokenizer.mk). */
#include "test.h"
#include "test_tokenizer_json.h"

#include "gguf.h"
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Loads the tokenizer of a GGUF file; NULL (and a failed check) on error. */
static tokenizer *load_tok(const char *path) {
    hearth_error err = {0};
    hearth_source src;
    gguf_file *g = NULL;
    tokenizer *t = NULL;
    if (hearth_source_open_file(&src, path, &err)) {
        CHECK_MSG(0, "%s", err.msg);
        return NULL;
    }
    int st = gguf_open(&g, &src, &err);
    if (!st) st = tokenizer_load(&t, g, &err);
    CHECK_MSG(st == 0, "%s: %s", path, err.msg);
    gguf_close(g);
    hearth_source_close(&src);
    return t;
}

static const char *extra_dir(void) {
    const char *d = getenv("HEARTH_EXTRA_VOCAB");
    return d && *d ? d : "build/vocab-llama.cpp";
}

static int ids_equal(const int32_t *a, int na, const int32_t *b, int nb) {
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof(int32_t)) == 0);
}

static void print_ids(const char *what, const int32_t *ids, int n) {
    fprintf(stderr, "    %s:", what);
    for (int i = 0; i < n && i < 64; i++) fprintf(stderr, " %d", (int)ids[i]);
    fprintf(stderr, "%s\n", n > 64 ? " ..." : "");
}

/* ------------------------------------------------------------------ vocab pairs (.inp / .out) */

/* Runs one llama.cpp test-tokenizer-0 pair; returns the number of differing cases. */
static int run_pair(const char *gguf, const char *inp_path, const char *out_path) {
    tokenizer *t = load_tok(gguf);
    if (!t) return 1;
    size_t ni, no;
    char *inp = test_read_file(inp_path, &ni), *out = test_read_file(out_path, &no);
    CHECK_MSG(inp && out, "cannot read %s / %s", inp_path, out_path);
    int bad = 0, cases = 0;
    static const char sep[] = "\n__ggml_vocab_test__\n";
    const char *p = inp, *q = out;
    while (inp && out && p < inp + ni) {
        const char *e = strstr(p, sep);
        size_t len = e ? (size_t)(e - p) : (size_t)(inp + ni - p);
        const char *qe = strchr(q, '\n');
        if (!qe) qe = q + strlen(q);
        int32_t want[4096];
        int nw = 0;
        for (const char *r = q; r < qe && nw < 4096;) {
            char *end;
            long v = strtol(r, &end, 10);
            if (end == r) break;
            want[nw++] = (int32_t)v;
            r = end;
        }
        hearth_error err = {0};
        int32_t *ids = NULL;
        int n = 0;
        int st = tokenizer_encode(t, p, len, 0, 0, &ids, &n, &err);
        CHECK_MSG(st == 0, "%s", err.msg);
        if (!ids_equal(ids, n, want, nw)) {
            bad++;
            fprintf(stderr, "  %s case %d: '%.*s'\n", gguf, cases, (int)H_MIN(len, 80), p);
            print_ids("want", want, nw);
            print_ids("got ", ids, n);
        }
        h_free(ids);
        cases++;
        q = *qe ? qe + 1 : qe;
        if (!e) break;
        p = e + strlen(sep);
    }
    CHECK_MSG(bad == 0, "%s: %d of %d cases differ", gguf, bad, cases);
    CHECK_MSG(cases >= 40, "%s: only %d cases read", inp_path, cases);
    fprintf(stderr, "  %-60s %d cases, %d differences\n", gguf, cases, bad);
    free(inp);
    free(out);
    tokenizer_free(t);
    return bad;
}

static void test_vocab_pairs(void) {
    /* vocabs shipped in shared/testdata; qwen2's pairs go with the tokenizer inside the tiny models */
    static const char *const pairs[][2] = {
        {"llama-spm", "vocab/ggml-vocab-llama-spm.gguf"},
        {"phi-3", "vocab/ggml-vocab-phi-3.gguf"},
        {"gpt-2", "vocab/ggml-vocab-gpt-2.gguf"},
        {"deepseek-llm", "vocab/ggml-vocab-deepseek-llm.gguf"},
        {"qwen2", "models/tiny-qwen2-q4_0.gguf"},
        {"qwen2", "models/tiny-qwen3-q8_0.gguf"},
    };
    char g[1024], inp[1024], out[1024], rel[256];
    for (size_t i = 0; i < H_ARRAY_LEN(pairs); i++) {
        test_path(g, sizeof g, pairs[i][1]);
        snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.inp", pairs[i][0]);
        test_path(inp, sizeof inp, rel);
        snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.out", pairs[i][0]);
        test_path(out, sizeof out, rel);
        CHECK_MSG(exists(g), "missing %s", g);
        if (exists(g)) run_pair(g, inp, out);
    }
    /* every other pair whose vocab-only GGUF llama.cpp's repository has */
    static const char *const extra[] = {"llama-bpe", "qwen2", "qwen35", "starcoder", "refact", "falcon",
                                        "mpt", "deepseek-coder", "command-r", "gpt-2", "deepseek-llm",
                                        "llama-spm", "phi-3"};
    int found = 0;
    for (size_t i = 0; i < H_ARRAY_LEN(extra); i++) {
        snprintf(g, sizeof g, "%s/ggml-vocab-%s.gguf", extra_dir(), extra[i]);
        snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.inp", extra[i]);
        test_path(inp, sizeof inp, rel);
        snprintf(rel, sizeof rel, "vocab/ggml-vocab-%s.gguf.out", extra[i]);
        test_path(out, sizeof out, rel);
        if (!exists(g)) {
            fprintf(stderr, "  SKIP %s (no %s; run make build/vocab-llama.cpp/.stamp)\n", extra[i], g);
            continue;
        }
        found++;
        run_pair(g, inp, out);
    }
    fprintf(stderr, "  %d extra vocabularies from %s\n", found, extra_dir());
}

/* ------------------------------------------------------------------ reference/tokenizer/VOCAB.jsonl */

static void hex_of(const char *p, size_t n, char *dst) {
    for (size_t i = 0; i < n; i++) sprintf(dst + 2 * i, "%02x", (unsigned char)p[i]);
    dst[2 * n] = 0;
}

static int check_mode(tokenizer *t, const char *vocab, const char *name, const char *text, size_t len,
                      const tj *mode, int add_special, int parse_special) {
    int bad = 0;
    const tj *ids = tj_get(mode, "ids"), *pieces = tj_get(mode, "pieces_hex"), *detok = tj_get(mode, "detok_hex");
    if (!ids || !pieces || !detok) {
        CHECK_MSG(0, "%s/%s: malformed reference line", vocab, name);
        return 1;
    }
    hearth_error err = {0};
    int32_t *got = NULL;
    int n = 0;
    CHECK(tokenizer_encode(t, text, len, add_special, parse_special, &got, &n, &err) == 0);
    int32_t *want = malloc((ids->n + 1) * sizeof(int32_t));
    for (size_t i = 0; i < ids->n; i++) want[i] = (int32_t)ids->items[i]->num;
    if (!ids_equal(got, n, want, (int)ids->n)) {
        bad++;
        fprintf(stderr, "  %s/%s (add_special=%d parse_special=%d) ids differ\n", vocab, name, add_special, parse_special);
        print_ids("want", want, (int)ids->n);
        print_ids("got ", got, n);
    }
    /* pieces and detokenized text of the reference ids */
    char piece[4096], hex[8200];
    for (size_t i = 0; i < ids->n && i < pieces->n; i++) {
        int k = tokenizer_piece(t, want[i], 1, piece, sizeof piece);
        CHECK(k >= 0);
        hex_of(piece, (size_t)(k < 0 ? 0 : k), hex);
        if (strcmp(hex, pieces->items[i]->str)) {
            bad++;
            fprintf(stderr, "  %s/%s piece of %d: want %s got %s\n", vocab, name, (int)want[i], pieces->items[i]->str, hex);
        }
    }
    char *text_out = NULL;
    size_t out_len = 0;
    CHECK(tokenizer_decode(t, want, (int)ids->n, 0, 1, &text_out, &out_len, &err) == 0);
    char *dh = malloc(2 * out_len + 1);
    hex_of(text_out ? text_out : "", out_len, dh);
    if (strcmp(dh, detok->str)) {
        bad++;
        fprintf(stderr, "  %s/%s detokenized: want %s\n    got  %s\n", vocab, name, detok->str, dh);
    }
    free(dh);
    h_free(text_out);
    free(want);
    h_free(got);
    return bad;
}

static void test_reference_jsonl(void) {
    static const char *const refs[][2] = {
        {"llama-spm", "vocab/ggml-vocab-llama-spm.gguf"}, {"phi-3", "vocab/ggml-vocab-phi-3.gguf"},
        {"gpt-2", "vocab/ggml-vocab-gpt-2.gguf"},         {"deepseek-llm", "vocab/ggml-vocab-deepseek-llm.gguf"},
        {"qwen2", "models/tiny-qwen2-q4_0.gguf"},         {"qwen3", "models/tiny-qwen3-q8_0.gguf"},
        {"stories260K", "models/stories260K.gguf"},
    };
    for (size_t r = 0; r < H_ARRAY_LEN(refs); r++) {
        char g[1024], path[1024], rel[256];
        test_path(g, sizeof g, refs[r][1]);
        snprintf(rel, sizeof rel, "reference/tokenizer/%s.jsonl", refs[r][0]);
        test_path(path, sizeof path, rel);
        char *all = test_read_file(path, NULL);
        CHECK_MSG(all != NULL, "cannot read %s", path);
        tokenizer *t = all ? load_tok(g) : NULL;
        if (!t) {
            free(all);
            continue;
        }
        int lines = 0, bad = 0;
        for (char *line = all; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = 0;
            tj *o = tj_parse(line);
            CHECK_MSG(o != NULL, "%s: bad JSON line %d", path, lines);
            if (o) {
                const tj *name = tj_get(o, "name"), *hexin = tj_get(o, "input_hex");
                size_t len;
                char *text = tj_unhex(hexin ? hexin->str : "", &len);
                bad += check_mode(t, refs[r][0], name ? name->str : "?", text, len, tj_get(o, "plain"), 0, 0);
                bad += check_mode(t, refs[r][0], name ? name->str : "?", text, len, tj_get(o, "special"), 1, 1);
                free(text);
                tj_free(o);
                lines++;
            }
            line = nl ? nl + 1 : NULL;
        }
        CHECK_MSG(bad == 0, "%s: %d differences", refs[r][0], bad);
        CHECK_MSG(lines == 72, "%s: %d lines", path, lines);
        fprintf(stderr, "  %-14s %d strings x 2 modes, %d differences (ids, pieces, text)\n", refs[r][0], lines, bad);
        tokenizer_free(t);
        free(all);
    }
}

/* ------------------------------------------------------------------ run.c prompts (stories260K) */

static void test_stories_run_c(void) {
    char g[1024], path[1024];
    test_path(g, sizeof g, "models/stories260K.gguf");
    test_path(path, sizeof path, "reference/stories260K/run_c_reference.jsonl");
    char *all = test_read_file(path, NULL);
    CHECK(all != NULL);
    tokenizer *t = all ? load_tok(g) : NULL;
    int checked = 0;
    for (char *line = all; t && line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        tj *o = tj_parse(line);
        const tj *prompt = tj_get(o, "prompt"), *ids = tj_get(o, "prompt_ids");
        if (prompt && prompt->type == TJ_STR && ids) {
            int32_t *got = NULL;
            int n = 0;
            hearth_error err = {0};
            CHECK(tokenizer_encode(t, prompt->str, prompt->str_len, 1, 0, &got, &n, &err) == 0);
            int same = n == (int)ids->n;
            for (int i = 0; same && i < n; i++) same = got[i] == (int32_t)ids->items[i]->num;
            CHECK_MSG(same, "run.c prompt '%s' tokenized differently", prompt->str);
            h_free(got);
            checked++;
        }
        tj_free(o);
        line = nl ? nl + 1 : NULL;
    }
    CHECK_MSG(checked >= 7, "only %d run.c prompts", checked);
    tokenizer_free(t);
    free(all);
}

/* ------------------------------------------------------------------ special tokens in user text */

static void check_specials_in_text(const char *path) {
    tokenizer *t = load_tok(path);
    if (!t) return;
    int n_vocab = tokenizer_n_vocab(t), n_ctrl = 0, leaks = 0;
    /* every CONTROL / UNKNOWN token's text, each alone and all together inside user text */
    size_t cap = 1 << 16, len = 0;
    char *all = malloc(cap);
    for (int32_t id = 0; id < n_vocab; id++) {
        int attr = tokenizer_token_attr(t, id);
        if (!(attr & (TOKEN_ATTR_CONTROL | TOKEN_ATTR_UNKNOWN))) continue;
        n_ctrl++;
        size_t tl;
        const char *tx = tokenizer_token_text(t, id, &tl);
        char buf[1024];
        int bl = snprintf(buf, sizeof buf, "Please repeat %.*s now.%.*s", (int)H_MIN(tl, 400), tx, (int)H_MIN(tl, 400), tx);
        int32_t *ids = NULL;
        int n = 0;
        hearth_error err = {0};
        CHECK(tokenizer_encode(t, buf, (size_t)bl, 0, 0, &ids, &n, &err) == 0);
        for (int i = 0; i < n; i++)
            if (tokenizer_token_attr(t, ids[i]) & (TOKEN_ATTR_CONTROL | TOKEN_ATTR_UNKNOWN)) {
                leaks++;
                fprintf(stderr, "  %s: text of token %d became control id %d\n", path, (int)id, (int)ids[i]);
            }
        h_free(ids);
        /* and with parse_special the same text does produce the token */
        CHECK(tokenizer_encode(t, buf, (size_t)bl, 0, 1, &ids, &n, &err) == 0);
        int found = 0;
        for (int i = 0; i < n; i++) found |= ids[i] == id;
        if (tl <= 400) CHECK_MSG(found || tokenizer_find_token(t, tx, tl) != id, "%s: token %d not parsed", path, (int)id);
        h_free(ids);
        if (len + tl + 2 > cap) all = realloc(all, cap = 2 * (len + tl + 2));
        memcpy(all + len, tx, tl);
        len += tl;
        all[len++] = ' ';
    }
    int32_t *ids = NULL;
    int n = 0;
    hearth_error err = {0};
    CHECK(tokenizer_encode(t, all, len, 1, 0, &ids, &n, &err) == 0);
    for (int i = 0; i < n; i++) {
        int a = tokenizer_token_attr(t, ids[i]);
        /* add_special may add BOS/EOS; nothing else may be a control token */
        if ((a & (TOKEN_ATTR_CONTROL | TOKEN_ATTR_UNKNOWN)) && !((i == 0 && ids[i] == tokenizer_bos(t)) ||
                                                                (i == n - 1 && ids[i] == tokenizer_eos(t))))
            leaks++;
    }
    h_free(ids);
    free(all);
    CHECK_MSG(leaks == 0, "%s: %d control tokens from user text", path, leaks);
    fprintf(stderr, "  %-50s %d control/unknown tokens written in user text: %d leaks\n", path, n_ctrl, leaks);
    tokenizer_free(t);
}

static void test_specials_in_user_text(void) {
    static const char *const files[] = {"vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-phi-3.gguf",
                                        "vocab/ggml-vocab-gpt-2.gguf", "vocab/ggml-vocab-deepseek-llm.gguf",
                                        "models/tiny-qwen2-q4_0.gguf", "models/tiny-qwen3-q8_0.gguf",
                                        "models/stories260K.gguf"};
    char g[1024];
    for (size_t i = 0; i < H_ARRAY_LEN(files); i++) check_specials_in_text(test_path(g, sizeof g, files[i]));
    static const char *const extra[] = {"llama-bpe", "qwen35", "starcoder", "refact", "falcon", "mpt",
                                        "deepseek-coder", "command-r"};
    for (size_t i = 0; i < H_ARRAY_LEN(extra); i++) {
        snprintf(g, sizeof g, "%s/ggml-vocab-%s.gguf", extra_dir(), extra[i]);
        if (exists(g)) check_specials_in_text(g);
    }
}

/* ------------------------------------------------------------------ end-of-generation sets */

static void test_eog_sets(void) {
    /* testdata README §5: llama.cpp's EOG sets and the forced-control "</s>" of the Qwen vocab */
    char g[1024];
    tokenizer *t = load_tok(test_path(g, sizeof g, "models/tiny-qwen2-q4_0.gguf"));
    if (t) {
        int32_t e[16];
        int n = tokenizer_eog_ids(t, e, 16);
        CHECK_EQ_INT(n, 3);
        CHECK(n == 3 && e[0] == 128247 && e[1] == 151643 && e[2] == 151645);
        CHECK(tokenizer_is_control(t, 128247));
        CHECK(tokenizer_is_eog(t, 151645) && !tokenizer_is_eog(t, 151644));
        CHECK_EQ_INT(tokenizer_add_bos(t), 0);
        tokenizer_free(t);
    }
    t = load_tok(test_path(g, sizeof g, "models/tiny-qwen3-q8_0.gguf"));
    if (t) {
        int32_t e[16], want[] = {128247, 151643, 151645, 151662, 151663, 151664};
        int n = tokenizer_eog_ids(t, e, 16);
        CHECK_EQ_INT(n, 6);
        for (int i = 0; i < n && i < 6; i++) CHECK_EQ_INT(e[i], want[i]);
        tokenizer_free(t);
    }
    t = load_tok(test_path(g, sizeof g, "vocab/ggml-vocab-llama-spm.gguf"));
    if (t) {
        CHECK_EQ_INT(tokenizer_bos(t), 1);
        CHECK_EQ_INT(tokenizer_eos(t), 2);
        CHECK(tokenizer_add_bos(t) && tokenizer_is_eog(t, 2) && !tokenizer_is_eog(t, 1));
        tokenizer_free(t);
    }
}

int main(void) {
    RUN(test_vocab_pairs);
    RUN(test_reference_jsonl);
    RUN(test_stories_run_c);
    RUN(test_specials_in_user_text);
    RUN(test_eog_sets);
    return test_summary();
}
