// conformance.test.mjs — `hearth logits` against llama.cpp's reference logits for every model in
// ../shared/testdata (reference/llama.cpp/*.jsonl): greedy top-1 at every recorded position and
// the raw logits of llama.cpp's top-10 (steps) / top-5 (prompt positions) within a tolerance per
// model class (see TOLERANCE below and docs/TESTING.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const data = process.env.HEARTH_TESTDATA || join(root, '..', 'shared', 'testdata');
const bin = process.env.HEARTH_BIN || join(root, 'build', 'hearth');
const backend = process.env.HEARTH_BACKEND || 'cpu';

// Max |our logit - llama.cpp's logit| on llama.cpp's top tokens. The testdata README (§3) measured
// llama.cpp against an exact float64 implementation: <= 3e-6 for F32 models, <= 0.0042 for F16,
// <= 0.15 for quantized ones (llama.cpp quantizes activations to 8 bits, as we do, but with its
// own rounding and its F16 activation copies). Our tolerance: a few times those gaps, and always
// far below the top-1 margins (median 5-22 logits) so a wrong implementation cannot pass.
const TOLERANCE = {
  'stories260K': 2e-4,          // F32 trained model: float summation order only
  'tiny-llama-f32': 2e-4,
  'tiny-llama-f16': 0.02,       // we multiply F16 weights with F32 activations; llama.cpp with F16
  'tiny-qwen2-f16': 0.15,       // F16 layers + Q4_0 embedding
  default: 0.25,                // quantized weights (8-bit activation rounding differs)
};

function refModels() {
  const dir = join(data, 'reference', 'llama.cpp');
  return readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => f.replace(/\.jsonl$/, ''));
}

function runLogits(model, ids, top) {
  const out = execFileSync(bin, ['logits', join(data, 'models', `${model}.gguf`), '--ids', ids.join(','),
    '--top', String(top), '--backend', backend], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return out.trim().split('\n').map((l) => JSON.parse(l));
}

const haveBin = existsSync(bin);
for (const model of haveBin ? refModels() : []) {
  test(`logits match llama.cpp: ${model}`, () => {
    const tol = TOLERANCE[model] ?? TOLERANCE.default;
    const lines = readFileSync(join(data, 'reference', 'llama.cpp', `${model}.jsonl`), 'utf8').trim().split('\n');
    let compared = 0, worst = 0;
    for (const line of lines) {
      const ref = JSON.parse(line);
      // teacher-force llama.cpp's own greedy tokens: prompt + the first 31 generated ids
      const ids = ref.prompt_ids.concat(ref.greedy_ids.slice(0, ref.n_gen - 1));
      const got = runLogits(model, ids, 10);
      assert.equal(got.length, ids.length);
      const check = (pos, refTop, argmax, margin, what) => {
        const row = new Map(got[pos].top.map(([id, l]) => [id, l]));
        // top-1: must agree unless llama.cpp's own margin is below our tolerance (near-ties)
        if (margin > 2 * tol) assert.equal(got[pos].top[0][0], argmax, `${ref.case} ${what} pos ${pos}: argmax`);
        for (const [id, logit] of refTop) {
          if (!row.has(id)) {
            // not in our top-10: only acceptable if it is at the edge of llama.cpp's list
            const last = got[pos].top[got[pos].top.length - 1][1];
            assert.ok(logit <= last + tol, `${ref.case} ${what} pos ${pos}: token ${id} (${logit}) missing from our top-10`);
            continue;
          }
          const d = Math.abs(row.get(id) - logit);
          worst = Math.max(worst, d);
          assert.ok(d <= tol, `${ref.case} ${what} pos ${pos}: token ${id} logit ${row.get(id)} vs llama.cpp ${logit} (tol ${tol})`);
          compared++;
        }
      };
      for (const st of ref.steps) if (st.top) check(st.pos, st.top, st.argmax, st.margin, `step ${st.step}`);
      for (const st of ref.steps) {
        // every step (also those without a recorded top list): greedy agreement beyond near-ties
        if (st.margin > 2 * tol) assert.equal(got[st.pos].top[0][0], st.argmax, `${ref.case} step ${st.step}: argmax`);
      }
      for (const pp of ref.prompt_positions || []) check(pp.pos, pp.top, pp.argmax, pp.margin, 'prompt');
    }
    assert.ok(compared > 100, `only ${compared} logits compared`);
    console.log(`${model}: ${compared} logits compared, max |diff| ${worst.toExponential(2)} (tolerance ${tol})`);
  });
}

test('hearth binary exists', { skip: haveBin ? false : `no ${bin}: run make first` }, () => {});
