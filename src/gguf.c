/* gguf.c — GGUF v2/v3 header parser. Reads the header into memory (growing the read window until
 * the whole header is in it), checks every count, length, dimension and offset, and indexes keys
 * and tensor names in sorted index arrays (binary search; sorting also finds duplicates). */
#include "gguf.h"

#include "quant.h"

#include <stdio.h>

#define GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define GGUF_MAX_HEADER ((uint64_t)512 << 20)
#define GGUF_FIRST_WINDOW ((uint64_t)1 << 20)

struct gguf_file {
    uint32_t version;
    uint64_t alignment, data_offset, file_size, header_bytes;
    uint8_t *buf; /* the header bytes; values point into it */
    gguf_kv *kv;
    uint64_t n_kv, cap_kv;
    gguf_tensor *tensors;
    uint64_t n_tensors, cap_tensors;
    char *names;                 /* NUL-terminated keys and tensor names */
    uint64_t names_len, names_cap;
    /* every other allocation made while parsing values (string tables, nested arrays) */
    void **allocs;
    uint64_t n_allocs, cap_allocs;
    /* indices sorted by name (binary search): a worst case of O(log n) comparisons per lookup and
     * O(n log n) to build, whatever the names (a hash table can be flooded with colliding keys) */
    uint32_t *kv_sorted, *tensor_sorted;
};

/* A cursor over the header window. Reading past the window but inside the file sets need_more
 * (the caller re-reads a larger window and parses again); past the file is a format error. */
typedef struct rd {
    const uint8_t *buf;
    uint64_t len, pos, file_size;
    int need_more;
    uint64_t need;
    hearth_error *err;
} rd;

static const char *const type_names[GGUF_TYPE_COUNT] = {
    "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
    "bool",  "string", "array", "uint64", "int64", "float64",
};

const char *gguf_type_name(uint32_t type) {
    return type < GGUF_TYPE_COUNT ? type_names[type] : "unknown";
}

size_t gguf_scalar_size(uint32_t type) {
    switch (type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
    case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
    default: return 0;
    }
}

/* Checks that n bytes can be read at the cursor. */
static int rd_need(rd *r, uint64_t n, const char *what) {
    uint64_t end;
    if (!h_add_u64(r->pos, n, &end) || end > r->file_size)
        return h_err(r->err, HEARTH_ERR_FORMAT,
                     "gguf: truncated file: %s needs %llu bytes at offset %llu but the file has %llu",
                     what, (unsigned long long)n, (unsigned long long)r->pos,
                     (unsigned long long)r->file_size);
    if (end > r->len) {
        if (end > GGUF_MAX_HEADER)
            return h_err(r->err, HEARTH_ERR_FORMAT,
                         "gguf: %s at offset %llu extends the header beyond the %llu MiB limit",
                         what, (unsigned long long)r->pos,
                         (unsigned long long)(GGUF_MAX_HEADER >> 20));
        r->need_more = 1;
        r->need = end;
        return HEARTH_ERR_AGAIN;
    }
    return HEARTH_OK;
}

static int rd_u32(rd *r, uint32_t *v, const char *what) {
    int st = rd_need(r, 4, what);
    if (st) return st;
    *v = h_rd_u32(r->buf + r->pos);
    r->pos += 4;
    return HEARTH_OK;
}

static int rd_u64(rd *r, uint64_t *v, const char *what) {
    int st = rd_need(r, 8, what);
    if (st) return st;
    *v = h_rd_u64(r->buf + r->pos);
    r->pos += 8;
    return HEARTH_OK;
}

/* Reads a length-prefixed string; the bytes stay in the window. */
static int rd_str(rd *r, gguf_str *s, const char *what) {
    uint64_t at = r->pos, n;
    int st = rd_u64(r, &n, what);
    if (st) return st;
    if (n > r->file_size - r->pos)
        return h_err(r->err, HEARTH_ERR_FORMAT,
                     "gguf: %s at offset %llu: string length %llu exceeds the %llu bytes left in the file",
                     what, (unsigned long long)at, (unsigned long long)n,
                     (unsigned long long)(r->file_size - r->pos));
    st = rd_need(r, n, what);
    if (st) return st;
    s->p = (const char *)r->buf + r->pos;
    s->n = n;
    r->pos += n;
    return HEARTH_OK;
}

