/* test_sampler.c — the sampler: greedy ties, seed reproducibility, and distribution checks of
 * temperature, top-k, top-p, min-p, penalties and logit bias against probabilities computed
 * here in double precision from the definitions (not from the sampler's code). */
#include "test.h"

#include "hearth.h"

#include <math.h>
#include <stdint.h>

#define NV 8
#define DRAWS 200000

/* Expected probabilities: softmax(logits / t) restricted to `keep` and renormalised. */
static void expected(const float *logits, double t, const int *keep, double *p) {
    double mx = -1e300, sum = 0;
    for (int i = 0; i < NV; i++)
        if (keep[i] && logits[i] / t > mx) mx = logits[i] / t;
    for (int i = 0; i < NV; i++) sum += p[i] = keep[i] ? exp(logits[i] / t - mx) : 0;
    for (int i = 0; i < NV; i++) p[i] /= sum;
}

/* Draws DRAWS tokens and checks every frequency against p within 5 standard deviations
 * (binomial: sqrt(p(1-p)/N); a wrong distribution is off by far more). Tokens with p = 0 must
 * never appear. */
static void check_distribution(hearth_sampler *s, const float *logits, const double *p, const char *what) {
    int count[NV] = {0}, bad = 0;
    for (int i = 0; i < DRAWS; i++) {
        int32_t id = hearth_sampler_sample(s, logits, NULL, 0);
        if (id >= 0 && id < NV) count[id]++;
        else bad++;
    }
    CHECK_MSG(bad == 0, "%s: %d ids out of range", what, bad);
    for (int i = 0; i < NV; i++) {
        double f = (double)count[i] / DRAWS, sd = sqrt(p[i] * (1 - p[i]) / DRAWS);
        if (p[i] == 0) CHECK_MSG(count[i] == 0, "%s: token %d drawn %d times but excluded", what, i, count[i]);
        else CHECK_MSG(fabs(f - p[i]) <= 5 * sd + 1e-9, "%s: token %d frequency %.5f, expected %.5f", what, i, f, p[i]);
    }
}

static const float L[NV] = {2.0f, 1.5f, 1.0f, 0.5f, 0.0f, -0.5f, -1.0f, 3.0f};

static hearth_sampler *make(hearth_sampler_params p) {
    hearth_sampler *s = NULL;
    hearth_error err = {0};
    CHECK_MSG(hearth_sampler_new(&s, &p, NV, &err) == 0, "%s", err.msg);
    return s;
}

static void test_greedy(void) {
    hearth_sampler_params p = hearth_sampler_default_params();
    hearth_sampler *s = make(p);
    CHECK_EQ_INT(hearth_sampler_sample(s, L, NULL, 0), 7);
    float tie[NV] = {0, 5, 1, 5, 5, 0, 0, 0};
    CHECK_EQ_INT(hearth_sampler_sample(s, tie, NULL, 0), 1); /* ties -> lowest id */
    hearth_sampler_free(s);
}

static void test_seed(void) {
    hearth_sampler_params p = hearth_sampler_default_params();
    p.temperature = 1.0f;
    p.seed = 42;
    hearth_sampler *a = make(p), *b = make(p);
    p.seed = 43;
    hearth_sampler *c = make(p);
    int same_ab = 1, same_ac = 1;
    for (int i = 0; i < 200; i++) {
        int32_t x = hearth_sampler_sample(a, L, NULL, 0), y = hearth_sampler_sample(b, L, NULL, 0),
                z = hearth_sampler_sample(c, L, NULL, 0);
        same_ab &= x == y;
        same_ac &= x == z;
    }
    CHECK(same_ab);
    CHECK(!same_ac);
    hearth_sampler_free(a);
    hearth_sampler_free(b);
    hearth_sampler_free(c);
}

static void test_temperature(void) {
    const double temps[] = {1.0, 0.5, 2.0};
    int all[NV] = {1, 1, 1, 1, 1, 1, 1, 1};
    for (int k = 0; k < 3; k++) {
        hearth_sampler_params p = hearth_sampler_default_params();
        p.temperature = (float)temps[k];
        p.seed = 7 + (uint64_t)k;
        hearth_sampler *s = make(p);
        double e[NV];
        expected(L, temps[k], all, e);
        check_distribution(s, L, e, "temperature");
        hearth_sampler_free(s);
    }
}

static void test_top_k(void) {
    hearth_sampler_params p = hearth_sampler_default_params();
    p.temperature = 1.0f;
    p.top_k = 3;
    p.seed = 11;
    hearth_sampler *s = make(p);
    int keep[NV] = {1, 1, 0, 0, 0, 0, 0, 1}; /* logits 3, 2, 1.5 */
    double e[NV];
    expected(L, 1.0, keep, e);
    check_distribution(s, L, e, "top-k 3");
    hearth_sampler_free(s);
}

