//! Step 1 of the schedule: the spikes emitted at `t_k` added into their
//! targets' ring-buffer slots (or, without delay, straight into the state
//! variable they act on).

use super::part::Part;
use super::Shared;
use crate::model::Real;
use crate::network::sparse::Weights;

impl<T: Real> Part<T> {
    /// Adds the weights of the spikes `fired` emitted at `t_k` into the ring
    /// slots of their arrival (or, for synapses without delay onto a state
    /// that takes weights as they are, into that state, which takes them in
    /// at `t_k` anyway). Projection by projection, source by source in id
    /// order, synapse by synapse in row order: the same order into every
    /// slot, however the network is partitioned.
    pub(super) fn deliver(&mut self, k: u64, fired: &[u32], s: &Shared<'_, T>) {
        let len = self.range.len();
        let lo = self.range.start as u32;
        for proj in &self.connections {
            let ch = proj.channel;
            let ring = &mut self.ring[ch];
            let dirty = &mut self.dirty[ch];
            let mut direct = s.direct[ch].map(|a| &mut self.arrays[a]);
            let csr = &proj.csr;
            let all = csr.targets();
            // First touch every row: the loads of the row bounds are
            // independent, so their cache misses overlap, and the rows' first
            // targets are on their way before the scatter needs them.
            for &j in fired {
                if let Some(row) = proj.row_of(j as usize) {
                    prefetch(all.as_ptr().wrapping_add(csr.row(row).start));
                }
            }
            for &j in fired {
                let Some(row) = proj.row_of(j as usize) else {
                    continue;
                };
                // The partition's own rows: every target is one of its
                // neurons. A row is one stretch per delay, each in target
                // order, each written into one slot.
                let r = csr.row(row);
                let mut at = r.start;
                while at < r.end {
                    let (d, end) = csr.delays().group(at, r.end);
                    let dest: &mut [T] = match direct.as_deref_mut() {
                        Some(state) if d == 0 => state,
                        _ => {
                            let slot = ((k + d as u64) & s.mask) as usize;
                            dirty[slot] = true;
                            &mut ring[slot * len..(slot + 1) * len]
                        }
                    };
                    let targets = &all[at..end];
                    match csr.weights() {
                        Weights::Constant(w) => scatter(dest, targets, lo, |_| *w),
                        Weights::Single(w) => {
                            let w = &w[at..end];
                            scatter(dest, targets, lo, |i| T::from_f64(w[i] as f64))
                        }
                        Weights::Full(w) => {
                            let w = &w[at..end];
                            scatter(dest, targets, lo, |i| w[i])
                        }
                    }
                    at = end;
                }
            }
        }
    }
}

/// `dest[t - lo] += weight(i)` for the `i`-th target `t`: one stretch of a
/// spike's synapses delivered into one ring slot.
#[inline(always)]
fn scatter<T: Real>(dest: &mut [T], targets: &[u32], lo: u32, weight: impl Fn(usize) -> T) {
    // Every target lies in [lo, lo + dest.len()): `targets` is a stretch of a
    // row of the partition's own connections, which hold only its neurons,
    // in ascending order.
    assert!(targets
        .first()
        .zip(targets.last())
        .is_none_or(|(&f, &l)| f >= lo && ((l - lo) as usize) < dest.len()));
    for (i, &t) in targets.iter().enumerate() {
        // SAFETY: the stretch is sorted, so first <= t <= last, both checked above.
        let x = unsafe { dest.get_unchecked_mut((t - lo) as usize) };
        *x = *x + weight(i);
    }
}

/// Asks the CPU to bring the cache line at `p` closer; never faults, whatever `p`.
#[inline(always)]
fn prefetch<V>(p: *const V) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it does not access memory architecturally
    // and cannot fault, whatever the address.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch(p.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
