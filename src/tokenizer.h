/* tokenizer.h — text <-> token ids for the vocabularies GGUF files carry, matching llama.cpp:
 * SentencePiece-style BPE with scores and byte fallback ("llama") and byte-level BPE with merges
 * and a pre-tokenizer chosen by tokenizer.ggml.pre ("gpt2"). Everything comes from the GGUF
 * metadata; the weights are never needed.
 *
 *   tokenizer *t;
 *   if (tokenizer_load(&t, g, &err)) { fprintf(stderr, "%s\n", err.msg); ... }
 *   int32_t *ids; int n;
 *   tokenizer_encode(t, "Hello", 5, 1, 0, &ids, &n, &err);    // add BOS as the vocab says,
 *                                                              // never make control tokens
 *   char *text; size_t len;
 *   tokenizer_decode(t, ids, n, 0, 0, &text, &len, &err);
 *   h_free(ids); h_free(text);
 *
 *   tokenizer_stream st;                                       // generation output
 *   tokenizer_stream_init(&st, t, 0);
 *   char buf[1024];                                            // >= tokenizer_stream_cap(t)
 *   int k = tokenizer_stream_push(&st, id, buf, sizeof buf);   // only complete UTF-8
 *   k = tokenizer_stream_flush(&st, buf, sizeof buf);          // U+FFFD for a partial tail
 *   tokenizer_free(t);
 *
 * Special tokens: user text becomes CONTROL (and UNKNOWN) tokens only when parse_special is set;
 * USER_DEFINED tokens are matched in any text, as llama.cpp does. All functions are safe on any
 * bytes and any ids (bad ids give HEARTH_ERR_ARG). A loaded tokenizer is immutable and may be
 * used from several threads at once.
 */
#ifndef HEARTH_TOKENIZER_H
#define HEARTH_TOKENIZER_H

#include "base.h"
#include "gguf.h"

typedef struct tokenizer tokenizer;

/* Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_type). */
enum {
    TOKEN_TYPE_UNDEFINED = 0,
    TOKEN_TYPE_NORMAL = 1,
    TOKEN_TYPE_UNKNOWN = 2,
    TOKEN_TYPE_CONTROL = 3,
    TOKEN_TYPE_USER_DEFINED = 4,
    TOKEN_TYPE_UNUSED = 5,
    TOKEN_TYPE_BYTE = 6
};

/* Token attributes after loading (llama.cpp's llama_token_attr bits). */
enum {
    TOKEN_ATTR_UNDEFINED = 0,
    TOKEN_ATTR_UNKNOWN = 1 << 0,
    TOKEN_ATTR_UNUSED = 1 << 1,
    TOKEN_ATTR_NORMAL = 1 << 2,
    TOKEN_ATTR_CONTROL = 1 << 3,
    TOKEN_ATTR_USER_DEFINED = 1 << 4,
    TOKEN_ATTR_BYTE = 1 << 5,
    TOKEN_ATTR_NORMALIZED = 1 << 6,
    TOKEN_ATTR_LSTRIP = 1 << 7,
    TOKEN_ATTR_RSTRIP = 1 << 8,
    TOKEN_ATTR_SINGLE_WORD = 1 << 9
};

/* Copies what it needs from g (which may be closed afterwards). Unknown tokenizer.ggml.model or
 * tokenizer.ggml.pre values are HEARTH_ERR_UNSUPPORTED with a message naming them. */
int tokenizer_load(tokenizer **out, const gguf_file *g, hearth_error *err);
void tokenizer_free(tokenizer *t);

int tokenizer_n_vocab(const tokenizer *t);
const char *tokenizer_model_name(const tokenizer *t); /* "llama" or "gpt2" */
const char *tokenizer_pre_name(const tokenizer *t);   /* canonical pre-tokenizer name, "" for SPM */

/* ids allocated with h_malloc (caller h_free; NULL when *n_ids == 0 is possible). add_special
 * adds BOS/EOS as the vocab says; parse_special lets the text name CONTROL/UNKNOWN tokens. */
int tokenizer_encode(const tokenizer *t, const char *text, size_t len, int add_special,
                     int parse_special, int32_t **ids, int *n_ids, hearth_error *err);

