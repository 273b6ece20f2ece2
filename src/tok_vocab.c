/* tok_vocab.c — builds a tokenizer from GGUF metadata the way llama.cpp's llama_vocab::load does:
 * token strings, scores, types -> attributes, BPE merge ranks, default and explicit special ids,
 * the end-of-generation set, the special-token list used to find them in text, and per-model
 * attribute quirks (Phi-3 rstrip). */
#include "tok_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- small helpers */

int tok_grow(void **buf, size_t *cap, size_t n) {
    if (n <= *cap) return HEARTH_OK;
    size_t c = *cap ? *cap : 64;
    while (c < n) {
        if (c > SIZE_MAX / 2) return HEARTH_ERR_NOMEM;
        c *= 2;
    }
    void *p = h_realloc(*buf, c);
    if (!p) return HEARTH_ERR_NOMEM;
    *buf = p;
    *cap = c;
    return HEARTH_OK;
}

int tok_vec_reserve(tok_vec *v, size_t extra) {
    if (v->n + extra <= v->cap) return HEARTH_OK;
    size_t bytes = v->cap * sizeof(int32_t), need;
    if (!h_add_size(v->n, extra, &need) || !h_mul_size(need, sizeof(int32_t), &need))
        return HEARTH_ERR_NOMEM;
    if (tok_grow((void **)&v->v, &bytes, need)) return HEARTH_ERR_NOMEM;
    v->cap = bytes / sizeof(int32_t);
    return HEARTH_OK;
}

int tok_vec_push(tok_vec *v, int32_t x) {
    if (v->n == v->cap && tok_vec_reserve(v, 1)) return HEARTH_ERR_NOMEM;
    v->v[v->n++] = x;
    return HEARTH_OK;
}

