/* jinja_builtins.c — what the interpreter knows by name: globals (namespace, raise_exception,
 * range, strftime_now), member access and methods of strings and objects, filters and tests, each
 * with the behaviour of @huggingface/jinja 0.5.x. */
#include "jinja_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum {
    M_UPPER, M_LOWER, M_STRIP, M_TITLE, M_CAPITALIZE, M_RSTRIP, M_LSTRIP, M_STARTSWITH, M_ENDSWITH,
    M_SPLIT, M_REPLACE, M_GET, M_ITEMS, M_KEYS, M_VALUES, M_DICTSORT
};

static const char *const str_methods[] = {"upper", "lower", "strip", "title", "capitalize", "rstrip",
                                          "lstrip", "startswith", "endswith", "split", "replace"};
static const char *const obj_methods[] = {"get", "items", "keys", "values", "dictsort"};

static int name_is(const jstr *s, const char *w) { return strlen(w) == s->len && memcmp(s->s, w, s->len) == 0; }

static int make_method(jctx *c, jval self, int id, jval *out) {
    jfunc *f = ja_alloc(&c->arena, sizeof(jfunc));
    if (!f) return jx_nomem(c);
    memset(f, 0, sizeof(*f));
    f->kind = F_METHOD;
    f->id = (uint8_t)id;
    f->self = self;
    out->type = JV_FUNC;
    out->u.f = f;
    return HEARTH_OK;
}

static jval arr_val(jarr *a) { return (jval){JV_ARRAY, {.a = a}}; }
static jval str_val(jstr *s) { return (jval){JV_STR, {.s = s}}; }

static jval kwarg(jctx *c, const jobj *kw, const char *name) {
    if (!kw) return jv_undef();
    jval *v = jv_obj_get(c, kw, name, strlen(name));
    return v ? *v : jv_undef();
}

/* positional arguments without a trailing keyword bundle; *kw gets the bundle */
static size_t split_kwargs(jval *args, size_t nargs, jobj **kw) {
    *kw = NULL;
    if (nargs && args[nargs - 1].type == JV_OBJECT && args[nargs - 1].u.o->kwargs) {
        *kw = args[nargs - 1].u.o;
        return nargs - 1;
    }
    return nargs;
}

/* ---- string helpers --------------------------------------------------------------------------- */

static size_t trim_start(const jstr *s) {
    size_t i = 0;
    while (i < s->len) {
        uint32_t cp;
        size_t l = ju_decode(s->s + i, s->len - i, &cp);
        if (!ju_is_space(cp)) break;
        i += l;
    }
    return i;
}

static size_t trim_end(const jstr *s, size_t from) {
    size_t e = s->len;
    while (e > from) {
        size_t pc = e - 1;
        while (pc > from && ((unsigned char)s->s[pc] & 0xc0) == 0x80) pc--;
        uint32_t cp;
        ju_decode(s->s + pc, e - pc, &cp);
        if (!ju_is_space(cp)) break;
        e = pc;
    }
    return e;
}

static int substr(jctx *c, const jstr *s, size_t a, size_t b, jval *out) {
    if (a == 0 && b == s->len) {
        *out = str_val((jstr *)s);
        return HEARTH_OK;
    }
    return jv_make_str(c, s->s + a, b - a, out);
}

static int ascii_word(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* title: /\b\w/g -> upper case (JavaScript \w and \b are ASCII) */
static int str_title(jctx *c, const jstr *s, jval *out) {
    jstr *r = jv_str_new(c, s->s, s->len);
    if (!r) return jx_nomem(c);
    for (size_t i = 0; i < r->len; i++) {
        char ch = r->s[i];
        if (ascii_word(ch) && (i == 0 || !ascii_word(r->s[i - 1])) && ch >= 'a' && ch <= 'z') r->s[i] = (char)(ch - 32);
    }
    *out = str_val(r);
    return HEARTH_OK;
}

static int str_capitalize(jctx *c, const jstr *s, jval *out) {
    if (!s->len) {
        *out = str_val((jstr *)s);
        return HEARTH_OK;
    }
    uint32_t cp;
    size_t l = ju_decode(s->s, s->len, &cp);
    if (cp >= 0x10000) { /* charAt(0) is half a surrogate pair: unchanged */
        *out = str_val((jstr *)s);
        return HEARTH_OK;
    }
    jval first;
    jstr *f = jv_str_new(c, s->s, l);
    if (!f) return jx_nomem(c);
    int rc = jv_case(c, f, 1, &first);
    if (rc) return rc;
    jbuf b = {0};
    if ((rc = jb_put(c, &b, first.u.s->s, first.u.s->len)) || (rc = jb_put(c, &b, s->s + l, s->len - l))) {
        jb_free(c, &b);
        return rc;
    }
    return jb_to_str(c, &b, out);
}

static int starts_ends(jctx *c, const jnode *at, const jstr *s, jval *args, size_t nargs, int ends, jval *out) {
    const char *what = ends ? "endswith" : "startswith";
    if (!nargs) return jx_err(c, at, HEARTH_ERR_ARG, "%s() requires at least one argument", what);
    jval p = args[0];
    const jval *list = &p;
    size_t n = 1;
    if (p.type == JV_ARRAY) {
        list = p.u.a->v;
        n = p.u.a->n;
    } else if (p.type != JV_STR) {
        return jx_err(c, at, HEARTH_ERR_ARG, "%s() argument must be a string or tuple of strings", what);
    }
    for (size_t i = 0; i < n; i++) {
        if (list[i].type != JV_STR) return jx_err(c, at, HEARTH_ERR_ARG, "%s() tuple elements must be strings", what);
        const jstr *x = list[i].u.s;
        if (x->len <= s->len && memcmp(ends ? s->s + s->len - x->len : s->s, x->s, x->len) == 0) {
            *out = jv_bool(1);
            return HEARTH_OK;
        }
    }
    *out = jv_bool(0);
    return HEARTH_OK;
}

typedef struct jvec {
    jval *v;
    size_t n, cap;
} jvec;

static int vec_push(jctx *c, jvec *v, jval x) {
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 8;
        jval *nv = ja_alloc(&c->arena, nc * sizeof(jval));
        if (!nv) return jx_nomem(c);
        if (v->n) memcpy(nv, v->v, v->n * sizeof(jval));
        v->v = nv;
        v->cap = nc;
    }
    v->v[v->n++] = x;
    return HEARTH_OK;
}

static int vec_to_arr(jctx *c, jvec *v, jval *out) {
    jarr *a = jv_arr_new(c, v->n);
    if (!a) return jx_nomem(c);
    if (v->n) memcpy(a->v, v->v, v->n * sizeof(jval));
    *out = arr_val(a);
    return HEARTH_OK;
}

