/* cmd_template.c — `hearth template`: renders a conversation (JSON) with a model's chat template,
 * or a template file, and prints the prompt bytes exactly as rendered. */
#include "cli.h"

#include "chat.h"
#include "gguf.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: hearth template [MODEL.gguf] --messages FILE.json [options]\n"
            "       hearth template --family NAME --messages FILE.json [options]\n"
            "\n"
            "Renders the conversation with the model's tokenizer.chat_template (Jinja) and prints the\n"
            "prompt exactly: the bytes the template produced, no newline added.\n"
            "\n"
            "FILE.json: [{\"role\": ..., \"content\": ...}, ...] or {\"messages\": [...], ...}; in the object\n"
            "form every other member becomes a template variable too (e.g. \"tools\", \"date_string\").\n"
            "\n"
            "options:\n"
            "  --messages FILE        the conversation (required; '-' reads stdin)\n"
            "  --template FILE        use this Jinja template instead of the model's (MODEL optional)\n"
            "  --no-generation-prompt add_generation_prompt = false (default true)\n"
            "  --thinking on|off      enable_thinking = true/false (default: not set)\n"
            "  --bos TEXT, --eos TEXT bos_token / eos_token (default: from the model)\n"
            "  --date-string TEXT     date_string variable (Llama 3.x: \"26 Jul 2024\")\n"
            "  --now SECONDS          define strftime_now() at this time (seconds since 1970, UTC)\n"
            "  --tools FILE.json      tools variable\n"
            "  --family NAME          fallback format: chatml llama3 llama2 mistral gemma phi3\n"
            "  --no-fallback          fail instead of using the family format when the template cannot run\n"
            "  --info                 say on stderr whether the template or a family format was used\n");
}

static json_doc *read_json(const char *path, hearth_error *err) {
    size_t len = 0;
    char *text;
    if (!strcmp(path, "-")) {
        size_t cap = 1 << 16;
        text = malloc(cap);
        while (text) {
            size_t r = fread(text + len, 1, cap - len - 1, stdin);
            len += r;
            if (r == 0) break;
            if (len + 1 >= cap) {
                char *n = realloc(text, cap *= 2);
                if (!n) {
                    free(text);
                    text = NULL;
                }
                text = n;
            }
        }
        if (!text) {
            fprintf(stderr, "hearth template: out of memory reading stdin\n");
            return NULL;
        }
    } else {
        text = cli_read_file("template", path, &len);
        if (!text) return NULL;
    }
    json_doc *d = NULL;
    if (json_parse(&d, text, len, NULL, err)) fprintf(stderr, "hearth template: %s: %s\n", path, err->msg);
    free(text);
    return d;
}

