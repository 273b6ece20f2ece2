/* jinja_value.c — runtime values of the Jinja interpreter and their JavaScript-compatible
 * conversions: number formatting, toString/JSON as @huggingface/jinja prints them, loose and strict
 * equality, sorting order, case mapping, and conversion from JSON variables. */
#include "jinja_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- errors and budget ------------------------------------------------------------------------ */

int jx_err(jctx *c, const jnode *node, int status, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!node) node = c->node;
    if (node) {
        size_t line, col;
        jinja_line_col(c->t, node->pos, &line, &col);
        return h_err(c->err, status, "jinja: %s at line %zu col %zu", msg, line, col);
    }
    return h_err(c->err, status, "jinja: %s", msg);
}

int jx_nomem(jctx *c) {
    if (c->mem_used + ((size_t)64 << 10) >= c->max_memory)
        return jx_err(c, NULL, HEARTH_ERR_RANGE, "memory limit exceeded (%zu bytes)", c->max_memory);
    return jx_err(c, NULL, HEARTH_ERR_NOMEM, "out of memory");
}

int jx_cost(jctx *c, uint64_t units) {
    c->steps += units;
    if (c->steps > c->max_steps)
        return jx_err(c, NULL, HEARTH_ERR_RANGE, "step limit exceeded (%llu steps)", (unsigned long long)c->max_steps);
    return HEARTH_OK;
}

/* ---- buffers ---------------------------------------------------------------------------------- */

int jb_put(jctx *c, jbuf *b, const char *s, size_t n) {
    if (n > c->max_output || b->len > c->max_output - n)
        return jx_err(c, NULL, HEARTH_ERR_RANGE, "output limit exceeded (%zu bytes)", c->max_output);
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1) nc *= 2;
        size_t extra = nc - b->cap;
        if (c->mem_used + extra > c->max_memory || c->mem_used + extra < c->mem_used)
            return jx_err(c, NULL, HEARTH_ERR_RANGE, "memory limit exceeded (%zu bytes)", c->max_memory);
        char *p = h_realloc(b->p, nc);
        if (!p) return jx_err(c, NULL, HEARTH_ERR_NOMEM, "out of memory");
        c->mem_used += extra;
        b->p = p;
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return HEARTH_OK;
}

void jb_free(jctx *c, jbuf *b) {
    if (b->p) {
        c->mem_used -= b->cap;
        h_free(b->p);
    }
    b->p = NULL;
    b->len = b->cap = 0;
}

int jb_to_str(jctx *c, jbuf *b, jval *out) {
    int rc = jv_make_str(c, b->p ? b->p : "", b->len, out);
    jb_free(c, b);
    return rc;
}

static int put_cstr(jctx *c, jbuf *b, const char *s) { return jb_put(c, b, s, strlen(s)); }

/* ---- constructors ----------------------------------------------------------------------------- */

jstr *jv_str_new(jctx *c, const char *s, size_t n) {
    jstr *r = ja_alloc(&c->arena, sizeof(jstr) + n + 1);
    if (!r) return NULL;
    r->len = n;
    if (n) memcpy(r->s, s, n);
    r->s[n] = 0;
    return r;
}

int jv_make_str(jctx *c, const char *s, size_t n, jval *out) {
    jstr *r = jv_str_new(c, s, n);
    if (!r) return jx_nomem(c);
    out->type = JV_STR;
    out->u.s = r;
    return HEARTH_OK;
}

jarr *jv_arr_new(jctx *c, size_t n) {
    size_t bytes;
    if (!h_mul_size(n, sizeof(jval), &bytes) || !h_add_size(bytes, sizeof(jarr), &bytes)) return NULL;
    jarr *a = ja_alloc(&c->arena, bytes);
    if (!a) return NULL;
    a->n = n;
    a->tuple = 0;
    a->v = (jval *)(a + 1);
    for (size_t i = 0; i < n; i++) a->v[i] = jv_undef();
    return a;
}

jobj *jv_obj_new(jctx *c, size_t cap) {
    jobj *o = ja_alloc(&c->arena, sizeof(jobj));
    if (!o) return NULL;
    memset(o, 0, sizeof(*o));
    if (cap) {
        o->keys = ja_alloc(&c->arena, cap * sizeof(jstr *));
        o->vals = ja_alloc(&c->arena, cap * sizeof(jval));
        if (!o->keys || !o->vals) return NULL;
        o->cap = cap;
    }
    return o;
}

