/* gpu_forward.c — WebGPU backend, session side: KV cache and scratch buffers, the bind groups
 * of every dispatch (created once per session; nothing is created per token), the forward pass
 * (decode: fused norm+matvec, RoPE/KV store, split-K attention; prefill: tiled matmuls and
 * flash attention), logits readback for eval, and the GPU-resident decode loop. */
#include "gpu/gpu_model.h"

#include "gpu/gpu_pack.h"
#include "quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define ATT_CHUNK 128   /* positions per attention-decode workgroup */
#define TOK_RING 8      /* sampled-token slots (and readback buffers) of the decode loop */
#define AHEAD 3         /* decode steps in flight ahead of the token callback */
#define ARGMAX_CHUNK 4096
#define MAX_BIAS 4096   /* logit-bias entries the GPU sampler takes */

/* A matrix product over the pieces of one tensor (decode matvec or prefill matmul). */
typedef struct gs_prod {
    gw_tensor *t;
    gpu_kernel *k;
    gpu_bindings *bg[GW_MAX_PIECES];
    int int_path;
    uint32_t tu, rpt, epi, bm, bn, wg;
    uint64_t y_off;  /* output offset (floats) of row 0 */
    uint32_t b_base; /* bias index of row 0 */
    int bias;
} gs_prod;

typedef struct gs_layer {
    gpu_buffer *kc, *vc;
    gs_prod mv_qkv[3], mv_wo, mv_gu[2], mv_down;   /* decode */
    gs_prod mm_qkv[3], mm_wo, mm_gu[2], mm_down;   /* prefill */
    gpu_bindings *rope, *att_dec, *att_dec_l, *att_pre;
    gpu_bindings *rms_attn, *rms_ffn;
} gs_layer;

typedef struct gs_state {
    gw_model *g;
    gpu_device *d;
    int n_ctx, n_batch, kv_f16, log_rows;
    gpu_buffer *x, *xn, *qkv, *qr, *att, *gu, *h, *logits, *part, *argp, *tok, *hist, *ids, *cs;
    gpu_buffer *xq, *xqd;      /* int8 activations of the prefill matmul_q (quant_x) */
    gpu_buffer *qs_x, *qs_h;   /* decode q-streams (matvec_q.wgsl): the residual stream, the FFN input */
    gpu_buffer *rw_dummy;      /* bound where a kernel's optional read_write output is unused */
    gpu_kernel *k_qx[3];       /* quant_x of xn (n_embd), att (q dim), h (n_ff) */
    gpu_bindings *qx_bg[3];
    uint32_t qx_n[3];
    gpu_buffer *rb_logits, *rb_tok[TOK_RING];
    gpu_buffer *bias;  /* logit bias pairs (id, value bits) of the decode loop's sampler */
    gs_layer *layers;
    gs_prod mv_out, mv_out_q, mm_out; /* mv_out_q: decode, x from the last layer's q-stream */
    int has_out_q;
    gpu_bindings *emb_ids[GW_MAX_PIECES], *emb_tok[GW_MAX_PIECES];
    gpu_bindings *att_red, *rms_out, *swiglu, *argmax_part, *argmax_fin, *penalize, *sample;
    gpu_kernel *k_emb, *k_rope, *k_att_dec, *k_att_red, *k_att_pre, *k_rms, *k_swiglu, *k_am_part, *k_am_fin;
    gpu_kernel *k_pen, *k_sample;
    gpu_kernel *k_att_dec_l; /* attn_decode in one chunk of att_long positions (contexts of ATT_CHUNK to att_long) */
    uint32_t att_long;       /* 0: chunks of ATT_CHUNK throughout */
    int log_valid;   /* the logits buffer holds the logits after the session's last token */
    uint32_t att_hpw;/* query heads per attn_decode workgroup */
    int att_qs;      /* decode attention also writes its output as a q-stream, at att_qs_off of att */
    uint64_t att_qs_off;
    uint32_t log_off;/* float offset of those logits in the logits buffer */
    float eps, att_scale;
} gs_state;

static uint32_t pow2_floor(uint32_t v) {
    uint32_t p = 1;
    while (p * 2 <= v) p *= 2;
    return p;
}

/* ---- product setup ------------------------------------------------------------------------- */

/* Workgroup memory of matvec_q for rows of n, wg threads, nv values reduced per thread and
 * outs outputs staged (xs, xd, red, yv + tv). */
static uint64_t mvq_smem(uint64_t n, uint64_t wg, uint64_t nv, uint64_t outs) {
    return n + n / 4 + wg * nv * 4 + outs * 2 * 4;
}

/* Whether the decode matvec over t takes the integer path (matvec_q): an upper bound of its
 * workgroup memory for up to 512 threads fits. */
static int mv_int_path(gs_state *S, const gw_tensor *t) {
    const gw_model *g = S->g;
    uint32_t n = (uint32_t)t->n;
    uint64_t wg_max = g->wg_override ? (uint64_t)g->wg_override : 512;
    return gpu_pack_has_int(t->type) && !g->force_f32 && n % 32 == 0 &&
           mvq_smem(n, wg_max, 5, 2 * wg_max) <= gpu_device_info(S->d)->max_workgroup_storage;
}

/* Shape of a decode matvec (swept on an H100, docs/GPU.md): 16 threads per row set, 2 rows per
 * set, 256 threads (32 rows per workgroup) for the integer path; the f32 path uses more threads
 * per row (its unit is 4 elements). HEARTH_GPU_TU / _RPT / _WG override. */
static void mv_shape(gs_state *S, const gw_tensor *t, uint32_t epi, int int_path, uint32_t *tu_out, uint32_t *rpt_out,
                     uint32_t *wg_out) {
    const gw_model *g = S->g;
    const gpu_info *in = gpu_device_info(S->d);
    uint32_t n = (uint32_t)t->n, units = int_path ? n / 32 : n / 4;
    uint32_t rpt = epi == 2 ? 2 : g->rpt_override ? (uint32_t)g->rpt_override : 2;
    uint32_t tu = int_path ? 16 : 64;
    tu = H_MIN(tu, H_MAX(pow2_floor(H_MAX(units, 1u)), 4u));
    if (g->tu_override) tu = (uint32_t)g->tu_override;
    if (t->shape[0]) { /* per-product override (comparisons; docs/GPU.md) */
        *tu_out = t->shape[0], *rpt_out = epi == 2 ? 2 : t->shape[1], *wg_out = t->shape[2];
        return;
    }
    /* 512 threads (64 rows) per workgroup for rows of >= 4096: +10% on 7B, +4% on 8B decode;
     * 256 elsewhere (512 costs 2% on 0.5B) */
    uint32_t wg = g->wg_override ? (uint32_t)g->wg_override : int_path && n >= 4096 ? 512 : 256;
    wg = H_MIN(wg, in->max_invocations);
    /* Row length >= 4096 and at most 16384 rows (7B/8B Q/K/V, attention output, FFN down), where
     * the adapter allows 1024 invocations: 1024 threads, 32 lanes per row, one row per set:
     * still 32 rows per workgroup (whole q-stream units), twice the threads per SM of FFN down's
     * 128 workgroups of 512, half the units per lane. On the H100 (docs/BENCHMARKS.md) FFN down
     * went from 24 to 20 us per layer on 8B, decode 353 -> 369 tok/s. Gate/up (SwiGLU row pairs)
     * measured the same either way, the output product (128256 rows) 35% slower: they keep the
     * shape above. HEARTH_GPU_BIG=0: not. */
    if (int_path && n >= 4096 && t->rows <= 16384 && epi != 2 && g->big && in->max_invocations >= 1024 &&
        !g->wg_override && !g->tu_override && !g->rpt_override && mvq_smem(n, 1024, 2, 32) <= in->max_workgroup_storage)
        wg = 1024, tu = 32, rpt = 1;
    if (wg < tu) wg = tu;
    /* Enough workgroups to keep the device busy: matrices with few rows (7B's attention output
     * and FFN down: 4096 rows = 64 workgroups of 64 rows) take 1 row per set, then more lanes
     * per row, until there are HEARTH_GPU_MINWG (128) workgroups (swept on an H100, docs/GPU.md). */
    if (!g->tu_override && !g->rpt_override) {
        uint32_t lanes_max = 1;
        while (lanes_max < units && lanes_max < wg) lanes_max *= 2;
        for (;;) {
            uint64_t n_sets = epi == 2 ? (uint64_t)t->rows / 2 : ((uint64_t)t->rows + rpt - 1) / rpt;
            uint64_t n_wg = (n_sets + wg / tu - 1) / (wg / tu);
            if (n_wg >= (uint64_t)g->minwg) break;
            if (epi != 2 && rpt > 1) rpt = 1;
            else if (tu < lanes_max) tu *= 2;
            else break;
        }
    }
    *tu_out = tu, *rpt_out = rpt, *wg_out = wg;
}

/* Whether the decode matvec over t should read its x from a q-stream: the integer path with
 * 32-element weight blocks. K-quant consumers (256-element blocks) stay with the prologue: on the
 * H100, q-streams took Llama-3.1-8B Q4_K_M from 268 to 252 tok/s while Q4_0 gained 321 -> 349. */
static int mv_takes_qs(gs_state *S, const gw_tensor *t) {
    return mv_int_path(S, t) && quant_info_of(t->type)->block == 32;
}

/* Whether the decode matvec over t (epilogue epi) can write its output as a q-stream: the integer
 * path, whole 32-output units in every piece. */
