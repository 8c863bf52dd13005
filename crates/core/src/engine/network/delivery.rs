//! Step 1 of the schedule: the spikes emitted at `t_k` added into their
//! targets' ring-buffer slots (or, without delay, straight into the state
//! variable they act on).

use super::part::Part;
use super::procedural;
use super::Shared;
use crate::model::Real;
use std::ops::Range;

use crate::engine::kernel;
use crate::network::build::Connections;
use crate::network::dense_columns::DenseColumns;
use crate::network::sparse::{Csr, Delays, Weights};

/// The weight of the `i`-th synapse of a stretch, for each way weights are
/// stored: each loop is compiled for its own.
trait WeightOf<T>: Copy {
    fn of(self, i: usize) -> T;
}

/// One weight for every synapse.
#[derive(Clone, Copy)]
struct Same<T>(T);

/// Weights in single precision.
#[derive(Clone, Copy)]
struct Single<'a>(&'a [f32]);

/// Weights at the simulation's precision.
#[derive(Clone, Copy)]
struct Full<'a, T>(&'a [T]);

impl<T: Real> WeightOf<T> for Same<T> {
    #[inline(always)]
    fn of(self, _: usize) -> T {
        self.0
    }
}

impl<T: Real> WeightOf<T> for Single<'_> {
    #[inline(always)]
    fn of(self, i: usize) -> T {
        T::from_f64(self.0[i] as f64)
    }
}

impl<T: Real> WeightOf<T> for Full<'_, T> {
    #[inline(always)]
    fn of(self, i: usize) -> T {
        self.0[i]
    }
}

/// Runs `$body` with `$w` the [`WeightOf`] of synapses `$r` of `$csr`.
macro_rules! with_weights {
    ($csr:expr, $r:expr, |$w:ident| $body:expr) => {
        match $csr.weights() {
            Weights::Constant(x) => {
                let $w = Same(*x);
                $body
            }
            Weights::Single(v) => {
                let $w = Single(&v[$r]);
                $body
            }
            Weights::Full(v) => {
                let $w = Full(&v[$r]);
                $body
            }
        }
    };
}

impl<T: Real> Part<T> {
    /// Adds the weights of the spikes `fired` emitted at `t_k` into the ring
    /// slots of their arrival (or, for synapses without delay onto a state
    /// that takes weights as they are, into that state, which takes them in
    /// at `t_k` anyway). Group by group of projections delivered as one
    /// ([`merge`](super::merge): the projections out of the same sources,
    /// their rows merged, in the place of the first), source by source in
    /// id order, synapse by synapse in row order: the same order into every
    /// slot, however the network is partitioned.
    pub(super) fn deliver(&mut self, k: u64, fired: &[u32], s: &Shared<'_, T>) {
        self.deliver_projections(k, fired, s, false);
    }

    /// The end of step 4 of the schedule: after the update of step `k`, the spikes
    /// emitted at `t_k` of the projections that go straight into their
    /// state one step later ([`late_projections`](super::layout::late_projections)), added to it. A weight
    /// arriving at `t_{k+1}` is what the next update would take in first,
    /// unchanged ([`crate::neuron::Dynamics::direct_input`]), so it can be
    /// added now: no ring slot is written, and a channel that nothing else
    /// writes leaves the next update with no ring row to read and zero.
    pub(super) fn deliver_late(&mut self, k: u64, fired: &[u32], s: &Shared<'_, T>) {
        if s.any_late {
            self.deliver_projections(k, fired, s, true);
        }
    }

