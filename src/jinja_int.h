/* jinja_int.h — internals shared by the jinja*.c files: arena, strings, tokens, AST nodes, runtime
 * values, environments and the render context. Not a public header (see jinja.h). */
#ifndef HEARTH_JINJA_INT_H
#define HEARTH_JINJA_INT_H

#include "jinja.h"

/* ---- arena: bump allocation in chunks, freed all at once; optional byte budget ----------------- */

typedef struct jarena_chunk jarena_chunk;
typedef struct jarena {
    jarena_chunk *chunks;
    size_t *used;   /* bytes charged (shared with a render's buffers); may be NULL */
    size_t limit;   /* maximum of *used */
} jarena;

void *ja_alloc(jarena *a, size_t n); /* 16-byte aligned; NULL when out of memory or budget */
void ja_free_all(jarena *a);

/* ---- UTF-8 helpers ---------------------------------------------------------------------------- */

/* Decodes one code point of valid UTF-8 at s (n bytes left); returns its length (1..4). */
size_t ju_decode(const char *s, size_t n, uint32_t *cp);
size_t ju_encode(uint32_t cp, char *out); /* 1..4 bytes */
int ju_is_space(uint32_t cp);             /* JavaScript's \s / String.prototype.trim set */
/* Replaces invalid UTF-8 by U+FFFD (one per maximal invalid subpart, as WHATWG decoders do).
 * Returns a h_malloc'ed copy in *out (NUL-terminated) or HEARTH_ERR_NOMEM. */
int ju_sanitize(const char *s, size_t n, char **out, size_t *out_len);

/* ---- strings: immutable, valid UTF-8, NUL-terminated ------------------------------------------ */

typedef struct jstr {
    size_t len;
    char s[]; /* len bytes + NUL */
} jstr;

/* ---- tokens ----------------------------------------------------------------------------------- */

typedef enum jtok_type {
    T_TEXT, T_NUM, T_STR, T_NAME, T_EQUALS, T_LPAREN, T_RPAREN, T_OPEN_STMT, T_CLOSE_STMT,
    T_OPEN_EXPR, T_CLOSE_EXPR, T_LBRACKET, T_RBRACKET, T_LBRACE, T_RBRACE, T_COMMA, T_DOT,
    T_COLON, T_PIPE, T_ADD, T_MUL, T_POW, T_CMP, T_UNARY, T_COMMENT
} jtok_type;

typedef struct jtok {
    uint8_t type;
    uint32_t pos;   /* offset in the preprocessed source */
    const char *s;  /* text (T_STR: decoded string in the template arena) */
    size_t len;
} jtok;

/* ---- AST -------------------------------------------------------------------------------------- */

typedef enum jnode_kind {
    /* statements */
    N_IF, N_FOR, N_SET, N_MACRO, N_CALLBLOCK, N_FILTERBLOCK, N_BREAK, N_CONTINUE, N_COMMENT,
    /* expressions (also statements: their value is printed); text is E_STR */
    E_STR, E_INT, E_FLOAT, E_NAME, E_ARRAY, E_TUPLE, E_DICT, E_MEMBER, E_INDEX, E_SLICE, E_CALL,
    E_FILTER, E_TEST, E_UNARY, E_BINARY, E_TERNARY, E_SELECT, E_KWARG, E_SPREAD, E_KWSPREAD
} jnode_kind;

typedef enum jop {
    OP_NONE, OP_OR, OP_AND, OP_NOT, OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE, OP_IN, OP_NOTIN,
    OP_ADD, OP_SUB, OP_CONCAT, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_NEG, OP_POS
} jop;

typedef struct jnode jnode;
struct jnode {
    uint8_t kind;    /* jnode_kind */
    uint8_t op;      /* jop */
    uint8_t flag;    /* E_TEST: negated; E_FILTER: has (args); N_MACRO/N_CALLBLOCK: bit0 kwargs, bit1 varargs; E_MEMBER: index is an integer */
    uint32_t pos;    /* offset in the preprocessed source */
    jstr *str;       /* literal string, name, filter/test/kwarg name */
    double num;      /* E_INT / E_FLOAT / integer member */
    jnode *a, *b, *c;
    jnode **list;    /* body / args / items / params / dict keys / slice parts (3, may be NULL) */
    jnode **list2;   /* else body / macro body / dict values */
    uint32_t n, n2;
};

