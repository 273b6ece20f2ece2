/* tokenizer.c — the public tokenizer API: loading, encode (special-token partition, then SPM or
 * pre-tokenizer + byte-level BPE per text fragment), token pieces, decode and the streaming
 * detokenizer. Semantics follow llama.cpp's llama_tokenize / llama_token_to_piece /
 * llama_detokenize; see docs/TOKENIZER.md for the few documented differences. */
#include "tok_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest input accepted by tokenizer_encode (token counts must fit an int). */
#define TOK_MAX_INPUT ((size_t)1 << 30)

/* ---------------------------------------------------------------- load / accessors */

static int piece_impl(const tokenizer *t, int32_t id, int special, char *buf, size_t cap);

int tokenizer_load(tokenizer **out, const gguf_file *g, hearth_error *err) {
    *out = NULL;
    if (!g) return h_err(err, HEARTH_ERR_ARG, "tokenizer: no GGUF file");
    tokenizer *t = h_calloc(1, sizeof *t);
    if (!t) return h_err(err, HEARTH_ERR_NOMEM, "tokenizer: out of memory");
    int st = tok_vocab_load(t, g, err);
    if (st) goto fail;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        int n = piece_impl(t, i, 1, NULL, 0);
        if (n > t->max_piece) t->max_piece = n;
    }
    *out = t;
    return HEARTH_OK;
fail:
    tokenizer_free(t);
    return st;
}

void tokenizer_free(tokenizer *t) {
    if (!t) return;
    tok_vocab_free(t);
    h_free(t);
}

int tokenizer_n_vocab(const tokenizer *t) { return t->n_vocab; }
const char *tokenizer_model_name(const tokenizer *t) { return t->type == TOK_SPM ? "llama" : "gpt2"; }
const char *tokenizer_pre_name(const tokenizer *t) { return t->pre_name; }
int32_t tokenizer_bos(const tokenizer *t) { return t->bos; }
int32_t tokenizer_eos(const tokenizer *t) { return t->eos; }
int32_t tokenizer_eot(const tokenizer *t) { return t->eot; }
int32_t tokenizer_eom(const tokenizer *t) { return t->eom; }
int32_t tokenizer_pad(const tokenizer *t) { return t->pad; }
int32_t tokenizer_unk(const tokenizer *t) { return t->unk; }
int tokenizer_add_bos(const tokenizer *t) { return t->add_bos && t->bos >= 0; }
int tokenizer_add_eos(const tokenizer *t) { return t->add_eos && t->eos >= 0; }
int tokenizer_max_piece(const tokenizer *t) { return t->max_piece; }

static int valid_id(const tokenizer *t, int32_t id) { return id >= 0 && id < t->n_vocab; }

int tokenizer_is_eog(const tokenizer *t, int32_t id) {
    int lo = 0, hi = t->n_eog - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (t->eog[mid] == id) return 1;
        if (t->eog[mid] < id) lo = mid + 1;
        else hi = mid - 1;
    }
    return 0;
}

int tokenizer_eog_ids(const tokenizer *t, int32_t *out, int cap) {
    for (int i = 0; i < t->n_eog && i < cap; i++) out[i] = t->eog[i];
    return t->n_eog;
}

int tokenizer_is_control(const tokenizer *t, int32_t id) {
    return valid_id(t, id) && (t->attr[id] & TOKEN_ATTR_CONTROL) != 0;
}

int tokenizer_token_attr(const tokenizer *t, int32_t id) { return valid_id(t, id) ? t->attr[id] : 0; }

const char *tokenizer_token_text(const tokenizer *t, int32_t id, size_t *len) {
    if (!valid_id(t, id)) {
        if (len) *len = 0;
        return NULL;
    }
    uint32_t n;
    const char *p = tok_str(&t->strs, id, &n);
    if (len) *len = n;
    return p;
}

int32_t tokenizer_find_token(const tokenizer *t, const char *text, size_t len) {
    if (!text && len) return -1;
    return tok_text_to_token(t, text ? text : "", len);
}

/* ---------------------------------------------------------------- special-token partition */

typedef struct seg {
    uint32_t start, len; /* text fragment when id < 0 */
    int32_t id;
} seg;

static int is_c_space(uint8_t c) { return c == ' ' || (c >= 9 && c <= 13); }

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Splits text into fragments and special tokens exactly as llama.cpp's tokenizer_st_partition:
 * special tokens are taken longest first (then lowest id); each one splits every remaining text
 * fragment at its occurrences, left to right; lstrip/rstrip attributes drop adjacent ASCII
 * white space. Occurrences are found in one trie pass, then replayed in that order. */
