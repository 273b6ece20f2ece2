// matvec_q.wgsl (after qs_unit.wgsl) — y = W x for one token with quantized W (any wq_* module with WQ_INT) and the
// activation x quantized to int8 per 32 elements (scale amax/127, like the CPU reference's
// Q8_32), optionally RMS-normalized (x * g / rms(x)). Integer dot products (dot4I8Packed) per
// 32-element unit, scales applied per unit.
//
// x arrives either as floats, quantized by every workgroup in a prologue (normalized first with
// NORM), or (XQIN) already quantized by the kernel that produced it, in the "q-stream" layout
// below; then the workgroup starts streaming weights at once and, with NORM, multiplies its dot
// products by 1 / rms(x) at the end (the producer quantized x * g, whose int8 values do not
// depend on the norm's scale). With QOUT the kernel is such a producer: its outputs (after the
// epilogue) are also written as a q-stream of 32-output units, multiplied by G first when QNORM
// (the consumer's RMSNorm weight); a workgroup then owns whole units (ROWS_WG % 32 == 0).
//
// q-stream: unit k (elements 32k..32k+31) is three vec4<u32>: [3k] int8 elements 0..15, [3k+1]
// elements 16..31, [3k+2] f32 bits of (d, d * sum of the int8 values, sum of the squares of the
// unscaled values, 0).
//
// Bindings (group 0):
//   0 P   uniform  Params
//   1 W   storage, read        array<u32>        weights, rows of P.row_u32 words (wq_* layout)
//   2 W4  storage, read        array<vec4<u32>>  the same range as W
//   3 X   storage, read        array<vec4<f32>>  input, N floats at P.x_off (unused with XQIN)
//   4 G   storage, read        array<vec4<f32>>  RMSNorm weight: of x (NORM without XQIN), or of
//                                                 the output q-stream (QNORM); unused otherwise
//   5 B   storage, read        array<f32>        bias (unused unless BIAS)
//   6 Y   storage, read_write  array<f32>        output
//   7 XQ  storage, read        array<vec4<u32>>  input q-stream, unit 0 at P.x_off / 32 (XQIN)
//   8 YQ  storage, read_write  array<vec4<u32>>  output q-stream, output i in unit (P.y_off + i) / 32 (QOUT)
// Work: row sets of RPT rows (row i of rs s = s * P.set_a + i * P.set_b); TU threads per rs,
// WG / TU sets per workgroup; workgroup id = wid.x + wid.y * P.gx.
// Epilogue EPI: 0 Y[y_off + row] = dot (+ bias), 1 Y[y_off + row] += dot (residual),
//               2 Y[y_off + s] = silu(dot0) * dot1 (RPT = 2: gate row, up row).

