//! `lifsim run NETWORK.toml`: builds a network of populations and sparse
//! projections, simulates it, writes its spikes and reports setup time,
//! simulation time, rates and peak memory. The report is computed once into
//! [`NetworkReport`]; the terminal summary and `--json` are two views of it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use lifsim_core::engine::exchange::Reduce;
use lifsim_core::io::output::{check_writable, OutputFile, RunFiles};
use lifsim_core::io::save_npy;
use lifsim_core::io::spikes::{OutputFormat, DEFAULT_POPULATION};
use lifsim_core::io::stream::StreamHeader;
use lifsim_core::monitor::files::{self, monitor_paths};
use lifsim_core::monitor::SpikeFilter;
use lifsim_core::network::description::Rule;
use lifsim_core::network::Recipe;
use lifsim_core::progress::{Driver, Silent, Stepper};
use lifsim_core::recording::rate_hz;
use lifsim_core::resources::peak_rss_bytes;
use lifsim_core::{
    Dtype, EngineOptions, NetworkDescription, NetworkSimulation, Real, RecordMode, Recorder,
    SpikeRecord,
};
use serde::Serialize;

use super::ranks::Ranks;
use super::run::{checkpoint_plan, run_checkpointed, Resume};
use super::state_stream::StateStreaming;
use crate::args::{choose_format, RunArgs};
use crate::progress::ProgressReporter;

/// One population's activity.
#[derive(Serialize, Debug)]
pub struct PopulationReport {
    /// Its name.
    pub name: String,
    /// Neurons.
    pub size: usize,
    /// Spikes of all its neurons.
    pub spikes: u64,
    /// Mean firing rate (Hz).
    pub rate_hz: f64,
}

/// Everything `lifsim run NETWORK.toml` reports.
#[derive(Serialize, Debug)]
pub struct NetworkReport {
    /// The network's name (the file's `name`, or its stem).
    pub network: String,
    /// The network file.
    pub file: String,
    /// Neurons.
    pub neurons: usize,
    /// Synapses.
    pub synapses: usize,
    /// Memory held by the synapses (bytes).
    pub synapse_bytes: usize,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Steps simulated.
    pub steps: usize,
    /// Simulated time (ms).
    pub duration_ms: f64,
    /// Float type.
    pub dtype: String,
    /// Threads (partitions) of the simulation loop (of each rank).
    pub threads: usize,
    /// Processes (MPI ranks) the network was split over.
    pub ranks: usize,
    /// How the ranks exchanged spikes (`allgather`, `alltoall`); `none`
    /// with one rank.
    pub exchange: String,
    /// Whether each exchange ran while the next interval's steps did (over
    /// ranks, where the minimum delay is 2 steps or more, unless
    /// `--no-overlap`).
    pub overlapped: bool,
    /// Spike exchanges between the ranks (one per minimum delay, or per
    /// half of it when overlapped).
    pub exchanges: u64,
    /// Bytes the ranks received from one another in those exchanges (spike
    /// ids and per-step counts, 4 bytes each), summed over the ranks.
    pub exchange_bytes: u64,
    /// Seconds each rank spent in the exchanges (filtering, the collectives
    /// and the wait for the slowest rank; part of `sim_s`), the mean over
    /// the ranks.
    pub exchange_s: f64,
    /// Reading the file, building the network and its state (s).
    pub setup_s: f64,
    /// The simulation loop (s).
    pub sim_s: f64,
    /// The whole command, output written (s).
    pub total_s: f64,
    /// Spikes of all neurons.
    pub spikes: u64,
    /// Mean firing rate over all neurons (Hz).
    pub rate_hz: f64,
    /// Per population.
    pub populations: Vec<PopulationReport>,
    /// Peak resident memory of the process (bytes, `VmHWM`), if the system
    /// reports it; over several ranks, the largest of any rank's.
    pub peak_rss_bytes: Option<u64>,
    /// The spike file written.
    pub output: String,
    /// What the flags changed in the network file (`--dt 0.05`,
    /// `--set E.i_ext=0.5`), in the order applied.
    pub overrides: Vec<String>,
    /// The monitors' files written (`<stem>.state.npz`, `<stem>.rate.npz`), if any.
    pub monitor_files: Vec<String>,
    /// The neurons whose spikes the output holds (`[[record.spikes_from]]`):
    /// `every neuron`, or per population. The spike counts and rates above
    /// are of every neuron all the same.
    pub recorded: String,
}

