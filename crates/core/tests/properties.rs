//! Property tests: random valid networks give the same spikes whatever the
//! thread count (1, 2 or 3), and the same when their state is saved at a
//! random step, written to a checkpoint, read back and restored into a fresh
//! simulation with another thread count. For the network engine (random
//! network files: populations, projections of every rule, delta and
//! exponential synapses with delays, Poisson input) and the seed model's
//! dense engine (random weight matrices).

use std::path::Path;
use std::sync::Mutex;

use lifsim_core::checkpoint::{self, Checkpoint, CheckpointMeta, EngineState};
use lifsim_core::io::stream::StreamPosition;
use lifsim_core::{
    DenseView, EngineOptions, ExternalCurrent, InitialVoltage, LifParams, Network,
    NetworkDescription, NetworkSimulation, Simulation, SpikeSink,
};
use proptest::prelude::*;

/// Every spike, as (step, id), in the order they came.
#[derive(Default, Debug, PartialEq)]
struct Spikes(Vec<(u64, u32)>);

impl SpikeSink for Spikes {
    fn record(&mut self, step: usize, fired: &[u32]) {
        self.0.extend(fired.iter().map(|&i| (step as u64, i)));
    }
}

/// The simulations run one at a time: each may use 3 threads, and the test
/// machine may have fewer cores (spinning threads beyond them crawl).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 24,
        // A failing case is reported with its seed; no files in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `state` written with [`checkpoint::save`] and read with
/// [`checkpoint::load`], as `lifsim resume` gets it.
fn through_a_file(n: usize, dt: f64, steps: u64, state: &EngineState) -> EngineState {
    let meta = CheckpointMeta {
        version: checkpoint::CHECKPOINT_VERSION,
        engine: state.engine.clone(),
        n: n as u64,
        dt,
        steps,
        args: vec![],
        cwd: "/".into(),
        format: "events".into(),
        out: "out.npz".into(),
        stream: "out.npz.spikes".into(),
        position: StreamPosition {
            step: state.step,
            bytes: 0,
            spikes: 0,
        },
        network: None,
        unrecorded: Vec::new(),
        parts: Vec::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.npz");
    checkpoint::save(&path, &meta, state).unwrap();
    let (read, back) = checkpoint::load(&path).unwrap();
    assert_eq!(read, meta);
    back
}

/// One population's parameters.
#[derive(Clone, Debug)]
struct Pop {
    size: usize,
    tau_m: f64,
    v_reset: f64,
    /// Threshold above reset (mV).
    gap: f64,
    /// Resting potential above reset (mV): above `gap`, the neuron fires
    /// on its own.
    rest: f64,
    t_ref_steps: u32,
    euler: bool,
}

fn pop() -> impl Strategy<Value = Pop> {
    (
        5usize..=60,
        5.0f64..30.0,
        -70.0f64..-55.0,
        5.0f64..20.0,
        0.0f64..25.0,
        0u32..=30,
        any::<bool>(),
    )
        .prop_map(
            |(size, tau_m, v_reset, gap, rest, t_ref_steps, euler)| Pop {
                size,
                tau_m,
                v_reset,
                gap,
                rest,
                t_ref_steps,
                euler,
            },
        )
}

/// A connection rule, as its TOML lines.
fn rule() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("rule = \"all_to_all\"".to_string()),
        (0.02f64..0.5).prop_map(|p| format!("rule = \"fixed_probability\"\np = {p:?}")),
        (1usize..=5).prop_map(|k| format!("rule = \"fixed_indegree\"\nindegree = {k}")),
    ]
}

/// A synapse, as its TOML lines: delta, or exponential with its `tau_syn`.
fn synapse() -> impl Strategy<Value = (bool, String)> {
    prop_oneof![
        Just((true, "synapse = \"delta\"".to_string())),
        (1.0f64..10.0).prop_map(|tau| (
            false,
            format!("synapse = \"exponential\"\ntau_syn = {tau:?}")
        )),
    ]
}

/// One projection: source and target populations (indices, taken modulo
/// the number of populations), rule, weight, delay in steps, synapse.
#[derive(Clone, Debug)]
struct Proj {
    source: usize,
    targets: Vec<usize>,
    rule: String,
    weight: f64,
    delay_steps: u32,
    synapse: (bool, String),
}

