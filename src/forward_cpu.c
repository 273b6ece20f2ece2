/* forward_cpu.c — the CPU backend: weights used in place (mapped source) or read into memory,
 * the KV cache, and the batched forward pass of llama / qwen2 / qwen3. One thread-pool run per
 * eval executes every stage; threads split rows (matrix products) or tokens (norms, RoPE) and
 * meet at barriers between stages. Attention uses the same matrix kernels with the KV cache as
 * the weight matrix (K rows per position, V stored transposed). */
#include "engine.h"
#include "quant.h"
#include "threads.h"

#include <math.h>
#include <stdio.h>

typedef struct cpu_session {
    uint32_t kv_type;  /* QT_F32 or QT_F16 */
    size_t kv_elt;
    uint8_t *k_cache;  /* [n_layer][n_head_kv][n_ctx][head_dim] */
    uint8_t *v_cache;  /* [n_layer][n_head_kv][head_dim][n_ctx]  (transposed) */
    float *x, *xb, *tmp;      /* [n_batch][n_embd] */
    float *q, *att;           /* [n_batch][n_head * head_dim] */
    float *k, *v;             /* [n_batch][n_head_kv * head_dim] */
    float *hb, *hb2;          /* [n_batch][n_ff] */
    uint8_t *act[3];          /* quantized activations per quant_act (QA_F32 unused) */
    float *scores;            /* [n_threads][group][n_ctx] */
    float *rope_cos, *rope_sin; /* [n_batch][head_dim / 2] */
    float *inv_freq;          /* [head_dim / 2] */
    int n_threads;
} cpu_session;

typedef struct fwd_job {
    hearth_model *m;
    hearth_session *s;
    cpu_session *cs;
    const int32_t *ids;
    int n, pos;
    float *out;
    int all_logits;
} fwd_job;

/* ---- model ------------------------------------------------------------------------------------ */

static void set_data(model_tensor *t, const uint8_t *base, uint64_t base_off) {
    if (t->present) t->data = base + (t->offset - base_off);
}

static int cpu_model_init(hearth_model *m, hearth_error *err) {
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint64_t i = 0; i < gguf_n_tensors(m->gguf); i++) {
        const gguf_tensor *t = gguf_tensor_at(m->gguf, i);
        lo = H_MIN(lo, t->offset);
        hi = H_MAX(hi, t->offset + t->size);
    }
    if (hi <= lo) lo = hi = 0;
    const uint8_t *base = NULL;
    if (hi > lo && m->src.map) base = m->src.map(m->src.ctx, lo, hi - lo);
    if (hi > lo && !base) {
        if (hi - lo > (uint64_t)SIZE_MAX / 2)
            return h_err(err, HEARTH_ERR_NOMEM, "model: %llu bytes of weights do not fit in memory",
                         (unsigned long long)(hi - lo));
        m->weights_copy = h_malloc_aligned((size_t)(hi - lo));
        if (!m->weights_copy)
            return h_err(err, HEARTH_ERR_NOMEM, "model: out of memory for %llu bytes of weights",
                         (unsigned long long)(hi - lo));
        const size_t chunk = 16u << 20;
        for (uint64_t off = lo; off < hi; off += chunk) {
            size_t len = (size_t)H_MIN((uint64_t)chunk, hi - off);
            int st = m->src.read(m->src.ctx, off, m->weights_copy + (off - lo), len);
            if (st == HEARTH_ERR_AGAIN)
                return h_err(err, HEARTH_ERR_AGAIN, "model: weight bytes at offset %llu have not arrived yet",
                             (unsigned long long)off);
            if (st)
                return h_err(err, HEARTH_ERR_IO, "model: cannot read %zu bytes of weights at offset %llu", len,
                             (unsigned long long)off);
        }
        base = m->weights_copy;
    }
    set_data(&m->tok_embd, base, lo);
    set_data(&m->output_norm, base, lo);
    if (m->tied_output) m->output = m->tok_embd;
    else set_data(&m->output, base, lo);
    for (int l = 0; l < m->hp.n_layer; l++) {
        model_layer *L = &m->layers[l];
        model_tensor *ts[] = {&L->attn_norm, &L->wq, &L->wk, &L->wv, &L->bq, &L->bk, &L->bv, &L->q_norm,
                              &L->k_norm, &L->wo, &L->ffn_norm, &L->w_gate, &L->w_up, &L->w_down};
        for (size_t i = 0; i < H_ARRAY_LEN(ts); i++) set_data(ts[i], base, lo);
    }
    return threadpool_new(&m->pool, m->n_threads, err);
}

