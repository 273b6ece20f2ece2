/* test_gguf.c — the GGUF reader on valid files: every metadata value type of
 * ../shared/testdata/models/gguf-tensor-types.gguf and the testdata.* keys of tiny-llama-f32.gguf
 * read back exactly (values from the generator's documented inputs, tools/make_types_file.py and
 * make_testdata.py); tensor infos and data offsets agree with what ggml accepted; typed getters
 * convert or refuse with messages; round trips through tests/gguf_writer.c (every type, nested
 * arrays, alignments, versions, a header larger than the first read window); and a streaming
 * source that delivers bytes late makes gguf_open return HEARTH_ERR_AGAIN until they arrive. */
#include "test.h"

#include "faults.h"
#include "gguf.h"
#include "gguf_writer.h"
#include "hostile_cases.h"

static gguf_file *open_testdata(const char *rel, hearth_source *src) {
    char path[512];
    hearth_error err = {0};
    if (hearth_source_open_file(src, test_path(path, sizeof path, rel), &err)) {
        CHECK_MSG(0, "%s", err.msg);
        return NULL;
    }
    gguf_file *g = NULL;
    int st = gguf_open(&g, src, &err);
    CHECK_MSG(st == HEARTH_OK, "%s: %s", rel, err.msg);
    if (st) hearth_source_close(src);
    return g;
}

static const gguf_value *get_typed(const gguf_file *g, const char *key, uint32_t type) {
    const gguf_value *v = gguf_get(g, key);
    CHECK_MSG(v != NULL, "key %s missing", key);
    if (!v) return NULL;
    CHECK_MSG(v->type == type, "%s: type %s, expected %s", key, gguf_type_name(v->type), gguf_type_name(type));
    return v->type == type ? v : NULL;
}

static int str_eq(const char *p, uint64_t n, const char *want) {
    return n == strlen(want) && memcmp(p, want, (size_t)n) == 0;
}

static void check_str(const gguf_file *g, const char *key, const char *want) {
    const gguf_value *v = get_typed(g, key, GGUF_TYPE_STRING);
    if (v) CHECK_MSG(str_eq(v->str, v->n, want), "%s = '%.*s'", key, (int)v->n, v->str);
}

static void check_int(const gguf_file *g, const char *key, uint32_t type, int64_t want) {
    const gguf_value *v = get_typed(g, key, type);
    if (!v) return;
    int64_t x = 0;
    hearth_error err = {0};
    CHECK_MSG(gguf_read_i64(g, key, &x, 1, &err) == HEARTH_OK, "%s", err.msg);
    CHECK_MSG(x == want, "%s = %lld, expected %lld", key, (long long)x, (long long)want);
}

/* array of integers: element type, count and every value (through gguf_arr_i64 and raw bytes) */
static void check_int_array(const gguf_file *g, const char *key, uint32_t et, int n, const int64_t *want) {
    const gguf_value *v = get_typed(g, key, GGUF_TYPE_ARRAY);
    if (!v) return;
    CHECK_MSG(v->elem_type == et, "%s: element type %s", key, gguf_type_name(v->elem_type));
    CHECK_EQ_INT(v->n, n);
    if (v->n != (uint64_t)n || v->elem_type != et) return;
    size_t sz = gguf_scalar_size(et);
    for (int i = 0; i < n; i++) {
        CHECK_MSG(gguf_arr_i64(v, (uint64_t)i) == want[i], "%s[%d] = %lld", key, i, (long long)gguf_arr_i64(v, (uint64_t)i));
        uint64_t bits = 0;
        for (size_t k = 0; k < sz; k++) bits |= (uint64_t)v->raw[i * sz + k] << (8 * k);
        uint64_t want_bits = sz == 8 ? (uint64_t)want[i] : (uint64_t)want[i] & ((1ull << (8 * sz)) - 1);
        CHECK_MSG(bits == want_bits, "%s[%d] raw bits 0x%llx", key, i, (unsigned long long)bits);
    }
}

static void check_f32_bits(const gguf_file *g, const char *key, float want) {
    const gguf_value *v = get_typed(g, key, GGUF_TYPE_FLOAT32);
    if (!v) return;
    float f;
    memcpy(&f, v->raw, 4);
    CHECK_MSG(memcmp(&f, &want, 4) == 0, "%s = %.9g", key, f);
    float r = 0;
    hearth_error err = {0};
    CHECK(gguf_read_f32(g, key, &r, 1, &err) == HEARTH_OK && memcmp(&r, &want, 4) == 0);
}

static void check_f64_bits(const gguf_file *g, const char *key, double want) {
    const gguf_value *v = get_typed(g, key, GGUF_TYPE_FLOAT64);
    if (!v) return;
    double d;
    memcpy(&d, v->raw, 8);
    CHECK_MSG(memcmp(&d, &want, 8) == 0, "%s = %.17g", key, d);
}

static void check_bool(const gguf_file *g, const char *key, int want) {
    const gguf_value *v = get_typed(g, key, GGUF_TYPE_BOOL);
    if (!v) return;
    int b = -1;
    hearth_error err = {0};
    CHECK(gguf_read_bool(g, key, &b, 1, &err) == HEARTH_OK);
    CHECK_EQ_INT(b, want);
    CHECK_EQ_INT(v->raw[0], want);
}

static void check_str_array(const gguf_file *g, const char *key, int n, const char *const *want) {
    const gguf_value *v = get_typed(g, key, GGUF_TYPE_ARRAY);
    if (!v) return;
    CHECK(v->elem_type == GGUF_TYPE_STRING);
    CHECK_EQ_INT(v->n, n);
    if (v->elem_type != GGUF_TYPE_STRING || v->n != (uint64_t)n || !v->strs) return;
    for (int i = 0; i < n; i++)
        CHECK_MSG(str_eq(v->strs[i].p, v->strs[i].n, want[i]), "%s[%d] = '%.*s'", key, i, (int)v->strs[i].n,
                  v->strs[i].p);
}

