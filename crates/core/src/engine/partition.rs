//! A contiguous range of neurons and everything a step needs to advance it.
//!
//! A step on a partition reads only the network-wide list of neurons that
//! fired (sorted ids) and writes only its own state and its own spikes. That
//! list is the one interface between partitions: threads today, MPI ranks
//! later, with results independent of how the network is cut.

use std::collections::VecDeque;
use std::ops::Range;

use super::kernel::{self, Isa};
use super::threads::RangeStep;
use crate::checkpoint::{EngineState, PartitionState, StateArray, StateData};
use crate::error::{Error, Result};
use crate::inputs::Drive;
use crate::model::{Coefficients, Real};
use crate::network::DenseView;

/// The state of neurons `range`.
pub struct Partition<T> {
    range: Range<usize>,
    /// Membrane potentials.
    v: Vec<T>,
    /// Synaptic input of the current step.
    i_syn: Vec<T>,
    /// External current (this range's values where it is per neuron).
    drive: Drive<T>,
    /// `r * (0 + i_ext)`: the whole input term of a step without spikes.
    quiet_drive: Drive<T>,
    /// Neurons clamped at `v_reset`: (local index, last clamped step), in the
    /// order they fired, so releases come off the front.
    refractory: VecDeque<(u32, u64)>,
    /// Ids of this range's neurons at or above threshold after the last step.
    fired: Vec<u32>,
    /// Room for the id of every neuron of the range, where the kernels write
    /// the ids at threshold (see `kernel::update_blocks`).
    ids: Vec<u32>,
    /// Upper bounds of the voltages, one per block of neurons
    /// (`kernel::bounds_len`), so that a step without input can skip the
    /// threshold test of blocks that cannot reach it; `+inf`: unknown.
    tops: Vec<T>,
}

impl<T: Real> Partition<T> {
    /// Neurons `range` starting from voltages `v0` (this range's values).
    pub fn new(range: Range<usize>, v0: Vec<T>, drive: Drive<T>, c: &Coefficients<T>) -> Self {
        debug_assert_eq!(v0.len(), range.len());
        let len = range.len();
        let mut p = Self {
            range,
            v: v0,
            i_syn: vec![T::ZERO; len],
            quiet_drive: match &drive {
                Drive::Constant(e) => Drive::Constant(c.r * (T::ZERO + *e)),
                Drive::PerNeuron(e) => {
                    Drive::PerNeuron(e.iter().map(|&e| c.r * (T::ZERO + e)).collect())
                }
            },
            drive,
            refractory: VecDeque::new(),
            fired: Vec::new(),
            ids: vec![0; len],
            tops: vec![T::ZERO; kernel::bounds_len(len)],
        };
        p.forget_bounds();
        p.detect(c);
        p
    }

    /// The neurons this partition owns.
    pub fn range(&self) -> Range<usize> {
        self.range.clone()
    }

    /// Membrane potentials of this range.
    pub fn voltages(&self) -> &[T] {
        &self.v
    }

    /// This range's neurons at or above threshold now: the spikes of the next step.
    pub fn fired(&self) -> &[u32] {
        &self.fired
    }

    /// Advances this range through step `step`, given every neuron that fired
    /// at this step (sorted ids, network-wide).
    pub fn advance(
        &mut self,
        step: u64,
        weights: &DenseView<'_, T>,
        fired: &[u32],
        c: &Coefficients<T>,
        isa: Isa,
    ) {
        let offset = self.range.start as u32;
        let mut count = 0;
        let (v, ids) = (&mut self.v, &mut self.ids);
        match (fired.is_empty(), &self.quiet_drive, &self.drive) {
            (true, Drive::Constant(d), _) => {
                kernel::relax_constant(isa, v, *d, c, offset, ids, &mut count, &mut self.tops)
            }
            (true, Drive::PerNeuron(d), _) => {
                kernel::relax_per_neuron(isa, v, d, c, offset, ids, &mut count)
            }
            (false, _, drive) => {
                let rows = self.range.clone();
                let i_syn = synaptic_input(&mut self.i_syn, weights, rows, fired, isa);
                match drive {
                    Drive::Constant(e) => {
                        kernel::integrate_constant(isa, v, i_syn, *e, c, offset, ids, &mut count)
                    }
                    Drive::PerNeuron(e) => {
                        kernel::integrate_per_neuron(isa, v, i_syn, e, c, offset, ids, &mut count)
                    }
                }
            }
        }
        // Only a quiet step with one drive for all carries the bounds; after
        // any other, each neuron has moved its own way and the next quiet
        // step finds them again by testing.
        if !(fired.is_empty() && matches!(self.quiet_drive, Drive::Constant(_))) {
            self.forget_bounds();
        }
        self.fired.clear();
        self.fired.extend_from_slice(&self.ids[..count]);
        self.clamp(step, fired, c);
    }

