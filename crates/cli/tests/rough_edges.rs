//! The CLI's rough edges (issue 14, item 7), each against an independent
//! reference: a network file's flags against the same change written into
//! the file, `lifsim info`'s estimate against what a run builds, `-q`
//! against the summary, a format against its file's extension, `plot`'s
//! default output against a file already there, a scalar `v0` against the
//! same voltages from a file, and the disk check against the raster's size.

mod common;
use common::{assert_error, lifsim_in};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A small network: 40 neurons below threshold unless `i_ext` is raised.
const NET: &str = r#"
dt = 0.1
duration = 50.0
seed = 3
[[population]]
name = "E"
size = 40
tau_m = 20.0
v_rest = -65.0
v_reset = -65.0
v_thresh = -50.0
r = 1.0
i_ext = 10.0
v0 = { distribution = "uniform", low = -65.0, high = -50.0 }
[[projection]]
source = "E"
target = "E"
rule = "fixed_indegree"
indegree = 5
weight = 0.5
delay = 1.0
synapse = "delta"
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn ok(dir: &Path, args: &[&str]) -> std::process::Output {
    let o = lifsim_in(dir, args);
    assert!(
        o.status.success(),
        "lifsim {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn network_files_take_dt_duration_and_set_as_if_the_file_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "net.toml", NET);
    let edited = NET
        .replace("dt = 0.1", "dt = 0.05")
        .replace("duration = 50.0", "duration = 80.0")
        .replace("i_ext = 10.0", "i_ext = 20.0");
    write(d, "edited.toml", &edited);
    let args = [
        "--dt",
        "0.05",
        "--duration",
        "80",
        "--set",
        "E.i_ext=20",
        "--format",
        "events",
    ];
    let mut run = vec!["run", "net.toml", "--out", "a.npz", "--json", "a.json"];
    run.extend_from_slice(&args);
    let o = ok(d, &run);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("changed     --dt 0.05, --duration 80, --set E.i_ext=20"),
        "{stdout}"
    );
    ok(
        d,
        &["run", "edited.toml", "--out", "b.npz", "--format", "events"],
    );
    let (a, b) = (
        std::fs::read(d.join("a.npz")).unwrap(),
        std::fs::read(d.join("b.npz")).unwrap(),
    );
    assert_eq!(a, b, "the flags and the edited file give the same spikes");
    let report = json(&d.join("a.json"));
    assert_eq!(report["dt_ms"], 0.05);
    assert_eq!(report["duration_ms"], 80.0);
    assert_eq!(report["steps"], 1600);
    assert!(report["spikes"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(
        report["overrides"],
        serde_json::json!(["--dt 0.05", "--duration 80", "--set E.i_ext=20"])
    );
    // Without the flags the file's own values run (and nothing fires).
    ok(
        d,
        &["run", "net.toml", "--out", "c.npz", "--json", "c.json"],
    );
    let plain = json(&d.join("c.json"));
    assert_eq!(plain["steps"], 500);
    assert_eq!(plain["spikes"], 0);
    assert_eq!(plain["overrides"], serde_json::json!([]));
}

#[test]
fn network_file_flags_are_refused_with_what_applies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "net.toml", NET);
    let applies = "(the flags of the model that apply to network files are --dt, --seed, --dtype, --threads, --duration and --set)";
    let o = lifsim_in(d, &["run", "net.toml", "--tau-m", "10"]);
    assert_error(
        &o,
        &[
            "--tau-m is a flag of the seed model",
            "change a population's with --set POP.tau_m=VALUE",
            applies,
        ],
    );
    let o = lifsim_in(d, &["run", "net.toml", "--t-max", "10"]);
    assert_error(&o, &["its simulated time is --duration MS", applies]);
    let o = lifsim_in(d, &["run", "net.toml", "--set", "X.tau_m=1"]);
    assert_error(
        &o,
        &["net.toml: --set X.tau_m=1: the network has no population \"X\" (it has E)"],
    );
    let o = lifsim_in(d, &["run", "net.toml", "--set", "E.tau=1"]);
    assert_error(
        &o,
        &["net.toml: --set E.tau=1: a population has no parameter \"tau\" (--set takes size, tau_m,"],
    );
    let o = lifsim_in(d, &["run", "net.toml", "--set", "E.tau_m=0"]);
    assert_error(
        &o,
        &["net.toml: invalid parameter tau_m: population \"E\": must be > 0 ms, got 0 (the file as changed by --set E.tau_m=0)"],
    );
    let o = lifsim_in(d, &["run", "net.toml", "--dt", "0.3"]);
    assert_error(
        &o,
        &["invalid parameter duration: the network: must be >= 0 and a multiple of dt (0.3 ms), got 50 (the file as changed by --dt 0.3)"],
    );
    let o = lifsim_in(d, &["run", "net.toml", "--set", "E"]);
    assert_error(
        &o,
        &["invalid value 'E' for '--set <POP.PARAM=VALUE>': expected POP.PARAM=VALUE (for example E.i_ext=0.5), got \"E\""],
    );
    let o = lifsim_in(d, &["run", "--duration", "10"]);
    assert_error(
        &o,
        &["--duration changes a network file (lifsim run NETWORK.toml --duration ...); the seed model takes its parameters as flags (--t-max, --tau-m, ...)"],
    );
    let o = lifsim_in(d, &["run", "--set", "E.tau_m=1"]);
    assert_error(&o, &["--set changes a network file"]);
}