static void check_float_array(const gguf_file *g, const char *key, uint32_t et, int n, const double *want) {
    const gguf_value *v = get_typed(g, key, GGUF_TYPE_ARRAY);
    if (!v) return;
    CHECK(v->elem_type == et);
    CHECK_EQ_INT(v->n, n);
    if (v->elem_type != et || v->n != (uint64_t)n) return;
    for (int i = 0; i < n; i++) {
        double want_i = et == GGUF_TYPE_FLOAT32 ? (double)(float)want[i] : want[i];
        double x = gguf_arr_f64(v, (uint64_t)i);
        CHECK_MSG(memcmp(&x, &want_i, 8) == 0, "%s[%d] = %.17g, expected %.17g", key, i, x, want_i);
    }
}

#define UTF8_STRING "h\xc3\xa9llo w\xc3\xb6rld \xf0\x9f\xa6\x99 \xe4\xbd\xa0\xe5\xa5\xbd" /* héllo wörld 🦙 你好 */

/* gguf-tensor-types.gguf: the metadata keys of tools/make_types_file.py, value for value. */
static void test_types_file_metadata(void) {
    hearth_source src;
    gguf_file *g = open_testdata("models/gguf-tensor-types.gguf", &src);
    if (!g) return;
    CHECK_EQ_INT(gguf_version(g), 3);
    CHECK_EQ_INT(gguf_alignment(g), 32);
    check_int(g, "general.alignment", GGUF_TYPE_UINT32, 32);
    check_str(g, "general.architecture", "none");
    check_str(g, "general.type", "testdata");
    check_str(g, "general.name", "gguf-tensor-types");
    check_int(g, "testdata.uint8", GGUF_TYPE_UINT8, 255);
    check_int(g, "testdata.int8", GGUF_TYPE_INT8, -128);
    check_int(g, "testdata.uint16", GGUF_TYPE_UINT16, 65535);
    check_int(g, "testdata.int16", GGUF_TYPE_INT16, -32768);
    check_int(g, "testdata.uint32", GGUF_TYPE_UINT32, 4294967295ll);
    check_int(g, "testdata.int32", GGUF_TYPE_INT32, INT32_MIN);
    check_f32_bits(g, "testdata.float32", 0.1f);
    check_bool(g, "testdata.bool.true", 1);
    check_bool(g, "testdata.bool.false", 0);
    check_str(g, "testdata.string", UTF8_STRING);
    check_str(g, "testdata.string.empty", "");
    check_int(g, "testdata.int64", GGUF_TYPE_INT64, INT64_MIN);
    check_f64_bits(g, "testdata.float64", 0.1);
    /* uint64 max does not fit int64: the typed getter refuses, the raw bytes hold it */
    const gguf_value *u = get_typed(g, "testdata.uint64", GGUF_TYPE_UINT64);
    if (u) CHECK(h_rd_u64(u->raw) == UINT64_MAX);
    int64_t x = 0;
    hearth_error err = {0};
    CHECK_EQ_INT(gguf_read_i64(g, "testdata.uint64", &x, 1, &err), HEARTH_ERR_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "testdata.uint64");

    const int64_t a_u8[] = {0, 1, 255}, a_i8[] = {-128, 0, 127}, a_u16[] = {0, 65535},
                  a_i16[] = {-32768, 32767}, a_u32[] = {0, 4294967295ll}, a_i32[] = {INT32_MIN, INT32_MAX},
                  a_bool[] = {1, 0, 1}, a_i64[] = {INT64_MIN, INT64_MAX};
    check_int_array(g, "testdata.array.uint8", GGUF_TYPE_UINT8, 3, a_u8);
    check_int_array(g, "testdata.array.int8", GGUF_TYPE_INT8, 3, a_i8);
    check_int_array(g, "testdata.array.uint16", GGUF_TYPE_UINT16, 2, a_u16);
    check_int_array(g, "testdata.array.int16", GGUF_TYPE_INT16, 2, a_i16);
    check_int_array(g, "testdata.array.uint32", GGUF_TYPE_UINT32, 2, a_u32);
    check_int_array(g, "testdata.array.int32", GGUF_TYPE_INT32, 2, a_i32);
    check_int_array(g, "testdata.array.bool", GGUF_TYPE_BOOL, 3, a_bool);
    check_int_array(g, "testdata.array.int64", GGUF_TYPE_INT64, 2, a_i64);
    const gguf_value *au = get_typed(g, "testdata.array.uint64", GGUF_TYPE_ARRAY);
    if (au && au->elem_type == GGUF_TYPE_UINT64 && au->n == 2) {
        CHECK(h_rd_u64(au->raw) == 0 && h_rd_u64(au->raw + 8) == UINT64_MAX);
        CHECK(gguf_arr_f64(au, 1) == 18446744073709551616.0); /* 2^64-1 rounds to 2^64 in double */
    } else {
        CHECK_MSG(0, "testdata.array.uint64 malformed");
    }
    const double a_f32[] = {1.5, -2.25, 0.0}, a_f64[] = {1e300, -1e-300};
    check_float_array(g, "testdata.array.float32", GGUF_TYPE_FLOAT32, 3, a_f32);
    check_float_array(g, "testdata.array.float64", GGUF_TYPE_FLOAT64, 2, a_f64);
    const char *strs[] = {"", "a", "\xc3\xa9\xc3\xa8", "\xf0\x9f\xa6\x99", "with space"};
    check_str_array(g, "testdata.array.string", 5, strs);
    check_int_array(g, "testdata.array.empty_int32", GGUF_TYPE_INT32, 0, NULL);
    CHECK(gguf_get(g, "testdata.nonexistent") == NULL);
    gguf_close(g);
    hearth_source_close(&src);
}

