//! State and rate monitors ([`lifsim_core::monitor`]): samples against the
//! analytic membrane potential and conductance, their times, the rate
//! against the spike record, and the same bits whatever the threads or the
//! pieces a run is cut into.

use std::path::Path;

use lifsim_core::monitor::{Monitors, Neurons, RateSpec, StateMonitorSpec};
use lifsim_core::network::Recipe;
use lifsim_core::recording::{RecordMode, Recorder, SpikeRecord};
use lifsim_core::{NetworkDescription, NetworkSimulation};

fn parse(text: &str) -> NetworkDescription {
    NetworkDescription::from_toml(text, Path::new(""), "test").unwrap()
}

fn parse_err(text: &str) -> String {
    NetworkDescription::from_toml(text, Path::new(""), "test")
        .unwrap_err()
        .to_string()
}

/// One neuron of `model` under a constant current below threshold,
/// starting at rest, its `V_m` sampled every `interval` ms.
fn dc_neuron(model: &str, interval: &str) -> String {
    format!(
        r#"
        dt = 0.1
        duration = 60.0
        [[population]]
        name = "N"
        size = 1
        model = "{model}"
        tau_m = 10.0
        r = 40.0
        v_rest = -70.0
        v_reset = -70.0
        v_thresh = -50.0
        v0 = -70.0
        i_ext = 0.3
        [record]
        [[record.state]]
        population = "N"
        variables = ["V_m"]
        {interval}
        "#
    )
}

fn run(
    desc: &NetworkDescription,
    threads: usize,
) -> (NetworkSimulation<'static, f64>, SpikeRecord) {
    let recipe = Recipe::<f64>::new(desc).unwrap();
    let options = lifsim_core::EngineOptions {
        threads: Some(threads),
        isa: None,
    };
    let mut sim = NetworkSimulation::owning(recipe, &options).unwrap();
    let mut rec = Recorder::new(RecordMode::Events, desc.n(), desc.steps()).unwrap();
    sim.run(&mut rec);
    (sim, rec.finish(desc.dt))
}

/// `V(t) = E_L + R I (1 - e^{-t/tau_m})` at the sampled times `i, 2i, ...`
/// (the state at the end of the step ending at `t`), for every exact model.
#[test]
fn a_dc_driven_neuron_follows_the_analytic_curve_at_the_sampled_times() {
    for model in [
        "iaf_psc_delta",
        "iaf_psc_exp",
        "iaf_psc_alpha",
        "iaf_cond_exp",
    ] {
        let desc = parse(&dc_neuron(model, "interval = 1.5"));
        let (sim, spikes) = run(&desc, 1);
        assert_eq!(spikes.total, 0, "{model}: below threshold");
        let rec = sim.state_record(0);
        let want_t: Vec<f64> = (1..=40).map(|k| k as f64 * 1.5).collect();
        assert_eq!(rec.times_ms.len(), 40, "{model}");
        for (t, w) in rec.times_ms.iter().zip(&want_t) {
            assert!((t - w).abs() < 1e-12, "{model}: {t} vs {w}");
        }
        assert_eq!(rec.values[0].0, "V_m");
        for (t, v) in rec.times_ms.iter().zip(&rec.values[0].1) {
            let exact = -70.0 + 40.0 * 0.3 * (1.0 - (-t / 10.0).exp());
            let tol = if model == "iaf_cond_exp" { 1e-9 } else { 1e-11 };
            assert!(
                ((v - exact) / exact).abs() < tol,
                "{model} t={t}: {v} vs {exact}"
            );
        }
    }
}

/// Default interval: dt, the first sample at dt; start/stop select
/// `start < t <= stop`; a neuron that spiked shows v_reset at that time.
#[test]
fn samples_carry_the_time_of_the_end_of_their_step() {
    let desc = parse(&dc_neuron("iaf_psc_exp", "start = 0.5\nstop = 1.0"));
    let (sim, _) = run(&desc, 1);
    let rec = sim.state_record(0);
    let t: Vec<String> = rec.times_ms.iter().map(|t| format!("{t:.1}")).collect();
    assert_eq!(t, ["0.6", "0.7", "0.8", "0.9", "1.0"]);
    // Above threshold: the sample at a spike's time is v_reset.
    let text = dc_neuron("iaf_psc_exp", "").replace("i_ext = 0.3", "i_ext = 1.0");
    let desc = parse(&text);
    let (sim, spikes) = run(&desc, 1);
    let rec = sim.state_record(0);
    let times = spikes.event_times_ms().unwrap();
    assert!(!times.is_empty());
    for t in times {
        let k = rec
            .times_ms
            .iter()
            .position(|&s| (s - t).abs() < 1e-9)
            .unwrap();
        assert_eq!(rec.values[0].1[k], -70.0, "at {t}");
        assert!(rec.values[0].1[k - 1] > -51.0);
    }
}

