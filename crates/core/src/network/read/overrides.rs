//! Changes to a network file made when it is run, without editing it:
//! `lifsim run net.toml --dt 0.05 --duration 200 --set E.i_ext=0.5
//! --set projection.2.weight=-9`.
//!
//! `--set` addresses a population by its name and a projection as
//! `projection.K`, K its number in the file from 1: the number `lifsim
//! info` and every error about a projection give it (`projection 2 (I ->
//! E, I)`).
//!
//! They are applied to the file as written (the `Raw*` tables), before any
//! check, so an overridden value goes through the same checks as the file's
//! own and fails with the same message (`invalid parameter tau_m: population
//! "E": must be > 0 ms`); what no file could say (a population that does not
//! exist, a parameter a population does not have, a value that is not a
//! number) is named with the `--set` that said it.

use std::path::PathBuf;

use toml::Spanned;

use super::projection::RawProjection;
use super::{RawFile, RawPopulation};
use crate::error::{Error, Result};
use crate::network::distribution::Value;

/// The parameters of a `[[population]]` that `--set` can change: those of
/// the file's table, but its name.
pub const SETTABLE: [&str; 10] = [
    "size", "tau_m", "v_rest", "v_reset", "v_thresh", "r", "t_ref", "i_ext", "v0", "model",
];

/// The parameters of a `[[projection]]` that `--set projection.K.PARAM`
/// can change: those of the file's table but its populations and matrix
/// file (which make it another projection).
pub const PROJECTION_SETTABLE: [&str; 14] = [
    "rule",
    "p",
    "indegree",
    "outdegree",
    "n",
    "weight",
    "delay",
    "synapse",
    "tau_syn",
    "e_rev",
    "weight_scale",
    "allow_autapses",
    "allow_multapses",
    "connectivity",
];

/// One `--set POP.PARAM=VALUE`: parameter `param` of population `population`
/// (or of projection K, where `population` is `projection.K`) becomes
/// `value`, written as in the file (a number, a distribution table
/// `{ distribution = "uniform", low = 0, high = 1 }`, a list, or a model's
/// name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// The population's name, or `projection.K` for projection K (from 1).
    pub population: String,
    /// The parameter's name, as the file writes it.
    pub param: String,
    /// The value, as written after `=`.
    pub value: String,
}

impl std::str::FromStr for Setting {
    type Err = Error;

    /// `POP.PARAM=VALUE`; the key splits at its last `.` (a population's
    /// name may hold dots, a parameter's never does).
    fn from_str(s: &str) -> Result<Self> {
        let malformed = || {
            Error::param(
                "set",
                format!("expected POP.PARAM=VALUE (for example E.i_ext=0.5), got {s:?}"),
            )
        };
        let (key, value) = s.split_once('=').ok_or_else(malformed)?;
        let (population, param) = key.rsplit_once('.').ok_or_else(malformed)?;
        let value = value.trim();
        if population.is_empty() || param.is_empty() || value.is_empty() {
            return Err(malformed());
        }
        Ok(Setting {
            population: population.to_string(),
            param: param.trim().to_string(),
            value: value.to_string(),
        })
    }
}

impl std::fmt::Display for Setting {
    /// As typed: `E.i_ext=0.5`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}={}", self.population, self.param, self.value)
    }
}

/// Everything a run changes in its network file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    /// The time step instead of the file's `dt` (ms).
    pub dt: Option<f64>,
    /// The simulated time instead of the file's `duration` (ms).
    pub duration: Option<f64>,
    /// Population parameters, applied in order (a later one wins).
    pub set: Vec<Setting>,
}

impl Overrides {
    /// Whether nothing is changed.
    pub fn is_empty(&self) -> bool {
        self.dt.is_none() && self.duration.is_none() && self.set.is_empty()
    }

    /// The changes as flags, in the order they apply (`--dt 0.05`,
    /// `--set E.i_ext=0.5`), for reports and messages.
    pub fn flags(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(dt) = self.dt {
            out.push(format!("--dt {dt}"));
        }
        if let Some(d) = self.duration {
            out.push(format!("--duration {d}"));
        }
        out.extend(self.set.iter().map(|s| format!("--set {s}")));
        out
    }

