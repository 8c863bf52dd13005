//! The seed's run as a network of the network engine
//! (`network::seed::seed_network`: one `lif_euler` population, one dense
//! projection acting within its step, the seed's time axis) against the
//! seed's dense engine: the same spike rows and final potentials, bit for
//! bit, in float64 and float32, on 1 and 2 threads, run whole or in pieces.

use std::path::Path;

use lifsim_core::checkpoint::Checkpoint;
use lifsim_core::io::npy::{header_bytes, Elem};
use lifsim_core::network::seed::seed_network;
use lifsim_core::network::Recipe;
use lifsim_core::recording::Events;
use lifsim_core::{
    DenseView, Dtype, EngineOptions, ExternalCurrent, InitialVoltage, LifParams, NetworkSimulation,
    Real, RecordMode, Recorder, Simulation, WeightSpec,
};

/// `W` (column-major, float64) written to `path` as a Fortran-order `.npy`.
fn save(path: &Path, n: usize, w: &[f64]) {
    let mut bytes = header_bytes(Elem::F64, true, &[n, n]);
    for x in w {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}

struct Case {
    n: usize,
    w: Vec<f64>,
    params: LifParams,
    current: ExternalCurrent,
    v0: Vec<f64>,
}

/// An active network with refractoriness, a per-neuron current, a duration
/// that is not a whole number of steps and neurons above threshold at `t_0`.
fn case(t_ref: f64, per_neuron: bool) -> Case {
    let n = 300;
    let spec = WeightSpec {
        n,
        mean: 0.0,
        std: 40.0,
        p: 0.2,
        quantum: None,
        seed: 3,
    };
    let w = spec.column_major::<f64>().unwrap();
    let params = LifParams {
        t_max: 80.37,
        t_ref,
        ..LifParams::default()
    };
    let current = if per_neuron {
        ExternalCurrent::PerNeuron((0..n).map(|i| 20.0 + (i % 13) as f64).collect())
    } else {
        ExternalCurrent::Constant(25.0)
    };
    let mut v0 = InitialVoltage::Uniform { seed: 5 }
        .voltages(n, &params)
        .unwrap();
    for i in (0..n).step_by(37) {
        v0[i] = -49.5; // at t_0, above v_thresh: spikes of row 0
    }
    Case {
        n,
        w,
        params,
        current,
        v0,
    }
}

fn options(threads: usize) -> EngineOptions {
    EngineOptions {
        threads: Some(threads),
        isa: None,
    }
}

/// The seed's dense engine: its events and final potentials' bits.
fn dense<T: Real>(c: &Case, threads: usize) -> (Events, Vec<u64>) {
    let w: Vec<T> = c.w.iter().map(|&x| T::from_f64(x)).collect();
    let view = DenseView::new(c.n, &w).unwrap();
    let v0 = InitialVoltage::Values(c.v0.clone());
    let mut sim = Simulation::new(view, &c.params, &c.current, &v0, &options(threads)).unwrap();
    let mut rec = Recorder::new(RecordMode::Events, c.n, c.params.steps()).unwrap();
    sim.run(&mut rec);
    let bits = sim
        .voltages()
        .iter()
        .map(|v| v.to_f64().to_bits())
        .collect();
    (rec.finish(c.params.dt).events.unwrap(), bits)
}

/// The same run as a network of the network engine, run in three pieces
/// (`cuts`) with a checkpoint restored into a fresh simulation on the way.
fn network<T: Real>(c: &Case, file: &Path, threads: usize) -> (Events, Vec<u64>) {
    let desc = seed_network(
        Some(file),
        c.n,
        &c.params,
        &c.current,
        c.v0.clone(),
        T::DTYPE,
    )
    .unwrap();
    assert_eq!(desc.steps(), c.params.steps());
    let recipe = Recipe::<T>::new(&desc).unwrap();
    let mut sim = NetworkSimulation::with_options(&recipe, &options(threads)).unwrap();
    assert_eq!(sim.partitions(), threads);
    let mut rec = Recorder::new(RecordMode::Events, c.n, c.params.steps()).unwrap();
    sim.run_until(1000, &mut rec);
    let state = sim.save_state();
    let mut sim = NetworkSimulation::with_options(&recipe, &options(3 - threads)).unwrap();
    sim.restore_state(&state).unwrap();
    sim.run_until(2222, &mut rec);
    sim.run(&mut rec);
    let bits = sim.voltages().iter().map(|v| v.to_bits()).collect();
    (rec.finish(c.params.dt).events.unwrap(), bits)
}

fn same_as_the_dense_engine<T: Real>(dtype: Dtype) {
    let dir = tempfile::tempdir().unwrap();
    // Durations that end with neurons at threshold (found by the last
    // step, reset by the next) as well as without.
    let mut pending = 0;
    for (t_ref, per_neuron, t_max) in [
        (0.0, false, 80.37),
        (1.0, true, 80.37),
        (0.0, false, 71.14),
        (1.0, true, 64.49),
        (0.0, true, 57.02),
        (1.0, false, 50.75),
    ] {
        let mut c = case(t_ref, per_neuron);
        c.params.t_max = t_max;
        let file = dir.path().join("w.npy");
        save(&file, c.n, &c.w);
        let want = dense::<T>(&c, 1);
        let spikes = want.0.ids.len();
        assert!(
            spikes as f64 > 10.0 * t_max,
            "{spikes} spikes in {t_max} ms"
        );
        let first: Vec<u32> = (want.0.steps.iter().zip(&want.0.ids))
            .take_while(|(&s, _)| s == 0)
            .map(|(_, &i)| i)
            .collect();
        assert_eq!(first, (0..c.n as u32).step_by(37).collect::<Vec<_>>());
        for threads in [1, 2] {
            assert!(dense::<T>(&c, threads) == want);
            let got = network::<T>(&c, &file, threads);
            let at = |e: &Events| {
                e.steps
                    .iter()
                    .zip(&e.ids)
                    .map(|(&s, &i)| (s, i))
                    .collect::<Vec<_>>()
            };
            let (g, w) = (at(&got.0), at(&want.0));
            let diff = g.iter().zip(&w).position(|(a, b)| a != b);
            assert!(
                g.len() == w.len() && diff.is_none(),
                "{dtype}, t_ref {t_ref}, {threads} threads: {} vs {} spikes, first difference at {diff:?}",
                g.len(),
                w.len()
            );
            // The potentials after the last step, bit for bit: the network
            // engine too leaves a neuron found at threshold there until the
            // step that delivers its spike.
            let thresh = T::from_f64(c.params.v_thresh).to_f64();
            pending += (want.1.iter())
                .filter(|&&w| f64::from_bits(w) >= thresh)
                .count();
            for (k, (&g, &w)) in got.1.iter().zip(&want.1).enumerate() {
                assert_eq!(
                    g, w,
                    "{dtype}, t_max {t_max}, {threads} threads: neuron {k}"
                );
            }
        }
    }
    assert!(
        pending > 0,
        "{dtype}: no run ended with a neuron at threshold"
    );
}

#[test]
fn the_seed_network_gives_the_dense_engines_spikes_in_float64() {
    same_as_the_dense_engine::<f64>(Dtype::Float64);
}

#[test]
fn the_seed_network_gives_the_dense_engines_spikes_in_float32() {
    same_as_the_dense_engine::<f32>(Dtype::Float32);
}

#[test]
fn what_the_seed_axis_and_dense_columns_refuse() {
    let net = |top: &str, delay: &str| {
        format!(
            "duration = 10.0\n{top}\n[[population]]\nname = \"E\"\nsize = 10\nmodel = \"lif_euler\"\n\
             [[projection]]\nsource = \"E\"\ntarget = \"E\"\nrule = \"all_to_all\"\nweight = 0.5\n\
             delay = {delay}\nsynapse = \"exponential\"\ntau_syn = 0.1\nconnectivity = \"dense\"\n"
        )
    };
    let read = |text: &str| {
        lifsim_core::NetworkDescription::from_toml(text, Path::new("."), "x").map(|_| ())
    };
    let err = read(&net(
        "",
        "{ distribution = \"uniform\", low = 0.1, high = 0.5 }",
    ))
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "invalid parameter connectivity: projection 1 (E -> E): dense connectivity stores one delay for all its synapses; give a constant delay or use connectivity = \"stored\""
    );
    let err = read(&net("timing = \"nest\"", "0.5"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid parameter timing: the network: must be \"network\" or \"seed\", got \"nest\""
    );
    // The seed's axis takes any duration (ceil - 1 steps); network files' a multiple of dt.
    assert!(read(&net("timing = \"seed\"\ndt = 0.1", "0.5").replace("10.0", "10.05")).is_ok());
    assert!(read(&net("dt = 0.1", "0.5").replace("10.0", "10.05")).is_err());
}

/// The spikes of the network file `text` on `threads` threads, in float64.
fn spikes(text: &str, threads: usize) -> lifsim_core::recording::Events {
    let desc = lifsim_core::NetworkDescription::from_toml(text, Path::new("."), "x").unwrap();
    let recipe = Recipe::<f64>::new(&desc).unwrap();
    let mut sim = NetworkSimulation::with_options(&recipe, &options(threads)).unwrap();
    let mut rec = Recorder::new(RecordMode::Events, desc.n(), desc.steps()).unwrap();
    sim.run(&mut rec);
    rec.finish(desc.dt).events.unwrap()
}

/// A dense projection with a delay gives the spikes of the same projection
/// stored as sparse rows: the same sums in the same order.
#[test]
fn dense_columns_give_the_spikes_of_sparse_rows() {
    let text = |connectivity: &str| {
        format!(
            "duration = 200.0\ndt = 0.1\n[[population]]\nname = \"E\"\nsize = 200\n\
             model = \"lif_euler\"\ntau_m = 10.0\nr = 10.0\ni_ext = 1.6\n\
             v0 = {{ distribution = \"uniform\", low = -65.0, high = -50.0 }}\n\
             [[projection]]\nsource = \"E\"\ntarget = \"E\"\nrule = \"fixed_probability\"\np = 0.1\n\
             weight = {{ distribution = \"normal\", mean = 0.0, std = 0.6 }}\ndelay = 1.5\n\
             synapse = \"exponential\"\ntau_syn = 2.0\nconnectivity = \"{connectivity}\"\n"
        )
    };
    let events = |connectivity: &str, threads: usize| spikes(&text(connectivity), threads);
    let sparse = events("stored", 1);
    assert!(sparse.ids.len() > 500, "{} spikes", sparse.ids.len());
    for threads in [1, 2] {
        let dense = events("dense", threads);
        assert!(dense == sparse, "{threads} threads");
    }
}

/// One spike's column of a dense projection without delay is lent to the
/// update in place of its ring row; a model that reads ring rows (here the
/// Euler neuron with delta jumps too, so not the seed's kernels) gets it
/// copied there, and the spikes are those of the same projection stored as
/// sparse rows.
#[test]
fn a_lent_column_reaches_a_model_that_reads_rows() {
    let text = |connectivity: &str| {
        format!(
            "duration = 200.0\ndt = 0.1\ntiming = \"seed\"\n[[population]]\nname = \"E\"\nsize = 200\n\
             model = \"lif_euler\"\ntau_m = 10.0\nr = 10.0\ni_ext = 1.6\n\
             v0 = {{ distribution = \"uniform\", low = -65.0, high = -50.0 }}\n\
             [[projection]]\nsource = \"E\"\ntarget = \"E\"\nrule = \"fixed_probability\"\np = 0.1\n\
             weight = {{ distribution = \"normal\", mean = 0.0, std = 0.6 }}\ndelay = 0.0\n\
             synapse = \"exponential\"\ntau_syn = 0.1\nconnectivity = \"{connectivity}\"\n\
             [[projection]]\nsource = \"E\"\ntarget = \"E\"\nrule = \"fixed_probability\"\np = 0.05\n\
             weight = 0.2\ndelay = 0.1\nsynapse = \"delta\"\n"
        )
    };
    let events = |connectivity: &str, threads: usize| spikes(&text(connectivity), threads);
    let sparse = events("stored", 1);
    // Many steps deliver exactly one spike (the lent case).
    let mut per_step = std::collections::BTreeMap::new();
    for &k in &sparse.steps {
        *per_step.entry(k).or_insert(0) += 1;
    }
    let single = per_step.values().filter(|&&n| n == 1).count();
    assert!(single > 200, "{single} steps with one spike");
    for threads in [1, 2] {
        let dense = events("dense", threads);
        assert!(dense == sparse, "{threads} threads");
    }
}
