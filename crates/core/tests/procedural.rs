//! Procedural connectivity (`connectivity = "procedural"`): a run that
//! stores no synapse and draws a firing source's synapses again gives the
//! same spikes and the same potentials, bit for bit, as the stored run, for
//! every rule drawn by source, on 1 and 2 threads; the source-keyed rules
//! keep NEST's statistics; rules that cannot be drawn by source are refused
//! with the projection named.

use std::collections::HashSet;

use lifsim_core::model::Real;
use lifsim_core::network::description::Connectivity;
use lifsim_core::network::source_keyed::SourceKeyed;
use lifsim_core::network::Recipe;
use lifsim_core::recording::{RecordMode, Recorder};
use lifsim_core::{Network, NetworkDescription, NetworkSimulation};

/// Populations E (0..120), I (120..180), X (180..205), a projection of each
/// rule drawn by source (weights and delays constant, drawn, bounded),
/// targets in and out of population order, delta and exponential synapses
/// (whose undelayed weights go straight into the state), and a
/// fixed_indegree projection that stays stored.
const NET: &str = r#"
dt = 0.1
duration = 60.0
seed = 11
[[population]]
name = "E"
size = 120
[[population]]
name = "I"
size = 60
[[population]]
name = "X"
size = 25

[[projection]]
source = ["I", "X"]
target = ["I", "E"]
rule = "fixed_probability"
p = 0.1
weight = -0.4
delay = 1.0
synapse = "delta"

[[projection]]
source = "E"
target = "E"
rule = "all_to_all"
allow_autapses = false
weight = 0.004
delay = { distribution = "uniform", low = 0.1, high = 0.6 }

[[projection]]
source = "E"
target = "E"
rule = "one_to_one"
weight = { distribution = "uniform", low = 0.1, high = 0.5 }
delay = 2.0

[[projection]]
source = ["E", "I"]
target = ["I", "X"]
rule = "fixed_total_number"
n = 3000
allow_autapses = false
weight = { distribution = "normal", mean = -0.3, std = 0.1, max = 0.0, bound = "redraw" }
delay = { distribution = "normal", mean = 1.0, std = 0.5, min = 0.05, bound = "redraw" }
synapse = "delta"

[[projection]]
source = "X"
target = ["E", "X"]
rule = "fixed_outdegree"
outdegree = 25
allow_autapses = false
allow_multapses = false
weight = { distribution = "normal", mean = 0.2, std = 0.1, min = 0.0, bound = "clip" }
delay = 1.0
synapse = "delta"

[[projection]]
source = "E"
target = "I"
rule = "pairwise_bernoulli"
p = 0.2
weight = { distribution = "normal", mean = 0.05, std = 0.02 }
delay = { distribution = "uniform", low = 0.0, high = 0.4 }
synapse = "exponential"
tau_syn = 2.0

[[projection]]
source = "I"
target = "E"
rule = "fixed_indegree"
indegree = 10
weight = -0.3
delay = 1.2
synapse = "delta"

[[input]]
type = "poisson"
target = ["E", "I", "X"]
rate = 16000.0
weight = 0.1
"#;

fn description(text: &str) -> NetworkDescription {
    NetworkDescription::from_toml(text, std::path::Path::new("."), "procedural").unwrap()
}

/// NET with every projection but the last (fixed_indegree) procedural.
fn procedural(text: &str) -> NetworkDescription {
    let mut desc = description(text);
    let last = desc.projections.len() - 1;
    for p in &mut desc.projections[..last] {
        p.connectivity = Connectivity::Procedural;
    }
    desc.check_connectivity().unwrap();
    desc
}

/// The spikes and the final potentials (bits) of a run on `threads`.
fn run(desc: &NetworkDescription, threads: usize) -> (Vec<(u64, u32)>, Vec<u64>) {
    run_in::<f64>(desc, threads)
}

