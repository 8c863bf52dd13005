//! The parameter table: every parameter of the seed's run (`lifsim run
//! --weights W.npy`, `lifsim bench`, `lifsim.simulate(W, ...)`) defined once,
//! with its name, unit, default, help text and validation.
//!
//! The front ends are generated from [`PARAMETERS`] or checked against it:
//!
//! - the CLI's flags (`lifsim run/bench --dt ...`) take their help text and
//!   `[default: ...]` from [`ParamSpec::cli_help`]; `lifsim run NETWORK.toml`
//!   refuses the flags not marked [`Front::NetworkFlag`];
//! - the keys of a `--config` TOML file are the parameters marked
//!   [`Front::Config`] (a test of the CLI compares them);
//! - `lifsim.simulate`'s keywords and defaults are the parameters marked
//!   [`Front::Python`] (exported as `lifsim.PARAMETERS`; a pytest compares
//!   the signature with it);
//! - a workload's `params.json` holds every [`Kind::Number`] and
//!   [`Kind::PerNeuron`] parameter (`workloads::Workload::params_json`);
//! - [`crate::LifParams`] takes its defaults from here, and
//!   [`crate::LifParams::validate`] runs each parameter's [`ParamSpec::check`];
//!   a network file's populations run the same checks on the parameters
//!   marked [`Front::Population`] (`network::description`).
//!
//! # Step counts
//!
//! One rule per kind of run:
//!
//! - **The seed's run** (dense `W`, the flags above, `lifsim.simulate`) has
//!   [`seed_steps`]`(t_max, dt) = ceil(t_max / dt) - 1` steps. The seed
//!   iterates over `np.arange(0, t_max, dt)`, whose length NumPy computes as
//!   `ceil(t_max / dt)` in float64, and its first element is the initial
//!   state, not a step ([`crate::LifParams::steps`]).
//! - **A network file** has `round(duration / dt)` steps
//!   ([`crate::NetworkDescription::steps`]), as NEST's `Simulate(duration)`
//!   with resolution `dt` does.

use crate::model::MAX_TIME_MS;

/// The most steps lifsim runs (or a time span it turns into steps, such as
/// `t_max / dt`): beyond it a run would take years.
pub const MAX_STEPS: f64 = 1e12;

/// What kind of value a parameter takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A finite number in the parameter's unit; a field of [`crate::LifParams`].
    Number,
    /// A number for every neuron, or one value per neuron (an `.npy` file or an array).
    PerNeuron,
    /// A whole number >= 0.
    Count,
    /// One of a few words (or, where the help says so, a file).
    Word,
    /// A file.
    File,
}

impl Kind {
    /// The kind's name in `lifsim.PARAMETERS`: `number`, `per_neuron`, `count`, `word`, `file`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Number => "number",
            Kind::PerNeuron => "per_neuron",
            Kind::Count => "count",
            Kind::Word => "word",
            Kind::File => "file",
        }
    }
}

/// A parameter's default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DefaultValue {
    /// A number (in the parameter's unit).
    Number(f64),
    /// A whole number.
    Count(u64),
    /// A word (`float64`, `seed`).
    Word(&'static str),
    /// No value: leaving the parameter out means what the text says
    /// (`v_reset`: `v_rest` follows `v_reset`). Python's default is `None`.
    Unset(&'static str),
}

impl DefaultValue {
    /// The number of a [`DefaultValue::Number`]; panics (at compile time in a
    /// `const`) for any other default.
    pub const fn number(self) -> f64 {
        match self {
            DefaultValue::Number(x) => x,
            _ => panic!("not a number default"),
        }
    }

    /// The whole number of a [`DefaultValue::Count`]; panics for any other default.
    pub const fn count(self) -> u64 {
        match self {
            DefaultValue::Count(x) => x,
            _ => panic!("not a count default"),
        }
    }

    /// The word of a [`DefaultValue::Word`]; panics for any other default.
    pub const fn word(self) -> &'static str {
        match self {
            DefaultValue::Word(w) => w,
            _ => panic!("not a word default"),
        }
    }
}

