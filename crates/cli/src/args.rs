//! Command-line flags (stage one: what the user typed) and their merge with a
//! TOML config file and a workload into one validated run description (stage two).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use lifsim_core::io::load_vector;
use lifsim_core::workloads::{self, Workload};
use lifsim_core::{
    DenseWeights, Dtype, ExternalCurrent, InitialVoltage, LifParams, RecordMode, RunSpec,
    WeightSpec,
};
use serde::Deserialize;

/// lifsim: fast, bit-exact simulation of leaky integrate-and-fire networks.
#[derive(Parser, Debug)]
#[command(name = "lifsim", version, about, long_about = None)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Caps every thread count the user gave (`--threads`, `--jobs`) at the
    /// available cores, with a warning on stderr.
    pub fn cap_threads(&mut self) {
        let (threads, jobs) = match &mut self.command {
            Command::Run(a) => (&mut a.model.threads, None),
            Command::Bench(a) => (&mut a.model.threads, Some(&mut a.jobs)),
            Command::Resume(a) => (&mut a.threads, None),
            _ => return,
        };
        for (flag, value) in [("--threads", threads)]
            .into_iter()
            .chain(jobs.map(|j| ("--jobs", j)))
        {
            if let Some(t) = value.as_mut().filter(|t| **t > 0) {
                let (usable, warning) = lifsim_core::resources::usable_threads(*t, flag);
                if let Some(w) = warning {
                    eprintln!("lifsim: warning: {w}");
                }
                *t = usable;
            }
        }
    }
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate a network once and write its spikes.
    Run(RunArgs),
    /// Time the simulation as the seed notebook does (warm-up, then `--runs` runs).
    Bench(BenchArgs),
    /// Write a deterministic random weight matrix to an .npy file.
    GenWeights(GenWeightsArgs),
    /// Write a named workload's weights, initial voltages and parameters to a folder.
    Workload(WorkloadArgs),
    /// Draw a spike raster with the population rate below it, as a PNG.
    Plot(PlotArgs),
    /// Describe files lifsim reads or writes (.npy, .npz, .spikes, .h5).
    Info(InfoArgs),
    /// Go on with a run from its last checkpoint (lifsim run --checkpoint).
    Resume(ResumeArgs),
}

/// The model flags shared by `run` and `bench`, named after the seed's parameters.
#[derive(Args, Debug, Default)]
pub struct ModelArgs {
    /// Weight matrix W (N x N .npy, float32/float64, C or Fortran order); W[i, j]
    /// is the weight from j onto i [default: the workload's generated network]
    #[arg(long, value_name = "FILE.npy")]
    pub weights: Option<PathBuf>,
    /// Built-in network and inputs when no --weights is given: seed, seed-active
    #[arg(long, value_name = "NAME", default_value = "seed")]
    pub workload: String,
    /// TOML file with any of the parameters below (flags take precedence)
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Time step, ms [default: 0.01]
    #[arg(long, allow_negative_numbers = true)]
    pub dt: Option<f64>,
    /// Simulated time, ms; the run has len(arange(0, t_max, dt)) - 1 steps [default: 100]
    #[arg(long, allow_negative_numbers = true)]
    pub t_max: Option<f64>,
    /// Membrane time constant, ms [default: 20]
    #[arg(long, allow_negative_numbers = true)]
    pub tau_m: Option<f64>,
    /// Reset (and default initial) potential, mV [default: -65]
    #[arg(long, allow_negative_numbers = true)]
    pub v_reset: Option<f64>,
    /// Spike threshold, mV [default: -50]
    #[arg(long, allow_negative_numbers = true)]
    pub v_thresh: Option<f64>,
    /// Membrane resistance, MOhm [default: 1]
    #[arg(long, allow_negative_numbers = true)]
    pub r: Option<f64>,
    /// Resting potential, mV [default: v_reset]
    #[arg(long, allow_negative_numbers = true)]
    pub v_rest: Option<f64>,
    /// External current: a number for every neuron, or FILE.npy with one value per neuron [default: 0]
    #[arg(long, allow_negative_numbers = true, value_name = "NUMBER|FILE.npy")]
    pub i_ext: Option<String>,
    /// Initial voltages: reset, uniform (in [v_reset, v_thresh), from --seed) or FILE.npy [default: reset]
    #[arg(long, value_name = "reset|uniform|FILE.npy")]
    pub v0: Option<String>,
    /// Refractory period after the spike step, ms, a multiple of dt [default: 0]
    #[arg(long, allow_negative_numbers = true)]
    pub t_ref: Option<f64>,
    /// Seed for --v0 uniform [default: 1]
    #[arg(long)]
    pub seed: Option<u64>,
    /// Floating-point type: float64 (NumPy's) or float32 (JAX's) [default: float64]
    #[arg(long, value_name = "float64|float32")]
    pub dtype: Option<String>,
    /// Threads for one simulation's step [default: 1 below 5000 neurons, all cores above]
    #[arg(long)]
    pub threads: Option<usize>,
}

