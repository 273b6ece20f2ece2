/* main.c — the hearth command: dispatches to a subcommand. */
#include "cli.h"

#include <string.h>

/* Subcommands provided by other parts of the tree; weak so that a build without them still
 * links (the command then says it is not built in). */
#pragma weak cmd_tokenize
#pragma weak cmd_detokenize
#pragma weak cmd_template
#pragma weak cmd_gpu_info
#pragma weak cmd_run
#pragma weak cmd_chat
#pragma weak cmd_logits
#pragma weak cmd_bench
#pragma weak cmd_info
#pragma weak cmd_synth

static const struct {
    const char *name;
    cli_cmd_fn fn;
    const char *help;
} cmds[] = {
    {"run", cmd_run, "generate a continuation of a prompt"},
    {"chat", cmd_chat, "interactive chat (default model: stories260K)"},
    {"tokenize", cmd_tokenize, "print the token ids of a text as JSON"},
    {"detokenize", cmd_detokenize, "print the text of token ids"},
    {"template", cmd_template, "render a conversation with the model's chat template"},
    {"logits", cmd_logits, "print top-K logits per position as JSON lines (conformance)"},
    {"bench", cmd_bench, "measure prefill and decode speed and peak memory"},
    {"info", cmd_info, "print architecture, shapes, types, tokenizer and size"},
    {"synth", cmd_synth, "write a random-weight GGUF with the shapes of a real model"},
    {"gpu-info", cmd_gpu_info, "print the WebGPU adapter, its features and limits"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: hearth <command> [options]   (hearth <command> --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        fprintf(f, "  %-11s %s\n", cmds[i].name, cmds[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2 || cli_is_help(argv[1])) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (strcmp(argv[1], cmds[i].name) != 0) continue;
        if (!cmds[i].fn) {
            fprintf(stderr, "hearth: command '%s' is not built into this binary\n", argv[1]);
            return 2;
        }
        return cmds[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "hearth: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
