/* test_quant_ref.c — the scalar reference dequantization reproduces ggml's own dequantization
 * (the ref.* tensors of gguf-tensor-types.gguf) bit for bit for every type, and the reference
 * quantizers + dot products agree with dequantize-then-multiply within stated tolerances. */
#include "test.h"

#include "gguf.h"
#include "quant.h"

static void test_dequant_matches_ggml(void) {
    char path[512];
    hearth_source src;
    hearth_error err = {0};
    CHECK(hearth_source_open_file(&src, test_path(path, sizeof path, "models/gguf-tensor-types.gguf"), &err) == 0);
    gguf_file *g = NULL;
    CHECK_MSG(gguf_open(&g, &src, &err) == 0, "%s", err.msg);
    if (!g) return;
    int compared = 0, types_seen[QT_COUNT] = {0};
    for (uint64_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        if (strncmp(t->name, "q.", 2) != 0) continue;
        char refname[256];
        snprintf(refname, sizeof refname, "ref.%s", t->name);
        const gguf_tensor *r = gguf_find_tensor(g, refname);
        CHECK_MSG(r != NULL, "%s missing", refname);
        if (!r) continue;
        CHECK_EQ_INT(r->n_elements, t->n_elements);
        const uint8_t *q = src.map(src.ctx, t->offset, t->size);
        const float *ref = src.map(src.ctx, r->offset, r->size);
        float *out = malloc(t->n_elements * sizeof(float));
        int64_t row = (int64_t)t->ne[0], rows = (int64_t)(t->n_elements / t->ne[0]);
        size_t rb = quant_row_bytes(t->type, row);
        for (int64_t k = 0; k < rows; k++) quant_dequant_row_ref(t->type, q + k * rb, out + k * row, row);
        int bad = 0;
        for (uint64_t e = 0; e < t->n_elements; e++)
            if (memcmp(&out[e], &ref[e], 4) != 0 && !(isnan(out[e]) && isnan(ref[e]))) bad++;
        CHECK_MSG(bad == 0, "%s: %d of %llu values differ from ggml", t->name, bad,
                  (unsigned long long)t->n_elements);
        free(out);
        compared++;
        types_seen[t->type] = 1;
    }
    int ntypes = 0;
    for (int i = 0; i < QT_COUNT; i++) ntypes += types_seen[i];
    CHECK_EQ_INT(ntypes, 11); /* F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q5_K Q6_K */
    CHECK(compared >= 25);
    gguf_close(g);
    hearth_source_close(&src);
}

/* Deterministic pseudo-random floats (xorshift) with a few large outliers. */
static uint64_t rng = 88172645463325252ull;
static float frand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
}

/* quantize -> dequantize round trip error is within each format's step; the block dot product
 * with quantized activations is close to the exact dot of the dequantized weights. */
static void test_quantize_and_dot(void) {
    const uint32_t types[] = {QT_F32, QT_F16, QT_BF16, QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q5_1, QT_Q8_0, QT_Q4_K, QT_Q5_K, QT_Q6_K};
    /* max |x - dequant(quant(x))| relative to the block's max |x|: half a quantization step
     * (1/15, 1/31, 1/127 of the range), plus the f16 rounding of the scales; K-quants also
     * round their sub-block scales to 6 bits, so they get a looser bound. */
    const double roundtrip_tol[] = {0, 1e-3, 8e-3, 0.07, 0.07, 0.035, 0.035, 0.0045, 0.13, 0.07, 0.05};
    const int n = 1024;
    float x[1024], a[1024], back[1024];
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        uint32_t t = types[ti];
        for (int i = 0; i < n; i++) x[i] = frand() * (i % 97 == 0 ? 4.0f : 1.0f), a[i] = frand();
        uint8_t w[8192];
        CHECK(quant_quantize_row_ref(t, x, w, n) == 0);
        quant_dequant_row_ref(t, w, back, n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double blockmax = 0;
            int b0 = i / 256 * 256;
            for (int j = b0; j < b0 + 256; j++) blockmax = fmax(blockmax, fabs(x[j]));
            worst = fmax(worst, fabs(x[i] - back[i]) / blockmax);
        }
        CHECK_MSG(worst <= roundtrip_tol[ti], "%s round trip error %.4g > %.4g", quant_type_name(t), worst, roundtrip_tol[ti]);
        /* exact dot of the dequantized weights vs the kernel with quantized activations:
         * activation rounding adds at most 1/254 of each block's max |a| per element. */
        double exact = 0, l1 = 0;
        for (int i = 0; i < n; i++) exact += (double)back[i] * a[i], l1 += fabs(back[i]);
        const quant_kernels *k = quant_kernels_ref(t);
        CHECK(k != NULL);
        uint8_t act[8192];
        k->quantize_act(a, act, n);
        float got = quant_dot_ref(t, w, act, n);
        double tol = k->act == QA_F32 ? 1e-5 * l1 : l1 / 254.0 * 1.0 + 1e-5 * l1;
        CHECK_MSG(fabs(got - exact) <= tol, "%s dot %.6g vs exact %.6g (tol %.3g)", quant_type_name(t), got, exact, tol);
    }
}

int main(void) {
    RUN(test_dequant_matches_ggml);
    RUN(test_quantize_and_dot);
    return test_summary();
}
