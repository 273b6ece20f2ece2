/* micro_model.c — a tiny complete llama / qwen2 / qwen3 GGUF for fuzzing seeds and fault
 * injection (micro_model.h). Weights are deterministic and small, so logits stay finite. */
#include "micro_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deterministic values in [-0.5, 0.5). */
static float det(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f - 0.5f;
}

static int skipped(const micro_edit *e, const char *name) {
    for (int i = 0; e && i < 8 && e->skip[i]; i++)
        if (!strcmp(e->skip[i], name)) return 1;
    return 0;
}

static void f32_tensor(gguf_writer *w, const char *name, uint64_t n, float base, float scale, uint32_t *s) {
    float *v = malloc(n * sizeof *v);
    if (!v) abort();
    for (uint64_t i = 0; i < n; i++) v[i] = base + scale * det(s);
    const uint64_t ne[1] = {n};
    gw_add_tensor(w, name, GW_T_F32, 1, ne, v);
    free(v);
}

/* Q8_0 matrix rows x cols (cols = row length, a multiple of 32): scale 1/64, quants in [-32, 32). */
static void q8_tensor(gguf_writer *w, const char *name, uint64_t cols, uint64_t rows, uint32_t *s) {
    uint64_t nblk = cols / 32 * rows;
    uint8_t *b = malloc(nblk * 34);
    if (!b) abort();
    for (uint64_t k = 0; k < nblk; k++) {
        b[34 * k] = 0x00; /* f16 1/64 = 0x2400 */
        b[34 * k + 1] = 0x24;
        for (int j = 0; j < 32; j++) b[34 * k + 2 + j] = (uint8_t)(int8_t)(int)(det(s) * 64.0f);
    }
    const uint64_t ne[2] = {cols, rows};
    gw_add_tensor(w, name, GW_T_Q8_0, 2, ne, b);
    free(b);
}

void micro_model(gw_buf *out, const char *arch, int with_tokenizer) {
    gguf_writer w;
    gw_init(&w);
    micro_model_writer(&w, arch, with_tokenizer, NULL);
    gw_finish(&w, out, NULL);
    gw_free(&w);
}

