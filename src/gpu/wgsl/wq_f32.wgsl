// wq_f32.wgsl — weight-format module: F32 rows, for kernels that read weights through wq_*.
// Layout of a row (u32 index rb): n floats (as bits), padded to a multiple of 4 words.
// Needs from the kernel: W: array<u32> and W4: array<vec4<u32>> (the same buffer).
// Provides: WQ_BLOCK, wq_dq4(rb, nb, e) = elements e..e+3 (e % 4 == 0); nb = n / WQ_BLOCK.
const WQ_BLOCK: u32 = 1u;
const WQ_INT: bool = false; // no integer-dot path

fn wq_dq4(rb: u32, nb: u32, e: u32) -> vec4<f32> {
    return bitcast<vec4<f32>>(W4[(rb + e) >> 2u]);
}

fn wq_dot32(rb: u32, nb: u32, u: u32, xa: vec4<u32>, xb: vec4<u32>, dx: f32, sx: f32) -> f32 {
    return 0.0; // unused: float weights take the f32 path
}