void tok_scratch_free(tok_scratch *s) {
    h_free(s->sym);
    h_free(s->heap);
    h_free(s->bytes);
    memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------- string table */

static uint64_t str_hash(const char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

int32_t tok_str_find(const tok_strtab *s, const char *p, size_t n) {
    if (!s->slots) return -1;
    for (uint32_t i = (uint32_t)str_hash(p, n) & s->mask;; i = (i + 1) & s->mask) {
        int32_t id = s->slots[i];
        if (id < 0) return -1;
        if (s->len[id] == n && memcmp(s->blob + s->off[id], p, n) == 0) return id;
    }
}

static int strtab_rehash(tok_strtab *s, uint32_t nslots) {
    int32_t *slots = h_malloc_array(nslots, sizeof(int32_t));
    if (!slots) return HEARTH_ERR_NOMEM;
    memset(slots, 0xff, (size_t)nslots * sizeof(int32_t));
    uint32_t mask = nslots - 1;
    /* re-insert the ids the old table pointed at (duplicates keep their latest id) */
    if (s->slots) {
        for (uint32_t j = 0; j <= s->mask; j++) {
            int32_t id = s->slots[j];
            if (id < 0) continue;
            uint32_t i = (uint32_t)str_hash(s->blob + s->off[id], s->len[id]) & mask;
            while (slots[i] >= 0) i = (i + 1) & mask;
            slots[i] = id;
        }
    }
    h_free(s->slots);
    s->slots = slots;
    s->mask = mask;
    return HEARTH_OK;
}

/* Appends a string and makes lookups of its text return the new id (replace = 1) or keeps an
 * existing entry (replace = 0, then *out is the existing id). */
static int strtab_add(tok_strtab *s, const char *p, size_t n, int replace, int32_t *out) {
    if (n > UINT32_MAX) return HEARTH_ERR_RANGE;
    int32_t existing = tok_str_find(s, p, n);
    if (existing >= 0 && !replace) {
        *out = existing;
        return HEARTH_OK;
    }
    if (s->n == s->cap) {
        int32_t nc = s->cap ? s->cap * 2 : 1024;
        if (nc < s->cap) return HEARTH_ERR_NOMEM;
        uint64_t *off = h_realloc(s->off, (size_t)nc * sizeof(uint64_t));
        if (!off) return HEARTH_ERR_NOMEM;
        s->off = off;
        uint32_t *len = h_realloc(s->len, (size_t)nc * sizeof(uint32_t));
        if (!len) return HEARTH_ERR_NOMEM;
        s->len = len;
        s->cap = nc;
    }
    size_t need;
    if (!h_add_size(s->blob_len, n + 1, &need)) return HEARTH_ERR_NOMEM;
    if (tok_grow((void **)&s->blob, &s->blob_cap, need)) return HEARTH_ERR_NOMEM;
    if (n) memcpy(s->blob + s->blob_len, p, n);
    s->blob[s->blob_len + n] = 0;
    int32_t id = s->n++;
    s->off[id] = s->blob_len;
    s->len[id] = (uint32_t)n;
    s->blob_len += n + 1;
    if (!s->slots || (uint64_t)(s->n + 1) * 2 > (uint64_t)s->mask + 1) {
        uint32_t nslots = s->slots ? (s->mask + 1) * 2 : 2048;
        while ((uint64_t)nslots < (uint64_t)(s->n + 1) * 2) nslots *= 2;
        if (strtab_rehash(s, nslots)) return HEARTH_ERR_NOMEM;
    }
    const char *q = s->blob + s->off[id];
    for (uint32_t i = (uint32_t)str_hash(q, n) & s->mask;; i = (i + 1) & s->mask) {
        int32_t cur = s->slots[i];
        if (cur < 0 || (s->len[cur] == n && memcmp(s->blob + s->off[cur], q, n) == 0)) {
            s->slots[i] = id;
            break;
        }
    }
    *out = id;
    return HEARTH_OK;
}

static void strtab_free(tok_strtab *s) {
    h_free(s->blob);
    h_free(s->off);
    h_free(s->len);
    h_free(s->slots);
    memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------- merges */

static uint64_t merge_hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

const tok_merge *tok_merge_find(const tokenizer *t, int32_t left, int32_t right) {
    if (!t->merges || left < 0 || right < 0) return NULL;
    uint64_t key = ((uint64_t)(uint32_t)(left + 1) << 32) | (uint32_t)(right + 1);
    for (uint32_t i = (uint32_t)merge_hash(key) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
        if (t->merges[i].key == 0) return NULL;
        if (t->merges[i].key == key) return &t->merges[i];
    }
}

/* The GPT-2 byte-level alphabet: printable bytes map to themselves, the others to 256 + k. */
static uint32_t byte_to_cp(int b) {
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
        return (uint32_t)b;
    int k = 0;
    for (int c = 0; c < b; c++)
        if (!((c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF))) k++;
    return 256u + (uint32_t)k;
}

static int load_merges(tokenizer *t, const gguf_value *v, hearth_error *err) {
    if (v->type != GGUF_TYPE_ARRAY || v->elem_type != GGUF_TYPE_STRING)
        return h_err(err, HEARTH_ERR_FORMAT,
                     "tokenizer: tokenizer.ggml.merges must be an array of strings");
    if (v->n > (uint64_t)INT32_MAX / 4)
        return h_err(err, HEARTH_ERR_FORMAT, "tokenizer: %llu merges is too many",
                     (unsigned long long)v->n);
    uint32_t nslots = 1024;
    while ((uint64_t)nslots < v->n * 2) nslots *= 2;
    t->merges = h_calloc(nslots, sizeof(tok_merge));
    if (!t->merges) return h_err(err, HEARTH_ERR_NOMEM, "tokenizer: out of memory for merges");
    t->merge_mask = nslots - 1;
    char *cat = NULL;
    size_t cat_cap = 0;
    int st = HEARTH_OK;
    for (uint64_t r = 0; r < v->n; r++) {
        const char *s = v->strs[r].p;
        size_t n = (size_t)v->strs[r].n, sp = 0;
        for (size_t i = 1; i < n; i++)
            if (s[i] == ' ') {
                sp = i;
                break;
            }
        if (!sp) continue; /* llama.cpp maps these to ("", ""), which never matches */
        int32_t a, b, c;
        if ((st = strtab_add(&t->strs, s, sp, 0, &a)) || (st = strtab_add(&t->strs, s + sp + 1, n - sp - 1, 0, &b)))
            break;
        if ((st = tok_grow((void **)&cat, &cat_cap, n))) break;
        memcpy(cat, s, sp);
        memcpy(cat + sp, s + sp + 1, n - sp - 1);
        if ((st = strtab_add(&t->strs, cat, n - 1, 0, &c))) break;
        uint64_t key = ((uint64_t)(uint32_t)(a + 1) << 32) | (uint32_t)(b + 1);
        for (uint32_t i = (uint32_t)merge_hash(key) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
            if (t->merges[i].key == key) break; /* first rank wins */
            if (t->merges[i].key == 0) {
                t->merges[i].key = key;
                t->merges[i].rank = (int32_t)r;
                t->merges[i].result = c;
                t->n_merges++;
                break;
            }
        }
    }
    h_free(cat);
    if (st) return h_err(err, st, "tokenizer: out of memory while reading merges");
    return HEARTH_OK;
}

/* ---------------------------------------------------------------- pre-tokenizer names */

typedef struct pre_entry {
    const char *name;
    tok_pre pre;
    int clean_spaces; /* -1 keep the BPE default (1) */
    int ignore_merges, add_bos, no_bos;
} pre_entry;

static const pre_entry k_pre[] = {
    {"default", TOK_PRE_DEFAULT, -1, 0, 0, 0},
    {"llama3", TOK_PRE_LLAMA3, -1, 1, 1, 0},
    {"llama-v3", TOK_PRE_LLAMA3, -1, 1, 1, 0},
    {"llama-bpe", TOK_PRE_LLAMA3, -1, 1, 1, 0},
    {"falcon3", TOK_PRE_LLAMA3, -1, 1, 1, 0},
    {"falcon-h1", TOK_PRE_LLAMA3, -1, 1, 1, 0},
    {"pixtral", TOK_PRE_LLAMA3, -1, 1, 1, 0},
    {"midm-2.0", TOK_PRE_LLAMA3, -1, 1, 1, 0},
    {"lfm2", TOK_PRE_LLAMA3, -1, 1, 1, 0},
    {"jina-v5-nano", TOK_PRE_LLAMA3, -1, 1, 1, 0},
    {"dbrx", TOK_PRE_LLAMA3, -1, 0, 0, 0},
    {"smaug-bpe", TOK_PRE_LLAMA3, -1, 0, 0, 0},
    {"glm4", TOK_PRE_LLAMA3, -1, 0, 0, 1},
    {"chatglm-bpe", TOK_PRE_LLAMA3, -1, 0, 0, 1},
    {"deepseek-llm", TOK_PRE_DEEPSEEK_LLM, 0, 0, 0, 0},
    {"deepseek-coder", TOK_PRE_DEEPSEEK_CODER, 0, 0, 0, 0},
    {"falcon", TOK_PRE_FALCON, -1, 0, 0, 0},
    {"mpt", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"gpt-neox", TOK_PRE_GPT2, -1, 0, 0, 0}, /* not a llama.cpp name: GPT-NeoX's regex is gpt2's */
    {"starcoder", TOK_PRE_STARCODER, -1, 0, 0, 0},
    {"gpt-2", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"phi-2", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"jina-es", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"jina-de", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"gigachat", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"jina-v2-es", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"jina-v2-de", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"a.x-4.0", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"mellum", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"modern-bert", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"jina-v1-en", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"jina-v2-code", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"roberta-bpe", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"olmo", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"jais", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"exaone4", TOK_PRE_GPT2, -1, 0, 0, 0},
    {"trillion", TOK_PRE_GPT2, 0, 0, 0, 0},
    {"granite-docling", TOK_PRE_GPT2, 0, 0, 0, 0},
    {"refact", TOK_PRE_STARCODER, -1, 0, 0, 0},
    {"command-r", TOK_PRE_STARCODER, 0, 0, 0, 0},
    {"smollm", TOK_PRE_STARCODER, 0, 0, 0, 0},
    {"codeshell", TOK_PRE_STARCODER, -1, 0, 0, 0},
    {"exaone", TOK_PRE_STARCODER, -1, 0, 0, 0},
    {"minerva-7b", TOK_PRE_STARCODER, -1, 0, 0, 0},
    {"mellum2", TOK_PRE_STARCODER, -1, 0, 0, 0},
    {"qwen2", TOK_PRE_QWEN2, 0, 0, 0, 0},
    {"deepseek-r1-qwen", TOK_PRE_QWEN2, 0, 0, 0, 0},
    {"kormo", TOK_PRE_QWEN2, 0, 0, 0, 0},
    {"f2llmv2", TOK_PRE_QWEN2, 0, 0, 0, 0},
    {"stablelm2", TOK_PRE_QWEN2, -1, 0, 0, 0},
    {"megrez", TOK_PRE_QWEN2, -1, 0, 0, 0},
    {"hunyuan", TOK_PRE_QWEN2, 0, 0, 0, 0},
    {"solar-open", TOK_PRE_QWEN2, 0, 0, 0, 0},
    {"grok-2", TOK_PRE_QWEN2, 0, 0, 0, 0},
    {"qwen35", TOK_PRE_QWEN35, 0, 0, 0, 0},
    {"laguna", TOK_PRE_LAGUNA, 0, 0, 0, 0},
    {"poro-chat", TOK_PRE_PORO, 0, 0, 0, 0},
    {"bloom", TOK_PRE_PORO, -1, 0, 0, 0},
    {"gpt3-finnish", TOK_PRE_PORO, -1, 0, 0, 0},
    {"viking", TOK_PRE_VIKING, 0, 0, 0, 0},
};

/* ---------------------------------------------------------------- metadata helpers */

static int read_bool_opt(const gguf_file *g, const char *key, int *out) {
    const gguf_value *v = gguf_get(g, key);
    if (v && v->type == GGUF_TYPE_BOOL) *out = v->raw[0] != 0;
    return HEARTH_OK;
}

/* A special-token id from metadata: ignored (default kept) when absent, not an integer, or out
 * of range, as llama.cpp does ("bad special token ... using default id"). */
static void read_id_opt(const gguf_file *g, const char *key, int32_t n_vocab, int32_t *id) {
    const gguf_value *v = gguf_get(g, key);
    if (!v || v->type == GGUF_TYPE_ARRAY || v->type == GGUF_TYPE_STRING ||
        v->type == GGUF_TYPE_FLOAT32 || v->type == GGUF_TYPE_FLOAT64 || v->type == GGUF_TYPE_BOOL)
        return;
    int64_t x = gguf_read_i64(g, key, &x, 0, NULL) == HEARTH_OK ? x : -1;
    if (x >= 0 && x < n_vocab) *id = (int32_t)x;
}

static int32_t find_text(const tokenizer *t, const char *s) { return tok_text_to_token(t, s, strlen(s)); }

static int text_is(const tokenizer *t, int32_t id, const char *s) {
    uint32_t n;
    const char *p = tok_str(&t->strs, id, &n);
    return n == strlen(s) && memcmp(p, s, n) == 0;
}

static int text_in(const tokenizer *t, int32_t id, const char *const *list) {
    for (; *list; list++)
        if (text_is(t, id, *list)) return 1;
    return 0;
}

/* Candidate texts llama.cpp uses to find special tokens the metadata does not name. */
static const char *const k_eot_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
    "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
    "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", "<end_of_utterance>", NULL};
static const char *const k_eom_texts[] = {"<|eom_id|>", NULL};
static const char *const k_fim_pre_texts[] = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<PRE>", "\xe2\x96\x81<PRE>", "<|code_prefix|>",
    "<|prefix|>", NULL};
static const char *const k_fim_suf_texts[] = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81hole\xef\xbd\x9c>", "<SUF>", "\xe2\x96\x81<SUF>", "<|code_suffix|>",
    "<|suffix|>", NULL};
