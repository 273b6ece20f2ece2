// wq_q8_0.wgsl — weight-format module: Q8_0 (blocks of 32: x = q * d, q int8, d f16).
// Layout of a row (u32 index rb, a multiple of 4), nb blocks:
//   words [0, 8 nb)            the 32 int8 of block b at words 8b..8b+7 (two vec4)
//   halves of words [8 nb, ..) d of block b (f16) at half b
// padded to a multiple of 4 words. Needs W: array<u32>, W4: array<vec4<u32>> (same buffer).
// wq_dot32: unit u (32 elements) against int8 activations xa (elements 0..15), xb (16..31)
// with scale dx and sx = dx * sum(q_x).
const WQ_BLOCK: u32 = 32u;
const WQ_INT: bool = true;

fn wq_d(rb: u32, nb: u32, b: u32) -> f32 {
    return unpack2x16float(W[rb + 8u * nb + (b >> 1u)])[b & 1u];
}

fn wq_dq4(rb: u32, nb: u32, e: u32) -> vec4<f32> {
    let b = e >> 5u;
    let q = W[rb + 8u * b + ((e & 31u) >> 2u)];
    return vec4<f32>(unpack4xI8(q)) * wq_d(rb, nb, b);
}

fn wq_dot32(rb: u32, nb: u32, u: u32, xa: vec4<u32>, xb: vec4<u32>, dx: f32, sx: f32) -> f32 {
    let v = (rb >> 2u) + 2u * u;
    let a = W4[v];
    let b = W4[v + 1u];
    let s = dot4I8Packed(a.x, xa.x) + dot4I8Packed(a.y, xa.y) + dot4I8Packed(a.z, xa.z) +
            dot4I8Packed(a.w, xa.w) + dot4I8Packed(b.x, xb.x) + dot4I8Packed(b.y, xb.y) +
            dot4I8Packed(b.z, xb.z) + dot4I8Packed(b.w, xb.w);
    return wq_d(rb, nb, u) * dx * f32(s);
}

// wq_unit (matmul_q): unit u as int8 a (elements 0..15), b (16..31) with x = s.x a.
const WQ_SPLIT: bool = false;
const WQ_ASYM: bool = false;
struct WqUnit { a: vec4<u32>, b: vec4<u32>, s: vec4<f32> }
fn wq_unit(rb: u32, nb: u32, u: u32) -> WqUnit {
    let v = (rb >> 2u) + 2u * u;
    let d = wq_d(rb, nb, u);
    return WqUnit(W4[v], W4[v + 1u], vec4<f32>(d, d, 0.0, 0.0));
}
