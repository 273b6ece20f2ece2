// wq_q5_1.wgsl — weight-format module: Q5_1 (blocks of 32: x = q d + m, q 5-bit as in Q5_0).
// Layout of a row (u32 index rb, a multiple of 4), nb blocks:
//   words [0, 4 nb)        the 16 nibble bytes of block b at words 4b..4b+3 (one vec4)
//   words [4 nb, 5 nb)     qh of block b
//   words [5 nb, 6 nb)     d (low half, f16) and m (high half, f16) of block b
// padded to a multiple of 4 words. Needs W: array<u32>, W4: array<vec4<u32>> (same buffer).
const WQ_BLOCK: u32 = 32u;
const WQ_INT: bool = true;

fn wq_spread4(h: u32) -> u32 {
    return ((h * 0x00204081u) & 0x01010101u) << 4u;
}

fn wq_dq4(rb: u32, nb: u32, e: u32) -> vec4<f32> {
    let b = e >> 5u;
    let i = e & 31u;
    let lo = (W[rb + 4u * b + ((i & 15u) >> 2u)] >> ((i >> 4u) * 4u)) & 0x0F0F0F0Fu;
    let q = lo | wq_spread4((W[rb + 4u * nb + b] >> i) & 15u);
    let dm = unpack2x16float(W[rb + 5u * nb + b]);
    return vec4<f32>(unpack4xU8(q)) * dm.x + dm.y;
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
    let dm = unpack2x16float(W[rb + 5u * nb + u]);
    return dm.x * dx * f32(s) + dm.y * sx;
}

// wq_unit (matmul_q): unit u as int8 a (elements 0..15), b (16..31) with x = s.x a + s.z.
const WQ_SPLIT: bool = false;
const WQ_ASYM: bool = true;
struct WqUnit { a: vec4<u32>, b: vec4<u32>, s: vec4<f32> }
fn wq_unit(rb: u32, nb: u32, u: u32) -> WqUnit {
    let q = W4[(rb >> 2u) + u];
    let h = W[rb + 4u * nb + u];
    let m = 0x0F0F0F0Fu;
    let a = vec4<u32>((q.x & m) | wq_spread4(h & 15u), (q.y & m) | wq_spread4((h >> 4u) & 15u),
                      (q.z & m) | wq_spread4((h >> 8u) & 15u), (q.w & m) | wq_spread4((h >> 12u) & 15u));
    let b = vec4<u32>(((q.x >> 4u) & m) | wq_spread4((h >> 16u) & 15u), ((q.y >> 4u) & m) | wq_spread4((h >> 20u) & 15u),
                      ((q.z >> 4u) & m) | wq_spread4((h >> 24u) & 15u), ((q.w >> 4u) & m) | wq_spread4(h >> 28u));
    let dm = unpack2x16float(W[rb + 5u * nb + u]);
    return WqUnit(a, b, vec4<f32>(dm.x, dm.x, dm.y, 0.0));
}
