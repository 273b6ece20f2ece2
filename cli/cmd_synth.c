/* cmd_synth.c — `hearth synth`: writes a GGUF with the tensor names, shapes and type mix of a
 * real model (as llama.cpp's converter and llama-quantize would lay it out), deterministic random
 * weights and a synthetic tokenizer of the right kind and size, so benchmarks need no download.
 * Speed depends on shapes and types, not on values; the weights are scaled so that activations
 * stay in a normal range (no overflow, no denormals). */
#include "cli.h"

#include "../src/quant.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct synth_spec {
    const char *like, *arch, *name;
    int n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx;
    float rope_theta, rms_eps;
    int tied, qkv_bias, qk_norm, rope_freqs_factor; /* llama3 rope scaling factor, 0 = none */
    const char *tok_model, *tok_pre;                /* "gpt2"/"llama", pre-tokenizer */
} synth_spec;

/* Shapes of the real models (from their published configs). */
static const synth_spec specs[] = {
    {"qwen2.5-0.5b", "qwen2", "Qwen2.5-0.5B-Instruct (synthetic weights)", 896, 24, 14, 2, 64, 4864, 151936, 32768,
     1000000.0f, 1e-6f, 1, 1, 0, 0, "gpt2", "qwen2"},
    {"qwen2.5-1.5b", "qwen2", "Qwen2.5-1.5B-Instruct (synthetic weights)", 1536, 28, 12, 2, 128, 8960, 151936, 32768,
     1000000.0f, 1e-6f, 1, 1, 0, 0, "gpt2", "qwen2"},
    {"qwen3-0.6b", "qwen3", "Qwen3-0.6B (synthetic weights)", 1024, 28, 16, 8, 128, 3072, 151936, 40960, 1000000.0f,
     1e-6f, 1, 0, 1, 0, "gpt2", "qwen2"},
    {"llama-3.2-1b", "llama", "Llama-3.2-1B-Instruct (synthetic weights)", 2048, 16, 32, 8, 64, 8192, 128256, 131072,
     500000.0f, 1e-5f, 1, 0, 0, 32, "gpt2", "llama-bpe"},
    {"llama-2-7b", "llama", "Llama-2-7b (synthetic weights)", 4096, 32, 32, 32, 128, 11008, 32000, 4096, 10000.0f,
     1e-5f, 0, 0, 0, 0, "llama", ""},
    {"llama-3.1-8b", "llama", "Llama-3.1-8B-Instruct (synthetic weights)", 4096, 32, 32, 8, 128, 14336, 128256, 131072,
     500000.0f, 1e-5f, 0, 0, 0, 8, "gpt2", "llama-bpe"},
};

typedef enum { MIX_Q4_0, MIX_Q4_K_M, MIX_Q8_0, MIX_F16 } synth_mix;

typedef struct synth_tensor {
    char name[64];
    uint32_t type;
    int n_dims;
    uint64_t ne[2];
    uint64_t size, offset;
    float scale; /* target standard deviation of the values (norm weights: exactly 1) */
    int kind;    /* 0 matrix, 1 norm (ones), 2 bias (small), 3 rope factors */
} synth_tensor;

/* ---- a small streaming GGUF writer --------------------------------------------------------- */

typedef struct obuf {
    uint8_t *p;
    size_t len, cap;
    int oom;
    int n_kv; /* key/value pairs written */
} obuf;

static void put(obuf *b, const void *p, size_t n) {
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1 << 16;
        while (cap < b->len + n) cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}
