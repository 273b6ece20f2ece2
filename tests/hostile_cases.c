/* hostile_cases.c — builders of hostile GGUF files, one per failure class, with the status and the
 * message substrings (what + where + the numbers) a correct reader must produce (hostile_cases.h).
 * Offsets in the expectations come from the writer's layout map, so they follow the file. */
#include "hostile_cases.h"

#include "hearth.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hostile_base(gguf_writer *w) {
    gw_kv_str(w, "general.architecture", "llama");
    gw_kv_u32(w, "general.alignment", 32);
    const int32_t ints[3] = {1, 2, 3};
    gw_kv_arr(w, "test.ints", GW_INT32, 3, ints);
    const char *words[2] = {"a", "bc"};
    gw_kv_arr_str(w, "test.words", 2, words);
    gw_kv_f32(w, "test.f", 0.5f);
    const uint64_t u64s[2] = {7, 8};
    gw_kv_arr(w, "test.u64s", GW_UINT64, 2, u64s);
    const uint64_t ne_tok[2] = {8, 2}, ne_q[2] = {32, 2}, ne_norm[1] = {8};
    gw_add_tensor(w, "tok.weight", GW_T_F32, 2, ne_tok, NULL);
    gw_add_tensor(w, "blk.0.q", GW_T_Q8_0, 2, ne_q, NULL);
    gw_add_tensor(w, "out.norm", GW_T_F16, 1, ne_norm, NULL);
}

void hostile_rich(gw_buf *out, uint32_t version) {
    gguf_writer w;
    gw_init(&w);
    w.version = version;
    hostile_base(&w);
    gw_kv_u8(&w, "t.u8", 200);
    gw_kv_i8(&w, "t.i8", -5);
    gw_kv_u16(&w, "t.u16", 60000);
    gw_kv_i16(&w, "t.i16", -30000);
    gw_kv_i32(&w, "t.i32", -7);
    gw_kv_u64(&w, "t.u64", 1ull << 40);
    gw_kv_i64(&w, "t.i64", -(1ll << 40));
    gw_kv_f64(&w, "t.f64", 2.5);
    gw_kv_bool(&w, "t.bool", 1);
    gw_buf v = {0};
    gw_put_arr_header(&v, GW_ARRAY, 2);
    gw_put_arr_header(&v, GW_STRING, 1);
    gw_put_str(&v, "xy");
    gw_put_arr_header(&v, GW_INT16, 2);
    gw_put_u16(&v, 1);
    gw_put_u16(&v, 2);
    gw_kv_raw(&w, "t.nested", 8, GW_ARRAY, v.data, v.len);
    gw_buf_free(&v);
    const uint64_t ne[3] = {256, 1, 2};
    gw_add_tensor(&w, "k.q4k", GW_T_Q4_K, 3, ne, NULL);
    gw_finish(&w, out, NULL);
    gw_free(&w);
}

const size_t hostile_n_seeds = 6;

const char *hostile_seed(size_t i, gw_buf *out) {
    gguf_writer w;
    gw_init(&w);
    const char *name = NULL;
    switch (i) {
    case 0:
        hostile_base(&w);
        name = "base";
        break;
    case 1:
        hostile_rich(out, 3);
        gw_free(&w);
        return "rich_v3";
    case 2:
        hostile_rich(out, 2);
        gw_free(&w);
        return "rich_v2";
    case 3: /* keys only */
        gw_kv_str(&w, "general.architecture", "llama");
        gw_kv_u32(&w, "llama.context_length", 2048);
        name = "no_tensors";
        break;
    case 4: { /* one small tensor of each type the reader knows */
        static const uint32_t types[] = {GW_T_F32, GW_T_F16, GW_T_BF16, GW_T_Q4_0, GW_T_Q4_1, GW_T_Q5_0,
                                         GW_T_Q5_1, GW_T_Q8_0, GW_T_Q4_K, GW_T_Q5_K, GW_T_Q6_K};
        w.alignment = 16;
        gw_kv_u32(&w, "general.alignment", 16);
        for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
            char tn[16];
            snprintf(tn, sizeof tn, "t%zu", k);
            const uint64_t ne[1] = {gw_type_block(types[k])};
            gw_add_tensor(&w, tn, types[k], 1, ne, NULL);
        }
        name = "all_types";
        break;
    }
    default: { /* a tokenizer-like string array and scores */
        const char *toks[6] = {"<unk>", "<s>", "</s>", ("\xe2\x96\x81" "a"), "<0x0A>", "b"};
        gw_kv_str(&w, "general.architecture", "llama");
        gw_kv_str(&w, "tokenizer.ggml.model", "llama");
        gw_kv_arr_str(&w, "tokenizer.ggml.tokens", 6, toks);
        const float scores[6] = {0, 0, 0, -1.5f, 0, -2};
        gw_kv_arr(&w, "tokenizer.ggml.scores", GW_FLOAT32, 6, scores);
        const int32_t types6[6] = {2, 3, 3, 1, 6, 1};
        gw_kv_arr(&w, "tokenizer.ggml.token_type", GW_INT32, 6, types6);
        name = "tokenizer_like";
        break;
    }
    }
    gw_finish(&w, out, NULL);
    gw_free(&w);
    return name;
}

/* ---- helpers -------------------------------------------------------------------------------- */