jval *jv_obj_get(jctx *c, const jobj *o, const char *key, size_t klen) {
    if (c && o->n > 32) jx_cost(c, o->n / 32);
    for (size_t i = 0; i < o->n; i++)
        if (o->keys[i]->len == klen && memcmp(o->keys[i]->s, key, klen) == 0) return &o->vals[i];
    return NULL;
}

int jv_obj_set(jctx *c, jobj *o, const jstr *key, jval v) {
    jval *slot = jv_obj_get(c, o, key->s, key->len);
    if (slot) {
        *slot = v;
        return HEARTH_OK;
    }
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 4;
        jstr **nk = ja_alloc(&c->arena, nc * sizeof(jstr *));
        jval *nv = ja_alloc(&c->arena, nc * sizeof(jval));
        if (!nk || !nv) return jx_nomem(c);
        if (o->n) {
            memcpy(nk, o->keys, o->n * sizeof(jstr *));
            memcpy(nv, o->vals, o->n * sizeof(jval));
        }
        o->keys = nk;
        o->vals = nv;
        o->cap = nc;
    }
    o->keys[o->n] = (jstr *)key;
    o->vals[o->n] = v;
    o->n++;
    return HEARTH_OK;
}

int jv_truthy(jval v) {
    switch (v.type) {
    case JV_BOOL: return v.u.b;
    case JV_INT:
    case JV_FLOAT: return v.u.num != 0 && !isnan(v.u.num);
    case JV_STR: return v.u.s->len > 0;
    case JV_ARRAY: return v.u.a->n > 0;
    case JV_OBJECT: return v.u.o->n > 0;
    case JV_LOOP: return 1;
    case JV_NS: return 1; /* a JavaScript Map is always truthy */
    case JV_FUNC: return 1;
    default: return 0;
    }
}

const char *jv_type_name(jval v) {
    switch (v.type) {
    case JV_UNDEF: return "UndefinedValue";
    case JV_NULL: return "NullValue";
    case JV_BOOL: return "BooleanValue";
    case JV_INT: return "IntegerValue";
    case JV_FLOAT: return "FloatValue";
    case JV_STR: return "StringValue";
    case JV_ARRAY: return v.u.a->tuple ? "TupleValue" : "ArrayValue";
    case JV_OBJECT: return v.u.o->kwargs ? "KeywordArgumentsValue" : "ObjectValue";
    case JV_NS: return "NamespaceValue";
    case JV_FUNC: return "FunctionValue";
    case JV_LOOP: return "ObjectValue";
    }
    return "?";
}

int jv_loop_materialize(jctx *c, jval *v) {
    if (v->type != JV_LOOP) return HEARTH_OK;
    const jloop *l = v->u.l;
    static const char *const names[] = {"index", "index0", "revindex", "revindex0", "first",
                                        "last", "length", "previtem", "nextitem"};
    jobj *o = jv_obj_new(c, 9);
    if (!o) return jx_nomem(c);
    jval vals[9] = {jv_int((double)l->i + 1), jv_int((double)l->i), jv_int((double)(l->n - l->i)),
                    jv_int((double)(l->n - l->i - 1)), jv_bool(l->i == 0), jv_bool(l->i + 1 == l->n),
                    jv_int((double)l->n), l->i > 0 ? l->items->v[l->i - 1] : jv_undef(),
                    l->i + 1 < l->n ? l->items->v[l->i + 1] : jv_undef()};
    for (int i = 0; i < 9; i++) {
        jstr *k = jv_str_new(c, names[i], strlen(names[i]));
        if (!k || jv_obj_set(c, o, k, vals[i])) return jx_nomem(c);
    }
    v->type = JV_OBJECT;
    v->u.o = o;
    return HEARTH_OK;
}

/* ---- numbers ---------------------------------------------------------------------------------- */

void js_number(double x, char out[40]) { json_format_number(x, out); }

static void float_tostring(double x, char out[40]) {
    if (x == 0 && signbit(x)) {
        strcpy(out, "-0.0");
    } else if (isfinite(x) && x == trunc(x) && fabs(x) < 1e21) {
        snprintf(out, 40, "%.1f", x);
    } else {
        js_number(x, out);
    }
}

/* ---- strings of values ------------------------------------------------------------------------ */

