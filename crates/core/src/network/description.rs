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

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::model::{Dtype, MAX_TIME_MS};
use crate::network::distribution::Value;
use crate::neuron::Model;
use crate::recording::RecordMode;
use crate::synapses::SynapseKind;

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
    /// (NEST's `pairwise_bernoulli`, Brian2's `connect(p=...)`).
    FixedProbability {
        /// Connection probability.
        p: f64,
    },
    /// Each target receives exactly `indegree` synapses from sources drawn uniformly.
    FixedIndegree {
        /// Synapses per target neuron.
        indegree: usize,
    },
    /// The synapses and weights of a matrix `W[target, source]` in a file: a
    /// dense `.npy` (its non-zero entries) or a scipy.sparse `.npz` (csr, csc or coo).
    File {
        /// The file.
        path: PathBuf,
        /// Every weight in the file is multiplied by this.
        scale: f64,
    },
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
    /// Whether a pair may be connected more than once (fixed_indegree).
    pub allow_multapses: bool,
    /// Synaptic weight: mV (delta) or nA (exponential).
    pub weight: Value,
    /// Synaptic delay (ms), rounded to whole steps as NEST does.
    pub delay: Value,
    /// What a spike does to its target.
    pub synapse: SynapseKind,
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
    /// Simulated time (ms); the run has `round(duration / dt)` steps.
    pub duration: f64,
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
    /// Folder that relative file names are relative to.
    pub base_dir: PathBuf,
}

// ---------------------------------------------------------------------------
// The file format.

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Option<String>,
    dt: Option<f64>,
    duration: f64,
    seed: Option<u64>,
    dtype: Option<String>,
    #[serde(rename = "population", default)]
    populations: Vec<RawPopulation>,
    #[serde(rename = "projection", default)]
    projections: Vec<RawProjection>,
    #[serde(rename = "input", default)]
    inputs: Vec<RawInput>,
    record: Option<RawRecord>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPopulation {
    name: String,
    size: usize,
    tau_m: Option<f64>,
    v_rest: Option<f64>,
    v_reset: Option<f64>,
    v_thresh: Option<f64>,
    r: Option<f64>,
    t_ref: Option<f64>,
    i_ext: RawValueField,
    v0: RawValueField,
    model: Option<String>,
    integration: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProjection {
    source: OneOrMany,
    target: OneOrMany,
    rule: String,
    p: Option<f64>,
    indegree: Option<usize>,
    file: Option<PathBuf>,
    weight_scale: Option<f64>,
    allow_autapses: Option<bool>,
    allow_multapses: Option<bool>,
    weight: RawValueField,
    delay: RawValueField,
    synapse: Option<String>,
    tau_syn: Option<f64>,
    e_rev: Option<f64>,
}

/// A number-or-distribution field as written, with its place in the file: it
/// is turned into a [`Value`] where the error can name the table, the field
/// and the line (serde alone would say only "data did not match").
type RawValueField = Option<Spanned<toml::Value>>;

/// The [`Value`] of field `name` of `place`, if given; errors name both and the line.
fn value_field(
    field: RawValueField,
    name: &'static str,
    place: &str,
    text: &str,
) -> Result<Option<Value>> {
    let Some(field) = field else {
        return Ok(None);
    };
    let line = line_of(text, field.span().start);
    match field.into_inner().try_into::<Value>() {
        Ok(v) => Ok(Some(v)),
        Err(e) => bad(name, &format!("{place}, line {line}"), e.message().trim()),
    }
}

/// The 1-based line of byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// Refuses a population name that could not be told apart or written out:
/// empty, with a '/' (a SONATA group path), control characters, or space at
/// either end.
fn check_name(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        "must not be empty"
    } else if name.contains('/') {
        "must not contain '/'"
    } else if name.chars().any(char::is_control) {
        "must not contain control characters"
    } else if name.trim() != name {
        "must not begin or end with a space"
    } else {
        return Ok(());
    };
    bad("name", &format!("population {name:?}"), why)
}

