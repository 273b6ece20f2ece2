// cpu_bench.mjs — Hearth against llama.cpp on the CPU: the same GGUF files (made by
// `hearth synth`), the same thread count, prefill (a 512-token prompt in one batch) and decode
// (128 single-token steps), alternating the two engines run by run so that machine noise hits
// both alike. Prints a table of medians and ratios (hearth / llama.cpp) and writes the raw runs
// to build/bench/cpu.json.
//
//   node bench/cpu_bench.mjs [--threads N] [--runs R] [-p 512] [-n 128] [--models a:type,b:type]
//
// Baseline: llama.cpp through node-llama-cpp@3.21.1 (bench/llamacpp_bench.mjs, its own perf
// counters). Hearth: `build/hearth bench --json` (wall clock around the same work).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const threads = Number(opt('--threads', String(cpus().length)));
const runs = Number(opt('--runs', '5'));
const p = Number(opt('-p', '512'));
const n = Number(opt('-n', '128'));
const models = opt('--models', 'qwen2.5-0.5b:q4_0,llama-3.2-1b:q4_k_m').split(',').map((s) => s.split(':'));
const hearth = join(root, 'build', 'hearth');
const dir = join(root, 'build', 'bench-models');
mkdirSync(dir, { recursive: true });
mkdirSync(join(root, 'build', 'bench'), { recursive: true });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = [];
for (const [like, type] of models) {
  const file = join(dir, `${like}-${type}.gguf`);
  if (!existsSync(file)) execFileSync(hearth, ['synth', '--like', like, '--type', type, '-o', file], { stdio: 'inherit' });
  const h = { prefill: [], decode: [], rss: [] }, l = { prefill: [], decode: [] };
  for (let r = 0; r < runs; r++) {
    const hj = JSON.parse(execFileSync(hearth, ['bench', file, '-t', String(threads), '-p', String(p), '-n', String(n),
      '--reps', '1', '--json'], { encoding: 'utf8' }));
    h.prefill.push(hj.prefill_tok_s);
    h.decode.push(hj.decode_tok_s);
    h.rss.push(hj.peak_rss_bytes);
    h.kv = hj.kv_cache_bytes;
    h.simd = hj.simd;
    const lj = JSON.parse(execFileSync('node', [join(root, 'bench', 'llamacpp_bench.mjs'), file, '-t', String(threads),
      '-p', String(p), '-n', String(n), '--reps', '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    l.prefill.push(lj.prefill_tok_s);
    l.decode.push(lj.decode_tok_s);
    l.variant = lj.build?.cpu_variant ?? lj.build?.variant ?? '';
    process.stderr.write(`${like} ${type} run ${r + 1}/${runs}: hearth ${hj.prefill_tok_s.toFixed(1)} / ${hj.decode_tok_s.toFixed(1)}` +
      `, llama.cpp ${lj.prefill_tok_s.toFixed(1)} / ${lj.decode_tok_s.toFixed(1)} tok/s\n`);
  }
  const size = statSync(file).size;
  results.push({
    model: `${like} ${type}`, file_bytes: size, threads, prompt_tokens: p, decode_tokens: n, runs,
    hearth: { prefill_tok_s: median(h.prefill), decode_tok_s: median(h.decode), peak_rss_bytes: Math.max(...h.rss),
      kv_cache_bytes: h.kv, simd: h.simd, runs: h },
    llama_cpp: { prefill_tok_s: median(l.prefill), decode_tok_s: median(l.decode), variant: l.variant, runs: l },
  });
}

const f1 = (x) => x.toFixed(1);
console.log(`\nCPU, ${threads} threads, prefill ${p} / decode ${n} tokens, median of ${runs} alternating runs\n`);
console.log('| model | hearth prefill | llama.cpp prefill | ratio | hearth decode | llama.cpp decode | ratio | peak RSS (MiB) | file + KV + 64 MiB |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const mib = (b) => (b / 1048576).toFixed(0);
  console.log(`| ${r.model} | ${f1(r.hearth.prefill_tok_s)} | ${f1(r.llama_cpp.prefill_tok_s)} | ` +
    `${(r.hearth.prefill_tok_s / r.llama_cpp.prefill_tok_s).toFixed(2)}x | ${f1(r.hearth.decode_tok_s)} | ` +
    `${f1(r.llama_cpp.decode_tok_s)} | ${(r.hearth.decode_tok_s / r.llama_cpp.decode_tok_s).toFixed(2)}x | ` +
    `${mib(r.hearth.peak_rss_bytes)} | ${mib(r.file_bytes + r.hearth.kv_cache_bytes + 64 * 1048576)} |`);
}
writeFileSync(join(root, 'build', 'bench', 'cpu.json'), JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
