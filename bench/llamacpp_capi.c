/* llamacpp_capi.c — the llama.cpp baseline measured like llama-bench (pp / tg), through llama.cpp's
 * C API on the prebuilt library of node-llama-cpp 3.21.1 (the same binaries bench/llamacpp_bench.mjs
 * drives from JS). On a 2-core machine node-llama-cpp's decode measured ~2x slower than the same
 * library driven from C (its JS thread and sampling compete with llama.cpp's spinning threads), so
 * this is the stricter baseline. Built by `make bench-llamacpp` (headers from the package's git
 * bundle); prints one JSON object.
 *
 *   build/bench/llamacpp_capi MODEL.gguf [-t THREADS] [-p 512] [-n 128] [-r 3]
 *
 * prefill: a fresh context, p random tokens in one llama_decode (n_batch = n_ubatch >= p, logits
 * of the last token only); decode: from an empty context, n single-token llama_decode calls, each
 * with logits (random next tokens, no sampling, like llama-bench's tg). One untimed warm-up of
 * each, then the median of the repetitions. Model load and context creation are not timed. */
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "llama.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static void quiet_log(enum ggml_log_level level, const char *text, void *user) {
    (void)level, (void)text, (void)user;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

/* s as a JSON string body (quotes, backslashes and control characters escaped) */
static void json_str(const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
}

static int usage(void) {
    fprintf(stderr, "usage: llamacpp_capi MODEL.gguf [-t THREADS] [-p PROMPT] [-n GEN] [-r REPS]\n"
                    "LLAMA_BACKEND_DIR overrides the folder of the ggml CPU backends (built in by make).\n");
    return 2;
}

/* One timed run: prefill of p tokens (fresh context) or n single-token decodes; tokens/s. */
static double run_once(struct llama_model *model, struct llama_context_params cp, int nv, int p, int n, int gen) {
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) return -1;
    double rate = -1;
    if (!gen) {
        llama_token *toks = malloc(sizeof(llama_token) * (size_t)p);
        if (toks) {
            for (int i = 0; i < p; i++) toks[i] = (llama_token)(rng() % (uint32_t)nv);
            double t0 = now_s();
            int rc = llama_decode(ctx, llama_batch_get_one(toks, p));
            double dt = now_s() - t0;
            rate = rc == 0 ? p / dt : -1;
            free(toks);
        }
    } else {
        llama_token tok = (llama_token)(rng() % (uint32_t)nv);
        double t0 = now_s();
        int rc = 0;
        for (int i = 0; i < n && rc == 0; i++) {
            rc = llama_decode(ctx, llama_batch_get_one(&tok, 1));
            tok = (llama_token)(rng() % (uint32_t)nv);
        }
        double dt = now_s() - t0;
        rate = rc == 0 ? n / dt : -1;
    }
    llama_free(ctx);
    return rate;
}

int main(int argc, char **argv) {
    const char *path = NULL;
    int threads = 2, p = 512, n = 128, reps = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-p") && i + 1 < argc) p = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc) n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-r") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (argv[i][0] == '-' || path) return usage();
        else path = argv[i];
    }
    if (!path || threads < 1 || p < 1 || n < 1 || reps < 1 || reps > 100) return usage();
    llama_log_set(quiet_log, NULL);
    const char *dir = getenv("LLAMA_BACKEND_DIR");
#ifdef LLAMA_BACKEND_DIR_DEFAULT
    if (!dir) dir = LLAMA_BACKEND_DIR_DEFAULT;
#endif
    if (dir) ggml_backend_load_all_from_path(dir);
    else ggml_backend_load_all();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(path, mp);
    if (!model) {
        fprintf(stderr, "llamacpp_capi: cannot load %s\n", path);
        return 1;
    }
    int nv = llama_vocab_n_tokens(llama_model_get_vocab(model));
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)(p + n + 16);
    cp.n_batch = cp.n_ubatch = (uint32_t)(p > 512 ? p : 512);
    cp.n_threads = cp.n_threads_batch = threads;
    double pre[100], dec[100];
    run_once(model, cp, nv, p, n, 0); /* warm-up */
    run_once(model, cp, nv, p, n, 1);
    for (int r = 0; r < reps; r++) {
        pre[r] = run_once(model, cp, nv, p, n, 0);
        dec[r] = run_once(model, cp, nv, p, n, 1);
        if (pre[r] < 0 || dec[r] < 0) {
            fprintf(stderr, "llamacpp_capi: llama_decode failed\n");
            return 1;
        }
    }
    printf("{\"engine\": \"llama.cpp (C API)\", \"model\": \"");
    json_str(path);
    printf("\", \"threads\": %d, \"prompt_tokens\": %d, \"gen_tokens\": %d, \"reps\": %d, "
           "\"prefill_tok_s\": %.2f, \"decode_tok_s\": %.2f, \"system_info\": \"",
           threads, p, n, reps, median(pre, reps), median(dec, reps));
    json_str(llama_print_system_info());
    printf("\"}\n");
    llama_model_free(model);
    return 0;
}
