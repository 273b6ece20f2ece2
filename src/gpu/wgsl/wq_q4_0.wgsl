// wq_q4_0.wgsl — weight-format module: Q4_0 (blocks of 32: x = (q - 8) d; byte j holds
// element j in its low nibble and element j + 16 in its high nibble).
// Layout of a row (u32 index rb, a multiple of 4), nb blocks:
//   words [0, 4 nb)            the 16 nibble bytes of block b at words 4b..4b+3 (one vec4)
//   halves of words [4 nb, ..) d of block b (f16) at half b
// padded to a multiple of 4 words. Needs W: array<u32>, W4: array<vec4<u32>> (same buffer).
const WQ_BLOCK: u32 = 32u;
const WQ_INT: bool = true;

fn wq_d(rb: u32, nb: u32, b: u32) -> f32 {
    return unpack2x16float(W[rb + 4u * nb + (b >> 1u)])[b & 1u];
}

fn wq_dq4(rb: u32, nb: u32, e: u32) -> vec4<f32> {
    let b = e >> 5u;
    let i = e & 31u;
    let q = (W[rb + 4u * b + ((i & 15u) >> 2u)] >> ((i >> 4u) * 4u)) & 0x0F0F0F0Fu;
    return (vec4<f32>(unpack4xU8(q)) - 8.0) * wq_d(rb, nb, b);
}

fn wq_dot32(rb: u32, nb: u32, u: u32, xa: vec4<u32>, xb: vec4<u32>, dx: f32, sx: f32) -> f32 {
    let q = W4[(rb >> 2u) + u];
    let m = 0x0F0F0F0Fu;
    let s = dot4I8Packed(q.x & m, xa.x) + dot4I8Packed(q.y & m, xa.y) +
            dot4I8Packed(q.z & m, xa.z) + dot4I8Packed(q.w & m, xa.w) +
            dot4I8Packed((q.x >> 4u) & m, xb.x) + dot4I8Packed((q.y >> 4u) & m, xb.y) +
            dot4I8Packed((q.z >> 4u) & m, xb.z) + dot4I8Packed((q.w >> 4u) & m, xb.w);
    return wq_d(rb, nb, u) * (dx * f32(s) - 8.0 * sx);
}

// wq_unit (matmul_q): unit u as signed int8 a (elements 0..15), b (16..31) with
// x = s.x a, s.y b (+ s.z if WQ_ASYM).
const WQ_SPLIT: bool = false;
const WQ_ASYM: bool = false;
struct WqUnit { a: vec4<u32>, b: vec4<u32>, s: vec4<f32> }
// Bytes 0..15 as signed bytes v - 8.
fn wq_s8(v: u32) -> u32 {
    return ((v | 0x80808080u) - 0x08080808u) ^ 0x80808080u;
}
fn wq_unit(rb: u32, nb: u32, u: u32) -> WqUnit {
    let q = W4[(rb >> 2u) + u];
    let m = vec4<u32>(0x0F0F0F0Fu);
    let d = wq_d(rb, nb, u);
    let lo = q & m;
    let hi = (q >> vec4<u32>(4u)) & m;
    return WqUnit(vec4<u32>(wq_s8(lo.x), wq_s8(lo.y), wq_s8(lo.z), wq_s8(lo.w)),
                  vec4<u32>(wq_s8(hi.x), wq_s8(hi.y), wq_s8(hi.z), wq_s8(hi.w)), vec4<f32>(d, d, 0.0, 0.0));
}
