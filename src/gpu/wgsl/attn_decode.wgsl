// attn_decode.wgsl — attention of one query token over the KV cache (split-K / flash-decoding):
// workgroup (c, h) covers positions [c * CHUNK, min((c + 1) * CHUNK, P.n_pos)) for query head h
// (KV head h / (NH / NKV)); scores q.k / sqrt(HD), softmax within the chunk. With one chunk
// the normalized output goes to O; otherwise (max, sum, unnormalized acc) go to PART and
// attn_reduce.wgsl combines them.
//
// Bindings (group 0):
//   0 P     uniform  Params
//   1 Q     storage, read        array<f32>  NH * HD floats (roped)
//   2 KC    storage, read        array<u32>  K cache [NKV][n_ctx][HD] (f32 bits or f16 pairs)
//   3 VC    storage, read        array<u32>  V cache, same layout
//   4 O     storage, read_write  array<f32>  NH * HD floats (one chunk)
//   5 PART  storage, read_write  array<f32>  [NH][n_chunks][HD + 2] (several chunks)
// Grid: (n_chunks, NH).

struct Params { n_pos: u32, n_ctx: u32, n_chunks: u32, scale: f32, }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> KC: array<u32>;
@group(0) @binding(3) var<storage, read> VC: array<u32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;
@group(0) @binding(5) var<storage, read_write> PART: array<f32>;

override HD: u32;
override NH: u32;
override NKV: u32;
override KV_F16: bool = false;
override CHUNK: u32 = 256u;
override WG: u32 = 128u;
override NG: u32 = WG / HD;       // thread groups splitting positions in the V pass (WG >= HD)
override ACC_LEN: u32 = NG * HD;

var<workgroup> q: array<f32, HD>;
var<workgroup> s: array<f32, CHUNK>;
var<workgroup> red: array<f32, WG>;
var<workgroup> acc: array<f32, ACC_LEN>;

fn kval(base: u32, d: u32) -> f32 {
    if (KV_F16) { return unpack2x16float(KC[(base + d) >> 1u])[d & 1u]; }
    return bitcast<f32>(KC[base + d]);
}

fn vval(base: u32, d: u32) -> f32 {
    if (KV_F16) { return unpack2x16float(VC[(base + d) >> 1u])[d & 1u]; }
    return bitcast<f32>(VC[base + d]);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let c = wid.x;
    let h = wid.y;
    let kvh = h / (NH / NKV);
    for (var d = tid; d < HD; d += WG) { q[d] = Q[h * HD + d] * P.scale; }
    workgroupBarrier();
    let p0 = c * CHUNK;
    let n = min(CHUNK, P.n_pos - p0);
    var m = -3.0e38;
    for (var j = tid; j < n; j += WG) {
        let base = (kvh * P.n_ctx + p0 + j) * HD;
        var sc = 0.0;
        if (KV_F16) {
            for (var d = 0u; d < HD; d += 2u) {
                let k2 = unpack2x16float(KC[(base + d) >> 1u]);
                sc += q[d] * k2.x + q[d + 1u] * k2.y;
            }
        } else {
            for (var d = 0u; d < HD; d += 1u) { sc += q[d] * bitcast<f32>(KC[base + d]); }
        }
        s[j] = sc;
        m = max(m, sc);
    }
    red[tid] = m;
    workgroupBarrier();
    for (var st = WG / 2u; st > 0u; st >>= 1u) {
        if (tid < st) { red[tid] = max(red[tid], red[tid + st]); }
        workgroupBarrier();
    }
    let mx = red[0];
    workgroupBarrier();
    var l = 0.0;
    for (var j = tid; j < n; j += WG) {
        let e = exp(s[j] - mx);
        s[j] = e;
        l += e;
    }
    red[tid] = l;
    workgroupBarrier();
    for (var st = WG / 2u; st > 0u; st >>= 1u) {
        if (tid < st) { red[tid] += red[tid + st]; }
        workgroupBarrier();
    }
    let sum = red[0];
    // V pass: thread (g, d) sums positions j = g, g + NG, ...
    let g = tid / HD;
    let d = tid % HD;
    if (g < NG) {
        var a = 0.0;
        for (var j = g; j < n; j += NG) {
            a += s[j] * vval((kvh * P.n_ctx + p0 + j) * HD, d);
        }
        acc[g * HD + d] = a;
    }
    workgroupBarrier();
    if (tid < HD) {
        var a = 0.0;
        for (var gg = 0u; gg < NG; gg++) { a += acc[gg * HD + tid]; }
        if (P.n_chunks == 1u) {
            O[h * HD + tid] = a / sum;
        } else {
            let pb = (h * P.n_chunks + c) * (HD + 2u);
            PART[pb + tid] = a;
            if (tid == 0u) { PART[pb + HD] = mx; PART[pb + HD + 1u] = sum; }
        }
    }
}