struct jinja_template {
    jarena arena;
    char *src;        /* sanitized original source (for line/col) */
    size_t src_len;
    char *pp;         /* preprocessed source */
    size_t pp_len;
    uint32_t *map;    /* pp offset -> src offset (pp_len + 1 entries) */
    jnode **body;
    uint32_t n_body;
    size_t used;      /* arena bytes */
};

/* Line and column (1-based, columns in code points) of a preprocessed-source offset. */
void jinja_line_col(const jinja_template *t, uint32_t pos, size_t *line, size_t *col);

/* Lexer: preprocesses t->src into t->pp/t->map and produces tokens (h_malloc'ed array). */
int jinja_lex(jinja_template *t, jtok **toks, size_t *n_toks, hearth_error *err);

/* ---- runtime values --------------------------------------------------------------------------- */

typedef enum jv_type {
    JV_UNDEF, JV_NULL, JV_BOOL, JV_INT, JV_FLOAT, JV_STR, JV_ARRAY, JV_OBJECT, JV_NS, JV_FUNC, JV_LOOP
} jv_type;

typedef struct jarr jarr;
typedef struct jobj jobj;
typedef struct jfunc jfunc;
typedef struct jloop jloop;

typedef struct jval {
    uint8_t type; /* jv_type */
    union {
        int b;
        double num; /* JV_INT holds an integral double, like JavaScript numbers */
        jstr *s;
        jarr *a;
        jobj *o; /* JV_OBJECT and JV_NS */
        jfunc *f;
        jloop *l;
    } u;
} jval;

struct jarr {
    size_t n;
    int tuple;
    jval *v;
};

struct jobj {
    size_t n, cap;
    int kwargs; /* keyword-argument bundle appended to call arguments */
    jstr **keys;
    jval *vals;
};

typedef enum jfunc_kind { F_GLOBAL, F_METHOD, F_MACRO, F_CALLER } jfunc_kind;

struct jfunc {
    uint8_t kind;
    uint8_t id;        /* F_GLOBAL: global id; F_METHOD: method id */
    jval self;         /* F_METHOD: receiver */
    const jnode *node; /* F_MACRO: N_MACRO; F_CALLER: N_CALLBLOCK */
    struct jenv *env;  /* F_CALLER: environment of the call block */
};

struct jloop {
    size_t i, n;
    const jarr *items;
};

typedef struct jenv {
    struct jenv *parent;
    jobj vars;
} jenv;

/* ---- render context ----------------------------------------------------------------------------- */

typedef struct jbuf {
    char *p;
    size_t len, cap;
} jbuf;

typedef struct jctx {
    const jinja_template *t;
    hearth_error *err;
    jarena arena;
    size_t mem_used, max_memory;
    uint64_t steps, max_steps;
    int depth, max_depth;
    size_t max_output;
    const jnode *node; /* node being evaluated (for error positions) */
    jenv *global;
    int has_now;
    int64_t now;
} jctx;

enum { J_BREAK = -1, J_CONTINUE = -2 };

/* errors: "jinja: <msg> at line L col C" with the position of node (or ctx->node) */
int jx_err(jctx *c, const jnode *node, int status, const char *fmt, ...) H_PRINTF(4, 5);
int jx_nomem(jctx *c);
int jx_cost(jctx *c, uint64_t units); /* charges steps */

