/* jinja_parse.c — recursive-descent parser from tokens to the AST (operator precedence and
 * statement forms of @huggingface/jinja), with a nesting limit; template create/free. */
#include "jinja_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define JP_MAX_DEPTH 100
#define JP_MAX_SOURCE ((size_t)4 << 20)

typedef struct parser {
    jinja_template *t;
    const jtok *tk;
    size_t n, cur;
    int depth;
    hearth_error *err;
} parser;

typedef struct nvec {
    jnode **v;
    uint32_t n, cap;
} nvec;

/* ---- helpers ---------------------------------------------------------------------------------- */

static const jtok *peek(const parser *p, size_t k) { return p->cur + k < p->n ? &p->tk[p->cur + k] : NULL; }

static int is(const parser *p, jtok_type t) {
    const jtok *k = peek(p, 0);
    return k && k->type == t;
}

static int tok_is_name(const jtok *k, const char *w) {
    return k && k->type == T_NAME && k->len == strlen(w) && memcmp(k->s, w, k->len) == 0;
}

static int is_name(const parser *p, const char *w) { return tok_is_name(peek(p, 0), w); }

static int is_stmt(const parser *p, const char *const *names) {
    const jtok *a = peek(p, 0), *b = peek(p, 1);
    if (!a || a->type != T_OPEN_STMT || !b || b->type != T_NAME) return 0;
    for (; *names; names++)
        if (tok_is_name(b, *names)) return 1;
    return 0;
}

static uint32_t cur_pos(const parser *p) {
    const jtok *k = peek(p, 0);
    return k ? k->pos : (uint32_t)p->t->pp_len;
}

static int perr_at(parser *p, uint32_t pos, int status, const char *fmt, ...) H_PRINTF(4, 5);
static int perr_at(parser *p, uint32_t pos, int status, const char *fmt, ...) {
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t line, col;
    jinja_line_col(p->t, pos, &line, &col);
    return h_err(p->err, status, "jinja: %s at line %zu col %zu", msg, line, col);
}

/* "'%}'" / "end of template" for messages */
static void describe(const parser *p, char *out, size_t n) {
    const jtok *k = peek(p, 0);
    if (!k) {
        snprintf(out, n, "end of template");
        return;
    }
    if (k->type == T_TEXT) {
        snprintf(out, n, "text");
        return;
    }
    if (k->type == T_STR) {
        snprintf(out, n, "a string literal");
        return;
    }
    int l = k->len > 40 ? 40 : (int)k->len;
    snprintf(out, n, "'%.*s'", l, k->s);
}

static int unexpected(parser *p, const char *expected) {
    char d[64];
    describe(p, d, sizeof d);
    return perr_at(p, cur_pos(p), HEARTH_ERR_FORMAT, "expected %s but found %s", expected, d);
}

static int nomem(parser *p) { return h_err(p->err, HEARTH_ERR_NOMEM, "jinja: out of memory while parsing"); }

static int expect(parser *p, jtok_type t, const char *what) {
    if (!is(p, t)) return unexpected(p, what);
    p->cur++;
    return HEARTH_OK;
}

static int expect_name(parser *p, const char *w) {
    if (!is_name(p, w)) {
        char e[48];
        snprintf(e, sizeof e, "'%s'", w);
        return unexpected(p, e);
    }
    p->cur++;
    return HEARTH_OK;
}

static jnode *new_node(parser *p, jnode_kind kind, uint32_t pos) {
    jnode *n = ja_alloc(&p->t->arena, sizeof(jnode));
    if (!n) return NULL;
    memset(n, 0, sizeof(*n));
    n->kind = (uint8_t)kind;
    n->pos = pos;
    return n;
}

static jstr *new_str(parser *p, const char *s, size_t len) {
    jstr *r = ja_alloc(&p->t->arena, sizeof(jstr) + len + 1);
    if (!r) return NULL;
    r->len = len;
    if (len) memcpy(r->s, s, len);
    r->s[len] = 0;
    return r;
}

static int vpush(parser *p, nvec *v, jnode *n) {
    if (v->n == v->cap) {
        uint32_t nc = v->cap ? v->cap * 2 : 4;
        jnode **nv = ja_alloc(&p->t->arena, nc * sizeof(jnode *));
        if (!nv) return nomem(p);
        if (v->n) memcpy(nv, v->v, v->n * sizeof(jnode *));
        v->v = nv;
        v->cap = nc;
    }
    v->v[v->n++] = n;
    return HEARTH_OK;
}

static int enter(parser *p) {
    if (++p->depth > JP_MAX_DEPTH)
        return perr_at(p, cur_pos(p), HEARTH_ERR_RANGE, "template nested deeper than %d levels", JP_MAX_DEPTH);
    return HEARTH_OK;
}