static int str_split(jctx *c, const jnode *at, const jstr *s, jval *args, size_t nargs, jval *out) {
    jval sep = nargs > 0 ? args[0] : jv_null();
    jval maxv = nargs > 1 ? args[1] : jv_int(-1);
    if (sep.type != JV_STR && sep.type != JV_NULL) return jx_err(c, at, HEARTH_ERR_ARG, "split(): sep argument must be a string or none");
    if (maxv.type != JV_INT) return jx_err(c, at, HEARTH_ERR_ARG, "split(): maxsplit argument must be a number");
    double maxsplit = maxv.u.num;
    int rc;
    if ((rc = jx_cost(c, s->len / 32 + 1))) return rc;
    jvec parts = {0};
    jval piece;
    if (sep.type == JV_NULL) {
        size_t i = trim_start(s);
        while (i < s->len) {
            size_t a = i;
            while (i < s->len) { /* \S+ */
                uint32_t cp;
                size_t l = ju_decode(s->s + i, s->len - i, &cp);
                if (ju_is_space(cp)) break;
                i += l;
            }
            if (maxsplit != -1 && (double)parts.n >= maxsplit) {
                if ((rc = substr(c, s, a, s->len, &piece)) || (rc = vec_push(c, &parts, piece))) return rc;
                break;
            }
            if ((rc = substr(c, s, a, i, &piece)) || (rc = vec_push(c, &parts, piece))) return rc;
            while (i < s->len) {
                uint32_t cp;
                size_t l = ju_decode(s->s + i, s->len - i, &cp);
                if (!ju_is_space(cp)) break;
                i += l;
            }
        }
        return vec_to_arr(c, &parts, out);
    }
    const jstr *d = sep.u.s;
    if (!d->len) return jx_err(c, at, HEARTH_ERR_ARG, "split(): empty separator");
    size_t a = 0;
    for (size_t i = 0; i + d->len <= s->len;) {
        if (maxsplit != -1 && (double)parts.n >= maxsplit) break;
        if (memcmp(s->s + i, d->s, d->len) == 0) {
            if ((rc = substr(c, s, a, i, &piece)) || (rc = vec_push(c, &parts, piece))) return rc;
            i += d->len;
            a = i;
        } else {
            i++;
        }
    }
    if ((rc = substr(c, s, a, s->len, &piece)) || (rc = vec_push(c, &parts, piece))) return rc;
    return vec_to_arr(c, &parts, out);
}

static int str_replace(jctx *c, const jnode *at, const jstr *s, jval *args, size_t nargs, jval *out) {
    jobj *kw;
    size_t np = split_kwargs(args, nargs, &kw);
    if (np < 2) return jx_err(c, at, HEARTH_ERR_ARG, "replace() requires at least two arguments");
    if (args[0].type != JV_STR || args[1].type != JV_STR) return jx_err(c, at, HEARTH_ERR_ARG, "replace() arguments must be strings");
    jval cnt = np > 2 ? args[2] : kw ? kwarg(c, kw, "count") : jv_null();
    if (cnt.type == JV_UNDEF) cnt = jv_null();
    if (cnt.type != JV_INT && cnt.type != JV_NULL) return jx_err(c, at, HEARTH_ERR_ARG, "replace() count argument must be a number or none");
    double left = cnt.type == JV_NULL || cnt.u.num < 0 ? INFINITY : cnt.u.num;
    const jstr *o = args[0].u.s, *nw = args[1].u.s;
    int rc;
    if ((rc = jx_cost(c, s->len / 32 + 1))) return rc;
    jbuf b = {0};
    if ((rc = jb_put(c, &b, "", 0))) return rc;
    size_t i = 0;
    if (!o->len) { /* insert at every code point boundary */
        for (;;) {
            if (left > 0) {
                if ((rc = jb_put(c, &b, nw->s, nw->len))) break;
                left--;
            }
            if (i >= s->len) break;
            uint32_t cp;
            size_t l = ju_decode(s->s + i, s->len - i, &cp);
            if ((rc = jb_put(c, &b, s->s + i, l))) break;
            i += l;
        }
    } else {
        size_t a = 0;
        while (i + o->len <= s->len && left > 0) {
            if (memcmp(s->s + i, o->s, o->len) == 0) {
                if ((rc = jb_put(c, &b, s->s + a, i - a)) || (rc = jb_put(c, &b, nw->s, nw->len))) break;
                i += o->len;
                a = i;
                left--;
            } else {
                i++;
            }
        }
        if (!rc) rc = jb_put(c, &b, s->s + a, s->len - a);
    }
    if (rc) {
        jb_free(c, &b);
        return rc;
    }
    return jb_to_str(c, &b, out);
}

/* ---- objects ---------------------------------------------------------------------------------- */

static int obj_items(jctx *c, const jobj *o, int what, jval *out) {
    jarr *a = jv_arr_new(c, o->n);
    if (!a) return jx_nomem(c);
    for (size_t i = 0; i < o->n; i++) {
        if (what == M_KEYS) {
            a->v[i] = str_val(o->keys[i]);
        } else if (what == M_VALUES) {
            a->v[i] = o->vals[i];
        } else {
            jarr *pair = jv_arr_new(c, 2);
            if (!pair) return jx_nomem(c);
            pair->v[0] = str_val(o->keys[i]);
            pair->v[1] = o->vals[i];
            a->v[i] = arr_val(pair);
        }
    }
    *out = arr_val(a);
    return jx_cost(c, o->n);
}

/* stable merge sort of jvals with an error-propagating comparison */
typedef struct sort_ctx {
    jctx *c;
    int case_sensitive, reverse, by_value; /* by_value: items are [k, v] pairs compared on v (dictsort) */
    int pair_index;                        /* -1: compare items; 0/1: compare pair element */
    const jstr *attr;                      /* attribute path */
} sort_ctx;

static jval attr_value(jval item, const char *path, size_t plen);

static int sort_key(sort_ctx *s, jval v, jval *k) {
    if (s->pair_index >= 0) {
        *k = v.u.a->v[s->pair_index];
    } else if (s->attr) {
        *k = attr_value(v, s->attr->s, s->attr->len);
    } else {
        *k = v;
    }
    return HEARTH_OK;
}

static int sort_cmp(sort_ctx *s, jval a, jval b, int *r) {
    jval ka, kb;
    sort_key(s, a, &ka);
    sort_key(s, b, &kb);
    int rc = jv_compare(s->c, ka, kb, s->case_sensitive, r);
    if (s->reverse) *r = -*r;
    return rc;
}

