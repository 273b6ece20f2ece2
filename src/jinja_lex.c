/* jinja_lex.c — arena, UTF-8 helpers, and the Jinja lexer: source sanitizing, the preprocessing
 * @huggingface/jinja applies (trailing newline, lstrip_blocks, trim_blocks, generation tags) with a
 * map back to source offsets, and tokenization with whitespace control. */
#include "jinja_int.h"

#include "unicode.h"

#include <stdio.h>

/* ---- arena ------------------------------------------------------------------------------------ */

struct jarena_chunk {
    jarena_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

#define JA_CHUNK ((size_t)32 << 10)

void *ja_alloc(jarena *a, size_t n) {
    if (n > SIZE_MAX / 2) return NULL;
    n = (n + 15) & ~(size_t)15;
    if (!n) n = 16;
    jarena_chunk *c = a->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > JA_CHUNK ? n : JA_CHUNK;
        size_t total = cap + sizeof(jarena_chunk);
        if (a->used) {
            if (*a->used + total > a->limit || *a->used + total < *a->used) return NULL;
        }
        c = h_malloc(total);
        if (!c) return NULL;
        if (a->used) *a->used += total;
        c->cap = cap;
        c->used = 0;
        c->next = a->chunks;
        a->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

void ja_free_all(jarena *a) {
    jarena_chunk *c = a->chunks;
    while (c) {
        jarena_chunk *n = c->next;
        h_free(c);
        c = n;
    }
    a->chunks = NULL;
}

/* ---- UTF-8 ------------------------------------------------------------------------------------ */

size_t ju_decode(const char *s, size_t n, uint32_t *cp) {
    const unsigned char *p = (const unsigned char *)s;
    if (n == 0) {
        *cp = 0;
        return 0;
    }
    unsigned c = p[0];
    if (c < 0x80 || n < 2) {
        *cp = c;
        return 1;
    }
    if (c < 0xe0) {
        *cp = ((c & 0x1f) << 6) | (p[1] & 0x3f);
        return 2;
    }
    if (c < 0xf0 || n < 4) {
        if (n < 3) {
            *cp = 0xfffd;
            return n;
        }
        *cp = ((c & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
        return 3;
    }
    *cp = ((c & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) | ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
    return 4;
}

size_t ju_encode(uint32_t cp, char *o) { return unicode_encode(cp, (uint8_t *)o); }

int ju_is_space(uint32_t cp) {
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0d);
    if (cp < 0xa0) return 0;
    return cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x202f || cp == 0x205f || cp == 0x3000 || cp == 0xfeff;
}

/* Length of the valid sequence at p (n bytes left), or 0 with *bad = bytes of its maximal
 * invalid subpart (>= 1). */
static size_t utf8_step(const unsigned char *p, size_t n, size_t *bad) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t need;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= n || p[i] < lo || p[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80, hi = 0xbf;
    }
    return need + 1;
}

int ju_sanitize(const char *s, size_t n, char **out, size_t *out_len) {
    size_t cap;
    if (!h_mul_size(n, 3, &cap) || !h_add_size(cap, 1, &cap)) return HEARTH_ERR_NOMEM;
    /* fast path: already valid */
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, bad;
    while (i < n) {
        size_t l = utf8_step(p + i, n - i, &bad);
        if (!l) break;
        i += l;
    }
    if (i == n) cap = n + 1;
    char *o = h_malloc(cap);
    if (!o) return HEARTH_ERR_NOMEM;
    size_t k = 0;
    for (i = 0; i < n;) {
        size_t l = utf8_step(p + i, n - i, &bad);
        if (l) {
            memcpy(o + k, s + i, l);
            k += l;
            i += l;
        } else {
            k += ju_encode(0xfffd, o + k);
            i += bad;
        }
    }
    o[k] = 0;
    *out = o;
    *out_len = k;
    return HEARTH_OK;
}

size_t ju_utf16_len(const char *s, size_t n) {
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) != 0x80) units += c >= 0xf0 ? 2 : 1;
    }
    return units;
}