static void put_u32(obuf *b, uint32_t v) { uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)}; put(b, x, 4); }
static void put_u64(obuf *b, uint64_t v) { put_u32(b, (uint32_t)v); put_u32(b, (uint32_t)(v >> 32)); }
static void put_f32(obuf *b, float f) { uint32_t u; memcpy(&u, &f, 4); put_u32(b, u); }
static void put_str(obuf *b, const char *s, size_t n) { put_u64(b, n); put(b, s, n); }
static void kv_key(obuf *b, const char *k, uint32_t type) { put_str(b, k, strlen(k)); put_u32(b, type); b->n_kv++; }
static void kv_str(obuf *b, const char *k, const char *v) { kv_key(b, k, 8); put_str(b, v, strlen(v)); }
static void kv_u32(obuf *b, const char *k, uint32_t v) { kv_key(b, k, 4); put_u32(b, v); }
static void kv_f32(obuf *b, const char *k, float v) { kv_key(b, k, 6); put_f32(b, v); }
static void kv_bool(obuf *b, const char *k, int v) { kv_key(b, k, 7); uint8_t x = (uint8_t)(v != 0); put(b, &x, 1); }

/* ---- deterministic randomness ------------------------------------------------------------- */

static uint64_t rnd(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float rnd_uniform(uint64_t *s) { return (float)((rnd(s) >> 40) * (1.0 / 16777216.0)); } /* [0, 1) */

/* ---- tokenizer ------------------------------------------------------------------------------ */

/* The GPT-2 byte-to-character map (a fact of byte-level BPE): printable bytes stand for
 * themselves, the others map to U+0100 upwards. Writes the UTF-8 of byte b's character. */
static int byte_char(int b, char *out) {
    int cp;
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) {
        cp = b;
    } else {
        int n = 0;
        for (int x = 0; x < b; x++)
            if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) n++;
        cp = 256 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

/* A vocabulary under construction: unique token strings with type and score. */
typedef struct vocab {
    char **tok;
    int *type;
    float *score;
    int n;
    int *set; /* open addressing over token strings: index or -1 */
    size_t set_cap;
} vocab;

static size_t str_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return (size_t)h;
}

static int vocab_has(const vocab *v, const char *s) {
    for (size_t h = str_hash(s) & (v->set_cap - 1); v->set[h] >= 0; h = (h + 1) & (v->set_cap - 1))
        if (strcmp(v->tok[v->set[h]], s) == 0) return 1;
    return 0;
}

/* Takes ownership of s (a malloc'ed string not yet in the vocabulary). */
static void vocab_add(vocab *v, char *s, int type, float score) {
    size_t h = str_hash(s) & (v->set_cap - 1);
    while (v->set[h] >= 0) h = (h + 1) & (v->set_cap - 1);
    v->set[h] = v->n;
    v->type[v->n] = type;
    v->score[v->n] = score;
    v->tok[v->n++] = s;
}

/* A synthetic vocabulary: byte-level BPE (256 byte tokens, then merges of short tokens) or
 * SentencePiece (<unk> <s> </s>, 256 byte tokens, then pieces with scores), plus the family's
 * special tokens at the end. Token strings are unique. */
