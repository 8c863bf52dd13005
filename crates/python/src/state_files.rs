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

use crate::simulation::Engine;

/// The streamed monitors of a simulation: each one's index and stream.
#[derive(Default)]
pub struct StateFiles {
    streams: Vec<(usize, StateStream)>,
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
        if let Some((m, _)) = self
            .streams
            .iter()
            .find(|(_, s)| same_file(s.target(), path))
        {
            return Err(Error::file(
                path,
                format!("is the file of state monitor {m} already; give each monitor its own"),
            ));
        }
        check_writable(path)?;
        let m = engine.add_state_monitor_streamed(spec)?;
        // The first (empty) block gives the stream its population, ids and
        // variables.
        let first = engine.drain_state_record(m);
        let stream = StateStream::create(path, &[first])?;
        self.streams.push((m, stream));
        Ok(m)
    }

    /// Whether any monitor is streamed.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// The file of monitor `m`, if it is streamed.
    pub fn path(&self, m: usize) -> Option<PathBuf> {
        self.streams
            .iter()
            .find(|(k, _)| *k == m)
            .map(|(_, s)| s.target().to_path_buf())
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
        for (m, stream) in &mut self.streams {
            stream.append(0, &engine.drain_state_record(*m))?;
        }
        Ok(())
    }

    /// Writes every streamed monitor's file with its samples so far.
    pub fn write(&mut self) -> Result<()> {
        self.streams.iter_mut().try_for_each(|(_, s)| s.write())
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
