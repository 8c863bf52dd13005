//! One partition: a contiguous range of neurons, their state, the synapses
//! onto them, the ring buffers of their inputs, and the step (the schedule
//! of `super`).

use std::ops::Range;

use rayon::prelude::*;

use super::inputs::LocalInputs;
use super::merge;
use super::Shared;
use crate::engine::exchange::{Exchange, Reduce};
use crate::engine::threads::RangeStep;
use crate::error::Result;
use crate::model::Real;
use crate::network::build::{self, Connections, Recipe};
use crate::network::description::{Connectivity, Timing};
use crate::neuron::{Arrivals, Block, Current, Dynamics, Lent, Receptor, State, StepIo};
use crate::synapses::SynapseKind;

/// A population's share of a partition.
pub(super) struct Segment<T: Real> {
    /// Its neurons, as indices into the partition.
    pub(super) local: Range<usize>,
    pub(super) dynamics: Box<dyn Dynamics<T>>,
    /// The engine's state array of each of the model's state names.
    pub(super) slots: Vec<usize>,
    pub(super) receptors: Vec<Receptor>,
    /// The external current, when the same for all these neurons.
    pub(super) i_const: Option<T>,
    pub(super) refractory_steps: u32,
    /// On the seed's time axis ([`Timing::Seed`]): a neuron found at
    /// threshold keeps its potential until the step that delivers its spike,
    /// which holds it at `v_reset` (`hold_steps`), as the seed resets it
    /// then; the potentials between steps are the seed's.
    defer_reset: bool,
    /// The model's bounds of its first state variable ([`StepIo::bounds`]).
    pub(super) bounds: Vec<T>,
    /// The neurons (indices into the segment) that may still be held: every
    /// held one is here, in the order they spiked ([`StepIo::held`]).
    pub(super) held: Vec<u32>,
    /// Whether the model reads `held` ([`Dynamics::lists_held`]).
    lists_held: bool,
}

impl<T: Real> Segment<T> {
    /// Whether its neurons take quiet steps ([`Part::advance_quiet`]): its
    /// model has them ([`Dynamics::quiet_steps`]) and one external current
    /// for all.
    fn takes_quiet_steps(&self) -> bool {
        self.i_const.is_some() && self.dynamics.quiet_steps()
    }

    /// Drops the neurons that step `k` releases from the held list
    /// (`until`, these neurons', at or below `k`).
    #[inline]
    fn release(&mut self, until: &[f64], k: u64) {
        if !self.held.is_empty() {
            self.held.retain(|&i| until[i as usize] > k as f64);
        }
    }

    /// Threshold and reset (step 4) of step `k`: the `ids` at threshold
    /// spike (appended to `fired`), are put at the reset value in `v` (on
    /// the seed's axis by the held step that delivers the spike instead:
    /// `defer_reset`) and integrate again after `refractory_steps` held
    /// steps (`until`); `v`, `until` are the partition's, whose first
    /// neuron is `start`.
    fn spike(
        &mut self,
        k: u64,
        ids: &[u32],
        fired: &mut Vec<u32>,
        v: &mut [T],
        until: &mut [f64],
        start: usize,
    ) {
        let reset = self.dynamics.reset();
        let next = (k + 1 + self.refractory_steps as u64) as f64;
        for &g in ids {
            let i = g as usize - start;
            if !self.defer_reset {
                v[i] = reset;
            }
            until[i] = next;
        }
        fired.extend_from_slice(ids);
        if self.refractory_steps > 0 && self.lists_held {
            let lo = (start + self.local.start) as u32;
            self.held.extend(ids.iter().map(|&g| g - lo));
        }
    }

    /// Marks the bounds unknown and finds the neurons that may be held
    /// again from `until` (these neurons'), after the engine set the state.
    pub(super) fn state_was_set(&mut self, until: &[f64]) {
        self.bounds.fill(T::from_f64(f64::INFINITY));
        self.held.clear();
        self.lists_held = self.dynamics.lists_held();
        if self.lists_held {
            let held = (0..until.len() as u32).filter(|&i| until[i as usize] > 0.0);
            self.held.extend(held);
        }
    }
}

