//! `lifsim run`: one simulation, spikes to a file, a summary to stdout.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use lifsim_core::io::spikes::{OutputFormat, SpikeOutput, SpikeTrain, DEFAULT_POPULATION};
use lifsim_core::io::stream::StreamHeader;
use lifsim_core::progress::{Driver, Stepper};
use lifsim_core::{DenseWeights, Real, RecordMode, Simulation, SpikeRecord};

use super::plot::PlotOptions;
use super::{with_weights, WeightsFn};
use crate::args::{Resolved, RunArgs};
use crate::progress::ProgressReporter;

/// Runs `lifsim run`.
pub fn run(args: &RunArgs) -> Result<()> {
    if let Some(network) = &args.network {
        return super::network::run_network(args, network);
    }
    if args.json.is_some() {
        anyhow::bail!("--json is for network files (lifsim run NETWORK.toml --json FILE); use lifsim bench --json for the seed model");
    }
    let format = match args.format.as_deref().unwrap_or("dense") {
        "counts" => bail!("invalid value \"counts\" for --format: choose dense, events or sonata"),
        name => name.parse::<OutputFormat>().map_err(|_| {
            anyhow!("invalid value {name:?} for --format: choose dense, events or sonata")
        })?,
    };
    format.check_available()?;
    let resolved = args.model.resolve(RecordMode::Counts)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format.default_file()));
    if let Some(png) = &args.plot {
        super::plot::check_out(png)?;
    }
    let mut reporter = ProgressReporter::new(args.progress, args.quiet);
    let (record, wall) = with_weights(
        &resolved,
        Streamed {
            resolved: &resolved,
            format,
            out: &out,
            population: args.population.as_deref(),
            reporter: &mut reporter,
        },
    )?;
    print_summary(&resolved, &record, wall, &out);
    if let Some(png) = &args.plot {
        plot_output(&out, &resolved.label, record.dt, png)?;
    }
    Ok(())
}

/// Runs `sim` to its end, streaming its spikes to disk as they come (memory
/// stays flat; a killed run leaves `<out>.spikes` behind with every spike up to
/// its last flush) and writing `out` in `format` at the end; progress goes to
/// `reporter`. Returns the spike counts and the simulation's wall-clock time.
pub fn run_streamed(
    sim: &mut dyn Stepper,
    header: StreamHeader,
    format: OutputFormat,
    out: &Path,
    reporter: &mut ProgressReporter,
) -> Result<(SpikeRecord, Duration)> {
    let dt = header.dt;
    let mut output = SpikeOutput::create(format, out, header)?;
    let start = Instant::now();
    let mut driver = Driver::new(dt);
    let flow = driver.run(sim, u64::MAX, &mut output, reporter);
    let wall = start.elapsed();
    reporter.finish();
    debug_assert!(flow.is_continue(), "the CLI's reporter never stops a run");
    Ok((output.finish()?, wall))
}

/// Draws the raster of the spike file just written.
pub fn plot_output(out: &Path, label: &str, dt: f64, png: &Path) -> Result<()> {
    let train = SpikeTrain::load(out, Some(dt))?;
    let opts = PlotOptions {
        width: 1200,
        height: 800,
        label: label.to_string(),
        t_start: None,
        t_stop: None,
    };
    super::plot::render(&train, &opts, png)?;
    println!("plot        {}", png.display());
    Ok(())
}

struct Streamed<'a> {
    resolved: &'a Resolved,
    format: OutputFormat,
    out: &'a Path,
    population: Option<&'a str>,
    reporter: &'a mut ProgressReporter,
}

impl WeightsFn<(SpikeRecord, Duration)> for Streamed<'_> {
    fn call<T: Real>(self, weights: &DenseWeights<T>) -> Result<(SpikeRecord, Duration)> {
        let spec = &self.resolved.spec;
        let mut sim = Simulation::new(
            weights.view(),
            &spec.params,
            &spec.i_ext,
            &spec.v0,
            &spec.options,
        )?;
        let header = StreamHeader {
            n: sim.n() as u64,
            dt: spec.params.dt,
            steps: sim.steps(),
            population: self.population.unwrap_or(DEFAULT_POPULATION).to_string(),
        };
        run_streamed(&mut sim, header, self.format, self.out, self.reporter)
    }
}

fn print_summary(resolved: &Resolved, r: &SpikeRecord, wall: Duration, out: &Path) {
    let p = &resolved.spec.params;
    println!(
        "network     {} ({} neurons, {})",
        resolved.label, r.n, resolved.dtype
    );
    println!(
        "steps       {} (dt {} ms, {} ms simulated)",
        r.steps,
        p.dt,
        fmt_ms(r.duration_ms())
    );
    println!("spikes      {}", r.total);
    println!("mean rate   {:.3} Hz", r.mean_rate_hz());
    println!("wall time   {:.3} ms", wall.as_secs_f64() * 1e3);
    println!("output      {}", out.display());
}

/// Milliseconds without float noise (`99.99`, not `99.99000000000001`).
fn fmt_ms(ms: f64) -> String {
    let s = format!("{ms:.9}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