/// A conductance synapse: g_ex jumps by the weight at the arrival and decays
/// with tau_syn; g_in stays 0.
#[test]
fn conductances_decay_exactly_after_an_arrival() {
    let text = r#"
        dt = 0.1
        duration = 20.0
        [[population]]
        name = "N"
        size = 1
        model = "iaf_cond_exp"
        v_rest = -70.0
        v_reset = -70.0
        v_thresh = -50.0
        v0 = -70.0
        [[input]]
        type = "spike_generator"
        target = "N"
        times = [2.0]
        delay = 1.0
        weight = 0.01
        synapse = "conductance"
        tau_syn = 5.0
        e_rev = 0.0
        [[input]]
        type = "spike_generator"
        target = "N"
        times = [50.0]
        delay = 1.0
        weight = 0.01
        synapse = "conductance"
        tau_syn = 10.0
        e_rev = -80.0
        [[record.state]]
        population = "N"
        variables = ["g_ex", "g_in", "V_m"]
        "#;
    let (sim, _) = run(&parse(text), 1);
    let rec = sim.state_record(0);
    let (g_ex, g_in) = (&rec.values[0].1, &rec.values[1].1);
    assert!(g_in.iter().all(|&g| g == 0.0));
    for (t, g) in rec.times_ms.iter().zip(g_ex) {
        // Arrival at 3 ms, taken in at the start of the step from 3 ms.
        let want = if *t > 3.0 + 1e-9 {
            0.01 * (-(t - 3.0) / 5.0).exp()
        } else {
            0.0
        };
        assert!((g - want).abs() < 1e-12, "t={t}: {g} vs {want}");
    }
    // The conductance depolarises the neuron.
    assert!(rec.values[2].1.last().unwrap() > &-70.0);
}

/// A projection whose every delay is one step goes straight into the
/// target's conductance after the update of the step that delivers it (the
/// engine's late delivery), a longer delay through the ring buffer: the
/// targets' `g_ex`, `g_in` and `V_m` are the same bits either way, one step
/// apart, and they are sampled before the late arrival as before a ring
/// arrival (the arrival at `t` shows in the sample after `t`). On 1 and 2
/// threads.
#[test]
fn a_one_step_delay_is_a_two_step_delay_one_step_sooner() {
    let net = |delay: f64| {
        parse(&format!(
            r#"
            dt = 0.1
            duration = 40.0
            [[population]]
            name = "S"
            size = 2
            model = "iaf_cond_exp"
            tau_m = 20.0
            r = 100.0
            v_rest = -70.0
            v_reset = -70.0
            v_thresh = -50.0
            i_ext = 0.5
            v0 = -70.0
            [[population]]
            name = "T"
            size = 2
            model = "iaf_cond_exp"
            v_rest = -70.0
            v_reset = -70.0
            i_ext = 0.0
            v0 = -70.0
            [[projection]]
            source = "S"
            target = "T"
            rule = "one_to_one"
            weight = 0.05
            delay = {delay}
            synapse = "conductance"
            tau_syn = 5.0
            e_rev = 0.0
            [[projection]]
            source = "S"
            target = "T"
            rule = "one_to_one"
            weight = 0.02
            delay = {delay}
            synapse = "conductance"
            tau_syn = 10.0
            e_rev = -80.0
            [[record.state]]
            population = "T"
            variables = ["g_ex", "g_in", "V_m"]
            "#
        ))
    };
    let (sim, spikes) = run(&net(0.2), 1);
    let sooner = run(&net(0.1), 1).0.state_record(0);
    let later = sim.state_record(0);
    let sources = spikes.events.as_ref().expect("events").ids.iter();
    assert!(sources.filter(|&&i| i < 2).count() >= 2, "the sources fire");
    for (a, b) in sooner.values.iter().zip(&later.values) {
        // Per neuron, sample i of the one-step run is sample i + 1 of the other.
        let per = |v: &[f64], n: usize| {
            v.iter()
                .skip(n)
                .step_by(2)
                .map(|x| x.to_bits())
                .collect::<Vec<_>>()
        };
        for n in 0..2 {
            let (a, b) = (per(&a.1, n), per(&b.1, n));
            assert!(
                a.windows(2).any(|w| w[0] != w[1]),
                "{} of target {n} changes",
                a.len()
            );
            assert_eq!(a[..a.len() - 1], b[1..], "{} of target {n}", a.len());
        }
    }
    let two = run(&net(0.1), 2).0.state_record(0);
    assert_eq!(two.values, sooner.values);
}

