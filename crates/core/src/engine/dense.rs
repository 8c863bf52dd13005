//! The seed's dense run: one population of the seed's Euler LIF neuron and
//! one dense projection whose spikes act within their own step
//! (`I_syn = W @ fired`, see [`crate::model`]), on the dense partitions of
//! `partition.rs` and the kernels of `kernel.rs`, run by the same loop and
//! exchange as every network (`threads.rs`, `stepper.rs`).

use std::sync::Arc;

use super::partition::{self, Partition};
use super::stepper::Partitions;
use super::{split, EngineOptions, Isa};
use crate::checkpoint::EngineState;
use crate::error::Result;
use crate::inputs::{Drive, ExternalCurrent, InitialVoltage};
use crate::model::{Coefficients, LifParams, Real};
use crate::network::{DenseView, DenseWeights};
use crate::recording::SpikeSink;

/// The weights a simulation reads: borrowed from the caller (a run), or
/// shared with an owner that keeps the simulation between calls (Python's
/// `DenseSimulation`, [`Simulation::owning`]).
enum Weights<'w, T> {
    Borrowed(DenseView<'w, T>),
    Shared(Arc<DenseWeights<T>>),
}

impl<T: Real> Weights<'_, T> {
    fn view(&self) -> DenseView<'_, T> {
        match self {
            Weights::Borrowed(v) => *v,
            Weights::Shared(w) => w.view(),
        }
    }
}

/// A network ready to run: weights, neuron state and constants.
pub struct Simulation<'w, T: Real> {
    weights: Weights<'w, T>,
    coeffs: Coefficients<T>,
    run: Partitions<Partition<T>>,
    isa: Isa,
}

impl<'w, T: Real> Simulation<'w, T> {
    /// Sets up a run of `params.steps()` steps; validates every input.
    pub fn new(
        weights: DenseView<'w, T>,
        params: &LifParams,
        current: &ExternalCurrent,
        v0: &InitialVoltage,
        options: &EngineOptions,
    ) -> Result<Self> {
        Self::build(Weights::Borrowed(weights), params, current, v0, options)
    }

    /// As [`Self::new`], sharing the weights: a simulation that can be kept
    /// and run piece by piece (the Python package's), borrowing nothing.
    pub fn owning(
        weights: Arc<DenseWeights<T>>,
        params: &LifParams,
        current: &ExternalCurrent,
        v0: &InitialVoltage,
        options: &EngineOptions,
    ) -> Result<Simulation<'static, T>> {
        Simulation::build(Weights::Shared(weights), params, current, v0, options)
    }

    fn build(
        weights: Weights<'w, T>,
        params: &LifParams,
        current: &ExternalCurrent,
        v0: &InitialVoltage,
        options: &EngineOptions,
    ) -> Result<Self> {
        params.validate()?;
        let n = weights.view().n();
        current.validate(n)?;
        let v0 = v0.voltages(n, params)?;
        let coeffs = Coefficients::<T>::new(params)?;
        let isa = options.isa.unwrap_or_else(Isa::detect);
        let threads = options.threads_for(n)?;
        let drive = Drive::<T>::new(current);
        let parts: Vec<Partition<T>> = split(n, threads)
            .into_iter()
            .map(|range| {
                let v: Vec<T> = v0[range.clone()].iter().map(|&x| T::from_f64(x)).collect();
                let drive = match &drive {
                    Drive::Constant(x) => Drive::Constant(*x),
                    Drive::PerNeuron(all) => Drive::PerNeuron(all[range.clone()].to_vec()),
                };
                Partition::new(range, v, drive, &coeffs)
            })
            .collect();
        // The spikes of step 0: the neurons at threshold to begin with.
        let fired = parts
            .iter()
            .flat_map(|p| p.fired().iter().copied())
            .collect();
        Ok(Self {
            weights,
            coeffs,
            run: Partitions::new("dense", parts, fired, params.steps() as u64),
            isa,
        })
    }

    /// Number of neurons.
    pub fn n(&self) -> usize {
        self.weights.view().n()
    }

    /// Makes the run `steps` steps long (at least the steps done): a
    /// simulation run piece by piece goes on past its `t_max`. The spikes of
    /// steps `0..s` do not depend on how the run is cut or how long it is.
    pub fn set_steps(&mut self, steps: u64) {
        self.run.steps = steps.max(self.run.step);
    }

    /// Steps done so far.
    pub fn step_index(&self) -> u64 {
        self.run.step
    }

    /// Steps in the whole run.
    pub fn steps(&self) -> u64 {
        self.run.steps
    }

    /// Number of neuron ranges (threads) a step is split into.
    pub fn partitions(&self) -> usize {
        self.run.parts.len()
    }

    /// The instruction set the kernels run with.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// The neurons that spike at the next step (sorted ids).
    pub fn pending_spikes(&self) -> &[u32] {
        &self.run.fired
    }

    /// All membrane potentials now.
    pub fn voltages(&self) -> Vec<T> {
        self.run
            .parts
            .iter()
            .flat_map(|p| p.voltages().iter().copied())
            .collect()
    }

    /// Runs the remaining steps, handing each step's spikes to `sink`.
    pub fn run(&mut self, sink: &mut dyn SpikeSink) {
        self.run_until(self.run.steps, sink);
    }

    /// Runs up to (not including) step `until`, or the end of the run.
    pub fn run_until(&mut self, until: u64, sink: &mut dyn SpikeSink) {
        let weights = self.weights.view();
        let ctx = partition::StepContext {
            weights: &weights,
            coeffs: &self.coeffs,
            isa: self.isa,
        };
        // The seed's spikes act within their own step: an exchange every step.
        self.run.run_until(until, 1, &ctx, sink);
    }
}

