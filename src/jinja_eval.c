/* jinja_eval.c — the tree-walking interpreter: environments (scopes), statements (if, for, set,
 * macro, call, filter blocks), expressions and operators with @huggingface/jinja's semantics, calls
 * of macros and builtins, and the render entry point with its limits. */
#include "jinja_int.h"

#include <math.h>
#include <stdio.h>

jinja_render_opts jinja_default_opts(void) {
    jinja_render_opts o;
    memset(&o, 0, sizeof(o));
    o.max_steps = 20000000;
    o.max_output = (size_t)16 << 20;
    o.max_memory = (size_t)256 << 20;
    o.max_depth = 200;
    return o;
}

/* ---- environments ----------------------------------------------------------------------------- */

jenv *jx_env_new(jctx *c, jenv *parent) {
    jenv *e = ja_alloc(&c->arena, sizeof(jenv));
    if (!e) return NULL;
    memset(e, 0, sizeof(*e));
    e->parent = parent;
    return e;
}

int jx_env_set(jctx *c, jenv *e, const jstr *name, jval v) { return jv_obj_set(c, &e->vars, name, v); }

jval jx_env_get(jctx *c, jenv *e, const char *name, size_t len) {
    for (; e; e = e->parent) {
        jval *v = jv_obj_get(c, &e->vars, name, len);
        if (v) return *v;
    }
    return jv_undef();
}

static int env_set_c(jctx *c, jenv *e, const char *name, jval v) {
    jstr *k = jv_str_new(c, name, strlen(name));
    if (!k) return jx_nomem(c);
    return jx_env_set(c, e, k, v);
}

/* ---- helpers ---------------------------------------------------------------------------------- */

static int enter(jctx *c, const jnode *n) {
    if (++c->depth > c->max_depth) return jx_err(c, n, HEARTH_ERR_RANGE, "evaluation nested deeper than %d levels", c->max_depth);
    return jx_cost(c, 1);
}

static int is_kwargs(jval v) { return v.type == JV_OBJECT && v.u.o->kwargs; }

/* renders a block into a new string value */
static int render_to_str(jctx *c, jnode *const *list, uint32_t n, jenv *env, jval *out) {
    jbuf b = {0};
    int rc = jx_exec_block(c, list, n, env, &b);
    if (rc == J_BREAK || rc == J_CONTINUE) rc = jx_err(c, NULL, HEARTH_ERR_ARG, "'break' or 'continue' outside a loop");
    if (rc) {
        jb_free(c, &b);
        return rc;
    }
    return jb_to_str(c, &b, out);
}

/* ---- calls ------------------------------------------------------------------------------------ */

int jx_eval_args(jctx *c, const jnode *call, jenv *env, jval **args, size_t *nargs, jobj **kwargs) {
    int rc;
    size_t cap = call->n + 1, n = 0;
    jval *a = ja_alloc(&c->arena, cap * sizeof(jval));
    if (!a) return jx_nomem(c);
    for (uint32_t i = 0; i < call->n; i++) {
        const jnode *x = call->list[i];
        if (x->kind == E_KWARG || x->kind == E_KWSPREAD) continue;
        jval v;
        if ((rc = jx_eval(c, x->kind == E_SPREAD ? x->a : x, env, &v))) return rc;
        if (x->kind == E_SPREAD) {
            if (v.type != JV_ARRAY)
                return jx_err(c, x, HEARTH_ERR_ARG, "cannot unpack non-iterable type %s", jv_type_name(v));
            jval *na = ja_alloc(&c->arena, (cap + v.u.a->n) * sizeof(jval));
            if (!na) return jx_nomem(c);
            memcpy(na, a, n * sizeof(jval));
            a = na;
            cap += v.u.a->n;
            for (size_t k = 0; k < v.u.a->n; k++) a[n++] = v.u.a->v[k];
        } else {
            a[n++] = v;
        }
    }
    jobj *kw = NULL;
    for (uint32_t i = 0; i < call->n; i++) {
        const jnode *x = call->list[i];
        if (x->kind != E_KWARG && x->kind != E_KWSPREAD) continue;
        if (!kw && !(kw = jv_obj_new(c, 4))) return jx_nomem(c);
        kw->kwargs = 1;
        jval v;
        if ((rc = jx_eval(c, x->a, env, &v))) return rc;
        if (x->kind == E_KWARG) {
            if (jv_obj_get(c, kw, x->str->s, x->str->len))
                return jx_err(c, x, HEARTH_ERR_ARG, "got multiple values for keyword argument '%s'", x->str->s);
            if ((rc = jv_obj_set(c, kw, x->str, v))) return rc;
        } else {
            if (v.type != JV_OBJECT)
                return jx_err(c, x, HEARTH_ERR_ARG, "argument after ** must be a mapping, not %s", jv_type_name(v));
            for (size_t k = 0; k < v.u.o->n; k++) {
                if (jv_obj_get(c, kw, v.u.o->keys[k]->s, v.u.o->keys[k]->len))
                    return jx_err(c, x, HEARTH_ERR_ARG, "got multiple values for keyword argument '%s'", v.u.o->keys[k]->s);
                if ((rc = jv_obj_set(c, kw, v.u.o->keys[k], v.u.o->vals[k]))) return rc;
            }
        }
    }
    *args = a;
    *nargs = n;
    *kwargs = kw;
    return HEARTH_OK;
}

