//! The seed's dense run (`--weights W.npy`, `lifsim.simulate(W)`): one
//! population of the seed's Euler LIF neuron and one dense projection of
//! `W` whose spikes act within their own step (`I_syn = W @ fired`, see
//! [`crate::model`]), as a network ([`crate::network::seed`]) on the
//! network engine, which reads `W` where the caller holds it
//! ([`GivenMatrix`]). What this adds to [`NetworkSimulation`] is the
//! seed's inputs (a matrix, [`LifParams`], [`InitialVoltage`]), its float
//! type for potentials, and the resumption of checkpoints of the dense
//! engine that ran it before (`refractory_until`, see
//! [`Simulation::restore_state`](crate::checkpoint::Checkpoint::restore_state)).

use std::sync::Arc;

use super::{EngineOptions, Isa, NetworkSimulation};
use crate::checkpoint::{
    Checkpoint, EngineState, PartitionState, StateArray, StateData, DENSE_ENGINE, ENGINE,
};
use crate::error::{Error, Result};
use crate::inputs::{ExternalCurrent, InitialVoltage};
use crate::model::{LifParams, Real};
use crate::network::seed::seed_network;
use crate::network::{DenseView, DenseWeights, GivenMatrix, Recipe};
use crate::recording::SpikeSink;

/// The seed's run, ready to go: its network on the network engine.
pub struct Simulation<'w, T: Real> {
    net: NetworkSimulation<'w, T>,
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
        Self::build(GivenMatrix::Borrowed(weights), params, current, v0, options)
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
        Simulation::build(GivenMatrix::Shared(weights), params, current, v0, options)
    }

    fn build(
        weights: GivenMatrix<'w, T>,
        params: &LifParams,
        current: &ExternalCurrent,
        v0: &InitialVoltage,
        options: &EngineOptions,
    ) -> Result<Self> {
        params.validate()?;
        let n = weights.view().n();
        current.validate(n)?;
        let v0 = v0.voltages(n, params)?;
        let desc = seed_network(None, n, params, current, v0, T::DTYPE)?;
        let recipe = Recipe::<T>::new(&desc)?;
        let net = NetworkSimulation::with_matrix(recipe, weights, options)?;
        Ok(Self { net })
    }

    /// Number of neurons.
    pub fn n(&self) -> usize {
        self.net.recipe().n()
    }

    /// Makes the run `steps` steps long (at least the steps done): a
    /// simulation run piece by piece goes on past its `t_max`. The spikes of
    /// steps `0..s` do not depend on how the run is cut or how long it is.
    pub fn set_steps(&mut self, steps: u64) {
        self.net.set_steps(steps);
    }

    /// Steps done so far.
    pub fn step_index(&self) -> u64 {
        self.net.step_index()
    }

    /// Steps in the whole run.
    pub fn steps(&self) -> u64 {
        self.net.steps()
    }

    /// Number of neuron ranges (threads) a step is split into.
    pub fn partitions(&self) -> usize {
        self.net.partitions()
    }

    /// The instruction set the kernels run with.
    pub fn isa(&self) -> Isa {
        self.net.isa()
    }

    /// The neurons that spike at the next step (sorted ids).
    pub fn pending_spikes(&self) -> &[u32] {
        self.net.pending_spikes()
    }

    /// All membrane potentials now, in the run's float type.
    pub fn voltages(&self) -> Vec<T> {
        self.net.voltages().into_iter().map(T::from_f64).collect()
    }

    /// Runs the remaining steps, handing each step's spikes to `sink`.
    pub fn run(&mut self, sink: &mut dyn SpikeSink) {
        self.net.run(sink);
    }

    /// Runs up to (not including) step `until`, or the end of the run.
    pub fn run_until(&mut self, until: u64, sink: &mut dyn SpikeSink) {
        self.net.run_until(until, sink);
    }
}

impl<T: Real> Checkpoint for Simulation<'_, T> {
    fn save_state(&self) -> EngineState {
        self.net.save_state()
    }

    /// Restores a state of this network (any thread count), or one the
    /// dense engine of earlier lifsim versions saved for the seed's run
    /// (engine `dense`: `v` and `refractory_until`), translated.
    fn restore_state(&mut self, state: &EngineState) -> Result<()> {
        if state.engine == DENSE_ENGINE {
            let translated = self.translate_dense(state)?;
            return self.net.restore_state(&translated);
        }
        self.net.restore_state(state)
    }
}