/// [`run`] at the precision `T`.
fn run_in<T: Real>(desc: &NetworkDescription, threads: usize) -> (Vec<(u64, u32)>, Vec<u64>) {
    let recipe = Recipe::<T>::new(desc).unwrap();
    let mut sim = NetworkSimulation::new(&recipe, Some(threads)).unwrap();
    let mut rec = Recorder::new(RecordMode::Events, recipe.n(), desc.steps()).unwrap();
    sim.run(&mut rec);
    let events = rec.finish(desc.dt).events.expect("events recorded");
    let v = sim.voltages().iter().map(|v| v.to_bits()).collect();
    (events.steps.into_iter().zip(events.ids).collect(), v)
}

#[test]
fn procedural_and_stored_runs_give_the_same_spikes_bit_for_bit() {
    let stored = run(&description(NET), 1);
    assert!(stored.0.len() > 300, "active: {} spikes", stored.0.len());
    for threads in [1, 2] {
        assert_eq!(run(&description(NET), threads), stored, "stored, {threads}");
        assert_eq!(
            run(&procedural(NET), threads),
            stored,
            "procedural, {threads}"
        );
    }
    // A procedural run stores none of the procedural projections' synapses.
    let desc = procedural(NET);
    let recipe = Recipe::<f64>::new(&desc).unwrap();
    let sim = NetworkSimulation::new(&recipe, Some(2)).unwrap();
    let whole = Network::<f64>::build(&desc).unwrap();
    let indegree = whole.projections.last().unwrap().csr.len();
    assert_eq!(sim.synapses(), indegree);
}

/// NET with a projection whose every delay is one step onto exponential
/// currents: the engine adds its weights straight into the current after
/// the update (late delivery), on the channel (tau_syn 2) that also has
/// ring arrivals and undelayed ones. Procedural and stored give the same
/// spikes and potentials, bit for bit, on 1, 2 and 3 threads.
#[test]
fn a_one_step_projection_gives_the_same_spikes_procedural_and_stored() {
    let indegree = "[[projection]]\nsource = \"I\"\ntarget = \"E\"\nrule = \"fixed_indegree\"";
    let late = "[[projection]]\nsource = \"I\"\ntarget = [\"E\", \"X\"]\nrule = \"pairwise_bernoulli\"\np = 0.1\n\
                weight = { distribution = \"normal\", mean = -0.05, std = 0.02 }\ndelay = 0.1\n\
                synapse = \"exponential\"\ntau_syn = 2.0\n\n";
    assert!(NET.contains(indegree));
    let net = NET.replacen(indegree, &format!("{late}{indegree}"), 1);
    let stored = run(&description(&net), 1);
    assert!(stored.0.len() > 300, "active: {} spikes", stored.0.len());
    assert_ne!(stored, run(&description(NET), 1), "the projection acts");
    for threads in [1, 2, 3] {
        assert_eq!(
            run(&description(&net), threads),
            stored,
            "stored, {threads}"
        );
        assert_eq!(
            run(&procedural(&net), threads),
            stored,
            "procedural, {threads}"
        );
    }
}

/// Each rule alone, in a network where it drives the activity, procedural
/// against stored, on 1 and 2 threads.
#[test]
fn each_rule_alone_gives_the_same_spikes() {
    let rules = [
        "rule = \"all_to_all\"\nweight = { distribution = \"normal\", mean = 0.02, std = 0.01 }",
        "rule = \"one_to_one\"\nweight = 0.5",
        "rule = \"pairwise_bernoulli\"\np = 0.3\nweight = { distribution = \"uniform\", low = 0.0, high = 0.2 }",
        "rule = \"fixed_outdegree\"\noutdegree = 30\nweight = 0.08",
        "rule = \"fixed_total_number\"\nn = 2000\nweight = { distribution = \"uniform\", low = 0.0, high = 0.2 }",
    ];
    for rule in rules {
        let text = format!(
            r#"
dt = 0.1
duration = 80.0
seed = 3
[[population]]
name = "A"
size = 100
[[population]]
name = "B"
size = 105
[[projection]]
source = ["A", "B"]
target = ["B", "A"]
{rule}
delay = {{ distribution = "uniform", low = 0.1, high = 3.0 }}
synapse = "delta"
[[input]]
type = "poisson"
target = "A"
rate = 15000.0
weight = 0.1
"#
        );
        let mut desc = description(&text);
        let stored = run(&desc, 1);
        assert!(stored.0.len() > 50, "{rule}: {} spikes", stored.0.len());
        desc.set_connectivity(Connectivity::Procedural).unwrap();
        for threads in [1, 2] {
            assert_eq!(run(&desc, threads), stored, "{rule}, {threads} threads");
        }
    }
}

