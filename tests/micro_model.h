/* micro_model.h — test support: a complete but tiny llama / qwen2 / qwen3 GGUF model (1 layer,
 * n_embd 32, Q8_0 matrices with small finite weights), optionally with a SentencePiece-style
 * tokenizer (<unk> <s> </s>, the 256 byte tokens, a few pieces). Small enough for fuzzing seeds
 * and for failing every allocation of a model load one by one.
 *
 *   gw_buf file = {0};
 *   micro_model(&file, "llama", 1);
 *   hearth_source src;
 *   hearth_source_from_memory(&src, file.data, file.len);
 *   hearth_model_load(&m, &src, NULL, &err);
 */
#ifndef HEARTH_TESTS_MICRO_MODEL_H
#define HEARTH_TESTS_MICRO_MODEL_H

#include "gguf_writer.h"

#define MICRO_N_EMBD 32
#define MICRO_N_VOCAB_TOK 272 /* with the tokenizer: 3 specials + 256 bytes + 13 pieces */
#define MICRO_N_VOCAB_BARE 16 /* without */

/* arch: "llama", "qwen2" (q/k/v biases) or "qwen3" (q/k norms). */
void micro_model(gw_buf *out, const char *arch, int with_tokenizer);

#endif
