#!/usr/bin/env python3
"""hf_tokenizer_to_gguf.py — converts Hugging Face tokenizer files to a vocab-only GGUF (metadata
tokenizer.* only, no tensors) that Hearth's tokenizer loads. Python 3 standard library only.

    python3 tools/hf_tokenizer_to_gguf.py DIR -o vocab.gguf
    python3 tools/hf_tokenizer_to_gguf.py --tokenizer-json tokenizer.json [--config tokenizer_config.json] -o out.gguf
    python3 tools/hf_tokenizer_to_gguf.py --vocab-json vocab.json --merges merges.txt --config tokenizer_config.json -o out.gguf
    python3 tools/hf_tokenizer_to_gguf.py --tiktoken ranks.tiktoken --pre llama-bpe -o out.gguf

Supported: byte-level BPE tokenizers (GPT-2 style: tokenizer.ggml.model = "gpt2"), from
tokenizer.json, from vocab.json + merges.txt, or from a tiktoken rank file ("<base64 bytes> <rank>"
per line; merges are reconstructed from the ranks). SentencePiece tokenizers (tokenizer.model) are
not converted (their GGUFs come with the model).

The rules follow llama.cpp's convert_hf_to_gguf.py (get_vocab_base + gguf-py SpecialVocab):
  * ids 0..vocab_size-1; a missing id becomes "[PAD<id>]" of type UNUSED;
  * added tokens are CONTROL when "special" or when they look special (<|...|>, <｜...｜>, <pad>,
    <mask>, <unused...>), else USER_DEFINED (with U+2581 written as a space); others NORMAL;
  * merges from model.merges (both "a b" strings and [a, b] pairs; spaces inside a pair are written
    as U+0120) or merges.txt;
  * bos/eos/unk/sep/pad/mask ids: the tokenizer_config.json *_token text looked up among the added
    tokens (then config.json *_token_id); add_bos/add_eos from tokenizer_config.json or from a
    TemplateProcessing post-processor; tokenizer.chat_template from tokenizer_config.json (or
    chat_template.jinja / chat_template.json beside it).
  * tokenizer.ggml.pre: llama.cpp picks it by hashing a tokenization of a check text; without a
    reference tokenizer at hand this tool recognises the pre-tokenizer's regex instead (Llama 3 ->
    llama-bpe, Qwen2 -> qwen2, Qwen3.5 -> qwen35, plain ByteLevel -> gpt-2, digits + ByteLevel ->
    starcoder). Anything else needs --pre NAME.
"""
import argparse
import base64
import heapq
import json
import os
import struct
import sys

# ---------------------------------------------------------------------------------------------
# GGUF writing (format facts: little endian, v3, metadata then tensor infos, 32-byte alignment)

T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY = 4, 5, 6, 7, 8, 9