void micro_model_writer(gguf_writer *wr, const char *arch, int with_tokenizer, const micro_edit *edit) {
    const int E = MICRO_N_EMBD, H = 2, HKV = 1, D = 16, FF = 64;
    const int V = with_tokenizer ? MICRO_N_VOCAB_TOK : MICRO_N_VOCAB_BARE;
    int qwen2 = !strcmp(arch, "qwen2"), qwen3 = !strcmp(arch, "qwen3");
    /* every writer call below goes through this filter copy: skipped names are dropped */
    gguf_writer tmp;
    gw_init(&tmp);
    gguf_writer *w = &tmp;
    char key[96];
    gw_kv_str(w, "general.architecture", arch);
    gw_kv_str(w, "general.name", "micro");
#define KEY(suffix) (snprintf(key, sizeof key, "%s.%s", arch, suffix), key)
    gw_kv_u32(w, KEY("context_length"), 64);
    gw_kv_u32(w, KEY("embedding_length"), (uint32_t)E);
    gw_kv_u32(w, KEY("block_count"), 1);
    gw_kv_u32(w, KEY("feed_forward_length"), (uint32_t)FF);
    gw_kv_u32(w, KEY("attention.head_count"), (uint32_t)H);
    gw_kv_u32(w, KEY("attention.head_count_kv"), (uint32_t)HKV);
    gw_kv_f32(w, KEY("rope.freq_base"), 10000.0f);
    gw_kv_f32(w, KEY("attention.layer_norm_rms_epsilon"), 1e-5f);
    if (qwen3) gw_kv_u32(w, KEY("attention.key_length"), (uint32_t)D);
#undef KEY
    if (with_tokenizer) {
        const char *pieces[13] = {"\xe2\x96\x81", "a", "b", "c", ("\xe2\x96\x81" "a"), ("\xe2\x96\x81" "b"),
                                  "ab", ("\xe2\x96\x81" "ab"), "he", "ll", "o", ("\xe2\x96\x81" "he"), "llo"};
        const char **toks = malloc((size_t)V * sizeof *toks);
        char(*bytes)[8] = malloc(256 * sizeof *bytes);
        float *scores = malloc((size_t)V * sizeof *scores);
        int32_t *types = malloc((size_t)V * sizeof *types);
        if (!toks || !bytes || !scores || !types) abort();
        toks[0] = "<unk>", toks[1] = "<s>", toks[2] = "</s>";
        types[0] = 2, types[1] = 3, types[2] = 3; /* UNKNOWN, CONTROL */
        scores[0] = scores[1] = scores[2] = 0;
        for (int i = 0; i < 256; i++) {
            snprintf(bytes[i], sizeof bytes[i], "<0x%02X>", i);
            toks[3 + i] = bytes[i];
            types[3 + i] = 6; /* BYTE */
            scores[3 + i] = 0;
        }
        for (int i = 0; i < 13; i++) {
            toks[259 + i] = pieces[i];
        }
        for (int i = 0; edit && edit->rename_from && i < V; i++)
            if (!strcmp(toks[i], edit->rename_from)) toks[i] = edit->rename_to;
        for (int i = 0; i < 13; i++) {
            types[259 + i] = 1; /* NORMAL */
            scores[259 + i] = -(float)i;
        }
        gw_kv_str(w, "tokenizer.ggml.model", "llama");
        gw_kv_arr_str(w, "tokenizer.ggml.tokens", (uint64_t)V, toks);
        gw_kv_arr(w, "tokenizer.ggml.scores", GW_FLOAT32, (uint64_t)V, scores);
        gw_kv_arr(w, "tokenizer.ggml.token_type", GW_INT32, (uint64_t)V, types);
        gw_kv_u32(w, "tokenizer.ggml.bos_token_id", 1);
        gw_kv_u32(w, "tokenizer.ggml.eos_token_id", 2);
        gw_kv_u32(w, "tokenizer.ggml.unknown_token_id", 0);
        gw_kv_bool(w, "tokenizer.ggml.add_bos_token", 1);
        gw_kv_str(w, "tokenizer.chat_template", MICRO_CHAT_TEMPLATE);
        free(toks);
        free(bytes);
        free(scores);
        free(types);
    }
    uint32_t s = 12345;
    q8_tensor(w, "token_embd.weight", (uint64_t)E, (uint64_t)V, &s);
    f32_tensor(w, "output_norm.weight", (uint64_t)E, 1.0f, 0.2f, &s);
    f32_tensor(w, "blk.0.attn_norm.weight", (uint64_t)E, 1.0f, 0.2f, &s);
    q8_tensor(w, "blk.0.attn_q.weight", (uint64_t)E, (uint64_t)(H * D), &s);
    q8_tensor(w, "blk.0.attn_k.weight", (uint64_t)E, (uint64_t)(HKV * D), &s);
    q8_tensor(w, "blk.0.attn_v.weight", (uint64_t)E, (uint64_t)(HKV * D), &s);
    q8_tensor(w, "blk.0.attn_output.weight", (uint64_t)(H * D), (uint64_t)E, &s);
    if (qwen2) {
        f32_tensor(w, "blk.0.attn_q.bias", (uint64_t)(H * D), 0.0f, 0.1f, &s);
        f32_tensor(w, "blk.0.attn_k.bias", (uint64_t)(HKV * D), 0.0f, 0.1f, &s);
        f32_tensor(w, "blk.0.attn_v.bias", (uint64_t)(HKV * D), 0.0f, 0.1f, &s);
    }
    if (qwen3) {
        f32_tensor(w, "blk.0.attn_q_norm.weight", (uint64_t)D, 1.0f, 0.2f, &s);
        f32_tensor(w, "blk.0.attn_k_norm.weight", (uint64_t)D, 1.0f, 0.2f, &s);
    }
    f32_tensor(w, "blk.0.ffn_norm.weight", (uint64_t)E, 1.0f, 0.2f, &s);
    q8_tensor(w, "blk.0.ffn_gate.weight", (uint64_t)E, (uint64_t)FF, &s);
    q8_tensor(w, "blk.0.ffn_up.weight", (uint64_t)E, (uint64_t)FF, &s);
    q8_tensor(w, "blk.0.ffn_down.weight", (uint64_t)FF, (uint64_t)E, &s);
    /* copy into the caller's writer, leaving out skipped keys and tensors */
    for (uint64_t i = 0; i < tmp.n_kv; i++) {
        size_t at = tmp.kv_starts[i], end = i + 1 < tmp.n_kv ? tmp.kv_starts[i + 1] : tmp.kv.len;
        uint64_t klen = 0;
        for (int b = 0; b < 8; b++) klen |= (uint64_t)tmp.kv.data[at + b] << (8 * b);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)klen, (const char *)tmp.kv.data + at + 8);
        if (skipped(edit, name)) continue;
        size_t trel = tmp.kv_type_rel[i];
        uint32_t type = 0;
        for (int b = 0; b < 4; b++) type |= (uint32_t)tmp.kv.data[trel + b] << (8 * b);
        gw_kv_raw(wr, tmp.kv.data + at + 8, klen, type, tmp.kv.data + trel + 4, end - trel - 4);
    }
    for (uint64_t i = 0; i < tmp.n_tensors; i++) {
        const gw_tensor_info *t = &tmp.tensors[i];
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)t->name_len, (const char *)t->name);
        if (skipped(edit, name)) continue;
        gw_add_tensor_raw(wr, t->name, t->name_len, t->type, t->n_dims, t->ne, t->data, t->data_len);
    }
    gw_free(&tmp);
}