/// Runs a network file: over the ranks of an MPI job where one launched
/// this process (`mpirun -np K lifsim run ...`), else in this process.
pub fn run_network(args: &RunArgs, path: &Path, resume: Option<Resume>) -> Result<()> {
    let ranks = Ranks::init(args.exchange.unwrap_or_default(), !args.no_overlap)?;
    let result = run_network_on(args, path, resume, &ranks);
    ranks.finish(result)
}

/// What a run over several ranks cannot do yet, refused before anything runs.
fn refuse_on_ranks(args: &RunArgs, desc: &NetworkDescription, k: usize) -> Result<()> {
    if !desc.monitors.state.is_empty() && (desc.monitors.stream || args.stream_state) {
        bail!("streamed state monitors (--stream-state) are not supported over MPI ranks yet; run on one process (this is one of {k} ranks)");
    }
    Ok(())
}

fn run_network_on(
    args: &RunArgs,
    path: &Path,
    resume: Option<Resume>,
    ranks: &Ranks,
) -> Result<()> {
    let start = Instant::now();
    // The seed model's flags have no meaning for a network file: refuse them
    // rather than ignore them.
    args.model.check_for_network_file()?;
    let overrides = args.overrides();
    let mut desc = NetworkDescription::load_with(path, &overrides)?;
    if let Some(seed) = args.model.seed {
        desc.seed = seed;
    }
    if let Some(d) = &args.model.dtype {
        desc.dtype = d.parse()?;
    }
    if let Some(c) = &args.connectivity {
        desc.set_connectivity(c.parse()?)?;
    }
    if args.stream_state {
        desc.monitors.stream = true;
    }
    if ranks.count() > 1 {
        refuse_on_ranks(args, &desc, ranks.count())?;
    }
    // Rank 0 writes every file; the other ranks only compute.
    let root = ranks.is_root();
    let chosen = choose_format(
        args.format.as_deref(),
        args.out.as_deref(),
        &OutputFormat::ALL,
        OutputFormat::of_record(desc.record),
    )?;
    // Spike trains stream to disk as they happen (flat memory, crash-safe);
    // counts are a number per neuron and stay in memory.
    let format = chosen.is_spike_train().then_some(chosen);
    chosen.check_available()?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(chosen.default_file()));
    if root {
        check_outputs(&desc, path, args, format, &out, resume.as_ref())?;
    }
    let report = match desc.dtype {
        Dtype::Float64 => simulate::<f64>(&desc, path, args, format, &out, start, resume, ranks)?,
        Dtype::Float32 => simulate::<f32>(&desc, path, args, format, &out, start, resume, ranks)?,
    };
    if !root {
        return Ok(());
    }
    // `--quiet`: nothing on stdout either; errors still reach stderr.
    if !args.quiet {
        print_report(&report);
    }
    if let Some(png) = &args.plot {
        super::run::plot_output(&out, &desc.name, desc.dt, png, args.quiet)?;
    }
    if let Some(json) = &args.json {
        let mut file = OutputFile::create(json)?;
        serde_json::to_writer_pretty(&mut file, &report)
            .with_context(|| json.display().to_string())?;
        file.commit()?;
    }
    Ok(())
}