/* ---- expressions ------------------------------------------------------------------------------ */

static int parse_expression(parser *p, jnode **out);
static int parse_any(parser *p, jnode **out);

typedef enum { ARGS_CALL, ARGS_PARAMS } args_mode;

static int parse_args(parser *p, args_mode mode, nvec *args) {
    int rc;
    if ((rc = expect(p, T_LPAREN, "'('"))) return rc;
    int saw_kw = 0, saw_spread = 0;
    while (!is(p, T_RPAREN)) {
        if (!peek(p, 0)) return unexpected(p, "')'");
        const jtok *k = peek(p, 0);
        uint32_t pos = k->pos;
        int kwspread = k->type == T_POW;
        int spread = k->type == T_MUL && k->len == 1 && k->s[0] == '*';
        if (mode == ARGS_PARAMS && (kwspread || spread))
            return perr_at(p, pos, HEARTH_ERR_FORMAT, "argument unpacking is not allowed in parameters");
        jnode *arg;
        if (kwspread) {
            p->cur++;
            if (!(arg = new_node(p, E_KWSPREAD, pos))) return nomem(p);
            if ((rc = parse_expression(p, &arg->a))) return rc;
            if ((rc = vpush(p, args, arg))) return rc;
            if (is(p, T_COMMA)) p->cur++;
            if (!is(p, T_RPAREN)) return unexpected(p, "')' after a '**' argument");
            break;
        }
        if (spread) {
            if (saw_spread) return perr_at(p, pos, HEARTH_ERR_FORMAT, "only one '*' argument is allowed");
            saw_spread = 1;
            p->cur++;
            if (!(arg = new_node(p, E_SPREAD, pos))) return nomem(p);
            if ((rc = parse_expression(p, &arg->a))) return rc;
        } else {
            if ((rc = parse_expression(p, &arg))) return rc;
            if (is(p, T_EQUALS)) {
                p->cur++;
                if (arg->kind != E_NAME)
                    return perr_at(p, pos, HEARTH_ERR_FORMAT, "expected a name before '='");
                jnode *kw = new_node(p, E_KWARG, pos);
                if (!kw) return nomem(p);
                kw->str = arg->str;
                if ((rc = parse_expression(p, &kw->a))) return rc;
                arg = kw;
            }
            if (mode == ARGS_PARAMS) {
                if (arg->kind != E_NAME && arg->kind != E_KWARG)
                    return perr_at(p, pos, HEARTH_ERR_FORMAT, "expected a parameter name");
                for (uint32_t i = 0; i < args->n; i++)
                    if (args->v[i]->str->len == arg->str->len && memcmp(args->v[i]->str->s, arg->str->s, arg->str->len) == 0)
                        return perr_at(p, pos, HEARTH_ERR_FORMAT, "duplicate parameter name '%s'", arg->str->s);
            }
            if (arg->kind == E_KWARG) {
                saw_kw = 1;
            } else if (saw_kw) {
                return perr_at(p, pos, HEARTH_ERR_FORMAT,
                               mode == ARGS_CALL ? "positional argument after keyword argument"
                                                 : "parameter without default after one with a default");
            } else if (saw_spread) {
                return perr_at(p, pos, HEARTH_ERR_FORMAT, "positional argument after '*' unpacking");
            }
        }
        if ((rc = vpush(p, args, arg))) return rc;
        if (is(p, T_COMMA)) p->cur++;
    }
    return expect(p, T_RPAREN, "')'");
}