static void cpu_model_free(hearth_model *m) {
    threadpool_free(m->pool);
    m->pool = NULL;
    h_free_aligned(m->weights_copy);
    m->weights_copy = NULL;
}

/* ---- session ---------------------------------------------------------------------------------- */

static void cpu_session_free(hearth_session *s) {
    cpu_session *cs = s->state;
    if (!cs) return;
    void *ptrs[] = {cs->x, cs->xb, cs->tmp, cs->q, cs->att, cs->k, cs->v, cs->hb, cs->hb2,
                    cs->act[1], cs->act[2], cs->scores, cs->rope_cos, cs->rope_sin, cs->inv_freq};
    for (size_t i = 0; i < H_ARRAY_LEN(ptrs); i++) h_free_aligned(ptrs[i]);
    h_free_aligned(cs->k_cache);
    h_free_aligned(cs->v_cache);
    h_free(cs);
    s->state = NULL;
}

/* count * size bytes, aligned; *ok cleared on overflow or failure */
static void *alloc_buf(size_t count, size_t size, int *ok) {
    size_t n;
    if (!*ok || !h_mul_size(count, size, &n)) {
        *ok = 0;
        return NULL;
    }
    void *p = h_malloc_aligned(n ? n : 1);
    if (!p) *ok = 0;
    return p;
}

static int cpu_session_init(hearth_session *s, hearth_error *err) {
    hearth_model *m = s->m;
    const model_hparams *hp = &m->hp;
    cpu_session *cs = h_calloc(1, sizeof *cs);
    if (!cs) return h_err(err, HEARTH_ERR_NOMEM, "session: out of memory");
    s->state = cs;
    cs->kv_type = s->p.kv_type == HEARTH_KV_F16 ? QT_F16 : QT_F32;
    cs->kv_elt = cs->kv_type == QT_F16 ? 2 : 4;
    cs->n_threads = threadpool_size(m->pool);
    size_t B = (size_t)s->n_batch, C = (size_t)s->n_ctx, hd = (size_t)hp->head_dim;
    size_t E = (size_t)hp->n_embd, Q = (size_t)hp->n_head * hd, KV = (size_t)hp->n_head_kv * hd;
    size_t F = (size_t)hp->n_ff, gs = (size_t)(hp->n_head / hp->n_head_kv);
    int ok = 1;
    size_t kv_elems = 0;
    if (!h_mul_size((size_t)hp->n_layer * KV, C, &kv_elems)) ok = 0;
    cs->k_cache = alloc_buf(kv_elems, cs->kv_elt, &ok);
    cs->v_cache = alloc_buf(kv_elems, cs->kv_elt, &ok);
    if (!ok)
        return h_err(err, HEARTH_ERR_NOMEM, "session: out of memory for a KV cache of %d tokens (%.1f MiB)",
                     s->n_ctx, 2.0 * (double)kv_elems * (double)cs->kv_elt / 1048576.0);
    /* the cache is never read before written, but keep it defined for sanitizers and dumps */
    memset(cs->k_cache, 0, kv_elems * cs->kv_elt);
    memset(cs->v_cache, 0, kv_elems * cs->kv_elt);
    cs->x = alloc_buf(B, E * 4, &ok);
    cs->xb = alloc_buf(B, E * 4, &ok);
    cs->tmp = alloc_buf(B, E * 4, &ok);
    cs->q = alloc_buf(B, Q * 4, &ok);
    cs->att = alloc_buf(B, Q * 4, &ok);
    cs->k = alloc_buf(B, KV * 4, &ok);
    cs->v = alloc_buf(B, KV * 4, &ok);
    cs->hb = alloc_buf(B, F * 4, &ok);
    cs->hb2 = alloc_buf(B, F * 4, &ok);
    size_t widest = H_MAX(H_MAX(E, F), Q);
    cs->act[QA_Q8_32] = alloc_buf(B, quant_act_row_bytes(QA_Q8_32, (int64_t)widest), &ok);
    cs->act[QA_Q8_256] = alloc_buf(B, quant_act_row_bytes(QA_Q8_256, (int64_t)widest), &ok);
    cs->scores = alloc_buf((size_t)cs->n_threads * gs, C * 4, &ok);
    cs->rope_cos = alloc_buf(B, hd / 2 * 4, &ok);
    cs->rope_sin = alloc_buf(B, hd / 2 * 4, &ok);
    cs->inv_freq = alloc_buf(hd / 2, 4, &ok);
    if (!ok) return h_err(err, HEARTH_ERR_NOMEM, "session: out of memory for scratch buffers");
    model_rope_freqs(hp, cs->inv_freq);
    return HEARTH_OK;
}