/// Refuses a list of population names that names one twice (its neurons
/// would be targeted twice over, silently).
fn check_distinct(names: &[String], what: &str, place: &str) -> Result<()> {
    for (k, name) in names.iter().enumerate() {
        if names[..k].contains(name) {
            return bad(
                "population",
                place,
                format!("{what} names population {name:?} twice"),
            );
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    #[serde(rename = "type")]
    kind: String,
    target: OneOrMany,
    neurons: Option<Vec<usize>>,
    rate: Option<f64>,
    times: Option<Vec<f64>>,
    amplitude: Option<f64>,
    weight: Option<f64>,
    delay: Option<f64>,
    synapse: Option<String>,
    tau_syn: Option<f64>,
    e_rev: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    spikes: Option<String>,
}

/// `Err(Error::param(name, "in <where>: <msg>"))`.
fn bad<T>(name: &'static str, place: &str, msg: impl std::fmt::Display) -> Result<T> {
    Err(Error::param(name, format!("{place}: {msg}")))
}

fn finite(name: &'static str, place: &str, x: f64) -> Result<f64> {
    if x.is_finite() {
        Ok(x)
    } else {
        bad(name, place, format!("must be a finite number, got {x}"))
    }
}

impl NetworkDescription {
    /// Reads and checks a network file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let default_name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::from_toml(&text, &base, &default_name).map_err(|e| match e {
            Error::File { message, .. } => Error::file(path, message),
            other => Error::file(path, other.to_string()),
        })
    }

    /// Parses and checks the text of a network file; relative file names are
    /// taken relative to `base_dir`.
    pub fn from_toml(text: &str, base_dir: &Path, default_name: &str) -> Result<Self> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
            Error::file(PathBuf::new(), format!("{at}{}", e.message().trim()))
        })?;
        let dt = finite("dt", "the network", raw.dt.unwrap_or(0.1))?;
        if dt <= 0.0 {
            return bad("dt", "the network", format!("must be > 0 ms, got {dt}"));
        }
        let duration = finite("duration", "the network", raw.duration)?;
        if duration > MAX_TIME_MS {
            return bad(
                "duration",
                "the network",
                format!("must be at most {MAX_TIME_MS:e} ms, got {duration}"),
            );
        }
        steps_of(duration, dt, "duration", "the network")?;
        let dtype = match raw.dtype {
            Some(d) => d.parse()?,
            None => Dtype::Float64,
        };
        let populations = raw
            .populations
            .into_iter()
            .map(|p| population(p, dt, text))
            .collect::<Result<Vec<_>>>()?;
        if populations.is_empty() {
            return Err(Error::param(
                "population",
                "the network has no populations; add a [[population]] table",
            ));
        }
        for (k, p) in populations.iter().enumerate() {
            if populations[..k].iter().any(|q| q.name == p.name) {
                return bad(
                    "name",
                    &format!("population {:?}", p.name),
                    "is defined twice",
                );
            }
        }
        let total: usize = populations.iter().map(|p| p.size).sum();
        if total > u32::MAX as usize {
            return bad(
                "size",
                "the network",
                format!("{total} neurons is more than lifsim's 2^32 - 1"),
            );
        }
        let mut desc = NetworkDescription {
            name: raw.name.unwrap_or_else(|| default_name.to_string()),
            dt,
            duration,
            seed: raw.seed.unwrap_or(1),
            dtype,
            populations,
            projections: Vec::new(),
            inputs: Vec::new(),
            record: match raw.record.and_then(|r| r.spikes) {
                Some(s) => s.parse()?,
                None => RecordMode::Events,
            },
            base_dir: base_dir.to_path_buf(),
        };
        for (k, p) in raw.projections.into_iter().enumerate() {
            let proj = desc.projection(p, k, text)?;
            desc.projections.push(proj);
        }
        for (k, i) in raw.inputs.into_iter().enumerate() {
            let input = desc.input(i, k)?;
            desc.inputs.push(input);
        }
        desc.check_models()?;
        Ok(desc)
    }

    /// Refuses a synapse onto a population whose neuron model does not
    /// take that kind of input (a conductance onto `iaf_psc_exp`).
    fn check_models(&self) -> Result<()> {
        let check = |synapse: &SynapseKind, targets: &[String], place: String| -> Result<()> {
            for t in targets {
                let pop = self
                    .populations
                    .iter()
                    .find(|p| &p.name == t)
                    .expect("checked");
                if !pop.model.accepts(synapse) {
                    let ok: Vec<&str> = crate::synapses::ALL_NAMES
                        .iter()
                        .copied()
                        .filter(|n| pop.model.accepts(&SynapseKind::example(n)))
                        .collect();
                    return bad(
                        "synapse",
                        &place,
                        format!(
                            "population {t:?} is {} and takes no {} synapses (it takes {})",
                            pop.model,
                            synapse.name(),
                            ok.join(", ")
                        ),
                    );
                }
            }
            Ok(())
        };
        for (k, p) in self.projections.iter().enumerate() {
            check(
                &p.synapse,
                &p.target,
                format!("projection {} ({})", k + 1, p.label()),
            )?;
        }
        for (k, i) in self.inputs.iter().enumerate() {
            if !matches!(i.kind, InputKind::Current { .. }) {
                check(&i.synapse, &i.target, format!("input {}", k + 1))?;
            }
        }
        Ok(())
    }

    /// Number of steps: `round(duration / dt)`.
    pub fn steps(&self) -> usize {
        (self.duration / self.dt).round() as usize
    }

    /// Total number of neurons.
    pub fn n(&self) -> usize {
        self.populations.iter().map(|p| p.size).sum()
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

    /// A delay in ms as whole steps (rounded to the grid, as NEST does).
    pub fn delay_steps(&self, ms: f64) -> i64 {
        (ms / self.dt).round() as i64
    }

    fn projection(&self, p: RawProjection, k: usize, text: &str) -> Result<Projection> {
        let source = p.source.into_vec();
        let target = p.target.into_vec();
        let place = format!(
            "projection {} ({} -> {})",
            k + 1,
            source.join(", "),
            target.join(", ")
        );
        check_distinct(&source, "source", &place)?;
        check_distinct(&target, "target", &place)?;
        let p_weight = value_field(p.weight, "weight", &place, text)?;
        let p_delay = value_field(p.delay, "delay", &place, text)?;
        let n_src: usize = self.sizes(&source, &place)?;
        let n_tgt: usize = self.sizes(&target, &place)?;
        let synapse = SynapseKind::parse(p.synapse.as_deref(), p.tau_syn, p.e_rev)
            .map_err(|e| within("synapse", &place, e))?;
        let only = |name: &'static str, present: bool, rule: &str| -> Result<()> {
            if present {
                bad(name, &place, format!("is not a parameter of rule {rule:?}"))
            } else {
                Ok(())
            }
        };
        let rule_name = p.rule.as_str();
        const RULES: [&str; 5] = [
            "all_to_all",
            "one_to_one",
            "fixed_probability",
            "fixed_indegree",
            "from_file",
        ];
        if !RULES.contains(&rule_name) {
            return bad(
                "rule",
                &place,
                format!("unknown rule {rule_name:?}; choose {}", RULES.join(", ")),
            );
        }
        if rule_name != "fixed_probability" {
            only("p", p.p.is_some(), rule_name)?;
        }
        if rule_name != "fixed_indegree" {
            only("indegree", p.indegree.is_some(), rule_name)?;
        }
        let rule = match rule_name {
            "all_to_all" | "from_file" if p.file.is_some() => {
                let path = self.base_dir.join(p.file.as_ref().expect("checked"));
                if p_weight.is_some() {
                    return bad("weight", &place, "weights come from the file; scale them with weight_scale");
                }
                let scale = finite("weight_scale", &place, p.weight_scale.unwrap_or(1.0))?;
                Rule::File { path, scale }
            }
            "from_file" => return bad("file", &place, "rule \"from_file\" needs file = \"W.npy\" or \"W.npz\""),
            "all_to_all" => Rule::AllToAll,
            "one_to_one" => {
                if n_src != n_tgt {
                    return bad(
                        "rule",
                        &place,
                        format!("one_to_one needs equal sizes, got {n_src} sources and {n_tgt} targets"),
                    );
                }
                Rule::OneToOne
            }
            "fixed_probability" => {
                let Some(prob) = p.p else {
                    return bad("p", &place, "rule \"fixed_probability\" needs p");
                };
                if !(0.0..=1.0).contains(&prob) {
                    return bad("p", &place, format!("must be in [0, 1], got {prob}"));
                }
                Rule::FixedProbability { p: prob }
            }
            "fixed_indegree" => {
                let Some(indegree) = p.indegree else {
                    return bad("indegree", &place, "rule \"fixed_indegree\" needs indegree");
                };
                Rule::FixedIndegree { indegree }
            }
            other => {
                return bad(
                    "rule",
                    &place,
                    format!(
                        "unknown rule {other:?}; choose all_to_all, one_to_one, fixed_probability, fixed_indegree or from_file"
                    ),
                )
            }
        };
        if !matches!(rule, Rule::File { .. }) {
            only("weight_scale", p.weight_scale.is_some(), rule_name)?;
            only("file", p.file.is_some(), rule_name)?;
        }
        let allow_autapses = p.allow_autapses.unwrap_or(true);
        let allow_multapses = p.allow_multapses.unwrap_or(true);
        if let Rule::FixedIndegree { indegree } = rule {
            if !allow_multapses {
                // Without autapses a target that is also a source has one source fewer.
                let available = n_src - usize::from(!allow_autapses);
                if indegree > available {
                    return bad(
                        "indegree",
                        &place,
                        format!("{indegree} distinct sources wanted but only {available} can connect (allow_multapses = false)"),
                    );
                }
            }
            if n_src == 0 && indegree > 0 {
                return bad("indegree", &place, "the source populations are empty");
            }
            // A lone source that is also the target has nothing to draw.
            let overlap = source.iter().any(|s| target.contains(s));
            if !allow_autapses && n_src == 1 && overlap && indegree > 0 {
                return bad(
                    "indegree",
                    &place,
                    "the only source is the target itself and allow_autapses = false",
                );
            }
        }
        let weight = match (p_weight, &rule) {
            (Some(w), _) => w,
            // Unused: the file holds the weights.
            (None, Rule::File { .. }) => Value::Constant(1.0),
            (None, _) => {
                return bad(
                    "weight",
                    &place,
                    "needs a weight (mV for delta synapses, nA for exponential ones)",
                )
            }
        };
        weight
            .validate("weight")
            .map_err(|e| within("weight", &place, e))?;
        check_conductance(&synapse, weight.bounds().0, &place)?;
        let delay = p_delay.unwrap_or(Value::Constant(self.dt * synapse.min_delay_steps() as f64));
        delay
            .validate("delay")
            .map_err(|e| within("delay", &place, e))?;
        let (lo, hi) = delay.bounds();
        if matches!(delay, Value::Normal { .. }) && lo.is_infinite() {
            return bad(
                "delay",
                &place,
                "a normal distribution can give negative delays; use a uniform one",
            );
        }
        let min = synapse.min_delay_steps() as i64;
        if self.delay_steps(lo) < min {
            return bad(
                "delay",
                &place,
                format!(
                    "{lo} ms is below the minimum of {min} step(s) of {} ms for {synapse} synapses",
                    self.dt
                ),
            );
        }
        if self.delay_steps(hi) > u16::MAX as i64 {
            return bad("delay", &place, format!("{hi} ms is more than 65535 steps"));
        }
        Ok(Projection {
            source,
            target,
            rule,
            allow_autapses,
            allow_multapses,
            weight,
            delay,
            synapse,
        })
    }

    fn input(&self, i: RawInput, k: usize) -> Result<Input> {
        let target = i.target.into_vec();
        let place = format!("input {} ({} -> {})", k + 1, i.kind, target.join(", "));
        let n_tgt = self.sizes(&target, &place)?;
        check_distinct(&target, "target", &place)?;
        if let Some(neurons) = &i.neurons {
            if let Some(&bad_id) = neurons.iter().find(|&&x| x >= n_tgt) {
                return bad(
                    "neurons",
                    &place,
                    format!("index {bad_id} is out of range: the targets have {n_tgt} neurons"),
                );
            }
            let mut sorted = neurons.clone();
            sorted.sort_unstable();
            if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                return bad("neurons", &place, format!("index {} is listed twice", w[0]));
            }
        }
        let synapse = SynapseKind::parse(i.synapse.as_deref(), i.tau_syn, i.e_rev)
            .map_err(|e| within("synapse", &place, e))?;
        let unused = |name: &'static str, present: bool| -> Result<()> {
            if present {
                bad(
                    name,
                    &place,
                    format!("is not a parameter of {:?} inputs", i.kind),
                )
            } else {
                Ok(())
            }
        };
        let weight = |w: Option<f64>| -> Result<f64> {
            match w {
                Some(w) => finite("weight", &place, w),
                None => bad(
                    "weight",
                    &place,
                    "needs a weight (mV for delta synapses, nA for exponential ones)",
                ),
            }
        };
        let kind = match i.kind.as_str() {
            "poisson" => {
                unused("times", i.times.is_some())?;
                unused("amplitude", i.amplitude.is_some())?;
                unused("delay", i.delay.is_some())?;
                let Some(rate) = i.rate else {
                    return bad("rate", &place, "a poisson input needs rate (Hz)");
                };
                if !(rate.is_finite() && rate >= 0.0) {
                    return bad("rate", &place, format!("must be >= 0 Hz, got {rate}"));
                }
                let per_step = rate * self.dt * 1e-3;
                if per_step > crate::inputs::MAX_POISSON_MEAN {
                    return bad(
                        "rate",
                        &place,
                        format!("{rate} Hz is {per_step} spikes per step; lifsim draws at most {} per step on average", crate::inputs::MAX_POISSON_MEAN),
                    );
                }
                InputKind::Poisson { rate_hz: rate }
            }
            "spike_generator" => {
                unused("rate", i.rate.is_some())?;
                unused("amplitude", i.amplitude.is_some())?;
                let Some(times) = i.times else {
                    return bad("times", &place, "a spike_generator needs times (ms)");
                };
                if let Some(t) = times.iter().find(|t| !(t.is_finite() && **t >= 0.0)) {
                    return bad(
                        "times",
                        &place,
                        format!("spike times must be >= 0 ms, got {t}"),
                    );
                }
                let delay = finite("delay", &place, i.delay.unwrap_or(self.dt))?;
                let min = synapse.min_delay_steps() as i64;
                if self.delay_steps(delay) < min {
                    return bad("delay", &place, format!("{delay} ms is below the minimum of {min} step(s) for {synapse} synapses"));
                }
                InputKind::SpikeTimes { times, delay }
            }
            "current" => {
                unused("rate", i.rate.is_some())?;
                unused("times", i.times.is_some())?;
                unused("weight", i.weight.is_some())?;
                unused("delay", i.delay.is_some())?;
                let Some(amplitude) = i.amplitude else {
                    return bad("amplitude", &place, "a current input needs amplitude (nA)");
                };
                InputKind::Current {
                    amplitude: finite("amplitude", &place, amplitude)?,
                }
            }
            other => {
                return bad(
                    "type",
                    &place,
                    format!(
                        "unknown input type {other:?}; choose poisson, spike_generator or current"
                    ),
                )
            }
        };
        let weight = match kind {
            InputKind::Current { .. } => 0.0,
            _ => weight(i.weight)?,
        };
        check_conductance(&synapse, weight, &place)?;
        Ok(Input {
            kind,
            target,
            neurons: i.neurons,
            weight,
            synapse,
        })
    }

    fn sizes(&self, names: &[String], place: &str) -> Result<usize> {
        if names.is_empty() {
            return bad("population", place, "names no population");
        }
        let ranges = self
            .ranges(names)
            .map_err(|e| within("population", place, e))?;
        Ok(ranges.iter().map(|r| r.len()).sum())
    }
}

