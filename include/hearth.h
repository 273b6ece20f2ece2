/* hearth.h — public C API of Hearth: load a GGUF model and run it on the CPU or a GPU.
 *
 * Usage (native; error handling shortened):
 *
 *   hearth_error err;
 *   hearth_source src;
 *   if (hearth_source_open_file(&src, "model.gguf", &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
 *   hearth_model *model;
 *   hearth_model_params mp = hearth_model_default_params();
 *   if (hearth_model_load(&model, &src, &mp, &err)) { ... }        // takes ownership of src
 *   hearth_session *s;
 *   hearth_session_params sp = hearth_session_default_params();
 *   if (hearth_session_new(&s, model, &sp, &err)) { ... }
 *   int32_t ids[] = {1, 450, 4996};
 *   if (hearth_session_eval(s, ids, 3)) puts(hearth_session_errmsg(s));
 *   const float *logits = hearth_session_logits(s);                   // n_vocab floats
 *   hearth_session_free(s);
 *   hearth_model_free(model);
 *
 * Conventions: every fallible function returns a hearth_status (0 = HEARTH_OK) and leaves a
 * message saying what and where, either in a hearth_error the caller passes or on the handle
 * (hearth_session_errmsg). Free functions accept NULL. Nothing here exits or aborts because of
 * file contents, user input or device state.
 */
#ifndef HEARTH_H
#define HEARTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hearth_status {
    HEARTH_OK = 0,
    HEARTH_ERR_ARG = 1,          /* invalid argument from the caller */
    HEARTH_ERR_NOMEM = 2,        /* an allocation failed */
    HEARTH_ERR_IO = 3,           /* the byte source could not deliver bytes */
    HEARTH_ERR_FORMAT = 4,       /* malformed input (GGUF file, UTF-8, JSON, template) */
    HEARTH_ERR_UNSUPPORTED = 5,  /* well-formed but not supported (architecture, tensor type) */
    HEARTH_ERR_RANGE = 6,        /* a size limit: context full, prompt too long */
    HEARTH_ERR_AGAIN = 7,        /* not ready yet: bytes not yet delivered, GPU work pending */
    HEARTH_ERR_GPU = 8,          /* GPU error (validation, out of memory) */
    HEARTH_ERR_DEVICE_LOST = 9,  /* the GPU device was lost; recreate the engine */
    HEARTH_ERR_CANCELLED = 10,   /* stopped by the caller */
    HEARTH_ERR_INTERNAL = 11     /* a bug: an internal invariant did not hold */
} hearth_status;

/* Name of a status code ("HEARTH_ERR_FORMAT"). */
const char *hearth_status_name(int status);

typedef struct hearth_error {
    int status;
    char msg[512];
} hearth_error;

/* ---- allocation hook (process-wide; set before any other call) ---------------------------- */

typedef struct hearth_allocator {
    void *(*malloc_fn)(void *ctx, size_t size);
    void *(*realloc_fn)(void *ctx, void *ptr, size_t size);
    void (*free_fn)(void *ctx, void *ptr);
    void *ctx;
} hearth_allocator;

/* Installs an allocator (NULL restores malloc/realloc/free). Not thread-safe: call it before
 * any other Hearth function, or while no other Hearth call runs. */
void hearth_set_allocator(const hearth_allocator *a);

/* ---- byte sources --------------------------------------------------------------------------- */

/* Random-access bytes of a GGUF file: a memory buffer, a file, or chunks that a browser delivers
 * as they download. The core never assumes the whole file is in memory. */
typedef struct hearth_source {
    void *ctx;
    uint64_t size; /* total size in bytes */
    /* Copies len bytes at offset into dst. Returns HEARTH_OK, HEARTH_ERR_AGAIN when the bytes
     * have not arrived yet (streaming), or HEARTH_ERR_IO. Never called with offset+len > size. */
    int (*read)(void *ctx, uint64_t offset, void *dst, size_t len);
    /* Optional (NULL): a pointer to bytes [offset, offset+len) that stays valid until close;
     * lets the CPU backend use weights in place (memory buffer, mmap). May return NULL. */
    const void *(*map)(void *ctx, uint64_t offset, uint64_t len);
    void (*close)(void *ctx); /* optional */
} hearth_source;

/* A source over caller-owned memory (not copied; must outlive the source). */
void hearth_source_from_memory(hearth_source *out, const void *data, size_t size);
/* A source over a file (native builds): memory-mapped where possible, pread otherwise. */
int hearth_source_open_file(hearth_source *out, const char *path, hearth_error *err);
void hearth_source_close(hearth_source *src);

