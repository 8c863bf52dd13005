//! A network as populations, projections, inputs and recorders: what a network
//! file (`lifsim run net.toml`) describes, checked before anything is built.
//!
//! ```toml
//! dt = 0.1            # ms
//! duration = 1000.0   # ms: round(duration / dt) steps
//! seed = 1
//!
//! [[population]]
//! name = "E"
//! size = 800
//! tau_m = 20.0        # ms
//! v_rest = 0.0        # mV (NEST's E_L)
//! v_reset = 10.0
//! v_thresh = 20.0
//! t_ref = 2.0         # ms
//!
//! [[projection]]
//! source = "E"
//! target = ["E"]
//! rule = "fixed_indegree"
//! indegree = 80
//! weight = 0.1        # mV for delta synapses, nA for exponential ones
//! delay = 1.5         # ms
//! synapse = "delta"
//!
//! [[input]]
//! type = "poisson"
//! target = "E"
//! rate = 20000.0      # Hz, an independent train into every neuron
//! weight = 0.1
//! ```
//!
//! Units: ms, mV, nA, MOhm (so `r * I` is in mV) and Hz. Neurons are numbered
//! by population, in file order.
//!
//! `timing = "seed"` counts steps and spike rows on the seed's time axis
//! ([`Timing`]); `connectivity = "dense"` on a projection (or the network)
//! stores its synapses as one column per source ([`Connectivity::Dense`]).
//! The seed's run is such a network (`crate::network::seed`).

use crate::error::{Error, Result};
use crate::model::Dtype;
use crate::monitor::Monitors;
use crate::network::distribution::Value;
use crate::neuron::Model;
use crate::recording::RecordMode;
use crate::synapses::SynapseKind;
use std::path::PathBuf;

/// A group of neurons with the same parameters (NEST's `Create(model, n, params)`,
/// Brian2's `NeuronGroup`).
#[derive(Clone, Debug, PartialEq)]
pub struct Population {
    /// Its name, used by projections and inputs.
    pub name: String,
    /// Number of neurons.
    pub size: usize,
    /// Membrane time constant (ms).
    pub tau_m: f64,
    /// Resting potential (mV), NEST's `E_L`, Brian2's `El`.
    pub v_rest: f64,
    /// Reset potential after a spike (mV).
    pub v_reset: f64,
    /// Spike threshold (mV): a neuron spikes when `V >= v_thresh`.
    pub v_thresh: f64,
    /// Membrane resistance (MOhm): NEST's `tau_m / C_m` (times 1000 for ms/pF).
    pub r: f64,
    /// Absolute refractory period after a spike (ms), a multiple of `dt`:
    /// the potential is held at `v_reset` for `t_ref / dt` steps.
    pub t_ref: f64,
    /// Constant external current (nA), NEST's `I_e` (in pA there); may be drawn per neuron.
    pub i_ext: Value,
    /// Initial membrane potential (mV); may be drawn per neuron.
    pub v0: Value,
    /// The neuron model ([`crate::neuron`]): `model = "iaf_psc_exp"`, the
    /// default (`integration = "exact"` says the same, `"euler"` means
    /// `lif_euler`).
    pub model: Model,
}

