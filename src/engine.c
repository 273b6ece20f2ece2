/* engine.c — sessions: the token history of the KV cache, prefix reuse, batched evaluation
 * through the model's backend, and the generation loop (sampling, end-of-generation, stop
 * strings held back until they can no longer match, streaming UTF-8). */
#include "engine.h"

#include "sampler.h"
#include "tokenizer.h"

#include <stdio.h>

hearth_session_params hearth_session_default_params(void) {
    hearth_session_params p;
    memset(&p, 0, sizeof p);
    p.kv_type = HEARTH_KV_F32;
    return p;
}

static const backend_ops *model_backend(const hearth_model *m) {
    if (m->backend == HEARTH_BACKEND_WEBGPU && &backend_webgpu) return &backend_webgpu;
    return &backend_cpu;
}

int hearth_session_new(hearth_session **out, hearth_model *m, const hearth_session_params *p, hearth_error *err) {
    *out = NULL;
    hearth_session_params def = hearth_session_default_params();
    if (!p) p = &def;
    if (!m) return h_err(err, HEARTH_ERR_ARG, "session: no model");
    if (p->n_ctx < 0 || p->n_ctx > (1 << 22) || p->n_batch < 0 || p->n_batch > (1 << 16))
        return h_err(err, HEARTH_ERR_ARG, "session: context %d / batch %d out of range", p->n_ctx, p->n_batch);
    if (p->kv_type != HEARTH_KV_F32 && p->kv_type != HEARTH_KV_F16)
        return h_err(err, HEARTH_ERR_ARG, "session: unknown KV cache type %d", p->kv_type);
    hearth_session *s = h_calloc(1, sizeof *s);
    if (!s) return h_err(err, HEARTH_ERR_NOMEM, "session: out of memory");
    s->m = m;
    s->be = model_backend(m);
    s->p = *p;
    s->n_ctx = p->n_ctx ? p->n_ctx : H_MIN(m->hp.n_ctx_train, 4096);
    s->n_batch = H_MIN(p->n_batch ? p->n_batch : 256, s->n_ctx);
    int st;
    s->tokens = h_malloc_array((size_t)s->n_ctx, sizeof *s->tokens);
    s->logits = h_calloc((size_t)m->hp.n_vocab, sizeof *s->logits);
    if (!s->tokens || !s->logits) {
        st = h_err(err, HEARTH_ERR_NOMEM, "session: out of memory");
        goto fail;
    }
    if (p->all_logits) {
        s->all_logits = h_malloc_array((size_t)s->n_batch * (size_t)m->hp.n_vocab, sizeof(float));
        if (!s->all_logits) {
            st = h_err(err, HEARTH_ERR_NOMEM, "session: out of memory for %d rows of logits", s->n_batch);
            goto fail;
        }
        s->all_logits_cap = (size_t)s->n_batch;
    }
    if ((st = s->be->session_init(s, err))) goto fail;
    *out = s;
    return HEARTH_OK;
fail:
    hearth_session_free(s);
    return st;
}

void hearth_session_free(hearth_session *s) {
    if (!s) return;
    if (s->be && s->state) s->be->session_free(s);
    h_free(s->tokens);
    h_free(s->logits);
    h_free(s->all_logits);
    h_free(s);
}

const char *hearth_session_errmsg(const hearth_session *s) { return s ? s->err.msg : "no session"; }
int hearth_session_n_tokens(const hearth_session *s) { return s->n_tokens; }
int hearth_session_n_ctx(const hearth_session *s) { return s->n_ctx; }
const float *hearth_session_logits(const hearth_session *s) { return s->logits; }

const float *hearth_session_all_logits(const hearth_session *s, int *n_rows) {
    if (n_rows) *n_rows = s->n_all_rows;
    return s->all_logits;
}

int hearth_session_eval(hearth_session *s, const int32_t *ids, int n) {
    hearth_error *err = &s->err;
    h_err_clear(err);
    if (n <= 0 || !ids) return h_err(err, HEARTH_ERR_ARG, "session: nothing to evaluate (%d tokens)", n);
    if (n > s->n_ctx - s->n_tokens)
        return h_err(err, HEARTH_ERR_RANGE,
                     "session: context full: %d tokens held + %d new exceed the context of %d tokens", s->n_tokens,
                     n, s->n_ctx);
    if (s->p.all_logits && n > s->n_batch)
        return h_err(err, HEARTH_ERR_ARG, "session: with all_logits at most %d tokens per call (got %d)", s->n_batch,
                     n);
    int n_vocab = s->m->hp.n_vocab;
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= n_vocab)
            return h_err(err, HEARTH_ERR_ARG, "session: token id %d at index %d is out of range [0, %d)", (int)ids[i], i,
                         n_vocab);
    for (int done = 0; done < n;) {
        int chunk = H_MIN(n - done, s->n_batch);
        float *out = s->p.all_logits ? s->all_logits : s->logits;
        int st = s->be->eval(s, ids + done, chunk, s->n_tokens, out, s->p.all_logits, err);
        if (st) {
            s->n_all_rows = 0;
            return st;
        }
        memcpy(s->tokens + s->n_tokens, ids + done, (size_t)chunk * sizeof *ids);
        s->n_tokens += chunk;
        done += chunk;
        if (s->p.all_logits) {
            s->n_all_rows = chunk;
            memcpy(s->logits, s->all_logits + (size_t)(chunk - 1) * (size_t)n_vocab, (size_t)n_vocab * sizeof(float));
        }
    }
    return HEARTH_OK;
}

