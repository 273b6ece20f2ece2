/* quant.c — the ggml type table and the scalar reference for every supported tensor type:
 * dequantization, simple quantizers, activation quantization and block dot products. This file
 * is the specification; SIMD (src/cpu/) and WGSL kernels are tested against it. */
#include "quant.h"

#include "cpu/cpu.h"

#include <math.h>
#include <stdio.h>

static const quant_info infos[QT_COUNT] = {
    [QT_F32] = {"F32", 1, 4, 1},           [QT_F16] = {"F16", 1, 2, 1},
    [QT_Q4_0] = {"Q4_0", 32, 18, 1},       [QT_Q4_1] = {"Q4_1", 32, 20, 1},
    [QT_Q5_0] = {"Q5_0", 32, 22, 1},       [QT_Q5_1] = {"Q5_1", 32, 24, 1},
    [QT_Q8_0] = {"Q8_0", 32, 34, 1},       [QT_Q8_1] = {"Q8_1", 32, 36, 0},
    [QT_Q2_K] = {"Q2_K", 256, 84, 0},      [QT_Q3_K] = {"Q3_K", 256, 110, 0},
    [QT_Q4_K] = {"Q4_K", 256, 144, 1},     [QT_Q5_K] = {"Q5_K", 256, 176, 1},
    [QT_Q6_K] = {"Q6_K", 256, 210, 1},     [QT_Q8_K] = {"Q8_K", 256, 292, 0},
    [QT_IQ2_XXS] = {"IQ2_XXS", 256, 66, 0}, [QT_IQ2_XS] = {"IQ2_XS", 256, 74, 0},
    [QT_IQ3_XXS] = {"IQ3_XXS", 256, 98, 0}, [QT_IQ1_S] = {"IQ1_S", 256, 50, 0},
    [QT_IQ4_NL] = {"IQ4_NL", 32, 18, 0},   [QT_IQ3_S] = {"IQ3_S", 256, 110, 0},
    [QT_IQ2_S] = {"IQ2_S", 256, 82, 0},    [QT_IQ4_XS] = {"IQ4_XS", 256, 136, 0},
    [QT_I8] = {"I8", 1, 1, 0},             [QT_I16] = {"I16", 1, 2, 0},
    [QT_I32] = {"I32", 1, 4, 0},           [QT_I64] = {"I64", 1, 8, 0},
    [QT_F64] = {"F64", 1, 8, 0},           [QT_IQ1_M] = {"IQ1_M", 256, 56, 0},
    [QT_BF16] = {"BF16", 1, 2, 1},         [QT_TQ1_0] = {"TQ1_0", 256, 54, 0},
    [QT_TQ2_0] = {"TQ2_0", 256, 66, 0},    [QT_MXFP4] = {"MXFP4", 32, 17, 0},
};

const quant_info *quant_info_of(uint32_t type) {
    return type < QT_COUNT && infos[type].name ? &infos[type] : NULL;
}

const char *quant_type_name(uint32_t type) {
    const quant_info *qi = quant_info_of(type);
    return qi ? qi->name : "unknown";
}

size_t quant_row_bytes(uint32_t type, int64_t n) {
    const quant_info *qi = quant_info_of(type);
    if (!qi || n <= 0 || n % qi->block) return 0;
    return (size_t)(n / qi->block) * qi->bytes;
}

size_t quant_act_row_bytes(quant_act a, int64_t n) {
    switch (a) {
    case QA_F32: return (size_t)n * sizeof(float);
    case QA_Q8_32: return (size_t)((n + 31) / 32) * sizeof(act_q8_32);
    case QA_Q8_256: return (size_t)((n + 255) / 256) * sizeof(act_q8_256);
    }
    return 0;
}

quant_act quant_act_for(uint32_t type) {
    switch (type) {
    case QT_Q4_0: case QT_Q4_1: case QT_Q5_0: case QT_Q5_1: case QT_Q8_0: return QA_Q8_32;
    case QT_Q4_K: case QT_Q5_K: case QT_Q6_K: return QA_Q8_256;
    default: return QA_F32;
    }
}

void quant_k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

static inline float f16(uint16_t h) { return h_f16_to_f32(h); }

