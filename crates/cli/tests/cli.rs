//! Black-box tests of the `lifsim` binary: bad input of every kind gets a
//! one-line error naming the file or parameter, exit status 2, no panic and
//! no output file; good input gets its output.

mod common;
use common::{assert_error, lifsim};

use std::path::{Path, PathBuf};
use std::process::Output;

use lifsim_core::io::npy::{header_bytes, write_npy, Elem};

/// Runs `lifsim bench ARGS --json FILE`; asserts it succeeded and returns
/// its output and the JSON summary.
fn bench_json(args: &[&str]) -> (Output, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--json", json.to_str().unwrap()]);
    let o = lifsim(&all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (o, summary)
}

fn npy<T: lifsim_core::io::npy::NpyElem>(
    dir: &Path,
    name: &str,
    values: &[T],
    shape: &[usize],
) -> PathBuf {
    let path = dir.join(name);
    let mut bytes = Vec::new();
    write_npy(&mut bytes, values, shape, false).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Runs `lifsim run` on `weights` with extra flags, writing into a fresh
/// folder; returns the output and whether any file was left there.
fn run_with(weights: &Path, extra: &[&str]) -> (Output, bool) {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("spikes.npy");
    let mut args = vec![
        "run",
        "--weights",
        weights.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = lifsim(&args);
    let left = std::fs::read_dir(out_dir.path()).unwrap().count() > 0;
    (output, left)
}

#[test]
fn bad_weight_files_are_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let truncated = {
        let p = npy(d, "truncated.npy", &[0.5f64; 16], &[4, 4]);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 8]).unwrap();
        p
    };
    let huge_header = {
        // Declares a 10^7 x 10^7 float64 matrix (800 TB) in a 200-byte file.
        let p = d.join("huge.npy");
        std::fs::write(
            &p,
            header_bytes(Elem::F64, false, &[10_000_000, 10_000_000]),
        )
        .unwrap();
        p
    };
    let not_npy = d.join("text.npy");
    std::fs::write(&not_npy, "this is not numpy").unwrap();
    let mut int_file = header_bytes(Elem::I64, false, &[2, 2]);
    int_file.extend_from_slice(&[0u8; 32]);
    std::fs::write(d.join("int.npy"), int_file).unwrap();
    let mut complex = header_bytes(Elem::F64, false, &[2, 2]);
    let at = complex.windows(3).position(|w| w == b"<f8").unwrap();
    complex[at + 1..at + 3].copy_from_slice(b"c1");
    complex.insert(at + 3, b'6');
    complex.extend_from_slice(&[0u8; 64]);
    std::fs::write(d.join("complex.npy"), complex).unwrap();
    let mut object = header_bytes(Elem::F64, false, &[2, 2]);
    let at = object.windows(5).position(|w| w == b"'<f8'").unwrap();
    object[at..at + 5].copy_from_slice(b"'|O' ");
    std::fs::write(d.join("object.npy"), object).unwrap();

    let cases: Vec<(PathBuf, &[&str])> = vec![
        (d.join("missing.npy"), &["missing.npy", "No such file"]),
        (d.to_path_buf(), &["is a directory"]),
        (not_npy, &["text.npy", "not a NumPy .npy file"]),
        (truncated, &["truncated.npy", "truncated"]),
        (
            huge_header,
            &["huge.npy", "more data than this machine can hold"],
        ),
        (
            npy(d, "vec.npy", &[1.0f64; 3], &[3]),
            &["vec.npy", "2-D", "(3,)"],
        ),
        (
            npy(d, "cube.npy", &[1.0f64; 8], &[2, 2, 2]),
            &["cube.npy", "3-D"],
        ),
        (
            npy(d, "rect.npy", &[1.0f64; 6], &[2, 3]),
            &["rect.npy", "square", "(2, 3)"],
        ),
        (
            d.join("int.npy"),
            &["int.npy", "int64", "float32 or float64"],
        ),
        (
            d.join("complex.npy"),
            &["complex.npy", "complex128", "not supported"],
        ),
        (
            d.join("object.npy"),
            &["object.npy", "object", "not supported"],
        ),
        (
            npy(d, "nan.npy", &[0.0, f64::NAN, 0.0, 0.0], &[2, 2]),
            &["nan.npy", "W[0, 1] is NaN"],
        ),
        (
            npy(d, "inf.npy", &[0.0, 0.0, f64::INFINITY, 0.0], &[2, 2]),
            &["inf.npy", "W[1, 0] is inf"],
        ),
    ];
    for (path, fragments) in cases {
        let (out, left) = run_with(&path, &[]);
        assert_error(&out, fragments);
        assert!(!left, "{}: output file left behind", path.display());
    }
}

