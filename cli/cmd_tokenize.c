/* cmd_tokenize.c — `hearth tokenize` (text -> JSON array of token ids) and `hearth detokenize`
 * (ids -> text), using only the tokenizer metadata of a GGUF file (the weights are not read). */
#include "cli.h"
#include "gguf.h"
#include "tokenizer.h"

#include <stdlib.h>
#include <string.h>

static int open_tokenizer(const char *cmd, const char *path, tokenizer **t) {
    hearth_error err = {0};
    hearth_source src;
    gguf_file *g = NULL;
    if (hearth_source_open_file(&src, path, &err)) return cli_fail(cmd, "%s", err.msg);
    int st = gguf_open(&g, &src, &err);
    if (!st) st = tokenizer_load(t, g, &err);
    gguf_close(g);
    hearth_source_close(&src);
    if (st) return cli_fail(cmd, "%s: %s", path, err.msg);
    return 0;
}

/* Writes s as the inside of a JSON string; bytes that are not valid UTF-8 become U+FFFD. */
static void json_string(FILE *f, const char *s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            fprintf(f, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            fputc(c, f);
            i++;
        } else {
            size_t k = 1, need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
            int ok = need && i + need <= n;
            for (k = 1; ok && k < need; k++) ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
            if (ok && need == 3) {
                unsigned char c1 = (unsigned char)s[i + 1];
                ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 > 0x9F);
            }
            if (ok && need == 4) {
                unsigned char c1 = (unsigned char)s[i + 1];
                ok = c <= 0xF4 && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 > 0x8F);
            }
            if (ok) {
                fwrite(s + i, 1, need, f);
                i += need;
            } else {
                fputs("\\ufffd", f);
                i++;
            }
        }
    }
    fputc('"', f);
}

static const char *k_tokenize_help =
    "usage: hearth tokenize MODEL.gguf TEXT [options]\n"
    "       hearth tokenize MODEL.gguf --file PATH [options]\n"
    "Prints the token ids of TEXT as a JSON array. Only the tokenizer metadata is read.\n"
    "  --bos        add BOS/EOS as the vocabulary asks (llama_tokenize add_special)\n"
    "  --special    let the text name control tokens such as <|im_start|> (parse_special)\n"
    "  --pieces     print [{\"id\":N,\"piece\":\"...\",\"hex\":\"...\"}, ...] instead\n"
    "  --file PATH  read the text (any bytes) from PATH instead of the argument\n"
    "  --hex-lines PATH  batch mode: every line of PATH is one input in hex; prints one JSON\n"
    "               array of ids per line (the vocabulary is loaded once)\n";

static int unhex(const char *s, size_t n, char *out, size_t *len) {
    size_t k = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        int v = 0;
        for (int j = 0; j < 2; j++) {
            char c = s[i + j];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (d < 0) return 0;
            v = v * 16 + d;
        }
        out[k++] = (char)v;
    }
    *len = k;
    return n % 2 == 0;
}

static void print_ids(const int32_t *ids, int n) {
    fputc('[', stdout);
    for (int i = 0; i < n; i++) printf(i ? ", %d" : "%d", (int)ids[i]);
    fputs("]\n", stdout);
}