int hearth_session_truncate(hearth_session *s, int n) {
    if (n < 0 || n > s->n_tokens)
        return h_err(&s->err, HEARTH_ERR_ARG, "session: cannot truncate %d tokens to %d", s->n_tokens, n);
    s->n_tokens = n;
    return HEARTH_OK;
}

int hearth_session_set_tokens(hearth_session *s, const int32_t *ids, int n, int *n_reused) {
    if (n_reused) *n_reused = 0;
    if (n <= 0 || !ids) return h_err(&s->err, HEARTH_ERR_ARG, "session: empty token list");
    int k = 0, lim = H_MIN(n, s->n_tokens);
    while (k < lim && s->tokens[k] == ids[k]) k++;
    /* the logits must be those after ids[n-1]: re-evaluate at least the last token */
    if (k == n) k = n - 1;
    if (n_reused) *n_reused = k;
    s->n_tokens = k;
    return hearth_session_eval(s, ids + k, n - k);
}

/* ---- text helpers -------------------------------------------------------------------------- */

int hearth_tokenize(const hearth_model *m, const char *text, size_t len, int add_special, int parse_special,
                    int32_t *ids, int cap, int *n_ids, hearth_error *err) {
    if (n_ids) *n_ids = 0;
    if (!m->tok) return h_err(err, HEARTH_ERR_UNSUPPORTED, "tokenize: the model file has no tokenizer");
    int32_t *tmp = NULL;
    int n = 0;
    int st = tokenizer_encode(m->tok, text, len, add_special, parse_special, &tmp, &n, err);
    if (st) return st;
    if (n_ids) *n_ids = n;
    if (n > cap) {
        h_free(tmp);
        return h_err(err, HEARTH_ERR_RANGE, "tokenize: %d tokens do not fit in %d", n, cap);
    }
    if (n) memcpy(ids, tmp, (size_t)n * sizeof *ids);
    h_free(tmp);
    return HEARTH_OK;
}

int hearth_token_piece(const hearth_model *m, int32_t id, char *buf, size_t cap) {
    if (!m->tok) return -HEARTH_ERR_UNSUPPORTED;
    return tokenizer_piece(m->tok, id, 1, buf, cap);
}

int hearth_token_is_eog(const hearth_model *m, int32_t id) { return m->tok ? tokenizer_is_eog(m->tok, id) : 0; }
int32_t hearth_token_bos(const hearth_model *m) { return m->tok ? tokenizer_bos(m->tok) : -1; }

/* ---- generation ---------------------------------------------------------------------------- */

/* Text produced but not yet passed on, because it may be the start of a stop string. */
typedef struct held_text {
    char *buf;
    size_t len, cap;
} held_text;

static int held_append(held_text *h, const char *p, size_t n) {
    if (h->len + n > h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        while (cap < h->len + n) cap *= 2;
        char *b = h_realloc(h->buf, cap);
        if (!b) return HEARTH_ERR_NOMEM;
        h->buf = b;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, p, n);
    h->len += n;
    return HEARTH_OK;
}

/* Length of the longest suffix of s[0..n) that is a proper prefix of some stop string. */
static size_t stop_prefix_tail(const char *s, size_t n, const char *const *stop, int n_stop) {
    size_t best = 0;
    for (int i = 0; i < n_stop; i++) {
        size_t sl = strlen(stop[i]);
        for (size_t k = H_MIN(sl - (sl > 0), n); k > best; k--)
            if (memcmp(s + n - k, stop[i], k) == 0) {
                best = k;
                break;
            }
    }
    return best;
}

/* The per-token side of generation, shared by the CPU loop and a backend's own loop: end of
 * generation, streaming UTF-8, stop strings held back until they can no longer match, the
 * caller's callback. */
typedef struct gen_state {
    hearth_session *s;
    const hearth_generate_params *gp;
    hearth_token_fn cb;
    void *user;
    tokenizer_stream ts;
    held_text held;
    char *piece;
    size_t piece_cap;
    int produced, reason, st;
} gen_state;