/// Every synapse a source's generator draws, as (target, weight bits,
/// delay), sorted: what a stored build holds in its row.
fn drawn(gen: &SourceKeyed, s: usize) -> Vec<(u32, u64, u16)> {
    let mut out = Vec::new();
    gen.each(s, &mut HashSet::new(), |t, w, d| {
        out.push((t, gen.stored_weight::<f64>(w).to_bits(), d))
    });
    out.sort_unstable();
    out
}

#[test]
fn the_stored_rows_are_what_each_source_draws() {
    let desc = description(NET);
    let whole = Network::<f64>::build(&desc).unwrap();
    for (k, proj) in whole.projections.iter().enumerate().take(6) {
        let gen = SourceKeyed::new(&desc, k).unwrap();
        assert_eq!(gen.n_sources(), proj.csr.n_sources());
        for s in 0..gen.n_sources() {
            let mut row: Vec<(u32, u64, u16)> = proj
                .csr
                .row(s)
                .map(|i| {
                    let c = &proj.csr;
                    (
                        c.targets()[i],
                        c.weights().get(i).to_bits(),
                        c.delays().get(i),
                    )
                })
                .collect();
            row.sort_unstable();
            assert_eq!(row, drawn(&gen, s), "projection {k}, source {s}");
        }
    }
}

fn one_projection(rule: &str, autapses: bool) -> NetworkDescription {
    description(&format!(
        r#"
duration = 1.0
seed = 5
[[population]]
name = "E"
size = 400
[[population]]
name = "I"
size = 100
[[projection]]
source = ["E", "I"]
target = ["I", "E"]
{rule}
allow_autapses = {autapses}
weight = 0.1
delay = 1.0
"#
    ))
}

/// The number of synapses each source draws.
fn out_counts(desc: &NetworkDescription) -> Vec<usize> {
    let gen = SourceKeyed::new(desc, 0).unwrap();
    (0..gen.n_sources())
        .map(|s| {
            let mut n = 0;
            gen.each(s, &mut HashSet::new(), |_, _, _| n += 1);
            n
        })
        .collect()
}

#[test]
fn fixed_outdegree_gives_every_source_exactly_its_outdegree() {
    for multapses in [true, false] {
        let desc = one_projection(
            &format!("rule = \"fixed_outdegree\"\noutdegree = 37\nallow_multapses = {multapses}"),
            false,
        );
        assert!(out_counts(&desc).iter().all(|&c| c == 37));
        let gen = SourceKeyed::new(&desc, 0).unwrap();
        // Source 450 (neuron 450, in I) never reaches itself, and without
        // multapses never a target twice.
        let targets: Vec<u32> = drawn(&gen, 450).iter().map(|s| s.0).collect();
        assert!(!targets.contains(&450));
        if !multapses {
            assert!(targets.windows(2).all(|w| w[0] != w[1]));
        }
    }
}

#[test]
fn fixed_total_number_makes_exactly_n_spread_multinomially() {
    let n = 100_000;
    let desc = one_projection(&format!("rule = \"fixed_total_number\"\nn = {n}"), false);
    let counts = out_counts(&desc);
    assert_eq!(counts.iter().sum::<usize>(), n);
    // Every source may reach 499 of the 500 targets: equal shares, so a
    // chi-square against the uniform with 499 degrees of freedom.
    let e = n as f64 / 500.0;
    let chi2: f64 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
    assert!(
        (chi2 - 499.0).abs() < 6.0 * (2.0f64 * 499.0).sqrt(),
        "chi2 {chi2}"
    );
    // The whole build holds exactly n too.
    assert_eq!(Network::<f64>::build(&desc).unwrap().synapses(), n);
}

