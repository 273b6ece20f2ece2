/* tok_internal.h — the tokenizer's private state and the interfaces between its parts:
 * tok_vocab.c (loading, string table, special tokens), tok_pretok.c (pre-tokenizers),
 * tok_bpe.c / tok_spm.c (the two merge algorithms) and tokenizer.c (encode/decode). */
#ifndef HEARTH_TOK_INTERNAL_H
#define HEARTH_TOK_INTERNAL_H

#include "tokenizer.h"
#include "unicode.h"

enum { TOK_SPM = 1, TOK_BPE = 2 };

/* Pre-tokenizer rule sets (llama.cpp's regex lists, re-implemented as scanners). */
typedef enum tok_pre {
    TOK_PRE_NONE = 0,       /* SPM: no pre-tokenizer */
    TOK_PRE_DEFAULT,        /* [\p{P}$+<=>^~|]+ , gpt2, \p{N}+ , [0-9]{3} */
    TOK_PRE_GPT2,           /* gpt2 regex (gpt-2, mpt, olmo, jais, ...) */
    TOK_PRE_LLAMA3,         /* llama-bpe, dbrx, smaug, chatglm4 */
    TOK_PRE_DEEPSEEK_LLM,
    TOK_PRE_DEEPSEEK_CODER,
    TOK_PRE_FALCON,
    TOK_PRE_STARCODER,      /* \p{N} then gpt2 (starcoder, refact, command-r, smollm, ...) */
    TOK_PRE_QWEN2,          /* qwen2, stablelm2, hunyuan, grok-2, ... */
    TOK_PRE_QWEN35,
    TOK_PRE_LAGUNA,         /* [^\n]+|[\n]+ then qwen2 */
    TOK_PRE_PORO,           /* poro-chat, bloom, gpt3-finnish */
    TOK_PRE_VIKING
} tok_pre;

/* Interned byte strings: the vocab (ids 0..n_vocab-1) plus merge parts that are not tokens. */
typedef struct tok_strtab {
    char *blob;
    size_t blob_len, blob_cap;
    uint64_t *off;
    uint32_t *len;
    int32_t n, cap;
    int32_t *slots; /* open addressing: string id or -1 */
    uint32_t mask;
} tok_strtab;

typedef struct tok_merge {
    uint64_t key;   /* (left sid << 32) | right sid; 0 = empty slot (sids are offset by 1) */
    int32_t rank;
    int32_t result; /* sid of the concatenation */
} tok_merge;

/* Trie over the special tokens' texts, for finding them in user text. */
typedef struct tok_trie_node {
    int32_t first_child, next_sibling;
    int32_t token; /* special token ending here, or -1 */
    uint8_t byte;
} tok_trie_node;

struct tokenizer {
    int type;    /* TOK_SPM / TOK_BPE */
    tok_pre pre;
    char pre_name[48];
    int32_t n_vocab;
    tok_strtab strs;
    float *scores;   /* n_vocab */
    uint16_t *attr;  /* n_vocab, TOKEN_ATTR_* */

    tok_merge *merges;
    uint32_t merge_mask;
    int32_t n_merges;
    int32_t byte_sid[256];    /* BPE: sid of the byte-level character of each byte, or -1 */
    int32_t byte_token[256];  /* SPM: <0xXX> (or the 1-byte string) token of each byte, or -1 */
    uint16_t byte_cp[256];     /* BPE: GPT-2 byte-level code point of each byte */
    uint8_t byte_of_char[512]; /* BPE: GPT-2 byte-level code point (< 324) -> byte */
    uint8_t char_is_byte[512];

    int32_t bos, eos, eot, eom, unk, sep, pad, mask;
    int32_t fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
    int add_bos, add_eos, add_space_prefix, clean_spaces, ignore_merges;

    int32_t *eog; /* sorted */
    int n_eog;

    int32_t *special; /* CONTROL / USER_DEFINED / UNKNOWN tokens, longest text first */
    int32_t *special_rank; /* n_vocab: position in special[], or -1 */
    int n_special;
    tok_trie_node *trie;
    int32_t n_trie;
    int32_t trie_root[256]; /* first-level children by byte */
    int max_piece;
};

/* ---- string table (tok_vocab.c) ---- */
int32_t tok_str_find(const tok_strtab *s, const char *p, size_t n);
static inline const char *tok_str(const tok_strtab *s, int32_t id, uint32_t *len) {
    *len = s->len[id];
    return s->blob + s->off[id];
}
/* Token id of an exact text, or -1 (only vocab entries, not merge parts). */
static inline int32_t tok_text_to_token(const tokenizer *t, const char *p, size_t n) {
    int32_t sid = tok_str_find(&t->strs, p, n);
    return sid >= 0 && sid < t->n_vocab ? sid : -1;
}
const tok_merge *tok_merge_find(const tokenizer *t, int32_t left, int32_t right);

/* ---- growable int32 vector ---- */
typedef struct tok_vec {
    int32_t *v;
    size_t n, cap;
} tok_vec;
int tok_vec_push(tok_vec *v, int32_t x); /* HEARTH_OK or HEARTH_ERR_NOMEM */
int tok_vec_reserve(tok_vec *v, size_t extra);

/* ---- scratch buffers reused across the words of one encode call ---- */
typedef struct tok_scratch {
    void *sym; size_t sym_cap;     /* merge symbols */
    void *heap; size_t heap_cap;   /* merge queue */
    uint8_t *bytes; size_t bytes_cap;
} tok_scratch;
void tok_scratch_free(tok_scratch *s);
/* Makes *buf hold at least n bytes; HEARTH_OK or HEARTH_ERR_NOMEM. */
int tok_grow(void **buf, size_t *cap, size_t n);

/* ---- pre-tokenizers (tok_pretok.c) ---- */
/* Splits cps[0..n) into words per rule set pre; appends word lengths (in code points) to out. */
int tok_pretokenize(tok_pre pre, const uint32_t *cps, const uint16_t *flags, size_t n, tok_vec *out);

/* ---- merge algorithms ---- */
/* Byte-level BPE of one word (raw UTF-8 bytes); appends ids. */
int tok_bpe_word(const tokenizer *t, const uint8_t *w, size_t n, tok_scratch *sc, tok_vec *out);
/* SentencePiece BPE of a whole escaped fragment; appends ids. */
int tok_spm_text(const tokenizer *t, const uint8_t *s, size_t n, tok_scratch *sc, tok_vec *out);

/* ---- loading helpers (tok_vocab.c) ---- */
int tok_vocab_load(tokenizer *t, const gguf_file *g, hearth_error *err);
void tok_vocab_free(tokenizer *t);

#endif
