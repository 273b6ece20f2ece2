/* gpu_model.c — WebGPU backend, model side: creates the device, streams the weights from the
 * byte source into GPU buffers (repacked per gpu_pack.h, in chunks; never the whole file in
 * memory), fuses Q/K/V and gate/up where types allow, splits tensors into row pieces that fit
 * a storage binding, and caches the compiled kernels. */
#include "gpu/gpu_model.h"

#include "gpu/gpu_pack.h"
#include "gpu/wgsl.h"
#include "quant.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define UPLOAD_CHUNK (8u << 20)       /* source bytes per read */
#define UPLOAD_FLUSH (256ull << 20)   /* wait for the queue after this many bytes (staging memory) */

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/* ---- kernel cache ------------------------------------------------------------------------- */

int gw_kernel(gw_model *g, const char *module, const char *kernel, const gpu_const *c, int nc, gpu_kernel **out,
              hearth_error *err) {
    char key[sizeof g->kernels[0].key];
    int k = snprintf(key, sizeof key, "%s|%s", kernel, module ? module : "");
    for (int i = 0; i < nc && k < (int)sizeof key - 1; i++)
        k += snprintf(key + k, sizeof key - (size_t)k, "|%s=%g", c[i].name, c[i].value);
    if (k >= (int)sizeof key - 1) /* a truncated key could name another kernel's pipeline */
        return h_err(err, HEARTH_ERR_INTERNAL, "webgpu: kernel key too long: %s", key);
    for (int i = 0; i < g->n_kernels; i++)
        if (strcmp(g->kernels[i].key, key) == 0) {
            *out = g->kernels[i].k;
            return HEARTH_OK;
        }
    if (g->n_kernels == g->cap_kernels) {
        int cap = g->cap_kernels ? 2 * g->cap_kernels : 32;
        gw_kernel_entry *e = h_realloc(g->kernels, (size_t)cap * sizeof *e);
        if (!e) return h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
        g->kernels = e;
        g->cap_kernels = cap;
    }
    const char *srcs[4];
    int n = gpu_wgsl_sources(module, kernel, srcs, 4);
    if (n < 0) return h_err(err, HEARTH_ERR_INTERNAL, "webgpu: no WGSL kernel %s with modules %s", kernel, module ? module : "-");
    gpu_kernel *kk;
    char label[64];
    snprintf(label, sizeof label, "%s%s%s", kernel, module ? "+" : "", module ? module : "");
    int st = gpu_kernel_create(g->d, &kk, label, srcs, n, c, nc, err);
    if (st) return st;
    gw_kernel_entry *e = &g->kernels[g->n_kernels++];
    snprintf(e->key, sizeof e->key, "%s", key);
    e->k = kk;
    *out = kk;
    return HEARTH_OK;
}

/* ---- planning: where every tensor goes --------------------------------------------------- */

typedef struct plan {
    uint64_t arena_max;  /* bytes per weight buffer */
    uint64_t piece_max;  /* bytes per piece (storage binding limit) */
    uint64_t align;
    uint64_t cur;        /* bytes used in the current arena (during placement) */
    int cur_buf;
    uint64_t arena_size[64];
    int n_arenas;
    int placing;         /* 0: measuring arena sizes; 1: assigning buffers */
    uint64_t total;
} plan;

