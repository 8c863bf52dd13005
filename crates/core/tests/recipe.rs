//! The network as a recipe: a range of neurons builds the synapses onto its
//! own neurons only, and they are exactly the whole network's synapses onto
//! that range, for every connection rule and file format; a simulation's
//! partitions hold only their own.

use std::ops::Range;
use std::path::Path;

use lifsim_core::io::npy::{write_npy, Elem};
use lifsim_core::io::npz::save_npz;
use lifsim_core::network::build::Connections;
use lifsim_core::network::Recipe;
use lifsim_core::recording::{RecordMode, Recorder};
use lifsim_core::{Network, NetworkDescription, NetworkSimulation};

/// Populations E (0..150), I (150..220) and X (220..253), and a projection
/// of every rule (NEST's fixed_total_number, fixed_outdegree and
/// pairwise_bernoulli among them), weights and delays constant, drawn and
/// bounded (redrawn, clipped), targets listed in and out of population
/// order, matrices from every file format.
const NET: &str = r#"
dt = 0.1
duration = 50.0
seed = 7
[[population]]
name = "E"
size = 150
[[population]]
name = "I"
size = 70
[[population]]
name = "X"
size = 33

[[projection]]
source = "E"
target = ["E", "I"]
rule = "fixed_indegree"
indegree = 20
weight = { distribution = "normal", mean = 0.2, std = 0.05 }
delay = { distribution = "uniform", low = 0.5, high = 3.0 }
synapse = "delta"

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
weight = 0.01
delay = { distribution = "uniform", low = 0.1, high = 0.6 }

[[projection]]
source = "E"
target = "E"
rule = "one_to_one"
weight = { distribution = "uniform", low = 0.1, high = 0.5 }
delay = 2.0

[[projection]]
source = "I"
target = ["X", "I"]
rule = "fixed_indegree"
indegree = 10
allow_multapses = false
allow_autapses = false
weight = 0.3
delay = 1.2
synapse = "delta"

[[projection]]
source = "E"
target = "I"
rule = "from_file"
file = "dense_c.npy"
delay = { distribution = "uniform", low = 0.5, high = 2.0 }
synapse = "delta"

[[projection]]
source = "I"
target = ["X", "E"]
rule = "from_file"
file = "dense_f.npy"
weight_scale = 2.0
delay = 1.0
synapse = "delta"

[[projection]]
source = "X"
target = ["I", "E"]
rule = "from_file"
file = "w_csr.npz"
delay = { distribution = "uniform", low = 0.5, high = 2.0 }
synapse = "delta"

[[projection]]
source = "E"
target = "X"
rule = "from_file"
file = "w_coo.npz"
delay = 1.0
synapse = "delta"

[[projection]]
source = ["X", "I"]
target = "E"
rule = "from_file"
file = "w_csc.npz"
delay = 1.5
synapse = "delta"

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
source = "I"
target = "E"
rule = "pairwise_bernoulli"
p = 0.05
weight = -0.2
delay = 1.0
synapse = "delta"

[[input]]
type = "poisson"
target = ["E", "I", "X"]
rate = 15000.0
weight = 0.1
"#;

/// Neurons in [`NET`].
const N: usize = 253;

/// A deterministic sparse matrix (targets x sources), about a third non-zero.
fn matrix(rows: usize, cols: usize, salt: u64) -> Vec<f64> {
    let mut x = salt;
    (0..rows * cols)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            if u < 0.35 {
                (u - 0.15) * 3.0
            } else {
                0.0
            }
        })
        .collect()
}

/// Writes `w` (row-major, `rows` x `cols`) as a scipy.sparse `.npz` of `format`.
fn write_sparse(path: &Path, w: &[f64], rows: usize, cols: usize, format: &str) {
    let mut entries: Vec<(usize, usize, f64)> = Vec::new();
    for i in 0..rows {
        for j in 0..cols {
            if w[i * cols + j] != 0.0 {
                entries.push((i, j, w[i * cols + j]));
            }
        }
    }
    if format == "csc" {
        entries.sort_by_key(|&(i, j, _)| (j, i));
    }
    if format == "coo" {
        // Any order: reversed, so the reader must sort by target.
        entries.reverse();
    }
    let data: Vec<f64> = entries.iter().map(|e| e.2).collect();
    let major = |m: usize, key: &dyn Fn(&(usize, usize, f64)) -> usize| {
        let mut ptr = vec![0i64; m + 1];
        for e in &entries {
            ptr[key(e) + 1] += 1;
        }
        for k in 0..m {
            ptr[k + 1] += ptr[k];
        }
        ptr
    };
    save_npz(path, |npz| {
        // scipy saves the format as a byte string; the reader looks at its bytes.
        npz.add_streamed("format", Elem::Bool, &[3], |out| {
            out.write_all(format.as_bytes())
        })?;
        npz.add("shape", &[rows as i64, cols as i64], &[2])?;
        npz.add("data", &data, &[data.len()])?;
        let index = |f: &dyn Fn(&(usize, usize, f64)) -> usize| -> Vec<i32> {
            entries.iter().map(|e| f(e) as i32).collect()
        };
        match format {
            "coo" => {
                npz.add("row", &index(&|e| e.0), &[data.len()])?;
                npz.add("col", &index(&|e| e.1), &[data.len()])
            }
            "csr" => {
                npz.add("indptr", &major(rows, &|e| e.0), &[rows + 1])?;
                npz.add("indices", &index(&|e| e.1), &[data.len()])
            }
            _ => {
                npz.add("indptr", &major(cols, &|e| e.1), &[cols + 1])?;
                npz.add("indices", &index(&|e| e.0), &[data.len()])
            }
        }
    })
    .unwrap();
}