    /// Writes the changes into the file as read, before it is checked.
    pub(super) fn apply(&self, raw: &mut RawFile) -> Result<()> {
        if let Some(dt) = self.dt {
            raw.dt = Some(dt);
        }
        if let Some(d) = self.duration {
            raw.duration = d;
        }
        for s in &self.set {
            match s.projection(raw)? {
                Some(k) => s.apply_projection(&mut raw.projections[k])?,
                None => s.apply(&mut raw.populations)?,
            }
        }
        Ok(())
    }
}

impl Setting {
    /// The index of the projection this setting addresses (`projection.K`,
    /// K from 1), if it addresses one; refuses K beyond the file's
    /// projections, and a key that is a population's name as well.
    fn projection(&self, raw: &RawFile) -> Result<Option<usize>> {
        let Some(k) = self.population.strip_prefix("projection.") else {
            return Ok(None);
        };
        if raw.populations.iter().any(|p| p.name == self.population) {
            return Err(self.error(format!(
                "{:?} is a population's name and names a projection too; rename the population",
                self.population
            )));
        }
        let count = raw.projections.len();
        match k.parse::<usize>() {
            Ok(k) if (1..=count).contains(&k) => Ok(Some(k - 1)),
            _ => Err(self.error(format!(
                "the network has no projection {k:?} (projections are numbered 1 to {count} in file order, as lifsim info lists them)"
            ))),
        }
    }

    fn apply_projection(&self, p: &mut RawProjection) -> Result<()> {
        let int = |what: &str| {
            self.value
                .parse::<u64>()
                .map_err(|_| self.error(format!("{} takes a whole number of {what}", self.param)))
        };
        let flag = || match self.value.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.error(format!("{} takes true or false", self.param))),
        };
        let text = || self.value.trim_matches('"').to_string();
        match self.param.as_str() {
            "rule" => p.rule = text(),
            "p" => p.p = Some(self.number("a probability")?),
            "indegree" => p.indegree = Some(int("synapses")? as usize),
            "outdegree" => p.outdegree = Some(int("synapses")? as usize),
            "n" => p.n = Some(int("synapses")?),
            "weight" => p.weight = Some(self.value()?),
            "delay" => p.delay = Some(self.value()?),
            "synapse" => p.synapse = Some(text()),
            "tau_syn" => p.tau_syn = Some(self.number("ms")?),
            "e_rev" => p.e_rev = Some(self.number("mV")?),
            "weight_scale" => p.weight_scale = Some(self.number("a factor")?),
            "allow_autapses" => p.allow_autapses = Some(flag()?),
            "allow_multapses" => p.allow_multapses = Some(flag()?),
            "connectivity" => p.connectivity = Some(text()),
            "source" | "target" | "file" => {
                return Err(self.error(format!(
                "a projection's {} cannot be set: it would be another projection (edit the file)",
                self.param
            )))
            }
            other => {
                return Err(self.error(format!(
                    "a projection has no parameter {other:?} (--set takes {})",
                    PROJECTION_SETTABLE.join(", ")
                )))
            }
        }
        Ok(())
    }

    fn apply(&self, populations: &mut [RawPopulation]) -> Result<()> {
        let names: Vec<&str> = populations.iter().map(|p| p.name.as_str()).collect();
        let names = names.join(", ");
        let Some(pop) = populations.iter_mut().find(|p| p.name == self.population) else {
            return Err(self.error(format!(
                "the network has no population {:?} (it has {names})",
                self.population
            )));
        };
        match self.param.as_str() {
            "size" => {
                pop.size = self
                    .value
                    .parse()
                    .map_err(|_| self.error("size takes a whole number of neurons"))?
            }
            "tau_m" => pop.tau_m = Some(self.number("ms")?),
            "v_rest" => pop.v_rest = Some(self.number("mV")?),
            "v_reset" => pop.v_reset = Some(self.number("mV")?),
            "v_thresh" => pop.v_thresh = Some(self.number("mV")?),
            "r" => pop.r = Some(self.number("MOhm")?),
            "t_ref" => pop.t_ref = Some(self.number("ms")?),
            "i_ext" => pop.i_ext = Some(self.value()?),
            "v0" => pop.v0 = Some(self.value()?),
            "model" => {
                // `model` replaces its older spelling, if the file has it.
                pop.model = Some(self.value.trim_matches('"').to_string());
                pop.integration = None;
            }
            other => {
                return Err(self.error(format!(
                    "a population has no parameter {other:?} (--set takes {})",
                    SETTABLE.join(", ")
                )))
            }
        }
        Ok(())
    }

    /// `message` about this setting, as the file reader words its errors
    /// (the caller adds the file's name).
    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::file(PathBuf::new(), format!("--set {self}: {message}"))
    }

    fn number(&self, unit: &str) -> Result<f64> {
        self.value
            .parse()
            .map_err(|_| self.error(format!("{} takes a number ({unit})", self.param)))
    }

    /// A number, a distribution table or a list, read as TOML reads the
    /// file's value (checked here, so the reader never needs its line).
    fn value(&self) -> Result<Spanned<toml::Value>> {
        let table: toml::Table = format!("value = {}", self.value)
            .parse()
            .map_err(|e: toml::de::Error| self.error(e.message().trim()))?;
        let value = table.get("value").cloned().expect("parsed");
        value
            .clone()
            .try_into::<Value>()
            .map_err(|e| self.error(e.message().trim()))?;
        Ok(Spanned::new(0..0, value))
    }
}