static int bind_args(jctx *c, const jnode *at, const char *display, jnode *const *params, uint32_t np,
                     uint8_t flags, jval *args, size_t nargs, jenv *scope) {
    int rc;
    jobj *kw = NULL;
    if (nargs && is_kwargs(args[nargs - 1])) kw = args[--nargs].u.o;
    uint8_t *used = NULL;
    if (kw && kw->n) {
        used = ja_alloc(&c->arena, kw->n);
        if (!used) return jx_nomem(c);
        memset(used, 0, kw->n);
    }
    for (uint32_t i = 0; i < np; i++) {
        const jnode *p = params[i];
        jval v = jv_undef();
        int have = 0;
        if (i < nargs) {
            v = args[i];
            have = 1;
        } else if (kw) {
            for (size_t k = 0; k < kw->n; k++) {
                if (!used[k] && kw->keys[k]->len == p->str->len && !memcmp(kw->keys[k]->s, p->str->s, p->str->len)) {
                    v = kw->vals[k];
                    used[k] = 1;
                    have = 1;
                    break;
                }
            }
        }
        if ((rc = jx_env_set(c, scope, p->str, have ? v : jv_undef()))) return rc;
    }
    jobj *rest = jv_obj_new(c, 0);
    if (!rest) return jx_nomem(c);
    for (size_t k = 0; kw && k < kw->n; k++) {
        if (used[k]) continue;
        if (!(flags & 1))
            return jx_err(c, at, HEARTH_ERR_ARG, "macro %s takes no keyword argument '%s'", display, kw->keys[k]->s);
        if ((rc = jv_obj_set(c, rest, kw->keys[k], kw->vals[k]))) return rc;
    }
    if (flags & 1 && (rc = env_set_c(c, scope, "kwargs", (jval){JV_OBJECT, {.o = rest}}))) return rc;
    if (flags & 2) {
        size_t extra = nargs > np ? nargs - np : 0;
        jarr *va = jv_arr_new(c, extra);
        if (!va) return jx_nomem(c);
        for (size_t k = 0; k < extra; k++) va->v[k] = args[np + k];
        if ((rc = env_set_c(c, scope, "varargs", (jval){JV_ARRAY, {.a = va}}))) return rc;
    } else if (nargs > np) {
        return jx_err(c, at, HEARTH_ERR_ARG, "macro %s takes not more than %u argument(s)", display, np);
    }
    /* defaults, evaluated in the macro scope after every parameter is bound */
    for (uint32_t i = 0; i < np; i++) {
        const jnode *p = params[i];
        if (p->kind != E_KWARG) continue;
        jval *cur = jv_obj_get(c, &scope->vars, p->str->s, p->str->len);
        int given = i < nargs;
        for (size_t k = 0; !given && kw && k < kw->n; k++)
            if (used[k] && kw->keys[k]->len == p->str->len && !memcmp(kw->keys[k]->s, p->str->s, p->str->len)) given = 1;
        if (given || !cur) continue;
        jval v;
        if ((rc = jx_eval(c, p->a, scope, &v))) return rc;
        if ((rc = jx_env_set(c, scope, p->str, v))) return rc;
    }
    return HEARTH_OK;
}

int jx_call(jctx *c, const jnode *at, jval fn, jval *args, size_t nargs, jenv *env, jval *out) {
    if (fn.type != JV_FUNC)
        return jx_err(c, at, HEARTH_ERR_ARG, "cannot call something that is not a function: got %s", jv_type_name(fn));
    const jfunc *f = fn.u.f;
    int rc;
    switch (f->kind) {
    case F_GLOBAL: return jb_call_global(c, at, f->id, args, nargs, out);
    case F_METHOD: return jb_call_method(c, at, f, args, nargs, out);
    case F_MACRO:
    case F_CALLER: {
        const jnode *m = f->node;
        if ((rc = enter(c, at))) return rc;
        jenv *scope = jx_env_new(c, f->kind == F_MACRO ? env : f->env);
        if (!scope) return jx_nomem(c);
        char display[80];
        if (f->kind == F_MACRO) snprintf(display, sizeof display, "'%s'", m->str->s);
        else snprintf(display, sizeof display, "None");
        if ((rc = bind_args(c, at, display, m->list, m->n, m->flag, args, nargs, scope))) return rc;
        rc = render_to_str(c, f->kind == F_MACRO ? m->list2 : m->list2, m->n2, scope, out);
        c->depth--;
        return rc;
    }
    }
    return jx_err(c, at, HEARTH_ERR_INTERNAL, "unknown function kind");
}

