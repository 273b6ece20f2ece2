// sg_on.wgsl — prefix module: lane reductions through subgroup shuffles (the adapter has the
// "subgroups" feature and its subgroups are at least as wide as the lanes reduced).
enable subgroups;
diagnostic(off, subgroup_uniformity);
const SG: bool = true;
fn sg_xor(v: f32, m: u32) -> f32 { return subgroupShuffleXor(v, m); }
fn sg_xor_u(v: u32, m: u32) -> u32 { return subgroupShuffleXor(v, m); }
