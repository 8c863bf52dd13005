//! `iaf_psc_delta`: NEST's leaky integrate-and-fire neuron with delta
//! synapses. Each spike makes the potential jump by its weight (mV) at its
//! arrival; between spikes the potential relaxes exactly
//! (`y = y e^{-dt/tau_m} + r (1 - e^{-dt/tau_m}) i_ext`, `y = V - v_rest`), in
//! NEST's order: decay, the jumps arriving at the end of the step, the
//! threshold. Input arriving during the refractory period is lost (NEST's
//! `refractory_input = False`).

use super::psc::Psc;
use super::{Dynamics, NeuronModel, Receptor};
use crate::error::Result;
use crate::model::Real;
use crate::network::description::Population;
use crate::synapses::SynapseKind;

/// NEST's `iaf_psc_delta`.
pub struct IafPscDelta;

impl NeuronModel for IafPscDelta {
    const NAME: &'static str = "iaf_psc_delta";
    const ABOUT: &'static str = "NEST's iaf_psc_delta: exact integration, delta synapses";
    const STATE: &'static [&'static str] = &["y"];

    fn accepts(kind: &SynapseKind) -> bool {
        matches!(kind, SynapseKind::Delta)
    }

    fn build<T: Real>(
        p: &Population,
        dt: f64,
        receptors: &[Receptor],
    ) -> Result<Box<dyn Dynamics<T>>> {
        Ok(Psc::boxed(Self::NAME, true, p, dt, receptors))
    }
}