/* The same, with parse_special restricted to the byte positions where special_ok[i] != 0
 * (special_ok has len entries; NULL = everywhere): a control token is recognised only if it
 * starts at such a position. Chat prompts use it so that template markers become control tokens
 * while the same text inside a message does not (src/prompt.c). */
int tokenizer_encode_ex(const tokenizer *t, const char *text, size_t len, int add_special, int parse_special,
                        const uint8_t *special_ok, int32_t **ids, int *n_ids, hearth_error *err);

int32_t tokenizer_bos(const tokenizer *t); /* -1 if none */
int32_t tokenizer_eos(const tokenizer *t);
int32_t tokenizer_eot(const tokenizer *t);
int32_t tokenizer_eom(const tokenizer *t);
int32_t tokenizer_pad(const tokenizer *t);
int32_t tokenizer_unk(const tokenizer *t);
int tokenizer_add_bos(const tokenizer *t); /* whether encode(add_special) prepends BOS */
int tokenizer_add_eos(const tokenizer *t); /* whether encode(add_special) appends EOS */
int tokenizer_is_eog(const tokenizer *t, int32_t id); /* end-of-generation set (llama.cpp's) */
int tokenizer_is_control(const tokenizer *t, int32_t id);
int tokenizer_token_attr(const tokenizer *t, int32_t id); /* TOKEN_ATTR_* bits, 0 for bad ids */
/* The end-of-generation ids in increasing order; returns how many (writes at most cap). */
int tokenizer_eog_ids(const tokenizer *t, int32_t *out, int cap);

/* Raw vocab string (not NUL-terminated; NULL for bad ids). */
const char *tokenizer_token_text(const tokenizer *t, int32_t id, size_t *len);
/* Exact vocab lookup; -1 if absent. */
int32_t tokenizer_find_token(const tokenizer *t, const char *text, size_t len);

/* Bytes of token id as llama_token_to_piece(lstrip=0, special=unparse_special). Returns the length,
 * -HEARTH_ERR_ARG for a bad id, -HEARTH_ERR_RANGE if cap is too small (nothing written). A buffer of
 * tokenizer_max_piece(t) bytes is always enough. */
int tokenizer_piece(const tokenizer *t, int32_t id, int unparse_special, char *buf, size_t cap);
int tokenizer_max_piece(const tokenizer *t);

/* llama_detokenize(remove_special, unparse_special): the pieces, the first one without the space
 * SentencePiece added, and llama.cpp's clean-up of spaces where the vocab asks for it. *out is
 * NUL-terminated (h_free). Bad ids: HEARTH_ERR_ARG naming the id. */
int tokenizer_decode(const tokenizer *t, const int32_t *ids, int n, int remove_special,
                     int unparse_special, char **out, size_t *len, hearth_error *err);

/* Streaming detokenizer: the concatenated pieces (tokenizer_piece), emitted as valid UTF-8 only:
 * an incomplete sequence at the end is held back until the next piece completes it; invalid bytes
 * become U+FFFD. No allocation; the tokenizer must outlive the stream. */
typedef struct tokenizer_stream {
    const tokenizer *t;
    int unparse_special;
    int n_pending;
    uint8_t pending[4]; /* start of an incomplete UTF-8 sequence (at most 3 bytes) */
} tokenizer_stream;

void tokenizer_stream_init(tokenizer_stream *s, const tokenizer *t, int unparse_special);
/* Appends the complete UTF-8 produced by id to out (cap bytes); returns bytes written,
 * -HEARTH_ERR_ARG for a bad id, -HEARTH_ERR_RANGE if cap < tokenizer_stream_cap(t) might not
 * suffice (the stream is then unchanged). Output is not NUL-terminated. */
int tokenizer_stream_push(tokenizer_stream *s, int32_t id, char *out, size_t cap);
/* Emits what is held back (an incomplete sequence becomes U+FFFD) and resets the stream. */
int tokenizer_stream_flush(tokenizer_stream *s, char *out, size_t cap);
/* A capacity always large enough for one push or flush. */
size_t tokenizer_stream_cap(const tokenizer *t);

#endif