/* Splits t into pieces (rows) and places them; max_pieces 1 forces one piece (fused gate|up). */
static int plan_tensor(gw_model *g, plan *pl, gw_tensor *t, uint32_t type, int64_t n, int64_t rows, int max_pieces,
                       hearth_error *err) {
    int st;
    t->type = type;
    t->n = n;
    t->rows = rows;
    if ((st = gpu_pack_row_words(type, n, &t->words, err))) return st;
    uint64_t row_bytes = (uint64_t)t->words * 4;
    uint64_t rows_per_piece = pl->piece_max / row_bytes;
    if (rows_per_piece == 0)
        return h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: one row of %llu bytes exceeds the storage binding "
                     "limit %llu", (unsigned long long)row_bytes, (unsigned long long)pl->piece_max);
    int n_pieces = (int)((rows + (int64_t)rows_per_piece - 1) / (int64_t)rows_per_piece);
    if (n_pieces > max_pieces)
        return h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: a %lld x %lld %s tensor needs %d pieces (limit %d)",
                     (long long)rows, (long long)n, quant_type_name(type), n_pieces, max_pieces);
    t->n_pieces = n_pieces;
    for (int i = 0; i < n_pieces; i++) {
        gw_piece *p = &t->p[i];
        p->row0 = (int64_t)rows_per_piece * i;
        p->rows = H_MIN((int64_t)rows_per_piece, rows - p->row0);
        p->bytes = (uint64_t)p->rows * row_bytes;
        uint64_t off = align_up(pl->cur, pl->align);
        if (off + p->bytes > pl->arena_max) { /* next arena */
            if (pl->cur > 0) pl->cur_buf++;
            off = 0;
        }
        if (pl->cur_buf >= (int)H_ARRAY_LEN(g->bufs))
            return h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: the model needs more than %d weight buffers",
                         (int)H_ARRAY_LEN(g->bufs));
        if (pl->placing) {
            p->buf = g->bufs[pl->cur_buf];
        } else {
            if (pl->cur_buf + 1 > pl->n_arenas) pl->n_arenas = pl->cur_buf + 1;
            pl->arena_size[pl->cur_buf] = off + p->bytes;
        }
        p->off = off;
        pl->cur = off + p->bytes;
        pl->total += p->bytes;
    }
    return HEARTH_OK;
}

static int same_shape_type(const model_tensor *a, const model_tensor *b) {
    return a->type == b->type && a->ne[0] == b->ne[0];
}

/* Plans every weight matrix (measuring pass or placing pass). */
static int plan_all(gw_model *g, hearth_model *m, plan *pl, hearth_error *err) {
    const model_hparams *hp = &m->hp;
    int st;
    pl->cur = 0;
    pl->cur_buf = 0;
    pl->total = 0;
    if ((st = plan_tensor(g, pl, &g->tok_embd, m->tok_embd.type, hp->n_embd, hp->n_vocab, GW_MAX_PIECES, err)))
        return st;
    if (m->tied_output || m->output.offset == m->tok_embd.offset) {
        g->output = &g->tok_embd;
    } else {
        if ((st = plan_tensor(g, pl, &g->output_own, m->output.type, hp->n_embd, hp->n_vocab, GW_MAX_PIECES, err)))
            return st;
        g->output = &g->output_own;
    }
    for (int l = 0; l < hp->n_layer; l++) {
        const model_layer *L = &m->layers[l];
        gw_layer *G = &g->layers[l];
        G->qkv_fused = same_shape_type(&L->wq, &L->wk) && same_shape_type(&L->wq, &L->wv);
        if (G->qkv_fused) {
            st = plan_tensor(g, pl, &G->qkv[0], L->wq.type, L->wq.ne[0], L->wq.rows + L->wk.rows + L->wv.rows,
                             GW_MAX_PIECES, err);
        } else {
            const model_tensor *w3[3] = {&L->wq, &L->wk, &L->wv};
            for (int i = 0; i < 3 && !st; i++)
                st = plan_tensor(g, pl, &G->qkv[i], w3[i]->type, w3[i]->ne[0], w3[i]->rows, GW_MAX_PIECES, err);
        }
        if (st) return st;
        if ((st = plan_tensor(g, pl, &G->wo, L->wo.type, L->wo.ne[0], L->wo.rows, GW_MAX_PIECES, err))) return st;
        G->gu_fused = same_shape_type(&L->w_gate, &L->w_up);
        if (G->gu_fused) {
            uint32_t words;
            if ((st = gpu_pack_row_words(L->w_gate.type, L->w_gate.ne[0], &words, err))) return st;
            if ((uint64_t)words * 4 * (uint64_t)(2 * L->w_gate.rows) > pl->piece_max) G->gu_fused = 0;
        }
        if (G->gu_fused) {
            st = plan_tensor(g, pl, &G->gu[0], L->w_gate.type, L->w_gate.ne[0], 2 * L->w_gate.rows, 1, err);
        } else {
            st = plan_tensor(g, pl, &G->gu[0], L->w_gate.type, L->w_gate.ne[0], L->w_gate.rows, GW_MAX_PIECES, err);
            if (!st)
                st = plan_tensor(g, pl, &G->gu[1], L->w_up.type, L->w_up.ne[0], L->w_up.rows, GW_MAX_PIECES, err);
        }
        if (st) return st;
        if ((st = plan_tensor(g, pl, &G->down, L->w_down.type, L->w_down.ne[0], L->w_down.rows, GW_MAX_PIECES, err)))
            return st;
    }
    return HEARTH_OK;
}

