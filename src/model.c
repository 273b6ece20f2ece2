/* model.c — loads a llama / qwen2 / qwen3 GGUF: architecture and hyperparameters from metadata,
 * every weight tensor checked for presence, shape and type, then handed to a backend. */
#include "model.h"

#include "engine.h"
#include "quant.h"
#include "threads.h"
#include "tokenizer.h"

#include <math.h>
#include <stdio.h>

static const char *const supported_archs[] = {"llama", "qwen2", "qwen3"};

hearth_model_params hearth_model_default_params(void) {
    hearth_model_params p = {0};
    p.backend = HEARTH_BACKEND_CPU;
    p.n_threads = 0;
    return p;
}

void model_rope_freqs(const model_hparams *hp, float *inv_freq) {
    int half = hp->head_dim / 2;
    for (int i = 0; i < half; i++) {
        double f = pow((double)hp->rope_theta, -2.0 * i / hp->head_dim);
        if (hp->rope_freqs) f /= hp->rope_freqs[i];
        inv_freq[i] = (float)f;
    }
}

/* Reads "<arch>.<suffix>" as an integer in [lo, hi]. */
static int read_hp_int(const gguf_file *g, const char *arch, const char *suffix, int *out, int required,
                       long long lo, long long hi, hearth_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    const gguf_value *v = gguf_get(g, key);
    if (v && v->type == GGUF_TYPE_ARRAY)
        return h_err(err, HEARTH_ERR_UNSUPPORTED,
                     "model: '%s' is an array (per-layer values are not supported)", key);
    int64_t x = *out;
    int st = gguf_read_i64(g, key, &x, required, err);
    if (st) return st;
    if (!v) return HEARTH_OK;
    if (x < lo || x > hi)
        return h_err(err, HEARTH_ERR_FORMAT, "model: '%s' = %lld is out of range [%lld, %lld]", key,
                     (long long)x, lo, hi);
    *out = (int)x;
    return HEARTH_OK;
}

static int read_hp_float(const gguf_file *g, const char *arch, const char *suffix, float *out, int required,
                         hearth_error *err) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int st = gguf_read_f32(g, key, out, required, err);
    if (st) return st;
    if (!isfinite(*out) || *out < 0)
        return h_err(err, HEARTH_ERR_FORMAT, "model: '%s' = %g is not a valid value", key, (double)*out);
    return HEARTH_OK;
}

/* Finds a tensor and checks its shape (ne0 x ne1; ne1 = 0 for 1-D) and type class. */
static int get_tensor(hearth_model *m, const char *name, int64_t ne0, int64_t ne1, int matrix, int required,
                      model_tensor *t, hearth_error *err) {
    memset(t, 0, sizeof *t);
    const gguf_tensor *gt = gguf_find_tensor(m->gguf, name);
    if (!gt) {
        if (!required) return HEARTH_OK;
        return h_err(err, HEARTH_ERR_FORMAT, "model: tensor '%s' is missing", name);
    }
    int dims_ok = ne1 ? (gt->n_dims == 2 && (int64_t)gt->ne[0] == ne0 && (int64_t)gt->ne[1] == ne1)
                      : (gt->n_dims == 1 && (int64_t)gt->ne[0] == ne0);
    if (!dims_ok) {
        char want[64], got[96];
        if (ne1) snprintf(want, sizeof want, "[%lld, %lld]", (long long)ne0, (long long)ne1);
        else snprintf(want, sizeof want, "[%lld]", (long long)ne0);
        int k = snprintf(got, sizeof got, "[");
        for (uint32_t d = 0; d < gt->n_dims && k < (int)sizeof got - 24; d++)
            k += snprintf(got + k, sizeof got - (size_t)k, "%s%llu", d ? ", " : "", (unsigned long long)gt->ne[d]);
        snprintf(got + k, sizeof got - (size_t)k, "]");
        return h_err(err, HEARTH_ERR_FORMAT, "model: tensor '%s' has shape %s, expected %s", name, got, want);
    }
    if (matrix) {
        if (!quant_kernels_ref(gt->type))
            return h_err(err, HEARTH_ERR_UNSUPPORTED,
                         "model: tensor '%s' has type %s, which this engine does not support "
                         "(supported: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q4_K Q5_K Q6_K)",
                         name, quant_type_name(gt->type));
    } else if (gt->type != QT_F32) {
        return h_err(err, HEARTH_ERR_UNSUPPORTED, "model: tensor '%s' has type %s (norms and biases must be F32)",
                     name, quant_type_name(gt->type));
    }
    t->present = 1;
    t->name = gt->name;
    t->type = gt->type;
    for (int d = 0; d < 4; d++) t->ne[d] = (int64_t)gt->ne[d];
    t->rows = t->ne[1] * t->ne[2] * t->ne[3];
    t->row_bytes = quant_row_bytes(gt->type, t->ne[0]);
    t->offset = gt->offset;
    t->size = gt->size;
    m->n_params += gt->n_elements;
    m->weight_bytes += gt->size;
    return HEARTH_OK;
}