/* gguf-tensor-types.gguf tensors: every q.<TYPE>.<kind> of make_types_file.py with its documented
 * shape and a ref.* twin (F32, same shape); data offsets are the running aligned sum (ggml, which
 * dequantized this file, accepts only that); F32/F16/BF16 data equal their ggml dequantization. */
static void test_types_file_tensors(void) {
    hearth_source src;
    gguf_file *g = open_testdata("models/gguf-tensor-types.gguf", &src);
    if (!g) return;
    static const struct { const char *name; uint32_t type, block; } types[] = {
        {"F32", GW_T_F32, 1},    {"F16", GW_T_F16, 1},    {"BF16", GW_T_BF16, 1},  {"Q8_0", GW_T_Q8_0, 32},
        {"Q4_0", GW_T_Q4_0, 32}, {"Q4_1", GW_T_Q4_1, 32}, {"Q4_K", GW_T_Q4_K, 256}, {"Q5_K", GW_T_Q5_K, 256},
        {"Q6_K", GW_T_Q6_K, 256}, {"Q5_0", GW_T_Q5_0, 32}, {"Q5_1", GW_T_Q5_1, 32},
    };
    int n_expected = 0;
    for (size_t k = 0; k < H_ARRAY_LEN(types); k++) {
        const char *kinds[3] = {"from_float", "random_bits", "3d"};
        for (int j = 0; j < 3; j++) {
            int only_bits = types[k].type == GW_T_Q5_0 || types[k].type == GW_T_Q5_1;
            if (only_bits && j != 1) continue;
            if (j == 1 && (types[k].type == GW_T_F32 || types[k].type == GW_T_BF16)) continue;
            char name[64], ref[80];
            snprintf(name, sizeof name, "q.%s.%s", types[k].name, kinds[j]);
            snprintf(ref, sizeof ref, "ref.%s", name);
            uint64_t want[3] = {512, 3, 1};
            uint32_t nd = 2;
            if (j == 1) want[0] = types[k].block == 256 ? 256 : 64, want[1] = 4;
            if (j == 2) want[0] = 256, want[1] = 2, want[2] = 2, nd = 3;
            n_expected += 2;
            const gguf_tensor *t = gguf_find_tensor(g, name), *r = gguf_find_tensor(g, ref);
            CHECK_MSG(t && r, "%s or %s missing", name, ref);
            if (!t || !r) continue;
            CHECK_EQ_INT(t->type, types[k].type);
            CHECK_EQ_INT(r->type, GW_T_F32);
            CHECK_EQ_INT(t->n_dims, nd);
            CHECK_EQ_INT(r->n_dims, nd);
            for (int d = 0; d < 3; d++) {
                CHECK_MSG(t->ne[d] == want[d] && r->ne[d] == want[d], "%s ne[%d] = %llu", name, d,
                          (unsigned long long)t->ne[d]);
            }
            CHECK_EQ_INT(t->n_elements, want[0] * want[1] * want[2]);
            CHECK_EQ_INT(t->size, gw_type_size(t->type, t->n_elements));
            CHECK_EQ_INT(r->size, 4 * r->n_elements);
            const uint8_t *td = src.map(src.ctx, t->offset, t->size);
            const float *rd = src.map(src.ctx, r->offset, r->size);
            if (t->type == GW_T_F32) CHECK_MSG(memcmp(td, rd, t->size) == 0, "%s data differs from ref", name);
            if (t->type == GW_T_F16 || t->type == GW_T_BF16) {
                int bad = 0;
                for (uint64_t e = 0; e < t->n_elements; e++) {
                    uint16_t hbits = h_rd_u16(td + 2 * e);
                    float f = t->type == GW_T_F16 ? h_f16_to_f32(hbits) : h_bf16_to_f32(hbits);
                    if (memcmp(&f, &rd[e], 4) != 0) bad++;
                }
                CHECK_MSG(bad == 0, "%s: %d values differ from ref", name, bad);
            }
        }
    }
    CHECK_EQ_INT(gguf_n_tensors(g), n_expected);
    /* offsets: running sum of sizes, each padded to the alignment, in file order */
    uint64_t expect = gguf_data_offset(g);
    CHECK_EQ_INT(gguf_data_offset(g) % 32, 0);
    CHECK(gguf_data_offset(g) >= gguf_header_bytes(g) && gguf_data_offset(g) < gguf_header_bytes(g) + 32);
    for (uint64_t i = 0; i < gguf_n_tensors(g); i++) {
        const gguf_tensor *t = gguf_tensor_at(g, i);
        CHECK_MSG(t->offset == expect, "%s at %llu, expected %llu", t->name, (unsigned long long)t->offset,
                  (unsigned long long)expect);
        expect = (t->offset + t->size + 31) / 32 * 32;
    }
    CHECK(expect >= gguf_file_size(g) && expect - gguf_file_size(g) < 32);
    gguf_close(g);
    hearth_source_close(&src);
}