/// The state of neurons `range` and the buffers of their inputs.
pub(super) struct Part<T: Real> {
    pub(super) range: Range<usize>,
    pub(super) segments: Vec<Segment<T>>,
    /// The named state arrays (`Shared::names`), one value per neuron of the
    /// partition each (zero for neurons whose model has no such state).
    pub(super) arrays: Vec<Vec<T>>,
    /// The first step at which each neuron integrates again (a float, so the
    /// vectorised test against the step number needs no conversion and the
    /// array is only read, except at spikes).
    pub(super) until: Vec<f64>,
    pub(super) i_ext: Vec<T>,
    /// Ring buffers per channel: `slots` rows of `range.len()` values.
    pub(super) ring: Vec<Vec<T>>,
    /// Per channel and slot: whether anything was added to the row since it
    /// was last taken in (a clean row holds zeros and is not read).
    pub(super) dirty: Vec<Vec<bool>>,
    scratch: Vec<T>,
    /// Room for the ids of every neuron of the partition: the models write
    /// the ids at threshold here without a call (a `Vec::push` in the loop
    /// made the compiler keep the constants on the stack around it).
    ids: Vec<u32>,
    pub(super) inputs: LocalInputs<T>,
    pub(super) fired: Vec<u32>,
    /// Per group of projections delivered as one ([`merge`]): their
    /// synapses onto this partition's neurons, and no others (built by the
    /// partition, [`partitions`]).
    pub(super) connections: Vec<Connections<T>>,
    /// Per group: whether it is late ([`late_projections`](super::layout::late_projections)).
    pub(super) late: Vec<bool>,
    /// The state monitors' share of this partition, if there are any.
    pub(super) probe: Option<super::probe::Probe>,
    /// Whether the partition has no inputs and every population here takes
    /// quiet steps ([`Segment::takes_quiet_steps`]).
    quiet: bool,
    /// Per projection: whether one spike's column may be lent to the update
    /// instead of copied into the ring ([`Lent`]): a dense projection
    /// without delay into the ring, the only thing that writes its channel
    /// here (so the row it would be copied to is clean and stays so).
    pub(super) lends: Vec<bool>,
    /// The column lent this step, if any: (channel, projection, its row).
    pub(super) lent: Option<(usize, usize, usize)>,
}

/// The partitions over `ranges` and what they have in common.
pub(super) struct Partitioned<T: Real> {
    pub(super) parts: Vec<Part<T>>,
    /// Ring-buffer slots per channel: a power of two above the longest delay.
    pub(super) slots: u64,
    /// The shortest delay of any synapse in steps: how long partitions run
    /// between exchanges.
    pub(super) interval: u64,
    /// Per projection: whether it is late ([`late_projections`](super::layout::late_projections)).
    pub(super) late: Vec<bool>,
}