/// A recurrent network with Poisson drive, recorded across the partition
/// boundary, with the rate.
fn recurrent() -> NetworkDescription {
    parse(
        r#"
        dt = 0.1
        duration = 100.0
        seed = 3
        [[population]]
        name = "E"
        size = 150
        v_rest = 0.0
        v_reset = 10.0
        v_thresh = 20.0
        t_ref = 2.0
        tau_m = 20.0
        [[population]]
        name = "I"
        size = 50
        v_rest = 0.0
        v_reset = 10.0
        v_thresh = 20.0
        tau_m = 10.0
        [[projection]]
        source = ["E"]
        target = ["E", "I"]
        rule = "fixed_indegree"
        indegree = 20
        weight = 0.5
        delay = 1.5
        synapse = "exponential"
        tau_syn = 2.0
        [[projection]]
        source = "I"
        target = ["E", "I"]
        rule = "fixed_indegree"
        indegree = 10
        weight = -2.0
        delay = 0.8
        synapse = "exponential"
        tau_syn = 2.0
        [[input]]
        type = "poisson"
        target = ["E", "I"]
        rate = 15000.0
        weight = 0.8
        synapse = "exponential"
        tau_syn = 2.0
        [record]
        rate = true
        [[record.state]]
        population = "E"
        ids = [149, 0, 64, 100]
        variables = ["V_m", "I_syn"]
        interval = 0.5
        [[record.state]]
        population = "I"
        n = 5
        "#,
    )
}

#[test]
fn records_are_the_same_bits_for_any_thread_count() {
    let desc = recurrent();
    let (one, spikes) = run(&desc, 1);
    let (two, spikes2) = run(&desc, 2);
    assert_eq!(two.partitions(), 2);
    assert_eq!(spikes.total, spikes2.total);
    assert!(spikes.total > 100, "the network fires: {}", spikes.total);
    for m in 0..2 {
        let (a, b) = (one.state_record(m), two.state_record(m));
        assert_eq!(a, b);
        let bits = |r: &lifsim_core::monitor::StateRecord| -> Vec<u64> {
            r.values
                .iter()
                .flat_map(|(_, v)| v.iter().map(|x| x.to_bits()))
                .collect()
        };
        assert_eq!(bits(&a), bits(&b));
    }
    let e = one.state_record(0);
    assert_eq!(e.ids, [0, 64, 100, 149]);
    assert_eq!(e.times_ms.len(), 200);
    assert_eq!(e.values[1].1.len(), 200 * 4);
    assert!(e.values[1].1.iter().any(|&i| i != 0.0), "I_syn moves");
    assert_eq!(one.state_record(1).ids, [0, 1, 2, 3, 4]);
    assert_eq!(one.rate_record(), two.rate_record());
}

/// The rate monitor's counts are the spike record's, per population and
/// step, and its rate is count / (N dt).
#[test]
fn the_rate_is_the_spike_count_over_neurons_and_time() {
    let desc = recurrent();
    let (sim, spikes) = run(&desc, 2);
    assert!(spikes.total > 100, "the network fires: {}", spikes.total);
    let rate = sim.rate_record().unwrap();
    assert_eq!(rate.times_ms.len(), desc.steps());
    let ev = spikes.events.as_ref().unwrap();
    for (p, (name, counts, rates)) in rate.populations.iter().enumerate() {
        let (lo, n) = if p == 0 { (0, 150) } else { (150, 50) };
        let mut want = vec![0u64; desc.steps()];
        for (&s, &i) in ev.steps.iter().zip(&ev.ids) {
            if (lo..lo + n).contains(&(i as usize)) {
                want[s as usize] += 1;
            }
        }
        assert_eq!(counts, &want, "{name}");
        for (c, r) in counts.iter().zip(rates) {
            assert_eq!(*r, *c as f64 / (n as f64 * 0.1e-3));
        }
    }
    // Binned: sums of 10 steps over N * 1 ms.
    let mut desc = recurrent();
    desc.monitors.rate = Some(RateSpec { bin: Some(1.0) });
    let (binned, _) = run(&desc, 1);
    let b = binned.rate_record().unwrap();
    assert_eq!(b.times_ms.len(), 100);
    assert!((b.times_ms[0] - 1.0).abs() < 1e-12);
    let (_, unbinned, _) = &rate.populations[0];
    let (_, c, r) = &b.populations[0];
    for k in 0..100 {
        assert_eq!(c[k], unbinned[k * 10..k * 10 + 10].iter().sum::<u64>());
        assert_eq!(r[k], c[k] as f64 / (150.0 * 1e-3));
    }
}

