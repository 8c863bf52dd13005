//! What a simulation's engine state is: partitions over neuron ranges, the
//! spikes in flight between steps, and the place in the run; running them
//! (through `threads::run_steps`), saving and restoring them, once.

use std::ops::Range;

use super::exchange::Link;
use super::threads::{self, RangeStep};
use crate::checkpoint::{EngineState, PartitionState, ENGINE};
use crate::error::{Error, Result};
use crate::recording::SpikeSink;

/// The partitions of one simulation and where the run stands.
pub(super) struct Partitions<P> {
    pub(super) parts: Vec<P>,
    /// The spikes the next step delivers (sorted ids).
    pub(super) fired: Vec<u32>,
    /// Steps done...
    pub(super) step: u64,
    /// ...of this many.
    pub(super) steps: u64,
}

impl<P> Partitions<P> {
    /// `parts` (in range order) at step 0 of a run of `steps` steps, with
    /// `fired` delivered by the first step.
    pub(super) fn new(parts: Vec<P>, fired: Vec<u32>, steps: u64) -> Self {
        Self {
            parts,
            fired,
            step: 0,
            steps,
        }
    }

    /// Runs up to (not including) step `until`, or the end of the run,
    /// exchanging spikes every `interval` steps; these partitions are one
    /// rank's of `ranks`, if any (collective: every rank calls it with the
    /// same `until`).
    pub(super) fn run_until_over<C: Sync + ?Sized>(
        &mut self,
        until: u64,
        interval: u64,
        ctx: &C,
        sink: &mut dyn SpikeSink,
        ranks: Option<Link<'_>>,
    ) where
        P: RangeStep<C>,
    {
        let until = until.min(self.steps);
        if self.step >= until {
            return;
        }
        let steps = self.step..until;
        threads::run_steps(
            &mut self.parts,
            &mut self.fired,
            steps,
            interval,
            ctx,
            sink,
            ranks,
        );
        self.step = until;
    }

    /// The state now, each partition's from `save`.
    pub(super) fn save(&self, save: impl Fn(&P) -> PartitionState) -> EngineState {
        EngineState {
            engine: ENGINE.into(),
            step: self.step,
            pending: self.fired.clone(),
            partitions: self.parts.iter().map(save).collect(),
        }
    }

    /// Restores `state`, saved by an engine of the same kind (`what`, for
    /// messages) over `n` neurons with any partitioning: each partition gets
    /// its cut of the network-wide arrays from `restore` (with the state).
    pub(super) fn restore(
        &mut self,
        state: &EngineState,
        what: &str,
        n: usize,
        range: impl Fn(&P) -> Range<usize>,
        mut restore: impl FnMut(&mut P, &PartitionState, &EngineState) -> Result<()>,
    ) -> Result<()> {
        let bad = |m: String| Err(Error::param("checkpoint", m));
        if state.engine != ENGINE {
            return bad(format!("is of the {} engine, not {what}", state.engine));
        }
        if state.step > self.steps {
            return bad(format!(
                "is at step {} of a run of {} steps",
                state.step, self.steps
            ));
        }
        let whole = state.joined()?;
        // One rank's state may hold only the neurons of the rank files that
        // hold its own (`checkpoint::Opened::state_of`).
        let own = match (self.parts.first(), self.parts.last()) {
            (Some(f), Some(l)) => range(f).start..range(l).end,
            _ => 0..0,
        };
        if whole.range != (0..n) {
            if own == (0..n) {
                return bad(format!(
                    "holds {} neurons; this network has {n}",
                    whole.range.len()
                ));
            }
            if whole.range.start > own.start || whole.range.end < own.end || whole.range.end > n {
                return bad(format!(
                    "holds neurons {}..{}; this process runs neurons {}..{} of a network of {n}",
                    whole.range.start, whole.range.end, own.start, own.end
                ));
            }
        }
        for p in &mut self.parts {
            let cut = EngineState::cut(&whole, range(p))?;
            restore(p, &cut, state)?;
        }
        self.step = state.step;
        self.fired = state.pending.clone();
        Ok(())
    }
}
