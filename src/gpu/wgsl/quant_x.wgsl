// quant_x.wgsl — activations for matmul_q: each 32 floats of a token row become 32 int8
// (scale d = amax / 127, q = round-half-even(x * 127 / amax), the rounding of matvec_q and of
// the CPU reference's Q8_32) plus (d, d * sum(q)).
//
// Bindings (group 0):
//   0 P   uniform  Params
//   1 X   storage, read        array<vec4<f32>>  T rows of N floats, P.ldx floats apart, from P.x_off
//   2 XQ  storage, read_write  array<vec4<u32>>  token t, unit u at 2 (t N/32 + u) (two vec4)
//   3 XD  storage, read_write  array<vec2<f32>>  token t, unit u at t N/32 + u
// Grid: (ceil(N / 32 / 64), T), 64 threads, one unit each.

struct Params { n_tok: u32, ldx: u32, x_off: u32, pad: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> XQ: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> XD: array<vec2<f32>>;

override N: u32;  // row length, a multiple of 32

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let nu = N / 32u;
    let u = gid.x;
    let t = gid.y;
    if (u >= nu || t >= P.n_tok) { return; }
    let x0 = ((P.x_off + t * P.ldx) >> 2u) + 8u * u;
    var v: array<vec4<f32>, 8>;
    var amax = 0.0;
    for (var k = 0u; k < 8u; k++) {
        v[k] = X[x0 + k];
        let a = abs(v[k]);
        amax = max(amax, max(max(a.x, a.y), max(a.z, a.w)));
    }
    let d = amax / 127.0;
    var id = 0.0;
    if (amax != 0.0) { id = 127.0 / amax; }
    var qs = vec4<i32>(0);
    var p: array<u32, 8>;
    for (var k = 0u; k < 8u; k++) {
        let q = vec4<i32>(round(v[k] * id));
        qs += q;
        p[k] = pack4xI8(q);
    }
    let o = t * nu + u;
    XQ[2u * o] = vec4<u32>(p[0], p[1], p[2], p[3]);
    XQ[2u * o + 1u] = vec4<u32>(p[4], p[5], p[6], p[7]);
    XD[o] = vec2<f32>(d, d * f32(qs.x + qs.y + qs.z + qs.w));
}
