//! Step 1 of the schedule for a procedural projection (GeNN's procedural
//! connectivity): no synapse is stored; a firing source's synapses are
//! drawn again from its streams ([`SourceKeyed::each`]) and those onto the
//! partition's neurons are added where stored delivery (`delivery.rs`)
//! adds them. Stored rows hold the same synapses sorted by (delay, target),
//! stably, so every ring value (and every state value a synapse without
//! delay goes into) receives the same weights in the same order, source by
//! source in the order of `fired`: the sums, and the spikes, are the same
//! bits. The ring slots marked dirty are the same too: every slot from the
//! shortest to the longest delay of the source's synapses onto the
//! partition that go through the ring.

use std::collections::HashSet;

use super::delivery::prefetch;
use crate::model::Real;
use crate::network::build::Connections;
use crate::network::source_keyed::SourceKeyed;

/// How far ahead ring values are asked for, in synapses.
const PREFETCH: usize = 32;

/// Where one projection's spikes go in one partition at step `k`.
pub(super) struct Dest<'a, T> {
    /// The channel's ring: one row of `len` values per slot.
    pub(super) ring: &'a mut [T],
    /// Per slot: whether anything was added since it was last taken in.
    pub(super) dirty: &'a mut [bool],
    /// The state array synapses with delay `direct_delay` go straight
    /// into, if any.
    pub(super) direct: Option<&'a mut [T]>,
    /// No delay, or one step for a late projection ([`layout::late_projections`](super::layout::late_projections)).
    pub(super) direct_delay: u16,
    pub(super) k: u64,
    pub(super) mask: u64,
    /// The partition's first neuron and its number of neurons.
    pub(super) lo: u32,
    pub(super) len: usize,
}

/// Adds the synapses of every source in `fired` (global ids, ascending)
/// of projection `conn` (drawn by `gen`) onto the partition's neurons.
pub(super) fn deliver<T: Real>(
    gen: &SourceKeyed,
    conn: &Connections<T>,
    fired: &[u32],
    dest: Dest<'_, T>,
) {
    let Dest {
        ring,
        dirty,
        mut direct,
        direct_delay,
        k,
        mask,
        lo,
        len,
    } = dest;
    let hi = lo as u64 + len as u64;
    let mut seen = HashSet::new();
    // One source's ring values and weights, in the order drawn: added in a
    // second pass that asks for each value PREFETCH synapses ahead (the
    // targets are in no order, so each value is a cache miss; the order of
    // the sums is the order drawn either way).
    let mut at: Vec<(usize, T)> = Vec::new();
    for &j in fired {
        let Some(row) = conn.row_of(j as usize) else {
            continue;
        };
        // The shortest and longest delay that went through the ring.
        let (mut first, mut last) = (u16::MAX, 0u16);
        at.clear();
        gen.each(row, &mut seen, |t, w, d| {
            if (t as u64) < lo as u64 || (t as u64) >= hi {
                return;
            }
            let i = (t - lo) as usize;
            let w: T = gen.stored_weight(w);
            if d == direct_delay {
                if let Some(state) = direct.as_deref_mut() {
                    state[i] = state[i] + w;
                    return;
                }
            }
            first = first.min(d);
            last = last.max(d);
            at.push((((k + d as u64) & mask) as usize * len + i, w));
        });
        for (n, &(x, w)) in at.iter().enumerate() {
            if let Some(&(ahead, _)) = at.get(n + PREFETCH) {
                prefetch(ring.as_ptr().wrapping_add(ahead));
            }
            ring[x] = ring[x] + w;
        }
        if first <= last {
            let (first, last) = (first as u64, last as u64);
            for d in first..=last.min(first + mask) {
                dirty[((k + d) & mask) as usize] = true;
            }
        }
    }
}