struct Params {
    rb0: u32, row_u32: u32, n_sets: u32, set_a: u32,
    set_b: u32, n_rows: u32, y_off: u32, x_off: u32,
    eps: f32, gx: u32, b_off: u32, pad: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> W4: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> B: array<f32>;
@group(0) @binding(6) var<storage, read_write> Y: array<f32>;
@group(0) @binding(7) var<storage, read> XQ: array<vec4<u32>>;
@group(0) @binding(8) var<storage, read_write> YQ: array<vec4<u32>>;

override N: u32;            // row length (multiple of 32 and of WQ_BLOCK)
override WG: u32 = 256u;
override TU: u32 = 64u;     // threads per row rs (power of two, <= WG)
override RPT: u32 = 2u;     // rows per rs (<= 4)
override NORM: bool = false;
override BIAS: bool = false;
override EPI: u32 = 0u;
override SGMIN: u32 = 1u;   // with sg_on: the adapter's smallest subgroup size (power of two)
override QSG: bool = false; // with sg_on and SGMIN >= 8: x quantized by groups of 8 lanes
override XQIN: bool = false; // x as a q-stream in XQ (no prologue)
override QOUT: bool = false; // outputs also as a q-stream in YQ
override QNORM: bool = false;// ... multiplied by G
override UNR: u32 = 1u;      // units per lane per loop step (loads issued together)
override QPAR: bool = true;  // with sg_on and SGMIN >= 32: the output q-stream one lane per value
override NU: u32 = N / 32u;
override NOUT: u32 = select(RPT, 1u, EPI == 2u);  // outputs per row set
override ROWS_WG: u32 = (WG / TU) * NOUT;          // outputs per workgroup
override XS_LEN: u32 = select(N / 16u, 1u, XQIN);
override XD_LEN: u32 = select(NU, 1u, XQIN);
override NV: u32 = RPT + select(0u, 1u, XQIN && NORM); // values reduced per row set (+ sum of squares)
override RED_LEN: u32 = WG * NV;
override YV_LEN: u32 = select(1u, ROWS_WG, QOUT);

var<workgroup> xs: array<vec4<u32>, XS_LEN>; // int8 activations, 32 per two vec4
var<workgroup> xd: array<vec2<f32>, XD_LEN>; // (scale, scale * sum of q) per 32
var<workgroup> red: array<f32, RED_LEN>;
var<workgroup> yv: array<f32, YV_LEN>;       // this workgroup's outputs (QOUT)
var<workgroup> tv: array<f32, YV_LEN>;       // ... times the output norm weight (QNORM)

// The q-stream of the outputs (qs_unit.wgsl): the values after the norm weight, the squares of
// those before.
fn qs_t(i: u32) -> f32 { return tv[i]; }
fn qs_y(i: u32) -> f32 { return yv[i]; }

// Adds unit u of x times unit u of the RPT rows at rbs to acc (acc[RPT]: the q-stream's sum of
// squares with XQIN and NORM).
fn mv_unit(acc: ptr<function, array<f32, 5>>, rbs: array<u32, 4>, nb: u32, u: u32, q0: u32) {
    var xa: vec4<u32>;
    var xb: vec4<u32>;
    var dd: vec2<f32>;
    if (XQIN) {
        xa = XQ[q0 + 3u * u];
        xb = XQ[q0 + 3u * u + 1u];
        let m = bitcast<vec4<f32>>(XQ[q0 + 3u * u + 2u]);
        dd = m.xy;
        if (NORM) { (*acc)[RPT] += m.z; }
    } else {
        xa = xs[2u * u];
        xb = xs[2u * u + 1u];
        dd = xd[u];
    }
    for (var i = 0u; i < RPT; i++) {
        (*acc)[i] += wq_dot32(rbs[i], nb, u, xa, xb, dd.x, dd.y);
    }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let x0 = P.x_off >> 2u;
    var scale = 1.0;
    if (NORM && !XQIN) {
        var ss = 0.0;
        for (var i = tid; i < N / 4u; i += WG) {
            let v = X[x0 + i];
            ss += dot(v, v);
        }
        if (SG && SGMIN >= 2u) {
            // butterfly within aligned groups of SGMIN lanes, then one partial per group
            for (var m = SGMIN / 2u; m > 0u; m >>= 1u) { ss += sg_xor(ss, m); }
            if (tid % SGMIN == 0u) { red[tid / SGMIN] = ss; }
            workgroupBarrier();
            var tot = 0.0;
            for (var i = 0u; i < WG / SGMIN; i++) { tot += red[i]; }
            scale = inverseSqrt(tot / f32(N) + P.eps);
        } else {
            red[tid] = ss;
            workgroupBarrier();
            for (var s = WG / 2u; s > 0u; s >>= 1u) {
                if (tid < s) { red[tid] += red[tid + s]; }
                workgroupBarrier();
            }
            scale = inverseSqrt(red[0] / f32(N) + P.eps);
        }
        workgroupBarrier();
    }
    if (XQIN) {
        // quantized by the producer
    } else if (SG && QSG) {
        // 8 lanes per unit, 4 elements each: amax and sum by shuffles (every thread busy)
        for (var e = tid; e < N / 4u; e += WG) {
            var t = X[x0 + e];
            if (NORM) { t = t * G[e] * scale; }
            let a4 = abs(t);
            var amax = max(max(a4.x, a4.y), max(a4.z, a4.w));
            amax = max(amax, sg_xor(amax, 1u));
            amax = max(amax, sg_xor(amax, 2u));
            amax = max(amax, sg_xor(amax, 4u));
            var id = 0.0;
            if (amax != 0.0) { id = 127.0 / amax; }
            let q = vec4<i32>(round(t * id));
            var qs = f32(q.x + q.y + q.z + q.w);
            qs += sg_xor(qs, 1u);
            qs += sg_xor(qs, 2u);
            qs += sg_xor(qs, 4u);
            let u = e / 8u;
            let k = e % 8u;
            xs[2u * u + k / 4u][k % 4u] = pack4xI8(q);
            if (k == 0u) {
                let d = amax / 127.0;
                xd[u] = vec2<f32>(d, d * qs);
            }
        }
    } else {
        for (var u = tid; u < NU; u += WG) {
            var v: array<vec4<f32>, 8>;
            var amax = 0.0;
            for (var k = 0u; k < 8u; k++) {
                var t = X[x0 + 8u * u + k];
                if (NORM) { t = t * G[8u * u + k] * scale; }
                v[k] = t;
                let a = abs(t);
                amax = max(amax, max(max(a.x, a.y), max(a.z, a.w)));
            }
            let d = amax / 127.0;
            var id = 0.0;
            if (amax != 0.0) { id = 127.0 / amax; }
            var qs = vec4<i32>(0);
            for (var k = 0u; k < 8u; k++) {
                let q = vec4<i32>(round(v[k] * id));
                qs += q;
                let p = pack4xI8(q);
                if (k < 4u) { xs[2u * u][k] = p; } else { xs[2u * u + 1u][k - 4u] = p; }
            }
            xd[u] = vec2<f32>(d, d * f32(qs.x + qs.y + qs.z + qs.w));
        }
    }
    if (!XQIN) { workgroupBarrier(); }

    let lane = tid % TU;
    let rs = (wid.x + wid.y * P.gx) * (WG / TU) + tid / TU;
    let nb = N / WQ_BLOCK;
    let q0 = (P.x_off / 32u) * 3u;
    var acc = array<f32, 5>(0.0, 0.0, 0.0, 0.0, 0.0);
    var rbs = array<u32, 4>(0u, 0u, 0u, 0u);
    var ok = array<bool, 4>(false, false, false, false);
    var yold = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    var gq = array<f32, 4>(1.0, 1.0, 1.0, 1.0);
    if (rs < P.n_sets) {
        for (var i = 0u; i < RPT; i++) {
            let r = rs * P.set_a + i * P.set_b;
            ok[i] = r < P.n_rows;
            rbs[i] = P.rb0 + min(r, P.n_rows - 1u) * P.row_u32;
        }
        // the epilogue's own loads, issued now
        if (lane == 0u) {
            for (var i = 0u; i < NOUT; i++) {
                let o = select(min(rs * P.set_a + i * P.set_b, P.n_rows - 1u), rs, EPI == 2u);
                if (EPI == 1u) { yold[i] = Y[P.y_off + o]; }
                if (QOUT && QNORM) { gq[i] = G[(P.y_off + o) / 4u][(P.y_off + o) % 4u]; }
            }
        }
        // UNR units per lane per step: their loads are issued together
        var u = lane;
        for (; u + (UNR - 1u) * TU < NU; u += UNR * TU) {
            for (var k = 0u; k < UNR; k++) { mv_unit(&acc, rbs, nb, u + k * TU, q0); }
        }
        for (; u < NU; u += TU) { mv_unit(&acc, rbs, nb, u, q0); }
    }
    // the TU lanes of a row set: subgroup shuffles (sg_on module, TU <= the subgroup size), or a
    // tree in workgroup memory
    var res = array<f32, 5>(0.0, 0.0, 0.0, 0.0, 0.0);
    if (SG) {
        for (var i = 0u; i < NV; i++) {
            var v = acc[i];
            for (var m = TU / 2u; m > 0u; m >>= 1u) { v += sg_xor(v, m); }
            res[i] = v;
        }
    } else {
        let base = (tid / TU) * TU * NV;
        for (var i = 0u; i < NV; i++) { red[base + i * TU + lane] = acc[i]; }
        workgroupBarrier();
        for (var s = TU / 2u; s > 0u; s >>= 1u) {
            if (lane < s) {
                for (var i = 0u; i < NV; i++) { red[base + i * TU + lane] += red[base + i * TU + lane + s]; }
            }
            workgroupBarrier();
        }
        for (var i = 0u; i < NV; i++) { res[i] = red[base + i * TU]; }
    }
    // the norm's scale: applied to x in the prologue, or to the dot products here (XQIN)
    var oscale = 1.0;
    if (XQIN && NORM) { oscale = inverseSqrt(res[RPT] / f32(N) + P.eps); }
    var fin = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    if (lane == 0u && rs < P.n_sets) {
        if (EPI == 2u) {
            let g = res[0] * oscale;
            let u = res[1] * oscale;
            fin[0] = g / (1.0 + exp(-g)) * u;
            Y[P.y_off + rs] = fin[0];
        } else {
            for (var i = 0u; i < RPT; i++) {
                if (!ok[i]) { continue; }
                let r = rs * P.set_a + i * P.set_b;
                var v = res[i] * oscale;
                if (BIAS) { v += B[P.b_off + r]; }
                if (EPI == 1u) { v += yold[i]; }
                Y[P.y_off + r] = v;
                fin[i] = v;
            }
        }
    }
    if (QOUT) {
        // this workgroup's ROWS_WG consecutive outputs, quantized per 32 by one thread each
        if (lane == 0u) {
            for (var i = 0u; i < NOUT; i++) {
                yv[(tid / TU) * NOUT + i] = fin[i];
                tv[(tid / TU) * NOUT + i] = fin[i] * gq[i];
            }
        }
        workgroupBarrier();
        let n_out = select(P.n_rows, P.n_sets, EPI == 2u);
        // (`&`: written with `&&`, this condition hit an internal assertion in the override
        // substitution of Dawn's Tint, bun-webgpu 0.1.7)
        if (SG && (QPAR & (SGMIN >= 32u))) {
            // one lane per output, the 32 of a unit in one subgroup: the unit's reductions by
            // shuffles (the same values as qs_unit; the sum of squares in another order)
            let e = tid % 32u;
            let o = (wid.x + wid.y * P.gx) * ROWS_WG + tid - e;
            if (tid < ROWS_WG && o < n_out) {
                let t = tv[tid];
                let y = yv[tid];
                var amax = abs(t);
                var ss = y * y;
                for (var m = 16u; m > 0u; m >>= 1u) {
                    amax = max(amax, sg_xor(amax, m));
                    ss += sg_xor(ss, m);
                }
                var id = 0.0;
                if (amax != 0.0) { id = 127.0 / amax; }
                let q = i32(round(t * id));
                var sum = f32(q);
                var w = (u32(q) & 0xFFu) << (8u * (e % 4u));
                for (var m = 16u; m > 0u; m >>= 1u) { sum += sg_xor(sum, m); }
                w |= sg_xor_u(w, 1u);
                w |= sg_xor_u(w, 2u);
                let ub = ((P.y_off + o) / 32u) * 3u;
                if (e % 4u == 0u) { YQ[ub + e / 16u][(e / 4u) % 4u] = w; }
                if (e == 0u) {
                    let d = amax / 127.0;
                    YQ[ub + 2u] = bitcast<vec4<u32>>(vec4<f32>(d, d * sum, ss, 0.0));
                }
            }
        } else {
            let o = (wid.x + wid.y * P.gx) * ROWS_WG + 32u * tid;
            if (tid < ROWS_WG / 32u && o < n_out) {
                let u = qs_unit(32u * tid);
                let ub = ((P.y_off + o) / 32u) * 3u;
                YQ[ub] = u.lo;
                YQ[ub + 1u] = u.hi;
                YQ[ub + 2u] = bitcast<vec4<u32>>(u.m);
            }
        }
    }
}
