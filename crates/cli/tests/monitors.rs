//! `lifsim run net.toml` with `[[record.state]]` and `rate`: the state and
//! rate files beside the spike file, read back and checked against the
//! analytic potential and the spike file itself.

mod common;

use std::path::Path;

use common::{assert_error, lifsim_in};
use lifsim_core::io::npz::NpzReader;

const NETWORK: &str = r#"
dt = 0.1
duration = 50.0
seed = 2

# Two neurons under a constant current below threshold: V is analytic.
[[population]]
name = "D"
size = 2
tau_m = 10.0
r = 40.0
v_rest = -70.0
v_reset = -70.0
v_thresh = -50.0
v0 = -70.0
i_ext = 0.3

[[population]]
name = "E"
size = 40
v_rest = 0.0
v_reset = 10.0
v_thresh = 20.0
tau_m = 20.0

[[input]]
type = "poisson"
target = "E"
rate = 20000.0
weight = 1.0
synapse = "exponential"
tau_syn = 2.0

[record]
spikes = "events"
rate = true

[[record.state]]
population = "D"
variables = ["V_m"]
interval = 1.0

[[record.state]]
population = "E"
ids = [3, 1]
variables = ["V_m", "I_syn"]
"#;

fn array(z: &mut NpzReader, name: &str) -> (Vec<usize>, Vec<f64>) {
    let a = z.array(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    (a.header().shape.clone(), a.to_f64_vec())
}

#[test]
fn a_run_writes_state_and_rate_files_beside_its_spikes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("net.toml"), NETWORK).unwrap();
    let out = lifsim_in(dir.path(), &["run", "net.toml", "--out", "x.npz"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("x.state.npz") && stdout.contains("x.rate.npz"),
        "{stdout}"
    );

    let mut state = NpzReader::open(&dir.path().join("x.state.npz")).unwrap();
    let (shape, t) = array(&mut state, "D/times_ms");
    assert_eq!(shape, [50]);
    let (shape, v) = array(&mut state, "D/V_m");
    assert_eq!(shape, [50, 2]);
    for (k, t) in t.iter().enumerate() {
        assert!((t - (k + 1) as f64).abs() < 1e-9);
        let exact = -70.0 + 12.0 * (1.0 - (-t / 10.0).exp());
        for i in 0..2 {
            assert!(((v[2 * k + i] - exact) / exact).abs() < 1e-9, "t={t}");
        }
    }
    assert_eq!(array(&mut state, "D/ids").1, [0.0, 1.0]);
    assert_eq!(array(&mut state, "E/ids").1, [1.0, 3.0]);
    assert_eq!(array(&mut state, "E/I_syn").0, [500, 2]);
    assert!(
        state.array("times_ms").is_err(),
        "the monitors' times differ"
    );

    // The rate's counts are the spike file's, per population and step.
    let mut spikes = NpzReader::open(&dir.path().join("x.npz")).unwrap();
    let times = spikes.array("times").unwrap().to_f64_vec();
    let ids = spikes.array("ids").unwrap().to_u64_vec().unwrap();
    assert!(ids.len() > 50, "E fires: {}", ids.len());
    let mut rate = NpzReader::open(&dir.path().join("x.rate.npz")).unwrap();
    let (shape, rt) = array(&mut rate, "times_ms");
    assert_eq!(shape, [500]);
    let (_, counts) = array(&mut rate, "E/counts");
    let (_, hz) = array(&mut rate, "E");
    let mut want = vec![0.0; 500];
    for (t, &i) in times.iter().zip(&ids) {
        assert!(i >= 2, "D stays below threshold");
        let k = rt.iter().position(|u| (u - t).abs() < 1e-9).unwrap();
        want[k] += 1.0;
    }
    assert_eq!(counts, want);
    for (c, r) in counts.iter().zip(&hz) {
        assert_eq!(*r, c / (40.0 * 0.1e-3));
    }
    assert!(array(&mut rate, "D").1.iter().all(|&r| r == 0.0));
}

#[test]
fn info_lists_the_monitors_and_counts_their_samples() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("net.toml"), NETWORK).unwrap();
    let out = lifsim_in(dir.path(), &["info", "net.toml", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lines: Vec<&str> = info["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "D: V_m of 2 neuron(s) every 1 ms, 50 samples",
            "E: V_m, I_syn of 2 neuron(s) every 0.1 ms, 500 samples",
            "rate: every population, bins of 0.1 ms, 500 bins",
        ]
    );
    // f64 samples and their times: D 50 x 2 + 50, E 500 x 2 x 2 + 500; the
    // rate a time, a count and a rate per population for each of 500 bins.
    let want = 8 * ((50 * 2 + 50) + (500 * 4 + 500) + 500 * (1 + 2 * 2));
    assert_eq!(info["monitor_bytes"], want);
    let text = lifsim_in(dir.path(), &["info", "net.toml"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("monitor      rate: every population"),
        "{text}"
    );
}

#[test]
fn an_unknown_variable_is_one_line_naming_the_population_and_model() {
    let dir = tempfile::tempdir().unwrap();
    let text = NETWORK.replace(r#"["V_m", "I_syn"]"#, r#"["V_m", "g_ex"]"#);
    std::fs::write(dir.path().join("net.toml"), text).unwrap();
    let out = lifsim_in(dir.path(), &["run", "net.toml", "--out", "x.npz"]);
    assert_error(
        &out,
        &[
            "net.toml: invalid parameter variables: population \"E\" is iaf_psc_exp and has no variable \"g_ex\" (it has V_m, I_syn)",
        ],
    );
    assert!(!Path::new(&dir.path().join("x.npz")).exists());
    assert!(!Path::new(&dir.path().join("x.state.npz")).exists());
}
