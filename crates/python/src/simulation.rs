//! `lifsim.Simulation`: a built network (the core's
//! [`NetworkSimulation`], holding its recipe) that runs piece by piece.
//! Every step is the engine's own, run by the core's [`Driver`] as
//! `lifsim run` runs it, so pieces of any length give the spikes of one run.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Duration;

use lifsim_core::checkpoint::{
    self, Checkpoint, CheckpointMeta, EngineState, PartitionState, StateArray, StateData,
};
use lifsim_core::io::stream::StreamPosition;
use lifsim_core::network::{ChangeTarget, Recipe};
use lifsim_core::progress::{Driver, Progress, ProgressObserver, Stepper};
use lifsim_core::recording::Events;
use lifsim_core::{
    Dtype, EngineOptions, NetworkDescription, NetworkSimulation, Real, RecordMode, Recorder,
};
use numpy::{PyArray1, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::out;
use crate::errors;
use crate::monitors;
use crate::signals::SignalCheck;
use crate::state_files::{StateFiles, StateTo};

/// Spikes as NumPy arrays: (times in ms, neuron ids).
type SpikeArrays<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<u32>>);

/// The engine in the network's float type.
pub(crate) enum Engine {
    F64(NetworkSimulation<'static, f64>),
    F32(NetworkSimulation<'static, f32>),
}

impl Engine {
    fn stepper(&mut self) -> &mut (dyn Stepper + Send) {
        match self {
            Engine::F64(s) => s,
            Engine::F32(s) => s,
        }
    }

    fn set_steps(&mut self, steps: u64) {
        match self {
            Engine::F64(s) => s.set_steps(steps),
            Engine::F32(s) => s.set_steps(steps),
        }
    }

    fn step(&self) -> u64 {
        match self {
            Engine::F64(s) => s.step_index(),
            Engine::F32(s) => s.step_index(),
        }
    }

    fn save_state(&self) -> EngineState {
        match self {
            Engine::F64(s) => Checkpoint::save_state(s),
            Engine::F32(s) => Checkpoint::save_state(s),
        }
    }

    fn restore_state(&mut self, state: &EngineState) -> lifsim_core::Result<()> {
        // A state may be of a later step than the run's length so far.
        self.set_steps(state.step);
        match self {
            Engine::F64(s) => Checkpoint::restore_state(s, state),
            Engine::F32(s) => Checkpoint::restore_state(s, state),
        }
    }

    fn synapses(&self) -> usize {
        match self {
            Engine::F64(s) => s.synapses(),
            Engine::F32(s) => s.synapses(),
        }
    }

    fn partitions(&self) -> usize {
        match self {
            Engine::F64(s) => s.partitions(),
            Engine::F32(s) => s.partitions(),
        }
    }

    fn voltages(&self) -> Vec<f64> {
        match self {
            Engine::F64(s) => s.voltages(),
            Engine::F32(s) => s.voltages(),
        }
    }

    fn update(&mut self, desc: &NetworkDescription) -> lifsim_core::Result<()> {
        match self {
            Engine::F64(s) => s.update(desc),
            Engine::F32(s) => s.update(desc),
        }
    }
}

fn engine<T: Real>(
    desc: &NetworkDescription,
    options: &EngineOptions,
) -> lifsim_core::Result<NetworkSimulation<'static, T>> {
    // The package keeps state samples in memory (it has no streamed
    // writer): a file's `state_to = "disk"` is checked against memory.
    let mut desc = desc.clone();
    desc.monitors.stream = false;
    NetworkSimulation::owning(Recipe::<T>::new(&desc)?, options)
}

/// A built network at some time of its run: its synapses, its state, and
/// every spike so far. Made by Network.build() (or lifsim.resume); run it
/// with run(duration), as often as needed: two runs of 500 ms give, bit for
/// bit, the spikes of one run of 1000 ms.
#[pyclass(module = "lifsim", name = "Simulation")]
pub struct Simulation {
    engine: Engine,
    desc: NetworkDescription,
    /// Every spike so far (step, id), in step order: of the chosen
    /// neurons only where the network chooses (`chosen`).
    events: Events,
    /// Whose spikes are kept (`[[record.spikes_from]]`); `None`: everyone's.
    chosen: Option<monitors::Chosen>,
    /// The state monitors streamed to disk (`record_state(..., to=path)`).
    state_files: StateFiles,
}

impl Simulation {
    /// Builds `desc` (its synapses on `options.threads` threads), with the
    /// GIL released.
    /// `state` says where the network's state monitors go: streamed to a
    /// file (they are then added after the build, streamed, in file order)
    /// or kept in memory.
    pub fn build(
        py: Python<'_>,
        desc: &NetworkDescription,
        options: &EngineOptions,
        state: &StateTo,
    ) -> PyResult<Self> {
        let streamed_to = state.resolve(desc).map_err(errors::from_core)?;
        let mut built = desc.clone();
        if streamed_to.is_some() {
            built.monitors.state.clear();
        }
        let engine = py
            .detach(|| match desc.dtype {
                Dtype::Float64 => engine::<f64>(&built, options).map(Engine::F64),
                Dtype::Float32 => engine::<f32>(&built, options).map(Engine::F32),
            })
            .map_err(errors::from_core)?;
        let mut sim = Self {
            engine,
            desc: desc.clone(),
            events: Events::default(),
            chosen: monitors::Chosen::new(desc).map_err(errors::from_core)?,
            state_files: StateFiles::default(),
        };
        if let Some(path) = streamed_to {
            sim.state_files
                .add_all(&mut sim.engine, &desc.monitors.state, &path)
                .map_err(errors::from_core)?;
        }
        Ok(sim)
    }