impl<T: Real> Simulation<'_, T> {
    /// The network engine's state for a state of the dense engine: this
    /// simulation's own state as the template (every array it saves, for
    /// every neuron), with `v` taken over as `y`, the hold of each neuron
    /// (`until`: held while the step is below it) one past the last step
    /// the dense engine held it at (`refractory_until`, `u64::MAX`: none)
    /// or, for the pending spikes, what finding them set, and everything
    /// else zero: the seed's synaptic current lasts one step
    /// and its weights act within their step, so no ring slot or current
    /// outlives a step.
    fn translate_dense(&self, state: &EngineState) -> Result<EngineState> {
        let dense = state.joined()?;
        let n = self.n();
        if dense.range != (0..n) {
            return Err(Error::param(
                "checkpoint",
                format!("holds {} neurons; this network has {n}", dense.range.len()),
            ));
        }
        let (StateData::F64(v), StateData::U64(held)) =
            (dense.array("v", 1)?, dense.array("refractory_until", 1)?)
        else {
            return Err(Error::param(
                "checkpoint",
                "v must be float64 and refractory_until uint64",
            ));
        };
        let mut until: Vec<f64> = held
            .iter()
            .map(|&u| if u == u64::MAX { 0.0 } else { (u + 1) as f64 })
            .collect();
        // The dense engine began to hold a neuron when it delivered its
        // spike; the network engine holds it from when it finds it: the
        // pending ones are held from the next step for the hold's length.
        let desc = &self.net.recipe().description;
        let hold = desc.hold_steps(&desc.populations[0]) as u64;
        for &i in &state.pending {
            if let Some(u) = until.get_mut(i as usize) {
                *u = (state.step + hold) as f64;
            }
        }
        let template = self.net.save_state().joined()?;
        let arrays = (template.arrays.iter())
            .map(|a| {
                let data = match a.name.as_str() {
                    // The Euler neuron's potential is its `y` (no offset).
                    "y" => StateData::F64(v.clone()),
                    "until" => StateData::F64(until.clone()),
                    _ => a.data.zeroed(),
                };
                StateArray::new(&a.name, a.width, data)
            })
            .collect();
        Ok(EngineState {
            engine: ENGINE.into(),
            step: state.step,
            pending: state.pending.clone(),
            partitions: vec![PartitionState {
                range: 0..n,
                arrays,
            }],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::{Events, RecordMode, Recorder};

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

    /// A state as the dense engine of earlier versions saved it after
    /// `step` steps (`v`, and per neuron the last step it is held at
    /// `v_reset`: a spike delivered by step `r` holds its neuron through
    /// step `r + t_ref / dt`), built from a run's potentials and spikes.
    fn dense_state(
        v: Vec<f64>,
        events: &Events,
        pending: &[u32],
        step: u64,
        ref_steps: u64,
    ) -> EngineState {
        let mut until = vec![u64::MAX; v.len()];
        for (&r, &i) in events.steps.iter().zip(&events.ids) {
            if r < step && r + ref_steps >= step {
                until[i as usize] = r + ref_steps;
            }
        }
        EngineState {
            engine: "dense".into(),
            step,
            pending: pending.to_vec(),
            partitions: vec![PartitionState {
                range: 0..v.len(),
                arrays: vec![
                    StateArray::new("v", 1, StateData::F64(v)),
                    StateArray::new("refractory_until", 1, StateData::U64(until)),
                ],
            }],
        }
    }

    /// 700 neurons firing at about 80 Hz, `t_max` ms, `t_ref` 1 ms (100
    /// steps): weights, parameters and current.
    fn active(t_max: f64) -> (usize, Vec<f64>, LifParams, ExternalCurrent) {
        let n = 700;
        let w = weights::<f64>(n, 0.0, 40.0, 0.2, 3);
        let params = LifParams {
            t_max,
            t_ref: 1.0,
            ..LifParams::default()
        };
        let current = ExternalCurrent::PerNeuron((0..n).map(|i| 20.0 + (i % 10) as f64).collect());
        (n, w, params, current)
    }

    #[test]
    fn a_checkpoint_of_the_dense_engine_resumes_to_the_same_spikes() {
        let (n, w, params, current) = active(40.0);
        let whole = events_and_bits(&w, n, &params, &current, 1);
        let view = DenseView::new(n, &w).unwrap();
        let v0 = InitialVoltage::Uniform { seed: 5 };
        let options = |threads| EngineOptions {
            threads: Some(threads),
            isa: None,
        };
        let mut first = Simulation::new(view, &params, &current, &v0, &options(2)).unwrap();
        let events = || Recorder::new(RecordMode::Events, n, params.steps()).unwrap();
        let mut rec = events();
        // Cut where spikes are pending (and, with 80 Hz, neurons held).
        first.run_until(2500, &mut rec);
        while first.pending_spikes().is_empty() {
            first.run_until(first.step_index() + 1, &mut rec);
        }
        let cut = first.step_index();
        let mut so_far = rec.finish(params.dt).events.unwrap();
        let v = first.voltages();
        let state = dense_state(v, &so_far, first.pending_spikes(), cut, 100);
        let held = match state.partitions[0].array("refractory_until", 1).unwrap() {
            StateData::U64(u) => u.iter().filter(|&&u| u != u64::MAX).count(),
            _ => unreachable!("built above"),
        };
        assert!(held > 0, "{held} held");
        assert!(so_far.ids.len() > 300, "{} spikes", so_far.ids.len());
        let mut second = Simulation::new(view, &params, &current, &v0, &options(1)).unwrap();
        second.restore_state(&state).unwrap();
        let mut rec = events();
        second.run(&mut rec);
        let rest = rec.finish(params.dt).events.unwrap();
        so_far.steps.extend(rest.steps);
        so_far.ids.extend(rest.ids);
        let bits: Vec<u64> = second.voltages().iter().map(|v| v.to_bits()).collect();
        assert!(so_far == whole.0);
        assert!(bits == whole.1);
    }

    #[test]
    fn thread_count_never_changes_a_bit() {
        let (n, w, params, current) = active(30.0);
        let one = events_and_bits(&w, n, &params, &current, 1);
        assert!(one.0.ids.len() > 500, "{} spikes", one.0.ids.len());
        for threads in [2, 3] {
            let many = events_and_bits(&w, n, &params, &current, threads);
            assert!(many == one, "{threads} threads");
        }
    }
}