static int track(gguf_file *g, void *p) {
    if (g->n_allocs == g->cap_allocs) {
        uint64_t cap = g->cap_allocs ? g->cap_allocs * 2 : 16;
        void **a = h_realloc(g->allocs, (size_t)cap * sizeof *a);
        if (!a) return HEARTH_ERR_NOMEM;
        g->allocs = a;
        g->cap_allocs = cap;
    }
    g->allocs[g->n_allocs++] = p;
    return HEARTH_OK;
}

/* Copies a name into the names arena; returns its offset via *off. */
static int add_name(gguf_file *g, rd *r, gguf_str s, const char *what, uint64_t *off) {
    if (memchr(s.p, 0, (size_t)s.n))
        return h_err(r->err, HEARTH_ERR_FORMAT, "gguf: %s at offset %llu contains a NUL byte", what,
                     (unsigned long long)(r->pos - s.n));
    uint64_t need = g->names_len + s.n + 1;
    if (need > g->names_cap) {
        uint64_t cap = g->names_cap ? g->names_cap : 4096;
        while (cap < need) cap *= 2;
        char *p = h_realloc(g->names, (size_t)cap);
        if (!p) return h_err(r->err, HEARTH_ERR_NOMEM, "gguf: out of memory for names");
        g->names = p;
        g->names_cap = cap;
    }
    memcpy(g->names + g->names_len, s.p, (size_t)s.n);
    g->names[g->names_len + s.n] = 0;
    *off = g->names_len;
    g->names_len = need;
    return HEARTH_OK;
}

/* Smallest encoding of one element of a type (for count-versus-remaining checks). */
static uint64_t min_elem_bytes(uint32_t type) {
    if (type == GGUF_TYPE_STRING) return 8;
    if (type == GGUF_TYPE_ARRAY) return 12;
    return gguf_scalar_size(type);
}

/* Walks over one value of `type` without allocating: validates lengths and nesting. */
static int skip_value(rd *r, uint32_t type, int depth, const char *key) {
    if (type == GGUF_TYPE_STRING) {
        gguf_str s;
        return rd_str(r, &s, key);
    }
    if (type != GGUF_TYPE_ARRAY) {
        size_t sz = gguf_scalar_size(type);
        if (!sz)
            return h_err(r->err, HEARTH_ERR_FORMAT,
                         "gguf: key '%s' at offset %llu has unknown value type %u", key,
                         (unsigned long long)r->pos, type);
        int st = rd_need(r, sz, key);
        if (st) return st;
        r->pos += sz;
        return HEARTH_OK;
    }
    if (depth >= GGUF_MAX_ARRAY_DEPTH)
        return h_err(r->err, HEARTH_ERR_FORMAT,
                     "gguf: key '%s': arrays nested deeper than %d levels at offset %llu", key,
                     GGUF_MAX_ARRAY_DEPTH, (unsigned long long)r->pos);
    uint32_t et;
    uint64_t n, at = r->pos;
    int st = rd_u32(r, &et, key);
    if (st) return st;
    if (et >= GGUF_TYPE_COUNT)
        return h_err(r->err, HEARTH_ERR_FORMAT,
                     "gguf: key '%s' at offset %llu: array of unknown element type %u", key,
                     (unsigned long long)at, et);
    if ((st = rd_u64(r, &n, key))) return st;
    uint64_t left = r->file_size - r->pos, min = min_elem_bytes(et);
    if (n > left / min)
        return h_err(r->err, HEARTH_ERR_FORMAT,
                     "gguf: key '%s' at offset %llu: array of %llu %s elements needs at least %llu "
                     "bytes per element but only %llu bytes are left in the file",
                     key, (unsigned long long)at, (unsigned long long)n, gguf_type_name(et),
                     (unsigned long long)min, (unsigned long long)left);
    if (et != GGUF_TYPE_STRING && et != GGUF_TYPE_ARRAY) {
        if ((st = rd_need(r, n * min, key))) return st;
        r->pos += n * min;
        return HEARTH_OK;
    }
    for (uint64_t i = 0; i < n; i++)
        if ((st = skip_value(r, et, depth + 1, key))) return st;
    return HEARTH_OK;
}

