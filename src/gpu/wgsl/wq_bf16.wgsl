// wq_bf16.wgsl — weight-format module: BF16 rows (the high 16 bits of an f32).
// Layout of a row (u32 index rb): n bfloat16 values, two per word (element 2i in the low half),
// padded to a multiple of 4 words. Needs W: array<u32>, W4: array<vec4<u32>> (same buffer).
const WQ_BLOCK: u32 = 1u;
const WQ_INT: bool = false;

fn wq_dq4(rb: u32, nb: u32, e: u32) -> vec4<f32> {
    let i = rb + (e >> 1u);
    let a = W[i];
    let b = W[i + 1u];
    return bitcast<vec4<f32>>(vec4<u32>(a << 16u, a & 0xFFFF0000u, b << 16u, b & 0xFFFF0000u));
}

fn wq_dot32(rb: u32, nb: u32, u: u32, xa: vec4<u32>, xb: vec4<u32>, dx: f32, sx: f32) -> f32 {
    return 0.0;
}
