/* tok_pretok.c — pre-tokenizers: split text (as code points) into words before BPE, reproducing
 * llama.cpp's unicode_regex_split without a regex engine. Each rule set is a list of passes; a pass
 * splits every current piece further. Two kinds of pass exist, as in llama.cpp:
 *   - the hand-written GPT-2 / Llama-3 / Qwen2 / Qwen3.5 scanners, which cover a piece completely
 *     (a character no alternative matches becomes a piece of its own), and
 *   - "regex" passes for the other patterns, with std::regex's search semantics: the leftmost
 *     match, pieces between matches kept as they are. Their character classes follow llama.cpp's
 *     ASCII "collapsed" encoding: \p{L}/\p{N}/\p{P} are the ASCII letters/digits/punctuation plus
 *     non-ASCII code points of that category, \s is ASCII white space plus non-ASCII White_Space,
 *     and non-ASCII White_Space never matches a literal code point range.
 * Everything is linear in the piece length. */
#include "tok_internal.h"

#define OOR 0xFFFFFFFFu

typedef struct piece {
    const uint32_t *cps;
    const uint16_t *fl;
    size_t a, b; /* the piece is [a, b) */
    size_t prev_end;
    tok_vec *out;
    int st;
} piece;

static inline uint32_t P_CPT(const piece *p, size_t i) { return i >= p->a && i < p->b ? p->cps[i] : OOR; }
static inline unsigned P_FL(const piece *p, size_t i) { return i >= p->a && i < p->b ? p->fl[i] : 0; }

/* Emits [prev_end, end) as a word if non-empty; returns its length. */
static size_t add_token(piece *p, size_t end) {
    size_t len = end - p->prev_end;
    if (len > 0 && !p->st) p->st = tok_vec_push(p->out, (int32_t)len);
    p->prev_end = end;
    return len;
}

#define IS_WS(f) ((f) & UNI_WHITESPACE)
#define IS_L(f) ((f) & UNI_LETTER)
#define IS_N(f) ((f) & UNI_NUMBER)
#define IS_M(f) ((f) & UNI_MARK)