    /// Spikes `from..` of the record as (times in ms, ids).
    fn spikes_from<'py>(&self, py: Python<'py>, from: usize) -> SpikeArrays<'py> {
        let dt = self.desc.dt;
        let times = self.events.steps[from..]
            .iter()
            .map(|&k| lifsim_core::recording::step_time_ms(k, dt))
            .collect();
        let ids = self.events.ids[from..].to_vec();
        (out::vector(py, times), out::vector(py, ids))
    }
}

#[pymethods]
impl Simulation {
    /// Runs `duration` ms more (default: up to the network's duration) and
    /// returns the spikes of this piece as (times in ms, neuron ids), sorted
    /// by time then id. `progress`, if given, is called a few times a
    /// second with (steps done, steps of the piece, spikes) (lifsim.Network
    /// passes a progress bar). Ctrl-C stops the run between steps and raises
    /// KeyboardInterrupt; what was simulated is kept (spikes(), t).
    #[pyo3(signature = (duration = None, *, progress = None))]
    fn run<'py>(
        &mut self,
        py: Python<'py>,
        duration: Option<f64>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<SpikeArrays<'py>> {
        let start = self.engine.step();
        let steps = match duration {
            Some(ms) => self
                .desc
                .steps_in(ms, "duration")
                .map_err(errors::from_core)?,
            None => (self.desc.steps() as u64).saturating_sub(start),
        };
        let until = start + steps;
        self.engine.set_steps(until);
        let mut observer = Observer::new(py, progress, start)?;
        let n = self.desc.n();
        let mut recorder = Recorder::new(RecordMode::Events, n, 0).map_err(errors::from_core)?;
        let dt = self.desc.dt;
        let (engine, chosen) = (&mut self.engine, &mut self.chosen);
        let files = &mut self.state_files;
        // In blocks whose streamed state samples fit in memory (one block
        // when nothing is streamed), each drained to its file.
        let result = py.detach(|| -> lifsim_core::Result<ControlFlow<()>> {
            let mut driver = Driver::new(dt);
            loop {
                let next = files.block_end(engine, engine.step(), until);
                let sim = engine.stepper();
                let flow = match chosen {
                    None => driver.run(sim, next, &mut recorder, &mut observer),
                    Some(c) => driver.run(sim, next, &mut c.sink(&mut recorder), &mut observer),
                };
                files.drain(engine)?;
                if flow.is_break() || engine.step() >= until {
                    files.write()?;
                    return Ok(flow);
                }
            }
        });
        // Keep what was simulated, stopped or not.
        let from = self.events.ids.len();
        let record = recorder.finish(dt);
        if let Some(e) = record.events {
            self.events.steps.extend(e.steps);
            self.events.ids.extend(e.ids);
        }
        if result.map_err(errors::from_core)?.is_break() {
            return Err(observer.stopped(self.engine.step(), until));
        }
        Ok(self.spikes_from(py, from))
    }

    /// Adds a state monitor of `population` from the next step on (see
    /// lifsim.Simulation.record_state); its index for `_state_record`.
    /// With `to`, its samples stream to that file (`_state_file`).
    #[pyo3(signature = (population, variables, *, ids = None, n = None, interval = None, start = None, stop = None, to = None))]
    #[allow(clippy::too_many_arguments)] // record_state's keywords
    fn _record_state(
        &mut self,
        population: String,
        variables: Vec<String>,
        ids: Option<Vec<usize>>,
        n: Option<usize>,
        interval: Option<f64>,
        start: Option<f64>,
        stop: Option<f64>,
        to: Option<PathBuf>,
    ) -> PyResult<usize> {
        let spec = monitors::state_spec(population, variables, ids, n, interval, start, stop)?;
        match to {
            None => self.engine.add_state_monitor(&spec),
            Some(path) => self.state_files.add(&mut self.engine, &spec, &path),
        }
        .map_err(errors::from_core)
    }

    /// The file state monitor `m` streams to, if it does.
    fn _state_file(&self, m: usize) -> Option<PathBuf> {
        self.state_files.path(m)
    }

    /// The key prefix of state monitor `m`'s arrays in its file (`E`,
    /// `E#2`), if it streams to one.
    fn _state_key(&self, m: usize) -> Option<String> {
        let population = |k| {
            self.engine
                .state_record(k)
                .map_or_else(String::new, |r| r.population)
        };
        self.state_files.key(m, population)
    }

    /// State monitor `m`'s samples so far: a dict of population, ids,
    /// times (ms) and values (name: (samples, neurons) array).
    fn _state_record<'py>(&self, py: Python<'py>, m: usize) -> PyResult<Bound<'py, PyDict>> {
        let record = self
            .engine
            .state_record(m)
            .ok_or_else(|| errors::bad_choice("monitor", format!("no state monitor {m}")))?;
        monitors::record_dict(py, record)
    }

    /// The number of state monitors (those of the network's description first).
    #[getter]
    fn _state_monitors(&self) -> usize {
        self.engine.state_monitors()
    }

    /// The population rate from the spikes so far: (times in ms, spikes
    /// per bin, rate in Hz) of `population` (default: every neuron), in
    /// bins of `bin` ms (default: one step).
    #[pyo3(signature = (population = None, bin = None))]
    fn _rate<'py>(
        &self,
        py: Python<'py>,
        population: Option<&str>,
        bin: Option<f64>,
    ) -> PyResult<monitors::RateArrays<'py>> {
        let events = (&self.events.steps[..], &self.events.ids[..]);
        let chosen = self.chosen.as_ref();
        monitors::rate(
            py,
            &self.desc,
            population,
            bin,
            events,
            chosen,
            self.engine.step(),
        )
    }

    /// The global ids whose spikes are kept, by population name (absent:
    /// none of its neurons), where the network chooses
    /// (`[[record.spikes_from]]`); `None`: every neuron's.
    #[getter]
    fn _recorded<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        monitors::recorded(py, &self.desc)
    }

    /// Every spike so far, as (times in ms, neuron ids), sorted by time then id.
    fn spikes<'py>(&self, py: Python<'py>) -> SpikeArrays<'py> {
        self.spikes_from(py, 0)
    }

    /// Steps simulated so far.
    #[getter]
    fn step(&self) -> u64 {
        self.engine.step()
    }

    /// Time simulated so far, ms (steps * dt).
    #[getter]
    fn t(&self) -> f64 {
        self.engine.step() as f64 * self.desc.dt
    }

    /// Time step, ms.
    #[getter]
    fn dt(&self) -> f64 {
        self.desc.dt
    }

    /// Number of neurons.
    #[getter]
    fn n(&self) -> usize {
        self.desc.n()
    }

    /// Number of synapses.
    #[getter]
    fn synapses(&self) -> usize {
        self.engine.synapses()
    }

    /// Threads (partitions) a step is split across.
    #[getter]
    fn threads(&self) -> usize {
        self.engine.partitions()
    }

    /// The populations: (name, first neuron id, one past the last).
    #[getter]
    fn populations(&self) -> Vec<(String, usize, usize)> {
        self.desc
            .population_ranges()
            .into_iter()
            .map(|p| (p.name, p.start as usize, p.stop as usize))
            .collect()
    }

    /// The membrane potential of every neuron now, mV.
    fn voltages<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        out::vector(py, self.engine.voltages())
    }

    /// The whole dynamic state now, as a checkpoint holds it: a dict of
    /// "step" (int), "pending" (the ids that spike at the next step) and one
    /// array per state variable, shape (N,) or (N, width) (the neuron
    /// models' variables by name, "until", ring buffers, Poisson generators).
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        state_dict(py, &self.engine.save_state())
    }

    /// Puts the simulation in `state` (from state() of this network, of any
    /// thread count), checked as a checkpoint is. Spikes recorded so far stay.
    fn set_state(&mut self, state: &Bound<'_, PyDict>) -> PyResult<()> {
        let state = engine_state(state, self.desc.n(), checkpoint::ENGINE)?;
        self.engine.restore_state(&state).map_err(errors::from_core)
    }

    /// Changes parameters of population `target` (its name) or of input
    /// number `target` (an int, from 0) for the rest of the run: `values`
    /// maps parameter names to values as a network file's table holds them,
    /// checked as a file's are. The state is kept; what cannot change
    /// without building the network again is refused. Checkpoints written
    /// after it hold the changed network.
    fn set(&mut self, target: &Bound<'_, PyAny>, values: &Bound<'_, PyDict>) -> PyResult<()> {
        let table = crate::network::table_of(values)?;
        let changed = if let Ok(name) = target.extract::<String>() {
            self.desc
                .with_changed(ChangeTarget::Population(&name), table)
        } else if let Ok(k) = target.extract::<usize>() {
            self.desc.with_changed(ChangeTarget::Input(k), table)
        } else {
            let got = target.get_type().name()?.to_string();
            return Err(errors::wrong_type(
                "target",
                "a population (or its name) or an input",
                &got,
            ));
        }
        .map_err(errors::from_core)?;
        self.engine.update(&changed).map_err(errors::from_core)?;
        self.desc = changed;
        Ok(())
    }

    /// Writes a checkpoint: the network file and the whole state, which
    /// lifsim.resume(path) turns back into this simulation at this step
    /// (with any thread count). Spikes recorded so far are not in it.
    fn save_checkpoint(&self, path: PathBuf) -> PyResult<()> {
        let dir = path.parent().unwrap_or(std::path::Path::new(""));
        let network = self.desc.to_toml(dir).map_err(errors::from_core)?;
        let step = self.engine.step();
        let meta = CheckpointMeta {
            version: checkpoint::CHECKPOINT_VERSION,
            engine: checkpoint::ENGINE.into(),
            n: self.desc.n() as u64,
            dt: self.desc.dt,
            steps: step,
            args: Vec::new(),
            cwd: String::new(),
            format: "events".into(),
            out: String::new(),
            stream: String::new(),
            position: StreamPosition {
                step,
                bytes: 0,
                spikes: self.events.ids.len() as u64,
            },
            network: Some(network),
            unrecorded: Vec::new(),
            parts: Vec::new(),
        };
        checkpoint::save(&path, &meta, &self.engine.save_state()).map_err(errors::from_core)
    }

    fn __repr__(&self) -> String {
        format!(
            "Simulation({:?}: {} neurons, {} synapses, t = {} ms, {} spikes)",
            self.desc.name,
            self.desc.n(),
            self.engine.synapses(),
            self.t(),
            self.events.ids.len()
        )
    }
}

