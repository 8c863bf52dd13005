//! The network engine against analytic results and against itself: a driven
//! neuron fires at the analytic period, synapses act after exactly their
//! delay, connection rules give what they promise, and the thread count
//! never changes a bit.

use std::path::Path;

use lifsim_core::network::sparse::{Delays, Weights};
use lifsim_core::recording::{RecordMode, Recorder, SpikeRecord};
use lifsim_core::{Network, NetworkDescription, NetworkSimulation, Real};

fn parse(text: &str) -> NetworkDescription {
    NetworkDescription::from_toml(text, Path::new(""), "test").unwrap()
}

fn run<T: Real>(desc: &NetworkDescription, threads: usize) -> (SpikeRecord, Vec<f64>) {
    let net = Network::<T>::build(desc).unwrap();
    let mut sim = NetworkSimulation::new(&net, Some(threads)).unwrap();
    assert_eq!(sim.partitions(), threads.min(net.n().div_ceil(64)));
    let mut rec = Recorder::new(RecordMode::Events, net.n(), desc.steps()).unwrap();
    sim.run(&mut rec);
    (rec.finish(desc.dt), sim.voltages())
}

fn spike_steps(rec: &SpikeRecord, neuron: u32) -> Vec<u64> {
    let ev = rec.events.as_ref().unwrap();
    ev.steps
        .iter()
        .zip(&ev.ids)
        .filter(|(_, &i)| i == neuron)
        .map(|(&s, _)| s)
        .collect()
}

/// One neuron under a constant current: V relaxes from v_reset towards
/// v_rest + r I; it crosses v_thresh after t* = tau ln((rI - (v_reset - v_rest)) /
/// (rI - (v_thresh - v_rest))), so with exact integration it spikes at the
/// first step at or after t*, then every ceil(t*/dt) + t_ref/dt steps.
#[test]
fn constant_current_fires_at_the_analytic_period() {
    for (t_ref, i_ext, tau) in [(2.0, 0.4, 10.0), (0.0, 0.5, 20.0), (5.0, 1.0, 15.0)] {
        let text = format!(
            r#"
            duration = 500.0
            [[population]]
            name = "n"
            size = 1
            tau_m = {tau}
            v_rest = -70.0
            v_reset = -70.0
            v_thresh = -55.0
            r = 40.0
            t_ref = {t_ref}
            i_ext = {i_ext}
            v0 = -70.0
            "#
        );
        let desc = parse(&text);
        let (rec, _) = run::<f64>(&desc, 1);
        let ri: f64 = 40.0 * i_ext;
        let t_star = tau * (ri / (ri - 15.0)).ln();
        let x = t_star / 0.1;
        assert!((x - x.round()).abs() > 1e-3, "t* on the grid: {x}");
        let first = x.ceil() as u64; // steps from reset to the crossing
        let period = first + (t_ref / 0.1_f64).round() as u64;
        let steps = spike_steps(&rec, 0);
        assert!(steps.len() >= 10, "{steps:?}");
        // Step k ends at t_{k+1}: the first spike is at step first - 1.
        for (m, &s) in steps.iter().enumerate() {
            assert_eq!(
                s,
                first - 1 + m as u64 * period,
                "spike {m} (t_ref {t_ref})"
            );
        }
        // The period is the analytic t_ref + t*, rounded up to the grid.
        let analytic = t_ref + t_star;
        let got = period as f64 * 0.1;
        assert!(
            got >= analytic && got - analytic < 0.1,
            "{got} vs {analytic}"
        );
    }
}

/// Forward Euler reproduces the seed's update written out by hand.
#[test]
fn euler_integration_is_the_seed_formula() {
    let desc = parse(
        r#"
        duration = 300.0
        dt = 0.1
        [[population]]
        name = "n"
        size = 1
        tau_m = 20.0
        v_rest = -65.0
        v_reset = -65.0
        v_thresh = -50.0
        r = 1.0
        i_ext = 20.0
        integration = "euler"
        "#,
    );
    let (rec, v_end) = run::<f64>(&desc, 1);
    let (mut v, mut spikes) = (-65.0f64, Vec::new());
    for k in 0..desc.steps() as u64 {
        v = v + (0.1 / 20.0) * ((-v + -65.0) + 1.0 * 20.0);
        if v >= -50.0 {
            spikes.push(k);
            v = -65.0;
        }
    }
    assert!(spikes.len() > 5);
    assert_eq!(spike_steps(&rec, 0), spikes);
    assert_eq!(v_end[0].to_bits(), v.to_bits());
}