/// `round(t / dt)`, refusing times that are not a whole number of steps.
fn steps_of(t: f64, dt: f64, name: &'static str, place: &str) -> Result<u64> {
    let ratio = t / dt;
    let steps = ratio.round();
    if t.is_nan() || t < 0.0 || (ratio - steps).abs() > 1e-6 * ratio.max(1.0) {
        return bad(
            name,
            place,
            format!("must be >= 0 and a multiple of dt ({dt} ms), got {t}"),
        );
    }
    if steps > 1e12 {
        return bad(
            name,
            place,
            format!("{steps:.3e} steps is more than lifsim will run"),
        );
    }
    Ok(steps as u64)
}

fn population(p: RawPopulation, dt: f64, text: &str) -> Result<Population> {
    use crate::params;
    // The seed's defaults, from the parameter table.
    const TAU_M: f64 = params::TAU_M.default.number();
    const V_RESET: f64 = params::V_RESET.default.number();
    const V_THRESH: f64 = params::V_THRESH.default.number();
    const R: f64 = params::R.default.number();
    const T_REF: f64 = params::T_REF.default.number();
    check_name(&p.name)?;
    let place = format!("population {:?}", p.name);
    let place = place.as_str();
    let i_ext = value_field(p.i_ext, "i_ext", place, text)?;
    let v0 = value_field(p.v0, "v0", place, text)?;
    if p.size == 0 {
        return bad("size", place, "must be at least 1");
    }
    let v_reset = finite("v_reset", place, p.v_reset.unwrap_or(V_RESET))?;
    let pop = Population {
        tau_m: finite("tau_m", place, p.tau_m.unwrap_or(TAU_M))?,
        v_rest: finite("v_rest", place, p.v_rest.unwrap_or(v_reset))?,
        v_reset,
        v_thresh: finite("v_thresh", place, p.v_thresh.unwrap_or(V_THRESH))?,
        r: finite("r", place, p.r.unwrap_or(R))?,
        t_ref: finite("t_ref", place, p.t_ref.unwrap_or(T_REF))?,
        i_ext: i_ext.unwrap_or_default(),
        v0: v0.unwrap_or(Value::Constant(v_reset)),
        model: model_of(p.model.as_deref(), p.integration.as_deref(), place)?,
        name: p.name,
        size: p.size,
    };
    // The seed's checks, from the parameter table (crate::params).
    let related = params::Related {
        dt,
        v_reset: pop.v_reset,
    };
    for (spec, x) in [
        (params::TAU_M, pop.tau_m),
        (params::R, pop.r),
        (params::V_THRESH, pop.v_thresh),
        (params::T_REF, pop.t_ref),
    ] {
        if let Err(message) = spec.validate(x, &related) {
            return bad(spec.name, place, message);
        }
    }
    pop.i_ext
        .validate("i_ext")
        .map_err(|e| within("i_ext", place, e))?;
    pop.v0.validate("v0").map_err(|e| within("v0", place, e))?;
    Ok(pop)
}