/* tiny-llama-f32.gguf: the testdata.* keys of make_testdata.py (extra_kv), and the model's shape. */
static void test_tiny_llama_metadata(void) {
    hearth_source src;
    gguf_file *g = open_testdata("models/tiny-llama-f32.gguf", &src);
    if (!g) return;
    check_int(g, "testdata.uint8", GGUF_TYPE_UINT8, 255);
    check_int(g, "testdata.int8", GGUF_TYPE_INT8, -128);
    check_int(g, "testdata.uint16", GGUF_TYPE_UINT16, 65535);
    check_int(g, "testdata.int16", GGUF_TYPE_INT16, -32768);
    check_int(g, "testdata.uint32", GGUF_TYPE_UINT32, 4294967295ll);
    check_int(g, "testdata.int32", GGUF_TYPE_INT32, INT32_MIN);
    check_f32_bits(g, "testdata.float32", 0.1f);
    check_bool(g, "testdata.bool", 1);
    check_str(g, "testdata.string", UTF8_STRING);
    const gguf_value *u = get_typed(g, "testdata.uint64", GGUF_TYPE_UINT64);
    if (u) CHECK(h_rd_u64(u->raw) == UINT64_MAX);
    check_int(g, "testdata.int64", GGUF_TYPE_INT64, INT64_MIN);
    check_f64_bits(g, "testdata.float64", 0.1);
    const int64_t a_u8[] = {0, 1, 255}, a_i16[] = {-1, 2, -3}, a_bool[] = {1, 0, 1};
    check_int_array(g, "testdata.array.uint8", GGUF_TYPE_UINT8, 3, a_u8);
    check_int_array(g, "testdata.array.int16", GGUF_TYPE_INT16, 3, a_i16);
    check_int_array(g, "testdata.array.bool", GGUF_TYPE_BOOL, 3, a_bool);
    const double a_f32[] = {1.5, -2.25}, a_f64[] = {1e300, -1e-300};
    check_float_array(g, "testdata.array.float32", GGUF_TYPE_FLOAT32, 2, a_f32);
    check_float_array(g, "testdata.array.float64", GGUF_TYPE_FLOAT64, 2, a_f64);
    const char *strs[] = {"", "a", "\xc3\xa9\xc3\xa8", "\xf0\x9f\xa6\x99"};
    check_str_array(g, "testdata.array.string", 4, strs);
    check_int_array(g, "testdata.array.empty_int32", GGUF_TYPE_INT32, 0, NULL);
    /* README table: llama, 20 F32 tensors, 32000-token vocabulary, alignment 32 by default */
    check_str(g, "general.architecture", "llama");
    CHECK_EQ_INT(gguf_n_tensors(g), 20);
    CHECK(gguf_get(g, "general.alignment") == NULL);
    CHECK_EQ_INT(gguf_alignment(g), 32);
    const gguf_value *tok = get_typed(g, "tokenizer.ggml.tokens", GGUF_TYPE_ARRAY);
    if (tok) {
        CHECK(tok->elem_type == GGUF_TYPE_STRING);
        CHECK_EQ_INT(tok->n, 32000);
    }
    const gguf_tensor *emb = gguf_find_tensor(g, "token_embd.weight");
    CHECK(emb && emb->type == GW_T_F32 && emb->ne[0] == 64 && emb->ne[1] == 32000);
    for (uint64_t i = 0; i < gguf_n_tensors(g); i++) CHECK(gguf_tensor_at(g, i)->type == GW_T_F32);
    gguf_close(g);
    hearth_source_close(&src);
}

/* ---- typed getters on a written file -------------------------------------------------------- */

static void open_buf(const gw_buf *b, gguf_file **g) {
    hearth_source src;
    hearth_source_from_memory(&src, b->data, b->len);
    hearth_error err = {0};
    *g = NULL;
    CHECK_MSG(gguf_open(g, &src, &err) == HEARTH_OK, "%s", err.msg);
}