static int partition(const tokenizer *t, const uint8_t *s, size_t n, int parse_special, const uint8_t *special_ok,
                     seg **out, size_t *n_out) {
    uint64_t *m = NULL;
    size_t nm = 0, mcap = 0;
    uint8_t *cov = NULL;
    seg *segs = NULL;
    int st = HEARTH_OK;
    for (size_t i = 0; i < n; i++) {
        int32_t node = t->trie_root[s[i]];
        for (size_t k = i; node >= 0;) {
            int32_t id = t->trie[node].token;
            if (id >= 0 && ((parse_special && (!special_ok || special_ok[i])) ||
                            !(t->attr[id] & (TOKEN_ATTR_CONTROL | TOKEN_ATTR_UNKNOWN)))) {
                if (nm * sizeof(uint64_t) >= mcap &&
                    (st = tok_grow((void **)&m, &mcap, (nm + 1) * sizeof(uint64_t))))
                    goto fail;
                m[nm++] = ((uint64_t)(uint32_t)t->special_rank[id] << 32) | (uint32_t)i;
            }
            if (++k >= n) break;
            node = t->trie[node].first_child;
            while (node >= 0 && t->trie[node].byte != s[k]) node = t->trie[node].next_sibling;
        }
    }
    size_t nseg = 0;
    if (nm == 0) {
        segs = h_malloc(sizeof(seg));
        if (!segs) {
            st = HEARTH_ERR_NOMEM;
            goto fail;
        }
        if (n) segs[nseg++] = (seg){0, (uint32_t)n, -1};
        *out = segs;
        *n_out = nseg;
        h_free(m);
        return HEARTH_OK;
    }
    qsort(m, nm, sizeof(uint64_t), cmp_u64);
    cov = h_calloc(n, 1); /* 0 text, 1 token start, 2 token body, 3 stripped */
    if (!cov) {
        st = HEARTH_ERR_NOMEM;
        goto fail;
    }
    size_t n_chosen = 0;
    for (size_t j = 0; j < nm; j++) {
        int32_t id = t->special[(uint32_t)(m[j] >> 32)];
        size_t pos = (uint32_t)m[j], len = t->strs.len[id], k;
        for (k = 0; k < len && cov[pos + k] == 0; k++) {}
        if (k < len) continue;
        if (t->attr[id] & TOKEN_ATTR_LSTRIP)
            for (size_t q = pos; q > 0 && cov[q - 1] == 0 && is_c_space(s[q - 1]); q--) cov[q - 1] = 3;
        cov[pos] = 1;
        memset(cov + pos + 1, 2, len - 1);
        if (t->attr[id] & TOKEN_ATTR_RSTRIP)
            for (size_t q = pos + len; q < n && cov[q] == 0 && is_c_space(s[q]); q++) cov[q] = 3;
        m[n_chosen++] = ((uint64_t)pos << 32) | (uint32_t)id; /* reuse m: chosen, by position */
    }
    qsort(m, n_chosen, sizeof(uint64_t), cmp_u64);
    segs = h_malloc_array(2 * n_chosen + 1, sizeof(seg));
    if (!segs) {
        st = HEARTH_ERR_NOMEM;
        goto fail;
    }
    size_t c = 0;
    for (size_t i = 0; i < n;) {
        if (cov[i] == 0) {
            size_t e = i;
            while (e < n && cov[e] == 0) e++;
            segs[nseg++] = (seg){(uint32_t)i, (uint32_t)(e - i), -1};
            i = e;
        } else if (cov[i] == 1) {
            segs[nseg++] = (seg){(uint32_t)i, 0, (int32_t)(uint32_t)m[c++]};
            i++;
        } else {
            i++;
        }
    }
    h_free(cov);
    h_free(m);
    *out = segs;
    *n_out = nseg;
    return HEARTH_OK;
fail:
    h_free(cov);
    h_free(m);
    h_free(segs);
    return st;
}

/* ---------------------------------------------------------------- encode */

