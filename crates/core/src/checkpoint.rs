//! Checkpoints: the whole dynamic state of a running simulation, written to
//! an `.npz` file atomically, so a run can be resumed and end with exactly
//! the spikes it would have had without interruption.
//!
//! Each partition (range of neurons) reports its state as named arrays with a
//! fixed number of values per neuron, neuron-major ([`PartitionState`]). The
//! checkpoint stores them concatenated network-wide, so a run may be resumed
//! with another thread count: the arrays are cut again along the new ranges.
//! An engine that gains state (a new buffer) adds an array; nothing else in
//! this file changes.
//!
//! File layout (`.npz`, readable by `numpy.load`):
//!
//! | member | content |
//! |---|---|
//! | `meta` | uint32: the bytes of UTF-8 JSON ([`CheckpointMeta`]: what ran, how to resume it) |
//! | `step` | uint64 scalar: steps done |
//! | `pending` | uint32: the neurons that spike at the next step |
//! | `state/<name>` | one array per state array, shape (N,) or (N, width) |

use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::npy::{Elem, NpyArray};
use crate::io::npz::{self, NpzReader};
use crate::io::stream::StreamPosition;

/// The values of one state array.
#[derive(Clone, Debug, PartialEq)]
pub enum StateData {
    /// float64 values.
    F64(Vec<f64>),
    /// float32 values.
    F32(Vec<f32>),
    /// uint64 values (steps, generator states).
    U64(Vec<u64>),
    /// uint32 values (counters).
    U32(Vec<u32>),
    /// uint8 values (flags).
    U8(Vec<u8>),
}

impl StateData {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            StateData::F64(v) => v.len(),
            StateData::F32(v) => v.len(),
            StateData::U64(v) => v.len(),
            StateData::U32(v) => v.len(),
            StateData::U8(v) => v.len(),
        }
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn empty_like(&self) -> Self {
        match self {
            StateData::F64(_) => StateData::F64(Vec::new()),
            StateData::F32(_) => StateData::F32(Vec::new()),
            StateData::U64(_) => StateData::U64(Vec::new()),
            StateData::U32(_) => StateData::U32(Vec::new()),
            StateData::U8(_) => StateData::U8(Vec::new()),
        }
    }

    fn extend(&mut self, other: &StateData) -> bool {
        match (self, other) {
            (StateData::F64(a), StateData::F64(b)) => a.extend_from_slice(b),
            (StateData::F32(a), StateData::F32(b)) => a.extend_from_slice(b),
            (StateData::U64(a), StateData::U64(b)) => a.extend_from_slice(b),
            (StateData::U32(a), StateData::U32(b)) => a.extend_from_slice(b),
            (StateData::U8(a), StateData::U8(b)) => a.extend_from_slice(b),
            _ => return false,
        }
        true
    }

    fn slice(&self, r: Range<usize>) -> StateData {
        match self {
            StateData::F64(v) => StateData::F64(v[r].to_vec()),
            StateData::F32(v) => StateData::F32(v[r].to_vec()),
            StateData::U64(v) => StateData::U64(v[r].to_vec()),
            StateData::U32(v) => StateData::U32(v[r].to_vec()),
            StateData::U8(v) => StateData::U8(v[r].to_vec()),
        }
    }
}

/// One named piece of state: `width` values per neuron, neuron-major.
#[derive(Clone, Debug, PartialEq)]
pub struct StateArray {
    /// Its name (`v`, `refractory_until`, ...).
    pub name: String,
    /// Values per neuron.
    pub width: usize,
    /// The values, `width` per neuron, neuron after neuron.
    pub data: StateData,
}

impl StateArray {
    /// An array of `name` with `width` values per neuron.
    pub fn new(name: &str, width: usize, data: StateData) -> Self {
        Self {
            name: name.to_string(),
            width,
            data,
        }
    }
}

