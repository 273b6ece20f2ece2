/* json.c — strict JSON parser (recursive descent with a depth limit) into an arena-backed DOM,
 * a DOM builder and a writer whose string escaping follows JavaScript's JSON.stringify. */
#include "json.h"

#include "unicode.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define JSON_DEFAULT_DEPTH 128
#define JSON_DEFAULT_MEMORY ((size_t)256 << 20)
#define JSON_CHUNK ((size_t)64 << 10)

typedef struct json_chunk {
    struct json_chunk *next;
    size_t used, cap;
    max_align_t data[]; /* cap bytes */
} json_chunk;

struct json_doc {
    json_chunk *chunks;
    size_t used_bytes, max_memory;
    json_value root;
};

/* ---- arena ------------------------------------------------------------------------------------ */

static void *doc_alloc(json_doc *d, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    json_chunk *c = d->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > JSON_CHUNK ? n : JSON_CHUNK;
        size_t total;
        if (!h_add_size(cap, sizeof(json_chunk), &total)) return NULL;
        if (d->used_bytes + total > d->max_memory || d->used_bytes + total < d->used_bytes) return NULL;
        c = h_malloc(total);
        if (!c) return NULL;
        d->used_bytes += total;
        c->cap = cap;
        c->used = 0;
        c->next = d->chunks;
        d->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static int doc_create(json_doc **out, const json_limits *lim) {
    json_doc *d = h_calloc(1, sizeof(*d));
    if (!d) return HEARTH_ERR_NOMEM;
    d->max_memory = lim && lim->max_memory ? lim->max_memory : JSON_DEFAULT_MEMORY;
    *out = d;
    return HEARTH_OK;
}

void json_free(json_doc *d) {
    if (!d) return;
    json_chunk *c = d->chunks;
    while (c) {
        json_chunk *n = c->next;
        h_free(c);
        c = n;
    }
    h_free(d);
}

const json_value *json_root(const json_doc *d) { return d ? &d->root : NULL; }

/* ---- UTF-8 ------------------------------------------------------------------------------------ */

/* Decodes one code point at s[0..n). Returns its length (1..4) or 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return len;
}

size_t json_utf8_valid_prefix(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t l = utf8_decode(p + i, n - i, &cp);
        if (!l) return i;
        i += l;
    }
    return n;
}

static size_t utf8_encode(uint32_t cp, char *o) { return unicode_encode(cp, (uint8_t *)o); }

/* ---- parser ----------------------------------------------------------------------------------- */

typedef struct parser {
    const char *s;
    size_t n, pos;
    int depth, max_depth;
    json_doc *doc;
    hearth_error *err;
    /* scratch stack of values / members while an array or object is open */
    json_value *vstack;
    size_t vlen, vcap;
    json_member *mstack;
    size_t mlen, mcap;
} parser;

static void line_col(const char *s, size_t pos, size_t *line, size_t *col) {
    size_t l = 1, c = 1;
    for (size_t i = 0; i < pos; i++) {
        if (s[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)s[i] & 0xc0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static int perr(parser *p, size_t pos, int status, const char *what) {
    size_t line, col;
    line_col(p->s, pos, &line, &col);
    return h_err(p->err, status, "json: %s at line %zu col %zu", what, line, col);
}

static int nomem(parser *p) {
    if (p->doc->used_bytes + JSON_CHUNK > p->doc->max_memory)
        return h_err(p->err, HEARTH_ERR_RANGE, "json: document needs more than %zu bytes of memory",
                     p->doc->max_memory);
    return h_err(p->err, HEARTH_ERR_NOMEM, "json: out of memory");
}

static void skip_ws(parser *p) {
    while (p->pos < p->n) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser *p, size_t at, uint32_t *out) {
    if (p->n - at < 4) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[at + i]);
        if (h < 0) return 0;
        v = (v << 4) | (uint32_t)h;
    }
    *out = v;
    return 1;
}

/* Parses a string starting at the opening quote; result in arena. */
static int parse_string(parser *p, const char **out, size_t *out_len) {
    size_t start = p->pos++; /* skip quote */
    /* first pass: find the end and the decoded length (never longer than the source) */
    size_t i = p->pos, cap = 0;
    int has_escape = 0;
    for (;;) {
        if (i >= p->n) return perr(p, start, HEARTH_ERR_FORMAT, "unterminated string");
        unsigned char c = (unsigned char)p->s[i];
        if (c == '"') break;
        if (c < 0x20) return perr(p, i, HEARTH_ERR_FORMAT, "control character in string (escape it)");
        if (c == '\\') {
            has_escape = 1;
            if (i + 1 >= p->n) return perr(p, start, HEARTH_ERR_FORMAT, "unterminated string");
            i += 2;
            cap += 4;
            continue;
        }
        if (c < 0x80) {
            i++;
            cap++;
            continue;
        }
        uint32_t cp;
        size_t l = utf8_decode((const unsigned char *)p->s + i, p->n - i, &cp);
        if (!l) return perr(p, i, HEARTH_ERR_FORMAT, "invalid UTF-8 in string");
        i += l;
        cap += l;
    }
    size_t end = i;
    char *buf = doc_alloc(p->doc, cap + 1);
    if (!buf) return nomem(p);
    size_t o = 0;
    if (!has_escape) {
        memcpy(buf, p->s + p->pos, end - p->pos);
        o = end - p->pos;
    } else {
        for (i = p->pos; i < end;) {
            char c = p->s[i];
            if (c != '\\') {
                buf[o++] = c;
                i++;
                continue;
            }
            char e = p->s[i + 1];
            size_t esc_at = i;
            i += 2;
            switch (e) {
            case '"': buf[o++] = '"'; break;
            case '\\': buf[o++] = '\\'; break;
            case '/': buf[o++] = '/'; break;
            case 'b': buf[o++] = '\b'; break;
            case 'f': buf[o++] = '\f'; break;
            case 'n': buf[o++] = '\n'; break;
            case 'r': buf[o++] = '\r'; break;
            case 't': buf[o++] = '\t'; break;
            case 'u': {
                uint32_t u;
                if (!read_hex4(p, i, &u) || i + 4 > end)
                    return perr(p, esc_at, HEARTH_ERR_FORMAT, "invalid \\u escape (needs 4 hex digits)");
                i += 4;
                if (u >= 0xdc00 && u <= 0xdfff)
                    return perr(p, esc_at, HEARTH_ERR_FORMAT, "lone low surrogate in \\u escape");
                if (u >= 0xd800 && u <= 0xdbff) {
                    uint32_t lo;
                    if (i + 6 > end || p->s[i] != '\\' || p->s[i + 1] != 'u' || !read_hex4(p, i + 2, &lo) ||
                        lo < 0xdc00 || lo > 0xdfff)
                        return perr(p, esc_at, HEARTH_ERR_FORMAT,
                                    "lone high surrogate in \\u escape (needs a following \\udc00-\\udfff)");
                    i += 6;
                    u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                }
                o += utf8_encode(u, buf + o);
                break;
            }
            default:
                return perr(p, esc_at, HEARTH_ERR_FORMAT, "invalid escape in string");
            }
        }
    }
    buf[o] = 0;
    p->pos = end + 1;
    *out = buf;
    *out_len = o;
    return HEARTH_OK;
}

static int parse_number(parser *p, json_value *v) {
    size_t start = p->pos, i = p->pos;
    const char *s = p->s;
    if (i < p->n && s[i] == '-') i++;
    if (i >= p->n || s[i] < '0' || s[i] > '9') return perr(p, start, HEARTH_ERR_FORMAT, "invalid number");
    if (s[i] == '0') {
        i++;
        if (i < p->n && s[i] >= '0' && s[i] <= '9')
            return perr(p, start, HEARTH_ERR_FORMAT, "invalid number (leading zero)");
    } else {
        while (i < p->n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < p->n && s[i] == '.') {
        i++;
        if (i >= p->n || s[i] < '0' || s[i] > '9')
            return perr(p, start, HEARTH_ERR_FORMAT, "invalid number (digits expected after '.')");
        while (i < p->n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < p->n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < p->n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= p->n || s[i] < '0' || s[i] > '9')
            return perr(p, start, HEARTH_ERR_FORMAT, "invalid number (digits expected in exponent)");
        while (i < p->n && s[i] >= '0' && s[i] <= '9') i++;
    }
    size_t len = i - start;
    char small[64];
    char *tmp = small;
    if (len >= sizeof(small)) {
        tmp = h_malloc(len + 1);
        if (!tmp) return nomem(p);
    }
    memcpy(tmp, s + start, len);
    tmp[len] = 0;
    errno = 0;
    double x = strtod(tmp, NULL); /* overflow gives ±HUGE_VAL (= inf), underflow 0: like JSON.parse */
    if (tmp != small) h_free(tmp);
    v->type = JSON_NUMBER;
    v->number = x;
    p->pos = i;
    return HEARTH_OK;
}

static int parse_value(parser *p, json_value *v);

static int push_value(parser *p, const json_value *v) {
    if (p->vlen == p->vcap) {
        size_t nc = p->vcap ? p->vcap * 2 : 64;
        json_value *ns = h_realloc(p->vstack, nc * sizeof(*ns));
        if (!ns) return nomem(p);
        p->vstack = ns;
        p->vcap = nc;
    }
    p->vstack[p->vlen++] = *v;
    return HEARTH_OK;
}

static int push_member(parser *p, const json_member *m) {
    if (p->mlen == p->mcap) {
        size_t nc = p->mcap ? p->mcap * 2 : 64;
        json_member *ns = h_realloc(p->mstack, nc * sizeof(*ns));
        if (!ns) return nomem(p);
        p->mstack = ns;
        p->mcap = nc;
    }
    p->mstack[p->mlen++] = *m;
    return HEARTH_OK;
}

static int parse_array(parser *p, json_value *v) {
    size_t open = p->pos++;
    size_t base = p->vlen;
    int rc;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ']') {
        p->pos++;
    } else {
        for (;;) {
            json_value item;
            if ((rc = parse_value(p, &item))) return rc;
            if ((rc = push_value(p, &item))) return rc;
            skip_ws(p);
            if (p->pos >= p->n) return perr(p, open, HEARTH_ERR_FORMAT, "unterminated array");
            char c = p->s[p->pos];
            if (c == ',') {
                p->pos++;
                continue;
            }
            if (c == ']') {
                p->pos++;
                break;
            }
            return perr(p, p->pos, HEARTH_ERR_FORMAT, "expected ',' or ']'");
        }
    }
    size_t count = p->vlen - base;
    memset(v, 0, sizeof(*v));
    v->type = JSON_ARRAY;
    v->len = v->cap = count;
    if (count) {
        v->items = doc_alloc(p->doc, count * sizeof(json_value));
        if (!v->items) return nomem(p);
        memcpy(v->items, p->vstack + base, count * sizeof(json_value));
    }
    p->vlen = base;
    return HEARTH_OK;
}

static int parse_object(parser *p, json_value *v) {
    size_t open = p->pos++;
    size_t base = p->mlen;
    int rc;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
    } else {
        for (;;) {
            skip_ws(p);
            if (p->pos >= p->n) return perr(p, open, HEARTH_ERR_FORMAT, "unterminated object");
            if (p->s[p->pos] != '"') return perr(p, p->pos, HEARTH_ERR_FORMAT, "expected a string key");
            json_member m;
            if ((rc = parse_string(p, &m.key, &m.key_len))) return rc;
            skip_ws(p);
            if (p->pos >= p->n || p->s[p->pos] != ':')
                return perr(p, p->pos, HEARTH_ERR_FORMAT, "expected ':' after key");
            p->pos++;
            if ((rc = parse_value(p, &m.value))) return rc;
            if ((rc = push_member(p, &m))) return rc;
            skip_ws(p);
            if (p->pos >= p->n) return perr(p, open, HEARTH_ERR_FORMAT, "unterminated object");
            char c = p->s[p->pos];
            if (c == ',') {
                p->pos++;
                continue;
            }
            if (c == '}') {
                p->pos++;
                break;
            }
            return perr(p, p->pos, HEARTH_ERR_FORMAT, "expected ',' or '}'");
        }
    }
    size_t count = p->mlen - base;
    memset(v, 0, sizeof(*v));
    v->type = JSON_OBJECT;
    v->len = v->cap = count;
    if (count) {
        v->members = doc_alloc(p->doc, count * sizeof(json_member));
        if (!v->members) return nomem(p);
        memcpy(v->members, p->mstack + base, count * sizeof(json_member));
    }
    p->mlen = base;
    return HEARTH_OK;
}

static int match_word(parser *p, const char *w) {
    size_t l = strlen(w);
    if (p->n - p->pos < l || memcmp(p->s + p->pos, w, l) != 0) return 0;
    p->pos += l;
    return 1;
}

static int parse_value(parser *p, json_value *v) {
    memset(v, 0, sizeof(*v));
    skip_ws(p);
    if (p->pos >= p->n) return perr(p, p->pos, HEARTH_ERR_FORMAT, "unexpected end of input");
    char c = p->s[p->pos];
    int rc;
    switch (c) {
    case '{':
    case '[':
        if (++p->depth > p->max_depth) {
            char msg[96];
            snprintf(msg, sizeof msg, "nesting deeper than %d levels", p->max_depth);
            return perr(p, p->pos, HEARTH_ERR_RANGE, msg);
        }
        rc = c == '{' ? parse_object(p, v) : parse_array(p, v);
        p->depth--;
        return rc;
    case '"':
        v->type = JSON_STRING;
        return parse_string(p, &v->str, &v->len);
    case 't':
        if (match_word(p, "true")) {
            v->type = JSON_BOOL;
            v->boolean = 1;
            return HEARTH_OK;
        }
        break;
    case 'f':
        if (match_word(p, "false")) {
            v->type = JSON_BOOL;
            return HEARTH_OK;
        }
        break;
    case 'n':
        if (match_word(p, "null")) return HEARTH_OK;
        break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, v);
        break;
    }
    if ((unsigned char)c >= 0x80 && json_utf8_valid_prefix(p->s + p->pos, p->n - p->pos) == 0)
        return perr(p, p->pos, HEARTH_ERR_FORMAT, "invalid UTF-8");
    return perr(p, p->pos, HEARTH_ERR_FORMAT, "unexpected character (expected a value)");
}

