// attn_decode.wgsl — attention of one query token at position P.pos over the KV cache, with
// the token's own RoPE / KV store folded in (split-K / flash-decoding). Workgroup (c, y) covers
// positions [c * WG, min((c + 1) * WG, P.pos + 1)) for HPW of the G = NH / NKV query heads that
// share KV head g = y / (G / HPW) (head group y % (G / HPW)): it ropes (and, with NORM,
// RMS-normalizes) their q rows from the fused QKV output. The workgroups whose chunk holds P.pos
// also rope k and take k and v of P.pos from there (rounded as the cache stores them), and the
// first head group's stores them at P.pos (no workgroup reads that position from the cache).
// Scores q.k / sqrt(HD), softmax within the chunk, V summed for the HPW heads from one read of
// each V row. One chunk: the normalized output goes to O; several: (max, sum, unnormalized acc)
// go to PART for attn_reduce.wgsl.
//
// Bindings (group 0):
//   0 P     uniform  Params
//   1 QKV   storage, read        array<f32>        (NH + 2 NKV) * HD floats (q, k, v; unroped)
//   2 QN    storage, read        array<f32>        q_norm weight (HD; unused unless NORM)
//   3 KN    storage, read        array<f32>        k_norm weight (HD; unused unless NORM)
//   4 CS    storage, read        array<vec2<f32>>  (cos, sin) of position p, pair i at p * HD/2 + i
//   5 KC    storage, read_write  array<vec4<u32>>  K cache [NKV][n_ctx][HD] (f32 bits or f16 pairs)
//   6 VC    storage, read_write  array<vec4<u32>>  V cache, same layout
//   7 O     storage, read_write  array<u32>        NH * HD floats (f32 bits; one chunk), and with QS
//                                                   their q-stream at word P.qs (qs_out.wgsl)
//   8 PART  storage, read_write  array<f32>        [NH][n_chunks][HD + 2] (several chunks)
// Grid: (n_chunks, NKV * G / HPW).

struct Params { pos: u32, n_ctx: u32, n_chunks: u32, scale: f32, eps: f32, qs: u32, pad1: u32, pad2: u32, }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> QKV: array<f32>;
@group(0) @binding(2) var<storage, read> QN: array<f32>;
@group(0) @binding(3) var<storage, read> KN: array<f32>;
@group(0) @binding(4) var<storage, read> CS: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> KC: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read_write> VC: array<vec4<u32>>;
@group(0) @binding(7) var<storage, read_write> O: array<u32>;
@group(0) @binding(8) var<storage, read_write> PART: array<f32>;

override HD: u32;                 // head dim, multiple of 8 (f16 cache) or 4
override NH: u32;
override NKV: u32;
override NEOX: bool = false;
override NORM: bool = false;
override KV_F16: bool = false;
override QS: bool = false;        // also write the output as a q-stream (one chunk)
override KB: u32 = 8u;            // k row words loaded together in the score pass (1..16)
override WG: u32 = 128u;          // = positions per chunk; >= HD / 4
override G: u32 = NH / NKV;       // query heads per KV head (<= 16)
override HPW: u32 = G;            // query heads per workgroup (divides G)
override NHG: u32 = G / HPW;      // head groups per KV head
override Q_LEN: u32 = HPW * HD;
override S_LEN: u32 = HPW * WG;
override DPW: u32 = select(4u, 8u, KV_F16); // cache values per vec4<u32>
override TPP: u32 = HD / DPW;       // threads per position in the V pass
override NPG: u32 = WG / TPP;       // position groups of the V pass
override A_LEN: u32 = NPG * HD;

var<workgroup> q: array<f32, Q_LEN>;   // roped, scaled q of the HPW heads
var<workgroup> kv: array<f32, HD>;     // k of the new token (as the cache holds it)
var<workgroup> vv: array<f32, HD>;     // v of the new token (as the cache holds it)
var<workgroup> s: array<f32, S_LEN>;   // scores, then probabilities [HPW][WG]
var<workgroup> red: array<f32, WG>;
var<workgroup> acc: array<f32, A_LEN>;
var<workgroup> hstat: array<f32, 32>;  // per head: max, sum
var<workgroup> ov: array<f32, HD>;     // one head's output (QS)

// Ropes (and norms) the head row at QKV[row..row+HD) into dst via kv/q; done by all threads.
fn head_scale(row: u32, tid: u32, w_is_q: bool) -> f32 {
    if (!NORM) { return 1.0; }
    var ss = 0.0;
    for (var i = tid; i < HD; i += WG) { let x = QKV[row + i]; ss += x * x; }
    red[tid] = ss;
    workgroupBarrier();
    for (var st = WG / 2u; st > 0u; st >>= 1u) {
        if (tid < st) { red[tid] += red[tid + st]; }
        workgroupBarrier();
    }
    let r = inverseSqrt(red[0] / f32(HD) + P.eps);
    workgroupBarrier();
    return r;
}

