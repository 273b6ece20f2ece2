/* gguf.h — bounds-checked reader of GGUF v2/v3 files over a byte source. It knows the container
 * (metadata, tensor infos, alignment) and nothing about models.
 *
 *   gguf_file *g;
 *   if (gguf_open(&g, &src, &err)) { fprintf(stderr, "%s\n", err.msg); ... }
 *   const gguf_value *v = gguf_get(g, "general.architecture");
 *   if (v && v->type == GGUF_TYPE_STRING) printf("%.*s\n", (int)v->n, v->str);
 *   const gguf_tensor *t = gguf_find_tensor(g, "token_embd.weight");
 *   gguf_close(g);   // does not close the source
 *
 * Everything read from the file is checked: counts and lengths against the bytes that remain,
 * products against overflow, tensor data against the file size and the alignment. The header is
 * read into memory (it is small); tensor data is never read here.
 */
#ifndef HEARTH_GGUF_H
#define HEARTH_GGUF_H

#include "base.h"

typedef enum gguf_type {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT
} gguf_type;

#define GGUF_MAX_DIMS 4
#define GGUF_MAX_ARRAY_DEPTH 8
#define GGUF_DEFAULT_ALIGNMENT 32

typedef struct gguf_str {
    const char *p; /* points into the header copy; not NUL-terminated */
    uint64_t n;
} gguf_str;

typedef struct gguf_value {
    uint32_t type;      /* gguf_type */
    uint32_t elem_type; /* arrays: type of the elements */
    uint64_t n;         /* arrays: element count; strings: byte length */
    const char *str;    /* strings: the bytes (not NUL-terminated) */
    const uint8_t *raw; /* scalars: the value's little-endian bytes; arrays of scalars: the elements */
    const gguf_str *strs;            /* arrays of strings: n strings */
    const struct gguf_value *items;  /* arrays of arrays: n values */
} gguf_value;

typedef struct gguf_kv {
    const char *key; /* NUL-terminated copy */
    gguf_value value;
} gguf_kv;

typedef struct gguf_tensor {
    const char *name; /* NUL-terminated copy */
    uint32_t type;    /* ggml type id (quant.h) */
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS]; /* ne[0] is the innermost (row) length; unused dims are 1 */
    uint64_t n_elements;
    uint64_t offset; /* absolute offset of the data in the file */
    uint64_t size;   /* bytes of data */
} gguf_tensor;

typedef struct gguf_file gguf_file;

/* Parses the header. HEARTH_ERR_AGAIN: the source has not delivered enough bytes yet (retry
 * later); HEARTH_ERR_FORMAT / UNSUPPORTED with a message otherwise. */
int gguf_open(gguf_file **out, hearth_source *src, hearth_error *err);
void gguf_close(gguf_file *g);

uint32_t gguf_version(const gguf_file *g);
uint64_t gguf_alignment(const gguf_file *g);
uint64_t gguf_data_offset(const gguf_file *g); /* start of the tensor data section */
uint64_t gguf_file_size(const gguf_file *g);
uint64_t gguf_header_bytes(const gguf_file *g); /* bytes read into memory for the header */

uint64_t gguf_n_kv(const gguf_file *g);
const gguf_kv *gguf_kv_at(const gguf_file *g, uint64_t i);
const gguf_value *gguf_get(const gguf_file *g, const char *key); /* NULL if absent */

uint64_t gguf_n_tensors(const gguf_file *g);
const gguf_tensor *gguf_tensor_at(const gguf_file *g, uint64_t i);
const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name);

const char *gguf_type_name(uint32_t type); /* "uint32", "string", ... */

/* Typed reads of scalar values. Integers of any width convert when the value fits; the result
 * is HEARTH_OK, or HEARTH_ERR_FORMAT with a message naming the key and the actual type.
 * When the key is absent: *out is left unchanged and the result is HEARTH_OK if !required. */
int gguf_read_i64(const gguf_file *g, const char *key, int64_t *out, int required, hearth_error *err);
int gguf_read_u32(const gguf_file *g, const char *key, uint32_t *out, int required, hearth_error *err);
int gguf_read_f32(const gguf_file *g, const char *key, float *out, int required, hearth_error *err);
int gguf_read_bool(const gguf_file *g, const char *key, int *out, int required, hearth_error *err);
/* Strings: *out points into the header (not terminated), *len its length. */
int gguf_read_str(const gguf_file *g, const char *key, const char **out, size_t *len, int required,
                  hearth_error *err);

/* Numeric array element i as double / int64 (any numeric element type). */
double gguf_arr_f64(const gguf_value *v, uint64_t i);
int64_t gguf_arr_i64(const gguf_value *v, uint64_t i);
/* Size in bytes of one element of a scalar type (0 for string/array). */
size_t gguf_scalar_size(uint32_t type);
double gguf_scalar_f64(uint32_t type, const uint8_t *raw);

#endif
