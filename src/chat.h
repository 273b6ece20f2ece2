/* chat.h — chat templates: turn a conversation into the prompt text a model was trained on, by
 * running the model's Jinja template (tokenizer.chat_template) or, when there is none or it cannot
 * run, a built-in formatter for the detected family (ChatML, Llama-3, Llama-2, Mistral, Gemma, Phi-3).
 *
 *   chat_message msgs[] = {{"system", "You are terse."}, {"user", "Hi!"}};
 *   chat_options o = chat_default_options();             // add_generation_prompt = 1
 *   char *prompt; size_t n;
 *   if (chat_render_gguf(g, msgs, 2, &o, &prompt, &n, &err)) { fprintf(stderr, "%s\n", err.msg); ... }
 *   // prompt = "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n..."
 *   h_free(prompt);
 *
 * The Jinja path reproduces @huggingface/jinja byte for byte (docs/CHAT_TEMPLATES.md lists the
 * known differences). Control tokens appear as text ("<|im_start|>"); the caller tokenizes the
 * prompt with special-token parsing, and the user's text inside it stays plain text only if the
 * caller tokenizes message contents separately (the engine's business, not this module's).
 */
#ifndef HEARTH_CHAT_H
#define HEARTH_CHAT_H

#include "base.h"
#include "gguf.h"
#include "jinja.h"
#include "json.h"

typedef struct chat_message {
    const char *role;    /* "system", "user", "assistant", "tool", ... */
    const char *content; /* NUL-terminated UTF-8; NULL becomes none */
} chat_message;

typedef enum chat_family {
    CHAT_FAMILY_AUTO = 0, /* detect (from the template text, else the GGUF vocabulary) */
    CHAT_FAMILY_CHATML,   /* Qwen, SmolLM, ... (no default system prompt) */
    CHAT_FAMILY_LLAMA3,   /* Llama 3 Instruct (the 3.0 form, without the 3.1 date header) */
    CHAT_FAMILY_LLAMA2,   /* Llama 2 chat: <s>[INST] <<SYS>>...<</SYS>> ... [/INST] */
    CHAT_FAMILY_MISTRAL,  /* Mistral Instruct v0.1/v0.2: <s>[INST] ... [/INST]...</s> */
    CHAT_FAMILY_GEMMA,    /* Gemma: <start_of_turn>user/model */
    CHAT_FAMILY_PHI3,     /* Phi-3: <|user|> ... <|end|> */
    CHAT_FAMILY_COUNT
} chat_family;

typedef struct chat_options {
    int add_generation_prompt;    /* default 1 */
    int enable_thinking;          /* 0/1, or -1 (default): not defined, the template decides */
    const char *bos_token;        /* NULL: from the GGUF (chat_render_gguf) or undefined */
    const char *eos_token;        /* likewise */
    const char *date_string;      /* NULL: undefined (Llama 3.x templates then use their default) */
    int has_now;                  /* 1: strftime_now() formats `now` (UTC); 0: strftime_now undefined */
    int64_t now;                  /* seconds since 1970-01-01 UTC */
    const json_value *tools;      /* NULL: undefined; otherwise any JSON (usually an array) */
    const json_value *extra_vars; /* NULL or a JSON object whose members become variables too */
    int family;                   /* chat_family for the fallback; CHAT_FAMILY_AUTO = detect */
    int no_fallback;              /* 1: return the template's error instead of falling back */
    jinja_render_opts limits;     /* zero fields = jinja defaults */
} chat_options;

typedef struct chat_render_info {
    int used_template; /* 1: the Jinja template produced the prompt; 0: the family formatter did */
    int family;        /* chat_family of the formatter used (0 when used_template) */
    char note[400];    /* why the template was not used, or "" */
} chat_render_info;

chat_options chat_default_options(void);

/* Renders msgs with the Jinja template tmpl[0..tmpl_len), or with the family formatter when tmpl
 * is NULL (o->family, default ChatML). If the template cannot be parsed or uses something this
 * interpreter does not support, the family detected from its text is used instead (unless
 * o->no_fallback). Errors the template raises itself (raise_exception) are returned. Output is
 * h_malloc'ed and NUL-terminated; *out_len excludes the NUL. */
int chat_render(const char *tmpl, size_t tmpl_len, const chat_message *msgs, int n, const chat_options *o,
                char **out, size_t *out_len, hearth_error *err);

/* The same with messages as a JSON array of objects (any members: role, content as a string or a
 * list of parts, tool_calls, reasoning_content, ...). info may be NULL. */
int chat_render_ex(const char *tmpl, size_t tmpl_len, const json_value *messages, const chat_options *o,
                   char **out, size_t *out_len, chat_render_info *info, hearth_error *err);

/* Reads tokenizer.chat_template and the BOS/EOS token texts (tokenizer.ggml.tokens at
 * tokenizer.ggml.bos_token_id / eos_token_id) from the GGUF, then renders as above. A GGUF
 * without a template uses the family its vocabulary suggests. */
int chat_render_gguf(const gguf_file *g, const chat_message *msgs, int n, const chat_options *o, char **out,
                     size_t *out_len, hearth_error *err);
int chat_render_gguf_ex(const gguf_file *g, const json_value *messages, const chat_options *o, char **out,
                        size_t *out_len, chat_render_info *info, hearth_error *err);

/* Family of a template by its markers ("<|im_start|>" -> ChatML, ...); CHAT_FAMILY_AUTO if unknown. */
int chat_detect_family(const char *tmpl, size_t len);
/* Family for a GGUF: its template's markers, else its vocabulary, else Llama-2 for SentencePiece
 * vocabularies and ChatML otherwise. */
int chat_family_from_gguf(const gguf_file *g);
const char *chat_family_name(int family); /* "chatml", "llama3", ... */
int chat_family_from_name(const char *name); /* -1 if unknown */

/* The built-in formatter of one family (the fallback), on messages as a JSON array. */
int chat_format_family(int family, const json_value *messages, const chat_options *o, char **out, size_t *out_len,
                       hearth_error *err);

/* Builds a JSON array of {"role", "content"} objects from msgs into a new document. */
int chat_messages_to_json(json_doc **doc, const chat_message *msgs, int n, hearth_error *err);

#endif