/// Resumes a simulation from a checkpoint written by
/// Simulation.save_checkpoint: the network is built again (on `threads`
/// threads) and put in the saved state. Its spikes start at the checkpoint.
#[pyfunction]
#[pyo3(signature = (path, *, threads = None, state_to = None))]
pub fn resume(
    py: Python<'_>,
    path: PathBuf,
    threads: Option<&Bound<'_, PyAny>>,
    state_to: Option<&Bound<'_, PyAny>>,
) -> PyResult<Simulation> {
    let state_to = StateTo::from_py(state_to)?;
    let (meta, state) = py
        .detach(|| checkpoint::load(&path))
        .map_err(errors::from_core)?;
    let Some(network) = meta.network else {
        return Err(errors::from_core(lifsim_core::Error::file(
            &path,
            "a checkpoint of lifsim run, not of a Python simulation; go on with `lifsim resume`",
        )));
    };
    let base = path.parent().map(PathBuf::from).unwrap_or_default();
    let desc = NetworkDescription::from_toml(&network, &base, "network")
        .map_err(|e| errors::from_core(lifsim_core::Error::file(&path, e.to_string())))?;
    let threads = crate::threads_option(py, threads)?;
    let options = EngineOptions { threads, isa: None };
    let mut sim = Simulation::build(py, &desc, &options, &state_to)?;
    sim.engine
        .restore_state(&state)
        .map_err(|e| errors::from_core(lifsim_core::Error::file(&path, e.to_string())))?;
    Ok(sim)
}

