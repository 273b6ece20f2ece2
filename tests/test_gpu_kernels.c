/* test_gpu_kernels.c — conformance of the WGSL kernels (run on SwiftShader in CI) against the
 * CPU scalar reference in src/quant.c and against ggml's own dequantization: every weight type
 * x matrix-vector (integer and f32 paths) and matrix-matrix products over a grid of shapes (odd
 * row counts, tails), embedding lookup, RMSNorm, RoPE, attention, SwiGLU, argmax and sampling.
 * Errors are normalized MSE sum((gpu - ref)^2) / sum(ref^2) within the tolerances stated at
 * each check. HEARTH_GPU_FULL=1 runs the whole grid (make check-extra); the default is a
 * subset that keeps `make check` short. */
#include "test.h"

#include "gguf.h"
#include "gpu/gpu_model.h"
#include "gpu/gpu_pack.h"
#include "gpu_test_util.h"
#include "quant.h"

static gpu_device *dev;
static gtu_rng rng = {12345};

/* A kernel for a test; one that does not compile is a failure (not a skipped check). */
static gpu_kernel *kernel(gpu_device *d, const char *module, const char *name, const gpu_const *c, int nc) {
    gpu_kernel *k = gtu_kernel(d, module, name, c, nc);
    CHECK_MSG(k != NULL, "kernel %s (modules %s) compiles", name, module ? module : "-");
    return k;
}

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

/* The activation rounding of matvec_q (and of the CPU reference's Q8_32) for 32 values y (times
 * g if given, into t): scale d = amax / 127, q = round-half-even(t * 127 / amax); also the sum of
 * the squares of y (a q-stream's third scale). Returns 127 / amax (0 for all zeros). */
static float q8_unit(const float *y, const float *g, float t[32], int q[32], float *d, float *ss) {
    float amax = 0;
    *ss = 0;
    for (int i = 0; i < 32; i++) {
        *ss += y[i] * y[i];
        t[i] = g ? y[i] * g[i] : y[i];
        amax = fmaxf(amax, fabsf(t[i]));
    }
    float id = amax != 0 ? 127.0f / amax : 0;
    *d = amax / 127.0f;
    for (int i = 0; i < 32; i++) q[i] = (int)nearbyintf(t[i] * id);
    return id;
}

/* x quantized per 32 as matvec_q does, dequantized into xq. */
static void q8_emulate(const float *x, double *xq, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++) {
        float t[32], d, ss;
        int q[32];
        q8_unit(x + 32 * b, NULL, t, q, &d, &ss);
        for (int i = 0; i < 32; i++) xq[32 * b + i] = (double)q[i] * d;
    }
}

/* ---- matrix-vector ------------------------------------------------------------------------- */

typedef struct mv_case {
    int int_path;  /* matvec_q vs matvec_f */
    int tu, rpt;
    int norm, bias, epi;
    int sg;        /* matvec_q: lanes reduced by subgroup shuffles (sg_on) */
    int xqin;      /* matvec_q: x given as a q-stream (quantized on the host, as a producer would) */
    int qout;      /* matvec_q: outputs also as a q-stream (1; 2: times a norm weight) */
    int unr;       /* matvec_q: units per lane per loop step (0: 1) */
    int wg;        /* matvec_q: workgroup size (0: 256) */
} mv_case;

/* Checks a q-stream of n values (3 vec4 per 32) against the quantization of the floats y (times
 * g if given) computed here. WGSL's division is accurate to 2.5 ulp, so 127 / amax may differ in
 * the last bits from the host's: each int8 value may be off by one where y * id lies within
 * rounding of a half, at most 1 in 256 of them; the scales agree to 1e-6 relative. */
