//! Reading a network file: the TOML as written (`Raw*`, serde with unknown
//! fields refused), checked field by field into a [`NetworkDescription`];
//! every mistake is one line naming the table, the field and, for a value
//! of the wrong kind, the line. Projections and their connection rules are
//! read in [`projection`].

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::model::{Dtype, MAX_TIME_MS};
use crate::network::description::{
    Connectivity, Input, InputKind, NetworkDescription, Population, Timing,
};
use crate::network::distribution::Value;
use crate::neuron::Model;
use crate::recording::RecordMode;
use crate::synapses::SynapseKind;

mod monitors;
pub mod overrides;
mod projection;

use overrides::Overrides;
use projection::RawProjection;

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
    /// Every projection's, where it does not say its own.
    connectivity: Option<String>,
    /// The time axis (`"network"`, `"seed"`).
    timing: Option<String>,
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

/// The key written just before byte `offset` of `text` (`tau_m` for the
/// value of `tau_m = "fast"`), if a value starts there.
fn key_before(text: &str, offset: usize) -> Option<&str> {
    let before = text.get(..offset)?;
    let line = &before[before.rfind('\n').map_or(0, |k| k + 1)..];
    let head = line.trim_end().strip_suffix('=')?.trim_end();
    let key = head
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .next()?;
    (!key.is_empty()).then_some(key)
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
    #[serde(default)]
    state: Vec<monitors::RawState>,
    rate: Option<monitors::RawRate>,
    state_to: Option<String>,
    #[serde(default)]
    spikes_from: Vec<monitors::RawSpikesFrom>,
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
        Self::load_with(path, &Overrides::default())
    }

    /// Reads a network file, changes it as `overrides` say (`--dt`,
    /// `--duration`, `--set POP.PARAM=VALUE`) and checks the result: the
    /// changed values pass the file's own checks. An error that the changes
    /// may have caused lists them.
    pub fn load_with(path: &Path, overrides: &Overrides) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let default_name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::read_text_with(&text, &base, &default_name, false, overrides).map_err(|e| {
            let message = match e {
                Error::File { message, .. } => message,
                other => other.to_string(),
            };
            if overrides.is_empty() || message.starts_with("--set ") {
                Error::file(path, message)
            } else {
                let flags = overrides.flags().join(", ");
                Error::file(path, format!("{message} (the file as changed by {flags})"))
            }
        })
    }

    /// Parses and checks the text of a network file; relative file names are
    /// taken relative to `base_dir`.
    pub fn from_toml(text: &str, base_dir: &Path, default_name: &str) -> Result<Self> {
        Self::read_text(text, base_dir, default_name, false)
    }

    /// The steps of `ms` milliseconds of this network's run: `round(ms / dt)`,
    /// refusing a time that is not a whole number of steps (as a file's
    /// duration is); `name` names the time in the error.
    pub fn steps_in(&self, ms: f64, name: &'static str) -> Result<u64> {
        steps_of(ms, self.dt, name, "the run")
    }

    /// [`Self::steps_in`], the error naming `place` (`state monitor of "E"`).
    pub(crate) fn steps_at(&self, ms: f64, name: &'static str, place: &str) -> Result<u64> {
        steps_of(ms, self.dt, name, place)
    }

    /// [`Self::from_toml`]; `empty_ok` accepts a network without populations
    /// (one being built, `network::write`).
    pub(in crate::network) fn read_text(
        text: &str,
        base_dir: &Path,
        default_name: &str,
        empty_ok: bool,
    ) -> Result<Self> {
        Self::read_text_with(
            text,
            base_dir,
            default_name,
            empty_ok,
            &Overrides::default(),
        )
    }

    /// [`Self::read_text`], the file changed by `overrides` before it is checked.
    fn read_text_with(
        text: &str,
        base_dir: &Path,
        default_name: &str,
        empty_ok: bool,
        overrides: &Overrides,
    ) -> Result<Self> {
        let mut raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
            // A value of the wrong type is named by its key too: a network
            // built from Python has no lines the user wrote.
            let key = e
                .span()
                .and_then(|s| key_before(text, s.start))
                .map(|k| format!(" (the value of {k})"))
                .unwrap_or_default();
            Error::file(PathBuf::new(), format!("{at}{}{key}", e.message().trim()))
        })?;
        overrides.apply(&mut raw)?;
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
        let timing: Timing = match raw.timing {
            Some(t) => t.parse().map_err(|e| within("timing", "the network", e))?,
            None => Timing::Network,
        };
        // The seed's axis counts the steps of any duration (ceil - 1).
        if timing == Timing::Network {
            steps_of(duration, dt, "duration", "the network")?;
        }
        let dtype = match raw.dtype {
            Some(d) => d.parse()?,
            None => Dtype::Float64,
        };
        let populations = raw
            .populations
            .into_iter()
            .map(|p| population(p, dt, text))
            .collect::<Result<Vec<_>>>()?;
        if populations.is_empty() && !empty_ok {
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
            timing,
            seed: raw.seed.unwrap_or(1),
            dtype,
            populations,
            projections: Vec::new(),
            inputs: Vec::new(),
            record: RecordMode::Events,
            monitors: Default::default(),
            base_dir: base_dir.to_path_buf(),
        };
        let connectivity = match raw.connectivity {
            Some(c) => c
                .parse()
                .map_err(|e| within("connectivity", "the network", e))?,
            None => Connectivity::Stored,
        };
        for (k, p) in raw.projections.into_iter().enumerate() {
            let proj = desc.projection(p, k, text, connectivity)?;
            desc.projections.push(proj);
        }
        for (k, i) in raw.inputs.into_iter().enumerate() {
            let input = desc.input(i, k)?;
            desc.inputs.push(input);
        }
        desc.check_models()?;
        if let Some(record) = raw.record {
            if let Some(s) = &record.spikes {
                desc.record = s.parse()?;
            }
            desc.monitors = monitors::read(record.state, record.rate, &desc)?;
            desc.monitors.stream = monitors::state_to(record.state_to.as_deref())?;
            desc.monitors.spikes = monitors::spikes_from(record.spikes_from)?;
            crate::monitor::spikes::plan(&desc)?;
        }
        desc.check_connectivity()?;
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
    for (name, v) in [("i_ext", &pop.i_ext), ("v0", &pop.v0)] {
        v.validate(name).map_err(|e| within(name, place, e))?;
        if let Value::PerNeuron(values) = v {
            if values.len() != pop.size {
                return bad(
                    name,
                    place,
                    format!(
                        "has {} values; the population has {} neurons (one value each)",
                        values.len(),
                        pop.size
                    ),
                );
            }
        }
    }
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
mod tests;