impl std::fmt::Display for DefaultValue {
    /// As the CLI's help shows it: `0.01`, `-65`, `3`, `float64`, `v_reset`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DefaultValue::Number(x) => write!(f, "{x}"),
            DefaultValue::Count(x) => write!(f, "{x}"),
            DefaultValue::Word(w) | DefaultValue::Unset(w) => f.write_str(w),
        }
    }
}

/// Where a parameter can be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Front {
    /// A flag of `lifsim run` and `lifsim bench`, `--` and the name with `-` for `_`.
    Flag,
    /// A key of a `--config` TOML file.
    Config,
    /// A keyword argument of `lifsim.simulate`.
    Python,
    /// A flag `lifsim run NETWORK.toml` also takes (every other flag is refused there).
    NetworkFlag,
    /// A key of a network file's `[[population]]`, checked by the same [`ParamSpec::check`].
    Population,
}

impl Front {
    /// The front's name in `lifsim.PARAMETERS`: `flag`, `config`, `python`,
    /// `network_flag`, `population`.
    pub fn name(self) -> &'static str {
        match self {
            Front::Flag => "flag",
            Front::Config => "config",
            Front::Python => "python",
            Front::NetworkFlag => "network_flag",
            Front::Population => "population",
        }
    }
}

/// The parameters a check may compare with (only those already checked
/// come before it in [`PARAMETERS`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Related {
    /// The time step (ms).
    pub dt: f64,
    /// The reset potential (mV).
    pub v_reset: f64,
}

/// A parameter's validation: `Err` holds the message that follows
/// `invalid parameter <name>: ` (and, in a network file, the population).
pub type Check = fn(f64, &Related) -> Result<(), String>;

/// One parameter: everything a front end needs to take it.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    /// The name, as the seed's `lif_hparams`, a config file and Python write it.
    pub name: &'static str,
    /// The unit (`ms`, `mV`, `MOhm`, `nA`), or `""`.
    pub unit: &'static str,
    /// What kind of value it takes.
    pub kind: Kind,
    /// The value a run uses when none is given.
    pub default: DefaultValue,
    /// What it is, in a few words (`Time step`).
    pub help: &'static str,
    /// What follows the unit in the help text (`; the run has ...`), or `""`.
    pub details: &'static str,
    /// The CLI's placeholder for the value, for values other than numbers.
    pub value_name: Option<&'static str>,
    /// The validation of a number, shared by every front end.
    pub check: Option<Check>,
    /// Where it can be given.
    pub fronts: &'static [Front],
}

impl ParamSpec {
    /// Whether the parameter can be given at `front`.
    pub fn takes(&self, front: Front) -> bool {
        self.fronts.contains(&front)
    }

    /// Its command-line flag: `--t-max` for `t_max`.
    pub fn flag(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }

    /// The CLI's help line: `Time step, ms [default: 0.01]`.
    pub fn cli_help(&self) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(", {}", self.unit)
        };
        format!(
            "{}{unit}{} [default: {}]",
            self.help, self.details, self.default
        )
    }

    /// Runs the parameter's check on `x` (numbers only; `Ok` for a parameter
    /// without one).
    pub fn validate(&self, x: f64, related: &Related) -> Result<(), String> {
        match self.check {
            Some(check) => check(x, related),
            None => Ok(()),
        }
    }
}

const SEED_RUN: &[Front] = &[Front::Flag, Front::Config, Front::Python];
const NEURON: &[Front] = &[Front::Flag, Front::Config, Front::Python, Front::Population];

/// `weights`: the weight matrix file.
pub const WEIGHTS: ParamSpec = ParamSpec {
    name: "weights",
    unit: "",
    kind: Kind::File,
    default: DefaultValue::Unset("the workload's generated network"),
    help: "Weight matrix W (N x N .npy, float32/float64, C or Fortran order); W[i, j] is the weight from j onto i",
    details: "",
    value_name: Some("FILE.npy"),
    check: None,
    fronts: &[Front::Flag, Front::Config],
};

/// `workload`: the built-in network and inputs used without `weights`.
pub const WORKLOAD: ParamSpec = ParamSpec {
    name: "workload",
    unit: "",
    kind: Kind::Word,
    default: DefaultValue::Word("seed"),
    help: "Built-in network and inputs when no --weights is given: seed, seed-active",
    details: "",
    value_name: Some("NAME"),
    check: None,
    fronts: &[Front::Flag],
};