int json_parse(json_doc **out, const char *text, size_t len, const json_limits *lim, hearth_error *err) {
    *out = NULL;
    if (!text && len) return h_err(err, HEARTH_ERR_ARG, "json: NULL text");
    json_doc *d;
    if (doc_create(&d, lim)) return h_err(err, HEARTH_ERR_NOMEM, "json: out of memory");
    parser p = {.s = text ? text : "", .n = len, .doc = d, .err = err};
    p.max_depth = lim && lim->max_depth > 0 ? lim->max_depth : JSON_DEFAULT_DEPTH;
    if (p.n >= 3 && memcmp(p.s, "\xef\xbb\xbf", 3) == 0) p.pos = 3;
    int rc = parse_value(&p, &d->root);
    if (!rc) {
        skip_ws(&p);
        if (p.pos < p.n) rc = perr(&p, p.pos, HEARTH_ERR_FORMAT, "unexpected content after the value");
    }
    h_free(p.vstack);
    h_free(p.mstack);
    if (rc) {
        json_free(d);
        return rc;
    }
    *out = d;
    return HEARTH_OK;
}

const json_value *json_get(const json_value *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJECT || !key) return NULL;
    size_t kl = strlen(key);
    for (size_t i = obj->len; i-- > 0;) {
        const json_member *m = &obj->members[i];
        if (m->key_len == kl && memcmp(m->key, key, kl) == 0) return &m->value;
    }
    return NULL;
}

