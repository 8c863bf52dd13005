//! Command-line flags (stage one: what the user typed) and their merge with a
//! TOML config file and a workload into one validated run description (stage two).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use lifsim_core::io::load_vector;
use lifsim_core::io::spikes::OutputFormat;
use lifsim_core::params::{self, Front};
use lifsim_core::workloads::{self, Workload};
use lifsim_core::{
    DenseWeights, Dtype, ExternalCurrent, InitialVoltage, LifParams, RecordMode, RunSpec,
    WeightSpec,
};
use serde::{Deserialize, Serialize};

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

/// The model flags shared by `run` and `bench`, named after the seed's
/// parameters. Each is a parameter of the table in `lifsim_core::params`,
/// whose help line (unit and default) `lifsim run --help` shows; the tests
/// below check that every flag of the table is here, and only those.
#[derive(Args, Debug, Default)]
pub struct ModelArgs {
    /// The weight matrix file (`weights`).
    #[arg(long, help = params::WEIGHTS.cli_help(), value_name = params::WEIGHTS.value_name)]
    pub weights: Option<PathBuf>,
    /// The built-in workload (`workload`).
    #[arg(
        long,
        help = params::WORKLOAD.cli_help(),
        value_name = params::WORKLOAD.value_name,
        default_value = params::WORKLOAD.default.word(),
        hide_default_value = true
    )]
    pub workload: String,
    /// TOML file with any of the parameters below (flags take precedence)
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// The time step (`dt`).
    #[arg(long, allow_negative_numbers = true, help = params::DT.cli_help())]
    pub dt: Option<f64>,
    /// The simulated time (`t_max`).
    #[arg(long, allow_negative_numbers = true, help = params::T_MAX.cli_help())]
    pub t_max: Option<f64>,
    /// The membrane time constant (`tau_m`).
    #[arg(long, allow_negative_numbers = true, help = params::TAU_M.cli_help())]
    pub tau_m: Option<f64>,
    /// The reset potential (`v_reset`).
    #[arg(long, allow_negative_numbers = true, help = params::V_RESET.cli_help())]
    pub v_reset: Option<f64>,
    /// The spike threshold (`v_thresh`).
    #[arg(long, allow_negative_numbers = true, help = params::V_THRESH.cli_help())]
    pub v_thresh: Option<f64>,
    /// The membrane resistance (`r`).
    #[arg(long, allow_negative_numbers = true, help = params::R.cli_help())]
    pub r: Option<f64>,
    /// The resting potential (`v_rest`).
    #[arg(long, allow_negative_numbers = true, help = params::V_REST.cli_help())]
    pub v_rest: Option<f64>,
    /// The external current, a number or an .npy file (`i_ext`).
    #[arg(
        long,
        allow_negative_numbers = true,
        help = params::I_EXT.cli_help(),
        value_name = params::I_EXT.value_name
    )]
    pub i_ext: Option<String>,
    /// The initial voltages (`v0`).
    #[arg(long, help = params::V0.cli_help(), value_name = params::V0.value_name)]
    pub v0: Option<String>,
    /// The refractory period (`t_ref`).
    #[arg(long, allow_negative_numbers = true, help = params::T_REF.cli_help())]
    pub t_ref: Option<f64>,
    /// The seed (`seed`).
    #[arg(long, help = params::SEED.cli_help())]
    pub seed: Option<u64>,
    /// The floating-point type (`dtype`).
    #[arg(long, help = params::DTYPE.cli_help(), value_name = params::DTYPE.value_name)]
    pub dtype: Option<String>,
    /// Threads for one simulation (`threads`).
    #[arg(long, help = params::THREADS.cli_help())]
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
    #[arg(long, value_name = OutputFormat::CHOICES)]
    pub format: Option<String>,
    /// Output file [default: spikes.npy for dense, spikes.npz for events, counts.npy for counts]
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write a JSON summary (setup and simulation times, rates, peak memory); network files only
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Network files: keep every projection's synapses (stored), or store none and draw a
    /// firing neuron's synapses again each time (procedural: rules fixed_outdegree,
    /// fixed_total_number, pairwise_bernoulli, all_to_all, one_to_one; the same spikes)
    /// [default: the file's connectivity, else stored]
    #[arg(long, value_name = "stored|procedural")]
    pub connectivity: Option<String>,
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
    #[arg(long, help = format!("Timed runs (the seed's num_simulations) [default: {}]", params::NUM_SIMULATIONS.default))]
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