static int merge_sort(sort_ctx *s, jval *v, jval *tmp, size_t n) {
    if (n < 2) return HEARTH_OK;
    size_t h = n / 2;
    int rc;
    if ((rc = merge_sort(s, v, tmp, h)) || (rc = merge_sort(s, v + h, tmp, n - h))) return rc;
    if ((rc = jx_cost(s->c, n))) return rc;
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) {
        int r;
        if ((rc = sort_cmp(s, v[j], v[i], &r))) return rc;
        tmp[k++] = r < 0 ? v[j++] : v[i++];
    }
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof(jval));
    return HEARTH_OK;
}

static int sorted(jctx *c, sort_ctx *s, const jarr *in, jval *out) {
    jarr *a = jv_arr_new(c, in->n);
    jval *tmp = ja_alloc(&c->arena, (in->n + 1) * sizeof(jval));
    if (!a || !tmp) return jx_nomem(c);
    memcpy(a->v, in->v, in->n * sizeof(jval));
    int rc = merge_sort(s, a->v, tmp, a->n);
    if (rc) return rc;
    *out = arr_val(a);
    return HEARTH_OK;
}

static int get_flag(jctx *c, const jnode *at, jval v, int dflt, const char *what, int *out) {
    if (v.type == JV_UNDEF) {
        *out = dflt;
        return HEARTH_OK;
    }
    if (v.type != JV_BOOL) return jx_err(c, at, HEARTH_ERR_ARG, "%s must be a boolean", what);
    *out = v.u.b;
    return HEARTH_OK;
}

static int dictsort(jctx *c, const jnode *at, const jobj *o, jval *args, size_t nargs, jval *out) {
    jobj *kw;
    size_t np = split_kwargs(args, nargs, &kw);
    int cs = 0, rev = 0, rc;
    jval by = np > 1 ? args[1] : kwarg(c, kw, "by");
    if ((rc = get_flag(c, at, np > 0 ? args[0] : kwarg(c, kw, "case_sensitive"), 0, "case_sensitive", &cs))) return rc;
    if (by.type == JV_UNDEF) by = (jval){JV_STR, {.s = NULL}};
    else if (by.type != JV_STR) return jx_err(c, at, HEARTH_ERR_ARG, "by must be a string");
    int by_value = 0;
    if (by.u.s) {
        if (name_is(by.u.s, "value")) by_value = 1;
        else if (!name_is(by.u.s, "key")) return jx_err(c, at, HEARTH_ERR_ARG, "by must be either 'key' or 'value'");
    }
    if ((rc = get_flag(c, at, np > 2 ? args[2] : kwarg(c, kw, "reverse"), 0, "reverse", &rev))) return rc;
    jval items;
    if ((rc = obj_items(c, o, M_ITEMS, &items))) return rc;
    sort_ctx s = {.c = c, .case_sensitive = cs, .reverse = rev, .pair_index = by_value};
    return sorted(c, &s, items.u.a, out);
}

/* getAttributeValue: "a.b.0" through objects and arrays */
static jval attr_value(jval item, const char *path, size_t plen) {
    jval v = item;
    size_t i = 0;
    for (;;) {
        size_t e = i;
        while (e < plen && path[e] != '.') e++;
        if (v.type == JV_OBJECT || v.type == JV_NS) {
            jval *x = jv_obj_get(NULL, v.u.o, path + i, e - i);
            v = x ? *x : jv_undef();
        } else if (v.type == JV_ARRAY) {
            /* parseInt: optional sign and leading digits */
            size_t k = i;
            int neg = 0;
            while (k < e && (path[k] == ' ' || path[k] == '\t')) k++;
            if (k < e && (path[k] == '-' || path[k] == '+')) neg = path[k++] == '-';
            double idx = 0;
            size_t d0 = k;
            while (k < e && path[k] >= '0' && path[k] <= '9') idx = idx * 10 + (path[k++] - '0');
            if (k == d0 || neg || idx >= (double)v.u.a->n) return jv_undef();
            v = v.u.a->v[(size_t)idx];
        } else {
            return jv_undef();
        }
        if (e >= plen) return v;
        i = e + 1;
    }
}

/* ---- member access ---------------------------------------------------------------------------- */

static int str_at(jctx *c, const jstr *s, double idx, jval *out) {
    size_t units = ju_utf16_len(s->s, s->len);
    if (idx < 0) idx += (double)units;
    if (idx < 0 || idx >= (double)units) {
        *out = jv_undef();
        return HEARTH_OK;
    }
    size_t target = (size_t)idx, u = 0;
    for (size_t i = 0; i < s->len;) {
        uint32_t cp;
        size_t l = ju_decode(s->s + i, s->len - i, &cp);
        size_t w = cp >= 0x10000 ? 2 : 1;
        if (target < u + w) {
            if (w == 2) return jv_make_str(c, "\xef\xbf\xbd", 3, out); /* half of a surrogate pair */
            return jv_make_str(c, s->s + i, l, out);
        }
        u += w;
        i += l;
    }
    *out = jv_undef();
    return HEARTH_OK;
}

static const char *const loop_fields[] = {"index", "index0", "revindex", "revindex0", "first",
                                          "last", "length", "previtem", "nextitem"};

int jb_member(jctx *c, const jnode *at, jval obj, jval prop, jval *out) {
    int rc;
    *out = jv_undef();
    if (obj.type == JV_LOOP) {
        if (prop.type == JV_STR) {
            const jloop *l = obj.u.l;
            for (int i = 0; i < 9; i++) {
                if (!name_is(prop.u.s, loop_fields[i])) continue;
                switch (i) {
                case 0: *out = jv_int((double)l->i + 1); break;
                case 1: *out = jv_int((double)l->i); break;
                case 2: *out = jv_int((double)(l->n - l->i)); break;
                case 3: *out = jv_int((double)(l->n - l->i - 1)); break;
                case 4: *out = jv_bool(l->i == 0); break;
                case 5: *out = jv_bool(l->i + 1 == l->n); break;
                case 6: *out = jv_int((double)l->n); break;
                case 7: *out = l->i > 0 ? l->items->v[l->i - 1] : jv_undef(); break;
                case 8: *out = l->i + 1 < l->n ? l->items->v[l->i + 1] : jv_undef(); break;
                }
                return HEARTH_OK;
            }
        }
        if ((rc = jv_loop_materialize(c, &obj))) return rc;
    }
    if (obj.type == JV_OBJECT || obj.type == JV_NS) {
        if (prop.type != JV_STR)
            return jx_err(c, at, HEARTH_ERR_ARG, "cannot access a property with a non-string: got %s", jv_type_name(prop));
        jval *v = jv_obj_get(c, obj.u.o, prop.u.s->s, prop.u.s->len);
        if (v) {
            *out = *v;
            return HEARTH_OK;
        }
        if (obj.type == JV_OBJECT)
            for (size_t i = 0; i < H_ARRAY_LEN(obj_methods); i++)
                if (name_is(prop.u.s, obj_methods[i])) return make_method(c, obj, M_GET + (int)i, out);
        return HEARTH_OK;
    }
    if (obj.type == JV_ARRAY || obj.type == JV_STR) {
        if (prop.type == JV_INT) {
            if (obj.type == JV_STR) return str_at(c, obj.u.s, prop.u.num, out);
            double i = prop.u.num;
            if (i < 0) i += (double)obj.u.a->n;
            if (i >= 0 && i < (double)obj.u.a->n) *out = obj.u.a->v[(size_t)i];
            return HEARTH_OK;
        }
        if (prop.type != JV_STR)
            return jx_err(c, at, HEARTH_ERR_ARG, "cannot access a property with a non-string/non-number: got %s",
                          jv_type_name(prop));
        if (name_is(prop.u.s, "length")) {
            *out = jv_int((double)(obj.type == JV_ARRAY ? obj.u.a->n : ju_utf16_len(obj.u.s->s, obj.u.s->len)));
            return HEARTH_OK;
        }
        if (obj.type == JV_STR)
            for (size_t i = 0; i < H_ARRAY_LEN(str_methods); i++)
                if (name_is(prop.u.s, str_methods[i])) return make_method(c, obj, M_UPPER + (int)i, out);
        return HEARTH_OK;
    }
    if (prop.type != JV_STR)
        return jx_err(c, at, HEARTH_ERR_ARG, "cannot access a property with a non-string: got %s", jv_type_name(prop));
    return HEARTH_OK;
}

