/* sampler.c — logits to token: logit bias, repetition / frequency / presence penalties,
 * temperature, top-k, top-p, min-p and a draw with the sampler's own xorshift64* RNG. All buffers
 * are allocated at creation; sampling never allocates. */
#include "sampler.h"

#include "base.h"

#include <math.h>
#include <stdlib.h>

typedef struct cand {
    float p;
    int32_t id;
} cand;

struct hearth_sampler {
    hearth_sampler_params p;
    int n_vocab;
    uint64_t rng;
    int32_t *bias_ids;
    float *bias;
    float *work;    /* n_vocab: adjusted logits, then probabilities */
    cand *cands;    /* n_vocab */
    int32_t *count; /* n_vocab: occurrences among recent tokens (reset after each use) */
};

hearth_sampler_params hearth_sampler_default_params(void) {
    hearth_sampler_params p;
    memset(&p, 0, sizeof p);
    p.temperature = 0;
    p.top_p = 1.0f;
    p.repeat_penalty = 1.0f;
    p.repeat_last_n = 64;
    return p;
}

const hearth_sampler_params *sampler_params(const hearth_sampler *s) { return &s->p; }
uint64_t *sampler_rng(hearth_sampler *s) { return &s->rng; }

void hearth_sampler_free(hearth_sampler *s) {
    if (!s) return;
    h_free(s->bias_ids);
    h_free(s->bias);
    h_free(s->work);
    h_free(s->cands);
    h_free(s->count);
    h_free(s);
}

int hearth_sampler_new(hearth_sampler **out, const hearth_sampler_params *p, int n_vocab, hearth_error *err) {
    *out = NULL;
    if (n_vocab <= 0) return h_err(err, HEARTH_ERR_ARG, "sampler: vocabulary size %d", n_vocab);
    if (!(isfinite(p->temperature)) || !(p->top_p == p->top_p) || !(p->min_p == p->min_p) ||
        !isfinite(p->repeat_penalty) || p->repeat_penalty <= 0 || !isfinite(p->frequency_penalty) ||
        !isfinite(p->presence_penalty))
        return h_err(err, HEARTH_ERR_ARG,
                     "sampler: invalid parameters (temperature %g, top_p %g, min_p %g, repeat_penalty %g)",
                     (double)p->temperature, (double)p->top_p, (double)p->min_p, (double)p->repeat_penalty);
    if (p->n_logit_bias < 0 || (p->n_logit_bias > 0 && (!p->logit_bias_ids || !p->logit_bias)))
        return h_err(err, HEARTH_ERR_ARG, "sampler: logit bias arrays missing");
    for (int i = 0; i < p->n_logit_bias; i++) {
        if (p->logit_bias_ids[i] < 0 || p->logit_bias_ids[i] >= n_vocab)
            return h_err(err, HEARTH_ERR_ARG, "sampler: logit bias token %d out of range [0, %d)",
                         (int)p->logit_bias_ids[i], n_vocab);
        if (p->logit_bias[i] != p->logit_bias[i])
            return h_err(err, HEARTH_ERR_ARG, "sampler: logit bias for token %d is NaN", (int)p->logit_bias_ids[i]);
    }
    hearth_sampler *s = h_calloc(1, sizeof *s);
    if (!s) return h_err(err, HEARTH_ERR_NOMEM, "sampler: out of memory");
    s->p = *p;
    s->n_vocab = n_vocab;
    s->rng = p->seed;
    s->work = h_malloc_array((size_t)n_vocab, sizeof *s->work);
    s->cands = h_malloc_array((size_t)n_vocab, sizeof *s->cands);
    s->count = h_calloc((size_t)n_vocab, sizeof *s->count);
    if (p->n_logit_bias) {
        s->bias_ids = h_malloc_array((size_t)p->n_logit_bias, sizeof *s->bias_ids);
        s->bias = h_malloc_array((size_t)p->n_logit_bias, sizeof *s->bias);
        if (s->bias_ids && s->bias) {
            memcpy(s->bias_ids, p->logit_bias_ids, (size_t)p->n_logit_bias * sizeof *s->bias_ids);
            memcpy(s->bias, p->logit_bias, (size_t)p->n_logit_bias * sizeof *s->bias);
        }
    }
    s->p.logit_bias_ids = s->bias_ids;
    s->p.logit_bias = s->bias;
    if (!s->work || !s->cands || !s->count || (p->n_logit_bias && (!s->bias_ids || !s->bias))) {
        hearth_sampler_free(s);
        return h_err(err, HEARTH_ERR_NOMEM, "sampler: out of memory");
    }
    *out = s;
    return HEARTH_OK;
}

/* xorshift64* as in llama2.c: one 32-bit draw, then a float in [0, 1) with 24 random bits. */
static uint32_t rng_u32(uint64_t *state) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (uint32_t)((*state * 0x2545F4914F6CDD1Dull) >> 32);
}

static float rng_f32(uint64_t *state) { return (float)(rng_u32(state) >> 8) / 16777216.0f; }

static int cand_desc(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->p > y->p) return -1;
    if (x->p < y->p) return 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Restores the min-heap order (worst candidate on top) below position j of c[0..k). */
