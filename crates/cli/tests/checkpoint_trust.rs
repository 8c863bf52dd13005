//! Black-box tests of `lifsim resume` on checkpoints that are not what a run
//! wrote: each is a real checkpoint (a run killed with SIGKILL after its first
//! one) with one member rewritten. Every such checkpoint must be refused with
//! exit status 2 and one line naming it and what is wrong, before anything is
//! simulated: the stream it names is left byte for byte as it was and no
//! output is created.
//!
//! Rewritten members are sealed again with the checkpoint's checksum (64-bit
//! FNV-1a of every other member's file name and bytes, in archive order;
//! computed here independently) where the checkpoint has one, so each test
//! meets the check it is about, not the checksum; one test corrupts a byte
//! without sealing.

mod common;
use common::{assert_error, lifsim};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lifsim_core::io::npy::{header_bytes, write_npy, Elem};
use lifsim_core::io::npz::{NpzReader, NpzWriter};

/// Neurons of [`NETWORK`].
const N: usize = 300;

/// A small active network with every kind of network-engine state: delays
/// (ring buffers and their dirty flags), exponential synapses (currents),
/// refractoriness and a Poisson input. Long enough (100,000 steps) to be
/// killed well before its end.
const NETWORK: &str = r#"
dt = 0.1
duration = 10000.0
seed = 3
[[population]]
name = "E"
size = 240
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
size = 60
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
[[input]]
type = "poisson"
target = ["E", "I"]
rate = 900.0
weight = 0.6
synapse = "delta"
"#;

/// A folder for a killed run, under Cargo's temporary folder, in one of
/// this test process (the runs outlive every test); those of test processes
/// that are gone are removed.
fn run_folder(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("checkpoint_trust");
    let ours = root.join(std::process::id().to_string());
    for e in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        let pid = e.file_name();
        if e.path() != ours && !Path::new("/proc").join(&pid).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    let dir = ours.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A run killed after its first checkpoint: its checkpoint and the stream
/// that goes with it.
struct Killed {
    ck: PathBuf,
    stream: PathBuf,
}

/// Runs `lifsim run ARGS --out run.npz --checkpoint ck.npz ...` in `dir`
/// and SIGKILLs it once its first checkpoint exists.
fn kill_after_first_checkpoint(dir: &Path, args: &[&str]) -> Killed {
    let (ck, out) = (dir.join("ck.npz"), dir.join("run.npz"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifsim"))
        .arg("run")
        .args(args)
        .args(["--out", "run.npz", "--format", "events", "--quiet"])
        .args(["--checkpoint", "ck.npz", "--checkpoint-every", "10"])
        .current_dir(dir)
        .spawn()
        .expect("lifsim runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ck.exists() && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        ck.exists() && !out.exists(),
        "the run was to be killed after its first checkpoint"
    );
    Killed {
        ck,
        stream: dir.join("run.npz.spikes"),
    }
}

/// The network-engine run, killed once for the whole test process.
fn network_run() -> &'static Killed {
    static RUN: OnceLock<Killed> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = run_folder("network-run");
        std::fs::write(dir.join("net.toml"), NETWORK).unwrap();
        kill_after_first_checkpoint(&dir, &["net.toml", "--threads", "2"])
    })
}

/// The seed model's dense-engine run, killed once for the whole test process.
fn dense_run() -> &'static Killed {
    static RUN: OnceLock<Killed> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = run_folder("dense-run");
        let w: Vec<f64> = (0..N * N)
            .map(|k| ((k * 7 % 23) as f64 - 11.0) / 8.0)
            .collect();
        let mut bytes = Vec::new();
        write_npy(&mut bytes, &w, &[N, N], false).unwrap();
        std::fs::write(dir.join("w.npy"), bytes).unwrap();
        let args = ["--weights", "w.npy", "--t-max", "2000", "--i-ext", "25"];
        kill_after_first_checkpoint(
            &dir,
            &[&args[..], &["--v0", "uniform", "--threads", "2"]].concat(),
        )
    })
}

/// One member of an `.npz`: its name, type, shape and data bytes.
#[derive(Clone)]
struct Member {
    name: String,
    elem: Elem,
    shape: Vec<usize>,
    data: Vec<u8>,
}

/// A copy of a killed run's checkpoint and stream in a folder of its own,
/// its members in memory to be rewritten.
struct Case {
    dir: tempfile::TempDir,
    ck: PathBuf,
    stream: PathBuf,
    out: PathBuf,
    members: Vec<Member>,
}

