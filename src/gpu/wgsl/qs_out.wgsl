// qs_out.wgsl — prefix module for the attention kernels (after qs_unit.wgsl): writes the HD
// output values of one head, staged in workgroup memory `ov`, also as q-stream units at word
// `qs` + 12 * (h * HD / 32 + unit) of O, for the attention-output product. One thread per
// unit; HD is a multiple of 32.
fn qs_t(i: u32) -> f32 { return ov[i]; }
fn qs_y(i: u32) -> f32 { return ov[i]; }

fn qs_write(tid: u32, h: u32, qs: u32) {
    if (tid < HD / 32u) {
        let u = qs_unit(32u * tid);
        let wb = qs + 12u * (h * (HD / 32u) + tid);
        let m = bitcast<vec4<u32>>(u.m);
        for (var j = 0u; j < 4u; j++) {
            O[wb + j] = u.lo[j];
            O[wb + 4u + j] = u.hi[j];
            O[wb + 8u + j] = m[j];
        }
    }
}
