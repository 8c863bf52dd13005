//! `lifsim bench --parallel` / `--sweep`: many simulations of one network, one
//! per core, timed against the same simulations run one after another.

use anyhow::{bail, Context, Result};
use lifsim_core::batch::run_batch;
use lifsim_core::{
    DenseWeights, ExternalCurrent, InitialVoltage, Real, RecordMode, RunOutput, RunSpec,
};
use serde::Serialize;

use super::bench::{fmt_time, median, write_json};
use super::{with_weights, WeightsFn};
use crate::args::{BenchArgs, Resolved};

/// The outcome of a batch benchmark.
#[derive(Serialize, Debug)]
pub struct BatchResult {
    /// Workload name or weights file.
    pub workload: String,
    /// Neurons.
    pub n: usize,
    /// Steps per simulation.
    pub steps: usize,
    /// Float type.
    pub dtype: String,
    /// Simulations run at a time.
    pub jobs: usize,
    /// Wall time of each timed batch run concurrently (s).
    pub parallel_s: Vec<f64>,
    /// Wall time of each timed batch run one simulation after another (s).
    pub sequential_s: Vec<f64>,
    /// Median sequential time over median parallel time.
    pub speedup: f64,
    /// Every simulation of the batch with its result.
    pub points: Vec<Point>,
}

/// One simulation of a batch.
#[derive(Serialize, Debug)]
pub struct Point {
    /// External current (a constant), if swept or set.
    pub i_ext: Option<f64>,
    /// Membrane time constant (ms).
    pub tau_m: f64,
    /// Seed of the uniform initial voltages, if they are uniform.
    pub seed: Option<u64>,
    /// Spikes.
    pub spikes: u64,
    /// Mean rate (Hz).
    pub rate_hz: f64,
}

/// Runs the batch benchmark: `runs` copies of the run, or the sweep's grid.
pub fn bench_batch(args: &BenchArgs, resolved: &Resolved, runs: usize) -> Result<()> {
    let specs = sweep_specs(&resolved.spec, &args.sweep, runs, resolved.n)?;
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    anyhow::ensure!(jobs >= 1, "invalid value 0 for --jobs");
    let timed = Batch {
        specs: &specs,
        jobs,
        batches: 3,
        warmup: args.warmup,
    };
    let (outputs, parallel_s, sequential_s) = with_weights(resolved, timed)?;
    let first = &outputs[0].record;
    let result = BatchResult {
        workload: resolved.label.clone(),
        n: first.n,
        steps: first.steps,
        dtype: resolved.dtype.to_string(),
        jobs,
        speedup: median(&sequential_s) / median(&parallel_s),
        points: specs
            .iter()
            .zip(&outputs)
            .map(|(s, o)| point(s, o))
            .collect(),
        parallel_s,
        sequential_s,
    };
    print_report(&result);
    if let Some(path) = &args.json {
        write_json(path, &result)?;
    }
    Ok(())
}