static int encode_spm(const tokenizer *t, const uint8_t *s, const seg *segs, size_t nseg, int add_special,
                      tok_scratch *sc, tok_vec *out) {
    int st;
    if (add_special && t->add_bos && t->bos >= 0 && (st = tok_vec_push(out, t->bos))) return st;
    int prev_special = 1; /* a space is added before the first fragment and after special tokens */
    uint8_t *buf = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < nseg; i++) {
        if (segs[i].id >= 0) {
            if ((st = tok_vec_push(out, segs[i].id))) goto done;
            prev_special = 1;
            continue;
        }
        size_t len = segs[i].len, need;
        if (!h_mul_size(len + 1, 3, &need) || (st = tok_grow((void **)&buf, &cap, need))) {
            st = HEARTH_ERR_NOMEM;
            goto done;
        }
        size_t k = 0;
        const uint8_t *p = s + segs[i].start;
        for (size_t j = 0; j < len + 1; j++) {
            uint8_t c;
            if (j == 0) {
                if (!(t->add_space_prefix && prev_special)) continue;
                c = ' ';
            } else {
                c = p[j - 1];
            }
            if (c == ' ') { /* escape to U+2581 */
                buf[k++] = 0xE2, buf[k++] = 0x96, buf[k++] = 0x81;
            } else {
                buf[k++] = c;
            }
        }
        if ((st = tok_spm_text(t, buf, k, sc, out))) goto done;
        prev_special = 0;
    }
    st = HEARTH_OK;
    if (add_special && t->add_eos && t->eos >= 0) st = tok_vec_push(out, t->eos);
done:
    h_free(buf);
    return st;
}

static int encode_bpe(const tokenizer *t, const uint8_t *s, const seg *segs, size_t nseg, int add_special,
                      tok_scratch *sc, tok_vec *out) {
    int st = HEARTH_OK;
    if (add_special && t->add_bos && t->bos >= 0 && (st = tok_vec_push(out, t->bos))) return st;
    uint32_t *cps = NULL;
    uint16_t *fl = NULL;
    uint8_t *word = NULL;
    size_t cps_cap = 0, fl_cap = 0, word_cap = 0;
    tok_vec words = {0};
    for (size_t i = 0; i < nseg; i++) {
        if (segs[i].id >= 0) {
            if ((st = tok_vec_push(out, segs[i].id))) goto done;
            continue;
        }
        const uint8_t *p = s + segs[i].start;
        size_t len = segs[i].len, n = 0;
        if ((st = tok_grow((void **)&cps, &cps_cap, len * sizeof(uint32_t))) ||
            (st = tok_grow((void **)&fl, &fl_cap, len * sizeof(uint16_t))))
            goto done;
        for (size_t off = 0; off < len; n++) {
            size_t adv;
            cps[n] = unicode_decode_lax(p + off, len - off, &adv);
            fl[n] = (uint16_t)unicode_flags(cps[n]);
            off += adv;
        }
        words.n = 0;
        if ((st = tok_pretokenize(t->pre, cps, fl, n, &words))) goto done;
        size_t at = 0;
        for (size_t w = 0; w < words.n; w++) {
            size_t wl = (size_t)words.v[w], k = 0;
            if ((st = tok_grow((void **)&word, &word_cap, wl * 4 + 4))) goto done;
            for (size_t j = 0; j < wl; j++) k += unicode_encode(cps[at + j], word + k);
            at += wl;
            if ((st = tok_bpe_word(t, word, k, sc, out))) goto done;
        }
    }
    if (add_special && t->add_eos && t->eos >= 0) st = tok_vec_push(out, t->eos);
done:
    h_free(cps);
    h_free(fl);
    h_free(word);
    h_free(words.v);
    return st;
}

int tokenizer_encode(const tokenizer *t, const char *text, size_t len, int add_special, int parse_special,
                     int32_t **ids, int *n_ids, hearth_error *err) {
    return tokenizer_encode_ex(t, text, len, add_special, parse_special, NULL, ids, n_ids, err);
}

int tokenizer_encode_ex(const tokenizer *t, const char *text, size_t len, int add_special, int parse_special,
                        const uint8_t *special_ok, int32_t **ids, int *n_ids, hearth_error *err) {
    *ids = NULL;
    *n_ids = 0;
    if (!text && len) return h_err(err, HEARTH_ERR_ARG, "tokenizer: NULL text with length %zu", len);
    if (len > TOK_MAX_INPUT)
        return h_err(err, HEARTH_ERR_RANGE, "tokenizer: input of %zu bytes exceeds the limit of %zu", len,
                     TOK_MAX_INPUT);
    const uint8_t *s = (const uint8_t *)(text ? text : "");
    seg *segs = NULL;
    size_t nseg = 0;
    tok_vec out = {0};
    tok_scratch sc = {0};
    int st = partition(t, s, len, parse_special, special_ok, &segs, &nseg);
    if (!st) st = t->type == TOK_SPM ? encode_spm(t, s, segs, nseg, add_special, &sc, &out)
                                    : encode_bpe(t, s, segs, nseg, add_special, &sc, &out);
    h_free(segs);
    tok_scratch_free(&sc);
    if (!st && out.n > (size_t)INT32_MAX) st = HEARTH_ERR_RANGE;
    if (st) {
        h_free(out.v);
        return h_err(err, st, "tokenizer: encoding %zu bytes failed (%s)", len, hearth_status_name(st));
    }
    *ids = out.v;
    *n_ids = (int)out.n;
    return HEARTH_OK;
}