/// `dt`: the time step.
pub const DT: ParamSpec = ParamSpec {
    name: "dt",
    unit: "ms",
    kind: Kind::Number,
    default: DefaultValue::Number(0.01),
    help: "Time step",
    details: "",
    value_name: None,
    check: Some(check_dt),
    // A network file takes `--dt` instead of its own `dt`.
    fronts: &[
        Front::Flag,
        Front::Config,
        Front::Python,
        Front::NetworkFlag,
    ],
};

/// `t_max`: the simulated time.
pub const T_MAX: ParamSpec = ParamSpec {
    name: "t_max",
    unit: "ms",
    kind: Kind::Number,
    default: DefaultValue::Number(100.0),
    help: "Simulated time",
    details: "; the run has ceil(t_max / dt) - 1 steps, len(arange(0, t_max, dt)) - 1",
    value_name: None,
    check: Some(check_t_max),
    fronts: SEED_RUN,
};

/// `tau_m`: the membrane time constant.
pub const TAU_M: ParamSpec = ParamSpec {
    name: "tau_m",
    unit: "ms",
    kind: Kind::Number,
    default: DefaultValue::Number(20.0),
    help: "Membrane time constant",
    details: "",
    value_name: None,
    check: Some(check_tau_m),
    fronts: NEURON,
};

/// `v_reset`: the reset potential.
pub const V_RESET: ParamSpec = ParamSpec {
    name: "v_reset",
    unit: "mV",
    kind: Kind::Number,
    default: DefaultValue::Number(-65.0),
    help: "Reset (and default initial) potential",
    details: "",
    value_name: None,
    check: Some(check_finite),
    fronts: NEURON,
};

/// `v_thresh`: the spike threshold.
pub const V_THRESH: ParamSpec = ParamSpec {
    name: "v_thresh",
    unit: "mV",
    kind: Kind::Number,
    default: DefaultValue::Number(-50.0),
    help: "Spike threshold",
    details: "",
    value_name: None,
    check: Some(check_v_thresh),
    fronts: NEURON,
};

/// `r`: the membrane resistance.
pub const R: ParamSpec = ParamSpec {
    name: "r",
    unit: "MOhm",
    kind: Kind::Number,
    default: DefaultValue::Number(1.0),
    help: "Membrane resistance",
    details: "",
    value_name: None,
    check: Some(check_r),
    fronts: NEURON,
};

/// `v_rest`: the resting potential.
pub const V_REST: ParamSpec = ParamSpec {
    name: "v_rest",
    unit: "mV",
    kind: Kind::Number,
    default: DefaultValue::Unset("v_reset"),
    help: "Resting potential",
    details: "",
    value_name: None,
    check: Some(check_finite),
    fronts: NEURON,
};

/// `i_ext`: the external current.
pub const I_EXT: ParamSpec = ParamSpec {
    name: "i_ext",
    unit: "nA",
    kind: Kind::PerNeuron,
    default: DefaultValue::Number(0.0),
    help: "External current",
    details: ": a number for every neuron, or FILE.npy with one value per neuron",
    value_name: Some("NUMBER|FILE.npy"),
    check: None,
    fronts: NEURON,
};

/// `v0`: the initial voltages.
pub const V0: ParamSpec = ParamSpec {
    name: "v0",
    unit: "mV",
    kind: Kind::Word,
    default: DefaultValue::Unset("reset"),
    help: "Initial voltages",
    details: ": reset, uniform (in [v_reset, v_thresh), from --seed), a number (every neuron) or FILE.npy",
    value_name: Some("reset|uniform|MV|FILE.npy"),
    check: None,
    fronts: NEURON,
};

/// `t_ref`: the refractory period.
pub const T_REF: ParamSpec = ParamSpec {
    name: "t_ref",
    unit: "ms",
    kind: Kind::Number,
    default: DefaultValue::Number(0.0),
    help: "Refractory period after the spike step",
    details: ", a multiple of dt",
    value_name: None,
    check: Some(check_t_ref),
    fronts: NEURON,
};

