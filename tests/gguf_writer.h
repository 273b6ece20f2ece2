/* gguf_writer.h — test-support GGUF writer with full byte control: every value type including
 * nested arrays, tensor infos, alignment, and a layout map of where every field landed so a test
 * can corrupt exactly one of them. Independent of src/gguf.c (own type table, own encoder).
 *
 *   gguf_writer w;
 *   gw_init(&w);                                   // GGUF v3, alignment 32
 *   gw_kv_str(&w, "general.architecture", "llama");
 *   gw_kv_u32(&w, "general.alignment", 32);
 *   uint64_t ne[2] = {8, 2};
 *   gw_add_tensor(&w, "tok.weight", GW_T_F32, 2, ne, NULL);   // NULL: deterministic fill
 *   gw_buf file = {0};
 *   gw_layout lay;
 *   gw_finish(&w, &file, &lay);
 *   gw_set_u64(&file, lay.ti_dims_off[0], 0);      // corrupt: dimension 0 of tensor 0 = 0
 *   ... gguf_open over file.data / file.len ...
 *   gw_layout_free(&lay); gw_buf_free(&file); gw_free(&w);
 *
 * Allocation uses libc directly (never the Hearth allocation hook), so a counting or failing
 * allocator installed by a test sees only the library's own allocations. Out of memory aborts
 * (test support only).
 */
#ifndef HEARTH_TESTS_GGUF_WRITER_H
#define HEARTH_TESTS_GGUF_WRITER_H

#include <stddef.h>
#include <stdint.h>

/* GGUF metadata value types (facts of the format). */
enum {
    GW_UINT8 = 0, GW_INT8 = 1, GW_UINT16 = 2, GW_INT16 = 3, GW_UINT32 = 4, GW_INT32 = 5,
    GW_FLOAT32 = 6, GW_BOOL = 7, GW_STRING = 8, GW_ARRAY = 9, GW_UINT64 = 10, GW_INT64 = 11,
    GW_FLOAT64 = 12
};

/* ggml tensor type ids used by tests (facts of the format). */
enum {
    GW_T_F32 = 0, GW_T_F16 = 1, GW_T_Q4_0 = 2, GW_T_Q4_1 = 3, GW_T_Q5_0 = 6, GW_T_Q5_1 = 7,
    GW_T_Q8_0 = 8, GW_T_Q8_1 = 9, GW_T_Q2_K = 10, GW_T_Q3_K = 11, GW_T_Q4_K = 12, GW_T_Q5_K = 13,
    GW_T_Q6_K = 14, GW_T_Q8_K = 15, GW_T_I8 = 24, GW_T_I16 = 25, GW_T_I32 = 26, GW_T_I64 = 27,
    GW_T_F64 = 28, GW_T_BF16 = 30
};

/* ---- a growable byte buffer with little-endian encoders ------------------------------------ */

typedef struct gw_buf {
    uint8_t *data;
    size_t len, cap;
} gw_buf;

void gw_buf_free(gw_buf *b);
void gw_put(gw_buf *b, const void *p, size_t n);
void gw_put_zeros(gw_buf *b, size_t n);
void gw_put_u8(gw_buf *b, uint8_t v);
void gw_put_u16(gw_buf *b, uint16_t v);
void gw_put_u32(gw_buf *b, uint32_t v);
void gw_put_u64(gw_buf *b, uint64_t v);
void gw_put_f32(gw_buf *b, float v);
void gw_put_f64(gw_buf *b, double v);
void gw_put_str(gw_buf *b, const char *s);                 /* u64 length + bytes */
void gw_put_strn(gw_buf *b, const void *s, uint64_t n);    /* u64 length n + n bytes */
/* Array header inside a value: element type (u32) + count (u64). Elements follow. */
void gw_put_arr_header(gw_buf *b, uint32_t elem_type, uint64_t n);
/* Overwrites bytes at off (off + size must be <= len). */
void gw_set_u8(gw_buf *b, size_t off, uint8_t v);
void gw_set_u32(gw_buf *b, size_t off, uint32_t v);
void gw_set_u64(gw_buf *b, size_t off, uint64_t v);
/* Drops everything from len on. */
void gw_truncate(gw_buf *b, size_t len);

/* Elements and bytes of one block of a ggml type; 0 for ids the writer does not know. */
uint32_t gw_type_block(uint32_t type);
uint32_t gw_type_block_bytes(uint32_t type);
/* Bytes of n elements of `type`; 0 if unknown or n is not a multiple of the block. */
uint64_t gw_type_size(uint32_t type, uint64_t n);

/* ---- the GGUF writer ------------------------------------------------------------------------ */