/// The TOML config file: the seed's `lif_hparams` and the generalisations,
/// one key per parameter of the table marked `Front::Config` (a test checks).
#[derive(Deserialize, Serialize, Debug, Default)]
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
    /// The parameters given as flags, by their names in the parameter table,
    /// in its order (`--workload` counts when it names another workload).
    pub fn given(&self) -> Vec<&'static str> {
        let set = [
            ("weights", self.weights.is_some()),
            ("workload", self.workload != params::WORKLOAD.default.word()),
            ("dt", self.dt.is_some()),
            ("t_max", self.t_max.is_some()),
            ("tau_m", self.tau_m.is_some()),
            ("v_reset", self.v_reset.is_some()),
            ("v_thresh", self.v_thresh.is_some()),
            ("r", self.r.is_some()),
            ("v_rest", self.v_rest.is_some()),
            ("i_ext", self.i_ext.is_some()),
            ("v0", self.v0.is_some()),
            ("t_ref", self.t_ref.is_some()),
            ("seed", self.seed.is_some()),
            ("dtype", self.dtype.is_some()),
            ("threads", self.threads.is_some()),
        ];
        set.into_iter()
            .filter(|(_, given)| *given)
            .map(|(name, _)| name)
            .collect()
    }

    /// Refuses the seed model's flags with a network file, which sets its
    /// parameters itself: `--config` and every flag of the parameter table
    /// not marked `Front::NetworkFlag`.
    pub fn check_for_network_file(&self) -> Result<()> {
        let refused = self
            .given()
            .into_iter()
            .filter_map(params::spec)
            .find(|s| !s.takes(Front::NetworkFlag));
        let flag = match (&self.config, refused) {
            (Some(_), _) => "--config".to_string(),
            (None, Some(spec)) => spec.flag(),
            (None, None) => return Ok(()),
        };
        let apply: Vec<String> = params::PARAMETERS
            .iter()
            .filter(|s| s.takes(Front::NetworkFlag))
            .map(|s| s.flag())
            .collect();
        let apply = match apply.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => apply.join(""),
        };
        bail!("{flag} is a flag of the seed model; a network file sets its parameters itself (only {apply} apply)");
    }

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
            .unwrap_or(params::SEED.default.count());
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
        let dtype: Dtype = dtype_name
            .as_deref()
            .unwrap_or(params::DTYPE.default.word())
            .parse()?;
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

/// Checks a string names a record mode (`bench --record`); the error lists them.
pub fn record_mode(name: &str, flag: &'static str) -> Result<RecordMode> {
    match name.parse::<RecordMode>() {
        Ok(m) => Ok(m),
        Err(_) => {
            let modes = [RecordMode::Dense, RecordMode::Events, RecordMode::Counts];
            let formats = modes.map(OutputFormat::of_record);
            bail!(
                "invalid value {name:?} for {flag}: choose {}",
                OutputFormat::list(&formats)
            )
        }
    }
}

/// The `--format` called `name` among `allowed` (the seed's run writes
/// spike trains only); the error lists them.
pub fn output_format(name: &str, allowed: &[OutputFormat]) -> Result<OutputFormat> {
    match name.parse::<OutputFormat>() {
        Ok(f) if allowed.contains(&f) => Ok(f),
        _ => bail!(
            "invalid value {name:?} for --format: choose {}",
            OutputFormat::list(allowed)
        ),
    }
}

#[cfg(test)]
mod tests {
    //! The CLI against the parameter table (`lifsim_core::params`): its flags,
    //! their help and defaults, the config file's keys, the flags refused with
    //! network files, and every parameter reaching the run from a flag and
    //! from a config file.

    use super::*;
    use clap::CommandFactory;
    use lifsim_core::params::{Kind, ParamSpec, PARAMETERS};