static int func_err(jctx *c) {
    return jx_err(c, NULL, HEARTH_ERR_UNSUPPORTED, "cannot convert a function to text");
}

int jv_append_tostring(jctx *c, jbuf *b, jval v) {
    char num[40];
    switch (v.type) {
    case JV_UNDEF: return put_cstr(c, b, "undefined");
    case JV_NULL: return put_cstr(c, b, "null");
    case JV_BOOL: return put_cstr(c, b, v.u.b ? "true" : "false");
    case JV_INT: js_number(v.u.num, num); return put_cstr(c, b, num);
    case JV_FLOAT: float_tostring(v.u.num, num); return put_cstr(c, b, num);
    case JV_STR: return jb_put(c, b, v.u.s->s, v.u.s->len);
    case JV_FUNC: return func_err(c);
    default: {
        jjson_opts o = {0};
        return jv_append_json(c, b, v, &o, 0);
    }
    }
}

int jv_append_valuestring(jctx *c, jbuf *b, jval v) {
    char num[40];
    switch (v.type) {
    case JV_INT:
    case JV_FLOAT: js_number(v.u.num, num); return put_cstr(c, b, num);
    case JV_ARRAY:
        for (size_t i = 0; i < v.u.a->n; i++) {
            int rc;
            if (i && (rc = jb_put(c, b, ",", 1))) return rc;
            if ((rc = jv_append_tostring(c, b, v.u.a->v[i]))) return rc;
        }
        return HEARTH_OK;
    case JV_OBJECT:
    case JV_NS:
    case JV_LOOP: return put_cstr(c, b, "[object Map]");
    default: return jv_append_tostring(c, b, v);
    }
}

int jv_append_joinstring(jctx *c, jbuf *b, jval v) {
    if (v.type == JV_UNDEF || v.type == JV_NULL) return HEARTH_OK;
    return jv_append_valuestring(c, b, v);
}

/* ---- JSON ------------------------------------------------------------------------------------- */

static int json_str(jctx *c, jbuf *b, const char *s, size_t n, int ensure_ascii) {
    size_t old_cap = b->cap;
    if (!b->p && jb_put(c, b, "", 0)) return jx_nomem(c);
    old_cap = b->cap;
    int rc = json_append_quoted(&b->p, &b->len, &b->cap, c->max_output, s, n, ensure_ascii);
    c->mem_used += b->cap - old_cap;
    if (rc == HEARTH_ERR_RANGE) return jx_err(c, NULL, HEARTH_ERR_RANGE, "output limit exceeded (%zu bytes)", c->max_output);
    if (rc) return jx_err(c, NULL, HEARTH_ERR_NOMEM, "out of memory");
    if (c->mem_used > c->max_memory) return jx_err(c, NULL, HEARTH_ERR_RANGE, "memory limit exceeded (%zu bytes)", c->max_memory);
    return HEARTH_OK;
}

static int pad(jctx *c, jbuf *b, int indent, int level) {
    int rc = jb_put(c, b, "\n", 1);
    for (int i = 0; i < level && !rc; i++)
        for (int k = 0; k < indent && !rc; k++) rc = jb_put(c, b, " ", 1);
    return rc;
}

/* localeCompare approximation: case-insensitive first, then lower before upper, then bytes */
static int key_cmp(const jstr *a, const jstr *b) {
    size_t n = a->len < b->len ? a->len : b->len;
    for (size_t i = 0; i < n; i++) {
        int x = (unsigned char)a->s[i], y = (unsigned char)b->s[i];
        int lx = x >= 'A' && x <= 'Z' ? x + 32 : x, ly = y >= 'A' && y <= 'Z' ? y + 32 : y;
        if (lx != ly) return lx < ly ? -1 : 1;
    }
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    for (size_t i = 0; i < n; i++) {
        int x = (unsigned char)a->s[i], y = (unsigned char)b->s[i];
        if (x != y) return x > y ? -1 : 1; /* lower case (larger byte) first */
    }
    return 0;
}