/* Parses one value already validated by skip_value (so every read below succeeds). */
static int parse_value(gguf_file *g, rd *r, uint32_t type, gguf_value *v, int depth, const char *key) {
    memset(v, 0, sizeof *v);
    v->type = type;
    int st;
    if (type == GGUF_TYPE_STRING) {
        gguf_str s;
        if ((st = rd_str(r, &s, key))) return st;
        v->str = s.p;
        v->n = s.n;
        return HEARTH_OK;
    }
    if (type != GGUF_TYPE_ARRAY) {
        v->raw = r->buf + r->pos;
        v->n = 1;
        r->pos += gguf_scalar_size(type);
        return HEARTH_OK;
    }
    uint32_t et;
    uint64_t n;
    if ((st = rd_u32(r, &et, key)) || (st = rd_u64(r, &n, key))) return st;
    v->elem_type = et;
    v->n = n;
    if (et == GGUF_TYPE_STRING) {
        gguf_str *strs = h_malloc_array((size_t)n, sizeof *strs);
        if (!strs || track(g, strs)) {
            h_free(strs);
            return h_err(r->err, HEARTH_ERR_NOMEM, "gguf: out of memory for array '%s'", key);
        }
        for (uint64_t i = 0; i < n; i++)
            if ((st = rd_str(r, &strs[i], key))) return st;
        v->strs = strs;
    } else if (et == GGUF_TYPE_ARRAY) {
        gguf_value *items = h_malloc_array((size_t)n, sizeof *items);
        if (!items || track(g, items)) {
            h_free(items);
            return h_err(r->err, HEARTH_ERR_NOMEM, "gguf: out of memory for array '%s'", key);
        }
        for (uint64_t i = 0; i < n; i++)
            if ((st = parse_value(g, r, GGUF_TYPE_ARRAY, &items[i], depth + 1, key))) return st;
        v->items = items;
    } else {
        v->raw = r->buf + r->pos;
        r->pos += n * gguf_scalar_size(et);
    }
    return HEARTH_OK;
}

typedef const char *(*name_at_fn)(const gguf_file *, uint64_t);

