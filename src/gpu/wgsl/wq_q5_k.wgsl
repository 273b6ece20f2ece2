// wq_q5_k.wgsl — weight-format module: Q5_K (as Q4_K plus a fifth bit: bit j of qh[l] is the
// high bit of element l of sub-block j).
// Layout of a row (u32 index rb, a multiple of 4): the ggml blocks unchanged (176 bytes = 44
// words = 11 vec4 each): word 0 = d | dmin, words 1..3 = scales[12], words 4..11 = qh[32],
// words 12..43 = qs[128]. Needs W: array<u32>, W4: array<vec4<u32>> (same buffer).
const WQ_BLOCK: u32 = 256u;
const WQ_INT: bool = true;

fn wq_scale_min(s: vec3<u32>, j: u32) -> vec2<f32> {
    if (j < 4u) {
        let sh = 8u * j;
        return vec2<f32>(f32((s.x >> sh) & 63u), f32((s.y >> sh) & 63u));
    }
    let sh = 8u * (j - 4u);
    let sc = ((s.z >> sh) & 15u) | (((s.x >> (sh + 6u)) & 3u) << 4u);
    let m = ((s.z >> (sh + 4u)) & 15u) | (((s.y >> (sh + 6u)) & 3u) << 4u);
    return vec2<f32>(f32(sc), f32(m));
}

fn wq_dq4(rb: u32, nb: u32, e: u32) -> vec4<f32> {
    let o = rb + 44u * (e >> 8u);
    let i = e & 255u;
    let c = i >> 6u;
    let hi = (i >> 5u) & 1u;
    let j = 2u * c + hi;
    let l4 = (i & 31u) >> 2u;
    let lo = (W[o + 12u + 8u * c + l4] >> (4u * hi)) & 0x0F0F0F0Fu;
    let q = lo | (((W[o + 4u + l4] >> j) & 0x01010101u) << 4u);
    let h = W4[o >> 2u];
    let dm = unpack2x16float(h.x);
    let sm = wq_scale_min(h.yzw, j);
    return vec4<f32>(unpack4xU8(q)) * (dm.x * sm.x) - dm.y * sm.y;
}

fn wq_dot32(rb: u32, nb: u32, u: u32, xa: vec4<u32>, xb: vec4<u32>, dx: f32, sx: f32) -> f32 {
    let v = (rb >> 2u) + 11u * (u >> 3u);
    let j = u & 7u;
    let h = W4[v];
    let ha = W4[v + 1u];
    let hb = W4[v + 2u];
    let qa = W4[v + 3u + 2u * (j >> 1u)];
    let qb = W4[v + 4u + 2u * (j >> 1u)];
    let sh = 4u * (j & 1u);
    let m = 0x0F0F0F0Fu;
    let one = 0x01010101u;
    let s = dot4I8Packed(((qa.x >> sh) & m) | (((ha.x >> j) & one) << 4u), xa.x) +
            dot4I8Packed(((qa.y >> sh) & m) | (((ha.y >> j) & one) << 4u), xa.y) +
            dot4I8Packed(((qa.z >> sh) & m) | (((ha.z >> j) & one) << 4u), xa.z) +
            dot4I8Packed(((qa.w >> sh) & m) | (((ha.w >> j) & one) << 4u), xa.w) +
            dot4I8Packed(((qb.x >> sh) & m) | (((hb.x >> j) & one) << 4u), xb.x) +
            dot4I8Packed(((qb.y >> sh) & m) | (((hb.y >> j) & one) << 4u), xb.y) +
            dot4I8Packed(((qb.z >> sh) & m) | (((hb.z >> j) & one) << 4u), xb.z) +
            dot4I8Packed(((qb.w >> sh) & m) | (((hb.w >> j) & one) << 4u), xb.w);
    let dm = unpack2x16float(h.x);
    let sm = wq_scale_min(h.yzw, j);
    return dm.x * sm.x * dx * f32(s) - dm.y * sm.y * sx;
}

// wq_unit (matmul_q): sub-block u as int8 a (elements 0..15), b (16..31) with x = s.x a + s.z.
const WQ_SPLIT: bool = false;
const WQ_ASYM: bool = true;
struct WqUnit { a: vec4<u32>, b: vec4<u32>, s: vec4<f32> }
fn wq_unit(rb: u32, nb: u32, u: u32) -> WqUnit {
    let v = (rb >> 2u) + 11u * (u >> 3u);
    let j = u & 7u;
    let h = W4[v];
    let sh = vec4<u32>(4u * (j & 1u));
    let m = vec4<u32>(0x0F0F0F0Fu);
    let one = vec4<u32>(0x01010101u);
    let jj = vec4<u32>(j);
    let a = ((W4[v + 3u + 2u * (j >> 1u)] >> sh) & m) | (((W4[v + 1u] >> jj) & one) << vec4<u32>(4u));
    let b = ((W4[v + 4u + 2u * (j >> 1u)] >> sh) & m) | (((W4[v + 2u] >> jj) & one) << vec4<u32>(4u));
    let dm = unpack2x16float(h.x);
    let sm = wq_scale_min(h.yzw, j);
    let sc = dm.x * sm.x;
    return WqUnit(a, b, vec4<f32>(sc, sc, -dm.y * sm.y, 0.0));
}