/// A spike at t reaches its target at t + delay: a delta synapse moves the
/// target's V at exactly that step; an exponential synapse with delay 0 acts
/// on V from the next step (Brian2's default), with delay d from d steps later.
#[test]
fn synapses_act_after_exactly_their_delay() {
    // The source fires once at a known step (a spike generator at 1.0 ms with
    // 0.1 ms delay and a huge weight makes it cross at step 10).
    for (synapse, delay) in [
        ("synapse = \"delta\"", 0.1),
        ("synapse = \"delta\"", 1.3),
        ("synapse = \"exponential\"\ntau_syn = 2.0", 0.0),
        ("synapse = \"exponential\"\ntau_syn = 2.0", 0.7),
    ] {
        let text = format!(
            r#"
            duration = 5.0
            [[population]]
            name = "src"
            size = 1
            v_rest = 0.0
            v_reset = 0.0
            v_thresh = 10.0
            v0 = 0.0
            t_ref = 100.0
            [[population]]
            name = "tgt"
            size = 1
            v_rest = 0.0
            v_reset = 0.0
            v_thresh = 1000.0
            v0 = 0.0
            [[input]]
            type = "spike_generator"
            target = "src"
            times = [1.0]
            delay = 0.1
            weight = 50.0
            [[projection]]
            source = "src"
            target = "tgt"
            rule = "one_to_one"
            weight = 2.0
            delay = {delay}
            {synapse}
            "#
        );
        let desc = parse(&text);
        let net = Network::<f64>::build(&desc).unwrap();
        let mut sim = NetworkSimulation::new(&net, Some(1)).unwrap();
        let mut rec = Recorder::new(RecordMode::Events, 2, desc.steps()).unwrap();
        let mut first_move = None;
        for k in 0..desc.steps() as u64 {
            sim.run_until(k + 1, &mut rec);
            if first_move.is_none() && sim.voltages()[1] != 0.0 {
                first_move = Some(k);
            }
        }
        let rec = rec.finish(desc.dt);
        // Arrival at 1.1 ms: step 10 ends there, so the source spikes at step 10.
        assert_eq!(spike_steps(&rec, 0), vec![10], "{synapse}");
        let d = (delay / 0.1_f64).round() as u64;
        let expected = if synapse.contains("delta") {
            10 + d // the jump is in V at t_{11 + d}, the end of step 10 + d
        } else {
            10 + d + 1 // the current starts at t_{11 + d}; V moves during the next step
        };
        assert_eq!(first_move, Some(expected), "{synapse}, delay {delay}");
    }
}

fn mixed_network(seed: u64) -> NetworkDescription {
    // Delta and three exponential time constants (the general path), per
    // synapse weights and delays, Poisson and spike-time inputs, a drawn
    // current, two integrations.
    parse(&format!(
        r#"
        duration = 200.0
        seed = {seed}
        [[population]]
        name = "E"
        size = 700
        tau_m = 20.0
        v_rest = -60.0
        v_reset = -65.0
        v_thresh = -50.0
        r = 1.0
        t_ref = 2.0
        v0 = {{ distribution = "uniform", low = -65.0, high = -50.0 }}
        i_ext = {{ distribution = "normal", mean = 8.0, std = 2.0 }}
        [[population]]
        name = "I"
        size = 300
        tau_m = 10.0
        v_rest = -60.0
        v_reset = -65.0
        v_thresh = -50.0
        t_ref = 1.0
        integration = "euler"
        v0 = {{ distribution = "uniform", low = -65.0, high = -50.0 }}
        [[projection]]
        source = "E"
        target = ["E", "I"]
        rule = "fixed_indegree"
        indegree = 60
        weight = {{ distribution = "normal", mean = 0.3, std = 0.1 }}
        delay = {{ distribution = "uniform", low = 0.5, high = 3.0 }}
        synapse = "delta"
        [[projection]]
        source = "I"
        target = ["E", "I"]
        rule = "fixed_probability"
        p = 0.1
        weight = -0.8
        delay = 0.0
        synapse = "exponential"
        tau_syn = 5.0
        [[projection]]
        source = "E"
        target = "I"
        rule = "fixed_probability"
        p = 0.05
        weight = {{ distribution = "uniform", low = 0.1, high = 0.5 }}
        delay = 1.0
        synapse = "exponential"
        tau_syn = 2.0
        [[projection]]
        source = "I"
        target = "E"
        rule = "all_to_all"
        allow_autapses = false
        weight = -0.01
        delay = 2.0
        synapse = "exponential"
        tau_syn = 8.0
        [[input]]
        type = "poisson"
        target = ["E", "I"]
        rate = 800.0
        weight = 0.5
        [[input]]
        type = "spike_generator"
        target = "I"
        neurons = [0, 5, 299]
        times = [10.0, 10.1, 50.0]
        weight = 20.0
        delay = 1.0
        "#
    ))
}

