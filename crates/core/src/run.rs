//! One call from weights and parameters to recorded spikes.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::engine::{EngineOptions, Simulation};
use crate::error::Result;
use crate::inputs::{ExternalCurrent, InitialVoltage};
use crate::model::{LifParams, Real};
use crate::network::DenseView;
use crate::progress::{Driver, ProgressObserver, Silent};
use crate::recording::{RecordMode, Recorder, SpikeRecord};

/// Everything about a run except the weights.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Neuron and time parameters.
    pub params: LifParams,
    /// External current.
    pub i_ext: ExternalCurrent,
    /// Initial voltages.
    pub v0: InitialVoltage,
    /// What to record.
    pub record: RecordMode,
    /// Threads (never changes the result).
    #[serde(skip)]
    pub options: EngineOptions,
}

/// The result of [`run`].
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The recorded spikes.
    pub record: SpikeRecord,
    /// Wall-clock time of the simulation loop (set-up excluded).
    pub wall: Duration,
}

/// Simulates `n` neurons with column-major `weights` (`weights[j * n + i]` =
/// `W[i, j]`) as `spec` says.
pub fn run<T: Real>(n: usize, weights: &[T], spec: &RunSpec) -> Result<RunOutput> {
    let view = DenseView::new(n, weights)?;
    run_view(view, spec)
}

/// [`run`] on an already checked view of the weights.
pub fn run_view<T: Real>(view: DenseView<'_, T>, spec: &RunSpec) -> Result<RunOutput> {
    run_view_observed(view, spec, &mut Silent)
}

/// [`run_view`] reporting its progress to `observer` a few times a second
/// (see [`crate::progress`]); fails with [`Error::Interrupted`](crate::Error::Interrupted)
/// if the observer stops it.
pub fn run_view_observed<T: Real>(
    view: DenseView<'_, T>,
    spec: &RunSpec,
    observer: &mut dyn ProgressObserver,
) -> Result<RunOutput> {
    let mut sim = Simulation::new(view, &spec.params, &spec.i_ext, &spec.v0, &spec.options)?;
    let mut recorder = Recorder::new(spec.record, view.n(), spec.params.steps())?;
    let start = Instant::now();
    let mut driver = Driver::new(spec.params.dt);
    if driver
        .run(&mut sim, u64::MAX, &mut recorder, observer)
        .is_break()
    {
        return Err(crate::Error::Interrupted {
            step: sim.step_index(),
            steps: sim.steps(),
        });
    }
    let wall = start.elapsed();
    Ok(RunOutput {
        record: recorder.finish(spec.params.dt),
        wall,
    })
}