static int parse_primary(parser *p, jnode **out) {
    const jtok *k = peek(p, 0);
    if (!k) return unexpected(p, "an expression");
    uint32_t pos = k->pos;
    int rc;
    jnode *n;
    switch (k->type) {
    case T_NUM: {
        int is_float = memchr(k->s, '.', k->len) != NULL;
        if (!(n = new_node(p, is_float ? E_FLOAT : E_INT, pos))) return nomem(p);
        char buf[64];
        size_t l = k->len < sizeof buf - 1 ? k->len : sizeof buf - 1;
        memcpy(buf, k->s, l);
        buf[l] = 0;
        if (k->len >= sizeof buf) { /* very long literal: precision beyond a double is meaningless */
            char *big = h_malloc(k->len + 1);
            if (!big) return nomem(p);
            memcpy(big, k->s, k->len);
            big[k->len] = 0;
            n->num = strtod(big, NULL);
            h_free(big);
        } else {
            n->num = strtod(buf, NULL);
        }
        p->cur++;
        *out = n;
        return HEARTH_OK;
    }
    case T_STR: {
        size_t total = 0, i = p->cur;
        while (i < p->n && p->tk[i].type == T_STR) total += p->tk[i++].len;
        if (!(n = new_node(p, E_STR, pos))) return nomem(p);
        jstr *s = ja_alloc(&p->t->arena, sizeof(jstr) + total + 1);
        if (!s) return nomem(p);
        s->len = 0;
        while (is(p, T_STR)) {
            memcpy(s->s + s->len, p->tk[p->cur].s, p->tk[p->cur].len);
            s->len += p->tk[p->cur].len;
            p->cur++;
        }
        s->s[s->len] = 0;
        n->str = s;
        *out = n;
        return HEARTH_OK;
    }
    case T_NAME:
        if (!(n = new_node(p, E_NAME, pos)) || !(n->str = new_str(p, k->s, k->len))) return nomem(p);
        p->cur++;
        *out = n;
        return HEARTH_OK;
    case T_LPAREN: {
        p->cur++;
        if ((rc = enter(p))) return rc;
        nvec items = {0};
        jnode *e;
        if ((rc = parse_expression(p, &e))) return rc;
        if (is(p, T_COMMA)) {
            if ((rc = vpush(p, &items, e))) return rc;
            while (is(p, T_COMMA)) {
                p->cur++;
                if ((rc = parse_expression(p, &e)) || (rc = vpush(p, &items, e))) return rc;
                if (!is(p, T_COMMA)) break;
            }
            if (!(e = new_node(p, E_TUPLE, pos))) return nomem(p);
            e->list = items.v;
            e->n = items.n;
        }
        p->depth--;
        if ((rc = expect(p, T_RPAREN, "')'"))) return rc;
        *out = e;
        return HEARTH_OK;
    }
    case T_LBRACKET: {
        p->cur++;
        if ((rc = enter(p))) return rc;
        nvec items = {0};
        while (!is(p, T_RBRACKET)) {
            if (!peek(p, 0)) return unexpected(p, "']'");
            jnode *e;
            if ((rc = parse_expression(p, &e)) || (rc = vpush(p, &items, e))) return rc;
            if (is(p, T_COMMA)) p->cur++;
        }
        p->cur++;
        p->depth--;
        if (!(n = new_node(p, E_ARRAY, pos))) return nomem(p);
        n->list = items.v;
        n->n = items.n;
        *out = n;
        return HEARTH_OK;
    }
    case T_LBRACE: {
        p->cur++;
        if ((rc = enter(p))) return rc;
        nvec keys = {0}, vals = {0};
        while (!is(p, T_RBRACE)) {
            if (!peek(p, 0)) return unexpected(p, "'}'");
            jnode *kx, *vx;
            if ((rc = parse_expression(p, &kx))) return rc;
            if ((rc = expect(p, T_COLON, "':' in a dict literal"))) return rc;
            if ((rc = parse_expression(p, &vx))) return rc;
            if ((rc = vpush(p, &keys, kx)) || (rc = vpush(p, &vals, vx))) return rc;
            if (is(p, T_COMMA)) p->cur++;
        }
        p->cur++;
        p->depth--;
        if (!(n = new_node(p, E_DICT, pos))) return nomem(p);
        n->list = keys.v;
        n->list2 = vals.v;
        n->n = keys.n;
        *out = n;
        return HEARTH_OK;
    }
    default:
        return unexpected(p, "an expression");
    }
}

/* contents of [...]: an index or a slice a:b:c */
static int parse_subscript(parser *p, jnode *object, jnode **out) {
    uint32_t pos = cur_pos(p);
    jnode *parts[3] = {0};
    int np = 0, is_slice = 0, rc;
    jnode *first = NULL;
    while (!is(p, T_RBRACKET)) {
        if (!peek(p, 0)) return unexpected(p, "']'");
        if (np >= 3) return perr_at(p, pos, HEARTH_ERR_FORMAT, "a slice takes at most 3 parts");
        if (is(p, T_COLON)) {
            parts[np++] = NULL;
            p->cur++;
            is_slice = 1;
        } else {
            jnode *e;
            if ((rc = parse_expression(p, &e))) return rc;
            if (!first) first = e;
            parts[np++] = e;
            if (is(p, T_COLON)) {
                p->cur++;
                is_slice = 1;
            }
        }
    }
    if (np == 0) return perr_at(p, pos, HEARTH_ERR_FORMAT, "empty subscript []");
    p->cur++; /* ] */
    jnode *n;
    if (is_slice) {
        if (!(n = new_node(p, E_SLICE, pos))) return nomem(p);
        n->list = ja_alloc(&p->t->arena, 3 * sizeof(jnode *));
        if (!n->list) return nomem(p);
        for (int i = 0; i < 3; i++) n->list[i] = parts[i];
        n->n = 3;
    } else {
        if (!(n = new_node(p, E_INDEX, pos))) return nomem(p);
        n->b = parts[0];
    }
    n->a = object;
    *out = n;
    return HEARTH_OK;
}

