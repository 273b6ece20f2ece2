// wq_q4_1.wgsl — weight-format module: Q4_1 (blocks of 32: x = q d + m; nibbles as in Q4_0).
// Layout of a row (u32 index rb, a multiple of 4), nb blocks:
//   words [0, 4 nb)        the 16 nibble bytes of block b at words 4b..4b+3 (one vec4)
//   words [4 nb, 5 nb)     d (low half, f16) and m (high half, f16) of block b
// padded to a multiple of 4 words. Needs W: array<u32>, W4: array<vec4<u32>> (same buffer).
const WQ_BLOCK: u32 = 32u;
const WQ_INT: bool = true;

fn wq_dq4(rb: u32, nb: u32, e: u32) -> vec4<f32> {
    let b = e >> 5u;
    let i = e & 31u;
    let q = (W[rb + 4u * b + ((i & 15u) >> 2u)] >> ((i >> 4u) * 4u)) & 0x0F0F0F0Fu;
    let dm = unpack2x16float(W[rb + 4u * nb + b]);
    return vec4<f32>(unpack4xU8(q)) * dm.x + dm.y;
}

fn wq_dot32(rb: u32, nb: u32, u: u32, xa: vec4<u32>, xb: vec4<u32>, dx: f32, sx: f32) -> f32 {
    let q = W4[(rb >> 2u) + u];
    let m = 0x0F0F0F0Fu;
    let s = dot4I8Packed(q.x & m, xa.x) + dot4I8Packed(q.y & m, xa.y) +
            dot4I8Packed(q.z & m, xa.z) + dot4I8Packed(q.w & m, xa.w) +
            dot4I8Packed((q.x >> 4u) & m, xb.x) + dot4I8Packed((q.y >> 4u) & m, xb.y) +
            dot4I8Packed((q.z >> 4u) & m, xb.z) + dot4I8Packed((q.w >> 4u) & m, xb.w);
    let dm = unpack2x16float(W[rb + 4u * nb + u]);
    return dm.x * dx * f32(s) + dm.y * sx;
}

// wq_unit (matmul_q): unit u as int8 a (elements 0..15), b (16..31) with x = s.x a + s.z.
const WQ_SPLIT: bool = false;
const WQ_ASYM: bool = true;
struct WqUnit { a: vec4<u32>, b: vec4<u32>, s: vec4<f32> }
fn wq_unit(rb: u32, nb: u32, u: u32) -> WqUnit {
    let q = W4[(rb >> 2u) + u];
    let m = vec4<u32>(0x0F0F0F0Fu);
    let dm = unpack2x16float(W[rb + 4u * nb + u]);
    return WqUnit(q & m, (q >> vec4<u32>(4u)) & m, vec4<f32>(dm.x, dm.x, dm.y, 0.0));
}
