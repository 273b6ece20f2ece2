/* model.h — architectures (llama, qwen2, qwen3): hyperparameters and weight tensors read from a
 * GGUF file, and the CPU forward pass. Backends see the model through this header.
 *
 *   hearth_model *m;  hearth_model_load(&m, &src, &params, &err);     (hearth.h)
 *   const model_layer *L = &m->layers[0];
 *   L->wq.type, L->wq.ne[0] (= n_embd, the row length), L->wq.rows (= n_head * head_dim),
 *   L->wq.data (CPU-visible bytes) or L->wq.offset/size (bytes in m->src, for GPU upload)
 */
#ifndef HEARTH_MODEL_H
#define HEARTH_MODEL_H

#include "base.h"
#include "gguf.h"

struct tokenizer;
struct threadpool;

typedef enum model_arch { MODEL_ARCH_LLAMA = 0, MODEL_ARCH_QWEN2 = 1, MODEL_ARCH_QWEN3 = 2 } model_arch;

typedef struct model_tensor {
    int present;         /* 0: the tensor is absent (optional tensors: biases, norms) */
    const char *name;    /* points into the GGUF header */
    uint32_t type;       /* QT_* */
    int64_t ne[4];       /* ne[0] = row length (input dim of a matrix) */
    int64_t rows;        /* ne[1] * ne[2] * ne[3] (output dim of a matrix) */
    size_t row_bytes;
    uint64_t offset;     /* absolute offset of the data in the source */
    uint64_t size;       /* bytes */
    const uint8_t *data; /* CPU-visible bytes (mapped or read), NULL if the backend keeps none */
} model_tensor;

typedef struct model_layer {
    model_tensor attn_norm;        /* (n_embd) F32 */
    model_tensor wq;               /* (n_embd) -> (n_head * head_dim) */
    model_tensor wk, wv;           /* (n_embd) -> (n_head_kv * head_dim) */
    model_tensor bq, bk, bv;       /* qwen2: biases F32 (rows of wq/wk/wv) */
    model_tensor q_norm, k_norm;   /* qwen3: (head_dim) F32 RMSNorm weights per head */
    model_tensor wo;               /* (n_head * head_dim) -> (n_embd) */
    model_tensor ffn_norm;         /* (n_embd) F32 */
    model_tensor w_gate, w_up;     /* (n_embd) -> (n_ff) */
    model_tensor w_down;           /* (n_ff) -> (n_embd) */
} model_layer;

typedef struct model_hparams {
    model_arch arch;
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx_train;
    float rope_theta, rms_eps;
    int rope_neox;     /* 1: rotate pairs (i, i + head_dim/2) (qwen2/3); 0: pairs (2i, 2i+1) (llama) */
    float *rope_freqs; /* NULL, or head_dim/2 factors dividing the rotary angles (Llama-3 scaling) */
    int file_type;     /* general.file_type or -1 */
} model_hparams;

struct hearth_model {
    model_hparams hp;
    hearth_source src;           /* owned */
    gguf_file *gguf;             /* the header (metadata stays readable) */
    struct tokenizer *tok;       /* NULL if the file has no tokenizer */
    char arch_name[32];
    char name[128];
    model_tensor tok_embd;       /* (n_embd) x n_vocab */
    model_tensor output_norm;    /* (n_embd) F32 */
    model_tensor output;         /* (n_embd) -> n_vocab; = tok_embd when tied */
    int tied_output;
    model_layer *layers;         /* n_layer */
    uint64_t n_params, weight_bytes;
    int backend;                 /* hearth_backend */
    int n_threads;
    struct threadpool *pool;     /* CPU threads */
    uint8_t *weights_copy;       /* tensor data copied into memory (CPU backend) */
    size_t weights_copy_bytes;
    int weights_copy_mapped;     /* how h_alloc_large made it */
    int use_mmap;                /* hearth_model_params.use_mmap */
    void *gpu;                   /* backend-private model state (GPU weights) */
};

/* The rotary angle of pair i at position pos: pos * theta^(-2i/rot_dim) / freq_factor[i]. */
void model_rope_freqs(const model_hparams *hp, float *inv_freq /* head_dim/2 */);

#endif
