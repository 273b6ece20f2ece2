/* tokenizer_bench.c — encode speed on adversarial inputs: 1 MiB of one repeated character and
 * 1 MiB without any space (letters, CJK, digits/punctuation), for an SPM and several BPE vocabs.
 * Quadratic merging would take minutes here; the target is well under 1 s per input.
 *
 *   make bench-tokenizer          (or: build/bench/tokenizer_bench [MODEL.gguf ...])
 */
#include "gguf.h"
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MIB (1u << 20)

static tokenizer *load(const char *path) {
    hearth_error err = {0};
    hearth_source src;
    gguf_file *g = NULL;
    tokenizer *t = NULL;
    if (hearth_source_open_file(&src, path, &err)) return NULL;
    if (gguf_open(&g, &src, &err) || tokenizer_load(&t, g, &err)) fprintf(stderr, "%s: %s\n", path, err.msg);
    gguf_close(g);
    hearth_source_close(&src);
    return t;
}

static void fill_repeat(char *b, size_t n, const char *unit) {
    size_t u = strlen(unit);
    for (size_t i = 0; i + u <= n; i += u) memcpy(b + i, unit, u);
}

static void fill_letters(char *b, size_t n) { /* pseudo-random lowercase, no spaces */
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (char)('a' + (x >> 16) % 26);
    }
}

static void fill_cjk(char *b, size_t n) { /* pseudo-random CJK ideographs U+4E00..U+9FA5 */
    uint32_t x = 777;
    for (size_t i = 0; i + 3 <= n; i += 3) {
        x = x * 1103515245u + 12345u;
        uint32_t cp = 0x4E00 + (x >> 16) % (0x9FA5 - 0x4E00);
        b[i] = (char)(0xE0 | (cp >> 12));
        b[i + 1] = (char)(0x80 | ((cp >> 6) & 63));
        b[i + 2] = (char)(0x80 | (cp & 63));
    }
}

static void fill_code(char *b, size_t n) { /* digits and punctuation, no spaces */
    static const char s[] = "0123456789+-*/=<>()[]{};:.,!?#$%&|^~_'\"";
    uint32_t x = 99;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = s[(x >> 16) % (sizeof s - 1)];
    }
}

int main(int argc, char **argv) {
    const char *dflt[] = {"../shared/testdata/vocab/ggml-vocab-llama-spm.gguf",
                          "../shared/testdata/vocab/ggml-vocab-gpt-2.gguf",
                          "../shared/testdata/models/tiny-qwen2-q4_0.gguf",
                          "../shared/testdata/vocab/ggml-vocab-deepseek-llm.gguf",
                          "build/vocab-llama.cpp/ggml-vocab-llama-bpe.gguf",
                          "build/vocab-llama.cpp/ggml-vocab-falcon.gguf"};
    const char **models = argc > 1 ? (const char **)argv + 1 : dflt;
    int n_models = argc > 1 ? argc - 1 : (int)(sizeof dflt / sizeof dflt[0]);
    char *buf = malloc(MIB);
    if (!buf) return 1;
    struct { const char *name; int kind; } inputs[] = {
        {"1MiB 'a'", 0}, {"1MiB ' '", 1}, {"1MiB '\\n'", 2}, {"1MiB '9'", 3}, {"1MiB letters no space", 4},
        {"1MiB CJK no space", 5}, {"1MiB digits+punct", 6}, {"1MiB '<|'", 7},
    };
    printf("%-52s %-24s %10s %10s %8s\n", "vocabulary", "input", "tokens", "wall s", "cpu s");
    double worst = 0, worst_cpu = 0;
    for (int m = 0; m < n_models; m++) {
        struct stat st;
        if (stat(models[m], &st)) {
            printf("%-52s (missing, skipped)\n", models[m]);
            continue;
        }
        tokenizer *t = load(models[m]);
        if (!t) continue;
        for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
            memset(buf, 'a', MIB);
            switch (inputs[k].kind) {
            case 0: break;
            case 1: memset(buf, ' ', MIB); break;
            case 2: memset(buf, '\n', MIB); break;
            case 3: memset(buf, '9', MIB); break;
            case 4: fill_letters(buf, MIB); break;
            case 5: fill_cjk(buf, MIB); break;
            case 6: fill_code(buf, MIB); break;
            case 7: fill_repeat(buf, MIB, "<|"); break;
            }
            size_t len = inputs[k].kind == 5 ? MIB / 3 * 3 : MIB;
            hearth_error err = {0};
            int32_t *ids = NULL;
            int n = 0;
            double t0 = h_time_s();
            clock_t c0 = clock();
            int rc = tokenizer_encode(t, buf, len, 0, 1, &ids, &n, &err);
            double dt = h_time_s() - t0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
            if (dt > worst) worst = dt;
            if (cpu > worst_cpu) worst_cpu = cpu;
            printf("%-52s %-24s %10d %10.3f %8.3f%s\n", models[m], inputs[k].name, n, dt, cpu, rc ? "  ERROR" : "");
            h_free(ids);
        }
        tokenizer_free(t);
    }
    printf("slowest: %.3f s wall, %.3f s cpu (a shared machine's wall time includes waiting)\n", worst, worst_cpu);
    free(buf);
    return 0;
}
