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
    float *hb;                /* [n_batch][n_ff] */
    float *up;                /* [n_threads][n_batch][UP_ROWS]: up product of one row group */
    uint8_t *act[3];          /* quantized activations per quant_act (QA_F32 unused) */
    float *scores;            /* [n_threads][group][n_ctx] */
    float *rope_cos, *rope_sin; /* [n_batch][head_dim / 2] */
    float *inv_freq;          /* [head_dim / 2] */
    int n_threads;
} cpu_session;

/* Rows per work item of the gate/up stage are at most this (rows_per_item caps at 2 x 1024). */
#define UP_ROWS 1024

typedef struct fwd_job {
    hearth_model *m;
    hearth_session *s;
    cpu_session *cs;
    const int32_t *ids;
    int n, pos;
    float *out;
    int all_logits;
} fwd_job;

/* ---- model ------------------------------------------------------------------------------------
 * The weights are copied into huge-page memory by default: decode streams every weight once per
 * token, and with 4 KiB pages of a mapped file the TLB misses and the hardware prefetcher's stop
 * at each page boundary cost ~20% of decode speed on the machine of docs/BENCHMARKS.md.
 * use_mmap keeps them in place (the page cache can reclaim them under memory pressure). */

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
    if (hi > lo && m->use_mmap && m->src.map) base = m->src.map(m->src.ctx, lo, hi - lo);
    if (hi > lo && !base) {
        if (hi - lo > (uint64_t)SIZE_MAX / 2)
            return h_err(err, HEARTH_ERR_NOMEM, "model: %llu bytes of weights do not fit in memory",
                         (unsigned long long)(hi - lo));
        m->weights_copy_bytes = (size_t)(hi - lo);
        m->weights_copy = h_alloc_large(m->weights_copy_bytes, &m->weights_copy_mapped);
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
    h_free_large(m->weights_copy, m->weights_copy_bytes, m->weights_copy_mapped);
    m->weights_copy = NULL;
}

/* ---- session ---------------------------------------------------------------------------------- */