/* ---- dequantization -------------------------------------------------------------------------- */

void quant_dequant_row_ref(uint32_t type, const void *src, float *y, int64_t n) {
    const uint8_t *p = src;
    switch (type) {
    case QT_F32: memcpy(y, src, (size_t)n * 4); return;
    case QT_F16:
        for (int64_t i = 0; i < n; i++) y[i] = f16(h_rd_u16(p + 2 * i));
        return;
    case QT_BF16:
        for (int64_t i = 0; i < n; i++) y[i] = h_bf16_to_f32(h_rd_u16(p + 2 * i));
        return;
    case QT_Q4_0:
        for (int64_t b = 0; b < n / 32; b++, y += 32) {
            const blk_q4_0 *x = (const blk_q4_0 *)p + b;
            float d = f16(x->d);
            for (int j = 0; j < 16; j++) {
                y[j] = ((x->qs[j] & 0xF) - 8) * d;
                y[j + 16] = ((x->qs[j] >> 4) - 8) * d;
            }
        }
        return;
    case QT_Q4_1:
        for (int64_t b = 0; b < n / 32; b++, y += 32) {
            const blk_q4_1 *x = (const blk_q4_1 *)p + b;
            float d = f16(x->d), m = f16(x->m);
            for (int j = 0; j < 16; j++) {
                y[j] = (x->qs[j] & 0xF) * d + m;
                y[j + 16] = (x->qs[j] >> 4) * d + m;
            }
        }
        return;
    case QT_Q5_0:
        for (int64_t b = 0; b < n / 32; b++, y += 32) {
            const blk_q5_0 *x = (const blk_q5_0 *)p + b;
            float d = f16(x->d);
            uint32_t qh = h_rd_u32(x->qh);
            for (int j = 0; j < 16; j++) {
                int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
                y[j] = (((x->qs[j] & 0xF) | (h0 << 4)) - 16) * d;
                y[j + 16] = (((x->qs[j] >> 4) | (h1 << 4)) - 16) * d;
            }
        }
        return;
    case QT_Q5_1:
        for (int64_t b = 0; b < n / 32; b++, y += 32) {
            const blk_q5_1 *x = (const blk_q5_1 *)p + b;
            float d = f16(x->d), m = f16(x->m);
            uint32_t qh = h_rd_u32(x->qh);
            for (int j = 0; j < 16; j++) {
                int h0 = (qh >> j) & 1, h1 = (qh >> (j + 16)) & 1;
                y[j] = ((x->qs[j] & 0xF) | (h0 << 4)) * d + m;
                y[j + 16] = ((x->qs[j] >> 4) | (h1 << 4)) * d + m;
            }
        }
        return;
    case QT_Q8_0:
        for (int64_t b = 0; b < n / 32; b++, y += 32) {
            const blk_q8_0 *x = (const blk_q8_0 *)p + b;
            float d = f16(x->d);
            for (int j = 0; j < 32; j++) y[j] = x->qs[j] * d;
        }
        return;
    case QT_Q4_K:
        for (int64_t b = 0; b < n / QK_K; b++) {
            const blk_q4_k *x = (const blk_q4_k *)p + b;
            float d = f16(x->d), dmin = f16(x->dmin);
            const uint8_t *q = x->qs;
            for (int g = 0; g < 4; g++, q += 32, y += 64) {
                uint8_t sc0, m0, sc1, m1;
                quant_k4_scale_min(2 * g, x->scales, &sc0, &m0);
                quant_k4_scale_min(2 * g + 1, x->scales, &sc1, &m1);
                float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
                for (int l = 0; l < 32; l++) y[l] = d0 * (q[l] & 0xF) - mm0;
                for (int l = 0; l < 32; l++) y[l + 32] = d1 * (q[l] >> 4) - mm1;
            }
        }
        return;
    case QT_Q5_K:
        for (int64_t b = 0; b < n / QK_K; b++) {
            const blk_q5_k *x = (const blk_q5_k *)p + b;
            float d = f16(x->d), dmin = f16(x->dmin);
            const uint8_t *q = x->qs;
            for (int g = 0; g < 4; g++, q += 32, y += 64) {
                uint8_t sc0, m0, sc1, m1;
                quant_k4_scale_min(2 * g, x->scales, &sc0, &m0);
                quant_k4_scale_min(2 * g + 1, x->scales, &sc1, &m1);
                float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
                for (int l = 0; l < 32; l++)
                    y[l] = d0 * ((q[l] & 0xF) + (((x->qh[l] >> (2 * g)) & 1) << 4)) - mm0;
                for (int l = 0; l < 32; l++)
                    y[l + 32] = d1 * ((q[l] >> 4) + (((x->qh[l] >> (2 * g + 1)) & 1) << 4)) - mm1;
            }
        }
        return;
    case QT_Q6_K:
        for (int64_t b = 0; b < n / QK_K; b++) {
            const blk_q6_k *x = (const blk_q6_k *)p + b;
            float d = f16(x->d);
            for (int h = 0; h < 2; h++, y += 128) {
                const uint8_t *ql = x->ql + 64 * h, *qh = x->qh + 32 * h;
                const int8_t *sc = x->scales + 8 * h;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    y[l] = d * sc[is] * q1;
                    y[l + 32] = d * sc[is + 2] * q2;
                    y[l + 64] = d * sc[is + 4] * q3;
                    y[l + 96] = d * sc[is + 6] * q4;
                }
            }
        }
        return;
    default:
        for (int64_t i = 0; i < n; i++) y[i] = 0; /* unsupported: callers check types first */
        return;
    }
}