fn rope_pair(i: u32) -> vec2<u32> {
    if (NEOX) { return vec2<u32>(i, i + HD / 2u); }
    return vec2<u32>(2u * i, 2u * i + 1u);
}

// The DPW cache values in one vec4<u32>.
fn cunpack(x: vec4<u32>) -> array<f32, 8> {
    var r: array<f32, 8>;
    if (KV_F16) {
        let a = unpack2x16float(x.x); let b = unpack2x16float(x.y);
        let c = unpack2x16float(x.z); let d = unpack2x16float(x.w);
        r = array<f32, 8>(a.x, a.y, b.x, b.y, c.x, c.y, d.x, d.y);
    } else {
        let f = bitcast<vec4<f32>>(x);
        r = array<f32, 8>(f.x, f.y, f.z, f.w, 0.0, 0.0, 0.0, 0.0);
    }
    return r;
}

// A value as the cache stores it.
fn cround(x: f32) -> f32 {
    if (KV_F16) { return unpack2x16float(pack2x16float(vec2<f32>(x, 0.0))).x; }
    return x;
}

// Values [DPW w, DPW w + DPW) of the V row of position p0 + j: the new token's from workgroup
// memory, the others' from the cache. (The score pass reads its k rows itself, in batches.)
fn v_vals(p0: u32, j: u32, g: u32, w: u32) -> array<f32, 8> {
    if (p0 + j == P.pos) {
        var r: array<f32, 8>;
        for (var e = 0u; e < DPW; e++) { r[e] = vv[w * DPW + e]; }
        return r;
    }
    return cunpack(VC[(g * P.n_ctx + p0 + j) * HD / DPW + w]);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let c = wid.x;
    let g = wid.y / NHG;
    let h0 = g * G + (wid.y % NHG) * HPW; // first query head of this workgroup
    let half = HD / 2u;
    let pos = P.pos;
    let cs_base = pos * half;
    // q of the HPW heads: norm, rope, scale
    for (var gi = 0u; gi < HPW; gi++) {
        let row = (h0 + gi) * HD;
        let sc = head_scale(row, tid, true);
        for (var i = tid; i < half; i += WG) {
            let ab = rope_pair(i);
            var x0 = QKV[row + ab.x] * sc;
            var x1 = QKV[row + ab.y] * sc;
            if (NORM) { x0 *= QN[ab.x]; x1 *= QN[ab.y]; }
            let cs = CS[cs_base + i];
            q[gi * HD + ab.x] = (x0 * cs.x - x1 * cs.y) * P.scale;
            q[gi * HD + ab.y] = (x0 * cs.y + x1 * cs.x) * P.scale;
        }
    }
    let p0 = c * WG;
    let n = min(WG, pos + 1u - p0);
    let kbase_new = (g * P.n_ctx + pos) * HD;
    if (pos >= p0 && pos < p0 + WG) {
        // this chunk holds the new token: rope k; k and v as the cache holds them; the first head
        // group stores them
        let krow = (NH + g) * HD;
        let sc = head_scale(krow, tid, false);
        let vrow = (NH + NKV + g) * HD;
        for (var i = tid; i < half; i += WG) {
            let ab = rope_pair(i);
            var x0 = QKV[krow + ab.x] * sc;
            var x1 = QKV[krow + ab.y] * sc;
            if (NORM) { x0 *= KN[ab.x]; x1 *= KN[ab.y]; }
            let cs = CS[cs_base + i];
            kv[ab.x] = cround(x0 * cs.x - x1 * cs.y);
            kv[ab.y] = cround(x0 * cs.y + x1 * cs.x);
            vv[ab.x] = cround(QKV[vrow + ab.x]);
            vv[ab.y] = cround(QKV[vrow + ab.y]);
        }
        workgroupBarrier();
        if (wid.y % NHG == 0u) {
            for (var w = tid; w < HD / DPW; w += WG) {
                let e = w * DPW;
                if (KV_F16) {
                    KC[kbase_new / 8u + w] = vec4<u32>(pack2x16float(vec2<f32>(kv[e], kv[e + 1u])),
                        pack2x16float(vec2<f32>(kv[e + 2u], kv[e + 3u])), pack2x16float(vec2<f32>(kv[e + 4u], kv[e + 5u])),
                        pack2x16float(vec2<f32>(kv[e + 6u], kv[e + 7u])));
                    VC[kbase_new / 8u + w] = vec4<u32>(pack2x16float(vec2<f32>(vv[e], vv[e + 1u])),
                        pack2x16float(vec2<f32>(vv[e + 2u], vv[e + 3u])), pack2x16float(vec2<f32>(vv[e + 4u], vv[e + 5u])),
                        pack2x16float(vec2<f32>(vv[e + 6u], vv[e + 7u])));
                } else {
                    KC[kbase_new / 4u + w] = bitcast<vec4<u32>>(vec4<f32>(kv[e], kv[e + 1u], kv[e + 2u], kv[e + 3u]));
                    VC[kbase_new / 4u + w] = bitcast<vec4<u32>>(vec4<f32>(vv[e], vv[e + 1u], vv[e + 2u], vv[e + 3u]));
                }
            }
        }
    }
    workgroupBarrier();

    // scores: thread j <-> position p0 + j, the HPW heads from one read of the k row
    if (tid < n) {
        var sc: array<f32, 16>;
        for (var gi = 0u; gi < HPW; gi++) { sc[gi] = 0.0; }
        // KB words of the row loaded before any is used: the loads are in flight together (one
        // at a time, the H100 took 16 instead of 12.5 us per layer on 8B; docs/BENCHMARKS.md)
        let own = p0 + tid == pos;
        let kb = (g * P.n_ctx + p0 + tid) * HD / DPW;
        for (var w0 = 0u; w0 < HD / DPW; w0 += KB) {
            var xw: array<vec4<u32>, 16>; // KB <= 16
            if (!own) {
                for (var b = 0u; b < KB; b++) {
                    if (w0 + b < HD / DPW) { xw[b] = KC[kb + w0 + b]; }
                }
            }
            for (var b = 0u; b < KB; b++) {
                let w = w0 + b;
                if (w >= HD / DPW) { break; }
                var k = cunpack(xw[b]);
                if (own) {
                    for (var e = 0u; e < DPW; e++) { k[e] = kv[w * DPW + e]; }
                }
                for (var gi = 0u; gi < HPW; gi++) {
                    let o = gi * HD + w * DPW;
                    for (var e = 0u; e < DPW; e++) { sc[gi] += k[e] * q[o + e]; }
                }
            }
        }
        for (var gi = 0u; gi < HPW; gi++) { s[gi * WG + tid] = sc[gi]; }
    }
    workgroupBarrier();
    // per head: max, exp, sum
    for (var gi = 0u; gi < HPW; gi++) {
        var m = -3.0e38;
        if (tid < n) { m = s[gi * WG + tid]; }
        red[tid] = m;
        workgroupBarrier();
        for (var st = WG / 2u; st > 0u; st >>= 1u) {
            if (tid < st) { red[tid] = max(red[tid], red[tid + st]); }
            workgroupBarrier();
        }
        let mx = red[0];
        workgroupBarrier();
        var e = 0.0;
        if (tid < n) { e = exp(s[gi * WG + tid] - mx); s[gi * WG + tid] = e; }
        red[tid] = e;
        workgroupBarrier();
        for (var st = WG / 2u; st > 0u; st >>= 1u) {
            if (tid < st) { red[tid] += red[tid + st]; }
            workgroupBarrier();
        }
        if (tid == 0u) { hstat[2u * gi] = mx; hstat[2u * gi + 1u] = red[0]; }
        workgroupBarrier();
    }
    // V: thread (pg, w) sums positions pg, pg + NPG, ... for its DPW dims, all heads
    let w = tid % TPP;
    let pg = tid / TPP;
    for (var gi = 0u; gi < HPW; gi++) {
        var a: array<f32, 8>;
        for (var e = 0u; e < DPW; e++) { a[e] = 0.0; }
        if (pg < NPG) {
            for (var j = pg; j < n; j += NPG) {
                let v = v_vals(p0, j, g, w);
                let pj = s[gi * WG + j];
                for (var e = 0u; e < DPW; e++) { a[e] += pj * v[e]; }
            }
            for (var e = 0u; e < DPW; e++) { acc[pg * HD + w * DPW + e] = a[e]; }
        }
        workgroupBarrier();
        let h = h0 + gi;
        for (var d = tid; d < HD; d += WG) {
            var t = 0.0;
            for (var k = 0u; k < NPG; k++) { t += acc[k * HD + d]; }
            if (P.n_chunks == 1u) {
                let o = t / hstat[2u * gi + 1u];
                O[h * HD + d] = bitcast<u32>(o);
                if (QS) { ov[d] = o; }
            } else {
                let pb = (h * P.n_chunks + c) * (HD + 2u);
                PART[pb + d] = t;
                if (d == 0u) { PART[pb + HD] = hstat[2u * gi]; PART[pb + HD + 1u] = hstat[2u * gi + 1u]; }
            }
        }
        workgroupBarrier();
        if (QS && P.n_chunks == 1u) {
            qs_write(tid, h, P.qs);
            workgroupBarrier();
        }
    }
}
