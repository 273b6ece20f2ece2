/* chat.c — conversation -> prompt text: template variables, the Jinja path, family detection from
 * template text or GGUF vocabulary, the built-in family formatters used as fallback, and reading
 * the template and BOS/EOS texts from a GGUF. */
#include "chat.h"

#include "jinja_int.h" /* UTF-8 helpers shared with the interpreter */

#include <stdio.h>

static const char *const family_names[CHAT_FAMILY_COUNT] = {"auto", "chatml", "llama3", "llama2",
                                                            "mistral", "gemma", "phi3"};

chat_options chat_default_options(void) {
    chat_options o;
    memset(&o, 0, sizeof(o));
    o.add_generation_prompt = 1;
    o.enable_thinking = -1;
    return o;
}

const char *chat_family_name(int f) { return f >= 0 && f < CHAT_FAMILY_COUNT ? family_names[f] : "unknown"; }

int chat_family_from_name(const char *name) {
    for (int i = 0; name && i < CHAT_FAMILY_COUNT; i++)
        if (!strcmp(name, family_names[i])) return i;
    return -1;
}

static int contains(const char *s, size_t n, const char *w) {
    size_t l = strlen(w);
    for (size_t i = 0; l <= n && i <= n - l; i++)
        if (s[i] == w[0] && memcmp(s + i, w, l) == 0) return 1;
    return 0;
}

int chat_detect_family(const char *t, size_t n) {
    if (!t) return CHAT_FAMILY_AUTO;
    if (contains(t, n, "<|im_start|>")) return CHAT_FAMILY_CHATML;
    if (contains(t, n, "<|start_header_id|>")) return CHAT_FAMILY_LLAMA3;
    if (contains(t, n, "<start_of_turn>")) return CHAT_FAMILY_GEMMA;
    if (contains(t, n, "<|user|>") && contains(t, n, "<|end|>")) return CHAT_FAMILY_PHI3;
    if (contains(t, n, "[INST]")) return contains(t, n, "<<SYS>>") ? CHAT_FAMILY_LLAMA2 : CHAT_FAMILY_MISTRAL;
    return CHAT_FAMILY_AUTO;
}

/* ---- GGUF ------------------------------------------------------------------------------------- */

static int gguf_token_text(const gguf_file *g, const char *id_key, const char **s, size_t *n) {
    uint32_t id = 0;
    hearth_error e;
    const gguf_value *ids = gguf_get(g, id_key);
    const gguf_value *toks = gguf_get(g, "tokenizer.ggml.tokens");
    if (!ids || !toks || toks->type != GGUF_TYPE_ARRAY || toks->elem_type != GGUF_TYPE_STRING || !toks->strs) return 0;
    if (gguf_read_u32(g, id_key, &id, 1, &e) || id >= toks->n) return 0;
    *s = toks->strs[id].p;
    *n = (size_t)toks->strs[id].n;
    return 1;
}

static int vocab_has(const gguf_value *toks, const char *w) {
    size_t l = strlen(w);
    for (uint64_t i = 0; i < toks->n; i++)
        if (toks->strs[i].n == l && memcmp(toks->strs[i].p, w, l) == 0) return 1;
    return 0;
}

int chat_family_from_gguf(const gguf_file *g) {
    const char *t;
    size_t n;
    hearth_error e;
    if (!g) return CHAT_FAMILY_CHATML;
    if (!gguf_read_str(g, "tokenizer.chat_template", &t, &n, 0, &e) && gguf_get(g, "tokenizer.chat_template")) {
        int f = chat_detect_family(t, n);
        if (f) return f;
    }
    const gguf_value *toks = gguf_get(g, "tokenizer.ggml.tokens");
    if (toks && toks->type == GGUF_TYPE_ARRAY && toks->elem_type == GGUF_TYPE_STRING && toks->strs) {
        if (vocab_has(toks, "<|im_start|>")) return CHAT_FAMILY_CHATML;
        if (vocab_has(toks, "<|start_header_id|>")) return CHAT_FAMILY_LLAMA3;
        if (vocab_has(toks, "<start_of_turn>")) return CHAT_FAMILY_GEMMA;
        if (vocab_has(toks, "<|user|>") && vocab_has(toks, "<|end|>")) return CHAT_FAMILY_PHI3;
        if (vocab_has(toks, "[INST]")) return CHAT_FAMILY_MISTRAL;
    }
    const char *model;
    size_t ml;
    if (!gguf_read_str(g, "tokenizer.ggml.model", &model, &ml, 0, &e) && gguf_get(g, "tokenizer.ggml.model") &&
        ml == 5 && memcmp(model, "llama", 5) == 0)
        return CHAT_FAMILY_LLAMA2;
    return CHAT_FAMILY_CHATML;
}