typedef struct hc {
    gguf_writer w;
    gw_layout lay;
    gw_buf *out;
    hostile_expect *e;
} hc;

static void sub(hostile_expect *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sub(hostile_expect *e, const char *fmt, ...) {
    if (e->n_sub >= HOSTILE_MAX_SUBS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->sub[e->n_sub++], sizeof e->sub[0], fmt, ap);
    va_end(ap);
}

/* Starts from an empty writer (base = 0) or the base file (base = 1). */
static void begin(hc *c, gw_buf *out, hostile_expect *e, int base) {
    memset(c, 0, sizeof *c);
    memset(e, 0, sizeof *e);
    e->status = HEARTH_ERR_FORMAT;
    c->out = out;
    c->e = e;
    gw_init(&c->w);
    if (base) hostile_base(&c->w);
}

static void layout(hc *c) { gw_finish(&c->w, c->out, &c->lay); }

static void end(hc *c) {
    gw_layout_free(&c->lay);
    gw_free(&c->w);
}

#define CASE(fn) static void fn(gw_buf *out, hostile_expect *e)
#define ULL(x) ((unsigned long long)(x))

/* ---- header ----------------------------------------------------------------------------------- */

CASE(c_empty_file) {
    (void)out;
    memset(e, 0, sizeof *e);
    e->status = HEARTH_ERR_FORMAT;
    sub(e, "truncated file");
    sub(e, "magic needs 4 bytes at offset 0 but the file has 0");
}

CASE(c_bad_magic) {
    hc c;
    begin(&c, out, e, 1);
    c.w.magic = 0x4c4d4747u; /* "GGML" */
    layout(&c);
    sub(e, "bad magic 0x4c4d4747");
    sub(e, "offset 0");
    end(&c);
}

static void bad_version(gw_buf *out, hostile_expect *e, uint32_t v) {
    hc c;
    begin(&c, out, e, 1);
    c.w.version = v;
    layout(&c);
    if (v == 1) e->status = HEARTH_ERR_UNSUPPORTED;
    sub(e, "version %u", v);
    end(&c);
}
CASE(c_version_0) { bad_version(out, e, 0); }
CASE(c_version_1) { bad_version(out, e, 1); }
CASE(c_version_4) { bad_version(out, e, 4); }
CASE(c_version_huge) { bad_version(out, e, 0xffffffffu); }
/* a big-endian GGUF (version 3 stored big-endian) */
CASE(c_version_big_endian) { bad_version(out, e, 0x03000000u); }

static void count_patch(gw_buf *out, hostile_expect *e, int tensors, uint64_t v, const char *what) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u64(out, tensors ? c.lay.n_tensors_off : c.lay.n_kv_off, v);
    sub(e, "%s %llu", what, ULL(v));
    sub(e, "is impossible");
    end(&c);
}
CASE(c_n_tensors_max) { count_patch(out, e, 1, UINT64_MAX, "tensor count"); }
CASE(c_n_tensors_2p32) { count_patch(out, e, 1, (uint64_t)1 << 32, "tensor count"); }
CASE(c_n_tensors_2p63) { count_patch(out, e, 1, (uint64_t)1 << 63, "tensor count"); }
CASE(c_n_kv_max) { count_patch(out, e, 0, UINT64_MAX, "metadata count"); }
CASE(c_n_kv_2p40) { count_patch(out, e, 0, (uint64_t)1 << 40, "metadata count"); }

/* one more key than present: the first tensor info is read as a key/value pair */
CASE(c_n_kv_plus_one) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u64(out, c.lay.n_kv_off, c.lay.n_kv + 1);
    /* "tok.weight" of type 2 (uint16, = n_dims) eats 2 bytes of dimension 0; the first tensor
     * info then starts 2 bytes into dimension 0 (name length 8 << 48) */
    sub(e, "tensor info 0 at offset %llu", ULL(c.lay.ti_dims_off[0] + 2));
    sub(e, "string length 562949953421312");
    end(&c);
}

/* one more tensor than present: the zero padding before the data is read as a tensor info with
 * an empty name, and the first data bytes as its dimension count */
CASE(c_n_tensors_plus_one) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u64(out, c.lay.n_tensors_off, c.lay.n_tensors + 1);
    sub(e, "tensor '': 1581195265 dimensions");
    end(&c);
}

/* ---- strings ------------------------------------------------------------------------------- */

CASE(c_key_len_beyond_file) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    uint64_t n = out->len; /* more than is left after the length field */
    gw_set_u64(out, c.lay.kv_off[HB_KV_INTS], n);
    sub(e, "metadata key 2 at offset %llu", ULL(c.lay.kv_off[HB_KV_INTS]));
    sub(e, "string length %llu exceeds the %llu bytes left", ULL(n),
        ULL(out->len - c.lay.kv_off[HB_KV_INTS] - 8));
    end(&c);
}

CASE(c_key_len_max) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u64(out, c.lay.kv_off[HB_KV_F], UINT64_MAX);
    sub(e, "metadata key 4 at offset %llu", ULL(c.lay.kv_off[HB_KV_F]));
    sub(e, "string length 18446744073709551615");
    end(&c);
}

CASE(c_str_value_len_beyond_file) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u64(out, c.lay.kv_value_off[HB_KV_ARCH], (uint64_t)1 << 40);
    sub(e, "general.architecture at offset %llu", ULL(c.lay.kv_value_off[HB_KV_ARCH]));
    sub(e, "string length 1099511627776");
    end(&c);
}