impl Case {
    /// Copies `run`'s checkpoint and stream into a fresh folder and points
    /// the checkpoint at them: its stream and the checkpoints a resumed run
    /// writes (`--checkpoint` in its arguments) are this copy's.
    fn new(run: &Killed) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let (ck, out) = (dir.path().join("ck.npz"), dir.path().join("out.npz"));
        let stream = dir.path().join("out.npz.spikes");
        std::fs::copy(&run.stream, &stream).unwrap();
        let mut z = NpzReader::open(&run.ck).unwrap();
        let members = z
            .names()
            .into_iter()
            .map(|name| {
                let a = z.array(&name).unwrap();
                Member {
                    elem: a.header().elem,
                    shape: a.header().shape.clone(),
                    data: a.data().to_vec(),
                    name,
                }
            })
            .collect();
        let mut case = Case {
            dir,
            ck,
            stream,
            out,
            members,
        };
        let mut meta = case.meta();
        meta["stream"] = case.stream.display().to_string().into();
        let args = meta["args"].as_array_mut().unwrap();
        let at = args.iter().position(|a| a == "--checkpoint").unwrap() + 1;
        args[at] = case
            .dir
            .path()
            .join("resumed-ck.npz")
            .display()
            .to_string()
            .into();
        case.set_meta(&meta);
        case
    }

    fn member(&mut self, name: &str) -> &mut Member {
        self.members
            .iter_mut()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("no member {name}"))
    }

    /// The first member whose name starts with `prefix` (the channel
    /// numbers depend on the network).
    fn first_named(&self, prefix: &str) -> String {
        let m = self.members.iter().find(|m| m.name.starts_with(prefix));
        m.unwrap_or_else(|| panic!("no member {prefix}..."))
            .name
            .clone()
    }

    /// The meta JSON (stored as one uint32 per byte).
    fn meta(&mut self) -> serde_json::Value {
        let bytes: Vec<u8> = self.member("meta").data.chunks(4).map(|c| c[0]).collect();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn set_meta(&mut self, meta: &serde_json::Value) {
        let json = serde_json::to_vec(meta).unwrap();
        let m = self.member("meta");
        m.shape = vec![json.len()];
        m.data = json
            .iter()
            .flat_map(|&b| u32::from(b).to_le_bytes())
            .collect();
    }

    /// The step the checkpoint holds.
    fn step(&mut self) -> u64 {
        u64::from_le_bytes(self.member("step").data[..8].try_into().unwrap())
    }

    /// Sets float64 state array `name`'s value `index`.
    fn set_f64(&mut self, name: &str, index: usize, x: f64) {
        let m = self.member(name);
        assert_eq!(m.elem, Elem::F64, "{name}");
        m.data[index * 8..index * 8 + 8].copy_from_slice(&x.to_le_bytes());
    }

    /// Sets the pending spikes, stored as uint32 (as lifsim writes them).
    fn set_pending_u32(&mut self, ids: &[u32]) {
        let m = self.member("pending");
        (m.elem, m.shape) = (Elem::U32, vec![ids.len()]);
        m.data = ids.iter().flat_map(|i| i.to_le_bytes()).collect();
    }

    /// Writes the checkpoint, with its checksum (if it has one) made that of
    /// the members as they now are when `seal`.
    fn write(&self, seal: bool) {
        let mut members = self.members.clone();
        let sum = fnv1a(members.iter().filter(|m| m.name != "checksum"));
        if let Some(c) = members.iter_mut().find(|m| m.name == "checksum") {
            if seal {
                c.data = sum.to_le_bytes().to_vec();
            }
        }
        let mut z = NpzWriter::new(std::fs::File::create(&self.ck).unwrap());
        for m in &members {
            z.add_streamed(&m.name, m.elem, &m.shape, |w| w.write_all(&m.data))
                .unwrap();
        }
        z.finish().unwrap();
    }

    /// Seals and writes the checkpoint, resumes it, and asserts the refusal
    /// (exit 2, one line naming the checkpoint and holding `fragments`), the
    /// stream unchanged and no output.
    fn assert_refused(&self, fragments: &[&str]) {
        self.write(true);
        self.assert_resume_refused(fragments);
    }

    /// [`Case::assert_refused`] of the checkpoint as written.
    fn assert_resume_refused(&self, fragments: &[&str]) {
        let before = std::fs::read(&self.stream).unwrap();
        let o = self.resume();
        let ck = self.ck.display().to_string();
        assert_error(&o, &[&[ck.as_str()], fragments].concat());
        assert!(
            std::fs::read(&self.stream).unwrap() == before,
            "the stream changed"
        );
        assert!(!self.out.exists(), "an output was written");
    }

    fn resume(&self) -> Output {
        lifsim(&[
            "resume",
            self.ck.to_str().unwrap(),
            "--out",
            self.out.to_str().unwrap(),
            "--threads",
            "1",
            "--quiet",
        ])
    }
}