#[cfg(test)]
mod tests {
    //! Each override against the same change written into the file itself:
    //! the description must be the same, and so must a refusal.

    use std::path::Path;

    use super::*;
    use crate::network::NetworkDescription;

    const FILE: &str = r#"
        dt = 0.1
        duration = 10.0
        [[population]]
        name = "E"
        size = 8
        tau_m = 20.0
        integration = "euler"
        [[population]]
        name = "I.fast"
        size = 2
        [[projection]]
        source = "E"
        target = ["E", "I.fast"]
        rule = "fixed_indegree"
        indegree = 3
        weight = 0.5
        delay = 1.0
    "#;

    fn with(overrides: &Overrides) -> Result<NetworkDescription> {
        NetworkDescription::read_text_with(FILE, Path::new(""), "t", false, overrides)
    }

    fn edited(from: &str, to: &str) -> Result<NetworkDescription> {
        assert!(FILE.contains(from), "{from}");
        NetworkDescription::from_toml(&FILE.replacen(from, to, 1), Path::new(""), "t")
    }

    fn set(settings: &[&str]) -> Overrides {
        Overrides {
            set: settings.iter().map(|s| s.parse().unwrap()).collect(),
            ..Overrides::default()
        }
    }

    #[test]
    fn settings_parse_at_the_last_dot_of_the_key() {
        let s: Setting = "I.fast.v0={ distribution = \"uniform\", low = 0, high = 1 }"
            .parse()
            .unwrap();
        assert_eq!((s.population.as_str(), s.param.as_str()), ("I.fast", "v0"));
        assert_eq!(s.value, "{ distribution = \"uniform\", low = 0, high = 1 }");
        assert_eq!(s.to_string(), format!("I.fast.v0={}", s.value));
        for bad in ["E", "E=1", "E.tau_m", "E.tau_m=", ".tau_m=1", "E.=1"] {
            let e = bad.parse::<Setting>().unwrap_err().to_string();
            assert_eq!(
                e,
                format!("invalid parameter set: expected POP.PARAM=VALUE (for example E.i_ext=0.5), got {bad:?}")
            );
        }
    }

