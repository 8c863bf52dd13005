//! Progress of a running simulation, for progress bars and for stopping early.
//!
//! The engine itself knows nothing of progress: [`Driver`] runs it in chunks
//! of steps ([`Stepper::run_until`]) and calls a [`ProgressObserver`] between
//! chunks. Chunks adapt to take about [`Driver::TARGET_CHUNK`] of wall-clock
//! time each, so the observer is called a few times a second whatever the
//! network size, and costs nothing measurable. Results do not depend on the
//! chunking: a step is a step.
//!
//! ```
//! use std::ops::ControlFlow;
//! use lifsim_core::progress::{Driver, Progress};
//! use lifsim_core::{DenseView, EngineOptions, ExternalCurrent, InitialVoltage, LifParams};
//! use lifsim_core::{RecordMode, Recorder, Simulation};
//!
//! let params = LifParams { t_max: 10.0, ..LifParams::default() };
//! let w = vec![0.0f64; 4];
//! let mut sim = Simulation::new(
//!     DenseView::new(2, &w).unwrap(), &params, &ExternalCurrent::Constant(20.0),
//!     &InitialVoltage::Reset, &EngineOptions::default(),
//! ).unwrap();
//! let mut rec = Recorder::new(RecordMode::Counts, 2, params.steps()).unwrap();
//! let mut last = None;
//! let mut observer = |p: &Progress| { last = Some(p.step); ControlFlow::Continue(()) };
//! let done = Driver::new(params.dt).run(&mut sim, u64::MAX, &mut rec, &mut observer);
//! assert!(done.is_continue());
//! assert_eq!(last, Some(999));
//! ```

use std::ops::{ControlFlow, Range};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::checkpoint::{Checkpoint, CheckpointMeta, EngineState};
use crate::engine::{NetworkSimulation, Simulation};
use crate::error::{Error, Result};
use crate::model::Real;
use crate::recording::SpikeSink;

/// Where a run stands, as an observer sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Steps done.
    pub step: u64,
    /// Steps in the whole run.
    pub steps: u64,
    /// Spikes so far.
    pub spikes: u64,
    /// Time step (ms).
    pub dt: f64,
    /// Wall-clock time since the driver started.
    pub elapsed: Duration,
}

impl Progress {
    /// Simulated time so far (ms).
    pub fn simulated_ms(&self) -> f64 {
        self.step as f64 * self.dt
    }

    /// Fraction of the run done, in [0, 1].
    pub fn fraction(&self) -> f64 {
        if self.steps == 0 {
            1.0
        } else {
            self.step as f64 / self.steps as f64
        }
    }
}

/// Told how a run goes, between chunks of steps and once at the end of
/// [`Driver::run`]; returning [`ControlFlow::Break`] stops the run there (the
/// Python binding does so on Ctrl-C).
pub trait ProgressObserver {
    /// Called with the run's progress.
    fn update(&mut self, progress: &Progress) -> ControlFlow<()>;
}

impl<F: FnMut(&Progress) -> ControlFlow<()>> ProgressObserver for F {
    fn update(&mut self, progress: &Progress) -> ControlFlow<()> {
        self(progress)
    }
}

/// An observer that ignores everything.
pub struct Silent;

impl ProgressObserver for Silent {
    fn update(&mut self, _: &Progress) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
}

/// A simulation that can be advanced a number of steps at a time: the engine,
/// whatever its network type.
pub trait Stepper {
    /// Steps done so far.
    fn step_index(&self) -> u64;
    /// Steps in the whole run.
    fn steps(&self) -> u64;
    /// Runs up to (not including) step `until`, or the end of the run,
    /// handing each step's spikes to `sink`.
    fn run_until(&mut self, until: u64, sink: &mut dyn SpikeSink);
    /// The whole state now, for a checkpoint; `None` where the engine cannot
    /// save its state.
    fn save_state(&self) -> Option<EngineState> {
        None
    }
    /// Writes a checkpoint of the state now to `path` with `meta` (which
    /// only the process that writes the run's files, rank 0, is given).
    /// Over MPI ranks the call is collective and each rank writes its own
    /// neurons' state ([`NetworkSimulation::save_checkpoint`]).
    fn save_checkpoint(&self, path: &Path, meta: Option<&CheckpointMeta>) -> Result<()> {
        let state = self
            .save_state()
            .ok_or_else(|| Error::param("checkpoint", "this engine cannot save its state"))?;
        match meta {
            Some(meta) => crate::checkpoint::save(path, meta, &state),
            None => Ok(()),
        }
    }
    /// The neurons whose state this process holds where it holds only some
    /// (one MPI rank's); `None`: every neuron. A resume reads only the
    /// checkpoint's rank files of these ([`crate::checkpoint::Opened::state_of`]).
    fn own_neurons(&self) -> Option<Range<usize>> {
        None
    }
    /// Puts the simulation in a checkpoint's state.
    fn restore_state(&mut self, _state: &EngineState) -> Result<()> {
        Err(Error::param(
            "checkpoint",
            "this engine cannot restore a checkpoint",
        ))
    }
}

