/* gpu_pack.c — repacking of ggml weight rows into the GPU row layouts of src/gpu/wgsl/wq_*.wgsl:
 * block bodies first (16-byte aligned), then per-block scales, rows padded to 16 bytes. */
#include "gpu/gpu_pack.h"

#include "quant.h"

typedef struct pack_info {
    uint32_t type;
    const char *module;
    uint32_t body_words; /* words of block bodies per block (0: float rows) */
    uint32_t aux_halves; /* f16-sized aux entries per block after the bodies */
    int has_int;
} pack_info;

/* aux_halves: Q4_0/Q8_0/Q6_K: d (1 half); Q4_1: d,m (2); Q5_0: qh (2) + d (1) in two regions;
 * Q5_1: qh (2) + dm (2). Regions are laid out in that order, each region of nb entries. */
static const pack_info infos[] = {
    {QT_F32, "wq_f32", 0, 0, 0},    {QT_F16, "wq_f16", 0, 0, 0},    {QT_BF16, "wq_bf16", 0, 0, 0},
    {QT_Q8_0, "wq_q8_0", 8, 1, 1},  {QT_Q4_0, "wq_q4_0", 4, 1, 1},  {QT_Q4_1, "wq_q4_1", 4, 2, 1},
    {QT_Q5_0, "wq_q5_0", 4, 3, 1},  {QT_Q5_1, "wq_q5_1", 4, 4, 1},  {QT_Q4_K, "wq_q4_k", 36, 0, 1},
    {QT_Q5_K, "wq_q5_k", 44, 0, 1}, {QT_Q6_K, "wq_q6_k", 52, 1, 1},
};

static const pack_info *info_of(uint32_t type) {
    for (size_t i = 0; i < H_ARRAY_LEN(infos); i++)
        if (infos[i].type == type) return &infos[i];
    return NULL;
}

int gpu_pack_supported(uint32_t type) { return info_of(type) != NULL; }
const char *gpu_pack_module(uint32_t type) {
    const pack_info *pi = info_of(type);
    return pi ? pi->module : NULL;
}
int gpu_pack_has_int(uint32_t type) {
    const pack_info *pi = info_of(type);
    return pi && pi->has_int;
}

static uint64_t raw_words(const pack_info *pi, int64_t n) {
    if (pi->body_words == 0) return pi->type == QT_F32 ? (uint64_t)n : (uint64_t)n / 2;
    uint64_t nb = (uint64_t)n / quant_info_of(pi->type)->block;
    uint64_t w = nb * pi->body_words;
    switch (pi->type) {
    case QT_Q4_1: w += nb; break;                    /* dm words */
    case QT_Q5_0: w += nb + (nb + 1) / 2; break;     /* qh words, d halves */
    case QT_Q5_1: w += 2 * nb; break;                /* qh words, dm words */
    case QT_Q4_K: case QT_Q5_K: break;              /* scales inside the blocks */
    default: w += (nb + 1) / 2; break;               /* d halves (Q8_0, Q4_0, Q6_K) */
    }
    return w;
}

int gpu_pack_row_words(uint32_t type, int64_t n, uint32_t *words, hearth_error *err) {
    const pack_info *pi = info_of(type);
    if (!pi) return h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: tensor type %s is not supported on the GPU",
                          quant_type_name(type));
    uint32_t block = quant_info_of(type)->block;
    if (n <= 0 || n % block || (pi->body_words == 0 && n % 4) || n > (1 << 26))
        return h_err(err, HEARTH_ERR_UNSUPPORTED, "webgpu: %s rows of %lld elements are not supported "
                     "(need a multiple of %u%s)", quant_type_name(type), (long long)n, block,
                     pi->body_words == 0 ? " and of 4" : "");
    *words = (uint32_t)((raw_words(pi, n) + 3) & ~(uint64_t)3);
    return HEARTH_OK;
}

static void put_half(uint32_t *row, uint64_t base_word, uint64_t i, uint16_t h) {
    uint32_t *w = &row[base_word + i / 2];
    if (i & 1) *w = (*w & 0xFFFFu) | ((uint32_t)h << 16);
    else *w = (*w & 0xFFFF0000u) | h;
}

static void pack_row(const pack_info *pi, int64_t n, const uint8_t *s, uint32_t *row, uint32_t words) {
    memset(row, 0, (size_t)words * 4);
    if (pi->body_words == 0) {
        memcpy(row, s, pi->type == QT_F32 ? (size_t)n * 4 : (size_t)n * 2); /* little-endian host */
        return;
    }
    const quant_info *qi = quant_info_of(pi->type);
    uint64_t nb = (uint64_t)n / qi->block;
    uint64_t aux = nb * pi->body_words; /* first word after the bodies */
    for (uint64_t b = 0; b < nb; b++) {
        const uint8_t *blk = s + b * qi->bytes;
        uint8_t *body = (uint8_t *)(row + b * pi->body_words);
        switch (pi->type) {
        case QT_Q8_0:
            memcpy(body, blk + 2, 32);
            put_half(row, aux, b, h_rd_u16(blk));
            break;
        case QT_Q4_0:
            memcpy(body, blk + 2, 16);
            put_half(row, aux, b, h_rd_u16(blk));
            break;
        case QT_Q4_1:
            memcpy(body, blk + 4, 16);
            row[aux + b] = h_rd_u32(blk); /* d | m << 16 */
            break;
        case QT_Q5_0:
            memcpy(body, blk + 6, 16);
            row[aux + b] = h_rd_u32(blk + 2);
            put_half(row, aux + nb, b, h_rd_u16(blk));
            break;
        case QT_Q5_1:
            memcpy(body, blk + 8, 16);
            row[aux + b] = h_rd_u32(blk + 4);
            row[aux + nb + b] = h_rd_u32(blk);
            break;
        case QT_Q4_K: case QT_Q5_K:
            memcpy(body, blk, qi->bytes);
            break;
        case QT_Q6_K:
            memcpy(body, blk, 208); /* ql, qh, scales; d follows at 208 */
            put_half(row, aux, b, h_rd_u16(blk + 208));
            break;
        }
    }
}

void gpu_pack_rows(uint32_t type, int64_t n, const void *src, int64_t nrows, uint32_t *dst) {
    const pack_info *pi = info_of(type);
    uint32_t words;
    if (!pi || gpu_pack_row_words(type, n, &words, NULL)) return;
    size_t rb = quant_row_bytes(type, n);
    for (int64_t r = 0; r < nrows; r++)
        pack_row(pi, n, (const uint8_t *)src + (size_t)r * rb, dst + (size_t)r * words, words);
}
