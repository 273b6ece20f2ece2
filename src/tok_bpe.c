/* tok_bpe.c — byte-level BPE of one pre-tokenized word, as llama.cpp's llm_tokenizer_bpe_session:
 * every byte starts as the symbol of its GPT-2 byte character; the adjacent pair with the lowest
 * merge rank (ties: leftmost) is merged until no pair has a rank. A binary heap of candidate pairs
 * plus a doubly linked list of symbols keeps this O(n log n) in the word length. */
#include "tok_internal.h"

#include <string.h>

typedef struct bsym {
    int32_t prev, next;
    int32_t sid;  /* string id of the symbol's byte-level text, -1 if not interned */
    uint32_t start, len; /* raw bytes of the word */
} bsym;

/* Queue entries are just (rank << 32) | left: smaller pops first, ties leftmost as in llama.cpp.
 * An entry is current iff its left symbol is alive and the pair (left, next) still has that rank:
 * a rank names one merge rule, and symbols only grow, so an outdated pair never has it again. */

/* A 4-ary min-heap: half the levels of a binary heap and siblings on one cache line, which matters
 * for the million-entry queues of very long words. */
static void sift_down(uint64_t *h, size_t n, size_t i) {
    uint64_t x = h[i];
    for (;;) {
        size_t c = 4 * i + 1, m = i;
        uint64_t mk = x;
        for (size_t k = c; k < c + 4 && k < n; k++)
            if (h[k] < mk) m = k, mk = h[k];
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    h[i] = x;
}

static void heap_push(uint64_t *h, size_t *n, uint64_t key) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 4;
        if (h[parent] <= key) break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = key;
}

static uint64_t heap_pop(uint64_t *h, size_t *n) {
    uint64_t top = h[0];
    h[0] = h[--(*n)];
    if (*n) sift_down(h, *n, 0);
    return top;
}

static int pair_key(const tokenizer *t, const bsym *s, int32_t l, int32_t r, uint64_t *key) {
    if (l < 0 || r < 0) return 0;
    const tok_merge *m = tok_merge_find(t, s[l].sid, s[r].sid);
    if (!m) return 0;
    *key = ((uint64_t)(uint32_t)m->rank << 32) | (uint32_t)l;
    return 1;
}

static void try_pair(const tokenizer *t, const bsym *s, int32_t l, int32_t r, uint64_t *h, size_t *nh) {
    uint64_t key;
    if (pair_key(t, s, l, r, &key)) heap_push(h, nh, key);
}

/* Byte-level text of raw bytes (each byte -> its GPT-2 character). */
static size_t byte_level(const tokenizer *t, const uint8_t *w, size_t n, uint8_t *dst) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += unicode_encode(t->byte_cp[w[i]], dst + k);
    return k;
}

/* A symbol whose text is no token: llama.cpp looks each byte of its byte-level text up as a
 * one-byte string (only printable ASCII can match) and drops the rest. */
static int emit_fallback(const tokenizer *t, const uint8_t *w, const bsym *s, tok_scratch *sc, tok_vec *out) {
    size_t need;
    if (!h_mul_size(s->len, 2, &need) || tok_grow((void **)&sc->bytes, &sc->bytes_cap, need + 4))
        return HEARTH_ERR_NOMEM;
    size_t k = byte_level(t, w + s->start, s->len, sc->bytes);
    for (size_t i = 0; i < k; i++) {
        int32_t id = tok_text_to_token(t, (const char *)&sc->bytes[i], 1);
        if (id >= 0 && tok_vec_push(out, id)) return HEARTH_ERR_NOMEM;
    }
    return HEARTH_OK;
}

int tok_bpe_word(const tokenizer *t, const uint8_t *w, size_t n, tok_scratch *sc, tok_vec *out) {
    if (n == 0) return HEARTH_OK;
    if (n > INT32_MAX / 4) return HEARTH_ERR_RANGE;
    if (t->ignore_merges) { /* a word that is a token as a whole is taken as it is */
        size_t need;
        if (!h_mul_size(n, 2, &need) || tok_grow((void **)&sc->bytes, &sc->bytes_cap, need + 4))
            return HEARTH_ERR_NOMEM;
        size_t k = byte_level(t, w, n, sc->bytes);
        int32_t id = tok_text_to_token(t, (const char *)sc->bytes, k);
        if (id >= 0) return tok_vec_push(out, id);
    }
    size_t need_sym, need_heap;
    if (!h_mul_size(n, sizeof(bsym), &need_sym) || !h_mul_size(3 * n, sizeof(uint64_t), &need_heap) ||
        tok_grow(&sc->sym, &sc->sym_cap, need_sym) || tok_grow(&sc->heap, &sc->heap_cap, need_heap))
        return HEARTH_ERR_NOMEM;
    bsym *s = sc->sym;
    uint64_t *h = sc->heap;
    size_t nh = 0;
    for (size_t i = 0; i < n; i++) {
        s[i].prev = (int32_t)i - 1;
        s[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
        s[i].sid = t->byte_sid[w[i]];
        s[i].start = (uint32_t)i;
        s[i].len = 1;
    }
    for (size_t i = 1; i < n; i++)
        if (pair_key(t, s, (int32_t)i - 1, (int32_t)i, &h[nh])) nh++;
    for (size_t i = nh / 4 + 1; i-- > 0;) if (i < nh) sift_down(h, nh, i); /* heapify: O(n) */
    /* every merge adds at most two entries: fewer than 3n in the queue */
    while (nh > 0) {
        uint64_t key = heap_pop(h, &nh);
        int32_t l = (int32_t)(uint32_t)key, r = s[l].next;
        if (s[l].len == 0 || r < 0) continue;
        const tok_merge *m = tok_merge_find(t, s[l].sid, s[r].sid);
        if (!m || (uint32_t)m->rank != (uint32_t)(key >> 32)) continue; /* outdated */
        s[l].sid = m->result;
        s[l].len += s[r].len;
        s[r].len = 0;
        s[l].next = s[r].next;
        if (s[r].next >= 0) s[s[r].next].prev = l;
        try_pair(t, s, s[l].prev, l, h, &nh);
        try_pair(t, s, l, s[l].next, h, &nh);
    }
    for (int32_t i = 0; i >= 0; i = s[i].next) {
        int32_t sid = s[i].sid;
        int32_t id = sid >= 0 && sid < t->n_vocab ? sid : -1;
        if (id >= 0) {
            if (tok_vec_push(out, id)) return HEARTH_ERR_NOMEM;
        } else if (emit_fallback(t, w, &s[i], sc, out)) {
            return HEARTH_ERR_NOMEM;
        }
    }
    return HEARTH_OK;
}
