//! Monitors: the state variables of chosen neurons at a chosen interval
//! (NEST's `multimeter`, Brian2's `StateMonitor`) and the population rate
//! (Brian2's `PopulationRateMonitor`), kept in memory or (state monitors)
//! streamed to disk.
//!
//! A network file asks for them under `[record]`:
//!
//! ```toml
//! [record]
//! spikes = "events"
//! rate = true                 # or rate = { bin = 1.0 } (ms)
//! state_to = "disk"           # stream the state monitors; default "memory"
//!
//! [[record.state]]
//! population = "E"
//! n = 10                      # the first 10 neurons; or ids = [0, 5, 9] (population-local)
//! variables = ["V_m"]
//! interval = 1.0              # ms, a multiple of dt; default dt
//! ```
//!
//! # Variables
//!
//! Named as NEST's `recordables` of the same model, in lifsim's units:
//!
//! | model | variables |
//! |---|---|
//! | `iaf_psc_delta` | `V_m` (mV) |
//! | `iaf_psc_exp`, `iaf_psc_alpha`, `lif_euler` | `V_m` (mV), `I_syn` (nA) |
//! | `iaf_cond_exp` | `V_m` (mV), `g_ex`, `g_in` (µS) |
//!
//! `I_syn` is the summed synaptic current of every current channel the
//! neuron has (lifsim keeps one channel per synapse type and time constant,
//! whatever the sign of the weights, so NEST's `I_syn_ex` / `I_syn_in`
//! split by sign is not kept). `g_ex` is the summed conductance of the
//! channels whose reversal potential is above the population's `v_rest`,
//! `g_in` that of the others (NEST's two ports; nS there).
//!
//! # Timing
//!
//! As NEST's multimeter: a monitor with interval `i` (steps `m = i / dt`)
//! takes a sample at the end of every step `k` with `(k + 1) % m == 0`, the
//! state *after* that step's threshold and reset, and gives it the time
//! `t = (k + 1) dt`: samples at `i, 2i, 3i, ...` ms (within `start < t <=
//! stop` where given). A neuron that spiked at `t` shows `v_reset` there.
//! The population rate of step `k` is its spikes (those of the spike file
//! at `(k + 1) dt`) over `N dt`, with that time; with `bin = b` ms, the
//! spikes of the `b / dt` steps ending at `t` over `N b`.
//!
//! Samples are kept in memory by default (a monitor the run would fill
//! beyond half the memory available is refused when it is added). With
//! `[record]`'s `state_to = "disk"` ([`Monitors::stream`], `lifsim run
//! --stream-state`) memory holds one block of at most [`STREAM_BLOCK_BYTES`]
//! (the refusal applies to that block): the caller drains the samples
//! ([`crate::NetworkSimulation::drain_state_record`]) every
//! [`crate::NetworkSimulation::state_block_steps`] steps into a
//! [`stream::StateStream`], which writes the same state file at the end.
//! A state restored from a
//! checkpoint starts the monitors again at its step: a resumed `lifsim run`
//! writes the samples from there on.

pub mod files;
mod spec;
pub mod spikes;
pub mod stream;

pub use spec::{Monitors, Neurons, RateSpec, StateMonitorSpec, StatePlan};
pub use spikes::{SpikeFilter, SpikesFrom};

use crate::error::{Error, Result};
use crate::neuron::Model;
use crate::synapses::SynapseKind;

/// The most bytes a streamed run holds of the state monitors' samples
/// between two drains (64 MiB).
pub const STREAM_BLOCK_BYTES: u64 = 64 << 20;

/// Samples of `values` values each in one streamed block (at least one).
pub fn block_samples(values: u64) -> u64 {
    (STREAM_BLOCK_BYTES / values.saturating_mul(8).max(1)).max(1)
}

/// The variables a population of `model` can record, in the order listed.
pub fn recordables(model: Model) -> Vec<&'static str> {
    let state = model.state();
    let mut names = vec!["V_m"];
    if state.contains(&"isyn#") {
        names.push("I_syn");
    }
    if state.contains(&"g#") {
        names.extend(["g_ex", "g_in"]);
    }
    names
}

/// Refuses variable `name` for population `population` of `model`, naming
/// the variables it has.
pub fn check_variable(population: &str, model: Model, name: &str) -> Result<()> {
    let have = recordables(model);
    if have.contains(&name) {
        return Ok(());
    }
    Err(Error::param(
        "variables",
        format!(
            "population {population:?} is {model} and has no variable {name:?} (it has {})",
            have.join(", ")
        ),
    ))
}

/// How a variable is read from a neuron's state arrays.
#[derive(Clone, Debug, PartialEq)]
pub enum Readout {
    /// The membrane potential: the model's first state value, in mV.
    Voltage,
    /// The sum of these state arrays (indices into the model's
    /// `state_names`); none: the neuron has no such channel, the value is 0.
    Sum(Vec<usize>),
}

