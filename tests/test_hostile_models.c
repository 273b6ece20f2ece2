/* test_hostile_models.c — hostile model files: a valid micro model (tests/micro_model.c) with one
 * hyperparameter, tensor or tokenizer entry made hostile. hearth_model_load must refuse each with
 * the right status and a message naming the key / tensor / token and the numbers, never crash,
 * leak nothing and stay within a bounded amount of memory (counting allocator). Known gaps of the
 * loaders are reported as XFAIL (docs/RELIABILITY.md). */
#include "test.h"

#include "faults.h"
#include "gguf_writer.h"
#include "micro_model.h"

typedef struct model_case {
    const char *name;
    const char *arch;
    int tok;
    micro_edit edit;
    void (*add)(gguf_writer *w); /* the hostile replacement, added after the edited model */
    int status;
    const char *sub[3];
    const char *known_issue;     /* non-NULL: accepted today, should be refused */
} model_case;

static void add_arch_unknown(gguf_writer *w) { gw_kv_str(w, "general.architecture", "gptj"); }
static void add_arch_u32(gguf_writer *w) { gw_kv_u32(w, "general.architecture", 7); }
static void add_embd_0(gguf_writer *w) { gw_kv_u32(w, "llama.embedding_length", 0); }
static void add_embd_64(gguf_writer *w) { gw_kv_u32(w, "llama.embedding_length", 64); }
static void add_embd_neg(gguf_writer *w) { gw_kv_i32(w, "llama.embedding_length", -32); }
static void add_layers_4096(gguf_writer *w) { gw_kv_u32(w, "llama.block_count", 4096); }
static void add_layers_huge(gguf_writer *w) { gw_kv_u64(w, "llama.block_count", 1ull << 40); }
static void add_heads_0(gguf_writer *w) { gw_kv_u32(w, "llama.attention.head_count", 0); }
static void add_kv_heads_3(gguf_writer *w) { gw_kv_u32(w, "llama.attention.head_count_kv", 3); }
static void add_ctx_huge(gguf_writer *w) { gw_kv_u32(w, "llama.context_length", 0x80000000u); }
static void add_theta_nan(gguf_writer *w) { gw_kv_f32(w, "llama.rope.freq_base", __builtin_nanf("")); }
static void add_theta_neg(gguf_writer *w) { gw_kv_f32(w, "llama.rope.freq_base", -1.0f); }
static void add_eps_str(gguf_writer *w) { gw_kv_str(w, "llama.attention.layer_norm_rms_epsilon", "1e-5"); }
static void add_layers_array(gguf_writer *w) {
    const uint32_t v[2] = {1, 1};
    gw_kv_arr(w, "llama.block_count", GW_UINT32, 2, v);
}
static void add_key_len_15(gguf_writer *w) { gw_kv_u32(w, "qwen3.attention.key_length", 15); }
static void add_rope_scaling(gguf_writer *w) { gw_kv_str(w, "llama.rope.scaling.type", "yarn"); }
static void add_attn_q_q8_1(gguf_writer *w) {
    const uint64_t ne[2] = {32, 32};
    gw_add_tensor(w, "blk.0.attn_q.weight", GW_T_Q8_1, 2, ne, NULL);
}
static void add_attn_q_3d(gguf_writer *w) {
    const uint64_t ne[3] = {32, 16, 2};
    gw_add_tensor(w, "blk.0.attn_q.weight", GW_T_F32, 3, ne, NULL);
}
static void add_norm_f16(gguf_writer *w) {
    const uint64_t ne[1] = {32};
    gw_add_tensor(w, "blk.0.attn_norm.weight", GW_T_F16, 1, ne, NULL);
}
static void add_embd_1d(gguf_writer *w) {
    const uint64_t ne[1] = {32 * 16};
    gw_add_tensor(w, "token_embd.weight", GW_T_F32, 1, ne, NULL);
}
static void add_rope_freqs_nan(gguf_writer *w) {
    float v[8];
    for (int i = 0; i < 8; i++) v[i] = i == 3 ? __builtin_nanf("") : 1.0f;
    const uint64_t ne[1] = {8};
    gw_add_tensor(w, "rope_freqs.weight", GW_T_F32, 1, ne, v);
}
static void add_rope_freqs_zero(gguf_writer *w) {
    float v[8] = {1, 1, 1, 1, 1, 1, 1, 0};
    const uint64_t ne[1] = {8};
    gw_add_tensor(w, "rope_freqs.weight", GW_T_F32, 1, ne, v);
}
static void add_tok_model_bert(gguf_writer *w) { gw_kv_str(w, "tokenizer.ggml.model", "bert"); }
static void add_tokens_u32(gguf_writer *w) {
    uint32_t v[MICRO_N_VOCAB_TOK];
    for (int i = 0; i < MICRO_N_VOCAB_TOK; i++) v[i] = (uint32_t)i;
    gw_kv_arr(w, "tokenizer.ggml.tokens", GW_UINT32, MICRO_N_VOCAB_TOK, v);
}
static void add_tokens_too_many(gguf_writer *w) {
    static char names[MICRO_N_VOCAB_TOK + 1][16];
    const char *p[MICRO_N_VOCAB_TOK + 1];
    for (int i = 0; i <= MICRO_N_VOCAB_TOK; i++) {
        snprintf(names[i], sizeof names[i], i < 3 ? (i == 0 ? "<unk>" : i == 1 ? "<s>" : "</s>") : "t%d", i);
        p[i] = names[i];
    }
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", MICRO_N_VOCAB_TOK + 1, p);
}
static void add_scores_short(gguf_writer *w) {
    float v[10] = {0};
    gw_kv_arr(w, "tokenizer.ggml.scores", GW_FLOAT32, 10, v);
}
static void add_scores_str(gguf_writer *w) {
    const char *v[2] = {"a", "b"};
    gw_kv_arr_str(w, "tokenizer.ggml.scores", 2, v);
}
static void add_types_short(gguf_writer *w) {
    int32_t v[5] = {2, 3, 3, 6, 6};
    gw_kv_arr(w, "tokenizer.ggml.token_type", GW_INT32, 5, v);
}
static void add_types_bad(gguf_writer *w) {
    int32_t v[MICRO_N_VOCAB_TOK];
    for (int i = 0; i < MICRO_N_VOCAB_TOK; i++) v[i] = i == 100 ? 77 : 1;
    gw_kv_arr(w, "tokenizer.ggml.token_type", GW_INT32, MICRO_N_VOCAB_TOK, v);
}
static void add_bos_huge(gguf_writer *w) { gw_kv_u32(w, "tokenizer.ggml.bos_token_id", 999999); }
static void add_bos_neg(gguf_writer *w) { gw_kv_i32(w, "tokenizer.ggml.bos_token_id", -5); }