/// Refuses, before anything is built, outputs that cannot be written.
fn check_outputs(
    desc: &NetworkDescription,
    path: &Path,
    args: &RunArgs,
    format: Option<OutputFormat>,
    out: &Path,
    resume: Option<&Resume>,
) -> Result<()> {
    super::run::check_files(network_files(desc, path, out), args, out, format, resume)?;
    check_writable(out)?;
    if format == Some(OutputFormat::Dense) {
        // Before the synapses are built, not only before the first step:
        // the raster has a byte per neuron and step, spikes or not.
        let bytes = (desc.n() as u64).saturating_mul(desc.steps() as u64);
        lifsim_core::io::output::check_space(out, bytes, "the dense spike array")?;
    }
    let (state, rate) = monitor_paths(out);
    if !desc.monitors.state.is_empty() {
        check_writable(&state)?;
    }
    if desc.monitors.rate.is_some() {
        check_writable(&rate)?;
    }
    if let Some(png) = &args.plot {
        if format.is_none() {
            bail!("--plot needs a spike train; --format counts keeps only counts");
        }
        super::plot::check_out(png)?;
    }
    if let Some(json) = &args.json {
        check_writable(json)?;
    }
    Ok(())
}

/// The files a network run reads (the network file and the matrices it
/// names) and its monitors' files beside `out`.
fn network_files(desc: &NetworkDescription, path: &Path, out: &Path) -> RunFiles {
    let mut files = RunFiles::new();
    files.input("the network file", path);
    let (state, rate) = monitor_paths(out);
    if !desc.monitors.state.is_empty() {
        files.output("the state monitors' file", &state);
    }
    if desc.monitors.rate.is_some() {
        files.output("the rate monitor's file", &rate);
    }
    for (k, p) in desc.projections.iter().enumerate() {
        if let Rule::File { path, .. } = &p.rule {
            files.input(format!("projection {} ({}) file", k + 1, p.label()), path);
        }
    }
    files
}

