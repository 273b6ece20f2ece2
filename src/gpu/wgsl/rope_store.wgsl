// rope_store.wgsl — after the fused QKV product: per token and head, optional per-head RMSNorm
// (qwen3 q_norm / k_norm), RoPE on q and k heads (pairs (2i, 2i+1), or (i, i + HD/2) with NEOX)
// with the (cos, sin) table of absolute positions, then q to Q and k, v into the KV cache at
// position P.pos0 + t (f32, or f16 pairs packed with pack2x16float when KV_F16).
//
// Bindings (group 0):
//   0 P    uniform  Params
//   1 QKV  storage, read        array<f32>        T rows of (NH + 2 NKV) * HD floats
//   2 QN   storage, read        array<f32>        q_norm weight (HD; unused unless NORM)
//   3 KN   storage, read        array<f32>        k_norm weight (HD; unused unless NORM)
//   4 CS   storage, read        array<vec2<f32>>  (cos, sin) of position p, pair i at p * HD/2 + i
//   5 Q    storage, read_write  array<f32>        T rows of NH * HD floats
//   6 KC   storage, read_write  array<u32>        K cache [NKV][n_ctx][HD] (f32 bits or f16 pairs)
//   7 VC   storage, read_write  array<u32>        V cache, same layout
// Grid: (NH + 2 NKV, T); one workgroup per (head, token).

struct Params { pos0: u32, n_ctx: u32, eps: f32, pad: u32, }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> QKV: array<f32>;
@group(0) @binding(2) var<storage, read> QN: array<f32>;
@group(0) @binding(3) var<storage, read> KN: array<f32>;
@group(0) @binding(4) var<storage, read> CS: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> Q: array<f32>;
@group(0) @binding(6) var<storage, read_write> KC: array<u32>;
@group(0) @binding(7) var<storage, read_write> VC: array<u32>;

override HD: u32;       // head dim (even)
override NH: u32;       // query heads
override NKV: u32;      // kv heads
override NEOX: bool = false;
override NORM: bool = false;
override KV_F16: bool = false;
override WG: u32 = 64u;

var<workgroup> v: array<f32, HD>;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let head = wid.x;
    let t = wid.y;
    let row = t * (NH + 2u * NKV) * HD + head * HD;
    let is_q = head < NH;
    let is_v = head >= NH + NKV;
    var scale = 1.0;
    if (NORM && !is_v) {
        var ss = 0.0;
        for (var i = tid; i < HD; i += WG) { let x = QKV[row + i]; ss += x * x; }
        red[tid] = ss;
        workgroupBarrier();
        for (var s = WG / 2u; s > 0u; s >>= 1u) {
            if (tid < s) { red[tid] += red[tid + s]; }
            workgroupBarrier();
        }
        scale = inverseSqrt(red[0] / f32(HD) + P.eps);
    }
    let half = HD / 2u;
    let pos = P.pos0 + t;
    for (var i = tid; i < half; i += WG) {
        var a = 2u * i;
        var b = 2u * i + 1u;
        if (NEOX) { a = i; b = i + half; }
        var x0 = QKV[row + a];
        var x1 = QKV[row + b];
        if (!is_v) {
            if (NORM) {
                if (is_q) { x0 = x0 * scale * QN[a]; x1 = x1 * scale * QN[b]; }
                else { x0 = x0 * scale * KN[a]; x1 = x1 * scale * KN[b]; }
            }
            let cs = CS[pos * half + i];
            let y0 = x0 * cs.x - x1 * cs.y;
            let y1 = x0 * cs.y + x1 * cs.x;
            x0 = y0;
            x1 = y1;
        }
        v[a] = x0;
        v[b] = x1;
    }
    workgroupBarrier();
    if (is_q) {
        let o = t * NH * HD + head * HD;
        for (var i = tid; i < HD; i += WG) { Q[o + i] = v[i]; }
        return;
    }
    var kvh = head - NH;
    if (is_v) { kvh = head - NH - NKV; }
    let base = (kvh * P.n_ctx + pos) * HD;
    if (KV_F16) {
        for (var i = tid; i < half; i += WG) {
            let w = pack2x16float(vec2<f32>(v[2u * i], v[2u * i + 1u]));
            if (is_v) { VC[base / 2u + i] = w; } else { KC[base / 2u + i] = w; }
        }
    } else {
        for (var i = tid; i < HD; i += WG) {
            let w = bitcast<u32>(v[i]);
            if (is_v) { VC[base + i] = w; } else { KC[base + i] = w; }
        }
    }
}