static const char *const k_fim_mid_texts[] = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<MID>", "\xe2\x96\x81<MID>", "<|code_middle|>",
    "<|middle|>", NULL};
static const char *const k_fim_pad_texts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL};
static const char *const k_fim_rep_texts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
    "<reponame>", NULL};
static const char *const k_fim_sep_texts[] = {"<|file_sep|>", NULL};
static const char *const k_eog_texts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
    "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>",
    "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", "[e~[", NULL};
static const char *const k_user_defined_texts[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>", NULL};

/* Sets *id to the lowest-id token whose text is in list (when *id is unset) and makes it CONTROL.
 * llama.cpp takes the first one in hash-map order; for the vocabularies we know only one of each
 * list is present, so lowest id is equivalent there and deterministic everywhere. */
static void detect_special(tokenizer *t, int32_t *id, const char *const *list) {
    if (*id >= 0) return;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (text_in(t, i, list)) {
            *id = i;
            t->attr[i] |= TOKEN_ATTR_CONTROL;
            return;
        }
    }
}

static int eog_add(tokenizer *t, int32_t id) {
    if (id < 0 || id >= t->n_vocab) return HEARTH_OK;
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return HEARTH_OK;
    int32_t *p = h_realloc(t->eog, (size_t)(t->n_eog + 1) * sizeof(int32_t));
    if (!p) return HEARTH_ERR_NOMEM;
    t->eog = p;
    t->eog[t->n_eog++] = id;
    return HEARTH_OK;
}