/* ---- builder ---------------------------------------------------------------------------------- */

int json_doc_new(json_doc **out, hearth_error *err) {
    *out = NULL;
    if (doc_create(out, NULL)) return h_err(err, HEARTH_ERR_NOMEM, "json: out of memory");
    return HEARTH_OK;
}

json_value *json_doc_root_mut(json_doc *d) { return d ? &d->root : NULL; }

void json_set_null(json_value *v) { memset(v, 0, sizeof(*v)); }
void json_set_bool(json_value *v, int b) {
    memset(v, 0, sizeof(*v));
    v->type = JSON_BOOL;
    v->boolean = b ? 1 : 0;
}
void json_set_number(json_value *v, double x) {
    memset(v, 0, sizeof(*v));
    v->type = JSON_NUMBER;
    v->number = x;
}
void json_set_array(json_value *v) {
    memset(v, 0, sizeof(*v));
    v->type = JSON_ARRAY;
}
void json_set_object(json_value *v) {
    memset(v, 0, sizeof(*v));
    v->type = JSON_OBJECT;
}

int json_set_string(json_doc *d, json_value *v, const char *s, size_t n) {
    char *b = doc_alloc(d, n + 1);
    if (!b) return HEARTH_ERR_NOMEM;
    if (n) memcpy(b, s, n);
    b[n] = 0;
    memset(v, 0, sizeof(*v));
    v->type = JSON_STRING;
    v->str = b;
    v->len = n;
    return HEARTH_OK;
}