static void sift_down(cand *c, int k, int j) {
    for (;;) {
        int l = 2 * j + 1, r = l + 1, m = j;
        if (l < k && cand_desc(&c[l], &c[m]) > 0) m = l;
        if (r < k && cand_desc(&c[r], &c[m]) > 0) m = r;
        if (m == j) return;
        cand t = c[j];
        c[j] = c[m];
        c[m] = t;
        j = m;
    }
}

/* Moves the k best candidates (by p, ties -> lower id) to the front, sorted. */
static void top_k_select(cand *c, int n, int k) {
    if (k >= n) {
        qsort(c, (size_t)n, sizeof *c, cand_desc);
        return;
    }
    /* min-heap of the k best seen so far */
    for (int i = k / 2 - 1; i >= 0; i--) sift_down(c, k, i);
    for (int i = k; i < n; i++) {
        if (cand_desc(&c[i], &c[0]) >= 0) continue; /* not better than the worst kept */
        c[0] = c[i];
        sift_down(c, k, 0);
    }
    qsort(c, (size_t)k, sizeof *c, cand_desc);
}

int32_t hearth_sampler_sample(hearth_sampler *s, const float *logits, const int32_t *recent, int n_recent) {
    const hearth_sampler_params *p = &s->p;
    int n = s->n_vocab;
    float *w = s->work;
    memcpy(w, logits, (size_t)n * sizeof *w);
    for (int i = 0; i < p->n_logit_bias; i++) w[p->logit_bias_ids[i]] += p->logit_bias[i];

    int penalize = p->repeat_penalty != 1.0f || p->frequency_penalty != 0 || p->presence_penalty != 0;
    if (penalize && recent && n_recent > 0 && p->repeat_last_n != 0) {
        int last = p->repeat_last_n < 0 ? n_recent : H_MIN(n_recent, p->repeat_last_n);
        const int32_t *r = recent + (n_recent - last);
        for (int i = 0; i < last; i++)
            if (r[i] >= 0 && r[i] < n) s->count[r[i]]++;
        for (int i = 0; i < last; i++) {
            int32_t id = r[i];
            if (id < 0 || id >= n || s->count[id] == 0) continue; /* done already */
            float l = w[id];
            if (p->repeat_penalty != 1.0f) l = l > 0 ? l / p->repeat_penalty : l * p->repeat_penalty;
            l -= (float)s->count[id] * p->frequency_penalty + p->presence_penalty;
            w[id] = l;
            s->count[id] = 0;
        }
    }

    if (p->temperature <= 0) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (w[i] > w[best]) best = i;
        return best;
    }

    /* temperature and softmax (float arithmetic as in run.c) */
    for (int i = 0; i < n; i++) w[i] /= p->temperature;
    float mx = w[0];
    for (int i = 1; i < n; i++)
        if (w[i] > mx) mx = w[i];
    float sum = 0;
    for (int i = 0; i < n; i++) {
        w[i] = expf(w[i] - mx);
        sum += w[i];
    }
    for (int i = 0; i < n; i++) w[i] /= sum;
    float coin = rng_f32(&s->rng);

    int use_k = p->top_k > 0 && p->top_k < n, use_p = p->top_p > 0 && p->top_p < 1, use_min = p->min_p > 0;
    if (!use_k && !use_p && !use_min) { /* plain draw over the whole distribution, in id order */
        float cdf = 0;
        for (int i = 0; i < n; i++) {
            cdf += w[i];
            if (coin < cdf) return i;
        }
        return n - 1;
    }
    cand *c = s->cands;
    int nc = 0;
    if (use_k) {
        for (int i = 0; i < n; i++) c[i].p = w[i], c[i].id = i;
        top_k_select(c, n, p->top_k);
        nc = p->top_k;
    } else if (use_p) {
        /* tokens below (1 - top_p) / (n - 1) cannot be in the nucleus (run.c's shortcut) */
        float cutoff = (1.0f - p->top_p) / (float)(n - 1);
        for (int i = 0; i < n; i++)
            if (w[i] >= cutoff) c[nc].p = w[i], c[nc].id = i, nc++;
        qsort(c, (size_t)nc, sizeof *c, cand_desc);
    } else {
        for (int i = 0; i < n; i++) c[i].p = w[i], c[i].id = i;
        nc = n;
        qsort(c, (size_t)nc, sizeof *c, cand_desc);
    }
    if (nc == 0) return 0;
    if (use_p) {
        float cum = 0;
        int last = nc - 1;
        for (int i = 0; i < nc; i++) {
            cum += c[i].p;
            if (cum > p->top_p) {
                last = i;
                break;
            }
        }
        nc = last + 1;
    }
    if (use_min) {
        float floor_p = p->min_p * c[0].p;
        int keep = 1;
        while (keep < nc && c[keep].p >= floor_p) keep++;
        nc = keep;
    }
    float total = 0;
    for (int i = 0; i < nc; i++) total += c[i].p;
    float r = coin * total, cdf = 0;
    for (int i = 0; i < nc; i++) {
        cdf += c[i].p;
        if (r < cdf) return c[i].id;
    }
    return c[nc - 1].id;
}