int jb_call_method(jctx *c, const jnode *at, const jfunc *f, jval *args, size_t nargs, jval *out) {
    jval self = f->self;
    int rc;
    if (f->id >= M_GET) {
        const jobj *o = self.u.o;
        switch (f->id) {
        case M_GET: {
            jval key = nargs > 0 ? args[0] : jv_undef();
            if (key.type != JV_STR) return jx_err(c, at, HEARTH_ERR_ARG, "object key must be a string: got %s", jv_type_name(key));
            jval *v = jv_obj_get(c, o, key.u.s->s, key.u.s->len);
            *out = v ? *v : nargs > 1 ? args[1] : jv_null();
            return HEARTH_OK;
        }
        case M_ITEMS:
        case M_KEYS:
        case M_VALUES: return obj_items(c, o, f->id, out);
        case M_DICTSORT: return dictsort(c, at, o, args, nargs, out);
        }
    }
    const jstr *s = self.u.s;
    if ((rc = jx_cost(c, s->len / 64))) return rc;
    switch (f->id) {
    case M_UPPER: return jv_case(c, s, 1, out);
    case M_LOWER: return jv_case(c, s, 0, out);
    case M_STRIP: {
        size_t a = trim_start(s);
        return substr(c, s, a, trim_end(s, a), out);
    }
    case M_RSTRIP: return substr(c, s, 0, trim_end(s, 0), out);
    case M_LSTRIP: return substr(c, s, trim_start(s), s->len, out);
    case M_TITLE: return str_title(c, s, out);
    case M_CAPITALIZE: return str_capitalize(c, s, out);
    case M_STARTSWITH: return starts_ends(c, at, s, args, nargs, 0, out);
    case M_ENDSWITH: return starts_ends(c, at, s, args, nargs, 1, out);
    case M_SPLIT: return str_split(c, at, s, args, nargs, out);
    case M_REPLACE: return str_replace(c, at, s, args, nargs, out);
    }
    return jx_err(c, at, HEARTH_ERR_INTERNAL, "unknown method");
}

/* ---- globals ---------------------------------------------------------------------------------- */

static int ns_entry(jctx *c, const jnode *at, jobj *o, jval pair) {
    jval k, v;
    if (pair.type == JV_ARRAY && pair.u.a->n == 2) {
        k = pair.u.a->v[0];
        v = pair.u.a->v[1];
    } else if (pair.type == JV_STR && ju_cp_count(pair.u.s->s, pair.u.s->len) == 2) {
        uint32_t cp;
        size_t l = ju_decode(pair.u.s->s, pair.u.s->len, &cp);
        int rc;
        if ((rc = jv_make_str(c, pair.u.s->s, l, &k)) || (rc = jv_make_str(c, pair.u.s->s + l, pair.u.s->len - l, &v))) return rc;
    } else {
        return jx_err(c, at, HEARTH_ERR_ARG, "namespace expected an object or an iterable of [key, value] pairs");
    }
    if (k.type != JV_STR) return jx_err(c, at, HEARTH_ERR_ARG, "namespace keys must be strings");
    return jv_obj_set(c, o, k.u.s, v);
}

static void civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static int strftime_now(jctx *c, const jnode *at, jval fmt, jval *out) {
    static const char *const mon[] = {"January", "February", "March", "April", "May", "June", "July",
                                      "August", "September", "October", "November", "December"};
    static const char *const wday[] = {"Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"};
    if (fmt.type != JV_STR) return jx_err(c, at, HEARTH_ERR_ARG, "strftime_now() needs a format string");
    int64_t t = c->now;
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    int H = (int)(secs / 3600), M = (int)(secs / 60 % 60), S = (int)(secs % 60);
    const int64_t wd = ((days % 7) + 7) % 7;
    jbuf b = {0};
    int rc = jb_put(c, &b, "", 0);
    const jstr *f = fmt.u.s;
    for (size_t i = 0; i < f->len && !rc; i++) {
        char tmp[32];
        if (f->s[i] != '%' || i + 1 >= f->len) {
            rc = jb_put(c, &b, f->s + i, 1);
            continue;
        }
        char k = f->s[++i];
        tmp[0] = 0;
        switch (k) {
        case 'Y': snprintf(tmp, sizeof tmp, "%d", y); break;
        case 'y': snprintf(tmp, sizeof tmp, "%02d", ((y % 100) + 100) % 100); break;
        case 'm': snprintf(tmp, sizeof tmp, "%02d", m); break;
        case 'd': snprintf(tmp, sizeof tmp, "%02d", d); break;
        case 'e': snprintf(tmp, sizeof tmp, "%2d", d); break;
        case 'b': snprintf(tmp, sizeof tmp, "%.3s", mon[m - 1]); break;
        case 'B': snprintf(tmp, sizeof tmp, "%s", mon[m - 1]); break;
        case 'a': snprintf(tmp, sizeof tmp, "%.3s", wday[wd]); break;
        case 'A': snprintf(tmp, sizeof tmp, "%s", wday[wd]); break;
        case 'H': snprintf(tmp, sizeof tmp, "%02d", H); break;
        case 'I': snprintf(tmp, sizeof tmp, "%02d", H % 12 ? H % 12 : 12); break;
        case 'p': snprintf(tmp, sizeof tmp, "%s", H < 12 ? "AM" : "PM"); break;
        case 'M': snprintf(tmp, sizeof tmp, "%02d", M); break;
        case 'S': snprintf(tmp, sizeof tmp, "%02d", S); break;
        case '%': snprintf(tmp, sizeof tmp, "%%"); break;
        default: snprintf(tmp, sizeof tmp, "%%%c", k); break;
        }
        rc = jb_put(c, &b, tmp, strlen(tmp));
    }
    if (rc) {
        jb_free(c, &b);
        return rc;
    }
    return jb_to_str(c, &b, out);
}