impl<T: Real> crate::checkpoint::Checkpoint for Simulation<'_, T> {
    fn save_state(&self) -> EngineState {
        self.run.save(|p| p.save_state())
    }

    fn restore_state(&mut self, state: &EngineState) -> Result<()> {
        let what = "the seed model's dense one";
        let n = self.n();
        self.run
            .restore(state, what, n, Partition::range, |p, cut, st| {
                p.restore_state(cut, &st.pending)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;
    use crate::recording::{RecordMode, Recorder};

    #[test]
    fn a_single_driven_neuron_fires_at_the_euler_period() {
        // One neuron, no synapses, i_ext = 20: V climbs from v_reset towards
        // v_rest + r * i_ext = -45 mV; count the Euler steps to -50 mV by hand.
        let params = LifParams {
            t_max: 200.0,
            ..LifParams::default()
        };
        let w = [0.0f64];
        let view = DenseView::new(1, &w).unwrap();
        let mut sim = Simulation::new(
            view,
            &params,
            &ExternalCurrent::Constant(20.0),
            &InitialVoltage::Reset,
            &EngineOptions::default(),
        )
        .unwrap();
        let mut rec = Recorder::new(RecordMode::Events, 1, params.steps()).unwrap();
        sim.run(&mut rec);
        let rec = rec.finish(params.dt);
        let (mut v, mut k) = (-65.0f64, 0u64);
        while v < -50.0 {
            v = v + (0.01 / 20.0) * ((-v + -65.0) + 1.0 * (0.0 + 20.0));
            k += 1;
        }
        // Spikes at steps k, then every k + 1 steps (the spike step holds v_reset).
        let steps = &rec.events.unwrap().steps;
        assert!(steps.len() >= 5);
        for (m, &s) in steps.iter().enumerate() {
            assert_eq!(s, k + m as u64 * (k + 1));
        }
        // The analytic period tau * ln((V_inf - V_r) / (V_inf - V_t)) = 20 ln 4.
        let period = (k + 1) as f64 * 0.01;
        assert!((period - 20.0 * 4f64.ln()).abs() < 0.05, "{period}");
    }

    /// A random `n x n` weight matrix with connection probability `p`.
    fn weights<T: Real>(n: usize, mean: f64, std: f64, p: f64, seed: u64) -> Vec<T> {
        let spec = crate::WeightSpec {
            n,
            mean,
            std,
            p,
            quantum: None,
            seed,
        };
        spec.column_major::<T>().unwrap()
    }

    /// Runs `n` neurons with `current` on `threads` threads, in two stretches
    /// (as a progress display or a checkpoint would), recording events;
    /// returns them and the final voltages' bits.
    fn events_and_bits<T: Real>(
        w: &[T],
        n: usize,
        params: &LifParams,
        current: &ExternalCurrent,
        threads: usize,
    ) -> (crate::recording::Events, Vec<u64>) {
        let view = DenseView::new(n, w).unwrap();
        let options = EngineOptions {
            threads: Some(threads),
            isa: None,
        };
        let v0 = InitialVoltage::Uniform { seed: 5 };
        let mut sim = Simulation::new(view, params, current, &v0, &options).unwrap();
        assert_eq!(sim.partitions(), threads);
        let mut rec = Recorder::new(RecordMode::Events, n, params.steps()).unwrap();
        sim.run_until(1234, &mut rec);
        sim.run(&mut rec);
        let bits = sim
            .voltages()
            .iter()
            .map(|v| v.to_f64().to_bits())
            .collect();
        (rec.finish(params.dt).events.unwrap(), bits)
    }

    /// Steps without input skip the threshold test of blocks whose voltages
    /// provably stay below it (`kernel::relax_constant`); a per-neuron
    /// current of the same value takes the path that tests every block. Both
    /// must give the same spikes and voltages, with neurons creeping up to
    /// the threshold (v_inf 0.2 mV above it), inhibition pushing some below
    /// v_reset (which the refractory clamp then raises), a last short block,
    /// and several partitions.
    fn skipping_never_misses_a_spike<T: Real>() {
        let n = 700;
        let w = weights::<T>(n, -1.0, 30.0, 0.01, 11);
        let params = LifParams {
            t_max: 200.0,
            t_ref: 0.5,
            ..LifParams::default()
        };
        let i_ext = 15.2;
        let per_neuron = ExternalCurrent::PerNeuron(vec![i_ext; n]);
        let tested = events_and_bits(&w, n, &params, &per_neuron, 1);
        assert!(tested.0.ids.len() > 300, "{} spikes", tested.0.ids.len());
        for threads in [1, 2] {
            let constant = ExternalCurrent::Constant(i_ext);
            let skipped = events_and_bits(&w, n, &params, &constant, threads);
            assert!(skipped == tested, "{:?}, {threads} threads", T::DTYPE);
        }
    }

    #[test]
    fn skipping_threshold_tests_never_misses_a_spike() {
        skipping_never_misses_a_spike::<f64>();
        skipping_never_misses_a_spike::<f32>();
    }

    #[test]
    fn thread_count_never_changes_a_bit() {
        let n = 700;
        let w = weights::<f64>(n, 0.0, 40.0, 0.2, 3);
        let params = LifParams {
            t_max: 30.0,
            t_ref: 1.0,
            ..LifParams::default()
        };
        let current = ExternalCurrent::PerNeuron((0..n).map(|i| 20.0 + (i % 10) as f64).collect());
        let one = events_and_bits(&w, n, &params, &current, 1);
        assert!(one.0.ids.len() > 500, "{} spikes", one.0.ids.len());
        for threads in [2, 3] {
            let many = events_and_bits(&w, n, &params, &current, threads);
            assert!(many == one, "{threads} threads");
        }
    }
}
