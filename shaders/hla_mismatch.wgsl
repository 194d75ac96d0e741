// HLA mismatch counts as bitset algebra: for each (recipient, donor) pair and
// each segment, countOneBits(donor & ~self) summed over the segment's words,
// optionally OR-ed with a second word range (a DQ heterodimer's alpha and beta
// chains, or a DR/DQ locus union). CPU twin: src/compute/cpu/hla_mismatch.rs.
// Layouts mirror `HlaParams` and `HlaSegment` there (checked by a naga test).

struct Params {
    n_recipients: u32,
    n_donors: u32,
    recipient_words: u32,
    donor_words: u32,
    n_segments: u32,
    // 0: every donor against every recipient; 1: pair i = (recipient i, donor i).
    paired: u32,
    _pad0: u32,
    _pad1: u32,
}

struct Segment {
    donor_a: u32,
    recipient_a: u32,
    donor_b: u32,
    recipient_b: u32,
    words: u32,
    has_b: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> recipients: array<u32>;
@group(0) @binding(2) var<storage, read> donors: array<u32>;
@group(0) @binding(3) var<storage, read> segments: array<Segment>;
@group(0) @binding(4) var<storage, read_write> counts: array<u32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    var d = gid.x;
    var r = gid.y;
    var pair = 0u;
    if (params.paired == 1u) {
        if (d >= params.n_donors) {
            return;
        }
        r = d;
        pair = d;
    } else {
        if (d >= params.n_donors || r >= params.n_recipients) {
            return;
        }
        pair = r * params.n_donors + d;
    }
    let r_row = r * params.recipient_words;
    let d_row = d * params.donor_words;
    for (var s = 0u; s < params.n_segments; s = s + 1u) {
        let seg = segments[s];
        var acc = 0u;
        for (var w = 0u; w < seg.words; w = w + 1u) {
            var x = donors[d_row + seg.donor_a + w] & ~recipients[r_row + seg.recipient_a + w];
            if (seg.has_b == 1u) {
                x = x | (donors[d_row + seg.donor_b + w] & ~recipients[r_row + seg.recipient_b + w]);
            }
            acc = acc + countOneBits(x);
        }
        counts[pair * params.n_segments + s] = acc;
    }
}