/// The state of one partition: neurons `range`, as named arrays.
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionState {
    /// The neurons (network-wide ids).
    pub range: Range<usize>,
    /// The arrays, each with `range.len() * width` values.
    pub arrays: Vec<StateArray>,
}

impl PartitionState {
    /// The array called `name`, checked to hold `width` values per neuron.
    pub fn array(&self, name: &str, width: usize) -> Result<&StateData> {
        let a =
            self.arrays.iter().find(|a| a.name == name).ok_or_else(|| {
                Error::param("checkpoint", format!("has no state array {name:?}"))
            })?;
        if a.width != width || a.data.len() != width * self.range.len() {
            return Err(Error::param(
                "checkpoint",
                format!(
                    "state array {name:?} has {} values ({} per neuron); this run needs {} per neuron for {} neurons",
                    a.data.len(),
                    a.width,
                    width,
                    self.range.len()
                ),
            ));
        }
        Ok(&a.data)
    }
}

/// The whole dynamic state of a simulation after `step` steps.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineState {
    /// Which engine (`dense`, `network`): a checkpoint resumes only on the same.
    pub engine: String,
    /// Steps done.
    pub step: u64,
    /// The neurons that spike at the next step (sorted ids).
    pub pending: Vec<u32>,
    /// The partitions' states, in range order.
    pub partitions: Vec<PartitionState>,
}

impl EngineState {
    /// The partitions joined into one network-wide partition.
    pub fn joined(&self) -> Result<PartitionState> {
        let bad = |m: String| Error::param("checkpoint", m);
        let first = self
            .partitions
            .first()
            .ok_or_else(|| bad("holds no partition".into()))?;
        let mut arrays: Vec<StateArray> = first
            .arrays
            .iter()
            .map(|a| StateArray::new(&a.name, a.width, a.data.empty_like()))
            .collect();
        let mut end = first.range.start;
        for p in &self.partitions {
            if p.range.start != end {
                return Err(bad(format!(
                    "partition ranges are not contiguous at neuron {end}"
                )));
            }
            end = p.range.end;
            for a in &mut arrays {
                let src = p.array(&a.name, a.width)?;
                if !a.data.extend(src) {
                    return Err(bad(format!("state array {:?} changes type", a.name)));
                }
            }
        }
        Ok(PartitionState {
            range: first.range.start..end,
            arrays,
        })
    }

    /// The pending spikes (see [`EngineState::pending`]) of neurons `range`:
    /// what a partition restored from `pending` holds as its own.
    pub fn pending_in<'a>(
        pending: &'a [u32],
        range: &'a Range<usize>,
    ) -> impl Iterator<Item = u32> + 'a {
        pending
            .iter()
            .copied()
            .filter(move |&j| range.contains(&(j as usize)))
    }

    /// The network-wide state cut into partitions `range`.
    pub fn cut(whole: &PartitionState, range: Range<usize>) -> Result<PartitionState> {
        if range.start < whole.range.start || range.end > whole.range.end {
            return Err(Error::param(
                "checkpoint",
                format!("holds neurons {:?}, not {range:?}", whole.range),
            ));
        }
        let local = range.start - whole.range.start..range.end - whole.range.start;
        Ok(PartitionState {
            range,
            arrays: whole
                .arrays
                .iter()
                .map(|a| {
                    StateArray::new(
                        &a.name,
                        a.width,
                        a.data.slice(local.start * a.width..local.end * a.width),
                    )
                })
                .collect(),
        })
    }
}

/// A simulation whose state can be saved and restored.
pub trait Checkpoint {
    /// The state now.
    fn save_state(&self) -> EngineState;
    /// Puts the simulation in `state` (from [`Checkpoint::save_state`] of the
    /// same network, possibly with another thread count); fails naming what
    /// does not match.
    fn restore_state(&mut self, state: &EngineState) -> Result<()>;
}