/* ---- operators -------------------------------------------------------------------------------- */

static int num_like(jval v) { return v.type == JV_INT || v.type == JV_FLOAT || v.type == JV_BOOL; }

static const char *op_name(int op) {
    static const char *const names[] = {"", "or", "and", "not", "==", "!=", "<", ">", "<=", ">=", "in",
                                        "not in", "+", "-", "~", "*", "/", "//", "%", "**", "-", "+"};
    return op >= 0 && op < (int)H_ARRAY_LEN(names) ? names[op] : "?";
}

static int concat(jctx *c, jval a, jval b, jval *out) {
    jbuf buf = {0};
    int rc = jv_append_valuestring(c, &buf, a);
    if (!rc) rc = jv_append_valuestring(c, &buf, b);
    if (!rc) rc = jx_cost(c, buf.len / 64);
    if (rc) {
        jb_free(c, &buf);
        return rc;
    }
    return jb_to_str(c, &buf, out);
}

static int eval_binary(jctx *c, const jnode *n, jenv *env, jval *out) {
    int rc, op = n->op;
    jval l, r;
    if ((rc = jx_eval(c, n->a, env, &l))) return rc;
    if (op == OP_AND) return jv_truthy(l) ? jx_eval(c, n->b, env, out) : (*out = l, HEARTH_OK);
    if (op == OP_OR) return jv_truthy(l) ? (*out = l, HEARTH_OK) : jx_eval(c, n->b, env, out);
    if ((rc = jx_eval(c, n->b, env, &r))) return rc;
    c->node = n;
    if (op == OP_EQ || op == OP_NE) {
        int eq;
        if ((rc = jv_loose_eq(c, l, r, &eq))) return rc;
        *out = jv_bool(op == OP_EQ ? eq : !eq);
        return HEARTH_OK;
    }
    if (l.type == JV_UNDEF || r.type == JV_UNDEF) {
        if (r.type == JV_UNDEF && (op == OP_IN || op == OP_NOTIN)) {
            *out = jv_bool(op == OP_NOTIN);
            return HEARTH_OK;
        }
        return jx_err(c, n, HEARTH_ERR_ARG, "cannot apply '%s' to an undefined value", op_name(op));
    }
    if (l.type == JV_NULL || r.type == JV_NULL)
        return jx_err(c, n, HEARTH_ERR_ARG, "cannot apply '%s' to none", op_name(op));
    if (op == OP_CONCAT) return concat(c, l, r, out);
    if (op == OP_POW && num_like(l) && num_like(r)) {
        double a = l.type == JV_BOOL ? l.u.b : l.u.num, b = r.type == JV_BOOL ? r.u.b : r.u.num;
        if (a == 0 && b < 0) return jx_err(c, n, HEARTH_ERR_ARG, "0.0 cannot be raised to a negative power");
        double x = pow(a, b);
        if (!isfinite(x)) return jx_err(c, n, HEARTH_ERR_ARG, "exponentiation result is not a finite real number");
        *out = l.type == JV_FLOAT || r.type == JV_FLOAT || b < 0 ? jv_float(x) : jv_int(x);
        return HEARTH_OK;
    }
    if (jv_is_num(l) && jv_is_num(r)) {
        double a = l.u.num, b = r.u.num;
        int fl = l.type == JV_FLOAT || r.type == JV_FLOAT;
        switch (op) {
        case OP_ADD: *out = fl ? jv_float(a + b) : jv_int(a + b); return HEARTH_OK;
        case OP_SUB: *out = fl ? jv_float(a - b) : jv_int(a - b); return HEARTH_OK;
        case OP_MUL: *out = fl ? jv_float(a * b) : jv_int(a * b); return HEARTH_OK;
        case OP_DIV: *out = jv_float(a / b); return HEARTH_OK;
        case OP_FLOORDIV: *out = fl ? jv_float(floor(a / b)) : jv_int(floor(a / b)); return HEARTH_OK;
        case OP_MOD: *out = fl ? jv_float(fmod(a, b)) : jv_int(fmod(a, b)); return HEARTH_OK;
        case OP_LT: *out = jv_bool(a < b); return HEARTH_OK;
        case OP_GT: *out = jv_bool(a > b); return HEARTH_OK;
        case OP_LE: *out = jv_bool(a <= b); return HEARTH_OK;
        case OP_GE: *out = jv_bool(a >= b); return HEARTH_OK;
        default: break;
        }
    } else if (l.type == JV_ARRAY && r.type == JV_ARRAY) {
        if (op == OP_ADD) {
            jarr *a = jv_arr_new(c, l.u.a->n + r.u.a->n);
            if (!a) return jx_nomem(c);
            if ((rc = jx_cost(c, a->n))) return rc;
            memcpy(a->v, l.u.a->v, l.u.a->n * sizeof(jval));
            memcpy(a->v + l.u.a->n, r.u.a->v, r.u.a->n * sizeof(jval));
            out->type = JV_ARRAY;
            out->u.a = a;
            return HEARTH_OK;
        }
    } else if (r.type == JV_ARRAY && (op == OP_IN || op == OP_NOTIN)) {
        int found = 0;
        if ((rc = jx_cost(c, r.u.a->n))) return rc;
        for (size_t i = 0; i < r.u.a->n && !found; i++) found = jv_strict_eq(r.u.a->v[i], l);
        *out = jv_bool(op == OP_IN ? found : !found);
        return HEARTH_OK;
    }
    if ((l.type == JV_STR || r.type == JV_STR) && op == OP_ADD) return concat(c, l, r, out);
    if (l.type == JV_STR && r.type == JV_STR && (op == OP_IN || op == OP_NOTIN)) {
        const jstr *h = r.u.s, *nd = l.u.s;
        int found = nd->len == 0;
        if ((rc = jx_cost(c, h->len / 64))) return rc;
        for (size_t i = 0; !found && nd->len <= h->len && i <= h->len - nd->len; i++)
            found = memcmp(h->s + i, nd->s, nd->len) == 0;
        *out = jv_bool(op == OP_IN ? found : !found);
        return HEARTH_OK;
    }
    if (l.type == JV_STR && (r.type == JV_OBJECT || r.type == JV_LOOP) && (op == OP_IN || op == OP_NOTIN)) {
        if ((rc = jv_loop_materialize(c, &r))) return rc;
        int found = jv_obj_get(c, r.u.o, l.u.s->s, l.u.s->len) != NULL;
        *out = jv_bool(op == OP_IN ? found : !found);
        return HEARTH_OK;
    }
    return jx_err(c, n, HEARTH_ERR_ARG, "unknown operator '%s' between %s and %s", op_name(op), jv_type_name(l),
                  jv_type_name(r));
}