impl<T: Real> Stepper for Simulation<'_, T> {
    fn step_index(&self) -> u64 {
        Simulation::step_index(self)
    }
    fn steps(&self) -> u64 {
        Simulation::steps(self)
    }
    fn run_until(&mut self, until: u64, sink: &mut dyn SpikeSink) {
        Simulation::run_until(self, until, sink)
    }
    fn save_state(&self) -> Option<EngineState> {
        Some(Checkpoint::save_state(self))
    }
    fn restore_state(&mut self, state: &EngineState) -> Result<()> {
        Checkpoint::restore_state(self, state)
    }
}

impl<T: Real> Stepper for NetworkSimulation<'_, T> {
    fn step_index(&self) -> u64 {
        NetworkSimulation::step_index(self)
    }
    fn steps(&self) -> u64 {
        NetworkSimulation::steps(self)
    }
    fn run_until(&mut self, until: u64, sink: &mut dyn SpikeSink) {
        NetworkSimulation::run_until(self, until, sink)
    }
    fn save_state(&self) -> Option<EngineState> {
        // Over several ranks: collective, the state on rank 0 only.
        self.gathered_state()
    }
    fn save_checkpoint(&self, path: &Path, meta: Option<&CheckpointMeta>) -> Result<()> {
        NetworkSimulation::save_checkpoint(self, path, meta)
    }
    fn own_neurons(&self) -> Option<Range<usize>> {
        self.is_distributed().then(|| self.neuron_range())
    }
    fn restore_state(&mut self, state: &EngineState) -> Result<()> {
        Checkpoint::restore_state(self, state)
    }
}

/// Runs a [`Stepper`] in chunks, counting spikes and reporting progress.
#[derive(Clone, Debug)]
pub struct Driver {
    dt: f64,
    spikes: u64,
    chunk: u64,
    started: Instant,
}

impl Driver {
    /// The wall-clock time a chunk of steps aims at.
    pub const TARGET_CHUNK: Duration = Duration::from_millis(50);

    /// A driver for a run with time step `dt` (ms), starting its clock now.
    pub fn new(dt: f64) -> Self {
        Self {
            dt,
            spikes: 0,
            chunk: 1,
            started: Instant::now(),
        }
    }

    /// Counts `spikes` as already done (a resumed run's earlier spikes).
    pub fn with_spikes(mut self, spikes: u64) -> Self {
        self.spikes = spikes;
        self
    }

    /// Spikes so far.
    pub fn spikes(&self) -> u64 {
        self.spikes
    }

    /// The progress of `sim` now.
    pub fn progress(&self, sim: &dyn Stepper) -> Progress {
        Progress {
            step: sim.step_index(),
            steps: sim.steps(),
            spikes: self.spikes,
            dt: self.dt,
            elapsed: self.started.elapsed(),
        }
    }

    /// Runs `sim` up to step `until` (or its end), handing every step's spikes
    /// to `sink` and reporting to `observer` between chunks and at the end.
    /// Stops early, returning `Break`, when the observer asks or the sink
    /// [`SpikeSink::failed`].
    pub fn run(
        &mut self,
        sim: &mut dyn Stepper,
        until: u64,
        sink: &mut dyn SpikeSink,
        observer: &mut dyn ProgressObserver,
    ) -> ControlFlow<()> {
        let end = until.min(sim.steps());
        let mut counting = Counting {
            inner: sink,
            spikes: self.spikes,
        };
        while sim.step_index() < end {
            let start = Instant::now();
            let to = sim.step_index().saturating_add(self.chunk).min(end);
            sim.run_until(to, &mut counting);
            // Double or halve the chunk towards the target duration.
            let took = start.elapsed();
            if took < Self::TARGET_CHUNK / 2 {
                self.chunk = self.chunk.saturating_mul(2);
            } else if took > Self::TARGET_CHUNK * 2 && self.chunk > 1 {
                self.chunk /= 2;
            }
            self.spikes = counting.spikes;
            if counting.inner.failed() {
                // The output cannot take more (a full disk): stop here.
                return ControlFlow::Break(());
            }
            if sim.step_index() < end {
                observer.update(&self.progress(sim))?;
            }
        }
        self.spikes = counting.spikes;
        observer.update(&self.progress(sim))
    }
}