/// A run in pieces records what one run records, bit for bit, and a
/// monitor added later samples from then on.
#[test]
fn a_run_in_pieces_records_the_same_samples() {
    let desc = recurrent();
    let (whole, _) = run(&desc, 1);
    let recipe = Recipe::<f64>::new(&desc).unwrap();
    let mut sim = NetworkSimulation::owning(recipe, &Default::default()).unwrap();
    let mut rec = Recorder::new(RecordMode::Counts, desc.n(), desc.steps()).unwrap();
    sim.run_until(333, &mut rec);
    let late = sim
        .add_state_monitor(&StateMonitorSpec {
            population: "I".into(),
            neurons: Neurons::Ids(vec![3]),
            variables: vec!["V_m".into()],
            interval: Some(1.0),
            start: None,
            stop: None,
        })
        .unwrap();
    sim.run(&mut rec);
    assert_eq!(sim.state_record(0), whole.state_record(0));
    assert_eq!(sim.rate_record(), whole.rate_record());
    let l = sim.state_record(late);
    // Steps 333.. : the first sample at t = 34 ms (step 339).
    assert!((l.times_ms[0] - 34.0).abs() < 1e-9, "{}", l.times_ms[0]);
    assert_eq!(l.times_ms.len(), 67);
    let full = whole.state_record(1); // I, neurons 0..5, every step
    for (k, t) in l.times_ms.iter().enumerate() {
        let s = full
            .times_ms
            .iter()
            .position(|u| (u - t).abs() < 1e-9)
            .unwrap();
        assert_eq!(
            l.values[0].1[k].to_bits(),
            full.values[0].1[s * 5 + 3].to_bits()
        );
    }
}

#[test]
fn monitors_round_trip_through_the_file_format() {
    let desc = recurrent();
    let text = desc.to_toml(Path::new("")).unwrap();
    let back = parse(&text);
    assert_eq!(back.monitors, desc.monitors);
    assert_eq!(desc.monitors.state[1].neurons, Neurons::First(5));
    let mut binned = desc.clone();
    binned.monitors.rate = Some(RateSpec { bin: Some(2.0) });
    binned.monitors.state[0].start = Some(10.0);
    let back = parse(&binned.to_toml(Path::new("")).unwrap());
    assert_eq!(back.monitors, binned.monitors);
    assert!(Monitors::default().is_empty());
}