/* ---- upload ------------------------------------------------------------------------------- */

typedef struct uploader {
    gw_model *g;
    hearth_model *m;
    uint8_t *src;        /* UPLOAD_CHUNK bytes of ggml rows */
    uint32_t *dst;       /* their packed words */
    size_t dst_cap;      /* words */
    uint64_t since_flush;
} uploader;

/* Uploads rows [r0, r0 + nr) of tensor src_t into t starting at tensor row dst_row0. */
static int upload_rows(uploader *u, gw_tensor *t, const model_tensor *src_t, int64_t r0, int64_t nr, int64_t dst_row0,
                       hearth_error *err) {
    size_t rb = src_t->row_bytes;
    int64_t per = (int64_t)(UPLOAD_CHUNK / rb);
    if (per < 1) per = 1;
    int st;
    for (int64_t r = r0; r < r0 + nr;) {
        int64_t k = H_MIN(per, r0 + nr - r);
        k = H_MIN(k, (int64_t)(u->dst_cap / t->words));
        /* rows must not cross a piece */
        int64_t dr = dst_row0 + (r - r0);
        int pi = 0;
        while (pi + 1 < t->n_pieces && t->p[pi + 1].row0 <= dr) pi++;
        gw_piece *p = &t->p[pi];
        k = H_MIN(k, p->row0 + p->rows - dr);
        size_t len = (size_t)k * rb;
        st = u->m->src.read(u->m->src.ctx, src_t->offset + (uint64_t)r * rb, u->src, len);
        if (st == HEARTH_ERR_AGAIN)
            return h_err(err, HEARTH_ERR_AGAIN, "webgpu: weight bytes of '%s' have not arrived yet", src_t->name);
        if (st) return h_err(err, HEARTH_ERR_IO, "webgpu: cannot read %zu bytes of '%s'", len, src_t->name);
        size_t words = (size_t)k * t->words;
        if (words > u->dst_cap) return h_err(err, HEARTH_ERR_INTERNAL, "webgpu: upload staging too small");
        gpu_pack_rows(src_t->type, src_t->ne[0], u->src, k, u->dst);
        uint64_t off = p->off + (uint64_t)(dr - p->row0) * t->words * 4;
        if ((st = gpu_buffer_write(u->g->d, p->buf, off, u->dst, words * 4, err))) return st;
        u->since_flush += words * 4;
        if (u->since_flush >= UPLOAD_FLUSH) {
            if ((st = gpu_finish(u->g->d, err))) return st;
            u->since_flush = 0;
        }
        r += k;
    }
    return HEARTH_OK;
}

static int upload_tensor(uploader *u, gw_tensor *t, const model_tensor *src_t, int64_t dst_row0, hearth_error *err) {
    return upload_rows(u, t, src_t, 0, src_t->rows, dst_row0, err);
}

/* F32 vectors into the small buffer. */
typedef struct small_plan {
    uint64_t used, align;
} small_plan;

static void small_place(small_plan *sp, gw_vec *v, uint64_t bytes) {
    v->present = 1;
    v->off = align_up(sp->used, sp->align);
    v->bytes = bytes;
    sp->used = v->off + bytes;
}

static int small_write(gw_model *g, hearth_model *m, const gw_vec *v, uint64_t at, const model_tensor *t,
                       hearth_error *err) {
    if (!t->present) return HEARTH_OK;
    float *tmp = h_malloc((size_t)t->size);
    if (!tmp) return h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
    int st = m->src.read(m->src.ctx, t->offset, tmp, (size_t)t->size);
    if (st) {
        h_free(tmp);
        return h_err(err, st == HEARTH_ERR_AGAIN ? HEARTH_ERR_AGAIN : HEARTH_ERR_IO, "webgpu: cannot read '%s'", t->name);
    }
    st = gpu_buffer_write(g->d, g->small, v->off + at, tmp, (size_t)t->size, err);
    h_free(tmp);
    return st;
}

/* ---- backend model ops ---------------------------------------------------------------------- */

