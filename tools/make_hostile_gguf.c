/* make_hostile_gguf.c — writes the hostile GGUF regression corpus (tests/data/hostile/, one file per
 * failure class of tests/hostile_cases.c, plus a README table of what each must produce and what
 * the reader says today), fuzzing seed files, and an index-collision flood file; and opens a file
 * with timing and peak memory (for docs/RELIABILITY.md).
 *
 *   build/tools/make_hostile_gguf tests/data/hostile           corpus + README.md
 *   build/tools/make_hostile_gguf --seeds fuzz/corpus/gguf      valid seed files
 *   build/tools/make_hostile_gguf --flood 16384 /tmp/flood.gguf keys colliding in the reader's index
 *   build/tools/make_hostile_gguf --open FILE                   status, message, time, peak bytes
 */
#include "faults.h"
#include "gguf.h"
#include "gguf_writer.h"
#include "hostile_cases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct open_info {
    int status;
    char msg[512];
    double seconds;
    size_t peak;
    uint64_t n_kv, n_tensors;
} open_info;

static open_info open_mem(const uint8_t *data, size_t len) {
    open_info r = {0};
    hearth_source src;
    hearth_source_from_memory(&src, data, len);
    hearth_error err = {0};
    fault_alloc fa;
    fault_alloc_install(&fa, 0);
    gguf_file *g = NULL;
    double t0 = h_time_s();
    r.status = gguf_open(&g, &src, &err);
    r.seconds = h_time_s() - t0;
    snprintf(r.msg, sizeof r.msg, "%s", r.status ? err.msg : "");
    if (g) {
        r.n_kv = gguf_n_kv(g);
        r.n_tensors = gguf_n_tensors(g);
    }
    gguf_close(g);
    r.peak = fa.peak;
    fault_alloc_uninstall(&fa);
    return r;
}

/* Markdown table cells: escape '|' and backquotes, replace control bytes. */
static void md_cell(FILE *f, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '|') fputs("\\|", f);
        else if (c == '`') fputc('\'', f);
        else if (c < 32 || c == 127) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
}

static int write_corpus(const char *dir) {
    char path[1024];
    snprintf(path, sizeof path, "%s/README.md", dir);
    FILE *md = fopen(path, "w");
    if (!md) {
        fprintf(stderr, "make_hostile_gguf: cannot write %s\n", path);
        return 1;
    }
    fprintf(md,
            "# Hostile GGUF regression corpus\n\n"
            "One small file per failure class, written by `tools/make_hostile_gguf.c` from the builders in\n"
            "`tests/hostile_cases.c` (regenerate with `make hostile-corpus`; do not edit by hand).\n"
            "`tests/test_gguf_broken.c` checks that every file here equals its builder's output and that\n"
            "the reader rejects it with the expected status and a message containing the listed substrings,\n"
            "with no leak and peak memory <= 8 x file size + 64 KiB. The fuzz targets also run over these files.\n\n"
            "Known gaps (the reader accepts the file today) are marked **known gap**; see docs/RELIABILITY.md.\n\n"
            "| file | bytes | failure class | expected | message must contain | reader says today | peak bytes |\n"
            "|---|---:|---|---|---|---|---:|\n");
    int rc = 0;
    for (size_t i = 0; i < hostile_n_cases; i++) {
        const hostile_case *c = &hostile_cases[i];
        gw_buf b = {0};
        hostile_expect e;
        c->build(&b, &e);
        snprintf(path, sizeof path, "%s/%s.gguf", dir, c->name);
        if (gw_write_file(path, b.data, b.len)) {
            fprintf(stderr, "make_hostile_gguf: cannot write %s\n", path);
            rc = 1;
        }
        open_info r = open_mem(b.data, b.len);
        fprintf(md, "| `%s.gguf` | %zu | ", c->name, b.len);
        md_cell(md, c->what);
        fprintf(md, " | %s%s | ", hearth_status_name(e.status), e.known_issue ? " (**known gap**)" : "");
        for (int k = 0; k < e.n_sub; k++) {
            fputs(k ? "; `" : "`", md);
            md_cell(md, e.sub[k]);
            fputc('`', md);
        }
        fputs(" | ", md);
        if (r.status) {
            fprintf(md, "%s: ", hearth_status_name(r.status));
            md_cell(md, r.msg);
        } else {
            fputs("accepted", md);
        }
        fprintf(md, " | %zu |\n", r.peak);
        gw_buf_free(&b);
    }
    fclose(md);
    printf("%zu files + README.md in %s\n", hostile_n_cases, dir);
    return rc;
}

static int write_seeds(const char *dir) {
    int rc = 0;
    for (size_t i = 0; i < hostile_n_seeds; i++) {
        gw_buf b = {0};
        const char *name = hostile_seed(i, &b);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.gguf", dir, name);
        if (gw_write_file(path, b.data, b.len)) {
            fprintf(stderr, "make_hostile_gguf: cannot write %s\n", path);
            rc = 1;
        }
        gw_buf_free(&b);
    }
    printf("%zu seed files in %s\n", hostile_n_seeds, dir);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h")) return write_corpus(argv[1]);
    if (argc == 3 && !strcmp(argv[1], "--seeds")) return write_seeds(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "--flood")) {
        uint64_t n = strtoull(argv[2], NULL, 10);
        if (n < 1 || n > ((uint64_t)1 << 24)) {
            fprintf(stderr, "make_hostile_gguf: --flood N needs 1 <= N <= 2^24\n");
            return 1;
        }
        gw_buf b = {0};
        hostile_hash_flood(&b, n);
        int rc = gw_write_file(argv[3], b.data, b.len);
        printf("%s: %llu colliding keys, %zu bytes\n", argv[3], (unsigned long long)n, b.len);
        gw_buf_free(&b);
        return rc ? 1 : 0;
    }
    if (argc == 3 && !strcmp(argv[1], "--open")) {
        size_t len = 0;
        uint8_t *data = gw_read_file(argv[2], &len);
        if (!data) {
            fprintf(stderr, "make_hostile_gguf: cannot read %s\n", argv[2]);
            return 1;
        }
        open_info r = open_mem(data, len);
        printf("%s: %zu bytes, %s%s%s, %llu keys, %llu tensors, %.3f s, peak %zu bytes (%.2f x file)\n", argv[2],
               len, hearth_status_name(r.status), r.status ? ": " : "", r.msg, (unsigned long long)r.n_kv,
               (unsigned long long)r.n_tensors, r.seconds, r.peak, len ? (double)r.peak / (double)len : 0.0);
        free(data);
        return 0;
    }
    fprintf(stderr,
            "usage: make_hostile_gguf DIR                 write the hostile corpus + README.md into DIR\n"
            "       make_hostile_gguf --seeds DIR         write valid fuzzing seed files into DIR\n"
            "       make_hostile_gguf --flood N FILE      write N keys that collide in the reader's index\n"
            "       make_hostile_gguf --open FILE         open FILE: status, message, seconds, peak bytes\n");
    return argc == 2 ? 0 : 1;
}
