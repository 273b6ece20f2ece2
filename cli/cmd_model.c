/* cmd_model.c — the subcommands that run a model: run, logits, info, and the shared model
 * options (-t, --ctx, --backend, --kv, --batch). */
#include "cli.h"

#include "../src/engine.h"
#include "../src/quant.h"
#include "../src/tokenizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_model_opt(const char *cmd, int argc, char **argv, int *i, cli_model_opts *o) {
    const char *a = argv[*i];
    long long v;
    if (strcmp(a, "-t") == 0 || strcmp(a, "--threads") == 0) {
        if (*i + 1 >= argc || !cli_parse_int(a, argv[++*i], 1, 256, &v)) return -1;
        o->threads = (int)v;
    } else if (strcmp(a, "--ctx") == 0 || strcmp(a, "-c") == 0) {
        if (*i + 1 >= argc || !cli_parse_int(a, argv[++*i], 1, 1 << 22, &v)) return -1;
        o->n_ctx = (int)v;
    } else if (strcmp(a, "--batch") == 0 || strcmp(a, "-b") == 0) {
        if (*i + 1 >= argc || !cli_parse_int(a, argv[++*i], 1, 1 << 16, &v)) return -1;
        o->n_batch = (int)v;
    } else if (strcmp(a, "--backend") == 0) {
        const char *b = *i + 1 < argc ? argv[++*i] : "";
        if (strcmp(b, "cpu") == 0) o->backend = HEARTH_BACKEND_CPU;
        else if (strcmp(b, "webgpu") == 0) o->backend = HEARTH_BACKEND_WEBGPU;
        else {
            cli_fail(cmd, "--backend must be cpu or webgpu, got '%s'", b);
            return -1;
        }
    } else if (strcmp(a, "--kv") == 0) {
        const char *b = *i + 1 < argc ? argv[++*i] : "";
        if (strcmp(b, "f32") == 0) o->kv_type = HEARTH_KV_F32;
        else if (strcmp(b, "f16") == 0) o->kv_type = HEARTH_KV_F16;
        else {
            cli_fail(cmd, "--kv must be f32 or f16, got '%s'", b);
            return -1;
        }
    } else if (strcmp(a, "--mmap") == 0) {
        o->use_mmap = 1;
    } else if (strcmp(a, "--reference-kernels") == 0) {
        quant_force_reference(1);
    } else {
        return 0;
    }
    return 1;
}

const char *cli_model_opts_help =
    "  -t, --threads N     CPU threads (default: all available cores)\n"
    "  -c, --ctx N         context length in tokens (default: min(training context, 4096))\n"
    "  -b, --batch N       tokens per forward pass when evaluating a prompt (default 256)\n"
    "  --backend B         cpu (default) or webgpu\n"
    "  --kv T              KV cache type: f32 (default) or f16\n"
    "  --mmap              CPU: use the weights in place in the mapped file instead of copying them\n"
    "                      into huge-page memory (less memory under pressure, slower decode)\n"
    "  --reference-kernels use the scalar reference kernels instead of SIMD (for checking)\n";

int cli_load_model(const char *cmd, const char *path, const cli_model_opts *o, hearth_model **out) {
    hearth_error err = {0};
    hearth_source src;
    *out = NULL;
    if (hearth_source_open_file(&src, path, &err)) return cli_fail(cmd, "%s", err.msg);
    hearth_model_params mp = hearth_model_default_params();
    mp.backend = o->backend;
    mp.n_threads = o->threads;
    mp.use_mmap = o->use_mmap;
    if (hearth_model_load(out, &src, &mp, &err)) {
        hearth_source_close(&src);
        return cli_fail(cmd, "%s: %s", path, err.msg);
    }
    return 0;
}

int cli_new_session(const char *cmd, hearth_model *m, const cli_model_opts *o, int all_logits, hearth_session **out) {
    hearth_error err = {0};
    hearth_session_params sp = hearth_session_default_params();
    sp.n_ctx = o->n_ctx;
    sp.n_batch = o->n_batch;
    sp.kv_type = o->kv_type;
    sp.all_logits = all_logits;
    if (hearth_session_new(out, m, &sp, &err)) return cli_fail(cmd, "%s", err.msg);
    return 0;
}