/* Python-like slice of n items (JavaScript port semantics of @huggingface/jinja) */
static int slice_indices(jctx *c, const jnode *n, jenv *env, size_t len, double *start, double *stop, double *step) {
    jval part[3];
    int rc;
    for (int i = 0; i < 3; i++) {
        part[i] = jv_undef();
        if (n->list[i] && (rc = jx_eval(c, n->list[i], env, &part[i]))) return rc;
        if (part[i].type != JV_INT && part[i].type != JV_UNDEF)
            return jx_err(c, n, HEARTH_ERR_ARG, "slice %s must be an integer or undefined",
                          i == 0 ? "start" : i == 1 ? "stop" : "step");
    }
    double L = (double)len;
    double st = part[2].type == JV_INT ? part[2].u.num : 1;
    double a, b;
    if (st >= 0) {
        a = part[0].type == JV_INT ? part[0].u.num : 0;
        a = a < 0 ? fmax(L + a, 0) : fmin(a, L);
        b = part[1].type == JV_INT ? part[1].u.num : L;
        b = b < 0 ? fmax(L + b, 0) : fmin(b, L);
    } else {
        a = part[0].type == JV_INT ? part[0].u.num : L - 1;
        a = a < 0 ? fmax(L + a, -1) : fmin(a, L - 1);
        b = part[1].type == JV_INT ? part[1].u.num : -1;
        b = b < -1 ? fmax(L + b, -1) : fmin(b, L - 1);
    }
    *start = a;
    *stop = b;
    *step = st;
    return HEARTH_OK;
}