/* string value length = bytes left + 1: the classic off-by-one */
CASE(c_str_value_len_off_by_one) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    size_t at = c.lay.kv_value_off[HB_KV_ARCH];
    uint64_t left = out->len - at - 8;
    gw_set_u64(out, at, left + 1);
    sub(e, "general.architecture at offset %llu", ULL(at));
    sub(e, "string length %llu exceeds the %llu bytes left", ULL(left + 1), ULL(left));
    end(&c);
}

CASE(c_string_array_elem_len_beyond) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    /* value: elem type (4) + count (8) + "a" (8 + 1) + length of "bc" */
    size_t at = c.lay.kv_value_off[HB_KV_WORDS] + 12 + 9;
    gw_set_u64(out, at, (uint64_t)1 << 33);
    sub(e, "test.words at offset %llu", ULL(at));
    sub(e, "string length 8589934592");
    end(&c);
}

CASE(c_tensor_name_len_beyond) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u64(out, c.lay.ti_off[HB_T_Q], UINT64_MAX - 7);
    sub(e, "tensor info 1 at offset %llu", ULL(c.lay.ti_off[HB_T_Q]));
    sub(e, "string length 18446744073709551608");
    end(&c);
}

/* ---- arrays ---------------------------------------------------------------------------------- */

static void array_count(gw_buf *out, hostile_expect *e, int kv, uint64_t n, const char *key,
                        const char *type) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u64(out, c.lay.kv_value_off[kv] + 4, n);
    sub(e, "key '%s' at offset %llu", key, ULL(c.lay.kv_value_off[kv]));
    sub(e, "array of %llu %s elements", ULL(n), type);
    end(&c);
}
CASE(c_array_len_beyond_file) { array_count(out, e, HB_KV_INTS, (uint64_t)1 << 40, "test.ints", "int32"); }
/* 2^61 uint64 elements = 2^64 bytes: a byte count that wraps to 0 */
CASE(c_array_bytes_wrap) { array_count(out, e, HB_KV_U64S, (uint64_t)1 << 61, "test.u64s", "uint64"); }
CASE(c_array_len_max) { array_count(out, e, HB_KV_INTS, UINT64_MAX, "test.ints", "int32"); }
CASE(c_string_array_len_huge) { array_count(out, e, HB_KV_WORDS, (uint64_t)1 << 62, "test.words", "string"); }

CASE(c_nested_array_len_huge) {
    hc c;
    begin(&c, out, e, 1);
    gw_buf v = {0};
    gw_put_arr_header(&v, GW_ARRAY, 2);
    gw_put_arr_header(&v, GW_UINT8, 1);
    gw_put_u8(&v, 5);
    gw_put_arr_header(&v, GW_UINT8, (uint64_t)1 << 50); /* the inner array lies */
    gw_put_u8(&v, 6);
    gw_kv_raw(&c.w, "test.nested", 11, GW_ARRAY, v.data, v.len);
    gw_buf_free(&v);
    layout(&c);
    sub(e, "key 'test.nested' at offset %llu", ULL(c.lay.kv_value_off[6] + 12 + 13));
    sub(e, "array of 1125899906842624 uint8 elements");
    end(&c);
}

static void nested(gw_buf *out, hostile_expect *e, int depth) {
    hc c;
    begin(&c, out, e, 1);
    gw_buf v = {0};
    for (int d = 0; d < depth - 1; d++) gw_put_arr_header(&v, GW_ARRAY, 1);
    gw_put_arr_header(&v, GW_UINT8, 1);
    gw_put_u8(&v, 42);
    gw_kv_raw(&c.w, "test.deep", 9, GW_ARRAY, v.data, v.len);
    gw_buf_free(&v);
    layout(&c);
    sub(e, "key 'test.deep'");
    sub(e, "nested deeper than 8 levels at offset %llu", ULL(c.lay.kv_value_off[6] + 8 * 12));
    end(&c);
}
CASE(c_nested_depth_9) { nested(out, e, 9); }
CASE(c_nested_depth_1000) { nested(out, e, 1000); }

CASE(c_unknown_array_elem_type) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u32(out, c.lay.kv_value_off[HB_KV_INTS], 13);
    sub(e, "key 'test.ints' at offset %llu", ULL(c.lay.kv_value_off[HB_KV_INTS]));
    sub(e, "array of unknown element type 13");
    end(&c);
}

/* int32 elements declared as strings: the elements 1, 2 become a string length 0x200000001 */
CASE(c_array_confusion_int_as_string) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u32(out, c.lay.kv_value_off[HB_KV_INTS], GW_STRING);
    sub(e, "test.ints at offset %llu", ULL(c.lay.kv_value_off[HB_KV_INTS] + 12));
    sub(e, "string length 8589934593");
    end(&c);
}

/* int32 elements declared as arrays: each "inner array" header is made of the int32 values */
CASE(c_array_confusion_int_as_array) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u32(out, c.lay.kv_value_off[HB_KV_INTS], GW_ARRAY);
    /* count 3 with >= 12 bytes per element is more than the 12 element bytes + the rest? no: the
     * file is larger, so the first inner array (type 1 = int8, count 3 | next key length << 32)
     * is what fails */
    sub(e, "key 'test.ints'");
    sub(e, "int8 elements");
    end(&c);
}