/* values (jinja_value.c) */
jstr *jv_str_new(jctx *c, const char *s, size_t n);
int jv_make_str(jctx *c, const char *s, size_t n, jval *out);
jarr *jv_arr_new(jctx *c, size_t n);
jobj *jv_obj_new(jctx *c, size_t cap);
int jv_obj_set(jctx *c, jobj *o, const jstr *key, jval v); /* insert or replace (keeps position) */
jval *jv_obj_get(jctx *c, const jobj *o, const char *key, size_t klen);
static inline jval jv_undef(void) { jval v = {JV_UNDEF, {0}}; return v; }
static inline jval jv_null(void) { jval v = {JV_NULL, {0}}; return v; }
static inline jval jv_bool(int b) { jval v = {JV_BOOL, {0}}; v.u.b = b ? 1 : 0; return v; }
static inline jval jv_int(double x) { jval v = {JV_INT, {0}}; v.u.num = x; return v; }
static inline jval jv_float(double x) { jval v = {JV_FLOAT, {0}}; v.u.num = x; return v; }
static inline int jv_is_num(jval v) { return v.type == JV_INT || v.type == JV_FLOAT; }
int jv_truthy(jval v);
const char *jv_type_name(jval v); /* "StringValue", ... like @huggingface/jinja */
int jv_loop_materialize(jctx *c, jval *v); /* JV_LOOP -> JV_OBJECT */

/* JavaScript conversions */
void js_number(double x, char out[40]);                         /* Number.prototype.toString */
int jv_append_tostring(jctx *c, jbuf *b, jval v);               /* RuntimeValue.toString() */
int jv_append_valuestring(jctx *c, jbuf *b, jval v);            /* value.toString() (for + and ~) */
int jv_append_joinstring(jctx *c, jbuf *b, jval v);             /* element of Array.join */
typedef struct jjson_opts { int indent; int ensure_ascii; int sort_keys; const jstr *item_sep, *key_sep; int undef_null; } jjson_opts;
int jv_append_json(jctx *c, jbuf *b, jval v, const jjson_opts *o, int depth);
int jv_loose_eq(jctx *c, jval a, jval b, int *eq);  /* JavaScript == on the values */
int jv_strict_eq(jval a, jval b);                    /* JavaScript === on the values */
int jv_compare(jctx *c, jval a, jval b, int case_sensitive, int *res); /* for sort/dictsort */
int jv_from_json(jctx *c, const json_value *j, jval *out, int depth);

/* strings */
size_t ju_utf16_len(const char *s, size_t n);
size_t ju_cp_count(const char *s, size_t n);
int jv_case(jctx *c, const jstr *s, int upper, jval *out);

/* buffers (charged to the render's memory budget; output limit checked by the caller) */
int jb_put(jctx *c, jbuf *b, const char *s, size_t n);
void jb_free(jctx *c, jbuf *b);
int jb_to_str(jctx *c, jbuf *b, jval *out); /* copies into the arena and frees b */

/* evaluation (jinja_eval.c) */
int jx_eval(jctx *c, const jnode *n, jenv *env, jval *out);
int jx_exec_block(jctx *c, jnode *const *list, uint32_t n, jenv *env, jbuf *out);
int jx_call(jctx *c, const jnode *at, jval fn, jval *args, size_t nargs, jenv *env, jval *out);
int jx_eval_args(jctx *c, const jnode *call, jenv *env, jval **args, size_t *nargs, jobj **kwargs);
jenv *jx_env_new(jctx *c, jenv *parent);
int jx_env_set(jctx *c, jenv *e, const jstr *name, jval v);
jval jx_env_get(jctx *c, jenv *e, const char *name, size_t len);

/* builtins (jinja_builtins.c) */
enum { G_NAMESPACE, G_RAISE, G_RANGE, G_STRFTIME, G_COUNT };
int jb_call_global(jctx *c, const jnode *at, int id, jval *args, size_t nargs, jval *out);
int jb_member(jctx *c, const jnode *at, jval obj, jval prop, jval *out);
int jb_call_method(jctx *c, const jnode *at, const jfunc *f, jval *args, size_t nargs, jval *out);
int jb_filter(jctx *c, const jnode *filter, jval operand, jenv *env, jval *out);
int jb_test(jctx *c, const jnode *at, const char *name, jval a, int has_b, jval b, int *res);

#endif
