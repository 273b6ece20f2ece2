// matmul_q.wgsl — Y[t][r] = W[r] . X[t] for a batch of T tokens (prefill) with quantized W (a
// wq_* module with wq_unit) and X quantized to int8 per 32 by quant_x: integer dot products
// (dot4I8Packed) per 32-element unit, the weight and activation scales applied per unit, f32
// accumulation. Per KU units the workgroup stages BN weight units (unpacked to int8) and BM
// activation units in workgroup memory; each thread keeps its TM tokens' activations in
// registers and streams its TN rows.
//
// Bindings (group 0):
//   0 P   uniform  Params
//   1 W   storage, read        array<u32>        weights, rows of P.row_u32 words (wq_* layout)
//   2 W4  storage, read        array<vec4<u32>>  the same range as W
//   3 XQ  storage, read        array<vec4<u32>>  int8 activations (quant_x layout, N per token)
//   4 XD  storage, read        array<vec2<f32>>  their (scale, scale * sum) per unit
//   5 B   storage, read        array<f32>        bias (unused unless BIAS)
//   6 Y   storage, read_write  array<f32>        T rows, P.ldy floats apart, row r at P.y_off + r
// 256 threads = 16 row lanes x 16 token lanes; thread (tx, ty) computes rows tx + 16 j (j < TN)
// and tokens ty + 16 i (i < TM). Grid: (ceil(n_rows / (16 TN)), ceil(T / (16 TM))).
// EPI: 0 store (+ bias), 1 add (residual).

struct Params {
    rb0: u32, row_u32: u32, n_rows: u32, n_tok: u32,
    ldy: u32, y_off: u32, b_off: u32, pad0: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> W4: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> XQ: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> XD: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> B: array<f32>;
@group(0) @binding(6) var<storage, read_write> Y: array<f32>;

override N: u32;           // row length (multiple of 32 and of WQ_BLOCK)
override TM: u32 = 4u;     // tokens per thread (<= 8)
override TN: u32 = 8u;     // rows per thread (<= 8)
override KU: u32 = 2u;     // units per stage
override BIAS: bool = false;
override EPI: u32 = 0u;
override BM: u32 = 16u * TM;
override BN: u32 = 16u * TN;
override WS_LEN: u32 = KU * BN;
override XS_LEN: u32 = KU * BM;

var<workgroup> wa: array<vec4<u32>, WS_LEN>; // [unit][row] int8 elements 0..15
var<workgroup> wb: array<vec4<u32>, WS_LEN>; //             elements 16..31
var<workgroup> ws: array<vec4<f32>, WS_LEN>; //             scales (wq_unit's s)
var<workgroup> xa: array<vec4<u32>, XS_LEN>; // [unit][token]
var<workgroup> xb: array<vec4<u32>, XS_LEN>;
var<workgroup> xd: array<vec2<f32>, XS_LEN>;

fn dot16(w: vec4<u32>, x: vec4<u32>) -> i32 {
    return dot4I8Packed(w.x, x.x) + dot4I8Packed(w.y, x.y) + dot4I8Packed(w.z, x.z) + dot4I8Packed(w.w, x.w);
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let tx = tid % 16u;
    let ty = tid / 16u;
    let r0 = wid.x * BN;
    let t0 = wid.y * BM;
    let nu = N / 32u;
    let nb = N / WQ_BLOCK;
    var acc: array<array<f32, 8>, 8>;
    for (var i = 0u; i < TM; i++) { for (var j = 0u; j < TN; j++) { acc[i][j] = 0.0; } }

    for (var u0 = 0u; u0 < nu; u0 += KU) {
        // weight units: KU adjacent units of a row to adjacent threads
        for (var idx = tid; idx < BN * KU; idx += 256u) {
            let kq = idx % KU;
            let rr = idx / KU;
            let r = r0 + rr;
            let u = u0 + kq;
            var w = WqUnit(vec4<u32>(0u), vec4<u32>(0u), vec4<f32>(0.0));
            if (r < P.n_rows && u < nu) { w = wq_unit(P.rb0 + r * P.row_u32, nb, u); }
            wa[kq * BN + rr] = w.a;
            wb[kq * BN + rr] = w.b;
            ws[kq * BN + rr] = w.s;
        }
        for (var idx = tid; idx < BM * KU; idx += 256u) {
            let kq = idx % KU;
            let tt = idx / KU;
            let t = t0 + tt;
            let u = u0 + kq;
            var qa = vec4<u32>(0u);
            var qb = vec4<u32>(0u);
            var dd = vec2<f32>(0.0);
            if (t < P.n_tok && u < nu) {
                let o = t * nu + u;
                qa = XQ[2u * o];
                qb = XQ[2u * o + 1u];
                dd = XD[o];
            }
            xa[kq * BM + tt] = qa;
            xb[kq * BM + tt] = qb;
            xd[kq * BM + tt] = dd;
        }
        workgroupBarrier();
        for (var kq = 0u; kq < KU; kq++) {
            var ra: array<vec4<u32>, 8>;
            var rb: array<vec4<u32>, 8>;
            var rd: array<vec2<f32>, 8>;
            for (var i = 0u; i < TM; i++) {
                let o = kq * BM + ty + 16u * i;
                ra[i] = xa[o];
                rb[i] = xb[o];
                rd[i] = xd[o];
            }
            for (var j = 0u; j < TN; j++) {
                let o = kq * BN + tx + 16u * j;
                let a = wa[o];
                let b = wb[o];
                let s = ws[o];
                for (var i = 0u; i < TM; i++) {
                    var v: f32;
                    if (WQ_SPLIT) {
                        v = s.x * f32(dot16(a, ra[i])) + s.y * f32(dot16(b, rb[i]));
                    } else {
                        v = s.x * f32(dot16(a, ra[i]) + dot16(b, rb[i]));
                    }
                    acc[i][j] = fma(rd[i].x, v, acc[i][j]);
                    if (WQ_ASYM) { acc[i][j] = fma(s.z, rd[i].y, acc[i][j]); }
                }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < TM; i++) {
        let t = t0 + ty + 16u * i;
        if (t >= P.n_tok) { break; }
        for (var j = 0u; j < TN; j++) {
            let r = r0 + tx + 16u * j;
            if (r >= P.n_rows) { break; }
            var v = acc[i][j];
            if (BIAS) { v += B[P.b_off + r]; }
            let o = t * P.ldy + P.y_off + r;
            if (EPI == 1u) { Y[o] += v; } else { Y[o] = v; }
        }
    }
}
