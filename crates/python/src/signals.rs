//! Ctrl-C while a simulation runs: the engine runs without the GIL, so Python
//! cannot raise `KeyboardInterrupt` by itself until the call returns. The
//! core's progress observer lets the binding look at Python's signals between
//! chunks of steps and stop the run there.

use std::ops::ControlFlow;
use std::time::Duration;

use lifsim_core::progress::{Progress, ProgressObserver};
use pyo3::prelude::*;

/// How often a running simulation checks for Ctrl-C; a run shorter than this
/// never touches the GIL.
const CHECK_EVERY: Duration = Duration::from_millis(100);

/// Checks Python's signal handlers now and then; keeps the exception a
/// handler raised (`KeyboardInterrupt` for Ctrl-C) to re-raise it.
pub struct SignalCheck {
    next: Duration,
    /// The exception a signal handler raised, which stopped the run.
    pub raised: Option<PyErr>,
}

impl SignalCheck {
    /// A checker, or None off the main thread, where Python runs no signal
    /// handlers (and taking the GIL would only slow the run).
    pub fn for_this_thread(py: Python<'_>) -> PyResult<Option<Self>> {
        let threading = py.import("threading")?;
        let main = threading.call_method0("main_thread")?;
        let current = threading.call_method0("current_thread")?;
        Ok(main.is(&current).then_some(Self {
            next: CHECK_EVERY,
            raised: None,
        }))
    }
}

impl ProgressObserver for SignalCheck {
    fn update(&mut self, progress: &Progress) -> ControlFlow<()> {
        if progress.elapsed < self.next {
            return ControlFlow::Continue(());
        }
        self.next = progress.elapsed + CHECK_EVERY;
        match Python::attach(|py| py.check_signals()) {
            Ok(()) => ControlFlow::Continue(()),
            Err(err) => {
                self.raised = Some(err);
                ControlFlow::Break(())
            }
        }
    }
}
