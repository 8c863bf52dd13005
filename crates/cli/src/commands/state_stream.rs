//! `lifsim run NETWORK.toml --stream-state` (or `[record]`'s `state_to =
//! "disk"`): the simulation runs in blocks whose state-monitor samples fit
//! in [`STREAM_BLOCK_BYTES`]; after each, the samples are drained into a
//! [`StateStream`] (temporary files beside the output) and at the end
//! written to `<stem>.state.npz`. Without streaming this is a plain
//! pass-through and the samples stay in memory.

use std::path::Path;

use anyhow::Result;
use lifsim_core::checkpoint::{CheckpointMeta, EngineState};
use lifsim_core::io::output::check_space;
use lifsim_core::monitor::files::monitor_paths;
use lifsim_core::monitor::stream::StateStream;
use lifsim_core::monitor::STREAM_BLOCK_BYTES;
use lifsim_core::progress::Stepper;
use lifsim_core::recording::SpikeSink;
use lifsim_core::{NetworkSimulation, Real};

/// A network simulation whose state monitors may stream to disk.
pub struct StateStreaming<'a, 's, T: Real> {
    sim: &'a mut NetworkSimulation<'s, T>,
    /// The stream and the steps per block; none: the samples stay in memory.
    stream: Option<(StateStream, u64)>,
    /// The first write error: the run goes on, the error is reported at the
    /// end (a [`Stepper`] cannot fail).
    error: Option<lifsim_core::Error>,
}

impl<'a, 's, T: Real> StateStreaming<'a, 's, T> {
    /// Wraps `sim`; with `streamed` and state monitors, checks the disk
    /// beside `out` has room for the whole run's samples (the temporary
    /// files and the final file, side by side) and opens the stream.
    pub fn start(
        sim: &'a mut NetworkSimulation<'s, T>,
        streamed: bool,
        out: &Path,
    ) -> Result<Self> {
        let mut this = Self {
            sim,
            stream: None,
            error: None,
        };
        if !streamed || this.sim.state_monitors() == 0 {
            return Ok(this);
        }
        let (target, _) = monitor_paths(out);
        let bytes = this.sim.state_bytes_left().saturating_mul(2);
        check_space(&target, bytes, "the streamed state monitors' samples")?;
        let first: Vec<_> = (0..this.sim.state_monitors())
            .map(|m| this.sim.drain_state_record(m))
            .collect();
        let block = this.sim.state_block_steps(STREAM_BLOCK_BYTES);
        this.stream = Some((StateStream::create(&target, &first)?, block));
        Ok(this)
    }

    /// The simulation.
    pub fn sim(&self) -> &NetworkSimulation<'s, T> {
        self.sim
    }

    /// Writes `<stem>.state.npz` from the stream, if streaming; the files
    /// written.
    pub fn finish(&mut self) -> Result<Vec<String>> {
        let Some((stream, _)) = self.stream.take() else {
            return Ok(Vec::new());
        };
        if let Some(e) = self.error.take() {
            return Err(e.into());
        }
        let mut stream = stream;
        self.drain(&mut stream)?;
        let target = stream.target().display().to_string();
        stream.finish()?;
        Ok(vec![target])
    }

    /// Appends every monitor's samples since the last drain.
    fn drain(&mut self, stream: &mut StateStream) -> lifsim_core::Result<()> {
        for m in 0..self.sim.state_monitors() {
            let block = self.sim.drain_state_record(m);
            stream.append(m, &block)?;
        }
        Ok(())
    }
}

impl<T: Real> Stepper for StateStreaming<'_, '_, T> {
    fn step_index(&self) -> u64 {
        self.sim.step_index()
    }

    fn steps(&self) -> u64 {
        Stepper::steps(&*self.sim)
    }

    fn run_until(&mut self, until: u64, sink: &mut dyn SpikeSink) {
        let Some((mut stream, block)) = self.stream.take() else {
            return Stepper::run_until(&mut *self.sim, until, sink);
        };
        loop {
            let at = self.sim.step_index();
            let next = until.min(at.saturating_add(block));
            Stepper::run_until(&mut *self.sim, next, sink);
            if self.error.is_none() {
                if let Err(e) = self.drain(&mut stream) {
                    self.error = Some(e);
                }
            } else {
                // A failed stream: drop the samples, the error is reported at the end.
                for m in 0..self.sim.state_monitors() {
                    self.sim.drain_state_record(m);
                }
            }
            let now = self.sim.step_index();
            if now == at || now >= until || now >= Stepper::steps(&*self.sim) {
                break;
            }
        }
        self.stream = Some((stream, block));
    }

    fn save_state(&self) -> Option<EngineState> {
        self.sim.save_state()
    }

    fn save_checkpoint(
        &self,
        path: &Path,
        meta: Option<&CheckpointMeta>,
    ) -> lifsim_core::Result<()> {
        self.sim.save_checkpoint(path, meta)
    }

    fn own_neurons(&self) -> Option<std::ops::Range<usize>> {
        Stepper::own_neurons(&*self.sim)
    }

    fn restore_state(&mut self, state: &EngineState) -> lifsim_core::Result<()> {
        Stepper::restore_state(&mut *self.sim, state)
    }
}
