//! What the PD14 microcircuit needs of a network file, against NEST's
//! definitions: `fixed_total_number` (n pairs drawn uniformly with
//! replacement), `fixed_outdegree` (each source exactly `outdegree`
//! uniform targets), `pairwise_bernoulli` (`fixed_probability` by NEST's
//! name), weights and delays redrawn within bounds (`nest.math.redraw`),
//! and per-population initial voltages, currents and Poisson inputs.

use std::path::Path;

use lifsim_core::network::build::NetworkInput;
use lifsim_core::network::sparse::{Delays, Weights};
use lifsim_core::{Network, NetworkDescription};

fn parse(text: &str) -> NetworkDescription {
    NetworkDescription::from_toml(text, Path::new(""), "test").unwrap()
}

/// Two populations, E (300) and I (100), and one projection `rule` (weight
/// 1 and delay 1 ms unless it gives its own).
fn two_populations(rule: &str) -> NetworkDescription {
    let rule = if rule.contains("weight") {
        rule.to_string()
    } else {
        format!("{rule}\nweight = 1.0\ndelay = 1.0")
    };
    parse(&format!(
        r#"
        duration = 1.0
        seed = 5
        [[population]]
        name = "E"
        size = 300
        [[population]]
        name = "I"
        size = 100
        [[projection]]
        {rule}
        "#
    ))
}

/// Pearson's chi-square of `counts` against a uniform expectation, and
/// whether it lies within 6 standard deviations of its degrees of freedom
/// (a fixed seed: the test cannot flake; a wrong rule is far outside).
fn uniform_chi_square_ok(counts: &[usize]) -> (f64, bool) {
    let total: usize = counts.iter().sum();
    let e = total as f64 / counts.len() as f64;
    let chi2: f64 = counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum();
    let df = (counts.len() - 1) as f64;
    (chi2, (chi2 - df).abs() < 6.0 * (2.0 * df).sqrt())
}

/// (source row, global target) of every synapse of projection 0.
fn pairs(net: &Network<f64>) -> Vec<(usize, u32)> {
    net.projections[0]
        .csr
        .triples()
        .into_iter()
        .map(|(s, t, _, _)| (s, t))
        .collect()
}

/// n synapses, sources and targets each uniform (chi-square over neurons),
/// multapses as frequent as drawing with replacement makes them.
#[test]
fn fixed_total_number_draws_n_uniform_pairs_with_replacement() {
    let n = 120_000;
    let desc = two_populations(&format!(
        "source = \"E\"\ntarget = [\"E\", \"I\"]\nrule = \"fixed_total_number\"\nN = {n}"
    ));
    let net = Network::<f64>::build(&desc).unwrap();
    let pairs = pairs(&net);
    assert_eq!(pairs.len(), n);
    let mut per_source = vec![0usize; 300];
    let mut per_target = vec![0usize; 400];
    for &(s, t) in &pairs {
        per_source[s] += 1;
        per_target[t as usize] += 1;
    }
    for (what, counts) in [("sources", &per_source), ("targets", &per_target)] {
        let (chi2, ok) = uniform_chi_square_ok(counts);
        assert!(ok, "{what}: chi2 {chi2} over {} neurons", counts.len());
    }
    // Distinct pairs: of 120,000 pairs among 120,000 possible ones drawn with
    // replacement, 1 - 1/e of the possible pairs appear (variance below 120,000 / 4).
    let mut distinct = pairs.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let want = 120_000.0 * (1.0 - (-1.0f64).exp());
    assert!(
        (distinct.len() as f64 - want).abs() < 5.0 * (120_000.0f64 / 4.0).sqrt(),
        "{} distinct pairs, {want} expected",
        distinct.len()
    );
    // A per-target rule would give every target n / 400 = 300 exactly.
    assert!(per_target.iter().any(|&c| c != 300));
}

#[test]
fn fixed_total_number_without_autapses_has_none_and_still_n() {
    let desc = two_populations(
        "source = [\"E\", \"I\"]\ntarget = \"I\"\nrule = \"fixed_total_number\"\nn = 5000\nallow_autapses = false",
    );
    let net = Network::<f64>::build(&desc).unwrap();
    let pairs = pairs(&net);
    assert_eq!(pairs.len(), 5000);
    // Source rows are E (0..300) then I (300..400): an autapse is row 300 + i onto 300 + i.
    assert!(pairs.iter().all(|&(s, t)| s as u32 != t));
}

/// Every source exactly `outdegree` synapses, targets uniform; without
/// autapses and multapses, distinct targets other than itself.
#[test]
fn fixed_outdegree_gives_every_source_its_outdegree() {
    let desc = two_populations(
        "source = \"E\"\ntarget = [\"I\", \"E\"]\nrule = \"fixed_outdegree\"\noutdegree = 40",
    );
    let net = Network::<f64>::build(&desc).unwrap();
    let mut per_source = vec![0usize; 300];
    let mut per_target = vec![0usize; 400];
    for &(s, t) in &pairs(&net) {
        per_source[s] += 1;
        per_target[t as usize] += 1;
    }
    assert!(per_source.iter().all(|&c| c == 40));
    let (chi2, ok) = uniform_chi_square_ok(&per_target);
    assert!(ok, "targets: chi2 {chi2}");

    let desc = two_populations(
        "source = \"E\"\ntarget = \"E\"\nrule = \"fixed_outdegree\"\noutdegree = 299\nallow_autapses = false\nallow_multapses = false",
    );
    let net = Network::<f64>::build(&desc).unwrap();
    let mut all = pairs(&net);
    assert_eq!(all.len(), 300 * 299);
    assert!(all.iter().all(|&(s, t)| s as u32 != t));
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 300 * 299, "no multapses");
}