#define SKIP(...) {.skip = {__VA_ARGS__}}
static const model_case cases[] = {
    {"arch_unknown", "llama", 0, SKIP("general.architecture"), add_arch_unknown, HEARTH_ERR_UNSUPPORTED,
     {"architecture 'gptj' is not supported"}, NULL},
    {"arch_missing", "llama", 0, SKIP("general.architecture"), NULL, HEARTH_ERR_FORMAT,
     {"general.architecture"}, NULL},
    {"arch_u32", "llama", 0, SKIP("general.architecture"), add_arch_u32, HEARTH_ERR_FORMAT,
     {"general.architecture", "uint32"}, NULL},
    {"embd_0", "llama", 0, SKIP("llama.embedding_length"), add_embd_0, HEARTH_ERR_FORMAT,
     {"llama.embedding_length", "= 0 is out of range"}, NULL},
    {"embd_negative", "llama", 0, SKIP("llama.embedding_length"), add_embd_neg, HEARTH_ERR_FORMAT,
     {"llama.embedding_length", "-32"}, NULL},
    {"embd_mismatch", "llama", 0, SKIP("llama.embedding_length"), add_embd_64, HEARTH_ERR_FORMAT,
     {"tensor 'token_embd.weight' has shape [32, 16], expected [64, 16]"}, NULL},
    {"layers_4096", "llama", 0, SKIP("llama.block_count"), add_layers_4096, HEARTH_ERR_FORMAT,
     {"tensor 'blk.1.attn_norm.weight' is missing"}, NULL},
    {"layers_2p40", "llama", 0, SKIP("llama.block_count"), add_layers_huge, HEARTH_ERR_FORMAT,
     {"llama.block_count", "1099511627776"}, NULL},
    {"layers_array", "llama", 0, SKIP("llama.block_count"), add_layers_array, HEARTH_ERR_UNSUPPORTED,
     {"llama.block_count", "array"}, NULL},
    {"heads_0", "llama", 0, SKIP("llama.attention.head_count"), add_heads_0, HEARTH_ERR_FORMAT,
     {"llama.attention.head_count", "= 0 is out of range"}, NULL},
    {"kv_heads_3", "llama", 0, SKIP("llama.attention.head_count_kv"), add_kv_heads_3, HEARTH_ERR_FORMAT,
     {"head count 2 is not a multiple of KV head count 3"}, NULL},
    {"ctx_2p31", "llama", 0, SKIP("llama.context_length"), add_ctx_huge, HEARTH_ERR_FORMAT,
     {"llama.context_length", "2147483648"}, NULL},
    {"theta_nan", "llama", 0, SKIP("llama.rope.freq_base"), add_theta_nan, HEARTH_ERR_FORMAT,
     {"llama.rope.freq_base", "nan"}, NULL},
    {"theta_negative", "llama", 0, SKIP("llama.rope.freq_base"), add_theta_neg, HEARTH_ERR_FORMAT,
     {"llama.rope.freq_base", "-1"}, NULL},
    {"eps_string", "llama", 0, SKIP("llama.attention.layer_norm_rms_epsilon"), add_eps_str, HEARTH_ERR_FORMAT,
     {"llama.attention.layer_norm_rms_epsilon", "string"}, NULL},
    {"key_length_odd", "qwen3", 0, SKIP("qwen3.attention.key_length"), add_key_len_15, HEARTH_ERR_FORMAT,
     {"head dimension 15 is odd"}, NULL},
    {"rope_scaling_yarn", "llama", 0, {.rename_from = NULL}, add_rope_scaling, HEARTH_ERR_UNSUPPORTED,
     {"rope scaling 'yarn'"}, NULL},
    {"matrix_q8_1", "llama", 0, SKIP("blk.0.attn_q.weight"), add_attn_q_q8_1, HEARTH_ERR_UNSUPPORTED,
     {"tensor 'blk.0.attn_q.weight'", "Q8_1"}, NULL},
    {"matrix_3d", "llama", 0, SKIP("blk.0.attn_q.weight"), add_attn_q_3d, HEARTH_ERR_FORMAT,
     {"tensor 'blk.0.attn_q.weight' has shape [32, 16, 2], expected [32, 32]"}, NULL},
    {"norm_f16", "llama", 0, SKIP("blk.0.attn_norm.weight"), add_norm_f16, HEARTH_ERR_UNSUPPORTED,
     {"tensor 'blk.0.attn_norm.weight'", "F32"}, NULL},
    {"embd_missing", "llama", 0, SKIP("token_embd.weight"), NULL, HEARTH_ERR_FORMAT,
     {"tensor 'token_embd.weight' is missing"}, NULL},
    {"embd_1d", "llama", 0, SKIP("token_embd.weight"), add_embd_1d, HEARTH_ERR_FORMAT,
     {"token_embd.weight", "2-D"}, NULL},
    {"ffn_down_missing", "llama", 0, SKIP("blk.0.ffn_down.weight"), NULL, HEARTH_ERR_FORMAT,
     {"tensor 'blk.0.ffn_down.weight' is missing"}, NULL},
    {"qwen2_bias_missing", "qwen2", 0, SKIP("blk.0.attn_k.bias"), NULL, HEARTH_ERR_FORMAT,
     {"tensor 'blk.0.attn_k.bias' is missing"}, NULL},
    {"qwen3_norm_missing", "qwen3", 0, SKIP("blk.0.attn_q_norm.weight"), NULL, HEARTH_ERR_FORMAT,
     {"tensor 'blk.0.attn_q_norm.weight' is missing"}, NULL},
    {"rope_freqs_nan", "llama", 0, {.rename_from = NULL}, add_rope_freqs_nan, HEARTH_ERR_FORMAT,
     {"rope_freqs.weight[3] = nan"}, NULL},
    {"rope_freqs_zero", "llama", 0, {.rename_from = NULL}, add_rope_freqs_zero, HEARTH_ERR_FORMAT,
     {"rope_freqs.weight[7] = 0"}, NULL},
    {"tokenizer_bert", "llama", 1, SKIP("tokenizer.ggml.model"), add_tok_model_bert, HEARTH_ERR_UNSUPPORTED,
     {"bert"}, NULL},
    {"tokens_u32", "llama", 1, SKIP("tokenizer.ggml.tokens"), add_tokens_u32, HEARTH_ERR_FORMAT,
     {"tokenizer.ggml.tokens"}, NULL},
    {"tokens_beyond_embedding", "llama", 1, SKIP("tokenizer.ggml.tokens"), add_tokens_too_many, HEARTH_ERR_FORMAT,
     {"273 tokens", "272"}, NULL},
    {"scores_short", "llama", 1, SKIP("tokenizer.ggml.scores"), add_scores_short, HEARTH_ERR_FORMAT,
     {"10 scores for 272 tokens"}, NULL},
    {"scores_strings", "llama", 1, SKIP("tokenizer.ggml.scores"), add_scores_str, HEARTH_ERR_FORMAT,
     {"tokenizer.ggml.scores"}, NULL},
    {"token_types_short", "llama", 1, SKIP("tokenizer.ggml.token_type"), add_types_short, HEARTH_ERR_FORMAT,
     {"5 token types for 272 tokens"}, NULL},
    /* accepted by design, as llama.cpp does: an unknown token type makes an undefined token, an
     * out-of-range special id is ignored (the vocabulary's default stays) */
    {"token_type_77", "llama", 1, SKIP("tokenizer.ggml.token_type"), add_types_bad, HEARTH_OK, {NULL}, NULL},
    {"bos_out_of_range", "llama", 1, SKIP("tokenizer.ggml.bos_token_id"), add_bos_huge, HEARTH_OK, {NULL}, NULL},
    {"bos_negative", "llama", 1, SKIP("tokenizer.ggml.bos_token_id"), add_bos_neg, HEARTH_OK, {NULL}, NULL},
    {"byte_token_minus_one", "llama", 1, {.rename_from = "<0x41>", .rename_to = "<0x-1>"}, NULL, HEARTH_ERR_FORMAT,
     {"<0x-1>"}, NULL},
    {"byte_token_not_hex", "llama", 1, {.rename_from = "<0x41>", .rename_to = "<0xZZ>"}, NULL, HEARTH_ERR_FORMAT,
     {"<0xZZ>"}, NULL},
    {"byte_token_long", "llama", 1, {.rename_from = "<0x41>", .rename_to = "<0x4142>"}, NULL, HEARTH_ERR_FORMAT,
     {"<0x4142>"}, NULL},
};