#[allow(clippy::too_many_arguments)] // the run's inputs, outputs and ranks
fn simulate<T: Real>(
    desc: &NetworkDescription,
    path: &Path,
    args: &RunArgs,
    format: Option<OutputFormat>,
    out: &Path,
    start: Instant,
    resume: Option<Resume>,
    ranks: &Ranks,
) -> Result<NetworkReport> {
    // The recipe holds no synapses: each partition of the simulation builds
    // those onto its own neurons (on `--threads` threads); over several
    // ranks, each builds only its own range's partitions.
    let net = Recipe::<T>::new(desc)?;
    let mut sim = match ranks.exchange() {
        None => NetworkSimulation::new(&net, args.model.threads)?,
        Some(x) => {
            let options = EngineOptions {
                threads: args.model.threads.or(ranks.default_threads(net.n())),
                isa: None,
            };
            NetworkSimulation::distributed(&net, &options, x)?
        }
    };
    let steps = desc.steps();
    let setup = start.elapsed();
    let root = ranks.is_root();
    let mut reporter = ProgressReporter::new(args.progress, args.quiet || !root);
    // Created before the first step (its disk space checked), dropped on
    // any error below, which removes its temporary files.
    let mut stream = StateStreaming::start(&mut sim, desc.monitors.stream, out)?;
    let sim = &mut stream;
    // The other ranks record counts (every rank sees every spike) and write nothing.
    let (record, sim_time) = match format.filter(|_| root) {
        None if format.is_some() => follow(sim, args, resume, desc.dt, net.n(), steps)?,
        Some(format) => {
            let header = StreamHeader {
                n: net.n() as u64,
                dt: desc.dt,
                steps: steps as u64,
                population: args
                    .population
                    .clone()
                    .unwrap_or_else(|| DEFAULT_POPULATION.to_string()),
                populations: desc.population_ranges(),
                recorded: lifsim_core::monitor::spikes::recorded_ranges(desc)?,
            };
            let mut plan = checkpoint_plan(args, &resume, format, out, desc.dt)?;
            if let Some(p) = &mut plan {
                p.meta.engine = lifsim_core::checkpoint::ENGINE.into();
                (p.meta.n, p.meta.steps) = (header.n, header.steps);
            }
            let filter = SpikeFilter::new(desc)?;
            run_checkpointed(
                sim,
                header,
                format,
                out,
                &mut reporter,
                plan,
                resume,
                filter,
            )?
        }
        None => {
            if format.is_none() && (args.checkpoint.is_some() || resume.is_some()) {
                bail!("checkpoints need a spike output (--format events, dense or sonata), not counts");
            }
            let mut recorder = Recorder::new(RecordMode::Counts, net.n(), steps)?;
            let t = Instant::now();
            let _ = Driver::new(desc.dt).run(sim, u64::MAX, &mut recorder, &mut reporter);
            let sim_time = t.elapsed();
            reporter.finish();
            let record = recorder.finish(desc.dt);
            if root {
                save_npy(out, &record.counts, &[record.counts.len()], false)?;
            }
            (record, sim_time)
        }
    };
    let mut monitor_files = stream.finish()?;
    let sim = stream.sim();
    monitor_files.extend(save_monitors(sim, out, desc.monitors.stream, root)?);
    let duration_ms = steps as f64 * desc.dt;
    // The output may hold some neurons' spikes only; the summary counts
    // every neuron's, those not written included.
    let unrecorded = |k: usize| record.unrecorded.get(k).copied().unwrap_or(0);
    let populations = net
        .populations
        .iter()
        .enumerate()
        .map(|(k, (name, range))| {
            let spikes: u64 = record.counts[range.clone()].iter().sum::<u64>() + unrecorded(k);
            PopulationReport {
                name: name.clone(),
                size: range.len(),
                spikes,
                rate_hz: rate_hz(spikes, range.len(), duration_ms),
            }
        })
        .collect();
    Ok(NetworkReport {
        network: desc.name.clone(),
        file: path.display().to_string(),
        neurons: net.n(),
        // Each rank holds the synapses onto its own neurons.
        synapses: ranks.reduce(sim.synapses() as u64, Reduce::Sum) as usize,
        synapse_bytes: ranks.reduce(sim.synapse_bytes() as u64, Reduce::Sum) as usize,
        dt_ms: desc.dt,
        steps,
        duration_ms,
        dtype: desc.dtype.to_string(),
        threads: sim.partitions(),
        ranks: ranks.count(),
        exchange: match ranks.exchange() {
            Some(x) => x.scheme().name().into(),
            None => "none".into(),
        },
        overlapped: sim.overlaps(),
        exchanges: sim.traffic().intervals(),
        exchange_bytes: ranks.reduce(sim.traffic().bytes(), Reduce::Sum),
        exchange_s: ranks.reduce((sim.traffic().seconds() * 1e9) as u64, Reduce::Sum) as f64 * 1e-9
            / ranks.count() as f64,
        setup_s: setup.as_secs_f64(),
        sim_s: sim_time.as_secs_f64(),
        total_s: start.elapsed().as_secs_f64(),
        spikes: record.total + record.unrecorded.iter().sum::<u64>(),
        rate_hz: rate_hz(
            record.total + record.unrecorded.iter().sum::<u64>(),
            net.n(),
            duration_ms,
        ),
        populations,
        peak_rss_bytes: match ranks.count() {
            1 => peak_rss_bytes(),
            _ => Some(ranks.reduce(peak_rss_bytes().unwrap_or(0), Reduce::Max)).filter(|&b| b > 0),
        },
        output: out.display().to_string(),
        overrides: args.overrides().flags(),
        monitor_files,
        // Counts are of every neuron, whatever `spikes_from` says.
        recorded: match format {
            Some(_) => lifsim_core::monitor::spikes::describe(desc)?,
            None => "every neuron".into(),
        },
    })
}