static int load_hparams(hearth_model *m, hearth_error *err) {
    const gguf_file *g = m->gguf;
    const char *arch;
    size_t arch_len;
    int st = gguf_read_str(g, "general.architecture", &arch, &arch_len, 1, err);
    if (st) return h_err_prefix(err, "model");
    if (arch_len >= sizeof m->arch_name) arch_len = sizeof m->arch_name - 1;
    memcpy(m->arch_name, arch, arch_len);
    m->arch_name[arch_len] = 0;
    for (char *c = m->arch_name; *c; c++)
        if ((unsigned char)*c < 32 || (unsigned char)*c > 126) *c = '?';
    int found = -1;
    for (int i = 0; i < (int)H_ARRAY_LEN(supported_archs); i++)
        if (strcmp(m->arch_name, supported_archs[i]) == 0) found = i;
    if (found < 0)
        return h_err(err, HEARTH_ERR_UNSUPPORTED,
                     "model: architecture '%s' is not supported (supported: llama, qwen2, qwen3)", m->arch_name);
    model_hparams *hp = &m->hp;
    hp->arch = (model_arch)found;
    const char *a = m->arch_name;
    const char *name;
    size_t name_len;
    if (gguf_read_str(g, "general.name", &name, &name_len, 0, NULL) == HEARTH_OK && gguf_get(g, "general.name")) {
        if (name_len >= sizeof m->name) name_len = sizeof m->name - 1;
        memcpy(m->name, name, name_len);
        m->name[name_len] = 0;
    }
    const int big = 1 << 24;
    hp->n_ctx_train = 4096;
    hp->n_head_kv = -1;
    hp->head_dim = -1;
    hp->rope_theta = 10000.0f;
    hp->rms_eps = 1e-5f;
    hp->file_type = -1;
    int n_rot = -1, v_len = -1;
    if ((st = read_hp_int(g, a, "embedding_length", &hp->n_embd, 1, 1, 1 << 18, err)) ||
        (st = read_hp_int(g, a, "block_count", &hp->n_layer, 1, 1, 4096, err)) ||
        (st = read_hp_int(g, a, "feed_forward_length", &hp->n_ff, 1, 1, 1 << 20, err)) ||
        (st = read_hp_int(g, a, "attention.head_count", &hp->n_head, 1, 1, 4096, err)) ||
        (st = read_hp_int(g, a, "attention.head_count_kv", &hp->n_head_kv, 0, 1, 4096, err)) ||
        (st = read_hp_int(g, a, "attention.key_length", &hp->head_dim, 0, 2, 1 << 14, err)) ||
        (st = read_hp_int(g, a, "attention.value_length", &v_len, 0, 2, 1 << 14, err)) ||
        (st = read_hp_int(g, a, "rope.dimension_count", &n_rot, 0, 0, 1 << 14, err)) ||
        (st = read_hp_int(g, a, "context_length", &hp->n_ctx_train, 0, 1, big, err)) ||
        (st = read_hp_float(g, a, "rope.freq_base", &hp->rope_theta, 0, err)) ||
        (st = read_hp_float(g, a, "attention.layer_norm_rms_epsilon", &hp->rms_eps, 0, err)))
        return st;
    int64_t ft = -1;
    if (gguf_read_i64(g, "general.file_type", &ft, 0, NULL) == HEARTH_OK && ft >= 0 && ft < 1000) hp->file_type = (int)ft;
    if (hp->n_head_kv < 0) hp->n_head_kv = hp->n_head;
    if (hp->head_dim < 0) {
        if (hp->n_embd % hp->n_head)
            return h_err(err, HEARTH_ERR_FORMAT, "model: embedding length %d is not a multiple of head count %d",
                         hp->n_embd, hp->n_head);
        hp->head_dim = hp->n_embd / hp->n_head;
    }
    if (hp->n_head % hp->n_head_kv)
        return h_err(err, HEARTH_ERR_FORMAT, "model: head count %d is not a multiple of KV head count %d",
                     hp->n_head, hp->n_head_kv);
    if (hp->head_dim % 2)
        return h_err(err, HEARTH_ERR_FORMAT, "model: head dimension %d is odd", hp->head_dim);
    if (v_len >= 0 && v_len != hp->head_dim)
        return h_err(err, HEARTH_ERR_UNSUPPORTED, "model: value length %d differs from key length %d", v_len,
                     hp->head_dim);
    if (n_rot >= 0 && n_rot != hp->head_dim)
        return h_err(err, HEARTH_ERR_UNSUPPORTED,
                     "model: partial rotary embedding (rope.dimension_count %d < head dim %d) is not supported",
                     n_rot, hp->head_dim);
    if (hp->rope_theta <= 0) return h_err(err, HEARTH_ERR_FORMAT, "model: rope.freq_base must be positive");
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", a);
    const char *sc;
    size_t sc_len;
    if (gguf_get(g, key)) {
        if ((st = gguf_read_str(g, key, &sc, &sc_len, 1, err))) return st;
        if (!(sc_len == 4 && memcmp(sc, "none", 4) == 0))
            return h_err(err, HEARTH_ERR_UNSUPPORTED, "model: rope scaling '%.*s' is not supported", (int)H_MIN(sc_len, 32),
                         sc);
    }
    hp->rope_neox = hp->arch != MODEL_ARCH_LLAMA;
    return HEARTH_OK;
}