static int mv_can_produce(gs_state *S, const gw_tensor *t, uint32_t epi) {
    if (!S->g->xq || !mv_int_path(S, t)) return 0;
    /* where the matvec's own shape gives every workgroup whole units (forcing that shape on small
     * matrices, e.g. 0.5B's 896 rows into 28 workgroups, cost more on the H100 than the
     * consumers' prologue saved: 0.5B 909 -> 877, 1B Q4_K_M 923 -> 822 tok/s) */
    uint32_t tu, rpt, wg;
    mv_shape(S, t, epi, 1, &tu, &rpt, &wg);
    if ((wg / tu) * (epi == 2 ? 1 : rpt) % 32) return 0;
    if (epi == 2) return t->n_pieces == 1 && t->rows % 64 == 0;
    for (int i = 0; i < t->n_pieces; i++)
        if (t->p[i].row0 % 32 || t->p[i].rows % 32) return 0;
    return 1;
}

/* The fields every product (matvec or matmul) sets the same way. */
static void prod_init(gs_prod *pr, gw_tensor *t, uint32_t epi, uint64_t y_off, const gw_vec *bias, uint32_t b_base) {
    memset(pr, 0, sizeof *pr);
    pr->t = t;
    pr->epi = epi;
    pr->y_off = y_off;
    pr->bias = bias && bias->present;
    pr->b_base = b_base;
}

/* Decode matvec over t: x from `x` (norm weights `norm` fused if present) or, with xq_in, from
 * the q-stream at that binding; y into `y` at y_off, and with yq_out also as a q-stream (times qnorm if
 * present). */
static int setup_mv(gs_state *S, gs_prod *pr, gw_tensor *t, gpu_buffer *x, const gpu_bind *xq_in, const gw_vec *norm,
                    const gw_vec *bias, uint32_t b_base, gpu_buffer *y, uint64_t y_off, uint32_t epi,
                    gpu_buffer *yq_out, const gw_vec *qnorm, hearth_error *err) {
    gw_model *g = S->g;
    const gpu_info *in = gpu_device_info(S->d);
    prod_init(pr, t, epi, y_off, bias, b_base);
    uint32_t n = (uint32_t)t->n;
    pr->int_path = mv_int_path(S, t);
    if ((xq_in || yq_out) && (!pr->int_path || (yq_out && (y_off % 32 || !mv_can_produce(S, t, epi))) ||
                              (!xq_in && norm && qnorm)))
        return h_err(err, HEARTH_ERR_INTERNAL, "webgpu: q-stream matvec on an unsuitable product");
    mv_shape(S, t, epi, pr->int_path, &pr->tu, &pr->rpt, &pr->wg);
    uint32_t tu = pr->tu, wg = pr->wg;
    /* lanes reduced by subgroup shuffles where the adapter's subgroups hold a whole row set */
    int sg = pr->int_path && g->sg && in->has_subgroups && in->subgroup_min >= tu;
    /* ... and x quantized by groups of 8 lanes (all threads busy instead of one per 32 values)
     * when that takes at most HEARTH_GPU_QIT passes over x. Off by default: on the H100 (QIT 2)
     * 7B decode gained 3% (its gate/up product 11% faster) while 8B lost 3% (its gate/up 10%
     * slower); docs/GPU.md. */
    int qsg = sg && in->subgroup_min >= 8 && (n / 4 + wg - 1) / wg <= (uint32_t)H_MAX(g->qit, 0);
    char mods[48];
    snprintf(mods, sizeof mods, "%s%s", pr->int_path ? (sg ? "sg_on,qs_unit," : "sg_off,qs_unit,") : "", gpu_pack_module(t->type));
    gpu_const c[] = {{"N", n},          {"TU", pr->tu},    {"RPT", pr->rpt},
                     {"NORM", norm != NULL}, {"BIAS", pr->bias}, {"EPI", epi},
                     {"WG", pr->wg},    {"XQIN", xq_in != NULL}, {"QOUT", yq_out != NULL},
                     {"QNORM", qnorm != NULL}, {"UNR", t->shape[3] ? t->shape[3] : (uint32_t)H_MAX(g->unr, 1)},
                     {"SGMIN", sg ? in->subgroup_min : 1}, {"QSG", qsg}, {"QPAR", g->qpar != 0}};
    int st = gw_kernel(g, mods, pr->int_path ? "matvec_q" : "matvec_f", c, pr->int_path ? 14 : 7, &pr->k, err);
    if (st) return st;
    const gw_vec *gv = qnorm ? qnorm : norm;
    for (int i = 0; i < t->n_pieces; i++) {
        gw_piece *p = &t->p[i];
        gpu_bind b[8] = {{p->buf, p->off, p->bytes}, {p->buf, p->off, p->bytes}, {x, 0, 0},
                         {gv ? g->small : g->dummy, gv ? gv->off : 0, gv ? gv->bytes : 0},
                         {pr->bias ? g->small : g->dummy, pr->bias ? bias->off : 0, pr->bias ? bias->bytes : 0},
                         {y, 0, 0}, xq_in ? *xq_in : (gpu_bind){g->dummy, 0, 0}, {yq_out ? yq_out : S->rw_dummy, 0, 0}};
        if ((st = gpu_bindings_create(S->d, pr->k, b, pr->int_path ? 8 : 6, &pr->bg[i], err))) return st;
    }
    return HEARTH_OK;
}

static void free_prod(gs_prod *pr) {
    for (int i = 0; i < GW_MAX_PIECES; i++) gpu_bindings_free(pr->bg[i]);
}

/* Records the matvec; x_off in floats (token row). */
static void run_mv(gs_state *S, gs_prod *pr, uint32_t x_off) {
    gw_tensor *t = pr->t;
    for (int i = 0; i < t->n_pieces; i++) {
        gw_piece *p = &t->p[i];
        uint32_t n_sets, set_a, set_b;
        if (pr->epi == 2) {
            n_sets = (uint32_t)(t->rows / 2), set_a = 1, set_b = (uint32_t)(t->rows / 2);
        } else {
            n_sets = (uint32_t)((p->rows + pr->rpt - 1) / pr->rpt), set_a = pr->rpt, set_b = 1;
        }
        uint32_t per_wg = pr->wg / pr->tu, n_wg = (n_sets + per_wg - 1) / per_wg;
        uint32_t gx = n_wg, gy = 1;
        if (gx > 65535) gy = (gx + 65534) / 65535, gx = (n_wg + gy - 1) / gy;
        uint32_t prm[12] = {0, t->words, n_sets, set_a, set_b, (uint32_t)p->rows,
                            (uint32_t)(pr->y_off + (uint64_t)p->row0), x_off, 0, gx, pr->b_base + (uint32_t)p->row0, 0};
        memcpy(&prm[8], &S->eps, 4);
        gpu_dispatch(S->d, pr->k, pr->bg[i], prm, sizeof prm, gx, gy, 1);
    }
}

/* Prefill matmul over t: x rows of ldx floats from `x`, y rows of ldy floats into `y`. Quantized
 * types take the integer path (matmul_q over the int8 activations that quant_x writes into
 * S->xq / S->xqd; `x` is then only the source quant_x reads), float types matmul_f. */
static int setup_mm(gs_state *S, gs_prod *pr, gw_tensor *t, gpu_buffer *x, const gw_vec *bias, uint32_t b_base,
                    gpu_buffer *y, uint64_t y_off, uint32_t epi, hearth_error *err) {
    gw_model *g = S->g;
    const gpu_info *in = gpu_device_info(S->d);
    prod_init(pr, t, epi, y_off, bias, b_base);
    int st;
    if (gpu_pack_has_int(t->type) && !g->force_f32 && g->mmq && t->n % 32 == 0 && in->max_invocations >= 256) {
        /* Shapes (H100 sweep, docs/GPU.md): 64 tokens x 128 rows per workgroup for large
         * matrices, 64 x 64 for small ones (more workgroups); 2 units (64 k) per stage.
         * HEARTH_GPU_MMQ_TM / _TN / _KU override. */
        uint32_t tm = g->mmq_tm ? (uint32_t)g->mmq_tm : 4;
        uint32_t tn = g->mmq_tn ? (uint32_t)g->mmq_tn : t->rows >= 2048 && t->n >= 2048 ? 8 : 4;
        uint32_t ku = g->mmq_ku ? (uint32_t)g->mmq_ku : 2;
        tm = H_MAX(1u, H_MIN(tm, 8u)), tn = H_MAX(1u, H_MIN(tn, 8u)), ku = H_MAX(1u, H_MIN(ku, 8u));
        /* workgroup memory: per unit, 16 TN weight units (48 bytes) and 16 TM activations (40) */
#define MMQ_SMEM ((uint64_t)ku * 16 * (tn * 48 + tm * 40))
        while (ku > 1 && MMQ_SMEM > in->max_workgroup_storage) ku /= 2;
        while (tn > 1 && MMQ_SMEM > in->max_workgroup_storage) tn /= 2;
        while (tm > 1 && MMQ_SMEM > in->max_workgroup_storage) tm /= 2;
#undef MMQ_SMEM
        pr->int_path = 1;
        pr->bm = 16 * tm;
        pr->bn = 16 * tn;
        gpu_const c[] = {{"N", (double)t->n}, {"TM", tm}, {"TN", tn}, {"KU", ku}, {"BIAS", pr->bias}, {"EPI", epi}};
        if ((st = gw_kernel(g, gpu_pack_module(t->type), "matmul_q", c, 6, &pr->k, err))) return st;
        for (int i = 0; i < t->n_pieces; i++) {
            gw_piece *p = &t->p[i];
            gpu_bind b[6] = {{p->buf, p->off, p->bytes}, {p->buf, p->off, p->bytes}, {S->xq, 0, 0}, {S->xqd, 0, 0},
                             {pr->bias ? g->small : g->dummy, pr->bias ? bias->off : 0, pr->bias ? bias->bytes : 0},
                             {y, 0, 0}};
            if ((st = gpu_bindings_create(S->d, pr->k, b, 6, &pr->bg[i], err))) return st;
        }
        return HEARTH_OK;
    }
    /* 8x8 outputs per thread pays for large rows (7B: +5%), hurts small models (0.5B: -35%) */
    uint32_t tm = g->tm_override ? (uint32_t)g->tm_override : t->n >= 2048 && t->rows >= 2048 ? 8 : 4;
    if (tm != 4 && tm != 8) tm = 4;
    if (tm == 8 && (in->max_workgroup_storage < 2 * 32 * 128 * 4 || in->max_invocations < 256)) tm = 4;
    pr->bm = pr->bn = 16 * tm;
    gpu_const c[] = {{"N", (double)t->n}, {"TM", tm}, {"TN", tm}, {"BIAS", pr->bias}, {"EPI", epi}};
    if ((st = gw_kernel(g, gpu_pack_module(t->type), "matmul_f", c, 5, &pr->k, err))) return st;
    for (int i = 0; i < t->n_pieces; i++) {
        gw_piece *p = &t->p[i];
        gpu_bind b[5] = {{p->buf, p->off, p->bytes}, {p->buf, p->off, p->bytes}, {x, 0, 0},
                         {pr->bias ? g->small : g->dummy, pr->bias ? bias->off : 0, pr->bias ? bias->bytes : 0},
                         {y, 0, 0}};
        if ((st = gpu_bindings_create(S->d, pr->k, b, 5, &pr->bg[i], err))) return st;
    }
    return HEARTH_OK;
}

