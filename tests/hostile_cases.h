/* hostile_cases.h — the catalogue of hostile GGUF files: one builder per failure class, each with
 * the status and message substrings a correct reader must produce. Used by tests/test_gguf_broken.c
 * (in memory and against the committed corpus tests/data/hostile/) and by tools/make_hostile_gguf.c
 * (which writes the corpus and its README table).
 *
 *   for (size_t i = 0; i < hostile_n_cases; i++) {
 *       gw_buf file = {0};
 *       hostile_expect e;
 *       hostile_cases[i].build(&file, &e);
 *       ... gguf_open must return e.status with a message containing every e.sub[k] ...
 *       gw_buf_free(&file);
 *   }
 */
#ifndef HEARTH_TESTS_HOSTILE_CASES_H
#define HEARTH_TESTS_HOSTILE_CASES_H

#include "gguf_writer.h"

#define HOSTILE_MAX_SUBS 4

typedef struct hostile_expect {
    int status;                          /* expected hearth_status */
    int n_sub;
    char sub[HOSTILE_MAX_SUBS][160];     /* substrings the message must contain */
    const char *known_issue;             /* non-NULL: the reader accepts this today (see docs/RELIABILITY.md) */
} hostile_expect;

typedef struct hostile_case {
    const char *name;  /* file stem in tests/data/hostile/ */
    const char *what;  /* the failure class, one line */
    void (*build)(gw_buf *out, hostile_expect *e);
} hostile_case;

extern const hostile_case hostile_cases[];
extern const size_t hostile_n_cases;

/* The small valid file every case starts from (6 keys of several types, 3 tensors: F32, Q8_0,
 * F16). Key i / tensor i below are the indices used by the layout map. */
enum {
    HB_KV_ARCH = 0,      /* general.architecture = "llama" */
    HB_KV_ALIGN = 1,     /* general.alignment = 32 (uint32) */
    HB_KV_INTS = 2,      /* test.ints = int32 [1, 2, 3] */
    HB_KV_WORDS = 3,     /* test.words = string ["a", "bc"] */
    HB_KV_F = 4,         /* test.f = float32 0.5 */
    HB_KV_U64S = 5,      /* test.u64s = uint64 [7, 8] */
    HB_T_TOK = 0,        /* tok.weight F32 [8, 2] */
    HB_T_Q = 1,          /* blk.0.q Q8_0 [32, 2] */
    HB_T_NORM = 2        /* out.norm F16 [8] */
};
void hostile_base(gguf_writer *w);
/* A richer valid file (base + every scalar type + nested arrays + a 3-D Q4_K tensor). */
void hostile_rich(gw_buf *out, uint32_t version);

/* Small valid files for fuzzing seed corpora: seed i (0 <= i < hostile_n_seeds), its name. */
extern const size_t hostile_n_seeds;
const char *hostile_seed(size_t i, gw_buf *out);

/* A file with n keys whose FNV-1a hashes share their low bits (an index-collision flood) for
 * measuring the reader's worst-case time; not part of the committed corpus (it is large). */
void hostile_hash_flood(gw_buf *out, uint64_t n_keys);

#endif