static int check_qstream(const uint32_t *qs, const float *y, const float *g, int64_t n, char *why, size_t why_n) {
    int64_t off_by_one = 0;
    for (int64_t u = 0; u < n / 32; u++) {
        float t[32], d, ss;
        int wq[32];
        float id = q8_unit(y + 32 * u, g ? g + 32 * u : NULL, t, wq, &d, &ss);
        int sum = 0;
        for (int i = 0; i < 32; i++) {
            int8_t q = (int8_t)((qs[12 * u + i / 4] >> (8 * (i % 4))) & 0xFF);
            int want = wq[i];
            sum += q;
            if (q != want) {
                if (abs(q - want) > 1 || fabsf(fabsf(t[i] * id - truncf(t[i] * id)) - 0.5f) > 1e-3f) {
                    snprintf(why, why_n, "unit %lld element %d: %d, expected %d", (long long)u, i, q, want);
                    return 0;
                }
                off_by_one++;
            }
        }
        float m[3];
        memcpy(m, &qs[12 * u + 8], 12);
        double want3[3] = {d, (double)d * sum, ss};
        for (int k = 0; k < 3; k++)
            if (fabs(m[k] - want3[k]) > 1e-6 * fabs(want3[k]) + (k == 2 ? 1e-4 * ss : 1e-30)) {
                snprintf(why, why_n, "unit %lld scale %d: %g, expected %g", (long long)u, k, m[k], want3[k]);
                return 0;
            }
    }
    if (off_by_one * 256 > n) {
        snprintf(why, why_n, "%lld of %lld values off by one", (long long)off_by_one, (long long)n);
        return 0;
    }
    return 1;
}

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
    uint32_t *xqs = calloc((size_t)(n / 32 + 1) * 12, 4); /* the q-stream of x * g (xqin) */
    if (c->xqin) {
        /* as a producer writes it: x * g quantized, the norm's scale applied to the dot products */
        double ssq = 0;
        for (int64_t u = 0; u < n / 32; u++) {
            float t[32], d, s2;
            int q[32];
            q8_unit(x + 32 * u, c->norm ? g + 32 * u : NULL, t, q, &d, &s2);
            int sum = 0;
            for (int i = 0; i < 32; i++) {
                sum += q[i];
                xqs[12 * u + i / 4] |= (uint32_t)(q[i] & 0xFF) << (8 * (i % 4));
                xr[32 * u + i] = (double)q[i] * d;
            }
            float m[4] = {d, d * (float)sum, s2, 0};
            memcpy(&xqs[12 * u + 8], m, 16);
            ssq += s2;
        }
        double sc2 = c->norm ? 1.0 / sqrt(ssq / n + eps) : 1.0;
        for (int64_t i = 0; i < n; i++) xr[i] *= sc2;
    } else if (c->int_path) {
        q8_emulate(xn, xr, n);
    } else {
        for (int64_t i = 0; i < n; i++) xr[i] = xn[i];
    }
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

    /* the output q-stream's norm weight takes the G binding (the kernel's own norm is then done
     * by the producer of its q-stream) */
    float *gq = malloc(sizeof(float) * (size_t)(n_out + 1));
    for (int64_t r = 0; r < n_out; r++) gq[r] = 0.5f + gtu_uniform(&rng);
    gpu_buffer *bx = gtu_upload(dev, x, (size_t)n * 4);
    gpu_buffer *bg = c->qout == 2 ? gtu_upload(dev, gq, (size_t)n_out * 4) : gtu_upload(dev, g, (size_t)n * 4);
    gpu_buffer *bb = gtu_upload(dev, bias, (size_t)rows * 4), *by = gtu_upload(dev, y0, (size_t)rows * 4);
    gpu_buffer *bxq = gtu_upload(dev, xqs, (size_t)(n / 32 + 1) * 48);
    uint32_t *qout = calloc((size_t)(n_out / 32 + 1) * 12, 4);
    gpu_buffer *byq = gtu_upload(dev, qout, (size_t)(n_out / 32 + 1) * 48);
    const gpu_info *gi = gpu_device_info(dev);
    gpu_const k[] = {{"N", (double)n}, {"TU", c->tu}, {"RPT", c->epi == 2 ? 2 : c->rpt}, {"NORM", c->norm},
                     {"BIAS", c->bias}, {"EPI", c->epi}, {"XQIN", c->xqin}, {"QOUT", c->qout != 0},
                     {"QNORM", c->qout == 2}, {"UNR", c->unr ? c->unr : 1},
                     {"SGMIN", c->sg ? gi->subgroup_min : 1}, {"QSG", c->sg && gi->subgroup_min >= 8},
                     {"QPAR", 1}, /* (the one-lane-per-value q-stream: subgroups of >= 32 only) */
                     {"WG", c->wg ? c->wg : 256}};
    char mods[48];
    snprintf(mods, sizeof mods, "%s%s", c->int_path ? (c->sg ? "sg_on,qs_unit," : "sg_off,qs_unit,") : "", gpu_pack_module(w->type));
    gpu_kernel *kr = c->int_path ? kernel(dev, mods, "matvec_q", k, 14) : kernel(dev, mods, "matvec_f", k, 6);
    double e = 1;
    float *out = malloc(sizeof(float) * (size_t)n_out);
    if (kr && bx && bg && bb && by && bxq && byq) {
        gpu_bind b[] = {{w->buf, 0, 0}, {w->buf, 0, 0}, {bx, 0, 0}, {bg, 0, 0}, {bb, 0, 0}, {by, 0, 0}, {bxq, 0, 0}, {byq, 0, 0}};
        gpu_bindings *bgp = NULL;
        hearth_error err = {0, ""};
        if (gpu_bindings_create(dev, kr, b, c->int_path ? 8 : 6, &bgp, &err) == 0) {
            uint32_t rpt = c->epi == 2 ? 2 : (uint32_t)c->rpt;
            uint32_t n_sets = c->epi == 2 ? (uint32_t)n_out : (uint32_t)((rows + rpt - 1) / rpt);
            uint32_t per_wg = (uint32_t)(c->wg ? c->wg : 256) / (uint32_t)c->tu, n_wg = (n_sets + per_wg - 1) / per_wg;
            uint32_t p[12] = {0, w->words, n_sets, c->epi == 2 ? 1 : rpt, c->epi == 2 ? (uint32_t)n_out : 1,
                              (uint32_t)rows, 0, 0, 0, n_wg, 0, 0};
            memcpy(&p[8], &eps, 4);
            gpu_dispatch(dev, kr, bgp, p, sizeof p, n_wg, 1, 1);
            if (gtu_read(dev, by, 0, out, (size_t)n_out * 4) == 0) e = gtu_nmse(out, ref, (size_t)n_out);
            if (c->qout) {
                char why[160] = "read failed";
                if (gtu_read(dev, byq, 0, qout, (size_t)(n_out / 32) * 48) != 0 ||
                    !check_qstream(qout, out, c->qout == 2 ? gq : NULL, n_out, why, sizeof why)) {
                    CHECK_MSG(0, "matvec_q %s output q-stream (epi %d, %lld outputs): %s", quant_type_name(w->type), c->epi,
                              (long long)n_out, why);
                    e = 1;
                }
            }
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
    gpu_buffer_free(bxq);
    gpu_buffer_free(byq);
    free(out), free(qout), free(xqs), free(gq);
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
                /* the subgroup cases run where the adapter's subgroups hold TU lanes (SwiftShader:
                 * 4; NVIDIA: 32) */
                const gpu_info *gi = gpu_device_info(dev);
                int sg_max = gi->has_subgroups ? (int)gi->subgroup_min : 0;
                mv_case cases[] = {
                    {0, 64, 2, 0, 0, 0, 0, 0, 0, 0, 0}, {0, 32, 4, 1, 1, 0, 0, 0, 0, 0, 0}, {0, 256, 1, 1, 0, 1, 0, 0, 0, 0, 0},
                    {1, 64, 2, 0, 0, 0, 0, 0, 0, 0, 0}, {1, 32, 4, 1, 1, 0, 0, 0, 0, 2, 0}, {1, 256, 1, 1, 0, 1, 0, 0, 0, 0, 0},
                    {1, sg_max, 2, 1, 1, 0, 1, 0, 0, 2, 0}, {1, sg_max, 1, 0, 0, 1, 1, 0, 0, 0, 0},
                    {1, sg_max >= 16 ? 16 : sg_max, 4, 1, 0, 0, 1, 0, 0, 0, 0},
                };
                for (size_t ci = 0; ci < H_ARRAY_LEN(cases); ci++) {
                    if (cases[ci].int_path && !gpu_pack_has_int(t)) continue;
                    if (cases[ci].sg && (sg_max < 2 || ci % 3 != (ti + (size_t)ni) % 3)) continue;
                    /* quick: one epilogue per path, rotating with the type */
                    if (!full && !cases[ci].sg && ci % 3 != (ti + (size_t)cases[ci].int_path) % 3) continue;
                    double e = run_matvec(&w, &cases[ci]);
                    /* Float arithmetic only (the int path is compared with an exact emulation of
                     * its activation rounding): errors are f32 rounding, nmse ~1e-13..1e-11. 1e-8
                     * still catches one wrong element in 10^4. */
                    CHECK_MSG(e < 1e-8, "matvec_%c %s n=%lld rows=%lld tu=%d rpt=%d norm=%d bias=%d epi=%d sg=%d: nmse %.3g",
                              cases[ci].int_path ? 'q' : 'f', quant_type_name(t), (long long)w.n, (long long)rows,
                              cases[ci].tu, cases[ci].rpt, cases[ci].norm, cases[ci].bias, cases[ci].epi, cases[ci].sg, e);
                }
                /* SwiGLU epilogue: gate rows [0, rows), up rows [rows, 2 rows) */
                w.rows = rows * 2;
                for (int ip = 0; ip < 2; ip++) {
                    if (ip && !gpu_pack_has_int(t)) continue;
                    if (!full && (ti + (size_t)ip) % 3) continue;
                    mv_case c = {ip, 64, 2, 1, 0, 2, 0, 0, 0, 0, 0};
                    double e = run_matvec(&w, &c);
                    CHECK_MSG(e < 1e-8, "matvec_%c swiglu %s n=%lld rows=%lld: nmse %.3g", ip ? 'q' : 'f',
                              quant_type_name(t), (long long)w.n, (long long)rows, e);
                }
                free_w(&w);
            }
        }
    }
}

/* The decode q-stream paths of matvec_q (gpu_forward.c: a product that ends a residual update
 * writes the new residual quantized for the next normed product; gate/up writes the FFN input
 * for down): each shape of producer and consumer the forward pass uses, for every integer type.
 * Consumers are compared with the exact dequantized q-stream (nmse 1e-8 as above); producers'
 * q-streams with the quantization of their own float outputs (check_qstream). */
