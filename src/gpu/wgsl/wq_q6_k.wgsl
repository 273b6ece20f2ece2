// wq_q6_k.wgsl — weight-format module: Q6_K (super-blocks of 256, x = d sc (q - 32), 16 int8
// scales, one per 16 elements; element e = 128 h + 32 k + l takes its low 4 bits from
// ql[64 h + 32 (k & 1) + l] (high nibble when k >= 2) and bits 4..5 from qh[32 h + l] >> 2k).
// Layout of a row (u32 index rb, a multiple of 4), nb super-blocks, repacked at load so that
// the bodies are 16-byte aligned:
//   words [52 b, 52 b + 52)    ql[128] (words 0..31), qh[64] (32..47), scales[16] (48..51)
//   halves of words [52 nb, ..) d of super-block b (f16) at half b
// padded to a multiple of 4 words. Needs W: array<u32>, W4: array<vec4<u32>> (same buffer).
const WQ_BLOCK: u32 = 256u;
const WQ_INT: bool = true;

fn wq_d(rb: u32, nb: u32, b: u32) -> f32 {
    return unpack2x16float(W[rb + 52u * nb + (b >> 1u)])[b & 1u];
}

// Signed scale byte s (0..15) of the super-block at word o.
fn wq_sc(o: u32, s: u32) -> f32 {
    let w = W[o + 48u + (s >> 2u)];
    return f32(bitcast<i32>(w << (24u - 8u * (s & 3u))) >> 24u);
}

fn wq_dq4(rb: u32, nb: u32, e: u32) -> vec4<f32> {
    let b = e >> 8u;
    let o = rb + 52u * b;
    let i = e & 255u;
    let j = i >> 5u;
    let hh = j >> 2u;
    let k = j & 3u;
    let l4 = (i & 31u) >> 2u;
    let lo = (W[o + 16u * hh + 8u * (k & 1u) + l4] >> (4u * (k >> 1u))) & 0x0F0F0F0Fu;
    let q = lo | (((W[o + 32u + 8u * hh + l4] >> (2u * k)) & 0x03030303u) << 4u);
    return (vec4<f32>(unpack4xU8(q)) - 32.0) * (wq_d(rb, nb, b) * wq_sc(o, i >> 4u));
}

// Unit u (32 elements of a super-block) as signed bytes q - 32: elements 0..15, then 16..31.
fn wq_q6_bytes(rb: u32, u: u32) -> array<vec4<u32>, 2> {
    let j = u & 7u;
    let hh = j >> 2u;
    let k = j & 3u;
    let v = (rb >> 2u) + 13u * (u >> 3u);
    let la = W4[v + 4u * hh + 2u * (k & 1u)];
    let lb = W4[v + 4u * hh + 2u * (k & 1u) + 1u];
    let ha = W4[v + 8u + 2u * hh];
    let hb = W4[v + 9u + 2u * hh];
    let ls = vec4<u32>(4u * (k >> 1u));
    let hs = vec4<u32>(2u * k);
    let m = vec4<u32>(0x0F0F0F0Fu);
    let m2 = vec4<u32>(0x03030303u);
    let qa = ((la >> ls) & m) | (((ha >> hs) & m2) << vec4<u32>(4u));
    let qb = ((lb >> ls) & m) | (((hb >> hs) & m2) << vec4<u32>(4u));
    let c = vec4<u32>(0x80808080u);
    let t = vec4<u32>(0x20202020u);
    return array<vec4<u32>, 2>(((qa | c) - t) ^ c, ((qb | c) - t) ^ c);
}

// The signed scales of unit u's two halves.
fn wq_q6_scales(rb: u32, u: u32) -> vec2<f32> {
    let j = u & 7u;
    let sw = W[rb + 52u * (u >> 3u) + 48u + (j >> 1u)];
    let sh = 16u * (j & 1u);
    return vec2<f32>(f32(bitcast<i32>(sw << (24u - sh)) >> 24u), f32(bitcast<i32>(sw << (16u - sh)) >> 24u));
}

fn wq_dot32(rb: u32, nb: u32, u: u32, xa: vec4<u32>, xb: vec4<u32>, dx: f32, sx: f32) -> f32 {
    let q = wq_q6_bytes(rb, u);
    let sa = dot4I8Packed(q[0].x, xa.x) + dot4I8Packed(q[0].y, xa.y) + dot4I8Packed(q[0].z, xa.z) +
             dot4I8Packed(q[0].w, xa.w);
    let sb = dot4I8Packed(q[1].x, xb.x) + dot4I8Packed(q[1].y, xb.y) + dot4I8Packed(q[1].z, xb.z) +
             dot4I8Packed(q[1].w, xb.w);
    let sc = wq_q6_scales(rb, u);
    return wq_d(rb, nb, u >> 3u) * dx * (sc.x * f32(sa) + sc.y * f32(sb));
}

// wq_unit (matmul_q): unit u (32 elements, two scales) as signed int8 a (elements 0..15) with
// x = s.x a and b (16..31) with x = s.y b.
const WQ_SPLIT: bool = true;
const WQ_ASYM: bool = false;
struct WqUnit { a: vec4<u32>, b: vec4<u32>, s: vec4<f32> }
fn wq_unit(rb: u32, nb: u32, u: u32) -> WqUnit {
    let q = wq_q6_bytes(rb, u);
    let d = wq_d(rb, nb, u >> 3u);
    let sc = wq_q6_scales(rb, u);
    return WqUnit(q[0], q[1], vec4<f32>(d * sc.x, d * sc.y, 0.0, 0.0));
}
