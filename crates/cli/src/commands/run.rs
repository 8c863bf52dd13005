//! `lifsim run`: one simulation, spikes to a file, a summary to stdout.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use lifsim_core::checkpoint::{self, CheckpointMeta, EngineState};
use lifsim_core::io::output;
use lifsim_core::io::spikes::{OutputFormat, SpikeOutput, SpikeTrain, DEFAULT_POPULATION};
use lifsim_core::io::stream::StreamHeader;
use lifsim_core::io::stream::StreamPosition;
use lifsim_core::monitor::SpikeFilter;
use lifsim_core::progress::{Driver, Stepper};
use lifsim_core::{DenseWeights, Dtype, Real, RecordMode, Simulation, SpikeRecord};

use super::plot::PlotOptions;
use super::ranks::Ranks;
use super::{with_weights, WeightsFn};
use crate::args::{choose_format, Resolved, RunArgs};
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
    pub state: Saved,
    /// The checkpoint file it was read from.
    pub source: PathBuf,
}

/// The state a resume restores.
pub enum Saved {
    /// Read whole, with the rest of the checkpoint (one process).
    Read(EngineState),
    /// Read but for its rank files (under a launcher): each rank reads
    /// those of its own neurons once it knows them ([`Resume::restore`]);
    /// `None` once read.
    Opened(Option<checkpoint::Opened>),
}

impl Resume {
    /// Puts `sim` in the checkpoint's state: over MPI ranks, read from the
    /// rank files that hold this rank's neurons only.
    pub fn restore(&mut self, sim: &mut dyn Stepper) -> Result<()> {
        let source = self.source.display().to_string();
        let state = match &mut self.state {
            Saved::Read(state) => return sim.restore_state(state).context(source),
            Saved::Opened(opened) => {
                let opened = opened
                    .take()
                    .context("the checkpoint's state was restored once already")?;
                match sim.own_neurons() {
                    Some(neurons) => opened.state_of(neurons)?,
                    None => opened.state()?,
                }
            }
        };
        sim.restore_state(&state).context(source)
    }
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
    // Under mpirun the seed's dense model runs over the ranks as a network
    // (`seed_ranks`: an exchange every step); an error on any rank ends them all.
    let ranks = super::seed_ranks::ranks(args.exchange.unwrap_or_default())?;
    let result = run_seed(args, resume, &ranks);
    ranks.finish(result)
}

/// The seed's run of `args`: in this process, or over
/// `ranks` where there are several (rank 0 writes and prints).
fn run_seed(args: &RunArgs, resume: Option<Resume>, ranks: &Ranks) -> Result<()> {
    let root = ranks.is_root();
    if args.duration.is_some() || !args.set.is_empty() {
        let flag = if args.duration.is_some() {
            "--duration"
        } else {
            "--set"
        };
        bail!("{flag} changes a network file (lifsim run NETWORK.toml {flag} ...); the seed model takes its parameters as flags (--t-max, --tau-m, ...)");
    }
    if args.connectivity.is_some() {
        bail!("--connectivity is for network files (lifsim run NETWORK.toml --connectivity procedural); the seed model's weights are a dense matrix");
    }
    if args.stream_state {
        bail!("--stream-state is for network files with [[record.state]] monitors (lifsim run NETWORK.toml --stream-state)");
    }
    if args.json.is_some() {
        anyhow::bail!("--json is for network files (lifsim run NETWORK.toml --json FILE); use lifsim bench --json for the seed model");
    }
    let format = choose_format(
        args.format.as_deref(),
        args.out.as_deref(),
        &OutputFormat::SPIKE_TRAINS,
        OutputFormat::Dense,
    )?;
    format.check_available()?;
    let resolved = args.model.resolve(RecordMode::Counts)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format.default_file()));
    if root {
        check_files(resolved.files(), args, &out, Some(format), resume.as_ref())?;
        if let Some(png) = &args.plot {
            super::plot::check_out(png)?;
        }
    }
    let mut reporter = ProgressReporter::new(args.progress, args.quiet || !root);
    let plan = checkpoint_plan(args, &resume, format, &out, resolved.spec.params.dt)?;
    let streamed = Streamed {
        resolved: &resolved,
        format,
        out: &out,
        population: args.population.as_deref(),
        reporter: &mut reporter,
        plan,
        resume,
    };
    let (record, wall) = if ranks.count() > 1 {
        streamed.on_ranks(ranks)?
    } else {
        with_weights(&resolved, streamed)?
    };
    if !root {
        return Ok(());
    }
    // `--quiet`: nothing on stdout either; errors still reach stderr.
    if !args.quiet {
        print_summary(&resolved, &record, wall, &out);
    }
    if let Some(png) = &args.plot {
        plot_output(&out, &resolved.label, record.dt, png, args.quiet)?;
    }
    Ok(())
}