/// The partitions of `net` over `ranges`, their state arrays named `names`
/// (`direct`: per channel, the array its undelayed weights go to).
/// Each builds the synapses onto its own neurons from the recipe, so no
/// partition holds another's synapses and no projection is ever built
/// whole; the synapses do not depend on the thread count. The ranges build
/// one after another, each in parallel over its projections and target
/// neurons (on a pool of `threads` threads where given, else the current
/// one): rows are filled from synapses drawn a batch at a time, so a range
/// takes little more than its rows while it builds.
pub(super) fn partitions<T: Real>(
    net: &Recipe<T>,
    ranges: Vec<Range<usize>>,
    names: &[String],
    direct: &[Option<usize>],
    threads: Option<usize>,
    ranks: Option<&dyn Exchange>,
) -> Result<Partitioned<T>> {
    let desc = &net.description;
    let projections = desc.projections.len();
    // Refuse a projection the whole network's memory (a rank's: its
    // neurons') would not hold before any range allocates.
    let own = ranges.first().map_or(0, |r| r.start)..ranges.last().map_or(0, |r| r.end);
    let own = if ranks.is_some() { own } else { 0..net.n() };
    for (k, p) in desc.projections.iter().enumerate() {
        if p.connectivity == Connectivity::Stored {
            crate::network::connectivity::check_projection_memory::<T>(desc, k, &own)?;
        }
    }
    // A range's projections build side by side (a projection's rows are
    // filled in one pass, so this is what keeps every core busy), their
    // results kept in projection order so the first error is the same
    // whatever the threads.
    let connect = || {
        ranges
            .iter()
            .map(|r| {
                let built: Vec<Result<Connections<T>>> = (0..projections)
                    .into_par_iter()
                    .map(|k| net.connections_for_run(k, r.clone()))
                    .collect();
                built.into_iter().collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()
    };
    // One pool builds and merges every range's synapses.
    let pool = threads.map(crate::engine::thread_pool).transpose()?;
    // The first error in range order, the same whatever the threads.
    let connections = on(pool.as_ref(), connect)?;
    let all = || connections.iter().flatten();
    let mut slots = (build::max_delay_steps(all()) + 2).next_power_of_two();
    let mut interval = build::min_delay_steps(all());
    if let Some(ranks) = ranks {
        // Every rank exchanges on the same steps and keeps the same ring
        // (the state of a checkpoint), whichever synapses it holds.
        slots = ranks.reduce(slots, Reduce::Max);
        interval = ranks.reduce(interval, Reduce::Min);
    }
    let late = super::layout::late_projections(net, direct, interval);
    let groups = merge::groups(net, &late);
    let merge = |c| merge::merged(c, &groups, &late);
    let parts = ranges
        .into_iter()
        .zip(connections)
        .map(|(range, c)| {
            let (c, late) = on(pool.as_ref(), || merge(c))?;
            Part::new(net, range, c, late, names, slots as usize)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Partitioned {
        parts,
        slots,
        interval,
        late,
    })
}

/// `f` run on `pool` where there is one, else on the current thread's.
fn on<R: Send>(pool: Option<&rayon::ThreadPool>, f: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(pool) => pool.install(f),
        None => f(),
    }
}

impl<T: Real> Part<T> {
    /// Neurons `range` of `net` and `connections`, the synapses onto them
    /// (one per group of projections delivered as one, [`merge`]) and
    /// whether each is `late`, their state arrays named `names`, with
    /// `slots` ring-buffer slots per channel.
    pub(super) fn new(
        net: &Recipe<T>,
        range: Range<usize>,
        connections: Vec<Connections<T>>,
        late: Vec<bool>,
        names: &[String],
        slots: usize,
    ) -> Result<Self> {
        debug_assert!(connections.iter().all(|c| c.targets == range));
        let len = range.len();
        let desc = &net.description;
        let mut arrays = vec![vec![T::ZERO; len]; names.len()];
        let mut segments = Vec::new();
        for (k, (pop, (_, span))) in desc.populations.iter().zip(&net.populations).enumerate() {
            let (lo, hi) = (span.start.max(range.start), span.end.min(range.end));
            if lo >= hi {
                continue;
            }
            let receptors = net.receptors[k].clone();
            let dynamics = pop.model.build::<T>(pop, desc.dt, &receptors)?;
            let slots: Vec<usize> = dynamics
                .state_names()
                .iter()
                .map(|n| {
                    names
                        .iter()
                        .position(|m| m == n)
                        .expect("every name is listed")
                })
                .collect();
            let local = lo - range.start..hi - range.start;
            for (i, g) in local.clone().zip(lo..hi) {
                arrays[slots[0]][i] = dynamics.initial(net.v0[g]);
            }
            let i_ext = &net.i_ext[lo..hi];
            segments.push(Segment {
                i_const: uniform_current(i_ext),
                refractory_steps: desc.hold_steps(pop),
                defer_reset: desc.timing == Timing::Seed,
                bounds: vec![
                    T::from_f64(f64::INFINITY);
                    crate::engine::kernel::bounds_len(hi - lo)
                ],
                held: Vec::new(),
                lists_held: false,
                local,
                dynamics,
                slots,
                receptors,
            });
        }
        let ring_len = slots.checked_mul(len).filter(|&b| b < usize::MAX / 16);
        let ring = net
            .channels
            .iter()
            .map(|_| {
                crate::resources::zeroed_vec(
                    "the synaptic ring buffer",
                    ring_len.unwrap_or(usize::MAX / 8),
                    "use shorter delays or fewer neurons",
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let mut until = vec![0.0; len];
        let fired = match desc.timing {
            Timing::Network => Vec::new(),
            Timing::Seed => initial_spikes(net, &range, &segments, &arrays, &mut until),
        };
        for seg in &mut segments {
            seg.state_was_set(&until[seg.local.clone()]);
        }
        let inputs = LocalInputs::new(net, &range);
        let lends = connections
            .iter()
            .map(|c| {
                c.dense.as_ref().is_some_and(|d| d.delay() == 0)
                    && connections
                        .iter()
                        .filter(|o| o.channel == c.channel)
                        .count()
                        == 1
                    && !inputs.writes(c.channel)
            })
            .collect();
        Ok(Self {
            lends,
            lent: None,
            connections,
            late,
            quiet: inputs.is_empty() && segments.iter().all(Segment::takes_quiet_steps),
            segments,
            arrays,
            until,
            i_ext: net.i_ext[range.clone()]
                .iter()
                .map(|&x| T::from_f64(x))
                .collect(),
            dirty: vec![vec![false; slots]; ring.len()],
            ring,
            scratch: vec![T::ZERO; len],
            ids: vec![0; len],
            inputs,
            fired,
            range,
            probe: None,
        })
    }

    /// The membrane potential (mV) of every neuron of the partition, in order.
    pub(super) fn voltages(&self, out: &mut Vec<f64>) {
        for s in &self.segments {
            let v = &self.arrays[s.slots[0]][s.local.clone()];
            out.extend(v.iter().map(|&x| s.dynamics.voltage(x)));
        }
    }

    /// One step (the schedule of `super`), given the spikes emitted at `t_k`.
    #[inline]
    pub(super) fn advance(&mut self, k: u64, fired: &[u32], s: &Shared<'_, T>) {
        if fired.is_empty() && self.is_quiet(k, s) {
            self.advance_quiet(k, s)
        } else {
            self.advance_all(k, fired, s)
        }
    }

    /// [`Self::advance`] on any step, every stage of the schedule. Kept out
    /// of line: the quiet steps that skip it do not pay for its registers.
    #[inline(never)]
    fn advance_all(&mut self, k: u64, fired: &[u32], s: &Shared<'_, T>) {
        let len = self.range.len();
        self.deliver(k, fired, s);
        self.inputs
            .apply(k, s.mask, len, &mut self.ring, &mut self.dirty);
        self.update_neurons::<false>(k, s);
        for (kind, dirty) in s.net.channels.iter().zip(&mut self.dirty) {
            dirty[read_slot(kind, k, s.mask)] = false;
        }
        if let Some(probe) = &mut self.probe {
            probe.sample(k, &self.arrays, &self.segments);
        }
        self.deliver_late(k, fired, s);
    }

    /// Whether step `k`, which delivers no spikes, is quiet for every
    /// neuron of the partition: nothing arrives (no input, no ring row
    /// written), every population takes quiet steps
    /// ([`Segment::takes_quiet_steps`]) and no state monitor samples.
    fn is_quiet(&self, k: u64, s: &Shared<'_, T>) -> bool {
        if !self.quiet || self.probe.is_some() {
            return false;
        }
        let mut channels = s.net.channels.iter().zip(&self.dirty);
        !channels.any(|(kind, dirty)| dirty[read_slot(kind, k, s.mask)])
    }

    /// A quiet step ([`Self::is_quiet`]): the same as [`Self::advance`]
    /// would do, by each model's quiet update ([`Dynamics::update_quiet`]);
    /// there is nothing to deliver, take in or clear.
    fn advance_quiet(&mut self, k: u64, s: &Shared<'_, T>) {
        self.update_neurons::<true>(k, s);
    }

    /// Steps 3 and 4 of the schedule: each population's update (its quiet
    /// one where `QUIET`), then threshold and reset.
    #[inline(always)]
    fn update_neurons<const QUIET: bool>(&mut self, k: u64, s: &Shared<'_, T>) {
        self.fired.clear();
        let lent = (self.lent.take()).map(|lent| lent_column(&self.connections, s, lent));
        let len = self.range.len();
        for seg in &mut self.segments {
            let l = seg.local.clone();
            seg.release(&self.until[l.clone()], k);
            let state = State::new(&mut self.arrays, &seg.slots, l.clone());
            let mut block = Block {
                now: k as f64,
                until: &self.until[l.clone()],
                base: (self.range.start + l.start) as u32,
                held: &seg.held,
                bounds: &mut seg.bounds,
                ids: &mut self.ids[l.clone()],
                count: 0,
                isa: s.isa,
            };
            let count = if QUIET {
                let i_ext = seg.i_const.expect("a quiet segment has one current");
                seg.dynamics.update_quiet(state, i_ext, &mut block);
                block.count
            } else {
                let mut io = StepIo {
                    block,
                    current: match seg.i_const {
                        Some(x) => Current::Uniform(x),
                        None => Current::PerNeuron(&self.i_ext[l.clone()]),
                    },
                    arrivals: Arrivals::new(
                        &mut self.ring,
                        &self.dirty,
                        &seg.receptors,
                        k,
                        s.mask,
                        len,
                        l.clone(),
                    )
                    .lending(lent),
                    scratch: &mut self.scratch[l.clone()],
                };
                seg.dynamics.update(state, &mut io);
                io.block.count
            };
            if count > 0 {
                let ids = &self.ids[l.start..l.start + count];
                let v = &mut self.arrays[seg.slots[0]];
                seg.spike(
                    k,
                    ids,
                    &mut self.fired,
                    v,
                    &mut self.until,
                    self.range.start,
                );
            }
        }
    }
}

/// On the seed's time axis ([`Timing::Seed`]): the neurons of `range` at or
/// above their threshold at `t_0` (sorted global ids), spikes at `t_0` that
/// the first step delivers; each is held at `v_reset` from that step on, as
/// a spike found by a step before the first would be.
fn initial_spikes<T: Real>(
    net: &Recipe<T>,
    range: &Range<usize>,
    segments: &[Segment<T>],
    arrays: &[Vec<T>],
    until: &mut [f64],
) -> Vec<u32> {
    let desc = &net.description;
    let mut fired = Vec::new();
    for seg in segments {
        let g = range.start + seg.local.start;
        let (pop, _) = (desc.populations.iter().zip(&net.populations))
            .find(|(_, (_, span))| span.contains(&g))
            .expect("every neuron is in a population");
        // The comparison of the update's threshold test, in the model's
        // coordinates and the simulation's float type.
        let theta = seg.dynamics.initial(pop.v_thresh);
        for i in seg.local.clone() {
            if arrays[seg.slots[0]][i] >= theta {
                fired.push((range.start + i) as u32);
                until[i] = seg.refractory_steps as f64;
            }
        }
    }
    fired
}

/// The ring slot a channel of kind `kind` is read from at step `k` (`mask`:
/// slots - 1): `t_{k+1}`'s for a delta synapse's jumps, `t_k`'s otherwise
/// (what [`Arrivals`] reads).
fn read_slot(kind: &SynapseKind, k: u64, mask: u64) -> usize {
    ((if kind.is_jump() { k + 1 } else { k }) & mask) as usize
}

/// The column that [`Part::lent`] names: (channel, projection, row). Not
/// inlined: it runs at most once a step, and its code in the update's
/// loop would move that loop's.
#[inline(never)]
fn lent_column<'a, T: Real>(
    connections: &'a [Connections<T>],
    s: &'a Shared<'_, T>,
    lent: (usize, usize, usize),
) -> Lent<'a, T> {
    let (channel, p, row) = lent;
    let dense = connections[p].dense.as_ref();
    Lent {
        channel,
        column: dense
            .expect("lent by a dense projection")
            .column(row, s.given()),
    }
}

/// The external current of a population's neurons when it is the same
/// for all (the update's fast path), else `None`.
pub(super) fn uniform_current<T: Real>(i_ext: &[f64]) -> Option<T> {
    i_ext
        .iter()
        .all(|&x| x.to_bits() == i_ext[0].to_bits())
        .then(|| T::from_f64(i_ext[0]))
}

impl<'n, T: Real> RangeStep<Shared<'n, T>> for Part<T> {
    fn advance(&mut self, step: u64, fired: &[u32], s: &Shared<'n, T>) {
        Part::advance(self, step, fired, s);
    }

    fn deliver(&mut self, step: u64, fired: &[u32], s: &Shared<'n, T>) {
        Part::deliver(self, step, fired, s);
        // Not followed by this step's update: a lent column goes into its
        // row after all.
        if let Some(lent) = self.lent.take() {
            let lent = lent_column(&self.connections, s, lent);
            let (len, slot) = (self.range.len(), (step & s.mask) as usize);
            self.ring[lent.channel][slot * len..(slot + 1) * len].copy_from_slice(lent.column);
        }
    }

    fn fired(&self) -> &[u32] {
        &self.fired
    }
}