static int write_tokenizer(obuf *b, const synth_spec *sp, uint64_t seed) {
    int n = sp->n_vocab, gpt2 = strcmp(sp->tok_model, "gpt2") == 0;
    int qwen = strcmp(sp->tok_pre, "qwen2") == 0;
    const char *const qwen_special[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
    const char *const llama3_special[] = {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                                          "<|end_header_id|>", "<|eot_id|>"};
    const char *const *special = !gpt2 ? NULL : qwen ? qwen_special : llama3_special;
    int n_special = !gpt2 ? 0 : qwen ? 3 : 5;
    vocab v = {0};
    char **merges = calloc((size_t)n, sizeof *merges);
    int n_merges = 0, rc = 1, short_n = 0;
    int *short_ids = calloc((size_t)n, sizeof(int)); /* tokens short enough to merge further */
    v.tok = calloc((size_t)n, sizeof *v.tok);
    v.type = calloc((size_t)n, sizeof *v.type);
    v.score = calloc((size_t)n, sizeof *v.score);
    v.set_cap = 1;
    while (v.set_cap < (size_t)n * 2) v.set_cap <<= 1;
    v.set = malloc(v.set_cap * sizeof *v.set);
    if (!merges || !short_ids || !v.tok || !v.type || !v.score || !v.set) goto done;
    for (size_t i = 0; i < v.set_cap; i++) v.set[i] = -1;
    char buf[64], *s;
    if (gpt2) {
        for (int c = 0; c < 256; c++) {
            buf[byte_char(c, buf)] = 0;
            if (!(s = strdup(buf))) goto done;
            vocab_add(&v, s, 1, 0.0f);
            short_ids[short_n++] = c;
        }
    } else {
        const char *first[] = {"<unk>", "<s>", "</s>"};
        for (int i = 0; i < 3; i++) {
            if (!(s = strdup(first[i]))) goto done;
            vocab_add(&v, s, i == 0 ? 2 : 3, 0.0f);
        }
        for (int c = 0; c < 256; c++) {
            snprintf(buf, sizeof buf, "<0x%02X>", c);
            if (!(s = strdup(buf))) goto done;
            vocab_add(&v, s, 6, 0.0f);
        }
        /* "▁" and the printable ASCII characters, so that any text has pieces */
        if (!(s = strdup("\xe2\x96\x81"))) goto done;
        vocab_add(&v, s, 1, -1.0f);
        short_ids[short_n++] = v.n - 1;
        for (int c = 33; c < 127; c++) {
            buf[0] = (char)c, buf[1] = 0;
            if (!(s = strdup(buf))) goto done;
            vocab_add(&v, s, 1, -1.0f);
            short_ids[short_n++] = v.n - 1;
        }
    }
    while (v.n < n - n_special) {
        int a = short_ids[rnd(&seed) % (uint64_t)short_n], c = short_ids[rnd(&seed) % (uint64_t)short_n];
        size_t la = strlen(v.tok[a]), lc = strlen(v.tok[c]);
        if (la + lc > 24) continue;
        if (!(s = malloc(la + lc + 1))) goto done;
        memcpy(s, v.tok[a], la);
        memcpy(s + la, v.tok[c], lc + 1);
        if (vocab_has(&v, s)) {
            free(s);
            continue;
        }
        if (gpt2) {
            char *mg = malloc(la + lc + 2);
            if (!mg) {
                free(s);
                goto done;
            }
            memcpy(mg, v.tok[a], la);
            mg[la] = ' ';
            memcpy(mg + la + 1, v.tok[c], lc + 1);
            merges[n_merges++] = mg;
        }
        vocab_add(&v, s, 1, -(float)v.n);
        if (la + lc <= 8) short_ids[short_n++] = v.n - 1;
    }
    for (int i = 0; i < n_special; i++) {
        if (!(s = strdup(special[i]))) goto done;
        vocab_add(&v, s, 3, 0.0f);
    }
    kv_str(b, "tokenizer.ggml.model", sp->tok_model);
    if (gpt2) kv_str(b, "tokenizer.ggml.pre", sp->tok_pre);
    kv_key(b, "tokenizer.ggml.tokens", 9);
    put_u32(b, 8);
    put_u64(b, (uint64_t)v.n);
    for (int i = 0; i < v.n; i++) put_str(b, v.tok[i], strlen(v.tok[i]));
    kv_key(b, "tokenizer.ggml.token_type", 9);
    put_u32(b, 5);
    put_u64(b, (uint64_t)v.n);
    for (int i = 0; i < v.n; i++) put_u32(b, (uint32_t)v.type[i]);
    int first_special = n - n_special;
    if (gpt2) {
        kv_key(b, "tokenizer.ggml.merges", 9);
        put_u32(b, 8);
        put_u64(b, (uint64_t)n_merges);
        for (int i = 0; i < n_merges; i++) put_str(b, merges[i], strlen(merges[i]));
        /* Qwen: BOS <|endoftext|> (not added), EOS <|im_end|>; Llama 3: BOS <|begin_of_text|>, EOS/EOT <|eot_id|> */
        kv_u32(b, "tokenizer.ggml.bos_token_id", (uint32_t)first_special);
        kv_u32(b, "tokenizer.ggml.eos_token_id", (uint32_t)(n - 1));
        if (!qwen) kv_u32(b, "tokenizer.ggml.eot_token_id", (uint32_t)(n - 1));
        kv_bool(b, "tokenizer.ggml.add_bos_token", !qwen);
        if (qwen)
            kv_str(b, "tokenizer.chat_template",
                   "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                   "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");
    } else {
        kv_key(b, "tokenizer.ggml.scores", 9);
        put_u32(b, 6);
        put_u64(b, (uint64_t)v.n);
        for (int i = 0; i < v.n; i++) put_f32(b, v.score[i]);
        kv_u32(b, "tokenizer.ggml.unknown_token_id", 0);
        kv_u32(b, "tokenizer.ggml.bos_token_id", 1);
        kv_u32(b, "tokenizer.ggml.eos_token_id", 2);
        kv_bool(b, "tokenizer.ggml.add_bos_token", 1);
    }
    rc = b->oom;
done:
    for (int i = 0; i < v.n; i++) free(v.tok[i]);
    for (int i = 0; i < n_merges; i++) free(merges[i]);
    free(v.tok);
    free(v.type);
    free(v.score);
    free(v.set);
    free(merges);
    free(short_ids);
    return rc;
}

/* ---- tensors --------------------------------------------------------------------------------- */

/* llama-quantize's choice for one tensor (the facts of its type mixes for these four types):
 * output.weight (or the tied token_embd) gets Q6_K in K-quant-compatible shapes (Q8_0 otherwise),
 * Q4_K_M gives Q6_K to attn_v / ffn_down of "more bits" layers, and K types fall back to
 * Q5_0 / Q8_0 when the row length is not a multiple of 256. */
static uint32_t pick_type(synth_mix mix, const char *role, int layer, int n_layer, uint64_t row) {
    if (mix == MIX_F16) return QT_F16;
    if (mix == MIX_Q8_0) return QT_Q8_0;
    uint32_t t;
    int more_bits = layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2;
    if (strcmp(role, "output") == 0) t = QT_Q6_K;
    else if (mix == MIX_Q4_0) t = QT_Q4_0;
    else if ((strcmp(role, "attn_v") == 0 || strcmp(role, "ffn_down") == 0) && more_bits) t = QT_Q6_K;
    else t = QT_Q4_K;
    if ((t == QT_Q6_K || t == QT_Q4_K) && row % 256) t = t == QT_Q6_K ? QT_Q8_0 : QT_Q5_0;
    return t;
}

static void add_tensor(synth_tensor *ts, int *n, const char *name, uint32_t type, uint64_t ne0, uint64_t ne1, int kind) {
    synth_tensor *t = &ts[(*n)++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = type;
    t->n_dims = ne1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 ? ne1 : 1;
    t->size = quant_row_bytes(type, (int64_t)ne0) * t->ne[1];
    t->kind = kind;
    t->scale = kind == 0 ? (float)(1.0 / sqrt((double)ne0)) : 0.02f;
}

/* Fills `count` elements' worth of blocks of `type` with random values of standard deviation
 * about `scale`: random quants with block scales chosen accordingly. */
static void fill_blocks(uint32_t type, uint8_t *p, size_t nblocks, float scale, uint64_t *s) {
    const quant_info *qi = quant_info_of(type);
    size_t bytes = qi->bytes;
    for (size_t i = 0; i < nblocks; i++, p += bytes) {
        for (size_t k = 0; k < bytes; k += 8) {
            uint64_t r = rnd(s);
            memcpy(p + k, &r, H_MIN((size_t)8, bytes - k));
        }
        float jitter = 0.75f + 0.5f * rnd_uniform(s);
        switch (type) {
        case QT_Q4_0: { uint16_t d = h_f32_to_f16(scale * jitter / 4.6f); memcpy(p, &d, 2); break; }
        case QT_Q5_0: { uint16_t d = h_f32_to_f16(scale * jitter / 9.2f); memcpy(p, &d, 2); break; }
        case QT_Q8_0: { uint16_t d = h_f32_to_f16(scale * jitter / 73.9f); memcpy(p, &d, 2); break; }
        case QT_Q4_K: {
            /* values d*sc*q - dmin*m with sc, m uniform in 0..63 and q in 0..15: sc*q has standard
             * deviation ~218 and mean ~236; dmin = 7.5 d roughly centres the values */
            blk_q4_k *b = (blk_q4_k *)p;
            b->d = h_f32_to_f16(scale * jitter / 218.0f);
            b->dmin = h_f32_to_f16(scale * jitter * 7.5f / 218.0f);
            break;
        }
        case QT_Q6_K: {
            blk_q6_k *b = (blk_q6_k *)p;
            b->d = h_f32_to_f16(scale * jitter / (18.5f * 73.9f));
            break;
        }
        default: break;
        }
    }
}

static int write_tensor_data(FILE *f, const synth_tensor *t, uint64_t seed, uint8_t *buf, size_t bufsz) {
    uint64_t s = seed;
    if (t->type == QT_F32 || t->type == QT_F16) {
        size_t elt = t->type == QT_F32 ? 4 : 2, per = bufsz / elt;
        uint64_t total = t->ne[0] * t->ne[1];
        for (uint64_t done = 0; done < total;) {
            size_t k = (size_t)H_MIN((uint64_t)per, total - done);
            for (size_t i = 0; i < k; i++) {
                float v;
                if (t->kind == 1) v = 1.0f;
                else if (t->kind == 3) v = 1.0f + (float)((done + i) % 8);
                else v = (rnd_uniform(&s) + rnd_uniform(&s) + rnd_uniform(&s) - 1.5f) * 2.0f * t->scale;
                if (elt == 4) memcpy(buf + 4 * i, &v, 4);
                else {
                    uint16_t h = h_f32_to_f16(v);
                    memcpy(buf + 2 * i, &h, 2);
                }
            }
            if (fwrite(buf, elt, k, f) != k) return 1;
            done += k;
        }
        return 0;
    }
    const quant_info *qi = quant_info_of(t->type);
    uint64_t nblocks = t->size / qi->bytes;
    size_t per = bufsz / qi->bytes;
    for (uint64_t done = 0; done < nblocks;) {
        size_t k = (size_t)H_MIN((uint64_t)per, nblocks - done);
        fill_blocks(t->type, buf, k, t->scale, &s);
        if (fwrite(buf, qi->bytes, k, f) != k) return 1;
        done += k;
    }
    return 0;
}

int cmd_synth(int argc, char **argv) {
    const char *cmd = "synth", *like = NULL, *type_s = NULL, *outp = NULL;
    long long seed = 1;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: hearth synth --like MODEL --type TYPE -o FILE [--seed S]\n\n"
                   "Writes a GGUF with the tensor names, shapes and type mix of a real model, deterministic\n"
                   "random weights and a synthetic tokenizer of the model's kind and size (for benchmarks).\n\n"
                   "  --like M    qwen2.5-0.5b | qwen2.5-1.5b | qwen3-0.6b | llama-3.2-1b | llama-2-7b | llama-3.1-8b\n"
                   "  --type T    q4_0 | q4_k_m | q8_0 | f16 (llama-quantize's mixes: output Q6_K, Q4_K_M's\n"
                   "              Q6_K attn_v/ffn_down layers, Q5_0/Q8_0 fallbacks for rows not divisible by 256)\n"
                   "  -o FILE     output path\n"
                   "  --seed S    random seed (default 1); the same seed writes the same bytes\n");
            return 0;
        } else if (strcmp(argv[i], "--like") == 0 && i + 1 < argc) {
            like = argv[++i];
        } else if (strcmp(argv[i], "--type") == 0 && i + 1 < argc) {
            type_s = argv[++i];
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            outp = argv[++i];
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            if (!cli_parse_int("--seed", argv[++i], 0, INT64_MAX, &seed)) return 2;
        } else {
            return cli_fail(cmd, "unknown option '%s' (see --help)", argv[i]) + 1;
        }
    }
    if (!like || !type_s || !outp) return cli_fail(cmd, "usage: hearth synth --like MODEL --type TYPE -o FILE") + 1;
    const synth_spec *sp = NULL;
    for (size_t i = 0; i < H_ARRAY_LEN(specs); i++)
        if (strcmp(specs[i].like, like) == 0) sp = &specs[i];
    if (!sp) return cli_fail(cmd, "unknown model '%s' (see --help for the list)", like) + 1;
    synth_mix mix;
    int file_type;
    if (strcmp(type_s, "q4_0") == 0) mix = MIX_Q4_0, file_type = 2;
    else if (strcmp(type_s, "q4_k_m") == 0) mix = MIX_Q4_K_M, file_type = 15;
    else if (strcmp(type_s, "q8_0") == 0) mix = MIX_Q8_0, file_type = 7;
    else if (strcmp(type_s, "f16") == 0) mix = MIX_F16, file_type = 1;
    else return cli_fail(cmd, "unknown type '%s' (q4_0, q4_k_m, q8_0, f16)", type_s) + 1;

    int max_t = 4 + sp->n_layer * 15, nt = 0;
    synth_tensor *ts = calloc((size_t)max_t, sizeof *ts);
    if (!ts) return cli_fail(cmd, "out of memory");
    uint64_t E = (uint64_t)sp->n_embd, Q = (uint64_t)sp->n_head * sp->head_dim, KV = (uint64_t)sp->n_head_kv * sp->head_dim;
    uint64_t F = (uint64_t)sp->n_ff, V = (uint64_t)sp->n_vocab;
    add_tensor(ts, &nt, "token_embd.weight", pick_type(mix, sp->tied ? "output" : "token_embd", 0, 1, E), E, V, 0);
    add_tensor(ts, &nt, "output_norm.weight", QT_F32, E, 0, 1);
    if (!sp->tied) add_tensor(ts, &nt, "output.weight", pick_type(mix, "output", 0, 1, E), E, V, 0);
    if (sp->rope_freqs_factor) add_tensor(ts, &nt, "rope_freqs.weight", QT_F32, (uint64_t)sp->head_dim / 2, 0, 3);
    for (int l = 0; l < sp->n_layer; l++) {
        char n[64];
#define M(suffix, role, ne0, ne1)                                                                    \
    snprintf(n, sizeof n, "blk.%d.%s", l, suffix);                                                   \
    add_tensor(ts, &nt, n, pick_type(mix, role, l, sp->n_layer, ne0), ne0, ne1, 0);
#define V1(suffix, ne0, kind)                                                                        \
    snprintf(n, sizeof n, "blk.%d.%s", l, suffix);                                                   \
    add_tensor(ts, &nt, n, QT_F32, ne0, 0, kind);
        V1("attn_norm.weight", E, 1)
        M("attn_q.weight", "attn_q", E, Q)
        M("attn_k.weight", "attn_k", E, KV)
        M("attn_v.weight", "attn_v", E, KV)
        if (sp->qkv_bias) {
            V1("attn_q.bias", Q, 2)
            V1("attn_k.bias", KV, 2)
            V1("attn_v.bias", KV, 2)
        }
        if (sp->qk_norm) {
            V1("attn_q_norm.weight", (uint64_t)sp->head_dim, 1)
            V1("attn_k_norm.weight", (uint64_t)sp->head_dim, 1)
        }
        M("attn_output.weight", "attn_output", Q, E)
        V1("ffn_norm.weight", E, 1)
        M("ffn_gate.weight", "ffn_gate", E, F)
        M("ffn_up.weight", "ffn_up", E, F)
        M("ffn_down.weight", "ffn_down", F, E)
#undef M
#undef V1
    }
    obuf kv = {0};
    char key[96];
#define KEY(suffix) (snprintf(key, sizeof key, "%s.%s", sp->arch, suffix), key)
    kv_str(&kv, "general.architecture", sp->arch);
    kv_str(&kv, "general.name", sp->name);
    kv_u32(&kv, "general.file_type", (uint32_t)file_type);
    kv_u32(&kv, "general.alignment", 32);
    kv_u32(&kv, KEY("context_length"), (uint32_t)sp->n_ctx);
    kv_u32(&kv, KEY("embedding_length"), (uint32_t)sp->n_embd);
    kv_u32(&kv, KEY("block_count"), (uint32_t)sp->n_layer);
    kv_u32(&kv, KEY("feed_forward_length"), (uint32_t)sp->n_ff);
    kv_u32(&kv, KEY("attention.head_count"), (uint32_t)sp->n_head);
    kv_u32(&kv, KEY("attention.head_count_kv"), (uint32_t)sp->n_head_kv);
    kv_u32(&kv, KEY("attention.key_length"), (uint32_t)sp->head_dim);
    kv_u32(&kv, KEY("attention.value_length"), (uint32_t)sp->head_dim);
    kv_u32(&kv, KEY("rope.dimension_count"), (uint32_t)sp->head_dim);
    kv_f32(&kv, KEY("rope.freq_base"), sp->rope_theta);
    kv_f32(&kv, KEY("attention.layer_norm_rms_epsilon"), sp->rms_eps);
    kv_u32(&kv, KEY("vocab_size"), (uint32_t)sp->n_vocab);
#undef KEY
    if (write_tokenizer(&kv, sp, (uint64_t)seed ^ 0x746f6bu)) {
        free(ts);
        free(kv.p);
        return cli_fail(cmd, "out of memory building the tokenizer");
    }

    obuf hdr = {0};
    put_u32(&hdr, 0x46554747u);
    put_u32(&hdr, 3);
    put_u64(&hdr, (uint64_t)nt);
    put_u64(&hdr, (uint64_t)kv.n_kv);
    put(&hdr, kv.p, kv.len);
    free(kv.p);
    uint64_t off = 0;
    for (int i = 0; i < nt; i++) {
        synth_tensor *t = &ts[i];
        put_str(&hdr, t->name, strlen(t->name));
        put_u32(&hdr, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++) put_u64(&hdr, t->ne[d]);
        put_u32(&hdr, t->type);
        t->offset = off;
        put_u64(&hdr, off);
        off += (t->size + 31) / 32 * 32;
    }
    size_t pad = (32 - hdr.len % 32) % 32;
    uint8_t zeros[32] = {0};
    put(&hdr, zeros, pad);
    int rc = 1;
    uint8_t *buf = malloc(1 << 22);
    FILE *f = fopen(outp, "wb");
    if (hdr.oom || !buf) {
        cli_fail(cmd, "out of memory");
        goto done;
    }
    if (!f) {
        cli_fail(cmd, "cannot create '%s': %s", outp, strerror(errno));
        goto done;
    }
    if (fwrite(hdr.p, 1, hdr.len, f) != hdr.len) goto io;
    for (int i = 0; i < nt; i++) {
        if (write_tensor_data(f, &ts[i], (uint64_t)seed * 1000003u + (uint64_t)i, buf, 1 << 22)) goto io;
        size_t tp = (size_t)((32 - ts[i].size % 32) % 32);
        if (tp && fwrite(zeros, 1, tp, f) != tp) goto io;
    }
    if (fclose(f) != 0) {
        f = NULL;
        goto io;
    }
    f = NULL;
    fprintf(stderr, "hearth synth: wrote %s (%s, %s, %d tensors, %.1f MiB)\n", outp, sp->like, type_s, nt,
            (double)(hdr.len + off) / 1048576.0);
    rc = 0;
    goto done;
io:
    cli_fail(cmd, "cannot write '%s': %s", outp, strerror(errno));
done:
    if (f) fclose(f);
    free(buf);
    free(hdr.p);
    free(ts);
    return rc;
}
