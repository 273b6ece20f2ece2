/* gpu_llama_bench.c — the baseline of the WebGPU benchmarks: llama.cpp's Vulkan backend (the
 * prebuilt libraries of npm @node-llama-cpp/linux-x64-vulkan@3.21.1) on the same GGUF files and
 * card, measured like llama-bench: pp P (a prompt of P tokens in one batch from an empty
 * context) and tg N (N tokens decoded one at a time, each synchronized), median of R runs.
 *
 *   build/gpu_llama_bench --libdir DIR [-p 512] [-n 128] [--reps 3] [--fa 0|1|-1] MODEL...
 *
 * Built against llama.h / ggml-backend.h of the source bundle that ships in node-llama-cpp
 * (mk/gpu.mk clones it into build/llama-src; nothing of it enters the repository). */
#define _POSIX_C_SOURCE 200809L
#include "ggml-backend.h"
#include "llama.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void quiet(enum ggml_log_level level, const char *text, void *ud) {
    (void)ud;
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static int bench(const char *path, int p, int n, int reps, int fa) {
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 999;
    struct llama_model *model = llama_model_load_from_file(path, mp);
    if (!model) {
        fprintf(stderr, "gpu_llama_bench: cannot load %s\n", path);
        return 1;
    }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)(p > n ? p : n) + 64;
    cp.n_batch = (uint32_t)(p > 512 ? p : 512);
    cp.n_ubatch = 512;
    cp.n_seq_max = 1;
    cp.no_perf = true;
    if (fa >= 0) cp.flash_attn_type = fa ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) {
        fprintf(stderr, "gpu_llama_bench: cannot create a context for %s\n", path);
        llama_model_free(model);
        return 1;
    }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    int n_vocab = llama_vocab_n_tokens(vocab);
    int len = (p > n ? p : n) + 8;
    llama_token *ids = malloc(sizeof(llama_token) * (size_t)len);
    uint64_t st = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < len; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        ids[i] = (llama_token)(st % (uint64_t)n_vocab);
    }
    double *tp = calloc((size_t)reps, sizeof(double)), *tg = calloc((size_t)reps, sizeof(double));
    int rc = 0;
    /* warm-up */
    if (llama_decode(ctx, llama_batch_get_one(ids, 8)) != 0) rc = 1;
    llama_synchronize(ctx);
    for (int r = 0; r < reps && !rc; r++) {
        if (p > 0) {
            llama_memory_clear(llama_get_memory(ctx), true);
            double t0 = now_s();
            if (llama_decode(ctx, llama_batch_get_one(ids, p)) != 0) rc = 1;
            llama_synchronize(ctx);
            tp[r] = now_s() - t0;
        }
        if (n > 0) {
            llama_memory_clear(llama_get_memory(ctx), true);
            double t0 = now_s();
            for (int i = 0; i < n && !rc; i++) {
                if (llama_decode(ctx, llama_batch_get_one(ids + i, 1)) != 0) rc = 1;
                llama_synchronize(ctx);
            }
            tg[r] = now_s() - t0;
        }
    }
    if (!rc)
        printf("{\"model\":\"%s\",\"engine\":\"llama.cpp-vulkan\",\"prefill_tok_s\":%.1f,\"decode_tok_s\":%.1f,"
               "\"flash_attn\":\"%s\",\"p\":%d,\"n\":%d}\n",
               path, p > 0 ? p / median(tp, reps) : 0.0, n > 0 ? n / median(tg, reps) : 0.0,
               llama_flash_attn_type_name(cp.flash_attn_type), p, n);
    else
        fprintf(stderr, "gpu_llama_bench: llama_decode failed on %s\n", path);
    fflush(stdout);
    free(tp);
    free(tg);
    free(ids);
    llama_free(ctx);
    llama_model_free(model);
    return rc;
}

int main(int argc, char **argv) {
    int p = 512, n = 128, reps = 3, fa = -1, rc = 0;
    const char *libdir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--libdir") == 0 && i + 1 < argc) {
            libdir = argv[++i];
        } else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            p = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            n = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
            if (reps < 1) reps = 1;
        } else if (strcmp(argv[i], "--fa") == 0 && i + 1 < argc) {
            fa = atoi(argv[++i]);
        } else if (argv[i][0] != '-') {
            if (!libdir) {
                fprintf(stderr, "gpu_llama_bench: --libdir first\n");
                return 2;
            }
            static int inited;
            if (!inited) {
                llama_log_set(quiet, NULL);
                ggml_backend_load_all_from_path(libdir);
                llama_backend_init();
                for (size_t d = 0; d < ggml_backend_dev_count(); d++)
                    fprintf(stderr, "device %zu: %s (%s)\n", d, ggml_backend_dev_name(ggml_backend_dev_get(d)),
                            ggml_backend_dev_description(ggml_backend_dev_get(d)));
                inited = 1;
            }
            rc |= bench(argv[i], p, n, reps, fa);
        } else {
            fprintf(stderr, "usage: gpu_llama_bench --libdir DIR [-p P] [-n N] [--reps R] [--fa 0|1|-1] MODEL...\n");
            return 2;
        }
    }
    return rc;
}
