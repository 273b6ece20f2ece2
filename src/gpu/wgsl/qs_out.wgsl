// qs_out.wgsl — prefix module for the attention kernels: writes the HD output values of one
// head, staged in workgroup memory `ov`, also as q-stream units (the layout of matvec_q.wgsl:
// per 32 values the int8 values as 8 words, then the f32 bits of d = amax / 127, d * the sum of
// the int8 values, the sum of their squares, 0) at word `qs` + 12 * (h * HD / 32 + unit) of O,
// for the attention-output product. One thread per unit; HD is a multiple of 32.
fn qs_write(tid: u32, h: u32, qs: u32) {
    if (tid < HD / 32u) {
        let k0 = 32u * tid;
        var amax = 0.0;
        var ss = 0.0;
        for (var j = 0u; j < 32u; j++) {
            let y = ov[k0 + j];
            ss += y * y;
            amax = max(amax, abs(y));
        }
        var id = 0.0;
        if (amax != 0.0) { id = 127.0 / amax; }
        let wb = qs + 12u * (h * (HD / 32u) + tid);
        var sum = 0;
        for (var j = 0u; j < 8u; j++) {
            let t = vec4<f32>(ov[k0 + 4u * j], ov[k0 + 4u * j + 1u], ov[k0 + 4u * j + 2u], ov[k0 + 4u * j + 3u]);
            let q = vec4<i32>(round(t * id));
            sum += q.x + q.y + q.z + q.w;
            O[wb + j] = pack4xI8(q);
        }
        let d = amax / 127.0;
        O[wb + 8u] = bitcast<u32>(d);
        O[wb + 9u] = bitcast<u32>(d * f32(sum));
        O[wb + 10u] = bitcast<u32>(ss);
        O[wb + 11u] = 0u;
    }
}