/// How a projection chooses its synapses (NEST's connection rules).
#[derive(Clone, Debug, PartialEq)]
pub enum Rule {
    /// Every source onto every target.
    AllToAll,
    /// Source `i` onto target `i` (equal sizes).
    OneToOne,
    /// Each (source, target) pair independently with probability `p`
    /// (NEST's `pairwise_bernoulli`, which a file may write instead of
    /// `fixed_probability`; Brian2's `connect(p=...)`).
    FixedProbability {
        /// Connection probability.
        p: f64,
    },
    /// Each target receives exactly `indegree` synapses from sources drawn uniformly.
    FixedIndegree {
        /// Synapses per target neuron.
        indegree: usize,
    },
    /// Each source makes exactly `outdegree` synapses onto targets drawn
    /// uniformly (NEST's `fixed_outdegree`).
    FixedOutdegree {
        /// Synapses per source neuron.
        outdegree: usize,
    },
    /// `n` synapses in all, each from a source and onto a target drawn
    /// uniformly, with replacement (NEST's `fixed_total_number`; multapses
    /// always allowed, autapses unless `allow_autapses = false`, whose pairs
    /// are drawn again).
    FixedTotalNumber {
        /// The number of synapses.
        n: u64,
    },
    /// The synapses and weights of a matrix `W[target, source]` in a file: a
    /// dense `.npy` (its non-zero entries) or a scipy.sparse `.npz` (csr, csc or coo).
    File {
        /// The file.
        path: PathBuf,
        /// Every weight in the file is multiplied by this.
        scale: f64,
    },
    /// The weights of a square matrix `W[target, source]` handed to the
    /// simulation in memory ([`crate::NetworkSimulation::with_matrix`]),
    /// read where they are (the seed's `W` from a run's caller or a
    /// `lifsim.Weights`): every pair a synapse, zero weights included, as
    /// dense columns (`connectivity = "dense"`, one target population).
    /// Not written to or read from network files.
    Given,
}

/// Synapses from one set of populations onto another.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// Presynaptic populations (their neurons concatenated in this order).
    pub source: Vec<String>,
    /// Postsynaptic populations (likewise).
    pub target: Vec<String>,
    /// The connection rule.
    pub rule: Rule,
    /// Whether a neuron may connect to itself.
    pub allow_autapses: bool,
    /// Whether a pair may be connected more than once (fixed_indegree,
    /// fixed_outdegree).
    pub allow_multapses: bool,
    /// Synaptic weight: mV (delta) or nA (exponential).
    pub weight: Value,
    /// Synaptic delay (ms), rounded to whole steps as NEST does.
    pub delay: Value,
    /// What a spike does to its target.
    pub synapse: SynapseKind,
    /// How a run stores the synapses (sparse rows, dense columns) or
    /// whether it draws a source's again each time it fires.
    pub connectivity: Connectivity,
}

/// How a run keeps a projection's synapses (`connectivity = "stored"`,
/// `"dense"` or `"procedural"`, on a projection or for the whole network).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Connectivity {
    /// Built once, onto each partition's neurons, and kept.
    #[default]
    Stored,
    /// Built once, onto each partition's neurons, as one column of weights
    /// per source (zero where there is no synapse), all with one delay: a
    /// spike costs one contiguous vector add, the seed's `W @ fired`. For
    /// dense matrices (the seed's `W`), where rows of targets would cost
    /// more than the weights.
    Dense,
    /// Not stored: a firing source's synapses are drawn again from its
    /// stream (GeNN's procedural connectivity); the same synapses, and the
    /// same spikes, as stored, for rules drawn by source
    /// ([`crate::network::source_keyed`]).
    Procedural,
}

impl Connectivity {
    /// As written in a network file.
    pub fn name(self) -> &'static str {
        match self {
            Connectivity::Stored => "stored",
            Connectivity::Dense => "dense",
            Connectivity::Procedural => "procedural",
        }
    }
}

impl std::str::FromStr for Connectivity {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "stored" => Ok(Connectivity::Stored),
            "dense" => Ok(Connectivity::Dense),
            "procedural" => Ok(Connectivity::Procedural),
            _ => Err(Error::param(
                "connectivity",
                format!("must be \"stored\", \"dense\" or \"procedural\", got {s:?}"),
            )),
        }
    }
}

