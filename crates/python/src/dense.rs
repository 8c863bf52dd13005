//! `lifsim.DenseSimulation`: the seed's dense model (`lifsim.simulate`'s)
//! built once and run piece by piece, as `lifsim.Simulation` runs a network.
//! The engine is the core's [`lifsim_core::Simulation`] (the seed's
//! network on the one engine) over weights it
//! shares ([`lifsim_core::Simulation::owning`]), so it lives between calls;
//! every step is the one simulate runs, so pieces of any length give the
//! spikes of one run, bit for bit.

use std::sync::Arc;

use lifsim_core::checkpoint::{self, Checkpoint, EngineState};
use lifsim_core::progress::{Driver, Stepper};
use lifsim_core::recording::{step_time_ms, Events};
use lifsim_core::{Dtype, Real, RecordMode, Recorder, RunSpec, Simulation};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{out, EngineFloat, WeightsArg};
use crate::errors;
use crate::keywords::{Keywords, Source};
use crate::simulation::{engine_state, state_dict, Observer};
use crate::weights::{checked_copy, Held};

/// Spikes as NumPy arrays: (times in ms, neuron ids).
type SpikeArrays<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<u32>>);

/// The engine in the run's float type.
enum Engine {
    F64(Simulation<'static, f64>),
    F32(Simulation<'static, f32>),
}

/// `f(engine)` for the engine of either float type.
macro_rules! with_engine {
    ($engine:expr, $s:ident => $body:expr) => {
        match $engine {
            Engine::F64($s) => $body,
            Engine::F32($s) => $body,
        }
    };
}

/// A simulation of `spec` sharing `weights`, built with the GIL released.
fn build<T: EngineFloat>(
    py: Python<'_>,
    weights: Arc<lifsim_core::DenseWeights<T>>,
    spec: &RunSpec,
) -> PyResult<Simulation<'static, T>> {
    py.detach(|| Simulation::owning(weights, &spec.params, &spec.i_ext, &spec.v0, &spec.options))
        .map_err(errors::from_core)
}

/// The seed's dense model at some step of its run: made by
/// lifsim.DenseNetwork(W, **kw).build(); run(duration) or run(steps=k) goes
/// on from where the last piece stopped.
#[pyclass(module = "lifsim", name = "DenseSimulation")]
pub struct DenseSimulation {
    engine: Engine,
    dt: f64,
    n: usize,
    /// The steps of the keywords' t_max (what run() with no length runs to).
    steps: u64,
    /// Every spike so far (step, id), in step order.
    events: Events,
}

#[pymethods]
impl DenseSimulation {
    /// Builds the seed's model on `W` with `keywords` (lifsim.simulate's,
    /// checked as simulate checks them; `threads` overrides theirs). The
    /// weights are checked and copied once (a lifsim.Weights of the run's
    /// dtype is shared, not copied).
    #[staticmethod]
    #[pyo3(signature = (W, keywords = None, *, threads = None))]
    #[allow(non_snake_case)]
    fn build(
        py: Python<'_>,
        W: &Bound<'_, PyAny>,
        keywords: Option<&Bound<'_, PyDict>>,
        threads: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut kw = Keywords::from_dict(keywords, "DenseNetwork()")?;
        if let Some(t) = threads.filter(|t| !t.is_none()) {
            kw.threads = Some(t.clone());
        }
        let (source, spec, dtype) = kw.prepare(py, W)?;
        let n;
        let engine = match (dtype, &source) {
            (Dtype::Float64, Source::Held(Held::F64(w))) => {
                n = w.n();
                Engine::F64(build(py, Arc::clone(w), &spec)?)
            }
            (Dtype::Float32, Source::Held(Held::F32(w))) => {
                n = w.n();
                Engine::F32(build(py, Arc::clone(w), &spec)?)
            }
            // An array, or a lifsim.Weights of the other dtype: one checked copy.
            (Dtype::Float64, _) => {
                let w = Arc::new(checked_copy::<f64>(py, &WeightsArg::extract(W)?)?);
                n = w.n();
                Engine::F64(build(py, w, &spec)?)
            }
            (Dtype::Float32, _) => {
                let w = Arc::new(checked_copy::<f32>(py, &WeightsArg::extract(W)?)?);
                n = w.n();
                Engine::F32(build(py, w, &spec)?)
            }
        };
        Ok(Self {
            engine,
            dt: spec.params.dt,
            n,
            steps: spec.params.steps() as u64,
            events: Events::default(),
        })
    }

