// llamacpp_bench.mjs — the llama.cpp baseline: prefill and decode speed of a GGUF on the CPU through
// node-llama-cpp@3.21.1 (its prebuilt llama.cpp; the CPU variant, e.g. zen4 / AVX-512, is chosen
// by ggml at load time), and through llama.cpp's C API on the same library when
// build/bench/llamacpp_capi exists (make bench-llamacpp). Prints one JSON object.
//
//   node bench/llamacpp_bench.mjs MODEL.gguf [-t THREADS] [-p 512] [-n 128] [--reps 3]
//
// prefill: p prompt tokens evaluated as ONE batch (batchSize = n_batch = n_ubatch = p) in a fresh
//          context, logits for the last token only (like llama-bench's pp test).
// decode:  after a short prompt (16 tokens), n single-token evaluations, each computing the logits
//          and taking the greedy next token, fed back (like generation; llama-bench's tg test).
// node_prefill_tok_s / node_decode_tok_s come from llama.cpp's own counters (llama_perf_context:
// time spent in llama_decode); *_wall_tok_s are wall clock around the JS calls (they also include
// node-llama-cpp's per-call overhead). Model load and context creation are excluded; medians over
// --reps after one untimed warm-up run.
// prefill_tok_s / decode_tok_s, the baseline, are the FASTER of node-llama-cpp and the C API for
// each (see *_source): on a 2-core machine node-llama-cpp's 2-thread decode measured ~2x slower
// than the same library driven from C, because node's own thread (sampling, JS) competes with
// llama.cpp's spinning worker threads; with 1 thread both agree.
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import { readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import os from 'node:os';

function usage(code) {
  const text = `usage: node bench/llamacpp_bench.mjs MODEL.gguf [options]
  -t, --threads N     threads (default: number of CPUs = ${os.availableParallelism?.() ?? os.cpus().length})
  -p, --prompt N      prompt tokens evaluated in one batch for prefill (default 512)
  -n, --gen N         tokens decoded one at a time (default 128)
  -r, --reps N        timed repetitions, median reported (default 3)
  --flash-attn MODE   auto | on | off (default auto, llama.cpp's default)
  --no-warmup         skip the untimed warm-up runs
  --no-c-api          do not run build/bench/llamacpp_capi even if it exists
  -v, --verbose       print llama.cpp logs and per-run times to stderr
Prints one JSON object: {prefill_tok_s, decode_tok_s, threads, ...}.`;
  (code ? console.error : console.log)(text);
  process.exit(code);
}

function parseArgs(argv) {
  const o = { model: null, threads: os.availableParallelism?.() ?? os.cpus().length, p: 512, n: 128, reps: 3,
              flashAttn: 'auto', warmup: true, verbose: false, capi: true };
  const num = (i, name) => {
    const v = Number(argv[i]);
    if (!Number.isInteger(v) || v < 1) { console.error(`${name}: expected a positive integer, got '${argv[i]}'`); usage(2); }
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') usage(0);
    else if (a === '-t' || a === '--threads') o.threads = num(++i, a);
    else if (a === '-p' || a === '--prompt') o.p = num(++i, a);
    else if (a === '-n' || a === '--gen') o.n = num(++i, a);
    else if (a === '-r' || a === '--reps') o.reps = num(++i, a);
    else if (a === '--flash-attn') {
      o.flashAttn = argv[++i];
      if (!['auto', 'on', 'off'].includes(o.flashAttn)) usage(2);
    } else if (a === '--no-warmup') o.warmup = false;
    else if (a === '--no-c-api') o.capi = false;
    else if (a === '-v' || a === '--verbose') o.verbose = true;
    else if (a.startsWith('-') || o.model) { console.error(`unknown argument '${a}'`); usage(2); }
    else o.model = a;
  }
  if (!o.model) usage(2);
  return o;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// llama_perf_context_print lines, e.g.
// "llama_perf_context_print: prompt eval time =  123.45 ms /   512 tokens (...)"
function parsePerf(lines) {
  const out = {};
  for (const l of lines) {
    let m = l.match(/prompt eval time\s*=\s*([\d.]+) ms\s*\/\s*(\d+) tokens/);
    if (m) out.prompt_eval = { ms: Number(m[1]), tokens: Number(m[2]) };
    m = l.match(/\beval time\s*=\s*([\d.]+) ms\s*\/\s*(\d+) runs/);
    if (m && !l.includes('prompt eval')) out.eval = { ms: Number(m[1]), runs: Number(m[2]) };
  }
  return out;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const logs = [];
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    maxThreads: 0, // no cap: the context's thread count is used as given
    logLevel: LlamaLogLevel.debug,
    logger: (level, message) => {
      logs.push(message);
      if (o.verbose) process.stderr.write(`[llama.cpp] ${message}${message.endsWith('\n') ? '' : '\n'}`);
    },
  });
  const model = await llama.loadModel({ modelPath: o.model, gpuLayers: 0 });

  // Prompt tokens: a real text, tokenized and repeated to length (token identity does not matter
  // for speed, but valid ids keep the model's numerics ordinary).
  const text = 'The quick brown fox jumps over the lazy dog while the hearth keeps the house warm. ' +
               'Language models predict the next token from the previous ones; speed depends on shapes. ';
  let base = model.tokenize(text.repeat(8));
  if (base.length === 0) base = [model.tokens.bos ?? 1];
  const tokens = (len) => Array.from({ length: len }, (_, i) => base[i % base.length]);

  const ctxOptions = (batch) => ({
    contextSize: o.p + o.n + 32,
    batchSize: batch,
    sequences: 1,
    threads: { ideal: o.threads, min: o.threads },
    flashAttention: o.flashAttn === 'auto' ? 'auto' : o.flashAttn === 'on',
    performanceTracking: true,
  });

  // printTimings prints llama.cpp's counters through the logger and resets them; the log lines may
  // arrive asynchronously, so wait (up to 2 s) for the last one ("total time").
  const perfOf = async (ctx) => {
    const start = logs.length;
    await ctx.printTimings();
    for (let i = 0; i < 200 && !logs.slice(start).some((l) => /llama_perf_context_print:\s+total time/.test(l)); i++)
      await new Promise((r) => setTimeout(r, 10));
    return parsePerf(logs.slice(start).join('\n').split('\n'));
  };

  let threadsUsed = null, batchSizeUsed = null, contextSizeUsed = null, flashUsed = null;
  const prefillOnce = async () => {
    const ctx = await model.createContext(ctxOptions(o.p));
    threadsUsed = ctx.currentThreads;
    batchSizeUsed = ctx.batchSize;
    contextSizeUsed = ctx.contextSize;
    flashUsed = ctx.flashAttention;
    const seq = ctx.getSequence();
    const input = tokens(o.p).map((t, i) => (i === o.p - 1 ? [t, { generateNext: { token: true } }] : t));
    const t0 = performance.now();
    await seq.controlledEvaluate(input);
    const dt = (performance.now() - t0) / 1000;
    const perf = await perfOf(ctx);
    await ctx.dispose();
    if (batchSizeUsed < o.p) throw new Error(`context batch size ${batchSizeUsed} < prompt ${o.p}: not one batch`);
    if (perf.prompt_eval?.tokens !== o.p)
      throw new Error(`llama.cpp counted ${perf.prompt_eval?.tokens} prompt tokens, expected ${o.p}`);
    return { tok_s: o.p / (perf.prompt_eval.ms / 1000), wall_tok_s: o.p / dt, perf };
  };

  const decodeOnce = async () => {
    const ctx = await model.createContext(ctxOptions(Math.max(16, Math.min(o.p, 512))));
    const seq = ctx.getSequence();
    const prompt = tokens(16);
    let res = await seq.controlledEvaluate(prompt.map((t, i) => (i === 15 ? [t, { generateNext: { token: true } }] : t)));
    let next = res[15]?.next?.token ?? prompt[0];
    await perfOf(ctx); // resets llama.cpp's counters after the prompt
    const t0 = performance.now();
    for (let i = 0; i < o.n; i++) {
      res = await seq.controlledEvaluate([[next, { generateNext: { token: true } }]]);
      next = res[0]?.next?.token ?? prompt[i % 16];
    }
    const dt = (performance.now() - t0) / 1000;
    const perf = await perfOf(ctx);
    await ctx.dispose();
    if (perf.eval?.runs !== o.n) throw new Error(`llama.cpp counted ${perf.eval?.runs} single-token evals, expected ${o.n}`);
    return { tok_s: o.n / (perf.eval.ms / 1000), wall_tok_s: o.n / dt, perf };
  };

  if (o.warmup) {
    await prefillOnce();
    await decodeOnce();
  }
  const pre = [], dec = [];
  for (let r = 0; r < o.reps; r++) {
    pre.push(await prefillOnce());
    dec.push(await decodeOnce());
    if (o.verbose)
      console.error(`rep ${r}: prefill ${pre.at(-1).tok_s.toFixed(1)} tok/s (wall ${pre.at(-1).wall_tok_s.toFixed(1)}), ` +
                    `decode ${dec.at(-1).tok_s.toFixed(1)} tok/s (wall ${dec.at(-1).wall_tok_s.toFixed(1)})`);
  }

  // The same library through the C API (llama-bench's method), after node-llama-cpp is done.
  const buildInfo = {
    llama_cpp_release: llama.llamaCppRelease,
    build_type: llama.buildType,
    gpu: llama.gpu,
    system_info: llama.systemInfo,
  };
  await model.dispose();
  await llama.dispose();
  let capi = null;
  const capiBin = new URL('../build/bench/llamacpp_capi', import.meta.url);
  if (o.capi && existsSync(capiBin)) {
    const out = execFileSync(capiBin.pathname, [o.model, '-t', String(o.threads), '-p', String(o.p), '-n', String(o.n),
                                                '-r', String(o.reps)], { encoding: 'utf8' });
    capi = JSON.parse(out);
  }

  const variantLine = logs.join('\n').split('\n').find((l) => /load_backend: loaded CPU backend from/.test(l));
  const variant = variantLine?.match(/libggml-cpu-([\w-]+)\.so/)?.[1] ?? null;
  const pkg = JSON.parse(readFileSync(new URL('../node_modules/node-llama-cpp/package.json', import.meta.url), 'utf8'));
  const lastPerf = { prefill: pre.at(-1).perf, decode: dec.at(-1).perf };
  const result = {
    engine: 'llama.cpp',
    model: o.model,
    threads: o.threads,
    threads_used: threadsUsed,
    prompt_tokens: o.p,
    gen_tokens: o.n,
    reps: o.reps,
    prefill_tok_s: null,
    decode_tok_s: null,
    prefill_source: null,
    decode_source: null,
    node_prefill_tok_s: median(pre.map((x) => x.tok_s)),
    node_decode_tok_s: median(dec.map((x) => x.tok_s)),
    capi_prefill_tok_s: capi?.prefill_tok_s ?? null,
    capi_decode_tok_s: capi?.decode_tok_s ?? null,
    prefill_wall_tok_s: median(pre.map((x) => x.wall_tok_s)),
    decode_wall_tok_s: median(dec.map((x) => x.wall_tok_s)),
    prefill_runs_tok_s: pre.map((x) => Number(x.tok_s.toFixed(2))),
    decode_runs_tok_s: dec.map((x) => Number(x.tok_s.toFixed(2))),
    llama_perf: lastPerf,
    context: { batch_size: batchSizeUsed, context_size: contextSizeUsed, flash_attention: flashUsed },
    build: {
      node_llama_cpp: pkg.version,
      llama_cpp_release: buildInfo.llama_cpp_release,
      build_type: buildInfo.build_type,
      gpu: buildInfo.gpu,
      cpu_variant: variant,
      system_info: buildInfo.system_info,
      cpu_model: os.cpus()[0]?.model ?? null,
    },
  };
  for (const k of ['prefill', 'decode']) {
    const viaC = result[`capi_${k}_tok_s`], viaNode = result[`node_${k}_tok_s`];
    const useC = viaC != null && viaC > viaNode;
    result[`${k}_tok_s`] = useC ? viaC : viaNode;
    result[`${k}_source`] = useC ? 'llama.cpp C API (build/bench/llamacpp_capi)' : 'node-llama-cpp (llama_perf counters)';
  }
  console.log(JSON.stringify(result, null, 2));
}

main().catch((e) => {
  console.error(`llamacpp_bench: ${e?.stack ?? e}`);
  process.exit(1);
});
