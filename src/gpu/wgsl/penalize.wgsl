// penalize.wgsl — the sampler's logit adjustments before sampling, in place, in the CPU
// sampler's order: logit bias (l[id] += bias), then for each distinct token among the last
// P.last tokens of the history: l = l > 0 ? l / repeat : l * repeat, then
// l -= count * frequency + presence. One workgroup.
//
// Bindings (group 0):
//   0 P     uniform  Params
//   1 HIST  storage, read        array<u32>  token history; the window is [P.end - P.last, P.end)
//   2 BIAS  storage, read        array<u32>  P.n_bias pairs (id, bias bits)
//   3 L     storage, read_write  array<f32>  logits at P.l_off
// Grid: (1, 1, 1).

struct Params {
    end: u32, last: u32, n_bias: u32, l_off: u32,
    repeat: f32, frequency: f32, presence: f32, n_vocab: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> HIST: array<u32>;
@group(0) @binding(2) var<storage, read> BIAS: array<u32>;
@group(0) @binding(3) var<storage, read_write> L: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32) {
    if (tid == 0u) {
        for (var i = 0u; i < P.n_bias; i++) {
            let id = BIAS[2u * i];
            if (id < P.n_vocab) { L[P.l_off + id] += bitcast<f32>(BIAS[2u * i + 1u]); }
        }
    }
    storageBarrier();
    workgroupBarrier();
    let start = P.end - P.last;
    for (var j = tid; j < P.last; j += WG) {
        let id = HIST[start + j];
        if (id >= P.n_vocab) { continue; }
        var first = true;
        for (var k = 0u; k < j; k++) {
            if (HIST[start + k] == id) { first = false; break; }
        }
        if (!first) { continue; }
        var count = 0u;
        for (var k = j; k < P.last; k++) {
            if (HIST[start + k] == id) { count++; }
        }
        var l = L[P.l_off + id];
        if (P.repeat != 1.0) {
            if (l > 0.0) { l = l / P.repeat; } else { l = l * P.repeat; }
        }
        l -= f32(count) * P.frequency + P.presence;
        L[P.l_off + id] = l;
    }
}