typedef struct gw_tensor_info {
    uint8_t *name;
    uint64_t name_len;
    uint32_t type, n_dims;
    uint64_t ne[8];       /* up to 8 written dims, so tests can write n_dims > 4 */
    uint8_t *data;        /* owned copy of the data bytes */
    uint64_t data_len;
    int has_offset;       /* offset fixed by gw_set_tensor_offset instead of the running layout */
    uint64_t offset;      /* relative to the start of the data section */
} gw_tensor_info;

typedef struct gguf_writer {
    uint32_t magic;       /* default "GGUF" */
    uint32_t version;     /* default 3 */
    uint64_t alignment;   /* used to lay out the data (default 32); write general.alignment yourself */
    gw_buf kv;            /* encoded key/value pairs */
    size_t *kv_starts;    /* start of each pair in kv */
    size_t *kv_type_rel;  /* offset of each pair's type field in kv */
    uint64_t n_kv;
    size_t cap_kv;
    gw_tensor_info *tensors;
    uint64_t n_tensors;
    size_t cap_tensors;
} gguf_writer;

void gw_init(gguf_writer *w);
void gw_free(gguf_writer *w);

/* Metadata. Keys are C strings except for gw_kv_raw (any bytes, e.g. a NUL inside). */
void gw_kv_raw(gguf_writer *w, const void *key, uint64_t key_len, uint32_t type, const void *value,
               size_t value_len);
void gw_kv_u8(gguf_writer *w, const char *key, uint8_t v);
void gw_kv_i8(gguf_writer *w, const char *key, int8_t v);
void gw_kv_u16(gguf_writer *w, const char *key, uint16_t v);
void gw_kv_i16(gguf_writer *w, const char *key, int16_t v);
void gw_kv_u32(gguf_writer *w, const char *key, uint32_t v);
void gw_kv_i32(gguf_writer *w, const char *key, int32_t v);
void gw_kv_u64(gguf_writer *w, const char *key, uint64_t v);
void gw_kv_i64(gguf_writer *w, const char *key, int64_t v);
void gw_kv_f32(gguf_writer *w, const char *key, float v);
void gw_kv_f64(gguf_writer *w, const char *key, double v);
void gw_kv_bool(gguf_writer *w, const char *key, int v);
void gw_kv_str(gguf_writer *w, const char *key, const char *s);
void gw_kv_strn(gguf_writer *w, const char *key, const void *s, uint64_t n);
/* Array of n scalars of elem_type; elems holds n host values of that type (uint8_t for bool). */
void gw_kv_arr(gguf_writer *w, const char *key, uint32_t elem_type, uint64_t n, const void *elems);
void gw_kv_arr_str(gguf_writer *w, const char *key, uint64_t n, const char *const *strs);

/* Tensors. data NULL: a deterministic byte pattern (gw_fill_byte). Returns the tensor index. */
uint64_t gw_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                   const uint64_t *ne, const void *data);
/* Full control: any name bytes, any n_dims (<= 8 written), any data length. */
uint64_t gw_add_tensor_raw(gguf_writer *w, const void *name, uint64_t name_len, uint32_t type,
                       uint32_t n_dims, const uint64_t *ne, const void *data, uint64_t data_len);
/* Fixes the relative data offset of tensor i (default: running sum padded to the alignment). */
void gw_set_tensor_offset(gguf_writer *w, uint64_t i, uint64_t rel_offset);
/* The byte the default fill puts at position pos of tensor i. */
uint8_t gw_fill_byte(uint64_t i, uint64_t pos);

/* Where every field landed in the finished file (absolute byte offsets). */
typedef struct gw_layout {
    size_t version_off, n_tensors_off, n_kv_off;
    uint64_t n_kv, n_tensors;
    size_t *kv_off;        /* key length field of pair i */
    size_t *kv_type_off;   /* type field of pair i */
    size_t *kv_value_off;  /* first byte of the value of pair i */
    size_t *ti_off;        /* name length field of tensor info i */
    size_t *ti_ndims_off, *ti_dims_off, *ti_type_off, *ti_offset_off;
    size_t header_end;     /* first byte after the last tensor info */
    size_t data_off;       /* start of the data section (header_end padded to the alignment) */
    size_t *data_at;       /* absolute position of tensor i's data */
} gw_layout;

/* Lays the file out into *out (appended to whatever it holds; normally empty). lay may be NULL. */
void gw_finish(const gguf_writer *w, gw_buf *out, gw_layout *lay);
void gw_layout_free(gw_layout *lay);

/* Writes bytes to a file; returns 0 on success. */
int gw_write_file(const char *path, const void *data, size_t len);
/* Reads a whole file (malloc'd); NULL on failure. */
uint8_t *gw_read_file(const char *path, size_t *len);

#endif
