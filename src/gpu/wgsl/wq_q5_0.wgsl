// wq_q5_0.wgsl — weight-format module: Q5_0 (blocks of 32: x = (q - 16) d, q = nibble as in
// Q4_0 | bit j of qh << 4 for element j).
// Layout of a row (u32 index rb, a multiple of 4), nb blocks:
//   words [0, 4 nb)            the 16 nibble bytes of block b at words 4b..4b+3 (one vec4)
//   words [4 nb, 5 nb)         qh of block b
//   halves of words [5 nb, ..) d of block b (f16) at half b
// padded to a multiple of 4 words. Needs W: array<u32>, W4: array<vec4<u32>> (same buffer).
const WQ_BLOCK: u32 = 32u;
const WQ_INT: bool = true;

// Bits 0..3 of h to bit 4 of bytes 0..3.
fn wq_spread4(h: u32) -> u32 {
    return ((h * 0x00204081u) & 0x01010101u) << 4u;
}

fn wq_d(rb: u32, nb: u32, b: u32) -> f32 {
    return unpack2x16float(W[rb + 5u * nb + (b >> 1u)])[b & 1u];
}

fn wq_dq4(rb: u32, nb: u32, e: u32) -> vec4<f32> {
    let b = e >> 5u;
    let i = e & 31u;
    let lo = (W[rb + 4u * b + ((i & 15u) >> 2u)] >> ((i >> 4u) * 4u)) & 0x0F0F0F0Fu;
    let q = lo | wq_spread4((W[rb + 4u * nb + b] >> i) & 15u);
    return (vec4<f32>(unpack4xU8(q)) - 16.0) * wq_d(rb, nb, b);
}

fn wq_dot32(rb: u32, nb: u32, u: u32, xa: vec4<u32>, xb: vec4<u32>, dx: f32, sx: f32) -> f32 {
    let q = W4[(rb >> 2u) + u];
    let h = W[rb + 4u * nb + u];
    let m = 0x0F0F0F0Fu;
    let s = dot4I8Packed((q.x & m) | wq_spread4(h & 15u), xa.x) +
            dot4I8Packed((q.y & m) | wq_spread4((h >> 4u) & 15u), xa.y) +
            dot4I8Packed((q.z & m) | wq_spread4((h >> 8u) & 15u), xa.z) +
            dot4I8Packed((q.w & m) | wq_spread4((h >> 12u) & 15u), xa.w) +
            dot4I8Packed(((q.x >> 4u) & m) | wq_spread4((h >> 16u) & 15u), xb.x) +
            dot4I8Packed(((q.y >> 4u) & m) | wq_spread4((h >> 20u) & 15u), xb.y) +
            dot4I8Packed(((q.z >> 4u) & m) | wq_spread4((h >> 24u) & 15u), xb.z) +
            dot4I8Packed(((q.w >> 4u) & m) | wq_spread4(h >> 28u), xb.w);
    return wq_d(rb, nb, u) * (dx * f32(s) - 16.0 * sx);
}

// wq_unit (matmul_q): unit u as signed int8 a (elements 0..15), b (16..31) with x = s.x a.
const WQ_SPLIT: bool = false;
const WQ_ASYM: bool = false;
struct WqUnit { a: vec4<u32>, b: vec4<u32>, s: vec4<f32> }
// Bytes 0..31 as signed bytes v - 16.
fn wq_s16(v: u32) -> u32 {
    return ((v | 0x80808080u) - 0x10101010u) ^ 0x80808080u;
}
fn wq_unit(rb: u32, nb: u32, u: u32) -> WqUnit {
    let q = W4[(rb >> 2u) + u];
    let h = W[rb + 4u * nb + u];
    let m = 0x0F0F0F0Fu;
    let a = vec4<u32>(wq_s16((q.x & m) | wq_spread4(h & 15u)), wq_s16((q.y & m) | wq_spread4((h >> 4u) & 15u)),
                      wq_s16((q.z & m) | wq_spread4((h >> 8u) & 15u)), wq_s16((q.w & m) | wq_spread4((h >> 12u) & 15u)));
    let b = vec4<u32>(wq_s16(((q.x >> 4u) & m) | wq_spread4((h >> 16u) & 15u)),
                      wq_s16(((q.y >> 4u) & m) | wq_spread4((h >> 20u) & 15u)),
                      wq_s16(((q.z >> 4u) & m) | wq_spread4((h >> 24u) & 15u)),
                      wq_s16(((q.w >> 4u) & m) | wq_spread4(h >> 28u)));
    let d = wq_d(rb, nb, u);
    return WqUnit(a, b, vec4<f32>(d, d, 0.0, 0.0));
}