/* string array declared as uint64: the string lengths and bytes are read as numbers, and the
 * parse continues misaligned into the next key */
CASE(c_array_confusion_string_as_u64) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u32(out, c.lay.kv_value_off[HB_KV_WORDS], GW_UINT64);
    /* 2 x 8 bytes consumed instead of 8+1+8+2 = 19: the next "key length" starts 3 bytes early */
    sub(e, "metadata key 4 at offset %llu", ULL(c.lay.kv_off[HB_KV_F] - 3));
    sub(e, "string length");
    end(&c);
}

/* bool array whose elements are not 0/1: accepted today as true (values are bytes); not a failure
 * class of its own, but element values of 2..255 must not be trusted as indices anywhere */

/* ---- value types ------------------------------------------------------------------------------ */

static void value_type(gw_buf *out, hostile_expect *e, uint32_t type) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u32(out, c.lay.kv_type_off[HB_KV_F], type);
    sub(e, "key 'test.f' at offset %llu", ULL(c.lay.kv_value_off[HB_KV_F]));
    sub(e, "unknown value type %u", type);
    end(&c);
}
CASE(c_unknown_value_type_13) { value_type(out, e, 13); }
CASE(c_unknown_value_type_max) { value_type(out, e, 0xffffffffu); }

/* ---- tensor infos ----------------------------------------------------------------------------- */

static void n_dims(gw_buf *out, hostile_expect *e, uint32_t nd) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u32(out, c.lay.ti_ndims_off[HB_T_Q], nd);
    sub(e, "tensor 'blk.0.q'");
    sub(e, "%u dimensions (must be 1..4)", nd);
    end(&c);
}
CASE(c_n_dims_0) { n_dims(out, e, 0); }
CASE(c_n_dims_max) { n_dims(out, e, 0xffffffffu); }

/* a complete 5-dimensional tensor info (every field present) */
CASE(c_n_dims_5) {
    hc c;
    begin(&c, out, e, 1);
    const uint64_t ne[5] = {32, 1, 1, 1, 1};
    gw_add_tensor_raw(&c.w, "five.d", 6, GW_T_F32, 5, ne, NULL, 128);
    layout(&c);
    sub(e, "tensor 'five.d'");
    sub(e, "5 dimensions (must be 1..4)");
    end(&c);
}

static void dim_value(gw_buf *out, hostile_expect *e, uint32_t d, uint64_t v, const char *shown) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u64(out, c.lay.ti_dims_off[HB_T_Q] + 8 * d, v);
    sub(e, "tensor 'blk.0.q'");
    sub(e, "dimension %u is %s", d, shown);
    end(&c);
}
CASE(c_dim_zero) { dim_value(out, e, 1, 0, "0"); }
CASE(c_dim_zero_first) { dim_value(out, e, 0, 0, "0"); }
CASE(c_dim_negative) { dim_value(out, e, 1, (uint64_t)1 << 63, "-9223372036854775808"); }
CASE(c_dim_minus_one) { dim_value(out, e, 1, UINT64_MAX, "-1"); }

static void big_tensor(gw_buf *out, hostile_expect *e, uint32_t type, uint32_t nd, const uint64_t *ne) {
    hc c;
    begin(&c, out, e, 1);
    gw_add_tensor_raw(&c.w, "huge", 4, type, nd, ne, NULL, 64);
    layout(&c);
    sub(e, "tensor 'huge'");
    end(&c);
}
/* 2^32 * 2^32 = 2^64: the element count wraps to 0 */
CASE(c_elem_count_wrap) {
    const uint64_t ne[2] = {(uint64_t)1 << 32, (uint64_t)1 << 32};
    big_tensor(out, e, GW_T_F32, 2, ne);
    sub(e, "element count overflows (dimension 1 = 4294967296)");
}
/* 2^16 per dimension, 4 dimensions: wraps to 0 in the last product */
CASE(c_elem_count_wrap_4d) {
    const uint64_t ne[4] = {65536, 65536, 65536, 65536};
    big_tensor(out, e, GW_T_F32, 4, ne);
    sub(e, "element count overflows (dimension 3 = 65536)");
}
/* 3 * (2^64 / 3 + 1) wraps to a small number (2) */
CASE(c_elem_count_wrap_small) {
    const uint64_t ne[2] = {3, 6148914691236517206ull};
    big_tensor(out, e, GW_T_F32, 2, ne);
    sub(e, "element count overflows (dimension 1 = 6148914691236517206)");
}
/* 2^63 elements: above INT64_MAX */
CASE(c_elem_count_2p63) {
    const uint64_t ne[2] = {(uint64_t)1 << 32, (uint64_t)1 << 31};
    big_tensor(out, e, GW_T_F32, 2, ne);
    sub(e, "element count overflows");
}
/* 2^62 F32 elements = 2^64 bytes: the byte size wraps */
CASE(c_byte_size_wrap) {
    const uint64_t ne[2] = {(uint64_t)1 << 31, (uint64_t)1 << 31};
    big_tensor(out, e, GW_T_F32, 2, ne);
    sub(e, "byte size overflows");
}
/* 2^60 F32 elements = 2^62 bytes: no overflow, far past the end of the file */
CASE(c_byte_size_huge) {
    const uint64_t ne[2] = {(uint64_t)1 << 30, (uint64_t)1 << 30};
    big_tensor(out, e, GW_T_F32, 2, ne);
    sub(e, "+ 4611686018427387904 bytes exceeds file size %llu", ULL(out->len));
}