static uint32_t ascii_lower(uint32_t c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* 's 't 're 've 'm 'll 'd at pos (case-insensitive when ci): returns the length or 0. llama.cpp
 * lower-cases with its Unicode table; only ASCII letters lower-case to these letters. */
static size_t contraction(const piece *p, size_t pos, int ci) {
    if (P_CPT(p, pos) != '\'' || pos + 1 >= p->b) return 0;
    uint32_t c1 = P_CPT(p, pos + 1);
    if (ci) c1 = ascii_lower(c1);
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
    if (pos + 2 < p->b) {
        uint32_t c2 = P_CPT(p, pos + 2);
        if (ci) c2 = ascii_lower(c2);
        if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
    }
    return 0;
}

/* Trailing white space: \s+(?!\S) then \s+ ; returns 1 if it emitted something. */
static int whitespace_tail(piece *p, size_t *pos, int with_newlines) {
    size_t n_ws = 0, last_rn = 0;
    while (IS_WS(P_FL(p, *pos + n_ws))) {
        uint32_t c = P_CPT(p, *pos + n_ws);
        if (with_newlines && (c == '\r' || c == '\n')) last_rn = *pos + n_ws + 1;
        n_ws++;
    }
    if (last_rn > 0) { /* \s*[\r\n]+ */
        *pos = last_rn;
        add_token(p, *pos);
        return 1;
    }
    if (n_ws > 1 && P_CPT(p, *pos + n_ws) != OOR) { /* \s+(?!\S) */
        *pos += n_ws - 1;
        add_token(p, *pos);
        return 1;
    }
    if (n_ws > 0) {
        *pos += n_ws;
        add_token(p, *pos);
        return 1;
    }
    return 0;
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S) */
static void split_gpt2(piece *p) {
    for (size_t pos = p->a; pos < p->b;) {
        uint32_t cpt = P_CPT(p, pos);
        unsigned flags = P_FL(p, pos);
        size_t c = contraction(p, pos, 0);
        if (c) {
            pos += add_token(p, pos + c);
            continue;
        }
        unsigned f2 = cpt == ' ' ? P_FL(p, pos + 1) : flags;
        if (IS_L(f2)) {
            pos += cpt == ' ';
            while (IS_L(f2)) f2 = P_FL(p, ++pos);
            add_token(p, pos);
            continue;
        }
        if (IS_N(f2)) {
            pos += cpt == ' ';
            while (IS_N(f2)) f2 = P_FL(p, ++pos);
            add_token(p, pos);
            continue;
        }
        if (!(IS_WS(f2) || IS_L(f2) || IS_N(f2)) && f2) {
            pos += cpt == ' ';
            while (!(IS_WS(f2) || IS_L(f2) || IS_N(f2)) && f2) f2 = P_FL(p, ++pos);
            add_token(p, pos);
            continue;
        }
        if (whitespace_tail(p, &pos, 0)) continue;
        add_token(p, ++pos);
    }
}

/* Llama-3 (digits_max 3), Qwen2 (1) and Qwen3.5 (1, marks join letters):
 * (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
 * \s*[\r\n]+|\s+(?!\S)|\s+ */
static void split_llama3_like(piece *p, int digits_max, int marks) {
    unsigned word = UNI_LETTER | (marks ? UNI_MARK : 0);
    for (size_t pos = p->a; pos < p->b;) {
        uint32_t cpt = P_CPT(p, pos);
        unsigned flags = P_FL(p, pos);
        size_t c = contraction(p, pos, 1);
        if (c) {
            pos += add_token(p, pos + c);
            continue;
        }
        if (!(cpt == '\r' || cpt == '\n' || IS_N(flags))) {
            if ((flags & word) || (P_FL(p, pos + 1) & word)) {
                pos++;
                while (P_FL(p, pos) & word) pos++;
                add_token(p, pos);
                continue;
            }
        }
        if (IS_N(flags)) {
            size_t ini = pos;
            while (IS_N(P_FL(p, pos))) {
                if (++pos - ini >= (size_t)digits_max) {
                    add_token(p, pos);
                    ini = pos;
                }
            }
            add_token(p, pos);
            continue;
        }
        unsigned f2 = cpt == ' ' ? P_FL(p, pos + 1) : flags;
        if (!(IS_WS(f2) || (f2 & word) || IS_N(f2)) && flags) {
            pos += cpt == ' ';
            while (!(IS_WS(f2) || (f2 & word) || IS_N(f2)) && f2) f2 = P_FL(p, ++pos);
            uint32_t c2 = P_CPT(p, pos);
            while (c2 == '\r' || c2 == '\n') c2 = P_CPT(p, ++pos);
            add_token(p, pos);
            continue;
        }
        if (whitespace_tail(p, &pos, 1)) continue;
        add_token(p, ++pos);
    }
}

/* [^\n]+|[\n]+ */
static void split_newlines(piece *p) {
    size_t pos = p->a;
    while (pos < p->b) {
        int nl = p->cps[pos] == '\n';
        while (pos < p->b && (p->cps[pos] == '\n') == nl) pos++;
        add_token(p, pos);
    }
}

/* ---------------------------------------------------------------- regex-style passes */

typedef enum cls {
    CLS_CRLF,          /* [\r\n] */
    CLS_P_EXTRA,       /* [\p{P}\$\+<=>\^~\|`]  (falcon) */
    CLS_P_EXTRA_NOBT,  /* [\p{P}\$\+<=>\^~\|]   (default) */
    CLS_N,             /* \p{N} */
    CLS_L,             /* \p{L} */
    CLS_P,             /* \p{P} */
    CLS_DIGIT,         /* [0-9] */
    CLS_DS_LETTERS,    /* deepseek-llm's letter list */
    CLS_DS_PUNCT,      /* [!-/:-~！-／：-～‘-‟　-。] */
    CLS_CJK,           /* [一-龥ࠀ-一가-퟿] */
    CLS_PORO           /* [^(\s|.,!?…。，、।۔،)] */
} cls;

static const uint32_t k_ds_letters[][2] = {
    {0x0041, 0x005A}, {0x0061, 0x007A}, {0x00B5, 0x00B5}, {0x00C0, 0x00D6}, {0x00D8, 0x00F6},
    {0x00F8, 0x01BA}, {0x01BC, 0x01BF}, {0x01C4, 0x0293}, {0x0295, 0x02AF}, {0x0370, 0x0373},
    {0x0376, 0x0377}, {0x037B, 0x037D}, {0x037F, 0x037F}, {0x0386, 0x0386}, {0x0388, 0x038A},
    {0x038C, 0x038C}, {0x038E, 0x03A1}, {0x03A3, 0x03F5}, {0x03F7, 0x0481}, {0x048A, 0x052F},
    {0x0531, 0x0556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15},
    {0x1F18, 0x1F1D}, {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59},
    {0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB},
    {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107},
    {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126},
    {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F},
    {0x2145, 0x2149}, {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4},
    {0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F},
    {0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17},
    {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};

static int in_ranges(uint32_t c, const uint32_t (*r)[2], size_t n) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < r[mid][0]) hi = mid;
        else if (c > r[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

static int ascii_punct(uint32_t c) { /* the ASCII code points of category P */
    return (c >= 0x21 && c <= 0x23) || (c >= 0x25 && c <= 0x2A) || (c >= 0x2C && c <= 0x2F) ||
           c == 0x3A || c == 0x3B || c == 0x3F || c == 0x40 || (c >= 0x5B && c <= 0x5D) || c == 0x5F ||
           c == 0x7B || c == 0x7D;
}

/* \s of std::regex in the C locale after llama.cpp maps non-ASCII white space to 0x0B */
static int c_space(uint32_t c, unsigned f) { return c < 0x80 ? (c == ' ' || (c >= 9 && c <= 13)) : IS_WS(f) != 0; }

static int in_class(cls k, uint32_t c, unsigned f) {
    if (c >= 0x80 && IS_WS(f)) c = 0x0B; /* as llama.cpp's collapsed / wide text */
    switch (k) {
    case CLS_CRLF: return c == '\r' || c == '\n';
    case CLS_P_EXTRA:
    case CLS_P_EXTRA_NOBT:
        if (c < 0x80)
            return ascii_punct(c) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' ||
                   c == '~' || c == '|' || (k == CLS_P_EXTRA && c == '`');
        return (f & UNI_PUNCTUATION) != 0;
    case CLS_N: return c < 0x80 ? (c >= '0' && c <= '9') : (c != 0x0B && IS_N(f));
    case CLS_L: return c < 0x80 ? ((c | 32) >= 'a' && (c | 32) <= 'z') : (c != 0x0B && IS_L(f));
    case CLS_P: return c < 0x80 ? ascii_punct(c) : (c != 0x0B && (f & UNI_PUNCTUATION));
    case CLS_DIGIT: return c >= '0' && c <= '9';
    case CLS_DS_LETTERS: return in_ranges(c, k_ds_letters, H_ARRAY_LEN(k_ds_letters));
    case CLS_DS_PUNCT:
        return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x7E) || (c >= 0xFF01 && c <= 0xFF0F) ||
               (c >= 0xFF1A && c <= 0xFF5E) || (c >= 0x2018 && c <= 0x201F) || (c >= 0x3000 && c <= 0x3002);
    case CLS_CJK: return (c >= 0x4E00 && c <= 0x9FA5) || (c >= 0x0800 && c <= 0x4E00) || (c >= 0xAC00 && c <= 0xD7FF);
    case CLS_PORO:
        return !(c == '(' || c == ')' || c == '|' || c == '.' || c == ',' || c == '!' || c == '?' ||
                 c == 0x2026 || c == 0x3002 || c == 0xFF0C || c == 0x3001 || c == 0x0964 || c == 0x06D4 ||
                 c == 0x060C || c == ' ' || (c >= 9 && c <= 13));
    }
    return 0;
}

typedef enum rx_kind {
    RX_CLASS_PLUS,       /* [c]+ */
    RX_CLASS_ONE,        /* [c] */
    RX_CLASS_THREE,      /* [c][c][c] */
    RX_SPACE_OPT_PLUS,   /* \s?[c]+ */
    RX_BLANK_OPT_PLUS,   /* " ?[c]+" (literal space) */
    RX_SPACES_AT_END     /* \s+$ */
} rx_kind;

typedef struct rx {
    rx_kind kind;
    cls c;
} rx;

#define CL(p, i) in_class(r->c, (p)->cps[i], (p)->fl[i])

/* Length of the leftmost-first match at pos (0 = none). */
static size_t rx_match(const rx *r, const piece *p, size_t pos) {
    size_t e = pos;
    switch (r->kind) {
    case RX_CLASS_PLUS:
        while (e < p->b && CL(p, e)) e++;
        return e - pos;
    case RX_CLASS_ONE: return CL(p, pos) ? 1 : 0;
    case RX_CLASS_THREE: return pos + 3 <= p->b && CL(p, pos) && CL(p, pos + 1) && CL(p, pos + 2) ? 3 : 0;
    case RX_SPACE_OPT_PLUS:
    case RX_BLANK_OPT_PLUS: {
        int opt = r->kind == RX_SPACE_OPT_PLUS ? c_space(p->cps[pos], p->fl[pos]) : p->cps[pos] == ' ';
        if (opt && pos + 1 < p->b && CL(p, pos + 1)) e = pos + 1;
        else if (!CL(p, pos)) return 0;
        while (e < p->b && CL(p, e)) e++;
        return e - pos;
    }
    case RX_SPACES_AT_END: break;
    }
    return 0;
}

static void split_regex(piece *p, const rx *r) {
    size_t pos = p->a;
    while (pos < p->b) {
        if (r->kind == RX_SPACES_AT_END) {
            if (!c_space(p->cps[pos], p->fl[pos])) {
                pos++;
                continue;
            }
            size_t e = pos;
            while (e < p->b && c_space(p->cps[e], p->fl[e])) e++;
            if (e == p->b) {
                add_token(p, pos);
                add_token(p, e);
            }
            pos = e; /* no start inside this run can reach the end either */
            continue;
        }
        size_t len = rx_match(r, p, pos);
        if (len == 0) {
            pos++;
            continue;
        }
        add_token(p, pos); /* the text before the match */
        add_token(p, pos + len);
        pos += len;
    }
    add_token(p, p->b);
}

/* ---------------------------------------------------------------- rule sets */

typedef enum pass_kind { PASS_GPT2, PASS_LLAMA3, PASS_QWEN2, PASS_QWEN35, PASS_NEWLINES, PASS_RX } pass_kind;

typedef struct pass {
    pass_kind kind;
    rx r;
} pass;

#define RX(k, c) {PASS_RX, {k, c}}
#define CUSTOM(k) {k, {RX_CLASS_ONE, CLS_CRLF}}

static const pass k_default[] = {RX(RX_CLASS_PLUS, CLS_P_EXTRA_NOBT), CUSTOM(PASS_GPT2),
                                 RX(RX_CLASS_PLUS, CLS_N), RX(RX_CLASS_THREE, CLS_DIGIT)};
static const pass k_gpt2[] = {CUSTOM(PASS_GPT2)};
static const pass k_llama3[] = {CUSTOM(PASS_LLAMA3)};
static const pass k_qwen2[] = {CUSTOM(PASS_QWEN2)};
static const pass k_qwen35[] = {CUSTOM(PASS_QWEN35)};
static const pass k_laguna[] = {CUSTOM(PASS_NEWLINES), CUSTOM(PASS_QWEN2)};
static const pass k_deepseek_llm[] = {RX(RX_CLASS_ONE, CLS_CRLF), RX(RX_SPACE_OPT_PLUS, CLS_DS_LETTERS),
                                      RX(RX_SPACE_OPT_PLUS, CLS_DS_PUNCT), RX(RX_SPACES_AT_END, CLS_CRLF),
                                      RX(RX_CLASS_PLUS, CLS_CJK), RX(RX_CLASS_PLUS, CLS_N)};
static const pass k_deepseek_coder[] = {RX(RX_CLASS_ONE, CLS_CRLF), RX(RX_SPACE_OPT_PLUS, CLS_L),
                                        RX(RX_SPACE_OPT_PLUS, CLS_P), RX(RX_CLASS_PLUS, CLS_CJK),
                                        RX(RX_CLASS_ONE, CLS_N)};
static const pass k_falcon[] = {RX(RX_CLASS_PLUS, CLS_P_EXTRA), CUSTOM(PASS_GPT2), RX(RX_CLASS_THREE, CLS_DIGIT)};
static const pass k_starcoder[] = {RX(RX_CLASS_ONE, CLS_N), CUSTOM(PASS_GPT2)};
static const pass k_poro[] = {RX(RX_BLANK_OPT_PLUS, CLS_PORO)};
static const pass k_viking[] = {RX(RX_BLANK_OPT_PLUS, CLS_PORO), RX(RX_CLASS_ONE, CLS_N)};

int tok_pretokenize(tok_pre pre, const uint32_t *cps, const uint16_t *flags, size_t n, tok_vec *out) {
    const pass *passes;
    size_t n_pass;
#define SET(arr) (passes = arr, n_pass = H_ARRAY_LEN(arr))
    switch (pre) {
    case TOK_PRE_DEFAULT: SET(k_default); break;
    case TOK_PRE_GPT2: SET(k_gpt2); break;
    case TOK_PRE_LLAMA3: SET(k_llama3); break;
    case TOK_PRE_QWEN2: SET(k_qwen2); break;
    case TOK_PRE_QWEN35: SET(k_qwen35); break;
    case TOK_PRE_LAGUNA: SET(k_laguna); break;
    case TOK_PRE_DEEPSEEK_LLM: SET(k_deepseek_llm); break;
    case TOK_PRE_DEEPSEEK_CODER: SET(k_deepseek_coder); break;
    case TOK_PRE_FALCON: SET(k_falcon); break;
    case TOK_PRE_STARCODER: SET(k_starcoder); break;
    case TOK_PRE_PORO: SET(k_poro); break;
    case TOK_PRE_VIKING: SET(k_viking); break;
    default: return tok_vec_push(out, (int32_t)n);
    }
#undef SET
    if (n == 0) return HEARTH_OK;
    if (n > INT32_MAX) return HEARTH_ERR_RANGE;
    tok_vec cur = {0}, next = {0};
    int st = tok_vec_push(&cur, (int32_t)n);
    for (size_t k = 0; k < n_pass && !st; k++) {
        tok_vec *dst = k + 1 == n_pass ? out : &next;
        piece p = {cps, flags, 0, 0, 0, dst, HEARTH_OK};
        size_t start = 0;
        for (size_t i = 0; i < cur.n && !p.st; i++) {
            p.a = p.prev_end = start;
            p.b = start + (size_t)cur.v[i];
            switch (passes[k].kind) {
            case PASS_GPT2: split_gpt2(&p); break;
            case PASS_LLAMA3: split_llama3_like(&p, 3, 0); break;
            case PASS_QWEN2: split_llama3_like(&p, 1, 0); break;
            case PASS_QWEN35: split_llama3_like(&p, 1, 1); break;
            case PASS_NEWLINES: split_newlines(&p); break;
            case PASS_RX: split_regex(&p, &passes[k].r); break;
            }
            start = p.b;
        }
        st = p.st;
        if (dst == &next) { /* swap */
            tok_vec t = cur;
            cur = next;
            next = t;
            next.n = 0;
        }
    }
    h_free(cur.v);
    h_free(next.v);
    return st;
}