int jv_append_json(jctx *c, jbuf *b, jval v, const jjson_opts *o, int depth) {
    char num[40];
    int rc;
    if (depth > c->max_depth) return jx_err(c, NULL, HEARTH_ERR_RANGE, "value nested too deeply to convert to text");
    if ((rc = jx_cost(c, 1))) return rc;
    switch (v.type) {
    case JV_NULL: return put_cstr(c, b, "null");
    case JV_UNDEF: return put_cstr(c, b, o->undef_null ? "null" : "undefined");
    case JV_BOOL: return put_cstr(c, b, v.u.b ? "true" : "false");
    case JV_INT:
    case JV_FLOAT:
        if (!isfinite(v.u.num)) return put_cstr(c, b, "null");
        js_number(v.u.num, num);
        return put_cstr(c, b, num);
    case JV_STR:
        if ((rc = jx_cost(c, v.u.s->len / 64))) return rc;
        return json_str(c, b, v.u.s->s, v.u.s->len, o->ensure_ascii);
    case JV_FUNC: return jx_err(c, NULL, HEARTH_ERR_ARG, "cannot convert a function to JSON");
    case JV_LOOP:
        if ((rc = jv_loop_materialize(c, &v))) return rc;
        /* fall through */
    default: break;
    }
    const char *item_sep = o->item_sep ? o->item_sep->s : o->indent > 0 ? "," : ", ";
    size_t item_len = o->item_sep ? o->item_sep->len : strlen(item_sep);
    const char *key_sep = o->key_sep ? o->key_sep->s : ": ";
    size_t key_len = o->key_sep ? o->key_sep->len : 2;
    int ind = o->indent > 0;
    if (v.type == JV_ARRAY) {
        const jarr *a = v.u.a;
        if ((rc = jb_put(c, b, "[", 1))) return rc;
        for (size_t i = 0; i < a->n; i++) {
            if (i && (rc = jb_put(c, b, item_sep, item_len))) return rc;
            if (ind && (rc = pad(c, b, o->indent, depth + 1))) return rc;
            if ((rc = jv_append_json(c, b, a->v[i], o, depth + 1))) return rc;
        }
        if (ind && a->n && (rc = pad(c, b, o->indent, depth))) return rc;
        return jb_put(c, b, "]", 1);
    }
    /* objects and namespaces */
    const jobj *ob = v.u.o;
    size_t *order = NULL;
    if (o->sort_keys && ob->n > 1) {
        order = h_malloc_array(ob->n, sizeof(size_t));
        if (!order) return jx_nomem(c);
        for (size_t i = 0; i < ob->n; i++) order[i] = i;
        for (size_t i = 1; i < ob->n; i++) { /* insertion sort: stable; objects in templates are small */
            size_t x = order[i], j = i;
            while (j > 0 && key_cmp(ob->keys[order[j - 1]], ob->keys[x]) > 0) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = x;
        }
        if ((rc = jx_cost(c, ob->n * ob->n / 16))) goto done;
    }
    if ((rc = jb_put(c, b, "{", 1))) goto done;
    for (size_t k = 0; k < ob->n; k++) {
        size_t i = order ? order[k] : k;
        if (k && (rc = jb_put(c, b, item_sep, item_len))) goto done;
        if (ind && (rc = pad(c, b, o->indent, depth + 1))) goto done;
        if ((rc = json_str(c, b, ob->keys[i]->s, ob->keys[i]->len, o->ensure_ascii))) goto done;
        if ((rc = jb_put(c, b, key_sep, key_len))) goto done;
        if ((rc = jv_append_json(c, b, ob->vals[i], o, depth + 1))) goto done;
    }
    if (ind && ob->n && (rc = pad(c, b, o->indent, depth))) goto done;
    rc = jb_put(c, b, "}", 1);
done:
    h_free(order);
    return rc;
}

/* ---- equality and order ----------------------------------------------------------------------- */