    /// Holds at `v_reset` the neurons that fired at this step and those still
    /// in their refractory period (`refractory_steps` steps after the spike).
    fn clamp(&mut self, step: u64, fired: &[u32], c: &Coefficients<T>) {
        let lo = fired.partition_point(|&j| (j as usize) < self.range.start);
        let hi = fired.partition_point(|&j| (j as usize) < self.range.end);
        let base = self.range.start as u32;
        let last = step + c.refractory_steps as u64;
        self.refractory
            .extend(fired[lo..hi].iter().map(|&j| (j - base, last)));
        while self
            .refractory
            .front()
            .is_some_and(|&(_, until)| until < step)
        {
            self.refractory.pop_front();
        }
        if self.refractory.is_empty() {
            return;
        }
        for &(i, _) in &self.refractory {
            self.v[i as usize] = c.v_reset;
            // Clamping may raise a neuron (one below v_reset): keep the
            // block's bound above it.
            let top = &mut self.tops[kernel::bound_of(i as usize)];
            if c.v_reset > *top {
                *top = c.v_reset;
            }
        }
        // The update tested the threshold before this clamp: a clamped
        // neuron may have crossed it, but it is at v_reset now.
        let v = &self.v;
        self.fired.retain(|&j| v[(j - base) as usize] >= c.v_thresh);
    }

    /// This range's dynamic state (for checkpoints): `v` and, per neuron, the
    /// last step it is held at `v_reset` (`u64::MAX`: not held). The synaptic
    /// input is recomputed every step and is not state.
    pub(super) fn save_state(&self) -> PartitionState {
        let v: Vec<f64> = self.v.iter().map(|&x| x.to_f64()).collect();
        let mut until = vec![u64::MAX; self.range.len()];
        for &(i, last) in &self.refractory {
            until[i as usize] = last;
        }
        PartitionState {
            range: self.range.clone(),
            arrays: vec![
                StateArray::new("v", 1, StateData::F64(v)),
                StateArray::new("refractory_until", 1, StateData::U64(until)),
            ],
        }
    }

    /// Restores [`Self::save_state`]'s state; `pending` are the network's
    /// neurons that spike at the next step.
    pub(super) fn restore_state(&mut self, s: &PartitionState, pending: &[u32]) -> Result<()> {
        let (StateData::F64(v), StateData::U64(until)) =
            (s.array("v", 1)?, s.array("refractory_until", 1)?)
        else {
            return Err(Error::param(
                "checkpoint",
                "v must be float64 and refractory_until uint64",
            ));
        };
        self.v = v.iter().map(|&x| T::from_f64(x)).collect();
        self.forget_bounds();
        // The queue releases from the front: order it by release step, as
        // firing order made it.
        let mut held: Vec<(u32, u64)> = until
            .iter()
            .enumerate()
            .filter(|&(_, &u)| u != u64::MAX)
            .map(|(i, &u)| (i as u32, u))
            .collect();
        held.sort_by_key(|&(i, u)| (u, i));
        self.refractory = held.into();
        self.fired.clear();
        self.fired
            .extend(EngineState::pending_in(pending, &self.range));
        Ok(())
    }

    /// Marks every block's voltage bound unknown (`+inf`): the next quiet
    /// step tests every block.
    fn forget_bounds(&mut self) {
        self.tops.fill(T::from_f64(f64::INFINITY));
    }

    fn detect(&mut self, c: &Coefficients<T>) {
        let (offset, mut count) = (self.range.start as u32, 0);
        kernel::detect(&mut self.v, c.v_thresh, offset, &mut self.ids, &mut count);
        self.fired.clear();
        self.fired.extend_from_slice(&self.ids[..count]);
    }
}

/// What every dense partition's thread reads.
pub(super) struct StepContext<'a, 'w, T> {
    pub weights: &'a DenseView<'w, T>,
    pub coeffs: &'a Coefficients<T>,
    pub isa: Isa,
}

impl<'a, 'w, T: Real> RangeStep<StepContext<'a, 'w, T>> for Partition<T> {
    const RECORD_INPUT: bool = true;

    fn advance(&mut self, step: u64, fired: &[u32], ctx: &StepContext<'a, 'w, T>) {
        Partition::advance(self, step, ctx.weights, fired, ctx.coeffs, ctx.isa);
    }

    /// Never called: the seed's spikes act within their step, so the
    /// partitions exchange every step (an interval of one).
    fn deliver(&mut self, _: u64, _: &[u32], _: &StepContext<'a, 'w, T>) {
        unreachable!("the dense engine exchanges spikes every step")
    }

    fn fired(&self) -> &[u32] {
        Partition::fired(self)
    }
}

/// `I_syn = W @ fired` for neurons `rows`: one column per spike, summed in id
/// order. One spike's column is the input itself, used in place (most steps
/// with input have one spike); with more, the first two columns are added
/// into `acc` (`w0 + w1`: what adding `w1` to a copy of `w0` gives, and the
/// same as adding both to zero except for the sign of a zero, which cannot
/// change `v`; see `model`), then the rest four at a time
/// ([`kernel::accumulate4`]).
fn synaptic_input<'a, T: Real>(
    acc: &'a mut [T],
    weights: &DenseView<'a, T>,
    rows: Range<usize>,
    fired: &[u32],
    isa: Isa,
) -> &'a [T] {
    let col = |j: u32| weights.column(j as usize, rows.clone());
    let rest = match fired {
        [] => {
            acc.fill(T::ZERO);
            return acc;
        }
        [j] => return col(*j),
        [j0, j1, rest @ ..] => {
            kernel::sum2(isa, acc, col(*j0), col(*j1));
            rest
        }
    };
    let mut fours = rest.chunks_exact(4);
    for f in &mut fours {
        kernel::accumulate4(isa, acc, col(f[0]), col(f[1]), col(f[2]), col(f[3]));
    }
    for &j in fours.remainder() {
        kernel::accumulate(isa, acc, col(j));
    }
    acc
}
