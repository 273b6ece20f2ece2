/* gpu_bench.c — WebGPU benchmarks: the WGSL streaming-read roofline and dispatch overhead of the
 * device, and per model prefill (P tokens from an empty context, as llama-bench pp), GPU-resident
 * greedy decode (N tokens, as llama-bench tg), per-token eval with logits readback (what
 * `hearth bench --backend webgpu` measures), and a per-kernel-group profile of a decode step.
 *
 *   build/gpu_bench --roofline
 *   build/gpu_bench --model m.gguf -p 512 -n 128 --reps 3 --profile [--json]
 *
 * Timings are medians of --reps repetitions after a warm-up; HEARTH_GPU_* variables choose
 * kernel variants (see docs/GPU.md). */
#include "engine.h"
#include "gpu/gpu.h"
#include "gpu/gpu_model.h"
#include "gpu/wgsl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- device microbenchmarks ------------------------------------------------------------------- */

static int roofline(int json, int mb) {
    hearth_error err = {0, ""};
    gpu_device_params dp = gpu_device_default_params();
    const char *fast = getenv("HEARTH_GPU_FAST");
    if (fast && *fast == '1') dp.robustness = 0;
    gpu_device *d;
    if (gpu_device_create(&d, &dp, &err)) {
        fprintf(stderr, "gpu_bench: %s\n", err.msg);
        return 1;
    }
    const gpu_info *in = gpu_device_info(d);
    uint64_t bytes = H_MIN((uint64_t)mb << 20, in->max_storage_binding & ~(uint64_t)15);
    gpu_buffer *src = NULL, *out = NULL;
    gpu_kernel *k = NULL, *k1 = NULL;
    gpu_bindings *bg = NULL, *bg1 = NULL;
    int rc = 1;
    const char *srcs[1] = {gpu_wgsl("bench_read")};
    uint32_t n_wg = 132 * 16;
    if (gpu_buffer_create(d, &src, bytes, GPU_STORAGE, "src", &err) ||
        gpu_buffer_create(d, &out, (uint64_t)n_wg * 4 * 64, GPU_STORAGE, "out", &err) ||
        gpu_kernel_create(d, &k, "bench_read", srcs, 1, NULL, 0, &err))
        goto done;
    gpu_const c1[] = {{"WG", 32}};
    if (gpu_kernel_create(d, &k1, "bench_read1", srcs, 1, c1, 1, &err)) goto done;
    gpu_bind b[2] = {{src, 0, 0}, {out, 0, 0}};
    if (gpu_bindings_create(d, k, b, 2, &bg, &err) || gpu_bindings_create(d, k1, b, 2, &bg1, &err)) goto done;
    /* fill with a pattern (the buffer starts zeroed; zeros could read faster) */
    {
        size_t chunk = 16u << 20;
        uint32_t *tmp = malloc(chunk);
        for (size_t i = 0; i < chunk / 4; i++) tmp[i] = (uint32_t)(i * 2654435761u);
        for (uint64_t off = 0; off < bytes; off += chunk)
            if (gpu_buffer_write(d, src, off, tmp, (size_t)H_MIN((uint64_t)chunk, bytes - off), &err)) break;
        free(tmp);
        if (gpu_finish(d, &err)) goto done;
    }
    double best = 0;
    uint32_t best_wg = 0;
    for (uint32_t wgs = 132 * 2; wgs <= n_wg; wgs *= 2) {
        uint32_t p[4] = {(uint32_t)(bytes / 16), wgs, 0, 0};
        double t[5];
        for (int r = 0; r < 6; r++) {
            double t0 = h_time_s();
            for (int i = 0; i < 10; i++) gpu_dispatch(d, k, bg, p, sizeof p, wgs, 1, 1);
            if (gpu_finish(d, &err)) goto done;
            if (r) t[r - 1] = (h_time_s() - t0) / 10;
        }
        double gbs = bytes / median(t, 5) / 1e9;
        if (gbs > best) best = gbs, best_wg = wgs;
    }
    /* dispatch overhead: 1000 tiny dependent-free dispatches in one pass */
    double per = 0;
    {
        uint32_t p[4] = {256, 1, 0, 0};
        double t[5];
        for (int r = 0; r < 6; r++) {
            double t0 = h_time_s();
            for (int i = 0; i < 1000; i++) gpu_dispatch(d, k1, bg1, p, sizeof p, 1, 1, 1);
            if (gpu_finish(d, &err)) goto done;
            if (r) t[r - 1] = (h_time_s() - t0) / 1000;
        }
        per = median(t, 5);
    }
    /* submit + map round trip */
    double rt;
    {
        gpu_buffer *rb = NULL;
        if (gpu_buffer_create(d, &rb, 256, GPU_READBACK, "rb", &err)) goto done;
        double t[20];
        for (int r = 0; r < 21; r++) {
            double t0 = h_time_s();
            gpu_copy(d, out, 0, rb, 0, 16);
            const void *ptr;
            if (gpu_submit(d, &err) || gpu_map_begin(d, rb, 0, 16, &err) || gpu_map_poll(d, rb, 1, &ptr, &err)) {
                gpu_buffer_free(rb);
                goto done;
            }
            gpu_map_end(rb);
            if (r) t[r - 1] = h_time_s() - t0;
        }
        rt = median(t, 20);
        gpu_buffer_free(rb);
    }
    if (json)
        printf("{\"roofline_read_gb_s\":%.1f,\"roofline_workgroups\":%u,\"dispatch_us\":%.2f,\"roundtrip_us\":%.1f,"
               "\"adapter\":\"%s\",\"backend\":\"%s\"}\n",
               best, best_wg, per * 1e6, rt * 1e6, in->description[0] ? in->description : in->device, in->backend);
    else
        printf("device:    %s (%s)\nroofline:  %.1f GB/s WGSL streaming read of %.0f MiB (%u workgroups of 256)\n"
               "dispatch:  %.2f us each (1000 in one pass)\nroundtrip: %.1f us submit + map of 16 bytes\n",
               in->description[0] ? in->description : in->device, in->backend, best, bytes / 1048576.0, best_wg,
               per * 1e6, rt * 1e6);
    rc = 0;
done:
    if (rc) fprintf(stderr, "gpu_bench: %s\n", err.msg);
    gpu_bindings_free(bg);
    gpu_bindings_free(bg1);
    gpu_kernel_free(k);
    gpu_kernel_free(k1);
    gpu_buffer_free(src);
    gpu_buffer_free(out);
    gpu_device_free(d);
    return rc;
}