static void test_typed_getters(void) {
    gguf_writer w;
    gw_init(&w);
    gw_kv_u8(&w, "u8", 200);
    gw_kv_i8(&w, "i8.neg", -3);
    gw_kv_u16(&w, "u16", 65535);
    gw_kv_i32(&w, "i32.pos", 123456);
    gw_kv_i32(&w, "i32.neg", -1);
    gw_kv_u64(&w, "u64.small", 77);
    gw_kv_u64(&w, "u64.big", 1ull << 40);
    gw_kv_u64(&w, "u64.max", UINT64_MAX);
    gw_kv_i64(&w, "i64.min", INT64_MIN);
    gw_kv_f32(&w, "f32", -2.5f);
    gw_kv_f64(&w, "f64", 1e300);
    gw_kv_bool(&w, "bool", 1);
    gw_kv_str(&w, "str", "hello");
    const uint32_t arr[2] = {1, 2};
    gw_kv_arr(&w, "arr", GW_UINT32, 2, arr);
    gw_buf b = {0};
    gw_finish(&w, &b, NULL);
    gw_free(&w);
    gguf_file *g;
    open_buf(&b, &g);
    if (!g) return;
    hearth_error err = {0};
    uint32_t u = 0;
    int64_t i = 0;
    float f = 0;
    int bo = -1;
    const char *s = NULL;
    size_t sl = 0;
    CHECK(gguf_read_u32(g, "u8", &u, 1, &err) == 0 && u == 200);
    CHECK(gguf_read_u32(g, "u16", &u, 1, &err) == 0 && u == 65535);
    CHECK(gguf_read_u32(g, "i32.pos", &u, 1, &err) == 0 && u == 123456);
    CHECK(gguf_read_u32(g, "u64.small", &u, 1, &err) == 0 && u == 77);
    CHECK(gguf_read_i64(g, "i8.neg", &i, 1, &err) == 0 && i == -3);
    CHECK(gguf_read_i64(g, "u64.big", &i, 1, &err) == 0 && i == (1ll << 40));
    CHECK(gguf_read_i64(g, "i64.min", &i, 1, &err) == 0 && i == INT64_MIN);
    /* refusals name the key and say why */
    u = 9;
    CHECK_EQ_INT(gguf_read_u32(g, "i32.neg", &u, 1, &err), HEARTH_ERR_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "'i32.neg' = -1 is out of range");
    CHECK_EQ_INT(u, 9);
    CHECK_EQ_INT(gguf_read_u32(g, "u64.big", &u, 1, &err), HEARTH_ERR_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "'u64.big' = 1099511627776 is out of range");
    CHECK_EQ_INT(gguf_read_i64(g, "u64.max", &i, 1, &err), HEARTH_ERR_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "'u64.max'");
    CHECK_EQ_INT(gguf_read_i64(g, "str", &i, 1, &err), HEARTH_ERR_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "'str' has type string (expected an integer)");
    CHECK_EQ_INT(gguf_read_i64(g, "f32", &i, 1, &err), HEARTH_ERR_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "'f32' has type float32");
    CHECK_EQ_INT(gguf_read_u32(g, "arr", &u, 1, &err), HEARTH_ERR_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "'arr' has type array");
    /* floats: any number converts; bool, string and array do not */
    CHECK(gguf_read_f32(g, "f32", &f, 1, &err) == 0 && f == -2.5f);
    CHECK(gguf_read_f32(g, "u8", &f, 1, &err) == 0 && f == 200.0f);
    CHECK(gguf_read_f32(g, "f64", &f, 1, &err) == 0 && isinf(f)); /* 1e300 overflows float */
    CHECK_EQ_INT(gguf_read_f32(g, "bool", &f, 1, &err), HEARTH_ERR_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "'bool' has type bool (expected a number)");
    CHECK_EQ_INT(gguf_read_f32(g, "str", &f, 1, &err), HEARTH_ERR_FORMAT);
    CHECK(gguf_read_bool(g, "bool", &bo, 1, &err) == 0 && bo == 1);
    CHECK_EQ_INT(gguf_read_bool(g, "u8", &bo, 1, &err), HEARTH_ERR_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "'u8' has type uint8 (expected bool)");
    CHECK(gguf_read_str(g, "str", &s, &sl, 1, &err) == 0 && str_eq(s, sl, "hello"));
    CHECK_EQ_INT(gguf_read_str(g, "u8", &s, &sl, 1, &err), HEARTH_ERR_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "'u8' has type uint8 (expected string)");
    /* absent keys: an error only when required; the output is left alone */
    u = 5;
    CHECK_EQ_INT(gguf_read_u32(g, "missing.key", &u, 0, &err), HEARTH_OK);
    CHECK_EQ_INT(u, 5);
    CHECK_EQ_INT(gguf_read_u32(g, "missing.key", &u, 1, &err), HEARTH_ERR_FORMAT);
    CHECK_STR_CONTAINS(err.msg, "required key 'missing.key' is missing");
    CHECK_EQ_INT(gguf_read_str(g, "missing.key", &s, &sl, 1, &err), HEARTH_ERR_FORMAT);
    CHECK_EQ_INT(gguf_read_f32(g, "missing.key", &f, 0, &err), HEARTH_OK);
    CHECK_EQ_INT(gguf_read_bool(g, "missing.key", &bo, 0, &err), HEARTH_OK);
    /* array accessors: out-of-range index and non-array give 0 */
    const gguf_value *a = gguf_get(g, "arr");
    CHECK(a && gguf_arr_i64(a, 1) == 2 && gguf_arr_i64(a, 2) == 0 && gguf_arr_f64(a, 99) == 0);
    CHECK(gguf_arr_i64(gguf_get(g, "u8"), 0) == 0);
    CHECK(strcmp(gguf_type_name(GGUF_TYPE_FLOAT64), "float64") == 0 && strcmp(gguf_type_name(99), "unknown") == 0);
    gguf_close(g);
    gw_buf_free(&b);
}

/* gguf_arr_i64 on elements outside int64 (uint64 max, float 1e30, NaN) must give a defined value;
 * the natural one is saturation (NaN -> 0). A known gap today: the conversion is undefined
 * behaviour and gives INT64_MIN on x86 (see docs/RELIABILITY.md). */
static void test_arr_i64_out_of_range(void) {
    gguf_writer w;
    gw_init(&w);
    const uint64_t big[2] = {UINT64_MAX, 1ull << 63};
    gw_kv_arr(&w, "big", GW_UINT64, 2, big);
    gw_buf b = {0};
    gw_finish(&w, &b, NULL);
    gw_free(&w);
    gguf_file *g;
    open_buf(&b, &g);
    if (g) {
        const gguf_value *v = gguf_get(g, "big");
        int64_t a = gguf_arr_i64(v, 0), c = gguf_arr_i64(v, 1);
        CHECK_MSG(a == INT64_MAX && c == INT64_MAX,
                  "gguf_arr_i64(uint64 %llu) = %lld, (2^63) = %lld: expected saturation to INT64_MAX",
                  (unsigned long long)UINT64_MAX, (long long)a, (long long)c);
    }
    gguf_close(g);
    gw_buf_free(&b);
}

/* ---- round trips through the writer ----------------------------------------------------------- */

static const uint32_t all_tensor_types[] = {
    GW_T_F32, GW_T_F16, GW_T_Q4_0, GW_T_Q4_1, GW_T_Q5_0, GW_T_Q5_1, GW_T_Q8_0, GW_T_Q8_1, GW_T_Q2_K,
    GW_T_Q3_K, GW_T_Q4_K, GW_T_Q5_K, GW_T_Q6_K, GW_T_Q8_K, GW_T_I8, GW_T_I16, GW_T_I32, GW_T_I64,
    GW_T_F64, GW_T_BF16,
};