static int tokenize_hex_lines(tokenizer *t, const char *path, int bos, int special) {
    size_t len;
    char *all = cli_read_file("tokenize", path, &len);
    if (!all) return 1;
    char *bytes = malloc(len / 2 + 1);
    int rc = bytes ? 0 : cli_fail("tokenize", "out of memory");
    for (char *line = all; !rc && line < all + len;) {
        char *nl = memchr(line, '\n', (size_t)(all + len - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(all + len - line), blen;
        if (!unhex(line, n, bytes, &blen)) {
            rc = cli_fail("tokenize", "%s: a line is not hex", path);
            break;
        }
        hearth_error err = {0};
        int32_t *ids = NULL;
        int k = 0;
        if (tokenizer_encode(t, bytes, blen, bos, special, &ids, &k, &err)) rc = cli_fail("tokenize", "%s", err.msg);
        else print_ids(ids, k);
        h_free(ids);
        line = nl ? nl + 1 : all + len;
    }
    free(bytes);
    free(all);
    return rc;
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *text = NULL, *file = NULL, *hex_lines = NULL;
    int bos = 0, special = 0, pieces = 0;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(k_tokenize_help, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--bos")) bos = 1;
        else if (!strcmp(argv[i], "--special")) special = 1;
        else if (!strcmp(argv[i], "--pieces")) pieces = 1;
        else if (!strcmp(argv[i], "--file") && i + 1 < argc) file = argv[++i];
        else if (!strcmp(argv[i], "--hex-lines") && i + 1 < argc) hex_lines = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] == '-' && argv[i][2]) return cli_fail("tokenize", "unknown option %s", argv[i]);
        else if (!model) model = argv[i];
        else if (!text) text = argv[i];
        else return cli_fail("tokenize", "unexpected argument '%s' (see --help)", argv[i]);
    }
    if (model && hex_lines && !text && !file) {
        tokenizer *t = NULL;
        if (open_tokenizer("tokenize", model, &t)) return 1;
        int rc = tokenize_hex_lines(t, hex_lines, bos, special);
        tokenizer_free(t);
        return rc;
    }
    if (!model || (!text && !file) || (text && file)) {
        fputs(k_tokenize_help, stderr);
        return 1;
    }
    size_t len = 0;
    char *buf = NULL;
    if (file) {
        buf = cli_read_file("tokenize", file, &len);
        if (!buf) return 1;
        text = buf;
    } else {
        len = strlen(text);
    }
    tokenizer *t = NULL;
    if (open_tokenizer("tokenize", model, &t)) {
        free(buf);
        return 1;
    }
    hearth_error err = {0};
    int32_t *ids = NULL;
    int n = 0, rc = 0;
    if (tokenizer_encode(t, text, len, bos, special, &ids, &n, &err)) {
        rc = cli_fail("tokenize", "%s", err.msg);
    } else {
        char *piece = malloc((size_t)tokenizer_max_piece(t) + 1);
        fputc('[', stdout);
        for (int i = 0; i < n; i++) {
            if (i) fputs(pieces ? ",\n " : ", ", stdout);
            if (!pieces || !piece) {
                printf("%d", (int)ids[i]);
                continue;
            }
            int k = tokenizer_piece(t, ids[i], 1, piece, (size_t)tokenizer_max_piece(t));
            if (k < 0) k = 0;
            printf("{\"id\": %d, \"piece\": ", (int)ids[i]);
            json_string(stdout, piece, (size_t)k);
            fputs(", \"hex\": \"", stdout);
            for (int j = 0; j < k; j++) printf("%02x", (unsigned char)piece[j]);
            fputs("\"}", stdout);
        }
        fputs("]\n", stdout);
        free(piece);
    }
    h_free(ids);
    tokenizer_free(t);
    free(buf);
    return rc;
}

static const char *k_detokenize_help =
    "usage: hearth detokenize MODEL.gguf IDS... [options]\n"
    "Prints the text of token ids given as separate arguments, a comma list or a JSON array.\n"
    "  --special         render control tokens such as <|im_end|> (llama_detokenize unparse_special)\n"
    "  --remove-special  drop a leading BOS / trailing EOS the vocabulary adds (remove_special)\n"
    "  --raw             no newline after the text\n";

/* Appends the ids found in s ("1,2", "[1, 2]", "3") to *ids. */
static int parse_ids(const char *s, int32_t **ids, int *n, int *cap) {
    const char *p = s;
    while (*p) {
        if (*p == '[' || *p == ']' || *p == ',' || *p == ' ' || *p == '\t' || *p == '\n') {
            p++;
            continue;
        }
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < INT32_MIN || v > INT32_MAX) return cli_fail("detokenize", "bad token id in '%s'", s);
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            int32_t *q = realloc(*ids, (size_t)*cap * sizeof(int32_t));
            if (!q) return cli_fail("detokenize", "out of memory");
            *ids = q;
        }
        (*ids)[(*n)++] = (int32_t)v;
        p = end;
    }
    return 0;
}

int cmd_detokenize(int argc, char **argv) {
    const char *model = NULL;
    int special = 0, remove_special = 0, raw = 0, n = 0, cap = 0, rc = 0;
    int32_t *ids = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(k_detokenize_help, stdout);
            free(ids);
            return 0;
        } else if (!strcmp(argv[i], "--special")) special = 1;
        else if (!strcmp(argv[i], "--remove-special")) remove_special = 1;
        else if (!strcmp(argv[i], "--raw")) raw = 1;
        else if (argv[i][0] == '-' && argv[i][1] == '-') {
            free(ids);
            return cli_fail("detokenize", "unknown option %s", argv[i]);
        } else if (!model) model = argv[i];
        else if (parse_ids(argv[i], &ids, &n, &cap)) {
            free(ids);
            return 1;
        }
    }
    if (!model) {
        fputs(k_detokenize_help, stderr);
        free(ids);
        return 1;
    }
    tokenizer *t = NULL;
    if (open_tokenizer("detokenize", model, &t)) {
        free(ids);
        return 1;
    }
    hearth_error err = {0};
    char *text = NULL;
    size_t len = 0;
    if (tokenizer_decode(t, ids, n, remove_special, special, &text, &len, &err)) {
        rc = cli_fail("detokenize", "%s", err.msg);
    } else {
        fwrite(text, 1, len, stdout);
        if (!raw) fputc('\n', stdout);
    }
    h_free(text);
    tokenizer_free(t);
    free(ids);
    return rc;
}