/* ---- variables -------------------------------------------------------------------------------- */

int chat_messages_to_json(json_doc **doc, const chat_message *msgs, int n, hearth_error *err) {
    *doc = NULL;
    if (n < 0 || (n > 0 && !msgs)) return h_err(err, HEARTH_ERR_ARG, "chat: invalid message list");
    json_doc *d;
    int rc = json_doc_new(&d, err);
    if (rc) return rc;
    json_value *arr = json_doc_root_mut(d);
    json_set_array(arr);
    for (int i = 0; i < n; i++) {
        if (!msgs[i].role) {
            json_free(d);
            return h_err(err, HEARTH_ERR_ARG, "chat: message %d has no role", i);
        }
        json_value *m = json_array_add(d, arr), *r, *c;
        if (!m) goto nomem;
        json_set_object(m);
        if (!(r = json_object_add(d, m, "role")) || json_set_string(d, r, msgs[i].role, strlen(msgs[i].role))) goto nomem;
        if (!(c = json_object_add(d, m, "content"))) goto nomem;
        if (msgs[i].content && json_set_string(d, c, msgs[i].content, strlen(msgs[i].content))) goto nomem;
    }
    *doc = d;
    return HEARTH_OK;
nomem:
    json_free(d);
    return h_err(err, HEARTH_ERR_NOMEM, "chat: out of memory");
}

typedef struct tokens {
    const char *bos, *eos;
    size_t bos_len, eos_len;
} tokens;

static int build_vars(json_doc **out, const json_value *messages, const chat_options *o, const tokens *tk,
                      hearth_error *err) {
    json_doc *d;
    int rc = json_doc_new(&d, err);
    if (rc) return rc;
    json_value *root = json_doc_root_mut(d), *v;
    json_set_object(root);
    if (!(v = json_object_add(d, root, "messages")) || json_copy(d, v, messages)) goto nomem;
    if (!(v = json_object_add(d, root, "add_generation_prompt"))) goto nomem;
    json_set_bool(v, o->add_generation_prompt);
    if (tk->bos && (!(v = json_object_add(d, root, "bos_token")) || json_set_string(d, v, tk->bos, tk->bos_len))) goto nomem;
    if (tk->eos && (!(v = json_object_add(d, root, "eos_token")) || json_set_string(d, v, tk->eos, tk->eos_len))) goto nomem;
    if (o->enable_thinking >= 0) {
        if (!(v = json_object_add(d, root, "enable_thinking"))) goto nomem;
        json_set_bool(v, o->enable_thinking);
    }
    if (o->date_string &&
        (!(v = json_object_add(d, root, "date_string")) || json_set_string(d, v, o->date_string, strlen(o->date_string))))
        goto nomem;
    if (o->tools && (!(v = json_object_add(d, root, "tools")) || json_copy(d, v, o->tools))) goto nomem;
    if (o->extra_vars && o->extra_vars->type == JSON_OBJECT) {
        for (size_t i = 0; i < o->extra_vars->len; i++) {
            const json_member *m = &o->extra_vars->members[i];
            if (!(v = json_object_add(d, root, m->key)) || json_copy(d, v, &m->value)) goto nomem;
        }
    }
    *out = d;
    return HEARTH_OK;
nomem:
    json_free(d);
    return h_err(err, HEARTH_ERR_NOMEM, "chat: out of memory");
}

/* ---- family formatters ------------------------------------------------------------------------ */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1) {
            if (nc > SIZE_MAX / 4) {
                b->failed = 1;
                return;
            }
            nc *= 2;
        }
        char *p = h_realloc(b->p, nc);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->p = p;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* appends s[0..n) with JavaScript trim() applied when trim is set */