static void run_mm(gs_state *S, gs_prod *pr, uint32_t n_tok, uint32_t ldx, uint32_t x_off, uint32_t ldy) {
    gw_tensor *t = pr->t;
    for (int i = 0; i < t->n_pieces && pr->int_path; i++) {
        gw_piece *p = &t->p[i];
        uint32_t prm[8] = {0, t->words, (uint32_t)p->rows, n_tok, ldy, (uint32_t)(pr->y_off + (uint64_t)p->row0),
                           pr->b_base + (uint32_t)p->row0, 0};
        uint32_t gx = (uint32_t)((p->rows + pr->bn - 1) / pr->bn), gy = (n_tok + pr->bm - 1) / pr->bm;
        gpu_dispatch(S->d, pr->k, pr->bg[i], prm, sizeof prm, gx, gy, 1);
    }
    for (int i = 0; i < t->n_pieces && !pr->int_path; i++) {
        gw_piece *p = &t->p[i];
        uint32_t prm[12] = {0, t->words, (uint32_t)p->rows, n_tok, ldx, x_off, ldy,
                            (uint32_t)(pr->y_off + (uint64_t)p->row0), pr->b_base + (uint32_t)p->row0, 0, 0, 0};
        uint32_t gx = (uint32_t)((p->rows + pr->bn - 1) / pr->bn), gy = (n_tok + pr->bm - 1) / pr->bm;
        gpu_dispatch(S->d, pr->k, pr->bg[i], prm, sizeof prm, gx, gy, 1);
    }
}

/* ---- session ------------------------------------------------------------------------------- */

/* Quantizes the n_tok rows of prefill input `src` (0 xn, 1 att, 2 h) for matmul_q when `use`. */
static void quant_in(gs_state *S, int src, uint32_t n_tok, int use) {
    if (!use) return;
    uint32_t prm[4] = {n_tok, S->qx_n[src], 0, 0};
    gpu_dispatch(S->d, S->k_qx[src], S->qx_bg[src], prm, sizeof prm, (S->qx_n[src] / 32 + 63) / 64, n_tok, 1);
}

int gw_attn_prefill_tiles(uint32_t hd, uint32_t max_smem, gpu_const c[3]) {
    if (hd == 0 || hd % 8 || hd > 256) return -1;
    uint32_t dc = hd % 32 == 0 ? 32 : hd % 16 == 0 ? 16 : 8;
    for (uint32_t bk = 64; bk >= 16; bk /= 2) {
        uint64_t kv_len = H_MAX((uint64_t)bk * hd / 4, ((uint64_t)dc * 68 + (uint64_t)dc * (bk + 4) + 3) / 4);
        if (kv_len * 16 + (uint64_t)bk * 16 * 16 + 2 * 64 * 4 <= max_smem) {
            c[0] = (gpu_const){"BK", bk};
            c[1] = (gpu_const){"DC", dc};
            c[2] = (gpu_const){"KV_LEN", (double)kv_len};
            return 0;
        }
    }
    return -1;
}

static int buf(gs_state *S, gpu_buffer **b, uint64_t size, const char *label, hearth_error *err) {
    return gpu_buffer_create(S->d, b, H_MAX(size, 16), GPU_STORAGE, label, err);
}

void webgpu_session_free(hearth_session *s);