/// A rank other than 0 of a run with a spike output: the same steps as
/// rank 0, and at its checkpoints the same collective gather of the state
/// (rank 0 writes it); from a checkpoint's state when resumed. Records
/// counts only; returns them and the simulation's time.
fn follow(
    sim: &mut dyn Stepper,
    args: &RunArgs,
    mut resume: Option<Resume>,
    dt: f64,
    n: usize,
    steps: usize,
) -> Result<(SpikeRecord, std::time::Duration)> {
    if let Some(r) = &mut resume {
        r.restore(sim)?;
    }
    // As `checkpoint_plan` computes it on rank 0 (which refuses a bad one).
    let every = match (&args.checkpoint, args.checkpoint_every) {
        (Some(_), Some(e)) => Some(((e / dt).round() as u64).max(1)),
        _ => None,
    };
    let mut recorder = Recorder::new(RecordMode::Counts, n, steps)?;
    let mut driver = Driver::new(dt);
    let t = Instant::now();
    loop {
        let until = match every {
            Some(e) => (sim.step_index() / e + 1).saturating_mul(e),
            None => u64::MAX,
        };
        let _ = driver.run(sim, until, &mut recorder, &mut Silent);
        if every.is_none() || sim.step_index() >= sim.steps() {
            break;
        }
        // Collective: each rank writes its own neurons' state, rank 0 the
        // manifest (at the path rank 0 resolves alike: the same folder).
        let path = std::env::current_dir()?.join(args.checkpoint.as_ref().expect("every"));
        sim.save_checkpoint(&path, None)?;
    }
    Ok((recorder.finish(dt), t.elapsed()))
}

/// Writes the monitors' records beside `out`; the files written.
/// Over several ranks every rank calls it (the state records are gathered
/// on rank 0, the `root`, which alone writes).
fn save_monitors<T: Real>(
    sim: &NetworkSimulation<'_, T>,
    out: &Path,
    streamed: bool,
    root: bool,
) -> Result<Vec<String>> {
    let (state, rate) = monitor_paths(out);
    let mut written = Vec::new();
    // Streamed state monitors are written by `StateStreaming::finish`.
    if sim.state_monitors() > 0 && !streamed {
        // Every monitor's gather on every rank (`None` off rank 0).
        let records: Vec<_> = (0..sim.state_monitors())
            .map(|m| sim.gathered_state_record(m))
            .collect();
        if root {
            let records: Vec<_> = records.into_iter().flatten().collect();
            files::save_state(&state, &records)?;
            written.push(state.display().to_string());
        }
    }
    if !root {
        return Ok(written);
    }
    if let Some(r) = sim.rate_record() {
        files::save_rate(&rate, &r)?;
        written.push(rate.display().to_string());
    }
    Ok(written)
}

fn print_report(r: &NetworkReport) {
    println!(
        "network     {} ({} neurons, {} synapses, {})",
        r.network, r.neurons, r.synapses, r.dtype
    );
    if !r.overrides.is_empty() {
        println!("changed     {}", r.overrides.join(", "));
    }
    let split = match r.ranks {
        1 => format!("{} thread(s)", r.threads),
        k => format!("{k} ranks x {} thread(s)", r.threads),
    };
    println!(
        "steps       {} (dt {} ms, {} ms simulated), {split}",
        r.steps, r.dt_ms, r.duration_ms
    );
    println!("setup       {:.3} s (read, connect, initialise)", r.setup_s);
    println!("simulation  {:.3} s", r.sim_s);
    println!("total       {:.3} s", r.total_s);
    println!("spikes      {}", r.spikes);
    println!("mean rate   {:.3} Hz", r.rate_hz);
    for p in &r.populations {
        println!(
            "  {:<9} {:.3} Hz ({} neurons, {} spikes)",
            p.name, p.rate_hz, p.size, p.spikes
        );
    }
    println!(
        "synapses    {}",
        lifsim_core::error::human_bytes(r.synapse_bytes as u64)
    );
    match r.peak_rss_bytes {
        Some(b) => println!("peak memory {}", lifsim_core::error::human_bytes(b)),
        None => println!("peak memory (not reported by this system)"),
    }
    println!("output      {}", r.output);
    if r.recorded != "every neuron" {
        println!(
            "recorded    spikes of {} (rates above: every neuron)",
            r.recorded
        );
    }
    for f in &r.monitor_files {
        println!("monitors    {f}");
    }
}
