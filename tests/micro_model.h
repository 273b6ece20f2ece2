/* micro_model.h — test support: a complete but tiny llama / qwen2 / qwen3 GGUF model (1 layer,
 * n_embd 32, Q8_0 matrices with small finite weights), optionally with a SentencePiece-style
 * tokenizer (<unk> <s> </s>, the 256 byte tokens, a few pieces) and a ChatML-style chat template
 * (MICRO_CHAT_TEMPLATE). Small enough for fuzzing seeds
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
#define MICRO_CHAT_TEMPLATE                                                                          \
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"        \
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"

/* arch: "llama", "qwen2" (q/k/v biases) or "qwen3" (q/k norms). */
void micro_model(gw_buf *out, const char *arch, int with_tokenizer);

/* Edits for hostile variants: keys and tensors named in skip[] are left out (the caller adds its
 * own version to the writer afterwards); token text rename_from becomes rename_to. */
typedef struct micro_edit {
    const char *skip[8];
    const char *rename_from, *rename_to;
} micro_edit;

/* Fills w (initialised by the caller) without finishing it. edit may be NULL. */
void micro_model_writer(gguf_writer *w, const char *arch, int with_tokenizer, const micro_edit *edit);

#endif
