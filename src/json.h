/* json.h — a small strict JSON (RFC 8259) parser into a read-only DOM, a DOM builder, and a writer.
 *
 *   json_doc *doc;
 *   hearth_error err;
 *   if (json_parse(&doc, text, len, NULL, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
 *   const json_value *root = json_root(doc);            // e.g. [{"role": "user", "content": "hi"}]
 *   for (size_t i = 0; i < root->len; i++) {
 *       const json_value *role = json_get(&root->items[i], "role");
 *       if (role && role->type == JSON_STRING) printf("%s\n", role->str);
 *   }
 *   char *out; size_t n;
 *   json_write(root, 2, &out, &n, &err);                // pretty-printed with 2-space indent
 *   h_free(out);
 *   json_free(doc);
 *
 * Strict: no comments, trailing commas, NaN/Infinity, leading zeros, control characters in strings,
 * invalid UTF-8 or lone surrogates (\ud800 without its pair). A UTF-8 byte order mark at the start
 * is skipped. Duplicate object keys are kept in document order (json_get finds the last one).
 * Errors say what and where: "json: expected ',' or ']' at line 3 col 14".
 * Bounded: nesting depth (default 128) and memory (default 256 MiB of DOM) are limited; the DOM
 * never uses more than a small constant times the input size.
 */
#ifndef HEARTH_JSON_H
#define HEARTH_JSON_H

#include "base.h"

typedef enum json_type {
    JSON_NULL = 0,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_type;

typedef struct json_member json_member;

typedef struct json_value {
    json_type type;
    int boolean;   /* JSON_BOOL: 0 or 1 */
    size_t len;    /* JSON_STRING: bytes (excluding the NUL); JSON_ARRAY: elements; JSON_OBJECT: members */
    size_t cap;    /* builder capacity of items/members */
    double number; /* JSON_NUMBER (1e400 parses as inf, like JavaScript's JSON.parse) */
    const char *str;            /* JSON_STRING: valid UTF-8, NUL-terminated (may contain "\u0000") */
    struct json_value *items;   /* JSON_ARRAY */
    json_member *members;       /* JSON_OBJECT, in document order */
} json_value;

struct json_member {
    const char *key; /* valid UTF-8, NUL-terminated */
    size_t key_len;
    json_value value;
};

typedef struct json_limits {
    int max_depth;     /* nesting of arrays/objects; 0 = default 128 */
    size_t max_memory; /* bytes of DOM; 0 = default 256 MiB */
} json_limits;

typedef struct json_doc json_doc; /* owns every value and string of one document */

/* Parses text[0..len) (need not be NUL-terminated). HEARTH_ERR_FORMAT with line:col on bad input,
 * HEARTH_ERR_RANGE when a limit is exceeded, HEARTH_ERR_NOMEM. */
int json_parse(json_doc **out, const char *text, size_t len, const json_limits *lim, hearth_error *err);
const json_value *json_root(const json_doc *doc);
void json_free(json_doc *doc);

/* Object member lookup (last member with that key), NULL if absent or v is not an object. */
const json_value *json_get(const json_value *obj, const char *key);

/* ---- building documents ----------------------------------------------------------------------
 *   json_doc *d; json_doc_new(&d, &err);
 *   json_value *root = json_doc_root_mut(d);  json_set_object(root);
 *   json_value *m = json_object_add(d, root, "role"); json_set_string(d, m, "user", 4);
 * Slot pointers returned by json_*_add stay valid until the next add to the same container.
 * Functions returning a pointer return NULL when memory runs out; those returning int return
 * HEARTH_ERR_NOMEM. */
int json_doc_new(json_doc **out, hearth_error *err);
json_value *json_doc_root_mut(json_doc *doc); /* a JSON_NULL value to fill in */
void json_set_null(json_value *v);
void json_set_bool(json_value *v, int b);
void json_set_number(json_value *v, double x);
void json_set_array(json_value *v);
void json_set_object(json_value *v);
int json_set_string(json_doc *doc, json_value *v, const char *s, size_t n); /* copies s */
json_value *json_array_add(json_doc *doc, json_value *arr);
json_value *json_object_add(json_doc *doc, json_value *obj, const char *key);
/* Deep copy of src (from any document) into v, a value of doc. */
int json_copy(json_doc *doc, json_value *v, const json_value *src);

/* ---- writing ---------------------------------------------------------------------------------- */

/* Serializes v. indent 0: compact ("[1,2]"); indent > 0: one item per line, `indent` spaces per
 * level. Strings are escaped like JavaScript's JSON.stringify. Output is h_malloc'ed, NUL-terminated.
 * Numbers that are not finite are written as null. */
int json_write(const json_value *v, int indent, char **out, size_t *out_len, hearth_error *err);

/* Appends the JSON string literal of s[0..n) (with quotes) to a growable buffer (h_realloc'ed).
 * ensure_ascii: escape every code point >= 0x7f as \uXXXX (UTF-16 units, like Python's json).
 * Returns HEARTH_OK or HEARTH_ERR_NOMEM / HEARTH_ERR_RANGE when *len would exceed max_len. */
int json_append_quoted(char **buf, size_t *len, size_t *cap, size_t max_len, const char *s, size_t n,
                       int ensure_ascii);

/* Formats x like JavaScript's Number.prototype.toString(): the shortest digits that read back
 * as x, "1e+21", "1e-7", "0.000001", "-0" as "0", "NaN", "Infinity". */
void json_format_number(double x, char out[40]);

/* Length of the valid UTF-8 prefix of s[0..n) (n if all valid). Overlong forms, surrogates and
 * code points above U+10FFFF are invalid. */
size_t json_utf8_valid_prefix(const char *s, size_t n);

#endif
