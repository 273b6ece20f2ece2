/* gguf_writer.c — test-support GGUF writer (see gguf_writer.h): little-endian encoders, metadata
 * and tensor-info encoding, data layout with alignment padding, and a map of field offsets. */
#include "gguf_writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "gguf_writer: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

/* ---- byte buffer ---------------------------------------------------------------------------- */

void gw_buf_free(gw_buf *b) {
    if (!b) return;
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void reserve(gw_buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void gw_put(gw_buf *b, const void *p, size_t n) {
    reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

void gw_put_zeros(gw_buf *b, size_t n) {
    reserve(b, n);
    memset(b->data + b->len, 0, n);
    b->len += n;
}

void gw_put_u8(gw_buf *b, uint8_t v) { gw_put(b, &v, 1); }

void gw_put_u16(gw_buf *b, uint16_t v) {
    uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    gw_put(b, p, 2);
}

void gw_put_u32(gw_buf *b, uint32_t v) {
    uint8_t p[4];
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
    gw_put(b, p, 4);
}

void gw_put_u64(gw_buf *b, uint64_t v) {
    uint8_t p[8];
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
    gw_put(b, p, 8);
}

void gw_put_f32(gw_buf *b, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    gw_put_u32(b, u);
}

void gw_put_f64(gw_buf *b, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    gw_put_u64(b, u);
}

void gw_put_strn(gw_buf *b, const void *s, uint64_t n) {
    gw_put_u64(b, n);
    gw_put(b, s, (size_t)n);
}

void gw_put_str(gw_buf *b, const char *s) { gw_put_strn(b, s, strlen(s)); }

void gw_put_arr_header(gw_buf *b, uint32_t elem_type, uint64_t n) {
    gw_put_u32(b, elem_type);
    gw_put_u64(b, n);
}

void gw_set_u8(gw_buf *b, size_t off, uint8_t v) {
    if (off < b->len) b->data[off] = v;
}

void gw_set_u32(gw_buf *b, size_t off, uint32_t v) {
    if (off + 4 > b->len) return;
    for (int i = 0; i < 4; i++) b->data[off + i] = (uint8_t)(v >> (8 * i));
}

void gw_set_u64(gw_buf *b, size_t off, uint64_t v) {
    if (off + 8 > b->len) return;
    for (int i = 0; i < 8; i++) b->data[off + i] = (uint8_t)(v >> (8 * i));
}

void gw_truncate(gw_buf *b, size_t len) {
    if (len < b->len) b->len = len;
}

/* ---- ggml type sizes (facts of the format, written here independently of src/quant.c) ------- */

typedef struct { uint8_t id; uint16_t block, bytes; } type_size;
static const type_size type_sizes[] = {
    {GW_T_F32, 1, 4},      {GW_T_F16, 1, 2},      {GW_T_Q4_0, 32, 18},   {GW_T_Q4_1, 32, 20},
    {GW_T_Q5_0, 32, 22},   {GW_T_Q5_1, 32, 24},   {GW_T_Q8_0, 32, 34},   {GW_T_Q8_1, 32, 36},
    {GW_T_Q2_K, 256, 84},  {GW_T_Q3_K, 256, 110}, {GW_T_Q4_K, 256, 144}, {GW_T_Q5_K, 256, 176},
    {GW_T_Q6_K, 256, 210}, {GW_T_Q8_K, 256, 292}, {GW_T_I8, 1, 1},       {GW_T_I16, 1, 2},
    {GW_T_I32, 1, 4},      {GW_T_I64, 1, 8},      {GW_T_F64, 1, 8},      {GW_T_BF16, 1, 2},
};

static const type_size *find_type(uint32_t type) {
    for (size_t i = 0; i < sizeof type_sizes / sizeof type_sizes[0]; i++)
        if (type_sizes[i].id == type) return &type_sizes[i];
    return NULL;
}

uint32_t gw_type_block(uint32_t type) {
    const type_size *t = find_type(type);
    return t ? t->block : 0;
}

uint32_t gw_type_block_bytes(uint32_t type) {
    const type_size *t = find_type(type);
    return t ? t->bytes : 0;
}

uint64_t gw_type_size(uint32_t type, uint64_t n) {
    const type_size *t = find_type(type);
    if (!t || n % t->block) return 0;
    return n / t->block * t->bytes;
}

/* ---- writer --------------------------------------------------------------------------------- */

void gw_init(gguf_writer *w) {
    memset(w, 0, sizeof *w);
    w->magic = 0x46554747u; /* "GGUF" */
    w->version = 3;
    w->alignment = 32;
}

void gw_free(gguf_writer *w) {
    if (!w) return;
    gw_buf_free(&w->kv);
    free(w->kv_starts);
    free(w->kv_type_rel);
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        free(w->tensors[i].name);
        free(w->tensors[i].data);
    }
    free(w->tensors);
    memset(w, 0, sizeof *w);
}

void gw_kv_raw(gguf_writer *w, const void *key, uint64_t key_len, uint32_t type, const void *value,
               size_t value_len) {
    if (w->n_kv == w->cap_kv) {
        w->cap_kv = w->cap_kv ? w->cap_kv * 2 : 16;
        w->kv_starts = xrealloc(w->kv_starts, w->cap_kv * sizeof *w->kv_starts);
        w->kv_type_rel = xrealloc(w->kv_type_rel, w->cap_kv * sizeof *w->kv_type_rel);
    }
    w->kv_starts[w->n_kv] = w->kv.len;
    gw_put_strn(&w->kv, key, key_len);
    w->kv_type_rel[w->n_kv] = w->kv.len;
    gw_put_u32(&w->kv, type);
    gw_put(&w->kv, value, value_len);
    w->n_kv++;
}

static void kv_scalar(gguf_writer *w, const char *key, uint32_t type, uint64_t bits, int size) {
    uint8_t p[8];
    for (int i = 0; i < size; i++) p[i] = (uint8_t)(bits >> (8 * i));
    gw_kv_raw(w, key, strlen(key), type, p, (size_t)size);
}

void gw_kv_u8(gguf_writer *w, const char *key, uint8_t v) { kv_scalar(w, key, GW_UINT8, v, 1); }
void gw_kv_i8(gguf_writer *w, const char *key, int8_t v) { kv_scalar(w, key, GW_INT8, (uint8_t)v, 1); }
void gw_kv_u16(gguf_writer *w, const char *key, uint16_t v) { kv_scalar(w, key, GW_UINT16, v, 2); }
void gw_kv_i16(gguf_writer *w, const char *key, int16_t v) { kv_scalar(w, key, GW_INT16, (uint16_t)v, 2); }
void gw_kv_u32(gguf_writer *w, const char *key, uint32_t v) { kv_scalar(w, key, GW_UINT32, v, 4); }
void gw_kv_i32(gguf_writer *w, const char *key, int32_t v) { kv_scalar(w, key, GW_INT32, (uint32_t)v, 4); }
void gw_kv_u64(gguf_writer *w, const char *key, uint64_t v) { kv_scalar(w, key, GW_UINT64, v, 8); }
void gw_kv_i64(gguf_writer *w, const char *key, int64_t v) { kv_scalar(w, key, GW_INT64, (uint64_t)v, 8); }
void gw_kv_bool(gguf_writer *w, const char *key, int v) { kv_scalar(w, key, GW_BOOL, v ? 1 : 0, 1); }

void gw_kv_f32(gguf_writer *w, const char *key, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    kv_scalar(w, key, GW_FLOAT32, u, 4);
}

void gw_kv_f64(gguf_writer *w, const char *key, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    kv_scalar(w, key, GW_FLOAT64, u, 8);
}

void gw_kv_strn(gguf_writer *w, const char *key, const void *s, uint64_t n) {
    gw_buf v = {0};
    gw_put_strn(&v, s, n);
    gw_kv_raw(w, key, strlen(key), GW_STRING, v.data, v.len);
    gw_buf_free(&v);
}

void gw_kv_str(gguf_writer *w, const char *key, const char *s) { gw_kv_strn(w, key, s, strlen(s)); }

static int scalar_size(uint32_t type) {
    switch (type) {
    case GW_UINT8: case GW_INT8: case GW_BOOL: return 1;
    case GW_UINT16: case GW_INT16: return 2;
    case GW_UINT32: case GW_INT32: case GW_FLOAT32: return 4;
    case GW_UINT64: case GW_INT64: case GW_FLOAT64: return 8;
    default: return 0;
    }
}

void gw_kv_arr(gguf_writer *w, const char *key, uint32_t elem_type, uint64_t n, const void *elems) {
    gw_buf v = {0};
    gw_put_arr_header(&v, elem_type, n);
    int sz = scalar_size(elem_type);
    const uint8_t *p = elems;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t bits = 0;
        switch (sz) { /* host values to little-endian, whatever the host */
        case 1: bits = p[i]; break;
        case 2: { uint16_t x; memcpy(&x, p + 2 * i, 2); bits = x; break; }
        case 4: { uint32_t x; memcpy(&x, p + 4 * i, 4); bits = x; break; }
        case 8: memcpy(&bits, p + 8 * i, 8); break;
        default: break;
        }
        for (int k = 0; k < sz; k++) gw_put_u8(&v, (uint8_t)(bits >> (8 * k)));
    }
    gw_kv_raw(w, key, strlen(key), GW_ARRAY, v.data, v.len);
    gw_buf_free(&v);
}

void gw_kv_arr_str(gguf_writer *w, const char *key, uint64_t n, const char *const *strs) {
    gw_buf v = {0};
    gw_put_arr_header(&v, GW_STRING, n);
    for (uint64_t i = 0; i < n; i++) gw_put_str(&v, strs[i]);
    gw_kv_raw(w, key, strlen(key), GW_ARRAY, v.data, v.len);
    gw_buf_free(&v);
}

uint8_t gw_fill_byte(uint64_t i, uint64_t pos) {
    return (uint8_t)(pos * 31u + i * 7u + 1u + (pos >> 8));
}

uint64_t gw_add_tensor_raw(gguf_writer *w, const void *name, uint64_t name_len, uint32_t type,
                       uint32_t n_dims, const uint64_t *ne, const void *data, uint64_t data_len) {
    if (w->n_tensors == w->cap_tensors) {
        w->cap_tensors = w->cap_tensors ? w->cap_tensors * 2 : 8;
        w->tensors = xrealloc(w->tensors, w->cap_tensors * sizeof *w->tensors);
    }
    uint64_t idx = w->n_tensors++;
    gw_tensor_info *t = &w->tensors[idx];
    memset(t, 0, sizeof *t);
    t->name = xrealloc(NULL, (size_t)name_len);
    memcpy(t->name, name, (size_t)name_len);
    t->name_len = name_len;
    t->type = type;
    t->n_dims = n_dims;
    for (uint32_t d = 0; d < n_dims && d < 8; d++) t->ne[d] = ne[d];
    t->data_len = data_len;
    t->data = xrealloc(NULL, (size_t)data_len);
    if (data) memcpy(t->data, data, (size_t)data_len);
    else
        for (uint64_t k = 0; k < data_len; k++) t->data[k] = gw_fill_byte(idx, k);
    return idx;
}

uint64_t gw_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                   const uint64_t *ne, const void *data) {
    uint64_t n = 1;
    for (uint32_t d = 0; d < n_dims; d++) n *= ne[d];
    return gw_add_tensor_raw(w, name, strlen(name), type, n_dims, ne, data, gw_type_size(type, n));
}