#[test]
fn pairwise_bernoulli_is_fixed_probability() {
    let rule = |name: &str| {
        two_populations(&format!(
            "source = \"I\"\ntarget = \"E\"\nrule = \"{name}\"\np = 0.1"
        ))
    };
    let a = Network::<f64>::build(&rule("pairwise_bernoulli")).unwrap();
    let b = Network::<f64>::build(&rule("fixed_probability")).unwrap();
    assert_eq!(pairs(&a), pairs(&b));
    assert!(!pairs(&a).is_empty());
}

/// PD14's synapses: inhibitory weights normal with relative std 0.1 kept
/// <= 0, delays normal with relative std 0.5 kept >= 0.05 ms (so at least
/// one step); a conductance synapse may have a normal weight redrawn >= 0.
#[test]
fn redrawn_weights_keep_their_sign_and_delays_their_step() {
    let desc = two_populations(
        "source = \"I\"\ntarget = \"E\"\nrule = \"fixed_total_number\"\nn = 20000\n\
         synapse = \"exponential\"\ntau_syn = 0.5\n\
         weight = { distribution = \"normal\", mean = -0.35, std = 0.35, max = 0.0, bound = \"redraw\" }\n\
         delay = { distribution = \"normal\", mean = 0.75, std = 0.375, min = 0.05, bound = \"redraw\" }",
    );
    let net = Network::<f64>::build(&desc).unwrap();
    let csr = &net.projections[0].csr;
    let Weights::Single(w) = csr.weights() else {
        panic!("weights are drawn (and kept in single precision)")
    };
    let Delays::Byte(d) = csr.delays() else {
        panic!("delays are drawn (and below 256 steps)")
    };
    assert!(w.iter().all(|&w| w <= 0.0));
    assert!(d.iter().all(|&d| d >= 1));
    // With a std as large as the mean, clipping would leave 16 % at exactly
    // 0 and a plain normal 16 % above it; redrawing leaves none.
    assert!(w.iter().filter(|&&w| w == 0.0).count() < 5);
    // One step is [0.05, 0.15) ms: (Phi(-1.6) - Phi(-1.8667)) / (1 - Phi(-1.8667))
    // = 0.0246 of the redrawn normal (a clip would give 0.0548), within 5 SE.
    let short = d.iter().filter(|&&d| d == 1).count() as f64 / d.len() as f64;
    assert!((short - 0.0246).abs() < 0.0055, "{short}");

    let cond = parse(
        r#"
        duration = 1.0
        [[population]]
        name = "C"
        size = 50
        model = "iaf_cond_exp"
        [[projection]]
        source = "C"
        target = "C"
        rule = "fixed_indegree"
        indegree = 10
        synapse = "conductance"
        tau_syn = 5.0
        e_rev = 0.0
        weight = { distribution = "normal", mean = 0.006, std = 0.006, min = 0.0, bound = "redraw" }
        "#,
    );
    let net = Network::<f64>::build(&cond).unwrap();
    let Weights::Single(w) = net.projections[0].csr.weights() else {
        panic!("weights are drawn")
    };
    assert!(w.iter().all(|&w| w >= 0.0));
}

/// Per population: initial voltages normal with the population's mean and
/// std, a constant current (i_ext or a current input), and a Poisson input
/// of rate K_ext * 8 Hz onto that population alone.
#[test]
fn populations_take_their_own_v0_current_and_poisson_input() {
    let desc = parse(
        r#"
        duration = 1.0
        dt = 0.1
        [[population]]
        name = "A"
        size = 4000
        i_ext = 0.5
        v0 = { distribution = "normal", mean = -68.28, std = 5.36 }
        [[population]]
        name = "B"
        size = 3000
        v0 = { distribution = "normal", mean = -61.43, std = 4.48 }
        [[input]]
        type = "current"
        target = "B"
        amplitude = 0.25
        [[input]]
        type = "poisson"
        target = "B"
        rate = 16800.0
        weight = 0.0878
        synapse = "exponential"
        tau_syn = 0.5
        "#,
    );
    let net = Network::<f64>::build(&desc).unwrap();
    for (range, mean, std) in [(0..4000, -68.28, 5.36), (4000..7000, -61.43, 4.48)] {
        let v = &net.v0[range];
        let m = v.iter().sum::<f64>() / v.len() as f64;
        let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
        let se = std / (v.len() as f64).sqrt();
        assert!((m - mean).abs() < 5.0 * se, "mean {m} vs {mean}");
        assert!((s / std - 1.0).abs() < 0.05, "std {s} vs {std}");
    }
    assert!(net.i_ext[..4000].iter().all(|&i| i == 0.5));
    assert!(net.i_ext[4000..].iter().all(|&i| i == 0.25));
    let [NetworkInput::Poisson {
        targets,
        mean_per_step,
        ..
    }] = &net.inputs[..]
    else {
        panic!("one Poisson input: {:?}", net.inputs.len())
    };
    assert_eq!(*targets, (4000..7000).collect::<Vec<u32>>());
    // 2100 inputs at 8 Hz: 1.68 spikes per 0.1 ms step.
    assert!((mean_per_step - 1.68).abs() < 1e-12);
}
