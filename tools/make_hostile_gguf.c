/* make_hostile_gguf.c — writes the hostile GGUF regression corpus (tests/data/hostile/, one file per
 * failure class of tests/hostile_cases.c, plus a README table of what each must produce and what
 * the reader says today), fuzzing seed files, and an index-collision flood file; and opens a file
 * with timing and peak memory (for docs/RELIABILITY.md).
 *
 *   build/tools/make_hostile_gguf tests/data/hostile           corpus + README.md
 *   build/tools/make_hostile_gguf --seeds fuzz/corpus/gguf      valid seed files (fuzz_gguf)
 *   build/tools/make_hostile_gguf --fault-seeds DIR             the same behind a [mode][n] prefix
 *   build/tools/make_hostile_gguf --model-seeds DIR             micro llama / qwen2 / qwen3 models
 *   build/tools/make_hostile_gguf --tokenizer-seeds DIR         texts x vocabularies (fuzz_tokenizer)
 *   build/tools/make_hostile_gguf --json-seeds DIR / --chat-seeds DIR   (fuzz_json, fuzz_chat)
 *   build/tools/make_hostile_gguf --flood 16384 /tmp/flood.gguf keys colliding in the reader's index
 *   build/tools/make_hostile_gguf --open FILE                   status, message, time, peak bytes
 */
#include "faults.h"
#include "gguf.h"
#include "gguf_writer.h"
#include "hostile_cases.h"
#include "micro_model.h"

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

/* fuzz_gguf_faults inputs: [mode][n] + a seed file, for each of the 4 fault modes */
static int write_fault_seeds(const char *dir) {
    int rc = 0;
    for (size_t i = 0; i < hostile_n_seeds; i++) {
        gw_buf b = {0};
        const char *name = hostile_seed(i, &b);
        for (int mode = 0; mode < 4; mode++) {
            gw_buf f = {0};
            gw_put_u8(&f, (uint8_t)mode);
            gw_put_u8(&f, 3);
            gw_put(&f, b.data, b.len);
            char path[1024];
            snprintf(path, sizeof path, "%s/%s.mode%d", dir, name, mode);
            if (gw_write_file(path, f.data, f.len)) rc = 1;
            gw_buf_free(&f);
        }
        gw_buf_free(&b);
    }
    printf("%zu fault seed files in %s\n", 4 * hostile_n_seeds, dir);
    return rc;
}

static int write_model_seeds(const char *dir) {
    static const struct { const char *arch; int tok; } m[] = {
        {"llama", 1}, {"llama", 0}, {"qwen2", 0}, {"qwen3", 0}, {"qwen2", 1},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        gw_buf b = {0};
        micro_model(&b, m[i].arch, m[i].tok);
        char path[1024];
        snprintf(path, sizeof path, "%s/micro-%s%s.gguf", dir, m[i].arch, m[i].tok ? "-tok" : "");
        if (gw_write_file(path, b.data, b.len)) rc = 1;
        gw_buf_free(&b);
    }
    printf("%zu model seed files in %s\n", sizeof m / sizeof m[0], dir);
    return rc;
}

/* fuzz_tokenizer inputs: [selector][text]; selector = vocabulary (0..6) + flag bits (3..6) */
static int write_tokenizer_seeds(const char *dir) {
    static const char *const texts[] = {
        "Hello world",
        "  leading spaces\tand\ttabs\n\n\nnewlines   ",
        "h\xc3\xa9llo w\xc3\xb6rld \xf0\x9f\xa6\x99 \xe4\xbd\xa0\xe5\xa5\xbd",
        "\xff\xfe invalid \xc3 utf-8 \xed\xa0\x80 \xf4\x90\x80\x80",
        "<s> </s> <unk> <|im_start|>user\nhi<|im_end|> <|endoftext|> <think>",
        "<0x0A><0x-1><0xZZ> \xe2\x96\x81",
        "1234567890 3.14159 don't I'm we'll THEY'RE",
        "def f(x):\n    return x ** 2  # comment\n",
    };
    int rc = 0, k = 0;
    for (int v = 0; v < 7; v++)
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            gw_buf f = {0};
            gw_put_u8(&f, (uint8_t)(v | ((i & 15) << 3)));
            gw_put(&f, texts[i], strlen(texts[i]));
            char path[1024];
            snprintf(path, sizeof path, "%s/v%d-t%zu", dir, v, i);
            if (gw_write_file(path, f.data, f.len)) rc = 1;
            gw_buf_free(&f);
            k++;
        }
    printf("%d tokenizer seed files in %s\n", k, dir);
    return rc;
}

static int write_texts(const char *dir, const char *prefix, const char *const *texts, size_t n) {
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s%02zu", dir, prefix, i);
        if (gw_write_file(path, texts[i], strlen(texts[i]))) rc = 1;
    }
    printf("%zu seed files in %s\n", n, dir);
    return rc;
}