/// `lifsim run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// A network file (.toml: populations, projections, inputs; see examples/cuba.toml).
    /// Without it, `run` simulates the seed's dense model from the flags below
    #[arg(value_name = "NETWORK.toml")]
    pub network: Option<PathBuf>,
    /// Model and network.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Output format: dense (the seed's bool .npy of shape (steps, N)), events (.npz with
    /// times, ids), sonata (SONATA spike report .h5; built with --features sonata) or, for
    /// network files, counts (.npy of spikes per neuron)
    /// [default: dense for the seed model, the network file's record.spikes (events) otherwise]
    #[arg(long, value_name = "dense|events|sonata|counts")]
    pub format: Option<String>,
    /// Output file [default: spikes.npy for dense, spikes.npz for events, counts.npy for counts]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write a JSON summary (setup and simulation times, rates, peak memory); network files only
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also draw the spike raster and population rate into this PNG
    #[arg(long, value_name = "FILE.png")]
    pub plot: Option<PathBuf>,
    /// Progress bar on stderr: auto (on a terminal, runs over about 1 s), always, never
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        value_name = "auto|always|never"
    )]
    pub progress: crate::progress::ProgressMode,
    /// No progress bar (same as --progress never)
    #[arg(long, short)]
    pub quiet: bool,
    /// Population name in SONATA output (/spikes/<population>) [default: lifsim]
    #[arg(long, value_name = "NAME")]
    pub population: Option<String>,
    /// Write the whole simulation state to this file (atomically) every --checkpoint-every
    /// ms of simulated time; `lifsim resume FILE` goes on from the last one
    #[arg(long, value_name = "FILE.npz", requires = "checkpoint_every")]
    pub checkpoint: Option<PathBuf>,
    /// Simulated time between checkpoints, ms
    #[arg(
        long,
        value_name = "MS",
        requires = "checkpoint",
        allow_negative_numbers = true
    )]
    pub checkpoint_every: Option<f64>,
}

/// `lifsim bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Model and network.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Timed runs (the seed's num_simulations) [default: 3]
    #[arg(long)]
    pub runs: Option<usize>,
    /// Untimed warm-up runs before the timed ones
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// What each run records: events, dense (as the seed's np.asarray(spike_train)) or counts
    #[arg(long, default_value = "events", value_name = "events|dense|counts")]
    pub record: String,
    /// Also write the results as JSON
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Run the simulations concurrently, one per core (--runs copies, or the --sweep points),
    /// and compare with running them one after another
    #[arg(long)]
    pub parallel: bool,
    /// A parameter sweep, NAME=V1,V2,... with NAME one of i_ext, tau_m, seed; repeat the flag
    /// for a grid. Implies --parallel
    #[arg(long, value_name = "NAME=V1,V2,...")]
    pub sweep: Vec<String>,
    /// With --parallel: simulations at a time [default: all cores]
    #[arg(long)]
    pub jobs: Option<usize>,
}

/// `lifsim gen-weights`.
#[derive(Args, Debug)]
pub struct GenWeightsArgs {
    /// Number of neurons N (W is N x N)
    #[arg(long, short)]
    pub n: usize,
    /// Mean of the normal distribution
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub mean: f64,
    /// Standard deviation of the normal distribution
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub std: f64,
    /// Connection probability (1: all-to-all)
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
    pub p: f64,
    /// Round weights to multiples of this power of two (exact synaptic sums)
    #[arg(long, allow_negative_numbers = true)]
    pub quantum: Option<f64>,
    /// Generator seed
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Element type of the file: float64 or float32
    #[arg(long, default_value = "float64")]
    pub dtype: String,
    /// Output .npy file (Fortran order: lifsim maps it without a copy; numpy.load reads it as usual)
    #[arg(long, short)]
    pub out: PathBuf,
}