static void eog_remove(tokenizer *t, int32_t id) {
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) {
            t->eog[i] = t->eog[--t->n_eog];
            return;
        }
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int build_eog(tokenizer *t) {
    detect_special(t, &t->eot, k_eot_texts);
    detect_special(t, &t->eom, k_eom_texts);
    detect_special(t, &t->fim_pre, k_fim_pre_texts);
    detect_special(t, &t->fim_suf, k_fim_suf_texts);
    detect_special(t, &t->fim_mid, k_fim_mid_texts);
    detect_special(t, &t->fim_pad, k_fim_pad_texts);
    detect_special(t, &t->fim_rep, k_fim_rep_texts);
    detect_special(t, &t->fim_sep, k_fim_sep_texts);
    /* control tokens whose text says "unused" */
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (!(t->attr[i] & TOKEN_ATTR_CONTROL)) continue;
        uint32_t n;
        const char *p = tok_str(&t->strs, i, &n);
        if (memmem(p, n, "unused", 6)) t->attr[i] |= TOKEN_ATTR_UNUSED;
    }
    if (eog_add(t, t->fim_pad) || eog_add(t, t->fim_rep) || eog_add(t, t->fim_sep)) return HEARTH_ERR_NOMEM;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (text_in(t, i, k_eog_texts)) {
            if (eog_add(t, i)) return HEARTH_ERR_NOMEM;
            t->attr[i] |= TOKEN_ATTR_CONTROL;
        }
    }
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (text_in(t, i, k_user_defined_texts)) t->attr[i] = TOKEN_ATTR_USER_DEFINED;
    if (eog_add(t, t->eos) || eog_add(t, t->eot) || eog_add(t, t->eom)) return HEARTH_ERR_NOMEM;
    /* o200k_harmony / solar-open: "<|end|>" is not end-of-generation there */
    int has_return = 0, has_call = 0, has_flush = 0, has_tool_response = 0;
    int32_t end_id = -1, s_id = -1;
    for (int i = 0; i < t->n_eog; i++) {
        int32_t id = t->eog[i];
        if (text_is(t, id, "<|return|>")) has_return = 1;
        else if (text_is(t, id, "<|call|>") || text_is(t, id, "<|calls|>")) has_call = 1;
        else if (text_is(t, id, "<|flush|>")) has_flush = 1;
        else if (text_is(t, id, "<|end|>")) end_id = id;
        if (text_is(t, id, "<|tool_response>")) has_tool_response = 1;
        else if (text_is(t, id, "</s>")) s_id = id;
    }
    if (end_id >= 0 && ((has_return && has_call) || (has_call && has_flush))) {
        eog_remove(t, end_id);
        t->attr[end_id] = TOKEN_ATTR_USER_DEFINED;
    }
    if (has_tool_response && s_id >= 0) { /* gemma4 / paddleocr */
        eog_remove(t, s_id);
        t->attr[s_id] = TOKEN_ATTR_NORMAL;
    }
    if (t->n_eog) qsort(t->eog, (size_t)t->n_eog, sizeof(int32_t), cmp_i32);
    return HEARTH_OK;
}