/// The time axis a run counts its steps and spike rows on. The step itself
/// is one (`crate::engine::network`, "The step, written down once"): step
/// `k` delivers the spikes at `t_k` and finds those at `t_{k+1}`. The two
/// axes differ only in where the rows start and what is held:
///
/// - `Network` (network files, NEST's): the initial state is no spike; the
///   spikes step `k` finds are row `k`; `round(duration / dt)` steps; a
///   neuron is held at `v_reset` for `t_ref / dt` steps after its spike.
/// - `Seed` (the seed's run: `fired = V >= v_thresh` at the start of each
///   step): a neuron at or above `v_thresh` at `t_0` is a spike at `t_0`,
///   row 0; the spikes step `k` finds are row `k + 1` (each row holds the
///   spikes its step delivers); `ceil(duration / dt) - 1` steps
///   (`len(arange(0, t_max, dt)) - 1`); the step that delivers a spike
///   holds its neuron at `v_reset` too, so `t_ref = 0` is a one-step hold.
///
/// Written `timing = "seed"` in a network file (default `"network"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Timing {
    /// Network files' axis.
    #[default]
    Network,
    /// The seed's axis.
    Seed,
}

impl Timing {
    /// As written in a network file.
    pub fn name(self) -> &'static str {
        match self {
            Timing::Network => "network",
            Timing::Seed => "seed",
        }
    }
}

impl std::str::FromStr for Timing {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "network" => Ok(Timing::Network),
            "seed" => Ok(Timing::Seed),
            _ => Err(Error::param(
                "timing",
                format!("must be \"network\" or \"seed\", got {s:?}"),
            )),
        }
    }
}

impl Projection {
    /// `"E -> E, I"`, for messages.
    pub fn label(&self) -> String {
        format!("{} -> {}", self.source.join(", "), self.target.join(", "))
    }
}

/// What drives neurons from outside the network.
#[derive(Clone, Debug, PartialEq)]
pub enum InputKind {
    /// An independent Poisson spike train into every target neuron (NEST's
    /// `poisson_generator`, Brian2's `PoissonInput`).
    Poisson {
        /// Rate of each neuron's train (Hz).
        rate_hz: f64,
    },
    /// Spikes at given times into every target neuron (NEST's `spike_generator`,
    /// Brian2's `SpikeGeneratorGroup`); times are rounded to the step grid.
    SpikeTimes {
        /// Spike times (ms).
        times: Vec<f64>,
        /// Transmission delay (ms), at least one step for delta synapses.
        delay: f64,
    },
    /// A constant current added to the targets' `i_ext` (nA), NEST's `dc_generator`
    /// applied from the start.
    Current {
        /// Amplitude (nA).
        amplitude: f64,
    },
}

/// An input onto some neurons.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    /// What it is.
    pub kind: InputKind,
    /// Target populations (concatenated in this order).
    pub target: Vec<String>,
    /// Indices into the concatenated targets; `None`: all of them.
    pub neurons: Option<Vec<usize>>,
    /// Weight of each spike: mV (delta) or nA (exponential); unused by `Current`.
    pub weight: f64,
    /// What each spike does.
    pub synapse: SynapseKind,
}

/// A whole network and its run: populations, projections, inputs, recording.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkDescription {
    /// A name for reports (`brunel`, `cuba`).
    pub name: String,
    /// Time step (ms).
    pub dt: f64,
    /// Simulated time (ms); the run has `round(duration / dt)` steps
    /// (`ceil(duration / dt) - 1` on the seed's time axis, [`Timing`]).
    pub duration: f64,
    /// Which time axis the run's steps and spike rows are counted on.
    pub timing: Timing,
    /// Seed of every random number drawn (connectivity, weights, inputs, v0).
    pub seed: u64,
    /// Float type of the simulation.
    pub dtype: Dtype,
    /// The populations, in neuron order.
    pub populations: Vec<Population>,
    /// The projections.
    pub projections: Vec<Projection>,
    /// The inputs.
    pub inputs: Vec<Input>,
    /// What to record of the spikes.
    pub record: RecordMode,
    /// State and rate monitors (`[record]`'s `state` and `rate`).
    pub monitors: Monitors,
    /// Folder that relative file names are relative to.
    pub base_dir: PathBuf,
}