int webgpu_session_init(hearth_session *s, hearth_error *err);
int webgpu_session_init(hearth_session *s, hearth_error *err) {
    hearth_model *m = s->m;
    gw_model *g = m->gpu;
    const model_hparams *hp = &m->hp;
    gs_state *S = h_calloc(1, sizeof *S);
    if (!S) return h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
    s->state = S;
    S->g = g;
    S->d = g->d;
    S->n_ctx = s->n_ctx;
    S->n_batch = s->n_batch;
    S->kv_f16 = s->p.kv_type == HEARTH_KV_F16;
    S->eps = hp->rms_eps;
    S->att_scale = (float)(1.0 / sqrt((double)hp->head_dim));
    S->log_rows = s->p.all_logits ? s->n_batch : 1;
    const gpu_info *in = gpu_device_info(S->d);
    int st;
    uint64_t B = (uint64_t)S->n_batch, E = (uint64_t)hp->n_embd, F = (uint64_t)hp->n_ff, V = (uint64_t)hp->n_vocab;
    uint64_t hd = (uint64_t)hp->head_dim, qd = (uint64_t)hp->n_head * hd, kvd = (uint64_t)hp->n_head_kv * hd;
    uint64_t kv_bytes = kvd * (uint64_t)S->n_ctx * (S->kv_f16 ? 2 : 4);
    uint64_t max_chunks = ((uint64_t)S->n_ctx + ATT_CHUNK - 1) / ATT_CHUNK;
    S->layers = h_calloc((size_t)hp->n_layer, sizeof *S->layers);
    if (!S->layers) {
        st = h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
        goto fail;
    }
    /* The attention output's q-stream (for the attention-output product) follows the batch's
     * attention rows in the same buffer: attn_decode has no binding to spare. */
    S->att_qs = g->xq == 1 && hd % 32 == 0; /* HEARTH_GPU_XQ=2: all but this one (comparisons) */
    for (int l = 0; l < hp->n_layer; l++) S->att_qs &= mv_takes_qs(S, &g->layers[l].wo);
    uint64_t align = H_MAX(in->min_storage_offset_align, 16u);
    S->att_qs_off = (B * qd * 4 + align - 1) / align * align;
    if (kv_bytes > in->max_storage_binding || B * V * 4 * (uint64_t)(S->log_rows > 1) > in->max_storage_binding ||
        B * 2 * F * 4 > in->max_storage_binding) {
        st = h_err(err, HEARTH_ERR_RANGE, "webgpu: context %d / batch %d: a KV cache layer (%.1f MiB) or scratch "
                   "buffer exceeds the storage binding limit (%.1f MiB); use a smaller context or batch",
                   S->n_ctx, S->n_batch, kv_bytes / 1048576.0, in->max_storage_binding / 1048576.0);
        goto fail;
    }
    if ((st = buf(S, &S->x, B * E * 4, "x", err)) || (st = buf(S, &S->xn, B * E * 4, "xn", err)) ||
        (st = buf(S, &S->qkv, B * (qd + 2 * kvd) * 4, "qkv", err)) || (st = buf(S, &S->qr, B * qd * 4, "q", err)) ||
        (st = buf(S, &S->att, S->att_qs_off + qd / 32 * 48, "att", err)) || (st = buf(S, &S->gu, B * 2 * F * 4, "gu", err)) ||
        (st = buf(S, &S->h, B * F * 4, "h", err)) ||
        (st = buf(S, &S->logits, (uint64_t)S->log_rows * V * 4, "logits", err)) ||
        (st = buf(S, &S->part, (uint64_t)hp->n_head * max_chunks * (hd + 2) * 4, "att partials", err)) ||
        (st = buf(S, &S->argp, (V + ARGMAX_CHUNK - 1) / ARGMAX_CHUNK * 8, "argmax partials", err)) ||
        (st = buf(S, &S->tok, TOK_RING * 4, "tokens", err)) ||
        (st = buf(S, &S->hist, (uint64_t)S->n_ctx * 4, "history", err)) ||
        (st = buf(S, &S->ids, B * 4, "ids", err)) ||
        (st = buf(S, &S->cs, (uint64_t)S->n_ctx * hd / 2 * 8, "rope", err)) ||
        (st = buf(S, &S->bias, MAX_BIAS * 8, "logit bias", err)))
        goto fail;
    {
        uint64_t kmax = H_MAX(E, H_MAX(qd, F));
        if ((st = buf(S, &S->xq, (B * kmax + 15) / 16 * 16, "xq", err)) ||
            (st = buf(S, &S->xqd, B * (kmax / 32 + 1) * 8, "xq scales", err)) ||
            (st = buf(S, &S->qs_x, E / 32 * 48, "x q-stream", err)) || (st = buf(S, &S->qs_h, F / 32 * 48, "h q-stream", err)) ||
            (st = buf(S, &S->rw_dummy, 256, "rw dummy", err)))
            goto fail;
    }
    if ((st = gpu_buffer_create(S->d, &S->rb_logits, (uint64_t)S->log_rows * V * 4, GPU_READBACK, "logits rb", err)))
        goto fail;
    for (int i = 0; i < TOK_RING; i++)
        if ((st = gpu_buffer_create(S->d, &S->rb_tok[i], 256, GPU_READBACK, "token rb", err))) goto fail;

    /* RoPE table: angle = pos * inv_freq[i] in double, as the CPU backend computes it. */
    {
        int half = hp->head_dim / 2;
        float *inv = h_malloc_array((size_t)half, sizeof(float));
        size_t rows_per = 4096;
        float *tab = h_malloc_array(rows_per * (size_t)half * 2, sizeof(float));
        if (!inv || !tab) {
            h_free(inv);
            h_free(tab);
            st = h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
            goto fail;
        }
        model_rope_freqs(hp, inv);
        for (int p0 = 0; p0 < S->n_ctx && !st; p0 += (int)rows_per) {
            int np = (int)H_MIN((int)rows_per, S->n_ctx - p0);
            for (int p = 0; p < np; p++)
                for (int i = 0; i < half; i++) {
                    double a = (double)(p0 + p) * (double)inv[i];
                    tab[((size_t)p * half + i) * 2] = (float)cos(a);
                    tab[((size_t)p * half + i) * 2 + 1] = (float)sin(a);
                }
            st = gpu_buffer_write(S->d, S->cs, (uint64_t)p0 * half * 8, tab, (size_t)np * half * 8, err);
        }
        h_free(inv);
        h_free(tab);
        if (st) goto fail;
    }

    /* Kernels that do not depend on weight types. */
    {
        uint32_t att_wg = ATT_CHUNK, grp = (uint32_t)(hp->n_head / hp->n_head_kv);
        if (grp > 16 || hd % 8 || hd / 4 > ATT_CHUNK) {
            st = h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: %u query heads per KV head / head dim %llu not supported",
                       grp, (unsigned long long)hd);
            goto fail;
        }
        gpu_const rope_c[] = {{"HD", (double)hd}, {"NH", hp->n_head}, {"NKV", hp->n_head_kv}, {"NEOX", hp->rope_neox},
                              {"NORM", m->layers[0].q_norm.present}, {"KV_F16", S->kv_f16}};
        /* Query heads per attention workgroup: HEARTH_GPU_HPW (1) if it divides the GQA group, else
         * the whole group. One head per workgroup gives the card G times more workgroups where KV
         * heads are few (H100, tg128: Qwen2.5-0.5B 797 -> 1114 tok/s, its attention 17 -> 9.5 us
         * per layer; Llama-3.2-1B Q4_K_M 866 -> 976; docs/BENCHMARKS.md). */
        S->att_hpw = g->hpw > 0 && grp % (uint32_t)g->hpw == 0 ? (uint32_t)g->hpw : grp;
        gpu_const dec_c[] = {{"HD", (double)hd}, {"NH", hp->n_head}, {"NKV", hp->n_head_kv}, {"NEOX", hp->rope_neox},
                             {"NORM", m->layers[0].q_norm.present}, {"KV_F16", S->kv_f16}, {"WG", att_wg},
                             {"HPW", S->att_hpw}, {"QS", S->att_qs}, {"KB", (double)g->att_kb}};
        gpu_const red_c[] = {{"HD", (double)hd}, {"WG", 128}, {"QS", S->att_qs}};
        /* Contexts of ATT_CHUNK to HEARTH_GPU_ATTL (512) positions: one chunk of up to that
         * many positions, one thread each, where the workgroup size and memory allow, so one
         * workgroup per query head holds the whole context and no attn_reduce dispatch follows
         * (H100, 8B Q4_0 at position 400: docs/BENCHMARKS.md). Workgroup memory of attn_decode
         * (floats): q HPW*HD, kv + vv + ov 3*HD, s HPW*WG, red WG, acc (WG / (HD / DPW)) * HD,
         * hstat 32. */
        S->att_long = 0;
        for (uint32_t wl = S->n_ctx > ATT_CHUNK ? (uint32_t)H_MAX(g->att_long, 0) : 0; wl > ATT_CHUNK; wl /= 2) {
            uint64_t dpw = S->kv_f16 ? 8 : 4, hpw = S->att_hpw;
            uint64_t floats = hpw * hd + 3 * hd + hpw * wl + wl + (wl / (hd / dpw)) * hd + 32;
            if (wl <= in->max_invocations && floats * 4 <= in->max_workgroup_storage && (wl & (wl - 1)) == 0) {
                S->att_long = wl;
                break;
            }
        }
        gpu_const decl_c[H_ARRAY_LEN(dec_c)];
        for (size_t i = 0; i < H_ARRAY_LEN(dec_c); i++)
            decl_c[i] = (gpu_const){dec_c[i].name, strcmp(dec_c[i].name, "WG") ? dec_c[i].value : S->att_long};
        gpu_const pre_c[7] = {{"HD", (double)hd}, {"NH", hp->n_head}, {"NKV", hp->n_head_kv}, {"KV_F16", S->kv_f16}};
        int att_tiles = gw_attn_prefill_tiles((uint32_t)hd, in->max_workgroup_storage, &pre_c[4]);
        gpu_const rms_c[] = {{"N", (double)E}};
        gpu_const am_p[] = {{"PARTIAL", 1}, {"CHUNK", ARGMAX_CHUNK}};
        gpu_const am_f[] = {{"PARTIAL", 0}, {"CHUNK", ARGMAX_CHUNK}};
        if (hd > 256 || att_tiles) {
            st = h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: head dim %llu needs more workgroup memory than the "
                       "device's %u bytes", (unsigned long long)hd, in->max_workgroup_storage);
            goto fail;
        }
        gpu_const emb_c[] = {{"N", (double)E}};
        if ((st = gw_kernel(g, gpu_pack_module(g->tok_embd.type), "get_rows", emb_c, 1, &S->k_emb, err)) ||
            (st = gw_kernel(g, NULL, "rope_store", rope_c, 6, &S->k_rope, err)) ||
            (st = gw_kernel(g, "qs_unit,qs_out", "attn_decode", dec_c, 10, &S->k_att_dec, err)) ||
            (st = gw_kernel(g, "qs_unit,qs_out", "attn_reduce", red_c, 3, &S->k_att_red, err)) ||
            (S->att_long && (st = gw_kernel(g, "qs_unit,qs_out", "attn_decode", decl_c, (int)H_ARRAY_LEN(decl_c), &S->k_att_dec_l, err))) ||
            (st = gw_kernel(g, NULL, "attn_prefill", pre_c, 7, &S->k_att_pre, err)) ||
            (st = gw_kernel(g, NULL, "rmsnorm", rms_c, 1, &S->k_rms, err)) ||
            (st = gw_kernel(g, NULL, "swiglu", NULL, 0, &S->k_swiglu, err)) ||
            (st = gw_kernel(g, NULL, "argmax", am_p, 2, &S->k_am_part, err)) ||
            (st = gw_kernel(g, NULL, "argmax", am_f, 2, &S->k_am_fin, err)) ||
            (st = gw_kernel(g, NULL, "penalize", NULL, 0, &S->k_pen, err)) ||
            (st = gw_kernel(g, NULL, "sample", NULL, 0, &S->k_sample, err)))
            goto fail;
    }

    /* quant_x for the three prefill inputs (rows that are no multiple of 32 never take matmul_q) */
    {
        gpu_buffer *srcs[3] = {S->xn, S->att, S->h};
        uint64_t ns[3] = {E, qd, F};
        for (int i = 0; i < 3; i++) {
            S->qx_n[i] = (uint32_t)ns[i];
            if (ns[i] % 32) continue;
            gpu_const qc[] = {{"N", (double)ns[i]}};
            gpu_bind qb[3] = {{srcs[i], 0, 0}, {S->xq, 0, 0}, {S->xqd, 0, 0}};
            if ((st = gw_kernel(g, NULL, "quant_x", qc, 1, &S->k_qx[i], err)) ||
                (st = gpu_bindings_create(S->d, S->k_qx[i], qb, 3, &S->qx_bg[i], err)))
                goto fail;
        }
    }

    /* Bindings. */
    for (int i = 0; i < g->tok_embd.n_pieces; i++) {
        gw_piece *p = &g->tok_embd.p[i];
        gpu_bind b1[4] = {{p->buf, p->off, p->bytes}, {p->buf, p->off, p->bytes}, {S->ids, 0, 0}, {S->x, 0, 0}};
        gpu_bind b2[4] = {{p->buf, p->off, p->bytes}, {p->buf, p->off, p->bytes}, {S->tok, 0, 0}, {S->x, 0, 0}};
        if ((st = gpu_bindings_create(S->d, S->k_emb, b1, 4, &S->emb_ids[i], err)) ||
            (st = gpu_bindings_create(S->d, S->k_emb, b2, 4, &S->emb_tok[i], err)))
            goto fail;
    }
    /* Decode q-streams (matvec_q.wgsl): the products that end a residual update (attention
     * output, FFN down) write the new residual also quantized for the next RMSNorm'd product
     * (times that norm's weight), the gate/up product writes the FFN's input quantized for down;
     * the consumers then have no per-workgroup prologue. Where a producer cannot (f32 path,
     * split gate/up, row counts), its consumers quantize x themselves. HEARTH_GPU_XQ=0: never. */
    int *prod_wo = h_calloc(3 * (size_t)hp->n_layer, sizeof(int)); /* per layer: wo, gate/up, down produce */
    if (!prod_wo) {
        st = h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
        goto fail;
    }
    int *prod_gu = prod_wo + hp->n_layer, *prod_down = prod_gu + hp->n_layer;
    for (int l = 0; l < hp->n_layer; l++) {
        gw_layer *G = &g->layers[l];
        int gu_qs = 1, next_qs = 1;
        for (int i = 0; i < (G->gu_fused ? 1 : 2); i++) gu_qs &= mv_takes_qs(S, &G->gu[i]);
        if (l + 1 < hp->n_layer) {
            gw_layer *G1 = &g->layers[l + 1];
            for (int i = 0; i < (G1->qkv_fused ? 1 : 3); i++) next_qs &= mv_takes_qs(S, &G1->qkv[i]);
        } else {
            next_qs = mv_takes_qs(S, g->output);
        }
        prod_wo[l] = gu_qs && mv_can_produce(S, &G->wo, 1);
        prod_gu[l] = G->gu_fused && mv_takes_qs(S, &G->down) && mv_can_produce(S, &G->gu[0], 2);
        prod_down[l] = next_qs && mv_can_produce(S, &G->down, 1);
    }
    st = HEARTH_OK;
    for (int l = 0; l < hp->n_layer && !st; l++) {
        gw_layer *G = &g->layers[l];
        gs_layer *L = &S->layers[l];
        char lab[32];
        snprintf(lab, sizeof lab, "k cache %d", l);
        if ((st = buf(S, &L->kc, kv_bytes, lab, err))) break;
        snprintf(lab, sizeof lab, "v cache %d", l);
        if ((st = buf(S, &L->vc, kv_bytes, lab, err))) break;
        int nq = G->qkv_fused ? 1 : 3;
        uint64_t qoff[3] = {0, qd, qd + kvd};
        gpu_bind qs_x = {S->qs_x, 0, 0}, qs_h = {S->qs_h, 0, 0}, qs_att = {S->att, S->att_qs_off, qd / 32 * 48};
        const gpu_bind *qkv_in = l > 0 && prod_down[l - 1] ? &qs_x : NULL, *gu_in = prod_wo[l] ? &qs_x : NULL;
        const gw_vec *next_norm = l + 1 < hp->n_layer ? &g->layers[l + 1].attn_norm : &g->out_norm;
        for (int i = 0; i < nq && !st; i++) {
            /* with separate q/k/v the bias binding is the whole qkv bias; rows offset by qoff */
            if ((st = setup_mv(S, &L->mv_qkv[i], &G->qkv[i], S->x, qkv_in, &G->attn_norm, &G->bqkv, (uint32_t)qoff[i],
                               S->qkv, qoff[i], 0, NULL, NULL, err)) ||
                (st = setup_mm(S, &L->mm_qkv[i], &G->qkv[i], S->xn, &G->bqkv, (uint32_t)qoff[i], S->qkv, qoff[i], 0, err)))
                break;
        }
        if (st) break;
        if ((st = setup_mv(S, &L->mv_wo, &G->wo, S->att, S->att_qs ? &qs_att : NULL, NULL, NULL, 0, S->x, 0, 1,
                           prod_wo[l] ? S->qs_x : NULL,
                           prod_wo[l] ? &G->ffn_norm : NULL, err)) ||
            (st = setup_mm(S, &L->mm_wo, &G->wo, S->att, NULL, 0, S->x, 0, 1, err)))
            break;
        if (G->gu_fused) {
            if ((st = setup_mv(S, &L->mv_gu[0], &G->gu[0], S->x, gu_in, &G->ffn_norm, NULL, 0, S->h, 0, 2,
                               prod_gu[l] ? S->qs_h : NULL, NULL, err)) ||
                (st = setup_mm(S, &L->mm_gu[0], &G->gu[0], S->xn, NULL, 0, S->gu, 0, 0, err)))
                break;
        } else {
            for (int i = 0; i < 2 && !st; i++)
                if ((st = setup_mv(S, &L->mv_gu[i], &G->gu[i], S->x, gu_in, &G->ffn_norm, NULL, 0, S->gu, i * F, 0, NULL,
                                   NULL, err)) ||
                    (st = setup_mm(S, &L->mm_gu[i], &G->gu[i], S->xn, NULL, 0, S->gu, i * F, 0, err)))
                    break;
            if (st) break;
        }
        if ((st = setup_mv(S, &L->mv_down, &G->down, S->h, prod_gu[l] ? &qs_h : NULL, NULL, NULL, 0, S->x, 0, 1,
                           prod_down[l] ? S->qs_x : NULL, prod_down[l] ? next_norm : NULL, err)) ||
            (st = setup_mm(S, &L->mm_down, &G->down, S->h, NULL, 0, S->x, 0, 1, err)))
            break;
        gpu_bind rb[7] = {{S->qkv, 0, 0},
                          {G->q_norm.present ? g->small : g->dummy, G->q_norm.off, G->q_norm.present ? G->q_norm.bytes : 0},
                          {G->k_norm.present ? g->small : g->dummy, G->k_norm.off, G->k_norm.present ? G->k_norm.bytes : 0},
                          {S->cs, 0, 0}, {S->qr, 0, 0}, {L->kc, 0, 0}, {L->vc, 0, 0}};
        gpu_bind db[8] = {rb[0], rb[1], rb[2], {S->cs, 0, 0}, {L->kc, 0, 0}, {L->vc, 0, 0}, {S->att, 0, 0}, {S->part, 0, 0}};
        gpu_bind pb[4] = {{S->qr, 0, 0}, {L->kc, 0, 0}, {L->vc, 0, 0}, {S->att, 0, 0}};
        gpu_bind nb1[3] = {{S->x, 0, 0}, {g->small, G->attn_norm.off, G->attn_norm.bytes}, {S->xn, 0, 0}};
        gpu_bind nb2[3] = {{S->x, 0, 0}, {g->small, G->ffn_norm.off, G->ffn_norm.bytes}, {S->xn, 0, 0}};
        if ((st = gpu_bindings_create(S->d, S->k_rope, rb, 7, &L->rope, err)) ||
            (st = gpu_bindings_create(S->d, S->k_att_dec, db, 8, &L->att_dec, err)) ||
            (S->att_long && (st = gpu_bindings_create(S->d, S->k_att_dec_l, db, 8, &L->att_dec_l, err))) ||
            (st = gpu_bindings_create(S->d, S->k_att_pre, pb, 4, &L->att_pre, err)) ||
            (st = gpu_bindings_create(S->d, S->k_rms, nb1, 3, &L->rms_attn, err)) ||
            (st = gpu_bindings_create(S->d, S->k_rms, nb2, 3, &L->rms_ffn, err)))
            break;
    }
    S->has_out_q = hp->n_layer > 0 && prod_down[hp->n_layer - 1];
    h_free(prod_wo);
    if (st) goto fail;
    {
        gpu_bind rb[2] = {{S->part, 0, 0}, {S->att, 0, 0}};
        gpu_bind nb[3] = {{S->x, 0, 0}, {g->small, g->out_norm.off, g->out_norm.bytes}, {S->xn, 0, 0}};
        gpu_bind sb[2] = {{S->gu, 0, 0}, {S->h, 0, 0}};
        gpu_bind ap[4] = {{S->logits, 0, 0}, {S->argp, 0, 0}, {S->tok, 0, 0}, {S->hist, 0, 0}};
        if ((st = gpu_bindings_create(S->d, S->k_att_red, rb, 2, &S->att_red, err)) ||
            (st = gpu_bindings_create(S->d, S->k_rms, nb, 3, &S->rms_out, err)) ||
            (st = gpu_bindings_create(S->d, S->k_swiglu, sb, 2, &S->swiglu, err)) ||
            (st = gpu_bindings_create(S->d, S->k_am_part, ap, 4, &S->argmax_part, err)) ||
            (st = gpu_bindings_create(S->d, S->k_am_fin, ap, 4, &S->argmax_fin, err)))
            goto fail;
        gpu_bind pb[3] = {{S->hist, 0, 0}, {S->bias, 0, 0}, {S->logits, 0, 0}};
        gpu_bind sb2[3] = {{S->logits, 0, 0}, {S->tok, 0, 0}, {S->hist, 0, 0}};
        if ((st = gpu_bindings_create(S->d, S->k_pen, pb, 3, &S->penalize, err)) ||
            (st = gpu_bindings_create(S->d, S->k_sample, sb2, 3, &S->sample, err)))
            goto fail;
        if ((st = setup_mv(S, &S->mv_out, g->output, S->x, NULL, &g->out_norm, NULL, 0, S->logits, 0, 0, NULL, NULL, err)) ||
            (S->has_out_q && (st = setup_mv(S, &S->mv_out_q, g->output, S->x, &(gpu_bind){S->qs_x, 0, 0}, &g->out_norm, NULL, 0, S->logits, 0,
                                            0, NULL, NULL, err))) ||
            (st = setup_mm(S, &S->mm_out, g->output, S->xn, NULL, 0, S->logits, 0, 0, err)))
            goto fail;
    }
    if ((st = gpu_finish(S->d, err))) goto fail;
    return HEARTH_OK;