/* ---- models --------------------------------------------------------------------------------- */

typedef struct hearth_model hearth_model;

typedef enum hearth_backend {
    HEARTH_BACKEND_CPU = 0,
    HEARTH_BACKEND_WEBGPU = 1
} hearth_backend;

typedef struct hearth_model_params {
    int backend;     /* hearth_backend */
    int n_threads;   /* CPU threads; 0 = all available cores */
    int use_mmap;    /* CPU: 1 = use the weights in place when the source is mapped (less memory
                        under pressure, slower decode); 0 (default) = copy them into huge-page
                        memory (faster decode; the file's pages stay in the page cache only) */
} hearth_model_params;

hearth_model_params hearth_model_default_params(void);

/* Parses the GGUF header, checks the architecture and every tensor, and makes the weights usable
 * by the backend. On success the model owns *src (closed by hearth_model_free); on failure src is
 * left to the caller. */
int hearth_model_load(hearth_model **out, hearth_source *src, const hearth_model_params *p,
                      hearth_error *err);
void hearth_model_free(hearth_model *m);

typedef struct hearth_model_info {
    const char *arch;       /* "llama", "qwen2", "qwen3" */
    const char *name;       /* general.name or "" */
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx_train;
    float rope_theta, rms_eps;
    uint64_t n_params;
    uint64_t weight_bytes;  /* bytes of tensor data */
    int file_type;          /* general.file_type, -1 if absent */
} hearth_model_info;

void hearth_model_get_info(const hearth_model *m, hearth_model_info *out);

/* ---- sessions (a conversation with its KV cache) -------------------------------------------- */

typedef struct hearth_session hearth_session;

typedef enum hearth_kv_type { HEARTH_KV_F32 = 0, HEARTH_KV_F16 = 1 } hearth_kv_type;

typedef struct hearth_session_params {
    int n_ctx;      /* context length in tokens; 0 = min(model's training context, 4096) */
    int n_batch;    /* prompt tokens evaluated per forward pass; 0 = 256 */
    int kv_type;    /* hearth_kv_type; default F16 */
    int all_logits; /* keep logits of every evaluated position (conformance); default 0 */
} hearth_session_params;

hearth_session_params hearth_session_default_params(void);

int hearth_session_new(hearth_session **out, hearth_model *m, const hearth_session_params *p,
                       hearth_error *err);
void hearth_session_free(hearth_session *s);
const char *hearth_session_errmsg(const hearth_session *s);

/* Appends tokens to the session and evaluates them (batched). */
int hearth_session_eval(hearth_session *s, const int32_t *ids, int n);
/* Makes the session hold exactly ids[0..n): keeps the longest common prefix with what is in the
 * KV cache and evaluates only the rest (multi-turn chat does not re-process the history).
 * *n_reused (may be NULL) receives the number of tokens kept. n must be > 0. */
int hearth_session_set_tokens(hearth_session *s, const int32_t *ids, int n, int *n_reused);
/* Drops everything after the first n tokens. */
int hearth_session_truncate(hearth_session *s, int n);
int hearth_session_n_tokens(const hearth_session *s);
int hearth_session_n_ctx(const hearth_session *s);
/* Logits (n_vocab floats) after the last evaluated token. With all_logits, row i of
 * hearth_session_all_logits holds the logits after the i-th token of the last eval call. */
const float *hearth_session_logits(const hearth_session *s);
const float *hearth_session_all_logits(const hearth_session *s, int *n_rows);

/* ---- sampling ------------------------------------------------------------------------------- */

/* Logits -> token. Order of operations: logit bias, penalties, then (unless greedy) temperature,
 * softmax, top-k, top-p, min-p, and a draw from what remains with the sampler's own RNG
 * (xorshift64*, seeded by `seed`: the same seed gives the same tokens). With temperature and
 * top_p only, the arithmetic is that of llama2.c's run.c, so its sampled outputs are reproduced. */
typedef struct hearth_sampler_params {
    float temperature;       /* <= 0: greedy (argmax, ties -> lowest id) */
    int top_k;               /* <= 0: off */
    float top_p;             /* >= 1: off */
    float min_p;             /* <= 0: off; keep p >= min_p * p_max */
    float repeat_penalty;    /* 1: off; a logit l of a recent token becomes l / r if l > 0 else l * r */
    int repeat_last_n;       /* how many recent tokens the penalties look at (default 64) */
    float frequency_penalty; /* 0: off; l -= count * frequency_penalty */
    float presence_penalty;  /* 0: off; l -= presence_penalty if count > 0 */
    uint64_t seed;
    int n_logit_bias;        /* l[ids[i]] += bias[i]; copied by hearth_sampler_new */
    const int32_t *logit_bias_ids;
    const float *logit_bias;
} hearth_sampler_params;