static int parse_member(parser *p, jnode **obj) {
    int rc;
    while (is(p, T_DOT) || is(p, T_LBRACKET)) {
        uint32_t pos = cur_pos(p);
        if (is(p, T_LBRACKET)) {
            p->cur++;
            if ((rc = parse_subscript(p, *obj, obj))) return rc;
            continue;
        }
        p->cur++;
        jnode *prop;
        if ((rc = parse_primary(p, &prop))) return rc;
        if (prop->kind != E_NAME && prop->kind != E_INT)
            return perr_at(p, pos, HEARTH_ERR_FORMAT, "expected a name or an integer after '.'");
        jnode *m = new_node(p, E_MEMBER, pos);
        if (!m) return nomem(p);
        m->a = *obj;
        m->str = prop->str;
        m->num = prop->num;
        m->flag = prop->kind == E_INT;
        *obj = m;
    }
    return HEARTH_OK;
}

static int parse_call(parser *p, jnode *callee, jnode **out) {
    int rc;
    for (;;) {
        jnode *c = new_node(p, E_CALL, callee->pos);
        if (!c) return nomem(p);
        c->a = callee;
        nvec args = {0};
        if ((rc = parse_args(p, ARGS_CALL, &args))) return rc;
        c->list = args.v;
        c->n = args.n;
        if ((rc = parse_member(p, &c))) return rc;
        callee = c;
        if (!is(p, T_LPAREN)) break;
    }
    *out = callee;
    return HEARTH_OK;
}

static int parse_call_member(parser *p, jnode **out) {
    int rc;
    jnode *e = NULL;
    if ((rc = parse_primary(p, &e)) || (rc = parse_member(p, &e))) return rc;
    if (is(p, T_LPAREN)) return parse_call(p, e, out);
    *out = e;
    return HEARTH_OK;
}

static int parse_unary_sign(parser *p, jnode **out) {
    const jtok *k = peek(p, 0);
    if (k && (k->type == T_UNARY || k->type == T_ADD) && k->len == 1 && (k->s[0] == '-' || k->s[0] == '+')) {
        int rc;
        if ((rc = enter(p))) return rc;
        jnode *n = new_node(p, E_UNARY, k->pos);
        if (!n) return nomem(p);
        n->op = k->s[0] == '-' ? OP_NEG : OP_POS;
        p->cur++;
        if ((rc = parse_unary_sign(p, &n->a))) return rc;
        p->depth--;
        *out = n;
        return HEARTH_OK;
    }
    return parse_call_member(p, out);
}

static int parse_filter(parser *p, jnode **out) {
    int rc;
    jnode *e = NULL;
    if ((rc = parse_unary_sign(p, &e))) return rc;
    while (is(p, T_PIPE)) {
        p->cur++;
        uint32_t pos = cur_pos(p);
        jnode *name;
        if ((rc = parse_primary(p, &name))) return rc;
        if (name->kind != E_NAME) return perr_at(p, pos, HEARTH_ERR_FORMAT, "expected a filter name after '|'");
        jnode *f = new_node(p, E_FILTER, pos);
        if (!f) return nomem(p);
        f->a = e;
        f->str = name->str;
        if (is(p, T_LPAREN)) {
            nvec args = {0};
            if ((rc = parse_args(p, ARGS_CALL, &args))) return rc;
            f->list = args.v;
            f->n = args.n;
            f->flag = 1;
        }
        e = f;
    }
    *out = e;
    return HEARTH_OK;
}

static int parse_test(parser *p, jnode **out) {
    int rc;
    jnode *e = NULL;
    if ((rc = parse_filter(p, &e))) return rc;
    while (is_name(p, "is")) {
        p->cur++;
        int neg = is_name(p, "not");
        if (neg) p->cur++;
        uint32_t pos = cur_pos(p);
        jnode *name;
        if ((rc = parse_primary(p, &name))) return rc;
        if (name->kind != E_NAME) return perr_at(p, pos, HEARTH_ERR_FORMAT, "expected a test name after 'is'");
        jnode *t = new_node(p, E_TEST, pos);
        if (!t) return nomem(p);
        t->a = e;
        t->str = name->str;
        t->flag = (uint8_t)neg;
        e = t;
    }
    *out = e;
    return HEARTH_OK;
}