static void tensor_type(gw_buf *out, hostile_expect *e, uint32_t type) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u32(out, c.lay.ti_type_off[HB_T_Q], type);
    sub(e, "tensor 'blk.0.q'");
    sub(e, "unknown tensor type %u", type);
    end(&c);
}
CASE(c_tensor_type_4) { tensor_type(out, e, 4); } /* Q4_2: removed from ggml long ago */
CASE(c_tensor_type_40) { tensor_type(out, e, 40); }
CASE(c_tensor_type_max) { tensor_type(out, e, 0xffffffffu); }

static void bad_row(gw_buf *out, hostile_expect *e, uint32_t type, uint64_t ne0, const char *tname,
                    unsigned block) {
    hc c;
    begin(&c, out, e, 1);
    const uint64_t ne[2] = {ne0, 2};
    gw_add_tensor_raw(&c.w, "bad.row", 7, type, 2, ne, NULL, 64);
    layout(&c);
    sub(e, "tensor 'bad.row'");
    sub(e, "row length %llu is not a multiple of the %s block size %u", ULL(ne0), tname, block);
    end(&c);
}
CASE(c_row_not_block_q8_0) { bad_row(out, e, GW_T_Q8_0, 48, "Q8_0", 32); }
CASE(c_row_not_block_q4_k) { bad_row(out, e, GW_T_Q4_K, 128, "Q4_K", 256); }

/* ---- tensor data ------------------------------------------------------------------------------ */

static void tensor_rel(gw_buf *out, hostile_expect *e, uint64_t rel, int misaligned) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u64(out, c.lay.ti_offset_off[HB_T_Q], rel);
    sub(e, "tensor 'blk.0.q'");
    if (misaligned) {
        sub(e, "offset %llu is not a multiple of the alignment 32", ULL(rel));
    } else {
        sub(e, "+ 68 bytes exceeds file size %llu", ULL(out->len));
    }
    end(&c);
}
CASE(c_offset_beyond_file) { tensor_rel(out, e, (uint64_t)1 << 40, 0); }
/* data offset + relative offset wraps around 2^64 */
CASE(c_offset_wrap) { tensor_rel(out, e, UINT64_MAX - 31, 0); }
CASE(c_misaligned_offset_1) { tensor_rel(out, e, 65, 1); }
CASE(c_misaligned_offset_16) { tensor_rel(out, e, 80, 1); }

/* the last tensor starts inside the file but ends 1 byte past it */
CASE(c_offset_plus_size_past_eof) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_truncate(out, out->len - 1);
    sub(e, "tensor 'out.norm'");
    sub(e, "offset %llu + 16 bytes exceeds file size %llu", ULL(c.lay.data_at[HB_T_NORM]), ULL(out->len));
    end(&c);
}

/* the data section would start beyond the end of the file */
CASE(c_data_start_beyond_file) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_truncate(out, c.lay.header_end);
    sub(e, "tensor data would start at %llu", ULL(c.lay.data_off));
    sub(e, "file has %llu bytes", ULL(c.lay.header_end));
    end(&c);
}

/* tensors whose data overlap; with many of them the sum of tensor sizes far exceeds the file
 * (a loader that copies tensors would allocate n_tensors x file size) */
CASE(c_overlapping_tensors) {
    hc c;
    begin(&c, out, e, 1);
    const uint64_t ne[1] = {16};
    uint64_t i = gw_add_tensor(&c.w, "alias.of.tok", GW_T_F32, 1, ne, NULL);
    gw_set_tensor_offset(&c.w, i, 0);
    layout(&c);
    sub(e, "tensor 'alias.of.tok'");
    sub(e, "overlaps");
    end(&c);
}

CASE(c_size_amplification) {
    hc c;
    begin(&c, out, e, 0);
    gw_kv_str(&c.w, "general.architecture", "llama");
    const uint64_t ne[1] = {256};
    gw_add_tensor(&c.w, "t.0", GW_T_F32, 1, ne, NULL);
    for (int k = 1; k < 200; k++) {
        char name[16];
        snprintf(name, sizeof name, "t.%d", k);
        uint64_t i = gw_add_tensor(&c.w, name, GW_T_F32, 1, ne, NULL);
        gw_set_tensor_offset(&c.w, i, 0);
    }
    layout(&c);
    sub(e, "tensor 't.1'");
    sub(e, "overlaps");
    end(&c);
}

/* ---- alignment -------------------------------------------------------------------------------- */

static void align_value(gw_buf *out, hostile_expect *e, uint32_t a) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u32(out, c.lay.kv_value_off[HB_KV_ALIGN], a);
    sub(e, "general.alignment %u is not a power of two", a);
    end(&c);
}
CASE(c_alignment_0) { align_value(out, e, 0); }
CASE(c_alignment_3) { align_value(out, e, 3); }
CASE(c_alignment_48) { align_value(out, e, 48); }
CASE(c_alignment_max) { align_value(out, e, 0xffffffffu); }

/* 2^31 is a power of two, but the data section would start 2 GiB into a tiny file */
CASE(c_alignment_2p31) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_set_u32(out, c.lay.kv_value_off[HB_KV_ALIGN], 0x80000000u);
    sub(e, "tensor data would start at 2147483648");
    end(&c);
}