/* JavaScript ToNumber for strings */
static double js_str_to_number(const jstr *s) {
    size_t a = 0, e = s->len;
    uint32_t cp;
    while (a < e) {
        size_t l = ju_decode(s->s + a, e - a, &cp);
        if (!ju_is_space(cp)) break;
        a += l;
    }
    while (e > a) {
        size_t pc = e - 1;
        while (pc > a && ((unsigned char)s->s[pc] & 0xc0) == 0x80) pc--;
        ju_decode(s->s + pc, e - pc, &cp);
        if (!ju_is_space(cp)) break;
        e = pc;
    }
    if (a == e) return 0;
    char buf[400];
    size_t n = e - a;
    if (n >= sizeof buf) return NAN;
    memcpy(buf, s->s + a, n);
    buf[n] = 0;
    if (!strcmp(buf, "Infinity") || !strcmp(buf, "+Infinity")) return INFINITY;
    if (!strcmp(buf, "-Infinity")) return -INFINITY;
    if (n > 2 && buf[0] == '0' && strchr("xXoObB", buf[1])) {
        int base = buf[1] == 'x' || buf[1] == 'X' ? 16 : buf[1] == 'o' || buf[1] == 'O' ? 8 : 2;
        double v = 0;
        for (size_t i = 2; i < n; i++) {
            int d = buf[i] >= '0' && buf[i] <= '9' ? buf[i] - '0'
                    : buf[i] >= 'a' && buf[i] <= 'f' ? buf[i] - 'a' + 10
                    : buf[i] >= 'A' && buf[i] <= 'F' ? buf[i] - 'A' + 10 : 99;
            if (d >= base) return NAN;
            v = v * base + d;
        }
        return v;
    }
    /* StrDecimalLiteral: [+-] (digits [. digits] | . digits) [e [+-] digits] */
    size_t i = 0;
    if (buf[i] == '+' || buf[i] == '-') i++;
    size_t d0 = i;
    while (buf[i] >= '0' && buf[i] <= '9') i++;
    size_t nd = i - d0;
    if (buf[i] == '.') {
        i++;
        size_t f0 = i;
        while (buf[i] >= '0' && buf[i] <= '9') i++;
        nd += i - f0;
    }
    if (nd == 0) return NAN;
    if (buf[i] == 'e' || buf[i] == 'E') {
        i++;
        if (buf[i] == '+' || buf[i] == '-') i++;
        size_t e0 = i;
        while (buf[i] >= '0' && buf[i] <= '9') i++;
        if (i == e0) return NAN;
    }
    if (buf[i]) return NAN;
    return strtod(buf, NULL);
}

static int is_objlike(jval v) { return v.type >= JV_ARRAY; }

static const void *obj_identity(jval v) {
    switch (v.type) {
    case JV_ARRAY: return v.u.a;
    case JV_OBJECT:
    case JV_NS: return v.u.o;
    case JV_FUNC: return v.u.f;
    case JV_LOOP: return v.u.l;
    default: return NULL;
    }
}

int jv_strict_eq(jval a, jval b) {
    if (jv_is_num(a) && jv_is_num(b)) return a.u.num == b.u.num;
    if (a.type != b.type) {
        if (is_objlike(a) && is_objlike(b)) return obj_identity(a) == obj_identity(b);
        return 0;
    }
    switch (a.type) {
    case JV_UNDEF:
    case JV_NULL: return 1;
    case JV_BOOL: return a.u.b == b.u.b;
    case JV_STR: return a.u.s->len == b.u.s->len && memcmp(a.u.s->s, b.u.s->s, a.u.s->len) == 0;
    default: return obj_identity(a) == obj_identity(b);
    }
}

int jv_loose_eq(jctx *c, jval a, jval b, int *eq) {
    for (int round = 0; round < 4; round++) {
        int an = a.type == JV_UNDEF || a.type == JV_NULL, bn = b.type == JV_UNDEF || b.type == JV_NULL;
        if (an || bn) {
            *eq = an && bn;
            return HEARTH_OK;
        }
        if (is_objlike(a) && is_objlike(b)) {
            *eq = obj_identity(a) == obj_identity(b);
            return HEARTH_OK;
        }
        if (jv_is_num(a) && jv_is_num(b)) {
            *eq = a.u.num == b.u.num;
            return HEARTH_OK;
        }
        if (a.type == JV_STR && b.type == JV_STR) {
            *eq = jv_strict_eq(a, b);
            return HEARTH_OK;
        }
        if (a.type == JV_BOOL && b.type == JV_BOOL) {
            *eq = a.u.b == b.u.b;
            return HEARTH_OK;
        }
        if (a.type == JV_BOOL) a = jv_int(a.u.b);
        if (b.type == JV_BOOL) b = jv_int(b.u.b);
        if (jv_is_num(a) && b.type == JV_STR) b = jv_int(js_str_to_number(b.u.s));
        else if (a.type == JV_STR && jv_is_num(b)) a = jv_int(js_str_to_number(a.u.s));
        /* object vs primitive: ToPrimitive */
        jval *objs[2] = {&a, &b};
        for (int i = 0; i < 2; i++) {
            if (!is_objlike(*objs[i])) continue;
            if (objs[i]->type == JV_FUNC) {
                *eq = 0;
                return HEARTH_OK;
            }
            jbuf buf = {0};
            int rc = jv_append_valuestring(c, &buf, *objs[i]);
            if (!rc) rc = jb_to_str(c, &buf, objs[i]);
            else jb_free(c, &buf);
            if (rc) return rc;
        }
    }
    *eq = 0;
    return HEARTH_OK;
}