/* ---- stages ----------------------------------------------------------------------------------- */

/* Quantized activation row of token t for weight w's kernels (or the float row itself). */
static const void *act_row(const cpu_session *cs, quant_act a, const float *xf, int64_t n, int t) {
    if (a == QA_F32) return xf + (size_t)t * (size_t)n;
    return cs->act[a] + (size_t)t * quant_act_row_bytes(a, n);
}

/* The activation formats a stage's weights need: k[a] is a kernel table using format a. */
typedef struct act_need {
    const quant_kernels *k[3];
} act_need;

static void need_add(act_need *an, const model_tensor *w) {
    const quant_kernels *k = quant_kernels_for(w->type);
    if (k->act != QA_F32) an->k[k->act] = k;
}

static void quantize_tokens(cpu_session *cs, const act_need *an, const float *X, int64_t n, int t0, int t1) {
    for (int a = 1; a < 3; a++) {
        if (!an->k[a]) continue;
        for (int t = t0; t < t1; t++)
            an->k[a]->quantize_act(X + (size_t)t * (size_t)n,
                                   cs->act[a] + (size_t)t * quant_act_row_bytes((quant_act)a, n), n);
    }
}

/* Y_i[t * ldy_i + r] = W_i[r,:] . X[t,:] for nw weights sharing the input X (n_tok rows of n);
 * the rows of all weights, concatenated, are split across threads. After each weight's rows,
 * post(j, layer, i, r0, r1) runs on the rows this thread computed. */
typedef void (*rows_post_fn)(fwd_job *j, int l, int wi, int64_t r0, int64_t r1);

static void matmul_rows(fwd_job *j, const model_tensor *const *ws, float *const *ys, const size_t *ldy, int nw,
                        const float *X, int64_t n, int n_tok, int t_first, rows_post_fn post, int l, int ith,
                        int nth) {
    int64_t total = 0;
    for (int i = 0; i < nw; i++) total += ws[i]->rows;
    int64_t lo, hi;
    threadpool_split(total, ith, nth, 32, &lo, &hi);
    int64_t base = 0;
    for (int i = 0; i < nw; i++) {
        const model_tensor *w = ws[i];
        int64_t r0 = H_MAX(lo - base, 0), r1 = H_MIN(hi - base, w->rows);
        base += w->rows;
        if (r0 >= r1) continue;
        const quant_kernels *k = quant_kernels_for(w->type);
        const void *act = act_row(j->cs, k->act, X, n, t_first);
        size_t stride = k->act == QA_F32 ? (size_t)n * 4 : quant_act_row_bytes(k->act, n);
        if (n_tok == 1)
            k->gemv(w->data, w->row_bytes, act, ys[i] + r0, n, r0, r1);
        else
            k->gemm(w->data, w->row_bytes, act, stride, n_tok, ys[i], ldy[i], n, r0, r1);
        if (post) post(j, l, i, r0, r1);
    }
}

static void rmsnorm(float *y, const float *x, const float *w, int n, float eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / n + eps));
    for (int i = 0; i < n; i++) y[i] = x[i] * scale * w[i];
}

static void rope_apply(float *x, int n_heads, int hd, int neox, const float *c, const float *s) {
    int half = hd / 2;
    for (int h = 0; h < n_heads; h++) {
        float *v = x + (size_t)h * hd;
        for (int i = 0; i < half; i++) {
            int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
            float x0 = v[a], x1 = v[b];
            v[a] = x0 * c[i] - x1 * s[i];
            v[b] = x0 * s[i] + x1 * c[i];
        }
    }
}

