//! `lifsim run`: one simulation, spikes to a file, a summary to stdout.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use lifsim_core::checkpoint::{self, CheckpointMeta, EngineState};
use lifsim_core::io::spikes::{OutputFormat, SpikeOutput, SpikeTrain, DEFAULT_POPULATION};
use lifsim_core::io::stream::StreamHeader;
use lifsim_core::io::stream::StreamPosition;
use lifsim_core::progress::{Driver, Stepper};
use lifsim_core::{DenseWeights, Real, RecordMode, Simulation, SpikeRecord};

use super::plot::PlotOptions;
use super::{with_weights, WeightsFn};
use crate::args::{Resolved, RunArgs};
use crate::progress::ProgressReporter;

/// Runs `lifsim run`.
pub fn run(args: &RunArgs) -> Result<()> {
    run_with(args, None)
}

/// A run that goes on from a checkpoint (`lifsim resume`).
pub struct Resume {
    /// The checkpoint's meta: the run's arguments, output, stream position.
    pub meta: CheckpointMeta,
    /// The state to restore.
    pub state: EngineState,
}

/// When and where a run writes checkpoints.
pub struct CheckpointPlan {
    /// The checkpoint file.
    pub path: PathBuf,
    /// Steps between checkpoints.
    pub every: u64,
    /// What each checkpoint records beside the state (its position is updated).
    pub meta: CheckpointMeta,
}

/// Runs `lifsim run`, or goes on with one from a checkpoint.
pub fn run_with(args: &RunArgs, resume: Option<Resume>) -> Result<()> {
    if let Some(network) = &args.network {
        return super::network::run_network(args, network, resume);
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
    let plan = checkpoint_plan(args, &resume, format, &out, resolved.spec.params.dt)?;
    let (record, wall) = with_weights(
        &resolved,
        Streamed {
            resolved: &resolved,
            format,
            out: &out,
            population: args.population.as_deref(),
            reporter: &mut reporter,
            plan,
            resume,
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
/// `reporter`. With a `plan`, writes a checkpoint every `plan.every` steps;
/// with `resume`, goes on from a checkpoint's state and stream position.
/// Returns the spike counts and the simulation's wall-clock time.
pub fn run_checkpointed(
    sim: &mut dyn Stepper,
    header: StreamHeader,
    format: OutputFormat,
    out: &Path,
    reporter: &mut ProgressReporter,
    mut plan: Option<CheckpointPlan>,
    resume: Option<Resume>,
) -> Result<(SpikeRecord, Duration)> {
    let dt = header.dt;
    let mut driver = Driver::new(dt);
    let mut output = match &resume {
        None => SpikeOutput::create(format, out, header)?,
        Some(r) => {
            let m = &r.meta;
            if (m.n, m.steps) != (header.n, header.steps) || m.dt != header.dt {
                bail!(
                    "the checkpoint is of a run of {} neurons, {} steps of {} ms; its arguments now give {} neurons, {} steps of {} ms (did an input file change?)",
                    m.n, m.steps, m.dt, header.n, header.steps, header.dt
                );
            }
            sim.restore_state(&r.state)?;
            remove_stale_temps(out);
            if let Some(p) = &plan {
                remove_stale_temps(&p.path);
            }
            driver = driver.with_spikes(m.position.spikes);
            SpikeOutput::resume(format, out, Path::new(&m.stream), m.position)?
        }
    };
    if let Some(p) = &mut plan {
        p.meta.stream = absolute(output.stream().path())?.display().to_string();
    }
    let start = Instant::now();
    loop {
        let until = match &plan {
            Some(p) => (sim.step_index() / p.every + 1).saturating_mul(p.every),
            None => u64::MAX,
        };
        let flow = driver.run(sim, until, &mut output, reporter);
        debug_assert!(flow.is_continue(), "the CLI's reporter never stops a run");
        let Some(p) = &mut plan else { break };
        if sim.step_index() >= sim.steps() {
            break;
        }
        // The stream first (durably), then the state that goes with it: a
        // crash between the two leaves the previous checkpoint, whose
        // stream position is still in the file.
        p.meta.position = output.stream().sync(true)?;
        let state = sim
            .save_state()
            .ok_or_else(|| anyhow!("this engine cannot save its state"))?;
        checkpoint::save(&p.path, &p.meta, &state)?;
    }
    let wall = start.elapsed();
    reporter.finish();
    let record = output.finish()?;
    // The run is complete: its checkpoint (whose stream is now gone) has
    // nothing left to resume.
    if let Some(p) = &plan {
        if p.path.exists() {
            std::fs::remove_file(&p.path).with_context(|| p.path.display().to_string())?;
        }
    }
    Ok((record, wall))
}

/// Removes the hidden temporary files (`.NAME.tmp-PID`, see
/// `lifsim_core::io::AtomicFile`) that a killed writer of `target` left,
/// where process PID is gone (Linux's /proc tells; elsewhere nothing is removed).
pub fn remove_stale_temps(target: &Path) {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    if !Path::new("/proc/self").exists() {
        return;
    }
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        let pid: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !pid.is_empty() && !Path::new("/proc").join(&pid).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}

/// The checkpoints a run writes: from `--checkpoint`/`--checkpoint-every`.
pub fn checkpoint_plan(
    args: &RunArgs,
    resume: &Option<Resume>,
    format: OutputFormat,
    out: &Path,
    dt: f64,
) -> Result<Option<CheckpointPlan>> {
    let (Some(path), Some(every)) = (&args.checkpoint, args.checkpoint_every) else {
        return Ok(None);
    };
    let steps = every / dt;
    if !(steps.is_finite() && steps >= 1.0) || (steps - steps.round()).abs() > 1e-6 * steps {
        bail!("--checkpoint-every must be a positive multiple of dt ({dt} ms), got {every}");
    }
    lifsim_core::io::check_writable(path)?;
    let run_args = match resume {
        Some(r) => r.meta.args.clone(),
        None => std::env::args().skip(2).collect(),
    };
    let cwd = match resume {
        Some(r) => r.meta.cwd.clone(),
        None => std::env::current_dir()?.display().to_string(),
    };
    Ok(Some(CheckpointPlan {
        path: absolute(path)?,
        every: steps.round() as u64,
        meta: CheckpointMeta {
            version: checkpoint::CHECKPOINT_VERSION,
            engine: "dense".into(),
            n: 0,
            dt,
            steps: 0,
            args: run_args,
            cwd,
            format: format_name(format).into(),
            out: absolute(out)?.display().to_string(),
            stream: String::new(),
            position: StreamPosition {
                step: 0,
                bytes: 0,
                spikes: 0,
            },
        },
    }))
}

/// The `--format` name of an output format.
pub fn format_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Dense => "dense",
        OutputFormat::Events => "events",
        OutputFormat::Sonata => "sonata",
    }
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
    plan: Option<CheckpointPlan>,
    resume: Option<Resume>,
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
        let mut plan = self.plan;
        if let Some(p) = &mut plan {
            (p.meta.n, p.meta.steps) = (header.n, header.steps);
        }
        run_checkpointed(
            &mut sim,
            header,
            self.format,
            self.out,
            self.reporter,
            plan,
            self.resume,
        )
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
