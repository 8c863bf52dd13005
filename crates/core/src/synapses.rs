//! Synapse types: what a presynaptic spike does to its target, and the
//! constants that integrate it exactly.
//!
//! - [`SynapseKind::Delta`]: the membrane potential jumps by the weight (mV) when
//!   the spike arrives, as in NEST's `iaf_psc_delta` and Brian2's `on_pre='v += w'`.
//!   A spike arriving while its target is refractory is lost (NEST's default,
//!   `refractory_input = False`).
//! - [`SynapseKind::Exponential`]: the synaptic current `I_syn` (nA) jumps by the
//!   weight, then decays with `tau_syn`: `tau_m dV/dt = -(V - v_rest) + r (I_syn + i_ext)`,
//!   `tau_syn dI_syn/dt = -I_syn`, as in NEST's `iaf_psc_exp` (weights in pA there:
//!   divide by 1000) and Brian2's CUBA (`dge/dt = -ge/taue` with `ge` in mV: with
//!   `r = 1` MOhm a weight of 1 nA is a jump of `ge` by 1 mV).
//!
//! Synapses of equal kind and time constant share one state variable per
//! neuron (a "channel"), as NEST's `iaf_psc_exp` shares `I_syn_ex` among all
//! excitatory inputs.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a spike does to its target.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum SynapseKind {
    /// The membrane potential jumps by the weight (mV).
    Delta,
    /// The synaptic current jumps by the weight (nA) and decays with `tau_syn` (ms).
    Exponential {
        /// Decay time constant of the synaptic current (ms).
        tau_syn: f64,
    },
}

impl SynapseKind {
    /// From the network file's `synapse = "..."` and `tau_syn = ...`.
    pub fn parse(name: Option<&str>, tau_syn: Option<f64>) -> Result<Self> {
        match (name.unwrap_or("delta"), tau_syn) {
            ("delta", None) => Ok(SynapseKind::Delta),
            ("delta", Some(_)) => Err(Error::param(
                "tau_syn",
                "only exponential synapses have a time constant (synapse = \"exponential\")",
            )),
            ("exponential" | "exp", Some(tau)) => {
                if !(tau.is_finite() && tau > 0.0) {
                    return Err(Error::param(
                        "tau_syn",
                        format!("must be > 0 ms, got {tau}"),
                    ));
                }
                Ok(SynapseKind::Exponential { tau_syn: tau })
            }
            ("exponential" | "exp", None) => Err(Error::param(
                "tau_syn",
                "exponential synapses need tau_syn (ms)",
            )),
            (other, _) => Err(Error::param(
                "synapse",
                format!("unknown synapse type {other:?}; choose delta or exponential"),
            )),
        }
    }

    /// The smallest delay this synapse supports, in steps: a delta synapse acts
    /// on the potential that is compared with the threshold at its arrival, so
    /// it needs at least one step (NEST's minimum delay); an exponential synapse
    /// acts from the next step on, so it may arrive in the step it was sent
    /// (Brian2's default delay 0).
    pub fn min_delay_steps(&self) -> u32 {
        match self {
            SynapseKind::Delta => 1,
            SynapseKind::Exponential { .. } => 0,
        }
    }
}

impl std::fmt::Display for SynapseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SynapseKind::Delta => f.write_str("delta"),
            SynapseKind::Exponential { tau_syn } => write!(f, "exponential (tau_syn {tau_syn} ms)"),
        }
    }
}

/// How a population's subthreshold dynamics are integrated over one step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Integration {
    /// The exact solution of the linear dynamics over a step (NEST's
    /// `iaf_psc_delta`/`iaf_psc_exp`, Brian2's `method='exact'`).
    #[default]
    Exact,
    /// Forward Euler, the seed's method (Brian2's `method='euler'`).
    Euler,
}

impl std::str::FromStr for Integration {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "exact" => Ok(Integration::Exact),
            "euler" => Ok(Integration::Euler),
            other => Err(Error::param(
                "integration",
                format!("must be exact or euler, got {other:?}"),
            )),
        }
    }
}

/// `exp(-h / tau)`: how much of a quantity with time constant `tau` is left after a step `h`.
pub fn decay(h: f64, tau: f64) -> f64 {
    libm::exp(-h / tau)
}

/// The membrane's response to a constant current over one step, per nA:
/// `r (1 - exp(-h / tau_m))` mV (NEST's `P20`/`P30`).
pub fn p_current(h: f64, tau_m: f64, r: f64) -> f64 {
    -r * libm::expm1(-h / tau_m)
}

/// The membrane's response over one step to an exponentially decaying
/// synaptic current of 1 nA at the start of the step (NEST's `P21`, its
/// `propagator_32` with `C_m = tau_m / r`):
/// `r tau_s / (tau_m - tau_s) (exp(-h/tau_m) - exp(-h/tau_s))`, written so that it
/// stays accurate when `tau_s` approaches `tau_m` (where it tends to
/// `r h / tau_m exp(-h/tau_m)`).
pub fn p_synaptic(h: f64, tau_m: f64, tau_s: f64, r: f64) -> f64 {
    let c = tau_m / r;
    let p_linear =
        1.0 / (2.0 * c * tau_m * tau_m) * h * h * (tau_s - tau_m) * libm::exp(-h / tau_m);
    let p_singular = h / c * libm::exp(-h / tau_m);
    if tau_m == tau_s {
        return p_singular;
    }
    let p = -tau_m / (c * (1.0 - tau_m / tau_s))
        * libm::exp(-h / tau_s)
        * libm::expm1(h * (1.0 / tau_s - 1.0 / tau_m));
    if (tau_m - tau_s).abs() < 0.1 && (p - p_singular).abs() > 2.0 * p_linear.abs() {
        p_singular
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propagators_match_the_closed_forms() {
        let (h, tm, ts, r): (f64, f64, f64, f64) = (0.1, 20.0, 5.0, 1.0);
        let closed = r * ts / (tm - ts) * ((-h / tm).exp() - (-h / ts).exp());
        assert!((p_synaptic(h, tm, ts, r) - closed).abs() < 1e-15);
        assert!((p_current(h, tm, 40.0) - 40.0 * (1.0 - (-h / tm).exp())).abs() < 1e-13);
        // Near the singularity the limit holds.
        let near = p_synaptic(h, 10.0, 10.0 + 1e-9, 1.0);
        let limit = h / 10.0 * (-h / 10.0f64).exp();
        assert!((near - limit).abs() < 1e-12, "{near} {limit}");
        assert_eq!(p_synaptic(h, 10.0, 10.0, 1.0), limit);
    }

    #[test]
    fn parses_synapse_kinds() {
        assert_eq!(SynapseKind::parse(None, None).unwrap(), SynapseKind::Delta);
        assert_eq!(
            SynapseKind::parse(Some("exponential"), Some(5.0)).unwrap(),
            SynapseKind::Exponential { tau_syn: 5.0 }
        );
        assert!(SynapseKind::parse(Some("exponential"), None).is_err());
        assert!(SynapseKind::parse(Some("delta"), Some(2.0)).is_err());
        assert!(SynapseKind::parse(Some("alpha"), None)
            .unwrap_err()
            .to_string()
            .contains("unknown synapse type"));
    }
}