static void sb_text(sbuf *b, const char *s, size_t n, int trim) {
    if (trim) {
        size_t a = 0, e = n;
        uint32_t cp;
        while (a < e) {
            size_t l = ju_decode(s + a, e - a, &cp);
            if (!ju_is_space(cp)) break;
            a += l;
        }
        while (e > a) {
            size_t pc = e - 1;
            while (pc > a && ((unsigned char)s[pc] & 0xc0) == 0x80) pc--;
            ju_decode(s + pc, e - pc, &cp);
            if (!ju_is_space(cp)) break;
            e = pc;
        }
        s += a;
        n = e - a;
    }
    sb_put(b, s, n);
}

/* content as text: a string, or the "text" of the parts of a list */
static void content_text(sbuf *b, const json_value *m, int trim) {
    const json_value *c = json_get(m, "content");
    if (!c) return;
    if (c->type == JSON_STRING) {
        sb_text(b, c->str, c->len, trim);
        return;
    }
    if (c->type != JSON_ARRAY) return;
    sbuf t = {0};
    for (size_t i = 0; i < c->len; i++) {
        const json_value *txt = json_get(&c->items[i], "text");
        if (txt && txt->type == JSON_STRING) sb_put(&t, txt->str, txt->len);
    }
    if (t.failed) b->failed = 1;
    else if (t.p) sb_text(b, t.p, t.len, trim);
    h_free(t.p);
}

static const char *role_of(const json_value *m, size_t *len) {
    const json_value *r = json_get(m, "role");
    if (!r || r->type != JSON_STRING) {
        *len = 0;
        return "";
    }
    *len = r->len;
    return r->str;
}

static int role_is(const json_value *m, const char *w) {
    size_t l;
    const char *r = role_of(m, &l);
    return l == strlen(w) && memcmp(r, w, l) == 0;
}