/// A sink that counts spikes on their way to another sink.
struct Counting<'a> {
    inner: &'a mut dyn SpikeSink,
    spikes: u64,
}

impl SpikeSink for Counting<'_> {
    #[inline]
    fn record(&mut self, step: usize, fired: &[u32]) {
        self.spikes += fired.len() as u64;
        self.inner.record(step, fired);
    }

    fn failed(&self) -> bool {
        self.inner.failed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineOptions;
    use crate::inputs::{ExternalCurrent, InitialVoltage};
    use crate::model::LifParams;
    use crate::network::DenseView;
    use crate::recording::{RecordMode, Recorder};

    fn active<'w>(w: &'w [f64], n: usize, params: &LifParams) -> Simulation<'w, f64> {
        Simulation::new(
            DenseView::new(n, w).unwrap(),
            params,
            &ExternalCurrent::Constant(20.0),
            &InitialVoltage::Uniform { seed: 4 },
            &EngineOptions::default(),
        )
        .unwrap()
    }

    fn weights(n: usize) -> Vec<f64> {
        (0..n * n)
            .map(|k| ((k * 37 % 17) as f64 - 8.0) / 4.0)
            .collect()
    }

    #[test]
    fn observed_runs_record_the_same_spikes_and_report_them() {
        let n = 50;
        let w = weights(n);
        let params = LifParams {
            t_max: 200.0,
            ..LifParams::default()
        };
        let mut plain = Recorder::new(RecordMode::Events, n, params.steps()).unwrap();
        active(&w, n, &params).run(&mut plain);
        let plain = plain.finish(params.dt);

        let mut sim = active(&w, n, &params);
        let mut rec = Recorder::new(RecordMode::Events, n, params.steps()).unwrap();
        let mut seen: Vec<Progress> = Vec::new();
        let mut obs = |p: &Progress| {
            seen.push(*p);
            ControlFlow::Continue(())
        };
        let mut driver = Driver::new(params.dt);
        assert!(driver
            .run(&mut sim, u64::MAX, &mut rec, &mut obs)
            .is_continue());
        let rec = rec.finish(params.dt);
        assert_eq!(rec.events, plain.events);
        assert!(plain.total > 100, "the network is active");
        let last = seen.last().unwrap();
        assert_eq!(
            (last.step, last.steps, last.spikes),
            (19_999, 19_999, plain.total)
        );
        assert!((last.simulated_ms() - 199.99).abs() < 1e-9);
        assert_eq!(last.fraction(), 1.0);
        for w in seen.windows(2) {
            assert!(w[0].step <= w[1].step && w[0].spikes <= w[1].spikes);
        }
    }

    #[test]
    fn an_observer_can_stop_the_run_and_it_can_go_on() {
        let n = 20;
        let w = weights(n);
        let params = LifParams {
            t_max: 50.0,
            ..LifParams::default()
        };
        let mut plain = Recorder::new(RecordMode::Events, n, params.steps()).unwrap();
        active(&w, n, &params).run(&mut plain);

        let mut sim = active(&w, n, &params);
        let mut rec = Recorder::new(RecordMode::Events, n, params.steps()).unwrap();
        let mut driver = Driver::new(params.dt);
        let mut stop_early = |p: &Progress| {
            if p.step >= 100 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        assert!(driver
            .run(&mut sim, u64::MAX, &mut rec, &mut stop_early)
            .is_break());
        let stopped_at = sim.step_index();
        assert!((100..params.steps() as u64).contains(&stopped_at));
        // Up to a given step, then the rest: the same spikes as one run.
        assert!(driver
            .run(&mut sim, 3000, &mut rec, &mut Silent)
            .is_continue());
        assert_eq!(sim.step_index(), 3000);
        assert!(driver
            .run(&mut sim, u64::MAX, &mut rec, &mut Silent)
            .is_continue());
        assert_eq!(rec.finish(params.dt).events, plain.finish(params.dt).events);
    }
}
