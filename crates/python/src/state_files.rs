//! State monitors of a Python simulation streamed to disk
//! (`Simulation.record_state(..., to="v.npz")`), as `lifsim run`'s
//! `state_to = "disk"` streams them: the run goes in blocks whose samples
//! fit in [`STREAM_BLOCK_BYTES`], each monitor's block is drained into its
//! own [`StateStream`] (the core's writer, `monitor/stream.rs`), and after
//! every `run()` the monitor's file is written with every sample so far,
//! in the layout of `lifsim run`'s `.state.npz`. Memory holds one block.

use std::path::{Path, PathBuf};

use lifsim_core::io::output::check_writable;
use lifsim_core::monitor::stream::StateStream;
use lifsim_core::monitor::{StateMonitorSpec, STREAM_BLOCK_BYTES};
use lifsim_core::{Error, Result};

use lifsim_core::NetworkDescription;
use pyo3::prelude::*;
use pyo3::types::PyBool;

use crate::simulation::Engine;

/// The streamed monitors of a simulation: each stream and the indices of
/// its monitors (one for `record_state(..., to=)`, every state monitor of
/// the network file for its `state_to = "disk"`).
#[derive(Default)]
pub struct StateFiles {
    streams: Vec<(Vec<usize>, StateStream)>,
}

impl StateFiles {
    /// Adds a monitor of `spec` streamed to `path`; its index. Refuses a
    /// path that cannot be written or that another monitor writes.
    pub fn add(
        &mut self,
        engine: &mut Engine,
        spec: &StateMonitorSpec,
        path: &Path,
    ) -> Result<usize> {
        let ms = self.add_all(engine, std::slice::from_ref(spec), path)?;
        Ok(ms[0])
    }

    /// Adds monitors of `specs` streamed together to `path`, as `lifsim
    /// run` streams a network file's monitors to its `.state.npz`; their
    /// indices. Refuses a path that cannot be written or that another
    /// monitor writes.
    pub fn add_all(
        &mut self,
        engine: &mut Engine,
        specs: &[StateMonitorSpec],
        path: &Path,
    ) -> Result<Vec<usize>> {
        if let Some((ms, _)) = self
            .streams
            .iter()
            .find(|(_, s)| same_file(s.target(), path))
        {
            return Err(Error::file(
                path,
                format!(
                    "is the file of state monitor {} already; give each monitor its own",
                    ms[0]
                ),
            ));
        }
        check_writable(path)?;
        let ms = specs
            .iter()
            .map(|spec| engine.add_state_monitor_streamed(spec))
            .collect::<Result<Vec<usize>>>()?;
        // The first (empty) blocks give the stream its populations, ids
        // and variables.
        let first: Vec<_> = ms.iter().map(|&m| engine.drain_state_record(m)).collect();
        let stream = StateStream::create(path, &first)?;
        self.streams.push((ms.clone(), stream));
        Ok(ms)
    }

    /// Whether any monitor is streamed.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// The file of monitor `m`, if it is streamed.
    pub fn path(&self, m: usize) -> Option<PathBuf> {
        self.streams
            .iter()
            .find(|(ms, _)| ms.contains(&m))
            .map(|(_, s)| s.target().to_path_buf())
    }

    /// The key prefix of monitor `m`'s arrays in its file (`E`, `E#2` for a
    /// second monitor of `E` in the same file), if it is streamed;
    /// `population` gives each monitor's population.
    pub fn key(&self, m: usize, population: impl Fn(usize) -> String) -> Option<String> {
        let (ms, _) = self.streams.iter().find(|(ms, _)| ms.contains(&m))?;
        let own = population(m);
        let before = ms
            .iter()
            .take_while(|&&k| k != m)
            .filter(|&&k| population(k) == own)
            .count();
        Some(match before {
            0 => own,
            n => format!("{own}#{}", n + 1),
        })
    }

    /// Where the next block ends, from step `at` towards `until`.
    pub fn block_end(&self, engine: &Engine, at: u64, until: u64) -> u64 {
        if self.is_empty() {
            return until;
        }
        until.min(at.saturating_add(engine.state_block_steps(STREAM_BLOCK_BYTES)))
    }

