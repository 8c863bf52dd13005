use std::path::Path;

use super::*;
use crate::engine::{EngineOptions, Simulation};
use crate::inputs::{ExternalCurrent, InitialVoltage};
use crate::model::LifParams;
use crate::network::DenseView;
use crate::recording::{RecordMode, Recorder};

fn sim<'w>(w: &'w [f64], n: usize, p: &LifParams, threads: usize) -> Simulation<'w, f64> {
    Simulation::new(
        DenseView::new(n, w).unwrap(),
        p,
        &ExternalCurrent::Constant(25.0),
        &InitialVoltage::Uniform { seed: 9 },
        &EngineOptions {
            threads: Some(threads),
            isa: None,
        },
    )
    .unwrap()
}

/// The meta of a checkpoint at `step` (its stream position).
pub(super) fn meta(n: usize, p: &LifParams, step: u64) -> CheckpointMeta {
    CheckpointMeta {
        version: CHECKPOINT_VERSION,
        engine: "dense".into(),
        n: n as u64,
        dt: p.dt,
        steps: p.steps() as u64,
        args: vec!["--t-max".into(), "30".into()],
        cwd: "/".into(),
        format: "events".into(),
        out: "s.npz".into(),
        stream: "s.npz.spikes".into(),
        position: StreamPosition {
            step,
            bytes: 64,
            spikes: 0,
        },
        network: None,
        unrecorded: Vec::new(),
        parts: Vec::new(),
    }
}

#[test]
fn a_restored_run_goes_on_bit_for_bit_with_any_thread_count() {
    let n = 300;
    let w: Vec<f64> = (0..n * n)
        .map(|k| ((k * 7 % 23) as f64 - 11.0) / 8.0)
        .collect();
    let p = LifParams {
        t_max: 30.0,
        t_ref: 2.0,
        ..LifParams::default()
    };
    let mut whole = Recorder::new(RecordMode::Events, n, p.steps()).unwrap();
    sim(&w, n, &p, 1).run(&mut whole);
    let whole = whole.finish(p.dt);
    assert!(whole.total > 200);

    let mut first = sim(&w, n, &p, 3);
    let mut rec = Recorder::new(RecordMode::Events, n, p.steps()).unwrap();
    first.run_until(1234, &mut rec);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.npz");
    // The seed's run is a network on the network engine.
    let meta = CheckpointMeta {
        engine: "network".into(),
        ..meta(n, &p, 1234)
    };
    save(&path, &meta, &first.save_state()).unwrap();
    drop(first);
    let (m, state) = load(&path).unwrap();
    assert_eq!(m, meta);
    assert_eq!(state.step, 1234);
    // Resumed on another thread count, the rest of the run is the same.
    let mut second = sim(&w, n, &p, 2);
    second.restore_state(&state).unwrap();
    second.run(&mut rec);
    assert_eq!(rec.finish(p.dt).events, whole.events);
    // A checkpoint of another network is refused.
    let w2 = vec![0.0; 10 * 10];
    let e = sim(&w2, 10, &p, 1).restore_state(&state).unwrap_err();
    assert!(
        e.to_string()
            .contains("holds 300 neurons; this network has 10"),
        "{e}"
    );
}

/// Every spike, as (step, id).
#[derive(Default)]
struct Collect(Vec<(u64, u32)>);

impl crate::recording::SpikeSink for Collect {
    fn record(&mut self, step: usize, fired: &[u32]) {
        self.0.extend(fired.iter().map(|&i| (step as u64, i)));
    }
}

/// A network with every kind of state the network engine has: delta
/// synapses with delays (ring buffers), exponential synapses with and
/// without delay (currents), refractoriness and Poisson input.
const NETWORK: &str = r#"
    dt = 0.1
    duration = 300.0
    seed = 5
    [[population]]
    name = "E"
    size = 160
    tau_m = 20.0
    v_rest = -49.0
    v_reset = -60.0
    v_thresh = -50.0
    t_ref = 2.0
    r = 1.0
    v0 = { distribution = "uniform", low = -60.0, high = -50.0 }
    integration = "exact"
    [[population]]
    name = "I"
    size = 40
    tau_m = 10.0
    v_rest = -55.0
    v_reset = -60.0
    v_thresh = -50.0
    t_ref = 1.0
    r = 1.0
    v0 = -58.0
    integration = "exact"
    [[projection]]
    source = "E"
    target = ["E", "I"]
    rule = "fixed_probability"
    p = 0.1
    weight = 1.5
    delay = 1.2
    synapse = "exponential"
    tau_syn = 5.0
    [[projection]]
    source = "I"
    target = ["E"]
    rule = "fixed_indegree"
    indegree = 8
    weight = -2.0
    delay = 0.7
    synapse = "delta"
    [[projection]]
    source = "E"
    target = ["I"]
    rule = "fixed_probability"
    p = 0.05
    weight = 0.8
    delay = 0.0
    synapse = "exponential"
    tau_syn = 3.0
    [[input]]
    type = "poisson"
    target = ["E", "I"]
    rate = 900.0
    weight = 0.6
    synapse = "delta"