/* Parses "1,2,3" (commas and/or spaces) into ids. */
static int parse_ids(const char *cmd, const char *s, int32_t **ids, int *n) {
    size_t cap = 16;
    *n = 0;
    *ids = malloc(cap * sizeof **ids);
    if (!*ids) return cli_fail(cmd, "out of memory");
    while (*s) {
        while (*s == ',' || *s == ' ' || *s == '[' || *s == ']') s++;
        if (!*s) break;
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v > INT32_MAX) return cli_fail(cmd, "bad token id list near '%.20s'", s);
        if ((size_t)*n == cap) {
            int32_t *b = realloc(*ids, cap * 2 * sizeof **ids);
            if (!b) return cli_fail(cmd, "out of memory");
            *ids = b;
            cap *= 2;
        }
        (*ids)[(*n)++] = (int32_t)v;
        s = end;
    }
    if (*n == 0) return cli_fail(cmd, "--ids needs at least one token id");
    return 0;
}

typedef struct idlogit {
    int32_t id;
    float logit;
} idlogit;

static int cmp_idlogit(const void *a, const void *b) {
    const idlogit *x = a, *y = b;
    if (x->logit > y->logit) return -1;
    if (x->logit < y->logit) return 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Prints {"pos":p,"top":[[id,logit],...]} with the k largest logits (ties: lower id first). */
static void print_top(int pos, const float *logits, int n_vocab, int k, idlogit *tmp) {
    int kept = 0;
    for (int i = 0; i < n_vocab; i++) {
        idlogit c = {i, logits[i]};
        if (kept < k) {
            tmp[kept++] = c;
            qsort(tmp, (size_t)kept, sizeof *tmp, cmp_idlogit);
        } else if (cmp_idlogit(&c, &tmp[k - 1]) < 0) {
            int j = k - 1;
            while (j > 0 && cmp_idlogit(&c, &tmp[j - 1]) < 0) {
                tmp[j] = tmp[j - 1];
                j--;
            }
            tmp[j] = c;
        }
    }
    printf("{\"pos\":%d,\"top\":[", pos);
    for (int i = 0; i < kept; i++) printf("%s[%d,%.9g]", i ? "," : "", tmp[i].id, (double)tmp[i].logit);
    printf("]}\n");
}

int cmd_logits(int argc, char **argv) {
    const char *cmd = "logits", *path = NULL, *ids_s = NULL;
    cli_model_opts o = {0};
    long long top = 10;
    for (int i = 1; i < argc; i++) {
        int r = cli_model_opt(cmd, argc, argv, &i, &o);
        if (r < 0) return 2;
        if (r) continue;
        if (cli_is_help(argv[i])) {
            printf("usage: hearth logits MODEL --ids 1,2,3 [--top K] [options]\n\n"
                   "Evaluates the token ids and prints one JSON line per position:\n"
                   "  {\"pos\":i,\"top\":[[id,logit],...]}  (the K largest logits, descending; ties: lower id)\n"
                   "The logits at position i are the model's prediction after ids[0..i].\n\n"
                   "  --ids LIST          comma-separated token ids\n"
                   "  --top K             how many logits per position (default 10)\n%s",
                   cli_model_opts_help);
            return 0;
        } else if (strcmp(argv[i], "--ids") == 0 && i + 1 < argc) {
            ids_s = argv[++i];
        } else if (strcmp(argv[i], "--top") == 0 && i + 1 < argc) {
            if (!cli_parse_int("--top", argv[++i], 1, 1000, &top)) return 2;
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            return cli_fail(cmd, "unknown option '%s' (see --help)", argv[i]) + 1;
        }
    }
    if (!path || !ids_s) return cli_fail(cmd, "usage: hearth logits MODEL --ids 1,2,3 [--top K]") + 1;
    int32_t *ids = NULL;
    int n = 0, rc = 1;
    if (parse_ids(cmd, ids_s, &ids, &n)) {
        free(ids);
        return 1;
    }
    hearth_model *m = NULL;
    hearth_session *s = NULL;
    idlogit *tmp = malloc((size_t)top * sizeof *tmp);
    if (!o.n_batch) o.n_batch = 64; /* keeps the logits buffer at 64 rows */
    if (!o.n_ctx) o.n_ctx = n;
    if (!tmp || cli_load_model(cmd, path, &o, &m) || cli_new_session(cmd, m, &o, 1, &s)) goto done;
    int n_vocab = m->hp.n_vocab;
    for (int done = 0; done < n;) {
        int chunk = H_MIN(n - done, s->n_batch);
        if (hearth_session_eval(s, ids + done, chunk)) {
            cli_fail(cmd, "%s", hearth_session_errmsg(s));
            goto done;
        }
        int rows;
        const float *all = hearth_session_all_logits(s, &rows);
        for (int r = 0; r < rows; r++) print_top(done + r, all + (size_t)r * (size_t)n_vocab, n_vocab, (int)top, tmp);
        done += chunk;
    }
    rc = 0;
done:
    hearth_session_free(s);
    hearth_model_free(m);
    free(tmp);
    free(ids);
    return rc;
}

/* ---- run -------------------------------------------------------------------------------------- */

typedef struct run_out {
    int json;
    int32_t *ids;
    int n, cap;
    char *text;
    size_t len, tcap;
} run_out;

static int on_token(void *user, int32_t id, const char *text, size_t len) {
    run_out *r = user;
    if (id >= 0 && r->json) {
        if (r->n == r->cap) {
            int cap = r->cap ? r->cap * 2 : 64;
            int32_t *b = realloc(r->ids, (size_t)cap * sizeof *b);
            if (!b) return 1;
            r->ids = b;
            r->cap = cap;
        }
        r->ids[r->n++] = id;
    }
    if (!r->json) {
        fwrite(text, 1, len, stdout);
        fflush(stdout);
    } else if (len) {
        if (r->len + len + 1 > r->tcap) {
            size_t cap = (r->tcap ? r->tcap * 2 : 256) + len;
            char *b = realloc(r->text, cap);
            if (!b) return 1;
            r->text = b;
            r->tcap = cap;
        }
        memcpy(r->text + r->len, text, len);
        r->len += len;
    }
    return 0;
}

/* JSON string with escapes (the text is valid UTF-8: the stream decoder guarantees it). */
static void print_json_string(const char *s, size_t n) {
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c == '\n') printf("\\n");
        else if (c == '\r') printf("\\r");
        else if (c == '\t') printf("\\t");
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int cli_sampler_opt(int argc, char **argv, int *i, hearth_sampler_params *sp) {
    const char *a = argv[*i];
    double d;
    long long v;
    if (*i + 1 >= argc) return 0;
    if (strcmp(a, "--temp") == 0) {
        if (!cli_parse_float(a, argv[++*i], &d)) return -1;
        sp->temperature = (float)d;
    } else if (strcmp(a, "--top-k") == 0) {
        if (!cli_parse_int(a, argv[++*i], 0, 1 << 24, &v)) return -1;
        sp->top_k = (int)v;
    } else if (strcmp(a, "--top-p") == 0) {
        if (!cli_parse_float(a, argv[++*i], &d)) return -1;
        sp->top_p = (float)d;
    } else if (strcmp(a, "--min-p") == 0) {
        if (!cli_parse_float(a, argv[++*i], &d)) return -1;
        sp->min_p = (float)d;
    } else if (strcmp(a, "--repeat-penalty") == 0) {
        if (!cli_parse_float(a, argv[++*i], &d)) return -1;
        sp->repeat_penalty = (float)d;
    } else if (strcmp(a, "--repeat-last-n") == 0) {
        if (!cli_parse_int(a, argv[++*i], -1, 1 << 22, &v)) return -1;
        sp->repeat_last_n = (int)v;
    } else if (strcmp(a, "--frequency-penalty") == 0) {
        if (!cli_parse_float(a, argv[++*i], &d)) return -1;
        sp->frequency_penalty = (float)d;
    } else if (strcmp(a, "--presence-penalty") == 0) {
        if (!cli_parse_float(a, argv[++*i], &d)) return -1;
        sp->presence_penalty = (float)d;
    } else if (strcmp(a, "--seed") == 0 || strcmp(a, "-s") == 0) {
        if (!cli_parse_int(a, argv[++*i], 0, INT64_MAX, &v)) return -1;
        sp->seed = (uint64_t)v;
    } else {
        return 0;
    }
    return 1;
}

const char *cli_sampler_opts_help =
    "  --temp T            temperature; 0 = greedy (default 0.8 for run/chat)\n"
    "  --top-k K           keep the K most likely tokens (0 = off, default 40)\n"
    "  --top-p P           nucleus sampling (1 = off, default 0.95)\n"
    "  --min-p M           drop tokens below M * p(best) (0 = off, default 0.05)\n"
    "  --repeat-penalty R  penalty for recent tokens (1 = off, default 1)\n"
    "  --repeat-last-n N   how many recent tokens the penalties see (default 64; -1 = all)\n"
    "  --frequency-penalty F, --presence-penalty P   OpenAI-style penalties (default 0)\n"
    "  -s, --seed S        random seed (same seed, same output; default 0)\n";

hearth_sampler_params cli_default_sampling(void) {
    hearth_sampler_params sp = hearth_sampler_default_params();
    sp.temperature = 0.8f;
    sp.top_k = 40;
    sp.top_p = 0.95f;
    sp.min_p = 0.05f;
    return sp;
}

int cmd_run(int argc, char **argv) {
    const char *cmd = "run", *path = NULL, *prompt = NULL;
    cli_model_opts o = {0};
    hearth_sampler_params sp = cli_default_sampling();
    long long n_gen = 256;
    int json = 0, no_bos = 0, ignore_eog = 0;
    for (int i = 1; i < argc; i++) {
        int r = cli_model_opt(cmd, argc, argv, &i, &o);
        if (r == 0) r = cli_sampler_opt(argc, argv, &i, &sp);
        if (r < 0) return 2;
        if (r) continue;
        if (cli_is_help(argv[i])) {
            printf("usage: hearth run MODEL -p TEXT [-n N] [options]\n\n"
                   "Prints the model's continuation of TEXT (only the generated text, on stdout).\n\n"
                   "  -p, --prompt TEXT   the prompt (tokenized with BOS as the vocabulary says; no control tokens)\n"
                   "  -n N                tokens to generate (default 256; stops earlier at end-of-generation)\n"
                   "  --ignore-eos        keep generating after end-of-generation tokens\n"
                   "  --no-bos            do not add the BOS token\n"
                   "  --json              print {\"prompt_ids\":[...],\"ids\":[...],\"text\":...} instead of the text\n"
                   "%s%s",
                   cli_sampler_opts_help, cli_model_opts_help);
            return 0;
        } else if ((strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "--prompt") == 0) && i + 1 < argc) {
            prompt = argv[++i];
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            if (!cli_parse_int("-n", argv[++i], 0, 1 << 22, &n_gen)) return 2;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--no-bos") == 0) {
            no_bos = 1;
        } else if (strcmp(argv[i], "--ignore-eos") == 0) {
            ignore_eog = 1;
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            return cli_fail(cmd, "unknown option '%s' (see --help)", argv[i]) + 1;
        }
    }
    if (!path) path = CLI_DEFAULT_MODEL;
    if (!prompt) prompt = "";
    hearth_model *m = NULL;
    hearth_session *s = NULL;
    hearth_sampler *smp = NULL;
    int32_t *ids = NULL;
    int n = 0, rc = 1;
    run_out out = {.json = json};
    hearth_error err = {0};
    if (cli_load_model(cmd, path, &o, &m)) goto done;
    if (!m->tok) {
        cli_fail(cmd, "%s has no tokenizer", path);
        goto done;
    }
    if (tokenizer_encode(m->tok, prompt, strlen(prompt), !no_bos, 0, &ids, &n, &err)) {
        cli_fail(cmd, "%s", err.msg);
        goto done;
    }
    if (n == 0) { /* an empty prompt without BOS: start from BOS anyway if there is one */
        int32_t bos = tokenizer_bos(m->tok);
        if (bos < 0) {
            cli_fail(cmd, "empty prompt and the vocabulary has no BOS token");
            goto done;
        }
        ids = h_malloc(sizeof *ids);
        if (!ids) goto done;
        ids[0] = bos;
        n = 1;
    }
    if (!o.n_ctx) o.n_ctx = (int)H_MIN((long long)H_MIN(m->hp.n_ctx_train, 4096) , (long long)n + n_gen + 1);
    if (o.n_ctx < n + 1) o.n_ctx = n + 1;
    if (cli_new_session(cmd, m, &o, 0, &s)) goto done;
    if (hearth_sampler_new(&smp, &sp, m->hp.n_vocab, &err)) {
        cli_fail(cmd, "%s", err.msg);
        goto done;
    }
    if (hearth_session_set_tokens(s, ids, n, NULL)) {
        cli_fail(cmd, "%s", hearth_session_errmsg(s));
        goto done;
    }
    hearth_generate_params gp = {.max_tokens = (int)n_gen, .ignore_eog = ignore_eog};
    int reason = 0;
    if (n_gen > 0 && hearth_generate(s, smp, &gp, on_token, &out, NULL, &reason)) {
        cli_fail(cmd, "%s", hearth_session_errmsg(s));
        goto done;
    }
    if (json) {
        printf("{\"prompt_ids\":[");
        for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", ids[i]);
        printf("],\"ids\":[");
        for (int i = 0; i < out.n; i++) printf("%s%d", i ? "," : "", out.ids[i]);
        printf("],\"text\":");
        print_json_string(out.text ? out.text : "", out.len);
        printf(",\"stop\":\"%s\"}\n", reason == HEARTH_STOP_EOG ? "eog" : reason == HEARTH_STOP_CONTEXT_FULL ? "context" : "length");
    } else {
        putchar('\n');
    }
    rc = 0;
done:
    free(out.ids);
    free(out.text);
    h_free(ids);
    hearth_sampler_free(smp);
    hearth_session_free(s);
    hearth_model_free(m);
    return rc;
}