static int binary(parser *p, jnode **left, jop op, uint32_t pos, int (*next)(parser *, jnode **)) {
    jnode *b = new_node(p, E_BINARY, pos);
    if (!b) return nomem(p);
    b->op = (uint8_t)op;
    b->a = *left;
    int rc = next(p, &b->b);
    if (rc) return rc;
    *left = b;
    return HEARTH_OK;
}

static int parse_power(parser *p, jnode **out) {
    int rc;
    if ((rc = parse_test(p, out))) return rc;
    while (is(p, T_POW)) {
        uint32_t pos = cur_pos(p);
        p->cur++;
        if ((rc = binary(p, out, OP_POW, pos, parse_test))) return rc;
    }
    return HEARTH_OK;
}

static int parse_mul(parser *p, jnode **out) {
    int rc;
    if ((rc = parse_power(p, out))) return rc;
    while (is(p, T_MUL)) {
        const jtok *k = peek(p, 0);
        jop op = k->len == 2 ? OP_FLOORDIV : k->s[0] == '*' ? OP_MUL : k->s[0] == '/' ? OP_DIV : OP_MOD;
        p->cur++;
        if ((rc = binary(p, out, op, k->pos, parse_power))) return rc;
    }
    return HEARTH_OK;
}

static int parse_add(parser *p, jnode **out) {
    int rc;
    if ((rc = parse_mul(p, out))) return rc;
    while (is(p, T_ADD)) {
        const jtok *k = peek(p, 0);
        jop op = k->s[0] == '+' ? OP_ADD : k->s[0] == '-' ? OP_SUB : OP_CONCAT;
        p->cur++;
        if ((rc = binary(p, out, op, k->pos, parse_mul))) return rc;
    }
    return HEARTH_OK;
}

static int parse_comparison(parser *p, jnode **out) {
    int rc;
    if ((rc = parse_add(p, out))) return rc;
    for (;;) {
        uint32_t pos = cur_pos(p);
        jop op;
        if (is_name(p, "not") && tok_is_name(peek(p, 1), "in")) {
            op = OP_NOTIN;
            p->cur += 2;
        } else if (is_name(p, "in")) {
            op = OP_IN;
            p->cur++;
        } else if (is(p, T_CMP)) {
            const jtok *k = peek(p, 0);
            if (k->len == 2) op = k->s[0] == '<' ? OP_LE : k->s[0] == '>' ? OP_GE : k->s[0] == '=' ? OP_EQ : OP_NE;
            else op = k->s[0] == '<' ? OP_LT : OP_GT;
            p->cur++;
        } else {
            return HEARTH_OK;
        }
        if ((rc = binary(p, out, op, pos, parse_add))) return rc;
    }
}

static int parse_not(parser *p, jnode **out) {
    if (is_name(p, "not")) {
        int rc;
        if ((rc = enter(p))) return rc;
        jnode *n = new_node(p, E_UNARY, cur_pos(p));
        if (!n) return nomem(p);
        n->op = OP_NOT;
        p->cur++;
        if ((rc = parse_not(p, &n->a))) return rc;
        p->depth--;
        *out = n;
        return HEARTH_OK;
    }
    return parse_comparison(p, out);
}

static int parse_and(parser *p, jnode **out) {
    int rc;
    if ((rc = parse_not(p, out))) return rc;
    while (is_name(p, "and")) {
        uint32_t pos = cur_pos(p);
        p->cur++;
        if ((rc = binary(p, out, OP_AND, pos, parse_not))) return rc;
    }
    return HEARTH_OK;
}

static int parse_or(parser *p, jnode **out) {
    int rc;
    if ((rc = parse_and(p, out))) return rc;
    while (is_name(p, "or")) {
        uint32_t pos = cur_pos(p);
        p->cur++;
        if ((rc = binary(p, out, OP_OR, pos, parse_and))) return rc;
    }
    return HEARTH_OK;
}

static int parse_expression(parser *p, jnode **out) {
    int rc;
    if ((rc = enter(p))) return rc;
    jnode *a;
    if ((rc = parse_or(p, &a))) return rc;
    if (is_name(p, "if")) {
        uint32_t pos = cur_pos(p);
        p->cur++;
        jnode *test;
        if ((rc = parse_or(p, &test))) return rc;
        if (is_name(p, "else")) {
            p->cur++;
            jnode *t = new_node(p, E_TERNARY, pos);
            if (!t) return nomem(p);
            t->a = test;
            t->b = a;
            if ((rc = parse_expression(p, &t->c))) return rc;
            a = t;
        } else {
            jnode *s = new_node(p, E_SELECT, pos);
            if (!s) return nomem(p);
            s->a = a;
            s->b = test;
            a = s;
        }
    }
    p->depth--;
    *out = a;
    return HEARTH_OK;
}

