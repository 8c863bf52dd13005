//! One network over several ranks (the MPI model, here on in-process ranks:
//! `engine::exchange::InProcess`): every rank builds only its own range's
//! neurons and the synapses onto them, the ranks exchange spikes once per
//! minimum delay, and every rank hands the whole network's spikes to its
//! sink: the same spikes and potentials, bit for bit, as one process, for
//! any number of ranks and threads per rank (ranks left without neurons
//! included).

use std::sync::Arc;

use lifsim_core::engine::exchange::{Exchange, InProcess, Scheme};
use lifsim_core::engine::network::balance::rank_ranges;
use lifsim_core::io::npy::{header_bytes, Elem};
use lifsim_core::network::description::Connectivity;
use lifsim_core::network::seed::seed_network;
use lifsim_core::network::Recipe;
use lifsim_core::recording::{RecordMode, Recorder};
use lifsim_core::{
    Dtype, EngineOptions, ExternalCurrent, InitialVoltage, LifParams, NetworkDescription,
    NetworkSimulation, WeightSpec,
};

/// Populations E, I, X (205 neurons: four blocks of 64, so five ranks leave
/// one without neurons), rules drawn by target and by source, delays from
/// 0.2 to 2.5 ms (the interval is the shortest: 2 steps), delta and
/// exponential synapses, Poisson and spike-time inputs.
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
delay = { distribution = "uniform", low = 0.2, high = 0.6 }

[[projection]]
source = ["E", "I"]
target = ["I", "X"]
rule = "fixed_total_number"
n = 3000
allow_autapses = false
weight = { distribution = "normal", mean = -0.3, std = 0.1, max = 0.0, bound = "redraw" }
delay = { distribution = "normal", mean = 1.0, std = 0.5, min = 0.2, bound = "redraw" }
synapse = "delta"

[[projection]]
source = "X"
target = ["E", "X"]
rule = "fixed_outdegree"
outdegree = 25
allow_autapses = false
allow_multapses = false
weight = 0.2
delay = 2.5
synapse = "delta"

[[projection]]
source = "E"
target = "I"
rule = "pairwise_bernoulli"
p = 0.2
weight = { distribution = "normal", mean = 0.05, std = 0.02 }
delay = { distribution = "uniform", low = 0.2, high = 0.4 }
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

[[input]]
type = "spike_generator"
target = ["X", "E"]
times = [5.0, 5.0, 20.0]
delay = 1.0
weight = 3.0
"#;

const N: usize = 205;

type Run = (Vec<(u64, u32)>, Vec<u64>);

/// A rank's spikes, its neurons' final potentials (bits), its synapses and
/// the bytes its exchanges received.
type RankRun = (Vec<(u64, u32)>, Vec<u64>, usize, u64);

fn description(procedural: bool) -> NetworkDescription {
    description_of(NET, procedural)
}

/// The network of `text` (NET, changed), its projections but the last
/// procedural if `procedural`.
fn description_of(text: &str, procedural: bool) -> NetworkDescription {
    let mut d = NetworkDescription::from_toml(text, std::path::Path::new("."), "ranks").unwrap();
    if procedural {
        // The rules drawn by source (all but fixed_indegree).
        let last = d.projections.len() - 1;
        for p in &mut d.projections[..last] {
            p.connectivity = Connectivity::Procedural;
        }
        d.check_connectivity().unwrap();
    }
    d
}

fn options(threads: usize) -> EngineOptions {
    EngineOptions {
        threads: Some(threads),
        isa: None,
    }
}

/// The spikes and final potentials (bits) of a one-process run.
fn single(desc: &NetworkDescription, threads: usize) -> Run {
    let recipe = Recipe::<f64>::new(desc).unwrap();
    let mut sim = NetworkSimulation::with_options(&recipe, &options(threads)).unwrap();
    let spikes = run_to_end(&mut sim, desc);
    let v = sim.voltages().iter().map(|v| v.to_bits()).collect();
    (spikes, v)
}

/// The spikes (step, id) of `sim` from where it stands to the end of `desc`.
fn run_to_end(sim: &mut NetworkSimulation<'_, f64>, desc: &NetworkDescription) -> Vec<(u64, u32)> {
    let mut rec = Recorder::new(RecordMode::Events, desc.n(), desc.steps()).unwrap();
    sim.run(&mut rec);
    let events = rec.finish(desc.dt).events.unwrap();
    events.steps.into_iter().zip(events.ids).collect()
}