static void test_top_p(void) {
    /* softmax(L): 3.0 -> 0.4787, 2.0 -> 0.1761, 1.5 -> 0.1068 ... The nucleus is the smallest
     * prefix (by probability) whose sum exceeds top_p: with 0.6 it is {7, 0} (0.655). */
    int all[NV] = {1, 1, 1, 1, 1, 1, 1, 1};
    double full[NV];
    expected(L, 1.0, all, full);
    CHECK(full[7] < 0.6 && full[7] + full[0] > 0.6);
    hearth_sampler_params p = hearth_sampler_default_params();
    p.temperature = 1.0f;
    p.top_p = 0.6f;
    p.seed = 12;
    hearth_sampler *s = make(p);
    int keep[NV] = {1, 0, 0, 0, 0, 0, 0, 1};
    double e[NV];
    expected(L, 1.0, keep, e);
    check_distribution(s, L, e, "top-p 0.6");
    hearth_sampler_free(s);
}

static void test_min_p(void) {
    /* p_i / p_max = exp(L_i - 3): keep those >= 0.2, i.e. L_i >= 3 + ln 0.2 = 1.39 -> ids 7, 0, 1 */
    hearth_sampler_params p = hearth_sampler_default_params();
    p.temperature = 1.0f;
    p.min_p = 0.2f;
    p.seed = 13;
    hearth_sampler *s = make(p);
    int keep[NV] = {1, 1, 0, 0, 0, 0, 0, 1};
    double e[NV];
    expected(L, 1.0, keep, e);
    check_distribution(s, L, e, "min-p 0.2");
    hearth_sampler_free(s);
}

static void test_penalties_and_bias(void) {
    hearth_sampler_params p = hearth_sampler_default_params();
    /* repetition penalty 2 on the recent token 7: 3.0 -> 1.5, so 0 (2.0) wins */
    p.repeat_penalty = 2.0f;
    hearth_sampler *s = make(p);
    int32_t recent[] = {7, 7, 3};
    CHECK_EQ_INT(hearth_sampler_sample(s, L, recent, 3), 0);
    /* tokens not in the window keep their logits: with 7 (3.0 -> 1.5) and 0 (2.0 -> 1.0)
     * penalised, token 1 (1.5, untouched) ties with 7 and wins as the lower id */
    int32_t recent2[] = {7, 0};
    CHECK_EQ_INT(hearth_sampler_sample(s, L, recent2, 2), 1);
    /* negative logits are multiplied: -1.0 becomes -2.0 (checked through a lone candidate) */
    float neg[NV] = {-1.0f, -1.5f, -9, -9, -9, -9, -9, -9};
    int32_t r0[] = {0};
    CHECK_EQ_INT(hearth_sampler_sample(s, neg, r0, 1), 1); /* -2.0 < -1.5 */
    hearth_sampler_free(s);
    /* only the last repeat_last_n tokens count */
    p.repeat_last_n = 1;
    s = make(p);
    CHECK_EQ_INT(hearth_sampler_sample(s, L, recent, 3), 7); /* only token 3 is recent */
    hearth_sampler_free(s);
    /* frequency penalty: 7 appears twice: 3.0 - 2 * 0.6 = 1.8 < 2.0 */
    p = hearth_sampler_default_params();
    p.frequency_penalty = 0.6f;
    s = make(p);
    CHECK_EQ_INT(hearth_sampler_sample(s, L, recent, 3), 0);
    hearth_sampler_free(s);
    /* presence penalty 0.9 once: 3.0 - 0.9 = 2.1 > 2.0 still wins; 1.1 does not */
    p = hearth_sampler_default_params();
    p.presence_penalty = 0.9f;
    s = make(p);
    CHECK_EQ_INT(hearth_sampler_sample(s, L, recent, 3), 7);
    hearth_sampler_free(s);
    p.presence_penalty = 1.1f;
    s = make(p);
    CHECK_EQ_INT(hearth_sampler_sample(s, L, recent, 3), 0);
    hearth_sampler_free(s);
    /* logit bias */
    p = hearth_sampler_default_params();
    int32_t ids[] = {4};
    float bias[] = {3.5f};
    p.n_logit_bias = 1;
    p.logit_bias_ids = ids;
    p.logit_bias = bias;
    s = make(p);
    ids[0] = 0; /* the sampler copied the arrays */
    CHECK_EQ_INT(hearth_sampler_sample(s, L, NULL, 0), 4);
    hearth_sampler_free(s);
}

static void test_bad_params(void) {
    hearth_sampler *s = NULL;
    hearth_error err = {0};
    hearth_sampler_params p = hearth_sampler_default_params();
    p.temperature = NAN;
    CHECK(hearth_sampler_new(&s, &p, NV, &err) == HEARTH_ERR_ARG && s == NULL);
    p = hearth_sampler_default_params();
    int32_t ids[] = {NV};
    float bias[] = {1};
    p.n_logit_bias = 1, p.logit_bias_ids = ids, p.logit_bias = bias;
    CHECK(hearth_sampler_new(&s, &p, NV, &err) == HEARTH_ERR_ARG);
    CHECK_STR_CONTAINS(err.msg, "out of range");
    p = hearth_sampler_default_params();
    p.repeat_penalty = 0;
    CHECK(hearth_sampler_new(&s, &p, NV, &err) == HEARTH_ERR_ARG);
    hearth_sampler_free(NULL);
}

int main(void) {
    RUN(test_greedy);
    RUN(test_seed);
    RUN(test_temperature);
    RUN(test_top_k);
    RUN(test_top_p);
    RUN(test_min_p);
    RUN(test_penalties_and_bias);
    RUN(test_bad_params);
    return test_summary();
}
