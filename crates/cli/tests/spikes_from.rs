//! `[[record.spikes_from]]`: the spike file (events, dense, SONATA) holds
//! the spikes of the chosen neurons only, exactly the full run's spikes of
//! those neurons, whatever the thread count; the summary (`--json`) counts
//! every neuron's spikes all the same; a run killed and resumed from a
//! checkpoint gives the same file and summary; bad choices are one line
//! naming the file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{assert_error, lifsim_in};
use lifsim_core::io::spikes::SpikeTrain;

/// A small active network of two populations.
const NETWORK: &str = r#"
dt = 0.1
duration = 300.0
seed = 3
[[population]]
name = "E"
size = 240
tau_m = 20.0
v_rest = -49.0
v_reset = -60.0
v_thresh = -50.0
t_ref = 2.0
v0 = { distribution = "uniform", low = -60.0, high = -50.0 }
[[population]]
name = "I"
size = 60
tau_m = 10.0
v_rest = -55.0
v_reset = -60.0
v_thresh = -50.0
t_ref = 1.0
v0 = -58.0
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

/// E's first 20 neurons and I's neurons 10..25; E starts at id 0, I at 240.
const CHOICE: &str = r#"
[[record.spikes_from]]
population = "E"
n = 20
[[record.spikes_from]]
population = "I"
ids = { start = 10, stop = 25 }
"#;

fn chosen(id: u64) -> bool {
    id < 20 || (250..265).contains(&id)
}

/// `(times, ids)` of a spike file.
fn spikes(path: &Path) -> (Vec<f64>, Vec<u64>) {
    let t = SpikeTrain::load(path, Some(0.1)).unwrap();
    (t.times, t.ids)
}

/// The spikes of the chosen neurons, from a full run's file.
fn filtered(path: &Path) -> (Vec<f64>, Vec<u64>) {
    let (times, ids) = spikes(path);
    times
        .into_iter()
        .zip(ids)
        .filter(|&(_, i)| chosen(i))
        .unzip()
}

/// The `--json` summary less its timings, memory and file names.
fn summary(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let o = v.as_object_mut().unwrap();
    for key in [
        "setup_s",
        "sim_s",
        "total_s",
        "peak_rss_bytes",
        "output",
        "file",
        "threads",
        "recorded",
        "network",
        "synapse_bytes",
    ] {
        o.remove(key);
    }
    v
}

fn run(dir: &Path, args: &[&str]) {
    let out = lifsim_in(dir, args);
    assert!(
        out.status.success(),
        "lifsim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_file_holds_the_chosen_neurons_and_the_summary_every_neuron() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("full.toml"), NETWORK).unwrap();
    std::fs::write(d.join("sub.toml"), format!("{NETWORK}{CHOICE}")).unwrap();
    let mut formats = vec![("events", "npz"), ("dense", "npy")];
    if cfg!(feature = "sonata") {
        formats.push(("sonata", "h5"));
    }
    run(
        d,
        &[
            "run",
            "full.toml",
            "--out",
            "full.npz",
            "--json",
            "full.json",
            "--threads",
            "1",
            "-q",
        ],
    );
    let want = filtered(&d.join("full.npz"));
    assert!(
        want.0.len() > 100 && want.0.len() < spikes(&d.join("full.npz")).0.len(),
        "the chosen neurons fire, and are not all"
    );
    for threads in ["1", "2"] {
        for (format, ext) in &formats {
            let out = format!("sub{threads}.{ext}");
            let json = format!("sub{threads}{format}.json");
            run(
                d,
                &[
                    "run",
                    "sub.toml",
                    "--format",
                    format,
                    "--out",
                    &out,
                    "--json",
                    &json,
                    "--threads",
                    threads,
                    "-q",
                ],
            );
            let got = spikes(&d.join(&out));
            assert_eq!(got.1, want.1, "{format}, {threads} thread(s): ids");
            let same_times = got
                .0
                .iter()
                .zip(&want.0)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same_times, "{format}, {threads} thread(s): times");
            assert_eq!(
                summary(&d.join(&json)),
                summary(&d.join("full.json")),
                "{format}, {threads} thread(s): the summary counts every neuron"
            );
            let text = std::fs::read_to_string(d.join(&json)).unwrap();
            assert!(
                text.contains("E: 20 of 240 (the first 20); I: 15 of 60 (ids 10..25)"),
                "{text}"
            );
        }
    }
    // `lifsim info` says what a run will record.
    let info = lifsim_in(d, &["info", "sub.toml"]);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains(
            "spikes       events of E: 20 of 240 (the first 20); I: 15 of 60 (ids 10..25)"
        ),
        "{text}"
    );
    let info = lifsim_in(d, &["info", "full.toml"]);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains("spikes       events of every neuron"),
        "{text}"
    );
    // Without a choice the summary says every neuron is recorded.
    let full = std::fs::read_to_string(d.join("full.json")).unwrap();
    assert!(full.contains(r#""recorded": "every neuron""#), "{full}");
}

#[test]
fn a_resumed_run_writes_the_same_file_and_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let long = NETWORK.replace("duration = 300.0", "duration = 3000.0");
    std::fs::write(d.join("sub.toml"), format!("{long}{CHOICE}")).unwrap();
    run(
        d,
        &[
            "run",
            "sub.toml",
            "--out",
            "whole.npz",
            "--json",
            "whole.json",
            "-q",
        ],
    );
    let (ck, out) = (d.join("ck.npz"), d.join("run.npz"));
    let mut child = Command::new(common::binary())
        .args([
            "run", "sub.toml", "--out", "run.npz", "-q", "--json", "run.json",
        ])
        .args(["--checkpoint", "ck.npz", "--checkpoint-every", "10"])
        .current_dir(d)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ck.exists() && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(ck.exists() && !out.exists(), "killed after a checkpoint");
    run(d, &["resume", "ck.npz", "-q"]);
    assert_eq!(spikes(&out), spikes(&d.join("whole.npz")));
    assert_eq!(summary(&d.join("run.json")), summary(&d.join("whole.json")));
}

