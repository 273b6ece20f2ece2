// qs_unit.wgsl — prefix module: one q-stream unit (the layout of matvec_q.wgsl) from 32 values
// the kernel holds, for every kernel that writes q-streams (matvec_q with QOUT; the attention
// kernels through qs_out.wgsl). The kernel defines qs_t(i), the value to quantize, and qs_y(i),
// the value whose square is summed (the same value, or the value before a norm weight).
struct QsUnit { lo: vec4<u32>, hi: vec4<u32>, m: vec4<f32> }

// Values k0..k0+31: int8 round(t * 127 / amax) (elements 0..15 in lo, 16..31 in hi) and
// m = (d = amax / 127, d * sum of the int8 values, sum of y^2, 0).
fn qs_unit(k0: u32) -> QsUnit {
    var amax = 0.0;
    var ss = 0.0;
    for (var j = 0u; j < 32u; j++) {
        let y = qs_y(k0 + j);
        ss += y * y;
        amax = max(amax, abs(qs_t(k0 + j)));
    }
    var id = 0.0;
    if (amax != 0.0) { id = 127.0 / amax; }
    var w: array<u32, 8>;
    var sum = 0;
    for (var j = 0u; j < 8u; j++) {
        let b = k0 + 4u * j;
        let q = vec4<i32>(round(vec4<f32>(qs_t(b), qs_t(b + 1u), qs_t(b + 2u), qs_t(b + 3u)) * id));
        sum += q.x + q.y + q.z + q.w;
        w[j] = pack4xI8(q);
    }
    let d = amax / 127.0;
    return QsUnit(vec4<u32>(w[0], w[1], w[2], w[3]), vec4<u32>(w[4], w[5], w[6], w[7]),
                  vec4<f32>(d, d * f32(sum), ss, 0.0));
}
