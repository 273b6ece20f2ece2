/* prompt.h — chat prompts as token ids: the model's chat template, rendered and tokenized so that
 * only the template's own markers become control tokens (text in messages never does).
 *
 *   int32_t *ids; int n;
 *   if (prompt_chat_tokens(model, messages_json_array, &opts, &ids, &n, &err)) ...
 *   h_free(ids);
 */
#ifndef HEARTH_PROMPT_H
#define HEARTH_PROMPT_H

#include "chat.h"
#include "json.h"
#include "model.h"

/* messages: a JSON array of message objects (role, content, ...) as chat_render_ex takes them.
 * BOS is added when the vocabulary asks for it and the template did not write it. */
int prompt_chat_tokens(const hearth_model *m, const json_value *messages, const chat_options *o, int32_t **ids,
                       int *n_ids, hearth_error *err);

#endif