static void test_matvec_qstream(void) {
    if (!dev) return;
    int full = gtu_full();
    const gpu_info *gi = gpu_device_info(dev);
    int sg4 = gi->has_subgroups && gi->subgroup_min >= 4, sg32 = gi->has_subgroups && gi->subgroup_min >= 32;
    int wg1024 = gi->max_invocations >= 1024;
    /* int_path, tu, rpt, norm, bias, epi, sg, xqin, qout, unr (2 and 3 units per loop step: the
     * unrolled loop and its tail) */
    const mv_case cases[] = {
        {1, 16, 2, 1, 1, 0, 0, 1, 0, 2, 0},  /* Q/K/V: q-stream in, normed, bias */
        {1, 8, 1, 0, 0, 1, 0, 0, 2, 3, 0},   /* attention output: float in, residual, normed q-stream out */
        {1, 8, 2, 1, 0, 2, 0, 1, 1, 2, 0},   /* gate/up: q-stream in, normed, SwiGLU, q-stream out */
        {1, 4, 2, 0, 0, 1, sg4, 1, 2, 3, 0}, /* down: q-stream in, residual, normed q-stream out */
        {1, 4, 2, 1, 0, 2, sg4, 1, 1, 1, 0}, /* gate/up with subgroups */
        {1, 4, 1, 1, 0, 0, sg4, 1, 0, 1, 0}, /* output: q-stream in, normed */
        /* the shape for rows of >= 4096 (gpu_forward.c mv_shape): 1024 threads, 32 lanes per row */
        {1, 32, 1, 0, 0, 1, sg32, 1, 2, 1, 1024}, /* down */
        {1, 32, 1, 1, 1, 0, sg32, 1, 0, 1, 1024}, /* Q/K/V */
        {1, 32, 1, 1, 0, 1, sg32, 0, 0, 1, 1024}, /* a K-quant product: RMSNorm + quantization prologue */
    };
    int t_i = 0;
    for (size_t ti = 0; ti < H_ARRAY_LEN(all_types); ti++) {
        uint32_t t = all_types[ti];
        if (!gpu_pack_has_int(t)) continue;
        int64_t n = quant_info_of(t)->block == 32 ? 160 : 512, outs = 96;
        host_w w;
        if (make_w(&w, t, n, outs * 2)) {
            CHECK_MSG(0, "weights %s n=%lld", quant_type_name(t), (long long)n);
            free_w(&w);
            continue;
        }
        for (size_t ci = 0; ci < H_ARRAY_LEN(cases); ci++) {
            if (!full && ci % 3 != (size_t)t_i % 3 && ci != (size_t)t_i % 5) continue;
            const mv_case *c = &cases[ci];
            if (c->sg && !sg4) continue;
            if (c->wg > 256 && !wg1024) continue;
            w.rows = c->epi == 2 ? outs * 2 : outs;
            double e = run_matvec(&w, c);
            CHECK_MSG(e < 1e-8, "matvec_q q-stream %s n=%lld case %zu (xqin %d qout %d epi %d norm %d): nmse %.3g",
                      quant_type_name(t), (long long)n, ci, c->xqin, c->qout, c->epi, c->norm, e);
        }
        t_i++;
        free_w(&w);
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
        gpu_kernel *k = kernel(dev, gpu_pack_module(t->type), "get_rows", c, 1);
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


/* ---- matrix-matrix (prefill) ---------------------------------------------------------------- */

static void test_matmul(void) {
    if (!dev) return;
    int full = gtu_full();
    for (size_t ti = 0; ti < H_ARRAY_LEN(all_types); ti++) {
        uint32_t t = all_types[ti];
        uint32_t blk = quant_info_of(t)->block;
        int64_t n = blk == 1 ? 68 : blk == 32 ? 96 : 512;
        int64_t rows = full ? 131 : 67;
        host_w w;
        if (make_w(&w, t, n, rows)) {
            CHECK_MSG(0, "weights %s", quant_type_name(t));
            free_w(&w);
            continue;
        }
        int toks_list[] = {1, 37, 70};
        for (int tk = full ? 0 : 1; tk < 3; tk++) {
            for (int tm = 4; tm <= 8; tm += 4) {
                if (!full && tm != (ti % 2 ? 8 : 4)) continue;
                int T = toks_list[tk], epi = (tk + tm / 4) % 2, bias = tk == 1;
                float *x = malloc(sizeof(float) * (size_t)(T * n)), *y0 = malloc(sizeof(float) * (size_t)(T * rows));
                float *b = malloc(sizeof(float) * (size_t)rows);
                double *ref = malloc(sizeof(double) * (size_t)(T * rows));
                for (int64_t i = 0; i < T * n; i++) x[i] = gtu_normal(&rng);
                for (int64_t i = 0; i < T * rows; i++) y0[i] = gtu_uniform(&rng);
                for (int64_t r = 0; r < rows; r++) b[r] = gtu_uniform(&rng);
                for (int tt = 0; tt < T; tt++)
                    for (int64_t r = 0; r < rows; r++) {
                        double acc = 0;
                        for (int64_t i = 0; i < n; i++) acc += w.deq[r * n + i] * x[tt * n + i];
                        ref[tt * rows + r] = acc + (bias ? b[r] : 0) + (epi ? y0[tt * rows + r] : 0);
                    }
                gpu_buffer *bx = gtu_upload(dev, x, (size_t)(T * n) * 4), *bb = gtu_upload(dev, b, (size_t)rows * 4);
                gpu_buffer *by = gtu_upload(dev, y0, (size_t)(T * rows) * 4);
                gpu_const c[] = {{"N", (double)n}, {"TM", tm}, {"TN", tm}, {"BIAS", bias}, {"EPI", epi}};
                gpu_kernel *k = kernel(dev, gpu_pack_module(t), "matmul_f", c, 5);
                gpu_bindings *bg = NULL;
                double e = 1;
                hearth_error err = {0, ""};
                gpu_bind bd[5] = {{w.buf, 0, 0}, {w.buf, 0, 0}, {bx, 0, 0}, {bb, 0, 0}, {by, 0, 0}};
                float *out = malloc(sizeof(float) * (size_t)(T * rows));
                if (k && bx && bb && by && gpu_bindings_create(dev, k, bd, 5, &bg, &err) == 0) {
                    uint32_t prm[12] = {0, w.words, (uint32_t)rows, (uint32_t)T, (uint32_t)n, 0, (uint32_t)rows, 0, 0, 0, 0, 0};
                    uint32_t bn = 16 * (uint32_t)tm;
                    gpu_dispatch(dev, k, bg, prm, sizeof prm, (uint32_t)((rows + bn - 1) / bn), ((uint32_t)T + bn - 1) / bn, 1);
                    if (gtu_read(dev, by, 0, out, (size_t)(T * rows) * 4) == 0) e = gtu_nmse(out, ref, (size_t)(T * rows));
                }
                /* f32 arithmetic only: nmse ~1e-13; 1e-8 catches one wrong output in 1e4 */
                CHECK_MSG(e < 1e-8, "matmul_f %s n=%lld rows=%lld T=%d TM=%d epi=%d bias=%d: nmse %.3g", quant_type_name(t),
                          (long long)n, (long long)rows, T, tm, epi, bias, e);
                gpu_bindings_free(bg);
                gpu_kernel_free(k);
                gpu_buffer_free(bx), gpu_buffer_free(bb), gpu_buffer_free(by);
                free(x), free(y0), free(b), free(ref), free(out);
            }
        }
        free_w(&w);
    }
}

/* Integer prefill path: quant_x then matmul_q, against the reference weights times the exact
 * emulation of quant_x's activation rounding. */
static void test_matmul_q(void) {
    if (!dev) return;
    int full = gtu_full();
    int cfg = 0;
    for (size_t ti = 0; ti < H_ARRAY_LEN(all_types); ti++) {
        uint32_t t = all_types[ti];
        if (!gpu_pack_has_int(t)) continue;
        uint32_t blk = quant_info_of(t)->block;
        int64_t n = blk == 32 ? 96 : 512; /* 3 units (a tail for KU = 2) or 16 */
        int64_t rows = full ? 131 : 67;
        host_w w;
        if (make_w(&w, t, n, rows)) {
            CHECK_MSG(0, "weights %s", quant_type_name(t));
            free_w(&w);
            continue;
        }
        /* (TM, TN, KU) shapes; T = 37 and 70 cross the 64-token tile */
        static const int shapes[][3] = {{4, 8, 2}, {4, 4, 1}, {8, 8, 2}, {2, 4, 4}};
        int toks_list[] = {1, 37, 70};
        for (int tk = full ? 0 : 1; tk < 3; tk++) {
            for (size_t si = 0; si < H_ARRAY_LEN(shapes); si++) {
                if (!full && si != (size_t)(cfg++ % 4)) continue;
                int T = toks_list[tk], tm = shapes[si][0], tn = shapes[si][1], ku = shapes[si][2];
                int epi = (tk + (int)si) % 2, bias = (tk + (int)si) % 3 == 1;
                int64_t ldx = n + 8, x_off = 4; /* a strided source, as the forward pass reads it */
                size_t nx = (size_t)(x_off + T * ldx);
                float *x = calloc(nx, sizeof(float)), *y0 = malloc(sizeof(float) * (size_t)(T * rows));
                float *b = malloc(sizeof(float) * (size_t)rows);
                double *xr = malloc(sizeof(double) * (size_t)n), *ref = malloc(sizeof(double) * (size_t)(T * rows));
                for (size_t i = 0; i < nx; i++) x[i] = gtu_normal(&rng);
                for (int64_t i = 0; i < T * rows; i++) y0[i] = gtu_uniform(&rng);
                for (int64_t r = 0; r < rows; r++) b[r] = gtu_uniform(&rng);
                for (int tt = 0; tt < T; tt++) {
                    q8_emulate(x + x_off + tt * ldx, xr, n);
                    for (int64_t r = 0; r < rows; r++) {
                        double acc = 0;
                        for (int64_t i = 0; i < n; i++) acc += w.deq[r * n + i] * xr[i];
                        ref[tt * rows + r] = acc + (bias ? b[r] : 0) + (epi ? y0[tt * rows + r] : 0);
                    }
                }
                gpu_buffer *bx = gtu_upload(dev, x, nx * 4), *bb = gtu_upload(dev, b, (size_t)rows * 4);
                gpu_buffer *by = gtu_upload(dev, y0, (size_t)(T * rows) * 4);
                size_t xq_bytes = (size_t)(T * n), xd_bytes = (size_t)(T * n / 32) * 8;
                uint8_t *zero = calloc(xq_bytes + xd_bytes, 1);
                gpu_buffer *bq = gtu_upload(dev, zero, xq_bytes), *bd = gtu_upload(dev, zero, xd_bytes);
                gpu_const qc[] = {{"N", (double)n}};
                gpu_const c[] = {{"N", (double)n}, {"TM", tm}, {"TN", tn}, {"KU", ku}, {"BIAS", bias}, {"EPI", epi}};
                gpu_kernel *kq = kernel(dev, NULL, "quant_x", qc, 1);
                gpu_kernel *k = kernel(dev, gpu_pack_module(t), "matmul_q", c, 6);
                gpu_bindings *bgq = NULL, *bg = NULL;
                double e = 1;
                hearth_error err = {0, ""};
                gpu_bind bdq[3] = {{bx, 0, 0}, {bq, 0, 0}, {bd, 0, 0}};
                gpu_bind bdm[6] = {{w.buf, 0, 0}, {w.buf, 0, 0}, {bq, 0, 0}, {bd, 0, 0}, {bb, 0, 0}, {by, 0, 0}};
                float *out = malloc(sizeof(float) * (size_t)(T * rows));
                if (kq && k && bx && bb && by && bq && bd && gpu_bindings_create(dev, kq, bdq, 3, &bgq, &err) == 0 &&
                    gpu_bindings_create(dev, k, bdm, 6, &bg, &err) == 0) {
                    uint32_t pq[4] = {(uint32_t)T, (uint32_t)ldx, (uint32_t)x_off, 0};
                    gpu_dispatch(dev, kq, bgq, pq, sizeof pq, (uint32_t)((n / 32 + 63) / 64), (uint32_t)T, 1);
                    uint32_t prm[8] = {0, w.words, (uint32_t)rows, (uint32_t)T, (uint32_t)rows, 0, 0, 0};
                    uint32_t bn = 16 * (uint32_t)tn, bm = 16 * (uint32_t)tm;
                    gpu_dispatch(dev, k, bg, prm, sizeof prm, (uint32_t)((rows + bn - 1) / bn), ((uint32_t)T + bm - 1) / bm, 1);
                    if (gtu_read(dev, by, 0, out, (size_t)(T * rows) * 4) == 0) e = gtu_nmse(out, ref, (size_t)(T * rows));
                } else if (err.msg[0]) {
                    fprintf(stderr, "%s\n", err.msg);
                }
                /* integer dot products are exact and the activation rounding is emulated exactly:
                 * only f32 scaling/accumulation error remains (nmse ~1e-13); 1e-8 catches one
                 * wrong output in 1e4 */
                CHECK_MSG(e < 1e-8, "matmul_q %s n=%lld rows=%lld T=%d TM=%d TN=%d KU=%d epi=%d bias=%d: nmse %.3g",
                          quant_type_name(t), (long long)n, (long long)rows, T, tm, tn, ku, epi, bias, e);
                gpu_bindings_free(bgq), gpu_bindings_free(bg);
                gpu_kernel_free(kq), gpu_kernel_free(k);
                gpu_buffer_free(bx), gpu_buffer_free(bb), gpu_buffer_free(by), gpu_buffer_free(bq), gpu_buffer_free(bd);
                free(x), free(y0), free(b), free(xr), free(ref), free(out), free(zero);
            }
        }
        free_w(&w);
    }
}

/* ---- small kernels: rmsnorm, swiglu, argmax --------------------------------------------------- */

static void test_rmsnorm_swiglu_argmax(void) {
    if (!dev) return;
    hearth_error err = {0, ""};
    /* rmsnorm: 3 rows of 896 */
    {
        const int N = 896, R = 3;
        float *x = malloc(sizeof(float) * N * R), *g = malloc(sizeof(float) * N), *out = malloc(sizeof(float) * N * R);
        double *ref = malloc(sizeof(double) * N * R);
        for (int i = 0; i < N * R; i++) x[i] = gtu_normal(&rng) * (1 + i / N);
        for (int i = 0; i < N; i++) g[i] = gtu_uniform(&rng);
        const float eps = 1e-6f;
        for (int r = 0; r < R; r++) {
            double ss = 0;
            for (int i = 0; i < N; i++) ss += (double)x[r * N + i] * x[r * N + i];
            double sc = 1 / sqrt(ss / N + eps);
            for (int i = 0; i < N; i++) ref[r * N + i] = x[r * N + i] * sc * g[i];
        }
        gpu_buffer *bx = gtu_upload(dev, x, sizeof(float) * N * R), *bg = gtu_upload(dev, g, sizeof(float) * N);
        gpu_buffer *by = gtu_upload(dev, out, sizeof(float) * N * R);
        gpu_const c[] = {{"N", N}};
        gpu_kernel *k = kernel(dev, NULL, "rmsnorm", c, 1);
        gpu_bindings *b = NULL;
        gpu_bind bd[3] = {{bx, 0, 0}, {bg, 0, 0}, {by, 0, 0}};
        double e = 1;
        if (k && gpu_bindings_create(dev, k, bd, 3, &b, &err) == 0) {
            uint32_t p[4] = {0, 0, 0, 0};
            memcpy(&p[2], &eps, 4);
            gpu_dispatch(dev, k, b, p, sizeof p, R, 1, 1);
            if (gtu_read(dev, by, 0, out, sizeof(float) * N * R) == 0) e = gtu_nmse(out, ref, (size_t)N * R);
        }
        CHECK_MSG(e < 1e-11, "rmsnorm: nmse %.3g", e); /* f32 rounding only */
        gpu_bindings_free(b), gpu_kernel_free(k);
        gpu_buffer_free(bx), gpu_buffer_free(bg), gpu_buffer_free(by);
        free(x), free(g), free(out), free(ref);
    }
    /* swiglu: 3 rows of F = 100 */
    {
        const int F = 100, T = 3;
        float gu[2 * 100 * 3], h[100 * 3];
        double ref[100 * 3];
        for (int i = 0; i < 2 * F * T; i++) gu[i] = 4 * gtu_uniform(&rng);
        for (int t = 0; t < T; t++)
            for (int i = 0; i < F; i++) {
                double gg = gu[2 * F * t + i], uu = gu[2 * F * t + F + i];
                ref[F * t + i] = gg / (1 + exp(-gg)) * uu;
            }
        gpu_buffer *bgu = gtu_upload(dev, gu, sizeof gu), *bh = gtu_upload(dev, h, sizeof h);
        gpu_kernel *k = kernel(dev, NULL, "swiglu", NULL, 0);
        gpu_bindings *b = NULL;
        gpu_bind bd[2] = {{bgu, 0, 0}, {bh, 0, 0}};
        double e = 1;
        if (k && gpu_bindings_create(dev, k, bd, 2, &b, &err) == 0) {
            uint32_t p[4] = {F, 0, 0, 0};
            gpu_dispatch(dev, k, b, p, sizeof p, 1, T, 1);
            if (gtu_read(dev, bh, 0, h, sizeof h) == 0) e = gtu_nmse(h, ref, (size_t)F * T);
        }
        CHECK_MSG(e < 1e-11, "swiglu: nmse %.3g", e);
        gpu_bindings_free(b), gpu_kernel_free(k), gpu_buffer_free(bgu), gpu_buffer_free(bh);
    }
    /* argmax: 10000 logits, the maximum twice (the lower index wins), across chunks */
    {
        const int N = 10000;
        float *l = malloc(sizeof(float) * N);
        for (int i = 0; i < N; i++) l[i] = gtu_uniform(&rng);
        l[8191] = 3.5f;
        l[4097] = 3.5f;
        l[9999] = 3.4f;
        uint32_t zero[64] = {0};
        gpu_buffer *bl = gtu_upload(dev, l, sizeof(float) * N), *bp = gtu_upload(dev, zero, sizeof zero);
        gpu_buffer *bt = gtu_upload(dev, zero, sizeof zero), *bh = gtu_upload(dev, zero, sizeof zero);
        gpu_const cp[] = {{"PARTIAL", 1}, {"CHUNK", 4096}}, cf[] = {{"PARTIAL", 0}, {"CHUNK", 4096}};
        gpu_kernel *kp = kernel(dev, NULL, "argmax", cp, 2), *kf = kernel(dev, NULL, "argmax", cf, 2);
        gpu_bindings *bp1 = NULL, *bf1 = NULL;
        gpu_bind bd[4] = {{bl, 0, 0}, {bp, 0, 0}, {bt, 0, 0}, {bh, 0, 0}};
        uint32_t got[8] = {0}, hist[8] = {0};
        if (kp && kf && gpu_bindings_create(dev, kp, bd, 4, &bp1, &err) == 0 &&
            gpu_bindings_create(dev, kf, bd, 4, &bf1, &err) == 0) {
            uint32_t p1[4] = {N, 0, 3, 5}, p2[4] = {3, 0, 3, 5};
            gpu_dispatch(dev, kp, bp1, p1, sizeof p1, 3, 1, 1);
            gpu_dispatch(dev, kf, bf1, p2, sizeof p2, 1, 1, 1);
            gtu_read(dev, bt, 0, got, sizeof got);
            gtu_read(dev, bh, 0, hist, sizeof hist);
        }
        CHECK_EQ_INT(got[3], 4097);
        CHECK_EQ_INT(hist[5], 4097);
        gpu_bindings_free(bp1), gpu_bindings_free(bf1), gpu_kernel_free(kp), gpu_kernel_free(kf);
        gpu_buffer_free(bl), gpu_buffer_free(bp), gpu_buffer_free(bt), gpu_buffer_free(bh);
        free(l);
    }
}

/* ---- RoPE + KV store, attention (decode and prefill) ------------------------------------------ */

static float f16_round(float x) { return h_f16_to_f32(h_f32_to_f16(x)); }

typedef struct att_cfg {
    int nh, nkv, hd, neox, norm, f16;
} att_cfg;

/* x (hd floats) -> optional RMSNorm with w, then RoPE at (cos, sin) table row cs. */
static void ref_rope(double *x, int hd, int neox, const float *w, const float *cs, float eps) {
    if (w) {
        double ss = 0;
        for (int i = 0; i < hd; i++) ss += x[i] * x[i];
        double sc = 1 / sqrt(ss / hd + eps);
        for (int i = 0; i < hd; i++) x[i] = x[i] * sc * w[i];
    }
    for (int i = 0; i < hd / 2; i++) {
        int a = neox ? i : 2 * i, b = neox ? i + hd / 2 : 2 * i + 1;
        double x0 = x[a], x1 = x[b], c = cs[2 * i], sn = cs[2 * i + 1];
        x[a] = x0 * c - x1 * sn;
        x[b] = x0 * sn + x1 * c;
    }
}

static uint32_t *cache_words(const float *v, size_t n, int f16, size_t *words) {
    *words = f16 ? (n + 1) / 2 : n;
    uint32_t *w = calloc(*words + 4, 4);
    for (size_t i = 0; i < n; i++) {
        if (f16) w[i / 2] |= (uint32_t)h_f32_to_f16(v[i]) << (16 * (i & 1));
        else memcpy(&w[i], &v[i], 4);
    }
    return w;
}

static void test_attention_decode(void) {
    if (!dev) return;
    /* GQA groups of 4, 1, 7, 4 and 16 */
    att_cfg cfgs[] = {{8, 2, 32, 0, 0, 0}, {8, 2, 64, 1, 1, 1}, {4, 4, 16, 1, 0, 0}, {14, 2, 64, 1, 0, 1},
                      {8, 2, 128, 0, 0, 1}, {16, 1, 32, 0, 0, 1}};
    int positions[] = {0, 77, 300};
    const int n_ctx = 400;
    const float eps = 1e-6f;
    for (size_t ci = 0; ci < H_ARRAY_LEN(cfgs); ci++) {
        att_cfg c = cfgs[ci];
        int G = c.nh / c.nkv, half = c.hd / 2, rowlen = (c.nh + 2 * c.nkv) * c.hd;
        size_t cache_n = (size_t)c.nkv * n_ctx * c.hd;
        float *kc = malloc(sizeof(float) * cache_n), *vc = malloc(sizeof(float) * cache_n);
        for (size_t i = 0; i < cache_n; i++) kc[i] = gtu_normal(&rng), vc[i] = gtu_normal(&rng);
        if (c.f16)
            for (size_t i = 0; i < cache_n; i++) kc[i] = f16_round(kc[i]), vc[i] = f16_round(vc[i]);
        float *cs = malloc(sizeof(float) * (size_t)n_ctx * half * 2), *inv = malloc(sizeof(float) * half);
        for (int i = 0; i < half; i++) inv[i] = powf(10000.0f, -2.0f * i / c.hd);
        for (int p = 0; p < n_ctx; p++)
            for (int i = 0; i < half; i++) {
                cs[(p * half + i) * 2] = (float)cos((double)p * inv[i]);
                cs[(p * half + i) * 2 + 1] = (float)sin((double)p * inv[i]);
            }
        float qn[256], kn[256];
        for (int i = 0; i < c.hd; i++) qn[i] = 1 + 0.3f * gtu_uniform(&rng), kn[i] = 1 + 0.3f * gtu_uniform(&rng);
        /* query heads per workgroup: all G of a KV head, and a split of them (one head, or half) */
        int hpws[2] = {G, ci % 2 ? 1 : (G % 2 ? 1 : G / 2)};
        /* chunks of 128 positions, and the longer chunks of contexts past 128 (gpu_forward.c
         * record_attention: 256 or 512 as the adapter allows) for the head dims of real models */
        int n_wg = ci == 1 || ci == 4 ? 3 : 1;
        for (int wi = 0; wi < n_wg; wi++) {
        int att_wg = 128 << wi;
        if ((uint32_t)att_wg > gpu_device_info(dev)->max_invocations) continue;
        for (int hi = 0; hi < (hpws[1] != G ? 2 : 1); hi++) {
        int hpw = hpws[hi];
        if (wi > 0 && hpw != hpws[1]) continue;
        /* with head dims of whole 32-value units, the output also as a q-stream (matvec_q's input) */
        int qs = c.hd % 32 == 0;
        gpu_const kc_c[] = {{"HD", c.hd}, {"NH", c.nh}, {"NKV", c.nkv}, {"NEOX", c.neox}, {"NORM", c.norm},
                            {"KV_F16", c.f16}, {"WG", att_wg}, {"HPW", hpw}, {"QS", qs}};
        gpu_const rc[] = {{"HD", c.hd}, {"WG", 128}, {"QS", qs}};
        gpu_kernel *k = kernel(dev, "qs_unit,qs_out", "attn_decode", kc_c, 9);
        gpu_kernel *kr = kernel(dev, "qs_unit,qs_out", "attn_reduce", rc, 3);
        for (size_t pi = 0; pi < H_ARRAY_LEN(positions) && k && kr; pi++) {
            int pos = positions[pi];
            float *qkv = malloc(sizeof(float) * rowlen);
            for (int i = 0; i < rowlen; i++) qkv[i] = gtu_normal(&rng);
            /* reference: new k, v at pos; attention of every head */
            double *kref = malloc(sizeof(double) * c.nkv * c.hd), *out = malloc(sizeof(double) * c.nh * c.hd);
            for (int g = 0; g < c.nkv; g++) {
                for (int i = 0; i < c.hd; i++) kref[g * c.hd + i] = qkv[(c.nh + g) * c.hd + i];
                ref_rope(kref + g * c.hd, c.hd, c.neox, c.norm ? kn : NULL, cs + (size_t)pos * half * 2, eps);
            }
            for (int h = 0; h < c.nh; h++) {
                int g = h / G;
                double q[256], sc[400], m = -1e300, l = 0;
                for (int i = 0; i < c.hd; i++) q[i] = qkv[h * c.hd + i];
                ref_rope(q, c.hd, c.neox, c.norm ? qn : NULL, cs + (size_t)pos * half * 2, eps);
                for (int p = 0; p <= pos; p++) {
                    double d = 0;
                    for (int i = 0; i < c.hd; i++) {
                        double kv = p == pos ? (c.f16 ? f16_round((float)kref[g * c.hd + i]) : kref[g * c.hd + i])
                                             : kc[((size_t)g * n_ctx + p) * c.hd + i];
                        d += q[i] * kv;
                    }
                    sc[p] = d / sqrt((double)c.hd);
                    if (sc[p] > m) m = sc[p];
                }
                for (int p = 0; p <= pos; p++) l += sc[p] = exp(sc[p] - m);
                for (int i = 0; i < c.hd; i++) {
                    double a = 0;
                    for (int p = 0; p <= pos; p++) {
                        double vv = p == pos ? (c.f16 ? f16_round(qkv[(c.nh + c.nkv + g) * c.hd + i])
                                                      : qkv[(c.nh + c.nkv + g) * c.hd + i])
                                             : vc[((size_t)g * n_ctx + p) * c.hd + i];
                        a += sc[p] * vv;
                    }
                    out[h * c.hd + i] = a / l;
                }
            }
            size_t kw, vw;
            uint32_t *kwords = cache_words(kc, cache_n, c.f16, &kw), *vwords = cache_words(vc, cache_n, c.f16, &vw);
            int n_chunks = (pos + att_wg) / att_wg;
            float *zeros = calloc((size_t)c.nh * (n_chunks + 1) * (c.hd + 2), 4);
            gpu_buffer *bq = gtu_upload(dev, qkv, sizeof(float) * rowlen), *bqn = gtu_upload(dev, qn, sizeof qn);
            gpu_buffer *bkn = gtu_upload(dev, kn, sizeof kn), *bcs = gtu_upload(dev, cs, sizeof(float) * n_ctx * half * 2);
            gpu_buffer *bk = gtu_upload(dev, kwords, kw * 4), *bv = gtu_upload(dev, vwords, vw * 4);
            size_t o_words = (size_t)c.nh * c.hd + (size_t)c.nh * c.hd / 32 * 12; /* floats, then the q-stream */
            uint32_t *o_all = calloc(o_words, 4);
            gpu_buffer *bo = gtu_upload(dev, o_all, o_words * 4);
            gpu_buffer *bp = gtu_upload(dev, zeros, sizeof(float) * (size_t)c.nh * (n_chunks + 1) * (c.hd + 2));
            gpu_bindings *b = NULL, *br = NULL;
            hearth_error err = {0, ""};
            gpu_bind bd[8] = {{bq, 0, 0}, {bqn, 0, 0}, {bkn, 0, 0}, {bcs, 0, 0}, {bk, 0, 0}, {bv, 0, 0}, {bo, 0, 0}, {bp, 0, 0}};
            gpu_bind brd[2] = {{bp, 0, 0}, {bo, 0, 0}};
            double e = 1, ek = 1;
            float *o = malloc(sizeof(float) * c.nh * c.hd);
            if (gpu_bindings_create(dev, k, bd, 8, &b, &err) == 0 && gpu_bindings_create(dev, kr, brd, 2, &br, &err) == 0) {
                float scale = 1.0f / sqrtf((float)c.hd);
                uint32_t qs_at = (uint32_t)(c.nh * c.hd);
                uint32_t prm[8] = {(uint32_t)pos, (uint32_t)n_ctx, (uint32_t)n_chunks, 0, 0, qs_at, 0, 0};
                memcpy(&prm[3], &scale, 4);
                memcpy(&prm[4], &eps, 4);
                gpu_dispatch(dev, k, b, prm, sizeof prm, (uint32_t)n_chunks, (uint32_t)(c.nkv * (G / hpw)), 1);
                if (n_chunks > 1) {
                    uint32_t p2[4] = {(uint32_t)n_chunks, qs_at, 0, 0};
                    gpu_dispatch(dev, kr, br, p2, sizeof p2, (uint32_t)c.nh, 1, 1);
                }
                if (gtu_read(dev, bo, 0, o_all, o_words * 4) == 0) {
                    memcpy(o, o_all, sizeof(float) * c.nh * c.hd);
                    e = gtu_nmse(o, out, (size_t)c.nh * c.hd);
                    char why[160] = "";
                    if (qs)
                        CHECK_MSG(check_qstream(o_all + qs_at, o, NULL, (int64_t)c.nh * c.hd, why, sizeof why),
                                  "attn_decode nh=%d hd=%d hpw=%d pos=%d output q-stream: %s", c.nh, c.hd, hpw, pos, why);
                }
                /* the stored k rows */
                float *kg = malloc(sizeof(float) * c.nkv * c.hd);
                uint32_t *all = malloc(kw * 4);
                if (gtu_read(dev, bk, 0, all, kw * 4) == 0) {
                    for (int g = 0; g < c.nkv; g++)
                        for (int i = 0; i < c.hd; i++) {
                            size_t idx = ((size_t)g * n_ctx + pos) * c.hd + i;
                            kg[g * c.hd + i] = c.f16 ? h_f16_to_f32((uint16_t)(all[idx / 2] >> (16 * (idx & 1))))
                                                     : ((float *)all)[idx];
                        }
                    double *kr2 = malloc(sizeof(double) * c.nkv * c.hd);
                    for (int i = 0; i < c.nkv * c.hd; i++) kr2[i] = c.f16 ? f16_round((float)kref[i]) : kref[i];
                    ek = gtu_nmse(kg, kr2, (size_t)c.nkv * c.hd);
                    free(kr2);
                }
                free(kg), free(all);
            }
            /* f32 arithmetic (f16 cache values are exact in both): nmse ~1e-13; an f16 rounding
             * of the new k landing on the other side of a tie gives ~1e-8 at most */
            CHECK_MSG(e < 1e-7 && ek < 1e-7,
                      "attn_decode nh=%d nkv=%d hd=%d neox=%d norm=%d f16=%d hpw=%d wg=%d pos=%d: nmse out %.3g k %.3g",
                      c.nh, c.nkv, c.hd, c.neox, c.norm, c.f16, hpw, att_wg, pos, e, ek);
            gpu_bindings_free(b), gpu_bindings_free(br);
            gpu_buffer *bs[] = {bq, bqn, bkn, bcs, bk, bv, bo, bp};
            for (size_t i = 0; i < H_ARRAY_LEN(bs); i++) gpu_buffer_free(bs[i]);
            free(qkv), free(kref), free(out), free(kwords), free(vwords), free(zeros), free(o), free(o_all);
        }
        gpu_kernel_free(k), gpu_kernel_free(kr);
        }
        }
        free(kc), free(vc), free(cs), free(inv);
    }
}

static void test_rope_and_prefill_attention(void) {
    if (!dev) return;
    /* head dims 8 (stories260K), 16..256 (every tile shape: BK 64/32/16, DC 8/16/32, partial
     * dim vec4 lanes at 80); T and pos0 so that query tiles (64), key tiles and the causal edge
     * fall at different places */
    att_cfg cfgs[] = {{8, 2, 32, 0, 0, 0}, {4, 2, 64, 1, 1, 1}, {6, 6, 16, 0, 1, 0}, {4, 1, 128, 1, 0, 1},
                      {2, 2, 8, 0, 0, 0},  {2, 1, 80, 0, 0, 1}, {2, 2, 256, 1, 0, 1}};
    const int Ts[] = {37, 100, 130, 70, 65, 20, 66}, pos0s[] = {20, 0, 7, 90, 3, 60, 1};
    const int n_ctx = 200; /* <= 256: the reference's score row */
    const float eps = 1e-6f;
    for (size_t ci = 0; ci < H_ARRAY_LEN(cfgs); ci++) {
        att_cfg c = cfgs[ci];
        const int T = Ts[ci], pos0 = pos0s[ci];
        int G = c.nh / c.nkv, half = c.hd / 2, rowlen = (c.nh + 2 * c.nkv) * c.hd;
        size_t cache_n = (size_t)c.nkv * n_ctx * c.hd;
        float *kc = malloc(sizeof(float) * cache_n), *vc = malloc(sizeof(float) * cache_n);
        for (size_t i = 0; i < cache_n; i++) kc[i] = gtu_normal(&rng), vc[i] = gtu_normal(&rng);
        float *cs = malloc(sizeof(float) * (size_t)n_ctx * half * 2);
        for (int p = 0; p < n_ctx; p++)
            for (int i = 0; i < half; i++) {
                double a = p * pow(10000.0, -2.0 * i / c.hd);
                cs[(p * half + i) * 2] = (float)cos(a), cs[(p * half + i) * 2 + 1] = (float)sin(a);
            }
        float qn[256], kn[256];
        for (int i = 0; i < c.hd; i++) qn[i] = 1 + 0.3f * gtu_uniform(&rng), kn[i] = 1 + 0.3f * gtu_uniform(&rng);
        float *qkv = malloc(sizeof(float) * (size_t)rowlen * T);
        for (int i = 0; i < rowlen * T; i++) qkv[i] = gtu_normal(&rng);
        /* reference rope/store */
        double *q = malloc(sizeof(double) * (size_t)T * c.nh * c.hd);
        double *kcr = malloc(sizeof(double) * cache_n), *vcr = malloc(sizeof(double) * cache_n);
        for (size_t i = 0; i < cache_n; i++)
            kcr[i] = c.f16 ? f16_round(kc[i]) : kc[i], vcr[i] = c.f16 ? f16_round(vc[i]) : vc[i];
        for (int t = 0; t < T; t++) {
            const float *row = qkv + (size_t)t * rowlen, *csr = cs + (size_t)(pos0 + t) * half * 2;
            for (int h = 0; h < c.nh; h++) {
                double *qh = q + ((size_t)t * c.nh + h) * c.hd;
                for (int i = 0; i < c.hd; i++) qh[i] = row[h * c.hd + i];
                ref_rope(qh, c.hd, c.neox, c.norm ? qn : NULL, csr, eps);
            }
            for (int g = 0; g < c.nkv; g++) {
                double kk[256];
                for (int i = 0; i < c.hd; i++) kk[i] = row[(c.nh + g) * c.hd + i];
                ref_rope(kk, c.hd, c.neox, c.norm ? kn : NULL, csr, eps);
                for (int i = 0; i < c.hd; i++) {
                    size_t idx = ((size_t)g * n_ctx + pos0 + t) * c.hd + i;
                    float vv = row[(c.nh + c.nkv + g) * c.hd + i];
                    kcr[idx] = c.f16 ? f16_round((float)kk[i]) : kk[i];
                    vcr[idx] = c.f16 ? f16_round(vv) : vv;
                }
            }
        }
        /* reference attention */
        double *out = malloc(sizeof(double) * (size_t)T * c.nh * c.hd);
        for (int t = 0; t < T; t++)
            for (int h = 0; h < c.nh; h++) {
                int g = h / G, P = pos0 + t;
                double sc[256], m = -1e300, l = 0; /* n_ctx <= 256 */
                const double *qh = q + ((size_t)t * c.nh + h) * c.hd;
                for (int p = 0; p <= P; p++) {
                    double d = 0;
                    for (int i = 0; i < c.hd; i++) d += qh[i] * kcr[((size_t)g * n_ctx + p) * c.hd + i];
                    sc[p] = d / sqrt((double)c.hd);
                    if (sc[p] > m) m = sc[p];
                }
                for (int p = 0; p <= P; p++) l += sc[p] = exp(sc[p] - m);
                for (int i = 0; i < c.hd; i++) {
                    double a = 0;
                    for (int p = 0; p <= P; p++) a += sc[p] * vcr[((size_t)g * n_ctx + p) * c.hd + i];
                    out[((size_t)t * c.nh + h) * c.hd + i] = a / l;
                }
            }
        size_t kw, vw;
        uint32_t *kwords = cache_words(kc, cache_n, c.f16, &kw), *vwords = cache_words(vc, cache_n, c.f16, &vw);
        float *zero = calloc((size_t)T * c.nh * c.hd, 4);
        gpu_buffer *bqkv = gtu_upload(dev, qkv, sizeof(float) * (size_t)rowlen * T), *bqn = gtu_upload(dev, qn, sizeof qn);
        gpu_buffer *bkn = gtu_upload(dev, kn, sizeof kn), *bcs = gtu_upload(dev, cs, sizeof(float) * n_ctx * half * 2);
        gpu_buffer *bq = gtu_upload(dev, zero, sizeof(float) * (size_t)T * c.nh * c.hd);
        gpu_buffer *bk = gtu_upload(dev, kwords, kw * 4), *bv = gtu_upload(dev, vwords, vw * 4);
        gpu_buffer *bo = gtu_upload(dev, zero, sizeof(float) * (size_t)T * c.nh * c.hd);
        gpu_const rc[] = {{"HD", c.hd}, {"NH", c.nh}, {"NKV", c.nkv}, {"NEOX", c.neox}, {"NORM", c.norm}, {"KV_F16", c.f16}};
        gpu_const pc[7] = {{"HD", c.hd}, {"NH", c.nh}, {"NKV", c.nkv}, {"KV_F16", c.f16}};
        CHECK(gw_attn_prefill_tiles((uint32_t)c.hd, gpu_device_info(dev)->max_workgroup_storage, &pc[4]) == 0);
        gpu_kernel *kr = kernel(dev, NULL, "rope_store", rc, 6), *kp = kernel(dev, NULL, "attn_prefill", pc, 7);
        gpu_bindings *br = NULL, *bp = NULL;
        hearth_error err = {0, ""};
        gpu_bind rbd[7] = {{bqkv, 0, 0}, {bqn, 0, 0}, {bkn, 0, 0}, {bcs, 0, 0}, {bq, 0, 0}, {bk, 0, 0}, {bv, 0, 0}};
        gpu_bind pbd[4] = {{bq, 0, 0}, {bk, 0, 0}, {bv, 0, 0}, {bo, 0, 0}};
        double eq = 1, eo = 1;
        if (kr && kp && gpu_bindings_create(dev, kr, rbd, 7, &br, &err) == 0 &&
            gpu_bindings_create(dev, kp, pbd, 4, &bp, &err) == 0) {
            uint32_t p1[4] = {pos0, n_ctx, 0, 0};
            memcpy(&p1[2], &eps, 4);
            gpu_dispatch(dev, kr, br, p1, sizeof p1, (uint32_t)(c.nh + 2 * c.nkv), T, 1);
            float scale = 1.0f / sqrtf((float)c.hd);
            uint32_t p2[4] = {pos0, T, n_ctx, 0};
            memcpy(&p2[3], &scale, 4);
            gpu_dispatch(dev, kp, bp, p2, sizeof p2, (T + GW_ATT_BQ - 1) / GW_ATT_BQ, (uint32_t)c.nh, 1);
            float *got = malloc(sizeof(float) * (size_t)T * c.nh * c.hd);
            if (gtu_read(dev, bq, 0, got, sizeof(float) * (size_t)T * c.nh * c.hd) == 0)
                eq = gtu_nmse(got, q, (size_t)T * c.nh * c.hd);
            if (gtu_read(dev, bo, 0, got, sizeof(float) * (size_t)T * c.nh * c.hd) == 0)
                eo = gtu_nmse(got, out, (size_t)T * c.nh * c.hd);
            free(got);
        }
        /* f32 rounding only (f16 K rounding differences at ties: ~1e-8 at most) */
        CHECK_MSG(eq < 1e-10, "rope_store nh=%d hd=%d neox=%d norm=%d: nmse %.3g", c.nh, c.hd, c.neox, c.norm, eq);
        CHECK_MSG(eo < 1e-7, "attn_prefill nh=%d nkv=%d hd=%d f16=%d: nmse %.3g", c.nh, c.nkv, c.hd, c.f16, eo);
        gpu_bindings_free(br), gpu_bindings_free(bp), gpu_kernel_free(kr), gpu_kernel_free(kp);
        gpu_buffer *bs[] = {bqkv, bqn, bkn, bcs, bq, bk, bv, bo};
        for (size_t i = 0; i < H_ARRAY_LEN(bs); i++) gpu_buffer_free(bs[i]);
        free(kc), free(vc), free(cs), free(qkv), free(q), free(kcr), free(vcr), free(out), free(kwords), free(vwords), free(zero);
    }
}

/* ---- sampling ---------------------------------------------------------------------------------- */

typedef struct smp_cfg {
    float temp;
    int top_k;
    float top_p, min_p;
} smp_cfg;

typedef struct cand_d {
    float w;
    int id;
} cand_d;

static int cand_cmp(const void *a, const void *b) {
    const cand_d *x = a, *y = b;
    if (x->w != y->w) return x->w > y->w ? -1 : 1;
    return x->id - y->id;
}

/* The CPU sampler's semantics (src/sampler.c) in double precision; *near = distance of the draw
 * from the nearest boundary between tokens (relative to the kept mass). */
static int ref_sample(const float *l, int n, smp_cfg c, float coin, double *near) {
    cand_d *cs = malloc(sizeof(cand_d) * (size_t)n);
    float inv = 1.0f / c.temp;
    double mx = -1e300, z = 0;
    for (int i = 0; i < n; i++) {
        cs[i].w = l[i] * inv;
        cs[i].id = i;
        if (cs[i].w > mx) mx = cs[i].w;
    }
    for (int i = 0; i < n; i++) z += exp(cs[i].w - mx);
    int use_k = c.top_k > 0 && c.top_k < n, use_p = c.top_p > 0 && c.top_p < 1, use_min = c.min_p > 0;
    *near = 1;
    int id = n - 1;
    if (!use_k && !use_p && !use_min) {
        double cdf = 0;
        for (int i = 0; i < n; i++) {
            double p = exp(l[i] * inv - mx) / z;
            if (fabs(coin - cdf) < *near) *near = fabs(coin - cdf);
            cdf += p;
            if (coin < cdf && id == n - 1 && i < n - 1) id = i;
        }
        if (fabs(coin - cdf) < *near) *near = fabs(coin - cdf);
        free(cs);
        return id;
    }
    qsort(cs, (size_t)n, sizeof *cs, cand_cmp);
    int nc = use_k ? c.top_k : n;
    if (!use_k && use_p) {
        double cutoff = (1.0 - c.top_p) / (n - 1);
        nc = 0;
        while (nc < n && exp(cs[nc].w - mx) / z >= cutoff) nc++;
    }
    if (use_p) {
        double cum = 0;
        int last = nc - 1;
        for (int i = 0; i < nc; i++) {
            cum += exp(cs[i].w - mx) / z;
            if (cum > c.top_p) {
                last = i;
                break;
            }
        }
        nc = last + 1;
    }
    if (use_min) {
        double fl = c.min_p * exp(cs[0].w - mx) / z;
        int keep = 1;
        while (keep < nc && exp(cs[keep].w - mx) / z >= fl) keep++;
        nc = keep;
    }
    double total = 0;
    for (int i = 0; i < nc; i++) total += exp(cs[i].w - mx) / z;
    double r = coin * total, cdf = 0;
    id = cs[nc - 1].id;
    int found = 0;
    for (int i = 0; i < nc; i++) {
        if (fabs(r - cdf) / total < *near) *near = fabs(r - cdf) / total;
        cdf += exp(cs[i].w - mx) / z;
        if (!found && r < cdf) id = cs[i].id, found = 1;
    }
    free(cs);
    return id;
}

static void test_sample(void) {
    if (!dev) return;
    smp_cfg cfgs[] = {{1.0f, 0, 1.0f, 0}, {0.8f, 40, 0.95f, 0.05f}, {1.5f, 0, 0.9f, 0}, {0.7f, 5, 1.0f, 0.2f},
                      {1.2f, 0, 1.0f, 0.1f}, {1.0f, 1, 1.0f, 0}};
    int sizes[] = {1000, 5000};
    gpu_kernel *k = kernel(dev, NULL, "sample", NULL, 0);
    uint32_t zero[64] = {0};
    gpu_buffer *bt = gtu_upload(dev, zero, sizeof zero), *bh = gtu_upload(dev, zero, sizeof zero);
    int checked = 0, near_ties = 0;
    for (size_t si = 0; si < H_ARRAY_LEN(sizes) && k; si++) {
        int n = sizes[si];
        float *l = malloc(sizeof(float) * (size_t)n);
        for (int i = 0; i < n; i++) l[i] = 2.5f * gtu_normal(&rng);
        l[7] = l[9] = 9.0f; /* a tie at the top: the lower id comes first */
        gpu_buffer *bl = gtu_upload(dev, l, sizeof(float) * (size_t)n);
        gpu_bindings *b = NULL;
        hearth_error err = {0, ""};
        gpu_bind bd[3] = {{bl, 0, 0}, {bt, 0, 0}, {bh, 0, 0}};
        if (gpu_bindings_create(dev, k, bd, 3, &b, &err)) continue;
        for (size_t ci = 0; ci < H_ARRAY_LEN(cfgs); ci++) {
            smp_cfg c = cfgs[ci];
            /* exact only with top_k or n <= 1024 candidates (documented in sample.wgsl) */
            if (n > 1024 && !(c.top_k > 0)) continue;
            int draws = gtu_full() ? 40 : 12;
            uint32_t expect[40];
            double near[40];
            for (int d = 0; d < draws; d++) {
                float coin = (float)(gtu_u32(&rng) >> 8) / 16777216.0f;
                expect[d] = (uint32_t)ref_sample(l, n, c, coin, &near[d]);
                uint32_t p[12] = {(uint32_t)n, 0, (uint32_t)(d % 16), 0, 0, (uint32_t)c.top_k, 0, 0, 0, 0, 0, 0};
                float inv = 1.0f / c.temp;
                memcpy(&p[4], &inv, 4);
                memcpy(&p[6], &c.top_p, 4);
                memcpy(&p[7], &c.min_p, 4);
                memcpy(&p[8], &coin, 4);
                gpu_dispatch(dev, k, b, p, sizeof p, 1, 1, 1);
                if (d % 16 == 15 || d == draws - 1) {
                    uint32_t got[16];
                    if (gtu_read(dev, bt, 0, got, sizeof got)) break;
                    for (int e = d - d % 16; e <= d; e++) {
                        /* float vs double sums move boundaries by ~1e-6: a draw that close to one
                         * may pick the neighbour; anything else must match */
                        int ok = got[e % 16] == expect[e] || near[e] < 1e-5;
                        near_ties += got[e % 16] != expect[e];
                        CHECK_MSG(ok, "sample n=%d cfg %zu draw %d: got %u, expected %u (distance %.3g)", n, ci, e,
                                  got[e % 16], expect[e], near[e]);
                        checked++;
                    }
                }
            }
        }
        gpu_bindings_free(b);
        gpu_buffer_free(bl);
        free(l);
    }
    CHECK(checked > 50);
    if (near_ties) fprintf(stderr, "  %d of %d draws within 1e-5 of a boundary differed\n", near_ties, checked);
    gpu_kernel_free(k);
    gpu_buffer_free(bt), gpu_buffer_free(bh);
}

int main(void) {
    dev = gtu_device(0);
    CHECK_MSG(dev != NULL, "a WebGPU adapter is required (SwiftShader: apt-get install chromium)");
    RUN(test_get_rows_ggml);
    RUN(test_matvec);
    RUN(test_matvec_qstream);
    RUN(test_matmul);
    RUN(test_matmul_q);
    RUN(test_rmsnorm_swiglu_argmax);
    RUN(test_attention_decode);
    RUN(test_rope_and_prefill_attention);
    RUN(test_sample);
    gpu_device_free(dev);
    return test_summary();
}