    /// [`Self::deliver`] (`late` false) or [`Self::deliver_late`] (true):
    /// the projections of that kind, in projection order.
    fn deliver_projections(&mut self, k: u64, fired: &[u32], s: &Shared<'_, T>, late: bool) {
        // Most steps of a quiet network deliver nothing.
        if fired.is_empty() {
            return;
        }
        let len = self.range.len();
        let lo = self.range.start as u32;
        // The delay of the synapses that go straight into their state.
        let direct_delay = late as u16;
        for (p, proj) in self.connections.iter().enumerate() {
            if self.late[p] != late {
                continue;
            }
            let ch = proj.channel;
            let ring = &mut self.ring[ch];
            let dirty = &mut self.dirty[ch];
            let mut direct = s.direct[ch].map(|a| &mut self.arrays[a]);
            // Chosen once per projection and step, not per synapse.
            if let Some(gen) = &proj.procedural {
                let dest = procedural::Dest {
                    ring: &mut ring[..],
                    dirty: &mut dirty[..],
                    direct: direct.as_deref_mut().map(|v| v.as_mut_slice()),
                    direct_delay,
                    k,
                    mask: s.mask,
                    lo,
                    len,
                };
                procedural::deliver(gen, proj, fired, dest);
                continue;
            }
            if let Some(columns) = &proj.dense {
                let d = columns.delay() as u64;
                let (dest, clean) = match direct.as_deref_mut() {
                    Some(state) if d == 0 => (&mut state[..], false),
                    _ => {
                        let slot = ((k + d) & s.mask) as usize;
                        let clean = !dirty[slot];
                        let mut rows = fired.iter().filter_map(|&j| proj.row_of(j as usize));
                        let (first, second) = (rows.next(), rows.next());
                        if first.is_some() {
                            dirty[slot] = true;
                        }
                        // One spike into a clean row that nothing else
                        // writes: its column is read where it is.
                        if let (Some(row), None, true) = (first, second, clean && self.lends[p]) {
                            self.lent = Some((ch, p, row));
                            continue;
                        }
                        (&mut ring[slot * len..(slot + 1) * len], clean)
                    }
                };
                deliver_columns(dest, clean, columns, proj, fired, s);
                continue;
            }
            let csr = &proj.csr;
            let all = csr.targets();
            // First touch every row: the loads of the row bounds are
            // independent, so their cache misses overlap, and the rows' first
            // targets, weights and delays are on their way before the
            // scatter needs them.
            for &j in fired {
                if let Some(row) = proj.row_of(j as usize) {
                    let at = csr.row(row).start;
                    prefetch(all.as_ptr().wrapping_add(at));
                    match csr.weights() {
                        Weights::Constant(_) => {}
                        Weights::Single(w) => prefetch(w.as_ptr().wrapping_add(at)),
                        Weights::Full(w) => prefetch(w.as_ptr().wrapping_add(at)),
                    }
                    match csr.delays() {
                        Delays::Constant(_) => {}
                        Delays::Byte(d) => prefetch(d.as_ptr().wrapping_add(at)),
                        Delays::Short(d) => prefetch(d.as_ptr().wrapping_add(at)),
                    }
                }
            }
            for &j in fired {
                let Some(row) = proj.row_of(j as usize) else {
                    continue;
                };
                let r = csr.row(row);
                let at = match direct.as_deref_mut() {
                    Some(state) => deliver_direct(state, csr, r.clone(), lo, direct_delay),
                    None => r.start,
                };
                if at == r.end {
                    continue;
                }
                let ring = Ring {
                    values: &mut ring[..],
                    dirty: &mut dirty[..],
                    k,
                    mask: s.mask,
                    len,
                    lo,
                };
                match csr.delays() {
                    Delays::Constant(d) => deliver_one_delay(ring, csr, at..r.end, *d),
                    Delays::Byte(d) => deliver_each(ring, csr, at..r.end, d),
                    Delays::Short(d) => deliver_each(ring, csr, at..r.end, d),
                }
            }
        }
    }
}

/// Adds the columns of the sources in `fired` (in id order) into `dest`,
/// four at a time ([`kernel::accumulate4`]: the very sums of adding them
/// one by one, so the same bits as sparse rows or the seed's `W @ fired`,
/// with four columns streaming at once). Into a `clean` row (all zeros)
/// the first column is copied and the first two summed instead (`w0 + w1`
/// is `(0 + w0) + w1` but for the sign of a zero, which cannot change a
/// potential), as the seed's engine did. Never inlined: in the loop of
/// `deliver` it made the compiler lay out the sparse rows' scatter worse
/// (brunel 6 % slower), and it runs once per projection and step.
#[inline(never)]
fn deliver_columns<T: Real>(
    dest: &mut [T],
    clean: bool,
    columns: &DenseColumns<T>,
    proj: &Connections<T>,
    fired: &[u32],
    s: &Shared<'_, T>,
) {
    // Read here, not in `deliver`: code there moves its sparse loop.
    let (given, isa) = (s.given(), s.isa);
    let column = |row| columns.column(row, given);
    let mut rows = fired.iter().filter_map(|&j| proj.row_of(j as usize));
    if clean {
        match (rows.next(), rows.clone().next()) {
            (None, _) => return,
            (Some(a), None) => return dest.copy_from_slice(column(a)),
            (Some(a), Some(b)) => {
                rows.next();
                kernel::sum2(isa, dest, column(a), column(b));
            }
        }
    }
    let mut four: [&[T]; 4] = [&[]; 4];
    let mut n = 0;
    for row in rows {
        four[n] = column(row);
        n += 1;
        if n == 4 {
            kernel::accumulate4(isa, dest, four[0], four[1], four[2], four[3]);
            n = 0;
        }
    }
    for column in &four[..n] {
        kernel::accumulate(isa, dest, column);
    }
}