/// How variable `name` is read from a model whose state arrays are named
/// `names` (the engine's names: `y`, `isyn<c>`, `g<c>`), the network's
/// synapse channels being `channels` and the population's resting
/// potential `v_rest`. The name is one [`recordables`] gives (checked).
pub fn readout(name: &str, names: &[String], channels: &[SynapseKind], v_rest: f64) -> Readout {
    let channel =
        |n: &str, prefix: &str| -> Option<usize> { n.strip_prefix(prefix)?.parse::<usize>().ok() };
    let pick = |keep: &dyn Fn(usize) -> bool, prefix: &str| -> Readout {
        Readout::Sum(
            names
                .iter()
                .enumerate()
                .filter(|(_, n)| channel(n, prefix).is_some_and(keep))
                .map(|(k, _)| k)
                .collect(),
        )
    };
    let excitatory = |c: usize| match channels.get(c) {
        Some(SynapseKind::Conductance { e_rev, .. }) => *e_rev > v_rest,
        _ => false,
    };
    match name {
        "I_syn" => pick(&|_| true, "isyn"),
        "g_ex" => pick(&excitatory, "g"),
        "g_in" => pick(&|c| !excitatory(c), "g"),
        _ => Readout::Voltage,
    }
}

/// The state variables of some neurons over time, merged over partitions.
#[derive(Clone, Debug, PartialEq)]
pub struct StateRecord {
    /// The population recorded.
    pub population: String,
    /// Population-local indices of the neurons, ascending.
    pub ids: Vec<usize>,
    /// Time of each sample (ms).
    pub times_ms: Vec<f64>,
    /// Per variable: its name and values, `times_ms.len()` rows of
    /// `ids.len()` values (row-major).
    pub values: Vec<(String, Vec<f64>)>,
}

/// A population rate over time.
#[derive(Clone, Debug, PartialEq)]
pub struct RateRecord {
    /// Time of each value (ms): the end of its step or bin.
    pub times_ms: Vec<f64>,
    /// Per population: its name, spikes per step or bin, and rate (Hz).
    pub populations: Vec<(String, Vec<u64>, Vec<f64>)>,
}

/// The rate of `spikes` per step of `n` neurons (steps of `dt` ms, the
/// first being step `first`), summed over bins of `bin` steps (complete
/// bins only, aligned to step 0): (times in ms, counts, rates in Hz).
pub fn population_rate(
    spikes: &[u64],
    first: u64,
    n: usize,
    dt: f64,
    bin: u64,
) -> (Vec<f64>, Vec<u64>, Vec<f64>) {
    let bin = bin.max(1);
    let (mut times, mut counts) = (Vec::new(), Vec::new());
    let end = first + spikes.len() as u64;
    // The first bin that starts at or after `first`.
    let mut b = first.div_ceil(bin);
    while (b + 1) * bin <= end {
        let (lo, hi) = ((b * bin - first) as usize, ((b + 1) * bin - first) as usize);
        counts.push(spikes[lo..hi].iter().sum());
        times.push(((b + 1) * bin) as f64 * dt);
        b += 1;
    }
    let width_s = bin as f64 * dt * 1e-3;
    let rates = counts
        .iter()
        .map(|&c| c as f64 / (n as f64 * width_s))
        .collect();
    (times, counts, rates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_records_the_membrane_potential() {
        for m in Model::ALL {
            assert_eq!(recordables(*m)[0], "V_m");
        }
        assert_eq!(recordables(Model::IafPscDelta), ["V_m"]);
        assert_eq!(recordables(Model::IafCondExp), ["V_m", "g_ex", "g_in"]);
        let err = check_variable("E", Model::IafPscExp, "g_ex").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid parameter variables: population \"E\" is iaf_psc_exp and has no variable \"g_ex\" (it has V_m, I_syn)"
        );
    }

    #[test]
    fn conductances_split_by_reversal_potential() {
        let names: Vec<String> = ["v", "g0", "g2"].iter().map(|s| s.to_string()).collect();
        let channels = [
            SynapseKind::Conductance {
                tau_syn: 5.0,
                e_rev: 0.0,
            },
            SynapseKind::Delta,
            SynapseKind::Conductance {
                tau_syn: 10.0,
                e_rev: -80.0,
            },
        ];
        assert_eq!(
            readout("g_ex", &names, &channels, -60.0),
            Readout::Sum(vec![1])
        );
        assert_eq!(
            readout("g_in", &names, &channels, -60.0),
            Readout::Sum(vec![2])
        );
        assert_eq!(readout("V_m", &names, &channels, -60.0), Readout::Voltage);
    }

    #[test]
    fn rates_are_spikes_over_neurons_and_time_in_whole_bins() {
        // 2 neurons, dt 0.5 ms: 1 spike in a step is 1 / (2 * 0.5 ms) = 1000 Hz.
        let (t, c, r) = population_rate(&[1, 0, 2, 1, 3], 0, 2, 0.5, 1);
        assert_eq!(t, [0.5, 1.0, 1.5, 2.0, 2.5]);
        assert_eq!(c, [1, 0, 2, 1, 3]);
        assert_eq!(r, [1000.0, 0.0, 2000.0, 1000.0, 3000.0]);
        let (t, c, r) = population_rate(&[1, 0, 2, 1, 3], 0, 2, 0.5, 2);
        assert_eq!((t, c), (vec![1.0, 2.0], vec![1, 3]));
        assert_eq!(r, [500.0, 1500.0]);
        // Steps 3.. (a record that starts later) keep bins aligned to step 0.
        let (t, c, _) = population_rate(&[5, 1, 1, 1], 3, 1, 1.0, 2);
        assert_eq!((t, c), (vec![6.0], vec![2]));
    }
}