/// Refuses a conductance synapse whose weight can be below zero (`low`: the
/// smallest weight it can have): a negative conductance would drive the
/// membrane away from `e_rev`; inhibition is a conductance with a low `e_rev`.
fn check_conductance(synapse: &SynapseKind, low: f64, place: &str) -> Result<()> {
    match synapse {
        SynapseKind::Conductance { .. } if low < 0.0 => bad(
            "weight",
            place,
            format!(
                "conductance weights must be >= 0 µS (inhibition is a conductance with a low e_rev), \
                 but can be {low}"
            ),
        ),
        _ => Ok(()),
    }
}

/// The model of `model = ...` or its old spelling `integration = ...`.
fn model_of(model: Option<&str>, integration: Option<&str>, place: &str) -> Result<Model> {
    match (model, integration) {
        (Some(_), Some(_)) => bad(
            "integration",
            place,
            "is implied by model; give one of model and integration",
        ),
        (Some(m), None) => m.parse().map_err(|e| within("model", place, e)),
        (None, Some("exact") | None) => Ok(Model::IafPscExp),
        (None, Some("euler")) => Ok(Model::LifEuler),
        (None, Some(other)) => bad(
            "integration",
            place,
            format!("must be exact or euler, got {other:?}"),
        ),
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

/// `e` told at `place` (`projection 2 (E -> I)`): a parameter error keeps
/// its own name and gains the place; anything else becomes an error of
/// parameter `name` there.
fn within(name: &'static str, place: &str, e: Error) -> Error {
    match e {
        Error::Parameter { name, message } => Error::param(name, format!("{place}: {message}")),
        other => Error::param(name, format!("{place}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"
        duration = 10.0
        [[population]]
        name = "E"
        size = 8
        [[population]]
        name = "I"
        size = 2
        [[projection]]
        source = "E"
        target = ["E", "I"]
        rule = "fixed_indegree"
        indegree = 3
        weight = 0.5
        delay = 1.0
        [[input]]
        type = "poisson"
        target = "E"
        rate = 100.0
        weight = 0.2
    "#;

    fn parse(text: &str) -> Result<NetworkDescription> {
        NetworkDescription::from_toml(text, Path::new(""), "test")
    }

    #[test]
    fn reads_a_small_network() {
        let d = parse(MINI).unwrap();
        assert_eq!(d.n(), 10);
        assert_eq!(d.steps(), 100);
        assert_eq!(d.dt, 0.1);
        assert_eq!(d.projections[0].rule, Rule::FixedIndegree { indegree: 3 });
        assert_eq!(
            d.ranges(&["I".into(), "E".into()]).unwrap(),
            vec![8..10, 0..8]
        );
        assert_eq!(d.inputs[0].kind, InputKind::Poisson { rate_hz: 100.0 });
        assert_eq!(d.populations[0].v_rest, -65.0);
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (MINI.replace("indegree = 3", "indegree = 3\np = 0.1"), "invalid parameter p: projection 1 (E -> E, I): is not a parameter of rule \"fixed_indegree\""),
            (MINI.replace("target = [\"E\", \"I\"]", "target = [\"E\", \"X\"]"), "no population named \"X\""),
            (MINI.replace("delay = 1.0", "delay = 0.0"), "below the minimum of 1 step(s)"),
            (MINI.replace("rate = 100.0", "rate = -1.0"), "invalid parameter rate"),
            (MINI.replace("size = 2", "size = 2\nt_ref = 0.05"), "invalid parameter t_ref"),
            (MINI.replace("size = 2", "size = 2\nvthresh = 1"), "unknown field `vthresh`"),
            (MINI.replace("rule = \"fixed_indegree\"", "rule = \"ring\""), "unknown rule \"ring\""),
            (MINI.replace("weight = 0.5", ""), "needs a weight"),
            (
                MINI.replace("target = [\"E\", \"I\"]", "target = \"I\"")
                    .replace("source = \"E\"", "source = \"I\"")
                    .replace("size = 2", "size = 1")
                    .replace("indegree = 3", "indegree = 3\nallow_autapses = false"),
                "the only source is the target itself",
            ),
        ];
        for (text, want) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(want), "{err}\n  wanted: {want}");
        }
    }

    #[test]
    fn silent_mistakes_are_refused() {
        let cases = [
            (
                MINI.replace("name = \"I\"", "name = \"\""),
                "invalid parameter name: population \"\": must not be empty",
            ),
            (
                MINI.replace("name = \"I\"", "name = \"a/b\""),
                "population \"a/b\": must not contain '/'",
            ),
            (
                MINI.replace("name = \"I\"", "name = \"I\\u0007\""),
                "must not contain control characters",
            ),
            (
                MINI.replace("name = \"I\"", "name = \" I\""),
                "must not begin or end with a space",
            ),
            (
                MINI.replace("name = \"I\"", "name = \"E\""),
                "population \"E\": is defined twice",
            ),
            (
                MINI.replace("target = [\"E\", \"I\"]", "target = [\"E\", \"E\"]"),
                "projection 1 (E -> E, E): target names population \"E\" twice",
            ),
            (
                MINI.replace("source = \"E\"", "source = [\"I\", \"I\"]"),
                "source names population \"I\" twice",
            ),
            (
                MINI.replace("target = \"E\"\n", "target = [\"I\", \"I\"]\n"),
                "input 1 (poisson -> I, I): target names population \"I\" twice",
            ),
            (
                MINI.replace("rate = 100.0", "rate = 100.0\nneurons = [0, 3, 5, 3]"),
                "invalid parameter neurons: input 1 (poisson -> E): index 3 is listed twice",
            ),
        ];
        for (text, want) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(want), "{err}\n  wanted: {want}");
        }
        let ok = MINI.replace("rate = 100.0", "rate = 100.0\nneurons = [0, 3, 5]");
        assert_eq!(parse(&ok).unwrap().inputs[0].neurons, Some(vec![0, 3, 5]));
    }

    #[test]
    fn distribution_mistakes_name_the_field_and_line() {
        let cases = [
            (
                "weight = { distribution = \"normal\", mean = 1, sdt = 0.1 }",
                "invalid parameter weight: projection 1 (E -> E, I), line 14: unknown key \"sdt\" in a distribution table; the keys are distribution, low and high",
            ),
            (
                "weight = { mean = 1, std = 0.1 }",
                "weight: projection 1 (E -> E, I), line 14: a distribution table needs distribution",
            ),
            (
                "weight = { distribution = \"normal\", mean = \"1\", std = 0.1 }",
                "weight: projection 1 (E -> E, I), line 14: invalid type: string \"1\", expected a number",
            ),
            (
                "weight = \"0.5\"",
                "line 14: invalid type: string \"0.5\", expected a number or a table like",
            ),
            (
                "weight = 0.5\n[projection.delay]\ndistribution = \"uniform\"\nlow = 1.0",
                "invalid parameter delay: projection 1 (E -> E, I), line 15: distribution \"uniform\" needs high",
            ),
        ];
        for (line, want) in cases {
            let text = MINI.replace("weight = 0.5\n        delay = 1.0", line);
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(want), "{err}\n  wanted: {want}");
        }
        let text = MINI.replace(
            "size = 8",
            "size = 8\nv0 = { distribution = \"uniform\", low = -70, hgh = -60 }",
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("invalid parameter v0: population \"E\", line 6: unknown key \"hgh\""),
            "{err}"
        );
        // Errors that serde reports itself say the right line too.
        let err = parse(&MINI.replace("size = 2", "size = 2\nvthresh = 1")).unwrap_err();
        assert!(err.to_string().contains("line 9: "), "{err}");
    }

    #[test]
    fn absurd_durations_are_refused() {
        let err = parse(&MINI.replace("duration = 10.0", "duration = 1e16\ndt = 1e5"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("invalid parameter duration: the network: must be at most 1e15 ms"),
            "{err}"
        );
        for d in ["nan", "inf", "-1.0", "1e300"] {
            let err = parse(&MINI.replace("duration = 10.0", &format!("duration = {d}")))
                .unwrap_err()
                .to_string();
            assert!(err.contains("invalid parameter duration"), "{d}: {err}");
        }
    }

    #[test]
    fn exponential_synapses_may_have_no_delay() {
        let text = MINI.replace(
            "delay = 1.0",
            "delay = 0.0\nsynapse = \"exponential\"\ntau_syn = 5.0",
        );
        let d = parse(&text).unwrap();
        assert_eq!(
            d.projections[0].synapse,
            SynapseKind::Exponential { tau_syn: 5.0 }
        );
    }
}