static int known_gaps;

static void test_hostile_models(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const model_case *c = &cases[i];
        gguf_writer w;
        gw_init(&w);
        micro_model_writer(&w, c->arch, c->tok, &c->edit);
        if (c->add) c->add(&w);
        gw_buf file = {0};
        gw_finish(&w, &file, NULL);
        gw_free(&w);
        fault_alloc fa;
        fault_alloc_install(&fa, 0);
        hearth_source src;
        hearth_source_from_memory(&src, file.data, file.len);
        hearth_model_params mp = hearth_model_default_params();
        mp.n_threads = 1;
        hearth_error err = {0};
        hearth_model *m = NULL;
        int st = hearth_model_load(&m, &src, &mp, &err);
        if (st == HEARTH_OK && (c->add == add_bos_huge || c->add == add_bos_neg)) {
            int32_t bos = hearth_token_bos(m); /* the metadata value is ignored: the default stays */
            CHECK_MSG(bos == -1 || (bos >= 0 && bos < MICRO_N_VOCAB_TOK), "bos %d", (int)bos);
        }
        if (st == HEARTH_OK && c->add == add_types_bad) {
            char piece[16];
            CHECK(hearth_token_piece(m, 100, piece, sizeof piece) >= 0); /* no crash on its piece */
        }
        hearth_model_free(m);
        fault_alloc_uninstall(&fa);
        CHECK_MSG(fa.live == 0, "%s: %zu bytes leaked", c->name, fa.live);
        /* a refused file costs at most a few times its size plus fixed tables (a 4096-layer
         * table is ~6 MB whatever the file: the block_count limit bounds it) */
        CHECK_MSG(st == HEARTH_OK || fa.peak <= 8 * file.len + (8u << 20), "%s: peak %zu for %zu bytes", c->name,
                  fa.peak, file.len);
        if (c->known_issue && st == HEARTH_OK) {
            fprintf(stderr, "XFAIL %s: %s\n", c->name, c->known_issue);
            known_gaps++;
        } else {
            CHECK_MSG(st == c->status, "%s: %s '%s'", c->name, hearth_status_name(st), err.msg);
            for (int k = 0; k < 3 && c->sub[k]; k++)
                CHECK_MSG(strstr(err.msg, c->sub[k]) != NULL, "%s: '%s' lacks '%s'", c->name, err.msg, c->sub[k]);
        }
        gw_buf_free(&file);
    }
}

/* The unedited micro models load (so every refusal above is due to its one edit). */
static void test_micro_models_load(void) {
    const char *archs[3] = {"llama", "qwen2", "qwen3"};
    for (int a = 0; a < 3; a++)
        for (int tok = 0; tok < 2; tok++) {
            gw_buf file = {0};
            micro_model(&file, archs[a], tok);
            hearth_source src;
            hearth_source_from_memory(&src, file.data, file.len);
            hearth_error err = {0};
            hearth_model *m = NULL;
            CHECK_MSG(hearth_model_load(&m, &src, NULL, &err) == HEARTH_OK, "%s/%d: %s", archs[a], tok, err.msg);
            hearth_model_free(m);
            gw_buf_free(&file);
        }
}

int main(void) {
    RUN(test_micro_models_load);
    RUN(test_hostile_models);
    if (known_gaps) fprintf(stderr, "%d known gaps (XFAIL above; see docs/RELIABILITY.md)\n", known_gaps);
    return test_summary();
}