/* ---- info ------------------------------------------------------------------------------------- */

int cmd_info(int argc, char **argv) {
    const char *cmd = "info", *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: hearth info MODEL\n\nPrints architecture, shapes, tensor types, tokenizer and size.\n");
            return 0;
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            return cli_fail(cmd, "unknown option '%s' (see --help)", argv[i]) + 1;
        }
    }
    if (!path) return cli_fail(cmd, "usage: hearth info MODEL") + 1;
    cli_model_opts o = {.threads = 1};
    hearth_model *m = NULL;
    if (cli_load_model(cmd, path, &o, &m)) return 1;
    const model_hparams *hp = &m->hp;
    printf("file:          %s (%.2f MiB, GGUF v%u, %llu tensors, %llu metadata keys)\n", path,
           (double)gguf_file_size(m->gguf) / 1048576.0, gguf_version(m->gguf),
           (unsigned long long)gguf_n_tensors(m->gguf), (unsigned long long)gguf_n_kv(m->gguf));
    printf("name:          %s\n", m->name[0] ? m->name : "(none)");
    printf("architecture:  %s\n", m->arch_name);
    printf("parameters:    %llu (%.1f M), %.2f MiB of weights\n", (unsigned long long)m->n_params,
           (double)m->n_params / 1e6, (double)m->weight_bytes / 1048576.0);
    printf("layers:        %d\nembedding:     %d\nfeed-forward:  %d\n", hp->n_layer, hp->n_embd, hp->n_ff);
    printf("heads:         %d query, %d key/value (head dim %d)\n", hp->n_head, hp->n_head_kv, hp->head_dim);
    printf("vocabulary:    %d\ncontext:       %d (training)\n", hp->n_vocab, hp->n_ctx_train);
    printf("rope:          %s pairs, theta %g%s\n", hp->rope_neox ? "neox (i, i+d/2)" : "normal (2i, 2i+1)",
           (double)hp->rope_theta, hp->rope_freqs ? ", frequency factors (rope_freqs)" : "");
    printf("rms eps:       %g\n", (double)hp->rms_eps);
    printf("output:        %s\n", m->tied_output ? "tied to token_embd" : "output.weight");
    int counts[QT_COUNT] = {0};
    for (uint64_t i = 0; i < gguf_n_tensors(m->gguf); i++) {
        uint32_t t = gguf_tensor_at(m->gguf, i)->type;
        if (t < QT_COUNT) counts[t]++;
    }
    printf("tensor types: ");
    for (int t = 0; t < QT_COUNT; t++)
        if (counts[t]) printf(" %s x%d", quant_type_name((uint32_t)t), counts[t]);
    printf("\n");
    if (m->tok)
        printf("tokenizer:     %s%s%s, %d tokens, bos %d, eos %d\n", tokenizer_model_name(m->tok),
               tokenizer_pre_name(m->tok)[0] ? " / " : "", tokenizer_pre_name(m->tok), tokenizer_n_vocab(m->tok),
               tokenizer_bos(m->tok), tokenizer_eos(m->tok));
    else
        printf("tokenizer:     (none)\n");
    const gguf_value *ct = gguf_get(m->gguf, "tokenizer.chat_template");
    printf("chat template: %s\n", ct && ct->type == GGUF_TYPE_STRING ? "yes (tokenizer.chat_template)" : "none");
    printf("cpu kernels:   %s\n", quant_simd_name());
    hearth_model_free(m);
    return 0;
}