/// An engine's state as state() gives it: "step", "pending" and one NumPy
/// array per state variable, shape (N,) or (N, width).
pub(crate) fn state_dict<'py>(
    py: Python<'py>,
    state: &EngineState,
) -> PyResult<Bound<'py, PyDict>> {
    let whole = state.joined().map_err(errors::from_core)?;
    let dict = PyDict::new(py);
    dict.set_item("step", state.step)?;
    dict.set_item("pending", out::vector(py, state.pending.clone()))?;
    let n = whole.range.len();
    for a in whole.arrays {
        let shape = if a.width == 1 {
            vec![n]
        } else {
            vec![n, a.width]
        };
        let array = match a.data {
            StateData::F64(v) => out::vector(py, v).reshape(shape)?.into_any(),
            StateData::F32(v) => out::vector(py, v).reshape(shape)?.into_any(),
            StateData::U64(v) => out::vector(py, v).reshape(shape)?.into_any(),
            StateData::U32(v) => out::vector(py, v).reshape(shape)?.into_any(),
            StateData::U8(v) => out::vector(py, v).reshape(shape)?.into_any(),
        };
        dict.set_item(a.name, array)?;
    }
    Ok(dict)
}

/// A dict of state() back into the state of `engine` ("network", "dense").
pub(crate) fn engine_state(
    dict: &Bound<'_, PyDict>,
    n: usize,
    engine: &str,
) -> PyResult<EngineState> {
    let mut step = None;
    let mut pending = None;
    let mut arrays = Vec::new();
    for (key, value) in dict.iter() {
        let name: String = key.extract()?;
        match name.as_str() {
            "step" => step = Some(value.extract::<u64>()?),
            "pending" => pending = Some(value.extract::<Vec<u32>>()?),
            _ => arrays.push(state_array(&name, &value, n)?),
        }
    }
    let missing =
        |what: &str| errors::wrong_type("state", &format!("a dict with {what:?}"), "none");
    Ok(EngineState {
        engine: engine.into(),
        step: step.ok_or_else(|| missing("step"))?,
        pending: pending.ok_or_else(|| missing("pending"))?,
        partitions: vec![PartitionState {
            range: 0..n,
            arrays,
        }],
    })
}