/// What a checkpoint records beside the state: the run and how to go on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Checkpoint format version.
    pub version: u32,
    /// The engine (`dense`, `network`).
    pub engine: String,
    /// Neurons.
    pub n: u64,
    /// Time step (ms).
    pub dt: f64,
    /// Steps of the whole run.
    pub steps: u64,
    /// The `lifsim run` arguments that started the run (after `run`).
    pub args: Vec<String>,
    /// The folder it ran in (relative paths in `args` are from there).
    pub cwd: String,
    /// Output format (`dense`, `events`, `sonata`).
    pub format: String,
    /// The output file.
    pub out: String,
    /// The event stream being written.
    pub stream: String,
    /// Where the stream stood at the checkpoint.
    pub position: StreamPosition,
}

/// The checkpoint format version written.
pub const CHECKPOINT_VERSION: u32 = 1;

/// Writes a checkpoint atomically (a crash while writing leaves the previous one).
pub fn save(path: &Path, meta: &CheckpointMeta, state: &EngineState) -> Result<()> {
    let whole = state.joined()?;
    let n = whole.range.len();
    let json = serde_json::to_vec(meta).expect("meta serialises");
    npz::save_npz(path, |z| {
        z.add(
            "meta",
            &json.iter().map(|&b| b as u32).collect::<Vec<u32>>(),
            &[json.len()],
        )?;
        z.add("step", &[state.step], &[])?;
        z.add("pending", &state.pending, &[state.pending.len()])?;
        for a in &whole.arrays {
            let name = format!("state/{}", a.name);
            let shape = if a.width == 1 {
                vec![n]
            } else {
                vec![n, a.width]
            };
            match &a.data {
                StateData::F64(v) => z.add(&name, v, &shape)?,
                StateData::F32(v) => z.add(&name, v, &shape)?,
                StateData::U64(v) => z.add(&name, v, &shape)?,
                StateData::U32(v) => z.add(&name, v, &shape)?,
                StateData::U8(v) => {
                    let b: Vec<bool> = v.iter().map(|&x| x != 0).collect();
                    z.add(&name, &b, &shape)?
                }
            }
        }
        Ok(())
    })
}

/// Reads a checkpoint: its meta and the network-wide state (one partition).
pub fn load(path: &Path) -> Result<(CheckpointMeta, EngineState)> {
    let mut z = NpzReader::open(path)?;
    let names = z.names();
    if !names.iter().any(|m| m == "meta") {
        return Err(Error::file(path, "is not a lifsim checkpoint (no meta)"));
    }
    let bytes: Vec<u8> = z
        .array("meta")?
        .to_u64_vec()?
        .into_iter()
        .map(|b| b as u8)
        .collect();
    let meta: CheckpointMeta = serde_json::from_slice(&bytes)
        .map_err(|e| Error::file(path, format!("bad checkpoint meta ({e})")))?;
    if meta.version != CHECKPOINT_VERSION {
        return Err(Error::file(
            path,
            format!(
                "checkpoint version {}; this lifsim reads {CHECKPOINT_VERSION}",
                meta.version
            ),
        ));
    }
    let step = z.array("step")?.to_u64_vec()?.first().copied().unwrap_or(0);
    let pending = z
        .array("pending")?
        .to_u64_vec()?
        .into_iter()
        .map(|i| i as u32)
        .collect();
    let n = meta.n as usize;
    let mut arrays = Vec::new();
    for name in names.iter().filter_map(|m| m.strip_prefix("state/")) {
        let a = z.array(&format!("state/{name}"))?;
        let h = a.header().clone();
        let width = match h.shape[..] {
            [m] if m == n => 1,
            [m, w] if m == n => w,
            _ => {
                return Err(Error::file(
                    path,
                    format!("state/{name} has shape {:?}, not ({n}, ...)", h.shape),
                ))
            }
        };
        let data = match h.elem {
            Elem::F64 => StateData::F64(a.to_f64_vec()),
            Elem::F32 => StateData::F32(read_f32(&a)),
            Elem::U64 => StateData::U64(a.to_u64_vec()?),
            Elem::U32 => StateData::U32(a.to_u64_vec()?.into_iter().map(|x| x as u32).collect()),
            Elem::Bool => StateData::U8(a.data().iter().map(|&b| u8::from(b != 0)).collect()),
            other => {
                return Err(Error::file(
                    path,
                    format!("state/{name} has dtype {}", other.name()),
                ))
            }
        };
        arrays.push(StateArray::new(name, width, data));
    }
    let state = EngineState {
        engine: meta.engine.clone(),
        step,
        pending,
        partitions: vec![PartitionState {
            range: 0..n,
            arrays,
        }],
    };
    Ok((meta, state))
}