static void gw_model_free_state(gw_model *g) {
    if (!g) return;
    for (int i = 0; i < g->n_kernels; i++) gpu_kernel_free(g->kernels[i].k);
    h_free(g->kernels);
    for (int i = 0; i < g->n_bufs; i++) gpu_buffer_free(g->bufs[i]);
    gpu_buffer_free(g->small);
    gpu_buffer_free(g->dummy);
    h_free(g->layers);
    gpu_device_free(g->d);
    h_free(g);
}

static int env_int(const char *name, int def) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

int webgpu_model_init(hearth_model *m, hearth_error *err);
int webgpu_model_init(hearth_model *m, hearth_error *err) {
    const model_hparams *hp = &m->hp;
    int st;
    gw_model *g = h_calloc(1, sizeof *g);
    uploader u = {0};
    if (!g) return h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
    g->layers = h_calloc((size_t)hp->n_layer, sizeof *g->layers);
    if (!g->layers) {
        st = h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
        goto fail;
    }
    if (hp->head_dim % 2 || hp->n_head % hp->n_head_kv || hp->n_embd % 4 || hp->n_ff % 4) {
        st = h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: head_dim %d / n_embd %d / n_ff %d not supported",
                   hp->head_dim, hp->n_embd, hp->n_ff);
        goto fail;
    }
    gpu_device_params dp = gpu_device_default_params();
    const char *fast = getenv("HEARTH_GPU_FAST");
    if (fast && *fast == '1') dp.robustness = 0;
    dp.max_binding = (uint64_t)env_int("HEARTH_GPU_MAX_BINDING", 0);
    if ((st = gpu_device_create(&g->d, &dp, err))) goto fail;
    const gpu_info *in = gpu_device_info(g->d);
    const char *mv = getenv("HEARTH_GPU_MATVEC");
    g->force_f32 = mv && *mv == 'f';
    g->tu_override = env_int("HEARTH_GPU_TU", 0);
    g->rpt_override = env_int("HEARTH_GPU_RPT", 0);
    g->tm_override = env_int("HEARTH_GPU_TM", 0);
    g->wg_override = env_int("HEARTH_GPU_WG", 0);
    g->mmq = env_int("HEARTH_GPU_MMQ", 1);
    g->minwg = env_int("HEARTH_GPU_MINWG", 128);
    g->sg = env_int("HEARTH_GPU_SG", 1);
    g->qit = env_int("HEARTH_GPU_QIT", 0);
    g->xq = env_int("HEARTH_GPU_XQ", 1);
    g->unr = env_int("HEARTH_GPU_UNR", 1);
    g->hpw = env_int("HEARTH_GPU_HPW", 1);
    g->qpar = env_int("HEARTH_GPU_QPAR", 1);
    g->big = env_int("HEARTH_GPU_BIG", 1);
    g->att_long = env_int("HEARTH_GPU_ATTL", 512);
    g->att_kb = H_MAX(1, H_MIN(env_int("HEARTH_GPU_ATTKB", 8), 16));
    g->mmq_tm = env_int("HEARTH_GPU_MMQ_TM", 0);
    g->mmq_tn = env_int("HEARTH_GPU_MMQ_TN", 0);
    g->mmq_ku = env_int("HEARTH_GPU_MMQ_KU", 0);

    /* Plan: measure, check the fit, allocate, place. */
    plan pl;
    memset(&pl, 0, sizeof pl);
    pl.piece_max = in->max_storage_binding & ~(uint64_t)255;
    pl.arena_max = H_MIN(in->max_buffer, (uint64_t)1 << 30);
    if (pl.arena_max < pl.piece_max) pl.piece_max = pl.arena_max & ~(uint64_t)255;
    pl.align = H_MAX(in->min_storage_offset_align, 256);
    if ((st = plan_all(g, m, &pl, err))) goto fail;
    uint64_t mem_limit = (uint64_t)env_int("HEARTH_GPU_MEM_MB", 0) << 20;
    if (mem_limit && pl.total > mem_limit) {
        st = h_err(err, HEARTH_ERR_RANGE, "webgpu: the model's weights need %.1f MiB of GPU memory; %.1f MiB are "
                   "available", pl.total / 1048576.0, mem_limit / 1048576.0);
        goto fail;
    }
    for (int i = 0; i < pl.n_arenas; i++) {
        char label[32];
        snprintf(label, sizeof label, "weights %d", i);
        if ((st = gpu_buffer_create(g->d, &g->bufs[i], pl.arena_size[i], GPU_STORAGE, label, err))) {
            h_err_prefix(err, "webgpu: allocating %.1f MiB of weights (buffer %d of %d)",
                         pl.total / 1048576.0, i + 1, pl.n_arenas);
            goto fail;
        }
        g->n_bufs = i + 1;
    }
    pl.placing = 1;
    if ((st = plan_all(g, m, &pl, err))) goto fail;
    g->gpu_bytes = pl.total;
    /* HEARTH_GPU_SHAPE_QKV / _WO / _GU / _DOWN = TU,RPT,WG[,UNR]: one product's decode matvec
     * shape (comparisons on a card; docs/GPU.md). A shape whose workgroups cannot own whole
     * q-stream units makes that product's neighbours quantize x themselves. */
    static const struct {
        const char *env;
        size_t off; /* of the role's first tensor in gw_layer */
        int n;
    } roles[4] = {{"HEARTH_GPU_SHAPE_QKV", offsetof(gw_layer, qkv), 3},
                  {"HEARTH_GPU_SHAPE_WO", offsetof(gw_layer, wo), 1},
                  {"HEARTH_GPU_SHAPE_GU", offsetof(gw_layer, gu), 2},
                  {"HEARTH_GPU_SHAPE_DOWN", offsetof(gw_layer, down), 1}};
    for (int r = 0; r < 4; r++) {
        const char *v = getenv(roles[r].env);
        unsigned a[4] = {0, 0, 0, 0};
        if (!v || sscanf(v, "%u,%u,%u,%u", &a[0], &a[1], &a[2], &a[3]) < 3) continue;
        if (!a[0] || a[0] & (a[0] - 1) || a[1] < 1 || a[1] > 4 || !a[2] || a[2] % a[0] || a[2] > in->max_invocations ||
            a[3] > 8) {
            st = h_err(err, HEARTH_ERR_ARG, "webgpu: %s=%s: want TU (a power of two), RPT (1..4), WG (a "
                       "multiple of TU, at most %u)[, UNR (1..8)]", roles[r].env, v, in->max_invocations);
            goto fail;
        }
        for (int l = 0; l < hp->n_layer; l++) {
            gw_tensor *t = (gw_tensor *)((char *)&g->layers[l] + roles[r].off);
            for (int i = 0; i < roles[r].n; i++) memcpy(t[i].shape, a, sizeof a);
        }
    }
    /* Small F32 vectors. */
    small_plan sp = {0, pl.align};
    int E = hp->n_embd, hd = hp->head_dim;
    uint64_t qd = (uint64_t)hp->n_head * hd, kvd = (uint64_t)hp->n_head_kv * hd;
    small_place(&sp, &g->out_norm, (uint64_t)E * 4);
    for (int l = 0; l < hp->n_layer; l++) {
        const model_layer *L = &m->layers[l];
        gw_layer *G = &g->layers[l];
        small_place(&sp, &G->attn_norm, (uint64_t)E * 4);
        small_place(&sp, &G->ffn_norm, (uint64_t)E * 4);
        if (L->bq.present || L->bk.present || L->bv.present) small_place(&sp, &G->bqkv, (qd + 2 * kvd) * 4);
        if (L->q_norm.present) small_place(&sp, &G->q_norm, (uint64_t)hd * 4);
        if (L->k_norm.present) small_place(&sp, &G->k_norm, (uint64_t)hd * 4);
    }
    if ((st = gpu_buffer_create(g->d, &g->small, H_MAX(sp.used, 16), GPU_STORAGE, "vectors", err)) ||
        (st = gpu_buffer_create(g->d, &g->dummy, 256, GPU_STORAGE, "dummy", err)))
        goto fail;
    if ((st = small_write(g, m, &g->out_norm, 0, &m->output_norm, err))) goto fail;
    for (int l = 0; l < hp->n_layer && !st; l++) {
        const model_layer *L = &m->layers[l];
        gw_layer *G = &g->layers[l];
        st = small_write(g, m, &G->attn_norm, 0, &L->attn_norm, err);
        if (!st) st = small_write(g, m, &G->ffn_norm, 0, &L->ffn_norm, err);
        if (!st && G->bqkv.present) {
            st = small_write(g, m, &G->bqkv, 0, &L->bq, err);
            if (!st) st = small_write(g, m, &G->bqkv, qd * 4, &L->bk, err);
            if (!st) st = small_write(g, m, &G->bqkv, (qd + kvd) * 4, &L->bv, err);
        }
        if (!st) st = small_write(g, m, &G->q_norm, 0, &L->q_norm, err);
        if (!st) st = small_write(g, m, &G->k_norm, 0, &L->k_norm, err);
    }
    if (st) goto fail;

    /* Weights, streamed. */
    size_t max_words = 0;
    {
        gw_tensor *all[4] = {&g->tok_embd, g->output, NULL, NULL};
        for (int i = 0; i < 2; i++) max_words = H_MAX(max_words, (size_t)all[i]->words);
        for (int l = 0; l < hp->n_layer; l++) {
            gw_layer *G = &g->layers[l];
            for (int i = 0; i < 3; i++) max_words = H_MAX(max_words, (size_t)G->qkv[i].words);
            max_words = H_MAX(max_words, (size_t)G->wo.words);
            max_words = H_MAX(max_words, (size_t)G->gu[0].words);
            max_words = H_MAX(max_words, (size_t)G->gu[1].words);
            max_words = H_MAX(max_words, (size_t)G->down.words);
        }
    }
    size_t max_rb = UPLOAD_CHUNK;
    {
        const model_tensor *ts[2] = {&m->tok_embd, &m->output};
        for (int i = 0; i < 2; i++) max_rb = H_MAX(max_rb, ts[i]->row_bytes);
        for (int l = 0; l < hp->n_layer; l++) {
            const model_layer *L = &m->layers[l];
            const model_tensor *w[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
            for (int i = 0; i < 7; i++) max_rb = H_MAX(max_rb, w[i]->row_bytes);
        }
    }
    u.g = g;
    u.m = m;
    u.src = h_malloc(max_rb);
    u.dst_cap = max_rb / 2 + 2 * max_words; /* GPU rows are at most 2x ggml's (small-row padding) */
    u.dst = h_malloc_array(u.dst_cap, 4);
    if (!u.src || !u.dst) {
        st = h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory for upload staging");
        goto fail;
    }
    if ((st = upload_tensor(&u, &g->tok_embd, &m->tok_embd, 0, err))) goto fail;
    if (g->output != &g->tok_embd && (st = upload_tensor(&u, g->output, &m->output, 0, err))) goto fail;
    for (int l = 0; l < hp->n_layer; l++) {
        const model_layer *L = &m->layers[l];
        gw_layer *G = &g->layers[l];
        if (G->qkv_fused) {
            st = upload_tensor(&u, &G->qkv[0], &L->wq, 0, err);
            if (!st) st = upload_tensor(&u, &G->qkv[0], &L->wk, L->wq.rows, err);
            if (!st) st = upload_tensor(&u, &G->qkv[0], &L->wv, L->wq.rows + L->wk.rows, err);
        } else {
            st = upload_tensor(&u, &G->qkv[0], &L->wq, 0, err);
            if (!st) st = upload_tensor(&u, &G->qkv[1], &L->wk, 0, err);
            if (!st) st = upload_tensor(&u, &G->qkv[2], &L->wv, 0, err);
        }
        if (!st) st = upload_tensor(&u, &G->wo, &L->wo, 0, err);
        if (!st) st = upload_tensor(&u, &G->gu[0], &L->w_gate, 0, err);
        if (!st) st = upload_tensor(&u, G->gu_fused ? &G->gu[0] : &G->gu[1], &L->w_up, G->gu_fused ? L->w_gate.rows : 0, err);
        if (!st) st = upload_tensor(&u, &G->down, &L->w_down, 0, err);
        if (st) goto fail;
    }
    if ((st = gpu_finish(g->d, err))) goto fail;
    h_free(u.src);
    h_free(u.dst);
    m->gpu = g;
    return HEARTH_OK;
fail:
    h_free(u.src);
    h_free(u.dst);
    gw_model_free_state(g);
    return st;
}

void webgpu_model_free(hearth_model *m);
void webgpu_model_free(hearth_model *m) {
    gw_model_free_state(m->gpu);
    m->gpu = NULL;
}

gpu_device *webgpu_model_device(hearth_model *m) { return m && m->gpu ? ((gw_model *)m->gpu)->d : NULL; }

uint64_t webgpu_dispatch_count(hearth_model *m) {
    return m && m->gpu ? gpu_dispatch_count(((gw_model *)m->gpu)->d) : 0;
}
