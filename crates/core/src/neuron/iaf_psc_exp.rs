//! `iaf_psc_exp`: NEST's leaky integrate-and-fire neuron with exponential
//! synaptic currents, integrated exactly with NEST's propagators
//! (`y = y P22 + sum_c I_c P21_c + i_ext P20`, then `I_c *= P11_c`; a spike
//! adds its weight (nA) to its channel's current at its arrival). lifsim's
//! version also accepts delta synapses (NEST's has a separate model for
//! them), which act as in `iaf_psc_delta`.

use super::psc::Psc;
use super::{Dynamics, NeuronModel, Receptor};
use crate::error::Result;
use crate::model::Real;
use crate::network::description::Population;
use crate::synapses::SynapseKind;

/// NEST's `iaf_psc_exp`.
pub struct IafPscExp;

impl NeuronModel for IafPscExp {
    const NAME: &'static str = "iaf_psc_exp";
    const ABOUT: &'static str =
        "NEST's iaf_psc_exp: exact integration, exponential (and delta) current synapses";
    const STATE: &'static [&'static str] = &["y", "isyn#"];

    fn accepts(kind: &SynapseKind) -> bool {
        matches!(kind, SynapseKind::Delta | SynapseKind::Exponential { .. })
    }

    fn build<T: Real>(
        p: &Population,
        dt: f64,
        receptors: &[Receptor],
    ) -> Result<Box<dyn Dynamics<T>>> {
        Ok(Psc::boxed(Self::NAME, true, p, dt, receptors))
    }
}