static int eval_slice(jctx *c, const jnode *n, jenv *env, jval *out) {
    jval obj;
    int rc;
    if ((rc = jx_eval(c, n->a, env, &obj))) return rc;
    if (obj.type != JV_ARRAY && obj.type != JV_STR)
        return jx_err(c, n, HEARTH_ERR_ARG, "slice object must be an array or string, got %s", jv_type_name(obj));
    size_t len = obj.type == JV_ARRAY ? obj.u.a->n : ju_cp_count(obj.u.s->s, obj.u.s->len);
    double a = 0, b = 0, st = 1;
    if ((rc = slice_indices(c, n, env, len, &a, &b, &st))) return rc;
    double dir = st > 0 ? 1 : st < 0 ? -1 : 0;
    size_t count = 0;
    if (dir != 0)
        for (double i = a; dir * i < dir * b; i += st) count++;
    if ((rc = jx_cost(c, count + len / 64))) return rc;
    if (obj.type == JV_ARRAY) {
        jarr *r = jv_arr_new(c, count);
        if (!r) return jx_nomem(c);
        size_t k = 0;
        if (dir != 0)
            for (double i = a; dir * i < dir * b; i += st) r->v[k++] = obj.u.a->v[(size_t)i];
        out->type = JV_ARRAY;
        out->u.a = r;
        return HEARTH_OK;
    }
    /* strings: by code points */
    const jstr *s = obj.u.s;
    size_t *starts = h_malloc_array(len + 1, sizeof(size_t));
    if (!starts) return jx_nomem(c);
    size_t k = 0;
    for (size_t i = 0; i < s->len; i++)
        if (((unsigned char)s->s[i] & 0xc0) != 0x80) starts[k++] = i;
    starts[len] = s->len;
    jbuf b2 = {0};
    rc = jb_put(c, &b2, "", 0);
    if (dir != 0)
        for (double i = a; !rc && dir * i < dir * b; i += st) {
            size_t ci = (size_t)i;
            rc = jb_put(c, &b2, s->s + starts[ci], starts[ci + 1] - starts[ci]);
        }
    h_free(starts);
    if (rc) {
        jb_free(c, &b2);
        return rc;
    }
    return jb_to_str(c, &b2, out);
}

/* ---- expressions ------------------------------------------------------------------------------ */

int jx_eval(jctx *c, const jnode *n, jenv *env, jval *out) {
    int rc;
    const jnode *saved = c->node;
    if ((rc = enter(c, n))) return rc;
    c->node = n;
    *out = jv_undef();
    switch (n->kind) {
    case E_STR:
        out->type = JV_STR;
        out->u.s = n->str;
        break;
    case E_INT: *out = jv_int(n->num); break;
    case E_FLOAT: *out = jv_float(n->num); break;
    case E_NAME: *out = jx_env_get(c, env, n->str->s, n->str->len); break;
    case E_ARRAY:
    case E_TUPLE: {
        jarr *a = jv_arr_new(c, n->n);
        if (!a) return jx_nomem(c);
        a->tuple = n->kind == E_TUPLE;
        for (uint32_t i = 0; i < n->n; i++)
            if ((rc = jx_eval(c, n->list[i], env, &a->v[i]))) return rc;
        out->type = JV_ARRAY;
        out->u.a = a;
        break;
    }
    case E_DICT: {
        jobj *o = jv_obj_new(c, n->n);
        if (!o) return jx_nomem(c);
        for (uint32_t i = 0; i < n->n; i++) {
            jval k, v;
            if ((rc = jx_eval(c, n->list[i], env, &k))) return rc;
            if (k.type != JV_STR)
                return jx_err(c, n->list[i], HEARTH_ERR_ARG, "object keys must be strings: got %s", jv_type_name(k));
            if ((rc = jx_eval(c, n->list2[i], env, &v)) || (rc = jv_obj_set(c, o, k.u.s, v))) return rc;
        }
        out->type = JV_OBJECT;
        out->u.o = o;
        break;
    }
    case E_MEMBER:
    case E_INDEX: {
        jval obj, prop;
        if ((rc = jx_eval(c, n->a, env, &obj))) return rc;
        if (n->kind == E_INDEX) {
            if ((rc = jx_eval(c, n->b, env, &prop))) return rc;
        } else if (n->flag) {
            prop = jv_int(n->num);
        } else {
            prop.type = JV_STR;
            prop.u.s = n->str;
        }
        c->node = n;
        if ((rc = jb_member(c, n, obj, prop, out))) return rc;
        break;
    }
    case E_SLICE:
        if ((rc = eval_slice(c, n, env, out))) return rc;
        break;
    case E_CALL: {
        jval *args, fn;
        size_t nargs;
        jobj *kw;
        if ((rc = jx_eval_args(c, n, env, &args, &nargs, &kw))) return rc;
        if (kw && kw->n) args[nargs++] = (jval){JV_OBJECT, {.o = kw}};
        if ((rc = jx_eval(c, n->a, env, &fn))) return rc;
        c->node = n;
        if ((rc = jx_call(c, n, fn, args, nargs, env, out))) return rc;
        break;
    }
    case E_FILTER: {
        jval operand;
        if ((rc = jx_eval(c, n->a, env, &operand))) return rc;
        c->node = n;
        if ((rc = jb_filter(c, n, operand, env, out))) return rc;
        break;
    }
    case E_TEST: {
        jval operand;
        int res;
        if ((rc = jx_eval(c, n->a, env, &operand))) return rc;
        c->node = n;
        if ((rc = jb_test(c, n, n->str->s, operand, 0, jv_undef(), &res))) return rc;
        *out = jv_bool(n->flag ? !res : res);
        break;
    }
    case E_UNARY: {
        jval a;
        if ((rc = jx_eval(c, n->a, env, &a))) return rc;
        if (n->op == OP_NOT) {
            *out = jv_bool(!jv_truthy(a));
        } else if (num_like(a)) {
            double x = a.type == JV_BOOL ? a.u.b : a.u.num;
            if (n->op == OP_NEG) x = -x;
            *out = a.type == JV_FLOAT ? jv_float(x) : jv_int(x);
        } else {
            return jx_err(c, n, HEARTH_ERR_ARG, "unknown operator '%s' for %s", op_name(n->op), jv_type_name(a));
        }
        break;
    }
    case E_BINARY:
        if ((rc = eval_binary(c, n, env, out))) return rc;
        break;
    case E_TERNARY: {
        jval t;
        if ((rc = jx_eval(c, n->a, env, &t))) return rc;
        if ((rc = jx_eval(c, jv_truthy(t) ? n->b : n->c, env, out))) return rc;
        break;
    }
    case E_SELECT: {
        jval t;
        if ((rc = jx_eval(c, n->b, env, &t))) return rc;
        if (jv_truthy(t) && (rc = jx_eval(c, n->a, env, out))) return rc;
        break;
    }
    case E_KWARG:
    case E_SPREAD:
    case E_KWSPREAD: return jx_err(c, n, HEARTH_ERR_FORMAT, "argument syntax outside a call");
    default: return jx_err(c, n, HEARTH_ERR_INTERNAL, "statement in expression position");
    }
    c->depth--;
    c->node = saved;
    return HEARTH_OK;
}