fn read_f32(a: &NpyArray) -> Vec<f32> {
    // float32 -> float64 -> float32 is exact.
    a.to_f64_vec().into_iter().map(|x| x as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineOptions, Simulation};
    use crate::inputs::{ExternalCurrent, InitialVoltage};
    use crate::model::LifParams;
    use crate::network::DenseView;
    use crate::recording::{RecordMode, Recorder};

    fn sim<'w>(w: &'w [f64], n: usize, p: &LifParams, threads: usize) -> Simulation<'w, f64> {
        Simulation::new(
            DenseView::new(n, w).unwrap(),
            p,
            &ExternalCurrent::Constant(25.0),
            &InitialVoltage::Uniform { seed: 9 },
            &EngineOptions {
                threads: Some(threads),
                isa: None,
            },
        )
        .unwrap()
    }

    fn meta(n: usize, p: &LifParams) -> CheckpointMeta {
        CheckpointMeta {
            version: CHECKPOINT_VERSION,
            engine: "dense".into(),
            n: n as u64,
            dt: p.dt,
            steps: p.steps() as u64,
            args: vec!["--t-max".into(), "30".into()],
            cwd: "/".into(),
            format: "events".into(),
            out: "s.npz".into(),
            stream: "s.npz.spikes".into(),
            position: StreamPosition {
                step: 1000,
                bytes: 64,
                spikes: 0,
            },
        }
    }

    #[test]
    fn a_restored_run_goes_on_bit_for_bit_with_any_thread_count() {
        let n = 300;
        let w: Vec<f64> = (0..n * n)
            .map(|k| ((k * 7 % 23) as f64 - 11.0) / 8.0)
            .collect();
        let p = LifParams {
            t_max: 30.0,
            t_ref: 2.0,
            ..LifParams::default()
        };
        let mut whole = Recorder::new(RecordMode::Events, n, p.steps()).unwrap();
        sim(&w, n, &p, 1).run(&mut whole);
        let whole = whole.finish(p.dt);
        assert!(whole.total > 200);

        let mut first = sim(&w, n, &p, 3);
        let mut rec = Recorder::new(RecordMode::Events, n, p.steps()).unwrap();
        first.run_until(1234, &mut rec);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.npz");
        save(&path, &meta(n, &p), &first.save_state()).unwrap();
        drop(first);
        let (m, state) = load(&path).unwrap();
        assert_eq!(m, meta(n, &p));
        assert_eq!(state.step, 1234);
        // Resumed on another thread count, the rest of the run is the same.
        let mut second = sim(&w, n, &p, 2);
        second.restore_state(&state).unwrap();
        second.run(&mut rec);
        assert_eq!(rec.finish(p.dt).events, whole.events);
        // A checkpoint of another network is refused.
        let w2 = vec![0.0; 10 * 10];
        let e = sim(&w2, 10, &p, 1).restore_state(&state).unwrap_err();
        assert!(
            e.to_string()
                .contains("holds 300 neurons; this network has 10"),
            "{e}"
        );
    }

    /// Every spike, as (step, id).
    #[derive(Default)]
    struct Collect(Vec<(u64, u32)>);

    impl crate::recording::SpikeSink for Collect {
        fn record(&mut self, step: usize, fired: &[u32]) {
            self.0.extend(fired.iter().map(|&i| (step as u64, i)));
        }
    }

    /// A network with every kind of state the network engine has: delta
    /// synapses with delays (ring buffers), exponential synapses with and
    /// without delay (currents), refractoriness and Poisson input.
    const NETWORK: &str = r#"
        dt = 0.1
        duration = 300.0
        seed = 5
        [[population]]
        name = "E"
        size = 160
        tau_m = 20.0
        v_rest = -49.0
        v_reset = -60.0
        v_thresh = -50.0
        t_ref = 2.0
        r = 1.0
        v0 = { distribution = "uniform", low = -60.0, high = -50.0 }
        integration = "exact"
        [[population]]
        name = "I"
        size = 40
        tau_m = 10.0
        v_rest = -55.0
        v_reset = -60.0
        v_thresh = -50.0
        t_ref = 1.0
        r = 1.0
        v0 = -58.0
        integration = "exact"
        [[projection]]
        source = "E"
        target = ["E", "I"]
        rule = "fixed_probability"
        p = 0.1
        weight = 1.5
        delay = 1.2
        synapse = "exponential"
        tau_syn = 5.0
        [[projection]]
        source = "I"
        target = ["E"]
        rule = "fixed_indegree"
        indegree = 8
        weight = -2.0
        delay = 0.7
        synapse = "delta"
        [[projection]]
        source = "E"
        target = ["I"]
        rule = "fixed_probability"
        p = 0.05
        weight = 0.8
        delay = 0.0
        synapse = "exponential"
        tau_syn = 3.0
        [[input]]
        type = "poisson"
        target = ["E", "I"]
        rate = 900.0
        weight = 0.6
        synapse = "delta"
    "#;

    #[test]
    fn a_restored_network_goes_on_bit_for_bit_with_any_thread_count() {
        use crate::engine::NetworkSimulation;
        use crate::network::{Network, NetworkDescription};
        let desc = NetworkDescription::from_toml(NETWORK, Path::new("."), "mixed").unwrap();
        let net = Network::<f64>::build(&desc).unwrap();
        let n = net.n();
        let steps = desc.steps();
        let mut whole = Recorder::new(RecordMode::Events, n, steps).unwrap();
        NetworkSimulation::new(&net, Some(1))
            .unwrap()
            .run(&mut whole);
        let whole = whole.finish(desc.dt);
        assert!(whole.total > 500, "the network is active: {}", whole.total);

        let mut first = NetworkSimulation::new(&net, Some(3)).unwrap();
        let mut before = Collect::default();
        first.run_until(1111, &mut before);
        let state = first.save_state();
        let names: Vec<&str> = state.partitions[0]
            .arrays
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        for want in ["y", "until", "ring0", "dirty0", "poisson0"] {
            assert!(names.contains(&want), "{want} not in {names:?}");
        }
        assert!(names.iter().any(|n| n.starts_with("isyn")), "{names:?}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.npz");
        let mut m = meta(n, &LifParams::default());
        m.engine = "network".into();
        save(&path, &m, &state).unwrap();
        drop(first);
        let (_, state) = load(&path).unwrap();
        for threads in [1, 2] {
            let mut second = NetworkSimulation::new(&net, Some(threads)).unwrap();
            second.restore_state(&state).unwrap();
            let mut after = Collect::default();
            second.run(&mut after);
            let all: Vec<(u64, u32)> = before.0.iter().chain(&after.0).copied().collect();
            let events = whole.events.as_ref().unwrap();
            let want: Vec<(u64, u32)> = events
                .steps
                .iter()
                .copied()
                .zip(events.ids.iter().copied())
                .collect();
            assert_eq!(all, want, "{threads} threads");
        }
        // A dense checkpoint does not restore a network.
        let dense = EngineState {
            engine: "dense".into(),
            ..state
        };
        let mut other = NetworkSimulation::new(&net, None).unwrap();
        let e = other.restore_state(&dense).unwrap_err();
        assert!(e.to_string().contains("not the network engine"), "{e}");
    }
}
