//! `lifsim bench`: the seed's timing loop. Statistics are computed once into
//! [`BenchResult`]; the terminal report and `--json` are two views of it.

use std::path::Path;

use anyhow::{Context, Result};
use lifsim_core::{DenseWeights, Real, RunOutput};
use serde::Serialize;

use super::{simulate, with_weights, WeightsFn};
use crate::args::{record_mode, BenchArgs, Resolved};

/// The outcome of a benchmark.
#[derive(Serialize, Debug)]
pub struct BenchResult {
    /// Workload name or weights file.
    pub workload: String,
    /// Neurons.
    pub n: usize,
    /// Steps per run.
    pub steps: usize,
    /// Float type.
    pub dtype: String,
    /// Threads per simulation.
    pub threads: usize,
    /// What each run recorded.
    pub record: String,
    /// Untimed warm-up runs.
    pub warmup: usize,
    /// Wall time of each timed run (s): simulation set-up, run and recording.
    pub times_s: Vec<f64>,
    /// Mean of `times_s`.
    pub mean_s: f64,
    /// Population standard deviation of `times_s` (NumPy's `np.std`, as the seed prints).
    pub std_s: f64,
    /// Median of `times_s`.
    pub median_s: f64,
    /// Fastest run.
    pub min_s: f64,
    /// Slowest run.
    pub max_s: f64,
    /// Spikes per run (the same in every run: the simulation is deterministic).
    pub spikes: u64,
    /// Mean firing rate (Hz).
    pub rate_hz: f64,
}

/// Runs `lifsim bench`.
pub fn bench(args: &BenchArgs) -> Result<()> {
    let resolved = args.model.resolve(record_mode(&args.record, "--record")?)?;
    let runs = args
        .runs
        .or(resolved.num_simulations)
        .unwrap_or(lifsim_core::params::NUM_SIMULATIONS.default.count() as usize);
    anyhow::ensure!(
        runs >= 1,
        "invalid value 0 for --runs: at least one run is needed"
    );
    if let Some(json) = &args.json {
        resolved.files().output("--json", json).check()?;
        lifsim_core::io::output::check_writable(json)?;
    }
    if args.parallel || !args.sweep.is_empty() {
        return super::batch::bench_batch(args, &resolved, runs);
    }
    let timed = with_weights(
        &resolved,
        Timed {
            resolved: &resolved,
            runs,
            warmup: args.warmup,
        },
    )?;
    let result = summarise(&resolved, args, timed);
    print_report(&result);
    if let Some(path) = &args.json {
        write_json(path, &result)?;
    }
    Ok(())
}

struct Timed<'a> {
    resolved: &'a Resolved,
    runs: usize,
    warmup: usize,
}

impl WeightsFn<(RunOutput, Vec<f64>)> for Timed<'_> {
    /// The first timed run's output and every run's time. Each later output
    /// is dropped before the next run, as a notebook's loop would: keeping
    /// them all would make every run fault in fresh pages for its recording
    /// (a dense record of the seed is 10 MB), which is not the simulator's cost.
    fn call<T: Real>(self, weights: &DenseWeights<T>) -> Result<(RunOutput, Vec<f64>)> {
        for _ in 0..self.warmup {
            simulate(weights, self.resolved)?;
        }
        let mut first = None;
        let mut times = Vec::with_capacity(self.runs);
        for _ in 0..self.runs {
            let start = std::time::Instant::now();
            let out = simulate(weights, self.resolved)?;
            times.push(start.elapsed().as_secs_f64());
            first.get_or_insert(out);
        }
        Ok((first.expect("at least one run"), times))
    }
}

fn summarise(
    resolved: &Resolved,
    args: &BenchArgs,
    (first, times): (RunOutput, Vec<f64>),
) -> BenchResult {
    let first = &first.record;
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let var = times.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / times.len() as f64;
    BenchResult {
        workload: resolved.label.clone(),
        n: first.n,
        steps: first.steps,
        dtype: resolved.dtype.to_string(),
        threads: resolved.spec.options.threads_for(first.n).unwrap_or(1),
        record: args.record.clone(),
        warmup: args.warmup,
        mean_s: mean,
        std_s: var.sqrt(),
        median_s: median(&times),
        min_s: times.iter().copied().fold(f64::INFINITY, f64::min),
        max_s: times.iter().copied().fold(0.0, f64::max),
        times_s: times,
        spikes: first.total,
        rate_hz: first.mean_rate_hz(),
    }
}

/// The median of `xs` (mean of the middle two for an even count).
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Seconds in the unit that reads best (`1.234 ms`).
pub fn fmt_time(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.3} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

fn print_report(r: &BenchResult) {
    println!(
        "Benchmark: {} (N = {}, {} steps, {}, {} thread{}, record {})",
        r.workload,
        r.n,
        r.steps,
        r.dtype,
        r.threads,
        if r.threads == 1 { "" } else { "s" },
        r.record
    );
    println!(
        "  Time (mean ± σ):     {} ± {}",
        fmt_time(r.mean_s),
        fmt_time(r.std_s)
    );
    println!(
        "  Range (min … max):   {} … {}    {} runs, {} warm-up",
        fmt_time(r.min_s),
        fmt_time(r.max_s),
        r.times_s.len(),
        r.warmup
    );
    println!("  Spikes per run:      {} ({:.2} Hz)", r.spikes, r.rate_hz);
    // The seed notebook's own two lines, in seconds.
    println!("Average Time: {}", r.mean_s);
    println!("S.Dev Time: {}", r.std_s);
}

pub fn write_json(path: &Path, r: &impl Serialize) -> Result<()> {
    let mut file = lifsim_core::io::output::OutputFile::create(path)?;
    serde_json::to_writer_pretty(file.writer(), r)
        .with_context(|| format!("{}", path.display()))?;
    std::io::Write::write_all(file.writer(), b"\n")
        .with_context(|| format!("{}", path.display()))?;
    file.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
