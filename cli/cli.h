/* cli.h — the hearth command: one function per subcommand (cli/cmd_*.c) and shared helpers
 * for options and model files (cli/common.c). Every subcommand answers --help. */
#ifndef HEARTH_CLI_H
#define HEARTH_CLI_H

#include "hearth.h"

#include <stdint.h>
#include <stdio.h>

typedef int (*cli_cmd_fn)(int argc, char **argv); /* argv[0] is the subcommand name */

/* Subcommands; each prints its own --help and returns the process exit code. */
int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_gpu_info(int argc, char **argv);

/* Default model when none is given (the README's first command uses it). */
#define CLI_DEFAULT_MODEL "../shared/testdata/models/stories260K.gguf"

/* True if s is "-h" or "--help". */
int cli_is_help(const char *s);
/* Parses an int / float option value; prints an error naming the option and returns 0 on failure. */
int cli_parse_int(const char *opt, const char *s, long long lo, long long hi, long long *out);
int cli_parse_float(const char *opt, const char *s, double *out);
/* Prints "hearth <cmd>: <msg>" to stderr and returns 1 (the exit code). */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads a whole file (NUL-terminated). Returns NULL and prints an error on failure. */
char *cli_read_file(const char *cmd, const char *path, size_t *len);

/* Model and session options shared by run, chat, logits and bench. */
typedef struct cli_model_opts {
    int threads, n_ctx, n_batch, backend, kv_type, use_mmap;
} cli_model_opts;

/* If argv[*i] is a model option, consumes it (and its value) and returns 1; 0 if not one of
 * them; -1 after printing an error. */
int cli_model_opt(const char *cmd, int argc, char **argv, int *i, cli_model_opts *o);
extern const char *cli_model_opts_help;
/* Loads a model file; prints the error and returns 1 on failure. */
int cli_load_model(const char *cmd, const char *path, const cli_model_opts *o, hearth_model **out);
int cli_new_session(const char *cmd, hearth_model *m, const cli_model_opts *o, int all_logits, hearth_session **out);
/* Sampling options (--temp, --top-k, ...), like cli_model_opt. */
int cli_sampler_opt(int argc, char **argv, int *i, hearth_sampler_params *sp);
extern const char *cli_sampler_opts_help;
hearth_sampler_params cli_default_sampling(void);

#endif