int jb_call_global(jctx *c, const jnode *at, int id, jval *args, size_t nargs, jval *out) {
    int rc;
    switch (id) {
    case G_NAMESPACE: {
        jobj *kw;
        size_t np = split_kwargs(args, nargs, &kw);
        if (np > 1) return jx_err(c, at, HEARTH_ERR_ARG, "namespace expected at most 1 argument, got %zu", np);
        jobj *o = jv_obj_new(c, 4);
        if (!o) return jx_nomem(c);
        if (np == 1) {
            jval src = args[0];
            if ((rc = jv_loop_materialize(c, &src))) return rc;
            if (src.type == JV_OBJECT) {
                for (size_t i = 0; i < src.u.o->n; i++)
                    if ((rc = jv_obj_set(c, o, src.u.o->keys[i], src.u.o->vals[i]))) return rc;
            } else if (src.type == JV_ARRAY) {
                for (size_t i = 0; i < src.u.a->n; i++)
                    if ((rc = ns_entry(c, at, o, src.u.a->v[i]))) return rc;
            } else {
                return jx_err(c, at, HEARTH_ERR_ARG, "'%s' object is not iterable", jv_type_name(src));
            }
        }
        for (size_t i = 0; kw && i < kw->n; i++)
            if ((rc = jv_obj_set(c, o, kw->keys[i], kw->vals[i]))) return rc;
        out->type = JV_NS;
        out->u.o = o;
        return HEARTH_OK;
    }
    case G_RAISE: {
        jbuf b = {0};
        if (nargs && (rc = jv_append_valuestring(c, &b, args[0]))) {
            jb_free(c, &b);
            return rc;
        }
        size_t line, col;
        jinja_line_col(c->t, at->pos, &line, &col);
        rc = h_err(c->err, HEARTH_ERR_ARG, "jinja: template error: %.*s (raise_exception at line %zu col %zu)",
                   (int)(b.len > 300 ? 300 : b.len), b.p ? b.p : "", line, col);
        jb_free(c, &b);
        return rc;
    }
    case G_RANGE: {
        double v[3] = {0, 0, 1};
        if (nargs < 1 || nargs > 3) return jx_err(c, at, HEARTH_ERR_ARG, "range() takes 1 to 3 arguments");
        for (size_t i = 0; i < nargs; i++) {
            if (!jv_is_num(args[i]) && args[i].type != JV_BOOL)
                return jx_err(c, at, HEARTH_ERR_ARG, "range() arguments must be numbers, got %s", jv_type_name(args[i]));
            v[i] = args[i].type == JV_BOOL ? args[i].u.b : args[i].u.num;
        }
        double start = nargs == 1 ? 0 : v[0], stop = nargs == 1 ? v[0] : v[1], step = nargs == 3 ? v[2] : 1;
        if (step == 0) return jx_err(c, at, HEARTH_ERR_ARG, "range() step must not be zero");
        double count = step > 0 ? ceil((stop - start) / step) : ceil((start - stop) / -step);
        if (!(count > 0)) count = 0;
        if (count > (double)(c->max_steps - c->steps) || count > 1e9)
            return jx_err(c, at, HEARTH_ERR_RANGE, "range() of %.0f items exceeds the step limit", count);
        if ((rc = jx_cost(c, (uint64_t)count))) return rc;
        jarr *a = jv_arr_new(c, (size_t)count);
        if (!a) return jx_nomem(c);
        for (size_t i = 0; i < a->n; i++) {
            double x = start + step * (double)i;
            a->v[i] = x == trunc(x) ? jv_int(x) : jv_float(x);
        }
        *out = arr_val(a);
        return HEARTH_OK;
    }
    case G_STRFTIME: return strftime_now(c, at, nargs ? args[0] : jv_undef(), out);
    }
    return jx_err(c, at, HEARTH_ERR_INTERNAL, "unknown global function");
}

/* ---- tests ------------------------------------------------------------------------------------ */

int jb_test(jctx *c, const jnode *at, const char *name, jval a, int has_b, jval b, int *res) {
    int t = a.type;
    if (!strcmp(name, "boolean")) *res = t == JV_BOOL;
    else if (!strcmp(name, "callable")) *res = t == JV_FUNC;
    else if (!strcmp(name, "odd") || !strcmp(name, "even")) {
        if (t != JV_INT) return jx_err(c, at, HEARTH_ERR_ARG, "cannot test '%s' on %s", name, jv_type_name(a));
        int odd = fmod(a.u.num, 2) != 0;
        *res = name[0] == 'o' ? odd : !odd;
    } else if (!strcmp(name, "false")) *res = t == JV_BOOL && !a.u.b;
    else if (!strcmp(name, "true")) *res = t == JV_BOOL && a.u.b;
    else if (!strcmp(name, "none")) *res = t == JV_NULL;
    else if (!strcmp(name, "string")) *res = t == JV_STR;
    else if (!strcmp(name, "number")) *res = t == JV_INT || t == JV_FLOAT;
    else if (!strcmp(name, "integer")) *res = t == JV_INT;
    else if (!strcmp(name, "iterable")) *res = t == JV_ARRAY || t == JV_STR;
    else if (!strcmp(name, "mapping")) *res = t == JV_OBJECT || t == JV_LOOP;
    else if (!strcmp(name, "sequence")) *res = t == JV_ARRAY || t == JV_OBJECT || t == JV_LOOP || t == JV_STR;
    else if (!strcmp(name, "lower") || !strcmp(name, "upper")) {
        *res = 0;
        if (t == JV_STR) {
            jval m;
            int rc = jv_case(c, a.u.s, name[0] == 'u', &m);
            if (rc) return rc;
            *res = m.u.s->len == a.u.s->len && memcmp(m.u.s->s, a.u.s->s, a.u.s->len) == 0;
        }
    } else if (!strcmp(name, "defined")) *res = t != JV_UNDEF;
    else if (!strcmp(name, "undefined")) *res = t == JV_UNDEF;
    else if (!strcmp(name, "equalto") || !strcmp(name, "eq")) *res = has_b ? jv_strict_eq(a, b) : 0;
    else return jx_err(c, at, HEARTH_ERR_UNSUPPORTED, "unsupported test '%s'", name);
    return HEARTH_OK;
}