    /// Appends each streamed monitor's samples since the last drain.
    pub fn drain(&mut self, engine: &mut Engine) -> Result<()> {
        for (ms, stream) in &mut self.streams {
            for (k, &m) in ms.iter().enumerate() {
                stream.append(k, &engine.drain_state_record(m))?;
            }
        }
        Ok(())
    }

    /// Writes every streamed monitor's file with its samples so far.
    pub fn write(&mut self) -> Result<()> {
        self.streams.iter_mut().try_for_each(|(_, s)| s.write())
    }
}

/// Where the state monitors of a network file go in a Python build.
#[derive(Clone, Debug, Default)]
pub enum StateTo {
    /// As the network says: with `[record] state_to = "disk"`, streamed to
    /// `<network name>.state.npz` in the current folder (as `lifsim run
    /// NAME.toml` writes `<stem>.state.npz` beside its output); else kept
    /// in memory.
    #[default]
    Network,
    /// Streamed to this file, whatever the network says.
    File(PathBuf),
    /// Kept in memory, whatever the network says (sweeps and batches,
    /// which return spikes only).
    Memory,
}

impl StateTo {
    /// Python's `state_to=`: None (as the network says), a path (str or
    /// os.PathLike), or False (in memory).
    pub fn from_py(value: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let Some(v) = value.filter(|v| !v.is_none()) else {
            return Ok(StateTo::Network);
        };
        if let Ok(b) = v.cast::<PyBool>() {
            if !b.is_true() {
                return Ok(StateTo::Memory);
            }
        } else if let Ok(path) = v.extract::<PathBuf>() {
            return Ok(StateTo::File(path));
        }
        let got = v
            .get_type()
            .name()
            .map_or_else(|_| "?".into(), |n| n.to_string());
        Err(crate::errors::wrong_type(
            "state_to",
            "a file path, False or None",
            &got,
        ))
    }

    /// The file the state monitors of `desc` stream to, if they do: none
    /// without state monitors. A network that streams but whose name is no
    /// file name is refused, saying how to name the file.
    pub fn resolve(&self, desc: &NetworkDescription) -> Result<Option<PathBuf>> {
        if desc.monitors.state.is_empty() {
            return Ok(None);
        }
        match self {
            StateTo::Memory => Ok(None),
            StateTo::File(path) => Ok(Some(path.clone())),
            StateTo::Network if !desc.monitors.stream => Ok(None),
            StateTo::Network => {
                let name = &desc.name;
                let bad = name.is_empty()
                    || name.starts_with('.')
                    || name.contains(['/', '\\'])
                    || name.chars().any(char::is_control);
                if bad {
                    return Err(Error::param(
                        "state_to",
                        format!(
                            "the network {name:?} streams its state monitors to disk ([record] state_to = \"disk\") to <name>.state.npz, but its name is not a file name; give the file: build(state_to=\"v.npz\")"
                        ),
                    ));
                }
                // Absolute: the monitors read it back wherever the
                // current folder is by then.
                let path = PathBuf::from(format!("{name}.state.npz"));
                Ok(Some(std::path::absolute(&path).unwrap_or(path)))
            }
        }
    }
}

/// Whether `a` and `b` name one file (by name, the file not existing yet).
fn same_file(a: &Path, b: &Path) -> bool {
    let full = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    full(a) == full(b)
}

impl Engine {
    /// Adds a state monitor whose samples are drained to disk every block.
    fn add_state_monitor_streamed(&mut self, spec: &StateMonitorSpec) -> Result<usize> {
        match self {
            Engine::F64(s) => s.add_state_monitor_streamed(spec, true),
            Engine::F32(s) => s.add_state_monitor_streamed(spec, true),
        }
    }

    /// Monitor `m`'s samples since the last drain, dropped from memory.
    fn drain_state_record(&mut self, m: usize) -> lifsim_core::monitor::StateRecord {
        match self {
            Engine::F64(s) => s.drain_state_record(m),
            Engine::F32(s) => s.drain_state_record(m),
        }
    }

    /// Steps whose samples of every monitor fit in `bytes`.
    fn state_block_steps(&self, bytes: u64) -> u64 {
        match self {
            Engine::F64(s) => s.state_block_steps(bytes),
            Engine::F32(s) => s.state_block_steps(bytes),
        }
    }
}
