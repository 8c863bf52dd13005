//! A contiguous range of neurons and everything a step needs to advance it.
//!
//! A step on a partition reads only the network-wide list of neurons that
//! fired (sorted ids) and writes only its own state and its own spikes. That
//! list is the one interface between partitions: threads today, MPI ranks
//! later, with results independent of how the network is cut.

use std::collections::VecDeque;
use std::ops::Range;

use super::kernel::{self, Isa};
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
    /// Whether `i_syn` holds anything but zeros.
    i_syn_dirty: bool,
    /// External current (this range's values where it is per neuron).
    drive: Drive<T>,
    /// Neurons clamped at `v_reset`: (local index, last clamped step), in the
    /// order they fired, so releases come off the front.
    refractory: VecDeque<(u32, u64)>,
    /// Ids of this range's neurons at or above threshold after the last step.
    fired: Vec<u32>,
}

impl<T: Real> Partition<T> {
    /// Neurons `range` starting from voltages `v0` (this range's values).
    pub fn new(
        range: Range<usize>,
        v0: Vec<T>,
        drive: Drive<T>,
        c: &Coefficients<T>,
        isa: Isa,
    ) -> Self {
        debug_assert_eq!(v0.len(), range.len());
        let len = range.len();
        let mut p = Self {
            range,
            v: v0,
            i_syn: vec![T::ZERO; len],
            i_syn_dirty: false,
            drive,
            refractory: VecDeque::new(),
            fired: Vec::new(),
        };
        p.detect(c, isa);
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
        self.synaptic_input(weights, fired, isa);
        match &self.drive {
            Drive::Constant(i_ext) => {
                kernel::integrate_constant(isa, &mut self.v, &self.i_syn, *i_ext, c)
            }
            Drive::PerNeuron(i_ext) => {
                kernel::integrate_per_neuron(isa, &mut self.v, &self.i_syn, i_ext, c)
            }
        }
        self.clamp(step, fired, c);
        self.detect(c, isa);
    }

    /// `I_syn = W @ fired` for this range: one column per spike, in id order.
    fn synaptic_input(&mut self, weights: &DenseView<'_, T>, fired: &[u32], isa: Isa) {
        if fired.is_empty() && !self.i_syn_dirty {
            return;
        }
        self.i_syn.fill(T::ZERO);
        for &j in fired {
            kernel::accumulate(
                isa,
                &mut self.i_syn,
                weights.column(j as usize, self.range.clone()),
            );
        }
        self.i_syn_dirty = !fired.is_empty();
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
        for &(i, _) in &self.refractory {
            self.v[i as usize] = c.v_reset;
        }
    }

    fn detect(&mut self, c: &Coefficients<T>, isa: Isa) {
        self.fired.clear();
        kernel::detect(
            isa,
            &self.v,
            c.v_thresh,
            self.range.start as u32,
            &mut self.fired,
        );
    }
}