/* ---- simple quantizers (test data, synth) ------------------------------------------------------ */

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Largest-magnitude value with its sign. */
static float signed_absmax(const float *x, int n) {
    float m = 0, am = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > am) am = fabsf(x[i]), m = x[i];
    return m;
}

static void minmax(const float *x, int n, float *mn, float *mx) {
    *mn = x[0];
    *mx = x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < *mn) *mn = x[i];
        if (x[i] > *mx) *mx = x[i];
    }
}

static void quantize_k_scales(int levels, const float *x, blk_q4_k *out4, blk_q5_k *out5) {
    float scale[8], mins[8], maxs = 0, maxm = 0;
    for (int j = 0; j < 8; j++) {
        float mn, mx;
        minmax(x + 32 * j, 32, &mn, &mx);
        if (mn > 0) mn = 0;
        scale[j] = (mx - mn) / levels;
        mins[j] = -mn;
        if (scale[j] > maxs) maxs = scale[j];
        if (mins[j] > maxm) maxm = mins[j];
    }
    float d = maxs / 63, dmin = maxm / 63;
    uint8_t *scales = out4 ? out4->scales : out5->scales;
    uint8_t sc[8], m[8];
    memset(scales, 0, 12);
    for (int j = 0; j < 8; j++) {
        sc[j] = (uint8_t)(d > 0 ? clampi((int)nearbyintf(scale[j] / d), 0, 63) : 0);
        m[j] = (uint8_t)(dmin > 0 ? clampi((int)nearbyintf(mins[j] / dmin), 0, 63) : 0);
        if (j < 4) {
            scales[j] |= sc[j];
            scales[j + 4] |= m[j];
        } else {
            scales[j + 4] = (uint8_t)((sc[j] & 0xF) | ((m[j] & 0xF) << 4));
            scales[j - 4] |= (uint8_t)((sc[j] >> 4) << 6);
            scales[j] |= (uint8_t)((m[j] >> 4) << 6);
        }
    }
    uint16_t hd = h_f32_to_f16(d), hdm = h_f32_to_f16(dmin);
    float dd = h_f16_to_f32(hd), ddm = h_f16_to_f32(hdm);
    uint8_t *qs = out4 ? out4->qs : out5->qs;
    if (out4) out4->d = hd, out4->dmin = hdm;
    else out5->d = hd, out5->dmin = hdm, memset(out5->qh, 0, 32);
    memset(qs, 0, 128);
    for (int e = 0; e < QK_K; e++) {
        int j = e / 32;
        float s = dd * sc[j];
        int q = s > 0 ? clampi((int)nearbyintf((x[e] + ddm * m[j]) / s), 0, levels) : 0;
        int g = e / 64, l = e % 32, hi = (e % 64) >= 32;
        qs[32 * g + l] |= (uint8_t)((q & 0xF) << (hi ? 4 : 0));
        if (out5 && (q >> 4)) out5->qh[l] |= (uint8_t)(1 << (2 * g + hi));
    }
}

