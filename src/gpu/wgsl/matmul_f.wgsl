// matmul_f.wgsl — Y[t][r] = W[r] . X[t] for a batch of T tokens (prefill), in f32: W tiles are
// dequantized with the module's wq_dq4 into workgroup memory (every weight type), X tiles
// loaded as floats, each thread accumulates a TM x TN block of outputs.
//
// Bindings (group 0):
//   0 P   uniform  Params
//   1 W   storage, read        array<u32>        weights, rows of P.row_u32 words (wq_* layout)
//   2 W4  storage, read        array<vec4<u32>>  the same range as W
//   3 X   storage, read        array<vec4<f32>>  T rows of N floats, P.ldx floats apart, from P.x_off
//   4 B   storage, read        array<f32>        bias (unused unless BIAS)
//   5 Y   storage, read_write  array<f32>        T rows, P.ldy floats apart, row r at P.y_off + r
// Tiles: BM = 16 TM tokens x BN = 16 TN rows, K steps of 32; 256 threads. Grid:
// (ceil(n_rows / BN), ceil(T / BM)). EPI: 0 store (+ bias), 1 add (residual).

struct Params {
    rb0: u32, row_u32: u32, n_rows: u32, n_tok: u32,
    ldx: u32, x_off: u32, ldy: u32, y_off: u32,
    b_off: u32, pad0: u32, pad1: u32, pad2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> W4: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> B: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y: array<f32>;

override N: u32;           // row length (multiple of 4 and of WQ_BLOCK)
override TM: u32 = 4u;     // tokens per thread
override TN: u32 = 4u;     // rows per thread
override BIAS: bool = false;
override EPI: u32 = 0u;
override BM: u32 = 16u * TM;
override BN: u32 = 16u * TN;
override XS_LEN: u32 = 8u * BM;  // 32 k x BM tokens, as vec4 over tokens
override WS_LEN: u32 = 8u * BN;

const BK: u32 = 32u;

var<workgroup> xs: array<vec4<f32>, XS_LEN>; // [k][token / 4]
var<workgroup> ws: array<vec4<f32>, WS_LEN>; // [k][row / 4]

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let tx = tid % 16u; // row group
    let ty = tid / 16u; // token group
    let r0 = wid.x * BN;
    let t0 = wid.y * BM;
    let nb = N / WQ_BLOCK;
    var acc: array<array<f32, 8>, 8>;
    for (var i = 0u; i < TM; i++) { for (var j = 0u; j < TN; j++) { acc[i][j] = 0.0; } }

    for (var k0 = 0u; k0 < N; k0 += BK) {
        // X tile: BM tokens x 32 k = BM * 8 vec4
        for (var idx = tid; idx < BM * 8u; idx += 256u) {
            let tt = idx / 8u;
            let k4 = idx % 8u;
            var v = vec4<f32>(0.0);
            let t = t0 + tt;
            if (t < P.n_tok && k0 + 4u * k4 < N) {
                v = X[((P.x_off + t * P.ldx) >> 2u) + (k0 >> 2u) + k4];
            }
            let kk = 4u * k4;
            xs[(kk + 0u) * (BM / 4u) + tt / 4u][tt % 4u] = v.x;
            xs[(kk + 1u) * (BM / 4u) + tt / 4u][tt % 4u] = v.y;
            xs[(kk + 2u) * (BM / 4u) + tt / 4u][tt % 4u] = v.z;
            xs[(kk + 3u) * (BM / 4u) + tt / 4u][tt % 4u] = v.w;
        }
        // W tile: BN rows x 32 k
        for (var idx = tid; idx < BN * 8u; idx += 256u) {
            let rr = idx / 8u;
            let k4 = idx % 8u;
            var v = vec4<f32>(0.0);
            let r = r0 + rr;
            if (r < P.n_rows && k0 + 4u * k4 < N) {
                v = wq_dq4(P.rb0 + r * P.row_u32, nb, k0 + 4u * k4);
            }
            let kk = 4u * k4;
            ws[(kk + 0u) * (BN / 4u) + rr / 4u][rr % 4u] = v.x;
            ws[(kk + 1u) * (BN / 4u) + rr / 4u][rr % 4u] = v.y;
            ws[(kk + 2u) * (BN / 4u) + rr / 4u][rr % 4u] = v.z;
            ws[(kk + 3u) * (BN / 4u) + rr / 4u][rr % 4u] = v.w;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            var a: array<f32, 8>;
            var b: array<f32, 8>;
            for (var i = 0u; i < TM / 4u; i++) {
                let v = xs[kk * (BM / 4u) + ty * (TM / 4u) + i];
                a[4u * i] = v.x; a[4u * i + 1u] = v.y; a[4u * i + 2u] = v.z; a[4u * i + 3u] = v.w;
            }
            for (var j = 0u; j < TN / 4u; j++) {
                let v = ws[kk * (BN / 4u) + tx * (TN / 4u) + j];
                b[4u * j] = v.x; b[4u * j + 1u] = v.y; b[4u * j + 2u] = v.z; b[4u * j + 3u] = v.w;
            }
            for (var i = 0u; i < TM; i++) {
                for (var j = 0u; j < TN; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
            }
        }
        workgroupBarrier();
    }
    for (var i = 0u; i < TM; i++) {
        let t = t0 + ty * TM + i;
        if (t >= P.n_tok) { break; }
        for (var j = 0u; j < TN; j++) {
            let r = r0 + tx * TN + j;
            if (r >= P.n_rows) { break; }
            var v = acc[i][j];
            if (BIAS) { v += B[P.b_off + r]; }
            let o = t * P.ldy + P.y_off + r;
            if (EPI == 1u) { Y[o] += v; } else { Y[o] = v; }
        }
    }
}