static void post_bias_qkv(fwd_job *j, int l, int wi, int64_t r0, int64_t r1) {
    const model_layer *L = &j->m->layers[l];
    const model_tensor *b = wi == 0 ? &L->bq : wi == 1 ? &L->bk : &L->bv;
    if (!b->present) return;
    const float *bias = (const float *)b->data;
    cpu_session *cs = j->cs;
    float *y = wi == 0 ? cs->q : wi == 1 ? cs->k : cs->v;
    size_t ld = (size_t)b->ne[0];
    for (int t = 0; t < j->n; t++)
        for (int64_t r = r0; r < r1; r++) y[(size_t)t * ld + (size_t)r] += bias[r];
}

static void post_residual(fwd_job *j, int l, int wi, int64_t r0, int64_t r1) {
    (void)l, (void)wi;
    cpu_session *cs = j->cs;
    size_t E = (size_t)j->m->hp.n_embd;
    for (int t = 0; t < j->n; t++)
        for (int64_t r = r0; r < r1; r++) cs->x[(size_t)t * E + (size_t)r] += cs->tmp[(size_t)t * E + (size_t)r];
}

static void swiglu_rows(fwd_job *j, int ith, int nth) {
    cpu_session *cs = j->cs;
    int64_t F = j->m->hp.n_ff, lo, hi;
    threadpool_split((int64_t)j->n * F, ith, nth, 64, &lo, &hi);
    for (int64_t i = lo; i < hi; i++) {
        float g = cs->hb[i];
        cs->hb[i] = g / (1.0f + expf(-g)) * cs->hb2[i];
    }
}

/* Attention of token t (position pos + t) for KV head g over positions [0, pos + t]. */
static void attend(fwd_job *j, int l, int t, int g, int ith) {
    const model_hparams *hp = &j->m->hp;
    cpu_session *cs = j->cs;
    int hd = hp->head_dim, gs = hp->n_head / hp->n_head_kv, n_ctx = j->s->n_ctx;
    int P = j->pos + t + 1;
    const quant_kernels *kk = quant_kernels_for(cs->kv_type);
    size_t kv_head = (size_t)l * (size_t)hp->n_head_kv + (size_t)g;
    const uint8_t *kc = cs->k_cache + kv_head * (size_t)n_ctx * (size_t)hd * cs->kv_elt;
    const uint8_t *vc = cs->v_cache + kv_head * (size_t)hd * (size_t)n_ctx * cs->kv_elt;
    const float *qrows = cs->q + ((size_t)t * (size_t)hp->n_head + (size_t)g * (size_t)gs) * (size_t)hd;
    float *S = cs->scores + (size_t)ith * (size_t)gs * (size_t)n_ctx;
    if (gs == 1) kk->gemv(kc, (size_t)hd * cs->kv_elt, qrows, S, hd, 0, P);
    else kk->gemm(kc, (size_t)hd * cs->kv_elt, qrows, (size_t)hd * 4, gs, S, (size_t)n_ctx, hd, 0, P);
    float scale = 1.0f / sqrtf((float)hd);
    for (int r = 0; r < gs; r++) {
        float *row = S + (size_t)r * (size_t)n_ctx, mx = -INFINITY;
        for (int p = 0; p < P; p++) {
            row[p] *= scale;
            if (row[p] > mx) mx = row[p];
        }
        float sum = 0;
        for (int p = 0; p < P; p++) {
            row[p] = expf(row[p] - mx);
            sum += row[p];
        }
        float inv = 1.0f / sum;
        for (int p = 0; p < P; p++) row[p] *= inv;
    }
    float *out = cs->att + ((size_t)t * (size_t)hp->n_head + (size_t)g * (size_t)gs) * (size_t)hd;
    if (gs == 1) kk->gemv(vc, (size_t)n_ctx * cs->kv_elt, S, out, P, 0, hd);
    else kk->gemm(vc, (size_t)n_ctx * cs->kv_elt, S, (size_t)n_ctx * 4, gs, out, (size_t)hd, P, 0, hd);
}