typedef struct hearth_sampler hearth_sampler;

hearth_sampler_params hearth_sampler_default_params(void); /* greedy, no penalties, seed 0 */
int hearth_sampler_new(hearth_sampler **out, const hearth_sampler_params *p, int n_vocab, hearth_error *err);
void hearth_sampler_free(hearth_sampler *s);
/* Samples from n_vocab logits (not modified). recent: the last tokens of the context (for the
 * penalties; the last repeat_last_n are used). Never allocates. */
int32_t hearth_sampler_sample(hearth_sampler *s, const float *logits, const int32_t *recent, int n_recent);

/* ---- generation ----------------------------------------------------------------------------- */

typedef enum hearth_stop_reason {
    HEARTH_STOP_NONE = 0,
    HEARTH_STOP_EOG = 1,          /* the model produced an end-of-generation token */
    HEARTH_STOP_MAX_TOKENS = 2,   /* max_tokens reached */
    HEARTH_STOP_STRING = 3,       /* a stop string appeared (it is not passed to the callback) */
    HEARTH_STOP_CALLBACK = 4,     /* the callback asked to stop */
    HEARTH_STOP_CONTEXT_FULL = 5  /* the context has no room for another token */
} hearth_stop_reason;

/* Called with each generated token and the complete UTF-8 text it adds (text may be empty while
 * a multi-byte character or a possible stop string is held back; held-back text left at the end
 * comes in a last call with id -1). Return nonzero to stop. */
typedef int (*hearth_token_fn)(void *user, int32_t id, const char *text, size_t len);

typedef struct hearth_generate_params {
    int max_tokens;              /* <= 0: until EOG or the context is full */
    const char *const *stop;     /* stop strings (may be NULL) */
    int n_stop;
    int ignore_eog;              /* keep going after end-of-generation tokens (benchmarks) */
} hearth_generate_params;

/* Samples and evaluates tokens after what the session holds (its logits must be current, e.g.
 * after hearth_session_set_tokens with the prompt). Returns a status; *reason says why it
 * stopped and *n_generated how many tokens were produced (both may be NULL). */
int hearth_generate(hearth_session *s, hearth_sampler *smp, const hearth_generate_params *gp,
                    hearth_token_fn cb, void *user, int *n_generated, int *reason);

/* ---- text ----------------------------------------------------------------------------------- */

/* Tokenizes UTF-8 text with the model's tokenizer. add_special: BOS/EOS as the vocabulary says;
 * parse_special: control-token text (e.g. "<|im_start|>") becomes control tokens — never set it
 * for text from users or documents. Writes up to cap ids; *n_ids receives the full count
 * (HEARTH_ERR_RANGE if it exceeds cap). */
int hearth_tokenize(const hearth_model *m, const char *text, size_t len, int add_special, int parse_special,
                    int32_t *ids, int cap, int *n_ids, hearth_error *err);
/* Bytes of one token (special tokens as their text). Returns the length, or < 0 on error. */
int hearth_token_piece(const hearth_model *m, int32_t id, char *buf, size_t cap);
int hearth_token_is_eog(const hearth_model *m, int32_t id);

/* A conversation turned into prompt tokens with the model's chat template (tokenizer.chat_template,
 * or the format of its family when there is none). Only the template's markers become control
 * tokens; text inside messages never does, whatever it contains. *ids: free with hearth_free. */
typedef struct hearth_chat_message {
    const char *role;    /* "system", "user", "assistant" */
    const char *content; /* UTF-8 */
} hearth_chat_message;

typedef struct hearth_chat_params {
    int add_generation_prompt; /* end with the assistant's turn header (1 to generate a reply) */
    int enable_thinking;       /* Qwen3: 0 / 1; -1 = the template's default */
    int64_t now;               /* seconds since 1970 (UTC) for templates that print the date
                                  (strftime_now, Llama 3.x); 0 = not given (template default) */
} hearth_chat_params;

int hearth_chat_tokenize(const hearth_model *m, const hearth_chat_message *msgs, int n, const hearth_chat_params *p,
                         int32_t **ids, int *n_ids, hearth_error *err);
/* Frees memory the library returned (token arrays). */
void hearth_free(void *p);
int32_t hearth_token_bos(const hearth_model *m); /* -1 if none */

#ifdef __cplusplus
}
#endif
#endif