/* fuzz_json inputs: valid documents of every kind, and a few near misses */
static int write_json_seeds(const char *dir) {
    static const char *const texts[] = {
        "[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":null}]",
        "{\"a\": [1, -2.5e10, 0.1, 1E+400, true, false, null], \"b\": {\"c\": \"\\u00e9\\ud83e\\udd99\\n\\t\\\"\\\\\\/\"}}",
        "\"\\u0000 nul inside\"",
        "-0.0e-0",
        "12345678901234567890123456789012345678901234567890",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        "{\"k\": 1, \"k\": 2, \"\": {}}",
        "\xef\xbb\xbf {\"bom\": true}",
        "  \t\r\n [ ] \n",
        "[1,]",
        "{\"a\" 1}",
        "01",
        "\"\\ud800\"",
        "\"caf\xc3\xa9 \xf0\x9f\xa6\x99\"",
    };
    return write_texts(dir, "json", texts, sizeof texts / sizeof texts[0]);
}

/* fuzz_chat inputs: templates written here exercising the constructs chat templates use */
static int write_chat_seeds(const char *dir) {
    static const char *const texts[] = {
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
        "{%- set ns = namespace(sys='') -%}{%- for m in messages -%}{%- if m.role == 'system' -%}"
        "{%- set ns.sys = m.content -%}{%- else -%}[{{ m.role | upper }}] {{ m.content | trim }}{{ '\\n' }}"
        "{%- endif -%}{%- endfor -%}{{ ns.sys }}",
        "{% macro fmt(r, c) %}<{{ r }}>{{ c|replace('a','b')|length }}</{{ r }}>{% endmacro %}"
        "{% for m in messages|reverse %}{{ fmt(m.role, m.content) }}{% if loop.last %}!{% endif %}{% endfor %}",
        "{% if messages[0].role != 'user' %}{{ raise_exception('the first message must be from the user') }}"
        "{% endif %}{{ messages|length }}{{ messages|tojson }}",
        "{{ strftime_now('%Y-%m-%d') }}{% for k, v in {'a': 1, 'b': [1, 2]}.items() %}{{ k }}={{ v }};{% endfor %}"
        "{{ range(3)|join(',') }}",
        "{% for m in messages %}{{ m.role }}: {{ m.content if m.content is string else m.content|tojson }}\n"
        "{% endfor %}\n#####\n[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]},"
        "{\"role\":\"tool\",\"content\":null,\"tool_calls\":[{\"name\":\"f\",\"arguments\":{\"x\":1}}]}]",
        "{% for i in range(3) %}{% for j in range(3) %}{{ i * j }}{% if not loop.last %},{% endif %}"
        "{% endfor %};{% endfor %}",
        "{#- comment -#}  {%- if true -%}  x  {%- elif false -%}y{%- else -%}z{%- endif -%}  {{- ' end ' -}}",
        "{{ messages[-1].content[::-1] }}{{ 'abc'.upper() }}{{ 'a,b'.split(',') }}"
        "{{ messages[0]['role'] is defined }}{{ (messages|selectattr('role', 'equalto', 'user')|list)|length }}",
        "{% set x = [1, 2, 3] %}{% for v in x if v > 1 %}{{ loop.index }}{{ v }}{% else %}none{% endfor %}"
        "{{ x|first }}{{ x|last }}{{ x|map('string')|join('-') }}{{ bos_token ~ eos_token }}",
    };
    return write_texts(dir, "chat", texts, sizeof texts / sizeof texts[0]);
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--help") && strcmp(argv[1], "-h")) return write_corpus(argv[1]);
    if (argc == 3 && !strcmp(argv[1], "--seeds")) return write_seeds(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "--fault-seeds")) return write_fault_seeds(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "--model-seeds")) return write_model_seeds(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "--tokenizer-seeds")) return write_tokenizer_seeds(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "--json-seeds")) return write_json_seeds(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "--chat-seeds")) return write_chat_seeds(argv[2]);
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
            "       make_hostile_gguf --fault-seeds DIR   the same behind a [mode][n] prefix (fuzz_gguf_faults)\n"
            "       make_hostile_gguf --model-seeds DIR   micro llama / qwen2 / qwen3 models (fuzz_model)\n"
            "       make_hostile_gguf --tokenizer-seeds DIR  texts for each vocabulary (fuzz_tokenizer)\n"
            "       make_hostile_gguf --json-seeds DIR    JSON documents (fuzz_json)\n"
            "       make_hostile_gguf --chat-seeds DIR    chat templates (fuzz_chat)\n"
            "       make_hostile_gguf --flood N FILE      write N keys that collide in the reader's index\n"
            "       make_hostile_gguf --open FILE         open FILE: status, message, seconds, peak bytes\n");
    return argc == 2 ? 0 : 1;
}
