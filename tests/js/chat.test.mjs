// chat.test.mjs — chat templates: `hearth template` must render every (official template,
// conversation) byte for byte like @huggingface/jinja 0.5.11 (an independent renderer), fail where
// it fails, and reproduce llama.cpp's reference chat prompts from the GGUF templates.
//
// Official templates: Qwen2 and Qwen3 from the GGUFs in ../shared/testdata (tokenizer.chat_template);
// the others from the npm package @huggingface/ollama-utils (its table of the chat templates stored
// in the GGUF files of ~97 published models), read from node_modules at test time.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Template } from "@huggingface/jinja";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const HEARTH = process.env.HEARTH_BIN ? path.resolve(ROOT, process.env.HEARTH_BIN) : path.join(ROOT, "build/hearth");
const TESTDATA = process.env.HEARTH_TESTDATA || path.join(ROOT, "../shared/testdata");
const CONVS = JSON.parse(fs.readFileSync(path.join(ROOT, "tests/data/chat/conversations.json"), "utf8"));
const TOOLS = JSON.parse(fs.readFileSync(path.join(ROOT, "tests/data/chat/tools.json"), "utf8"));
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "hearth-chat-"));
process.on("exit", () => fs.rmSync(TMP, { recursive: true, force: true }));

// ---- GGUF metadata (strings, string arrays and integers are all this test needs) ----------------

function readGgufKv(file) {
  const b = fs.readFileSync(file);
  let o = 0;
  const u32 = () => { const v = b.readUInt32LE(o); o += 4; return v; };
  const u64 = () => { const v = Number(b.readBigUInt64LE(o)); o += 8; return v; };
  const str = () => { const n = u64(); const s = b.toString("utf8", o, o + n); o += n; return s; };
  const sizes = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (t) => {
    if (t === 8) return str();
    if (t === 9) {
      const et = u32(), n = u64(), arr = [];
      for (let i = 0; i < n; i++) arr.push(value(et));
      return arr;
    }
    if (t === 4) return u32();
    if (t === 5) { const v = b.readInt32LE(o); o += 4; return v; }
    o += sizes[t];
    return null;
  };
  assert.equal(b.toString("latin1", 0, 4), "GGUF");
  o = 8;
  u64(); // tensors
  const nkv = u64(), kv = {};
  for (let i = 0; i < nkv; i++) { const k = str(); kv[k] = value(u32()); }
  return kv;
}

function ggufFamily(model) {
  const file = path.join(TESTDATA, "models", model);
  const kv = readGgufKv(file);
  const toks = kv["tokenizer.ggml.tokens"];
  const vars = {};
  if (kv["tokenizer.ggml.bos_token_id"] !== undefined) vars.bos_token = toks[kv["tokenizer.ggml.bos_token_id"]];
  if (kv["tokenizer.ggml.eos_token_id"] !== undefined) vars.eos_token = toks[kv["tokenizer.ggml.eos_token_id"]];
  return { model: file, template: kv["tokenizer.chat_template"], vars };
}

// ---- official templates from @huggingface/ollama-utils -----------------------------------------

async function ollamaTemplates() {
  const file = path.join(ROOT, "node_modules/@huggingface/ollama-utils/src/chat-template-automap.ts");
  let src = fs.readFileSync(file, "utf8");
  src = src.replace(/^import type .*$/m, "").replace(": OllamaChatTemplateMapEntry[]", "");
  const mod = await import("data:text/javascript," + encodeURIComponent(src));
  const map = new Map();
  for (const e of mod.OLLAMA_CHAT_TEMPLATE_MAPPING) if (!map.has(e.model)) map.set(e.model, e.gguf);
  return map;
}
const OLLAMA = await ollamaTemplates();

// ---- rendering ------------------------------------------------------------------------------------

let fileNo = 0;
function tmpFile(name, data) {
  const f = path.join(TMP, `${fileNo++}-${name}`);
  fs.writeFileSync(f, data);
  return f;
}

const CLI_VARS = new Set(["messages", "add_generation_prompt", "bos_token", "eos_token", "enable_thinking"]);