static void quantize_q6_k(const float *x, blk_q6_k *y) {
    float scale[16], maxabs = 0, ms = 0;
    for (int j = 0; j < 16; j++) {
        scale[j] = signed_absmax(x + 16 * j, 16) / -32;
        if (fabsf(scale[j]) > maxabs) maxabs = fabsf(scale[j]), ms = scale[j];
    }
    float d = ms / -127;
    int8_t sc[16];
    for (int j = 0; j < 16; j++)
        sc[j] = (int8_t)(d != 0 ? clampi((int)nearbyintf(scale[j] / d), -128, 127) : 0);
    y->d = h_f32_to_f16(d);
    float dd = h_f16_to_f32(y->d);
    memcpy(y->scales, sc, 16);
    memset(y->ql, 0, 128);
    memset(y->qh, 0, 64);
    for (int e = 0; e < QK_K; e++) {
        float s = dd * sc[e / 16];
        int q = (s != 0 ? clampi((int)nearbyintf(x[e] / s), -32, 31) : 0) + 32;
        int h = e / 128, r = e % 128, k = r / 32, l = r % 32;
        uint8_t *ql = y->ql + 64 * h, *qh = y->qh + 32 * h;
        ql[l + 32 * (k & 1)] |= (uint8_t)((q & 0xF) << (k >= 2 ? 4 : 0));
        qh[l] |= (uint8_t)((q >> 4) << (2 * k));
    }
}

int quant_quantize_row_ref(uint32_t type, const float *x, void *dst, int64_t n) {
    uint8_t *p = dst;
    switch (type) {
    case QT_F32: memcpy(dst, x, (size_t)n * 4); return HEARTH_OK;
    case QT_F16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = h_f32_to_f16(x[i]);
            memcpy(p + 2 * i, &h, 2);
        }
        return HEARTH_OK;
    case QT_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = h_f32_to_bf16(x[i]);
            memcpy(p + 2 * i, &h, 2);
        }
        return HEARTH_OK;
    case QT_Q4_0: case QT_Q5_0:
        for (int64_t b = 0; b < n / 32; b++, x += 32) {
            int five = type == QT_Q5_0;
            float d = signed_absmax(x, 32) / (five ? -16 : -8), id = d != 0 ? 1 / d : 0;
            uint8_t qs[16] = {0};
            uint32_t qh = 0;
            for (int j = 0; j < 32; j++) {
                int q = clampi((int)(x[j] * id + (five ? 16.5f : 8.5f)), 0, five ? 31 : 15);
                qs[j % 16] |= (uint8_t)((q & 0xF) << (j < 16 ? 0 : 4));
                if (q >> 4) qh |= 1u << j;
            }
            if (five) {
                blk_q5_0 *y = (blk_q5_0 *)p + b;
                y->d = h_f32_to_f16(d);
                memcpy(y->qh, &qh, 4);
                memcpy(y->qs, qs, 16);
            } else {
                blk_q4_0 *y = (blk_q4_0 *)p + b;
                y->d = h_f32_to_f16(d);
                memcpy(y->qs, qs, 16);
            }
        }
        return HEARTH_OK;
    case QT_Q4_1: case QT_Q5_1:
        for (int64_t b = 0; b < n / 32; b++, x += 32) {
            int five = type == QT_Q5_1, levels = five ? 31 : 15;
            float mn, mx;
            minmax(x, 32, &mn, &mx);
            float d = (mx - mn) / levels, id = d != 0 ? 1 / d : 0;
            uint8_t qs[16] = {0};
            uint32_t qh = 0;
            for (int j = 0; j < 32; j++) {
                int q = clampi((int)((x[j] - mn) * id + 0.5f), 0, levels);
                qs[j % 16] |= (uint8_t)((q & 0xF) << (j < 16 ? 0 : 4));
                if (q >> 4) qh |= 1u << j;
            }
            if (five) {
                blk_q5_1 *y = (blk_q5_1 *)p + b;
                y->d = h_f32_to_f16(d), y->m = h_f32_to_f16(mn);
                memcpy(y->qh, &qh, 4);
                memcpy(y->qs, qs, 16);
            } else {
                blk_q4_1 *y = (blk_q4_1 *)p + b;
                y->d = h_f32_to_f16(d), y->m = h_f32_to_f16(mn);
                memcpy(y->qs, qs, 16);
            }
        }
        return HEARTH_OK;
    case QT_Q8_0:
        for (int64_t b = 0; b < n / 32; b++, x += 32) {
            blk_q8_0 *y = (blk_q8_0 *)p + b;
            float am = fabsf(signed_absmax(x, 32)), d = am / 127, id = d != 0 ? 1 / d : 0;
            y->d = h_f32_to_f16(d);
            for (int j = 0; j < 32; j++) y->qs[j] = (int8_t)clampi((int)nearbyintf(x[j] * id), -127, 127);
        }
        return HEARTH_OK;
    case QT_Q4_K:
        for (int64_t b = 0; b < n / QK_K; b++) quantize_k_scales(15, x + b * QK_K, (blk_q4_k *)p + b, NULL);
        return HEARTH_OK;
    case QT_Q5_K:
        for (int64_t b = 0; b < n / QK_K; b++) quantize_k_scales(31, x + b * QK_K, NULL, (blk_q5_k *)p + b);
        return HEARTH_OK;
    case QT_Q6_K:
        for (int64_t b = 0; b < n / QK_K; b++) quantize_q6_k(x + b * QK_K, (blk_q6_k *)p + b);
        return HEARTH_OK;
    default: return HEARTH_ERR_UNSUPPORTED;
    }
}