/* ---------------------------------------------------------------- special tokens */

/* Sorts ids by text length, longest first, ties by lowest id (llama.cpp's std::sort leaves ties
 * unspecified), with a stable merge sort. */
static int sort_special(tokenizer *t, int32_t *ids, int n) {
    int32_t *tmp = h_malloc_array((size_t)n, sizeof(int32_t));
    if (!tmp) return HEARTH_ERR_NOMEM;
    for (int w = 1; w < n; w *= 2) {
        for (int lo = 0; lo < n; lo += 2 * w) {
            int mid = H_MIN(lo + w, n), hi = H_MIN(lo + 2 * w, n), i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                uint32_t li = t->strs.len[ids[i]], lj = t->strs.len[ids[j]];
                int take_j = lj > li || (lj == li && ids[j] < ids[i]);
                tmp[k++] = take_j ? ids[j++] : ids[i++];
            }
            while (i < mid) tmp[k++] = ids[i++];
            while (j < hi) tmp[k++] = ids[j++];
        }
        memcpy(ids, tmp, (size_t)n * sizeof(int32_t));
    }
    h_free(tmp);
    return HEARTH_OK;
}

static int build_specials(tokenizer *t) {
    int n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++)
        if (t->attr[i] & (TOKEN_ATTR_CONTROL | TOKEN_ATTR_USER_DEFINED | TOKEN_ATTR_UNKNOWN)) n++;
    t->special = h_malloc_array((size_t)(n ? n : 1), sizeof(int32_t));
    t->special_rank = h_malloc_array((size_t)t->n_vocab, sizeof(int32_t));
    if (!t->special || !t->special_rank) return HEARTH_ERR_NOMEM;
    n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        t->special_rank[i] = -1;
        if (t->attr[i] & (TOKEN_ATTR_CONTROL | TOKEN_ATTR_USER_DEFINED | TOKEN_ATTR_UNKNOWN)) t->special[n++] = i;
    }
    t->n_special = n;
    if (n > 1 && sort_special(t, t->special, n)) return HEARTH_ERR_NOMEM;
    /* trie of their texts */
    size_t total = 1;
    for (int i = 0; i < n; i++) total += t->strs.len[t->special[i]];
    if (total > INT32_MAX) return HEARTH_ERR_RANGE;
    t->trie = h_malloc_array(total, sizeof(tok_trie_node));
    if (!t->trie) return HEARTH_ERR_NOMEM;
    for (int b = 0; b < 256; b++) t->trie_root[b] = -1;
    t->n_trie = 0;
    for (int r = 0; r < n; r++) {
        int32_t id = t->special[r];
        t->special_rank[id] = r;
        uint32_t len;
        const uint8_t *p = (const uint8_t *)tok_str(&t->strs, id, &len);
        if (!len) continue;
        int32_t *link = &t->trie_root[p[0]], node = -1;
        for (uint32_t k = 0; k < len; k++) {
            if (k > 0) {
                link = &t->trie[node].first_child;
                while (*link >= 0 && t->trie[*link].byte != p[k]) link = &t->trie[*link].next_sibling;
            }
            if (*link < 0) {
                int32_t nn = t->n_trie++;
                t->trie[nn].first_child = -1;
                t->trie[nn].next_sibling = -1;
                t->trie[nn].token = -1;
                t->trie[nn].byte = p[k];
                *link = nn;
            }
            node = *link;
        }
        /* duplicates of a text: text_to_token semantics (the id lookups return) win */
        if (t->trie[node].token < 0) t->trie[node].token = id;
    }
    return HEARTH_OK;
}

