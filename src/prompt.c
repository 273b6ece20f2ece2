/* prompt.c — chat prompts as token ids. The conversation is rendered with the model's chat
 * template and tokenized with special-token parsing, but only the template's own markers may
 * become control tokens: text inside messages never does.
 *
 * How: before rendering, every control-token text inside a message string (and a trailing
 * prefix of one, which template text could complete) is "defanged" by inserting the
 * noncharacter U+FDD0 followed by U+FDD2 after its first byte (a U+FDD0 already in the text is
 * escaped as U+FDD0 U+FDD1). The template sees text without control-token strings; after
 * rendering, the markers are removed again and the positions they followed are excluded from
 * special-token matching (tokenizer_encode_ex). Templates that split or test message text
 * (Qwen3 splits at "</think>", a user-defined token, not a control token) behave as with the
 * original text, and a message without control-token text renders and tokenizes exactly as
 * llama.cpp would with parse_special. */
#include "prompt.h"

#include "engine.h"
#include "tokenizer.h"

#define MARK0 0xEF /* U+FDD0 = EF B7 90, U+FDD1 = EF B7 91, U+FDD2 = EF B7 92 */
#define MARK1 0xB7
#define MARK2 0x90
#define ESC_LITERAL 0x91
#define ESC_DEFANG 0x92

typedef struct ctrl_texts {
    const char **s;
    size_t *len;
    int n;
    uint8_t first[256]; /* 1 if some control text starts with this byte */
} ctrl_texts;

static void ctrl_free(ctrl_texts *c) {
    h_free(c->s);
    h_free(c->len);
}

static int ctrl_collect(const tokenizer *t, ctrl_texts *c) {
    memset(c, 0, sizeof *c);
    int nv = tokenizer_n_vocab(t), n = 0;
    for (int id = 0; id < nv; id++)
        if (tokenizer_token_attr(t, id) & (TOKEN_ATTR_CONTROL | TOKEN_ATTR_UNKNOWN)) n++;
    c->s = h_malloc_array((size_t)n + 1, sizeof *c->s);
    c->len = h_malloc_array((size_t)n + 1, sizeof *c->len);
    if (!c->s || !c->len) return HEARTH_ERR_NOMEM;
    for (int id = 0; id < nv; id++) {
        if (!(tokenizer_token_attr(t, id) & (TOKEN_ATTR_CONTROL | TOKEN_ATTR_UNKNOWN))) continue;
        size_t len;
        const char *s = tokenizer_token_text(t, id, &len);
        if (!s || len == 0) continue;
        c->s[c->n] = s;
        c->len[c->n++] = len;
        c->first[(uint8_t)s[0]] = 1;
    }
    return HEARTH_OK;
}

/* Does a control text start at s[i] (whole), or is s[i..n) a proper prefix of one? */
static int needs_defang(const ctrl_texts *c, const uint8_t *s, size_t i, size_t n) {
    if (!c->first[s[i]]) return 0;
    size_t rest = n - i;
    for (int k = 0; k < c->n; k++) {
        size_t l = c->len[k];
        if (l <= rest ? memcmp(s + i, c->s[k], l) == 0 : memcmp(s + i, c->s[k], rest) == 0) return 1;
    }
    return 0;
}

typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
} bytes;

static int bytes_put(bytes *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n) cap *= 2;
        uint8_t *q = h_realloc(b->p, cap);
        if (!q) return HEARTH_ERR_NOMEM;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return HEARTH_OK;
}

static int defang(const ctrl_texts *c, const uint8_t *s, size_t n, bytes *out) {
    static const uint8_t lit[6] = {MARK0, MARK1, MARK2, MARK0, MARK1, ESC_LITERAL};
    static const uint8_t fang[6] = {MARK0, MARK1, MARK2, MARK0, MARK1, ESC_DEFANG};
    int st = HEARTH_OK;
    for (size_t i = 0; i < n && !st;) {
        if (n - i >= 3 && s[i] == MARK0 && s[i + 1] == MARK1 && s[i + 2] == MARK2) {
            st = bytes_put(out, lit, 6);
            i += 3;
        } else if (needs_defang(c, s, i, n)) {
            st = bytes_put(out, s + i, 1);
            if (!st) st = bytes_put(out, fang, 6);
            i++;
        } else {
            st = bytes_put(out, s + i, 1);
            i++;
        }
    }
    return st;
}

/* Copies src into dst (a value of doc) with every string defanged. */
static int copy_defanged(json_doc *doc, json_value *dst, const json_value *src, const ctrl_texts *c, int depth) {
    if (depth > 64) return HEARTH_ERR_RANGE;
    switch (src->type) {
    case JSON_STRING: {
        bytes b = {0};
        int st = defang(c, (const uint8_t *)src->str, src->len, &b);
        if (!st) st = json_set_string(doc, dst, b.p ? (const char *)b.p : "", b.len);
        h_free(b.p);
        return st;
    }
    case JSON_ARRAY:
        json_set_array(dst);
        for (size_t i = 0; i < src->len; i++) {
            json_value *v = json_array_add(doc, dst);
            if (!v) return HEARTH_ERR_NOMEM;
            int st = copy_defanged(doc, v, &src->items[i], c, depth + 1);
            if (st) return st;
        }
        return HEARTH_OK;
    case JSON_OBJECT:
        json_set_object(dst);
        for (size_t i = 0; i < src->len; i++) {
            json_value *v = json_object_add(doc, dst, src->members[i].key);
            if (!v) return HEARTH_ERR_NOMEM;
            int st = copy_defanged(doc, v, &src->members[i].value, c, depth + 1);
            if (st) return st;
        }
        return HEARTH_OK;
    default: return json_copy(doc, dst, src);
    }
}