/* every scalar and array type, nested arrays, empty arrays and strings, tensors of every type */
static void build_everything(gguf_writer *w, uint32_t version, uint32_t align_key) {
    gw_init(w);
    w->version = version;
    if (align_key) {
        w->alignment = align_key;
        gw_kv_u32(w, "general.alignment", align_key);
    }
    gw_kv_u8(w, "s.u8", 0xab);
    gw_kv_i8(w, "s.i8", -100);
    gw_kv_u16(w, "s.u16", 0xbeef);
    gw_kv_i16(w, "s.i16", -12345);
    gw_kv_u32(w, "s.u32", 0xdeadbeef);
    gw_kv_i32(w, "s.i32", -123456789);
    gw_kv_f32(w, "s.f32", 3.25f);
    gw_kv_bool(w, "s.bool", 0);
    gw_kv_str(w, "s.str", UTF8_STRING);
    gw_kv_str(w, "s.str.empty", "");
    gw_kv_strn(w, "s.str.nul", "a\0b", 3); /* NUL bytes inside string values are data */
    gw_kv_u64(w, "s.u64", 0x0123456789abcdefull);
    gw_kv_i64(w, "s.i64", -0x0123456789abcdefll);
    gw_kv_f64(w, "s.f64", -1.0 / 3.0);
    const uint8_t u8s[3] = {0, 128, 255};
    const int16_t i16s[2] = {-1, 32767};
    const float f32s[2] = {-0.0f, 1e-30f};
    const double f64s[1] = {6.02214076e23};
    gw_kv_arr(w, "a.u8", GW_UINT8, 3, u8s);
    gw_kv_arr(w, "a.i16", GW_INT16, 2, i16s);
    gw_kv_arr(w, "a.f32", GW_FLOAT32, 2, f32s);
    gw_kv_arr(w, "a.f64", GW_FLOAT64, 1, f64s);
    for (uint32_t t = 0; t <= GW_FLOAT64; t++) {
        if (t == GW_ARRAY) continue;
        char key[32];
        snprintf(key, sizeof key, "a.empty.%u", t);
        gw_kv_arr(w, key, t, 0, NULL);
    }
    const char *strs[3] = {"x", "", UTF8_STRING};
    gw_kv_arr_str(w, "a.str", 3, strs);
    /* [[["p"], []], [[1, 2, 3]], []] : arrays of arrays of (strings | int32 | nothing) */
    gw_buf v = {0};
    gw_put_arr_header(&v, GW_ARRAY, 3);
    gw_put_arr_header(&v, GW_ARRAY, 2);
    gw_put_arr_header(&v, GW_STRING, 1);
    gw_put_str(&v, "p");
    gw_put_arr_header(&v, GW_FLOAT32, 0);
    gw_put_arr_header(&v, GW_ARRAY, 1);
    gw_put_arr_header(&v, GW_INT32, 3);
    gw_put_u32(&v, 1);
    gw_put_u32(&v, 2);
    gw_put_u32(&v, 3);
    gw_put_arr_header(&v, GW_BOOL, 0);
    gw_kv_raw(w, "a.nested", 8, GW_ARRAY, v.data, v.len);
    gw_buf_free(&v);
    for (size_t k = 0; k < H_ARRAY_LEN(all_tensor_types); k++) {
        uint32_t t = all_tensor_types[k], blk = gw_type_block(t);
        uint64_t ne[4] = {blk * (k % 3 + 1), k % 2 + 1, 1 + (k % 4 == 0), 1};
        uint32_t nd = 1 + (uint32_t)(k % 4);
        char name[32];
        snprintf(name, sizeof name, "t.%zu.type%u", k, t);
        gw_add_tensor(w, name, t, nd, ne, NULL);
    }
}