static int contains_ci(const char *hay, size_t n, const char *needle) {
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) {
        size_t k = 0;
        while (k < m && tolower((unsigned char)hay[i + k]) == needle[k]) k++;
        if (k == m) return 1;
    }
    return 0;
}

static void set_attr_text(tokenizer *t, const char *text, int attr, int on) {
    int32_t id = find_text(t, text);
    if (id < 0) return;
    if (on) t->attr[id] |= (uint16_t)attr;
    else t->attr[id] &= (uint16_t)~attr;
}

static void apply_model_quirks(tokenizer *t, const gguf_file *g) {
    const char *name = "", *pre = "", *arch = "";
    size_t name_n = 0, pre_n = 0, arch_n = 0;
    if (gguf_read_str(g, "general.name", &name, &name_n, 0, NULL)) name_n = 0;
    if (gguf_read_str(g, "tokenizer.ggml.pre", &pre, &pre_n, 0, NULL)) pre_n = 0;
    if (gguf_read_str(g, "general.architecture", &arch, &arch_n, 0, NULL)) arch_n = 0;
    if (contains_ci(pre, pre_n, "jina-v2-de") || contains_ci(pre, pre_n, "jina-v2-es") ||
        contains_ci(pre, pre_n, "jina-v2-code") || contains_ci(arch, arch_n, "nomic-bert-moe") ||
        contains_ci(arch, arch_n, "jina-bert-v3")) {
        set_attr_text(t, "<mask>", TOKEN_ATTR_LSTRIP, 1);
    } else if (contains_ci(name, name_n, "phi-3") || contains_ci(name, name_n, "phi3")) {
        for (int i = 0; i < t->n_special; i++) t->attr[t->special[i]] |= TOKEN_ATTR_RSTRIP;
        set_attr_text(t, "</s>", TOKEN_ATTR_RSTRIP, 1);
        set_attr_text(t, "<unk>", TOKEN_ATTR_RSTRIP, 0);
        set_attr_text(t, "<s>", TOKEN_ATTR_RSTRIP, 0);
        set_attr_text(t, "<|endoftext|>", TOKEN_ATTR_RSTRIP, 0);
    } else if (contains_ci(name, name_n, "modern-bert")) {
        set_attr_text(t, "[MASK]", TOKEN_ATTR_LSTRIP, 1);
    }
}

/* ---------------------------------------------------------------- load */

static int type_to_attr(int64_t type) {
    switch (type) {
    case TOKEN_TYPE_UNKNOWN: return TOKEN_ATTR_UNKNOWN;
    case TOKEN_TYPE_UNUSED: return TOKEN_ATTR_UNUSED;
    case TOKEN_TYPE_NORMAL: return TOKEN_ATTR_NORMAL;
    case TOKEN_TYPE_CONTROL: return TOKEN_ATTR_CONTROL;
    case TOKEN_TYPE_USER_DEFINED: return TOKEN_ATTR_USER_DEFINED;
    case TOKEN_TYPE_BYTE: return TOKEN_ATTR_BYTE;
    default: return TOKEN_ATTR_UNDEFINED;
    }
}

/* A SentencePiece byte token is named exactly "<0xNN>" (two hex digits). */
static int is_byte_name(const char *p, size_t n) {
    if (n != 6 || memcmp(p, "<0x", 3) != 0 || p[5] != '>') return 0;
    for (int i = 3; i < 5; i++) {
        char c = p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return 0;
    }
    return 1;
}

static int is_numeric_array(const gguf_value *v) {
    return v->type == GGUF_TYPE_ARRAY && v->elem_type != GGUF_TYPE_STRING &&
           v->elem_type != GGUF_TYPE_ARRAY && v->elem_type != GGUF_TYPE_BOOL;
}

