//! `lifsim run net.toml --stream-state` (and `[record]`'s `state_to =
//! "disk"`): the state monitors' samples go to temporary files as the run
//! goes and end in the same `<stem>.state.npz` as an in-memory run, array
//! for array and bit for bit; a failed run leaves no temporary file; a
//! streamed monitor too large for memory is not refused for memory but
//! checked against the disk.

mod common;

use std::path::Path;
use std::process::Command;

use common::{assert_error, lifsim_in, limit_file_size};
use lifsim_core::io::npz::NpzReader;

/// A recurrent network that fires, two monitors of `E` (numbered keys, the
/// same times) and one of `I` at another interval.
const NETWORK: &str = r#"
dt = 0.1
duration = 80.0
seed = 5

[[population]]
name = "E"
size = 120
v_rest = 0.0
v_reset = 10.0
v_thresh = 20.0
t_ref = 2.0
tau_m = 20.0

[[population]]
name = "I"
size = 30
v_rest = 0.0
v_reset = 10.0
v_thresh = 20.0
tau_m = 10.0

[[projection]]
source = "E"
target = ["E", "I"]
rule = "fixed_indegree"
indegree = 20
weight = 0.5
delay = 1.5
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
spikes = "events"

[[record.state]]
population = "E"
ids = [119, 0, 64]
variables = ["V_m", "I_syn"]

[[record.state]]
population = "I"
n = 7
interval = 0.5
start = 10.0

[[record.state]]
population = "E"
variables = ["V_m"]
"#;

/// Every member of an `.npz`, sorted by name: (name, its `.npy` bytes).
fn members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut z = NpzReader::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut names = z.names();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let b = z.member_bytes(&n).unwrap();
            (n, b)
        })
        .collect()
}

fn run_ok(dir: &Path, args: &[&str]) -> String {
    let out = lifsim_in(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Names in `dir` that look like a stream's temporary files.
fn partials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".partial-"))
        .collect()
}

#[test]
fn a_streamed_run_writes_the_in_memory_runs_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("net.toml"), NETWORK).unwrap();
    std::fs::write(
        d.join("disk.toml"),
        NETWORK.replace("[record]\n", "[record]\nstate_to = \"disk\"\n"),
    )
    .unwrap();
    run_ok(
        d,
        &["run", "net.toml", "--out", "mem.npz", "--threads", "1"],
    );
    let want = members(&d.join("mem.state.npz"));
    let names: Vec<&str> = want.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"E#2/V_m") && names.contains(&"I/times_ms"),
        "{names:?}"
    );
    for threads in ["1", "2"] {
        for (file, flag) in [("net.toml", Some("--stream-state")), ("disk.toml", None)] {
            let out = format!("s{threads}{file}.npz");
            let mut args = vec!["run", file, "--out", &out, "--threads", threads];
            args.extend(flag);
            let stdout = run_ok(d, &args);
            let state = format!("s{threads}{file}.state.npz");
            assert!(stdout.contains(&state), "{stdout}");
            let got = members(&d.join(&state));
            assert_eq!(got.len(), want.len(), "{threads} thread(s), {file}");
            for ((gn, gb), (wn, wb)) in got.iter().zip(&want) {
                assert_eq!(gn, wn);
                assert!(gb == wb, "{gn} differs ({threads} thread(s), {file})");
            }
            // The spikes are those of the in-memory run.
            assert_eq!(
                std::fs::read(d.join(&out)).unwrap(),
                std::fs::read(d.join("mem.npz")).unwrap()
            );
        }
    }
    // The counts output (no spike stream) and a run cut by checkpoints
    // stream the same samples.
    for (name, extra) in [
        ("counts", vec!["--format", "counts"]),
        (
            "ck",
            vec!["--checkpoint", "ck.npz", "--checkpoint-every", "137"],
        ),
    ] {
        let out = format!("{name}.out");
        let mut args = vec!["run", "net.toml", "--out", &out, "--stream-state"];
        args.extend(extra);
        run_ok(d, &args);
        let got = members(&d.join(format!("{name}.state.npz")));
        assert!(got == want, "{name}: the state file differs");
    }
    assert!(partials(d).is_empty(), "{:?}", partials(d));
}

/// A stream whose writes fail part-way (a file size limit: a full disk
/// without root) fails the run with the file named, and leaves neither its
/// temporary files nor a state file.
#[test]
fn a_stream_that_fails_midway_leaves_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 120 neurons' V_m every step, 800 steps: 768 KB a column, past the
    // 256 KiB limit; the spike file stays far below it.
    std::fs::write(d.join("net.toml"), NETWORK).unwrap();
    let mut run = Command::new(env!("CARGO_BIN_EXE_lifsim"));
    run.args(["run", "net.toml", "--out", "s.npz", "--stream-state"])
        .args(["--threads", "1", "--quiet"])
        .current_dir(d)
        .env_remove("RUST_BACKTRACE");
    limit_file_size(&mut run, 256 << 10);
    let out = run.output().unwrap();
    assert_error(&out, &["s.state.npz.partial-2-1: cannot be written ("]);
    assert!(partials(d).is_empty(), "{:?}", partials(d));
    assert!(!d.join("s.state.npz").exists());
}

/// A monitor far too large for memory (1e6 neurons, 1e8 samples: 1.4 PiB with the temporary files)
/// is refused in memory, but streamed it is checked against the disk.
#[test]
fn a_streamed_monitor_is_checked_against_the_disk_not_memory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = "dt = 0.1\nduration = 10000000.0\n[[population]]\nname = \"N\"\nsize = 1000000\n\
                [record]\n[[record.state]]\npopulation = \"N\"\n";
    std::fs::write(d.join("net.toml"), text).unwrap();
    let mem = lifsim_in(d, &["run", "net.toml", "--out", "s.npz"]);
    assert_error(
        &mem,
        &["the state monitor of population \"N\" (100000000 samples x 1000000 values; monitors take at most half the memory available) needs "],
    );
    let streamed = lifsim_in(d, &["run", "net.toml", "--out", "s.npz", "--stream-state"]);
    assert_error(
        &streamed,
        &["s.state.npz: the streamed state monitors' samples needs 1.4 PiB but the disk holding "],
    );
    assert!(partials(d).is_empty());
    let seed = lifsim_in(d, &["run", "--stream-state"]);
    assert_error(&seed, &["--stream-state is for network files"]);
}