/* general.alignment of another type: the alignment key replaced by a value of `type` */
static void align_type(gw_buf *out, hostile_expect *e, uint32_t type, const char *tname) {
    hc c;
    begin(&c, out, e, 0);
    gw_kv_str(&c.w, "general.architecture", "llama");
    switch (type) {
    case GW_UINT64: gw_kv_u64(&c.w, "general.alignment", 32); break;
    case GW_INT32: gw_kv_i32(&c.w, "general.alignment", 32); break;
    case GW_UINT16: gw_kv_u16(&c.w, "general.alignment", 32); break;
    case GW_UINT8: gw_kv_u8(&c.w, "general.alignment", 32); break;
    case GW_FLOAT32: gw_kv_f32(&c.w, "general.alignment", 32.0f); break;
    case GW_STRING: gw_kv_str(&c.w, "general.alignment", "32"); break;
    case GW_BOOL: gw_kv_bool(&c.w, "general.alignment", 1); break;
    default: {
        const uint32_t v[1] = {32};
        gw_kv_arr(&c.w, "general.alignment", GW_UINT32, 1, v);
        break;
    }
    }
    const uint64_t ne[2] = {8, 2};
    gw_add_tensor(&c.w, "tok.weight", GW_T_F32, 2, ne, NULL);
    layout(&c);
    sub(e, "general.alignment has type %s (must be uint32)", tname);
    end(&c);
}
CASE(c_alignment_type_u64) { align_type(out, e, GW_UINT64, "uint64"); }
CASE(c_alignment_type_i32) { align_type(out, e, GW_INT32, "int32"); }
CASE(c_alignment_type_u16) { align_type(out, e, GW_UINT16, "uint16"); }
CASE(c_alignment_type_u8) { align_type(out, e, GW_UINT8, "uint8"); }
CASE(c_alignment_type_f32) { align_type(out, e, GW_FLOAT32, "float32"); }
CASE(c_alignment_type_string) { align_type(out, e, GW_STRING, "string"); }
CASE(c_alignment_type_bool) { align_type(out, e, GW_BOOL, "bool"); }
CASE(c_alignment_type_array) { align_type(out, e, GW_ARRAY, "array"); }

/* ---- names ------------------------------------------------------------------------------------ */

CASE(c_duplicate_tensor_name) {
    hc c;
    begin(&c, out, e, 1);
    const uint64_t ne[1] = {8};
    gw_add_tensor(&c.w, "blk.0.q", GW_T_F32, 1, ne, NULL);
    layout(&c);
    sub(e, "duplicate tensor name 'blk.0.q'");
    end(&c);
}

CASE(c_duplicate_key) {
    hc c;
    begin(&c, out, e, 1);
    gw_kv_u32(&c.w, "test.f", 7);
    layout(&c);
    sub(e, "duplicate metadata key 'test.f'");
    end(&c);
}

/* a second general.alignment with a different value: which one would win? */
CASE(c_duplicate_alignment_key) {
    hc c;
    begin(&c, out, e, 1);
    gw_kv_u32(&c.w, "general.alignment", 64);
    layout(&c);
    sub(e, "duplicate metadata key 'general.alignment'");
    end(&c);
}

CASE(c_key_with_nul) {
    hc c;
    begin(&c, out, e, 1);
    gw_kv_raw(&c.w, "test.f\0evil", 11, GW_UINT8, "\x01", 1);
    layout(&c);
    sub(e, "metadata key 6 at offset %llu contains a NUL byte", ULL(c.lay.kv_off[6] + 8));
    end(&c);
}

CASE(c_tensor_name_with_nul) {
    hc c;
    begin(&c, out, e, 1);
    const uint64_t ne[1] = {8};
    gw_add_tensor_raw(&c.w, "tok.weight\0x", 12, GW_T_F32, 1, ne, NULL, 32);
    layout(&c);
    sub(e, "tensor info 3 at offset %llu contains a NUL byte", ULL(c.lay.ti_off[3] + 8));
    end(&c);
}

/* ---- truncation (representatives; the tests cut a file at every byte) --------------------------- */

static void cut(gw_buf *out, hostile_expect *e, int where) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    size_t at = 0, p;
    switch (where) {
    case 0: /* inside the magic */
        at = 2;
        sub(e, "truncated file: magic needs 4 bytes at offset 0 but the file has 2");
        break;
    case 1: /* inside the key count */
        at = c.lay.n_kv_off + 3;
        sub(e, "truncated file: metadata count needs 8 bytes at offset 16 but the file has 19");
        break;
    case 2: /* inside a key */
        p = c.lay.kv_off[HB_KV_WORDS];
        at = p + 11;
        sub(e, "metadata key 3 at offset %llu: string length 10 exceeds the 3 bytes left", ULL(p));
        break;
    case 3: /* inside an array value */
        p = c.lay.kv_value_off[HB_KV_U64S];
        at = p + 12 + 5;
        sub(e, "key 'test.u64s' at offset %llu: array of 2 uint64 elements", ULL(p));
        sub(e, "only 5 bytes are left");
        break;
    case 4: /* inside a tensor info */
        p = c.lay.ti_dims_off[HB_T_NORM];
        at = p + 4;
        sub(e, "truncated file: out.norm needs 8 bytes at offset %llu but the file has %llu", ULL(p), ULL(at));
        break;
    }
    gw_truncate(out, at);
    end(&c);
}
CASE(c_truncated_magic) { cut(out, e, 0); }
CASE(c_truncated_counts) { cut(out, e, 1); }
CASE(c_truncated_key) { cut(out, e, 2); }
CASE(c_truncated_array) { cut(out, e, 3); }
CASE(c_truncated_tensor_info) { cut(out, e, 4); }