/// `seed`: the seed of `v0 = uniform` (of every draw of a network file).
pub const SEED: ParamSpec = ParamSpec {
    name: "seed",
    unit: "",
    kind: Kind::Count,
    default: DefaultValue::Count(crate::workloads::WORKLOAD_SEED),
    help: "Seed for --v0 uniform (for a network file: of every random draw, instead of the file's)",
    details: "",
    value_name: None,
    check: None,
    fronts: &[
        Front::Flag,
        Front::Config,
        Front::Python,
        Front::NetworkFlag,
    ],
};

/// `dtype`: the floating-point type of the run.
pub const DTYPE: ParamSpec = ParamSpec {
    name: "dtype",
    unit: "",
    kind: Kind::Word,
    default: DefaultValue::Word("float64"),
    help: "Floating-point type: float64 (NumPy's) or float32 (JAX's)",
    details: "",
    value_name: Some("float64|float32"),
    check: None,
    fronts: &[
        Front::Flag,
        Front::Config,
        Front::Python,
        Front::NetworkFlag,
    ],
};

/// `threads`: the threads of one simulation.
pub const THREADS: ParamSpec = ParamSpec {
    name: "threads",
    unit: "",
    kind: Kind::Count,
    default: DefaultValue::Unset("1 below 5000 neurons, all cores above"),
    help: "Threads for one simulation's step",
    details: "",
    value_name: None,
    check: None,
    fronts: &[Front::Flag, Front::Python, Front::NetworkFlag],
};

/// `num_simulations`: the seed's number of timed runs (`lifsim bench --runs`).
pub const NUM_SIMULATIONS: ParamSpec = ParamSpec {
    name: "num_simulations",
    unit: "",
    kind: Kind::Count,
    default: DefaultValue::Count(3),
    help: "Timed runs of lifsim bench (its --runs)",
    details: "",
    value_name: None,
    check: None,
    fronts: &[Front::Config],
};

/// Every parameter, in the order the CLI lists them and the checks run
/// (a check only compares with parameters before it).
pub const PARAMETERS: &[ParamSpec] = &[
    WEIGHTS,
    WORKLOAD,
    DT,
    T_MAX,
    TAU_M,
    V_RESET,
    V_THRESH,
    R,
    V_REST,
    I_EXT,
    V0,
    T_REF,
    SEED,
    DTYPE,
    THREADS,
    NUM_SIMULATIONS,
];

/// The parameter called `name`, if there is one.
pub fn spec(name: &str) -> Option<&'static ParamSpec> {
    PARAMETERS.iter().find(|p| p.name == name)
}

/// The seed's step count: `ceil(t_max / dt) - 1`, that is
/// `len(numpy.arange(0, t_max, dt)) - 1` (see the module's "Step counts").
pub fn seed_steps(t_max: f64, dt: f64) -> usize {
    ((t_max / dt).ceil() as usize).saturating_sub(1)
}

fn check_finite(x: f64, _: &Related) -> Result<(), String> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(format!("must be a finite number, got {x}"))
    }
}

fn positive(x: f64, unit: &str) -> Result<(), String> {
    if x > 0.0 {
        Ok(())
    } else {
        Err(format!("must be > 0 {unit}, got {x}"))
    }
}

/// `dt`: finite and > 0 ms.
pub fn check_dt(dt: f64, related: &Related) -> Result<(), String> {
    check_finite(dt, related)?;
    positive(dt, "ms")
}

/// `t_max`: finite, at most [`MAX_TIME_MS`], at least `dt`, and at most
/// [`MAX_STEPS`] steps of `dt`.
pub fn check_t_max(t_max: f64, related: &Related) -> Result<(), String> {
    check_finite(t_max, related)?;
    let dt = related.dt;
    if t_max > MAX_TIME_MS {
        return Err(format!("must be at most {MAX_TIME_MS:e} ms, got {t_max}"));
    }
    if t_max < dt {
        return Err(format!("must be at least dt ({dt} ms), got {t_max}"));
    }
    let steps = t_max / dt;
    if steps > MAX_STEPS {
        return Err(format!(
            "t_max / dt = {steps:.3e} steps is more than lifsim will run"
        ));
    }
    Ok(())
}