/* a or a, b, c (a tuple); primary: only primary expressions (for-loop targets) */
static int parse_sequence(parser *p, int primary, jnode **out) {
    int rc;
    uint32_t pos = cur_pos(p);
    jnode *e = NULL;
    if ((rc = primary ? parse_primary(p, &e) : parse_expression(p, &e))) return rc;
    if (!is(p, T_COMMA)) {
        *out = e;
        return HEARTH_OK;
    }
    nvec items = {0};
    if ((rc = vpush(p, &items, e))) return rc;
    while (is(p, T_COMMA)) {
        p->cur++;
        if ((rc = primary ? parse_primary(p, &e) : parse_expression(p, &e))) return rc;
        if ((rc = vpush(p, &items, e))) return rc;
        if (!is(p, T_COMMA)) break;
    }
    jnode *t = new_node(p, E_TUPLE, pos);
    if (!t) return nomem(p);
    t->list = items.v;
    t->n = items.n;
    *out = t;
    return HEARTH_OK;
}

/* ---- statements ------------------------------------------------------------------------------- */

/* parses statements until one of `ends` ({% name %}); what names the open block for errors */
static int parse_body(parser *p, const char *const *ends, nvec *body, const char *what, uint32_t open_pos) {
    int rc;
    while (!is_stmt(p, ends)) {
        if (!peek(p, 0)) {
            size_t line, col;
            jinja_line_col(p->t, open_pos, &line, &col);
            return perr_at(p, (uint32_t)p->t->pp_len, HEARTH_ERR_FORMAT,
                           "missing {%% %s %%} for the block opened at line %zu col %zu", ends[0], line, col);
        }
        (void)what;
        jnode *n;
        if ((rc = parse_any(p, &n)) || (rc = vpush(p, body, n))) return rc;
    }
    return HEARTH_OK;
}

static int close_stmt(parser *p) { return expect(p, T_CLOSE_STMT, "'%}'"); }

static int end_block(parser *p, const char *name) {
    int rc;
    if ((rc = expect(p, T_OPEN_STMT, "'{%'")) || (rc = expect_name(p, name))) return rc;
    return close_stmt(p);
}

static int parse_if(parser *p, uint32_t pos, jnode **out) {
    static const char *const ends[] = {"endif", "elif", "else", NULL};
    static const char *const endif[] = {"endif", NULL};
    int rc;
    if ((rc = enter(p))) return rc;
    jnode *n = new_node(p, N_IF, pos);
    if (!n) return nomem(p);
    if ((rc = parse_expression(p, &n->a)) || (rc = close_stmt(p))) return rc;
    nvec body = {0}, alt = {0};
    if ((rc = parse_body(p, ends, &body, "if", pos))) return rc;
    if (tok_is_name(peek(p, 1), "elif")) {
        uint32_t epos = peek(p, 0)->pos;
        p->cur += 2;
        jnode *e;
        if ((rc = parse_if(p, epos, &e)) || (rc = vpush(p, &alt, e))) return rc;
    } else if (tok_is_name(peek(p, 1), "else")) {
        p->cur += 2;
        if ((rc = close_stmt(p))) return rc;
        if ((rc = parse_body(p, endif, &alt, "if", pos))) return rc;
    }
    n->list = body.v;
    n->n = body.n;
    n->list2 = alt.v;
    n->n2 = alt.n;
    p->depth--;
    *out = n;
    return HEARTH_OK;
}

/* flags of a macro/call body that reads kwargs (bit 0) or varargs (bit 1) */
static uint8_t special_args(const jnode *n, int depth) {
    if (!n || depth > 200) return 0;
    uint8_t f = 0;
    if (n->kind == E_NAME && n->str) {
        if (strcmp(n->str->s, "kwargs") == 0) f |= 1;
        if (strcmp(n->str->s, "varargs") == 0) f |= 2;
    }
    f |= special_args(n->a, depth + 1) | special_args(n->b, depth + 1) | special_args(n->c, depth + 1);
    for (uint32_t i = 0; i < n->n; i++) f |= special_args(n->list ? n->list[i] : NULL, depth + 1);
    for (uint32_t i = 0; i < n->n2; i++) f |= special_args(n->list2 ? n->list2[i] : NULL, depth + 1);
    return f;
}