/// The grid of `sweeps` (NAME=V1,V2,...) over `base`, or `runs` copies of
/// it, for a network of `n` neurons; refused before it is built when the
/// simulations' results (kept to compare and report) would not fit in memory.
fn sweep_specs(base: &RunSpec, sweeps: &[String], runs: usize, n: usize) -> Result<Vec<RunSpec>> {
    let axes = sweeps
        .iter()
        .map(|sweep| {
            let (name, values) = sweep
                .split_once('=')
                .with_context(|| format!("invalid --sweep {sweep:?}: expected NAME=V1,V2,..."))?;
            let values: Vec<f64> = values
                .split(',')
                .map(|v| v.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .with_context(|| format!("invalid --sweep {sweep:?}: values must be numbers"))?;
            Ok((name, values))
        })
        .collect::<Result<Vec<_>>>()?;
    let points = match axes.is_empty() {
        true => Some(runs as u64),
        false => axes
            .iter()
            .try_fold(1u64, |k, (_, v)| k.checked_mul(v.len() as u64)),
    };
    // Each simulation's spec and results (of the concurrent and of the
    // sequential run, compared): counts, and a dense raster if asked.
    let raster = match base.record {
        RecordMode::Dense => (n as u64).saturating_mul(base.params.steps() as u64),
        _ => 0,
    };
    let per_point = (std::mem::size_of::<RunSpec>() + 2 * std::mem::size_of::<RunOutput>()) as u64
        + 2 * (8 * n as u64 + raster);
    lifsim_core::resources::check_allocation(
        format!(
            "{} simulations",
            points.map_or("too many".to_string(), |p| p.to_string())
        ),
        points.and_then(|p| p.checked_mul(per_point)),
        "sweep fewer values or ask for fewer --runs",
    )?;
    let mut specs = vec![base.clone()];
    if axes.is_empty() {
        specs = vec![base.clone(); runs];
    }
    for (name, values) in axes {
        specs = specs
            .iter()
            .flat_map(|s| values.iter().map(move |&v| (s, v)))
            .map(|(s, v)| apply(s, name, v))
            .collect::<Result<_>>()?;
    }
    Ok(specs)
}

fn apply(spec: &RunSpec, name: &str, value: f64) -> Result<RunSpec> {
    let mut s = spec.clone();
    match name {
        "i_ext" => s.i_ext = ExternalCurrent::Constant(value),
        "tau_m" => s.params.tau_m = value,
        "seed" => match s.v0 {
            InitialVoltage::Uniform { .. } if value >= 0.0 && value.fract() == 0.0 => {
                s.v0 = InitialVoltage::Uniform { seed: value as u64 }
            }
            InitialVoltage::Uniform { .. } => {
                bail!("invalid --sweep seed value {value}: seeds are whole numbers >= 0")
            }
            _ => bail!("--sweep seed=... needs --v0 uniform: the seed draws the initial voltages"),
        },
        other => bail!("invalid --sweep name {other:?}: choose i_ext, tau_m or seed"),
    }
    s.params.validate()?;
    Ok(s)
}

fn point(spec: &RunSpec, out: &RunOutput) -> Point {
    Point {
        i_ext: match spec.i_ext {
            ExternalCurrent::Constant(x) => Some(x),
            ExternalCurrent::PerNeuron(_) => None,
        },
        tau_m: spec.params.tau_m,
        seed: match spec.v0 {
            InitialVoltage::Uniform { seed } => Some(seed),
            _ => None,
        },
        spikes: out.record.total,
        rate_hz: out.record.mean_rate_hz(),
    }
}

struct Batch<'a> {
    specs: &'a [RunSpec],
    jobs: usize,
    batches: usize,
    warmup: usize,
}

type Timings = (Vec<RunOutput>, Vec<f64>, Vec<f64>);

impl WeightsFn<Timings> for Batch<'_> {
    fn call<T: Real>(self, weights: &DenseWeights<T>) -> Result<Timings> {
        let view = weights.view();
        for _ in 0..self.warmup {
            run_batch(view, self.specs, self.jobs)?;
        }
        let (mut parallel, mut sequential) = (Vec::new(), Vec::new());
        let mut outputs = Vec::new();
        // Alternate the two ways so that both see the same machine.
        for _ in 0..self.batches {
            let start = std::time::Instant::now();
            outputs = run_batch(view, self.specs, self.jobs)?;
            parallel.push(start.elapsed().as_secs_f64());
            let start = std::time::Instant::now();
            let alone = run_batch(view, self.specs, 1)?;
            sequential.push(start.elapsed().as_secs_f64());
            // Determinism, checked on every benchmark: concurrency changes no bit.
            for (a, b) in outputs.iter().zip(&alone) {
                anyhow::ensure!(
                    a.record.counts == b.record.counts,
                    "internal error: concurrent and sequential runs differ"
                );
            }
        }
        Ok((outputs, parallel, sequential))
    }
}

fn print_report(r: &BatchResult) {
    println!(
        "Batch: {} simulations of {} (N = {}, {} steps, {}), {} at a time",
        r.points.len(),
        r.workload,
        r.n,
        r.steps,
        r.dtype,
        r.jobs
    );
    let (par, seq) = (median(&r.parallel_s), median(&r.sequential_s));
    println!(
        "  Concurrent (median of {}):  {}  ({} per simulation)",
        r.parallel_s.len(),
        fmt_time(par),
        fmt_time(par / r.points.len() as f64)
    );
    println!(
        "  One by one (median of {}):  {}",
        r.sequential_s.len(),
        fmt_time(seq)
    );
    println!("  Speed-up: {:.2} × with {} jobs", r.speedup, r.jobs);
    println!(
        "  {:>8} {:>8} {:>6} {:>9} {:>10}",
        "i_ext", "tau_m", "seed", "spikes", "rate (Hz)"
    );
    for p in &r.points {
        let i_ext = p.i_ext.map_or("per-neuron".into(), |x| x.to_string());
        let seed = p.seed.map_or("-".into(), |s| s.to_string());
        println!(
            "  {:>8} {:>8} {:>6} {:>9} {:>10.2}",
            i_ext, p.tau_m, seed, p.spikes, p.rate_hz
        );
    }
}