/// Refuses, before anything runs, a run whose outputs (`--out`, its stream,
/// `--checkpoint`, `--json`, `--plot`) are the same file as each other or as
/// one of its `inputs`, and a `--checkpoint` that names a file of the user's
/// other than a lifsim checkpoint (it is replaced during the run and removed
/// at its end).
pub fn check_files(
    mut files: output::RunFiles,
    args: &RunArgs,
    out: &Path,
    format: Option<OutputFormat>,
    resume: Option<&Resume>,
) -> Result<()> {
    files.output("--out", out);
    if format.is_some() {
        let stream = match resume {
            Some(r) => PathBuf::from(&r.meta.stream),
            None => lifsim_core::io::stream::stream_path_for(out),
        };
        files.output("the spike stream of --out", &stream);
    }
    if let Some(r) = resume {
        // Resumed from a copy, the checkpoint is an input like any other.
        if args
            .checkpoint
            .as_ref()
            .is_none_or(|c| !output::same_file(c, &r.source))
        {
            files.input("the checkpoint resumed", &r.source);
        }
    }
    if let Some(c) = &args.checkpoint {
        files.output("--checkpoint", c);
    }
    if let Some(j) = &args.json {
        files.output("--json", j);
    }
    if let Some(p) = &args.plot {
        files.output("--plot", p);
    }
    files.check()?;
    match &args.checkpoint {
        Some(c) if resume.is_none() && !free_for_checkpoint(c) => bail!(
            "{}: --checkpoint names a file that is not a lifsim checkpoint; it would be replaced and then removed; choose a new name",
            c.display()
        ),
        _ => Ok(()),
    }
}

/// Whether a run may write its checkpoints at `path` (and remove it at the
/// end): nothing is there yet, or an earlier lifsim checkpoint.
fn free_for_checkpoint(path: &Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        Ok(m) if !m.file_type().is_file() => false,
        Ok(_) => lifsim_core::io::npz::NpzReader::open(path).is_ok_and(|z| {
            let names = z.names();
            ["meta", "step", "pending"]
                .iter()
                .all(|want| names.iter().any(|n| n == want))
        }),
    }
}

/// Runs `sim` to its end, streaming its spikes to disk as they come (memory
/// stays flat; a killed run leaves `<out>.spikes` behind with every spike up to
/// its last flush) and writing `out` in `format` at the end; progress goes to
/// `reporter`. With a `plan`, writes a checkpoint every `plan.every` steps;
/// with `resume`, goes on from a checkpoint's state and stream position.
/// Returns the spike counts and the simulation's wall-clock time. A
/// `filter` writes only the spikes of the neurons it records.
#[allow(clippy::too_many_arguments)] // one run's settings, each its own
pub fn run_checkpointed(
    sim: &mut dyn Stepper,
    header: StreamHeader,
    format: OutputFormat,
    out: &Path,
    reporter: &mut ProgressReporter,
    mut plan: Option<CheckpointPlan>,
    mut resume: Option<Resume>,
    filter: Option<SpikeFilter>,
) -> Result<(SpikeRecord, Duration)> {
    let dt = header.dt;
    let mut driver = Driver::new(dt);
    let mut output = match &mut resume {
        None => SpikeOutput::create(format, out, header)?.with_filter(filter),
        Some(r) => {
            let m = &r.meta;
            if (m.n, m.steps) != (header.n, header.steps) || m.dt != header.dt {
                bail!(
                    "{}: the checkpoint is of a run of {} neurons, {} steps of {} ms; its arguments now give {} neurons, {} steps of {} ms (did an input file change?)",
                    r.source.display(), m.n, m.steps, m.dt, header.n, header.steps, header.dt
                );
            }
            r.restore(sim)?;
            let m = &r.meta;
            output::remove_stale_temps(out);
            if let Some(p) = &plan {
                output::remove_stale_temps(&p.path);
            }
            let unrecorded: u64 = m.unrecorded.iter().sum();
            driver = driver.with_spikes(m.position.spikes + unrecorded);
            let mut output = SpikeOutput::resume(format, out, Path::new(&m.stream), m.position)?
                .with_filter(filter);
            output
                .resume_unrecorded(&m.unrecorded)
                .with_context(|| r.source.display().to_string())?;
            output
        }
    };
    if let Some(p) = &mut plan {
        p.meta.stream = absolute(output.stream().path())?.display().to_string();
    }
    let start = Instant::now();
    if let Err(e) = drive(sim, &mut driver, &mut output, reporter, &mut plan) {
        reporter.finish();
        return Err(give_up(output, plan.as_ref(), e));
    }
    let wall = start.elapsed();
    reporter.finish();
    let record = match output.write() {
        Ok(record) => record,
        Err(e) => return Err(give_up(output, plan.as_ref(), e.into())),
    };
    output.abandon()?;
    // The run is complete: its checkpoint (whose stream is now gone) has
    // nothing left to resume.
    if let Some(p) = &plan {
        checkpoint::remove(&p.path)?;
    }
    Ok((record, wall))
}