static int grow(json_doc *d, void **items, size_t *cap, size_t len, size_t elem) {
    if (len < *cap) return 1;
    size_t nc = *cap ? *cap * 2 : 4;
    size_t bytes;
    if (!h_mul_size(nc, elem, &bytes)) return 0;
    void *n = doc_alloc(d, bytes);
    if (!n) return 0;
    if (len) memcpy(n, *items, len * elem);
    *items = n;
    *cap = nc;
    return 1;
}

json_value *json_array_add(json_doc *d, json_value *arr) {
    if (!arr || arr->type != JSON_ARRAY) return NULL;
    void *items = arr->items;
    if (!grow(d, &items, &arr->cap, arr->len, sizeof(json_value))) return NULL;
    arr->items = items;
    json_value *v = &arr->items[arr->len++];
    memset(v, 0, sizeof(*v));
    return v;
}

json_value *json_object_add(json_doc *d, json_value *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJECT || !key) return NULL;
    size_t kl = strlen(key);
    char *k = doc_alloc(d, kl + 1);
    if (!k) return NULL;
    memcpy(k, key, kl + 1);
    void *items = obj->members;
    if (!grow(d, &items, &obj->cap, obj->len, sizeof(json_member))) return NULL;
    obj->members = items;
    json_member *m = &obj->members[obj->len++];
    m->key = k;
    m->key_len = kl;
    memset(&m->value, 0, sizeof(m->value));
    return &m->value;
}