/// Threads (partitions) never change a bit: spikes and final voltages are
/// identical for 1, 2, 3 and 5 partitions, in float64 and float32.
#[test]
fn threads_never_change_a_bit() {
    let desc = mixed_network(7);
    let (one, v_one) = run::<f64>(&desc, 1);
    assert!(one.total > 1000, "the network is active: {}", one.total);
    for threads in [2, 3, 5] {
        let (many, v_many) = run::<f64>(&desc, threads);
        assert_eq!(one.events, many.events, "{threads} threads");
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&v_one), bits(&v_many), "{threads} threads");
    }
    let (a, _) = run::<f32>(&desc, 1);
    let (b, _) = run::<f32>(&desc, 4);
    assert_eq!(a.events, b.events);
    // And the seed matters.
    let (other, _) = run::<f64>(&mixed_network(8), 1);
    assert_ne!(one.events, other.events);
}

/// Building on one thread, on three, or on every core gives the same synapses.
#[test]
fn construction_is_deterministic_whatever_the_threads() {
    let desc = mixed_network(3);
    let build = |threads| Network::<f64>::build_on(&desc, threads).unwrap();
    let a = build(Some(1));
    for b in [build(Some(3)), build(None)] {
        for (p, q) in a.projections.iter().zip(&b.projections) {
            assert_eq!(p.csr.triples(), q.csr.triples());
        }
        assert_eq!(a.v0, b.v0);
        assert_eq!(a.i_ext, b.i_ext);
    }
    let zero = Network::<f64>::build_on(&desc, Some(0)).err().unwrap();
    assert!(zero.to_string().contains("threads"), "{zero}");
}

#[test]
fn connection_rules_give_what_they_promise() {
    let desc = mixed_network(11);
    let net = Network::<f64>::build(&desc).unwrap();
    // fixed_indegree 60 onto all 1000 neurons from E (700 sources).
    let p0 = &net.projections[0];
    assert_eq!(p0.csr.len(), 60 * 1000);
    let mut indegree = vec![0usize; 1000];
    for &t in p0.csr.targets() {
        indegree[t as usize] += 1;
    }
    assert!(indegree.iter().all(|&d| d == 60));
    // Rows hold their synapses by delay, then target; per-synapse delays
    // lie in [5, 30] steps, one byte each.
    let Delays::Byte(d) = p0.csr.delays() else {
        panic!("delays were drawn per synapse, all below 256 steps");
    };
    assert!(d.iter().all(|&d| (5..=30).contains(&d)));
    for s in 0..p0.csr.n_sources() {
        let r = p0.csr.row(s);
        let key = |k: usize| (d[k], p0.csr.targets()[k]);
        assert!(r
            .clone()
            .zip(r.clone().skip(1))
            .all(|(a, b)| key(a) <= key(b)));
    }
    // fixed_probability 0.1: 300 sources x 1000 targets, within 5 sigma.
    let n = net.projections[1].csr.len() as f64;
    let (mean, sd) = (0.1 * 300_000.0, (300_000.0 * 0.1 * 0.9f64).sqrt());
    assert!((n - mean).abs() < 5.0 * sd, "{n}");
    // all_to_all without autapses I -> E: populations differ, so 300 x 700.
    assert_eq!(net.projections[3].csr.len(), 300 * 700);
    // Weights drawn uniform stay in their bounds.
    // Drawn weights are kept in single precision.
    let Weights::Single(w) = net.projections[2].csr.weights() else {
        panic!("weights were drawn per synapse");
    };
    assert!(w.iter().all(|&w| (0.1..0.5).contains(&w)));
    assert_eq!(net.channels.len(), 4);
}