void gw_set_tensor_offset(gguf_writer *w, uint64_t i, uint64_t rel_offset) {
    if (i >= w->n_tensors) return;
    w->tensors[i].has_offset = 1;
    w->tensors[i].offset = rel_offset;
}

static uint64_t align_up(uint64_t x, uint64_t a) { return a ? (x + a - 1) / a * a : x; }

void gw_finish(const gguf_writer *w, gw_buf *out, gw_layout *lay) {
    size_t base = out->len;
    if (lay) {
        memset(lay, 0, sizeof *lay);
        lay->n_kv = w->n_kv;
        lay->n_tensors = w->n_tensors;
        size_t nk = (size_t)w->n_kv + 1, nt = (size_t)w->n_tensors + 1;
        lay->kv_off = xrealloc(NULL, nk * sizeof(size_t));
        lay->kv_type_off = xrealloc(NULL, nk * sizeof(size_t));
        lay->kv_value_off = xrealloc(NULL, nk * sizeof(size_t));
        lay->ti_off = xrealloc(NULL, nt * sizeof(size_t));
        lay->ti_ndims_off = xrealloc(NULL, nt * sizeof(size_t));
        lay->ti_dims_off = xrealloc(NULL, nt * sizeof(size_t));
        lay->ti_type_off = xrealloc(NULL, nt * sizeof(size_t));
        lay->ti_offset_off = xrealloc(NULL, nt * sizeof(size_t));
        lay->data_at = xrealloc(NULL, nt * sizeof(size_t));
    }
    gw_put_u32(out, w->magic);
    if (lay) lay->version_off = out->len;
    gw_put_u32(out, w->version);
    if (lay) lay->n_tensors_off = out->len;
    gw_put_u64(out, w->n_tensors);
    if (lay) lay->n_kv_off = out->len;
    gw_put_u64(out, w->n_kv);

    size_t kv_base = out->len;
    gw_put(out, w->kv.data, w->kv.len);
    if (lay)
        for (uint64_t i = 0; i < w->n_kv; i++) {
            lay->kv_off[i] = kv_base + w->kv_starts[i];
            lay->kv_type_off[i] = kv_base + w->kv_type_rel[i];
            lay->kv_value_off[i] = kv_base + w->kv_type_rel[i] + 4;
        }

    /* relative data offsets: fixed ones as given, the others packed after the previous tensor */
    uint64_t *rel = xrealloc(NULL, ((size_t)w->n_tensors + 1) * sizeof *rel);
    uint64_t running = 0;
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const gw_tensor_info *t = &w->tensors[i];
        rel[i] = t->has_offset ? t->offset : align_up(running, w->alignment);
        if (!t->has_offset) running = rel[i] + t->data_len;
    }
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const gw_tensor_info *t = &w->tensors[i];
        if (lay) lay->ti_off[i] = out->len;
        gw_put_strn(out, t->name, t->name_len);
        if (lay) lay->ti_ndims_off[i] = out->len;
        gw_put_u32(out, t->n_dims);
        if (lay) lay->ti_dims_off[i] = out->len;
        for (uint32_t d = 0; d < t->n_dims && d < 8; d++) gw_put_u64(out, t->ne[d]);
        if (lay) lay->ti_type_off[i] = out->len;
        gw_put_u32(out, t->type);
        if (lay) lay->ti_offset_off[i] = out->len;
        gw_put_u64(out, rel[i]);
    }
    size_t header_end = out->len;
    size_t data_off = base + (size_t)align_up(header_end - base, w->alignment);
    if (w->n_tensors) gw_put_zeros(out, data_off - header_end);
    if (lay) {
        lay->header_end = header_end;
        lay->data_off = data_off;
    }
    /* data in file order of the relative offsets as laid out (tensors with fixed offsets that
     * point elsewhere write nothing of their own beyond the packed ones) */
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const gw_tensor_info *t = &w->tensors[i];
        if (lay) lay->data_at[i] = data_off + (size_t)rel[i];
        if (t->has_offset) continue;
        size_t at = data_off + (size_t)rel[i];
        if (out->len < at) gw_put_zeros(out, at - out->len);
        gw_put(out, t->data, (size_t)t->data_len);
    }
    free(rel);
}

void gw_layout_free(gw_layout *lay) {
    if (!lay) return;
    free(lay->kv_off);
    free(lay->kv_type_off);
    free(lay->kv_value_off);
    free(lay->ti_off);
    free(lay->ti_ndims_off);
    free(lay->ti_dims_off);
    free(lay->ti_type_off);
    free(lay->ti_offset_off);
    free(lay->data_at);
    memset(lay, 0, sizeof *lay);
}

int gw_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = len ? fwrite(data, 1, len, f) : 0;
    int rc = fclose(f);
    return n == len && rc == 0 ? 0 : -1;
}

uint8_t *gw_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    gw_buf b = {0};
    uint8_t chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) gw_put(&b, chunk, n);
    fclose(f);
    reserve(&b, 1); /* never NULL, even for an empty file */
    *len = b.len;
    return b.data;
}