/* ---- statements ------------------------------------------------------------------------------- */

static int bind_target(jctx *c, const jnode *target, jval v, jenv *env) {
    if (target->kind == E_NAME) return jx_env_set(c, env, target->str, v);
    /* tuple */
    if (v.type != JV_ARRAY) return jx_err(c, target, HEARTH_ERR_ARG, "cannot unpack non-iterable type %s", jv_type_name(v));
    if (v.u.a->n != target->n)
        return jx_err(c, target, HEARTH_ERR_ARG, "too %s items to unpack (expected %u, got %zu)",
                      target->n > v.u.a->n ? "few" : "many", target->n, v.u.a->n);
    for (uint32_t i = 0; i < target->n; i++) {
        const jnode *t = target->list[i];
        if (t->kind != E_NAME) return jx_err(c, t, HEARTH_ERR_ARG, "cannot unpack to something that is not a name");
        int rc = jx_env_set(c, env, t->str, v.u.a->v[i]);
        if (rc) return rc;
    }
    return HEARTH_OK;
}

static int exec_for(jctx *c, const jnode *n, jenv *env, jbuf *out) {
    int rc;
    jenv *scope = jx_env_new(c, env);
    if (!scope) return jx_nomem(c);
    const jnode *iter = n->b, *test = NULL;
    if (iter->kind == E_SELECT) {
        test = iter->b;
        iter = iter->a;
    }
    jval it;
    if ((rc = jx_eval(c, iter, scope, &it))) return rc;
    if ((rc = jv_loop_materialize(c, &it))) return rc;
    if (it.type == JV_OBJECT) {
        jarr *keys = jv_arr_new(c, it.u.o->n);
        if (!keys) return jx_nomem(c);
        for (size_t i = 0; i < it.u.o->n; i++) keys->v[i] = (jval){JV_STR, {.s = it.u.o->keys[i]}};
        it = (jval){JV_ARRAY, {.a = keys}};
    }
    if (it.type != JV_ARRAY)
        return jx_err(c, n->b, HEARTH_ERR_ARG, "expected an iterable or object in the for loop, got %s", jv_type_name(it));
    const jarr *src = it.u.a;
    if ((rc = jx_cost(c, src->n))) return rc;
    jarr *items = jv_arr_new(c, src->n);
    if (!items) return jx_nomem(c);
    items->n = 0;
    for (size_t i = 0; i < src->n; i++) {
        jval cur = src->v[i];
        if (n->a->kind == E_TUPLE) {
            if (cur.type != JV_ARRAY) return jx_err(c, n->a, HEARTH_ERR_ARG, "cannot unpack non-iterable type %s", jv_type_name(cur));
            if (cur.u.a->n != n->a->n)
                return jx_err(c, n->a, HEARTH_ERR_ARG, "too %s items to unpack", n->a->n > cur.u.a->n ? "few" : "many");
        }
        if (test) {
            jenv *ls = jx_env_new(c, scope);
            jval t;
            if (!ls) return jx_nomem(c);
            if ((rc = bind_target(c, n->a, cur, ls)) || (rc = jx_eval(c, test, ls, &t))) return rc;
            if (!jv_truthy(t)) continue;
        }
        items->v[items->n++] = cur;
    }
    int no_iter = 1;
    for (size_t i = 0; i < items->n; i++) {
        jloop *l = ja_alloc(&c->arena, sizeof(jloop));
        if (!l) return jx_nomem(c);
        l->i = i;
        l->n = items->n;
        l->items = items;
        if ((rc = env_set_c(c, scope, "loop", (jval){JV_LOOP, {.l = l}}))) return rc;
        if ((rc = bind_target(c, n->a, items->v[i], scope))) return rc;
        size_t mark = out->len;
        rc = jx_exec_block(c, n->list, n->n, scope, out);
        if (rc == J_CONTINUE || rc == J_BREAK) {
            out->len = mark; /* the interrupted iteration's output is dropped, as @huggingface/jinja does */
            if (out->p) out->p[mark] = 0;
            if (rc == J_BREAK) break;
            continue;
        }
        if (rc) return rc;
        no_iter = 0;
    }
    if (no_iter) return jx_exec_block(c, n->list2, n->n2, scope, out);
    return HEARTH_OK;
}