/// `lifsim plot`.
#[derive(Args, Debug)]
pub struct PlotArgs {
    /// Spike file: dense .npy, events .npz, .spikes stream or SONATA .h5
    #[arg(value_name = "SPIKES")]
    pub spikes: PathBuf,
    /// Output PNG
    #[arg(long, short, default_value = "raster.png", value_name = "FILE.png")]
    pub out: PathBuf,
    /// Time step of a dense .npy, ms (it does not store one) [default: 0.01]
    #[arg(long, allow_negative_numbers = true)]
    pub dt: Option<f64>,
    /// Title [default: the file name]
    #[arg(long)]
    pub title: Option<String>,
    /// Only spikes from this time on, ms
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub t_start: Option<f64>,
    /// Only spikes before this time, ms
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub t_stop: Option<f64>,
    /// SONATA population to plot, for files with several
    #[arg(long, value_name = "NAME")]
    pub population: Option<String>,
    /// Image width, pixels
    #[arg(long, default_value_t = 1200)]
    pub width: u32,
    /// Image height, pixels
    #[arg(long, default_value_t = 800)]
    pub height: u32,
}

/// `lifsim resume`.
#[derive(Args, Debug)]
pub struct ResumeArgs {
    /// The checkpoint file written by lifsim run --checkpoint
    #[arg(value_name = "CHECKPOINT")]
    pub checkpoint: PathBuf,
    /// Output file [default: the run's own --out]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Threads [default: the run's own]; the result is the same bits with any
    #[arg(long)]
    pub threads: Option<usize>,
    /// Progress bar on stderr: auto, always, never
    #[arg(
        long,
        value_enum,
        default_value = "auto",
        value_name = "auto|always|never"
    )]
    pub progress: crate::progress::ProgressMode,
    /// No progress bar
    #[arg(long, short)]
    pub quiet: bool,
}

/// `lifsim info`.
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Files to describe
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Time step of dense .npy spike arrays, ms (they do not store one) [default: 0.01]
    #[arg(long, allow_negative_numbers = true)]
    pub dt: Option<f64>,
}

/// `lifsim workload`.
#[derive(Args, Debug)]
pub struct WorkloadArgs {
    /// Workload name: seed, seed-active
    pub name: String,
    /// Folder to write weights.npy, v0.npy and params.json into
    #[arg(long, short)]
    pub out: PathBuf,
}

/// The TOML config file: the seed's `lif_hparams` and the generalisations.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    weights: Option<PathBuf>,
    dt: Option<f64>,
    t_max: Option<f64>,
    tau_m: Option<f64>,
    v_reset: Option<f64>,
    v_thresh: Option<f64>,
    r: Option<f64>,
    v_rest: Option<f64>,
    i_ext: Option<toml::Value>,
    v0: Option<String>,
    t_ref: Option<f64>,
    seed: Option<u64>,
    dtype: Option<String>,
    num_simulations: Option<usize>,
}

/// Where the weights come from.
pub enum WeightSource {
    /// An .npy file.
    File(PathBuf),
    /// Generated from a spec (a built-in workload).
    Generated(WeightSpec),
}

