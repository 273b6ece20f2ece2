/* test_gpu_faults.c — GPU failures of the WebGPU backend (issue 5): the device lost before a
 * prefill, between decode steps and during the GPU-resident decode loop, and GPU memory that runs
 * out (weights over the memory budget, a KV cache larger than any buffer) each end in a clear
 * status with a message, every later call on the dead engine fails cleanly, nothing leaks, and a
 * new engine works afterwards in the same process. Runs on SwiftShader unless VK_ICD_FILENAMES
 * names another driver; without any WebGPU adapter it reports SKIP. */
#include "test.h"

#include "faults.h"
#include "gpu/gpu_model.h"
#include "gpu_test_util.h"
#include "micro_model.h"

static hearth_model *load_gpu(const gw_buf *file, hearth_error *err) {
    hearth_source src;
    hearth_source_from_memory(&src, file->data, file->len);
    hearth_model_params mp = hearth_model_default_params();
    mp.backend = HEARTH_BACKEND_WEBGPU;
    mp.n_threads = 1;
    hearth_model *m = NULL;
    if (hearth_model_load(&m, &src, &mp, err)) return NULL;
    return m;
}

static hearth_session *new_session(hearth_model *m, int n_batch, hearth_error *err) {
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = 64;
    sp.n_batch = n_batch;
    hearth_session *s = NULL;
    if (hearth_session_new(&s, m, &sp, err)) return NULL;
    return s;
}

static const int32_t prompt[12] = {1, 270, 262, 265, 259, 200, 41, 42, 43, 44, 45, 46};

/* A fresh engine evaluates a prompt and returns finite logits. */
static int engine_works(const gw_buf *file, const char *when) {
    hearth_error err = {0};
    hearth_model *m = load_gpu(file, &err);
    CHECK_MSG(m != NULL, "new engine %s: %s", when, err.msg);
    if (!m) return 0;
    hearth_session *s = new_session(m, 0, &err);
    CHECK_MSG(s != NULL, "new session %s: %s", when, err.msg);
    int ok = 0;
    if (s) {
        int st = hearth_session_eval(s, prompt, 12);
        CHECK_MSG(st == HEARTH_OK, "eval %s: %s", when, hearth_session_errmsg(s));
        if (st == HEARTH_OK) {
            const float *l = hearth_session_logits(s);
            int bad = 0;
            for (int i = 0; i < MICRO_N_VOCAB_TOK; i++) bad += !isfinite(l[i]);
            CHECK_EQ_INT(bad, 0);
            ok = bad == 0;
        }
    }
    hearth_session_free(s);
    hearth_model_free(m);
    return ok;
}

static int token_cb(void *user, int32_t id, const char *text, size_t len) {
    (void)id, (void)text, (void)len;
    ++*(int *)user;
    return 0;
}

static int id_cb(void *user, int32_t id) {
    (void)id;
    ++*(int *)user;
    return 0;
}

/* Loses the device at one point (0: before the prefill, 1: between decode steps, 2: before the
 * GPU-resident decode loop) and checks every later call. */