static int exec_set(jctx *c, const jnode *n, jenv *env) {
    int rc;
    jval v;
    if (n->b) {
        if ((rc = jx_eval(c, n->b, env, &v))) return rc;
    } else if ((rc = render_to_str(c, n->list, n->n, env, &v))) {
        return rc;
    }
    const jnode *t = n->a;
    if (t->kind == E_NAME || t->kind == E_TUPLE) return bind_target(c, t, v, env);
    if (t->kind == E_MEMBER && !t->flag) {
        jval obj;
        if ((rc = jx_eval(c, t->a, env, &obj))) return rc;
        if (obj.type != JV_NS) return jx_err(c, t, HEARTH_ERR_ARG, "cannot assign an attribute of %s (only of a namespace)", jv_type_name(obj));
        return jv_obj_set(c, obj.u.o, t->str, v);
    }
    return jx_err(c, t, HEARTH_ERR_FORMAT, "invalid assignment target");
}

static int emit(jctx *c, jval v, jbuf *out) {
    if (v.type == JV_NULL || v.type == JV_UNDEF) return HEARTH_OK;
    return jv_append_tostring(c, out, v);
}

static int exec_node(jctx *c, const jnode *n, jenv *env, jbuf *out) {
    int rc;
    jval v;
    c->node = n;
    switch (n->kind) {
    case N_COMMENT: return HEARTH_OK;
    case N_BREAK: return J_BREAK;
    case N_CONTINUE: return J_CONTINUE;
    case N_IF:
        if ((rc = jx_eval(c, n->a, env, &v))) return rc;
        return jv_truthy(v) ? jx_exec_block(c, n->list, n->n, env, out) : jx_exec_block(c, n->list2, n->n2, env, out);
    case N_FOR: return exec_for(c, n, env, out);
    case N_SET: return exec_set(c, n, env);
    case N_MACRO: {
        jfunc *f = ja_alloc(&c->arena, sizeof(jfunc));
        if (!f) return jx_nomem(c);
        memset(f, 0, sizeof(*f));
        f->kind = F_MACRO;
        f->node = n;
        return jx_env_set(c, env, n->str, (jval){JV_FUNC, {.f = f}});
    }
    case N_CALLBLOCK: {
        jfunc *caller = ja_alloc(&c->arena, sizeof(jfunc));
        if (!caller) return jx_nomem(c);
        memset(caller, 0, sizeof(*caller));
        caller->kind = F_CALLER;
        caller->node = n;
        caller->env = env;
        jval *args, fn;
        size_t nargs;
        jobj *kw;
        if ((rc = jx_eval_args(c, n->a, env, &args, &nargs, &kw))) return rc;
        if (!kw && !(kw = jv_obj_new(c, 0))) return jx_nomem(c);
        kw->kwargs = 1;
        args[nargs++] = (jval){JV_OBJECT, {.o = kw}};
        if ((rc = jx_eval(c, n->a->a, env, &fn))) return rc;
        jenv *ne = jx_env_new(c, env);
        if (!ne) return jx_nomem(c);
        if ((rc = env_set_c(c, ne, "caller", (jval){JV_FUNC, {.f = caller}}))) return rc;
        if ((rc = jx_call(c, n, fn, args, nargs, ne, &v))) return rc;
        return emit(c, v, out);
    }
    case N_FILTERBLOCK: {
        jval body;
        if ((rc = render_to_str(c, n->list, n->n, env, &body))) return rc;
        if ((rc = jb_filter(c, n->a, body, env, &v))) return rc;
        return emit(c, v, out);
    }
    default:
        if ((rc = jx_eval(c, n, env, &v))) return rc;
        return emit(c, v, out);
    }
}