"#;

#[test]
fn a_restored_network_goes_on_bit_for_bit_with_any_thread_count() {
    use crate::engine::NetworkSimulation;
    use crate::network::{Network, NetworkDescription};
    let desc = NetworkDescription::from_toml(NETWORK, Path::new("."), "mixed").unwrap();
    let net = Network::<f64>::build(&desc).unwrap();
    let n = net.n();
    let steps = desc.steps();
    let mut whole = Recorder::new(RecordMode::Events, n, steps).unwrap();
    NetworkSimulation::new(&net, Some(1))
        .unwrap()
        .run(&mut whole);
    let whole = whole.finish(desc.dt);
    assert!(whole.total > 500, "the network is active: {}", whole.total);

    let mut first = NetworkSimulation::new(&net, Some(3)).unwrap();
    let mut before = Collect::default();
    first.run_until(1111, &mut before);
    let state = first.save_state();
    let names: Vec<&str> = state.partitions[0]
        .arrays
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    for want in ["y", "until", "ring0", "dirty0", "poisson0"] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    assert!(names.iter().any(|n| n.starts_with("isyn")), "{names:?}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.npz");
    let mut m = meta(n, &LifParams::default(), 1111);
    m.engine = "network".into();
    save(&path, &m, &state).unwrap();
    drop(first);
    let (_, state) = load(&path).unwrap();
    for threads in [1, 2] {
        let mut second = NetworkSimulation::new(&net, Some(threads)).unwrap();
        second.restore_state(&state).unwrap();
        let mut after = Collect::default();
        second.run(&mut after);
        let all: Vec<(u64, u32)> = before.0.iter().chain(&after.0).copied().collect();
        let events = whole.events.as_ref().unwrap();
        let want: Vec<(u64, u32)> = events
            .steps
            .iter()
            .copied()
            .zip(events.ids.iter().copied())
            .collect();
        assert_eq!(all, want, "{threads} threads");
    }
    // A dense checkpoint does not restore a network.
    let dense = EngineState {
        engine: "dense".into(),
        ..state
    };
    let mut other = NetworkSimulation::new(&net, None).unwrap();
    let e = other.restore_state(&dense).unwrap_err();
    assert!(e.to_string().contains("not the network engine"), "{e}");
}

/// A small dense state at step 7 and its meta.
fn small() -> (CheckpointMeta, EngineState) {
    let p = LifParams::default();
    let state = EngineState {
        engine: "dense".into(),
        step: 7,
        pending: vec![1, 3],
        partitions: vec![PartitionState {
            range: 0..4,
            arrays: vec![
                StateArray::new("v", 1, StateData::F64(vec![-60.0, -50.0, -55.0, -49.0])),
                StateArray::new("refractory_until", 1, StateData::U64(vec![u64::MAX; 4])),
            ],
        }],
    };
    (meta(4, &p, 7), state)
}

/// What `load` says of a checkpoint `save` wrote from `meta` and `state`
/// (so with a checksum that holds: the other checks answer).
fn refusal(meta: &CheckpointMeta, state: &EngineState) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.npz");
    save(&path, meta, state).unwrap();
    let e = load(&path).unwrap_err().to_string();
    assert!(e.starts_with(&path.display().to_string()), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    e
}