static int num_like(jval v) { return v.type == JV_INT || v.type == JV_FLOAT || v.type == JV_BOOL; }
static double num_of(jval v) { return v.type == JV_BOOL ? v.u.b : v.u.num; }

int jv_compare(jctx *c, jval a, jval b, int case_sensitive, int *res) {
    if (a.type == JV_NULL && b.type == JV_NULL) return *res = 0, HEARTH_OK;
    if (a.type == JV_NULL || b.type == JV_NULL)
        return jx_err(c, NULL, HEARTH_ERR_ARG, "cannot compare %s with %s", jv_type_name(a), jv_type_name(b));
    if (a.type == JV_UNDEF && b.type == JV_UNDEF) return *res = 0, HEARTH_OK;
    if (a.type == JV_UNDEF || b.type == JV_UNDEF)
        return jx_err(c, NULL, HEARTH_ERR_ARG, "cannot compare %s with %s", jv_type_name(a), jv_type_name(b));
    if (num_like(a) && num_like(b)) {
        double x = num_of(a), y = num_of(b);
        *res = x < y ? -1 : x > y ? 1 : 0;
        return HEARTH_OK;
    }
    if (a.type != JV_STR || b.type != JV_STR)
        return jx_err(c, NULL, HEARTH_ERR_ARG, "cannot compare %s with %s", jv_type_name(a), jv_type_name(b));
    const jstr *x = a.u.s, *y = b.u.s;
    jval lx, ly;
    if (!case_sensitive) {
        int rc;
        if ((rc = jv_case(c, x, 0, &lx)) || (rc = jv_case(c, y, 0, &ly))) return rc;
        x = lx.u.s;
        y = ly.u.s;
    }
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->s, y->s, n);
    *res = r < 0 ? -1 : r > 0 ? 1 : x->len < y->len ? -1 : x->len > y->len ? 1 : 0;
    return HEARTH_OK;
}

/* ---- case mapping (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic) ------------------------- */

