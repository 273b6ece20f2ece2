/* test_gpu_loss.c — the WebGPU backend under faults (on SwiftShader in CI), next to
 * tests/test_gpu_faults.c (losses between calls, memory budget): the device lost in
 * the middle of a prefill and in the middle of the decode loop gives HEARTH_ERR_DEVICE_LOST with
 * a message, later calls fail cleanly, and a new engine in the same process works again (same
 * logits as before the loss); allocation failures during model load and session creation give
 * a status and leak nothing. */
#include "test.h"

#include "engine.h"
#include "faults.h"
#include "gpu/gpu_model.h"
#include "gpu_test_util.h"

static const char *MODEL = "models/stories260K.gguf";

static int load(hearth_model **m, hearth_error *err) {
    char path[512];
    hearth_source src;
    int st = hearth_source_open_file(&src, test_path(path, sizeof path, MODEL), err);
    if (st) return st;
    hearth_model_params mp = hearth_model_default_params();
    mp.backend = HEARTH_BACKEND_WEBGPU;
    st = hearth_model_load(m, &src, &mp, err);
    if (st) hearth_source_close(&src);
    return st;
}

static hearth_session *session(hearth_model *m, hearth_error *err) {
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = 256;
    sp.n_batch = 16;
    hearth_session *s = NULL;
    if (hearth_session_new(&s, m, &sp, err)) return NULL;
    return s;
}

static int32_t prompt[64];
static float reference[512];

static int on_token(void *user, int32_t id) {
    (void)id;
    (*(int *)user)++;
    return 0;
}

/* Logits after the 48-token prompt on a fresh engine. */
static int fresh_logits(float *out) {
    hearth_model *m = NULL;
    hearth_error err = {0, ""};
    if (load(&m, &err)) {
        CHECK_MSG(0, "%s", err.msg);
        return 1;
    }
    hearth_session *s = session(m, &err);
    int st = s ? hearth_session_eval(s, prompt, 48) : 1;
    CHECK_MSG(st == 0, "%s", s ? hearth_session_errmsg(s) : err.msg);
    if (!st) memcpy(out, hearth_session_logits(s), sizeof(float) * 512);
    hearth_session_free(s);
    hearth_model_free(m);
    return st;
}

static void test_loss_mid_prefill(void) {
    for (int i = 0; i < 48; i++) prompt[i] = 1 + (i * 37) % 500;
    if (fresh_logits(reference)) return;
    hearth_model *m = NULL;
    hearth_error err = {0, ""};
    CHECK(load(&m, &err) == 0);
    hearth_session *s = m ? session(m, &err) : NULL;
    if (!s) {
        hearth_model_free(m);
        return;
    }
    /* 48 tokens = 3 batches of 16 (47 dispatches each); the device goes in the middle of the
     * second batch's layers */
    gpu_device_lose_after(webgpu_model_device(m), 47 + 20);
    int st = hearth_session_eval(s, prompt, 48);
    CHECK_EQ_INT(st, HEARTH_ERR_DEVICE_LOST);
    CHECK_STR_CONTAINS(hearth_session_errmsg(s), "lost");
    CHECK_EQ_INT(hearth_session_n_tokens(s), 16); /* the first batch was complete */
    /* everything afterwards fails the same way, without crashing */
    CHECK_EQ_INT(hearth_session_eval(s, prompt, 4), HEARTH_ERR_DEVICE_LOST);
    int n = 0, acc = 0;
    hearth_sampler_params p = hearth_sampler_default_params();
    CHECK_EQ_INT(webgpu_generate(s, &p, 8, on_token, &n, &acc, &err), HEARTH_ERR_DEVICE_LOST);
    CHECK_EQ_INT(acc, 0);
    hearth_session *s2 = session(m, &err);
    CHECK(s2 == NULL);
    CHECK_EQ_INT(err.status, HEARTH_ERR_DEVICE_LOST);
    hearth_session_free(s);
    hearth_model_free(m);
    /* a new engine in the same process computes what a fresh process does */
    float again[512];
    if (fresh_logits(again) == 0) CHECK(memcmp(again, reference, sizeof again) == 0);
}

static void test_loss_mid_decode(void) {
    hearth_model *m = NULL;
    hearth_error err = {0, ""};
    CHECK(load(&m, &err) == 0);
    hearth_session *s = m ? session(m, &err) : NULL;
    if (!s) {
        hearth_model_free(m);
        return;
    }
    CHECK(hearth_session_eval(s, prompt, 8) == 0);
    /* stories260K decode step: 34 dispatches; lose it inside the 5th step */
    gpu_device_lose_after(webgpu_model_device(m), 4 * 34 + 17);
    int n = 0, acc = 0;
    hearth_sampler_params p = hearth_sampler_default_params();
    int st = webgpu_generate(s, &p, 64, on_token, &n, &acc, &err);
    CHECK_EQ_INT(st, HEARTH_ERR_DEVICE_LOST);
    CHECK_STR_CONTAINS(err.msg, "lost");
    CHECK(acc < 64);
    CHECK_EQ_INT(hearth_session_n_tokens(s), 8 + acc); /* only tokens that arrived were accepted */
    hearth_session_free(s);
    hearth_model_free(m);
    float again[512];
    if (fresh_logits(again) == 0) CHECK(memcmp(again, reference, sizeof again) == 0);
}

/* Every allocation of the model load fails in turn; then some of the session's. */
static void test_allocation_failures(void) {
    fault_alloc fa;
    int failed_loads = 0;
    for (size_t k = 1; k < 400; k++) {
        hearth_model *m = NULL;
        hearth_error err = {0, ""};
        fault_alloc_install(&fa, k);
        int st = load(&m, &err);
        hearth_model_free(m);
        fault_alloc_uninstall(&fa);
        CHECK_MSG(fa.live == 0, "load with allocation %zu failing: %zu bytes leaked", k, fa.live);
        if (st == 0) break; /* k beyond the last allocation: loaded */
        CHECK_MSG(st == HEARTH_ERR_NOMEM, "allocation %zu: status %d (%s)", k, st, err.msg);
        failed_loads++;
    }
    CHECK(failed_loads > 5);
    hearth_model *m = NULL;
    hearth_error err = {0, ""};
    if (load(&m, &err)) return;
    /* one session first: the kernels it compiles stay cached in the model (not a leak), and
     * must not be allocated under the counting allocator (they outlive it) */
    hearth_session_free(session(m, &err));
    static const size_t at[] = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144};
    for (size_t i = 0; i < H_ARRAY_LEN(at); i++) {
        fault_alloc_install(&fa, at[i]);
        hearth_session *s = session(m, &err);
        hearth_session_free(s);
        fault_alloc_uninstall(&fa);
        CHECK_MSG(fa.live == 0, "session with allocation %zu failing: %zu bytes leaked", at[i], fa.live);
        CHECK(s == NULL || fa.n_failed == 0);
    }
    /* the model still works */
    hearth_session *s = session(m, &err);
    CHECK(s && hearth_session_eval(s, prompt, 48) == 0 &&
          memcmp(hearth_session_logits(s), reference, sizeof reference) == 0);
    hearth_session_free(s);
    hearth_model_free(m);
}

int main(void) {
    gpu_device *probe = gtu_device(0);
    CHECK_MSG(probe != NULL, "a WebGPU adapter is required (SwiftShader: apt-get install chromium)");
    gpu_device_free(probe);
    if (!probe) return test_summary();
    RUN(test_loss_mid_prefill);
    RUN(test_loss_mid_decode);
    RUN(test_allocation_failures);
    return test_summary();
}