/* ---- model benchmarks ------------------------------------------------------------------------- */

typedef struct gen_clock {
    int n;
    double t_first, t_last;
} gen_clock;

static int on_tok(void *user, int32_t id) {
    (void)id;
    gen_clock *c = user;
    double t = h_time_s();
    if (c->n == 0) c->t_first = t;
    c->t_last = t;
    c->n++;
    return 0;
}

static int bench_model(const char *path, int p, int n, int reps, int profile, int json, int kv16) {
    hearth_error err = {0, ""};
    hearth_source src;
    hearth_model *m = NULL;
    hearth_session *s = NULL;
    int rc = 1;
    int32_t *ids = NULL;
    double t_load = h_time_s();
    if (hearth_source_open_file(&src, path, &err)) goto fail;
    hearth_model_params mp = hearth_model_default_params();
    mp.backend = HEARTH_BACKEND_WEBGPU;
    if (hearth_model_load(&m, &src, &mp, &err)) {
        hearth_source_close(&src);
        goto fail;
    }
    t_load = h_time_s() - t_load;
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = H_MAX(p, n + 2) + 16;
    sp.n_batch = H_MAX(1, H_MIN(p, 512));
    sp.kv_type = kv16 ? HEARTH_KV_F16 : HEARTH_KV_F32;
    if (hearth_session_new(&s, m, &sp, &err)) goto fail;
    int len = H_MAX(p, n) + 2;
    ids = malloc(sizeof(int32_t) * (size_t)len);
    uint64_t st = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < len; i++) {
        st ^= st << 13, st ^= st >> 7, st ^= st << 17;
        ids[i] = (int32_t)(st % (uint64_t)m->hp.n_vocab);
    }
    /* warm-up (kernels compiled at session creation; first submissions) */
    if (hearth_session_eval(s, ids, H_MIN(len, 8))) goto sess_fail;
    double *tp = calloc((size_t)reps, sizeof(double)), *tg = calloc((size_t)reps, sizeof(double));
    double *te = calloc((size_t)reps, sizeof(double));
    double pre = 0, dec = 0, ev = 0;
    uint64_t disp_tok = 0;
    for (int r = 0; r < reps; r++) {
        if (p > 0) {
            hearth_session_truncate(s, 0);
            double t0 = h_time_s();
            if (hearth_session_eval(s, ids, p)) goto sess_fail;
            tp[r] = h_time_s() - t0;
        }
        if (n > 0) {
            /* GPU-resident greedy decode: n forwards between the first and the last token */
            hearth_session_truncate(s, 0);
            if (hearth_session_eval(s, ids, 1)) goto sess_fail;
            gen_clock c = {0, 0, 0};
            uint64_t d0 = webgpu_dispatch_count(m);
            hearth_sampler_params gp = hearth_sampler_default_params();
            int got = 0;
            if (webgpu_generate(s, &gp, n + 1, on_tok, &c, &got, &err)) goto fail;
            disp_tok = (webgpu_dispatch_count(m) - d0) / (uint64_t)(n + 1);
            tg[r] = (c.t_last - c.t_first) / n;
            /* per-token eval with logits readback (hearth bench --backend webgpu) */
            int ne = H_MIN(n, 32);
            hearth_session_truncate(s, 0);
            double t0 = h_time_s();
            for (int i = 0; i < ne; i++)
                if (hearth_session_eval(s, ids + i, 1)) goto sess_fail;
            te[r] = (h_time_s() - t0) / ne;
        }
    }
    if (p > 0) pre = p / median(tp, reps);
    if (n > 0) dec = 1 / median(tg, reps), ev = 1 / median(te, reps);
    const gw_model *g = m->gpu;
    double gb = (double)g->gpu_bytes / 1e9;
    if (json)
        printf("{\"model\":\"%s\",\"prefill_tok_s\":%.1f,\"decode_tok_s\":%.1f,\"eval_tok_s\":%.1f,"
               "\"dispatches_per_token\":%llu,\"weight_gb\":%.3f,\"decode_gb_s\":%.1f,\"load_s\":%.2f,\"p\":%d,\"n\":%d}\n",
               path, pre, dec, ev, (unsigned long long)disp_tok, gb, gb * dec, t_load, p, n);
    else
        printf("%s\n  prefill %d: %8.1f tok/s\n  decode %d:  %8.1f tok/s GPU-resident (%llu dispatches/token, "
               "%.2f GB weights -> %.0f GB/s)\n  eval 1:     %8.1f tok/s with logits readback\n  load: %.1f s\n",
               path, p, pre, n, dec, (unsigned long long)disp_tok, gb, gb * dec, ev, t_load);
    free(tp), free(tg), free(te);
    if (profile) {
        /* a decode step at position p (context of p tokens) */
        hearth_session_truncate(s, 0);
        if (p > 0 && hearth_session_eval(s, ids, H_MIN(p, s->n_batch))) goto sess_fail;
        webgpu_profile pr;
        if (webgpu_profile_decode(s, 50, &pr, &err)) goto fail;
        double sum = 0;
        for (int i = 0; i < pr.n - 1; i++) sum += pr.ms[i];
        printf("  profile of one decode step at position %d (each group alone, 50x in one submission):\n",
               s->n_tokens);
        for (int i = 0; i < pr.n; i++)
            printf("    %-36s %8.3f ms %4d dispatches %8.1f MB %7.0f GB/s\n", pr.name[i], pr.ms[i], pr.dispatches[i],
                   pr.bytes[i] / 1e6, pr.ms[i] > 0 ? pr.bytes[i] / (pr.ms[i] * 1e6) : 0);
        printf("    %-36s %8.3f ms\n", "sum of groups", sum);
        if (p >= 2 && p <= s->n_batch) {
            if (webgpu_profile_prefill(s, p, 3, &pr, &err)) goto fail;
            sum = 0;
            for (int i = 0; i < pr.n - 1; i++) sum += pr.ms[i];
            printf("  profile of a %d-token prefill (each group alone, 3x in one submission):\n", p);
            for (int i = 0; i < pr.n; i++)
                printf("    %-36s %8.3f ms %4d dispatches %8.1f TFLOP/s\n", pr.name[i], pr.ms[i], pr.dispatches[i],
                       pr.ms[i] > 0 && pr.bytes[i] ? pr.bytes[i] / (pr.ms[i] * 1e9) : 0);
            printf("    %-36s %8.3f ms\n", "sum of groups", sum);
        }
    }
    rc = 0;
    goto done;
