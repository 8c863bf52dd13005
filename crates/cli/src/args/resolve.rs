//! Stage two: the flags merged with a TOML config file and a workload into
//! one validated run description ([`Resolved`]), and the checks of
//! `--format` and `--record` names.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use lifsim_core::io::load_vector;
use lifsim_core::io::spikes::OutputFormat;
use lifsim_core::params::{self, Front};
use lifsim_core::workloads::{self, Workload};
use lifsim_core::{
    DenseWeights, Dtype, ExternalCurrent, InitialVoltage, LifParams, RecordMode, RunSpec,
    WeightSpec,
};
use serde::{Deserialize, Serialize};

use super::ModelArgs;

/// The TOML config file: the seed's `lif_hparams` and the generalisations,
/// one key per parameter of the table marked `Front::Config` (a test checks).
#[derive(Deserialize, Serialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigFile {
    weights: Option<PathBuf>,
    dt: Option<f64>,
    t_max: Option<f64>,
    tau_m: Option<f64>,
    v_reset: Option<f64>,
    v_thresh: Option<f64>,
    r: Option<f64>,
    v_rest: Option<f64>,
    i_ext: Option<toml::Value>,
    v0: Option<toml::Value>,
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
    /// not marked `Front::NetworkFlag`. The message says what to use
    /// instead and which flags apply.
    pub fn check_for_network_file(&self) -> Result<()> {
        let refused = self
            .given()
            .into_iter()
            .filter_map(params::spec)
            .find(|s| !s.takes(Front::NetworkFlag));
        let (flag, instead) = match (&self.config, refused) {
            (Some(_), _) => ("--config".to_string(), String::new()),
            (None, Some(spec)) if spec.name == "t_max" => (
                spec.flag(),
                ": its simulated time is --duration MS".to_string(),
            ),
            (None, Some(spec)) if spec.takes(Front::Population) => (
                spec.flag(),
                format!(": change a population's with --set POP.{}=VALUE", spec.name),
            ),
            (None, Some(spec)) => (spec.flag(), String::new()),
            (None, None) => return Ok(()),
        };
        bail!(
            "{flag} is a flag of the seed model; a network file sets its parameters itself{instead} (the flags of the model that apply to network files are {})",
            network_flags()
        );
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
        // v0: a word, a number for every neuron (as a network file's
        // `v0 = -60.0`), or a file (a config file's relative to it).
        let config_name = || {
            self.config
                .as_deref()
                .unwrap_or(Path::new("config"))
                .display()
                .to_string()
        };
        let v0_given = match (&self.v0, &config.v0) {
            (Some(s), _) => Some((s.clone(), PathBuf::from(s))),
            (None, Some(toml::Value::String(s))) => Some((s.clone(), config_dir.join(s))),
            (None, Some(v)) => {
                let x = v
                    .as_float()
                    .or(v.as_integer().map(|i| i as f64))
                    .with_context(|| {
                        format!(
                            "{}: v0 must be reset, uniform, a number or the path of an .npy file",
                            config_name()
                        )
                    })?;
                Some((x.to_string(), PathBuf::new()))
            }
            (None, None) => None,
        };
        let v0 = match v0_given {
            None => match workload.v0 {
                InitialVoltage::Uniform { .. } => InitialVoltage::Uniform { seed },
                other => other,
            },
            Some((word, _)) if word == "reset" => InitialVoltage::Reset,
            Some((word, _)) if word == "uniform" => InitialVoltage::Uniform { seed },
            Some((text, path)) => match text.parse::<f64>() {
                Ok(x) if x.is_finite() => InitialVoltage::Values(vec![x; n]),
                Ok(x) => {
                    return Err(
                        lifsim_core::Error::param("v0", format!("must be finite, got {x}")).into(),
                    )
                }
                Err(_) => InitialVoltage::Values(vector("--v0", path, "v0")?),
            },
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

/// The model flags a network file takes: those of the parameter table
/// marked `Front::NetworkFlag`, then `--duration` and `--set` (`RunArgs`'),
/// as a message lists them.
fn network_flags() -> String {
    let mut flags: Vec<String> = params::PARAMETERS
        .iter()
        .filter(|s| s.takes(Front::NetworkFlag))
        .map(|s| s.flag())
        .collect();
    flags.extend(["--duration".to_string(), "--set".to_string()]);
    let (last, rest) = flags.split_last().expect("not empty");
    format!("{} and {last}", rest.join(", "))
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