static void check_everything(const gguf_file *g, const gguf_writer *w, const gw_layout *lay, size_t len) {
    CHECK_EQ_INT(gguf_version(g), w->version);
    CHECK_EQ_INT(gguf_alignment(g), w->alignment);
    CHECK_EQ_INT(gguf_n_kv(g), w->n_kv);
    CHECK_EQ_INT(gguf_n_tensors(g), w->n_tensors);
    CHECK_EQ_INT(gguf_data_offset(g), lay->data_off);
    CHECK_EQ_INT(gguf_header_bytes(g), lay->header_end);
    CHECK_EQ_INT(gguf_file_size(g), len);
    check_int(g, "s.u8", GGUF_TYPE_UINT8, 0xab);
    check_int(g, "s.i8", GGUF_TYPE_INT8, -100);
    check_int(g, "s.u16", GGUF_TYPE_UINT16, 0xbeef);
    check_int(g, "s.i16", GGUF_TYPE_INT16, -12345);
    check_int(g, "s.u32", GGUF_TYPE_UINT32, 0xdeadbeef);
    check_int(g, "s.i32", GGUF_TYPE_INT32, -123456789);
    check_f32_bits(g, "s.f32", 3.25f);
    check_bool(g, "s.bool", 0);
    check_str(g, "s.str", UTF8_STRING);
    check_str(g, "s.str.empty", "");
    const gguf_value *nul = get_typed(g, "s.str.nul", GGUF_TYPE_STRING);
    if (nul) CHECK(nul->n == 3 && memcmp(nul->str, "a\0b", 3) == 0);
    check_int(g, "s.u64", GGUF_TYPE_UINT64, 0x0123456789abcdefll);
    check_int(g, "s.i64", GGUF_TYPE_INT64, -0x0123456789abcdefll);
    check_f64_bits(g, "s.f64", -1.0 / 3.0);
    const int64_t u8s[3] = {0, 128, 255}, i16s[2] = {-1, 32767};
    check_int_array(g, "a.u8", GGUF_TYPE_UINT8, 3, u8s);
    check_int_array(g, "a.i16", GGUF_TYPE_INT16, 2, i16s);
    const double f32s[2] = {-0.0, 1e-30}, f64s[1] = {6.02214076e23};
    check_float_array(g, "a.f32", GGUF_TYPE_FLOAT32, 2, f32s);
    check_float_array(g, "a.f64", GGUF_TYPE_FLOAT64, 1, f64s);
    for (uint32_t t = 0; t <= GW_FLOAT64; t++) {
        if (t == GW_ARRAY) continue;
        char key[32];
        snprintf(key, sizeof key, "a.empty.%u", t);
        const gguf_value *e = get_typed(g, key, GGUF_TYPE_ARRAY);
        if (e) CHECK_MSG(e->elem_type == t && e->n == 0, "%s", key);
    }
    const char *strs[3] = {"x", "", UTF8_STRING};
    check_str_array(g, "a.str", 3, strs);
    const gguf_value *n = get_typed(g, "a.nested", GGUF_TYPE_ARRAY);
    if (n && n->elem_type == GGUF_TYPE_ARRAY && n->n == 3 && n->items) {
        const gguf_value *a0 = &n->items[0], *a1 = &n->items[1], *a2 = &n->items[2];
        CHECK(a0->type == GGUF_TYPE_ARRAY && a0->elem_type == GGUF_TYPE_ARRAY && a0->n == 2);
        if (a0->n == 2 && a0->items) {
            CHECK(a0->items[0].elem_type == GGUF_TYPE_STRING && a0->items[0].n == 1 &&
                  str_eq(a0->items[0].strs[0].p, a0->items[0].strs[0].n, "p"));
            CHECK(a0->items[1].elem_type == GGUF_TYPE_FLOAT32 && a0->items[1].n == 0);
        }
        CHECK(a1->elem_type == GGUF_TYPE_ARRAY && a1->n == 1);
        if (a1->n == 1 && a1->items) {
            const gguf_value *in = &a1->items[0];
            CHECK(in->elem_type == GGUF_TYPE_INT32 && in->n == 3 && gguf_arr_i64(in, 0) == 1 &&
                  gguf_arr_i64(in, 2) == 3);
        }
        CHECK(a2->elem_type == GGUF_TYPE_BOOL && a2->n == 0);
    } else {
        CHECK_MSG(0, "a.nested malformed");
    }
    /* keys in file order */
    for (uint64_t i = 0; i < w->n_kv && i < gguf_n_kv(g); i++) {
        const gguf_kv *kv = gguf_kv_at(g, i);
        uint64_t klen = h_rd_u64(w->kv.data + w->kv_starts[i]);
        CHECK(strlen(kv->key) == klen && memcmp(kv->key, w->kv.data + w->kv_starts[i] + 8, klen) == 0);
    }
    CHECK(gguf_kv_at(g, gguf_n_kv(g)) == NULL && gguf_tensor_at(g, gguf_n_tensors(g)) == NULL);
    /* tensors: name, type, shape, size, offset and the data bytes themselves */
    for (uint64_t i = 0; i < w->n_tensors && i < gguf_n_tensors(g); i++) {
        const gw_tensor_info *wt = &w->tensors[i];
        const gguf_tensor *t = gguf_tensor_at(g, i);
        CHECK(strlen(t->name) == wt->name_len && memcmp(t->name, wt->name, wt->name_len) == 0);
        CHECK(gguf_find_tensor(g, t->name) == t);
        CHECK_EQ_INT(t->type, wt->type);
        CHECK_EQ_INT(t->n_dims, wt->n_dims);
        uint64_t count = 1;
        for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
            uint64_t want = d < wt->n_dims ? wt->ne[d] : 1;
            CHECK_EQ_INT(t->ne[d], want);
            count *= want;
        }
        CHECK_EQ_INT(t->n_elements, count);
        CHECK_EQ_INT(t->size, wt->data_len);
        CHECK_EQ_INT(t->offset, lay->data_at[i]);
        CHECK_EQ_INT(t->offset % w->alignment, 0);
    }
    CHECK(gguf_find_tensor(g, "t.none") == NULL);
}

static void test_round_trip(void) {
    const uint32_t aligns[] = {0, 1, 8, 64, 4096};
    for (uint32_t version = 2; version <= 3; version++) {
        for (size_t a = 0; a < H_ARRAY_LEN(aligns); a++) {
            gguf_writer w;
            build_everything(&w, version, aligns[a]);
            gw_buf b = {0};
            gw_layout lay;
            gw_finish(&w, &b, &lay);
            gguf_file *g;
            open_buf(&b, &g);
            if (g) {
                check_everything(g, &w, &lay, b.len);
                /* the data bytes at each reported offset are the ones written */
                for (uint64_t i = 0; i < gguf_n_tensors(g); i++) {
                    const gguf_tensor *t = gguf_tensor_at(g, i);
                    int bad = 0;
                    for (uint64_t k = 0; k < t->size; k++) bad += b.data[t->offset + k] != gw_fill_byte(i, k);
                    CHECK_MSG(bad == 0, "%s: %d data bytes differ", t->name, bad);
                }
            }
            gguf_close(g);
            gw_layout_free(&lay);
            gw_buf_free(&b);
            gw_free(&w);
        }
    }
}

/* The smallest files: no keys and no tensors (24 bytes), and keys without tensors. */
static void test_minimal_files(void) {
    gguf_writer w;
    gw_init(&w);
    gw_buf b = {0};
    gw_finish(&w, &b, NULL);
    CHECK_EQ_INT(b.len, 24);
    gguf_file *g;
    open_buf(&b, &g);
    if (g) {
        CHECK_EQ_INT(gguf_n_kv(g), 0);
        CHECK_EQ_INT(gguf_n_tensors(g), 0);
        CHECK(gguf_get(g, "general.architecture") == NULL);
        CHECK(gguf_find_tensor(g, "x") == NULL);
    }
    gguf_close(g);
    gw_buf_free(&b);
    gw_kv_str(&w, "k", "v");
    gw_finish(&w, &b, NULL);
    open_buf(&b, &g);
    if (g) check_str(g, "k", "v");
    gguf_close(g);
    gw_buf_free(&b);
    gw_free(&w);
}

/* A header larger than the reader's first read window: 150k strings (~2.7 MB) + 4 MB of tensor
 * data. Every string reads back, and the reader reads headers, not tensor data. */
