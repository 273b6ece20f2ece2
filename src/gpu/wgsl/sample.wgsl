// sample.wgsl — temperature / top-k / top-p / min-p sampling of one token on the GPU, in one
// workgroup, with the arithmetic of the CPU sampler (src/sampler.c): w = l / T, softmax, the
// best candidates sorted by probability (ties: lower id), top-k, then top-p (run.c's nucleus),
// then min-p relative to the best, and a draw r = coin * (kept mass) walking the sorted list;
// with none of the three, a draw over the whole distribution in id order. Candidates are the
// CMAX largest logits (exact radix select on the float bits, ties at the boundary resolved by
// lower id); exact whenever top_k is set (<= CMAX) or n_vocab <= CMAX, otherwise the nucleus is
// limited to the CMAX most likely tokens. The id goes to TOK[P.out_slot] and HIST[P.hist_pos].
//
// Bindings (group 0):
//   0 P     uniform  Params
//   1 L     storage, read        array<f32>  logits at P.l_off (penalties already applied)
//   2 TOK   storage, read_write  array<u32>  sampled ids
//   3 HIST  storage, read_write  array<u32>  token history
// Grid: (1, 1, 1); WG threads.

struct Params {
    n: u32, l_off: u32, out_slot: u32, hist_pos: u32,
    inv_temp: f32, top_k: u32, top_p: f32, min_p: f32,
    coin: f32, pad0: u32, pad1: u32, pad2: u32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> L: array<f32>;
@group(0) @binding(2) var<storage, read_write> TOK: array<u32>;
@group(0) @binding(3) var<storage, read_write> HIST: array<u32>;

override WG: u32 = 256u;
const CMAX: u32 = 1024u;

var<workgroup> red: array<f32, WG>;
var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> sel: array<u32, 4>;          // prefix, remaining k, count above, count of ties
var<workgroup> ties_got: u32;               // ties taken so far (read uniformly)
var<workgroup> ties_want: u32;
var<workgroup> ck: array<u32, CMAX>;        // candidate keys
var<workgroup> ci: array<u32, CMAX>;        // candidate ids
var<workgroup> n_cand: atomic<u32>;
var<workgroup> result: u32;

// Float bits -> unsigned key with the same order.
fn fkey(x: f32) -> u32 {
    let b = bitcast<u32>(x);
    if ((b >> 31u) != 0u) { return ~b; }
    return b | 0x80000000u;
}

fn kfloat(k: u32) -> f32 {
    if ((k >> 31u) != 0u) { return bitcast<f32>(k & 0x7FFFFFFFu); }
    return bitcast<f32>(~k);
}

fn w_of(i: u32) -> f32 { return L[P.l_off + i] * P.inv_temp; }

// (key desc, id asc): true if (ka, ia) sorts before (kb, ib)
fn before(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
    return ka > kb || (ka == kb && ia < ib);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) tid: u32) {
    let n = P.n;
    // max and sum of exp(w - max)
    var m = -3.4e38;
    for (var i = tid; i < n; i += WG) { m = max(m, w_of(i)); }
    red[tid] = m;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (tid < s) { red[tid] = max(red[tid], red[tid + s]); }
        workgroupBarrier();
    }
    let mx = red[0];
    workgroupBarrier();
    var z = 0.0;
    for (var i = tid; i < n; i += WG) { z += exp(w_of(i) - mx); }
    red[tid] = z;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (tid < s) { red[tid] += red[tid + s]; }
        workgroupBarrier();
    }
    let zsum = red[0];
    workgroupBarrier();

    let use_k = P.top_k > 0u && P.top_k < n;
    let use_p = P.top_p > 0.0 && P.top_p < 1.0;
    let use_min = P.min_p > 0.0;
    if (!use_k && !use_p && !use_min) {
        // plain draw in id order: thread segments, then a walk of the segment holding the coin
        let seg = (n + WG - 1u) / WG;
        var part = 0.0;
        for (var i = tid * seg; i < min(n, (tid + 1u) * seg); i++) { part += exp(w_of(i) - mx) / zsum; }
        red[tid] = part;
        workgroupBarrier();
        if (tid == 0u) {
            var cdf = 0.0;
            var id = n - 1u;
            var found = false;
            for (var t = 0u; t < WG && !found; t++) {
                if (P.coin < cdf + red[t]) {
                    for (var i = t * seg; i < min(n, (t + 1u) * seg); i++) {
                        cdf += exp(w_of(i) - mx) / zsum;
                        if (P.coin < cdf) { id = i; found = true; break; }
                    }
                    found = true;
                } else {
                    cdf += red[t];
                }
            }
            TOK[P.out_slot] = id;
            HIST[P.hist_pos] = id;
        }
        return;
    }

    // radix select of the k-th largest key, k = candidates wanted
    var want = min(CMAX, n);
    if (use_k) { want = min(P.top_k, CMAX); }
    if (tid == 0u) { sel[0] = 0u; sel[1] = want; }
    workgroupBarrier();
    for (var ps = 0u; ps < 4u; ps++) {
        let shift = 24u - 8u * ps;
        let hi_mask = select(0xFFFFFFFFu << (shift + 8u), 0u, ps == 0u);
        for (var b = tid; b < 256u; b += WG) { atomicStore(&hist[b], 0u); }
        workgroupBarrier();
        let prefix = sel[0];
        for (var i = tid; i < n; i += WG) {
            let k = fkey(w_of(i));
            if ((k & hi_mask) == (prefix & hi_mask)) { atomicAdd(&hist[(k >> shift) & 255u], 1u); }
        }
        workgroupBarrier();
        if (tid == 0u) {
            var rem = sel[1];
            var b = 255u;
            loop {
                let c = atomicLoad(&hist[b]);
                if (c >= rem || b == 0u) { break; }
                rem -= c;
                b -= 1u;
            }
            sel[0] = prefix | (b << shift);
            sel[1] = rem;
        }
        workgroupBarrier();
    }
    let tau = sel[0];
    if (tid == 0u) { ties_want = sel[1]; ties_got = 0u; } // elements equal to tau to take (lowest ids)
    workgroupBarrier();
    let take_ties = workgroupUniformLoad(&ties_want);
    if (tid == 0u) { atomicStore(&n_cand, 0u); }
    for (var i = tid; i < CMAX; i += WG) { ck[i] = 0u; ci[i] = 0xFFFFFFFFu; }
    workgroupBarrier();
    for (var i = tid; i < n; i += WG) {
        let k = fkey(w_of(i));
        if (k > tau) {
            let at = atomicAdd(&n_cand, 1u);
            if (at < CMAX) { ck[at] = k; ci[at] = i; }
        }
    }
    workgroupBarrier();
    // ties at tau in id order: chunks of WG indices, a prefix count per chunk
    let above = atomicLoad(&n_cand);
    workgroupBarrier();
    if (tid == 0u) { sel[2] = above; }
    workgroupBarrier();
    for (var base = 0u; base < n; base += WG) {
        if (workgroupUniformLoad(&ties_got) >= take_ties) { break; }
        let i = base + tid;
        var is_tie = 0.0;
        if (i < n && fkey(w_of(i)) == tau) { is_tie = 1.0; }
        red[tid] = is_tie;
        workgroupBarrier();
        if (tid == 0u) {
            var got = ties_got;
            for (var t = 0u; t < WG && got < take_ties; t++) {
                if (red[t] != 0.0) {
                    let at = sel[2] + got;
                    if (at < CMAX) { ck[at] = tau; ci[at] = base + t; }
                    got++;
                }
            }
            ties_got = got;
        }
        workgroupBarrier();
    }
    let nc = min(sel[2] + workgroupUniformLoad(&ties_got), CMAX);
    workgroupBarrier();
    // bitonic sort of the CMAX slots: (key desc, id asc); empty slots (key 0, id max) last
    for (var size = 2u; size <= CMAX; size <<= 1u) {
        for (var stride = size >> 1u; stride > 0u; stride >>= 1u) {
            for (var t = tid; t < CMAX / 2u; t += WG) {
                let lo = 2u * stride * (t / stride) + (t % stride);
                let hi = lo + stride;
                let up = (lo & size) == 0u;
                let ka = ck[lo]; let ia = ci[lo]; let kb = ck[hi]; let ib = ci[hi];
                if (before(kb, ib, ka, ia) == up) {
                    ck[lo] = kb; ci[lo] = ib; ck[hi] = ka; ci[hi] = ia;
                }
            }
            workgroupBarrier();
        }
    }
    if (tid == 0u) {
        var cnt = nc;
        if (use_k) { cnt = min(P.top_k, nc); }
        else if (use_p) {
            // run.c: tokens below (1 - top_p) / (n - 1) cannot be in the nucleus
            let cutoff = (1.0 - P.top_p) / f32(n - 1u);
            var c = 0u;
            while (c < cnt && exp(kfloat(ck[c]) - mx) / zsum >= cutoff) { c++; }
            cnt = c;
        }
        var id = 0u;
        if (cnt > 0u) {
            if (use_p) {
                var cum = 0.0;
                var last = cnt - 1u;
                for (var i = 0u; i < cnt; i++) {
                    cum += exp(kfloat(ck[i]) - mx) / zsum;
                    if (cum > P.top_p) { last = i; break; }
                }
                cnt = last + 1u;
            }
            if (use_min) {
                let floor_p = P.min_p * (exp(kfloat(ck[0]) - mx) / zsum);
                var keep = 1u;
                while (keep < cnt && exp(kfloat(ck[keep]) - mx) / zsum >= floor_p) { keep++; }
                cnt = keep;
            }
            var total = 0.0;
            for (var i = 0u; i < cnt; i++) { total += exp(kfloat(ck[i]) - mx) / zsum; }
            let r = P.coin * total;
            var cdf = 0.0;
            id = ci[cnt - 1u];
            for (var i = 0u; i < cnt; i++) {
                cdf += exp(kfloat(ck[i]) - mx) / zsum;
                if (r < cdf) { id = ci[i]; break; }
            }
        }
        TOK[P.out_slot] = id;
        HIST[P.hist_pos] = id;
    }
}