static int copy_rec(json_doc *d, json_value *v, const json_value *src, int depth) {
    if (depth > JSON_DEFAULT_DEPTH * 8) return HEARTH_ERR_RANGE;
    switch (src->type) {
    case JSON_STRING:
        return json_set_string(d, v, src->str, src->len);
    case JSON_ARRAY:
        json_set_array(v);
        if (src->len) {
            size_t bytes;
            if (!h_mul_size(src->len, sizeof(json_value), &bytes)) return HEARTH_ERR_NOMEM;
            v->items = doc_alloc(d, bytes);
            if (!v->items) return HEARTH_ERR_NOMEM;
            v->len = v->cap = src->len;
            for (size_t i = 0; i < src->len; i++) {
                int rc = copy_rec(d, &v->items[i], &src->items[i], depth + 1);
                if (rc) return rc;
            }
        }
        return HEARTH_OK;
    case JSON_OBJECT:
        json_set_object(v);
        if (src->len) {
            size_t bytes;
            if (!h_mul_size(src->len, sizeof(json_member), &bytes)) return HEARTH_ERR_NOMEM;
            v->members = doc_alloc(d, bytes);
            if (!v->members) return HEARTH_ERR_NOMEM;
            v->len = v->cap = src->len;
            for (size_t i = 0; i < src->len; i++) {
                json_member *m = &v->members[i];
                const json_member *sm = &src->members[i];
                char *k = doc_alloc(d, sm->key_len + 1);
                if (!k) return HEARTH_ERR_NOMEM;
                memcpy(k, sm->key, sm->key_len);
                k[sm->key_len] = 0;
                m->key = k;
                m->key_len = sm->key_len;
                int rc = copy_rec(d, &m->value, &sm->value, depth + 1);
                if (rc) return rc;
            }
        }
        return HEARTH_OK;
    default:
        *v = *src;
        v->items = NULL;
        v->members = NULL;
        v->str = NULL;
        v->len = v->cap = 0;
        return HEARTH_OK;
    }
}