/// Every rank's spikes (each rank records the whole network's), and the
/// potentials of all ranks' neurons in rank order, run in `chunks` of
/// steps that differ from rank to rank (the ranks agree on each).
fn ranked(desc: &NetworkDescription, ranks: usize, threads: usize) -> (Vec<Run>, usize) {
    let (runs, synapses, _) = ranked_by(desc, ranks, threads, Scheme::AllGather);
    (runs, synapses)
}

/// As [`ranked`], the ranks exchanging spikes by `scheme`; also the bytes
/// all ranks' exchanges received.
fn ranked_by(
    desc: &NetworkDescription,
    ranks: usize,
    threads: usize,
    scheme: Scheme,
) -> (Vec<Run>, usize, u64) {
    ranked_overlapping(desc, ranks, threads, scheme, false)
}

/// As [`ranked_by`], each interval's exchange overlapped with the next
/// interval's steps if `overlap`.
fn ranked_overlapping(
    desc: &NetworkDescription,
    ranks: usize,
    threads: usize,
    scheme: Scheme,
    overlap: bool,
) -> (Vec<Run>, usize, u64) {
    let recipe = Recipe::<f64>::new(desc).unwrap();
    let group = InProcess::group_overlapping(ranks, scheme, overlap);
    let results: Vec<RankRun> = on_ranks(group, |x| {
        let rank = x.rank();
        let mut sim = NetworkSimulation::distributed(&recipe, &options(threads), x).unwrap();
        assert_eq!(sim.is_distributed(), ranks > 1);
        assert_eq!(sim.overlaps(), overlap && ranks > 1);
        let mut rec = Recorder::new(RecordMode::Events, recipe.n(), desc.steps()).unwrap();
        // Rank-dependent chunks: the run is still collective.
        let chunk = 7 + 13 * rank as u64;
        while sim.step_index() < sim.steps() {
            sim.run_until(sim.step_index() + chunk, &mut rec);
        }
        let events = rec.finish(desc.dt).events.unwrap();
        let v = sim.voltages().iter().map(|v| v.to_bits()).collect();
        let spikes = events.steps.into_iter().zip(events.ids).collect();
        (spikes, v, sim.synapses(), sim.traffic().bytes())
    });
    let synapses = results.iter().map(|r| r.2).sum();
    let bytes = results.iter().map(|r| r.3).sum();
    let v: Vec<u64> = results.iter().flat_map(|r| r.1.clone()).collect();
    let runs = results.into_iter().map(|r| (r.0, v.clone())).collect();
    (runs, synapses, bytes)
}

#[test]
fn every_rank_and_thread_count_gives_the_one_process_spikes_bit_for_bit() {
    for procedural in [false, true] {
        let desc = description(procedural);
        let want = single(&desc, 1);
        assert!(want.0.len() > 300, "active: {} spikes", want.0.len());
        assert_eq!(single(&desc, 2), want);
        let recipe = Recipe::<f64>::new(&desc).unwrap();
        let whole = NetworkSimulation::new(&recipe, Some(1)).unwrap().synapses();
        for ranks in [1, 2, 3, 5] {
            for threads in [1, 2] {
                let (runs, synapses) = ranked(&desc, ranks, threads);
                for (r, got) in runs.iter().enumerate() {
                    assert!(
                        got == &want,
                        "procedural {procedural}, {ranks} ranks x {threads} threads: rank {r} differs"
                    );
                }
                // Each synapse is held by exactly one rank.
                assert_eq!(synapses, whole, "{ranks} ranks x {threads} threads");
            }
        }
    }
}

/// NEST's scheme: each rank receives only the spikes of the neurons with
/// synapses onto its own (rank 0, which records, all of them): the same
/// spikes on rank 0 and the same potentials everywhere, bit for bit, and
/// fewer bytes than every rank receiving every spike.
#[test]
fn alltoall_ranks_give_the_one_process_spikes_with_fewer_bytes() {
    for procedural in [false, true] {
        let desc = description(procedural);
        let want = single(&desc, 1);
        for ranks in [2, 3, 5] {
            for threads in [1, 2] {
                let (runs, _, bytes) = ranked_by(&desc, ranks, threads, Scheme::AllToAll);
                let case = format!("procedural {procedural}, {ranks} ranks x {threads} threads");
                assert!(runs[0] == want, "{case}: rank 0 differs");
                assert!(runs.iter().all(|r| r.1 == want.1), "{case}: potentials");
                let (_, _, all) = ranked_by(&desc, ranks, threads, Scheme::AllGather);
                // Procedural projections need every source; stored ones
                // leave out the sources with no synapse on a rank, which
                // small ranks (five, of 64 neurons or none) have.
                if procedural || ranks < 5 {
                    assert!(bytes <= all, "{case}: {bytes} > {all}");
                } else {
                    assert!(bytes < all, "{case}: {bytes} bytes, allgather {all}");
                }
            }
        }
    }
}