#[test]
fn pairwise_bernoulli_connects_each_pair_with_probability_p() {
    let p: f64 = 0.1;
    let desc = one_projection(&format!("rule = \"pairwise_bernoulli\"\np = {p}"), true);
    let total: usize = out_counts(&desc).iter().sum();
    let pairs = 500.0 * 500.0;
    let sd = (pairs * p * (1.0 - p)).sqrt();
    assert!((total as f64 - pairs * p).abs() < 5.0 * sd, "{total}");
    // Without autapses no source reaches itself, and the count drops by
    // about p per neuron.
    let desc = one_projection(&format!("rule = \"pairwise_bernoulli\"\np = {p}"), false);
    let gen = SourceKeyed::new(&desc, 0).unwrap();
    for s in [0, 17, 399, 400, 499] {
        // Source s is neuron s; the targets are I (400..500) then E.
        assert!(drawn(&gen, s).iter().all(|x| x.0 as usize != s));
    }
}

#[test]
fn rules_not_drawn_by_source_are_refused_naming_the_projection() {
    let text = NET.replace(
        "indegree = 10\nweight = -0.3",
        "indegree = 10\nconnectivity = \"procedural\"\nweight = -0.3",
    );
    let err = NetworkDescription::from_toml(&text, std::path::Path::new("."), "x")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid parameter connectivity: projection 7 (I -> E): procedural connectivity draws a source's synapses again when it fires, and rule \"fixed_indegree\" draws each target's sources; use connectivity = \"stored\", or rule fixed_outdegree, fixed_total_number or pairwise_bernoulli"
    );
    // The whole network's key too, and the run's choice.
    let text = format!("connectivity = \"procedural\"\n{NET}");
    let err = NetworkDescription::from_toml(&text, std::path::Path::new("."), "x").unwrap_err();
    assert!(err.to_string().contains("projection 7 (I -> E)"), "{err}");
    let mut desc = description(NET);
    let err = desc.set_connectivity(Connectivity::Procedural).unwrap_err();
    assert!(err.to_string().contains("projection 7 (I -> E)"), "{err}");
    // A word that is neither.
    let text = NET.replacen(
        "rule = \"all_to_all\"",
        "rule = \"all_to_all\"\nconnectivity = \"lazy\"",
        1,
    );
    let err = NetworkDescription::from_toml(&text, std::path::Path::new("."), "x")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid parameter connectivity: projection 2 (E -> E): must be \"stored\", \"dense\" or \"procedural\", got \"lazy\""
    );
}

/// The whole network's key makes every projection procedural but one that
/// says its own.
#[test]
fn a_projection_key_overrides_the_networks() {
    let text = NET.replace(
        "indegree = 10\nweight = -0.3",
        "indegree = 10\nconnectivity = \"stored\"\nweight = -0.3",
    );
    let desc = description(&format!("connectivity = \"procedural\"\n{text}"));
    let modes: Vec<Connectivity> = desc.projections.iter().map(|p| p.connectivity).collect();
    let mut want = vec![Connectivity::Procedural; 6];
    want.push(Connectivity::Stored);
    assert_eq!(modes, want);
    assert_eq!(run(&desc, 2), run(&description(NET), 1));
}

/// The synaptic currents of every neuron of E1 at every step of a run in
/// single precision on `threads` (bits): a sum's last bit shows in them,
/// where a spike or a final potential (reset at each spike) may not show it.
fn currents(desc: &NetworkDescription, threads: usize) -> Vec<u32> {
    let recipe = Recipe::<f32>::new(desc).unwrap();
    let mut sim = NetworkSimulation::new(&recipe, Some(threads)).unwrap();
    let mut rec = Recorder::new(RecordMode::Counts, recipe.n(), desc.steps()).unwrap();
    sim.run(&mut rec);
    let record = sim.state_record(0);
    assert_eq!(record.values[0].0, "I_syn");
    let v: Vec<u32> = record.values[0]
        .1
        .iter()
        .map(|x| (*x as f32).to_bits())
        .collect();
    v
}