/// One state array of a state() dict: (N,) or (N, width) of the types the
/// engine saves.
fn state_array(name: &str, value: &Bound<'_, PyAny>, n: usize) -> PyResult<StateArray> {
    let array = value.cast::<PyUntypedArray>().map_err(|_| {
        errors::wrong_type(&format!("state[{name:?}]"), "a NumPy array", "another type")
    })?;
    let width = match array.shape() {
        [m] if *m == n => 1,
        [m, w] if *m == n => *w,
        shape => {
            return Err(errors::vector_shape_of(name, n, shape));
        }
    };
    let flat = array.call_method1("reshape", (-1,))?;
    // NumPy's type string: byte order, kind and size ("<f8", "|u1").
    let dtype: String = array.dtype().getattr("str")?.extract()?;
    let data = match &dtype[1..] {
        "f8" => StateData::F64(flat.extract()?),
        "f4" => StateData::F32(flat.extract()?),
        "u8" => StateData::U64(flat.extract()?),
        "u4" => StateData::U32(flat.extract()?),
        "u1" | "b1" => StateData::U8(flat.call_method1("astype", ("u1",))?.extract()?),
        _ => {
            return Err(errors::wrong_type(
                &format!("state[{name:?}]"),
                "an array of the type state() gives",
                &dtype,
            ))
        }
    };
    Ok(StateArray::new(name, width, data))
}

