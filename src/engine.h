/* engine.h — sessions (KV cache, prefix reuse) and the backend interface they run on. The CPU
 * backend lives in model.c (forward) + engine.c; a GPU backend provides the same operations.
 *
 *   A backend evaluates tokens at given positions into its own KV cache and returns logits.
 *   The session keeps the token history, so hearth_session_set_tokens can keep the common prefix.
 */
#ifndef HEARTH_ENGINE_H
#define HEARTH_ENGINE_H

#include "model.h"

typedef struct backend_ops {
    const char *name;
    /* Makes the weights usable by the backend (upload, repack). Called once by hearth_model_load. */
    int (*model_init)(hearth_model *m, hearth_error *err);
    void (*model_free)(hearth_model *m);
    /* Allocates the session's KV cache and scratch for s->n_ctx tokens and s->n_batch per eval. */
    int (*session_init)(hearth_session *s, hearth_error *err);
    void (*session_free)(hearth_session *s);
    /* Evaluates ids[0..n) (n <= s->n_batch) at positions pos..pos+n-1 (the KV cache holds the
     * first pos tokens). Writes n rows of n_vocab logits to out if all_logits, else only the last
     * row. Positions >= pos in the cache are overwritten (truncation needs no backend call). */
    int (*eval)(hearth_session *s, const int32_t *ids, int n, int pos, float *out, int all_logits,
                hearth_error *err);
    /* Optional: the backend's own generation loop (sampling on the device, tokens evaluated ahead
     * of the callback). Samples after what the session holds with p and the random stream
     * *rng_state (left as a CPU sampler that drew the accepted tokens would leave it), calls
     * on_token(user, id) for each token in order; nonzero stops and rejects that token. Accepted
     * tokens are appended to the session and s->logits are current afterwards. */
    int (*generate)(hearth_session *s, const hearth_sampler_params *p, uint64_t *rng_state, int max_tokens,
                    int (*on_token)(void *user, int32_t id), void *user, int *n_accepted, hearth_error *err);
} backend_ops;

extern const backend_ops backend_cpu;
/* Provided by src/gpu when built with the WebGPU backend (weak: NULL when absent). */
extern const backend_ops backend_webgpu __attribute__((weak));

struct hearth_session {
    hearth_model *m;
    const backend_ops *be;
    hearth_session_params p;
    int n_ctx, n_batch;
    int32_t *tokens;       /* n_ctx: the tokens whose K/V are in the cache */
    int n_tokens;
    float *logits;         /* n_vocab: after the last evaluated token */
    float *all_logits;     /* p.all_logits: one row per token of the last eval call */
    size_t all_logits_cap; /* rows allocated */
    int n_all_rows;        /* rows valid */
    void *state;           /* backend-private: KV cache, scratch */
    hearth_error err;
};

#endif