static void lose_at(const gw_buf *file, int when) {
    static const char *const names[3] = {"before prefill", "between decode steps", "before the GPU decode loop"};
    fault_alloc fa;
    fault_alloc_install(&fa, 0);
    hearth_error err = {0};
    hearth_model *m = load_gpu(file, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    hearth_session *s = m ? new_session(m, 4, &err) : NULL;
    hearth_sampler *smp = NULL;
    hearth_sampler_params sap = hearth_sampler_default_params();
    if (s && hearth_sampler_new(&smp, &sap, MICRO_N_VOCAB_TOK, &err) == HEARTH_OK) {
        gpu_device *d = webgpu_model_device(m);
        CHECK(d != NULL && !gpu_device_lost(d));
        if (when > 0) {
            CHECK_EQ_INT(hearth_session_eval(s, prompt, 12), HEARTH_OK); /* 3 batches of 4 */
            int got = 0, n = 0, reason = 0;
            hearth_generate_params gp = {.max_tokens = 2, .ignore_eog = 1};
            CHECK_EQ_INT(hearth_generate(s, smp, &gp, token_cb, &got, &n, &reason), HEARTH_OK);
            CHECK_EQ_INT(n, 2);
        }
        gpu_device_force_loss(d);
        int st;
        if (when == 0) {
            st = hearth_session_eval(s, prompt, 12);
        } else if (when == 1) {
            int got = 0, n = 0, reason = 0;
            hearth_generate_params gp = {.max_tokens = 4, .ignore_eog = 1};
            st = hearth_generate(s, smp, &gp, token_cb, &got, &n, &reason);
        } else {
            int got = 0, n = 0;
            err.msg[0] = 0;
            st = webgpu_generate(s, &sap, 4, id_cb, &got, &n, &err);
            CHECK(err.msg[0] != 0);
        }
        CHECK_MSG(st == HEARTH_ERR_DEVICE_LOST, "%s: %s (%s / %s)", names[when], hearth_status_name(st),
                  hearth_session_errmsg(s), err.msg);
        CHECK(gpu_device_lost(d));
        /* every later call on the dead engine fails cleanly */
        CHECK_EQ_INT(hearth_session_eval(s, prompt, 1), HEARTH_ERR_DEVICE_LOST);
        CHECK(hearth_session_errmsg(s)[0] != 0);
        hearth_session *s2 = NULL;
        hearth_session_params sp = hearth_session_default_params();
        sp.n_ctx = 16;
        int st2 = hearth_session_new(&s2, m, &sp, &err);
        if (st2 == HEARTH_OK) {
            CHECK_EQ_INT(hearth_session_eval(s2, prompt, 4), HEARTH_ERR_DEVICE_LOST);
        } else {
            CHECK_MSG(st2 == HEARTH_ERR_DEVICE_LOST && err.msg[0], "session after loss: %s '%s'",
                      hearth_status_name(st2), err.msg);
        }
        hearth_session_free(s2);
    }
    hearth_sampler_free(smp);
    hearth_session_free(s);
    hearth_model_free(m);
    fault_alloc_uninstall(&fa);
    CHECK_MSG(fa.live == 0, "%s: %zu bytes in %zu blocks leaked", names[when], fa.live, fa.n_live);
    engine_works(file, names[when]);
}

static void test_device_loss(void) {
    gw_buf file = {0};
    micro_model(&file, "llama", 1);
    for (int when = 0; when < 3; when++) lose_at(&file, when);
    gw_buf_free(&file);
}

/* Out of GPU memory: weights over the budget (HEARTH_GPU_MEM_MB, the backend's memory limit) are
 * refused with the sizes; a context whose KV cache no buffer can hold is refused at session
 * creation; a new engine works afterwards. */
static void test_out_of_gpu_memory(void) {
    /* weights over the budget: tiny-llama-q8_0 (3 MB) with 1 MiB of GPU memory */
    char path[512];
    size_t len = 0;
    uint8_t *data = gw_read_file(test_path(path, sizeof path, "models/tiny-llama-q8_0.gguf"), &len);
    CHECK_MSG(data != NULL, "%s", path);
    hearth_error err = {0};
    fault_alloc fa;
    if (data) {
        gw_buf big = {data, len, len};
        setenv("HEARTH_GPU_MEM_MB", "1", 1);
        fault_alloc_install(&fa, 0);
        hearth_model *m = load_gpu(&big, &err);
        fault_alloc_uninstall(&fa);
        unsetenv("HEARTH_GPU_MEM_MB");
        CHECK(m == NULL);
        hearth_model_free(m);
        CHECK_EQ_INT(err.status, HEARTH_ERR_RANGE);
        CHECK_STR_CONTAINS(err.msg, "MiB of GPU memory; 1.0 MiB are available");
        CHECK_EQ_INT(fa.live, 0);
        engine_works(&big, "after weights over the GPU memory budget");
        free(data);
    }
    /* a KV cache no buffer can hold: refused at session creation, the engine keeps working */
    gw_buf file = {0};
    micro_model(&file, "llama", 1);
    fault_alloc_install(&fa, 0);
    hearth_model *m = load_gpu(&file, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (m) {
        hearth_session_params sp = hearth_session_default_params();
        sp.n_ctx = 1 << 22; /* 4M tokens x 16 dims x K and V x 4 bytes = 512 MiB per layer */
        hearth_session *s = NULL;
        int st = hearth_session_new(&s, m, &sp, &err);
        if (st == HEARTH_OK) {
            /* an adapter that can hold it must still evaluate */
            CHECK_EQ_INT(hearth_session_eval(s, prompt, 4), HEARTH_OK);
            fprintf(stderr, "  a 4M-token KV cache fit on this adapter\n");
        } else {
            CHECK_MSG(st == HEARTH_ERR_GPU || st == HEARTH_ERR_RANGE || st == HEARTH_ERR_NOMEM,
                      "huge KV cache: %s '%s'", hearth_status_name(st), err.msg);
            CHECK(err.msg[0] != 0);
            fprintf(stderr, "  huge KV cache: %s: %s\n", hearth_status_name(st), err.msg);
        }
        hearth_session_free(s);
        hearth_session *ok = new_session(m, 0, &err);
        CHECK_MSG(ok != NULL, "%s", err.msg);
        if (ok) CHECK_EQ_INT(hearth_session_eval(ok, prompt, 12), HEARTH_OK);
        hearth_session_free(ok);
    }
    hearth_model_free(m);
    fault_alloc_uninstall(&fa);
    CHECK_EQ_INT(fa.live, 0);
    engine_works(&file, "after a KV cache too large for the GPU");
    gw_buf_free(&file);
}

int main(void) {
    gpu_device *d = gtu_device(0); /* also points VK_ICD_FILENAMES at SwiftShader when unset */
    if (!d) {
        fprintf(stderr, "SKIP: no WebGPU adapter\n");
        return 0;
    }
    gpu_device_free(d);
    RUN(test_device_loss);
    RUN(test_out_of_gpu_memory);
    return test_summary();
}