    /// Runs `duration` ms more (a whole number of steps), or `steps` steps
    /// (default: up to t_max's steps), and returns this piece's spikes as
    /// (times in ms, ids). `progress` as for Simulation.run; Ctrl-C stops
    /// between steps with KeyboardInterrupt, keeping what was simulated.
    #[pyo3(signature = (duration = None, *, steps = None, progress = None))]
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        duration: Option<f64>,
        steps: Option<u64>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<SpikeArrays<'py>> {
        let start = self.step();
        let steps = match (duration, steps) {
            (Some(_), Some(_)) => {
                return Err(errors::bad_choice(
                    "steps",
                    "give a duration or steps, not both".into(),
                ))
            }
            (Some(ms), None) => steps_in(ms, self.dt)?,
            (None, Some(k)) => k,
            (None, None) => self.steps.saturating_sub(start),
        };
        let until = start + steps;
        with_engine!(&mut self.engine, s => s.set_steps(until));
        let mut observer = Observer::new(py, progress, start)?;
        let mut recorder =
            Recorder::new(RecordMode::Events, self.n, 0).map_err(errors::from_core)?;
        let dt = self.dt;
        let engine = &mut self.engine;
        let flow = py.detach(|| {
            let stepper: &mut (dyn Stepper + Send) = with_engine!(engine, s => s);
            Driver::new(dt).run(stepper, until, &mut recorder, &mut observer)
        });
        let from = self.events.ids.len();
        if let Some(e) = recorder.finish(dt).events {
            self.events.steps.extend(e.steps);
            self.events.ids.extend(e.ids);
        }
        if flow.is_break() {
            return Err(observer.stopped(self.step(), until));
        }
        Ok(self.spikes_from(py, from))
    }

    /// Every spike so far, as (times in ms, ids), sorted by time then id.
    fn spikes<'py>(&self, py: Python<'py>) -> SpikeArrays<'py> {
        self.spikes_from(py, 0)
    }

    /// Every spike so far as (steps, ids): the step of each spike (the row
    /// of simulate's dense spike array) and its neuron.
    fn spike_steps<'py>(
        &self,
        py: Python<'py>,
    ) -> (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u32>>) {
        (
            out::vector(py, self.events.steps.clone()),
            out::vector(py, self.events.ids.clone()),
        )
    }

    /// The membrane potential of every neuron now, mV.
    fn voltages<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        let v = with_engine!(&self.engine, s => s.voltages().iter().map(|x| x.to_f64()).collect());
        out::vector(py, v)
    }

    /// The whole dynamic state now: a dict of "step", "pending" (the ids
    /// that spike at the next step) and the state arrays of the seed's
    /// network ("y": the potentials, "until", ...), as Simulation.state().
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        state_dict(py, &self.save_state())
    }

    /// Puts the simulation in `state` (from state() of this model, of any
    /// thread count), checked as a checkpoint is. Spikes so far stay.
    fn set_state(&mut self, state: &Bound<'_, PyDict>) -> PyResult<()> {
        // The seed's run is a network; a dict with `refractory_until` is
        // the dense engine's of earlier versions (translated by the core).
        let engine = if state.contains("refractory_until")? {
            checkpoint::DENSE_ENGINE
        } else {
            checkpoint::ENGINE
        };
        let state = engine_state(state, self.n, engine)?;
        with_engine!(&mut self.engine, s => {
            s.set_steps(state.step);
            Checkpoint::restore_state(s, &state)
        })
        .map_err(errors::from_core)
    }

    /// Steps simulated so far.
    #[getter]
    fn step(&self) -> u64 {
        with_engine!(&self.engine, s => s.step_index())
    }

    /// Time simulated so far, ms (steps * dt).
    #[getter]
    fn t(&self) -> f64 {
        self.step() as f64 * self.dt
    }

    /// Time step, ms.
    #[getter]
    fn dt(&self) -> f64 {
        self.dt
    }

    /// Number of neurons.
    #[getter]
    fn n(&self) -> usize {
        self.n
    }

    /// Threads (partitions) a step is split across.
    #[getter]
    fn threads(&self) -> usize {
        with_engine!(&self.engine, s => s.partitions())
    }

    fn __repr__(&self) -> String {
        format!(
            "DenseSimulation({} neurons, t = {} ms, {} spikes)",
            self.n,
            self.t(),
            self.events.ids.len()
        )
    }
}

impl DenseSimulation {
    fn save_state(&self) -> EngineState {
        with_engine!(&self.engine, s => Checkpoint::save_state(s))
    }

    /// Spikes `from..` of the record as (times in ms, ids).
    fn spikes_from<'py>(&self, py: Python<'py>, from: usize) -> SpikeArrays<'py> {
        let dt = self.dt;
        let times = self.events.steps[from..]
            .iter()
            .map(|&k| step_time_ms(k, dt))
            .collect();
        (
            out::vector(py, times),
            out::vector(py, self.events.ids[from..].to_vec()),
        )
    }
}

/// The steps of `ms` milliseconds at `dt`, refusing a duration that is not
/// a whole number of steps (as a network's run does).
fn steps_in(ms: f64, dt: f64) -> PyResult<u64> {
    let ratio = ms / dt;
    let steps = ratio.round();
    if ms.is_nan() || ms < 0.0 || (ratio - steps).abs() > 1e-6 * ratio.max(1.0) || steps > 1e12 {
        return Err(errors::bad_choice(
            "duration",
            format!("must be >= 0 and a multiple of dt ({dt} ms), got {ms}"),
        ));
    }
    Ok(steps as u64)
}
