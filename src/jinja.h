/* jinja.h — a small, safe interpreter for the Jinja subset that chat templates use, with the
 * semantics of @huggingface/jinja (the renderer transformers.js and llama.cpp's references use).
 *
 *   jinja_template *t;
 *   if (jinja_parse(&t, src, strlen(src), &err)) { fprintf(stderr, "%s\n", err.msg); ... }
 *   // variables: members of a JSON object, e.g. {"messages": [...], "add_generation_prompt": true}
 *   char *out; size_t n;
 *   jinja_render_opts o = jinja_default_opts();
 *   if (jinja_render(t, vars_json_object, &o, &out, &n, &err)) { ... }
 *   fwrite(out, 1, n, stdout);
 *   h_free(out);
 *   jinja_template_free(t);
 *
 * Supported: {{ }}, {% if/elif/else %}, {% for %} (loop.*, else, `if` filter, break/continue),
 * {% set %} (tuples, namespace attributes, block set), {% macro %} and {% call %}, {% filter %},
 * comments, whitespace control ({%- -%}, {{- -}}, {#- -#}) with trim_blocks + lstrip_blocks as
 * @huggingface/jinja applies them, the filters, tests, methods and globals it knows (see
 * docs/CHAT_TEMPLATES.md), and strftime_now with a caller-given time.
 *
 * Safety: any bytes are accepted as template source and as variables (invalid UTF-8 becomes
 * U+FFFD, like a JavaScript TextDecoder). Execution is bounded by jinja_render_opts: steps
 * (a count of evaluated nodes plus work proportional to bytes and elements touched), output bytes,
 * memory and evaluation depth. Errors name the construct and where it is:
 *   "jinja: unsupported filter 'xyz' at line 3 col 14"
 * Status codes: HEARTH_ERR_FORMAT (syntax), HEARTH_ERR_UNSUPPORTED (a filter/test/method/construct
 * this interpreter does not have), HEARTH_ERR_ARG (raise_exception() or a type error caused by the
 * variables), HEARTH_ERR_RANGE (a limit), HEARTH_ERR_NOMEM.
 */
#ifndef HEARTH_JINJA_H
#define HEARTH_JINJA_H

#include "base.h"
#include "json.h"

typedef struct jinja_template jinja_template;

typedef struct jinja_render_opts {
    uint64_t max_steps;  /* default 20,000,000 */
    size_t max_output;   /* bytes of rendered text; default 16 MiB */
    size_t max_memory;   /* bytes of values and buffers during one render; default 256 MiB */
    int max_depth;       /* nested evaluation (expressions, blocks, macro calls); default 200 */
    int has_now;         /* 1: strftime_now() is defined and formats `now` */
    int64_t now;         /* seconds since 1970-01-01 UTC, formatted as UTC */
} jinja_render_opts;

jinja_render_opts jinja_default_opts(void);

/* Parses a template. Source up to 4 MiB; nesting of statements/expressions up to 100 levels. */
int jinja_parse(jinja_template **out, const char *src, size_t len, hearth_error *err);
void jinja_template_free(jinja_template *t);

/* Renders with the members of `vars` (a JSON object, or NULL) as variables, after the globals
 * (true, false, none, True, False, None, range, namespace, raise_exception, strftime_now).
 * JSON numbers that are integral become integers (as JavaScript would see them). Output is
 * h_malloc'ed and NUL-terminated (the text itself may contain NUL bytes; use *out_len). */
int jinja_render(const jinja_template *t, const json_value *vars, const jinja_render_opts *opts,
                 char **out, size_t *out_len, hearth_error *err);

#endif