/* ---- activations ------------------------------------------------------------------------------- */

/* Quantizes one block of k floats to int8 with scale amax/127 (round half to even). */
static float q8_block(const float *x, int k, int8_t *q) {
    float amax = 0;
    for (int i = 0; i < k; i++) amax = fmaxf(amax, fabsf(x[i]));
    float d = amax / 127.0f, id = d != 0 ? 127.0f / amax : 0;
    for (int i = 0; i < k; i++) q[i] = (int8_t)nearbyintf(x[i] * id);
    return d;
}

void quant_act_row_ref(quant_act a, const float *x, void *dst, int64_t n) {
    if (a == QA_F32) {
        memcpy(dst, x, (size_t)n * 4);
    } else if (a == QA_Q8_32) {
        act_q8_32 *y = dst;
        for (int64_t b = 0; b < n / 32; b++) {
            y[b].d = q8_block(x + 32 * b, 32, y[b].qs);
            int s = 0;
            for (int i = 0; i < 32; i++) s += y[b].qs[i];
            y[b].s = y[b].d * (float)s;
        }
    } else {
        act_q8_256 *y = dst;
        for (int64_t b = 0; b < n / 256; b++) {
            y[b].d = q8_block(x + 256 * b, 256, y[b].qs);
            for (int g = 0; g < 16; g++) {
                int s = 0;
                for (int i = 0; i < 16; i++) s += y[b].qs[16 * g + i];
                y[b].bsums[g] = (int16_t)s;
            }
        }
    }
}

/* ---- dot products ------------------------------------------------------------------------------ */

