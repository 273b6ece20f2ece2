/* cmd_bench.c — `hearth bench`: prefill and decode speed (median of repetitions) and peak
 * memory, measured like llama.cpp's llama-bench (pp: a prompt of p tokens from an empty context;
 * tg: n tokens one at a time from an empty context, here generated greedily through
 * hearth_generate so that a GPU backend runs its own decode loop). */
#include "cli.h"

#include "../src/engine.h"
#include "../src/quant.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static long long peak_rss_bytes(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return (long long)ru.ru_maxrss * 1024;
}

int cmd_bench(int argc, char **argv) {
    const char *cmd = "bench", *path = NULL;
    cli_model_opts o = {0};
    long long p = 512, n = 128, reps = 3;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        int r = cli_model_opt(cmd, argc, argv, &i, &o);
        if (r < 0) return 2;
        if (r) continue;
        if (cli_is_help(argv[i])) {
            printf("usage: hearth bench MODEL [-p 512] [-n 128] [-t N] [--reps R] [--json] [options]\n\n"
                   "Measures prefill (a prompt of P tokens evaluated from an empty context, in batches of\n"
                   "--batch tokens) and decode (N tokens from an empty context: one evaluated, N-1\n"
                   "generated greedily, ignoring end-of-generation; on the GPU through its own decode\n"
                   "loop), like llama.cpp's llama-bench (pp / tg), after one warm-up run; prints the\n"
                   "median tokens/s of R repetitions and the peak resident memory of the process.\n\n"
                   "  -p P         prompt tokens (default 512; 0 skips prefill)\n"
                   "  -n N         decoded tokens (default 128; 0 skips decode)\n"
                   "  --reps R     repetitions (default 3)\n"
                   "  --json       one JSON object: prefill_tok_s, decode_tok_s, peak_rss_bytes, ...\n%s",
                   cli_model_opts_help);
            return 0;
        } else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) {
            if (!cli_parse_int("-p", argv[++i], 0, 1 << 20, &p)) return 2;
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            if (!cli_parse_int("-n", argv[++i], 0, 1 << 20, &n)) return 2;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            if (!cli_parse_int("--reps", argv[++i], 1, 1000, &reps)) return 2;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            return cli_fail(cmd, "unknown option '%s' (see --help)", argv[i]) + 1;
        }
    }
    if (!path) return cli_fail(cmd, "usage: hearth bench MODEL [-p 512] [-n 128]") + 1;
    hearth_model *m = NULL;
    hearth_session *s = NULL;
    hearth_sampler *smp = NULL;
    int32_t *ids = NULL;
    double *tp = NULL, *tn = NULL;
    int rc = 1;
    double t_load = now_s();
    if (cli_load_model(cmd, path, &o, &m)) goto done;
    t_load = now_s() - t_load;
    if (!o.n_ctx) o.n_ctx = (int)H_MAX(p, n) + 1;
    /* the session's default batch (256) on the CPU; the GPU takes a 512-token prompt at once */
    if (!o.n_batch && o.backend == HEARTH_BACKEND_WEBGPU) o.n_batch = (int)H_MIN(H_MAX(p, 1), 512);
    if (cli_new_session(cmd, m, &o, 0, &s)) goto done;
    hearth_sampler_params spp = hearth_sampler_default_params(); /* greedy */
    hearth_error err = {0};
    if (hearth_sampler_new(&smp, &spp, m->hp.n_vocab, &err)) {
        cli_fail(cmd, "%s", err.msg);
        goto done;
    }
    long long len = H_MAX(p, n) + 1;
    ids = malloc((size_t)len * sizeof *ids);
    tp = calloc((size_t)reps, sizeof *tp);
    tn = calloc((size_t)reps, sizeof *tn);
    if (!ids || !tp || !tn) {
        cli_fail(cmd, "out of memory");
        goto done;
    }
    uint64_t st = 0x9E3779B97F4A7C15ull;
    for (long long i = 0; i < len; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        ids[i] = (int32_t)(st % (uint64_t)m->hp.n_vocab);
    }
    /* warm-up: touches every weight page and the caches' memory */
    if (hearth_session_eval(s, ids, (int)H_MIN(len, 8))) goto eval_fail;
    for (int r = 0; r < reps; r++) {
        if (p > 0) {
            hearth_session_truncate(s, 0);
            double t0 = now_s();
            if (hearth_session_eval(s, ids, (int)p)) goto eval_fail;
            tp[r] = now_s() - t0;
        }
        if (n > 0) {
            /* the first token, then n - 1 generated greedily through hearth_generate (on the GPU,
             * the backend's own loop: sampling on the device, asynchronous token readback) */
            hearth_session_truncate(s, 0);
            hearth_generate_params gp = {.max_tokens = (int)n - 1, .ignore_eog = 1};
            int produced = 0;
            double t0 = now_s();
            if (hearth_session_eval(s, ids, 1)) goto eval_fail;
            if (n > 1 && hearth_generate(s, smp, &gp, NULL, NULL, &produced, NULL)) goto eval_fail;
            tn[r] = now_s() - t0;
            if (produced != n - 1) {
                cli_fail(cmd, "decode produced %d of %lld tokens", produced, n - 1);
                goto done;
            }
        }
    }
    double pre = p > 0 ? (double)p / median(tp, (int)reps) : 0, dec = n > 0 ? (double)n / median(tn, (int)reps) : 0;
    long long rss = peak_rss_bytes();
    size_t kv_bytes = (size_t)2 * (size_t)m->hp.n_layer * (size_t)m->hp.n_head_kv * (size_t)m->hp.head_dim *
                      (size_t)s->n_ctx * (o.kv_type == HEARTH_KV_F16 ? 2 : 4);
    const char *backend = o.backend == HEARTH_BACKEND_WEBGPU ? "webgpu" : "cpu";
    if (json) {
        printf("{\"model\":\"%s\",\"backend\":\"%s\",\"threads\":%d,\"simd\":\"%s\",\"prompt_tokens\":%lld,"
               "\"decode_tokens\":%lld,\"reps\":%lld,\"prefill_tok_s\":%.3f,\"decode_tok_s\":%.3f,"
               "\"peak_rss_bytes\":%lld,\"model_file_bytes\":%llu,\"kv_cache_bytes\":%zu,\"load_s\":%.3f}\n",
               path, backend, m->n_threads, quant_simd_name(), p, n, reps, pre, dec, rss,
               (unsigned long long)gguf_file_size(m->gguf), kv_bytes, t_load);
    } else {
        printf("model:    %s (%s, %d threads, %s kernels)\n", path, backend, m->n_threads, quant_simd_name());
        if (p > 0) printf("prefill:  %8.1f tok/s  (%lld tokens, median of %lld)\n", pre, p, reps);
        if (n > 0) printf("decode:   %8.1f tok/s  (%lld tokens, median of %lld)\n", dec, n, reps);
        printf("peak RSS: %.1f MiB (model file %.1f MiB, KV cache %.1f MiB)\n", (double)rss / 1048576.0,
               (double)gguf_file_size(m->gguf) / 1048576.0, (double)kv_bytes / 1048576.0);
    }
    rc = 0;
    goto done;
eval_fail:
    cli_fail(cmd, "%s", hearth_session_errmsg(s));
done:
    free(ids);
    free(tp);
    free(tn);
    hearth_sampler_free(smp);
    hearth_session_free(s);
    hearth_model_free(m);
    return rc;
}