/* ---------------------------------------------------------------- pieces */

static int put(char *buf, size_t cap, size_t *k, const void *p, size_t n) {
    if (buf && *k + n <= cap) memcpy(buf + *k, p, n);
    *k += n;
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Writes the piece into buf when it fits (buf may be NULL); returns its length, or -1 for a bad id. */
static int piece_impl(const tokenizer *t, int32_t id, int special, char *buf, size_t cap) {
    if (!valid_id(t, id)) return -1;
    int attr = t->attr[id];
    uint32_t n;
    const char *p = tok_str(&t->strs, id, &n);
    size_t k = 0;
    if (!special && (attr & (TOKEN_ATTR_UNKNOWN | TOKEN_ATTR_CONTROL))) return 0;
    if (attr & (TOKEN_ATTR_UNKNOWN | TOKEN_ATTR_CONTROL | TOKEN_ATTR_USER_DEFINED)) {
        put(buf, cap, &k, p, n);
    } else if (attr & TOKEN_ATTR_NORMAL) {
        if (t->type == TOK_SPM) {
            for (uint32_t i = 0; i < n;) {
                if (i + 3 <= n && (uint8_t)p[i] == 0xE2 && (uint8_t)p[i + 1] == 0x96 && (uint8_t)p[i + 2] == 0x81) {
                    put(buf, cap, &k, " ", 1);
                    i += 3;
                } else {
                    put(buf, cap, &k, p + i, 1);
                    i++;
                }
            }
        } else {
            for (uint32_t i = 0; i < n;) {
                size_t adv;
                uint32_t cp = unicode_decode_lax((const uint8_t *)p + i, n - i, &adv);
                i += (uint32_t)adv;
                if (cp < 512 && t->char_is_byte[cp]) {
                    put(buf, cap, &k, &t->byte_of_char[cp], 1);
                } else { /* llama.cpp: "[UNK_BYTE_0x<utf8 hex>" + token text + "]" */
                    uint8_t u[4];
                    size_t un = unicode_encode(cp, u);
                    char tmp[16];
                    put(buf, cap, &k, "[UNK_BYTE_0x", 12);
                    for (size_t j = 0; j < un; j++) {
                        snprintf(tmp, sizeof tmp, "%02x", u[j]);
                        put(buf, cap, &k, tmp, 2);
                    }
                    put(buf, cap, &k, p, n);
                    put(buf, cap, &k, "]", 1);
                }
            }
        }
    } else if (attr & TOKEN_ATTR_BYTE) { /* strtol(text.substr(3, 2), 16) */
        int v = 0;
        for (uint32_t i = 3; i < 5 && i < n && hexval(p[i]) >= 0; i++) v = v * 16 + hexval(p[i]);
        uint8_t b = (uint8_t)v;
        put(buf, cap, &k, &b, 1);
    }
    return k > INT32_MAX ? INT32_MAX : (int)k;
}

int tokenizer_piece(const tokenizer *t, int32_t id, int unparse_special, char *buf, size_t cap) {
    int n = piece_impl(t, id, unparse_special, NULL, 0);
    if (n < 0) return -HEARTH_ERR_ARG;
    if ((size_t)n > cap) return -HEARTH_ERR_RANGE;
    return piece_impl(t, id, unparse_special, buf, cap);
}

/* ---------------------------------------------------------------- decode */

/* llama.cpp's clean_up_tokenization_spaces passes, in place. */
static size_t clean_spaces(char *text, size_t total) {
    size_t total1 = total;
    total = total ? 1 : 0;
    for (size_t i = 1; i < total1; ++i) {
        char x = text[i];
        if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) total--;
        text[total++] = x;
    }
    size_t total2 = total;
    total = total ? 1 : 0;
    for (size_t i = 1; i < total2; ++i) {
        char x = text[i];
        if (x == '\'' && i + 1 < total2 && text[i - 1] == ' ' && text[i + 1] == ' ') {
            total--;
            text[++i] = '\0';
        }
        text[total++] = x;
    }
    size_t total3 = total;
    total = total ? 1 : 0;
    for (size_t i = 1; i < total3; ++i) {
        char x = text[i];
        if (text[i - 1] == ' ' && x == '\'' && i + 1 < total3) {
            char x1 = text[i + 1];
            if (x1 == 's' || x1 == 'm') total--;
            else if (x1 != 't' && x1 != 'd' && i + 2 < total3) {
                char x2 = text[i + 2];
                if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) total--;
            }
        }
        text[total++] = x;
    }
    return total;
}