// Renders with build/hearth; vars as @huggingface/jinja gets them. Returns {ok, out (Buffer), err}.
function hearth({ template, model, family, vars, noFallback = true }) {
  const args = ["template"];
  if (model) args.push(model);
  if (template !== undefined) args.push("--template", tmpFile("t.jinja", template));
  if (family) args.push("--family", family);
  const doc = { messages: vars.messages };
  for (const [k, v] of Object.entries(vars)) if (!CLI_VARS.has(k)) doc[k] = v;
  args.push("--messages", tmpFile("m.json", JSON.stringify(doc)));
  if (vars.add_generation_prompt === false) args.push("--no-generation-prompt");
  if (vars.bos_token !== undefined) args.push("--bos", vars.bos_token);
  if (vars.eos_token !== undefined) args.push("--eos", vars.eos_token);
  if (vars.enable_thinking !== undefined) args.push("--thinking", vars.enable_thinking ? "on" : "off");
  if (noFallback) args.push("--no-fallback");
  // @huggingface/jinja's strftime_now formats the current local time: give hearth the same clock
  args.push("--now", String(Math.floor(Date.now() / 1000) - new Date().getTimezoneOffset() * 60));
  const r = spawnSync(HEARTH, args, { maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { ok: r.status === 0, out: r.stdout, err: r.stderr.toString() };
}

function reference(template, vars) {
  try {
    return { ok: true, out: Buffer.from(new Template(template).render(vars), "utf8") };
  } catch (e) {
    return { ok: false, err: String(e) };
  }
}

// Compares one case; returns a description of the difference or null.
function compare(name, template, vars, opts = {}) {
  const ref = reference(template, vars);
  const got = hearth({ template: opts.model ? undefined : template, model: opts.model, vars });
  if (!ref.ok) {
    return got.ok ? `${name}: @huggingface/jinja failed (${ref.err}) but hearth rendered ${JSON.stringify(got.out.toString())}` : null;
  }
  if (!got.ok) return `${name}: hearth failed: ${got.err.trim()}`;
  if (!got.out.equals(ref.out))
    return `${name}: differs\n  hearth:    ${JSON.stringify(got.out.toString())}\n  reference: ${JSON.stringify(ref.out.toString())}`;
  return null;
}

// ---- the families of the issue, with their official templates -----------------------------------

const FAMILIES = [
  { name: "qwen2", gguf: "tiny-qwen2-q4_0.gguf" },
  { name: "qwen3", gguf: "tiny-qwen3-q8_0.gguf", thinking: true, tools: true },
  { name: "phi3 (vocab GGUF)", gguf: "../vocab/ggml-vocab-phi-3.gguf" },
  { name: "qwen2.5", ollama: "library/qwen2.5:0.5b", vars: { eos_token: "<|im_end|>" }, tools: true },
  { name: "llama3", ollama: "library/llama3:8b", vars: { bos_token: "<|begin_of_text|>", eos_token: "<|eot_id|>" } },
  { name: "llama3.1", ollama: "library/llama3.1:8b", vars: { bos_token: "<|begin_of_text|>", eos_token: "<|eot_id|>" }, tools: true, date: true },
  { name: "llama3.2", ollama: "library/llama3.2:3b", vars: { bos_token: "<|begin_of_text|>", eos_token: "<|eot_id|>" }, tools: true, date: true },
  { name: "llama2", ollama: "library/llama2:7b", vars: { bos_token: "<s>", eos_token: "</s>" } },
  { name: "mistral", ollama: "library/mistral:7b-instruct-fp16", vars: { bos_token: "<s>", eos_token: "</s>" } },
  { name: "gemma2", ollama: "library/gemma2:2b", vars: { bos_token: "<bos>", eos_token: "<eos>" } },
  { name: "gemma3", ollama: "library/gemma3:1b", vars: { bos_token: "<bos>", eos_token: "<eos>" } },
  { name: "phi3", ollama: "library/phi3:3.8b", vars: { bos_token: "<s>", eos_token: "<|endoftext|>" } },
  { name: "phi3.5", ollama: "library/phi3.5:3.8b", vars: { bos_token: "<s>", eos_token: "<|endoftext|>" } },
  { name: "smollm2", ollama: "library/smollm2:135m", vars: { bos_token: "<|im_start|>", eos_token: "<|im_end|>" } },
];

function familyTemplate(f) {
  if (f.gguf) {
    const g = ggufFamily(f.gguf);
    return { template: g.template, vars: g.vars, model: g.model };
  }
  const t = OLLAMA.get(f.ollama);
  assert.ok(t, `template of ${f.ollama} not found in @huggingface/ollama-utils`);
  return { template: t, vars: f.vars ?? {} };
}

function casesOf(f, base) {
  const cases = [];
  for (const [cname, messages] of Object.entries(CONVS)) {
    for (const gen of [true, false]) {
      const thinking = f.thinking ? [undefined, true, false] : [undefined];
      for (const th of thinking) {
        const vars = { messages, add_generation_prompt: gen, ...base };
        if (th !== undefined) vars.enable_thinking = th;
        cases.push({ name: `${f.name}/${cname}/gen=${gen}${th === undefined ? "" : "/thinking=" + th}`, vars });
      }
    }
  }
  if (f.tools) {
    for (const gen of [true, false])
      cases.push({ name: `${f.name}/tools/gen=${gen}`, vars: { ...TOOLS, add_generation_prompt: gen, ...base } });
  }
  if (f.date) {
    cases.push({ name: `${f.name}/date_string`, vars: { messages: CONVS.system_user, add_generation_prompt: true, date_string: "03 Feb 2025", ...base } });
    cases.push({ name: `${f.name}/tools_date`, vars: { ...TOOLS, add_generation_prompt: true, date_string: "29 Feb 2024", ...base } });
  }
  return cases;
}

for (const f of FAMILIES) {
  test(`official ${f.name} template renders like @huggingface/jinja`, () => {
    const { template, vars, model } = familyTemplate(f);
    const diffs = [];
    let rendered = 0;
    for (const c of casesOf(f, vars)) {
      const d = compare(c.name, template, c.vars);
      if (d) diffs.push(d);
      if (reference(template, c.vars).ok) rendered++;
    }
    // The GGUF path (template and BOS/EOS read by hearth from the model file) must agree too.
    if (model) {
      for (const c of casesOf(f, vars).slice(0, 6)) {
        const d = compare(c.name + " (from GGUF)", template, c.vars, { model });
        if (d) diffs.push(d);
      }
    }
    assert.ok(rendered >= 10, `only ${rendered} cases rendered by the reference: the test would prove little`);
    assert.deepEqual(diffs, []);
  });
}

test("llama.cpp reference chat prompts are reproduced from the GGUF templates", () => {
  let n = 0;
  for (const model of ["tiny-qwen2-q4_0", "tiny-qwen2-q8_0", "tiny-qwen2-f16", "tiny-qwen3-q8_0", "tiny-qwen3-q4_k_m"]) {
    const lines = fs.readFileSync(path.join(TESTDATA, "reference/llama.cpp", `${model}.jsonl`), "utf8").split("\n");
    for (const line of lines) {
      if (!line.trim()) continue;
      const r = JSON.parse(line);
      if (r.kind !== "chat") continue;
      const vars = { messages: r.messages, ...r.chat_vars };
      const got = hearth({ model: path.join(TESTDATA, "models", `${model}.gguf`), vars: { ...vars, bos_token: undefined, eos_token: undefined } });
      assert.ok(got.ok, `${model}/${r.case}: ${got.err}`);
      assert.equal(got.out.toString("utf8"), r.rendered, `${model}/${r.case}`);
      n++;
    }
  }
  assert.equal(n, 3 * 3 + 2 * 4);
});

test("every template in @huggingface/ollama-utils renders like @huggingface/jinja", () => {
  const convs = ["user_only", "system_user", "multi_turn", "multi_turn_no_system", "unicode", "template_like"];
  const diffs = [];
  let rendered = 0, total = 0;
  for (const [model, template] of OLLAMA) {
    const base = { bos_token: "<s>", eos_token: "</s>" };
    for (const cname of convs) {
      for (const gen of [true, false]) {
        const vars = { messages: CONVS[cname], add_generation_prompt: gen, ...base };
        const d = compare(`${model}/${cname}/gen=${gen}`, template, vars);
        total++;
        if (d) diffs.push(d);
        else if (reference(template, vars).ok) rendered++;
      }
    }
  }
  assert.ok(OLLAMA.size >= 80, `only ${OLLAMA.size} templates`);
  assert.ok(rendered > total / 2, `only ${rendered}/${total} rendered`);
  assert.deepEqual(diffs, []);
});

test("family fallback formats equal the official templates on conversations they accept", () => {
  const map = [
    ["chatml", "library/smollm2:135m", ["system_user", "multi_turn", "unicode", "template_like", "whitespace", "long"]],
    ["llama3", "library/llama3:8b", Object.keys(CONVS).filter((c) => c !== "parts_content")],
    ["llama2", "library/llama2:7b", ["user_only", "system_user", "multi_turn", "multi_turn_no_system", "unicode", "whitespace", "long"]],
    ["mistral", "library/mistral:7b-instruct-fp16", ["user_only", "multi_turn_no_system", "assistant_last", "thinking_history"]],
    ["gemma", "library/gemma2:2b", ["user_only", "multi_turn_no_system", "assistant_last", "thinking_history", "whitespace"].filter((c) => CONVS[c][0].role !== "system")],
    ["phi3", "library/phi3:3.8b", Object.keys(CONVS).filter((c) => c !== "parts_content")],
  ];
  const diffs = [];
  for (const [family, model, convs] of map) {
    const fam = FAMILIES.find((f) => f.ollama === model);
    const base = fam?.vars ?? {};
    for (const cname of convs) {
      for (const gen of [true, false]) {
        const vars = { messages: CONVS[cname], add_generation_prompt: gen, ...base };
        const ref = reference(OLLAMA.get(model), vars);
        assert.ok(ref.ok, `${model}/${cname}: ${ref.err}`);
        const got = hearth({ family, vars, noFallback: false });
        assert.ok(got.ok, got.err);
        if (!got.out.equals(ref.out))
          diffs.push(`${family}/${cname}/gen=${gen}\n  fallback:  ${JSON.stringify(got.out.toString())}\n  reference: ${JSON.stringify(ref.out.toString())}`);
      }
    }
  }
  assert.deepEqual(diffs, []);
});

test("a template that cannot run falls back to its family, and says so", () => {
  const vars = { messages: CONVS.multi_turn, add_generation_prompt: true };
  const tmpl = "{% raw %}<|im_start|>{% endraw %}";
  const got = hearth({ template: tmpl, vars, noFallback: false });
  assert.ok(got.ok, got.err);
  assert.match(got.err, /unsupported statement 'raw'.*chatml/);
  assert.equal(got.out.toString(), hearth({ family: "chatml", vars, noFallback: false }).out.toString());
  const strict = hearth({ template: tmpl, vars });
  assert.ok(!strict.ok);
  assert.match(strict.err, /jinja: unsupported statement 'raw' at line 1 col 1/);
});

test("raise_exception in a template is an error naming the message", () => {
  const tmpl = OLLAMA.get("library/llama2:7b");
  const vars = { messages: CONVS.bad_alternation, add_generation_prompt: true, bos_token: "<s>", eos_token: "</s>" };
  assert.match(reference(tmpl, vars).err, /Conversation roles must alternate/);
  const got = hearth({ template: tmpl, vars, noFallback: false });
  assert.ok(!got.ok);
  assert.match(got.err, /Conversation roles must alternate user\/assistant\/user\/assistant/);
});

test("the C interpreter tests' expectations (tests/data/chat/jinja_cases.json) are @huggingface/jinja's", () => {
  const cases = JSON.parse(fs.readFileSync(path.join(ROOT, "tests/data/chat/jinja_cases.json"), "utf8"));
  assert.ok(cases.length >= 50);
  for (const c of cases) {
    const ref = reference(c.template, c.vars);
    if (c.error !== undefined) assert.ok(!ref.ok, `${c.name}: the reference renders ${JSON.stringify(ref.out?.toString())}`);
    else assert.equal(ref.ok && ref.out.toString("utf8"), c.expected, `${c.name}: ${ref.err ?? ""}`);
  }
});