int jx_exec_block(jctx *c, jnode *const *list, uint32_t n, jenv *env, jbuf *out) {
    int rc;
    if (!n) return HEARTH_OK;
    if ((rc = enter(c, list[0]))) return rc;
    for (uint32_t i = 0; i < n; i++)
        if ((rc = exec_node(c, list[i], env, out))) break;
    c->depth--; /* also on break/continue, which travel up as return codes */
    return rc;
}

/* ---- render ----------------------------------------------------------------------------------- */

int jinja_render(const jinja_template *t, const json_value *vars, const jinja_render_opts *opts, char **out,
                 size_t *out_len, hearth_error *err) {
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!t) return h_err(err, HEARTH_ERR_ARG, "jinja: NULL template");
    if (vars && vars->type != JSON_OBJECT && vars->type != JSON_NULL)
        return h_err(err, HEARTH_ERR_ARG, "jinja: variables must be a JSON object");
    jinja_render_opts d = jinja_default_opts();
    jctx c;
    memset(&c, 0, sizeof(c));
    c.t = t;
    c.err = err;
    c.max_steps = opts && opts->max_steps ? opts->max_steps : d.max_steps;
    c.max_output = opts && opts->max_output ? opts->max_output : d.max_output;
    c.max_memory = opts && opts->max_memory ? opts->max_memory : d.max_memory;
    c.max_depth = opts && opts->max_depth > 0 ? opts->max_depth : d.max_depth;
    c.has_now = opts ? opts->has_now : 0;
    c.now = opts ? opts->now : 0;
    c.arena.used = &c.mem_used;
    c.arena.limit = c.max_memory;
    jbuf b = {0};
    int rc;
    if (!(c.global = jx_env_new(&c, NULL))) {
        rc = jx_nomem(&c);
        goto done;
    }
    static const struct {
        const char *name;
        int type, val;
    } consts[] = {{"false", JV_BOOL, 0}, {"true", JV_BOOL, 1}, {"none", JV_NULL, 0},
                  {"True", JV_BOOL, 1},  {"False", JV_BOOL, 0}, {"None", JV_NULL, 0}};
    for (size_t i = 0; i < H_ARRAY_LEN(consts); i++) {
        jval v = consts[i].type == JV_BOOL ? jv_bool(consts[i].val) : jv_null();
        if ((rc = env_set_c(&c, c.global, consts[i].name, v))) goto done;
    }
    static const char *const globals[G_COUNT] = {"namespace", "raise_exception", "range", "strftime_now"};
    for (int i = 0; i < G_COUNT; i++) {
        if (i == G_STRFTIME && !c.has_now) continue;
        jfunc *f = ja_alloc(&c.arena, sizeof(jfunc));
        if (!f) {
            rc = jx_nomem(&c);
            goto done;
        }
        memset(f, 0, sizeof(*f));
        f->kind = F_GLOBAL;
        f->id = (uint8_t)i;
        if ((rc = env_set_c(&c, c.global, globals[i], (jval){JV_FUNC, {.f = f}}))) goto done;
    }
    if (vars && vars->type == JSON_OBJECT) {
        for (size_t i = 0; i < vars->len; i++) {
            const json_member *m = &vars->members[i];
            jval v;
            jstr *k;
            if (!(k = jv_str_new(&c, m->key, m->key_len))) {
                rc = jx_nomem(&c);
                goto done;
            }
            if ((rc = jv_from_json(&c, &m->value, &v, 0)) || (rc = jx_env_set(&c, c.global, k, v))) goto done;
        }
    }
    if ((rc = jb_put(&c, &b, "", 0))) goto done;
    rc = jx_exec_block(&c, t->body, t->n_body, c.global, &b);
    if (rc == J_BREAK || rc == J_CONTINUE) rc = jx_err(&c, NULL, HEARTH_ERR_ARG, "'break' or 'continue' outside a loop");
done:
    ja_free_all(&c.arena);
    if (rc) {
        h_free(b.p);
        return rc;
    }
    *out = b.p;
    if (out_len) *out_len = b.len;
    return HEARTH_OK;
}