fail:
    webgpu_session_free(s);
    return st;
}

void webgpu_session_free(hearth_session *s) {
    gs_state *S = s->state;
    if (!S) return;
    int n_layer = s->m->hp.n_layer;
    if (S->layers) {
        for (int l = 0; l < n_layer; l++) {
            gs_layer *L = &S->layers[l];
            for (int i = 0; i < 3; i++) free_prod(&L->mv_qkv[i]), free_prod(&L->mm_qkv[i]);
            free_prod(&L->mv_wo), free_prod(&L->mm_wo), free_prod(&L->mv_down), free_prod(&L->mm_down);
            for (int i = 0; i < 2; i++) free_prod(&L->mv_gu[i]), free_prod(&L->mm_gu[i]);
            gpu_bindings_free(L->rope), gpu_bindings_free(L->att_dec), gpu_bindings_free(L->att_pre);
            gpu_bindings_free(L->att_dec_l);
            gpu_bindings_free(L->rms_attn), gpu_bindings_free(L->rms_ffn);
            gpu_buffer_free(L->kc), gpu_buffer_free(L->vc);
        }
        h_free(S->layers);
    }
    free_prod(&S->mv_out), free_prod(&S->mv_out_q), free_prod(&S->mm_out);
    for (int i = 0; i < GW_MAX_PIECES; i++) gpu_bindings_free(S->emb_ids[i]), gpu_bindings_free(S->emb_tok[i]);
    gpu_bindings_free(S->att_red), gpu_bindings_free(S->rms_out), gpu_bindings_free(S->swiglu);
    gpu_bindings_free(S->argmax_part), gpu_bindings_free(S->argmax_fin);
    gpu_bindings_free(S->penalize), gpu_bindings_free(S->sample);
    for (int i = 0; i < 3; i++) gpu_bindings_free(S->qx_bg[i]);
    gpu_buffer *bs[] = {S->xq, S->xqd, S->qs_x, S->qs_h, S->rw_dummy, S->x, S->xn, S->qkv, S->qr, S->att, S->gu, S->h, S->logits, S->part, S->argp,
                        S->tok, S->hist, S->ids, S->cs, S->rb_logits, S->bias};
    for (size_t i = 0; i < H_ARRAY_LEN(bs); i++) gpu_buffer_free(bs[i]);
    for (int i = 0; i < TOK_RING; i++) gpu_buffer_free(S->rb_tok[i]);
    h_free(S);
    s->state = NULL;
}