/// A microcircuit in miniature (PD14's form: E and I populations in two
/// layers, a fixed_total_number projection from every population onto
/// every population, normal weights and delays redrawn within bounds, one
/// exponential channel for all), listed `target_major` as PD14 lists them
/// or source by source.
fn microcircuit(target_major: bool) -> String {
    let pops = [
        ("E1", 80, true),
        ("I1", 30, false),
        ("E2", 80, true),
        ("I2", 30, false),
    ];
    let mut text = String::from(
        "dt = 0.5\nduration = 150.0\nseed = 5\n\
         [record]\n[[record.state]]\npopulation = \"E1\"\nn = 80\nvariables = [\"I_syn\"]\n",
    );
    for (name, size, _) in pops {
        text += &format!(
            "[[population]]\nname = \"{name}\"\nsize = {size}\nmodel = \"iaf_psc_exp\"\n\
             tau_m = 10.0\nr = 40.0\nv_rest = -65.0\nv_reset = -65.0\nv_thresh = -50.0\nt_ref = 2.0\n\
             i_ext = 0.5\nv0 = {{ distribution = \"normal\", mean = -60.0, std = 5.0 }}\n"
        );
    }
    let mut pairs = Vec::new();
    for t in 0..pops.len() {
        for s in 0..pops.len() {
            pairs.push(if target_major { (s, t) } else { (t, s) });
        }
    }
    for (s, t) in pairs {
        let (source, _, excitatory) = pops[s];
        let (weight, bound, delay) = match excitatory {
            true => ("0.02", "min = 0.0", "1.0"),
            false => ("-0.06", "max = 0.0", "1.1"),
        };
        text += &format!(
            "[[projection]]\nsource = \"{source}\"\ntarget = \"{}\"\nrule = \"fixed_total_number\"\n\
             n = {}\nweight = {{ distribution = \"normal\", mean = {weight}, std = 0.005, {bound}, bound = \"redraw\" }}\n\
             delay = {{ distribution = \"normal\", mean = {delay}, std = 0.1, min = 0.05, bound = \"redraw\" }}\n\
             synapse = \"exponential\"\ntau_syn = 0.5\n",
            pops[t].0,
            3000 + 37 * (s + 4 * t),
        );
    }
    text
}

/// The stored projections out of one population (onto the same channel)
/// are delivered as one: each partition merges their rows, one row per
/// source. Their sums come in the order in which the projections, each
/// source by source, would add them (the procedural run's, which never
/// merges), so the spikes and potentials are the same bit for bit, on 1,
/// 2 and 3 threads, whether the projections are listed target by target
/// (as PD14 lists them) or source by source. In single precision: a
/// handful of single-precision weights sums exactly in double precision,
/// in any order.
#[test]
fn merged_projections_give_the_spikes_of_one_by_one() {
    for target_major in [true, false] {
        let text = microcircuit(target_major);
        let desc = description(&text);
        let unmerged = {
            let mut desc = description(&text);
            for p in &mut desc.projections {
                p.connectivity = Connectivity::Procedural;
            }
            desc.check_connectivity().unwrap();
            (run_in::<f32>(&desc, 1), currents(&desc, 1))
        };
        assert!(
            unmerged.0 .0.len() > 300,
            "active: {} spikes",
            unmerged.0 .0.len()
        );
        for threads in [1, 2, 3] {
            let merged = (run_in::<f32>(&desc, threads), currents(&desc, threads));
            assert!(merged == unmerged, "{target_major}, {threads} threads");
        }
        // One group of rows per source population in every partition, and
        // every synapse held once.
        let recipe = Recipe::<f64>::new(&desc).unwrap();
        let sim = NetworkSimulation::new(&recipe, Some(2)).unwrap();
        for part in sim.connections() {
            assert_eq!(part.len(), 4);
        }
        let whole = Network::<f64>::build(&desc).unwrap();
        assert_eq!(sim.synapses(), whole.synapses());
    }
}
