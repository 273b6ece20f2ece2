// attn_prefill.wgsl — causal attention for a batch of T query tokens at positions P.pos0 + t
// over the KV cache (which already holds their own K/V): flash-attention tiles of BQ = 64
// queries x BK keys with an online softmax; query t sees keys [0, P.pos0 + t].
//
// Bindings (group 0):
//   0 P   uniform  Params
//   1 Q   storage, read        array<f32>  T rows of NH * HD floats (roped)
//   2 KC  storage, read        array<u32>  K cache [NKV][n_ctx][HD] (f32 bits or f16 pairs)
//   3 VC  storage, read        array<u32>  V cache, same layout
//   4 O   storage, read_write  array<f32>  T rows of NH * HD floats
// Grid: (ceil(T / 64), NH); 256 threads = 16 key lanes (tx) x 16 query lanes (ty). Per key tile:
//   scores  thread (tx, ty) computes queries 4 ty .. 4 ty + 3 x keys tx + 16 j (j < BK / 16),
//           over head-dim chunks of DC staged in workgroup memory (Q scaled, transposed);
//   softmax threads 0..63, one per query: running max m, sum l, the tile's exp(score - m);
//   P V     thread (tx, ty) accumulates queries 4 ty .. 4 ty + 3 x dims 4 (tx + 16 c) .. + 3.
// The Q/K chunks and the V tile share one workgroup region (KV_LEN vec4, set by the host).

struct Params { pos0: u32, n_tok: u32, n_ctx: u32, scale: f32, }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Q: array<f32>;
@group(0) @binding(2) var<storage, read> KC: array<u32>;
@group(0) @binding(3) var<storage, read> VC: array<u32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;

override HD: u32;                 // head dim, a multiple of 8
override NH: u32;
override NKV: u32;
override KV_F16: bool = false;
override BK: u32 = 32u;           // keys per tile: 16, 32 or 64
override DC: u32 = 32u;           // head dims per score chunk (divides HD, multiple of 4)
override KV_LEN: u32;             // >= max(BK * HD / 4, (DC * QSTR + DC * KSTR) / 4)
override QSTR: u32 = 68u;         // floats per staged Q dim row (64 queries + 4 of padding)
override KSTR: u32 = BK + 4u;     // floats per staged K dim row
override NJ: u32 = BK / 16u;      // keys per score thread
override HD4: u32 = HD / 4u;
override NC: u32 = (HD4 + 15u) / 16u; // dim vec4s per P V thread (<= 4)
override PS_LEN: u32 = BK * 16u;

var<workgroup> kv: array<vec4<f32>, KV_LEN>;
var<workgroup> ps: array<vec4<f32>, PS_LEN>; // [key][query / 4]
var<workgroup> alpha_s: array<f32, 64>;
var<workgroup> l_s: array<f32, 64>;

// Cache elements i, i + 1 (i even).
fn cache2(v: bool, i: u32) -> vec2<f32> {
    if (KV_F16) {
        if (v) { return unpack2x16float(VC[i >> 1u]); }
        return unpack2x16float(KC[i >> 1u]);
    }
    if (v) { return vec2<f32>(bitcast<f32>(VC[i]), bitcast<f32>(VC[i + 1u])); }
    return vec2<f32>(bitcast<f32>(KC[i]), bitcast<f32>(KC[i + 1u]));
}