/* ---- filters ---------------------------------------------------------------------------------- */

static const char *const known_filters[] = {
    "safe", "tojson", "list", "first", "last", "length", "reverse", "sort", "join", "string", "unique",
    "upper", "lower", "title", "capitalize", "trim", "indent", "int", "float", "abs", "items", "bool",
    "default", "selectattr", "rejectattr", "map", "replace", "get", "keys", "values", "dictsort"};

static int filter_type_err(jctx *c, const jnode *f, jval v) {
    for (size_t i = 0; i < H_ARRAY_LEN(known_filters); i++)
        if (name_is(f->str, known_filters[i]))
            return jx_err(c, f, HEARTH_ERR_ARG, "filter '%s' cannot be applied to %s", f->str->s, jv_type_name(v));
    return jx_err(c, f, HEARTH_ERR_UNSUPPORTED, "unsupported filter '%s'", f->str->s);
}

/* parseInt(s, 10) / parseFloat(s); NaN when there is no number */
static double parse_int(const jstr *s) {
    size_t i = trim_start(s);
    int neg = 0;
    if (i < s->len && (s->s[i] == '+' || s->s[i] == '-')) neg = s->s[i++] == '-';
    size_t d0 = i;
    double v = 0;
    while (i < s->len && s->s[i] >= '0' && s->s[i] <= '9') v = v * 10 + (s->s[i++] - '0');
    if (i == d0) return NAN;
    return neg ? -v : v;
}

static double parse_float(const jstr *s) {
    size_t i = trim_start(s), a = i;
    if (i < s->len && (s->s[i] == '+' || s->s[i] == '-')) i++;
    if (s->len - i >= 8 && memcmp(s->s + i, "Infinity", 8) == 0) return s->s[a] == '-' ? -INFINITY : INFINITY;
    size_t nd = 0;
    while (i < s->len && s->s[i] >= '0' && s->s[i] <= '9') i++, nd++;
    if (i < s->len && s->s[i] == '.') {
        i++;
        while (i < s->len && s->s[i] >= '0' && s->s[i] <= '9') i++, nd++;
    }
    if (!nd) return NAN;
    if (i < s->len && (s->s[i] == 'e' || s->s[i] == 'E')) {
        size_t k = i + 1;
        if (k < s->len && (s->s[k] == '+' || s->s[k] == '-')) k++;
        size_t e0 = k;
        while (k < s->len && s->s[k] >= '0' && s->s[k] <= '9') k++;
        if (k > e0) i = k;
    }
    char buf[128];
    size_t n = i - a;
    if (n >= sizeof buf) n = sizeof buf - 1;
    memcpy(buf, s->s + a, n);
    buf[n] = 0;
    return strtod(buf, NULL);
}

static int indent_str(jctx *c, const jstr *s, int width, int first, int blank, jval *out) {
    jbuf b = {0};
    int rc = jb_put(c, &b, "", 0);
    size_t a = 0, line = 0;
    for (size_t i = 0; i <= s->len && !rc; i++) {
        if (i < s->len && s->s[i] != '\n') continue;
        size_t len = i - a;
        if (line) rc = jb_put(c, &b, "\n", 1);
        if (!rc && !((!first && line == 0) || (!blank && len == 0)))
            for (int k = 0; k < width && !rc; k++) rc = jb_put(c, &b, " ", 1);
        if (!rc) rc = jb_put(c, &b, s->s + a, len);
        a = i + 1;
        line++;
    }
    if (rc) {
        jb_free(c, &b);
        return rc;
    }
    return jb_to_str(c, &b, out);
}

static int to_json(jctx *c, jval v, const jjson_opts *o, jval *out) {
    jbuf b = {0};
    int rc = jb_put(c, &b, "", 0);
    if (!rc) rc = jv_append_json(c, &b, v, o, 0);
    if (rc) {
        jb_free(c, &b);
        return rc;
    }
    return jb_to_str(c, &b, out);
}

static int join(jctx *c, jval v, const jstr *sep, jval *out) {
    jbuf b = {0};
    int rc = jb_put(c, &b, "", 0);
    if (v.type == JV_STR) {
        const jstr *s = v.u.s;
        for (size_t i = 0; i < s->len && !rc;) {
            uint32_t cp;
            size_t l = ju_decode(s->s + i, s->len - i, &cp);
            if (i && sep) rc = jb_put(c, &b, sep->s, sep->len);
            if (!rc) rc = jb_put(c, &b, s->s + i, l);
            i += l;
        }
    } else {
        for (size_t i = 0; i < v.u.a->n && !rc; i++) {
            if (i && sep) rc = jb_put(c, &b, sep->s, sep->len);
            if (!rc) rc = jv_append_joinstring(c, &b, v.u.a->v[i]);
        }
    }
    if (rc) {
        jb_free(c, &b);
        return rc;
    }
    return jb_to_str(c, &b, out);
}