/* Removes the markers from the rendered text; ok[k] = 0 where a defanged control text starts. */
static int undefang(const uint8_t *r, size_t n, bytes *out, uint8_t **ok_out) {
    uint8_t *ok = h_malloc(n + 1);
    if (!ok) return HEARTH_ERR_NOMEM;
    int st = HEARTH_OK;
    for (size_t j = 0; j < n && !st;) {
        if (n - j >= 6 && r[j] == MARK0 && r[j + 1] == MARK1 && r[j + 2] == MARK2 && r[j + 3] == MARK0 &&
            r[j + 4] == MARK1 && (r[j + 5] == ESC_LITERAL || r[j + 5] == ESC_DEFANG)) {
            if (r[j + 5] == ESC_LITERAL) {
                ok[out->len] = ok[out->len + 1] = ok[out->len + 2] = 1;
                st = bytes_put(out, r + j, 3);
            } else if (out->len > 0) {
                ok[out->len - 1] = 0;
            }
            j += 6;
        } else {
            ok[out->len] = 1;
            st = bytes_put(out, r + j, 1);
            j++;
        }
    }
    if (st) {
        h_free(ok);
        return st;
    }
    *ok_out = ok;
    return HEARTH_OK;
}

int prompt_chat_tokens(const hearth_model *m, const json_value *messages, const chat_options *o, int32_t **ids,
                       int *n_ids, hearth_error *err) {
    *ids = NULL;
    *n_ids = 0;
    if (!m->tok) return h_err(err, HEARTH_ERR_UNSUPPORTED, "chat: the model file has no tokenizer");
    if (!messages || messages->type != JSON_ARRAY)
        return h_err(err, HEARTH_ERR_ARG, "chat: messages must be a JSON array");
    ctrl_texts c;
    json_doc *doc = NULL;
    char *rendered = NULL;
    size_t rlen = 0;
    bytes text = {0};
    uint8_t *ok = NULL;
    int st = ctrl_collect(m->tok, &c);
    if (st) {
        h_err(err, st, "chat: out of memory");
        goto done;
    }
    if ((st = json_doc_new(&doc, err))) goto done;
    if ((st = copy_defanged(doc, json_doc_root_mut(doc), messages, &c, 0))) {
        h_err(err, st, st == HEARTH_ERR_RANGE ? "chat: messages nested too deeply" : "chat: out of memory");
        goto done;
    }
    if ((st = chat_render_gguf_ex(m->gguf, json_root(doc), o, &rendered, &rlen, NULL, err))) goto done;
    if ((st = undefang((const uint8_t *)rendered, rlen, &text, &ok))) {
        h_err(err, st, "chat: out of memory");
        goto done;
    }
    int32_t *v = NULL;
    int n = 0;
    if ((st = tokenizer_encode_ex(m->tok, text.p ? (const char *)text.p : "", text.len, 0, 1, ok, &v, &n, err)))
        goto done;
    /* BOS as the vocabulary asks, unless the template already wrote it */
    int32_t bos = tokenizer_bos(m->tok);
    if (tokenizer_add_bos(m->tok) && bos >= 0 && (n == 0 || v[0] != bos)) {
        int32_t *w = h_realloc(v, ((size_t)n + 1) * sizeof *w);
        if (!w) {
            h_free(v);
            st = h_err(err, HEARTH_ERR_NOMEM, "chat: out of memory");
            goto done;
        }
        memmove(w + 1, w, (size_t)n * sizeof *w);
        w[0] = bos;
        v = w;
        n++;
    }
    *ids = v;
    *n_ids = n;
done:
    ctrl_free(&c);
    json_free(doc);
    h_free(rendered);
    h_free(text.p);
    h_free(ok);
    return st;
}

void hearth_free(void *p) { h_free(p); }

int hearth_chat_tokenize(const hearth_model *m, const hearth_chat_message *msgs, int n,
                         const hearth_chat_params *p, int32_t **ids, int *n_ids, hearth_error *err) {
    *ids = NULL;
    *n_ids = 0;
    if (n < 0 || (n > 0 && !msgs)) return h_err(err, HEARTH_ERR_ARG, "chat: no messages");
    for (int i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content)
            return h_err(err, HEARTH_ERR_ARG, "chat: message %d has no role or content", i);
    chat_message *cm = h_malloc_array((size_t)n + 1, sizeof *cm);
    if (!cm) return h_err(err, HEARTH_ERR_NOMEM, "chat: out of memory");
    for (int i = 0; i < n; i++) cm[i].role = msgs[i].role, cm[i].content = msgs[i].content;
    json_doc *doc = NULL;
    int st = chat_messages_to_json(&doc, cm, n, err);
    h_free(cm);
    if (st) return st;
    chat_options o = chat_default_options();
    if (p) {
        o.add_generation_prompt = p->add_generation_prompt;
        o.enable_thinking = p->enable_thinking;
        if (p->now > 0) o.has_now = 1, o.now = p->now;
    }
    st = prompt_chat_tokens(m, json_root(doc), &o, ids, n_ids, err);
    json_free(doc);
    return st;
}