static void cpu_session_free(hearth_session *s) {
    cpu_session *cs = s->state;
    if (!cs) return;
    void *ptrs[] = {cs->x, cs->xb, cs->tmp, cs->q, cs->att, cs->k, cs->v, cs->hb, cs->up,
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
    cs->up = alloc_buf((size_t)cs->n_threads * B, (size_t)UP_ROWS * 4, &ok);
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

static void quantize_token(cpu_session *cs, const act_need *an, const float *X, int64_t n, int t) {
    for (int a = 1; a < 3; a++)
        if (an->k[a])
            an->k[a]->quantize_act(X + (size_t)t * (size_t)n,
                                   cs->act[a] + (size_t)t * quant_act_row_bytes((quant_act)a, n), n);
}

/* Y[t * ldy + r] = W[r,:] . X[t,:] for rows [r0, r1) and n_tok tokens from token t_first. */
static void matmul(const cpu_session *cs, const model_tensor *w, const float *X, int64_t n, int n_tok, int t_first,
                   float *Y, size_t ldy, int64_t r0, int64_t r1) {
    const quant_kernels *k = quant_kernels_for(w->type);
    const void *act = act_row(cs, k->act, X, n, t_first);
    size_t stride = k->act == QA_F32 ? (size_t)n * 4 : quant_act_row_bytes(k->act, n);
    if (n_tok == 1) k->gemv(w->data, w->row_bytes, act, Y + r0, n, r0, r1);
    else k->gemm(w->data, w->row_bytes, act, stride, n_tok, Y, ldy, n, r0, r1);
}

/* Rows per work item of a matrix product: about 8 items per thread, whole 32-row groups. */
static int64_t rows_per_item(int64_t rows, int nth) {
    int64_t r = (rows + 8 * nth - 1) / (8 * nth);
    r = (r + 31) / 32 * 32;
    return H_MAX(H_MIN(r, 2048), 32);
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

/* What every work item of the current stage needs (each thread keeps its own copy). */
typedef struct stage {
    fwd_job *j;
    int l;                        /* layer */
    const model_layer *L;
    act_need an;                  /* activation formats to produce (norm / quantize stages) */
    const float *norm_w;          /* norm stages */
    const float *X;               /* matmul input rows (float) */
    int64_t n;                    /* their length */
    const model_tensor *w[3];     /* matmul weights (rows concatenated) */
    float *y[3];
    const float *bias[3];
    size_t ldy[3];
    int nw;
    int64_t rows, per;            /* rows in total, rows per item */
    int n_tok, t_first;
    int t_offset;                 /* norm stages: item i is token t_offset + i */
    int residual;                 /* add the product to x (wo, w_down) */
} stage;

/* item = token: RMSNorm of x into xb, then the activation formats in an */
static void item_norm(void *ctx, int64_t i, int ith) {
    stage *st = ctx;
    cpu_session *cs = st->j->cs;
    int E = st->j->m->hp.n_embd;
    int64_t t = st->t_offset + i;
    (void)ith;
    rmsnorm(cs->xb + t * E, cs->x + t * E, st->norm_w, E, st->j->m->hp.rms_eps);
    quantize_token(cs, &st->an, cs->xb, E, (int)t);
}

/* item = token: quantize st->X's row */
static void item_quantize(void *ctx, int64_t t, int ith) {
    stage *st = ctx;
    (void)ith;
    quantize_token(st->j->cs, &st->an, st->X, st->n, (int)t);
}

/* item = a group of rows of the concatenated weights; biases and the residual on those rows */
static void item_matmul(void *ctx, int64_t item, int ith) {
    stage *st = ctx;
    cpu_session *cs = st->j->cs;
    (void)ith;
    int64_t lo = item * st->per, hi = H_MIN(lo + st->per, st->rows), base = 0;
    for (int i = 0; i < st->nw; i++) {
        const model_tensor *w = st->w[i];
        int64_t r0 = H_MAX(lo - base, 0), r1 = H_MIN(hi - base, w->rows);
        base += w->rows;
        if (r0 >= r1) continue;
        float *Y = st->residual ? cs->tmp : st->y[i];
        matmul(cs, w, st->X, st->n, st->n_tok, st->t_first, Y, st->ldy[i], r0, r1);
        for (int t = 0; t < st->n_tok; t++) {
            float *row = Y + (size_t)t * st->ldy[i];
            if (st->bias[i])
                for (int64_t r = r0; r < r1; r++) row[r] += st->bias[i][r];
            if (st->residual) {
                float *x = cs->x + (size_t)t * st->ldy[i];
                for (int64_t r = r0; r < r1; r++) x[r] += row[r];
            }
        }
    }
}

/* item = a group of rows of gate and up: both products, then SwiGLU on those rows. The up rows
 * go to the thread's own small buffer (rows r0..r1 of w_up as rows 0..r1-r0 of a shifted matrix),
 * so that only the gate product needs a full [n_batch][n_ff] buffer. */
static void item_gate_up(void *ctx, int64_t item, int ith) {
    stage *st = ctx;
    cpu_session *cs = st->j->cs;
    int64_t F = st->rows, r0 = item * st->per, r1 = H_MIN(r0 + st->per, F), nr = r1 - r0;
    matmul(cs, &st->L->w_gate, cs->xb, st->n, st->n_tok, 0, cs->hb, (size_t)F, r0, r1);
    model_tensor up = st->L->w_up;
    up.data += (size_t)r0 * up.row_bytes;
    up.rows = nr;
    float *ub = cs->up + (size_t)ith * (size_t)st->j->s->n_batch * UP_ROWS;
    matmul(cs, &up, cs->xb, st->n, st->n_tok, 0, ub, UP_ROWS, 0, nr);
    for (int t = 0; t < st->n_tok; t++) {
        float *g = cs->hb + (size_t)t * (size_t)F + r0, *u = ub + (size_t)t * UP_ROWS;
        for (int64_t r = 0; r < nr; r++) g[r] = g[r] / (1.0f + expf(-g[r])) * u[r];
    }
}

/* item = token: q/k norms (qwen3), RoPE on q and k, K and V into the cache */
static void item_rope(void *ctx, int64_t t, int ith) {
    stage *st = ctx;
    fwd_job *j = st->j;
    const model_hparams *hp = &j->m->hp;
    cpu_session *cs = j->cs;
    int hd = hp->head_dim, half = hd / 2, Qd = hp->n_head * hd, KVd = hp->n_head_kv * hd;
    (void)ith;
    float *qt = cs->q + t * Qd, *kt = cs->k + t * KVd;
    if (st->L->q_norm.present) {
        for (int h = 0; h < hp->n_head; h++)
            rmsnorm(qt + h * hd, qt + h * hd, (const float *)st->L->q_norm.data, hd, hp->rms_eps);
        for (int h = 0; h < hp->n_head_kv; h++)
            rmsnorm(kt + h * hd, kt + h * hd, (const float *)st->L->k_norm.data, hd, hp->rms_eps);
    }
    rope_apply(qt, hp->n_head, hd, hp->rope_neox, cs->rope_cos + t * half, cs->rope_sin + t * half);
    rope_apply(kt, hp->n_head_kv, hd, hp->rope_neox, cs->rope_cos + t * half, cs->rope_sin + t * half);
    store_kv(j, st->l, (int)t);
}

/* item = (token, KV head) */
static void item_attend(void *ctx, int64_t it, int ith) {
    stage *st = ctx;
    int nkv = st->j->m->hp.n_head_kv;
    attend(st->j, st->l, (int)(it / nkv), (int)(it % nkv), ith);
}

/* item = token: embedding row and RoPE angles */
static void item_embed(void *ctx, int64_t t, int ith) {
    stage *st = ctx;
    fwd_job *j = st->j;
    hearth_model *m = j->m;
    cpu_session *cs = j->cs;
    int E = m->hp.n_embd, half = m->hp.head_dim / 2;
    (void)ith;
    const uint8_t *row = m->tok_embd.data + (size_t)j->ids[t] * m->tok_embd.row_bytes;
    quant_dequant_row_ref(m->tok_embd.type, row, cs->x + (size_t)t * (size_t)E, E);
    double p = (double)(j->pos + t);
    for (int i = 0; i < half; i++) {
        double a = p * (double)cs->inv_freq[i];
        cs->rope_cos[t * half + i] = (float)cos(a);
        cs->rope_sin[t * half + i] = (float)sin(a);
    }
}

static void set_matmul(stage *st, int nw, const model_tensor *const *w, float *const *y, const size_t *ldy,
                       const float *X, int64_t n, int nth) {
    st->nw = nw;
    st->rows = 0;
    for (int i = 0; i < nw; i++) {
        st->w[i] = w[i];
        st->y[i] = y ? y[i] : NULL;
        st->ldy[i] = ldy[i];
        st->bias[i] = NULL;
        st->rows += w[i]->rows;
    }
    st->X = X;
    st->n = n;
    st->per = rows_per_item(st->rows, nth);
}

static int64_t n_items(const stage *st) { return (st->rows + st->per - 1) / st->per; }

static void fwd_worker(void *ctx, int ith, int nth) {
    fwd_job *j = ctx;
    hearth_model *m = j->m;
    const model_hparams *hp = &m->hp;
    cpu_session *cs = j->cs;
    threadpool *pool = m->pool;
    int n = j->n, E = hp->n_embd, hd = hp->head_dim;
    int Qd = hp->n_head * hd, KVd = hp->n_head_kv * hd, F = hp->n_ff;
    uint64_t pos = 0;
    stage st;
    memset(&st, 0, sizeof st);
    st.j = j;
    st.n_tok = n;
    threadpool_for(pool, &pos, n, item_embed, &st, ith);

    for (int l = 0; l < hp->n_layer; l++) {
        const model_layer *L = &m->layers[l];
        st.l = l;
        st.L = L;
        st.residual = 0;
        /* attention: norm, Q K V (+ biases), q/k norms + RoPE + KV store, attention, output */
        memset(&st.an, 0, sizeof st.an);
        need_add(&st.an, &L->wq), need_add(&st.an, &L->wk), need_add(&st.an, &L->wv);
        st.norm_w = (const float *)L->attn_norm.data;
        threadpool_for(pool, &pos, n, item_norm, &st, ith);
        {
            const model_tensor *w[3] = {&L->wq, &L->wk, &L->wv};
            float *y[3] = {cs->q, cs->k, cs->v};
            size_t ld[3] = {(size_t)Qd, (size_t)KVd, (size_t)KVd};
            set_matmul(&st, 3, w, y, ld, cs->xb, E, nth);
            st.bias[0] = L->bq.present ? (const float *)L->bq.data : NULL;
            st.bias[1] = L->bk.present ? (const float *)L->bk.data : NULL;
            st.bias[2] = L->bv.present ? (const float *)L->bv.data : NULL;
            threadpool_for(pool, &pos, n_items(&st), item_matmul, &st, ith);
        }
        threadpool_for(pool, &pos, n, item_rope, &st, ith);
        threadpool_for(pool, &pos, (int64_t)n * hp->n_head_kv, item_attend, &st, ith);
        memset(&st.an, 0, sizeof st.an);
        need_add(&st.an, &L->wo);
        st.X = cs->att, st.n = Qd;
        threadpool_for(pool, &pos, n, item_quantize, &st, ith);
        {
            const model_tensor *w[1] = {&L->wo};
            size_t ld[1] = {(size_t)E};
            set_matmul(&st, 1, w, NULL, ld, cs->att, Qd, nth);
            st.residual = 1;
            threadpool_for(pool, &pos, n_items(&st), item_matmul, &st, ith);
            st.residual = 0;
        }
        /* feed-forward: norm, gate and up with SwiGLU, down */
        memset(&st.an, 0, sizeof st.an);
        need_add(&st.an, &L->w_gate), need_add(&st.an, &L->w_up);
        st.norm_w = (const float *)L->ffn_norm.data;
        threadpool_for(pool, &pos, n, item_norm, &st, ith);
        st.rows = F, st.n = E, st.per = rows_per_item(2 * (int64_t)F, nth) / 2;
        st.per = H_MIN(H_MAX(st.per / 32 * 32, 32), UP_ROWS);
        threadpool_for(pool, &pos, n_items(&st), item_gate_up, &st, ith);
        memset(&st.an, 0, sizeof st.an);
        need_add(&st.an, &L->w_down);
        st.X = cs->hb, st.n = F;
        threadpool_for(pool, &pos, n, item_quantize, &st, ith);
        {
            const model_tensor *w[1] = {&L->w_down};
            size_t ld[1] = {(size_t)E};
            set_matmul(&st, 1, w, NULL, ld, cs->hb, F, nth);
            st.residual = 1;
            threadpool_for(pool, &pos, n_items(&st), item_matmul, &st, ith);
            st.residual = 0;
        }
    }

    /* output: every token (all_logits) or the last one */
    int first = j->all_logits ? 0 : n - 1;
    memset(&st.an, 0, sizeof st.an);
    need_add(&st.an, &m->output);
    st.norm_w = (const float *)m->output_norm.data;
    st.t_offset = first;
    threadpool_for(pool, &pos, n - first, item_norm, &st, ith);
    {
        const model_tensor *w[1] = {&m->output};
        float *y[1] = {j->out};
        size_t ld[1] = {(size_t)hp->n_vocab};
        set_matmul(&st, 1, w, y, ld, cs->xb, E, nth);
        st.n_tok = n - first;
        st.t_first = first;
        threadpool_for(pool, &pos, n_items(&st), item_matmul, &st, ith);
    }
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