int tok_vocab_load(tokenizer *t, const gguf_file *g, hearth_error *err) {
    const char *model, *pre = NULL;
    size_t model_n, pre_n = 0;
    int st = gguf_read_str(g, "tokenizer.ggml.model", &model, &model_n, 1, err);
    if (st) return h_err_prefix(err, "tokenizer");
    if (gguf_get(g, "tokenizer.ggml.pre") &&
        (st = gguf_read_str(g, "tokenizer.ggml.pre", &pre, &pre_n, 0, err)))
        return h_err_prefix(err, "tokenizer");

#define MODEL_IS(s) (model_n == strlen(s) && memcmp(model, s, model_n) == 0)
    if (MODEL_IS("llama")) {
        t->type = TOK_SPM;
        t->pre = TOK_PRE_NONE;
        t->bos = 1, t->eos = 2, t->unk = 0;
        t->add_space_prefix = 1, t->add_bos = 1, t->clean_spaces = 0;
    } else if (MODEL_IS("gpt2")) {
        t->type = TOK_BPE;
        t->bos = 11, t->eos = 11, t->unk = -1;
        t->clean_spaces = 1;
        if (!pre || pre_n == 0) {
            t->pre = TOK_PRE_DEFAULT; /* llama.cpp: warns "missing pre-tokenizer type, using 'default'" */
            snprintf(t->pre_name, sizeof t->pre_name, "default");
        } else {
            const pre_entry *e = NULL;
            for (size_t i = 0; i < H_ARRAY_LEN(k_pre); i++)
                if (strlen(k_pre[i].name) == pre_n && memcmp(k_pre[i].name, pre, pre_n) == 0) e = &k_pre[i];
            if (!e)
                return h_err(err, HEARTH_ERR_UNSUPPORTED,
                             "tokenizer: unknown pre-tokenizer tokenizer.ggml.pre = '%.*s' (supported: "
                             "default, gpt-2, llama-bpe, qwen2, qwen35, deepseek-llm, deepseek-coder, "
                             "starcoder, refact, command-r, smollm, falcon, mpt, gpt-neox and aliases; "
                             "see docs/TOKENIZER.md)", (int)H_MIN(pre_n, 64), pre);
            t->pre = e->pre;
            snprintf(t->pre_name, sizeof t->pre_name, "%s", e->name);
            if (e->clean_spaces >= 0) t->clean_spaces = e->clean_spaces;
            t->ignore_merges = e->ignore_merges;
            if (e->add_bos) t->add_bos = 1;
            if (e->no_bos) t->bos = -1;
        }
    } else {
        return h_err(err, HEARTH_ERR_UNSUPPORTED,
                     "tokenizer: tokenizer.ggml.model '%.*s' is not supported (only 'llama' and 'gpt2')",
                     (int)H_MIN(model_n, 64), model);
    }
#undef MODEL_IS
    read_bool_opt(g, "tokenizer.ggml.add_space_prefix", &t->add_space_prefix);

    const gguf_value *toks = gguf_get(g, "tokenizer.ggml.tokens");
    if (!toks) return h_err(err, HEARTH_ERR_FORMAT, "tokenizer: tokenizer.ggml.tokens is missing");
    if (toks->type != GGUF_TYPE_ARRAY || toks->elem_type != GGUF_TYPE_STRING)
        return h_err(err, HEARTH_ERR_FORMAT, "tokenizer: tokenizer.ggml.tokens must be an array of strings");
    if (toks->n == 0 || toks->n > (uint64_t)INT32_MAX / 4)
        return h_err(err, HEARTH_ERR_FORMAT, "tokenizer: tokenizer.ggml.tokens has %llu entries",
                     (unsigned long long)toks->n);
    int32_t n = (int32_t)toks->n;
    t->n_vocab = n;

    const gguf_value *scores = gguf_get(g, "tokenizer.ggml.scores");
    if (scores && (!is_numeric_array(scores) || (scores->elem_type != GGUF_TYPE_FLOAT32 &&
                                                 scores->elem_type != GGUF_TYPE_INT32)))
        return h_err(err, HEARTH_ERR_FORMAT, "tokenizer: tokenizer.ggml.scores must be an f32 or i32 array");
    if (scores && scores->n < toks->n)
        return h_err(err, HEARTH_ERR_FORMAT, "tokenizer: %llu scores for %d tokens",
                     (unsigned long long)scores->n, n);
    const gguf_value *types = gguf_get(g, "tokenizer.ggml.token_type");
    if (types && !is_numeric_array(types))
        return h_err(err, HEARTH_ERR_FORMAT, "tokenizer: tokenizer.ggml.token_type must be an integer array");
    if (types && types->n < toks->n)
        return h_err(err, HEARTH_ERR_FORMAT, "tokenizer: %llu token types for %d tokens",
                     (unsigned long long)types->n, n);

    t->scores = h_malloc_array((size_t)n, sizeof(float));
    t->attr = h_malloc_array((size_t)n, sizeof(uint16_t));
    if (!t->scores || !t->attr) return h_err(err, HEARTH_ERR_NOMEM, "tokenizer: out of memory (%d tokens)", n);
    for (int32_t i = 0; i < n; i++) {
        const char *p = toks->strs[i].p;
        size_t len = (size_t)toks->strs[i].n;
        char empty[32];
        if (len == 0) { /* llama.cpp renames empty tokens */
            snprintf(empty, sizeof empty, "[EMPTY_%d]", (int)i);
            p = empty;
            len = strlen(empty);
        }
        int32_t id;
        if ((st = strtab_add(&t->strs, p, len, 1, &id)))
            return h_err(err, st, "tokenizer: out of memory for token strings");
        t->scores[i] = scores ? (float)gguf_arr_f64(scores, (uint64_t)i) : 0.0f;
        t->attr[i] = (uint16_t)(types ? type_to_attr(gguf_arr_i64(types, (uint64_t)i)) : TOKEN_ATTR_NORMAL);
        if (t->type == TOK_SPM && (t->attr[i] & TOKEN_ATTR_BYTE) && !is_byte_name(p, len))
            return h_err(err, HEARTH_ERR_FORMAT,
                         "tokenizer: byte token %d is named '%.*s' (a byte token must be <0xNN>, two hex digits)",
                         (int)i, (int)H_MIN(len, 32), p);
    }

    for (int b = 0; b < 256; b++) {
        t->byte_sid[b] = -1;
        t->byte_token[b] = -1;
    }
    if (t->type == TOK_BPE) {
        const gguf_value *merges = gguf_get(g, "tokenizer.ggml.merges");
        if (!merges) return h_err(err, HEARTH_ERR_FORMAT, "tokenizer: tokenizer.ggml.merges is missing (gpt2 vocab)");
        if ((st = load_merges(t, merges, err))) return st;
        for (int b = 0; b < 256; b++) {
            uint32_t cp = byte_to_cp(b);
            uint8_t u[4];
            size_t k = unicode_encode(cp, u);
            t->byte_sid[b] = tok_str_find(&t->strs, (const char *)u, k);
            t->byte_cp[b] = (uint16_t)cp;
            t->byte_of_char[cp] = (uint8_t)b;
            t->char_is_byte[cp] = 1;
        }
    } else {
        static const char hex[] = "0123456789ABCDEF";
        for (int b = 0; b < 256; b++) {
            char buf[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
            int32_t id = tok_text_to_token(t, buf, 6);
            if (id < 0) {
                char c = (char)b;
                id = tok_text_to_token(t, &c, 1);
            }
            t->byte_token[b] = id;
        }
    }

    /* special ids: defaults out of range are disabled, then the metadata overrides */
    int32_t *ids[] = {&t->bos, &t->eos, &t->eot, &t->eom, &t->unk, &t->sep, &t->pad, &t->mask};
    for (size_t i = 0; i < H_ARRAY_LEN(ids); i++)
        if (*ids[i] >= n) *ids[i] = -1;
    t->eot = t->eom = t->sep = t->pad = t->mask = -1;
    t->fim_pre = t->fim_suf = t->fim_mid = t->fim_pad = t->fim_rep = t->fim_sep = -1;
    read_id_opt(g, "tokenizer.ggml.bos_token_id", n, &t->bos);
    read_id_opt(g, "tokenizer.ggml.eos_token_id", n, &t->eos);
    read_id_opt(g, "tokenizer.ggml.eot_token_id", n, &t->eot);
    read_id_opt(g, "tokenizer.ggml.eom_token_id", n, &t->eom);
    read_id_opt(g, "tokenizer.ggml.unknown_token_id", n, &t->unk);
    read_id_opt(g, "tokenizer.ggml.seperator_token_id", n, &t->sep);
    read_id_opt(g, "tokenizer.ggml.padding_token_id", n, &t->pad);
    read_id_opt(g, "tokenizer.ggml.mask_token_id", n, &t->mask);
    read_id_opt(g, "tokenizer.ggml.fim_pre_token_id", n, &t->fim_pre);
    read_id_opt(g, "tokenizer.ggml.fim_suf_token_id", n, &t->fim_suf);
    read_id_opt(g, "tokenizer.ggml.fim_mid_token_id", n, &t->fim_mid);
    read_id_opt(g, "tokenizer.ggml.fim_pad_token_id", n, &t->fim_pad);
    read_id_opt(g, "tokenizer.ggml.fim_rep_token_id", n, &t->fim_rep);
    read_id_opt(g, "tokenizer.ggml.fim_sep_token_id", n, &t->fim_sep);
    read_id_opt(g, "tokenizer.ggml.prefix_token_id", n, &t->fim_pre);
    read_id_opt(g, "tokenizer.ggml.suffix_token_id", n, &t->fim_suf);
    read_id_opt(g, "tokenizer.ggml.middle_token_id", n, &t->fim_mid);
    read_bool_opt(g, "tokenizer.ggml.add_bos_token", &t->add_bos);
    read_bool_opt(g, "tokenizer.ggml.add_eos_token", &t->add_eos);

    if ((st = build_eog(t))) return h_err(err, st, "tokenizer: out of memory");
    if ((st = build_specials(t))) return h_err(err, st, "tokenizer: out of memory for special tokens");
    apply_model_quirks(t, g);
    return HEARTH_OK;
}

void tok_vocab_free(tokenizer *t) {
    strtab_free(&t->strs);
    h_free(t->scores);
    h_free(t->attr);
    h_free(t->merges);
    h_free(t->eog);
    h_free(t->special);
    h_free(t->special_rank);
    h_free(t->trie);
}