static int filter_plain(jctx *c, const jnode *f, jval v, jval *out) {
    const jstr *nm = f->str;
    int rc;
    if (name_is(nm, "safe")) return *out = v, HEARTH_OK;
    if (name_is(nm, "tojson")) {
        jjson_opts o = {.undef_null = 1};
        return to_json(c, v, &o, out);
    }
    if ((rc = jv_loop_materialize(c, &v))) return rc;
    switch (v.type) {
    case JV_ARRAY: {
        const jarr *a = v.u.a;
        if (name_is(nm, "list")) return *out = v, HEARTH_OK;
        if (name_is(nm, "first")) return *out = a->n ? a->v[0] : jv_undef(), HEARTH_OK;
        if (name_is(nm, "last")) return *out = a->n ? a->v[a->n - 1] : jv_undef(), HEARTH_OK;
        if (name_is(nm, "length")) return *out = jv_int((double)a->n), HEARTH_OK;
        if (name_is(nm, "reverse")) {
            jarr *r = jv_arr_new(c, a->n);
            if (!r) return jx_nomem(c);
            for (size_t i = 0; i < a->n; i++) r->v[i] = a->v[a->n - 1 - i];
            *out = arr_val(r);
            return jx_cost(c, a->n);
        }
        if (name_is(nm, "sort")) {
            sort_ctx s = {.c = c, .pair_index = -1};
            return sorted(c, &s, a, out);
        }
        if (name_is(nm, "join")) return join(c, v, NULL, out);
        if (name_is(nm, "string")) {
            jjson_opts o = {0};
            return to_json(c, v, &o, out);
        }
        if (name_is(nm, "unique")) {
            jvec u = {0};
            if ((rc = jx_cost(c, a->n * (a->n / 16 + 1)))) return rc;
            for (size_t i = 0; i < a->n; i++) {
                int seen = 0;
                for (size_t k = 0; k < u.n && !seen; k++)
                    seen = jv_strict_eq(u.v[k], a->v[i]) ||
                           (jv_is_num(u.v[k]) && jv_is_num(a->v[i]) && isnan(u.v[k].u.num) && isnan(a->v[i].u.num));
                if (!seen && (rc = vec_push(c, &u, a->v[i]))) return rc;
            }
            return vec_to_arr(c, &u, out);
        }
        break;
    }
    case JV_STR: {
        const jstr *s = v.u.s;
        if (name_is(nm, "length")) return *out = jv_int((double)ju_utf16_len(s->s, s->len)), HEARTH_OK;
        if (name_is(nm, "upper")) return jv_case(c, s, 1, out);
        if (name_is(nm, "lower")) return jv_case(c, s, 0, out);
        if (name_is(nm, "title")) return str_title(c, s, out);
        if (name_is(nm, "capitalize")) return str_capitalize(c, s, out);
        if (name_is(nm, "trim")) {
            if ((rc = jx_cost(c, s->len / 64))) return rc;
            size_t a = trim_start(s);
            return substr(c, s, a, trim_end(s, a), out);
        }
        if (name_is(nm, "indent")) return indent_str(c, s, 4, 0, 0, out);
        if (name_is(nm, "join") || name_is(nm, "string")) return *out = v, HEARTH_OK;
        if (name_is(nm, "int")) {
            double x = parse_int(s);
            return *out = jv_int(isnan(x) ? 0 : x), HEARTH_OK;
        }
        if (name_is(nm, "float")) {
            double x = parse_float(s);
            return *out = jv_float(isnan(x) ? 0 : x), HEARTH_OK;
        }
        break;
    }
    case JV_INT:
    case JV_FLOAT:
        if (name_is(nm, "abs")) return *out = v.type == JV_INT ? jv_int(fabs(v.u.num)) : jv_float(fabs(v.u.num)), HEARTH_OK;
        if (name_is(nm, "int")) return *out = jv_int(floor(v.u.num)), HEARTH_OK;
        if (name_is(nm, "float")) return *out = jv_float(v.u.num), HEARTH_OK;
        if (name_is(nm, "string")) {
            jbuf b = {0};
            if ((rc = jv_append_tostring(c, &b, v))) {
                jb_free(c, &b);
                return rc;
            }
            return jb_to_str(c, &b, out);
        }
        break;
    case JV_OBJECT:
        if (name_is(nm, "items")) return obj_items(c, v.u.o, M_ITEMS, out);
        if (name_is(nm, "length")) return *out = jv_int((double)v.u.o->n), HEARTH_OK;
        for (size_t i = 0; i < H_ARRAY_LEN(obj_methods); i++) {
            if (!name_is(nm, obj_methods[i])) continue;
            jfunc m = {.kind = F_METHOD, .id = (uint8_t)(M_GET + i), .self = v};
            return jb_call_method(c, f, &m, NULL, 0, out);
        }
        break;
    case JV_BOOL:
        if (name_is(nm, "bool")) return *out = v, HEARTH_OK;
        if (name_is(nm, "int")) return *out = jv_int(v.u.b), HEARTH_OK;
        if (name_is(nm, "float")) return *out = jv_float(v.u.b), HEARTH_OK;
        if (name_is(nm, "string")) return jv_make_str(c, v.u.b ? "true" : "false", v.u.b ? 4 : 5, out);
        break;
    default: break;
    }
    return filter_type_err(c, f, v);
}

static int select_attr(jctx *c, const jnode *f, jval v, jenv *env, int select, jval *out) {
    const jarr *a = v.u.a;
    int rc;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].type != JV_OBJECT && a->v[i].type != JV_NS)
            return jx_err(c, f, HEARTH_ERR_ARG, "'%s' can only be applied to an array of objects", f->str->s);
    jval p[3] = {jv_undef(), jv_undef(), jv_undef()};
    for (uint32_t i = 0; i < f->n; i++) {
        if (f->list[i]->kind != E_STR) return jx_err(c, f, HEARTH_ERR_ARG, "arguments of '%s' must be string literals", f->str->s);
        if (i < 3 && (rc = jx_eval(c, f->list[i], env, &p[i]))) return rc;
    }
    if (p[0].type != JV_STR) return jx_err(c, f, HEARTH_ERR_ARG, "'%s' needs an attribute name", f->str->s);
    jvec r = {0};
    if ((rc = jx_cost(c, a->n))) return rc;
    for (size_t i = 0; i < a->n; i++) {
        jval *x = jv_obj_get(c, a->v[i].u.o, p[0].u.s->s, p[0].u.s->len);
        int res = 0;
        if (x) {
            if (p[1].type == JV_STR) {
                if ((rc = jb_test(c, f, p[1].u.s->s, *x, f->n > 2, p[2], &res))) return rc;
            } else {
                res = jv_truthy(*x);
            }
        }
        if ((select ? res : !res) && (rc = vec_push(c, &r, a->v[i]))) return rc;
    }
    return vec_to_arr(c, &r, out);
}