static int parse_statement(parser *p, jnode **out) {
    static const char *const end_set[] = {"endset", NULL};
    static const char *const end_macro[] = {"endmacro", NULL};
    static const char *const end_for[] = {"endfor", "else", NULL};
    static const char *const end_for2[] = {"endfor", NULL};
    static const char *const end_call[] = {"endcall", NULL};
    static const char *const end_filter[] = {"endfilter", NULL};
    static const char *const unsupported[] = {"raw", "include", "extends", "block", "import", "from",
                                              "with", "autoescape", "do", NULL};
    int rc;
    uint32_t pos = cur_pos(p);
    p->cur++; /* {% */
    const jtok *k = peek(p, 0);
    if (!k || k->type != T_NAME) return unexpected(p, "a statement name");
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)(k->len < 31 ? k->len : 31), k->s);
    p->cur++;
    jnode *n;
    nvec body = {0}, alt = {0};
    if (!strcmp(name, "set")) {
        if (!(n = new_node(p, N_SET, pos))) return nomem(p);
        if ((rc = parse_sequence(p, 0, &n->a))) return rc;
        if (is(p, T_EQUALS)) {
            p->cur++;
            if ((rc = parse_sequence(p, 0, &n->b))) return rc;
        } else {
            if ((rc = close_stmt(p)) || (rc = parse_body(p, end_set, &body, "set", pos))) return rc;
            p->cur++;
            if ((rc = expect_name(p, "endset"))) return rc;
            n->list = body.v;
            n->n = body.n;
        }
        if ((rc = close_stmt(p))) return rc;
    } else if (!strcmp(name, "if")) {
        if ((rc = parse_if(p, pos, &n)) || (rc = end_block(p, "endif"))) return rc;
    } else if (!strcmp(name, "macro")) {
        if (!(n = new_node(p, N_MACRO, pos))) return nomem(p);
        jnode *nm;
        uint32_t npos = cur_pos(p);
        if ((rc = parse_primary(p, &nm))) return rc;
        if (nm->kind != E_NAME) return perr_at(p, npos, HEARTH_ERR_FORMAT, "expected a macro name");
        n->str = nm->str;
        nvec params = {0};
        if ((rc = parse_args(p, ARGS_PARAMS, &params)) || (rc = close_stmt(p))) return rc;
        if ((rc = enter(p)) || (rc = parse_body(p, end_macro, &body, "macro", pos))) return rc;
        p->depth--;
        if ((rc = end_block(p, "endmacro"))) return rc;
        n->list = params.v;
        n->n = params.n;
        n->list2 = body.v;
        n->n2 = body.n;
        for (uint32_t i = 0; i < n->n2; i++) n->flag |= special_args(n->list2[i], 0);
    } else if (!strcmp(name, "for")) {
        if (!(n = new_node(p, N_FOR, pos))) return nomem(p);
        uint32_t vpos = cur_pos(p);
        if ((rc = parse_sequence(p, 1, &n->a))) return rc;
        if (n->a->kind != E_NAME && n->a->kind != E_TUPLE)
            return perr_at(p, vpos, HEARTH_ERR_FORMAT, "expected a name or a tuple of names as the loop variable");
        if ((rc = expect_name(p, "in")) || (rc = parse_expression(p, &n->b)) || (rc = close_stmt(p))) return rc;
        if ((rc = enter(p)) || (rc = parse_body(p, end_for, &body, "for", pos))) return rc;
        if (tok_is_name(peek(p, 1), "else")) {
            p->cur += 2;
            if ((rc = close_stmt(p)) || (rc = parse_body(p, end_for2, &alt, "for", pos))) return rc;
        }
        p->depth--;
        if ((rc = end_block(p, "endfor"))) return rc;
        n->list = body.v;
        n->n = body.n;
        n->list2 = alt.v;
        n->n2 = alt.n;
    } else if (!strcmp(name, "call")) {
        if (!(n = new_node(p, N_CALLBLOCK, pos))) return nomem(p);
        nvec params = {0};
        if (is(p, T_LPAREN) && (rc = parse_args(p, ARGS_PARAMS, &params))) return rc;
        uint32_t cpos = cur_pos(p);
        jnode *callee;
        if ((rc = parse_primary(p, &callee))) return rc;
        if (callee->kind != E_NAME) return perr_at(p, cpos, HEARTH_ERR_FORMAT, "expected a macro name after 'call'");
        jnode *call = new_node(p, E_CALL, cpos);
        if (!call) return nomem(p);
        call->a = callee;
        nvec args = {0};
        if ((rc = parse_args(p, ARGS_CALL, &args)) || (rc = close_stmt(p))) return rc;
        call->list = args.v;
        call->n = args.n;
        if ((rc = enter(p)) || (rc = parse_body(p, end_call, &body, "call", pos))) return rc;
        p->depth--;
        if ((rc = end_block(p, "endcall"))) return rc;
        n->a = call;
        n->list = params.v;
        n->n = params.n;
        n->list2 = body.v;
        n->n2 = body.n;
        for (uint32_t i = 0; i < n->n2; i++) n->flag |= special_args(n->list2[i], 0);
    } else if (!strcmp(name, "filter")) {
        if (!(n = new_node(p, N_FILTERBLOCK, pos))) return nomem(p);
        uint32_t fpos = cur_pos(p);
        jnode *nm;
        if ((rc = parse_primary(p, &nm))) return rc;
        if (nm->kind != E_NAME) return perr_at(p, fpos, HEARTH_ERR_FORMAT, "expected a filter name");
        jnode *f = new_node(p, E_FILTER, fpos);
        if (!f) return nomem(p);
        f->str = nm->str;
        if (is(p, T_LPAREN)) {
            nvec args = {0};
            if ((rc = parse_args(p, ARGS_CALL, &args))) return rc;
            f->list = args.v;
            f->n = args.n;
            f->flag = 1;
        }
        if ((rc = close_stmt(p))) return rc;
        if ((rc = enter(p)) || (rc = parse_body(p, end_filter, &body, "filter", pos))) return rc;
        p->depth--;
        if ((rc = end_block(p, "endfilter"))) return rc;
        n->a = f;
        n->list = body.v;
        n->n = body.n;
    } else if (!strcmp(name, "break") || !strcmp(name, "continue")) {
        if (!(n = new_node(p, name[0] == 'b' ? N_BREAK : N_CONTINUE, pos))) return nomem(p);
        if ((rc = close_stmt(p))) return rc;
    } else {
        for (const char *const *u = unsupported; *u; u++)
            if (!strcmp(name, *u)) return perr_at(p, pos, HEARTH_ERR_UNSUPPORTED, "unsupported statement '%s'", name);
        return perr_at(p, pos, HEARTH_ERR_FORMAT, "unexpected statement '%s'", name);
    }
    *out = n;
    return HEARTH_OK;
}