static uint32_t to_lower(uint32_t c) {
    if (c < 0x80) return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if ((c >= 0xc0 && c <= 0xde && c != 0xd7) || (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) ||
        (c >= 0x410 && c <= 0x42f))
        return c + 0x20;
    if (c >= 0x400 && c <= 0x40f) return c + 0x50;
    if (c == 0x178) return 0xff;
    if ((c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
        return c | 1;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) return (c & 1) ? c + 1 : c;
    return c;
}

static uint32_t to_upper(uint32_t c) {
    if (c < 0x80) return c >= 'a' && c <= 'z' ? c - 32 : c;
    if ((c >= 0xe0 && c <= 0xfe && c != 0xf7) || (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) ||
        (c >= 0x430 && c <= 0x44f))
        return c - 0x20;
    if (c == 0x3c2) return 0x3a3;
    if (c == 0xb5) return 0x39c;
    if (c >= 0x450 && c <= 0x45f) return c - 0x50;
    if (c == 0xff) return 0x178;
    if ((c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
        return c & ~(uint32_t)1;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) return (c & 1) ? c : c - 1;
    return c;
}

int jv_case(jctx *c, const jstr *s, int upper, jval *out) {
    int rc;
    if ((rc = jx_cost(c, s->len / 64))) return rc;
    jbuf b = {0};
    if ((rc = jb_put(c, &b, "", 0))) return rc;
    for (size_t i = 0; i < s->len && !rc;) {
        uint32_t cp;
        size_t l = ju_decode(s->s + i, s->len - i, &cp);
        i += l;
        char enc[4];
        if (upper && cp == 0xdf) {
            rc = jb_put(c, &b, "SS", 2);
            continue;
        }
        uint32_t m = upper ? to_upper(cp) : to_lower(cp);
        rc = jb_put(c, &b, enc, ju_encode(m, enc));
    }
    if (rc) {
        jb_free(c, &b);
        return rc;
    }
    return jb_to_str(c, &b, out);
}

/* ---- from JSON -------------------------------------------------------------------------------- */

/* canonical array index ("0", "17"; not "01"), as JavaScript orders object keys */
static int index_key(const jstr *k, double *v) {
    if (k->len == 0 || k->len > 10) return 0;
    if (k->len > 1 && k->s[0] == '0') return 0;
    double x = 0;
    for (size_t i = 0; i < k->len; i++) {
        if (k->s[i] < '0' || k->s[i] > '9') return 0;
        x = x * 10 + (k->s[i] - '0');
    }
    if (x > 4294967294.0) return 0;
    *v = x;
    return 1;
}

static int from_json_str(jctx *c, const char *s, size_t n, jstr **out) {
    if (json_utf8_valid_prefix(s, n) == n) {
        *out = jv_str_new(c, s, n);
        return *out ? HEARTH_OK : jx_nomem(c);
    }
    char *clean;
    size_t cl;
    if (ju_sanitize(s, n, &clean, &cl)) return jx_nomem(c);
    *out = jv_str_new(c, clean, cl);
    h_free(clean);
    return *out ? HEARTH_OK : jx_nomem(c);
}

int jv_from_json(jctx *c, const json_value *j, jval *out, int depth) {
    int rc;
    if (depth > 1000) return jx_err(c, NULL, HEARTH_ERR_RANGE, "variables nested too deeply");
    if ((rc = jx_cost(c, 1))) return rc;
    switch (j->type) {
    case JSON_NULL: *out = jv_null(); return HEARTH_OK;
    case JSON_BOOL: *out = jv_bool(j->boolean); return HEARTH_OK;
    case JSON_NUMBER:
        *out = isfinite(j->number) && j->number == trunc(j->number) ? jv_int(j->number) : jv_float(j->number);
        return HEARTH_OK;
    case JSON_STRING:
        out->type = JV_STR;
        return from_json_str(c, j->str ? j->str : "", j->len, &out->u.s);
    case JSON_ARRAY: {
        jarr *a = jv_arr_new(c, j->len);
        if (!a) return jx_nomem(c);
        for (size_t i = 0; i < j->len; i++)
            if ((rc = jv_from_json(c, &j->items[i], &a->v[i], depth + 1))) return rc;
        out->type = JV_ARRAY;
        out->u.a = a;
        return HEARTH_OK;
    }
    case JSON_OBJECT: {
        jobj *o = jv_obj_new(c, j->len);
        if (!o) return jx_nomem(c);
        int has_index = 0;
        for (size_t i = 0; i < j->len; i++) {
            jstr *k;
            jval v;
            if ((rc = from_json_str(c, j->members[i].key, j->members[i].key_len, &k))) return rc;
            if ((rc = jv_from_json(c, &j->members[i].value, &v, depth + 1))) return rc;
            if ((rc = jv_obj_set(c, o, k, v))) return rc;
            double dummy;
            has_index |= index_key(k, &dummy);
        }
        if (has_index) { /* JavaScript object order: integer keys ascending first, then insertion order */
            jstr **keys = ja_alloc(&c->arena, o->n * sizeof(jstr *));
            jval *vals = ja_alloc(&c->arena, o->n * sizeof(jval));
            if (!keys || !vals) return jx_nomem(c);
            size_t k = 0;
            for (;;) { /* selection of the smallest remaining index key */
                size_t best = SIZE_MAX;
                double bv = 0, v;
                for (size_t i = 0; i < o->n; i++) {
                    if (!o->keys[i] || !index_key(o->keys[i], &v)) continue;
                    if (best == SIZE_MAX || v < bv) best = i, bv = v;
                }
                if (best == SIZE_MAX) break;
                keys[k] = o->keys[best];
                vals[k++] = o->vals[best];
                o->keys[best] = NULL;
                if ((rc = jx_cost(c, o->n / 16 + 1))) return rc;
            }
            for (size_t i = 0; i < o->n; i++)
                if (o->keys[i]) keys[k] = o->keys[i], vals[k++] = o->vals[i];
            o->keys = keys;
            o->vals = vals;
            o->cap = o->n;
        }
        out->type = JV_OBJECT;
        out->u.o = o;
        return HEARTH_OK;
    }
    }
    return jx_err(c, NULL, HEARTH_ERR_INTERNAL, "unknown JSON type");
}