int cmd_template(int argc, char **argv) {
    const char *model = NULL, *messages_path = NULL, *template_path = NULL, *tools_path = NULL;
    int show_info = 0, rc = 1;
    chat_options o = chat_default_options();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (cli_is_help(a)) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--messages") && has_val) {
            messages_path = argv[++i];
        } else if (!strcmp(a, "--template") && has_val) {
            template_path = argv[++i];
        } else if (!strcmp(a, "--no-generation-prompt")) {
            o.add_generation_prompt = 0;
        } else if (!strcmp(a, "--thinking") && has_val) {
            const char *v = argv[++i];
            if (!strcmp(v, "on")) o.enable_thinking = 1;
            else if (!strcmp(v, "off")) o.enable_thinking = 0;
            else return cli_fail("template", "--thinking takes on or off, got '%s'", v);
        } else if (!strcmp(a, "--bos") && has_val) {
            o.bos_token = argv[++i];
        } else if (!strcmp(a, "--eos") && has_val) {
            o.eos_token = argv[++i];
        } else if (!strcmp(a, "--date-string") && has_val) {
            o.date_string = argv[++i];
        } else if (!strcmp(a, "--now") && has_val) {
            long long t;
            if (!cli_parse_int("--now", argv[++i], -62135596800LL, 253402300799LL, &t)) return 1;
            o.has_now = 1;
            o.now = t;
        } else if (!strcmp(a, "--tools") && has_val) {
            tools_path = argv[++i];
        } else if (!strcmp(a, "--family") && has_val) {
            const char *v = argv[++i];
            int f = chat_family_from_name(v);
            if (f <= 0) return cli_fail("template", "unknown family '%s' (chatml llama3 llama2 mistral gemma phi3)", v);
            o.family = f;
        } else if (!strcmp(a, "--no-fallback")) {
            o.no_fallback = 1;
        } else if (!strcmp(a, "--info")) {
            show_info = 1;
        } else if (a[0] == '-' && a[1]) {
            usage(stderr);
            return cli_fail("template", "unknown option or missing value: %s", a);
        } else if (!model) {
            model = a;
        } else {
            return cli_fail("template", "unexpected argument '%s'", a);
        }
    }
    if (!messages_path) {
        usage(stderr);
        return cli_fail("template", "--messages FILE.json is required");
    }
    if (!model && !template_path && !o.family) return cli_fail("template", "give a MODEL.gguf, --template FILE or --family NAME");

    hearth_error err = {0};
    hearth_source src;
    int src_open = 0;
    gguf_file *g = NULL;
    json_doc *msgs = NULL, *tools = NULL, *extra = NULL;
    char *tmpl = NULL, *out = NULL;
    size_t tmpl_len = 0, out_len = 0;
    chat_render_info info;
    char bos_buf[256], eos_buf[256];

    if (!(msgs = read_json(messages_path, &err))) goto done;
    const json_value *root = json_root(msgs), *list = root;
    if (root->type == JSON_OBJECT) {
        list = json_get(root, "messages");
        if (!list) {
            cli_fail("template", "%s: the object has no \"messages\" member", messages_path);
            goto done;
        }
        /* other members become variables */
        if (json_doc_new(&extra, &err)) goto fail_err;
        json_value *ev = json_doc_root_mut(extra);
        json_set_object(ev);
        for (size_t i = 0; i < root->len; i++) {
            if (!strcmp(root->members[i].key, "messages")) continue;
            json_value *slot = json_object_add(extra, ev, root->members[i].key);
            if (!slot || json_copy(extra, slot, &root->members[i].value)) {
                cli_fail("template", "out of memory");
                goto done;
            }
        }
        o.extra_vars = ev;
    }
    if (list->type != JSON_ARRAY) {
        cli_fail("template", "%s: messages must be a JSON array", messages_path);
        goto done;
    }
    if (tools_path) {
        if (!(tools = read_json(tools_path, &err))) goto done;
        o.tools = json_root(tools);
    }
    if (template_path && !(tmpl = cli_read_file("template", template_path, &tmpl_len))) goto done;
    if (model) {
        if (hearth_source_open_file(&src, model, &err)) goto fail_err;
        src_open = 1;
        if (gguf_open(&g, &src, &err)) goto fail_err;
    }
    if (tmpl) {
        chat_options oo = o;
        /* a template file with a model: tokens come from the model unless given */
        if (g) {
            /* chat_render_gguf_ex would use the model's own template; read the token texts instead */
            const gguf_value *toks = gguf_get(g, "tokenizer.ggml.tokens");
            uint32_t id;
            if (!oo.bos_token && toks && toks->strs && !gguf_read_u32(g, "tokenizer.ggml.bos_token_id", &id, 1, &err) &&
                id < toks->n && toks->strs[id].n < sizeof bos_buf) {
                memcpy(bos_buf, toks->strs[id].p, toks->strs[id].n);
                bos_buf[toks->strs[id].n] = 0;
                oo.bos_token = bos_buf;
            }
            if (!oo.eos_token && toks && toks->strs && !gguf_read_u32(g, "tokenizer.ggml.eos_token_id", &id, 1, &err) &&
                id < toks->n && toks->strs[id].n < sizeof eos_buf) {
                memcpy(eos_buf, toks->strs[id].p, toks->strs[id].n);
                eos_buf[toks->strs[id].n] = 0;
                oo.eos_token = eos_buf;
            }
        }
        if (chat_render_ex(tmpl, tmpl_len, list, &oo, &out, &out_len, &info, &err)) goto fail_err;
    } else if (g) {
        if (chat_render_gguf_ex(g, list, &o, &out, &out_len, &info, &err)) goto fail_err;
    } else {
        if (chat_render_ex(NULL, 0, list, &o, &out, &out_len, &info, &err)) goto fail_err;
    }
    if (fwrite(out, 1, out_len, stdout) != out_len || fflush(stdout)) {
        cli_fail("template", "cannot write the output");
        goto done;
    }
    if (!info.used_template) fprintf(stderr, "hearth template: note: %s\n", info.note);
    else if (show_info) fprintf(stderr, "hearth template: rendered with the Jinja template\n");
    rc = 0;
    goto done;
fail_err:
    cli_fail("template", "%s", err.msg);
done:
    h_free(out);
    free(tmpl);
    json_free(msgs);
    json_free(tools);
    json_free(extra);
    gguf_close(g);
    if (src_open) hearth_source_close(&src);
    return rc;
}