/* Stable merge sort of idx[0..n) by name (tmp: scratch of n entries). */
static void sort_by_name(uint32_t *idx, uint32_t *tmp, uint64_t n, name_at_fn name_at, const gguf_file *g) {
    for (uint64_t w = 1; w < n; w *= 2) {
        for (uint64_t lo = 0; lo < n; lo += 2 * w) {
            uint64_t mid = H_MIN(lo + w, n), hi = H_MIN(lo + 2 * w, n), i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = strcmp(name_at(g, idx[j]), name_at(g, idx[i])) < 0 ? idx[j++] : idx[i++];
            while (i < mid) tmp[k++] = idx[i++];
            while (j < hi) tmp[k++] = idx[j++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
}

/* Builds the sorted index of n names; returns the index + 1 of a duplicate name (the later one in
 * file order), 0 if none, or -1 on allocation failure. */
static int64_t build_index(uint32_t **out, uint64_t n, name_at_fn name_at, const gguf_file *g) {
    uint32_t *idx = h_malloc_array((size_t)n, sizeof *idx), *tmp = h_malloc_array((size_t)n, sizeof *tmp);
    if (!idx || !tmp) {
        h_free(idx);
        h_free(tmp);
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
    sort_by_name(idx, tmp, n, name_at, g);
    h_free(tmp);
    *out = idx;
    for (uint64_t i = 1; i < n; i++)
        if (strcmp(name_at(g, idx[i - 1]), name_at(g, idx[i])) == 0) return (int64_t)idx[i] + 1;
    return 0;
}

/* Position of name in the sorted index, or -1. */
static int64_t find_sorted(const uint32_t *idx, uint64_t n, const char *name, name_at_fn name_at,
                           const gguf_file *g) {
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name_at(g, idx[mid]), name);
        if (c == 0) return idx[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

static const char *kv_name_at(const gguf_file *g, uint64_t i) { return g->kv[i].key; }
static const char *tensor_name_at(const gguf_file *g, uint64_t i) { return g->tensors[i].name; }

static void free_parse(gguf_file *g) {
    for (uint64_t i = 0; i < g->n_allocs; i++) h_free(g->allocs[i]);
    h_free(g->allocs);
    h_free(g->kv);
    h_free(g->tensors);
    h_free(g->names);
    h_free(g->kv_sorted);
    h_free(g->tensor_sorted);
    uint8_t *buf = g->buf;
    uint64_t size = g->file_size;
    memset(g, 0, sizeof *g);
    g->buf = buf;
    g->file_size = size;
}

static int parse(gguf_file *g, rd *r) {
    hearth_error *err = r->err;
    uint32_t magic;
    int st;
    if ((st = rd_u32(r, &magic, "magic"))) return st;
    if (magic != GGUF_MAGIC)
        return h_err(err, HEARTH_ERR_FORMAT,
                     "gguf: bad magic 0x%08x at offset 0 (expected 'GGUF'): not a GGUF file", magic);
    if ((st = rd_u32(r, &g->version, "version"))) return st;
    if (g->version == 1)
        return h_err(err, HEARTH_ERR_UNSUPPORTED,
                     "gguf: version 1 files are not supported (convert the model again)");
    if (g->version != 2 && g->version != 3)
        return h_err(err, HEARTH_ERR_FORMAT, "gguf: unknown version %u at offset 4 (expected 2 or 3)",
                     g->version);
    uint64_t n_tensors, n_kv;
    if ((st = rd_u64(r, &n_tensors, "tensor count")) || (st = rd_u64(r, &n_kv, "metadata count")))
        return st;
    uint64_t left = r->file_size - r->pos;
    /* a key/value takes >= 13 bytes (key length, type, 1-byte value); a tensor info >= 28 */
    if (n_kv > left / 13)
        return h_err(err, HEARTH_ERR_FORMAT,
                     "gguf: metadata count %llu is impossible: only %llu bytes follow the header",
                     (unsigned long long)n_kv, (unsigned long long)left);
    if (n_tensors > left / 28 || n_tensors > UINT32_MAX)
        return h_err(err, HEARTH_ERR_FORMAT,
                     "gguf: tensor count %llu is impossible: only %llu bytes follow the header",
                     (unsigned long long)n_tensors, (unsigned long long)left);

    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < n_kv; i++) {
        char where[64];
        snprintf(where, sizeof where, "metadata key %llu", (unsigned long long)i);
        gguf_str ks;
        uint32_t type;
        if ((st = rd_str(r, &ks, where))) return st;
        uint64_t off;
        if ((st = add_name(g, r, ks, where, &off))) return st;
        if ((st = rd_u32(r, &type, where))) return st;
        if (g->n_kv == g->cap_kv) {
            uint64_t cap = g->cap_kv ? g->cap_kv * 2 : 64;
            gguf_kv *kv = h_realloc(g->kv, (size_t)cap * sizeof *kv);
            if (!kv) return h_err(err, HEARTH_ERR_NOMEM, "gguf: out of memory for metadata");
            g->kv = kv;
            g->cap_kv = cap;
        }
        /* keys are resolved to pointers after the names arena stops moving */
        const char *key = g->names + off;
        uint64_t start = r->pos;
        if ((st = skip_value(r, type, 0, key))) return st;
        r->pos = start;
        gguf_kv *kv = &g->kv[g->n_kv++];
        kv->key = (const char *)(uintptr_t)off;
        if ((st = parse_value(g, r, type, &kv->value, 0, key))) return st;
    }

    for (uint64_t i = 0; i < n_tensors; i++) {
        char where[64];
        snprintf(where, sizeof where, "tensor info %llu", (unsigned long long)i);
        gguf_str ns;
        if ((st = rd_str(r, &ns, where))) return st;
        uint64_t off;
        if ((st = add_name(g, r, ns, where, &off))) return st;
        const char *name = g->names + off;
        if (g->n_tensors == g->cap_tensors) {
            uint64_t cap = g->cap_tensors ? g->cap_tensors * 2 : 64;
            gguf_tensor *t = h_realloc(g->tensors, (size_t)cap * sizeof *t);
            if (!t) return h_err(err, HEARTH_ERR_NOMEM, "gguf: out of memory for tensor infos");
            g->tensors = t;
            g->cap_tensors = cap;
        }
        gguf_tensor *t = &g->tensors[g->n_tensors++];
        memset(t, 0, sizeof *t);
        t->name = (const char *)(uintptr_t)off;
        if ((st = rd_u32(r, &t->n_dims, name))) return st;
        if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS)
            return h_err(err, HEARTH_ERR_FORMAT, "gguf: tensor '%s': %u dimensions (must be 1..%d)",
                         name, t->n_dims, GGUF_MAX_DIMS);
        uint64_t count = 1;
        for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            if ((st = rd_u64(r, &t->ne[d], name))) return st;
            if (t->ne[d] == 0 || t->ne[d] > (uint64_t)INT64_MAX)
                return h_err(err, HEARTH_ERR_FORMAT, "gguf: tensor '%s': dimension %u is %lld", name, d,
                             (long long)t->ne[d]);
            if (!h_mul_u64(count, t->ne[d], &count) || count > (uint64_t)INT64_MAX)
                return h_err(err, HEARTH_ERR_FORMAT,
                             "gguf: tensor '%s': element count overflows (dimension %u = %llu)", name,
                             d, (unsigned long long)t->ne[d]);
        }
        t->n_elements = count;
        if ((st = rd_u32(r, &t->type, name))) return st;
        const quant_info *qi = quant_info_of(t->type);
        if (!qi)
            return h_err(err, HEARTH_ERR_FORMAT, "gguf: tensor '%s': unknown tensor type %u", name,
                         t->type);
        if (t->ne[0] % qi->block)
            return h_err(err, HEARTH_ERR_FORMAT,
                         "gguf: tensor '%s': row length %llu is not a multiple of the %s block size %u",
                         name, (unsigned long long)t->ne[0], qi->name, qi->block);
        if (!h_mul_u64(count / qi->block, qi->bytes, &t->size))
            return h_err(err, HEARTH_ERR_FORMAT, "gguf: tensor '%s': byte size overflows", name);
        if ((st = rd_u64(r, &t->offset, name))) return st;
    }

    /* resolve names, then index keys and tensors (finding duplicates) */
    for (uint64_t i = 0; i < g->n_kv; i++) g->kv[i].key = g->names + (uintptr_t)g->kv[i].key;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        g->tensors[i].name = g->names + (uintptr_t)g->tensors[i].name;
    int64_t dup = build_index(&g->kv_sorted, g->n_kv, kv_name_at, g);
    if (dup < 0) return h_err(err, HEARTH_ERR_NOMEM, "gguf: out of memory indexing metadata");
    if (dup) return h_err(err, HEARTH_ERR_FORMAT, "gguf: duplicate metadata key '%s'", g->kv[dup - 1].key);
    dup = build_index(&g->tensor_sorted, g->n_tensors, tensor_name_at, g);
    if (dup < 0) return h_err(err, HEARTH_ERR_NOMEM, "gguf: out of memory indexing tensors");
    if (dup) return h_err(err, HEARTH_ERR_FORMAT, "gguf: duplicate tensor name '%s'", g->tensors[dup - 1].name);

    const gguf_value *al = gguf_get(g, "general.alignment");
    if (al) {
        if (al->type != GGUF_TYPE_UINT32)
            return h_err(err, HEARTH_ERR_FORMAT, "gguf: general.alignment has type %s (must be uint32)",
                         gguf_type_name(al->type));
        uint32_t a = h_rd_u32(al->raw);
        if (a == 0 || (a & (a - 1)))
            return h_err(err, HEARTH_ERR_FORMAT, "gguf: general.alignment %u is not a power of two", a);
        g->alignment = a;
    }
    uint64_t data = (r->pos + g->alignment - 1) / g->alignment * g->alignment;
    if (data > r->file_size && g->n_tensors > 0)
        return h_err(err, HEARTH_ERR_FORMAT,
                     "gguf: truncated file: tensor data would start at %llu but the file has %llu bytes",
                     (unsigned long long)data, (unsigned long long)r->file_size);
    g->data_offset = data;
    g->header_bytes = r->pos;
    uint64_t prev_end = data; /* tensor data must follow in file order without overlapping (ggml
                                 requires exactly the running padded sum): the sum of tensor sizes
                                 then never exceeds the file, whatever a loader allocates per tensor */
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        uint64_t rel = t->offset, end;
        if (rel % g->alignment)
            return h_err(err, HEARTH_ERR_FORMAT,
                         "gguf: tensor '%s': offset %llu is not a multiple of the alignment %llu",
                         t->name, (unsigned long long)rel, (unsigned long long)g->alignment);
        if (!h_add_u64(data, rel, &t->offset) || !h_add_u64(t->offset, t->size, &end) ||
            end > r->file_size)
            return h_err(err, HEARTH_ERR_FORMAT,
                         "gguf: tensor '%s': offset %llu + %llu bytes exceeds file size %llu",
                         t->name, (unsigned long long)(data + rel), (unsigned long long)t->size,
                         (unsigned long long)r->file_size);
        if (t->offset < prev_end)
            return h_err(err, HEARTH_ERR_FORMAT,
                         "gguf: tensor '%s': data at offset %llu overlaps the previous tensor '%s' "
                         "(which ends at %llu)", t->name, (unsigned long long)t->offset,
                         g->tensors[i - 1].name, (unsigned long long)prev_end);
        prev_end = end;
    }
    return HEARTH_OK;
}

int gguf_open(gguf_file **out, hearth_source *src, hearth_error *err) {
    *out = NULL;
    gguf_file *g = h_calloc(1, sizeof *g);
    if (!g) return h_err(err, HEARTH_ERR_NOMEM, "gguf: out of memory");
    g->file_size = src->size;
    uint64_t window = H_MIN(src->size, GGUF_FIRST_WINDOW), have = 0;
    for (;;) {
        uint8_t *buf = h_realloc(g->buf, (size_t)(window ? window : 1));
        if (!buf) {
            h_err(err, HEARTH_ERR_NOMEM, "gguf: out of memory reading a %llu-byte header",
                  (unsigned long long)window);
            goto fail;
        }
        g->buf = buf;
        if (window > have) {
            int st = src->read(src->ctx, have, buf + have, (size_t)(window - have));
            if (st == HEARTH_ERR_AGAIN) {
                h_err(err, HEARTH_ERR_AGAIN, "gguf: waiting for bytes %llu..%llu of the header",
                      (unsigned long long)have, (unsigned long long)window);
                goto fail;
            }
            if (st) {
                h_err(err, HEARTH_ERR_IO, "gguf: cannot read %llu bytes at offset %llu",
                      (unsigned long long)(window - have), (unsigned long long)have);
                goto fail;
            }
            have = window;
        }
        rd r = {.buf = buf, .len = window, .pos = 0, .file_size = src->size, .err = err};
        int st = parse(g, &r);
        if (st == HEARTH_OK) break;
        free_parse(g);
        if (!r.need_more) goto fail;
        uint64_t next = H_MAX(r.need, window * 2);
        window = H_MIN(H_MIN(next, src->size), GGUF_MAX_HEADER);
    }
    *out = g;
    return HEARTH_OK;
fail:
    free_parse(g);
    h_free(g->buf);
    h_free(g);
    return err ? err->status : HEARTH_ERR_FORMAT;
}

void gguf_close(gguf_file *g) {
    if (!g) return;
    free_parse(g);
    h_free(g->buf);
    h_free(g);
}

uint32_t gguf_version(const gguf_file *g) { return g->version; }
uint64_t gguf_alignment(const gguf_file *g) { return g->alignment; }
uint64_t gguf_data_offset(const gguf_file *g) { return g->data_offset; }
uint64_t gguf_file_size(const gguf_file *g) { return g->file_size; }
uint64_t gguf_header_bytes(const gguf_file *g) { return g->header_bytes; }
uint64_t gguf_n_kv(const gguf_file *g) { return g->n_kv; }
uint64_t gguf_n_tensors(const gguf_file *g) { return g->n_tensors; }

const gguf_kv *gguf_kv_at(const gguf_file *g, uint64_t i) { return i < g->n_kv ? &g->kv[i] : NULL; }

const gguf_tensor *gguf_tensor_at(const gguf_file *g, uint64_t i) {
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const gguf_value *gguf_get(const gguf_file *g, const char *key) {
    if (!g->kv_sorted) return NULL;
    int64_t i = find_sorted(g->kv_sorted, g->n_kv, key, kv_name_at, g);
    return i < 0 ? NULL : &g->kv[i].value;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name) {
    if (!g->tensor_sorted) return NULL;
    int64_t i = find_sorted(g->tensor_sorted, g->n_tensors, name, tensor_name_at, g);
    return i < 0 ? NULL : &g->tensors[i];
}

double gguf_scalar_f64(uint32_t type, const uint8_t *p) {
    switch (type) {
    case GGUF_TYPE_UINT8: return p[0];
    case GGUF_TYPE_INT8: return (int8_t)p[0];
    case GGUF_TYPE_BOOL: return p[0] != 0;
    case GGUF_TYPE_UINT16: return h_rd_u16(p);
    case GGUF_TYPE_INT16: return (int16_t)h_rd_u16(p);
    case GGUF_TYPE_UINT32: return h_rd_u32(p);
    case GGUF_TYPE_INT32: return (int32_t)h_rd_u32(p);
    case GGUF_TYPE_UINT64: return (double)h_rd_u64(p);
    case GGUF_TYPE_INT64: return (double)(int64_t)h_rd_u64(p);
    case GGUF_TYPE_FLOAT32: {
        uint32_t u = h_rd_u32(p);
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    case GGUF_TYPE_FLOAT64: {
        uint64_t u = h_rd_u64(p);
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    default: return 0;
    }
}

/* Integer value of a scalar; *ok = 0 if not an integer type or out of int64 range. */
static int64_t scalar_i64(uint32_t type, const uint8_t *p, int *ok) {
    *ok = 1;
    switch (type) {
    case GGUF_TYPE_UINT8: return p[0];
    case GGUF_TYPE_INT8: return (int8_t)p[0];
    case GGUF_TYPE_UINT16: return h_rd_u16(p);
    case GGUF_TYPE_INT16: return (int16_t)h_rd_u16(p);
    case GGUF_TYPE_UINT32: return h_rd_u32(p);
    case GGUF_TYPE_INT32: return (int32_t)h_rd_u32(p);
    case GGUF_TYPE_INT64: return (int64_t)h_rd_u64(p);
    case GGUF_TYPE_UINT64: {
        uint64_t u = h_rd_u64(p);
        if (u > (uint64_t)INT64_MAX) *ok = 0;
        return (int64_t)u;
    }
    default: *ok = 0; return 0;
    }
}

double gguf_arr_f64(const gguf_value *v, uint64_t i) {
    if (v->type != GGUF_TYPE_ARRAY || i >= v->n || !v->raw) return 0;
    return gguf_scalar_f64(v->elem_type, v->raw + i * gguf_scalar_size(v->elem_type));
}

int64_t gguf_arr_i64(const gguf_value *v, uint64_t i) {
    if (v->type != GGUF_TYPE_ARRAY || i >= v->n || !v->raw) return 0;
    int ok;
    int64_t x = scalar_i64(v->elem_type, v->raw + i * gguf_scalar_size(v->elem_type), &ok);
    if (ok) return x;
    /* floats and uint64 above INT64_MAX: saturate (a plain cast is undefined behaviour), NaN -> 0 */
    double d = gguf_scalar_f64(v->elem_type, v->raw + i * gguf_scalar_size(v->elem_type));
    if (d != d) return 0;
    if (d >= 9223372036854775808.0) return INT64_MAX;
    if (d < -9223372036854775808.0) return INT64_MIN;
    return (int64_t)d;
}

static int absent(const char *key, int required, hearth_error *err) {
    if (required) return h_err(err, HEARTH_ERR_FORMAT, "gguf: required key '%s' is missing", key);
    return HEARTH_OK;
}

int gguf_read_i64(const gguf_file *g, const char *key, int64_t *out, int required, hearth_error *err) {
    const gguf_value *v = gguf_get(g, key);
    if (!v) return absent(key, required, err);
    int ok;
    int64_t x = v->type == GGUF_TYPE_ARRAY || v->type == GGUF_TYPE_STRING ? 0 : scalar_i64(v->type, v->raw, &ok);
    if (v->type == GGUF_TYPE_ARRAY || v->type == GGUF_TYPE_STRING || !ok)
        return h_err(err, HEARTH_ERR_FORMAT, "gguf: key '%s' has type %s (expected an integer)", key,
                     gguf_type_name(v->type));
    *out = x;
    return HEARTH_OK;
}

int gguf_read_u32(const gguf_file *g, const char *key, uint32_t *out, int required, hearth_error *err) {
    int64_t x = 0;
    const gguf_value *v = gguf_get(g, key);
    if (!v) return absent(key, required, err);
    int st = gguf_read_i64(g, key, &x, required, err);
    if (st) return st;
    if (x < 0 || x > UINT32_MAX)
        return h_err(err, HEARTH_ERR_FORMAT, "gguf: key '%s' = %lld is out of range", key, (long long)x);
    *out = (uint32_t)x;
    return HEARTH_OK;
}

int gguf_read_f32(const gguf_file *g, const char *key, float *out, int required, hearth_error *err) {
    const gguf_value *v = gguf_get(g, key);
    if (!v) return absent(key, required, err);
    if (v->type == GGUF_TYPE_ARRAY || v->type == GGUF_TYPE_STRING || v->type == GGUF_TYPE_BOOL)
        return h_err(err, HEARTH_ERR_FORMAT, "gguf: key '%s' has type %s (expected a number)", key,
                     gguf_type_name(v->type));
    *out = (float)gguf_scalar_f64(v->type, v->raw);
    return HEARTH_OK;
}

int gguf_read_bool(const gguf_file *g, const char *key, int *out, int required, hearth_error *err) {
    const gguf_value *v = gguf_get(g, key);
    if (!v) return absent(key, required, err);
    if (v->type != GGUF_TYPE_BOOL)
        return h_err(err, HEARTH_ERR_FORMAT, "gguf: key '%s' has type %s (expected bool)", key,
                     gguf_type_name(v->type));
    *out = v->raw[0] != 0;
    return HEARTH_OK;
}

int gguf_read_str(const gguf_file *g, const char *key, const char **out, size_t *len, int required,
                  hearth_error *err) {
    const gguf_value *v = gguf_get(g, key);
    if (!v) return absent(key, required, err);
    if (v->type != GGUF_TYPE_STRING)
        return h_err(err, HEARTH_ERR_FORMAT, "gguf: key '%s' has type %s (expected string)", key,
                     gguf_type_name(v->type));
    *out = v->str;
    *len = (size_t)v->n;
    return HEARTH_OK;
}