def _gguf_str(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _gguf_value(vtype, value):
    if vtype == T_UINT32:
        return struct.pack("<I", value)
    if vtype == T_INT32:
        return struct.pack("<i", value)
    if vtype == T_FLOAT32:
        return struct.pack("<f", value)
    if vtype == T_BOOL:
        return struct.pack("<B", 1 if value else 0)
    if vtype == T_STRING:
        return _gguf_str(value)
    raise ValueError("unsupported GGUF type %d" % vtype)


def write_gguf(path, kvs):
    """kvs: list of (key, type, value); arrays as (key, T_ARRAY, (elem_type, [values]))."""
    out = bytearray()
    out += b"GGUF" + struct.pack("<I", 3) + struct.pack("<Q", 0) + struct.pack("<Q", len(kvs))
    for key, vtype, value in kvs:
        out += _gguf_str(key) + struct.pack("<I", vtype)
        if vtype == T_ARRAY:
            etype, items = value
            out += struct.pack("<I", etype) + struct.pack("<Q", len(items))
            if etype == T_INT32:
                out += struct.pack("<%di" % len(items), *items)
            elif etype == T_FLOAT32:
                out += struct.pack("<%df" % len(items), *items)
            else:
                for it in items:
                    out += _gguf_value(etype, it)
        else:
            out += _gguf_value(vtype, value)
    out += b"\0" * ((-len(out)) % 32)  # data section starts aligned (empty)
    with open(path, "wb") as f:
        f.write(out)


# ---------------------------------------------------------------------------------------------
# token types (llama.cpp's gguf.TokenType)

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def looks_special(text):
    return (text in ("<pad>", "<mask>", "<2mass>", "[@BOS@]")
            or (text.startswith("<|") and text.endswith("|>"))
            or (text.startswith("<\uff5c") and text.endswith("\uff5c>"))
            or (text.startswith("<unused") and text.endswith(">")))


def bytes_to_unicode():
    """GPT-2's byte-level alphabet: byte -> printable code point."""
    keep = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


# ---------------------------------------------------------------------------------------------
# pre-tokenizer detection

LLAMA3_RE = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
             "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
QWEN2_RE = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
            "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
QWEN35_RE = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*"
             "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
KNOWN_SPLITS = {LLAMA3_RE: "llama-bpe", QWEN2_RE: "qwen2", QWEN35_RE: "qwen35"}


def _flatten_pre(pt):
    if not pt:
        return []
    if pt.get("type") == "Sequence":
        out = []
        for p in pt.get("pretokenizers", []):
            out += _flatten_pre(p)
        return out
    return [pt]


def detect_pre(tokenizer_json):
    parts = _flatten_pre(tokenizer_json.get("pre_tokenizer"))
    kinds = [p.get("type") for p in parts]
    splits = [p for p in parts if p.get("type") == "Split"]
    if len(splits) == 1 and kinds.count("ByteLevel") == 1 and len(parts) == 2:
        regex = splits[0].get("pattern", {}).get("Regex")
        if regex in KNOWN_SPLITS:
            return KNOWN_SPLITS[regex]
    if kinds == ["ByteLevel"] and parts[0].get("use_regex", True):
        return "gpt-2"
    if kinds == ["Digits", "ByteLevel"] and parts[0].get("individual_digits") and parts[1].get("use_regex", True):
        return "starcoder"
    return None


# ---------------------------------------------------------------------------------------------
# tiktoken: reconstruct merges from ranks (each token of rank r is the merge of the two parts
# that byte-level BPE with ranks < r leaves of it)


def _bpe_parts(ranks, token, max_rank):
    parts = [token[i:i + 1] for i in range(len(token))]
    while True:
        best = None
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and r < max_rank and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            return parts
        i = best[1]
        parts[i:i + 2] = [parts[i] + parts[i + 1]]


def load_tiktoken(path):
    ranks = {}
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    b2u = bytes_to_unicode()
    enc = lambda bs: "".join(b2u[b] for b in bs)
    vocab = {enc(t): r for t, r in ranks.items()}
    merges, unreachable = [], 0
    for tok, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(tok) == 1:
            continue
        parts = _bpe_parts(ranks, tok, rank)
        if len(parts) != 2:  # not the merge of two lower-ranked tokens: no merge makes it
            unreachable += 1
            continue
        merges.append(enc(parts[0]) + " " + enc(parts[1]))
    if unreachable:
        print("tiktoken: %d tokens are no merge of two lower-ranked tokens (no merge written for them)"
              % unreachable, file=sys.stderr)
    return vocab, merges


# ---------------------------------------------------------------------------------------------


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _merges_from_json(merges):
    if not merges:
        return []
    if isinstance(merges[0], str):
        return list(merges)
    out = []
    for pair in merges:
        a, b = ["".join(chr(ord(c) + 256) if c == " " else c for c in part) for part in pair]
        out.append(a + " " + b)
    return out


def _merges_from_txt(path):
    merges = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[0].startswith("#"):
        lines = lines[1:]
    for line in lines:
        parts = line.strip().split(None, 3)
        if len(parts) == 2:
            merges.append(parts[0] + " " + parts[1])
    return merges


def convert(args):
    tokenizer_json = config = model_config = None
    directory = args.dir
    if directory:
        def maybe(name):
            p = os.path.join(directory, name)
            return p if os.path.isfile(p) else None
        args.tokenizer_json = args.tokenizer_json or maybe("tokenizer.json")
        args.vocab_json = args.vocab_json or maybe("vocab.json")
        args.merges = args.merges or maybe("merges.txt")
        args.config = args.config or maybe("tokenizer_config.json")
        args.model_config = args.model_config or maybe("config.json")
    cfg_dir = os.path.dirname(args.config) if args.config else directory
    if args.config:
        config = _read_json(args.config)
    if args.model_config:
        model_config = _read_json(args.model_config)

    added = []  # dicts with id, content, special, normalized
    pre = args.pre
    if args.tiktoken:
        vocab, merges = load_tiktoken(args.tiktoken)
        if not pre:
            raise SystemExit("a tiktoken rank file does not say its pre-tokenizer: give --pre NAME")
    elif args.tokenizer_json:
        tokenizer_json = _read_json(args.tokenizer_json)
        model = tokenizer_json.get("model", {})
        if model.get("type") != "BPE":
            raise SystemExit("tokenizer.json model type %r is not supported (only byte-level BPE)" % model.get("type"))
        if model.get("byte_fallback"):
            raise SystemExit("tokenizer.json uses byte_fallback (SentencePiece-style BPE): not supported by this tool")
        vocab = dict(model.get("vocab", {}))
        merges = _merges_from_json(model.get("merges", []))
        added = list(tokenizer_json.get("added_tokens", []))
        if not pre:
            pre = detect_pre(tokenizer_json)
            if not pre:
                raise SystemExit("unrecognised pre-tokenizer %s: give --pre NAME (see docs/TOKENIZER.md)"
                                 % json.dumps(tokenizer_json.get("pre_tokenizer"))[:300])
    elif args.vocab_json and args.merges:
        vocab = _read_json(args.vocab_json)
        merges = _merges_from_txt(args.merges)
        for sid, entry in ((config or {}).get("added_tokens_decoder") or {}).items():
            added.append(dict(entry, id=int(sid)))
        if not pre:
            raise SystemExit("vocab.json + merges.txt do not say the pre-tokenizer: give --pre NAME")
    else:
        raise SystemExit("nothing to convert: give a directory, --tokenizer-json, --vocab-json + --merges or --tiktoken")

    by_id = {i: t for t, i in vocab.items()}
    added_by_id = {}
    for a in added:
        by_id[a["id"]] = a["content"]
        added_by_id[a["id"]] = a
    vocab_size = args.vocab_size or (model_config or {}).get("vocab_size") or (max(by_id) + 1)
    if max(by_id) >= vocab_size:
        raise SystemExit("token id %d >= vocab size %d" % (max(by_id), vocab_size))

    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append("[PAD%d]" % i)
            types.append(UNUSED)
            continue
        text = by_id[i]
        if i in added_by_id:
            a = added_by_id[i]
            if a.get("special") or looks_special(text):
                types.append(CONTROL)
            else:
                text = text.replace("\u2581", " ")
                types.append(USER_DEFINED)
        else:
            types.append(NORMAL)
        tokens.append(text)

    # special token ids and add_* flags (SpecialVocab)
    special_ids, add_special = {}, {}
    contents = {a["content"]: a["id"] for a in reversed(added)}  # first match wins
    if tokenizer_json:
        post = tokenizer_json.get("post_processor") or {}
        for proc in post.get("processors", [post]):
            if proc.get("type") == "TemplateProcessing":
                single = proc.get("single", [])
                bos_text = (config or {}).get("bos_token")
                bos_text = bos_text.get("content") if isinstance(bos_text, dict) else bos_text
                eos_text = (config or {}).get("eos_token")
                eos_text = eos_text.get("content") if isinstance(eos_text, dict) else eos_text
                if len(single) > 1:
                    first = single[0].get("SpecialToken", {}).get("id")
                    last = single[-1].get("SpecialToken", {}).get("id")
                    if first:
                        add_special["bos"] = first == bos_text or (not config)
                        if not config and first in contents:
                            special_ids.setdefault("bos", contents[first])
                    if last:
                        add_special["eos"] = last == eos_text or (not config)
    for typ in ("bos", "eos", "unk", "sep", "pad", "mask"):
        if config:
            flag = config.get("add_%s_token" % typ)
            if isinstance(flag, bool):
                add_special[typ] = flag
            entry = config.get("%s_token" % typ)
            if isinstance(entry, dict):
                entry = entry.get("content")
            if isinstance(entry, str) and entry in contents and typ not in special_ids:
                special_ids[typ] = contents[entry]
        tid = (model_config or {}).get("%s_token_id" % typ)
        if isinstance(tid, int) and 0 <= tid < vocab_size and typ not in special_ids:
            special_ids[typ] = tid

    chat_template = (config or {}).get("chat_template")
    if chat_template is None and cfg_dir:
        jinja = os.path.join(cfg_dir, "chat_template.jinja")
        cjson = os.path.join(cfg_dir, "chat_template.json")
        if os.path.isfile(jinja):
            with open(jinja, encoding="utf-8") as f:
                chat_template = f.read()
        elif os.path.isfile(cjson):
            chat_template = _read_json(cjson).get("chat_template")
    if isinstance(chat_template, list):  # named templates: keep the default one
        named = {t.get("name"): t.get("template") for t in chat_template}
        chat_template = named.get("default")

    name = args.name or (os.path.basename(os.path.normpath(directory)) if directory else "tokenizer")
    kvs = [
        ("general.architecture", T_STRING, args.arch),
        ("general.name", T_STRING, name),
        ("tokenizer.ggml.model", T_STRING, "gpt2"),
        ("tokenizer.ggml.pre", T_STRING, pre),
        ("tokenizer.ggml.tokens", T_ARRAY, (T_STRING, tokens)),
        ("tokenizer.ggml.token_type", T_ARRAY, (T_INT32, types)),
        ("tokenizer.ggml.merges", T_ARRAY, (T_STRING, merges)),
    ]
    key = {"bos": "bos_token_id", "eos": "eos_token_id", "unk": "unknown_token_id",
           "sep": "seperator_token_id", "pad": "padding_token_id", "mask": "mask_token_id"}
    for typ in ("bos", "eos", "unk", "sep", "pad", "mask"):
        if typ in special_ids:
            kvs.append(("tokenizer.ggml." + key[typ], T_UINT32, special_ids[typ]))
    for typ in ("bos", "eos", "sep"):
        if typ in add_special:
            kvs.append(("tokenizer.ggml.add_%s_token" % typ, T_BOOL, add_special[typ]))
    if isinstance(chat_template, str):
        kvs.append(("tokenizer.chat_template", T_STRING, chat_template))
    write_gguf(args.output, kvs)
    return len(tokens), len(merges), pre


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?", help="directory with tokenizer.json / vocab.json + merges.txt, tokenizer_config.json")
    ap.add_argument("--tokenizer-json")
    ap.add_argument("--vocab-json")
    ap.add_argument("--merges")
    ap.add_argument("--tiktoken", help="tiktoken rank file: '<base64 token> <rank>' per line")
    ap.add_argument("--config", help="tokenizer_config.json (special tokens, add_bos, chat_template)")
    ap.add_argument("--model-config", help="config.json (vocab_size, *_token_id)")
    ap.add_argument("--pre", help="tokenizer.ggml.pre value (default: detected from tokenizer.json)")
    ap.add_argument("--vocab-size", type=int, help="number of token ids (default: config.json or the largest id + 1)")
    ap.add_argument("--name", help="general.name")
    ap.add_argument("--arch", default="llama", help="general.architecture (default llama)")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args(argv)
    n_tokens, n_merges, pre = convert(args)
    print("%s: %d tokens, %d merges, pre-tokenizer %s" % (args.output, n_tokens, n_merges, pre))


if __name__ == "__main__":
    main()