static void build_big_header(gw_buf *out, gw_layout *lay, uint64_t n_strings) {
    gguf_writer w;
    gw_init(&w);
    gw_kv_str(&w, "general.architecture", "llama");
    gw_buf v = {0};
    gw_put_arr_header(&v, GW_STRING, n_strings);
    for (uint64_t i = 0; i < n_strings; i++) {
        char s[32];
        int n = snprintf(s, sizeof s, "token-%llu", (unsigned long long)i);
        gw_put_strn(&v, s, (uint64_t)n);
    }
    gw_kv_raw(&w, "tokenizer.ggml.tokens", 21, GW_ARRAY, v.data, v.len);
    gw_buf_free(&v);
    const uint64_t ne[2] = {1024, 1024};
    gw_add_tensor(&w, "big.weight", GW_T_F32, 2, ne, NULL);
    gw_finish(&w, out, lay);
    gw_free(&w);
}

static void check_big_header(const gguf_file *g, uint64_t n_strings) {
    const gguf_value *v = gguf_get(g, "tokenizer.ggml.tokens");
    CHECK(v && v->elem_type == GGUF_TYPE_STRING && v->n == n_strings);
    if (!v || v->n != n_strings) return;
    int bad = 0;
    for (uint64_t i = 0; i < n_strings; i++) {
        char s[32];
        snprintf(s, sizeof s, "token-%llu", (unsigned long long)i);
        bad += !str_eq(v->strs[i].p, v->strs[i].n, s);
    }
    CHECK_EQ_INT(bad, 0);
    const gguf_tensor *t = gguf_find_tensor(g, "big.weight");
    CHECK(t && t->size == 4u << 20);
}

static void test_big_header(void) {
    const uint64_t n = 150000;
    gw_buf b = {0};
    gw_layout lay;
    build_big_header(&b, &lay, n);
    CHECK(lay.header_end > (2u << 20));
    fault_source fs;
    fault_source_init(&fs, b.data, b.len);
    hearth_source src = fault_source_get(&fs);
    hearth_error err = {0};
    gguf_file *g = NULL;
    CHECK_MSG(gguf_open(&g, &src, &err) == HEARTH_OK, "%s", err.msg);
    if (g) {
        check_big_header(g, n);
        CHECK_EQ_INT(gguf_header_bytes(g), lay.header_end);
    }
    /* reads cover the header and not all of the 4 MiB of tensor data; no read breaks the contract */
    CHECK_EQ_INT(fs.bad_calls, 0);
    CHECK_MSG(fs.bytes_read < b.len, "read %llu bytes of a %zu-byte file",
              (unsigned long long)fs.bytes_read, b.len);
    gguf_close(g);
    gw_layout_free(&lay);
    gw_buf_free(&b);
}

/* Streaming: bytes arrive in chunks; gguf_open says AGAIN (with the range it waits for) until
 * the header is there, then succeeds — before the tensor data has arrived. */
static void stream_open(const gw_buf *b, const gw_layout *lay, uint64_t chunk, uint64_t n_strings) {
    fault_source fs;
    fault_source_init(&fs, b->data, b->len);
    fs.avail = 0;
    hearth_source src = fault_source_get(&fs);
    gguf_file *g = NULL;
    int agains = 0, st;
    for (;;) {
        hearth_error err = {0};
        st = gguf_open(&g, &src, &err);
        if (st != HEARTH_ERR_AGAIN) {
            CHECK_MSG(st == HEARTH_OK, "%s", err.msg);
            break;
        }
        if (agains++ == 0) CHECK_STR_CONTAINS(err.msg, "waiting for bytes");
        CHECK(g == NULL);
        if (fs.avail >= b->len) {
            CHECK_MSG(0, "AGAIN with every byte delivered: %s", err.msg);
            break;
        }
        fs.avail = fs.avail + chunk < b->len ? fs.avail + chunk : b->len;
    }
    CHECK(agains > 0);
    CHECK_EQ_INT(fs.bad_calls, 0);
    if (g) {
        CHECK_MSG(fs.avail < b->len, "needed all %zu bytes (tensor data included)", b->len);
        CHECK(fs.avail >= lay->header_end);
        if (n_strings) check_big_header(g, n_strings);
    }
    gguf_close(g);
}

static void test_streaming_source(void) {
    gw_buf b = {0};
    gw_layout lay;
    build_big_header(&b, &lay, 150000);
    stream_open(&b, &lay, 64 * 1024, 150000);
    stream_open(&b, &lay, 1000 * 1000, 150000);
    gw_layout_free(&lay);
    gw_buf_free(&b);
    /* a small header in front of 4 MiB of data */
    gw_buf s = {0};
    build_big_header(&s, &lay, 10);
    stream_open(&s, &lay, 4096, 10);
    gw_layout_free(&lay);
    gw_buf_free(&s);
}

/* 4096 keys whose hashes collide in the reader's index (hostile_hash_flood): every key is still
 * found with its own value (correct probing under worst-case clustering). */
static void test_colliding_keys(void) {
    gw_buf b = {0};
    hostile_hash_flood(&b, 4096);
    gguf_file *g;
    open_buf(&b, &g);
    if (g) {
        CHECK_EQ_INT(gguf_n_kv(g), 4096);
        int bad = 0;
        for (uint64_t i = 0; i < gguf_n_kv(g); i++) {
            const gguf_kv *kv = gguf_kv_at(g, i);
            const gguf_value *v = gguf_get(g, kv->key);
            bad += v != &kv->value || v->type != GGUF_TYPE_UINT8 || v->raw[0] != (uint8_t)i;
        }
        CHECK_EQ_INT(bad, 0);
        CHECK(gguf_get(g, "flood.") == NULL);
    }
    gguf_close(g);
    gw_buf_free(&b);
}

int main(void) {
    RUN(test_types_file_metadata);
    RUN(test_types_file_tensors);
    RUN(test_tiny_llama_metadata);
    RUN(test_typed_getters);
    RUN(test_arr_i64_out_of_range);
    RUN(test_round_trip);
    RUN(test_minimal_files);
    RUN(test_big_header);
    RUN(test_streaming_source);
    RUN(test_colliding_keys);
    return test_summary();
}
