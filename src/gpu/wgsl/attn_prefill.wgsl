// attn_prefill.wgsl — causal attention for a batch of T query tokens at positions P.pos0 + t
// over the KV cache (which already holds their own K/V): flash-attention tiles of BQ queries x
// BK keys with an online softmax; query t sees keys [0, P.pos0 + t].
//
// Bindings (group 0):
//   0 P   uniform  Params
//   1 Q   storage, read        array<f32>  T rows of NH * HD floats (roped)
//   2 KC  storage, read        array<u32>  K cache [NKV][n_ctx][HD] (f32 bits or f16 pairs)
//   3 VC  storage, read        array<u32>  V cache, same layout
//   4 O   storage, read_write  array<f32>  T rows of NH * HD floats
// Grid: (ceil(T / BQ), NH); 256 threads: BQ x BK score threads, then BQ x (256 / BQ) output
// threads each holding HD / (256 / BQ) dims.

struct Params { pos0: u32, n_tok: u32, n_ctx: u32, scale: f32, }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> KC: array<u32>;
@group(0) @binding(3) var<storage, read> VC: array<u32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;

override HD: u32;
override NH: u32;
override NKV: u32;
override KV_F16: bool = false;
override BQ: u32 = 16u;           // queries per tile; BQ * BK = 256
override BK: u32 = 256u / BQ;
override TPQ: u32 = 256u / BQ;    // output threads per query
override DPT: u32 = (HD + TPQ - 1u) / TPQ; // dims per output thread (<= 16)
override QS_LEN: u32 = BQ * HD;
override KS_LEN: u32 = BK * HD;

var<workgroup> qs: array<f32, QS_LEN>;
var<workgroup> ks: array<f32, KS_LEN>;
var<workgroup> vs: array<f32, KS_LEN>;
var<workgroup> ss: array<f32, 256>;

fn cache(kv: bool, i: u32) -> f32 {
    if (KV_F16) {
        if (kv) { return unpack2x16float(VC[i >> 1u])[i & 1u]; }
        return unpack2x16float(KC[i >> 1u])[i & 1u];
    }
    if (kv) { return bitcast<f32>(VC[i]); }
    return bitcast<f32>(KC[i]);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let h = wid.y;
    let kvh = h / (NH / NKV);
    let t0 = wid.x * BQ;
    for (var i = tid; i < BQ * HD; i += 256u) {
        let t = min(t0 + i / HD, P.n_tok - 1u);
        qs[i] = Q[(t * NH + h) * HD + i % HD] * P.scale;
    }
    // output thread role
    let oq = tid / TPQ;
    let od = tid % TPQ;
    let qpos_o = P.pos0 + min(t0 + oq, P.n_tok - 1u);
    var m = -3.0e38;
    var l = 0.0;
    var acc: array<f32, 16>;
    for (var k = 0u; k < DPT; k++) { acc[k] = 0.0; }
    // score thread role
    let sq = tid / BK;
    let sk = tid % BK;
    let qpos_s = P.pos0 + min(t0 + sq, P.n_tok - 1u);
    let last = P.pos0 + min(t0 + BQ, P.n_tok) - 1u; // last key any query of the tile sees
    for (var k0 = 0u; k0 <= last; k0 += BK) {
        workgroupBarrier();
        for (var i = tid; i < BK * HD; i += 256u) {
            let kp = min(k0 + i / HD, last);
            let ci = (kvh * P.n_ctx + kp) * HD + i % HD;
            ks[i] = cache(false, ci);
            vs[i] = cache(true, ci);
        }
        workgroupBarrier();
        var sc = -3.0e38;
        if (k0 + sk <= qpos_s) {
            sc = 0.0;
            for (var d = 0u; d < HD; d++) { sc += qs[sq * HD + d] * ks[sk * HD + d]; }
        }
        ss[tid] = sc;
        workgroupBarrier();
        var mt = m;
        for (var j = 0u; j < BK; j++) { mt = max(mt, ss[oq * BK + j]); }
        let alpha = exp(m - mt);
        l *= alpha;
        for (var k = 0u; k < DPT; k++) { acc[k] *= alpha; }
        for (var j = 0u; j < BK; j++) {
            if (k0 + j > qpos_o) { break; }
            let p = exp(ss[oq * BK + j] - mt);
            l += p;
            for (var k = 0u; k < DPT; k++) {
                let d = od + k * TPQ;
                if (d < HD) { acc[k] += p * vs[j * HD + d]; }
            }
        }
        m = mt;
    }
    let t = t0 + oq;
    if (t < P.n_tok) {
        for (var k = 0u; k < DPT; k++) {
            let d = od + k * TPQ;
            if (d < HD) { O[(t * NH + h) * HD + d] = acc[k] / l; }
        }
    }
}