#[test]
fn bad_choices_are_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: [(&str, &[&str]); 6] = [
        (
            "population = \"X\"",
            &["bad.toml: ", "invalid parameter population: spikes_from \"X\": no population named so (there are: E, I)"],
        ),
        (
            "population = \"E\"\nn = 241",
            &["bad.toml: ", "invalid parameter n: spikes_from \"E\": must be 1 to the population's size 240, got 241"],
        ),
        (
            "population = \"I\"\nids = [3, 60]",
            &["invalid parameter ids: spikes_from \"I\": id 60 is not below the population's size 60"],
        ),
        (
            "population = \"I\"\nids = { start = 50, stop = 61 }",
            &["invalid parameter ids: spikes_from \"I\": range 50..61 is not a non-empty range within the population's size 60"],
        ),
        (
            "population = \"E\"\nn = 3\nids = [1]",
            &["invalid parameter ids: spikes_from \"E\": give one of ids and n"],
        ),
        (
            "population = \"E\"\n[[record.spikes_from]]\npopulation = \"E\"",
            &["invalid parameter population: spikes_from \"E\": the population is named twice"],
        ),
    ];
    for (table, fragments) in cases {
        let text = format!("{NETWORK}\n[[record.spikes_from]]\n{table}\n");
        std::fs::write(d.join("bad.toml"), text).unwrap();
        for args in [
            &["run", "bad.toml", "--out", "o.npz"][..],
            &["info", "bad.toml"][..],
        ] {
            let out = lifsim_in(d, args);
            assert_error(&out, fragments);
            assert!(!d.join("o.npz").exists() && !PathBuf::from("o.npz.spikes").exists());
        }
    }
}

/// The `lifsim info` line `key` of `file`, less its key.
fn info_line(dir: &Path, file: &str, key: &str) -> String {
    let out = lifsim_in(dir, &["info", file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{key}  ")))
        .unwrap_or_else(|| panic!("no {key} in {text}"));
    line.trim_start()[key.len()..].trim().to_string()
}

#[test]
fn files_of_some_neurons_say_which_and_info_and_plot_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("full.toml"), NETWORK).unwrap();
    std::fs::write(d.join("sub.toml"), format!("{NETWORK}{CHOICE}")).unwrap();
    // Tables naming every neuron record what no table does.
    let every = "[[record.spikes_from]]\npopulation = \"E\"\n[[record.spikes_from]]\npopulation = \"I\"\nn = 60\n";
    std::fs::write(d.join("every.toml"), format!("{NETWORK}{every}")).unwrap();
    let mut files = vec![("events", "sub.npz")];
    if cfg!(feature = "sonata") {
        files.push(("sonata", "sub.h5"));
    }
    for (format, out) in &files {
        run(
            d,
            &["run", "sub.toml", "--format", format, "--out", out, "-q"],
        );
    }
    run(d, &["run", "full.toml", "--out", "full.npz", "-q"]);
    run(d, &["run", "every.toml", "--out", "every.npz", "-q"]);
    assert_eq!(
        std::fs::read(d.join("every.npz")).unwrap(),
        std::fs::read(d.join("full.npz")).unwrap(),
        "recording every neuron writes the same bytes as recording without a choice"
    );
    assert_eq!(
        SpikeTrain::load(&d.join("full.npz"), None)
            .unwrap()
            .recorded,
        None
    );
    for (format, out) in &files {
        let t = SpikeTrain::load(&d.join(out), None).unwrap();
        // E's 0..20, I's 10..25 (ids 250..265).
        assert_eq!(t.recorded, Some(vec![[0, 20], [250, 265]]), "{format}");
        let rate = t.len() as f64 / (35.0 * 0.3);
        assert_eq!(
            info_line(d, out, "recorded"),
            "35 of 300 neurons",
            "{format}"
        );
        assert_eq!(
            info_line(d, out, "mean rate"),
            format!("{rate:.3} Hz (over the recorded neurons)"),
            "{format}"
        );
    }
    assert!(!info_line(d, "full.npz", "mean rate").contains("recorded"));
    // The raster: rows of the 35 recorded neurons, not 300.
    let out = lifsim_in(d, &["plot", "sub.npz", "--out", "sub.png"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(d.join("sub.png").exists());
}