/* Returns nonzero when generation stops at this token (which then is not kept in the session). */
static int gen_accept(gen_state *g, int32_t id) {
    const hearth_model *m = g->s->m;
    const hearth_generate_params *gp = g->gp;
    if (m->tok && tokenizer_is_eog(m->tok, id) && !gp->ignore_eog) {
        g->reason = HEARTH_STOP_EOG;
        return 1;
    }
    g->produced++;
    int len = 0;
    if (m->tok) {
        len = tokenizer_stream_push(&g->ts, id, g->piece, g->piece_cap);
        if (len < 0) len = 0;
    }
    if (gp->n_stop == 0) {
        if (g->cb && g->cb(g->user, id, g->piece, (size_t)len)) g->reason = HEARTH_STOP_CALLBACK;
        return g->reason != HEARTH_STOP_NONE;
    }
    held_text *h = &g->held;
    if ((g->st = held_append(h, g->piece, (size_t)len))) {
        h_err(&g->s->err, g->st, "generate: out of memory");
        return 1;
    }
    /* a complete stop string ends generation; the text before it is passed on */
    size_t cut = h->len;
    int hit = 0;
    for (int i = 0; i < gp->n_stop; i++) {
        size_t sl = strlen(gp->stop[i]);
        for (size_t at = 0; at + sl <= h->len; at++)
            if (memcmp(h->buf + at, gp->stop[i], sl) == 0) {
                if (at < cut) cut = at;
                hit = 1;
                break;
            }
    }
    size_t keep = hit ? 0 : stop_prefix_tail(h->buf, h->len, gp->stop, gp->n_stop);
    size_t emit = hit ? cut : h->len - keep;
    if (g->cb && g->cb(g->user, id, h->buf, emit)) g->reason = HEARTH_STOP_CALLBACK;
    memmove(h->buf, h->buf + emit, h->len - emit);
    h->len -= emit;
    if (hit) {
        h->len = 0;
        g->reason = HEARTH_STOP_STRING;
    }
    return g->reason != HEARTH_STOP_NONE;
}

static int gen_on_token(void *user, int32_t id) { return gen_accept(user, id); }

int hearth_generate(hearth_session *s, hearth_sampler *smp, const hearth_generate_params *gp, hearth_token_fn cb,
                    void *user, int *n_generated, int *reason) {
    hearth_generate_params def = {0};
    if (!gp) gp = &def;
    if (n_generated) *n_generated = 0;
    if (reason) *reason = HEARTH_STOP_NONE;
    if (s->n_tokens == 0)
        return h_err(&s->err, HEARTH_ERR_ARG, "generate: the session holds no tokens (evaluate a prompt first)");
    for (int i = 0; i < gp->n_stop; i++)
        if (!gp->stop || !gp->stop[i] || !gp->stop[i][0])
            return h_err(&s->err, HEARTH_ERR_ARG, "generate: stop string %d is empty", i);
    const hearth_model *m = s->m;
    gen_state g = {.s = s, .gp = gp, .cb = cb, .user = user};
    if (m->tok) tokenizer_stream_init(&g.ts, m->tok, 0);
    g.piece_cap = m->tok ? tokenizer_stream_cap(m->tok) : 1;
    g.piece = h_malloc(g.piece_cap);
    if (!g.piece) return h_err(&s->err, HEARTH_ERR_NOMEM, "generate: out of memory");
    int room = s->n_ctx - s->n_tokens;
    if (s->be->generate) {
        /* the backend's own loop (sampling on the device, tokens evaluated ahead) */
        int limit = gp->max_tokens > 0 ? H_MIN(gp->max_tokens, room) : room, accepted = 0;
        if (limit > 0)
            g.st = s->be->generate(s, sampler_params(smp), sampler_rng(smp), limit, gen_on_token, &g, &accepted,
                                   &s->err);
        if (!g.st && g.reason == HEARTH_STOP_NONE)
            g.reason = gp->max_tokens > 0 && g.produced >= gp->max_tokens ? HEARTH_STOP_MAX_TOKENS
                                                                          : HEARTH_STOP_CONTEXT_FULL;
    } else {
        for (;;) {
            if (gp->max_tokens > 0 && g.produced >= gp->max_tokens) {
                g.reason = HEARTH_STOP_MAX_TOKENS;
                break;
            }
            if (s->n_tokens >= s->n_ctx) {
                g.reason = HEARTH_STOP_CONTEXT_FULL;
                break;
            }
            int32_t id = hearth_sampler_sample(smp, s->logits, s->tokens, s->n_tokens);
            if (gen_accept(&g, id) || g.st) break;
            if ((g.st = hearth_session_eval(s, &id, 1))) break;
        }
    }
    /* pass on what was held back (an incomplete stop-string prefix, a partial character) */
    if (g.st == HEARTH_OK && g.reason != HEARTH_STOP_STRING && cb) {
        if (m->tok) {
            int len = tokenizer_stream_flush(&g.ts, g.piece, g.piece_cap);
            if (len > 0 && (g.st = held_append(&g.held, g.piece, (size_t)len)))
                h_err(&s->err, g.st, "generate: out of memory");
        }
        if (g.st == HEARTH_OK && g.held.len) cb(user, -1, g.held.buf, g.held.len);
    }
    h_free(g.held.buf);
    h_free(g.piece);
    if (n_generated) *n_generated = g.produced;
    if (reason) *reason = g.reason;
    return g.st;
}