sess_fail:
    snprintf(err.msg, sizeof err.msg, "%s", hearth_session_errmsg(s));
fail:
    fprintf(stderr, "gpu_bench: %s: %s\n", path, err.msg);
done:
    free(ids);
    hearth_session_free(s);
    hearth_model_free(m);
    return rc;
}

int main(int argc, char **argv) {
    int p = 512, n = 128, reps = 3, profile = 0, json = 0, rc = 0, kv16 = 0, roof_mb = 1024;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--roofline") == 0) rc |= roofline(json, roof_mb);
        else if (strcmp(argv[i], "--json") == 0) json = 1;
        else if (strcmp(argv[i], "--profile") == 0) profile = 1;
        else if (strcmp(argv[i], "--kv16") == 0) kv16 = 1;
        else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc) p = atoi(argv[++i]);
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
            reps = atoi(argv[++i]);
            if (reps < 1) reps = 1;
        }
        else if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc) roof_mb = atoi(argv[++i]);
        else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) rc |= bench_model(argv[++i], p, n, reps, profile, json, kv16);
        else {
            fprintf(stderr, "usage: gpu_bench [--json] [--mb MiB] [--roofline] [-p P] [-n N] [--reps R] [--profile] [--kv16] "
                            "[--model FILE]...\n");
            return 2;
        }
    }
    return rc;
}
