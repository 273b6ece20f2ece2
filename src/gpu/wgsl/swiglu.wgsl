// swiglu.wgsl — H[t][i] = silu(GU[t][i]) * GU[t][F + i] for T rows (prefill: the fused gate|up
// product has rows of 2F; the decode path fuses this into matvec's epilogue).
//
// Bindings (group 0):
//   0 P   uniform  Params
//   1 GU  storage, read        array<f32>  T rows of 2F floats (gate then up)
//   2 H   storage, read_write  array<f32>  T rows of F floats
// Grid: (ceil(F / WG), T).

struct Params { f: u32, pad0: u32, pad1: u32, pad2: u32, }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> GU: array<f32>;
@group(0) @binding(2) var<storage, read_write> H: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    let t = gid.y;
    if (i >= P.f) { return; }
    let g = GU[2u * P.f * t + i];
    let u = GU[2u * P.f * t + P.f + i];
    H[P.f * t + i] = g / (1.0 + exp(-g)) * u;
}
