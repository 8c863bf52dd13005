//! The neuron models in networks: populations of iaf_psc_alpha,
//! iaf_cond_exp and iaf_psc_delta connected with delays of several steps, so
//! that partitions exchange spikes once per minimum delay. Spikes and every
//! state bit are the same whatever the thread count, however the run is cut
//! into stretches (an interval cut short), and across a checkpoint restored
//! into another partitioning.

use std::path::Path;

use lifsim_core::checkpoint::Checkpoint;
use lifsim_core::recording::{Events, RecordMode, Recorder};
use lifsim_core::{EngineOptions, Isa, Network, NetworkDescription, NetworkSimulation};

const NET: &str = r#"
    duration = 300.0
    seed = 5
    [[population]]
    name = "A"
    size = 500
    model = "iaf_psc_alpha"
    tau_m = 10.0
    v_rest = -70.0
    v_reset = -70.0
    v_thresh = -55.0
    r = 40.0
    t_ref = 2.0
    i_ext = { distribution = "uniform", low = 0.30, high = 0.40 }
    v0 = { distribution = "uniform", low = -70.0, high = -55.0 }
    [[population]]
    name = "C"
    size = 300
    model = "iaf_cond_exp"
    tau_m = 20.0
    v_rest = -60.0
    v_reset = -60.0
    v_thresh = -50.0
    r = 100.0
    t_ref = 5.0
    i_ext = 0.21
    v0 = { distribution = "normal", mean = -55.0, std = 2.0 }
    [[population]]
    name = "D"
    size = 200
    model = "iaf_psc_delta"
    tau_m = 20.0
    v_rest = 0.0
    v_reset = 10.0
    v_thresh = 20.0
    r = 1.0
    t_ref = 2.0
    v0 = { distribution = "uniform", low = 0.0, high = 20.0 }
    [[projection]]
    source = ["A", "C", "D"]
    target = "A"
    rule = "fixed_indegree"
    indegree = 40
    weight = { distribution = "normal", mean = 0.05, std = 0.1 }
    delay = { distribution = "uniform", low = 0.5, high = 3.0 }
    synapse = "alpha"
    tau_syn = 0.5
    [[projection]]
    source = ["A", "D"]
    target = "C"
    rule = "fixed_probability"
    p = 0.1
    weight = 0.004
    delay = 0.7
    synapse = "conductance"
    tau_syn = 5.0
    e_rev = 0.0
    [[projection]]
    source = "C"
    target = "C"
    rule = "fixed_probability"
    p = 0.1
    weight = 0.04
    delay = 0.9
    synapse = "conductance"
    tau_syn = 10.0
    e_rev = -80.0
    [[projection]]
    source = ["A", "C"]
    target = "D"
    rule = "fixed_indegree"
    indegree = 50
    weight = 0.3
    delay = 1.2
    synapse = "delta"
    [[input]]
    type = "poisson"
    target = "D"
    rate = 8000.0
    weight = 0.12
    [[input]]
    type = "spike_generator"
    target = "C"
    times = [20.0, 20.5, 150.0]
    weight = 0.02
    delay = 1.0
    synapse = "conductance"
    tau_syn = 5.0
    e_rev = 0.0
"#;

fn network() -> Network<f64> {
    let desc = NetworkDescription::from_toml(NET, Path::new(""), "models").unwrap();
    Network::build(&desc).unwrap()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Runs on `threads` partitions, stopping at each of `cuts`; spikes and voltage bits.
fn run(net: &Network<f64>, threads: usize, cuts: &[u64]) -> (Events, Vec<u64>) {
    let mut sim = NetworkSimulation::new(net, Some(threads)).unwrap();
    let mut rec = Recorder::new(RecordMode::Events, net.n(), sim.steps() as usize).unwrap();
    for &c in cuts {
        sim.run_until(c, &mut rec);
    }
    sim.run(&mut rec);
    let v = bits(&sim.voltages());
    (rec.finish(0.1).events.unwrap(), v)
}

#[test]
fn every_model_is_active_and_the_interval_is_the_minimum_delay() {
    let net = network();
    // Delays from 0.5 ms: partitions meet every 5 steps.
    assert_eq!(net.min_delay_steps(), 5);
    let (events, _) = run(&net, 1, &[]);
    for (name, range) in &net.populations {
        let n = events
            .ids
            .iter()
            .filter(|&&i| range.contains(&(i as usize)))
            .count();
        let rate = n as f64 / range.len() as f64 / 0.3;
        assert!((1.0..200.0).contains(&rate), "{name}: {rate} Hz");
    }
}

#[test]
fn threads_and_stretches_never_change_a_bit() {
    let net = network();
    let one = run(&net, 1, &[]);
    for (threads, cuts) in [
        (2, vec![]),
        (3, vec![]),
        (2, vec![1, 7, 333, 334, 1001]),
        (3, vec![4, 5, 6, 999, 2503]),
    ] {
        let many = run(&net, threads, &cuts);
        assert!(many == one, "{threads} threads, cut at {cuts:?}");
    }
}

#[test]
fn a_checkpoint_restores_into_any_partitioning() {
    let net = network();
    let whole = run(&net, 1, &[]);
    for (from, to, at) in [(3, 2, 1234), (1, 3, 7), (2, 1, 2997)] {
        let mut first = NetworkSimulation::new(&net, Some(from)).unwrap();
        let mut rec = Recorder::new(RecordMode::Events, net.n(), first.steps() as usize).unwrap();
        first.run_until(at, &mut rec);
        let state = first.save_state();
        let mut second = NetworkSimulation::new(&net, Some(to)).unwrap();
        second.restore_state(&state).unwrap();
        second.run(&mut rec);
        let got = (rec.finish(0.1).events.unwrap(), bits(&second.voltages()));
        assert!(got == whole, "{from} -> {to} threads at step {at}");
    }
}

/// Every instruction set the models' loops are compiled for gives the same
/// bits (the same IEEE operations in the same order, only more lanes).
#[test]
fn every_instruction_set_gives_the_same_bits() {
    let net = network();
    let run_on = |isa: Isa| {
        let options = EngineOptions {
            threads: Some(2),
            isa: Some(isa),
        };
        let mut sim = NetworkSimulation::with_options(&net, &options).unwrap();
        let mut rec = Recorder::new(RecordMode::Events, net.n(), sim.steps() as usize).unwrap();
        sim.run(&mut rec);
        (rec.finish(0.1).events.unwrap(), bits(&sim.voltages()))
    };
    let baseline = run_on(Isa::Baseline);
    assert!(baseline == run(&net, 1, &[]));
    for isa in Isa::available() {
        assert!(run_on(isa) == baseline, "{isa:?}");
    }
}