/// What a running piece reports to: Ctrl-C (on the main thread) and a
/// Python progress callback, each a few times a second.
pub(crate) struct Observer {
    signals: Option<SignalCheck>,
    progress: Option<Py<PyAny>>,
    /// The step the piece started at.
    start: u64,
    next: Duration,
    /// An exception the progress callback raised.
    failed: Option<PyErr>,
}

/// How often the progress callback is called.
const REPORT_EVERY: Duration = Duration::from_millis(100);

impl Observer {
    /// The observer of a piece starting at step `start`: Ctrl-C on the main
    /// thread, and `progress` (called with steps done, steps, spikes).
    pub(crate) fn new(py: Python<'_>, progress: Option<Py<PyAny>>, start: u64) -> PyResult<Self> {
        Ok(Observer {
            signals: SignalCheck::for_this_thread(py)?,
            progress,
            start,
            next: Duration::ZERO,
            failed: None,
        })
    }

    /// The exception to raise for a piece stopped at `step` of `until`.
    pub(crate) fn stopped(self, step: u64, until: u64) -> PyErr {
        match (self.failed, self.signals.and_then(|s| s.raised)) {
            (Some(e), _) | (None, Some(e)) => e,
            (None, None) => {
                errors::from_core(lifsim_core::Error::Interrupted { step, steps: until })
            }
        }
    }
}

impl ProgressObserver for Observer {
    fn update(&mut self, p: &Progress) -> ControlFlow<()> {
        if let Some(check) = &mut self.signals {
            check.update(p)?;
        }
        let done = p.step >= p.steps;
        let Some(callback) = &self.progress else {
            return ControlFlow::Continue(());
        };
        if p.elapsed < self.next && !done {
            return ControlFlow::Continue(());
        }
        self.next = p.elapsed + REPORT_EVERY;
        let args = (p.step - self.start, p.steps - self.start, p.spikes);
        match Python::attach(|py| callback.call1(py, args).map(drop)) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.failed = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}