fn absolute(path: &Path) -> Result<PathBuf> {
    Ok(if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    })
}

/// Runs `sim` to its end into `output`, writing the checkpoints of `plan`;
/// stops at the first write error.
fn drive(
    sim: &mut dyn Stepper,
    driver: &mut Driver,
    output: &mut SpikeOutput,
    reporter: &mut ProgressReporter,
    plan: &mut Option<CheckpointPlan>,
) -> Result<()> {
    loop {
        let until = match plan {
            Some(p) => (sim.step_index() / p.every + 1).saturating_mul(p.every),
            None => u64::MAX,
        };
        let flow = driver.run(sim, until, output, reporter);
        if flow.is_break() {
            // The CLI's reporter never stops a run: the output failed.
            return Err(match output.stream().error() {
                Some(e) => e.into(),
                None => anyhow!("the run stopped at step {}", sim.step_index()),
            });
        }
        let Some(p) = plan.as_mut() else {
            return Ok(());
        };
        if sim.step_index() >= sim.steps() {
            return Ok(());
        }
        // The stream first (durably), then the state that goes with it: a
        // crash between the two leaves the previous checkpoint, whose
        // stream position is still in the file.
        p.meta.position = output.stream().sync(true)?;
        p.meta.unrecorded = output.unrecorded().to_vec();
        // Over MPI ranks, each rank writes its neurons' state to a file of
        // its own beside the manifest rank 0 writes (collective).
        sim.save_checkpoint(&p.path, Some(&p.meta))?;
    }
}

/// What is left of a run that failed part-way: with a checkpoint on disk,
/// the stream stays so `lifsim resume` can go on once the cause is fixed;
/// without one, the stream is removed (a full disk gets its space back).
fn give_up(output: SpikeOutput, plan: Option<&CheckpointPlan>, e: anyhow::Error) -> anyhow::Error {
    match plan.filter(|p| p.path.exists()) {
        Some(p) => e.context(format!(
            "the run stopped; once that is fixed, `lifsim resume {}` goes on from its last checkpoint",
            p.path.display()
        )),
        None => {
            let _ = output.abandon();
            e
        }
    }
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
    lifsim_core::io::output::check_writable(path)?;
    let run_args = match resume {
        Some(r) => r.meta.args.clone(),
        None => crate::subcommand_args(),
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
            // The seed's run is a network (`lifsim_core::network::seed`).
            engine: checkpoint::ENGINE.into(),
            n: 0,
            dt,
            steps: 0,
            args: run_args,
            cwd,
            format: format.name().into(),
            out: absolute(out)?.display().to_string(),
            stream: String::new(),
            position: StreamPosition {
                step: 0,
                bytes: 0,
                spikes: 0,
            },
            network: None,
            unrecorded: Vec::new(),
            parts: Vec::new(),
        },
    }))
}

/// Draws the raster of the spike file just written (and says so, unless `quiet`).
pub fn plot_output(out: &Path, label: &str, dt: f64, png: &Path, quiet: bool) -> Result<()> {
    let train = SpikeTrain::load(out, Some(dt))?;
    let opts = PlotOptions {
        width: 1200,
        height: 800,
        label: label.to_string(),
        t_start: None,
        t_stop: None,
        per_population: None,
    };
    super::plot::render(&train, &opts, png)?;
    if !quiet {
        println!("plot        {}", png.display());
    }
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

impl Streamed<'_> {
    /// The run over several ranks, as a network (`seed_ranks`).
    fn on_ranks(self, ranks: &Ranks) -> Result<(SpikeRecord, Duration)> {
        let run = match self.resolved.dtype {
            Dtype::Float64 => super::seed_ranks::simulate::<f64>,
            Dtype::Float32 => super::seed_ranks::simulate::<f32>,
        };
        run(
            self.resolved,
            self.format,
            self.out,
            self.population,
            self.reporter,
            self.plan,
            self.resume,
            ranks,
        )
    }
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
            populations: Vec::new(),
            recorded: None,
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
            None,
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