static int parse_any(parser *p, jnode **out) {
    const jtok *k = peek(p, 0);
    int rc;
    if ((rc = enter(p))) return rc;
    switch (k->type) {
    case T_COMMENT:
        p->cur++;
        if (!(*out = new_node(p, N_COMMENT, k->pos))) return nomem(p);
        break;
    case T_TEXT: {
        jnode *n = new_node(p, E_STR, k->pos);
        if (!n || !(n->str = new_str(p, k->s, k->len))) return nomem(p);
        p->cur++;
        *out = n;
        break;
    }
    case T_OPEN_STMT:
        if ((rc = parse_statement(p, out))) return rc;
        break;
    case T_OPEN_EXPR:
        p->cur++;
        if ((rc = parse_expression(p, out))) return rc;
        if ((rc = expect(p, T_CLOSE_EXPR, "'}}'"))) return rc;
        break;
    default:
        return unexpected(p, "text, '{{' or '{%'");
    }
    p->depth--;
    return HEARTH_OK;
}

/* ---- template --------------------------------------------------------------------------------- */

void jinja_template_free(jinja_template *t) {
    if (!t) return;
    ja_free_all(&t->arena);
    h_free(t->src);
    h_free(t->pp);
    h_free(t->map);
    h_free(t);
}

int jinja_parse(jinja_template **out, const char *src, size_t len, hearth_error *err) {
    *out = NULL;
    if (!src && len) return h_err(err, HEARTH_ERR_ARG, "jinja: NULL template source");
    if (len > JP_MAX_SOURCE)
        return h_err(err, HEARTH_ERR_RANGE, "jinja: template of %zu bytes exceeds the limit of %zu", len, JP_MAX_SOURCE);
    jinja_template *t = h_calloc(1, sizeof(*t));
    jtok *toks = NULL;
    size_t nt = 0;
    int rc;
    if (!t) return h_err(err, HEARTH_ERR_NOMEM, "jinja: out of memory");
    t->arena.used = &t->used;
    t->arena.limit = SIZE_MAX;
    if (ju_sanitize(src ? src : "", len, &t->src, &t->src_len)) {
        rc = h_err(err, HEARTH_ERR_NOMEM, "jinja: out of memory");
        goto fail;
    }
    if ((rc = jinja_lex(t, &toks, &nt, err))) goto fail;
    parser p = {.t = t, .tk = toks, .n = nt, .err = err};
    nvec body = {0};
    while (p.cur < p.n) {
        jnode *n;
        if ((rc = parse_any(&p, &n)) || (rc = vpush(&p, &body, n))) goto fail;
    }
    t->body = body.v;
    t->n_body = body.n;
    h_free(toks);
    *out = t;
    return HEARTH_OK;
fail:
    h_free(toks);
    jinja_template_free(t);
    return rc;
}
