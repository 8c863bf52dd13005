//! Command-line flags (stage one: what the user typed) and their merge with a
//! TOML config file and a workload into one validated run description (stage two).

mod format;
mod resolve;
#[cfg(test)]
mod tests;

pub use format::choose_format;
pub use resolve::{output_format, record_mode, Resolved, WeightSource};

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use lifsim_core::engine::exchange::Scheme;
use lifsim_core::io::spikes::OutputFormat;
use lifsim_core::network::{Overrides, Setting};
use lifsim_core::params;

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
    /// Describe files lifsim reads or writes (.npy, .npz, .spikes, .h5), or a network
    /// file (.toml) before running it: sizes, synapses, memory.
    Info(InfoArgs),
    /// Go on with a run from its last checkpoint (lifsim run --checkpoint).
    Resume(ResumeArgs),
}

/// The model flags shared by `run` and `bench`, named after the seed's
/// parameters. Each is a parameter of the table in `lifsim_core::params`,
/// whose help line (unit and default) `lifsim run --help` shows; the tests
/// (`tests.rs`) check that every flag of the table is here, and only those.
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
    #[arg(
        long,
        allow_negative_numbers = true,
        help = params::V0.cli_help(),
        value_name = params::V0.value_name
    )]
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
    /// Network files: keep every projection's synapses as sparse rows (stored) or as
    /// dense columns, one per source (dense: one delay per projection; the seed's W),
    /// or store none and draw a firing neuron's synapses again each time (procedural:
    /// rules fixed_outdegree, fixed_total_number, pairwise_bernoulli, all_to_all,
    /// one_to_one; the same spikes) [default: the file's connectivity, else stored]
    #[arg(long, value_name = "stored|dense|procedural")]
    pub connectivity: Option<String>,
    /// Network files: write the state monitors' samples to disk as the run goes
    /// (memory holds one block of at most 64 MiB) rather than keep them to the end
    /// (as `[record]`'s state_to = "disk")
    #[arg(long)]
    pub stream_state: bool,
    /// Over MPI ranks: how the ranks exchange spikes once per minimum delay:
    /// allgather (every rank receives every spike, MPI_Allgatherv) or alltoall
    /// (each rank receives only the spikes of neurons with synapses onto its
    /// own, MPI_Alltoallv); the same spikes either way [default: allgather]
    #[arg(long, value_name = Scheme::CHOICES, value_parser = parse_scheme)]
    pub exchange: Option<Scheme>,
    /// Over MPI ranks: exchange an interval's spikes between the steps only
    /// (NEST's scheme), not while the next interval's steps run (Arbor's: the
    /// interval becomes half the minimum delay, where that is 2 steps or
    /// more); the same spikes either way
    #[arg(long)]
    pub no_overlap: bool,
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
    /// No progress bar and no summary on stdout (errors still go to stderr)
    #[arg(long, short)]
    pub quiet: bool,
    /// A network file's simulated time instead of its `duration`, ms
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub duration: Option<f64>,
    /// A network file's population or projection parameter instead of the file's:
    /// POP.PARAM=VALUE or projection.K.PARAM=VALUE (K from 1, as lifsim info numbers them),
    /// the value as the file writes it (E.i_ext=0.5, E.size=400, 'E.v0={ distribution =
    /// "uniform", low = -65, high = -50 }', projection.2.weight=-9, projection.1.p=0.05);
    /// repeat the flag for several
    #[arg(long = "set", value_name = "POP.PARAM=VALUE", value_parser = parse_setting)]
    pub set: Vec<Setting>,
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

impl RunArgs {
    /// What the flags change in a network file: `--dt`, `--duration`, `--set`.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            dt: self.model.dt,
            duration: self.duration,
            set: self.set.clone(),
        }
    }
}

/// `--exchange`'s parser.
fn parse_scheme(s: &str) -> Result<Scheme, String> {
    s.parse::<Scheme>().map_err(|e| match e {
        lifsim_core::Error::Parameter { message, .. } => message,
        other => other.to_string(),
    })
}

/// `--set`'s parser: a usage error for a value that is not `POP.PARAM=VALUE`.
fn parse_setting(s: &str) -> Result<Setting, String> {
    s.parse::<Setting>().map_err(|e| match e {
        lifsim_core::Error::Parameter { message, .. } => message,
        other => other.to_string(),
    })
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
    /// Output PNG [default: raster.png, which is never replaced unless named with --out]
    #[arg(long, short, value_name = "FILE.png")]
    pub out: Option<PathBuf>,
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
    /// Draw only the first K neurons of each population (NEST's Brunel example plots 50)
    #[arg(long, value_name = "K")]
    pub per_population: Option<u64>,
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
    /// No progress bar and no summary on stdout (errors still go to stderr)
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
    /// Network files only: one line of JSON per file instead of the text
    #[arg(long)]
    pub json: bool,
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