/// A fully merged, validated run description.
pub struct Resolved {
    /// The name shown in reports (workload name or weights file).
    pub label: String,
    /// The weights.
    pub weights: WeightSource,
    /// Everything else.
    pub spec: RunSpec,
    /// The float type.
    pub dtype: Dtype,
    /// `num_simulations` from the config, if any.
    pub num_simulations: Option<usize>,
    /// Neurons.
    pub n: usize,
    /// The files the run reads, each with the flag that named it.
    pub inputs: Vec<(&'static str, PathBuf)>,
}

impl Resolved {
    /// The run's files: its inputs, then nothing else (callers add outputs).
    pub fn files(&self) -> lifsim_core::io::output::RunFiles {
        let mut files = lifsim_core::io::output::RunFiles::new();
        for (what, path) in &self.inputs {
            files.input(*what, path);
        }
        files
    }
}

impl ModelArgs {
    /// Merges workload defaults, then the config file, then flags.
    pub fn resolve(&self, record: RecordMode) -> Result<Resolved> {
        let workload: Workload = workloads::by_name(&self.workload)?;
        let (config, config_dir) = match &self.config {
            Some(path) => (
                read_config(path)?,
                path.parent().map(Path::to_path_buf).unwrap_or_default(),
            ),
            None => (ConfigFile::default(), PathBuf::new()),
        };
        let p = &mut LifParams {
            ..workload.params.clone()
        };
        let pick = |flag: Option<f64>, conf: Option<f64>, base: f64| flag.or(conf).unwrap_or(base);
        p.dt = pick(self.dt, config.dt, p.dt);
        p.t_max = pick(self.t_max, config.t_max, p.t_max);
        p.tau_m = pick(self.tau_m, config.tau_m, p.tau_m);
        p.v_reset = pick(self.v_reset, config.v_reset, p.v_reset);
        p.v_thresh = pick(self.v_thresh, config.v_thresh, p.v_thresh);
        p.r = pick(self.r, config.r, p.r);
        p.v_rest = self.v_rest.or(config.v_rest).or(p.v_rest);
        p.t_ref = pick(self.t_ref, config.t_ref, p.t_ref);
        p.validate()?;

        let weights = match (&self.weights, &config.weights) {
            (Some(f), _) => WeightSource::File(f.clone()),
            (None, Some(f)) => WeightSource::File(config_dir.join(f)),
            (None, None) => WeightSource::Generated(workload.weights.clone()),
        };
        let label = match &weights {
            WeightSource::File(f) => f.display().to_string(),
            WeightSource::Generated(_) => workload.name.to_string(),
        };
        let seed = self
            .seed
            .or(config.seed)
            .unwrap_or(workloads::WORKLOAD_SEED);
        let n = match &weights {
            WeightSource::File(f) => DenseWeights::<f64>::peek_n(f)?,
            WeightSource::Generated(w) => w.n,
        };
        let mut inputs: Vec<(&'static str, PathBuf)> = Vec::new();
        if let Some(c) = &self.config {
            inputs.push(("--config", c.clone()));
        }
        if let WeightSource::File(f) = &weights {
            inputs.push(("--weights", f.clone()));
        }
        let mut vector = |flag: &'static str, path: PathBuf, what: &str| {
            let v = load_vector(&path, what, n);
            inputs.push((flag, path));
            v
        };
        let i_ext = match (&self.i_ext, &config.i_ext) {
            (Some(s), _) => match s.parse::<f64>() {
                Ok(x) => ExternalCurrent::Constant(x),
                Err(_) => ExternalCurrent::PerNeuron(vector("--i-ext", PathBuf::from(s), "i_ext")?),
            },
            (None, Some(toml::Value::String(s))) => {
                ExternalCurrent::PerNeuron(vector("--i-ext", config_dir.join(s), "i_ext")?)
            }
            (None, Some(v)) => ExternalCurrent::Constant(
                v.as_float()
                    .or(v.as_integer().map(|i| i as f64))
                    .with_context(|| {
                        format!(
                            "{}: i_ext must be a number or the path of an .npy file",
                            self.config
                                .as_deref()
                                .unwrap_or(Path::new("config"))
                                .display()
                        )
                    })?,
            ),
            (None, None) => workload.i_ext,
        };
        i_ext.validate(n)?;
        let v0 = match self.v0.clone().or(config.v0.clone()).as_deref() {
            None => match workload.v0 {
                InitialVoltage::Uniform { .. } => InitialVoltage::Uniform { seed },
                other => other,
            },
            Some("reset") => InitialVoltage::Reset,
            Some("uniform") => InitialVoltage::Uniform { seed },
            Some(file) => {
                let path = if self.v0.is_some() {
                    PathBuf::from(file)
                } else {
                    config_dir.join(file)
                };
                InitialVoltage::Values(vector("--v0", path, "v0")?)
            }
        };
        let dtype_name = self.dtype.clone().or(config.dtype.clone());
        let dtype = match dtype_name {
            Some(d) => d.parse()?,
            None => Dtype::Float64,
        };
        Ok(Resolved {
            label,
            weights,
            dtype,
            num_simulations: config.num_simulations,
            n,
            inputs,
            spec: RunSpec {
                params: p.clone(),
                i_ext,
                v0,
                record,
                options: lifsim_core::EngineOptions {
                    threads: self.threads,
                    isa: None,
                },
            },
        })
    }
}

fn read_config(path: &Path) -> Result<ConfigFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
        anyhow::anyhow!("{}{at}: {}", path.display(), e.message().trim())
    })
}

/// Checks a string names a record mode / format.
pub fn record_mode(name: &str, flag: &'static str) -> Result<RecordMode> {
    match name.parse::<RecordMode>() {
        Ok(m) => Ok(m),
        Err(_) => bail!("invalid value {name:?} for {flag}"),
    }
}