    #[test]
    fn overrides_give_the_description_of_the_edited_file() {
        let dt = Overrides {
            dt: Some(0.05),
            ..Overrides::default()
        };
        assert_eq!(with(&dt).unwrap(), edited("dt = 0.1", "dt = 0.05").unwrap());
        let duration = Overrides {
            duration: Some(25.0),
            ..Overrides::default()
        };
        assert_eq!(
            with(&duration).unwrap(),
            edited("duration = 10.0", "duration = 25.0").unwrap()
        );
        let cases = [
            ("E.size=16", "size = 8", "size = 16"),
            ("E.tau_m=10", "tau_m = 20.0", "tau_m = 10.0"),
            ("E.t_ref=0.5", "tau_m = 20.0", "tau_m = 20.0\nt_ref = 0.5"),
            ("E.i_ext=0.5", "tau_m = 20.0", "tau_m = 20.0\ni_ext = 0.5"),
            (
                "E.v0={ distribution = \"normal\", mean = -60, std = 2 }",
                "tau_m = 20.0",
                "tau_m = 20.0\nv0 = { distribution = \"normal\", mean = -60, std = 2 }",
            ),
            (
                "I.fast.v_thresh=-40",
                "size = 2",
                "size = 2\nv_thresh = -40.0",
            ),
            (
                "E.model=iaf_psc_delta",
                "integration = \"euler\"",
                "model = \"iaf_psc_delta\"",
            ),
        ];
        for (setting, from, to) in cases {
            let got = with(&set(&[setting])).unwrap();
            assert_eq!(got, edited(from, to).unwrap(), "{setting}");
            assert_ne!(got, with(&Overrides::default()).unwrap(), "{setting}");
        }
        // A later setting of the same parameter wins.
        assert_eq!(
            with(&set(&["E.tau_m=5", "E.tau_m=10"])).unwrap(),
            edited("tau_m = 20.0", "tau_m = 10.0").unwrap()
        );
    }

    #[test]
    fn projection_settings_give_the_description_of_the_edited_file() {
        let cases = [
            ("projection.1.weight=0.25", "weight = 0.5", "weight = 0.25"),
            (
                "projection.1.weight={ distribution = \"normal\", mean = 0.5, std = 0.1 }",
                "weight = 0.5",
                "weight = { distribution = \"normal\", mean = 0.5, std = 0.1 }",
            ),
            ("projection.1.delay=2.5", "delay = 1.0", "delay = 2.5"),
            ("projection.1.indegree=2", "indegree = 3", "indegree = 2"),
            (
                "projection.1.allow_autapses=false",
                "indegree = 3",
                "indegree = 3\nallow_autapses = false",
            ),
        ];
        for (setting, from, to) in cases {
            let got = with(&set(&[setting])).unwrap();
            assert_eq!(got, edited(from, to).unwrap(), "{setting}");
            assert_ne!(got, with(&Overrides::default()).unwrap(), "{setting}");
        }
        // Several parameters of one projection: a synapse with its time
        // constant, a rule with its own parameter.
        let got = with(&set(&[
            "projection.1.synapse=exponential",
            "projection.1.tau_syn=5",
        ]))
        .unwrap();
        let want = edited(
            "delay = 1.0",
            "delay = 1.0\nsynapse = \"exponential\"\ntau_syn = 5.0",
        );
        assert_eq!(got, want.unwrap());
        let got = with(&set(&[
            "projection.1.rule=fixed_outdegree",
            "projection.1.indegree=0",
        ]));
        let file = edited("rule = \"fixed_indegree\"", "rule = \"fixed_outdegree\"");
        // A rule that does not take the file's other parameters fails as the
        // edited file does.
        assert_eq!(
            with(&set(&["projection.1.rule=fixed_outdegree"]))
                .unwrap_err()
                .to_string(),
            file.unwrap_err().to_string()
        );
        assert!(got.is_err());
        assert_eq!(
            with(&set(&["projection.1.connectivity=procedural"]))
                .unwrap_err()
                .to_string(),
            edited(
                "indegree = 3",
                "indegree = 3\nconnectivity = \"procedural\""
            )
            .unwrap_err()
            .to_string()
        );
    }