/// 64-bit FNV-1a of each member's file name (`NAME.npy`) and bytes (the
/// `.npy` header lifsim writes, then the data).
fn fnv1a<'a>(members: impl Iterator<Item = &'a Member>) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for m in members {
        let name = format!("{}.npy", m.name);
        let header = header_bytes(m.elem, false, &m.shape);
        for &b in name.as_bytes().iter().chain(&header).chain(&m.data) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

#[test]
fn a_checkpoint_rewritten_unchanged_resumes() {
    // The control: the copy and rewrite themselves break nothing.
    for run in [network_run(), dense_run()] {
        let case = Case::new(run);
        case.write(true);
        let o = case.resume();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(case.out.exists());
    }
}

#[test]
fn a_step_ahead_of_the_stream_is_refused() {
    // Resumed, it would go on 200 steps after the stream ends: their spikes
    // silently missing.
    let mut case = Case::new(network_run());
    let at = case.step();
    case.member("step").data = (at + 200).to_le_bytes().to_vec();
    case.assert_refused(&[&format!(
        "is at step {} but its stream position is step {at}",
        at + 200
    )]);
}

#[test]
fn a_step_behind_the_stream_is_refused() {
    // Resumed, it would simulate the whole remainder and then fail, the
    // stream cut and written over.
    let mut case = Case::new(network_run());
    let at = case.step();
    case.member("step").data = (at - 50).to_le_bytes().to_vec();
    case.assert_refused(&[&format!(
        "is at step {} but its stream position is step {at}",
        at - 50
    )]);
}

#[test]
fn a_pending_spike_of_no_neuron_is_refused() {
    let mut case = Case::new(network_run());
    case.set_pending_u32(&[2, N as u32]);
    case.assert_refused(&[&format!(
        "pending spike of neuron {N}, in a network of {N} neurons"
    )]);
}

#[test]
fn pending_spikes_out_of_order_or_twice_are_refused() {
    let mut case = Case::new(network_run());
    case.set_pending_u32(&[5, 5]);
    case.assert_refused(&["pending spikes are not sorted and unique (5 before 5)"]);
    case.set_pending_u32(&[9, 4]);
    case.assert_refused(&["pending spikes are not sorted and unique (9 before 4)"]);
}

#[test]
fn pending_ids_stored_as_uint64_are_refused_not_truncated() {
    // 2^32 + 5 would be read as neuron 5.
    let mut case = Case::new(network_run());
    let m = case.member("pending");
    (m.elem, m.shape) = (Elem::U64, vec![1]);
    m.data = ((1u64 << 32) + 5).to_le_bytes().to_vec();
    case.assert_refused(&["pending is a uint64 array of shape (1,)", "uint32"]);
}

#[test]
fn a_nan_potential_is_refused() {
    // A NaN potential never reaches threshold: the neuron would be silent
    // for the rest of the run.
    let mut case = Case::new(network_run());
    case.set_f64("state/y", 7, f64::NAN);
    case.assert_refused(&["state/y holds NaN at index 7"]);
    // The seed's run is a network too: its potential is its model's `y`.
    let mut case = Case::new(dense_run());
    case.set_f64("state/y", 11, f64::NAN);
    case.assert_refused(&["state/y holds NaN at index 11"]);
}

#[test]
fn other_state_no_run_produces_is_refused() {
    let mut case = Case::new(network_run());
    case.set_f64("state/until", 3, f64::NAN);
    case.assert_refused(&["state/until holds NaN at index 3"]);
    let mut case = Case::new(network_run());
    let isyn = case.first_named("state/isyn");
    case.set_f64(&isyn, 0, f64::INFINITY);
    case.assert_refused(&[&format!("{isyn} holds inf at index 0")]);
    let mut case = Case::new(network_run());
    let dirty = case.first_named("state/dirty");
    case.member(&dirty).data[1] = 2;
    case.assert_refused(&[&format!("{dirty} holds 2 as a bool at index 1")]);
    // Input in a ring-buffer slot the engine would skip as empty.
    let mut case = Case::new(network_run());
    let dirty = case.first_named("state/dirty");
    let ring = dirty.replace("dirty", "ring");
    let k = case
        .member(&dirty)
        .data
        .iter()
        .position(|&f| f == 0)
        .unwrap();
    case.set_f64(&ring, k, 1.5);
    case.assert_refused(&[&format!("{ring} holds 1.5 for neuron"), "says is empty"]);
}

#[test]
fn a_corrupt_byte_in_a_state_array_fails_the_checksum() {
    let mut case = Case::new(network_run());
    let y = case.member("state/y");
    y.data[8 * 5 + 2] ^= 0x10;
    case.write(false);
    case.assert_resume_refused(&["do not match its checksum", "the file is corrupt"]);
}

#[test]
fn a_broken_meta_is_refused() {
    // 256 + '{' was read as '{': any value passed for a byte.
    let mut case = Case::new(network_run());
    let m = case.member("meta");
    m.data[1] = 1;
    case.assert_refused(&["meta holds 379, which is not a byte of JSON"]);
    // A field lifsim does not write.
    let mut case = Case::new(network_run());
    let mut meta = case.meta();
    meta["threads"] = 4.into();
    case.set_meta(&meta);
    case.assert_refused(&["bad checkpoint meta", "unknown field `threads`"]);
}

#[test]
fn a_checkpoint_of_another_format_version_is_refused() {
    let mut case = Case::new(network_run());
    let mut meta = case.meta();
    meta["version"] = 1.into();
    case.set_meta(&meta);
    case.assert_refused(&["is a version 1 checkpoint", "start the run again"]);
}