static int load_tensors(hearth_model *m, hearth_error *err) {
    model_hparams *hp = &m->hp;
    int st;
    const gguf_tensor *emb = gguf_find_tensor(m->gguf, "token_embd.weight");
    if (!emb) return h_err(err, HEARTH_ERR_FORMAT, "model: tensor 'token_embd.weight' is missing");
    if (emb->n_dims != 2 || emb->ne[1] > (1u << 24))
        return h_err(err, HEARTH_ERR_FORMAT, "model: tensor 'token_embd.weight' must be 2-D with at most 2^24 rows");
    hp->n_vocab = (int)emb->ne[1];
    int E = hp->n_embd, Q = hp->n_head * hp->head_dim, KV = hp->n_head_kv * hp->head_dim;
    if ((st = get_tensor(m, "token_embd.weight", E, hp->n_vocab, 1, 1, &m->tok_embd, err)) ||
        (st = get_tensor(m, "output_norm.weight", E, 0, 0, 1, &m->output_norm, err)) ||
        (st = get_tensor(m, "output.weight", E, hp->n_vocab, 1, 0, &m->output, err)))
        return st;
    if (!m->output.present) {
        m->output = m->tok_embd;
        m->tied_output = 1;
    }
    model_tensor rf;
    if ((st = get_tensor(m, "rope_freqs.weight", hp->head_dim / 2, 0, 0, 0, &rf, err))) return st;
    m->layers = h_calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return h_err(err, HEARTH_ERR_NOMEM, "model: out of memory");
    if (rf.present) {
        hp->rope_freqs = h_malloc_array((size_t)hp->head_dim / 2, sizeof(float));
        if (!hp->rope_freqs) return h_err(err, HEARTH_ERR_NOMEM, "model: out of memory");
        if (m->src.read(m->src.ctx, rf.offset, hp->rope_freqs, (size_t)rf.size))
            return h_err(err, HEARTH_ERR_IO, "model: cannot read tensor 'rope_freqs.weight'");
        for (int i = 0; i < hp->head_dim / 2; i++)
            if (!(hp->rope_freqs[i] > 0) || !isfinite(hp->rope_freqs[i]))
                return h_err(err, HEARTH_ERR_FORMAT, "model: rope_freqs.weight[%d] = %g is not a positive number", i,
                             (double)hp->rope_freqs[i]);
    }
    for (int l = 0; l < hp->n_layer; l++) {
        model_layer *L = &m->layers[l];
        char n[96];
#define T(field, suffix, ne0, ne1, matrix, req)                                                        \
    snprintf(n, sizeof n, "blk.%d.%s", l, suffix);                                                     \
    if ((st = get_tensor(m, n, ne0, ne1, matrix, req, &L->field, err))) return st;
        T(attn_norm, "attn_norm.weight", E, 0, 0, 1)
        T(wq, "attn_q.weight", E, Q, 1, 1)
        T(wk, "attn_k.weight", E, KV, 1, 1)
        T(wv, "attn_v.weight", E, KV, 1, 1)
        T(wo, "attn_output.weight", Q, E, 1, 1)
        T(ffn_norm, "ffn_norm.weight", E, 0, 0, 1)
        T(w_gate, "ffn_gate.weight", E, hp->n_ff, 1, 1)
        T(w_up, "ffn_up.weight", E, hp->n_ff, 1, 1)
        T(w_down, "ffn_down.weight", hp->n_ff, E, 1, 1)
        int qwen2 = hp->arch == MODEL_ARCH_QWEN2, qwen3 = hp->arch == MODEL_ARCH_QWEN3;
        T(bq, "attn_q.bias", Q, 0, 0, qwen2)
        T(bk, "attn_k.bias", KV, 0, 0, qwen2)
        T(bv, "attn_v.bias", KV, 0, 0, qwen2)
        T(q_norm, "attn_q_norm.weight", hp->head_dim, 0, 0, qwen3)
        T(k_norm, "attn_k_norm.weight", hp->head_dim, 0, 0, qwen3)
#undef T
    }
    return HEARTH_OK;
}