/// One channel's ring buffer seen from one step's delivery: `values` holds
/// one row of `len` values per slot, slot `(k + d) & mask` for a delay `d`.
struct Ring<'a, T> {
    values: &'a mut [T],
    dirty: &'a mut [bool],
    k: u64,
    mask: u64,
    len: usize,
    lo: u32,
}

impl<T> Ring<'_, T> {
    /// The first value of the slot a delay of `d` steps lands in, marked dirty.
    #[inline(always)]
    fn slot(&mut self, d: u64) -> usize {
        let slot = ((self.k + d) & self.mask) as usize;
        self.dirty[slot] = true;
        slot * self.len
    }
}

/// Adds the synapses with delay `direct` (no delay, or one step for a late
/// projection) at the start of row `r` (a row starts with its shortest
/// delay) straight into `state`; returns where the rest begins.
#[inline]
fn deliver_direct<T: Real>(
    state: &mut [T],
    csr: &Csr<T>,
    r: Range<usize>,
    lo: u32,
    direct: u16,
) -> usize {
    if r.is_empty() {
        return r.end;
    }
    let (d, end) = csr.delays().group(r.start, r.end);
    if d != direct {
        return r.start;
    }
    with_weights!(csr, r.start..end, |w| scatter(
        state,
        &csr.targets()[r.start..end],
        lo,
        w
    ));
    end
}

/// Synapses `r` of a projection whose synapses all have delay `d`: one
/// slot, written in target order.
#[inline]
fn deliver_one_delay<T: Real>(mut ring: Ring<'_, T>, csr: &Csr<T>, r: Range<usize>, d: u16) {
    let base = ring.slot(d as u64);
    let dest = &mut ring.values[base..base + ring.len];
    with_weights!(csr, r.clone(), |w| scatter(
        dest,
        &csr.targets()[r.clone()],
        ring.lo,
        w
    ));
}

/// How far ahead [`deliver_each`] prefetches ring values, in synapses.
const PREFETCH: usize = 32;

/// Synapses `r` with a delay each (`delays`, ascending within the row):
/// each value goes to its own slot, one pass over the row with no work per
/// stretch of one delay (a stretch is a dozen synapses in PD14, and its
/// bookkeeping cost as much as its synapses). Every slot between the
/// shortest and longest delay is marked dirty (a row's delays are
/// ascending, so they are its first and last).
#[inline]
fn deliver_each<T: Real, D: Copy + Into<u64>>(
    mut ring: Ring<'_, T>,
    csr: &Csr<T>,
    r: Range<usize>,
    delays: &[D],
) {
    let (first, last) = (delays[r.start].into(), delays[r.end - 1].into());
    for d in first..=last.min(first + ring.mask) {
        ring.slot(d);
    }
    let (k, mask, len, lo) = (ring.k, ring.mask, ring.len, ring.lo);
    let values = &mut *ring.values;
    let targets = &csr.targets()[r.clone()];
    let delays = &delays[r.clone()];
    let at = |i: usize| ((k + delays[i].into()) & mask) as usize * len + (targets[i] - lo) as usize;
    with_weights!(csr, r, |w| {
        for i in 0..targets.len() {
            // Each value is a cache miss (the ring is larger than L2, and a
            // step touches most of its lines): ask for the one PREFETCH
            // synapses ahead, so more misses are in flight than the
            // out-of-order window would keep.
            if i + PREFETCH < targets.len() {
                prefetch(values.as_ptr().wrapping_add(at(i + PREFETCH)));
            }
            // Every target is one of the partition's neurons.
            let x = &mut values[at(i)];
            *x = *x + w.of(i);
        }
    })
}

/// `dest[t - lo] += w.of(i)` for the `i`-th target `t`: one stretch of a
/// spike's synapses delivered into one ring slot (or state).
#[inline(always)]
fn scatter<T: Real>(dest: &mut [T], targets: &[u32], lo: u32, w: impl WeightOf<T>) {
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
        *x = *x + w.of(i);
    }
}

/// Asks the CPU to bring the cache line at `p` closer; never faults, whatever `p`.
#[inline(always)]
pub(super) fn prefetch<V>(p: *const V) {
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
