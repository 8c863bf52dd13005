//! The named reference workloads of SPEC section 3 that benchmarks and tests use.

use crate::error::{Error, Result};
use crate::inputs::{ExternalCurrent, InitialVoltage};
use crate::model::LifParams;
use crate::network::WeightSpec;
use crate::params::{self, Kind};

/// The seed used for every generated part of the built-in workloads.
pub const WORKLOAD_SEED: u64 = 1;

/// A named network with its parameters and inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Its name (`seed`, `seed-active`).
    pub name: &'static str,
    /// One line on what it shows.
    pub description: &'static str,
    /// How its weights are drawn.
    pub weights: WeightSpec,
    /// Neuron and time parameters.
    pub params: LifParams,
    /// External current.
    pub i_ext: ExternalCurrent,
    /// Initial voltages.
    pub v0: InitialVoltage,
}

impl Workload {
    /// The workload's `params.json` (what `lifsim workload` writes beside
    /// `weights.npy` and `v0.npy`): its name, description, `n`, `steps`, and
    /// every parameter of the table ([`crate::params`]) that is a number
    /// ([`Kind::Number`], `v_rest` resolved) or one per neuron (`i_ext`, a
    /// number or a list).
    pub fn params_json(&self) -> Result<serde_json::Value> {
        let mut json = serde_json::Map::new();
        json.insert("name".into(), self.name.into());
        json.insert("description".into(), self.description.into());
        json.insert("n".into(), self.weights.n.into());
        json.insert("steps".into(), self.params.steps().into());
        for spec in params::PARAMETERS {
            let value = match spec.kind {
                Kind::Number => self.params.get(spec.name).map(serde_json::Value::from),
                Kind::PerNeuron if spec.name == "i_ext" => Some(
                    serde_json::to_value(&self.i_ext)
                        .map_err(|e| Error::param("i_ext", e.to_string()))?,
                ),
                _ => None,
            };
            if let Some(v) = value {
                json.insert(spec.name.into(), v);
            }
        }
        Ok(serde_json::Value::Object(json))
    }
}

/// Names of the built-in workloads.
pub const NAMES: [&str; 2] = ["seed", "seed-active"];

/// The seed's run: 1000 neurons, dense `W ~ Normal(0, 1)`, the seed's
/// parameters, no input. It never fires: it measures the dense step.
pub fn seed() -> Workload {
    Workload {
        name: "seed",
        description: "the seed's run: N = 1000, W ~ Normal(0, 1), seed defaults; silent",
        weights: WeightSpec {
            n: 1000,
            mean: 0.0,
            std: 1.0,
            p: 1.0,
            quantum: None,
            seed: WORKLOAD_SEED,
        },
        params: LifParams::default(),
        i_ext: ExternalCurrent::Constant(0.0),
        v0: InitialVoltage::Reset,
    }
}

/// The seed's network made to fire at about 35 Hz: `W ~ Normal(0, 200)`,
/// `i_ext = 20`, initial voltages uniform in `[v_reset, v_thresh)`.
///
/// Weights are rounded to multiples of 1/256 so that synaptic sums are exact
/// in any order: every simulator (NumPy's BLAS, Numba, lifsim) then computes
/// the same spike train, and spike counts can be compared exactly.
pub fn seed_active() -> Workload {
    let mut w = seed();
    w.name = "seed-active";
    w.description =
        "the seed's network firing: W ~ Normal(0, 200) on a 1/256 grid, i_ext = 20, V0 uniform";
    w.weights.std = 200.0;
    w.weights.quantum = Some(1.0 / 256.0);
    w.i_ext = ExternalCurrent::Constant(20.0);
    w.v0 = InitialVoltage::Uniform {
        seed: WORKLOAD_SEED,
    };
    w
}

/// The workload called `name`.
pub fn by_name(name: &str) -> Result<Workload> {
    match name {
        "seed" => Ok(seed()),
        "seed-active" => Ok(seed_active()),
        other => Err(Error::param(
            "workload",
            format!(
                "unknown workload {other:?}; choose one of {}",
                NAMES.join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{DefaultValue, PARAMETERS};

    /// `params.json` holds every number and per-neuron parameter of the table;
    /// the `seed` workload's are the table's defaults.
    #[test]
    fn params_json_holds_the_tables_parameters() {
        let json = seed().params_json().unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want: Vec<&str> = PARAMETERS
            .iter()
            .filter(|s| matches!(s.kind, Kind::Number | Kind::PerNeuron))
            .map(|s| s.name)
            .chain(["name", "description", "n", "steps"])
            .collect();
        want.sort_unstable();
        let mut keys = keys.clone();
        keys.sort_unstable();
        assert_eq!(keys, want);
        for spec in PARAMETERS
            .iter()
            .filter(|s| matches!(s.kind, Kind::Number | Kind::PerNeuron))
        {
            let want = match spec.default {
                DefaultValue::Number(x) => x,
                DefaultValue::Unset("v_reset") => params::V_RESET.default.number(),
                other => panic!("{}: {other:?}", spec.name),
            };
            assert_eq!(json[spec.name].as_f64(), Some(want), "{}", spec.name);
        }
        assert_eq!(
            (json["n"].as_u64(), json["steps"].as_u64()),
            (Some(1000), Some(9999))
        );
        let active = seed_active().params_json().unwrap();
        assert_eq!(active["i_ext"].as_f64(), Some(20.0));
    }
}