static void store_kv(fwd_job *j, int l, int t) {
    const model_hparams *hp = &j->m->hp;
    cpu_session *cs = j->cs;
    int hd = hp->head_dim, n_ctx = j->s->n_ctx, p = j->pos + t;
    for (int g = 0; g < hp->n_head_kv; g++) {
        size_t kv_head = (size_t)l * (size_t)hp->n_head_kv + (size_t)g;
        const float *kr = cs->k + ((size_t)t * (size_t)hp->n_head_kv + (size_t)g) * (size_t)hd;
        const float *vr = cs->v + ((size_t)t * (size_t)hp->n_head_kv + (size_t)g) * (size_t)hd;
        size_t kbase = (kv_head * (size_t)n_ctx + (size_t)p) * (size_t)hd;
        size_t vbase = kv_head * (size_t)hd * (size_t)n_ctx + (size_t)p;
        if (cs->kv_type == QT_F32) {
            float *kc = (float *)cs->k_cache, *vc = (float *)cs->v_cache;
            memcpy(kc + kbase, kr, (size_t)hd * 4);
            for (int d = 0; d < hd; d++) vc[vbase + (size_t)d * (size_t)n_ctx] = vr[d];
        } else {
            uint16_t *kc = (uint16_t *)cs->k_cache, *vc = (uint16_t *)cs->v_cache;
            for (int d = 0; d < hd; d++) kc[kbase + (size_t)d] = h_f32_to_f16(kr[d]);
            for (int d = 0; d < hd; d++) vc[vbase + (size_t)d * (size_t)n_ctx] = h_f32_to_f16(vr[d]);
        }
    }
}