/* ---- forward ------------------------------------------------------------------------------- */

/* Decode attention of the token at pos (RoPE and its KV store inside): one chunk of ATT_CHUNK
 * positions, or of att_long while the context fits one; past that, chunks of ATT_CHUNK whose
 * partial results attn_reduce combines (one 512-position chunk per head was slower than four of
 * 128 there: H100, 8B at position 512, docs/BENCHMARKS.md). */
static void record_attention(gs_state *S, gs_layer *L, const model_hparams *hp, int pos) {
    int lng = S->att_long && (uint32_t)pos >= ATT_CHUNK && (uint32_t)pos < S->att_long;
    uint32_t chunk = lng ? S->att_long : ATT_CHUNK, n_chunks = ((uint32_t)pos + chunk) / chunk;
    uint32_t prm[8] = {(uint32_t)pos, (uint32_t)S->n_ctx, n_chunks, 0, 0, (uint32_t)(S->att_qs_off / 4), 0, 0};
    memcpy(&prm[3], &S->att_scale, 4);
    memcpy(&prm[4], &S->eps, 4);
    gpu_dispatch(S->d, lng ? S->k_att_dec_l : S->k_att_dec, lng ? L->att_dec_l : L->att_dec, prm, sizeof prm, n_chunks,
                 (uint32_t)hp->n_head_kv * (uint32_t)(hp->n_head / hp->n_head_kv) / S->att_hpw, 1);
    if (n_chunks > 1) {
        uint32_t prm2[4] = {n_chunks, (uint32_t)(S->att_qs_off / 4), 0, 0};
        gpu_dispatch(S->d, S->k_att_red, S->att_red, prm2, sizeof prm2, (uint32_t)hp->n_head, 1, 1);
    }
}

/* Dispatches shared by the forward pass and the prefill profile. */
static void record_rms(gs_state *S, gpu_bindings *b, uint32_t n) {
    uint32_t prm[4] = {0, 0, 0, 0};
    memcpy(&prm[2], &S->eps, 4);
    gpu_dispatch(S->d, S->k_rms, b, prm, sizeof prm, n, 1, 1);
}

static void record_rope(gs_state *S, gs_layer *L, const model_hparams *hp, int pos, uint32_t n) {
    uint32_t prm[4] = {(uint32_t)pos, (uint32_t)S->n_ctx, 0, 0};
    memcpy(&prm[2], &S->eps, 4);
    gpu_dispatch(S->d, S->k_rope, L->rope, prm, sizeof prm, (uint32_t)(hp->n_head + 2 * hp->n_head_kv), n, 1);
}

static void record_attn_prefill(gs_state *S, gs_layer *L, const model_hparams *hp, int pos, uint32_t n) {
    uint32_t prm[4] = {(uint32_t)pos, n, (uint32_t)S->n_ctx, 0};
    memcpy(&prm[3], &S->att_scale, 4);
    gpu_dispatch(S->d, S->k_att_pre, L->att_pre, prm, sizeof prm, (n + GW_ATT_BQ - 1) / GW_ATT_BQ,
                 (uint32_t)hp->n_head, 1);
}

static void record_swiglu(gs_state *S, uint32_t n_ff, uint32_t n) {
    uint32_t prm[4] = {n_ff, 0, 0, 0};
    gpu_dispatch(S->d, S->k_swiglu, S->swiglu, prm, sizeof prm, (n_ff + 255) / 256, n, 1);
}

/* Prefill products that read the same input (0 xn, 1 att, 2 h): quant_x once if any of them
 * takes the integer path, then each matmul. */
static void record_mm_group(gs_state *S, gs_prod *pr, int count, int src, uint32_t n, uint32_t ldx, uint32_t ldy) {
    int any_int = 0;
    for (int i = 0; i < count; i++) any_int |= pr[i].int_path;
    quant_in(S, src, n, any_int);
    for (int i = 0; i < count; i++) run_mm(S, &pr[i], n, ldx, 0, ldy);
}

/* Records the forward pass of n tokens at positions pos..pos+n-1 (ids from the ids buffer, or
 * from token slot `tok_slot` of the decode loop when n == 1 and tok_slot >= 0). The logits of
 * the last token (or of all n with all_logits) end in the logits buffer. */
static void record_forward(hearth_session *s, int n, int pos, int tok_slot, int all_logits) {
    gs_state *S = s->state;
    gw_model *g = S->g;
    const model_hparams *hp = &s->m->hp;
    uint32_t E = (uint32_t)hp->n_embd, hd = (uint32_t)hp->head_dim;
    uint32_t qd = (uint32_t)hp->n_head * hd, F = (uint32_t)hp->n_ff;
    for (int i = 0; i < g->tok_embd.n_pieces; i++) {
        gw_piece *p = &g->tok_embd.p[i];
        uint32_t prm[8] = {0, g->tok_embd.words, (uint32_t)p->row0, (uint32_t)p->rows,
                           tok_slot >= 0 ? (uint32_t)tok_slot : 0, 0, 0, 0};
        gpu_dispatch(S->d, S->k_emb, tok_slot >= 0 ? S->emb_tok[i] : S->emb_ids[i], prm, sizeof prm,
                     (E / 4 + 63) / 64, (uint32_t)n, 1);
    }
    for (int l = 0; l < hp->n_layer; l++) {
        gw_layer *G = &g->layers[l];
        gs_layer *L = &S->layers[l];
        int nq = G->qkv_fused ? 1 : 3, ng = G->gu_fused ? 1 : 2;
        if (n == 1) {
            for (int i = 0; i < nq; i++) run_mv(S, &L->mv_qkv[i], 0);
            /* RoPE and the KV store of this token happen inside attn_decode */
            record_attention(S, L, hp, pos);
            run_mv(S, &L->mv_wo, 0);
            for (int i = 0; i < ng; i++) run_mv(S, &L->mv_gu[i], 0);
            if (!G->gu_fused) record_swiglu(S, F, 1);
            run_mv(S, &L->mv_down, 0);
        } else {
            uint32_t ldq = qd + 2 * (uint32_t)hp->n_head_kv * hd;
            record_rms(S, L->rms_attn, (uint32_t)n);
            record_mm_group(S, L->mm_qkv, nq, 0, (uint32_t)n, E, ldq);
            record_rope(S, L, hp, pos, (uint32_t)n);
            record_attn_prefill(S, L, hp, pos, (uint32_t)n);
            record_mm_group(S, &L->mm_wo, 1, 1, (uint32_t)n, qd, E);
            record_rms(S, L->rms_ffn, (uint32_t)n);
            record_mm_group(S, L->mm_gu, ng, 0, (uint32_t)n, E, 2 * F);
            record_swiglu(S, F, (uint32_t)n);
            record_mm_group(S, &L->mm_down, 1, 2, (uint32_t)n, F, E);
        }
    }
    if (all_logits && n > 1) {
        record_rms(S, S->rms_out, (uint32_t)n);
        record_mm_group(S, &S->mm_out, 1, 0, (uint32_t)n, E, (uint32_t)hp->n_vocab);
        S->log_off = (uint32_t)(n - 1) * (uint32_t)hp->n_vocab;
    } else {
        if (n == 1 && S->has_out_q) run_mv(S, &S->mv_out_q, 0);
        else run_mv(S, &S->mv_out, (uint32_t)(n - 1) * E);
        S->log_off = 0;
    }
}

/* ---- eval ---------------------------------------------------------------------------------- */

static int check_device(gs_state *S, hearth_error *err) {
    int st = gpu_device_check(S->d, err);
    if (st) h_err_prefix(err, "webgpu");
    return st;
}

/* Writes n ids (and the history at pos) for the forward pass. */
static int write_ids(gs_state *S, const int32_t *ids, int n, int pos, hearth_error *err) {
    int st = gpu_buffer_write(S->d, S->ids, 0, ids, (size_t)n * 4, err);
    if (!st) st = gpu_buffer_write(S->d, S->hist, (uint64_t)pos * 4, ids, (size_t)n * 4, err);
    return st;
}