int hearth_model_load(hearth_model **out, hearth_source *src, const hearth_model_params *p, hearth_error *err) {
    *out = NULL;
    hearth_model_params def = hearth_model_default_params();
    if (!p) p = &def;
    if (!src || !src->read) return h_err(err, HEARTH_ERR_ARG, "model: no byte source");
    const backend_ops *be = NULL;
    if (p->backend == HEARTH_BACKEND_CPU) be = &backend_cpu;
    else if (p->backend == HEARTH_BACKEND_WEBGPU) {
        if (!&backend_webgpu) return h_err(err, HEARTH_ERR_UNSUPPORTED, "model: this build has no WebGPU backend");
        be = &backend_webgpu;
    } else {
        return h_err(err, HEARTH_ERR_ARG, "model: unknown backend %d", p->backend);
    }
    hearth_model *m = h_calloc(1, sizeof *m);
    if (!m) return h_err(err, HEARTH_ERR_NOMEM, "model: out of memory");
    m->src = *src;
    m->backend = p->backend;
    m->n_threads = p->n_threads > 0 ? p->n_threads : threadpool_default_threads();
    m->use_mmap = p->use_mmap;
    int st = gguf_open(&m->gguf, &m->src, err);
    if (st) goto fail;
    if ((st = load_hparams(m, err)) || (st = load_tensors(m, err))) goto fail;
    if (gguf_get(m->gguf, "tokenizer.ggml.model")) {
        if ((st = tokenizer_load(&m->tok, m->gguf, err))) {
            h_err_prefix(err, "model");
            goto fail;
        }
        if (tokenizer_n_vocab(m->tok) > m->hp.n_vocab) {
            st = h_err(err, HEARTH_ERR_FORMAT, "model: the tokenizer has %d tokens but the embedding only %d rows",
                       tokenizer_n_vocab(m->tok), m->hp.n_vocab);
            goto fail;
        }
    }
    if ((st = be->model_init(m, err))) goto fail;
    memset(src, 0, sizeof *src); /* the model owns the source now */
    *out = m;
    return HEARTH_OK;
fail:
    m->src.close = NULL; /* the source stays with the caller on failure */
    hearth_model_free(m);
    return st;
}

void hearth_model_free(hearth_model *m) {
    if (!m) return;
    if (m->backend == HEARTH_BACKEND_WEBGPU && &backend_webgpu) backend_webgpu.model_free(m);
    else backend_cpu.model_free(m);
    tokenizer_free(m->tok);
    h_free(m->layers);
    h_free(m->hp.rope_freqs);
    gguf_close(m->gguf);
    hearth_source_close(&m->src);
    h_free(m);
}

void hearth_model_get_info(const hearth_model *m, hearth_model_info *o) {
    memset(o, 0, sizeof *o);
    o->arch = m->arch_name;
    o->name = m->name;
    o->n_vocab = m->hp.n_vocab;
    o->n_embd = m->hp.n_embd;
    o->n_layer = m->hp.n_layer;
    o->n_head = m->hp.n_head;
    o->n_head_kv = m->hp.n_head_kv;
    o->head_dim = m->hp.head_dim;
    o->n_ff = m->hp.n_ff;
    o->n_ctx_train = m->hp.n_ctx_train;
    o->rope_theta = m->hp.rope_theta;
    o->rms_eps = m->hp.rms_eps;
    o->n_params = m->n_params;
    o->weight_bytes = m->weight_bytes;
    o->file_type = m->hp.file_type;
}