/// Arbor's scheme: each interval's exchange runs while the next interval's
/// steps do, the interval half the minimum delay, so every spike is
/// delivered one interval later than between the steps, and still in
/// emission order: the same spikes and potentials, bit for bit, on every
/// split and scheme, with a minimum delay of 2 steps (an exchange every
/// step) and of 5 (every 2 steps, the half rounded down), in chunks that
/// end mid-interval.
#[test]
fn overlapped_exchanges_give_the_one_process_spikes_bit_for_bit() {
    let longer = NET
        .replace("low = 0.2, high = 0.6", "low = 0.5, high = 0.9")
        .replace("min = 0.2", "min = 0.5")
        .replace("low = 0.2, high = 0.4", "low = 0.5, high = 0.7");
    for (text, shortest) in [(NET.to_string(), 2), (longer, 5)] {
        for procedural in [false, true] {
            let desc = description_of(&text, procedural);
            let recipe = Recipe::<f64>::new(&desc).unwrap();
            let built = NetworkSimulation::new(&recipe, Some(1)).unwrap();
            assert_eq!(built.min_delay_steps(), shortest);
            let want = single(&desc, 1);
            assert!(want.0.len() > 300, "active: {} spikes", want.0.len());
            for scheme in [Scheme::AllGather, Scheme::AllToAll] {
                for (ranks, threads) in [(2, 1), (2, 2), (3, 1), (5, 2)] {
                    let (runs, _, _) = ranked_overlapping(&desc, ranks, threads, scheme, true);
                    let case = format!(
                        "delay {shortest}, procedural {procedural}, {scheme:?}, {ranks} ranks x {threads} threads"
                    );
                    assert!(runs[0] == want, "{case}: rank 0 differs");
                    assert!(runs.iter().all(|r| r.1 == want.1), "{case}: potentials");
                }
            }
        }
    }
}

#[test]
fn rank_ranges_follow_the_expected_synapses_onto_each_neuron() {
    let desc = description(false);
    let r = rank_ranges(&desc, 5).unwrap();
    assert_eq!(r.iter().map(|r| r.len()).sum::<usize>(), N);
    assert!(r.iter().any(|r| r.is_empty()), "{r:?}");
}

#[test]
fn state_monitors_over_ranks_record_what_one_process_records() {
    let text = format!(
        "{NET}\n[[record.state]]\npopulation = \"E\"\nids = [0, 5, 63, 64, 100, 119]\nvariables = [\"V_m\"]\n\n[[record.state]]\npopulation = \"X\"\nvariables = [\"V_m\"]\ninterval = 0.3\n"
    );
    let mut desc =
        NetworkDescription::from_toml(&text, std::path::Path::new("."), "ranks").unwrap();
    let recipe = Recipe::<f64>::new(&desc).unwrap();
    let mut one = NetworkSimulation::with_options(&recipe, &options(1)).unwrap();
    let mut rec = Recorder::new(RecordMode::Counts, N, desc.steps()).unwrap();
    one.run(&mut rec);
    let want: Vec<_> = (0..2).map(|m| one.state_record(m)).collect();
    assert!(want[0].times_ms.len() > 500);
    for ranks in [2, 3] {
        let got: Vec<_> = on_ranks(InProcess::group(ranks), |x| {
            let mut sim = NetworkSimulation::distributed(&recipe, &options(2), x).unwrap();
            let mut rec = Recorder::new(RecordMode::Counts, N, desc.steps()).unwrap();
            sim.run(&mut rec);
            (0..2)
                .map(|m| sim.gathered_state_record(m))
                .collect::<Vec<_>>()
        });
        let root: Vec<_> = got[0]
            .iter()
            .map(|r| r.clone().expect("rank 0 gets it"))
            .collect();
        assert!(root == want, "{ranks} ranks");
        assert!(got[1..].iter().flatten().all(Option::is_none));
    }
    // Streamed monitors (drained to disk as the run goes) are refused.
    desc.monitors.stream = true;
    for e in errors_on_two_ranks(&desc) {
        assert_eq!(e, "invalid parameter MPI: streamed state monitors (--stream-state) are not supported on more than one rank yet; run on one process (without mpirun)");
    }
}