/* Weight values of one 32-block as integers (Q4_0..Q8_0), plus scale d and offset m. */
static void unpack32(uint32_t type, const uint8_t *blk, int q[32], float *d, float *m) {
    *m = 0;
    switch (type) {
    case QT_Q4_0: {
        const blk_q4_0 *x = (const blk_q4_0 *)blk;
        *d = f16(x->d);
        for (int j = 0; j < 16; j++) q[j] = (x->qs[j] & 0xF) - 8, q[j + 16] = (x->qs[j] >> 4) - 8;
        break;
    }
    case QT_Q4_1: {
        const blk_q4_1 *x = (const blk_q4_1 *)blk;
        *d = f16(x->d), *m = f16(x->m);
        for (int j = 0; j < 16; j++) q[j] = x->qs[j] & 0xF, q[j + 16] = x->qs[j] >> 4;
        break;
    }
    case QT_Q5_0: case QT_Q5_1: {
        int five1 = type == QT_Q5_1;
        const uint8_t *qh_p = five1 ? ((const blk_q5_1 *)blk)->qh : ((const blk_q5_0 *)blk)->qh;
        const uint8_t *qs = five1 ? ((const blk_q5_1 *)blk)->qs : ((const blk_q5_0 *)blk)->qs;
        uint32_t qh = h_rd_u32(qh_p);
        *d = f16(h_rd_u16(blk));
        if (five1) *m = f16(h_rd_u16(blk + 2));
        int off = five1 ? 0 : 16;
        for (int j = 0; j < 16; j++) {
            q[j] = ((qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4)) - off;
            q[j + 16] = ((qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4)) - off;
        }
        break;
    }
    case QT_Q8_0: {
        const blk_q8_0 *x = (const blk_q8_0 *)blk;
        *d = f16(x->d);
        for (int j = 0; j < 32; j++) q[j] = x->qs[j];
        break;
    }
    }
}

float quant_dot_ref(uint32_t type, const void *w, const void *act, int64_t n) {
    const uint8_t *p = w;
    float sum = 0;
    switch (type) {
    case QT_F32: {
        const float *x = act;
        for (int64_t i = 0; i < n; i++) {
            float v;
            memcpy(&v, p + 4 * i, 4);
            sum += v * x[i];
        }
        return sum;
    }
    case QT_F16: case QT_BF16: {
        const float *x = act;
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = h_rd_u16(p + 2 * i);
            sum += (type == QT_F16 ? f16(h) : h_bf16_to_f32(h)) * x[i];
        }
        return sum;
    }
    case QT_Q4_0: case QT_Q4_1: case QT_Q5_0: case QT_Q5_1: case QT_Q8_0: {
        const act_q8_32 *a = act;
        size_t bytes = infos[type].bytes;
        for (int64_t b = 0; b < n / 32; b++) {
            int q[32], isum = 0;
            float d, m;
            unpack32(type, p + b * bytes, q, &d, &m);
            for (int j = 0; j < 32; j++) isum += q[j] * a[b].qs[j];
            sum += d * a[b].d * (float)isum + m * a[b].s;
        }
        return sum;
    }
    case QT_Q4_K: case QT_Q5_K: {
        const act_q8_256 *a = act;
        for (int64_t b = 0; b < n / QK_K; b++) {
            const uint8_t *blk = p + b * infos[type].bytes;
            const blk_q4_k *x4 = (const blk_q4_k *)blk;
            const blk_q5_k *x5 = (const blk_q5_k *)blk;
            const uint8_t *scales = type == QT_Q4_K ? x4->scales : x5->scales;
            const uint8_t *qs = type == QT_Q4_K ? x4->qs : x5->qs;
            int isc = 0, imin = 0;
            for (int j = 0; j < 8; j++) {
                uint8_t sc, m;
                quant_k4_scale_min(j, scales, &sc, &m);
                int g = j / 2, hi = j & 1, s = 0;
                for (int l = 0; l < 32; l++) {
                    int q = hi ? qs[32 * g + l] >> 4 : qs[32 * g + l] & 0xF;
                    if (type == QT_Q5_K) q += ((x5->qh[l] >> j) & 1) << 4;
                    s += q * a[b].qs[32 * j + l];
                }
                isc += sc * s;
                imin += m * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
            }
            sum += f16(x4->d) * a[b].d * (float)isc - f16(x4->dmin) * a[b].d * (float)imin;
        }
        return sum;
    }
    case QT_Q6_K: {
        const act_q8_256 *a = act;
        for (int64_t b = 0; b < n / QK_K; b++) {
            const blk_q6_k *x = (const blk_q6_k *)(p + b * sizeof(blk_q6_k));
            int isum = 0;
            for (int e16 = 0; e16 < 16; e16++) {
                int s = 0;
                for (int i = 0; i < 16; i++) {
                    int e = 16 * e16 + i, h = e / 128, r = e % 128, k = r / 32, l = r % 32;
                    const uint8_t *ql = x->ql + 64 * h, *qh = x->qh + 32 * h;
                    int lo = (ql[l + 32 * (k & 1)] >> (k >= 2 ? 4 : 0)) & 0xF;
                    int q = (lo | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
                    s += q * a[b].qs[e];
                }
                isum += x->scales[e16] * s;
            }
            sum += f16(x->d) * a[b].d * (float)isum;
        }
        return sum;
    }
    default: return 0;
    }
}