/// [`NET`] with its matrix files written into `dir`.
fn description(dir: &Path) -> NetworkDescription {
    let dense = |name: &str, rows: usize, cols: usize, salt: u64, fortran: bool, f32: bool| {
        let w = matrix(rows, cols, salt);
        let w = if fortran {
            (0..rows * cols)
                .map(|k| w[(k % rows) * cols + k / rows])
                .collect()
        } else {
            w
        };
        let mut file = std::fs::File::create(dir.join(name)).unwrap();
        if f32 {
            let w: Vec<f32> = w.iter().map(|&x| x as f32).collect();
            write_npy(&mut file, &w, &[rows, cols], fortran).unwrap();
        } else {
            write_npy(&mut file, &w, &[rows, cols], fortran).unwrap();
        }
    };
    dense("dense_c.npy", 70, 150, 1, false, false);
    dense("dense_f.npy", 183, 70, 2, true, true);
    write_sparse(&dir.join("w_csr.npz"), &matrix(220, 33, 3), 220, 33, "csr");
    write_sparse(&dir.join("w_coo.npz"), &matrix(33, 150, 4), 33, 150, "coo");
    write_sparse(
        &dir.join("w_csc.npz"),
        &matrix(150, 103, 5),
        150,
        103,
        "csc",
    );
    NetworkDescription::from_toml(NET, dir, "recipe").unwrap()
}

type Synapse = (usize, u32, u64, u16);

/// Every synapse of `c` as (source row, target, weight bits, delay), in
/// row order.
fn synapses(c: &Connections<f64>) -> Vec<Synapse> {
    c.csr
        .triples()
        .into_iter()
        .map(|(s, t, w, d)| (s, t, w.to_bits(), d))
        .collect()
}

/// The rows of several ranges' connections joined, range after range within
/// each row's stretch of one delay: what one build of their union holds, in
/// its order.
fn joined(parts: &[Vec<Synapse>]) -> Vec<Synapse> {
    let mut all: Vec<Synapse> = parts.iter().flatten().copied().collect();
    // Stable: within a row's delay, the ranges' synapses stay in range order.
    all.sort_by_key(|s| (s.0, s.3));
    all
}

