//! The seed's run as a network ([`seed_network`]): one population of the
//! seed's Euler LIF neuron (`lif_euler`) and one dense projection of `W`
//! whose spikes act within their own step, on the seed's time axis
//! ([`Timing::Seed`]). The network engine runs it to the seed's spike train
//! bit for bit:
//!
//! - `I_syn = W @ fired` is an exponential current with `tau_syn = dt`
//!   under forward Euler: the weights arriving at `t_k` (delay 0, added
//!   into the current in source order, as the seed sums its columns) drive
//!   the step from `t_k` to `t_{k+1}`, after which the current decays by
//!   `1 - dt / tau_syn = 0` exactly;
//! - `lif_euler`'s update is the seed's `V + dt/tau_m ((-V + v_rest) + r
//!   (I_syn + i_ext))` in that order;
//! - the weights are stored as dense columns (`connectivity = "dense"`),
//!   one contiguous vector add per spike.

use std::path::Path;

use crate::error::{Error, Result};
use crate::inputs::ExternalCurrent;
use crate::model::{Dtype, LifParams};
use crate::network::description::{
    Connectivity, NetworkDescription, Population, Projection, Rule, Timing,
};
use crate::network::distribution::Value;
use crate::neuron::Model;
use crate::recording::RecordMode;
use crate::synapses::SynapseKind;

/// The name of the seed network's one population.
pub const POPULATION: &str = "lif";

/// The seed's run of the weights `W` (N x N, `W[i, j]` from `j` onto `i`)
/// with parameters `params`, external current `current` and initial
/// potentials `v0` (mV, one per neuron), in `dtype`, as a network
/// description; `n` is N. `weights` is an `.npy` file of `W` (each range of
/// neurons reads its rows: MPI ranks), or `None` for a matrix handed to the
/// simulation in memory and read in place ([`Rule::Given`],
/// [`crate::NetworkSimulation::with_matrix`]).
pub fn seed_network(
    weights: Option<&Path>,
    n: usize,
    params: &LifParams,
    current: &ExternalCurrent,
    v0: Vec<f64>,
    dtype: Dtype,
) -> Result<NetworkDescription> {
    params.validate()?;
    params.refractory_steps()?;
    current.validate(n)?;
    if v0.len() != n {
        return Err(Error::array(
            "v0",
            format!("has {} values for {n} neurons", v0.len()),
        ));
    }
    let per_neuron = |v: Vec<f64>| Value::PerNeuron(v.into());
    let population = Population {
        name: POPULATION.into(),
        size: n,
        tau_m: params.tau_m,
        v_rest: params.v_rest(),
        v_reset: params.v_reset,
        v_thresh: params.v_thresh,
        r: params.r,
        t_ref: params.t_ref,
        i_ext: match current {
            ExternalCurrent::Constant(x) => Value::Constant(*x),
            ExternalCurrent::PerNeuron(v) => per_neuron(v.clone()),
        },
        v0: per_neuron(v0),
        model: Model::LifEuler,
    };
    let projection = Projection {
        source: vec![POPULATION.into()],
        target: vec![POPULATION.into()],
        rule: match weights {
            Some(path) => Rule::File {
                path: path.to_path_buf(),
                scale: 1.0,
            },
            None => Rule::Given,
        },
        allow_autapses: true,
        allow_multapses: false,
        weight: Value::Constant(1.0),
        delay: Value::Constant(0.0),
        synapse: SynapseKind::Exponential { tau_syn: params.dt },
        connectivity: Connectivity::Dense,
    };
    Ok(NetworkDescription {
        name: "seed".into(),
        dt: params.dt,
        duration: params.t_max,
        timing: Timing::Seed,
        seed: 1,
        dtype,
        populations: vec![population],
        projections: vec![projection],
        inputs: Vec::new(),
        record: RecordMode::Dense,
        monitors: Default::default(),
        base_dir: Default::default(),
    })
}
