// sg_off.wgsl — prefix module: no subgroups (kernels reduce through workgroup memory).
const SG: bool = false;
fn sg_xor(v: f32, m: u32) -> f32 { return v; }
fn sg_xor_u(v: u32, m: u32) -> u32 { return v; }
