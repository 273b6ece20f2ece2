// rmsnorm.wgsl — Y[t] = X[t] * G / sqrt(mean(X[t]^2) + eps) for T rows of N floats (prefill;
// the decode path fuses the norm into matvec_q / matvec_f).
//
// Bindings (group 0):
//   0 P  uniform  Params
//   1 X  storage, read        array<vec4<f32>>  input rows, N floats apart, from P.x_off (floats)
//   2 G  storage, read        array<vec4<f32>>  weight (N floats)
//   3 Y  storage, read_write  array<vec4<f32>>  output rows, N floats apart, from P.y_off
// Grid: (rows, 1, 1); one workgroup per row.

struct Params { x_off: u32, y_off: u32, eps: f32, pad: u32, }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Y: array<vec4<f32>>;

override N: u32;  // multiple of 4
override WG: u32 = 256u;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let x0 = (P.x_off >> 2u) + wid.x * (N / 4u);
    let y0 = (P.y_off >> 2u) + wid.x * (N / 4u);
    var ss = 0.0;
    for (var i = tid; i < N / 4u; i += WG) {
        let v = X[x0 + i];
        ss += dot(v, v);
    }
    red[tid] = ss;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (tid < s) { red[tid] += red[tid + s]; }
        workgroupBarrier();
    }
    let scale = inverseSqrt(red[0] / f32(N) + P.eps);
    for (var i = tid; i < N / 4u; i += WG) {
        Y[y0 + i] = X[x0 + i] * scale * G[i];
    }
}