#[test]
fn an_inconsistent_checkpoint_is_refused_naming_what_is_wrong() {
    let (m, s) = small();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.npz");
    save(&path, &m, &s).unwrap();
    assert_eq!(load(&path).unwrap(), (m.clone(), s.clone()));

    let with = |f: &dyn Fn(&mut CheckpointMeta, &mut EngineState)| {
        let (mut m, mut s) = small();
        f(&mut m, &mut s);
        refusal(&m, &s)
    };
    fn arrays(s: &mut EngineState) -> &mut Vec<StateArray> {
        &mut s.partitions[0].arrays
    }
    /// A change that makes a checkpoint inconsistent.
    type Change = Box<dyn Fn(&mut CheckpointMeta, &mut EngineState)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "is at step 9 but its stream position is step 7",
            Box::new(|_, s| s.step = 9),
        ),
        (
            "is at step 5 but its stream position is step 7",
            Box::new(|_, s| s.step = 5),
        ),
        (
            "stream position is step 99999 of a run of 9999 steps",
            Box::new(|m, s| {
                m.position.step = 99_999;
                s.step = 99_999;
            }),
        ),
        ("version 1 checkpoint", Box::new(|m, _| m.version = 1)),
        ("from a newer lifsim", Box::new(|m, _| m.version = 3)),
        (
            "unknown engine \"sparse\"",
            Box::new(|m, s| {
                m.engine = "sparse".into();
                s.engine = "sparse".into();
            }),
        ),
        (
            "pending spike of neuron 4, in a network of 4",
            Box::new(|_, s| s.pending = vec![1, 4]),
        ),
        (
            "not sorted and unique (3 before 1)",
            Box::new(|_, s| s.pending = vec![3, 1]),
        ),
        (
            "not sorted and unique (2 before 2)",
            Box::new(|_, s| s.pending = vec![2, 2]),
        ),
        (
            "state/v holds NaN at index 2",
            Box::new(|_, s| {
                arrays(s)[0].data = StateData::F64(vec![-60.0, -50.0, f64::NAN, -49.0])
            }),
        ),
        (
            "state/v holds -inf at index 0",
            Box::new(|_, s| {
                arrays(s)[0].data = StateData::F64(vec![f64::NEG_INFINITY, -50.0, -55.0, -49.0])
            }),
        ),
        (
            "state/v is a float32 array of shape (4,); the engine saves a float64",
            Box::new(|_, s| arrays(s)[0].data = StateData::F32(vec![-60.0; 4])),
        ),
        (
            "\"w\" that the dense engine does not save",
            Box::new(|_, s| arrays(s).push(StateArray::new("w", 1, StateData::F64(vec![0.0; 4])))),
        ),
        (
            "has no state array refractory_until",
            Box::new(|_, s| {
                arrays(s).pop();
            }),
        ),
    ];
    for (want, change) in &cases {
        let e = with(change.as_ref());
        assert!(e.contains(want), "{want:?} not in {e}");
    }
}

#[test]
fn a_network_checkpoint_is_checked_against_what_the_engine_saves() {
    let (mut m, _) = small();
    m.engine = "network".into();
    let n = 4;
    let state = |extra: Vec<StateArray>| EngineState {
        engine: "network".into(),
        step: 7,
        pending: vec![],
        partitions: vec![PartitionState {
            range: 0..n,
            arrays: [
                StateArray::new("y", 1, StateData::F64(vec![0.5; n])),
                StateArray::new("until", 1, StateData::F64(vec![0.0; n])),
            ]
            .into_iter()
            .chain(extra)
            .collect(),
        }],
    };
    let ring = |k: usize, w: usize| {
        StateArray::new(&format!("ring{k}"), w, StateData::F64(vec![0.0; n * w]))
    };
    let dirty = |k: usize, w: usize| {
        StateArray::new(&format!("dirty{k}"), w, StateData::U8(vec![0; n * w]))
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.npz");
    let good = state(vec![ring(0, 4), dirty(0, 4), ring(1, 4), dirty(1, 4)]);
    save(&path, &m, &good).unwrap();
    assert_eq!(load(&path).unwrap().1, good);
    for (arrays, want) in [
        (vec![ring(0, 4)], "has state array ring0 without dirty0"),
        (
            vec![
                StateArray::new("ring0", 2, StateData::F64(vec![0.0, 0.0, 0.0, 1.5, 0.0, 0.0, 0.0, 0.0])),
                StateArray::new("dirty0", 2, StateData::U8(vec![1, 0, 1, 0, 1, 0, 1, 0])),
            ],
            "state/ring0 holds 1.5 for neuron 1 in slot 1, which state/dirty0 says is empty",
        ),
        (vec![ring(0, 4), dirty(0, 4), ring(1, 2), dirty(1, 2)], "state/ring1 has 2 ring-buffer slots per neuron where another array has 4"),
        (vec![StateArray::new("poisson0", 2, StateData::U64(vec![1; n * 2]))], "state/poisson0 is a uint64 array of shape (4, 2); the engine saves a uint64 array of shape (4, 4)"),
        (vec![StateArray::new("isyn01", 1, StateData::F64(vec![0.0; n]))], "\"isyn01\" that the network engine does not save"),
        (vec![StateArray::new("isyn0", 1, StateData::F64(vec![0.0, f64::NAN, 0.0, 0.0]))], "state/isyn0 holds NaN at index 1"),
    ] {
        let e = refusal(&m, &state(arrays));
        assert!(e.contains(want), "{want:?} not in {e}");
    }
}

#[test]
fn a_corrupt_byte_fails_the_checksum() {
    let (m, s) = small();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.npz");
    save(&path, &m, &s).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    // The last byte of v's data (-49.0's sign and exponent): the
    // member's CRC-32 catches it first; the checkpoint's own checksum is
    // behind it for a member rewritten with a fresh CRC.
    let v = (-49.0f64).to_le_bytes();
    let at = bytes.windows(8).position(|w| w == v).unwrap() + 7;
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let e = load(&path).unwrap_err().to_string();
    assert!(e.contains("corrupt archive member"), "{e}");
}