#[test]
fn info_estimates_the_synapses_a_run_builds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let small = root().join("crates/cli/tests/data/microcircuit_small.toml");
    let brunel = root().join("examples/brunel.toml");
    // (file, synapses its rules give exactly)
    for (file, synapses) in [(brunel, 15_625_000u64), (small, 747_205)] {
        let file = file.to_str().unwrap();
        let o = ok(d, &["info", file, "--json"]);
        let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(info["synapses"], synapses, "{file}");
        let o = ok(
            d,
            &[
                "run",
                file,
                "--duration",
                "1",
                "--format",
                "counts",
                "--out",
                "c.npy",
                "--json",
                "r.json",
                "-q",
            ],
        );
        assert!(o.stdout.is_empty());
        let run = json(&d.join("r.json"));
        assert_eq!(run["synapses"], synapses, "{file}");
        assert_eq!(run["threads"], info["threads"], "{file}");
        let built = run["synapse_bytes"].as_f64().unwrap();
        let estimated = info["synapse_bytes"].as_f64().unwrap();
        assert!(
            (estimated / built - 1.0).abs() < 0.10,
            "{file}: estimated {estimated} bytes, built {built}"
        );
        let total = info["estimated_bytes"].as_u64().unwrap();
        assert!(total > estimated as u64);
        assert_eq!(
            total,
            info["synapse_bytes"].as_u64().unwrap()
                + info["ring_buffer_bytes"].as_u64().unwrap()
                + info["state_bytes"].as_u64().unwrap()
                + info["monitor_bytes"].as_u64().unwrap()
        );
    }
    // The text view names every population and projection.
    let o = ok(
        d,
        &[
            "info",
            root().join("examples/brunel.toml").to_str().unwrap(),
        ],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    for want in [
        "network file, brunel",
        "population   E: 10000 neurons",
        "population   I: 2500 neurons",
        "projection   1 (E -> E, I): fixed_indegree 1000, 12500000 synapses of 4 B",
        "projection   2 (I -> E, I): fixed_indegree 250, 3125000 synapses of 4 B",
        "synapses     15625000",
        "memory       about",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    let o = lifsim_in(d, &["info", "c.npy", "--json"]);
    assert_error(
        &o,
        &["c.npy: --json describes network files (.toml); this is not one"],
    );
}

#[test]
fn quiet_runs_print_nothing_but_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "net.toml", NET);
    let o = ok(d, &["run", "net.toml", "--out", "s.npz", "-q"]);
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{o:?}");
    let o = ok(d, &["run", "net.toml", "--out", "s.npz"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("mean rate"));
    let o = ok(d, &["run", "--t-max", "1", "--out", "d.npy", "--quiet"]);
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{o:?}");
    let o = lifsim_in(d, &["run", "--t-max", "-1", "-q"]);
    assert_error(&o, &["invalid parameter t_max"]);
    assert!(o.stdout.is_empty());
}

