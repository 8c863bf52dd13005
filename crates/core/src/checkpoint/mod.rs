//! Checkpoints: the whole dynamic state of a running simulation, written to
//! an `.npz` file atomically, so a run can be resumed and end with exactly
//! the spikes it would have had without interruption.
//!
//! Each partition (range of neurons) reports its state as named arrays with a
//! fixed number of values per neuron, neuron-major ([`PartitionState`]). The
//! checkpoint stores them concatenated network-wide, so a run may be resumed
//! with another thread count: the arrays are cut again along the new ranges.
//! An engine that gains state (a new buffer) adds an array, and a line to its
//! table of what it saves (`DENSE`, `NETWORK` here): [`load`] refuses arrays
//! the table does not name.
//!
//! File layout (`.npz`, readable by `numpy.load`), format version
//! [`CHECKPOINT_VERSION`]:
//!
//! | member | content |
//! |---|---|
//! | `meta` | uint32: the bytes of UTF-8 JSON ([`CheckpointMeta`]: what ran, how to resume it) |
//! | `step` | uint64 scalar: steps done (the stream position's step) |
//! | `pending` | uint32: the neurons that spike at the next step, ascending |
//! | `state/<name>` | one array per state array, shape (N,) or (N, width) |
//! | `checksum` | uint64 scalar: 64-bit FNV-1a of every other member's file name (`meta.npy`, ...) and bytes, in archive order |
//!
//! Over MPI ranks each rank writes the state of its own neurons to a file
//! of its own (`<checkpoint>.step<s>.rank<r>of<K>.npz`: `step`, `range`,
//! its `state/<name>` arrays over its neurons, `checksum`) and rank 0 writes
//! the checkpoint itself as a manifest without state arrays, whose meta
//! lists the ranks' files ([`PartFile`]). [`load`] stitches them into the
//! network-wide state, so any number of ranks and threads resumes it; a
//! rank of a resume over MPI reads only the files of its own neurons
//! ([`open`], [`Opened::state_of`]).
//!
//! Nothing in a checkpoint is taken on trust: [`load`] checks all of it
//! before a resume touches the stream or simulates a step.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
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

    /// As many zeros of the same type.
    pub(crate) fn zeroed(&self) -> Self {
        match self {
            StateData::F64(v) => StateData::F64(vec![0.0; v.len()]),
            StateData::F32(v) => StateData::F32(vec![0.0; v.len()]),
            StateData::U64(v) => StateData::U64(vec![0; v.len()]),
            StateData::U32(v) => StateData::U32(vec![0; v.len()]),
            StateData::U8(v) => StateData::U8(vec![0; v.len()]),
        }
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
#[serde(deny_unknown_fields)]
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
    /// The network file of a simulation run from Python (which has no
    /// arguments, output or stream): `lifsim.resume` builds it again from
    /// this. Absent from the CLI's checkpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Per population, the spikes up to the checkpoint of neurons whose
    /// spikes are not written (`[[record.spikes_from]]`): the stream holds
    /// the others, and a resumed run's summary counts them all. Absent
    /// where every neuron is recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unrecorded: Vec<u64>,
    /// A checkpoint written by MPI ranks: each rank's file of the state of
    /// its neurons (`parts.rs`); this file, the manifest, then holds no
    /// state array. Absent from a one-process checkpoint, which holds the
    /// state itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartFile>,
}

/// The checkpoint format version written. Version 2 added the `checksum`
/// member; a version 1 file cannot be verified and is refused.
pub const CHECKPOINT_VERSION: u32 = 2;

/// The engine every checkpoint of this lifsim is of (the one engine, the
/// seed's run included).
pub const ENGINE: &str = "network";

/// The engine of the seed's checkpoints before the seed ran as a network
/// (`v`, `refractory_until`): still read, and translated by
/// [`crate::Simulation`] when restored.
pub const DENSE_ENGINE: &str = "dense";

mod parts;
mod read;
#[cfg(test)]
mod tests;
pub(crate) mod wire;
mod write;

pub use parts::{part_path, remove, remove_stale_parts, PartFile};
pub use read::{load, open, Opened};
pub use write::{save, save_manifest, save_part};
