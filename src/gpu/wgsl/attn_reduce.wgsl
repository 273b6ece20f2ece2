// attn_reduce.wgsl — combines the per-chunk partial results of attn_decode.wgsl:
// O[h][d] = sum_c exp(m_c - M) acc_c[d] / sum_c exp(m_c - M) l_c, M = max_c m_c.
//
// Bindings (group 0):
//   0 P     uniform  Params
//   1 PART  storage, read        array<f32>  [NH][n_chunks][HD + 2] (acc[HD], m, l)
//   2 O     storage, read_write  array<u32>  NH * HD floats (f32 bits), and with QS their
//                                            q-stream at word P.qs (qs_out.wgsl)
// Grid: (NH, 1, 1); workgroup size HD rounded up to 32.

struct Params { n_chunks: u32, qs: u32, pad1: u32, pad2: u32, }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> PART: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<u32>;

override HD: u32;
override WG: u32 = 128u;
override QS: bool = false; // also write the output as a q-stream

var<workgroup> ov: array<f32, HD>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let h = wid.x;
    var mx = -3.0e38;
    for (var c = 0u; c < P.n_chunks; c++) { mx = max(mx, PART[(h * P.n_chunks + c) * (HD + 2u) + HD]); }
    for (var d = tid; d < HD; d += WG) {
        var a = 0.0;
        var l = 0.0;
        for (var c = 0u; c < P.n_chunks; c++) {
            let pb = (h * P.n_chunks + c) * (HD + 2u);
            let w = exp(PART[pb + HD] - mx);
            a += w * PART[pb + d];
            l += w * PART[pb + HD + 1u];
        }
        O[h * HD + d] = bitcast<u32>(a / l);
        if (QS) { ov[d] = a / l; }
    }
    if (QS) {
        workgroupBarrier();
        qs_write(tid, h, P.qs);
    }
}