impl NetworkDescription {
    /// Number of steps: `round(duration / dt)`, or on the seed's time axis
    /// `ceil(duration / dt) - 1` ([`Timing`]).
    pub fn steps(&self) -> usize {
        match self.timing {
            Timing::Network => (self.duration / self.dt).round() as usize,
            Timing::Seed => crate::params::seed_steps(self.duration, self.dt),
        }
    }

    /// The steps a neuron of `p` is held at `v_reset` after its spike: its
    /// `t_ref` in steps, and on the seed's time axis one more, the step
    /// that delivers the spike ([`Timing::Seed`]).
    pub fn hold_steps(&self, p: &Population) -> u32 {
        p.refractory_steps(self.dt) + u32::from(self.timing == Timing::Seed)
    }

    /// Total number of neurons.
    pub fn n(&self) -> usize {
        self.populations.iter().map(|p| p.size).sum()
    }

    /// Each population's name and id range, in id order (what spike files record).
    pub fn population_ranges(&self) -> Vec<crate::io::stream::PopulationRange> {
        let mut start = 0u64;
        self.populations
            .iter()
            .map(|p| {
                let range = crate::io::stream::PopulationRange {
                    name: p.name.clone(),
                    start,
                    stop: start + p.size as u64,
                };
                start = range.stop;
                range
            })
            .collect()
    }

    /// The global neuron ids of the named populations, concatenated, as ranges.
    pub fn ranges(&self, names: &[String]) -> Result<Vec<std::ops::Range<usize>>> {
        names
            .iter()
            .map(|name| {
                let mut start = 0;
                for p in &self.populations {
                    if &p.name == name {
                        return Ok(start..start + p.size);
                    }
                    start += p.size;
                }
                let known: Vec<&str> = self.populations.iter().map(|p| p.name.as_str()).collect();
                Err(Error::param(
                    "population",
                    format!(
                        "no population named {name:?} (there are: {})",
                        known.join(", ")
                    ),
                ))
            })
            .collect()
    }

    /// Makes every projection's synapses `c` (`lifsim run --connectivity`),
    /// refusing a procedural projection whose rule cannot be drawn by
    /// source.
    pub fn set_connectivity(&mut self, c: Connectivity) -> Result<()> {
        for p in &mut self.projections {
            p.connectivity = c;
        }
        self.check_connectivity()
    }

    /// The error naming the first projection asked to be procedural whose
    /// rule cannot be drawn by source (`fixed_indegree`, a file), or dense
    /// with delays that differ.
    pub fn check_connectivity(&self) -> Result<()> {
        for (k, p) in self.projections.iter().enumerate() {
            match p.connectivity {
                Connectivity::Procedural => crate::network::source_keyed::check_rule(k, p)?,
                Connectivity::Dense if p.delay.constant().is_none() => {
                    return Err(Error::param(
                        "connectivity",
                        format!(
                            "projection {} ({}): dense connectivity stores one delay for all its synapses; give a constant delay or use connectivity = \"stored\"",
                            k + 1,
                            p.label()
                        ),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A delay in ms as whole steps (rounded to the grid, as NEST does).
    pub fn delay_steps(&self, ms: f64) -> i64 {
        (ms / self.dt).round() as i64
    }
}

impl Population {
    /// A population of 1 neuron with the default parameters and `model`.
    pub fn example(model: Model) -> Self {
        Population {
            name: "example".into(),
            size: 1,
            tau_m: 20.0,
            v_rest: -65.0,
            v_reset: -65.0,
            v_thresh: -50.0,
            r: 1.0,
            t_ref: 0.0,
            i_ext: Value::Constant(0.0),
            v0: Value::Constant(-65.0),
            model,
        }
    }

    /// The refractory period in steps of `dt` (checked to be whole when loaded).
    pub fn refractory_steps(&self, dt: f64) -> u32 {
        (self.t_ref / dt).round() as u32
    }
}
