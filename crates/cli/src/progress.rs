//! The progress bar of `lifsim run` on stderr: steps done, simulated time,
//! spikes so far, ETA.
//!
//! `auto` (the default) shows it only on a terminal and only once a run has
//! taken [`SHOW_AFTER`], so short runs print nothing extra. `always` shows it
//! from the start and, where stderr is not a terminal (a batch job's log),
//! writes a plain line every 10 % instead. `never` (or `--quiet`) shows nothing.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::time::Duration;

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};
use lifsim_core::progress::{Progress, ProgressObserver};

/// How long a run goes before `auto` shows the bar.
pub const SHOW_AFTER: Duration = Duration::from_millis(1000);

/// When to show progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// On a terminal, for runs longer than about a second.
    Auto,
    /// From the start; plain lines every 10 % where stderr is not a terminal.
    Always,
    /// Never.
    Never,
}

/// A [`ProgressObserver`] drawing on stderr.
pub struct ProgressReporter {
    mode: ProgressMode,
    terminal: bool,
    bar: Option<ProgressBar>,
    shown: bool,
    next_line: u64,
}

impl ProgressReporter {
    /// A reporter in `mode` (`quiet` forces `never`).
    pub fn new(mode: ProgressMode, quiet: bool) -> Self {
        Self {
            mode: if quiet { ProgressMode::Never } else { mode },
            terminal: std::io::stderr().is_terminal(),
            bar: None,
            shown: false,
            next_line: 1,
        }
    }

    fn bar(&mut self, steps: u64) -> &ProgressBar {
        self.bar.get_or_insert_with(|| {
            // Hidden at first, so the ETA has the whole run's rate once shown.
            let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::hidden());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} steps, {msg}, ETA {eta}",
                )
                .expect("the template is valid")
                .progress_chars("=> "),
            );
            bar
        })
    }

    /// Clears the bar at the end of a run (the summary follows on stdout).
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl ProgressObserver for ProgressReporter {
    fn update(&mut self, p: &Progress) -> ControlFlow<()> {
        let msg = || {
            let ms = p.simulated_ms();
            let simulated = if ms < 10_000.0 {
                format!(
                    "{} ms",
                    crate::commands::plot::fmt_num((ms * 1e3).round() / 1e3)
                )
            } else {
                format!("{:.2} s", ms / 1e3)
            };
            format!("{simulated} simulated, {} spikes", HumanCount(p.spikes))
        };
        match (self.mode, self.terminal) {
            (ProgressMode::Never, _) | (ProgressMode::Auto, false) => {}
            (_, true) => {
                let show = self.mode == ProgressMode::Always || p.elapsed >= SHOW_AFTER;
                let finished = p.step >= p.steps;
                let bar = self.bar(p.steps).clone();
                bar.set_position(p.step);
                bar.set_message(msg());
                if show && !self.shown && !finished {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                    self.shown = true;
                }
            }
            (ProgressMode::Always, false) => {
                // Plain lines for logs: at each 10 % boundary crossed.
                let tenth = p.step.saturating_mul(10) / p.steps.max(1);
                if tenth >= self.next_line {
                    self.next_line = tenth + 1;
                    let eta = if p.step > 0 && p.step < p.steps {
                        let left =
                            p.elapsed.as_secs_f64() * (p.steps - p.step) as f64 / p.step as f64;
                        format!(", ETA {:.0} s", left.ceil())
                    } else {
                        String::new()
                    };
                    eprintln!(
                        "lifsim: {:>3}% {}/{} steps, {}, {:.1} s{eta}",
                        tenth * 10,
                        p.step,
                        p.steps,
                        msg(),
                        p.elapsed.as_secs_f64()
                    );
                }
            }
        }
        ControlFlow::Continue(())
    }
}