size_t ju_cp_count(const char *s, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80) k++;
    return k;
}

/* ---- positions -------------------------------------------------------------------------------- */

void jinja_line_col(const jinja_template *t, uint32_t pos, size_t *line, size_t *col) {
    size_t off = pos <= t->pp_len && t->map ? t->map[pos] : 0;
    if (off > t->src_len) off = t->src_len;
    size_t l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        unsigned char ch = (unsigned char)t->src[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if ((ch & 0xc0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* ---- preprocessing ---------------------------------------------------------------------------- */

typedef struct pp_buf {
    char *s;
    uint32_t *map;
    size_t n;
} pp_buf;

static void pp_copy(pp_buf *o, const pp_buf *in, size_t from, size_t to) {
    memcpy(o->s + o->n, in->s + from, to - from);
    memcpy(o->map + o->n, in->map + from, (to - from) * sizeof(uint32_t));
    o->n += to - from;
}

/* previous code point start before i (valid UTF-8) */
static size_t prev_cp(const char *s, size_t i) {
    do {
        i--;
    } while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80);
    return i;
}

static int is_line_term_before(const char *s, size_t i) {
    if (i == 0) return 1;
    unsigned char c = (unsigned char)s[i - 1];
    if (c == '\n' || c == '\r') return 1;
    /* U+2028 / U+2029: e2 80 a8 / a9 */
    return i >= 3 && (unsigned char)s[i - 3] == 0xe2 && (unsigned char)s[i - 2] == 0x80 &&
           (c == 0xa8 || c == 0xa9);
}

/* lstrip_blocks: /^[ \t]*({[#%-])/gm -> "$1" */
static void pass_lstrip(const pp_buf *in, pp_buf *o) {
    o->n = 0;
    size_t i = 0, n = in->n;
    const char *s = in->s;
    while (i < n) {
        if (is_line_term_before(s, i)) {
            size_t j = i;
            while (j < n && (s[j] == ' ' || s[j] == '\t')) j++;
            if (j > i && j + 1 < n && s[j] == '{' && (s[j + 1] == '#' || s[j + 1] == '%' || s[j + 1] == '-')) {
                i = j; /* drop the run */
            }
        }
        pp_copy(o, in, i, i + 1);
        i++;
    }
}

/* trim_blocks: /([#%-]})\n/g -> "$1" */
static void pass_trim(const pp_buf *in, pp_buf *o) {
    o->n = 0;
    size_t i = 0, n = in->n;
    const char *s = in->s;
    while (i < n) {
        if (i + 2 < n && (s[i] == '#' || s[i] == '%' || s[i] == '-') && s[i + 1] == '}' && s[i + 2] == '\n') {
            pp_copy(o, in, i, i + 2);
            i += 3;
            continue;
        }
        pp_copy(o, in, i, i + 1);
        i++;
    }
}

static size_t skip_ws_fwd(const char *s, size_t n, size_t i) {
    while (i < n) {
        uint32_t cp;
        size_t l = ju_decode(s + i, n - i, &cp);
        if (!ju_is_space(cp)) break;
        i += l;
    }
    return i;
}

/* Matches {%-? \s* (end)?generation \s* -?%} at q; returns the end offset or 0. */
static size_t gen_tag(const char *s, size_t n, size_t q, int *lstrip, int *rstrip) {
    if (q + 1 >= n || s[q] != '{' || s[q + 1] != '%') return 0;
    size_t k = q + 2;
    *lstrip = k < n && s[k] == '-';
    if (*lstrip) k++;
    k = skip_ws_fwd(s, n, k);
    if (n - k >= 13 && memcmp(s + k, "endgeneration", 13) == 0) {
        k += 13;
    } else if (n - k >= 10 && memcmp(s + k, "generation", 10) == 0) {
        k += 10;
    } else {
        return 0;
    }
    k = skip_ws_fwd(s, n, k);
    *rstrip = k < n && s[k] == '-';
    if (*rstrip) k++;
    if (k + 1 < n && s[k] == '%' && s[k + 1] == '}') return k + 2;
    if (*rstrip) return 0;
    return 0;
}

/* /(\s*){%(-?)\s*(?:end)?generation\s*(-?)%}(\s*)/gs -> (lstrip ? "" : $1) + (rstrip ? "" : $4) */
static void pass_generation(const pp_buf *in, pp_buf *o) {
    o->n = 0;
    const char *s = in->s;
    size_t n = in->n, last = 0;
    for (;;) {
        size_t q = last, e = 0;
        int ls = 0, rs = 0;
        for (; q + 1 < n; q++) {
            if (s[q] == '{' && s[q + 1] == '%' && (e = gen_tag(s, n, q, &ls, &rs))) break;
        }
        if (!e) {
            pp_copy(o, in, last, n);
            return;
        }
        size_t p = q;
        while (p > last) {
            size_t pc = prev_cp(s, p);
            uint32_t cp;
            ju_decode(s + pc, n - pc, &cp);
            if (!ju_is_space(cp)) break;
            p = pc;
        }
        size_t after = skip_ws_fwd(s, n, e);
        pp_copy(o, in, last, p);
        if (!ls) pp_copy(o, in, p, q);
        if (!rs) pp_copy(o, in, e, after);
        last = after;
    }
}

static int preprocess(jinja_template *t) {
    size_t n = t->src_len;
    pp_buf a = {0}, b = {0};
    a.s = h_malloc(n + 1);
    a.map = h_malloc_array(n + 1, sizeof(uint32_t));
    b.s = h_malloc(n + 1);
    b.map = h_malloc_array(n + 1, sizeof(uint32_t));
    if (!a.s || !a.map || !b.s || !b.map) goto fail;
    memcpy(a.s, t->src, n);
    for (size_t i = 0; i <= n; i++) a.map[i] = (uint32_t)i;
    a.n = n;
    if (a.n && a.s[a.n - 1] == '\n') a.n--;
    pass_lstrip(&a, &b);
    pass_trim(&b, &a);
    pass_generation(&a, &b);
    b.s[b.n] = 0;
    b.map[b.n] = (uint32_t)n;
    h_free(a.s);
    h_free(a.map);
    t->pp = b.s;
    t->map = b.map;
    t->pp_len = b.n;
    return HEARTH_OK;
fail:
    h_free(a.s);
    h_free(a.map);
    h_free(b.s);
    h_free(b.map);
    return HEARTH_ERR_NOMEM;
}

/* ---- lexer ------------------------------------------------------------------------------------ */

typedef struct lexer {
    jinja_template *t;
    const char *s;
    size_t n, pos;
    jtok *toks;
    size_t nt, cap;
    int curly;
    hearth_error *err;
} lexer;

static int lerr(lexer *L, size_t pos, const char *fmt, const char *arg) {
    size_t line, col;
    jinja_line_col(L->t, (uint32_t)pos, &line, &col);
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg);
    return h_err(L->err, HEARTH_ERR_FORMAT, "jinja: %s at line %zu col %zu", msg, line, col);
}

static int push(lexer *L, jtok_type type, size_t pos, const char *s, size_t len) {
    if (L->nt == L->cap) {
        size_t nc = L->cap ? L->cap * 2 : 256;
        jtok *nt = h_realloc(L->toks, nc * sizeof(jtok));
        if (!nt) return h_err(L->err, HEARTH_ERR_NOMEM, "jinja: out of memory");
        L->toks = nt;
        L->cap = nc;
    }
    jtok *k = &L->toks[L->nt++];
    k->type = (uint8_t)type;
    k->pos = (uint32_t)pos;
    k->s = s;
    k->len = len;
    return HEARTH_OK;
}

static int last_type(const lexer *L) { return L->nt ? L->toks[L->nt - 1].type : -1; }

static void strip_trailing_ws(lexer *L) {
    if (!L->nt || L->toks[L->nt - 1].type != T_TEXT) return;
    jtok *k = &L->toks[L->nt - 1];
    size_t e = k->len;
    while (e > 0) {
        size_t pc = prev_cp(k->s, e);
        uint32_t cp;
        ju_decode(k->s + pc, e - pc, &cp);
        if (!ju_is_space(cp)) break;
        e = pc;
    }
    k->len = e;
    if (e == 0) L->nt--;
}

static void skip_leading_ws(lexer *L) { L->pos = skip_ws_fwd(L->s, L->n, L->pos); }

static int starts(const lexer *L, const char *w) {
    size_t l = strlen(w);
    return L->n - L->pos >= l && memcmp(L->s + L->pos, w, l) == 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_word(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

/* consumeWhile for digits: @huggingface/jinja fails when the run reaches the end of input */
static int digits(lexer *L, size_t *end) {
    while (L->pos < L->n && is_digit(L->s[L->pos])) {
        L->pos++;
        if (L->pos >= L->n) return lerr(L, L->pos, "%sunexpected end of input", "");
    }
    *end = L->pos;
    return HEARTH_OK;
}

static int hexv(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static void put_cp(char *buf, size_t *o, uint32_t cp) { *o += ju_encode(cp, buf + *o); }

static int lex_string(lexer *L) {
    char q = L->s[L->pos];
    size_t start = L->pos++;
    /* decoded text is never longer than the source (escapes shrink; lone surrogates 3 bytes <= 6) */
    size_t cap = L->n - L->pos + 1;
    char *buf = ja_alloc(&L->t->arena, cap);
    if (!buf) return h_err(L->err, HEARTH_ERR_NOMEM, "jinja: out of memory");
    size_t o = 0;
    uint32_t hi = 0; /* pending high surrogate from \u */
    for (;;) {
        if (L->pos >= L->n) return lerr(L, start, "%sunterminated string literal", "");
        char c = L->s[L->pos];
        if (c == q) break;
        if (c == '\\') {
            size_t esc = L->pos++;
            if (L->pos >= L->n) return lerr(L, esc, "%sunterminated string literal", "");
            char e = L->s[L->pos++];
            if (e == 'x' || e == 'u') {
                size_t len = e == 'x' ? 2 : 4;
                if (L->n - L->pos < len) return lerr(L, esc, "%sinvalid hexadecimal escape", "");
                uint32_t v = 0;
                for (size_t i = 0; i < len; i++) {
                    int h = hexv(L->s[L->pos + i]);
                    if (h < 0) return lerr(L, esc, "%sinvalid hexadecimal escape", "");
                    v = v * 16 + (uint32_t)h;
                }
                L->pos += len;
                if (v >= 0xdc00 && v <= 0xdfff && hi) {
                    put_cp(buf, &o, 0x10000 + ((hi - 0xd800) << 10) + (v - 0xdc00));
                    hi = 0;
                    continue;
                }
                if (hi) put_cp(buf, &o, 0xfffd), hi = 0;
                if (v >= 0xd800 && v <= 0xdbff) {
                    hi = v;
                    continue;
                }
                put_cp(buf, &o, v >= 0xdc00 && v <= 0xdfff ? 0xfffd : v);
                continue;
            }
            if (hi) put_cp(buf, &o, 0xfffd), hi = 0;
            char r;
            switch (e) {
            case 'n': r = '\n'; break;
            case 't': r = '\t'; break;
            case 'r': r = '\r'; break;
            case 'b': r = '\b'; break;
            case 'f': r = '\f'; break;
            case 'v': r = '\v'; break;
            case '\'': r = '\''; break;
            case '"': r = '"'; break;
            case '\\': r = '\\'; break;
            default: {
                char what[8] = {e, 0};
                return lerr(L, esc, "unexpected escaped character '%s'", what);
            }
            }
            buf[o++] = r;
            continue;
        }
        if (hi) put_cp(buf, &o, 0xfffd), hi = 0;
        buf[o++] = c;
        L->pos++;
        if (L->pos >= L->n) return lerr(L, start, "%sunterminated string literal", "");
    }
    if (hi) put_cp(buf, &o, 0xfffd);
    buf[o] = 0;
    L->pos++; /* closing quote */
    return push(L, T_STR, start, buf, o);
}

static const struct {
    const char *seq;
    jtok_type type;
} lex_table[] = {
    {"{%", T_OPEN_STMT}, {"%}", T_CLOSE_STMT}, {"{{", T_OPEN_EXPR}, {"}}", T_CLOSE_EXPR},
    {"(", T_LPAREN}, {")", T_RPAREN}, {"{", T_LBRACE}, {"}", T_RBRACE}, {"[", T_LBRACKET},
    {"]", T_RBRACKET}, {",", T_COMMA}, {".", T_DOT}, {":", T_COLON}, {"|", T_PIPE},
    {"<=", T_CMP}, {">=", T_CMP}, {"==", T_CMP}, {"!=", T_CMP}, {"<", T_CMP}, {">", T_CMP},
    {"+", T_ADD}, {"-", T_ADD}, {"~", T_ADD}, {"**", T_POW}, {"*", T_MUL}, {"//", T_MUL},
    {"/", T_MUL}, {"%", T_MUL}, {"=", T_EQUALS},
};

static int lex_one(lexer *L) {
    int rc;
    int lt = last_type(L);
    if (lt < 0 || lt == T_CLOSE_STMT || lt == T_CLOSE_EXPR || lt == T_COMMENT) {
        size_t start = L->pos;
        while (L->pos < L->n &&
               !(L->s[L->pos] == '{' && L->pos + 1 < L->n &&
                 (L->s[L->pos + 1] == '%' || L->s[L->pos + 1] == '{' || L->s[L->pos + 1] == '#')))
            L->pos++;
        if (L->pos > start) return push(L, T_TEXT, start, L->s + start, L->pos - start);
    }
    if (starts(L, "{#")) {
        size_t start = L->pos;
        L->pos += 2;
        int strip_before = L->pos < L->n && L->s[L->pos] == '-';
        if (strip_before) L->pos++;
        size_t cstart = L->pos;
        while (!(L->pos + 1 < L->n && L->s[L->pos] == '#' && L->s[L->pos + 1] == '}')) {
            if (L->pos + 2 >= L->n) return lerr(L, start, "%smissing end of comment tag '#}'", "");
            L->pos++;
        }
        size_t clen = L->pos - cstart;
        int strip_after = clen > 0 && L->s[L->pos - 1] == '-';
        if (strip_after) clen--;
        if (strip_before) strip_trailing_ws(L);
        if ((rc = push(L, T_COMMENT, start, L->s + cstart, clen))) return rc;
        L->pos += 2;
        if (strip_after) skip_leading_ws(L);
        return HEARTH_OK;
    }
    if (starts(L, "{%-")) {
        strip_trailing_ws(L);
        rc = push(L, T_OPEN_STMT, L->pos, L->s + L->pos, 2);
        L->pos += 3;
        return rc;
    }
    if (starts(L, "{{-")) {
        strip_trailing_ws(L);
        rc = push(L, T_OPEN_EXPR, L->pos, L->s + L->pos, 2);
        L->curly = 0;
        L->pos += 3;
        return rc;
    }
    /* whitespace inside tags (reaching the end of input while skipping it is an error) */
    while (L->pos < L->n) {
        uint32_t cp;
        size_t l = ju_decode(L->s + L->pos, L->n - L->pos, &cp);
        if (!ju_is_space(cp)) break;
        L->pos += l;
        if (L->pos >= L->n) return lerr(L, L->pos, "%sunexpected end of input inside a tag", "");
    }
    if (L->pos >= L->n) return HEARTH_OK;
    if (starts(L, "-%}")) {
        rc = push(L, T_CLOSE_STMT, L->pos, L->s + L->pos + 1, 2);
        L->pos += 3;
        skip_leading_ws(L);
        return rc;
    }
    if (starts(L, "-}}")) {
        rc = push(L, T_CLOSE_EXPR, L->pos, L->s + L->pos + 1, 2);
        L->pos += 3;
        skip_leading_ws(L);
        return rc;
    }
    char c = L->s[L->pos];
    if (c == '-' || c == '+') {
        lt = last_type(L);
        if (lt < 0 || lt == T_TEXT) {
            char w[2] = {c, 0};
            return lerr(L, L->pos, "unexpected character '%s'", w);
        }
        if (lt != T_NAME && lt != T_NUM && lt != T_STR && lt != T_RPAREN && lt != T_RBRACKET) {
            size_t start = L->pos++;
            size_t end = L->pos;
            if ((rc = digits(L, &end))) return rc;
            if (end > start + 1 && L->pos + 1 < L->n && L->s[L->pos] == '.' && is_digit(L->s[L->pos + 1])) {
                L->pos++;
                if ((rc = digits(L, &end))) return rc;
            }
            return push(L, end > start + 1 ? T_NUM : T_UNARY, start, L->s + start, end - start);
        }
    }
    for (size_t i = 0; i < H_ARRAY_LEN(lex_table); i++) {
        if (lex_table[i].type == T_CLOSE_EXPR && L->curly > 0) continue;
        if (!starts(L, lex_table[i].seq)) continue;
        size_t len = strlen(lex_table[i].seq);
        if ((rc = push(L, lex_table[i].type, L->pos, L->s + L->pos, len))) return rc;
        if (lex_table[i].type == T_OPEN_EXPR) L->curly = 0;
        else if (lex_table[i].type == T_LBRACE) L->curly++;
        else if (lex_table[i].type == T_RBRACE) L->curly--;
        L->pos += len;
        return HEARTH_OK;
    }
    if (c == '\'' || c == '"') return lex_string(L);
    if (is_digit(c)) {
        size_t start = L->pos, end;
        if ((rc = digits(L, &end))) return rc;
        if (last_type(L) != T_DOT && L->pos + 1 < L->n && L->s[L->pos] == '.' && is_digit(L->s[L->pos + 1])) {
            L->pos++;
            if ((rc = digits(L, &end))) return rc;
        }
        return push(L, T_NUM, start, L->s + start, end - start);
    }
    if (is_word(c)) {
        size_t start = L->pos;
        while (L->pos < L->n && is_word(L->s[L->pos])) {
            L->pos++;
            if (L->pos >= L->n) return lerr(L, L->pos, "%sunexpected end of input", "");
        }
        return push(L, T_NAME, start, L->s + start, L->pos - start);
    }
    char w[8] = {0};
    uint32_t cp;
    size_t l = ju_decode(L->s + L->pos, L->n - L->pos, &cp);
    memcpy(w, L->s + L->pos, l);
    return lerr(L, L->pos, "unexpected character '%s'", w);
}

int jinja_lex(jinja_template *t, jtok **toks, size_t *n_toks, hearth_error *err) {
    *toks = NULL;
    *n_toks = 0;
    if (preprocess(t)) return h_err(err, HEARTH_ERR_NOMEM, "jinja: out of memory");
    lexer L = {.t = t, .s = t->pp, .n = t->pp_len, .err = err};
    while (L.pos < L.n) {
        int rc = lex_one(&L);
        if (rc) {
            h_free(L.toks);
            return rc;
        }
    }
    *toks = L.toks;
    *n_toks = L.nt;
    return HEARTH_OK;
}