#[test]
fn bad_monitors_are_named() {
    let base = dc_neuron("iaf_psc_exp", "");
    let cases = [
        (
            base.replace(r#"variables = ["V_m"]"#, r#"variables = ["g_ex"]"#),
            r#"invalid parameter variables: population "N" is iaf_psc_exp and has no variable "g_ex" (it has V_m, I_syn)"#,
        ),
        (
            base.replace(r#"population = "N""#, r#"population = "X""#),
            r#"invalid parameter population: no population named "X" (there are: N)"#,
        ),
        (
            base.replace(r#"variables = ["V_m"]"#, "ids = [0, 1]"),
            r#"invalid parameter ids: state monitor of "N": id 1 is not below the population's size 1"#,
        ),
        (
            base.replace(r#"variables = ["V_m"]"#, "interval = 0.25"),
            "invalid parameter interval: state monitor of \"N\": must be >= 0 and a multiple of dt (0.1 ms), got 0.25",
        ),
        (
            base.replace(r#"variables = ["V_m"]"#, "n = 2"),
            r#"invalid parameter n: state monitor of "N": must be 1 to the population's size 1, got 2"#,
        ),
        (
            base.replace("[record]", "[record]\nrate = { bin = 0.05 }"),
            "invalid parameter bin: rate monitor: must be >= 0 and a multiple of dt (0.1 ms), got 0.05",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse_err(&text), want);
    }
}

/// A monitor the run would fill beyond half the memory is refused when the
/// simulation is built, before a step runs.
#[test]
fn a_monitor_beyond_memory_is_refused() {
    let text = dc_neuron("iaf_psc_exp", "")
        .replace("size = 1", "size = 1000000")
        .replace("duration = 60.0", "duration = 10000000.0");
    let desc = parse(&text);
    let recipe = Recipe::<f64>::new(&desc).unwrap();
    let err = NetworkSimulation::owning(recipe, &Default::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("the state monitor of population \"N\" (100000000 samples x 1000000 values; monitors take at most half the memory available) needs "),
        "{err}"
    );
    assert!(
        err.ends_with("record fewer neurons or variables, sample less often, or run in pieces"),
        "{err}"
    );
}

/// Samples drained in pieces (as a streamed run takes them) concatenate to
/// the record of an undrained run, bit for bit, whatever the threads; a
/// drained monitor holds nothing more.
#[test]
fn drained_pieces_concatenate_to_the_whole_record() {
    let desc = recurrent();
    let (whole, _) = run(&desc, 1);
    for threads in [1, 2] {
        let recipe = Recipe::<f64>::new(&desc).unwrap();
        let options = lifsim_core::EngineOptions {
            threads: Some(threads),
            isa: None,
        };
        let mut sim = NetworkSimulation::owning(recipe, &options).unwrap();
        let mut rec = Recorder::new(RecordMode::Counts, desc.n(), desc.steps()).unwrap();
        let mut got: Vec<lifsim_core::monitor::StateRecord> =
            (0..2).map(|m| sim.drain_state_record(m)).collect();
        assert!(got.iter().all(|r| r.times_ms.is_empty()));
        // Uneven pieces, one ending between two samples of the 0.5 ms monitor.
        for until in [1, 7, 333, 334, 600, 1000] {
            sim.run_until(until, &mut rec);
            for (m, g) in got.iter_mut().enumerate() {
                let piece = sim.drain_state_record(m);
                assert_eq!((&piece.population, &piece.ids), (&g.population, &g.ids));
                g.times_ms.extend(piece.times_ms);
                for ((_, all), (_, p)) in g.values.iter_mut().zip(piece.values) {
                    all.extend(p);
                }
                assert!(sim.state_record(m).times_ms.is_empty());
            }
        }
        for (m, g) in got.iter().enumerate() {
            let w = whole.state_record(m);
            assert_eq!(g.times_ms.len(), w.times_ms.len());
            let bits = |r: &lifsim_core::monitor::StateRecord| -> Vec<u64> {
                let t = r.times_ms.iter().map(|x| x.to_bits());
                t.chain(
                    r.values
                        .iter()
                        .flat_map(|(_, v)| v.iter().map(|x| x.to_bits())),
                )
                .collect()
            };
            assert_eq!(bits(g), bits(&w), "monitor {m}, {threads} thread(s)");
        }
    }
}

/// A streamed monitor (`state_to = "disk"`) holds one block in memory, so
/// the monitor refused above is taken; its whole run's bytes are known for
/// the disk check, and `state_to` round-trips through the file format.
#[test]
fn a_streamed_monitor_is_held_to_one_block() {
    let text = dc_neuron("iaf_psc_exp", "")
        .replace("size = 1", "size = 1000000")
        .replace("duration = 60.0", "duration = 10000000.0")
        .replace("[record]", "[record]\nstate_to = \"disk\"");
    let desc = parse(&text);
    assert!(desc.monitors.stream);
    let back = parse(&desc.to_toml(Path::new("")).unwrap());
    assert_eq!(back.monitors, desc.monitors);
    let recipe = Recipe::<f64>::new(&desc).unwrap();
    let sim = NetworkSimulation::owning(recipe, &Default::default()).unwrap();
    // 1e8 samples of 1e6 values and a time, 8 bytes each.
    assert_eq!(sim.state_bytes_left(), 100_000_000 * 1_000_001 * 8);
    // 8 MB a sample (one every step): 8 steps in a 64 MiB block.
    assert_eq!(
        sim.state_block_steps(lifsim_core::monitor::STREAM_BLOCK_BYTES),
        8
    );
    assert_eq!(lifsim_core::monitor::block_samples(1_000_000), 8);
    let bad = dc_neuron("iaf_psc_exp", "").replace("[record]", "[record]\nstate_to = \"tape\"");
    assert_eq!(
        parse_err(&bad),
        r#"invalid parameter state_to: is "memory" or "disk", got "tape""#
    );
}
