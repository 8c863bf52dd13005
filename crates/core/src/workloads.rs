//! The named reference workloads of SPEC section 3 that benchmarks and tests use.

use crate::error::{Error, Result};
use crate::inputs::{ExternalCurrent, InitialVoltage};
use crate::model::LifParams;
use crate::network::WeightSpec;

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
