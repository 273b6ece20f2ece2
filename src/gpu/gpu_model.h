/* gpu_model.h — the WebGPU backend's model and session state (weights in GPU buffers, split
 * into row pieces that fit a storage binding; compiled kernels; KV cache and scratch) shared by
 * gpu_model.c (upload, kernels) and gpu_forward.c (forward pass, decode loop). Also the
 * backend's extra entry points for tests and benchmarks.
 *
 *   hearth_model_params mp = hearth_model_default_params();
 *   mp.backend = HEARTH_BACKEND_WEBGPU;                  // backend_webgpu (engine.h)
 *   ... hearth_model_load / hearth_session_new / hearth_session_eval as usual ...
 *   webgpu_generate(s, &sampler_params, 128, on_token, user, &n, &err);   // GPU-resident loop
 */
#ifndef HEARTH_GPU_MODEL_H
#define HEARTH_GPU_MODEL_H

#include "engine.h"
#include "gpu/gpu.h"

#define GW_MAX_PIECES 16

/* A weight matrix in the GPU layout of its type (gpu_pack.h), in pieces of whole rows. */
typedef struct gw_piece {
    gpu_buffer *buf;
    uint64_t off, bytes;
    int64_t row0, rows;
} gw_piece;

typedef struct gw_tensor {
    uint32_t type;
    int64_t n, rows;
    uint32_t words; /* u32 per row */
    int n_pieces;
    gw_piece p[GW_MAX_PIECES];
    uint32_t shape[4]; /* decode matvec shape set by HEARTH_GPU_SHAPE_<ROLE> = TU,RPT,WG[,UNR] (0: chosen) */
} gw_tensor;

/* An F32 vector (norm weights, biases) inside the model's small-tensor buffer. */
typedef struct gw_vec {
    int present;
    uint64_t off, bytes;
} gw_vec;

typedef struct gw_layer {
    gw_vec attn_norm, ffn_norm, bqkv, q_norm, k_norm;
    int qkv_fused;      /* 1: qkv[0] holds q, k, v rows; else qkv[0..2] = q, k, v */
    gw_tensor qkv[3];
    gw_tensor wo;
    int gu_fused;       /* 1: gu[0] holds gate then up rows (one piece); else gu[0], gu[1] */
    gw_tensor gu[2];
    gw_tensor down;
} gw_layer;

typedef struct gw_kernel_entry {
    char key[320];
    gpu_kernel *k;
} gw_kernel_entry;

typedef struct gw_model {
    gpu_device *d;
    gpu_buffer *bufs[64]; /* weight arenas */
    int n_bufs;
    gpu_buffer *small;    /* F32 vectors */
    gpu_buffer *dummy;    /* bound where a kernel's optional input is unused */
    gw_tensor tok_embd, output_own;
    gw_tensor *output;    /* &tok_embd when tied */
    gw_vec out_norm;
    gw_layer *layers;
    gw_kernel_entry *kernels;
    int n_kernels, cap_kernels;
    uint64_t gpu_bytes;   /* weights on the GPU */
    int force_f32;        /* HEARTH_GPU_MATVEC=f: the f32 matvec path everywhere */
    int tu_override, rpt_override, tm_override, wg_override;
    int mmq;              /* HEARTH_GPU_MMQ=0: prefill of quantized types on matmul_f */
    int mmq_tm, mmq_tn, mmq_ku;
    int minwg;            /* HEARTH_GPU_MINWG: workgroups a decode matvec should have at least */
    int sg;               /* HEARTH_GPU_SG=0: no subgroup reductions */
    int qit;              /* HEARTH_GPU_QIT: matvec_q quantizes x by subgroups up to this many passes */
    int xq;               /* HEARTH_GPU_XQ=0: no decode q-streams (every matvec quantizes its x) */
    int unr;              /* HEARTH_GPU_UNR: matvec_q units per lane per loop step */
    int att_kb;           /* HEARTH_GPU_ATTKB: k row words attn_decode loads together (1..16, default 8) */
    int att_long;         /* HEARTH_GPU_ATTL: contexts of 129..N positions in one attn_decode chunk (512; 0: off) */
    int big;              /* HEARTH_GPU_BIG=0: no 1024-thread decode matvecs for rows of >= 4096 */
    int qpar;             /* HEARTH_GPU_QPAR=0: matvec_q's output q-stream by one thread per unit */
    int hpw;              /* HEARTH_GPU_HPW: query heads per attn_decode workgroup (1; 0: a whole GQA group) */
} gw_model;

/* Kernel from (module, kernel, constants), compiled once per model and cached. */
int gw_kernel(gw_model *g, const char *module, const char *kernel, const gpu_const *c, int nc, gpu_kernel **out,
              hearth_error *err);

/* The device of a WebGPU model (tests force a device loss through it). */
gpu_device *webgpu_model_device(hearth_model *m);

/* GPU-resident generation: samples after what the session holds (its last logits must be
 * current, as after hearth_session_eval), evaluates each sampled token, and calls on_token(user,
 * id) for every token in order as its id arrives from the GPU; nonzero stops. Up to a few
 * tokens are evaluated ahead of the callback and dropped after a stop. Accepted tokens are
 * appended to the session (s->tokens, s->n_tokens) and s->logits are refreshed at the end.
 * Sampling: greedy (temperature <= 0), or temperature / top-k / top-p / min-p / penalties on
 * the GPU over the best GPU_SAMPLE_CANDIDATES candidates (exact whenever top_k is set and at
 * most that); random draws from seed with the CPU sampler's xorshift64*. */
int webgpu_generate(hearth_session *s, const hearth_sampler_params *sp, int max_tokens,
                    int (*on_token)(void *user, int32_t id), void *user, int *n_accepted, hearth_error *err);
/* The same with the random stream's state in and out (NULL: start from sp->seed): after the call
 * it is the state after the draws of the tokens passed to on_token, as a CPU sampler that drew
 * them would have it (draws for dropped speculative steps are undone). */
int webgpu_generate_rng(hearth_session *s, const hearth_sampler_params *sp, uint64_t *rng_state, int max_tokens,
                        int (*on_token)(void *user, int32_t id), void *user, int *n_accepted, hearth_error *err);

/* Per-kernel-group GPU time of one decode step (benchmarks): each group's dispatches for all
 * layers, recorded reps times in one submission; attention at the session's last position. */
typedef struct webgpu_profile {
    int n;
    const char *name[12];
    double ms[12];        /* per token */
    int dispatches[12];   /* per token */
    uint64_t bytes[12];   /* weight (and KV) bytes read per token */
} webgpu_profile;
int webgpu_profile_decode(hearth_session *s, int reps, webgpu_profile *out, hearth_error *err);
/* The same for a prefill of n_tok tokens at position 0 (bytes = multiply-adds x 2 = flops). */
int webgpu_profile_prefill(hearth_session *s, int n_tok, int reps, webgpu_profile *out, hearth_error *err);

/* attn_prefill's tiles (64 queries x BK keys) for head dim hd (a multiple of 8, <= 256) within
 * max_smem bytes of workgroup memory: fills c[0..2] = BK, DC, KV_LEN. 0, or -1 if none fits. */
#define GW_ATT_BQ 64
int gw_attn_prefill_tiles(uint32_t hd, uint32_t max_smem, gpu_const c[3]);

/* Dispatches recorded by the model's device so far (benchmarks: dispatches per token). */
uint64_t webgpu_dispatch_count(hearth_model *m);

#endif