#[test]
fn an_error_says_its_cause_once() {
    let (out, _) = run_with(Path::new("/nonexistent/w.npy"), &[]);
    assert_error(&out, &["/nonexistent/w.npy: No such file or directory"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .matches("No such file")
            .count(),
        1
    );
}

#[test]
fn bad_parameters_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let w = npy(dir.path(), "w.npy", &[0.0f64; 4], &[2, 2]);
    let cases: [(&[&str], &str); 8] = [
        (&["--dt", "0"], "invalid parameter dt"),
        (&["--dt", "-0.1"], "invalid parameter dt"),
        (&["--t-max", "0.001"], "invalid parameter t_max"),
        (&["--tau-m", "0"], "invalid parameter tau_m"),
        (&["--v-thresh", "-70"], "invalid parameter v_thresh"),
        (&["--t-ref", "0.015"], "invalid parameter t_ref"),
        (&["--dtype", "float16"], "invalid parameter dtype"),
        (&["--i-ext", "nope.npy"], "nope.npy"),
    ];
    for (flags, fragment) in cases {
        let (out, left) = run_with(&w, flags);
        assert_error(&out, &[fragment]);
        assert!(!left);
    }
    let v0 = npy(dir.path(), "v0.npy", &[0.0f64; 3], &[3]);
    let (out, _) = run_with(&w, &["--v0", v0.to_str().unwrap()]);
    assert_error(&out, &["v0.npy", "shape (2,)", "(3,)"]);
}

#[test]
fn unwritable_output_fails_before_simulating() {
    let dir = tempfile::tempdir().unwrap();
    let w = npy(dir.path(), "w.npy", &[0.0f64; 4], &[2, 2]);
    let out = lifsim(&[
        "run",
        "--weights",
        w.to_str().unwrap(),
        "--out",
        "/nonexistent/dir/spikes.npy",
    ]);
    assert_error(&out, &["/nonexistent/dir/spikes.npy"]);
}

#[test]
fn bad_config_files_are_named_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("params.toml");
    std::fs::write(&conf, "dt = 0.01\ntau = 20.0\n").unwrap();
    let out = lifsim(&[
        "run",
        "--config",
        conf.to_str().unwrap(),
        "--out",
        dir.path().join("s.npy").to_str().unwrap(),
    ]);
    assert_error(&out, &["params.toml", "line 2", "unknown field `tau`"]);
}

#[test]
fn run_writes_the_seeds_dense_array_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("spikes.npy");
    let o = lifsim(&["run", "--t-max", "1", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = String::from_utf8_lossy(&o.stdout);
    assert!(
        summary.contains("1000 neurons") && summary.contains("steps       99 "),
        "{summary}"
    );
    let array = lifsim_core::io::npy::NpyArray::open(&out).unwrap();
    assert_eq!(array.header().shape, vec![99, 1000]);
    assert_eq!(array.header().elem, Elem::Bool);
}

#[test]
fn config_file_sets_parameters_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("params.toml");
    std::fs::write(&conf, "t_max = 2.0\ndt = 0.5\nnum_simulations = 2\n").unwrap();
    let out = dir.path().join("s.npy");
    let o = lifsim(&[
        "run",
        "--config",
        conf.to_str().unwrap(),
        "--dt",
        "0.25",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // len(arange(0, 2.0, 0.25)) - 1 = 7 steps.
    let array = lifsim_core::io::npy::NpyArray::open(&out).unwrap();
    assert_eq!(array.header().shape, vec![7, 1000]);
}

#[test]
fn bench_prints_the_seeds_lines_and_writes_json() {
    let (o, r) = bench_json(&["--t-max", "5", "--runs", "2"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("Average Time: ") && text.contains("S.Dev Time: "),
        "{text}"
    );
    assert!(
        text.contains("Time (mean ± σ)") && text.contains("Range (min … max)"),
        "{text}"
    );
    assert_eq!(r["times_s"].as_array().unwrap().len(), 2);
    assert_eq!(r["n"], 1000);
    assert_eq!(r["steps"], 499);
}

#[test]
fn parallel_sweep_reports_every_point_with_the_sequential_bits() {
    let (_, r) = bench_json(&[
        "--workload",
        "seed-active",
        "--t-max",
        "20",
        "--warmup",
        "0",
        "--sweep",
        "i_ext=18,22",
        "--sweep",
        "seed=1,2",
    ]);
    let points = r["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    // Each point equals a plain single run of the same parameters.
    for p in points {
        let (i_ext, seed) = (p["i_ext"].as_f64().unwrap(), p["seed"].as_u64().unwrap());
        let (_, one) = bench_json(&[
            "--workload",
            "seed-active",
            "--t-max",
            "20",
            "--warmup",
            "0",
            "--runs",
            "1",
            "--i-ext",
            &i_ext.to_string(),
            "--seed",
            &seed.to_string(),
        ]);
        assert_eq!(one["spikes"], p["spikes"], "i_ext {i_ext} seed {seed}");
    }
    let o = lifsim(&["bench", "--sweep", "v_reset=1,2"]);
    assert_error(&o, &["--sweep", "v_reset"]);
}

#[test]
fn workload_export_is_what_bench_runs() {
    let dir = tempfile::tempdir().unwrap();
    let o = lifsim(&[
        "workload",
        "seed-active",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let params: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("params.json")).unwrap())
            .unwrap();
    assert_eq!(params["steps"], 9999);
    assert_eq!(params["i_ext"], 20.0);
    let w = lifsim_core::io::npy::NpyArray::open(&dir.path().join("weights.npy")).unwrap();
    assert!(w.header().fortran_order);
    assert_eq!(w.header().shape, vec![1000, 1000]);
    // Weights on the 1/256 grid: exact sums in every simulator.
    assert!(w.to_f64_vec().iter().all(|x| (x * 256.0).fract() == 0.0));
}