    fn takes(front: Front) -> Vec<&'static str> {
        PARAMETERS
            .iter()
            .filter(|s| s.takes(front))
            .map(|s| s.name)
            .collect()
    }

    fn parse(args: &[&str]) -> ModelArgs {
        let argv = ["lifsim", "run"].iter().chain(args);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Run(r) => r.model,
            _ => unreachable!(),
        }
    }

    /// A valid value of each flag of the table, for the parser.
    fn sample(spec: &ParamSpec) -> &'static str {
        match spec.name {
            "weights" => "w.npy",
            "workload" => "seed-active",
            "v0" => "uniform",
            "dtype" => "float32",
            _ => "1",
        }
    }

    /// `run` and `bench` have one flag per parameter of the table marked
    /// `Front::Flag` (and `--config`), with the table's help line, default
    /// and placeholder.
    #[test]
    fn the_model_flags_are_the_tables() {
        let model = ModelArgs::augment_args(clap::Command::new("model"));
        let mut ids: Vec<&str> = model.get_arguments().map(|a| a.get_id().as_str()).collect();
        ids.retain(|id| *id != "config");
        assert_eq!(ids, takes(Front::Flag));
        let cli = Cli::command();
        for command in ["run", "bench"] {
            let command = cli.find_subcommand(command).unwrap();
            for spec in PARAMETERS.iter().filter(|s| s.takes(Front::Flag)) {
                let arg = command
                    .get_arguments()
                    .find(|a| a.get_id() == spec.name)
                    .unwrap_or_else(|| panic!("no flag {}", spec.flag()));
                assert_eq!(format!("--{}", arg.get_long().unwrap()), spec.flag());
                assert_eq!(
                    arg.get_help().unwrap().to_string(),
                    spec.cli_help(),
                    "{}",
                    spec.name
                );
                assert!(arg.get_long_help().is_none(), "{}", spec.name);
                let value_name = arg.get_value_names().map(|v| v[0].to_string());
                match spec.value_name {
                    Some(v) => assert_eq!(value_name.as_deref(), Some(v), "{}", spec.name),
                    // clap's own: the name in capitals (`--t-max <T_MAX>`).
                    None => assert_eq!(value_name, Some(spec.name.to_uppercase()), "{}", spec.name),
                }
                // No clap default: a flag left out falls back to the config
                // file, then the workload, then the table (shown in the help).
                let defaults: Vec<String> = arg
                    .get_default_values()
                    .iter()
                    .map(|d| d.to_string_lossy().into_owned())
                    .collect();
                match spec.default {
                    params::DefaultValue::Word(w) if spec.name == "workload" => {
                        assert_eq!(defaults, [w])
                    }
                    _ => assert!(defaults.is_empty(), "{}", spec.name),
                }
            }
        }
        let bench = cli.find_subcommand("bench").unwrap();
        let runs = bench
            .get_arguments()
            .find(|a| a.get_id() == "runs")
            .unwrap();
        assert!(runs
            .get_help()
            .unwrap()
            .to_string()
            .ends_with(&format!("[default: {}]", params::NUM_SIMULATIONS.default)));
        let run = cli.find_subcommand("run").unwrap();
        let format = run
            .get_arguments()
            .find(|a| a.get_id() == "format")
            .unwrap();
        assert_eq!(format.get_value_names().unwrap()[0], OutputFormat::CHOICES);
    }

    /// A config file's keys are the parameters marked `Front::Config`, and
    /// the README lists them.
    #[test]
    fn config_keys_are_the_tables() {
        let json = serde_json::to_value(ConfigFile::default()).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = takes(Front::Config);
        keys.sort_unstable();
        want.sort_unstable();
        assert_eq!(keys, want);
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
                .unwrap();
        let start = readme
            .find("A config file takes the same names as the flags (")
            .expect("the README's config paragraph");
        let list = &readme[start..][..readme[start..].find(')').unwrap()];
        let mut listed: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
        listed.sort_unstable();
        assert_eq!(listed, want, "README.md's config-file paragraph");
    }

    /// Every flag of the table is seen as given, and refused with a network
    /// file unless it is marked `Front::NetworkFlag`.
    #[test]
    fn flags_given_are_named_and_refused_with_network_files() {
        assert_eq!(parse(&[]).given(), Vec::<&str>::new());
        assert!(parse(&[]).check_for_network_file().is_ok());
        for spec in PARAMETERS.iter().filter(|s| s.takes(Front::Flag)) {
            let flag = spec.flag();
            let m = parse(&[&flag, sample(spec)]);
            assert_eq!(m.given(), [spec.name]);
            match m.check_for_network_file() {
                Ok(()) => assert!(spec.takes(Front::NetworkFlag), "{flag} is not refused"),
                Err(e) => {
                    assert!(!spec.takes(Front::NetworkFlag), "{flag}: {e}");
                    assert_eq!(e.to_string(), format!("{flag} is a flag of the seed model; a network file sets its parameters itself (only --seed, --dtype and --threads apply)"));
                }
            }
        }
        let e = parse(&["--config", "c.toml"])
            .check_for_network_file()
            .unwrap_err();
        assert!(e
            .to_string()
            .starts_with("--config is a flag of the seed model"));
    }

    /// With nothing given, the run takes the table's defaults.
    #[test]
    fn defaults_are_the_tables() {
        let r = parse(&[]).resolve(RecordMode::Counts).unwrap();
        for spec in PARAMETERS.iter().filter(|s| s.kind == Kind::Number) {
            let got = r.spec.params.get(spec.name).unwrap();
            let want = match spec.default {
                params::DefaultValue::Number(x) => x,
                _ => r.spec.params.v_reset,
            };
            assert_eq!(got, want, "{}", spec.name);
        }
        assert_eq!(r.spec.params, LifParams::default());
        assert_eq!(r.dtype.name(), params::DTYPE.default.word());
        assert_eq!(
            r.spec.i_ext,
            ExternalCurrent::Constant(params::I_EXT.default.number())
        );
        assert_eq!(r.spec.v0, InitialVoltage::Reset);
        assert_eq!(r.spec.options.threads, None);
        assert_eq!(r.label, params::WORKLOAD.default.word());
        let uniform = parse(&["--v0", "uniform"])
            .resolve(RecordMode::Counts)
            .unwrap();
        assert_eq!(
            uniform.spec.v0,
            InitialVoltage::Uniform {
                seed: params::SEED.default.count()
            }
        );
    }

    /// Every parameter of the table reaches the run from its flag and from a
    /// config file, wherever the table says it can be given.
    #[test]
    fn every_parameter_reaches_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let w = dir.path().join("w.npy");
        lifsim_core::io::save_npy(&w, &[0.0f64; 9], &[3, 3], true).unwrap();
        let w = w.to_str().unwrap().to_string();
        type Expect = fn(&Resolved) -> bool;
        // (name, value on the command line, value in TOML, other flags, what the run gets)
        let cases: Vec<(&str, &str, String, &[&str], Expect)> = vec![
            ("weights", &w, format!("{w:?}"), &[], |r| {
                matches!(&r.weights, WeightSource::File(f) if f.ends_with("w.npy")) && r.n == 3
            }),
            ("workload", "seed-active", String::new(), &[], |r| {
                r.label == "seed-active"
            }),
            ("dt", "0.02", "0.02".into(), &[], |r| {
                r.spec.params.dt == 0.02
            }),
            ("t_max", "50", "50.0".into(), &[], |r| {
                r.spec.params.t_max == 50.0
            }),
            ("tau_m", "10", "10.0".into(), &[], |r| {
                r.spec.params.tau_m == 10.0
            }),
            ("v_reset", "-70", "-70.0".into(), &[], |r| {
                r.spec.params.v_reset == -70.0
            }),
            ("v_thresh", "-40", "-40.0".into(), &[], |r| {
                r.spec.params.v_thresh == -40.0
            }),
            ("r", "2", "2.0".into(), &[], |r| r.spec.params.r == 2.0),
            ("v_rest", "-60", "-60.0".into(), &[], |r| {
                r.spec.params.v_rest == Some(-60.0)
            }),
            ("i_ext", "5", "5.0".into(), &[], |r| {
                r.spec.i_ext == ExternalCurrent::Constant(5.0)
            }),
            ("v0", "uniform", "\"uniform\"".into(), &[], |r| {
                r.spec.v0 == InitialVoltage::Uniform { seed: 1 }
            }),
            ("t_ref", "0.5", "0.5".into(), &[], |r| {
                r.spec.params.t_ref == 0.5
            }),
            ("seed", "7", "7".into(), &["--v0", "uniform"], |r| {
                r.spec.v0 == InitialVoltage::Uniform { seed: 7 }
            }),
            ("dtype", "float32", "\"float32\"".into(), &[], |r| {
                r.dtype == Dtype::Float32
            }),
            ("threads", "2", String::new(), &[], |r| {
                r.spec.options.threads == Some(2)
            }),
            ("num_simulations", "", "5".into(), &[], |r| {
                r.num_simulations == Some(5)
            }),
        ];
        let mut names: Vec<&str> = cases.iter().map(|c| c.0).collect();
        let mut want: Vec<&str> = PARAMETERS
            .iter()
            .filter(|s| s.takes(Front::Flag) || s.takes(Front::Config))
            .map(|s| s.name)
            .collect();
        names.sort_unstable();
        want.sort_unstable();
        assert_eq!(names, want, "every parameter of the CLI needs a case here");
        for (name, flag_value, toml_value, extra, expect) in cases {
            let spec = params::spec(name).unwrap();
            if spec.takes(Front::Flag) {
                let flag = spec.flag();
                let mut args = vec![flag.as_str(), flag_value];
                args.extend_from_slice(extra);
                let r = parse(&args).resolve(RecordMode::Counts).unwrap();
                assert!(expect(&r), "{flag} {flag_value}");
                let base = parse(extra).resolve(RecordMode::Counts).unwrap();
                assert!(!expect(&base), "{name}: the case's value is the default");
            }
            if spec.takes(Front::Config) {
                let conf = dir.path().join(format!("{name}.toml"));
                std::fs::write(&conf, format!("{name} = {toml_value}\n")).unwrap();
                let mut args = vec!["--config", conf.to_str().unwrap()];
                args.extend_from_slice(extra);
                let r = parse(&args).resolve(RecordMode::Counts).unwrap();
                assert!(expect(&r), "config {name} = {toml_value}");
            }
        }
    }
}
