// get_rows.wgsl — embedding lookup: X[t] = row IDS[ids_off + t] of W, dequantized to f32 with
// the module's wq_dq4, for the rows [row0, row0 + n_rows) that this piece of W holds (a table
// split across buffers is looked up once per piece; ids of other pieces are skipped).
//
// Bindings (group 0):
//   0 P    uniform  Params
//   1 W    storage, read        array<u32>        table rows of P.row_u32 words (wq_* layout)
//   2 W4   storage, read        array<vec4<u32>>  the same range as W
//   3 IDS  storage, read        array<u32>        token ids
//   4 X    storage, read_write  array<vec4<f32>>  output rows of N floats at P.x_off (floats)
// Grid: (ceil(N / 4 / WG), tokens).

struct Params {
    rb0: u32, row_u32: u32, row0: u32, n_rows: u32,
    ids_off: u32, x_off: u32, pad0: u32, pad1: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read> W4: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> IDS: array<u32>;
@group(0) @binding(4) var<storage, read_write> X: array<vec4<f32>>;

override N: u32;
override WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let t = wid.y;
    let id = IDS[P.ids_off + t];
    if (id < P.row0 || id - P.row0 >= P.n_rows) { return; }
    let q = wid.x * WG + tid;
    if (q >= N / 4u) { return; }
    let rb = P.rb0 + (id - P.row0) * P.row_u32;
    X[(P.x_off >> 2u) + t * (N / 4u) + q] = wq_dq4(rb, N / WQ_BLOCK, 4u * q);
}