static int filter_call(jctx *c, const jnode *f, jval v, jenv *env, jval *out) {
    const jstr *nm = f->str;
    int rc;
    jval *args;
    size_t np;
    jobj *kw;
    if (name_is(nm, "selectattr") || name_is(nm, "rejectattr")) {
        if (v.type != JV_ARRAY) return filter_type_err(c, f, v);
        return select_attr(c, f, v, env, nm->s[0] == 's', out);
    }
    if ((rc = jx_eval_args(c, f, env, &args, &np, &kw))) return rc;
    if (name_is(nm, "tojson")) {
        jjson_opts o = {.undef_null = 1};
        jval ind = kwarg(c, kw, "indent"), asc = kwarg(c, kw, "ensure_ascii"), sk = kwarg(c, kw, "sort_keys");
        jval sep = kwarg(c, kw, "separators");
        if (ind.type == JV_INT) {
            if (ind.u.num < 0 || ind.u.num > 64) return jx_err(c, f, HEARTH_ERR_ARG, "tojson indent out of range");
            o.indent = (int)ind.u.num;
        } else if (ind.type != JV_NULL && ind.type != JV_UNDEF) {
            return jx_err(c, f, HEARTH_ERR_ARG, "if set, indent must be a number");
        }
        if ((rc = get_flag(c, f, asc, 0, "ensure_ascii", &o.ensure_ascii)) || (rc = get_flag(c, f, sk, 0, "sort_keys", &o.sort_keys)))
            return rc;
        if (sep.type == JV_ARRAY) {
            if (sep.u.a->n != 2 || sep.u.a->v[0].type != JV_STR || sep.u.a->v[1].type != JV_STR)
                return jx_err(c, f, HEARTH_ERR_ARG, "separators must be a tuple of two strings");
            o.item_sep = sep.u.a->v[0].u.s;
            o.key_sep = sep.u.a->v[1].u.s;
        } else if (sep.type != JV_NULL && sep.type != JV_UNDEF) {
            return jx_err(c, f, HEARTH_ERR_ARG, "if set, separators must be a tuple of two strings");
        }
        return to_json(c, v, &o, out);
    }
    if (name_is(nm, "join")) {
        if (v.type != JV_STR && v.type != JV_ARRAY) return filter_type_err(c, f, v);
        jval sep = np > 0 ? args[0] : kwarg(c, kw, "separator");
        if (sep.type == JV_UNDEF) return join(c, v, NULL, out);
        if (sep.type != JV_STR) return jx_err(c, f, HEARTH_ERR_ARG, "separator must be a string");
        return join(c, v, sep.u.s, out);
    }
    if (name_is(nm, "int") || name_is(nm, "float")) {
        int is_int = nm->s[0] == 'i';
        jval d = np > 0 ? args[0] : kwarg(c, kw, "default");
        if (d.type == JV_UNDEF) d = is_int ? jv_int(0) : jv_float(0);
        if (v.type == JV_STR) {
            double x = is_int ? parse_int(v.u.s) : parse_float(v.u.s);
            *out = isnan(x) ? d : is_int ? jv_int(x) : jv_float(x);
            return HEARTH_OK;
        }
        if (jv_is_num(v)) return *out = v, HEARTH_OK;
        if (v.type == JV_BOOL) return *out = is_int ? jv_int(v.u.b) : jv_float(v.u.b), HEARTH_OK;
        return filter_type_err(c, f, v);
    }
    if (name_is(nm, "default")) {
        jval d = np > 0 ? args[0] : jv_undef();
        if (d.type == JV_UNDEF && (rc = jv_make_str(c, "", 0, &d))) return rc;
        int b = 0;
        if ((rc = get_flag(c, f, np > 1 ? args[1] : kwarg(c, kw, "boolean"), 0, "the 'default' filter's boolean flag", &b))) return rc;
        *out = v.type == JV_UNDEF || (b && !jv_truthy(v)) ? d : v;
        return HEARTH_OK;
    }
    if ((rc = jv_loop_materialize(c, &v))) return rc;
    if (v.type == JV_ARRAY) {
        if (name_is(nm, "sort")) {
            sort_ctx s = {.c = c, .pair_index = -1};
            if ((rc = get_flag(c, f, np > 0 ? args[0] : kwarg(c, kw, "reverse"), 0, "reverse", &s.reverse))) return rc;
            if ((rc = get_flag(c, f, np > 1 ? args[1] : kwarg(c, kw, "case_sensitive"), 0, "case_sensitive", &s.case_sensitive)))
                return rc;
            jval at = np > 2 ? args[2] : kwarg(c, kw, "attribute");
            if (at.type == JV_STR) {
                s.attr = at.u.s;
            } else if (at.type == JV_INT) {
                char num[40];
                js_number(at.u.num, num);
                if (!(s.attr = jv_str_new(c, num, strlen(num)))) return jx_nomem(c);
            } else if (at.type != JV_NULL && at.type != JV_UNDEF) {
                return jx_err(c, f, HEARTH_ERR_ARG, "attribute must be a string, integer, or none");
            }
            return sorted(c, &s, v.u.a, out);
        }
        if (name_is(nm, "map")) {
            jval at = kwarg(c, kw, "attribute");
            if (at.type == JV_UNDEF)
                return jx_err(c, f, HEARTH_ERR_UNSUPPORTED, "'map' without attribute= is not supported");
            if (at.type != JV_STR) return jx_err(c, f, HEARTH_ERR_ARG, "attribute must be a string");
            jval d = kwarg(c, kw, "default");
            jarr *r = jv_arr_new(c, v.u.a->n);
            if (!r) return jx_nomem(c);
            for (size_t i = 0; i < v.u.a->n; i++) {
                jval item = v.u.a->v[i];
                if (item.type != JV_OBJECT && item.type != JV_NS) return jx_err(c, f, HEARTH_ERR_ARG, "items in map must be objects");
                jval x = attr_value(item, at.u.s->s, at.u.s->len);
                r->v[i] = x.type == JV_UNDEF ? d : x;
            }
            *out = arr_val(r);
            return jx_cost(c, r->n);
        }
        return filter_type_err(c, f, v);
    }
    if (v.type == JV_STR) {
        if (name_is(nm, "indent")) {
            jval w = np > 0 ? args[0] : kwarg(c, kw, "width");
            jval first = np > 1 ? args[1] : kwarg(c, kw, "first");
            jval blank = np > 2 ? args[2] : kwarg(c, kw, "blank");
            if (w.type == JV_UNDEF) w = jv_int(4);
            if (w.type != JV_INT) return jx_err(c, f, HEARTH_ERR_ARG, "width must be a number");
            if (w.u.num < 0 || w.u.num > 1000) return jx_err(c, f, HEARTH_ERR_ARG, "indent width out of range");
            return indent_str(c, v.u.s, (int)w.u.num, jv_truthy(first), jv_truthy(blank), out);
        }
        if (name_is(nm, "replace")) {
            jval *all = ja_alloc(&c->arena, (np + 1) * sizeof(jval));
            if (!all) return jx_nomem(c);
            memcpy(all, args, np * sizeof(jval));
            jobj *k2 = kw ? kw : jv_obj_new(c, 0);
            if (!k2) return jx_nomem(c);
            k2->kwargs = 1;
            all[np] = (jval){JV_OBJECT, {.o = k2}};
            return str_replace(c, f, v.u.s, all, np + 1, out);
        }
        return filter_type_err(c, f, v);
    }
    if (v.type == JV_OBJECT) {
        for (size_t i = 0; i < H_ARRAY_LEN(obj_methods); i++) {
            if (!name_is(nm, obj_methods[i])) continue;
            jval *all = ja_alloc(&c->arena, (np + 1) * sizeof(jval));
            if (!all) return jx_nomem(c);
            memcpy(all, args, np * sizeof(jval));
            if (kw && kw->n) all[np++] = (jval){JV_OBJECT, {.o = kw}};
            jfunc m = {.kind = F_METHOD, .id = (uint8_t)(M_GET + i), .self = v};
            return jb_call_method(c, f, &m, all, np, out);
        }
    }
    return filter_type_err(c, f, v);
}

int jb_filter(jctx *c, const jnode *f, jval operand, jenv *env, jval *out) {
    int rc = jx_cost(c, 1);
    if (rc) return rc;
    return f->flag ? filter_call(c, f, operand, env, out) : filter_plain(c, f, operand, out);
}