CASE(c_truncated_tensor_data) {
    hc c;
    begin(&c, out, e, 1);
    layout(&c);
    gw_truncate(out, c.lay.data_at[HB_T_Q] + 10);
    sub(e, "tensor 'blk.0.q'");
    sub(e, "offset %llu + 68 bytes exceeds file size %llu", ULL(c.lay.data_at[HB_T_Q]), ULL(out->len));
    end(&c);
}

#define C(name, what) {#name, what, c_##name}
const hostile_case hostile_cases[] = {
    C(empty_file, "empty file"),
    C(bad_magic, "bad magic ('GGML')"),
    C(version_0, "bad version 0"),
    C(version_1, "version 1 (unsupported old format)"),
    C(version_4, "bad version 4 (from the future)"),
    C(version_huge, "bad version 0xffffffff"),
    C(version_big_endian, "big-endian file (version 3 byte-swapped)"),
    C(n_tensors_max, "tensor count 2^64-1"),
    C(n_tensors_2p32, "tensor count 2^32"),
    C(n_tensors_2p63, "tensor count 2^63 (negative as int64)"),
    C(n_kv_max, "metadata count 2^64-1"),
    C(n_kv_2p40, "metadata count 2^40"),
    C(n_kv_plus_one, "metadata count one too many (tensor info read as a key)"),
    C(n_tensors_plus_one, "tensor count one too many (tensor data read as a tensor info)"),
    C(key_len_beyond_file, "key length beyond the end of the file"),
    C(key_len_max, "key length 2^64-1 (position + length wraps)"),
    C(str_value_len_beyond_file, "string value length 2^40"),
    C(str_value_len_off_by_one, "string value length one byte beyond the file"),
    C(string_array_elem_len_beyond, "string array element length beyond the file"),
    C(tensor_name_len_beyond, "tensor name length 2^64-8"),
    C(array_len_beyond_file, "array length 2^40"),
    C(array_bytes_wrap, "array of 2^61 uint64 (byte count wraps to 0)"),
    C(array_len_max, "array length 2^64-1"),
    C(string_array_len_huge, "string array length 2^62"),
    C(nested_array_len_huge, "nested inner array length 2^50"),
    C(nested_depth_9, "arrays nested 9 deep (limit 8)"),
    C(nested_depth_1000, "arrays nested 1000 deep (stack exhaustion attempt)"),
    C(unknown_array_elem_type, "array of unknown element type 13"),
    C(array_confusion_int_as_string, "element-type confusion: int32 elements declared string"),
    C(array_confusion_int_as_array, "element-type confusion: int32 elements declared array"),
    C(array_confusion_string_as_u64, "element-type confusion: string elements declared uint64"),
    C(unknown_value_type_13, "unknown value type 13"),
    C(unknown_value_type_max, "unknown value type 0xffffffff"),
    C(n_dims_0, "tensor with 0 dimensions"),
    C(n_dims_max, "tensor with 2^32-1 dimensions"),
    C(n_dims_5, "tensor with 5 dimensions"),
    C(dim_zero, "zero dimension"),
    C(dim_zero_first, "zero row length"),
    C(dim_negative, "dimension 2^63 (negative as int64)"),
    C(dim_minus_one, "dimension 2^64-1 (-1 as int64)"),
    C(elem_count_wrap, "element count 2^32 x 2^32 wraps to 0"),
    C(elem_count_wrap_4d, "element count 65536^4 wraps to 0"),
    C(elem_count_wrap_small, "element count 3 x (2^64/3+1) wraps to 2"),
    C(elem_count_2p63, "element count 2^63"),
    C(byte_size_wrap, "byte size 2^62 F32 = 2^64 wraps"),
    C(byte_size_huge, "byte size 2^62 (no wrap, past the file)"),
    C(tensor_type_4, "tensor type 4 (removed Q4_2)"),
    C(tensor_type_40, "tensor type 40 (unknown)"),
    C(tensor_type_max, "tensor type 0xffffffff"),
    C(row_not_block_q8_0, "Q8_0 row of 48 (not a multiple of 32)"),
    C(row_not_block_q4_k, "Q4_K row of 128 (not a multiple of 256)"),
    C(offset_beyond_file, "tensor offset 2^40"),
    C(offset_wrap, "tensor offset 2^64-32 (data start + offset wraps)"),
    C(misaligned_offset_1, "tensor offset 65 (alignment 32)"),
    C(misaligned_offset_16, "tensor offset 80 (alignment 32)"),
    C(offset_plus_size_past_eof, "last tensor ends 1 byte past the end of the file"),
    C(data_start_beyond_file, "file ends before the (aligned) data section"),
    C(overlapping_tensors, "two tensors share data"),
    C(size_amplification, "200 tensors share 1 KiB of data (sum of sizes >> file)"),
    C(alignment_0, "general.alignment 0"),
    C(alignment_3, "general.alignment 3 (not a power of two)"),
    C(alignment_48, "general.alignment 48 (not a power of two)"),
    C(alignment_max, "general.alignment 0xffffffff"),
    C(alignment_2p31, "general.alignment 2^31 (data section beyond the file)"),
    C(alignment_type_u64, "general.alignment of type uint64"),
    C(alignment_type_i32, "general.alignment of type int32"),
    C(alignment_type_u16, "general.alignment of type uint16"),
    C(alignment_type_u8, "general.alignment of type uint8"),
    C(alignment_type_f32, "general.alignment of type float32"),
    C(alignment_type_string, "general.alignment of type string"),
    C(alignment_type_bool, "general.alignment of type bool"),
    C(alignment_type_array, "general.alignment of type array"),
    C(duplicate_tensor_name, "duplicate tensor name"),
    C(duplicate_key, "duplicate metadata key"),
    C(duplicate_alignment_key, "general.alignment twice"),
    C(key_with_nul, "key with a NUL byte"),
    C(tensor_name_with_nul, "tensor name with a NUL byte"),
    C(truncated_magic, "truncated inside the magic"),
    C(truncated_counts, "truncated inside the key count"),
    C(truncated_key, "truncated inside a key"),
    C(truncated_array, "truncated inside an array value"),
    C(truncated_tensor_info, "truncated inside a tensor info"),
    C(truncated_tensor_data, "truncated inside the tensor data"),
};
const size_t hostile_n_cases = sizeof hostile_cases / sizeof hostile_cases[0];

