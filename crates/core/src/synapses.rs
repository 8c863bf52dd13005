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
//! - [`SynapseKind::Alpha`]: an alpha-shaped current `I(t) = w (t/tau_syn) e^{1 - t/tau_syn}`
//!   (peak `w` nA at `t = tau_syn`), as in NEST's `iaf_psc_alpha` (weights in pA there).
//! - [`SynapseKind::Conductance`]: the conductance `g` (µS) jumps by the weight and
//!   decays with `tau_syn`; it drives `g (e_rev - V)` nA into the neuron, as in NEST's
//!   `iaf_cond_exp` (weights in nS there: divide by 1000; its excitatory and
//!   inhibitory ports are two synapse types here, with their own `e_rev`).
//!
//! Synapses of equal kind and constants share one state variable per neuron
//! (a "channel"), as NEST's `iaf_psc_exp` shares `I_syn_ex` among all
//! excitatory inputs. Which kinds a population accepts is its neuron model's
//! choice ([`crate::neuron`]).

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
    /// An alpha-shaped current peaking at the weight (nA) `tau_syn` (ms) after arrival.
    Alpha {
        /// Rise and decay time constant of the current (ms).
        tau_syn: f64,
    },
    /// The conductance jumps by the weight (µS), decays with `tau_syn` (ms) and
    /// drives the membrane towards `e_rev` (mV).
    Conductance {
        /// Decay time constant of the conductance (ms).
        tau_syn: f64,
        /// Reversal potential (mV).
        e_rev: f64,
    },
}

/// The synapse types a network file can name.
pub const SYNAPSE_TYPES: &str = "delta, exponential, alpha or conductance";

/// Their names, as [`SynapseKind::name`] gives them.
pub const ALL_NAMES: [&str; 4] = ["delta", "exponential", "alpha", "conductance"];

impl SynapseKind {
    /// From the network file's `synapse = "..."`, `tau_syn = ...` and `e_rev = ...`.
    pub fn parse(name: Option<&str>, tau_syn: Option<f64>, e_rev: Option<f64>) -> Result<Self> {
        let name = name.unwrap_or("delta");
        let kind = match name {
            "delta" => "delta",
            "exponential" | "exp" => "exponential",
            "alpha" => "alpha",
            "conductance" | "cond_exp" => "conductance",
            other => {
                return Err(Error::param(
                    "synapse",
                    format!("unknown synapse type {other:?}; choose {SYNAPSE_TYPES}"),
                ))
            }
        };
        if kind != "conductance" && e_rev.is_some() {
            return Err(Error::param(
                "e_rev",
                "only conductance synapses have a reversal potential (synapse = \"conductance\")",
            ));
        }
        let tau = match (kind, tau_syn) {
            ("delta", None) => return Ok(SynapseKind::Delta),
            ("delta", Some(_)) => {
                return Err(Error::param(
                    "tau_syn",
                    "only exponential, alpha and conductance synapses have a time constant (synapse = \"exponential\")",
                ))
            }
            (_, None) => {
                return Err(Error::param(
                    "tau_syn",
                    format!("{kind} synapses need tau_syn (ms)"),
                ))
            }
            (_, Some(tau)) => tau,
        };
        if !(tau.is_finite() && tau > 0.0) {
            return Err(Error::param(
                "tau_syn",
                format!("must be > 0 ms, got {tau}"),
            ));
        }
        match kind {
            "exponential" => Ok(SynapseKind::Exponential { tau_syn: tau }),
            "alpha" => Ok(SynapseKind::Alpha { tau_syn: tau }),
            _ => match e_rev {
                Some(e) if e.is_finite() => Ok(SynapseKind::Conductance {
                    tau_syn: tau,
                    e_rev: e,
                }),
                Some(e) => Err(Error::param("e_rev", format!("must be finite, got {e}"))),
                None => Err(Error::param(
                    "e_rev",
                    "conductance synapses need e_rev (mV), their reversal potential",
                )),
            },
        }
    }

    /// A synapse of the type named `name` (one of [`ALL_NAMES`]), with
    /// arbitrary constants: for asking a model whether it accepts the type.
    pub fn example(name: &str) -> Self {
        match name {
            "delta" => SynapseKind::Delta,
            "exponential" => SynapseKind::Exponential { tau_syn: 1.0 },
            "alpha" => SynapseKind::Alpha { tau_syn: 1.0 },
            _ => SynapseKind::Conductance {
                tau_syn: 1.0,
                e_rev: 0.0,
            },
        }
    }

    /// The name a network file gives this kind.
    pub fn name(&self) -> &'static str {
        match self {
            SynapseKind::Delta => "delta",
            SynapseKind::Exponential { .. } => "exponential",
            SynapseKind::Alpha { .. } => "alpha",
            SynapseKind::Conductance { .. } => "conductance",
        }
    }

    /// Whether a spike's weight acts on the potential at its arrival (a
    /// delta synapse: the jump is part of the step that ends at the arrival),
    /// rather than on a synaptic variable that acts from the arrival on.
    pub fn is_jump(&self) -> bool {
        matches!(self, SynapseKind::Delta)
    }

    /// The unit of the weight.
    pub fn weight_unit(&self) -> &'static str {
        match self {
            SynapseKind::Delta => "mV",
            SynapseKind::Exponential { .. } | SynapseKind::Alpha { .. } => "nA",
            SynapseKind::Conductance { .. } => "µS",
        }
    }

    /// The smallest delay this synapse supports, in steps: a delta synapse acts
    /// on the potential that is compared with the threshold at its arrival, so
    /// it needs at least one step (NEST's minimum delay); an exponential synapse
    /// acts from the next step on, so it may arrive in the step it was sent
    /// (Brian2's default delay 0).
    pub fn min_delay_steps(&self) -> u32 {
        u32::from(self.is_jump())
    }
}

impl std::fmt::Display for SynapseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SynapseKind::Delta => f.write_str("delta"),
            SynapseKind::Exponential { tau_syn } => write!(f, "exponential (tau_syn {tau_syn} ms)"),
            SynapseKind::Alpha { tau_syn } => write!(f, "alpha (tau_syn {tau_syn} ms)"),
            SynapseKind::Conductance { tau_syn, e_rev } => {
                write!(f, "conductance (tau_syn {tau_syn} ms, e_rev {e_rev} mV)")
            }
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
        assert_eq!(
            SynapseKind::parse(None, None, None).unwrap(),
            SynapseKind::Delta
        );
        assert_eq!(
            SynapseKind::parse(Some("exponential"), Some(5.0), None).unwrap(),
            SynapseKind::Exponential { tau_syn: 5.0 }
        );
        assert!(SynapseKind::parse(Some("exponential"), None, None).is_err());
        assert!(SynapseKind::parse(Some("delta"), Some(2.0), None).is_err());
        assert_eq!(
            SynapseKind::parse(Some("alpha"), Some(0.5), None).unwrap(),
            SynapseKind::Alpha { tau_syn: 0.5 }
        );
        assert_eq!(
            SynapseKind::parse(Some("conductance"), Some(5.0), Some(0.0)).unwrap(),
            SynapseKind::Conductance {
                tau_syn: 5.0,
                e_rev: 0.0
            }
        );
        assert!(SynapseKind::parse(Some("conductance"), Some(5.0), None).is_err());
        assert!(SynapseKind::parse(Some("exponential"), Some(5.0), Some(0.0)).is_err());
        assert!(SynapseKind::parse(Some("alphaa"), None, None)
            .unwrap_err()
            .to_string()
            .contains("unknown synapse type"));
    }
}
