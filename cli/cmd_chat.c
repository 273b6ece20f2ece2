/* cmd_chat.c — `hearth chat`: an interactive conversation. Models with a chat template get the
 * conversation rendered by it (only the template's markers become control tokens); models
 * without one (like stories260K) continue a running text. Every turn reuses the KV cache of the
 * conversation so far; when the context fills up, the oldest turns are dropped. */
#include "cli.h"

#include "../src/engine.h"
#include "../src/tokenizer.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct turn {
    char *role, *content;
} turn;

typedef struct reply {
    char *text;
    size_t len, cap;
} reply;

static int on_piece(void *user, int32_t id, const char *text, size_t len) {
    (void)id;
    reply *r = user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    if (r->len + len + 1 > r->cap) {
        size_t cap = (r->cap ? r->cap * 2 : 256) + len;
        char *b = realloc(r->text, cap);
        if (!b) return 1;
        r->text = b;
        r->cap = cap;
    }
    memcpy(r->text + r->len, text, len);
    r->len += len;
    r->text[r->len] = 0;
    return 0;
}

static char *read_line(FILE *f) {
    size_t cap = 256, n = 0;
    char *s = malloc(cap);
    int c;
    if (!s) return NULL;
    while ((c = fgetc(f)) != EOF && c != '\n') {
        if (n + 2 > cap) {
            char *b = realloc(s, cap *= 2);
            if (!b) {
                free(s);
                return NULL;
            }
            s = b;
        }
        s[n++] = (char)c;
    }
    if (c == EOF && n == 0) {
        free(s);
        return NULL;
    }
    if (n && s[n - 1] == '\r') n--;
    s[n] = 0;
    return s;
}

static void free_turns(turn *t, int n) {
    for (int i = 0; i < n; i++) free(t[i].role), free(t[i].content);
}

/* Tokens of the conversation turns[first..n) (plus the system turn 0 if has_system). */
static int conversation_ids(hearth_model *m, const turn *t, int n, int has_system, int first, int32_t **ids,
                            int *n_ids, hearth_error *err) {
    hearth_chat_message *msgs = malloc(((size_t)n + 1) * sizeof *msgs);
    if (!msgs) return h_err(err, HEARTH_ERR_NOMEM, "out of memory");
    int k = 0;
    if (has_system) msgs[k].role = t[0].role, msgs[k].content = t[0].content, k++;
    for (int i = first; i < n; i++) msgs[k].role = t[i].role, msgs[k].content = t[i].content, k++;
    hearth_chat_params p = {.add_generation_prompt = 1, .enable_thinking = -1, .now = (int64_t)time(NULL)};
    int st = hearth_chat_tokenize(m, msgs, k, &p, ids, n_ids, err);
    free(msgs);
    return st;
}