#[test]
fn autapses_can_be_excluded() {
    for rule in [
        "rule = \"all_to_all\"",
        "rule = \"fixed_indegree\"\nindegree = 30\nallow_multapses = false",
        "rule = \"fixed_probability\"\np = 0.5",
        "rule = \"one_to_one\"",
    ] {
        let desc = parse(&format!(
            r#"
            duration = 1.0
            [[population]]
            name = "P"
            size = 40
            [[projection]]
            source = "P"
            target = "P"
            {rule}
            allow_autapses = false
            weight = 1.0
            delay = 1.0
            "#
        ));
        let net = Network::<f64>::build(&desc).unwrap();
        let t = net.projections[0].csr.triples();
        assert!(t.iter().all(|&(s, tg, _, _)| s as u32 != tg), "{rule}");
        if rule.contains("multapses") {
            let mut pairs: Vec<_> = t.iter().map(|&(s, tg, _, _)| (s, tg)).collect();
            let before = pairs.len();
            pairs.sort();
            pairs.dedup();
            assert_eq!(pairs.len(), before);
            assert_eq!(before, 30 * 40);
        }
    }
}

#[test]
fn impossible_requests_are_refused_with_their_name() {
    let base = r#"
        duration = 1.0
        [[population]]
        name = "P"
        size = 10
        [[projection]]
        source = "P"
        target = "P"
        rule = "fixed_indegree"
        indegree = 20
        allow_multapses = false
        weight = 1.0
        delay = 1.0
    "#;
    let err = NetworkDescription::from_toml(base, Path::new(""), "t")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid parameter indegree") && err.contains("20 distinct"),
        "{err}"
    );
    let err = NetworkDescription::from_toml(
        &base.replace("allow_multapses = false", "").replace(
            "delay = 1.0",
            "delay = { distribution = \"normal\", mean = 1.0, std = 0.5 }",
        ),
        Path::new(""),
        "t",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("invalid parameter delay"), "{err}");
    let err = NetworkDescription::load(Path::new("/nonexistent/net.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/nonexistent/net.toml"), "{err}");
}

/// A `current` input is the same as the population's own `i_ext`, and a
/// spike generator onto a subset reaches exactly those neurons.
#[test]
fn current_and_spike_generator_inputs_reach_their_targets() {
    let base = r#"
        duration = 100.0
        [[population]]
        name = "P"
        size = 6
        v_rest = -70.0
        v_reset = -70.0
        v_thresh = -55.0
        r = 40.0
        t_ref = 2.0
        v0 = -70.0
    "#;
    let own = parse(&base.replace("t_ref = 2.0", "t_ref = 2.0\ni_ext = 0.45"));
    let added = parse(&format!(
        "{base}\n[[input]]\ntype = \"current\"\ntarget = \"P\"\namplitude = 0.45\n"
    ));
    let (a, _) = run::<f64>(&own, 1);
    let (b, _) = run::<f64>(&added, 1);
    assert!(a.total > 10);
    assert_eq!(a.events, b.events);
    let kicked = parse(&format!(
        "{base}\n[[input]]\ntype = \"spike_generator\"\ntarget = \"P\"\nneurons = [1, 4]\n\
         times = [10.0, 30.0]\nweight = 20.0\ndelay = 1.0\n"
    ));
    let (c, _) = run::<f64>(&kicked, 1);
    // Spikes at 10 and 30 ms arrive at 11 and 31 ms: the end of steps 109 and 309.
    for n in 0..6u32 {
        let want: Vec<u64> = if n == 1 || n == 4 {
            vec![109, 309]
        } else {
            vec![]
        };
        assert_eq!(spike_steps(&c, n), want, "neuron {n}");
    }
}

/// A projection onto populations listed out of order (`["p1", "p0"]`) gives
/// rows whose targets are not in id order as drawn; they are stored sorted,
/// so every thread count finds its share of them (two threads once panicked
/// in a worker and hung).
#[test]
fn targets_listed_out_of_order_run_on_any_thread_count() {
    let desc = parse(
        r#"
        dt = 0.1
        duration = 100.0
        seed = 4
        [[population]]
        name = "p0"
        size = 300
        v_rest = -49.0
        v_reset = -60.0
        v_thresh = -50.0
        t_ref = 2.0
        [[population]]
        name = "p1"
        size = 300
        v_rest = -55.0
        v_reset = -60.0
        v_thresh = -50.0
        [[projection]]
        source = "p0"
        target = ["p1", "p0"]
        rule = "fixed_probability"
        p = 0.1
        weight = { distribution = "uniform", low = 0.5, high = 2.0 }
        delay = { distribution = "uniform", low = 0.1, high = 2.0 }
        synapse = "delta"
        "#,
    );
    let (one, _) = run::<f64>(&desc, 1);
    assert!(one.total > 1000, "active: {}", one.total);
    for threads in [2, 3] {
        let (many, _) = run::<f64>(&desc, threads);
        assert_eq!(one.events, many.events, "{threads} threads");
    }
}