int json_copy(json_doc *d, json_value *v, const json_value *src) {
    json_set_null(v);
    if (!src) return HEARTH_OK;
    return copy_rec(d, v, src, 0);
}

/* ---- writer ----------------------------------------------------------------------------------- */

static int buf_put(char **buf, size_t *len, size_t *cap, size_t max_len, const char *s, size_t n) {
    if (n > max_len || *len > max_len - n) return HEARTH_ERR_RANGE;
    if (*len + n + 1 > *cap) {
        size_t nc = *cap ? *cap : 64;
        while (nc < *len + n + 1) {
            if (nc > SIZE_MAX / 2) return HEARTH_ERR_NOMEM;
            nc *= 2;
        }
        char *nb = h_realloc(*buf, nc);
        if (!nb) return HEARTH_ERR_NOMEM;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = 0;
    return HEARTH_OK;
}

int json_append_quoted(char **buf, size_t *len, size_t *cap, size_t max_len, const char *s, size_t n,
                       int ensure_ascii) {
    static const char hex[] = "0123456789abcdef";
    int rc = buf_put(buf, len, cap, max_len, "\"", 1);
    size_t run = 0; /* start of a run of bytes copied verbatim */
    for (size_t i = 0; i < n && !rc;) {
        unsigned char c = (unsigned char)s[i];
        char esc[16];
        size_t el = 0, adv = 1;
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c, el = 2;
        } else if (c < 0x20) {
            esc[0] = '\\';
            switch (c) {
            case '\b': esc[1] = 'b', el = 2; break;
            case '\f': esc[1] = 'f', el = 2; break;
            case '\n': esc[1] = 'n', el = 2; break;
            case '\r': esc[1] = 'r', el = 2; break;
            case '\t': esc[1] = 't', el = 2; break;
            default:
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4], esc[5] = hex[c & 15], el = 6;
            }
        } else if (ensure_ascii && c >= 0x7f) {
            uint32_t cp = c;
            size_t l = c < 0x80 ? 1 : utf8_decode((const unsigned char *)s + i, n - i, &cp);
            if (!l) cp = 0xfffd, l = 1;
            adv = l;
            uint32_t units[2];
            int nu = 1;
            if (cp >= 0x10000) {
                units[0] = 0xd800 + ((cp - 0x10000) >> 10);
                units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
                nu = 2;
            } else {
                units[0] = cp;
            }
            for (int u = 0; u < nu; u++) {
                esc[el++] = '\\', esc[el++] = 'u';
                for (int sh = 12; sh >= 0; sh -= 4) esc[el++] = hex[(units[u] >> sh) & 15];
            }
        } else {
            i++;
            continue;
        }
        if (i > run) rc = buf_put(buf, len, cap, max_len, s + run, i - run);
        if (!rc) rc = buf_put(buf, len, cap, max_len, esc, el);
        i += adv;
        run = i;
    }
    if (!rc && n > run) rc = buf_put(buf, len, cap, max_len, s + run, n - run);
    if (!rc) rc = buf_put(buf, len, cap, max_len, "\"", 1);
    return rc;
}

typedef struct writer {
    char *buf;
    size_t len, cap;
    int indent;
} writer;

static int w_put(writer *w, const char *s, size_t n) { return buf_put(&w->buf, &w->len, &w->cap, SIZE_MAX / 2, s, n); }

static int w_newline(writer *w, int depth) {
    int rc = w_put(w, "\n", 1);
    for (int i = 0; i < depth * w->indent && !rc; i++) rc = w_put(w, " ", 1);
    return rc;
}

