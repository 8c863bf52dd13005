//! The progress bar of `lifsim run` on stderr: steps done, simulated time,
//! spikes so far, ETA.
//!
//! `auto` (the default) shows it only on a terminal and only once a run has
//! taken [`SHOW_AFTER`], so short runs print nothing extra. `always` shows it
//! from the start and, where stderr is not a terminal (a batch job's log),
//! writes a plain line every 10 % instead. `never` (or `--quiet`) shows nothing.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
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
    /// Where the bar is drawn once shown: stderr (tests draw elsewhere).
    target: fn() -> ProgressDrawTarget,
    /// Spikes so far, read by the bar when it draws.
    spikes: Arc<AtomicU64>,
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
            target: ProgressDrawTarget::stderr,
            spikes: Arc::new(AtomicU64::new(0)),
        }
    }

    fn bar(&mut self, steps: u64, dt: f64) -> &ProgressBar {
        self.bar.get_or_insert_with(|| {
            // Hidden at first, so the ETA has the whole run's rate once shown.
            let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::hidden());
            // The simulated time is computed from the bar's own position
            // when it is drawn, and the spikes are stored before the
            // position moves, so a frame never shows one update's step
            // count with another's time or spikes.
            let time_key = move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&simulated(state.pos() as f64 * dt));
            };
            let spikes = Arc::clone(&self.spikes);
            let spikes_key = move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{}", HumanCount(spikes.load(Ordering::Relaxed)));
            };
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} steps, {simulated} simulated, {spikes} spikes, ETA {eta}",
                )
                .expect("the template is valid")
                .with_key("simulated", time_key)
                .with_key("spikes", spikes_key)
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

/// Simulated time as the bar and the log lines show it: `12.5 ms`, `3.20 s`.
fn simulated(ms: f64) -> String {
    if ms < 10_000.0 {
        format!(
            "{} ms",
            crate::commands::plot::fmt_num((ms * 1e3).round() / 1e3)
        )
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

impl ProgressObserver for ProgressReporter {
    fn update(&mut self, p: &Progress) -> ControlFlow<()> {
        let msg = || {
            format!(
                "{} simulated, {} spikes",
                simulated(p.simulated_ms()),
                HumanCount(p.spikes)
            )
        };
        match (self.mode, self.terminal) {
            (ProgressMode::Never, _) | (ProgressMode::Auto, false) => {}
            (_, true) => {
                let show = self.mode == ProgressMode::Always || p.elapsed >= SHOW_AFTER;
                let finished = p.step >= p.steps;
                let bar = self.bar(p.steps, p.dt).clone();
                // The spikes before the position: the redraw that moving
                // the position may trigger shows this update's spikes.
                self.spikes.store(p.spikes, Ordering::Relaxed);
                bar.set_position(p.step);
                if show && !self.shown && !finished {
                    bar.set_draw_target((self.target)());
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

#[cfg(test)]
mod tests {
    //! The bar as drawn, on a terminal that keeps every frame.

    use std::sync::Mutex;

    use super::*;

    /// Every frame written, for the test to read (one shared terminal per
    /// test binary: the reporter takes a plain `fn`).
    static FRAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

    #[derive(Debug)]
    struct Recording;

    impl indicatif::TermLike for Recording {
        fn width(&self) -> u16 {
            200
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.write_str(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            if !s.trim().is_empty() {
                FRAMES.lock().unwrap().push(s.to_string());
            }
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Every frame's simulated time is its step count times dt: the two
    /// come from the same update (they were a redraw apart).
    #[test]
    fn every_frame_shows_the_simulated_time_of_its_step_count() {
        let mut r = ProgressReporter::new(ProgressMode::Always, false);
        r.terminal = true;
        r.target = || ProgressDrawTarget::term_like_with_hz(Box::new(Recording), 255);
        let dt = 0.25;
        let steps = 400u64;
        let start = std::time::Instant::now();
        for step in (0..=steps).step_by(4) {
            let p = Progress {
                step,
                steps,
                spikes: step * 3,
                dt,
                elapsed: start.elapsed(),
            };
            assert!(r.update(&p).is_continue());
            // Slower than the refresh rate, so updates are drawn.
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        r.finish();
        let frames = Arc::new(std::mem::take(&mut *FRAMES.lock().unwrap()));
        let mut checked = 0;
        for f in frames.iter() {
            let Some(k) = f.find(" steps, ") else {
                continue;
            };
            let pos: u64 = f[..k]
                .rsplit(' ')
                .next()
                .unwrap()
                .split('/')
                .next()
                .unwrap()
                .replace(',', "")
                .parse()
                .unwrap();
            let rest = &f[k + " steps, ".len()..];
            let ms: f64 = rest.split(" ms").next().unwrap().parse().unwrap();
            assert_eq!(ms, pos as f64 * dt, "{f}");
            let spikes: u64 = rest
                .split(" simulated, ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .replace(',', "")
                .parse()
                .unwrap();
            assert_eq!(spikes, pos * 3, "{f}");
            checked += 1;
        }
        assert!(checked > 10, "{} frames: {frames:?}", frames.len());
    }
}