static void fwd_worker(void *ctx, int ith, int nth) {
    fwd_job *j = ctx;
    hearth_model *m = j->m;
    const model_hparams *hp = &m->hp;
    cpu_session *cs = j->cs;
    threadpool *pool = m->pool;
    int n = j->n, E = hp->n_embd, hd = hp->head_dim, half = hd / 2;
    int Qd = hp->n_head * hd, KVd = hp->n_head_kv * hd, F = hp->n_ff;
    int64_t t0, t1;
    threadpool_split(n, ith, nth, 1, &t0, &t1);

    /* embeddings and RoPE tables */
    for (int64_t t = t0; t < t1; t++) {
        const uint8_t *row = m->tok_embd.data + (size_t)j->ids[t] * m->tok_embd.row_bytes;
        quant_dequant_row_ref(m->tok_embd.type, row, cs->x + (size_t)t * (size_t)E, E);
        double p = (double)(j->pos + t);
        for (int i = 0; i < half; i++) {
            double a = p * (double)cs->inv_freq[i];
            cs->rope_cos[t * half + i] = (float)cos(a);
            cs->rope_sin[t * half + i] = (float)sin(a);
        }
    }
    threadpool_barrier(pool);

    for (int l = 0; l < hp->n_layer; l++) {
        const model_layer *L = &m->layers[l];
        /* attention norm + quantize for q/k/v */
        act_need an = {{0}};
        need_add(&an, &L->wq), need_add(&an, &L->wk), need_add(&an, &L->wv);
        for (int64_t t = t0; t < t1; t++)
            rmsnorm(cs->xb + t * E, cs->x + t * E, (const float *)L->attn_norm.data, E, hp->rms_eps);
        quantize_tokens(cs, &an, cs->xb, E, (int)t0, (int)t1);
        threadpool_barrier(pool);
        {
            const model_tensor *ws[3] = {&L->wq, &L->wk, &L->wv};
            float *ys[3] = {cs->q, cs->k, cs->v};
            size_t ld[3] = {(size_t)Qd, (size_t)KVd, (size_t)KVd};
            matmul_rows(j, ws, ys, ld, 3, cs->xb, E, n, 0, post_bias_qkv, l, ith, nth);
        }
        threadpool_barrier(pool);
        for (int64_t t = t0; t < t1; t++) {
            float *qt = cs->q + t * Qd, *kt = cs->k + t * KVd;
            if (L->q_norm.present) {
                for (int h = 0; h < hp->n_head; h++)
                    rmsnorm(qt + h * hd, qt + h * hd, (const float *)L->q_norm.data, hd, hp->rms_eps);
                for (int h = 0; h < hp->n_head_kv; h++)
                    rmsnorm(kt + h * hd, kt + h * hd, (const float *)L->k_norm.data, hd, hp->rms_eps);
            }
            rope_apply(qt, hp->n_head, hd, hp->rope_neox, cs->rope_cos + t * half, cs->rope_sin + t * half);
            rope_apply(kt, hp->n_head_kv, hd, hp->rope_neox, cs->rope_cos + t * half, cs->rope_sin + t * half);
            store_kv(j, l, (int)t);
        }
        threadpool_barrier(pool);
        for (int it = ith; it < n * hp->n_head_kv; it += nth) attend(j, l, it / hp->n_head_kv, it % hp->n_head_kv, ith);
        threadpool_barrier(pool);
        act_need ao = {{0}};
        need_add(&ao, &L->wo);
        quantize_tokens(cs, &ao, cs->att, Qd, (int)t0, (int)t1);
        threadpool_barrier(pool);
        {
            const model_tensor *ws[1] = {&L->wo};
            float *ys[1] = {cs->tmp};
            size_t ld[1] = {(size_t)E};
            matmul_rows(j, ws, ys, ld, 1, cs->att, Qd, n, 0, post_residual, l, ith, nth);
        }
        threadpool_barrier(pool);
        act_need af = {{0}};
        need_add(&af, &L->w_gate), need_add(&af, &L->w_up);
        for (int64_t t = t0; t < t1; t++)
            rmsnorm(cs->xb + t * E, cs->x + t * E, (const float *)L->ffn_norm.data, E, hp->rms_eps);
        quantize_tokens(cs, &af, cs->xb, E, (int)t0, (int)t1);
        threadpool_barrier(pool);
        {
            const model_tensor *ws[2] = {&L->w_gate, &L->w_up};
            float *ys[2] = {cs->hb, cs->hb2};
            size_t ld[2] = {(size_t)F, (size_t)F};
            matmul_rows(j, ws, ys, ld, 2, cs->xb, E, n, 0, NULL, l, ith, nth);
        }
        threadpool_barrier(pool);
        swiglu_rows(j, ith, nth);
        threadpool_barrier(pool);
        act_need ad = {{0}};
        need_add(&ad, &L->w_down);
        quantize_tokens(cs, &ad, cs->hb, F, (int)t0, (int)t1);
        threadpool_barrier(pool);
        {
            const model_tensor *ws[1] = {&L->w_down};
            float *ys[1] = {cs->tmp};
            size_t ld[1] = {(size_t)E};
            matmul_rows(j, ws, ys, ld, 1, cs->hb, F, n, 0, post_residual, l, ith, nth);
        }
        threadpool_barrier(pool);
    }

    /* output: every token (all_logits) or the last one */
    int first = j->all_logits ? 0 : n - 1, rows = n - first;
    int64_t o0, o1;
    threadpool_split(rows, ith, nth, 1, &o0, &o1);
    act_need ao = {{0}};
    need_add(&ao, &m->output);
    for (int64_t t = first + o0; t < first + o1; t++)
        rmsnorm(cs->xb + t * E, cs->x + t * E, (const float *)m->output_norm.data, E, hp->rms_eps);
    quantize_tokens(cs, &ao, cs->xb, E, (int)(first + o0), (int)(first + o1));
    threadpool_barrier(pool);
    const model_tensor *ws[1] = {&m->output};
    float *ys[1] = {j->out};
    size_t ld[1] = {(size_t)hp->n_vocab};
    matmul_rows(j, ws, ys, ld, 1, cs->xb, E, rows, first, NULL, 0, ith, nth);
}

static int cpu_eval(hearth_session *s, const int32_t *ids, int n, int pos, float *out, int all_logits,
                    hearth_error *err) {
    fwd_job j = {.m = s->m, .s = s, .cs = s->state, .ids = ids, .n = n, .pos = pos, .out = out,
                 .all_logits = all_logits};
    threadpool_run(s->m->pool, fwd_worker, &j);
    (void)err;
    return HEARTH_OK;
}

const backend_ops backend_cpu = {
    .name = "cpu",
    .model_init = cpu_model_init,
    .model_free = cpu_model_free,
    .session_init = cpu_session_init,
    .session_free = cpu_session_free,
    .eval = cpu_eval,
};