    #[test]
    fn projection_settings_no_file_could_say_name_the_setting() {
        let cases = [
            (
                "projection.2.weight=1",
                "--set projection.2.weight=1: the network has no projection \"2\" (projections are numbered 1 to 1 in file order, as lifsim info lists them)",
            ),
            (
                "projection.E.weight=1",
                "--set projection.E.weight=1: the network has no projection \"E\" (projections are numbered 1 to 1 in file order, as lifsim info lists them)",
            ),
            (
                "projection.1.source=I.fast",
                "--set projection.1.source=I.fast: a projection's source cannot be set: it would be another projection (edit the file)",
            ),
            (
                "projection.1.wieght=1",
                "--set projection.1.wieght=1: a projection has no parameter \"wieght\" (--set takes rule, p, indegree, outdegree, n, weight, delay, synapse, tau_syn, e_rev, weight_scale, allow_autapses, allow_multapses, connectivity)",
            ),
            (
                "projection.1.allow_autapses=yes",
                "--set projection.1.allow_autapses=yes: allow_autapses takes true or false",
            ),
            (
                "projection.1.indegree=2.5",
                "--set projection.1.indegree=2.5: indegree takes a whole number of synapses",
            ),
            (
                "projection.1.tau_syn=slow",
                "--set projection.1.tau_syn=slow: tau_syn takes a number (ms)",
            ),
        ];
        for (setting, want) in cases {
            let e = with(&set(&[setting])).unwrap_err().to_string();
            assert_eq!(e, format!(": {want}"), "{setting}");
        }
        // A population may not be named as a projection is addressed.
        let odd = FILE
            .replace("name = \"E\"", "name = \"projection.1\"")
            .replace("\"E\"", "\"projection.1\"");
        let odd = NetworkDescription::read_text_with(
            &odd,
            Path::new(""),
            "t",
            false,
            &set(&["projection.1.tau_m=5"]),
        );
        assert!(odd
            .unwrap_err()
            .to_string()
            .contains("is a population's name and names a projection too"));
    }

    #[test]
    fn overridden_values_fail_the_files_own_checks() {
        let file_error = |from: &str, to: &str| edited(from, to).unwrap_err().to_string();
        let e = with(&set(&["E.tau_m=0"])).unwrap_err().to_string();
        assert_eq!(e, file_error("tau_m = 20.0", "tau_m = 0.0"));
        let e = with(&Overrides {
            dt: Some(0.3),
            ..Overrides::default()
        })
        .unwrap_err()
        .to_string();
        assert_eq!(e, file_error("dt = 0.1", "dt = 0.3"));
        assert!(
            e.contains("duration") && e.contains("multiple of dt"),
            "{e}"
        );
    }

    #[test]
    fn what_no_file_could_say_names_the_setting() {
        let cases = [
            (
                "X.tau_m=1",
                "--set X.tau_m=1: the network has no population \"X\" (it has E, I.fast)",
            ),
            (
                "E.tau=1",
                "--set E.tau=1: a population has no parameter \"tau\" (--set takes size, tau_m, v_rest, v_reset, v_thresh, r, t_ref, i_ext, v0, model)",
            ),
            ("E.tau_m=fast", "--set E.tau_m=fast: tau_m takes a number (ms)"),
            ("E.size=1.5", "--set E.size=1.5: size takes a whole number of neurons"),
        ];
        for (setting, want) in cases {
            let e = with(&set(&[setting])).unwrap_err().to_string();
            assert_eq!(e, format!(": {want}"), "{setting}");
        }
        let e = with(&set(&["E.v0={ distribution = \"uniform\", low = 0 }"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(": --set E.v0=") && e.contains("needs high"),
            "{e}"
        );
    }

    #[test]
    fn load_with_names_the_file_and_the_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("net.toml");
        std::fs::write(&path, FILE).unwrap();
        let e = NetworkDescription::load_with(&path, &set(&["X.r=1"]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "{}: --set X.r=1: the network has no population \"X\" (it has E, I.fast)",
                path.display()
            )
        );
        let e = NetworkDescription::load_with(&path, &set(&["E.r=-1"]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "{}: invalid parameter r: population \"E\": must be > 0 MOhm, got -1 (the file as changed by --set E.r=-1)",
                path.display()
            )
        );
        let plain = NetworkDescription::load(&path).unwrap();
        assert_eq!(
            NetworkDescription::load_with(&path, &Overrides::default()).unwrap(),
            plain
        );
    }
}