static int read_logits(gs_state *S, float *out, uint64_t n_floats, hearth_error *err) {
    int st;
    gpu_copy(S->d, S->logits, 0, S->rb_logits, 0, n_floats * 4);
    if ((st = gpu_submit(S->d, err))) return st;
    if ((st = gpu_map_begin(S->d, S->rb_logits, 0, (size_t)n_floats * 4, err))) return st;
    const void *p;
    if ((st = gpu_map_poll(S->d, S->rb_logits, 1, &p, err))) return st;
    memcpy(out, p, (size_t)n_floats * 4);
    gpu_map_end(S->rb_logits);
    return HEARTH_OK;
}

int webgpu_eval(hearth_session *s, const int32_t *ids, int n, int pos, float *out, int all_logits, hearth_error *err);
int webgpu_eval(hearth_session *s, const int32_t *ids, int n, int pos, float *out, int all_logits, hearth_error *err) {
    gs_state *S = s->state;
    int st;
    if (n <= 0 || n > S->n_batch || pos < 0 || pos + n > S->n_ctx)
        return h_err(err, HEARTH_ERR_ARG, "webgpu: eval of %d tokens at %d (batch %d, context %d)", n, pos,
                     S->n_batch, S->n_ctx);
    if ((st = check_device(S, err))) return st;
    S->log_valid = 0;
    if ((st = write_ids(S, ids, n, pos, err))) return st;
    record_forward(s, n, pos, -1, all_logits);
    uint64_t V = (uint64_t)s->m->hp.n_vocab;
    if ((st = read_logits(S, out, all_logits && n > 1 ? (uint64_t)n * V : V, err))) return st;
    if (all_logits && n == 1) { /* the decode path wrote row 0 */ }
    S->log_valid = 1;
    return check_device(S, err);
}

/* ---- GPU-resident decode loop --------------------------------------------------------------- */

/* The CPU sampler's random stream (xorshift64*, src/sampler.c), one draw per sampled token. */
static float rng_coin(uint64_t *state) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    uint32_t u = (uint32_t)((*state * 0x2545F4914F6CDD1Dull) >> 32);
    return (float)(u >> 8) / 16777216.0f;
}

/* Records sampling from the current logits into token slot `slot` (and history[pos]): penalties
 * and logit bias in place, then argmax (temperature <= 0) or the sampling kernel. */
static void record_sample(gs_state *S, const hearth_session *s, int slot, int pos, const hearth_sampler_params *sp,
                          float coin) {
    uint32_t V = (uint32_t)s->m->hp.n_vocab;
    if (sp) {
        int penalize = sp->repeat_penalty != 1.0f || sp->frequency_penalty != 0 || sp->presence_penalty != 0;
        uint32_t last = 0;
        if (penalize && sp->repeat_last_n != 0 && pos > 0)
            last = sp->repeat_last_n < 0 ? (uint32_t)pos : (uint32_t)H_MIN(pos, sp->repeat_last_n);
        if (last > 0 || sp->n_logit_bias > 0) {
            uint32_t p[8] = {(uint32_t)pos, last, (uint32_t)sp->n_logit_bias, S->log_off, 0, 0, 0, V};
            float r = penalize ? sp->repeat_penalty : 1.0f;
            memcpy(&p[4], &r, 4);
            memcpy(&p[5], &sp->frequency_penalty, 4);
            memcpy(&p[6], &sp->presence_penalty, 4);
            if (!penalize) memset(&p[5], 0, 8);
            gpu_dispatch(S->d, S->k_pen, S->penalize, p, sizeof p, 1, 1, 1);
        }
        if (sp->temperature > 0) {
            uint32_t p[12] = {V, S->log_off, (uint32_t)slot, (uint32_t)pos, 0,
                              sp->top_k > 0 ? (uint32_t)sp->top_k : 0, 0, 0, 0, 0, 0, 0};
            float inv_t = 1.0f / sp->temperature;
            memcpy(&p[4], &inv_t, 4);
            memcpy(&p[6], &sp->top_p, 4);
            memcpy(&p[7], &sp->min_p, 4);
            memcpy(&p[8], &coin, 4);
            gpu_dispatch(S->d, S->k_sample, S->sample, p, sizeof p, 1, 1, 1);
            return;
        }
    }
    uint32_t n_chunks = (V + ARGMAX_CHUNK - 1) / ARGMAX_CHUNK;
    uint32_t p1[4] = {V, S->log_off, (uint32_t)slot, (uint32_t)pos};
    gpu_dispatch(S->d, S->k_am_part, S->argmax_part, p1, sizeof p1, n_chunks, 1, 1);
    uint32_t p2[4] = {n_chunks, 0, (uint32_t)slot, (uint32_t)pos};
    gpu_dispatch(S->d, S->k_am_fin, S->argmax_fin, p2, sizeof p2, 1, 1, 1);
}

int webgpu_generate(hearth_session *s, const hearth_sampler_params *sp, int max_tokens,
                    int (*on_token)(void *user, int32_t id), void *user, int *n_accepted, hearth_error *err) {
    return webgpu_generate_rng(s, sp, NULL, max_tokens, on_token, user, n_accepted, err);
}

int webgpu_generate_rng(hearth_session *s, const hearth_sampler_params *sp, uint64_t *rng_state, int max_tokens,
                        int (*on_token)(void *user, int32_t id), void *user, int *n_accepted, hearth_error *err) {
    gs_state *S = s->state;
    int st = HEARTH_OK;
    if (n_accepted) *n_accepted = 0;
    if (!S) return h_err(err, HEARTH_ERR_ARG, "webgpu: not a WebGPU session");
    if ((st = check_device(S, err))) return st;
    if (sp && (!isfinite(sp->temperature) || !(sp->repeat_penalty > 0) || !isfinite(sp->repeat_penalty) ||
               !isfinite(sp->frequency_penalty) || !isfinite(sp->presence_penalty) || sp->n_logit_bias < 0 ||
               sp->n_logit_bias > MAX_BIAS || (sp->n_logit_bias && (!sp->logit_bias_ids || !sp->logit_bias))))
        return h_err(err, HEARTH_ERR_ARG, "webgpu: invalid sampler parameters (temperature %g, repeat penalty %g, "
                     "%d logit biases; at most %d)", sp->temperature, sp->repeat_penalty, sp->n_logit_bias, MAX_BIAS);
    uint64_t rng = rng_state ? *rng_state : sp ? sp->seed : 0;
    uint64_t rng_after[TOK_RING]; /* the state after each in-flight step's draw */
    if (sp && sp->n_logit_bias > 0) {
        uint32_t *pairs = h_malloc_array((size_t)sp->n_logit_bias, 8);
        if (!pairs) return h_err(err, HEARTH_ERR_NOMEM, "webgpu: out of memory");
        for (int i = 0; i < sp->n_logit_bias; i++) {
            if (sp->logit_bias_ids[i] < 0 || sp->logit_bias_ids[i] >= s->m->hp.n_vocab || isnan(sp->logit_bias[i])) {
                h_free(pairs);
                return h_err(err, HEARTH_ERR_ARG, "webgpu: logit bias %d: token %d / value %g", i,
                             (int)sp->logit_bias_ids[i], sp->logit_bias[i]);
            }
            pairs[2 * i] = (uint32_t)sp->logit_bias_ids[i];
            memcpy(&pairs[2 * i + 1], &sp->logit_bias[i], 4);
        }
        st = gpu_buffer_write(S->d, S->bias, 0, pairs, (size_t)sp->n_logit_bias * 8, err);
        h_free(pairs);
        if (st) return st;
    }
    if (s->n_tokens <= 0) return h_err(err, HEARTH_ERR_ARG, "webgpu: generate needs an evaluated prompt");
    if ((st = check_device(S, err))) return st;
    if (!S->log_valid) { /* the logits buffer was overwritten: re-evaluate the last token */
        int32_t last = s->tokens[s->n_tokens - 1];
        if ((st = webgpu_eval(s, &last, 1, s->n_tokens - 1, s->logits, 0, err))) return st;
    }
    int base = s->n_tokens;           /* tokens in the session before generating */
    int limit = s->n_ctx - base;      /* steps that fit: step k evaluates at position base + k */
    if (max_tokens > 0 && max_tokens < limit) limit = max_tokens;
    int issued = 0, done = 0, accepted = 0, stop = 0;
    S->log_valid = 0;
    while (done < issued || (!stop && issued < limit)) {
        /* keep AHEAD steps in flight */
        while (!stop && issued < limit && issued - done < AHEAD) {
            int slot = issued % TOK_RING, pos = base + issued;
            record_sample(S, s, slot, pos, sp, sp && sp->temperature > 0 ? rng_coin(&rng) : 0.0f);
            rng_after[slot] = rng;
            gpu_copy(S->d, S->tok, (uint64_t)slot * 4, S->rb_tok[slot], 0, 4);
            /* evaluate the sampled token unless it is the last step (its logits are not needed) */
            if (issued + 1 < limit && pos < s->n_ctx) record_forward(s, 1, pos, slot, 0);
            if ((st = gpu_submit(S->d, err))) goto out;
            if ((st = gpu_map_begin(S->d, S->rb_tok[slot], 0, 4, err))) goto out;
            issued++;
        }
        int slot = done % TOK_RING;
        const void *p;
        if ((st = gpu_map_poll(S->d, S->rb_tok[slot], 1, &p, err))) goto out;
        int32_t id;
        memcpy(&id, p, 4);
        gpu_map_end(S->rb_tok[slot]);
        done++;
        if (stop) continue; /* draining speculative steps */
        if (rng_state) *rng_state = rng_after[slot]; /* this token's draw is consumed */
        if (id < 0 || id >= s->m->hp.n_vocab) {
            st = h_err(err, HEARTH_ERR_INTERNAL, "webgpu: sampled token %d out of range", (int)id);
            goto out;
        }
        if (on_token && on_token(user, id)) {
            stop = 1;
            continue;
        }
        s->tokens[base + accepted] = id;
        accepted++;
        s->n_tokens = base + accepted;
    }
out:
    /* drain anything still mapping so the readback buffers are reusable */
    while (done < issued) {
        const void *p;
        int slot = done % TOK_RING;
        if (gpu_map_poll(S->d, S->rb_tok[slot], 1, &p, NULL) == HEARTH_OK) gpu_map_end(S->rb_tok[slot]);
        done++;
    }
    if (n_accepted) *n_accepted = accepted;
    if (st) return st;
    /* make s->logits those after the last accepted token */
    if (accepted > 0) {
        int32_t last = s->tokens[s->n_tokens - 1];
        if ((st = webgpu_eval(s, &last, 1, s->n_tokens - 1, s->logits, 0, err))) return st;
    } else {
        S->log_valid = 0;
    }
    return HEARTH_OK;
}