fn proj() -> impl Strategy<Value = Proj> {
    (
        0usize..3,
        prop::collection::vec(0usize..3, 1..=3),
        rule(),
        -3.0f64..3.0,
        0u32..=30,
        synapse(),
    )
        .prop_map(
            |(source, targets, rule, weight, delay_steps, synapse)| Proj {
                source,
                targets,
                rule,
                weight,
                delay_steps,
                synapse,
            },
        )
}

/// A whole random network file.
#[derive(Clone, Debug)]
struct Net {
    pops: Vec<Pop>,
    projs: Vec<Proj>,
    /// Poisson input: rate (Hz), weight, synapse.
    input: (f64, f64, (bool, String)),
    duration_ms: u32,
    seed: u64,
}

fn net() -> impl Strategy<Value = Net> {
    (
        prop::collection::vec(pop(), 1..=3),
        prop::collection::vec(proj(), 0..=4),
        (1000.0f64..5000.0, 0.5f64..3.0, synapse()),
        50u32..=200,
        any::<u64>(),
        1.0f64..10.0,
    )
        .prop_map(|(mut pops, projs, input, duration_ms, seed, above)| {
            // The first population rests above threshold: it fires whatever
            // the rest does, so no network is silent.
            pops[0].rest = pops[0].gap + above;
            Net {
                pops,
                projs,
                input,
                duration_ms,
                seed,
            }
        })
}

impl Net {
    /// The network file.
    fn toml(&self) -> String {
        let k = self.pops.len();
        let name = |i: usize| format!("\"p{}\"", i % k);
        let mut t = format!(
            "dt = 0.1\nduration = {}.0\nseed = {}\n",
            self.duration_ms, self.seed
        );
        for (i, p) in self.pops.iter().enumerate() {
            t += &format!(
                "[[population]]\nname = \"p{i}\"\nsize = {}\ntau_m = {:?}\nv_reset = {:?}\n\
                 v_thresh = {:?}\nv_rest = {:?}\nt_ref = {:?}\nr = 1.0\nintegration = \"{}\"\n\
                 v0 = {{ distribution = \"uniform\", low = {:?}, high = {:?} }}\n",
                p.size,
                p.tau_m,
                p.v_reset,
                p.v_reset + p.gap,
                p.v_reset + p.rest,
                f64::from(p.t_ref_steps) * 0.1,
                if p.euler { "euler" } else { "exact" },
                p.v_reset,
                p.v_reset + p.gap,
            );
        }
        for p in &self.projs {
            // Targets in any order (["p1", "p0"] once made rows the
            // multi-threaded engine could not split), each population once.
            let mut targets: Vec<usize> = Vec::new();
            for i in p.targets.iter().map(|&i| i % k) {
                if !targets.contains(&i) {
                    targets.push(i);
                }
            }
            let targets: Vec<String> = targets.into_iter().map(name).collect();
            // Delta synapses act one step after the spike at the earliest.
            let delay = p.delay_steps.max(u32::from(p.synapse.0));
            t += &format!(
                "[[projection]]\nsource = {}\ntarget = [{}]\n{}\nweight = {:?}\ndelay = {:?}\n{}\n",
                name(p.source),
                targets.join(", "),
                p.rule,
                p.weight,
                f64::from(delay) * 0.1,
                p.synapse.1,
            );
        }
        let all: Vec<String> = (0..k).map(name).collect();
        let (rate, weight, synapse) = &self.input;
        t += &format!(
            "[[input]]\ntype = \"poisson\"\ntarget = [{}]\nrate = {rate:?}\nweight = {weight:?}\n{}\n",
            all.join(", "),
            synapse.1,
        );
        t
    }
}