int tokenizer_decode(const tokenizer *t, const int32_t *ids, int n, int remove_special, int unparse_special,
                     char **out, size_t *len, hearth_error *err) {
    *out = NULL;
    if (len) *len = 0;
    if (n < 0 || (n > 0 && !ids)) return h_err(err, HEARTH_ERR_ARG, "tokenizer: bad id list (n = %d)", n);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (!valid_id(t, ids[i]))
            return h_err(err, HEARTH_ERR_ARG, "tokenizer: token id %d at position %d out of range (vocab %d)",
                         (int)ids[i], i, (int)t->n_vocab);
        if (!h_add_size(total, (size_t)piece_impl(t, ids[i], unparse_special, NULL, 0), &total))
            return h_err(err, HEARTH_ERR_RANGE, "tokenizer: decoded text too large");
    }
    char *buf = h_malloc(total + 1);
    if (!buf) return h_err(err, HEARTH_ERR_NOMEM, "tokenizer: out of memory for %zu bytes of text", total);
    int remove_space = t->add_space_prefix;
    int b = 0, e = n;
    if (remove_special && t->add_bos && e > b && ids[b] == t->bos) {
        remove_space = 0;
        b++;
    }
    if (remove_special && t->add_eos && e > b && ids[e - 1] == t->eos) e--;
    size_t k = 0;
    for (int i = b; i < e; i++) {
        int m = piece_impl(t, ids[i], unparse_special, buf + k, total - k);
        if (remove_space && m > 0 && buf[k] == ' ') {
            memmove(buf + k, buf + k + 1, (size_t)m - 1);
            m--;
        }
        remove_space = 0;
        k += (size_t)m;
    }
    if (t->clean_spaces) k = clean_spaces(buf, k);
    buf[k] = 0;
    *out = buf;
    if (len) *len = k;
    return HEARTH_OK;
}

/* ---------------------------------------------------------------- streaming */

void tokenizer_stream_init(tokenizer_stream *s, const tokenizer *t, int unparse_special) {
    memset(s, 0, sizeof *s);
    s->t = t;
    s->unparse_special = unparse_special;
}

size_t tokenizer_stream_cap(const tokenizer *t) { return 3 * ((size_t)t->max_piece + 4); }

static const uint8_t k_fffd[3] = {0xEF, 0xBF, 0xBD};

int tokenizer_stream_push(tokenizer_stream *s, int32_t id, char *out, size_t cap) {
    int plen = piece_impl(s->t, id, s->unparse_special, NULL, 0);
    if (plen < 0) return -HEARTH_ERR_ARG;
    size_t L = (size_t)s->n_pending + (size_t)plen;
    if (L > cap / 3) return -HEARTH_ERR_RANGE;
    /* input at the tail of out; output from the front never overtakes it (<= 3 bytes per byte) */
    uint8_t *in = (uint8_t *)out + (cap - L);
    memcpy(in, s->pending, (size_t)s->n_pending);
    piece_impl(s->t, id, s->unparse_special, (char *)in + s->n_pending, (size_t)plen);
    size_t w = 0, pos = 0;
    s->n_pending = 0;
    while (pos < L) {
        size_t k;
        int r = unicode_utf8_check(in + pos, L - pos, &k);
        if (r == 1) {
            memmove(out + w, in + pos, k);
            w += k;
        } else if (r == 0) {
            memcpy(out + w, k_fffd, 3);
            w += 3;
        } else {
            memcpy(s->pending, in + pos, L - pos);
            s->n_pending = (int)(L - pos);
            break;
        }
        pos += k;
    }
    return (int)w;
}

int tokenizer_stream_flush(tokenizer_stream *s, char *out, size_t cap) {
    if (s->n_pending == 0) return 0;
    if (cap < 3) return -HEARTH_ERR_RANGE;
    memcpy(out, k_fffd, 3);
    s->n_pending = 0;
    return 3;
}
