//! `lif_euler`: the seed's leaky integrate-and-fire neuron, integrated with
//! forward Euler as the seed's NumPy/JAX code does
//! (`V += dt/tau_m ((-V + v_rest) + r (i_ext + I_syn))`), with delta and
//! exponential synapses (Brian2's `method='euler'`). The seed's dense run is
//! this model with instantaneous synapses (`crate::model`).

use super::psc::Psc;
use super::{Dynamics, NeuronModel, Receptor};
use crate::error::Result;
use crate::model::Real;
use crate::network::description::Population;
use crate::synapses::SynapseKind;

/// The seed's forward-Euler LIF neuron.
pub struct LifEuler;

impl NeuronModel for LifEuler {
    const NAME: &'static str = "lif_euler";
    const ABOUT: &'static str =
        "leaky integrate-and-fire, forward Euler (the seed's update); delta and exponential synapses";
    const STATE: &'static [&'static str] = &["y", "isyn#"];

    fn accepts(kind: &SynapseKind) -> bool {
        matches!(kind, SynapseKind::Delta | SynapseKind::Exponential { .. })
    }

    fn build<T: Real>(
        p: &Population,
        dt: f64,
        receptors: &[Receptor],
    ) -> Result<Box<dyn Dynamics<T>>> {
        Ok(Psc::boxed(Self::NAME, false, p, dt, receptors))
    }
}