int chat_format_family(int family, const json_value *msgs, const chat_options *o, char **out, size_t *out_len,
                       hearth_error *err) {
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!msgs || msgs->type != JSON_ARRAY) return h_err(err, HEARTH_ERR_ARG, "chat: messages must be a JSON array");
    for (size_t i = 0; i < msgs->len; i++)
        if (msgs->items[i].type != JSON_OBJECT) return h_err(err, HEARTH_ERR_ARG, "chat: message %zu is not an object", i);
    chat_options d = chat_default_options();
    if (!o) o = &d;
    const char *bos = o->bos_token, *eos = o->eos_token;
    sbuf b = {0};
    size_t n = msgs->len, first = 0;
    const json_value *sys = n && role_is(&msgs->items[0], "system") ? &msgs->items[0] : NULL;
    switch (family) {
    case CHAT_FAMILY_LLAMA3:
        sb_str(&b, bos ? bos : "<|begin_of_text|>");
        for (size_t i = 0; i < n; i++) {
            size_t rl;
            const char *r = role_of(&msgs->items[i], &rl);
            sb_str(&b, "<|start_header_id|>");
            sb_put(&b, r, rl);
            sb_str(&b, "<|end_header_id|>\n\n");
            content_text(&b, &msgs->items[i], 1);
            sb_str(&b, "<|eot_id|>");
        }
        if (o->add_generation_prompt) sb_str(&b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    case CHAT_FAMILY_LLAMA2:
    case CHAT_FAMILY_MISTRAL: {
        int l2 = family == CHAT_FAMILY_LLAMA2;
        if (!bos) bos = "<s>";
        if (!eos) eos = "</s>";
        if (!l2) sb_str(&b, bos);
        first = sys ? 1 : 0;
        for (size_t i = first; i < n; i++) {
            const json_value *m = &msgs->items[i];
            if (role_is(m, "assistant")) {
                if (l2) sb_str(&b, " ");
                content_text(&b, m, l2);
                sb_str(&b, l2 ? " " : "");
                sb_str(&b, eos);
                if (!l2) sb_str(&b, " ");
                continue;
            }
            /* user (and anything else) */
            sbuf t = {0};
            if (sys && i == first) {
                if (l2) sb_str(&t, "<<SYS>>\n");
                content_text(&t, sys, 0);
                sb_str(&t, l2 ? "\n<</SYS>>\n\n" : "\n\n");
            }
            content_text(&t, m, 0);
            if (t.failed) b.failed = 1;
            if (l2) sb_str(&b, bos);
            sb_str(&b, "[INST] ");
            if (t.p) sb_text(&b, t.p, t.len, l2);
            sb_str(&b, " [/INST]");
            h_free(t.p);
        }
        break;
    }
    case CHAT_FAMILY_GEMMA:
        sb_str(&b, bos ? bos : "<bos>");
        first = sys ? 1 : 0;
        for (size_t i = first; i < n; i++) {
            const json_value *m = &msgs->items[i];
            size_t rl;
            const char *r = role_of(m, &rl);
            sb_str(&b, "<start_of_turn>");
            if (role_is(m, "assistant")) sb_str(&b, "model");
            else sb_put(&b, r, rl);
            sb_str(&b, "\n");
            if (sys && i == first) {
                content_text(&b, sys, 0);
                sb_str(&b, "\n\n");
            }
            content_text(&b, m, 1);
            sb_str(&b, "<end_of_turn>\n");
        }
        if (o->add_generation_prompt) sb_str(&b, "<start_of_turn>model\n");
        break;
    case CHAT_FAMILY_PHI3:
        for (size_t i = 0; i < n; i++) {
            size_t rl;
            const char *r = role_of(&msgs->items[i], &rl);
            sb_str(&b, "<|");
            sb_put(&b, r, rl);
            sb_str(&b, "|>\n");
            content_text(&b, &msgs->items[i], 0);
            sb_str(&b, "<|end|>\n");
        }
        if (o->add_generation_prompt) sb_str(&b, "<|assistant|>\n");
        else sb_str(&b, eos ? eos : "<|endoftext|>");
        break;
    case CHAT_FAMILY_CHATML:
    case CHAT_FAMILY_AUTO:
        for (size_t i = 0; i < n; i++) {
            size_t rl;
            const char *r = role_of(&msgs->items[i], &rl);
            sb_str(&b, "<|im_start|>");
            sb_put(&b, r, rl);
            sb_str(&b, "\n");
            content_text(&b, &msgs->items[i], 0);
            sb_str(&b, "<|im_end|>\n");
        }
        if (o->add_generation_prompt) sb_str(&b, "<|im_start|>assistant\n");
        break;
    default:
        h_free(b.p);
        return h_err(err, HEARTH_ERR_ARG, "chat: unknown family %d", family);
    }
    sb_put(&b, "", 0);
    if (b.failed) {
        h_free(b.p);
        return h_err(err, HEARTH_ERR_NOMEM, "chat: out of memory");
    }
    /* same text as the Jinja path would give: invalid UTF-8 becomes U+FFFD */
    char *clean;
    size_t cl;
    if (ju_sanitize(b.p, b.len, &clean, &cl)) {
        h_free(b.p);
        return h_err(err, HEARTH_ERR_NOMEM, "chat: out of memory");
    }
    h_free(b.p);
    *out = clean;
    if (out_len) *out_len = cl;
    return HEARTH_OK;
}

/* ---- rendering -------------------------------------------------------------------------------- */

static int render(const char *tmpl, size_t tmpl_len, const json_value *messages, const chat_options *o,
                  const tokens *tk, int gguf_family, char **out, size_t *out_len, chat_render_info *info,
                  hearth_error *err) {
    chat_render_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof(*info));
    *out = NULL;
    if (out_len) *out_len = 0;
    chat_options d = chat_default_options();
    if (!o) o = &d;
    if (!messages || messages->type != JSON_ARRAY) return h_err(err, HEARTH_ERR_ARG, "chat: messages must be a JSON array");
    int rc = HEARTH_OK;
    hearth_error terr = {0};
    if (tmpl) {
        json_doc *vars = NULL;
        jinja_template *t = NULL;
        if ((rc = build_vars(&vars, messages, o, tk, err))) return rc;
        rc = jinja_parse(&t, tmpl, tmpl_len, &terr);
        jinja_render_opts jo = o->limits;
        jo.has_now = o->has_now;
        jo.now = o->now;
        if (!rc) rc = jinja_render(t, json_root(vars), &jo, out, out_len, &terr);
        jinja_template_free(t);
        json_free(vars);
        if (!rc) {
            info->used_template = 1;
            return HEARTH_OK;
        }
        if (o->no_fallback || (rc != HEARTH_ERR_FORMAT && rc != HEARTH_ERR_UNSUPPORTED)) {
            if (err) *err = terr;
            return rc;
        }
    }
    int family = o->family ? o->family : tmpl ? chat_detect_family(tmpl, tmpl_len) : gguf_family;
    if (family <= CHAT_FAMILY_AUTO || family >= CHAT_FAMILY_COUNT) {
        if (tmpl) {
            if (err) *err = terr;
            return h_err_prefix(err, "chat: the template cannot run and its family is not recognized");
        }
        family = CHAT_FAMILY_CHATML;
    }
    chat_options fo = *o;
    char *bos = NULL, *eos = NULL;
    if (!o->bos_token && tk->bos && !(bos = h_strndup(tk->bos, tk->bos_len))) return h_err(err, HEARTH_ERR_NOMEM, "chat: out of memory");
    if (!o->eos_token && tk->eos && !(eos = h_strndup(tk->eos, tk->eos_len))) {
        h_free(bos);
        return h_err(err, HEARTH_ERR_NOMEM, "chat: out of memory");
    }
    if (bos) fo.bos_token = bos;
    if (eos) fo.eos_token = eos;
    rc = chat_format_family(family, messages, &fo, out, out_len, err);
    h_free(bos);
    h_free(eos);
    if (rc) return rc;
    info->family = family;
    if (tmpl) snprintf(info->note, sizeof info->note, "template not used (%.300s); formatted as %s", terr.msg, chat_family_name(family));
    else snprintf(info->note, sizeof info->note, "no template; formatted as %s", chat_family_name(family));
    return HEARTH_OK;
}