/// Every spike of a whole network run on `threads` threads.
fn network_spikes(net: &Network<f64>, threads: usize) -> Spikes {
    let mut spikes = Spikes::default();
    NetworkSimulation::new(net, Some(threads))
        .unwrap()
        .run(&mut spikes);
    spikes
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_network_gives_the_same_spikes_on_any_thread_count_and_across_a_checkpoint(
        net in net(),
        at in 0.0f64..=1.0,
        first in 1usize..=3,
        second in 1usize..=3,
    ) {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let text = net.toml();
        let desc = NetworkDescription::from_toml(&text, Path::new("."), "random").unwrap();
        let built = Network::<f64>::build(&desc).unwrap();
        let n = built.n();
        let want = network_spikes(&built, 1);
        prop_assert!(!want.0.is_empty(), "the network is silent:\n{text}");
        for threads in [2, 3] {
            prop_assert_eq!(&network_spikes(&built, threads), &want, "{} threads", threads);
        }

        let steps = desc.steps() as u64;
        let step = (at * steps as f64) as u64;
        let mut sim = NetworkSimulation::new(&built, Some(first)).unwrap();
        let mut got = Spikes::default();
        sim.run_until(step, &mut got);
        let state = through_a_file(n, desc.dt, steps, &sim.save_state());
        drop(sim);
        let mut sim = NetworkSimulation::new(&built, Some(second)).unwrap();
        sim.restore_state(&state).unwrap();
        sim.run(&mut got);
        prop_assert_eq!(&got, &want, "saved at step {} on {} threads, restored on {}", step, first, second);
    }
}

/// A random dense run of the seed model: weights from `seed`, its parameters.
#[derive(Clone, Debug)]
struct Dense {
    n: usize,
    seed: u64,
    /// Weights are uniform in `[-scale, scale)` plus `bias`.
    scale: f64,
    bias: f64,
    i_ext: f64,
    t_max: f64,
    t_ref_steps: u32,
}

fn dense() -> impl Strategy<Value = Dense> {
    (
        5usize..=80,
        any::<u64>(),
        0.1f64..4.0,
        -0.5f64..0.5,
        // Above the 15 mV from reset to threshold: every neuron fires
        // within 14 ms unless inhibited, and runs last 20 ms or more.
        30.0f64..60.0,
        20.0f64..60.0,
        0u32..=200,
    )
        .prop_map(|(n, seed, scale, bias, i_ext, t_max, t_ref_steps)| Dense {
            n,
            seed,
            scale,
            bias,
            i_ext,
            t_max,
            t_ref_steps,
        })
}

impl Dense {
    fn weights(&self) -> Vec<f64> {
        // splitmix64: any weights will do, as long as they are the same each time.
        let mut x = self.seed;
        (0..self.n * self.n)
            .map(|_| {
                x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                let u = (z ^ (z >> 31)) as f64 / u64::MAX as f64;
                (2.0 * u - 1.0) * self.scale + self.bias
            })
            .collect()
    }

    fn params(&self) -> LifParams {
        LifParams {
            t_max: self.t_max,
            t_ref: f64::from(self.t_ref_steps) * 0.01,
            ..LifParams::default()
        }
    }

    fn sim<'w>(&self, w: &'w [f64], threads: usize) -> Simulation<'w, f64> {
        Simulation::new(
            DenseView::new(self.n, w).unwrap(),
            &self.params(),
            &ExternalCurrent::Constant(self.i_ext),
            &InitialVoltage::Uniform { seed: self.seed },
            &EngineOptions {
                threads: Some(threads),
                isa: None,
            },
        )
        .unwrap()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_seed_model_gives_the_same_spikes_on_any_thread_count_and_across_a_checkpoint(
        d in dense(),
        at in 0.0f64..=1.0,
        first in 1usize..=3,
        second in 1usize..=3,
    ) {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let w = d.weights();
        let run = |threads: usize| {
            let mut spikes = Spikes::default();
            d.sim(&w, threads).run(&mut spikes);
            spikes
        };
        let want = run(1);
        prop_assert!(!want.0.is_empty(), "the network is silent: {:?}", d);
        for threads in [2, 3] {
            prop_assert_eq!(&run(threads), &want, "{} threads", threads);
        }

        let p = d.params();
        let steps = p.steps() as u64;
        let step = (at * steps as f64) as u64;
        let mut sim = d.sim(&w, first);
        let mut got = Spikes::default();
        sim.run_until(step, &mut got);
        let state = through_a_file(d.n, p.dt, steps, &sim.save_state());
        drop(sim);
        let mut sim = d.sim(&w, second);
        sim.restore_state(&state).unwrap();
        sim.run(&mut got);
        prop_assert_eq!(&got, &want, "saved at step {} on {} threads, restored on {}", step, first, second);
    }
}