/// An FNV-1a digest of synapses, to compare with the build before the recipe.
fn digest(synapses: &[Synapse]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &(s, t, w, d) in synapses {
        for x in [s as u64, t as u64, w, d as u64] {
            for b in x.to_le_bytes() {
                h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
    }
    h
}

/// The whole build's synapses per projection: (count, digest), as the build
/// of every projection at once gave them before a range could build its own
/// (commit 83da923, the same network file and matrices; the last three as
/// they were first built, on branch pd14-files), in the layout rows have
/// since they are stored compactly: each row by delay, then target
/// (stably), and drawn weights rounded to single precision (the digests of
/// those builds so re-sorted and rounded). Re-pinned for the rules drawn by
/// source since procedural connectivity (fixed_probability, all_to_all's
/// delays, fixed_total_number, fixed_outdegree's weights, pairwise_bernoulli:
/// projections 1, 2, 10, 11, 12; one_to_one from E onto E keys source and
/// target alike, so it kept its digest); fixed_indegree and the files keep
/// theirs.
const BEFORE: [(usize, u64); 13] = [
    (4400, 0x3e41_4c7c_04df_c7fc),
    (2246, 0xce7a_4065_4c99_f064),
    (22350, 0xf394_dcf8_fc63_7053),
    (150, 0xf7a3_bd19_6d55_339c),
    (1030, 0x0430_ca3b_2a91_4159),
    (3631, 0x8022_c445_f0ee_5add),
    (4451, 0x2c35_9ffa_ef01_51a0),
    (2540, 0x123b_ef09_93b6_b1ed),
    (1737, 0xf500_5a24_3a81_b269),
    (5376, 0x13a3_63d0_63ca_2d0f),
    (3000, 0x58cc_a3dc_4b5b_0d86),
    (825, 0x5046_ac85_1aa9_3a94),
    (510, 0x4215_3dc8_8c38_427d),
];

/// Cuts of 0..N into ranges: one, the engine's splits, and ranges that
/// start and end inside populations, one of a single neuron, one empty.
fn cuts() -> Vec<Vec<Range<usize>>> {
    vec![
        vec![0..N],
        vec![0..128, 128..N],
        vec![0..64, 64..128, 128..192, 192..N],
        vec![0..1, 1..97, 97..97, 97..151, 151..230, 230..N],
    ]
}

#[test]
fn every_range_builds_exactly_the_whole_networks_synapses_onto_it() {
    let dir = tempfile::tempdir().unwrap();
    let desc = description(dir.path());
    let whole = Network::<f64>::build(&desc).unwrap();
    let recipe = Recipe::<f64>::new(&desc).unwrap();
    for (k, proj) in whole.projections.iter().enumerate() {
        let all = synapses(proj);
        assert!(!all.is_empty(), "projection {k} has synapses");
        assert_eq!(
            (all.len(), digest(&all)),
            BEFORE[k],
            "projection {k} ({}) as built before",
            proj.label
        );
        for cut in cuts() {
            let parts: Vec<Vec<Synapse>> = cut
                .iter()
                .map(|r| {
                    let c = recipe.connections_onto(k, r.clone()).unwrap();
                    assert_eq!(c.targets, *r);
                    assert_eq!(c.csr.n_sources(), proj.csr.n_sources());
                    assert_eq!((c.channel, &c.sources), (proj.channel, &proj.sources));
                    let own = synapses(&c);
                    assert!(own.iter().all(|s| r.contains(&(s.1 as usize))));
                    own
                })
                .collect();
            assert_eq!(joined(&parts), all, "projection {k}, ranges {cut:?}");
        }
    }
}

#[test]
fn a_partition_holds_only_the_synapses_onto_its_own_neurons() {
    let dir = tempfile::tempdir().unwrap();
    let desc = description(dir.path());
    let whole = Network::<f64>::build(&desc).unwrap();
    let recipe = Recipe::<f64>::new(&desc).unwrap();
    let mut spikes = Vec::new();
    for threads in [1, 2, 3] {
        let mut sim = NetworkSimulation::new(&recipe, Some(threads)).unwrap();
        assert_eq!(sim.partitions(), threads);
        let parts: Vec<&[Connections<f64>]> = sim.connections().collect();
        let mut next = 0;
        for own in &parts {
            let range = own[0].targets.clone();
            assert_eq!(range.start, next, "partitions cover the network in order");
            next = range.end;
            for c in own.iter() {
                assert_eq!(c.targets, range);
                assert!(c
                    .csr
                    .targets()
                    .iter()
                    .all(|&t| range.contains(&(t as usize))));
            }
        }
        assert_eq!(next, N);
        for (k, proj) in whole.projections.iter().enumerate() {
            let own: Vec<Vec<Synapse>> = parts.iter().map(|p| synapses(&p[k])).collect();
            assert_eq!(
                joined(&own),
                synapses(proj),
                "{threads} threads, projection {k}"
            );
        }
        assert_eq!(sim.synapses(), whole.synapses());
        let bytes: usize = parts
            .iter()
            .flat_map(|p| p.iter())
            .map(|c| c.csr.bytes())
            .sum();
        assert_eq!(sim.synapse_bytes(), bytes);
        let mut rec = Recorder::new(RecordMode::Events, N, desc.steps()).unwrap();
        sim.run(&mut rec);
        let rec = rec.finish(desc.dt);
        assert!(rec.total > 100, "active: {}", rec.total);
        spikes.push((
            rec.events,
            sim.voltages()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>(),
        ));
    }
    // The whole network passes as its recipe and runs the same.
    let mut sim = NetworkSimulation::new(&whole, Some(2)).unwrap();
    let mut rec = Recorder::new(RecordMode::Events, N, desc.steps()).unwrap();
    sim.run(&mut rec);
    assert_eq!(rec.finish(desc.dt).events, spikes[0].0);
    assert!(spikes.iter().all(|s| *s == spikes[0]));
}

#[test]
fn a_bad_file_is_refused_alike_by_every_range() {
    let dir = tempfile::tempdir().unwrap();
    let desc = description(dir.path());
    let mut w = matrix(33, 150, 4);
    let bad = w.iter().position(|&x| x != 0.0).unwrap() + 3 * 150;
    w[bad] = f64::NAN;
    write_sparse(&dir.path().join("w_coo.npz"), &w, 33, 150, "coo");
    let whole = Network::<f64>::build(&desc).unwrap_err().to_string();
    assert!(
        whole.contains("w_coo.npz") && whole.contains("is NaN"),
        "{whole}"
    );
    let recipe = Recipe::<f64>::new(&desc).unwrap();
    for threads in [1, 3] {
        let err = NetworkSimulation::new(&recipe, Some(threads))
            .err()
            .unwrap();
        assert_eq!(err.to_string(), whole, "{threads} threads");
    }
    // A range without targets of the projection still reads and checks the file.
    let err = recipe.connections_onto(8, 0..10).unwrap_err().to_string();
    assert_eq!(err, whole);
}
