// argmax.wgsl — greedy token: the index of the largest logit (ties -> lowest index), in two
// dispatches of this kernel: PARTIAL = true reduces chunks of CHUNK logits into (value, index)
// pairs; PARTIAL = false reduces those pairs in one workgroup and writes the id to
// TOK[P.out_slot] (and HIST[P.hist_pos], the context history the sampler's penalties read).
//
// Bindings (group 0):
//   0 P     uniform  Params
//   1 L     storage, read        array<f32>        logits (PARTIAL) at P.l_off
//   2 PART  storage, read_write  array<vec2<u32>>  (value bits, index) per chunk
//   3 TOK   storage, read_write  array<u32>        sampled ids
//   4 HIST  storage, read_write  array<u32>        token history
// Grid: PARTIAL: (ceil(n / CHUNK), 1, 1); final: (1, 1, 1).

struct Params { n: u32, l_off: u32, out_slot: u32, hist_pos: u32, }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> L: array<f32>;
@group(0) @binding(2) var<storage, read_write> PART: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read_write> TOK: array<u32>;
@group(0) @binding(4) var<storage, read_write> HIST: array<u32>;

override PARTIAL: bool = true;
override WG: u32 = 256u;
override CHUNK: u32 = 4096u;

var<workgroup> rv: array<f32, WG>;
var<workgroup> ri: array<u32, WG>;

fn better(v: f32, i: u32, bv: f32, bi: u32) -> bool {
    return v > bv || (v == bv && i < bi);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    var bv = -3.4e38;
    var bi = 0xFFFFFFFFu;
    if (PARTIAL) {
        let lo = wid.x * CHUNK;
        let hi = min(lo + CHUNK, P.n);
        for (var i = lo + tid; i < hi; i += WG) {
            let v = L[P.l_off + i];
            if (better(v, i, bv, bi)) { bv = v; bi = i; }
        }
    } else {
        for (var i = tid; i < P.n; i += WG) {
            let e = PART[i];
            let v = bitcast<f32>(e.x);
            if (better(v, e.y, bv, bi)) { bv = v; bi = e.y; }
        }
    }
    rv[tid] = bv;
    ri[tid] = bi;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (tid < s && better(rv[tid + s], ri[tid + s], rv[tid], ri[tid])) {
            rv[tid] = rv[tid + s];
            ri[tid] = ri[tid + s];
        }
        workgroupBarrier();
    }
    if (tid == 0u) {
        if (PARTIAL) {
            PART[wid.x] = vec2<u32>(bitcast<u32>(rv[0]), ri[0]);
        } else {
            TOK[P.out_slot] = ri[0];
            HIST[P.hist_pos] = ri[0];
        }
    }
}