static void tokens_from_options(const chat_options *o, tokens *tk) {
    memset(tk, 0, sizeof(*tk));
    if (o && o->bos_token) tk->bos = o->bos_token, tk->bos_len = strlen(o->bos_token);
    if (o && o->eos_token) tk->eos = o->eos_token, tk->eos_len = strlen(o->eos_token);
}

int chat_render_ex(const char *tmpl, size_t tmpl_len, const json_value *messages, const chat_options *o, char **out,
                   size_t *out_len, chat_render_info *info, hearth_error *err) {
    tokens tk;
    tokens_from_options(o, &tk);
    return render(tmpl, tmpl_len, messages, o, &tk, CHAT_FAMILY_CHATML, out, out_len, info, err);
}

int chat_render(const char *tmpl, size_t tmpl_len, const chat_message *msgs, int n, const chat_options *o, char **out,
                size_t *out_len, hearth_error *err) {
    json_doc *d;
    *out = NULL;
    int rc = chat_messages_to_json(&d, msgs, n, err);
    if (rc) return rc;
    rc = chat_render_ex(tmpl, tmpl_len, json_root(d), o, out, out_len, NULL, err);
    json_free(d);
    return rc;
}

int chat_render_gguf_ex(const gguf_file *g, const json_value *messages, const chat_options *o, char **out,
                        size_t *out_len, chat_render_info *info, hearth_error *err) {
    *out = NULL;
    if (!g) return h_err(err, HEARTH_ERR_ARG, "chat: NULL GGUF");
    tokens tk;
    tokens_from_options(o, &tk);
    if (!tk.bos) gguf_token_text(g, "tokenizer.ggml.bos_token_id", &tk.bos, &tk.bos_len);
    if (!tk.eos) gguf_token_text(g, "tokenizer.ggml.eos_token_id", &tk.eos, &tk.eos_len);
    const char *tmpl = NULL;
    size_t tl = 0;
    const gguf_value *tv = gguf_get(g, "tokenizer.chat_template");
    if (tv) {
        if (tv->type != GGUF_TYPE_STRING)
            return h_err(err, HEARTH_ERR_FORMAT, "chat: tokenizer.chat_template is a %s, not a string", gguf_type_name(tv->type));
        tmpl = tv->str ? tv->str : "";
        tl = (size_t)tv->n;
    }
    return render(tmpl, tl, messages, o, &tk, chat_family_from_gguf(g), out, out_len, info, err);
}

int chat_render_gguf(const gguf_file *g, const chat_message *msgs, int n, const chat_options *o, char **out,
                     size_t *out_len, hearth_error *err) {
    json_doc *d;
    *out = NULL;
    int rc = chat_messages_to_json(&d, msgs, n, err);
    if (rc) return rc;
    rc = chat_render_gguf_ex(g, json_root(d), o, out, out_len, NULL, err);
    json_free(d);
    return rc;
}