int cmd_chat(int argc, char **argv) {
    const char *cmd = "chat", *path = NULL, *system = NULL;
    cli_model_opts o = {0};
    hearth_sampler_params sp = cli_default_sampling();
    long long n_reply = 512;
    int stats = 0;
    sp.seed = (uint64_t)time(NULL);
    for (int i = 1; i < argc; i++) {
        int r = cli_model_opt(cmd, argc, argv, &i, &o);
        if (r == 0) r = cli_sampler_opt(argc, argv, &i, &sp);
        if (r < 0) return 2;
        if (r) continue;
        if (cli_is_help(argv[i])) {
            printf("usage: hearth chat [MODEL] [--system TEXT] [-n N] [options]\n\n"
                   "Interactive chat on stdin/stdout (default model: %s).\n"
                   "Models with a chat template (tokenizer.chat_template) get the conversation in their\n"
                   "format; text you type never becomes control tokens. Models without one continue a\n"
                   "running text. Type /reset to start over, /quit (or end of input) to leave.\n\n"
                   "  --system TEXT       system message (chat models)\n"
                   "  -n N                at most N tokens per reply (default 512)\n"
                   "  --stats             print tokens/s after each reply (stderr)\n"
                   "%s%s",
                   CLI_DEFAULT_MODEL, cli_sampler_opts_help, cli_model_opts_help);
            return 0;
        } else if (strcmp(argv[i], "--system") == 0 && i + 1 < argc) {
            system = argv[++i];
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            if (!cli_parse_int("-n", argv[++i], 1, 1 << 22, &n_reply)) return 2;
        } else if (strcmp(argv[i], "--stats") == 0) {
            stats = 1;
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            return cli_fail(cmd, "unknown option '%s' (see --help)", argv[i]) + 1;
        }
    }
    if (!path) path = CLI_DEFAULT_MODEL;
    hearth_model *m = NULL;
    hearth_session *s = NULL;
    hearth_sampler *smp = NULL;
    hearth_error err = {0};
    turn *turns = NULL;
    int n_turns = 0, cap_turns = 0, rc = 1;
    char *transcript = NULL;
    size_t tlen = 0;
    if (cli_load_model(cmd, path, &o, &m)) goto done;
    if (!m->tok) {
        cli_fail(cmd, "%s has no tokenizer", path);
        goto done;
    }
    if (cli_new_session(cmd, m, &o, 0, &s)) goto done;
    if (hearth_sampler_new(&smp, &sp, m->hp.n_vocab, &err)) {
        cli_fail(cmd, "%s", err.msg);
        goto done;
    }
    const gguf_value *tmpl = gguf_get(m->gguf, "tokenizer.chat_template");
    int chat_mode = tmpl && tmpl->type == GGUF_TYPE_STRING;
    int has_system = chat_mode && system;
    fprintf(stderr, "hearth chat: %s (%s, %d layers, context %d)%s\n", m->name[0] ? m->name : path, m->arch_name,
            m->hp.n_layer, s->n_ctx,
            chat_mode ? "" : " — no chat template: the model continues your text");
    fprintf(stderr, "type /reset to start over, /quit to leave\n");
    if (has_system) {
        turns = malloc(8 * sizeof *turns);
        if (!turns) goto done;
        cap_turns = 8;
        turns[0].role = strdup("system");
        turns[0].content = strdup(system);
        n_turns = 1;
    }
    for (;;) {
        fprintf(stderr, "> ");
        fflush(stderr);
        char *line = read_line(stdin);
        if (!line || strcmp(line, "/quit") == 0) {
            free(line);
            break;
        }
        if (strcmp(line, "/reset") == 0) {
            free_turns(turns + has_system, n_turns - has_system);
            n_turns = has_system;
            tlen = 0;
            hearth_session_truncate(s, 0);
            free(line);
            continue;
        }
        int32_t *ids = NULL;
        int n = 0, st;
        if (chat_mode) {
            if (n_turns + 2 > cap_turns) {
                cap_turns = cap_turns ? cap_turns * 2 : 8;
                turn *t = realloc(turns, (size_t)cap_turns * sizeof *t);
                if (!t) goto done;
                turns = t;
            }
            turns[n_turns].role = strdup("user");
            turns[n_turns].content = line;
            n_turns++;
            /* drop the oldest turns (keeping the system message) until the prompt and a reply fit */
            int first = has_system;
            for (;;) {
                st = conversation_ids(m, turns, n_turns, has_system, first, &ids, &n, &err);
                if (st || n + n_reply <= s->n_ctx || first >= n_turns - 1) break;
                hearth_free(ids);
                ids = NULL;
                first++;
            }
            if (!st && first > has_system)
                fprintf(stderr, "(the %d oldest messages no longer fit in the context and were dropped)\n",
                        first - has_system);
        } else {
            size_t add = strlen(line) + 2;
            char *t = realloc(transcript, tlen + add + 1);
            if (!t) goto done;
            transcript = t;
            if (tlen) transcript[tlen++] = ' ';
            memcpy(transcript + tlen, line, add - 1);
            tlen += strlen(line);
            transcript[tlen] = 0;
            free(line);
            st = tokenizer_encode(m->tok, transcript, tlen, 1, 0, &ids, &n, &err);
            if (!st && n + n_reply > s->n_ctx) { /* keep the most recent text that fits */
                int keep = (int)(s->n_ctx - n_reply);
                int bos = tokenizer_add_bos(m->tok);
                if (keep > bos) {
                    memmove(ids + bos, ids + n - (keep - bos), (size_t)(keep - bos) * sizeof *ids);
                    n = keep;
                }
            }
        }
        if (st || n <= 0 || n >= s->n_ctx) {
            cli_fail(cmd, "%s", st ? err.msg : "the message does not fit in the context");
            hearth_free(ids);
            if (chat_mode) free(turns[--n_turns].role), free(turns[n_turns].content);
            continue;
        }
        int reused = 0;
        double t0 = h_time_s();
        if (hearth_session_set_tokens(s, ids, n, &reused)) {
            cli_fail(cmd, "%s", hearth_session_errmsg(s));
            hearth_free(ids);
            goto done;
        }
        double t1 = h_time_s();
        hearth_free(ids);
        reply r = {0};
        hearth_generate_params gp = {.max_tokens = (int)n_reply};
        int produced = 0, reason = 0;
        if (hearth_generate(s, smp, &gp, on_piece, &r, &produced, &reason)) {
            cli_fail(cmd, "%s", hearth_session_errmsg(s));
            free(r.text);
            goto done;
        }
        double t2 = h_time_s();
        printf("\n");
        fflush(stdout);
        if (stats)
            fprintf(stderr, "[prompt %d tokens (%d reused) %.1f tok/s, reply %d tokens %.1f tok/s%s]\n", n, reused,
                    (n - reused) / (t1 - t0 + 1e-9), produced, produced / (t2 - t1 + 1e-9),
                    reason == HEARTH_STOP_MAX_TOKENS ? ", length limit" : "");
        if (chat_mode) {
            turns[n_turns].role = strdup("assistant");
            turns[n_turns].content = r.text ? r.text : strdup("");
            n_turns++;
        } else {
            char *t = realloc(transcript, tlen + r.len + 1);
            if (t) {
                transcript = t;
                memcpy(transcript + tlen, r.text ? r.text : "", r.len);
                tlen += r.len;
                transcript[tlen] = 0;
            }
            free(r.text);
        }
    }
    rc = 0;
done:
    free_turns(turns, n_turns);
    free(turns);
    free(transcript);
    hearth_sampler_free(smp);
    hearth_session_free(s);
    hearth_model_free(m);
    return rc;
}