/// Runs `f` once per rank of `group`, each on a thread of its own with its
/// exchange, and returns what each returned, in rank order.
fn on_ranks<T: Send>(group: Vec<InProcess>, f: impl Fn(Arc<dyn Exchange>) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = group
            .into_iter()
            .map(|x| s.spawn(move || f(Arc::new(x))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The spikes of steps `from..` of a run.
fn after(run: &[(u64, u32)], from: u64) -> Vec<(u64, u32)> {
    run.iter().copied().filter(|&(s, _)| s >= from).collect()
}

#[test]
fn a_state_gathered_from_ranks_restores_onto_any_split_and_back() {
    use lifsim_core::checkpoint::Checkpoint;
    let desc = description(false);
    let want = single(&desc, 1);
    let recipe = Recipe::<f64>::new(&desc).unwrap();
    let cut = 277;
    // Three ranks of two threads run to `cut`; rank 0 gathers the state.
    let states: Vec<_> = on_ranks(InProcess::group(3), |x| {
        let mut sim = NetworkSimulation::distributed(&recipe, &options(2), x).unwrap();
        let mut rec = Recorder::new(RecordMode::Counts, N, desc.steps()).unwrap();
        sim.run_until(cut, &mut rec);
        sim.gathered_state()
    });
    assert!(
        states[1..].iter().all(Option::is_none),
        "only rank 0 gets it"
    );
    let state = states[0].clone().expect("rank 0 gets the state");
    let mut one = NetworkSimulation::with_options(&recipe, &options(1)).unwrap();
    let mut reference = NetworkSimulation::with_options(&recipe, &options(1)).unwrap();
    let mut rec = Recorder::new(RecordMode::Counts, N, desc.steps()).unwrap();
    reference.run_until(cut, &mut rec);
    // The same state as one process's, but for the dirty flags (a
    // partition's, repeated per neuron: they follow the split).
    let whole = reference.save_state();
    let strip = |s: &lifsim_core::checkpoint::EngineState| {
        let mut j = s.joined().unwrap();
        j.arrays.retain(|a| !a.name.starts_with("dirty"));
        (s.step, s.pending.clone(), j)
    };
    assert!(
        strip(&state) == strip(&whole),
        "the gathered state is the one process's"
    );
    one.restore_state(&state).unwrap();
    let got = run_to_end(&mut one, &desc);
    assert_eq!(got, after(&want.0, cut), "3 ranks x 2 threads -> 1 process");
    // And one process's state onto two ranks.
    let back: Vec<Vec<(u64, u32)>> = on_ranks(InProcess::group(2), |x| {
        let mut sim = NetworkSimulation::distributed(&recipe, &options(1), x).unwrap();
        sim.restore_state(&state).unwrap();
        run_to_end(&mut sim, &desc)
    });
    for got in back {
        assert_eq!(got, after(&want.0, cut), "1 process -> 2 ranks");
    }
}

/// A checkpoint written by three ranks (each its own rank file, rank 0 the
/// manifest) resumes onto 1, 2 and 5 ranks (five leave one without
/// neurons), each rank reading only the rank files of its own neurons
/// (`Opened::state_of`), to the one-process spikes.
#[test]
fn rank_files_resume_onto_any_split_each_rank_reading_its_own() {
    use lifsim_core::checkpoint::{self, Checkpoint, CheckpointMeta, CHECKPOINT_VERSION};
    use lifsim_core::io::stream::StreamPosition;
    let desc = description(false);
    let want = single(&desc, 1);
    let recipe = Recipe::<f64>::new(&desc).unwrap();
    let cut = 277;
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("ck.npz");
    let meta = CheckpointMeta {
        version: CHECKPOINT_VERSION,
        engine: "network".into(),
        n: N as u64,
        dt: desc.dt,
        steps: desc.steps() as u64,
        args: Vec::new(),
        cwd: "/".into(),
        format: "events".into(),
        out: "s.npz".into(),
        stream: "s.npz.spikes".into(),
        position: StreamPosition {
            step: cut,
            bytes: 0,
            spikes: 0,
        },
        network: None,
        unrecorded: Vec::new(),
        parts: Vec::new(),
    };
    on_ranks(InProcess::group(3), |x| {
        let root = x.rank() == 0;
        let mut sim = NetworkSimulation::distributed(&recipe, &options(2), x).unwrap();
        let mut rec = Recorder::new(RecordMode::Counts, N, desc.steps()).unwrap();
        sim.run_until(cut, &mut rec);
        sim.save_checkpoint(&ck, root.then_some(&meta)).unwrap();
    });
    let files = checkpoint::load(&ck).unwrap().0.parts;
    assert_eq!(files.len(), 3);
    for ranks in [1, 2, 5] {
        let got: Vec<(Vec<(u64, u32)>, usize)> = on_ranks(InProcess::group(ranks), |x| {
            let mut sim = NetworkSimulation::distributed(&recipe, &options(1), x).unwrap();
            let own = sim.neuron_range();
            let state = checkpoint::open(&ck).unwrap().1.state_of(own).unwrap();
            sim.restore_state(&state).unwrap();
            (run_to_end(&mut sim, &desc), state.partitions.len())
        });
        let ranges = rank_ranges(&desc, ranks).unwrap();
        for (r, (spikes, read)) in got.into_iter().enumerate() {
            assert_eq!(spikes, after(&want.0, cut), "3 ranks -> {ranks} ranks");
            // The files this rank read: those overlapping its neurons (one
            // at their place where it has none).
            let own = &ranges[r];
            let overlapping = files
                .iter()
                .filter(|p| (p.start as usize) < own.end && own.start < p.end as usize)
                .count();
            assert_eq!(
                read,
                overlapping.max(1),
                "{ranks} ranks, rank {r} ({own:?})"
            );
        }
    }
}

/// The seed's run as a network (`seed_network`: dense `W`, zero delay, the
/// seed's time axis, neurons above threshold at `t_0` on every rank): an
/// exchange every step, and the first row gathered from every rank at
/// build. The same spikes and final potentials as one process, bit for bit.
#[test]
fn the_seed_network_over_ranks_gives_the_one_process_spikes_bit_for_bit() {
    let n = 200;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.npy");
    let spec = WeightSpec {
        n,
        mean: 0.0,
        std: 40.0,
        p: 0.2,
        quantum: None,
        seed: 3,
    };
    let w = spec.column_major::<f64>().unwrap();
    let mut bytes = header_bytes(Elem::F64, true, &[n, n]);
    for x in &w {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(&file, bytes).unwrap();
    let params = LifParams {
        t_max: 30.05,
        t_ref: 1.0,
        ..LifParams::default()
    };
    let current = ExternalCurrent::PerNeuron((0..n).map(|i| 20.0 + (i % 13) as f64).collect());
    let mut v0 = InitialVoltage::Uniform { seed: 5 }
        .voltages(n, &params)
        .unwrap();
    for i in (0..n).step_by(37) {
        v0[i] = -49.5; // above v_thresh at t_0: row 0 holds spikes of every rank
    }
    let desc = seed_network(Some(&file), n, &params, &current, v0, Dtype::Float64).unwrap();
    let want = single(&desc, 1);
    assert!(want.0.len() > 300, "active: {} spikes", want.0.len());
    let first: Vec<u32> = want
        .0
        .iter()
        .take_while(|e| e.0 == 0)
        .map(|e| e.1)
        .collect();
    assert_eq!(first, (0..n as u32).step_by(37).collect::<Vec<_>>());
    for ranks in [1, 2, 3] {
        for threads in [1, 2] {
            let (runs, _) = ranked(&desc, ranks, threads);
            for (r, got) in runs.iter().enumerate() {
                assert!(
                    got == &want,
                    "{ranks} ranks x {threads} threads: rank {r} differs"
                );
            }
        }
    }
}

/// What building `desc` on each of two ranks gives: its error, or "" when it builds.
fn errors_on_two_ranks(desc: &NetworkDescription) -> Vec<String> {
    let recipe = Recipe::<f64>::new(desc).unwrap();
    on_ranks(
        InProcess::group(2),
        |x| match NetworkSimulation::distributed(&recipe, &options(1), x) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        },
    )
}