/* ---- index collision flood ---------------------------------------------------------------------- */

/* FNV-1a (the reader's key hash) restricted to its low 24 bits: the low bits of the state only
 * depend on the low bits of the previous state and the byte, so blocks that collide from a given
 * state can be chained: k blocks with 2 choices each give 2^k keys in one bucket. A colliding pair
 * of 4-byte blocks: two 3-letter prefixes whose states agree in bits 8..23, then last bytes whose
 * xor cancels the difference in bits 0..7 (the next step xors the byte in before multiplying). */
#define FLOOD_BITS 24
#define FLOOD_MASK ((1u << FLOOD_BITS) - 1)
static uint32_t fnv_step(uint32_t h, const char *s, int n) {
    uint64_t x = h;
    for (int i = 0; i < n; i++) x = (x ^ (uint8_t)s[i]) * 1099511628211ull;
    return (uint32_t)x & FLOOD_MASK;
}

typedef struct { uint32_t h, idx; } flood_ent;
static int flood_cmp(const void *a, const void *b) {
    const flood_ent *x = a, *y = b;
    uint32_t hx = x->h >> 8, hy = y->h >> 8;
    return hx < hy ? -1 : hx > hy ? 1 : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static const char flood_alpha[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
#define FLOOD_NA 62u
#define FLOOD_N (FLOOD_NA * FLOOD_NA * FLOOD_NA)

static void prefix_of(uint32_t idx, char out[3]) {
    out[0] = flood_alpha[idx % FLOOD_NA];
    out[1] = flood_alpha[idx / FLOOD_NA % FLOOD_NA];
    out[2] = flood_alpha[idx / (FLOOD_NA * FLOOD_NA)];
}

void hostile_hash_flood(gw_buf *out, uint64_t n_keys) {
    const char *prefix = "flood.";
    uint32_t h = fnv_step((uint32_t)(1469598103934665603ull & FLOOD_MASK), prefix, 6);
    int k = 0;
    while (((uint64_t)1 << k) < n_keys) k++;
    char pairs[64][2][4];
    flood_ent *ents = malloc(FLOOD_N * sizeof *ents);
    if (!ents) abort();
    for (int b = 0; b < k; b++) {
        for (uint32_t i = 0; i < FLOOD_N; i++) {
            char p[3];
            prefix_of(i, p);
            ents[i].h = fnv_step(h, p, 3);
            ents[i].idx = i;
        }
        qsort(ents, FLOOD_N, sizeof *ents, flood_cmp);
        uint32_t j = 0;
        while (j + 1 < FLOOD_N && (ents[j].h >> 8) != (ents[j + 1].h >> 8)) j++;
        if (j + 1 >= FLOOD_N) abort(); /* 238328 prefixes in 65536 buckets: never happens */
        uint8_t d = (uint8_t)(ents[j].h ^ ents[j + 1].h);
        uint8_t c = (uint8_t)('a' ^ d) ? 'a' : 'b';
        prefix_of(ents[j].idx, pairs[b][0]);
        prefix_of(ents[j + 1].idx, pairs[b][1]);
        pairs[b][0][3] = (char)c;
        pairs[b][1][3] = (char)(c ^ d);
        h = fnv_step(h, pairs[b][0], 4);
    }
    free(ents);
    gguf_writer w;
    gw_init(&w);
    char key[6 + 4 * 64 + 1];
    for (uint64_t i = 0; i < n_keys; i++) {
        memcpy(key, prefix, 6);
        for (int b = 0; b < k; b++) memcpy(key + 6 + 4 * b, pairs[b][(i >> b) & 1], 4);
        key[6 + 4 * k] = 0;
        gw_kv_u8(&w, key, (uint8_t)i);
    }
    gw_finish(&w, out, NULL);
    gw_free(&w);
}