#[test]
fn a_format_and_an_extension_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = lifsim_in(
        d,
        &[
            "run", "--t-max", "1", "--format", "events", "--out", "x.npy",
        ],
    );
    assert_error(
        &o,
        &["x.npy: --format events writes an .npz archive; name the file x.npz, or choose --format dense"],
    );
    assert!(!d.join("x.npy").exists());
    // An extension alone picks the format.
    ok(d, &["run", "--t-max", "1", "--out", "x.npz", "-q"]);
    assert_eq!(&std::fs::read(d.join("x.npz")).unwrap()[..2], b"PK");
    write(d, "net.toml", NET);
    let o = lifsim_in(d, &["run", "net.toml", "--out", "c.npy"]);
    assert_error(
        &o,
        &["c.npy: .npy files are written by --format dense or counts; say which with --format"],
    );
    ok(
        d,
        &[
            "run", "net.toml", "--out", "c.npy", "--format", "counts", "-q",
        ],
    );
    assert_eq!(&std::fs::read(d.join("c.npy")).unwrap()[..6], b"\x93NUMPY");
}

#[test]
fn plot_never_replaces_a_file_it_was_not_told_to() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "run", "--t-max", "5", "--out", "s.npz", "--i-ext", "20", "-q",
        ],
    );
    write(d, "raster.png", "my own picture");
    let o = lifsim_in(d, &["plot", "s.npz"]);
    assert_error(
        &o,
        &["raster.png already exists; lifsim plot writes raster.png only where nothing is: name the output with --out FILE.png (--out raster.png replaces it)"],
    );
    assert_eq!(
        std::fs::read_to_string(d.join("raster.png")).unwrap(),
        "my own picture"
    );
    ok(d, &["plot", "s.npz", "--out", "raster.png"]);
    assert_eq!(
        &std::fs::read(d.join("raster.png")).unwrap()[..4],
        b"\x89PNG"
    );
    std::fs::remove_file(d.join("raster.png")).unwrap();
    ok(d, &["plot", "s.npz"]);
    assert!(d.join("raster.png").exists());
}

#[test]
fn a_scalar_v0_is_every_neurons_voltage() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &["gen-weights", "-n", "30", "--seed", "2", "--out", "w.npy"],
    );
    let v0: Vec<f64> = vec![-52.5; 30];
    lifsim_core::io::save_npy(&d.join("v0.npy"), &v0, &[30], false).unwrap();
    let common = ["run", "--weights", "w.npy", "--i-ext", "15.5", "-q"];
    let mut a = common.to_vec();
    a.extend_from_slice(&["--v0", "-52.5", "--out", "a.npy"]);
    ok(d, &a);
    let mut b = common.to_vec();
    b.extend_from_slice(&["--v0", "v0.npy", "--out", "b.npy"]);
    ok(d, &b);
    let mut c = common.to_vec();
    c.extend_from_slice(&["--out", "c.npy"]);
    ok(d, &c);
    let read = |f: &str| std::fs::read(d.join(f)).unwrap();
    assert_eq!(read("a.npy"), read("b.npy"));
    assert_ne!(read("a.npy"), read("c.npy"), "v0 -52.5 is not the default");
    write(
        d,
        "c.toml",
        "v0 = -52.5\nweights = \"w.npy\"\ni_ext = 15.5\n",
    );
    ok(d, &["run", "--config", "c.toml", "--out", "d.npy", "-q"]);
    assert_eq!(read("a.npy"), read("d.npy"));
}

#[test]
fn a_dense_network_output_larger_than_the_disk_is_refused_before_building() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let brunel = root().join("examples/brunel.toml");
    let start = Instant::now();
    // 12,500 neurons x 1e11 steps: about a petabyte of bools.
    let o = lifsim_in(
        d,
        &[
            brunel.to_str().unwrap(),
            "--format",
            "dense",
            "--out",
            "s.npy",
            "--duration",
            "1e10",
        ]
        .iter()
        .fold(vec!["run"], |mut v, a| {
            v.push(a);
            v
        }),
    );
    assert_error(&o, &["s.npy: the dense spike array needs", "free"]);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "refused before 15.6 million synapses were built"
    );
    assert!(!d.join("s.npy").exists() && !d.join("s.npy.spikes").exists());
}