/// `tau_m`: finite and > 0 ms.
pub fn check_tau_m(tau_m: f64, related: &Related) -> Result<(), String> {
    check_finite(tau_m, related)?;
    positive(tau_m, "ms")
}

/// `v_thresh`: finite and above `v_reset`.
pub fn check_v_thresh(v_thresh: f64, related: &Related) -> Result<(), String> {
    check_finite(v_thresh, related)?;
    let v_reset = related.v_reset;
    if v_thresh <= v_reset {
        return Err(format!(
            "must be above v_reset ({v_reset} mV), got {v_thresh}"
        ));
    }
    Ok(())
}

/// `r`: finite and > 0 MOhm.
pub fn check_r(r: f64, related: &Related) -> Result<(), String> {
    check_finite(r, related)?;
    positive(r, "MOhm")
}

/// `t_ref`: see [`refractory_steps`].
pub fn check_t_ref(t_ref: f64, related: &Related) -> Result<(), String> {
    refractory_steps(t_ref, related.dt).map(drop)
}

/// The refractory period `t_ref` in whole steps of `dt` (which must be
/// valid): `t_ref` must be finite, >= 0, a multiple of `dt` (as NEST requires
/// of its resolution) and at most `u32::MAX` steps.
pub fn refractory_steps(t_ref: f64, dt: f64) -> Result<u32, String> {
    if !t_ref.is_finite() {
        return Err(format!("must be a finite number, got {t_ref}"));
    }
    let ratio = t_ref / dt;
    let steps = ratio.round();
    if t_ref < 0.0 || (ratio - steps).abs() > 1e-6 * ratio.max(1.0) {
        return Err(format!(
            "must be >= 0 and a multiple of dt ({dt} ms), got {t_ref}"
        ));
    }
    if steps > f64::from(u32::MAX) {
        return Err(format!(
            "{t_ref} ms is too long: {steps:.3e} steps is more than lifsim will run for a refractory period (at most {})",
            u32::MAX
        ));
    }
    Ok(steps as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LifParams, NetworkDescription};
    use std::path::Path;

    #[test]
    fn names_are_unique_and_checks_come_with_numbers() {
        for (k, p) in PARAMETERS.iter().enumerate() {
            assert!(
                PARAMETERS[..k].iter().all(|q| q.name != p.name),
                "{} twice",
                p.name
            );
            assert_eq!(p.check.is_some(), p.kind == Kind::Number, "{}", p.name);
            assert!(!p.help.is_empty() && !p.fronts.is_empty(), "{}", p.name);
            // A word or a file has a placeholder; a number does not need one.
            assert_eq!(
                p.value_name.is_some(),
                matches!(p.kind, Kind::Word | Kind::File | Kind::PerNeuron),
                "{}",
                p.name
            );
        }
    }

    #[test]
    fn help_lines_have_the_unit_and_the_default() {
        assert_eq!(DT.cli_help(), "Time step, ms [default: 0.01]");
        assert_eq!(
            V_RESET.cli_help(),
            "Reset (and default initial) potential, mV [default: -65]"
        );
        assert_eq!(
            V_REST.cli_help(),
            "Resting potential, mV [default: v_reset]"
        );
        assert_eq!(
            DTYPE.cli_help(),
            "Floating-point type: float64 (NumPy's) or float32 (JAX's) [default: float64]"
        );
        assert_eq!(T_MAX.flag(), "--t-max");
    }

    /// The defaults of `LifParams` are the table's.
    #[test]
    fn lif_params_defaults_are_the_tables() {
        let p = LifParams::default();
        for spec in PARAMETERS.iter().filter(|s| s.kind == Kind::Number) {
            let got = p
                .get(spec.name)
                .unwrap_or_else(|| panic!("LifParams has no {}", spec.name));
            match spec.default {
                DefaultValue::Number(x) => assert_eq!(got, x, "{}", spec.name),
                DefaultValue::Unset("v_reset") => assert_eq!(got, p.v_reset, "{}", spec.name),
                other => panic!("{}: default {other:?}", spec.name),
            }
        }
        assert_eq!(p.v_rest, None);
    }

    /// A bad value of every parameter that a population takes gives the same
    /// message in a network file as in the seed's run (plus the place).
    #[test]
    fn populations_and_the_seed_share_every_check() {
        let bad: &[(&str, &[f64])] = &[
            ("tau_m", &[0.0, -1.0, f64::NAN]),
            ("v_reset", &[f64::NAN, f64::INFINITY]),
            ("v_thresh", &[-70.0, -65.0, f64::NAN]),
            ("r", &[0.0, -2.0, f64::INFINITY]),
            ("v_rest", &[f64::NAN]),
            ("t_ref", &[-1.0, 0.015, 1e300, f64::NAN]),
        ];
        let numbers: Vec<&ParamSpec> = PARAMETERS
            .iter()
            .filter(|s| s.kind == Kind::Number && s.takes(Front::Population))
            .collect();
        for spec in &numbers {
            assert!(
                bad.iter().any(|(n, _)| *n == spec.name),
                "no bad value of {} is tried",
                spec.name
            );
        }
        for (name, values) in bad {
            for &x in *values {
                let mut p = LifParams {
                    dt: 0.01,
                    ..LifParams::default()
                };
                assert!(p.set(name, x), "{name}");
                let seed = p.validate().unwrap_err().to_string();
                let toml_x = if x.is_nan() {
                    "nan".to_string()
                } else if x.is_infinite() {
                    "inf".to_string()
                } else {
                    format!("{x:?}")
                };
                let text = format!(
                    "dt = 0.01\nduration = 1.0\n[[population]]\nname = \"E\"\nsize = 2\n{name} = {toml_x}\n"
                );
                let net = NetworkDescription::from_toml(&text, Path::new(""), "t")
                    .unwrap_err()
                    .to_string();
                let message = seed
                    .strip_prefix(&format!("invalid parameter {name}: "))
                    .unwrap_or_else(|| panic!("{seed}"));
                assert_eq!(
                    net,
                    format!("invalid parameter {name}: population \"E\": {message}"),
                    "{name} = {x}"
                );
            }
        }
    }

    /// The two step-count rules of the module documentation.
    #[test]
    fn each_kind_of_run_has_its_step_rule() {
        // len(np.arange(0, t_max, dt)) - 1, checked with NumPy 2.
        for (t_max, dt, steps) in [
            (100.0, 0.01, 9_999),
            (0.3, 0.1, 2),
            (37.3, 0.1, 372),
            (1.0, 1.0, 0),
        ] {
            assert_eq!(seed_steps(t_max, dt), steps, "{t_max}/{dt}");
            let p = LifParams {
                t_max,
                dt,
                ..LifParams::default()
            };
            assert_eq!(p.steps(), steps);
        }
        // round(duration / dt): 0.3 / 0.1 is 2.9999999999999996 in float64.
        for (duration, dt, steps) in [
            (100.0, 0.01, 10_000),
            (0.3, 0.1, 3),
            (37.3, 0.1, 373),
            (1.0, 1.0, 1),
        ] {
            let text = format!(
                "dt = {dt:?}\nduration = {duration:?}\n[[population]]\nname = \"E\"\nsize = 1\n"
            );
            let d = NetworkDescription::from_toml(&text, Path::new(""), "t").unwrap();
            assert_eq!(d.steps(), steps, "{duration}/{dt}");
        }
    }

    #[test]
    fn refractory_periods_are_whole_steps() {
        assert_eq!(refractory_steps(2.0, 0.1), Ok(20));
        assert_eq!(refractory_steps(0.0, 0.1), Ok(0));
        assert!(refractory_steps(0.15, 0.1)
            .unwrap_err()
            .contains("multiple of dt (0.1 ms)"));
        let long = refractory_steps(1e300, 1e-280).unwrap_err();
        assert!(long.ends_with(" ms is too long: inf steps is more than lifsim will run for a refractory period (at most 4294967295)"), "{long}");
        let long = refractory_steps(1e9, 0.1).unwrap_err();
        assert_eq!(long, "1000000000 ms is too long: 1.000e10 steps is more than lifsim will run for a refractory period (at most 4294967295)");
    }
}
