// bench_read.wgsl — benchmark only: streams P.n vec4<u32> of S (each once) and writes one
// value per workgroup, the WGSL memory-read roofline that decode bandwidth is compared with.
//
// Bindings (group 0):
//   0 P    uniform  Params
//   1 S    storage, read        array<vec4<u32>>  the data
//   2 OUT  storage, read_write  array<u32>        one word per workgroup
// Grid: (n_wg, 1, 1); workgroup w reads vec4 i = w * WG + tid + k * WG * n_wg.

struct Params { n: u32, n_wg: u32, pad0: u32, pad1: u32, }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> S: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> OUT: array<u32>;

override WG: u32 = 256u;

var<workgroup> red: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    var acc = vec4<u32>(0u);
    let stride = WG * P.n_wg;
    for (var i = wid.x * WG + tid; i < P.n; i += stride) { acc ^= S[i]; }
    red[tid] = acc.x ^ acc.y ^ acc.z ^ acc.w;
    workgroupBarrier();
    if (tid == 0u) {
        var r = 0u;
        for (var k = 0u; k < WG; k++) { r ^= red[k]; }
        OUT[wid.x] = r;
    }
}
