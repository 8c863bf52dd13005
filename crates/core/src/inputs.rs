//! What drives the network from outside, and where it starts.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{LifParams, Real};
use crate::rng::{self, Purpose};

/// Constant external current `i_ext` (nA with `r` in MOhm, so `r * i_ext` is mV).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExternalCurrent {
    /// The same current into every neuron (the seed: 0).
    Constant(f64),
    /// One value per neuron.
    PerNeuron(Vec<f64>),
}

impl Default for ExternalCurrent {
    fn default() -> Self {
        ExternalCurrent::Constant(0.0)
    }
}

impl ExternalCurrent {
    /// Checks the current against a network of `n` neurons.
    pub fn validate(&self, n: usize) -> Result<()> {
        match self {
            ExternalCurrent::Constant(x) if !x.is_finite() => {
                Err(Error::param("i_ext", format!("must be finite, got {x}")))
            }
            ExternalCurrent::PerNeuron(v) if v.len() != n => Err(Error::array(
                "i_ext",
                format!("has {} values but the network has {n} neurons", v.len()),
            )),
            ExternalCurrent::PerNeuron(v) => match v.iter().position(|x| !x.is_finite()) {
                Some(k) => Err(Error::array(
                    "i_ext",
                    format!("i_ext[{k}] is {}; must be finite", v[k]),
                )),
                None => Ok(()),
            },
            ExternalCurrent::Constant(_) => Ok(()),
        }
    }
}

/// The membrane potential every neuron starts from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitialVoltage {
    /// `v_reset` everywhere (the seed).
    #[default]
    Reset,
    /// Uniform in `[v_reset, v_thresh)`, drawn in neuron order from
    /// `rng::stream(seed, InitialVoltage, 0)`.
    Uniform {
        /// The generator's seed.
        seed: u64,
    },
    /// One value per neuron (mV).
    Values(Vec<f64>),
}

impl InitialVoltage {
    /// The initial voltages of `n` neurons, in float64.
    pub fn voltages(&self, n: usize, params: &LifParams) -> Result<Vec<f64>> {
        match self {
            InitialVoltage::Reset => Ok(vec![params.v_reset; n]),
            InitialVoltage::Uniform { seed } => {
                let mut rng = rng::stream(*seed, Purpose::InitialVoltage, 0);
                Ok((0..n)
                    .map(|_| rng.uniform_range(params.v_reset, params.v_thresh))
                    .collect())
            }
            InitialVoltage::Values(v) => {
                if v.len() != n {
                    return Err(Error::array(
                        "v0",
                        format!("has {} values but the network has {n} neurons", v.len()),
                    ));
                }
                if let Some(k) = v.iter().position(|x| !x.is_finite()) {
                    return Err(Error::array(
                        "v0",
                        format!("v0[{k}] is {}; must be finite", v[k]),
                    ));
                }
                Ok(v.clone())
            }
        }
    }
}

/// The external drive as the engine reads it: one broadcast value, or one per neuron.
#[derive(Clone, Debug)]
pub enum Drive<T> {
    /// The same value for every neuron.
    Constant(T),
    /// One value per neuron.
    PerNeuron(Vec<T>),
}

impl<T: Real> Drive<T> {
    /// The drive in the engine's float type.
    pub fn new(current: &ExternalCurrent) -> Self {
        match current {
            ExternalCurrent::Constant(x) => Drive::Constant(T::from_f64(*x)),
            ExternalCurrent::PerNeuron(v) => {
                Drive::PerNeuron(v.iter().map(|&x| T::from_f64(x)).collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_v0_lies_in_range_and_is_pinned_by_seed() {
        let p = LifParams::default();
        let a = InitialVoltage::Uniform { seed: 5 }
            .voltages(1000, &p)
            .unwrap();
        assert!(a.iter().all(|&v| (-65.0..-50.0).contains(&v)));
        assert_eq!(
            a,
            InitialVoltage::Uniform { seed: 5 }
                .voltages(1000, &p)
                .unwrap()
        );
        assert_ne!(
            a,
            InitialVoltage::Uniform { seed: 6 }
                .voltages(1000, &p)
                .unwrap()
        );
    }

    #[test]
    fn wrong_lengths_and_values_are_named() {
        let p = LifParams::default();
        let e = InitialVoltage::Values(vec![0.0; 3])
            .voltages(4, &p)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "v0: has 3 values but the network has 4 neurons"
        );
        let e = ExternalCurrent::PerNeuron(vec![1.0, f64::INFINITY])
            .validate(2)
            .unwrap_err();
        assert_eq!(e.to_string(), "i_ext: i_ext[1] is inf; must be finite");
    }
}