fn sh_set(i: u32, x: f32) { kv[i >> 2u][i & 3u] = x; }
fn sh_get(i: u32) -> f32 { return kv[i >> 2u][i & 3u]; }

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let h = wid.y;
    let kvh = h / (NH / NKV);
    let t0 = wid.x * 64u;
    let tx = tid % 16u;
    let ty = tid / 16u;
    let last = P.pos0 + min(t0 + 64u, P.n_tok) - 1u; // last key any query of the tile sees
    let kbase = kvh * P.n_ctx;
    let qoff = DC * QSTR;
    var qpos: array<u32, 4>;
    for (var i = 0u; i < 4u; i++) { qpos[i] = P.pos0 + min(t0 + 4u * ty + i, P.n_tok - 1u); }
    var acc: array<vec4<f32>, 16>; // [query i][dim vec4 c] at 4 i + c
    for (var i = 0u; i < 16u; i++) { acc[i] = vec4<f32>(0.0); }
    var m = -3.0e38; // softmax state of query tid (threads 0..63)
    var l = 0.0;

    for (var k0 = 0u; k0 <= last; k0 += BK) {
        var s: array<array<f32, 4>, 4>; // [query i][key j]
        for (var i = 0u; i < 4u; i++) { for (var j = 0u; j < 4u; j++) { s[i][j] = 0.0; } }
        for (var d0 = 0u; d0 < HD; d0 += DC) {
            workgroupBarrier();
            for (var idx = tid; idx < 64u * (DC / 4u); idx += 256u) {
                let q = idx / (DC / 4u);
                let d4 = idx % (DC / 4u);
                let t = min(t0 + q, P.n_tok - 1u);
                let b = (t * NH + h) * HD + d0 + 4u * d4;
                for (var c = 0u; c < 4u; c++) { sh_set((4u * d4 + c) * QSTR + q, Q[b + c] * P.scale); }
            }
            for (var idx = tid; idx < BK * (DC / 2u); idx += 256u) {
                let k = idx / (DC / 2u);
                let d2 = idx % (DC / 2u);
                let kp = min(k0 + k, last);
                let v = cache2(false, (kbase + kp) * HD + d0 + 2u * d2);
                sh_set(qoff + 2u * d2 * KSTR + k, v.x);
                sh_set(qoff + (2u * d2 + 1u) * KSTR + k, v.y);
            }
            workgroupBarrier();
            for (var d = 0u; d < DC; d++) {
                let qv = kv[(d * QSTR) / 4u + ty];
                for (var j = 0u; j < NJ; j++) {
                    let kk = sh_get(qoff + d * KSTR + tx + 16u * j);
                    s[0][j] = fma(qv.x, kk, s[0][j]);
                    s[1][j] = fma(qv.y, kk, s[1][j]);
                    s[2][j] = fma(qv.z, kk, s[2][j]);
                    s[3][j] = fma(qv.w, kk, s[3][j]);
                }
            }
        }
        for (var j = 0u; j < NJ; j++) {
            let k = k0 + tx + 16u * j;
            var v = vec4<f32>(-3.0e38);
            for (var i = 0u; i < 4u; i++) { if (k <= qpos[i]) { v[i] = s[i][j]; } }
            ps[(tx + 16u * j) * 16u + ty] = v;
        }
        workgroupBarrier();
        // softmax of the tile (threads 0..63) while the others start on V
        if (tid < 64u) {
            let qq = tid / 4u;
            let qc = tid % 4u;
            var mt = m;
            for (var k = 0u; k < BK; k++) { mt = max(mt, ps[k * 16u + qq][qc]); }
            let a = exp(m - mt);
            l *= a;
            for (var k = 0u; k < BK; k++) {
                let p = exp(ps[k * 16u + qq][qc] - mt);
                ps[k * 16u + qq][qc] = p;
                l += p;
            }
            m = mt;
            alpha_s[tid] = a;
        }
        for (var idx = tid; idx < BK * HD4; idx += 256u) {
            let k = idx / HD4;
            let dv = idx % HD4;
            let kp = min(k0 + k, last);
            let b = (kbase + kp) * HD + 4u * dv;
            kv[k * HD4 + dv] = vec4<f32>(cache2(true, b), cache2(true, b + 2u));
        }
        workgroupBarrier();
        for (var i = 0u; i < 4u; i++) {
            let a = alpha_s[4u * ty + i];
            for (var c = 0u; c < NC; c++) { acc[4u * i + c] *= a; }
        }
        for (var j = 0u; j < BK; j++) {
            let p = ps[j * 16u + ty];
            for (var c = 0u; c < NC; c++) {
                let dv = tx + 16u * c;
                if (dv < HD4) {
                    let v = kv[j * HD4 + dv];
                    acc[c] = fma(vec4<f32>(p.x), v, acc[c]);
                    acc[4u + c] = fma(vec4<f32>(p.y), v, acc[4u + c]);
                    acc[8u + c] = fma(vec4<f32>(p.z), v, acc[8u + c]);
                    acc[12u + c] = fma(vec4<f32>(p.w), v, acc[12u + c]);
                }
            }
        }
    }
    workgroupBarrier();
    if (tid < 64u) { l_s[tid] = l; }
    workgroupBarrier();
    for (var i = 0u; i < 4u; i++) {
        let t = t0 + 4u * ty + i;
        if (t >= P.n_tok) { break; }
        let inv = 1.0 / l_s[4u * ty + i];
        for (var c = 0u; c < NC; c++) {
            let dv = tx + 16u * c;
            if (dv < HD4) {
                let o = ((t * NH + h) * HD) / 4u + dv;
                let r = acc[4u * i + c] * inv;
                O[4u * o] = r.x;
                O[4u * o + 1u] = r.y;
                O[4u * o + 2u] = r.z;
                O[4u * o + 3u] = r.w;
            }
        }
    }
}