/* ---- profiling (benchmarks) ---------------------------------------------------------------- */

static uint64_t prod_bytes(const gs_prod *pr) {
    uint64_t b = 0;
    for (int i = 0; pr->t && i < pr->t->n_pieces; i++) b += pr->t->p[i].bytes;
    return b;
}

int webgpu_profile_decode(hearth_session *s, int reps, webgpu_profile *out, hearth_error *err) {
    gs_state *S = s->state;
    const model_hparams *hp = &s->m->hp;
    gw_model *g = S->g;
    int st, pos = s->n_tokens > 0 ? s->n_tokens - 1 : 0;
    memset(out, 0, sizeof *out);
    if ((st = gpu_finish(S->d, err))) return st;
    static const char *const names[] = {"embedding", "qkv matvec (+norm)", "(rope: inside attention)", "attention (+rope, kv store)",
                                        "attn output matvec (+residual)", "ffn gate/up matvec (+norm, swiglu)",
                                        "ffn down matvec (+residual)", "output matvec (+norm)", "argmax",
                                        "whole token (forward + argmax)"};
    out->n = (int)H_ARRAY_LEN(names);
    for (int grp = 0; grp < out->n; grp++) {
        out->name[grp] = names[grp];
        uint64_t d0 = gpu_dispatch_count(S->d), bytes = 0;
        double t0 = h_time_s();
        for (int r = 0; r < reps; r++) {
            if (grp == 9) {
                record_forward(s, 1, pos, 0, 0);
                record_sample(S, s, 0, pos, NULL, 0);
                continue;
            }
            if (grp == 0 || grp == 7 || grp == 8) {
                if (grp == 0) {
                    for (int i = 0; i < g->tok_embd.n_pieces; i++) {
                        gw_piece *p = &g->tok_embd.p[i];
                        uint32_t prm[8] = {0, g->tok_embd.words, (uint32_t)p->row0, (uint32_t)p->rows, 0, 0, 0, 0};
                        gpu_dispatch(S->d, S->k_emb, S->emb_tok[i], prm, sizeof prm, ((uint32_t)hp->n_embd / 4 + 63) / 64, 1, 1);
                    }
                } else if (grp == 7) {
                    run_mv(S, S->has_out_q ? &S->mv_out_q : &S->mv_out, 0);
                    if (r == 0) bytes += prod_bytes(&S->mv_out);
                } else {
                    record_sample(S, s, 0, pos, NULL, 0);
                }
                continue;
            }
            for (int l = 0; l < hp->n_layer; l++) {
                gs_layer *L = &S->layers[l];
                gw_layer *G = &g->layers[l];
                switch (grp) {
                case 1:
                    for (int i = 0; i < (G->qkv_fused ? 1 : 3); i++) {
                        run_mv(S, &L->mv_qkv[i], 0);
                        if (r == 0) bytes += prod_bytes(&L->mv_qkv[i]);
                    }
                    break;
                case 2:
                    break; /* folded into attention */
                case 3: {
                    uint32_t n_pos = (uint32_t)pos + 1;
                    record_attention(S, L, hp, pos);
                    if (r == 0) bytes += 2ull * n_pos * (uint64_t)hp->n_head_kv * (uint64_t)hp->head_dim * (S->kv_f16 ? 2 : 4);
                    break;
                }
                case 4:
                    run_mv(S, &L->mv_wo, 0);
                    if (r == 0) bytes += prod_bytes(&L->mv_wo);
                    break;
                case 5:
                    for (int i = 0; i < (G->gu_fused ? 1 : 2); i++) {
                        run_mv(S, &L->mv_gu[i], 0);
                        if (r == 0) bytes += prod_bytes(&L->mv_gu[i]);
                    }
                    if (!G->gu_fused) record_swiglu(S, (uint32_t)hp->n_ff, 1);
                    break;
                case 6:
                    run_mv(S, &L->mv_down, 0);
                    if (r == 0) bytes += prod_bytes(&L->mv_down);
                    break;
                }
            }
        }
        uint64_t nd = gpu_dispatch_count(S->d) - d0;
        if ((st = gpu_finish(S->d, err))) return st;
        double t = h_time_s() - t0;
        out->ms[grp] = 1e3 * t / reps;
        out->dispatches[grp] = (int)(nd / (uint64_t)reps);
        out->bytes[grp] = bytes;
    }
    S->log_valid = 0;
    return HEARTH_OK;
}

int webgpu_model_init(hearth_model *m, hearth_error *err);
void webgpu_model_free(hearth_model *m);

const backend_ops backend_webgpu = {
    .name = "webgpu",
    .model_init = webgpu_model_init,
    .model_free = webgpu_model_free,
    .session_init = webgpu_session_init,
    .session_free = webgpu_session_free,
    .eval = webgpu_eval,
    .generate = webgpu_generate_rng,
};

static uint64_t prod_flops(const gs_prod *pr, uint32_t n_tok) {
    return pr->t ? 2ull * (uint64_t)pr->t->rows * (uint64_t)pr->t->n * n_tok : 0;
}

int webgpu_profile_prefill(hearth_session *s, int n_tok, int reps, webgpu_profile *out, hearth_error *err) {
    gs_state *S = s->state;
    const model_hparams *hp = &s->m->hp;
    gw_model *g = S->g;
    int st;
    memset(out, 0, sizeof *out);
    if (n_tok < 2 || n_tok > S->n_batch || n_tok > S->n_ctx)
        return h_err(err, HEARTH_ERR_ARG, "webgpu: profile of %d tokens (batch %d, context %d)", n_tok, S->n_batch,
                     S->n_ctx);
    if ((st = gpu_finish(S->d, err))) return st;
    static const char *const names[] = {"rmsnorm, rope, swiglu", "qkv matmul (+quant)", "attention (prefill)",
                                        "attn output matmul (+quant)", "ffn gate/up matmul (+quant)",
                                        "ffn down matmul (+quant)", "whole prefill (no logits)"};
    uint32_t n = (uint32_t)n_tok, E = (uint32_t)hp->n_embd, hd = (uint32_t)hp->head_dim;
    uint32_t qd = (uint32_t)hp->n_head * hd, F = (uint32_t)hp->n_ff;
    uint32_t ldq = qd + 2 * (uint32_t)hp->n_head_kv * hd;
    out->n = (int)H_ARRAY_LEN(names);
    for (int grp = 0; grp < out->n; grp++) {
        out->name[grp] = names[grp];
        uint64_t d0 = gpu_dispatch_count(S->d), flops = 0;
        double t0 = h_time_s();
        for (int r = 0; r < reps; r++) {
            if (grp == 6) {
                record_forward(s, n_tok, 0, -1, 0);
                continue;
            }
            for (int l = 0; l < hp->n_layer; l++) {
                gs_layer *L = &S->layers[l];
                gw_layer *G = &g->layers[l];
                int nq = G->qkv_fused ? 1 : 3, ng = G->gu_fused ? 1 : 2;
                if (grp == 0) {
                    record_rms(S, L->rms_attn, n);
                    record_rope(S, L, hp, 0, n);
                    record_rms(S, L->rms_ffn, n);
                    record_swiglu(S, F, n);
                } else if (grp == 1) {
                    record_mm_group(S, L->mm_qkv, nq, 0, n, E, ldq);
                    for (int i = 0; i < nq && r == 0; i++) flops += prod_flops(&L->mm_qkv[i], n);
                } else if (grp == 2) {
                    record_attn_prefill(S, L, hp, 0, n);
                    /* causal: scores and values, n^2/2 positions per head */
                    if (r == 0) flops += 2ull * 2 * (uint64_t)n * (n + 1) / 2 * hd * (uint64_t)hp->n_head;
                } else if (grp == 3) {
                    record_mm_group(S, &L->mm_wo, 1, 1, n, qd, E);
                    if (r == 0) flops += prod_flops(&L->mm_wo, n);
                } else if (grp == 4) {
                    record_mm_group(S, L->mm_gu, ng, 0, n, E, 2 * F);
                    for (int i = 0; i < ng && r == 0; i++) flops += prod_flops(&L->mm_gu[i], n);
                } else {
                    record_mm_group(S, &L->mm_down, 1, 2, n, F, E);
                    if (r == 0) flops += prod_flops(&L->mm_down, n);
                }
            }
        }
        uint64_t nd = gpu_dispatch_count(S->d) - d0;
        if ((st = gpu_finish(S->d, err))) return st;
        double t = h_time_s() - t0;
        out->ms[grp] = 1e3 * t / reps;
        out->dispatches[grp] = (int)(nd / (uint64_t)reps);
        out->bytes[grp] = flops;
    }
    S->log_valid = 0;
    s->n_tokens = 0; /* the KV cache holds the profile's garbage */
    return HEARTH_OK;
}