void json_format_number(double x, char out[40]) {
    if (isnan(x)) {
        strcpy(out, "NaN");
        return;
    }
    if (x == 0) {
        strcpy(out, "0");
        return;
    }
    if (isinf(x)) {
        strcpy(out, x < 0 ? "-Infinity" : "Infinity");
        return;
    }
    char *o = out;
    if (x < 0) {
        *o++ = '-';
        x = -x;
    }
    char buf[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    /* buf: d[.ddd]e[+-]XX */
    char digits[24];
    int k = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[k++] = *p;
    while (k > 1 && digits[k - 1] == '0') k--;
    digits[k] = 0;
    int e = atoi(p + 1);
    int n = e + 1;
    if (k <= n && n <= 21) {
        memcpy(o, digits, (size_t)k);
        o += k;
        for (int i = 0; i < n - k; i++) *o++ = '0';
    } else if (0 < n && n <= 21) {
        memcpy(o, digits, (size_t)n);
        o += n;
        *o++ = '.';
        memcpy(o, digits + n, (size_t)(k - n));
        o += k - n;
    } else if (-6 < n && n <= 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -n; i++) *o++ = '0';
        memcpy(o, digits, (size_t)k);
        o += k;
    } else {
        *o++ = digits[0];
        if (k > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)(k - 1));
            o += k - 1;
        }
        o += sprintf(o, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
    *o = 0;
}

static int w_number(writer *w, double x) {
    char s[40];
    if (!isfinite(x)) return w_put(w, "null", 4);
    json_format_number(x, s);
    return w_put(w, s, strlen(s));
}

static int w_value(writer *w, const json_value *v, int depth) {
    int rc = HEARTH_OK;
    if (depth > JSON_DEFAULT_DEPTH * 8) return HEARTH_ERR_RANGE;
    switch (v->type) {
    case JSON_NULL: return w_put(w, "null", 4);
    case JSON_BOOL: return v->boolean ? w_put(w, "true", 4) : w_put(w, "false", 5);
    case JSON_NUMBER: return w_number(w, v->number);
    case JSON_STRING: return json_append_quoted(&w->buf, &w->len, &w->cap, SIZE_MAX / 2, v->str, v->len, 0);
    case JSON_ARRAY:
    case JSON_OBJECT: {
        int obj = v->type == JSON_OBJECT;
        rc = w_put(w, obj ? "{" : "[", 1);
        for (size_t i = 0; i < v->len && !rc; i++) {
            if (i) rc = w_put(w, ",", 1);
            if (!rc && w->indent) rc = w_newline(w, depth + 1);
            if (rc) break;
            if (obj) {
                const json_member *m = &v->members[i];
                rc = json_append_quoted(&w->buf, &w->len, &w->cap, SIZE_MAX / 2, m->key, m->key_len, 0);
                if (!rc) rc = w->indent ? w_put(w, ": ", 2) : w_put(w, ":", 1);
                if (!rc) rc = w_value(w, &m->value, depth + 1);
            } else {
                rc = w_value(w, &v->items[i], depth + 1);
            }
        }
        if (!rc && w->indent && v->len) rc = w_newline(w, depth);
        if (!rc) rc = w_put(w, obj ? "}" : "]", 1);
        return rc;
    }
    }
    return HEARTH_ERR_INTERNAL;
}

int json_write(const json_value *v, int indent, char **out, size_t *out_len, hearth_error *err) {
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!v) return h_err(err, HEARTH_ERR_ARG, "json: NULL value");
    writer w = {.indent = indent < 0 ? 0 : indent > 16 ? 16 : indent};
    int rc = w_put(&w, "", 0);
    if (!rc) rc = w_value(&w, v, 0);
    if (rc) {
        h_free(w.buf);
        return h_err(err, rc, rc == HEARTH_ERR_NOMEM ? "json: out of memory while writing"
                                                     : "json: value nested too deeply to write");
    }
    *out = w.buf;
    if (out_len) *out_len = w.len;
    return HEARTH_OK;
}