/* ---- reference kernels ------------------------------------------------------------------------- */

#define REF_KERNELS(T, NAME)                                                                        \
    static void ref_qa_##NAME(const float *x, void *dst, int64_t n) {                              \
        quant_act_row_ref(quant_act_for(T), x, dst, n);                                            \
    }                                                                                              \
    static void ref_gemv_##NAME(const void *w, size_t rb, const void *act, float *y, int64_t n,    \
                                int64_t r0, int64_t r1) {                                          \
        for (int64_t r = r0; r < r1; r++)                                                          \
            y[r - r0] = quant_dot_ref(T, (const uint8_t *)w + (size_t)r * rb, act, n);             \
    }                                                                                              \
    static void ref_gemm_##NAME(const void *w, size_t rb, const void *act, size_t as, int nt,      \
                                float *y, size_t ldy, int64_t n, int64_t r0, int64_t r1) {         \
        for (int t = 0; t < nt; t++)                                                               \
            for (int64_t r = r0; r < r1; r++)                                                      \
                y[(size_t)t * ldy + (size_t)r] =                                                   \
                    quant_dot_ref(T, (const uint8_t *)w + (size_t)r * rb,                          \
                                  (const uint8_t *)act + (size_t)t * as, n);                       \
    }

REF_KERNELS(QT_F32, f32)
REF_KERNELS(QT_F16, f16)
REF_KERNELS(QT_BF16, bf16)
REF_KERNELS(QT_Q4_0, q4_0)
REF_KERNELS(QT_Q4_1, q4_1)
REF_KERNELS(QT_Q5_0, q5_0)
REF_KERNELS(QT_Q5_1, q5_1)
REF_KERNELS(QT_Q8_0, q8_0)
REF_KERNELS(QT_Q4_K, q4_k)
REF_KERNELS(QT_Q5_K, q5_k)
REF_KERNELS(QT_Q6_K, q6_k)

#define REF_ENTRY(T, NAME, ACT) [T] = {T, ACT, "ref", ref_qa_##NAME, ref_gemv_##NAME, ref_gemm_##NAME}

static const quant_kernels ref_table[QT_COUNT] = {
    REF_ENTRY(QT_F32, f32, QA_F32),        REF_ENTRY(QT_F16, f16, QA_F32),
    REF_ENTRY(QT_BF16, bf16, QA_F32),      REF_ENTRY(QT_Q4_0, q4_0, QA_Q8_32),
    REF_ENTRY(QT_Q4_1, q4_1, QA_Q8_32),    REF_ENTRY(QT_Q5_0, q5_0, QA_Q8_32),
    REF_ENTRY(QT_Q5_1, q5_1, QA_Q8_32),    REF_ENTRY(QT_Q8_0, q8_0, QA_Q8_32),
    REF_ENTRY(QT_Q4_K, q4_k, QA_Q8_256),   REF_ENTRY(QT_Q5_K, q5_k, QA_Q8_256),
    REF_ENTRY(QT_Q6_K, q6_k, QA_Q8_256),
};

static int force_ref;

const quant_kernels *quant_kernels_ref(uint32_t type) {
    if (type >= QT_COUNT || !ref_table[type].gemv) return NULL;
    return &ref_table[type];
}

const quant_kernels *quant_kernels_for(uint32_t type) {
    const quant_kernels *k = quant_kernels_ref(type);
    if (!k || force_ref) return k;
    const quant_kernels *fast = cpu_kernels_for(type);
    return fast ? fast : k;
}

void quant_force_reference(int on) { force_ref = on; }

const char *quant_simd_name(void) { return force_ref ? "scalar" : cpu_simd_name(); }

float quant_dot_f32(const float *a, const float *b, int64_t n) {
    if (!force_ref) return cpu_dot_f32(a, b, n);
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
