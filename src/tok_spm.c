/* tok_spm.c — SentencePiece-style BPE of one text fragment (spaces already escaped to U+2581), as
 * llama.cpp's llm_tokenizer_spm_session: the text starts as UTF-8 characters (split by lead-byte
 * length, no validation); the adjacent pair whose concatenation is a vocab token with the highest
 * score (ties: leftmost) is merged until none is left; symbols that are not tokens become byte
 * tokens <0xXX>. Heap + linked list: O(n log n). */
#include "tok_internal.h"

typedef struct ssym {
    int32_t prev, next;
    uint32_t start, len;
} ssym;

/* A candidate merge of symbol `left` with its right neighbour. The neighbour is not stored: a
 * candidate is current iff both symbols are alive and their lengths still add up to size (merges
 * only grow symbols, so a different neighbour or a grown one cannot match). */
typedef struct scand {
    float score;
    int32_t left;
    uint32_t size;
} scand;

static int before(const scand *a, const scand *b) { /* a pops before b */
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(scand *h, size_t *n, scand c) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&c, &h[parent])) break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = c;
}

static scand heap_pop(scand *h, size_t *n) {
    scand top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const scand *mc = &last;
        if (l < *n && before(&h[l], mc)) m = l, mc = &h[l];
        if (r < *n && before(&h[r], mc)) m = r;
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    if (*n) h[i] = last;
    return top;
}

/* Queues the pair (l, r) if it is a vocabulary token; the heap grows as needed. */
static int try_pair(const tokenizer *t, const uint8_t *s, const ssym *sym, int32_t l, int32_t r, tok_scratch *sc,
                    size_t *nh) {
    if (l < 0 || r < 0) return HEARTH_OK;
    uint32_t size = sym[l].len + sym[r].len;
    int32_t id = tok_text_to_token(t, (const char *)s + sym[l].start, size);
    if (id < 0) return HEARTH_OK;
    if ((*nh + 1) * sizeof(scand) > sc->heap_cap && tok_grow(&sc->heap, &sc->heap_cap, (*nh + 1) * sizeof(scand)))
        return HEARTH_ERR_NOMEM;
    scand c = {t->scores[id], l, size};
    heap_push(sc->heap, nh, c);
    return HEARTH_OK;
}

int tok_spm_text(const tokenizer *t, const uint8_t *s, size_t n, tok_scratch *sc, tok_vec *out) {
    if (n == 0) return HEARTH_OK;
    if (n > INT32_MAX / 4) return HEARTH_ERR_RANGE;
    /* one symbol per UTF-8 character (lead-byte lengths, as in the split below) */
    size_t chars = 0;
    for (size_t off = 0; off < n; chars++) {
        size_t len = unicode_len_utf8(s[off]);
        off += len > n - off ? n - off : len;
    }
    size_t need_sym;
    if (!h_mul_size(chars, sizeof(ssym), &need_sym) || tok_grow(&sc->sym, &sc->sym_cap, need_sym))
        return HEARTH_ERR_NOMEM;
    ssym *sym = sc->sym;
    size_t nh = 0;
    int st;
    int32_t ns = 0;
    for (size_t off = 0; off < n;) {
        size_t len = unicode_len_utf8(s[off]);
        if (len > n - off) len = n - off;
        sym[ns].prev = ns - 1;
        sym[ns].start = (uint32_t)off;
        sym[ns].len = (uint32_t)len;
        off += len;
        sym[ns].next = off == n ? -1 : ns + 1;
        ns++;
    }
    for (int32_t i = 1; i < ns; i++)
        if ((st = try_pair(t, s, sym, i - 1, i, sc, &nh))) return st;
    while (nh > 0) {
        scand c = heap_pop(sc->heap, &nh);
        ssym *l = &sym[c.left];
        if (l->len == 0 || l->next < 0) continue;
        ssym *r = &sym[l->next];
        if (r->len == 0 || l->len + r->len != c.size) continue; /* stale */
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = c.left;
        if ((st = try_pair(t, s, sym, l->prev, c.left, sc, &nh)) || (st = try_pair(t, s, sym, c.left, l->next, sc, &nh)))
            return st;
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next) {
        int32_t id = tok_text_to_token(t, (const char *)s + sym[i].start, sym[i].len);
        if (id >= 0) {
            if (tok_vec_push(out, id)) return HEARTH_ERR_NOMEM;
            continue;
        }
        for (uint32_t k = 0; k < sym[i].len; k++) {
            /* llama.cpp throws when a vocab has neither <0xXX> nor the byte itself; we use <unk> */
            int32_t b = t->byte_token[s[sym[i].start + k]];
            if (b < 0) b = t->unk;
            if (b >= 0 && tok_vec_push(out, b)) return HEARTH_ERR_NOMEM;
        }
    }
    return HEARTH_OK;
}
