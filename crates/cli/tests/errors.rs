//! The error catalogue (`docs/errors.md`), checked: every user-reachable
//! error of the `lifsim` binary that no other test checks gets a case here
//! (exit status 2, exactly one stderr line, no panic, the message's fixed
//! fragments), and a last test keeps the catalogue honest: every test it
//! cites must exist in the file it names.
//!
//! The cases are tables, one per section of the catalogue, so that a
//! message can be found here by the text the catalogue quotes.

mod common;
use common::{assert_error, lifsim_in, limit_file_size};

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lifsim_core::io::npy::{header_bytes, write_npy, Elem, NpyElem};
use lifsim_core::io::npz::NpzWriter;

/// Runs each `(args, fragments)` case in `dir` and asserts its error; no
/// file named `o.*` may be left behind.
fn assert_errors(dir: &Path, cases: &[(Vec<&str>, Vec<&str>)]) {
    for (args, fragments) in cases {
        let out = lifsim_in(dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            std::panic::catch_unwind(|| assert_error(&out, fragments)).is_ok(),
            "lifsim {args:?}: {stderr}"
        );
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(!name.starts_with("o."), "lifsim {args:?} left {name}");
        }
    }
}

fn npy<T: NpyElem>(dir: &Path, name: &str, values: &[T], shape: &[usize]) -> PathBuf {
    let path = dir.join(name);
    let mut bytes = Vec::new();
    write_npy(&mut bytes, values, shape, false).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An `.npy` file of version 1.0 whose header is `dict`, then `data`.
fn raw_npy(dir: &Path, name: &str, dict: &[u8], data: &[u8]) {
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&((dict.len() + 1) as u16).to_le_bytes());
    out.extend_from_slice(dict);
    out.push(b'\n');
    out.extend_from_slice(data);
    std::fs::write(dir.join(name), out).unwrap();
}

/// An `.npz` archive of the arrays `add` puts in.
fn npz(dir: &Path, name: &str, add: impl FnOnce(&mut NpzWriter<File>)) {
    let mut z = NpzWriter::new(File::create(dir.join(name)).unwrap());
    add(&mut z);
    z.finish().unwrap();
}

/// A `.spikes` stream: `magic`, `version`, the JSON header `json`, then
/// `records` (step, id) as lifsim writes them.
fn spikes_stream(dir: &Path, name: &str, version: u32, json: &str, records: &[(u64, u32)]) {
    let mut json = json.as_bytes().to_vec();
    while !(16 + json.len()).is_multiple_of(16) {
        json.push(b' ');
    }
    let mut out = b"LIFSPIKE".to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    for (step, id) in records {
        out.extend_from_slice(&step.to_le_bytes());
        out.extend_from_slice(&id.to_le_bytes());
    }
    std::fs::write(dir.join(name), out).unwrap();
}

/// A folder with a 4 x 4 weight matrix `w.npy`.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    npy(dir.path(), "w.npy", &[0.0f64; 16], &[4, 4]);
    dir
}

// ---------------------------------------------------------------------------
// Command-line flags and config files.

#[test]
fn usage_errors_are_one_line_with_exit_status_2() {
    // clap's own finding (its first paragraph) on one line, exit status 2.
    let dir = folder();
    let cases: [(&[&str], &str); 7] = [
        (&["run", "--bogus"], "unexpected argument '--bogus' found"),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (
            &["gen-weights"],
            "the following required arguments were not provided:",
        ),
        (
            &["run", "--checkpoint", "o.npz"],
            "the following required arguments were not provided:",
        ),
        (
            &["run", "--threads", "abc"],
            "invalid value 'abc' for '--threads <THREADS>'",
        ),
        (
            &["run", "--progress", "sometimes"],
            "invalid value 'sometimes' for '--progress",
        ),
        (
            &["info"],
            "the following required arguments were not provided:",
        ),
    ];
    for (args, fragment) in cases {
        let out = lifsim_in(dir.path(), args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            std::panic::catch_unwind(|| assert_error(
                &out,
                &[fragment, "(lifsim --help lists the commands and flags)"]
            ))
            .is_ok(),
            "lifsim {args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // Help and version are not errors.
    for flag in ["--help", "--version"] {
        let out = lifsim_in(dir.path(), &[flag]);
        assert!(out.status.success() && out.stderr.is_empty(), "{flag}");
    }
}

#[test]
fn flags_out_of_range_are_named() {
    let dir = folder();
    let d = dir.path();
    std::fs::write(d.join("net.toml"), NET).unwrap();
    std::fs::write(d.join("c.toml"), "i_ext = true\n").unwrap();
    npy(d, "b.npy", &[false; 12], &[3, 4]);
    let run = |extra: &[&'static str]| {
        let mut a = vec!["run", "--weights", "w.npy", "--out", "o.npy"];
        a.extend_from_slice(extra);
        a
    };
    let bench = |extra: &[&'static str]| {
        let mut a = vec!["bench", "--weights", "w.npy", "--t-max", "1"];
        a.extend_from_slice(extra);
        a
    };
    let mut cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            run(&["--workload", "xyz"]),
            vec!["invalid parameter workload: unknown workload \"xyz\"; choose one of seed, seed-active"],
        ),
        (
            vec!["workload", "xyz", "--out", "o.d"],
            vec!["invalid parameter workload: unknown workload \"xyz\""],
        ),
        (
            run(&["--format", "xyz"]),
            vec!["invalid value \"xyz\" for --format: choose dense, events or sonata"],
        ),
        (
            run(&["--format", "counts"]),
            vec!["invalid value \"counts\" for --format: choose dense, events or sonata"],
        ),
        (
            vec!["run", "net.toml", "--format", "xyz", "--out", "o.npz"],
            vec!["invalid value \"xyz\" for --format"],
        ),
        (
            run(&["--json", "o.json"]),
            vec!["--json is for network files (lifsim run NETWORK.toml --json FILE)"],
        ),
        (
            run(&["--checkpoint", "o.ck.npz", "--checkpoint-every", "0.015"]),
            vec!["--checkpoint-every must be a positive multiple of dt (0.01 ms), got 0.015"],
        ),
        (
            run(&["--t-ref", "1e300", "--dt", "1e-280", "--t-max", "1e-279"]),
            vec!["invalid parameter t_ref: ", " ms is too long"],
        ),
        (
            run(&["--config", "nope.toml"]),
            vec!["nope.toml: No such file or directory"],
        ),
        (
            run(&["--config", "c.toml"]),
            vec!["c.toml: i_ext must be a number or the path of an .npy file"],
        ),
        (bench(&["--runs", "0"]), vec!["invalid value 0 for --runs: at least one run is needed"]),
        (bench(&["--parallel", "--jobs", "0"]), vec!["invalid value 0 for --jobs"]),
        (bench(&["--sweep", "i_ext"]), vec!["invalid --sweep \"i_ext\": expected NAME=V1,V2,..."]),
        (
            bench(&["--sweep", "i_ext=a,b"]),
            vec!["invalid --sweep \"i_ext=a,b\": values must be numbers"],
        ),
        (bench(&["--sweep", "foo=1"]), vec!["invalid --sweep name \"foo\": choose i_ext, tau_m or seed"]),
        (
            bench(&["--sweep", "seed=1.5", "--v0", "uniform"]),
            vec!["invalid --sweep seed value 1.5: seeds are whole numbers >= 0"],
        ),
        (
            bench(&["--sweep", "seed=1"]),
            vec!["--sweep seed=... needs --v0 uniform: the seed draws the initial voltages"],
        ),
        (bench(&["--sweep", "tau_m=0"]), vec!["invalid parameter tau_m: must be > 0 ms, got 0"]),
        (bench(&["--record", "raster"]), vec!["invalid value \"raster\" for --record"]),
        (
            vec!["run", "net.toml", "--format", "counts", "--plot", "o.png", "--out", "o.npy"],
            vec!["--plot needs a spike train; --format counts keeps only counts"],
        ),
        (
            vec!["run", "net.toml", "--format", "counts", "--checkpoint", "o.ck.npz", "--checkpoint-every", "1", "--out", "o.npy"],
            vec!["checkpoints need a spike output (--format events, dense or sonata), not counts"],
        ),
        (
            vec!["plot", "b.npy", "--width", "10", "--out", "o.png"],
            vec!["a plot must be between 300x200 and 20000x20000 pixels, got 10x800"],
        ),
        (
            vec!["plot", "b.npy", "--out", "o.jpg"],
            vec!["o.jpg: plots are PNG files; name it *.png"],
        ),
        (vec!["gen-weights", "-n", "0", "--out", "o.npy"], vec!["invalid parameter n: must be at least 1"]),
        (
            vec!["gen-weights", "-n", "4", "--std=-1", "--out", "o.npy"],
            vec!["invalid parameter std: must be finite and >= 0, got -1"],
        ),
        (
            vec!["gen-weights", "-n", "4", "--mean", "nan", "--out", "o.npy"],
            vec!["invalid parameter mean: must be finite, got NaN"],
        ),
        (vec!["gen-weights", "-n", "4", "--p", "2", "--out", "o.npy"], vec!["invalid parameter p: must be in [0, 1], got 2"]),
        (
            vec!["gen-weights", "-n", "4", "--quantum", "0.3", "--out", "o.npy"],
            vec!["invalid parameter quantum: must be a power of two, got 0.3"],
        ),
        (
            vec!["gen-weights", "-n", "4", "--dtype", "float16", "--out", "o.npy"],
            vec!["invalid parameter dtype: must be float64 or float32, got \"float16\""],
        ),
    ];
    // A build without HDF5 refuses `--format sonata` first
    // (`without_hdf5_sonata_is_refused`).
    if cfg!(feature = "sonata") {
        cases.push((
            "run --weights w.npy --format sonata --population a/b --out o.h5"
                .split(' ')
                .collect(),
            vec!["invalid parameter population: must be a name without '/', got \"a/b\""],
        ));
    }
    assert_errors(d, &cases);
}

// ---------------------------------------------------------------------------
// Weight, .npy and .npz files.

#[test]
fn npy_headers_lifsim_cannot_read_are_named() {
    let dir = folder();
    let d = dir.path();
    let data = [0u8; 128];
    let mut v5 = std::fs::read(d.join("w.npy")).unwrap();
    v5[6] = 5;
    std::fs::write(d.join("v5.npy"), v5).unwrap();
    let mut cut = header_bytes(Elem::F64, false, &[4, 4]);
    cut.truncate(40);
    std::fs::write(d.join("cut.npy"), cut).unwrap();
    raw_npy(d, "bin.npy", b"{'descr': '<f8', \xff\xfe}", &data);
    raw_npy(
        d,
        "nodescr.npy",
        b"{'fortran_order': False, 'shape': (4, 4), }",
        &data,
    );
    raw_npy(
        d,
        "noorder.npy",
        b"{'descr': '<f8', 'shape': (4, 4), }",
        &data,
    );
    raw_npy(
        d,
        "noshape.npy",
        b"{'descr': '<f8', 'fortran_order': False, }",
        &data,
    );
    raw_npy(
        d,
        "order.npy",
        b"{'descr': '<f8', 'fortran_order': 1, 'shape': (4, 4), }",
        &data,
    );
    raw_npy(
        d,
        "shape.npy",
        b"{'descr': '<f8', 'fortran_order': False, 'shape': (4, x), }",
        &data,
    );
    raw_npy(
        d,
        "struct.npy",
        b"{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (4, 4), }",
        &data,
    );
    raw_npy(
        d,
        "odd.npy",
        b"{'descr': 'f8', 'fortran_order': False, 'shape': (4, 4), }",
        &data,
    );
    raw_npy(
        d,
        "f2.npy",
        b"{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }",
        &data,
    );
    let weights = |f: &'static str| vec!["run", "--weights", f, "--out", "o.npy"];
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (weights("v5.npy"), vec!["v5.npy: unsupported .npy format version 5"]),
        (weights("cut.npy"), vec!["cut.npy: truncated .npy header"]),
        (weights("bin.npy"), vec!["bin.npy: the .npy header is not text"]),
        (weights("nodescr.npy"), vec!["nodescr.npy: the .npy header has no 'descr'"]),
        (weights("noorder.npy"), vec!["noorder.npy: the .npy header has no 'fortran_order'"]),
        (weights("noshape.npy"), vec!["noshape.npy: the .npy header has no 'shape'"]),
        (weights("order.npy"), vec!["order.npy: bad fortran_order \"1\" in the .npy header"]),
        (weights("shape.npy"), vec!["shape.npy: bad shape (4, x) in the .npy header"]),
        (
            weights("struct.npy"),
            vec!["struct.npy: structured dtype [('a', '<f8')] is not supported; save a plain numeric array"],
        ),
        (weights("odd.npy"), vec!["odd.npy: unrecognised dtype \"f8\""]),
        (weights("f2.npy"), vec!["f2.npy: dtype float16 is not supported"]),
    ];
    assert_errors(d, &cases);
}

#[test]
fn per_neuron_files_must_be_finite_floats() {
    let dir = folder();
    let d = dir.path();
    npy(d, "int.npy", &[1i64; 4], &[4]);
    npy(d, "nan.npy", &[0.0, f64::NAN, 0.0, 0.0], &[4]);
    npy(d, "inf.npy", &[-60.0, -60.0, f64::INFINITY, -60.0], &[4]);
    let run = |flag: &'static str, f: &'static str| {
        vec!["run", "--weights", "w.npy", flag, f, "--out", "o.npy"]
    };
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            run("--i-ext", "int.npy"),
            vec!["int.npy: i_ext has dtype int64; it must be float32 or float64"],
        ),
        (
            run("--i-ext", "nan.npy"),
            vec!["nan.npy: i_ext[1] is NaN; values must be finite"],
        ),
        (
            run("--v0", "inf.npy"),
            vec!["inf.npy: v0[2] is inf; values must be finite"],
        ),
        (
            run("--v0", "missing.npy"),
            vec!["missing.npy: No such file or directory"],
        ),
    ];
    assert_errors(d, &cases);
}

// ---------------------------------------------------------------------------
// Network files.

/// A valid two-population network; each case appends or replaces a line.
const NET: &str = "duration = 1.0\n\
    [[population]]\nname = \"E\"\nsize = 4\n\
    [[population]]\nname = \"I\"\nsize = 2\n";

/// Runs each network file of `cases` in `d` and checks its one-line error
/// names the file and says `want`, and that no output was left.
fn refused_network_files(d: &std::path::Path, cases: &[(String, &str)]) {
    for (text, want) in cases {
        std::fs::write(d.join("net.toml"), text).unwrap();
        let out = lifsim_in(d, &["run", "net.toml", "--out", "o.npz"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            std::panic::catch_unwind(|| assert_error(&out, &["net.toml: ", want])).is_ok(),
            "{text}\n{stderr}"
        );
        assert!(!d.join("o.npz").exists());
    }
}

/// Neuron models and the synapses they take: unknown models, both spellings
/// at once, a synapse the target's model does not take, conductance
/// synapses without a reversal potential or with negative weights.
#[test]
fn neuron_model_mistakes_name_the_model_and_the_synapse() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cond = NET.replace("size = 2", "size = 2\nmodel = \"iaf_cond_exp\"");
    let proj = "[[projection]]\nsource = \"E\"\ntarget = \"I\"\nrule = \"all_to_all\"\n";
    let pop_i = |line: &str| NET.replace("size = 2", &format!("size = 2\n{line}"));
    let cases: Vec<(String, &str)> = vec![
        (pop_i("model = \"iaf_psc_beta\""), "invalid parameter model: population \"I\": unknown neuron model \"iaf_psc_beta\"; choose lif_euler, iaf_psc_delta, iaf_psc_exp, iaf_psc_alpha, iaf_cond_exp"),
        (pop_i("model = \"iaf_psc_exp\"\nintegration = \"exact\""), "invalid parameter integration: population \"I\": is implied by model; give one of model and integration"),
        (format!("{cond}{proj}weight = 1\n"), "invalid parameter synapse: projection 1 (E -> I): population \"I\" is iaf_cond_exp and takes no delta synapses (it takes conductance)"),
        (format!("{NET}{proj}weight = 1\nsynapse = \"alpha\"\ntau_syn = 0.5\n"), "invalid parameter synapse: projection 1 (E -> I): population \"I\" is iaf_psc_exp and takes no alpha synapses (it takes delta, exponential)"),
        (format!("{cond}{proj}weight = 1\nsynapse = \"conductance\"\ntau_syn = 5.0\n"), "invalid parameter e_rev: projection 1 (E -> I): conductance synapses need e_rev (mV), their reversal potential"),
        (format!("{NET}{proj}weight = 1\nsynapse = \"exponential\"\ntau_syn = 5.0\ne_rev = 0.0\n"), "invalid parameter e_rev: projection 1 (E -> I): only conductance synapses have a reversal potential (synapse = \"conductance\")"),
        (format!("{NET}{proj}weight = 1\nsynapse = \"alpha\"\n"), "invalid parameter tau_syn: projection 1 (E -> I): alpha synapses need tau_syn (ms)"),
        (format!("{cond}{proj}weight = -0.01\nsynapse = \"conductance\"\ntau_syn = 5.0\ne_rev = -80.0\n"), "invalid parameter weight: projection 1 (E -> I): conductance weights must be >= 0 µS (inhibition is a conductance with a low e_rev), but can be -0.01"),
        (format!("{cond}[[input]]\ntarget = \"I\"\ntype = \"poisson\"\nrate = 10\nweight = -1\nsynapse = \"conductance\"\ntau_syn = 5.0\ne_rev = 0.0\n"), "invalid parameter weight: input 1 (poisson -> I): conductance weights must be >= 0 µS"),
    ];
    refused_network_files(d, &cases);
}

#[test]
fn network_file_mistakes_name_the_parameter_and_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let proj = "[[projection]]\nsource = \"E\"\ntarget = \"I\"\n";
    let inp = "[[input]]\ntarget = \"E\"\n";
    let pop_i = |line: &str| NET.replace("size = 2", &format!("size = 2\n{line}"));
    let cases: Vec<(String, &str)> = vec![
        ("duration = 1.0\n".into(), "invalid parameter population: the network has no populations; add a [[population]] table"),
        (format!("dt = 0.0\n{NET}"), "invalid parameter dt: the network: must be > 0 ms, got 0"),
        (format!("dt = nan\n{NET}"), "invalid parameter dt: the network: must be a finite number, got NaN"),
        ("duration = \n".into(), "line 1: string values must be quoted"),
        (NET.replace("size = 2", "size = 0"), "invalid parameter size: population \"I\": must be at least 1"),
        (pop_i("tau_m = 0"), "invalid parameter tau_m: population \"I\": must be > 0 ms, got 0"),
        (pop_i("r = 0"), "invalid parameter r: population \"I\": must be > 0 MOhm, got 0"),
        (pop_i("v_thresh = -70"), "invalid parameter v_thresh: population \"I\": must be above v_reset (-65 mV), got -70"),
        (pop_i("v_reset = nan"), "invalid parameter v_reset: population \"I\": must be a finite number, got NaN"),
        (pop_i("integration = \"rk4\""), "population \"I\": ", ),
        (pop_i("t_ref = 0.05"), "invalid parameter t_ref: population \"I\": must be >= 0 and a multiple of dt (0.1 ms), got 0.05"),
        (pop_i("t_ref = 1e300"), "steps is more than lifsim will run"),
        (
            pop_i("i_ext = { distribution = \"uniform\", low = 2, high = 1 }"),
            "uniform(2, 1): needs finite numbers (uniform: low <= high; normal: std >= 0)",
        ),
        (pop_i("v0 = { low = 2, high = 3 }"), "invalid parameter v0: population \"I\", line 8: a distribution table needs distribution = \"uniform\" or \"normal\""),
        (pop_i("v0 = { distribution = \"uniform\", low = 2, low = 3, high = 4 }"), "line 8: duplicate key"),
        (format!("{NET}{proj}weight = 1\n"), "line 8: missing field `rule`"),
        (format!("{NET}{proj}rule = \"ring\"\nweight = 1\n"), "invalid parameter rule: projection 1 (E -> I): unknown rule \"ring\"; choose all_to_all, one_to_one, fixed_probability, pairwise_bernoulli, fixed_indegree, fixed_outdegree, fixed_total_number, from_file"),
        (format!("{NET}{proj}rule = \"all_to_all\"\nweight = 1\np = 0.5\n"), "invalid parameter p: projection 1 (E -> I): is not a parameter of rule \"all_to_all\""),
        (format!("{NET}{proj}rule = \"from_file\"\nfile = \"m.npy\"\nweight = 1\n"), "invalid parameter weight: projection 1 (E -> I): weights come from the file; scale them with weight_scale"),
        (format!("{NET}{proj}rule = \"from_file\"\n"), "invalid parameter file: projection 1 (E -> I): rule \"from_file\" needs file = \"W.npy\" or \"W.npz\""),
        (format!("{NET}{proj}rule = \"one_to_one\"\nweight = 1\n"), "invalid parameter rule: projection 1 (E -> I): one_to_one needs equal sizes, got 4 sources and 2 targets"),
        (format!("{NET}{proj}rule = \"fixed_probability\"\nweight = 1\n"), "invalid parameter p: projection 1 (E -> I): rule \"fixed_probability\" needs p"),
        (format!("{NET}{proj}rule = \"fixed_probability\"\np = 2\nweight = 1\n"), "invalid parameter p: projection 1 (E -> I): must be in [0, 1], got 2"),
        (format!("{NET}{proj}rule = \"fixed_indegree\"\nweight = 1\n"), "invalid parameter indegree: projection 1 (E -> I): rule \"fixed_indegree\" needs indegree"),
        (format!("{NET}{proj}rule = \"fixed_indegree\"\nindegree = 9\nallow_multapses = false\nweight = 1\n"), "invalid parameter indegree: projection 1 (E -> I): 9 distinct sources wanted but only 4 can connect (allow_multapses = false)"),
        (format!("{NET}{proj}rule = \"all_to_all\"\n"), "invalid parameter weight: projection 1 (E -> I): needs a weight (mV for delta synapses, nA for exponential ones)"),
        (format!("{NET}{proj}rule = \"all_to_all\"\nweight = 1\ndelay = {{ distribution = \"normal\", mean = 1, std = 0.1 }}\n"), "invalid parameter delay: projection 1 (E -> I): a normal distribution can give negative delays; bound it (min = 0.05, bound = \"redraw\": NEST's nest.math.redraw) or use a uniform one"),
        (format!("{NET}{proj}rule = \"all_to_all\"\nweight = 1\ndelay = 1e5\n"), "invalid parameter delay: projection 1 (E -> I): 100000 ms is more than 65535 steps"),
        (format!("{NET}{proj}rule = \"all_to_all\"\nweight = 1\nsynapse = \"beta\"\n"), "unknown synapse type \"beta\"; choose delta, exponential, alpha or conductance"),
        (format!("{NET}{proj}rule = \"all_to_all\"\nweight = 1\ntau_syn = 2.0\n"), "invalid parameter tau_syn: projection 1 (E -> I): only exponential, alpha and conductance synapses have a time constant (synapse = \"exponential\")"),
        (format!("{NET}{proj}rule = \"all_to_all\"\nweight = 1\nsynapse = \"exponential\"\n"), "invalid parameter tau_syn: projection 1 (E -> I): exponential synapses need tau_syn (ms)"),
        (format!("{NET}{proj}rule = \"all_to_all\"\nweight = 1\nsynapse = \"exponential\"\ntau_syn = 0\n"), "invalid parameter tau_syn: projection 1 (E -> I): must be > 0 ms, got 0"),
        (format!("{NET}[[projection]]\nsource = []\ntarget = \"I\"\nrule = \"all_to_all\"\nweight = 1\n"), "invalid parameter population: projection 1 ( -> I): names no population"),
        (format!("{NET}[[input]]\ntarget = \"X\"\ntype = \"current\"\namplitude = 1\n"), "no population named \"X\" (there are: E, I)"),
        (format!("{NET}{inp}type = \"noise\"\n"), "invalid parameter type: input 1 (noise -> E): unknown input type \"noise\"; choose poisson, spike_generator or current"),
        (format!("{NET}{inp}type = \"poisson\"\nweight = 1\n"), "invalid parameter rate: input 1 (poisson -> E): a poisson input needs rate (Hz)"),
        (format!("{NET}{inp}type = \"poisson\"\nrate = 1e12\nweight = 1\n"), "invalid parameter rate: input 1 (poisson -> E): 1000000000000 Hz is 100000000 spikes per step; lifsim draws at most 500 per step on average"),
        (format!("{NET}{inp}type = \"poisson\"\nrate = 5\n"), "invalid parameter weight: input 1 (poisson -> E): needs a weight"),
        (format!("{NET}{inp}type = \"spike_generator\"\nweight = 1\n"), "invalid parameter times: input 1 (spike_generator -> E): a spike_generator needs times (ms)"),
        (format!("{NET}{inp}type = \"spike_generator\"\ntimes = [-1.0]\nweight = 1\n"), "invalid parameter times: input 1 (spike_generator -> E): spike times must be >= 0 ms, got -1"),
        (format!("{NET}{inp}type = \"spike_generator\"\ntimes = [1.0]\nweight = 1\ndelay = 0.0\n"), "invalid parameter delay: input 1 (spike_generator -> E): 0 ms is below the minimum of 1 step(s) for delta synapses"),
        (format!("{NET}{inp}type = \"current\"\n"), "invalid parameter amplitude: input 1 (current -> E): a current input needs amplitude (nA)"),
        (format!("{NET}{inp}type = \"current\"\namplitude = nan\n"), "invalid parameter amplitude: input 1 (current -> E): must be a finite number, got NaN"),
        (format!("{NET}{inp}type = \"current\"\namplitude = 1\nrate = 5\n"), "invalid parameter rate: input 1 (current -> E): is not a parameter of \"current\" inputs"),
        (format!("{NET}{inp}type = \"current\"\namplitude = 1\nneurons = [7]\n"), "invalid parameter neurons: input 1 (current -> E): index 7 is out of range: the targets have 4 neurons"),
        (format!("{NET}[record]\nspikes = \"xyz\"\n"), "invalid parameter record: must be dense, events or counts, got \"xyz\""),
    ];
    refused_network_files(d, &cases);
    // A network file that is not there, or is a folder.
    assert_errors(
        d,
        &[
            (
                vec!["run", "gone.toml"],
                vec!["gone.toml: No such file or directory"],
            ),
            (vec!["run", "."], vec![".: Is a directory"]),
        ],
    );
}

/// NEST's rules (fixed_total_number, fixed_outdegree, pairwise_bernoulli)
/// and bounded distributions (min, max, bound): every way to get them
/// wrong, and bounds a redraw could never meet.
#[test]
fn nest_rules_and_bounded_distributions_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let proj = "[[projection]]\nsource = \"E\"\ntarget = \"I\"\n";
    let selfp = "[[projection]]\nsource = \"I\"\ntarget = \"I\"\n";
    let one = NET.replace("size = 2", "size = 1");
    let dist = |extra: &str| {
        format!("{NET}{proj}rule = \"all_to_all\"\nweight = {{ distribution = \"normal\", mean = 1, std = 1, {extra} }}\n")
    };
    let cases: Vec<(String, &str)> = vec![
        (format!("{NET}{proj}rule = \"fixed_total_number\"\nweight = 1\n"), "invalid parameter n: projection 1 (E -> I): rule \"fixed_total_number\" needs n (the number of synapses; NEST's N)"),
        (format!("{NET}{proj}rule = \"fixed_outdegree\"\nweight = 1\n"), "invalid parameter outdegree: projection 1 (E -> I): rule \"fixed_outdegree\" needs outdegree (the number of targets of each source)"),
        (format!("{NET}{proj}rule = \"pairwise_bernoulli\"\nweight = 1\n"), "invalid parameter p: projection 1 (E -> I): rule \"pairwise_bernoulli\" needs p"),
        (format!("{NET}{proj}rule = \"fixed_indegree\"\nindegree = 2\nn = 5\nweight = 1\n"), "invalid parameter n: projection 1 (E -> I): is not a parameter of rule \"fixed_indegree\""),
        (format!("{NET}{proj}rule = \"fixed_total_number\"\nN = -5\nweight = 1\n"), "line 12: invalid value: integer `-5`, expected u64"),
        (format!("{NET}{proj}rule = \"fixed_total_number\"\nn = 5\nallow_multapses = false\nweight = 1\n"), "invalid parameter allow_multapses: projection 1 (E -> I): fixed_total_number draws its pairs with replacement; allow_multapses = false is not supported (nor by NEST)"),
        (format!("{one}{selfp}rule = \"fixed_total_number\"\nn = 5\nallow_autapses = false\nweight = 1\n"), "invalid parameter n: projection 1 (I -> I): no pair can connect: the only source is the target itself and allow_autapses = false"),
        (format!("{NET}{proj}rule = \"fixed_outdegree\"\noutdegree = 3\nallow_multapses = false\nweight = 1\n"), "invalid parameter outdegree: projection 1 (E -> I): 3 distinct targets wanted but only 2 can be reached (allow_multapses = false)"),
        (format!("{one}{selfp}rule = \"fixed_outdegree\"\noutdegree = 1\nallow_autapses = false\nweight = 1\n"), "invalid parameter outdegree: projection 1 (I -> I): the only target is the source itself and allow_autapses = false"),
        (dist("min = 0"), "invalid parameter weight: projection 1 (E -> I), line 12: min and max need bound = \"redraw\" (draw again until inside, NEST's nest.math.redraw) or bound = \"clip\" (take the nearer bound)"),
        (dist("bound = \"redraw\""), "invalid parameter weight: projection 1 (E -> I), line 12: bound needs min, max or both"),
        (dist("min = 0, bound = \"reflect\""), "invalid parameter weight: projection 1 (E -> I), line 12: unknown bound \"reflect\"; choose redraw or clip"),
        (dist("min = 2, max = 1, bound = \"clip\""), "invalid parameter weight: projection 1 (E -> I): normal(1, 1) clipped within [2, 1]: needs min <= max, got min = 2 and max = 1"),
        (dist("min = 100, bound = \"redraw\""), "invalid parameter weight: projection 1 (E -> I): normal(1, 1) redrawn within [100, inf]: no draw of normal(1, 1) can fall within [100, inf], so a redraw would never end"),
        (dist("min = 4.5, bound = \"redraw\""), "invalid parameter weight: projection 1 (E -> I): normal(1, 1) redrawn within [4.5, inf]: the bounds keep 2.33e-4 of the draws, so a value would take more than 1000 redraws (NEST gives up after 1000); widen them or use bound = \"clip\""),
        (format!("{NET}{proj}rule = \"all_to_all\"\nweight = 1\ndelay = {{ distribution = \"normal\", mean = 1, std = 0.5, min = 0.01, bound = \"clip\" }}\n"), "invalid parameter delay: projection 1 (E -> I): 0.01 ms is below the minimum of 1 step(s) of 0.1 ms for delta synapses"),
        (NET.replace("size = 2", "size = 2\nv0 = { distribution = \"uniform\", low = -70, high = -60, min = -50, bound = \"redraw\" }"), "invalid parameter v0: population \"I\": uniform(-70, -60) redrawn within [-50, inf]: no draw of uniform(-70, -60) can fall within [-50, inf]"),
    ];
    refused_network_files(d, &cases);
}

#[test]
fn projection_matrix_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let net = |file: &str| {
        format!("{NET}[[projection]]\nsource = \"E\"\ntarget = \"I\"\nrule = \"from_file\"\nfile = \"{file}\"\n")
    };
    /// A scipy.sparse CSR matrix of shape (2, 4) as save_npz writes it, with
    /// `skip` left out and the member `change` names replaced.
    fn csr(d: &Path, name: &str, skip: &str, change: &Option<(&str, Member)>) {
        let members: Vec<(&str, Member)> = vec![
            ("format", Member::Bytes(b"csr".to_vec())),
            ("shape", Member::I64(vec![2, 4])),
            ("data", Member::F64(vec![1.0, 2.0])),
            ("indices", Member::I32(vec![0, 3])),
            ("indptr", Member::I32(vec![0, 1, 2])),
        ];
        npz(d, name, |z| {
            for (k, m) in members {
                if k == skip {
                    continue;
                }
                let m = match change {
                    Some((key, new)) if *key == k => new.clone(),
                    _ => m,
                };
                match m {
                    Member::Bytes(b) => z
                        .add_streamed(k, Elem::Bool, &[b.len()], |w| w.write_all(&b))
                        .unwrap(),
                    Member::I64(v) => z.add(k, &v, &[v.len()]).unwrap(),
                    Member::I32(v) => z.add(k, &v, &[v.len()]).unwrap(),
                    Member::F64(v) => z.add(k, &v, &[v.len()]).unwrap(),
                }
            }
        });
    }
    let cases: Vec<CsrCase> = vec![
        ("noformat.npz", "format", None, "noformat.npz: has no 'format' array: save the matrix with scipy.sparse.save_npz"),
        ("dia.npz", "", Some(("format", Member::Bytes(b"dia".to_vec()))), "dia.npz: unsupported sparse format; convert the matrix with .tocsr() before save_npz"),
        ("intdata.npz", "", Some(("data", Member::I64(vec![1, 2]))), "intdata.npz: data has dtype int64; weights must be float32 or float64"),
        ("range.npz", "", Some(("indices", Member::I32(vec![0, 9]))), "range.npz: column (source) 9 is out of range for shape (2, 4) (limit 4)"),
        ("indptr.npz", "", Some(("indptr", Member::I32(vec![0, 5, 2]))), "indptr.npz: indptr is not a valid compressed index"),
        ("lens.npz", "", Some(("data", Member::F64(vec![1.0, 2.0, 3.0]))), "lens.npz: the index arrays and data have different lengths"),
        ("nan.npz", "", Some(("data", Member::F64(vec![1.0, f64::NAN]))), "nan.npz: weight 1 is NaN; weights must be finite"),
        ("shape.npz", "", Some(("shape", Member::I64(vec![3, 4]))), "shape.npz: W must have shape (2, 4) (targets x sources) for this projection, got (3, 4)"),
        ("noind.npz", "indices", None, "noind.npz: has no array named \"indices\""),
        ("negshape.npz", "", Some(("shape", Member::I64(vec![-2, 4]))), "negshape.npz:shape: negative index -2"),
    ];
    for (name, skip, change, want) in &cases {
        csr(d, name, skip, change);
        std::fs::write(d.join("net.toml"), net(name)).unwrap();
        assert_errors(
            d,
            &[(vec!["run", "net.toml", "--out", "o.npz"], vec![want])],
        );
    }
    npy(d, "int.npy", &[1i32; 8], &[2, 4]);
    npy(
        d,
        "inf.npy",
        &[0.0, f64::INFINITY, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        &[2, 4],
    );
    std::fs::write(d.join("zip.npz"), "PK, but not a zip archive").unwrap();
    for (name, want) in [
        (
            "int.npy",
            "int.npy: W has dtype int32; weights must be float32 or float64",
        ),
        (
            "inf.npy",
            "inf.npy: weight 0 is inf; weights must be finite",
        ),
        ("zip.npz", "zip.npz: not an .npz archive ("),
    ] {
        std::fs::write(d.join("net.toml"), net(name)).unwrap();
        assert_errors(
            d,
            &[(vec!["run", "net.toml", "--out", "o.npz"], vec![want])],
        );
    }
}

/// A sparse-matrix case: the file, the member left out, the member
/// replaced, the message.
type CsrCase = (
    &'static str,
    &'static str,
    Option<(&'static str, Member)>,
    &'static str,
);

#[derive(Clone)]
enum Member {
    Bytes(Vec<u8>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    F64(Vec<f64>),
}

// ---------------------------------------------------------------------------
// Outputs and the file system; resources.

#[test]
fn outputs_lifsim_does_not_write_are_refused() {
    let dir = folder();
    let d = dir.path();
    std::fs::create_dir(d.join("dir.out")).unwrap();
    std::fs::write(d.join("net.toml"), NET).unwrap();
    std::fs::create_dir(d.join("x.npz.spikes")).unwrap();
    let sock = d.join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["run", "--weights", "w.npy", "--out", "dir.out"],
            vec!["dir.out: is a directory; give a file name"],
        ),
        (vec!["run", "--weights", "w.npy", "--out", "/"], vec!["/: is not a file path"]),
        (
            vec!["run", "--weights", "w.npy", "--out", "sock"],
            vec!["sock: is neither a regular file nor a character device or FIFO; lifsim does not write there"],
        ),
        (
            vec!["run", "net.toml", "--out", "x.npz"],
            vec!["x.npz.spikes: is a directory; give a file name"],
        ),
        (
            vec!["gen-weights", "-n", "4", "--out", "dir.out"],
            vec!["dir.out: is a directory; give a file name"],
        ),
        (
            vec!["workload", "seed", "--out", "w.npy"],
            vec!["w.npy: File exists"],
        ),
    ];
    assert_errors(d, &cases);
    assert!(sock.exists());
}

#[test]
fn sizes_beyond_memory_are_refused_before_anything_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("big.toml"),
        "duration = 1.0\n[[population]]\nname = \"E\"\nsize = 300000\n\
         [[projection]]\nsource = \"E\"\ntarget = \"E\"\nrule = \"all_to_all\"\nweight = 0.1\n",
    )
    .unwrap();
    // 10^12 synapses by fixed_total_number: refused before its tree is drawn.
    std::fs::write(
        d.join("total.toml"),
        "duration = 1.0\n[[population]]\nname = \"E\"\nsize = 1000\n\
         [[projection]]\nsource = \"E\"\ntarget = \"E\"\nrule = \"fixed_total_number\"\nn = 1000000000000\nweight = 0.1\n",
    )
    .unwrap();
    // 5 million neurons with a delay of 60,000 steps: 2.4 TB of ring buffers.
    std::fs::write(
        d.join("ring.toml"),
        "dt = 0.1\nduration = 1.0\n[[population]]\nname = \"E\"\nsize = 5000000\n\
         [[projection]]\nsource = \"E\"\ntarget = \"E\"\nrule = \"one_to_one\"\nweight = 0.1\ndelay = 6000.0\n",
    )
    .unwrap();
    let start = Instant::now();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["run", "ring.toml", "--out", "o.npz"],
            vec![
                "the synaptic ring buffer needs ",
                "of memory is available; use shorter delays or fewer neurons",
            ],
        ),
        (
            vec!["run", "big.toml", "--out", "o.npz"],
            vec![
                "projection E -> E (90000000000 synapses) needs ",
                "of memory is available; use fewer neurons or a lower connection probability / in-degree",
            ],
        ),
        (
            vec!["run", "total.toml", "--out", "o.npz"],
            vec![
                "projection E -> E (1000000000000 synapses) needs ",
                "of memory is available; use fewer neurons or a lower connection probability / in-degree",
            ],
        ),
        (
            vec!["gen-weights", "-n", "10000000", "--out", "o.npy"],
            vec![
                "a 10000000 x 10000000 weight matrix needs 727.6 TiB but only ",
                "of memory is available; use fewer neurons or a sparse network",
            ],
        ),
    ];
    assert_errors(d, &cases);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "refused, not attempted"
    );
}

// ---------------------------------------------------------------------------
// Spike files read by info and plot.

#[test]
fn files_that_are_not_spike_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("short.npy"), b"\x93NU").unwrap();
    std::fs::write(d.join("text.txt"), "hello, world").unwrap();
    npy(d, "cube.npy", &[false; 8], &[2, 2, 2]);
    npy(d, "float.npy", &[0.0f64; 12], &[3, 4]);
    npz(d, "lens.npz", |z| {
        z.add("times", &[1.0f64, 2.0], &[2]).unwrap();
        z.add("ids", &[0u32], &[1]).unwrap();
    });
    npz(d, "noids.npz", |z| z.add("times", &[1.0f64], &[1]).unwrap());
    npz(d, "nan.npz", |z| {
        z.add("times", &[f64::NAN], &[1]).unwrap();
        z.add("ids", &[0u32], &[1]).unwrap();
    });
    npz(d, "neg.npz", |z| {
        z.add("times", &[1.0f64], &[1]).unwrap();
        z.add("ids", &[-1i64], &[1]).unwrap();
    });
    npz(d, "fid.npz", |z| {
        z.add("times", &[1.0f64], &[1]).unwrap();
        z.add("ids", &[0.5f64], &[1]).unwrap();
    });
    let header = r#"{"n":2,"dt":0.1,"steps":5,"population":"lifsim"}"#;
    std::fs::write(d.join("tiny.spikes"), b"LIFSPIKE").unwrap();
    std::fs::write(d.join("other.spikes"), b"LIFSPIKX-------------------").unwrap();
    spikes_stream(d, "v2.spikes", 2, header, &[]);
    let mut cut = b"LIFSPIKE".to_vec();
    cut.extend_from_slice(&1u32.to_le_bytes());
    cut.extend_from_slice(&4000u32.to_le_bytes());
    cut.extend_from_slice(b"{\"n\":2}");
    std::fs::write(d.join("cut.spikes"), cut).unwrap();
    spikes_stream(d, "json.spikes", 1, r#"{"n":2,"dt":0.1}"#, &[]);
    spikes_stream(
        d,
        "dt.spikes",
        1,
        r#"{"n":2,"dt":-1,"steps":5,"population":"lifsim"}"#,
        &[],
    );
    spikes_stream(
        d,
        "order.spikes",
        1,
        header,
        &[(3, 0), (1, 1), (5, u32::MAX)],
    );
    spikes_stream(d, "id.spikes", 1, header, &[(0, 7), (5, u32::MAX)]);
    let both =
        |f: &'static str, want: &'static str| -> Vec<(Vec<&'static str>, Vec<&'static str>)> {
            vec![
                (vec!["info", f], vec![want]),
                (vec!["plot", f, "--out", "o.png"], vec![want]),
            ]
        };
    let mut cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["plot", "short.npy", "--out", "o.png"], vec!["short.npy: is too short to be a spike file"]),
        (vec!["plot", "text.txt", "--out", "o.png"], vec!["text.txt: is not a spike file lifsim reads (.npy, .npz, .spikes or SONATA .h5)"]),
        (vec!["info", "text.txt"], vec!["text.txt: is not a file lifsim reads or writes (.npy, .npz, .spikes stream, HDF5 .h5)"]),
        (vec!["info", "gone.npz"], vec!["gone.npz: No such file or directory"]),
        (vec!["plot", "gone.npz", "--out", "o.png"], vec!["gone.npz: No such file or directory"]),
        (vec!["plot", "cube.npy", "--out", "o.png"], vec!["cube.npy: is a bool array of shape (2, 2, 2); a dense spike array is bool of shape (steps, N)"]),
        (vec!["plot", "float.npy", "--out", "o.png"], vec!["float.npy: is a float64 array of shape (3, 4); a dense spike array is bool of shape (steps, N)"]),
        (vec!["plot", "noids.npz", "--out", "o.png"], vec!["noids.npz: has no \"ids\" array; spike events need \"times\" (ms) and \"ids\""]),
    ];
    for (f, want) in [
        ("lens.npz", "lens.npz: has 2 times but 1 ids"),
        ("nan.npz", "nan.npz: times[0] is NaN"),
        ("neg.npz", "neg.npz:ids: negative index -1"),
        (
            "fid.npz",
            "fid.npz:ids: expected an integer array, got float64",
        ),
        (
            "tiny.spikes",
            "tiny.spikes: is not a lifsim .spikes stream (too short)",
        ),
        (
            "v2.spikes",
            "v2.spikes: .spikes format version 2; this lifsim reads version 1",
        ),
        ("cut.spikes", "cut.spikes: truncated .spikes header"),
        (
            "json.spikes",
            "json.spikes: bad .spikes header (missing field `steps`",
        ),
        (
            "dt.spikes",
            "dt.spikes: bad .spikes header (dt or n out of range)",
        ),
        (
            "order.spikes",
            "order.spikes: corrupt .spikes stream: step 1 after step 3 at byte ",
        ),
        (
            "id.spikes",
            "id.spikes: corrupt .spikes stream: neuron id 7 in a network of 2 neurons",
        ),
    ] {
        cases.extend(both(f, want));
    }
    cases.push((
        vec!["plot", "other.spikes", "--out", "o.png"],
        vec!["other.spikes: is not a spike file lifsim reads"],
    ));
    assert_errors(d, &cases);
}

// ---------------------------------------------------------------------------
// Checkpoints and resume.

/// The step a checkpoint holds, once it can be read.
fn checkpoint_step(ck: &Path) -> Option<u64> {
    let mut z = lifsim_core::io::npz::NpzReader::open(ck).ok()?;
    z.array("step").ok()?.to_u64_vec().ok()?.first().copied()
}

/// A run of a silent network killed (SIGKILL) once it has checkpointed
/// twice (so its stream holds a marker before the checkpoint's step), in
/// `dir`: `net.toml`, `ck.npz`, `s.npz.spikes`.
fn killed_run(dir: &Path) {
    std::fs::write(
        dir.join("net.toml"),
        "dt = 0.1\nduration = 2000000.0\n[[population]]\nname = \"E\"\nsize = 20\n\
         v_rest = -55.0\nv_reset = -60.0\nv_thresh = -50.0\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifsim"))
        .args([
            "run",
            "net.toml",
            "--out",
            "s.npz",
            "--checkpoint",
            "ck.npz",
        ])
        .args(["--checkpoint-every", "100", "--threads", "1", "--quiet"])
        .current_dir(dir)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while checkpoint_step(&dir.join("ck.npz")).is_none_or(|s| s < 2000) && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(dir.join("ck.npz").exists(), "no checkpoint was written");
}

#[test]
fn resume_refuses_a_run_whose_files_changed() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().join("run");
    std::fs::create_dir(&d).unwrap();
    killed_run(&d);
    let stream = d.join("s.npz.spikes");
    let kept = std::fs::read(&stream).unwrap();
    let resume = |dir: &Path| lifsim_in(dir, &["resume", "ck.npz", "--out", "o.npz", "--quiet"]);
    // Not a checkpoint at all.
    npz(&d, "ev.npz", |z| z.add("times", &[1.0f64], &[1]).unwrap());
    assert_errors(
        &d,
        &[
            (
                vec!["resume", "ev.npz"],
                vec!["ev.npz: is not a lifsim checkpoint (no meta)"],
            ),
            (
                vec!["resume", "net.toml"],
                vec!["net.toml: not an .npz archive ("],
            ),
            (
                vec!["resume", "gone.npz"],
                vec!["gone.npz: No such file or directory"],
            ),
        ],
    );
    // The network file changed since the run started.
    let net = std::fs::read_to_string(d.join("net.toml")).unwrap();
    std::fs::write(d.join("net.toml"), net.replace("size = 20", "size = 21")).unwrap();
    assert_error(
        &resume(&d),
        &["the checkpoint is of a run of 20 neurons, 20000000 steps of 0.1 ms; its arguments now give 21 neurons, 20000000 steps of 0.1 ms (did an input file change?)"],
    );
    std::fs::write(d.join("net.toml"), &net).unwrap();
    // The stream cut back to its header, or with a spike where the
    // checkpoint has none.
    let data_start = 16 + u32::from_le_bytes(kept[12..16].try_into().unwrap()) as usize;
    std::fs::write(&stream, &kept[..data_start]).unwrap();
    assert_error(
        &resume(&d),
        &[
            "s.npz.spikes: holds no complete record of step ",
            "it is not the stream this checkpoint was written with",
        ],
    );
    // The first record is the marker of an earlier step than the
    // checkpoint's (see killed_run); made a spike of neuron 0.
    let mut forged = kept.clone();
    forged[data_start + 8..data_start + 12].copy_from_slice(&0u32.to_le_bytes());
    std::fs::write(&stream, &forged).unwrap();
    assert_error(
        &resume(&d),
        &[
            "s.npz.spikes: holds 1 spikes before step ",
            "where the checkpoint expects 0",
        ],
    );
    // The stream gone.
    std::fs::remove_file(&stream).unwrap();
    assert_error(&resume(&d), &["s.npz.spikes: No such file or directory"]);
    std::fs::write(&stream, &kept).unwrap();
    // The run's folder moved: its arguments are relative to it.
    let moved = root.path().join("moved");
    std::fs::rename(&d, &moved).unwrap();
    assert_error(
        &resume(&moved),
        &["the run's folder ", "/run: No such file or directory"],
    );
    assert!(!moved.join("o.npz").exists());
}

#[test]
fn a_write_error_with_a_checkpoint_says_how_to_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 200 neurons firing every 50 ms or so for 200 s: megabytes of spikes,
    // stopped by a file size limit of 128 KiB (what a full disk does, without
    // root) after the first checkpoint (at 1 s, about 50 KiB of spikes).
    std::fs::write(
        d.join("net.toml"),
        "dt = 0.1\nduration = 200000.0\n[[population]]\nname = \"E\"\nsize = 200\n\
         v_rest = -49.0\nv_reset = -60.0\nv_thresh = -50.0\n",
    )
    .unwrap();
    let mut run = Command::new(env!("CARGO_BIN_EXE_lifsim"));
    run.args([
        "run",
        "net.toml",
        "--out",
        "s.npz",
        "--checkpoint",
        "ck.npz",
    ])
    .args(["--checkpoint-every", "1000", "--threads", "1", "--quiet"])
    .current_dir(d)
    .env_remove("RUST_BACKTRACE");
    limit_file_size(&mut run, 128 << 10);
    let out = run.output().unwrap();
    assert_error(
        &out,
        &[
            "the run stopped; once that is fixed, `lifsim resume ",
            "ck.npz` goes on from its last checkpoint: ",
            "s.npz.spikes: cannot be written (",
        ],
    );
    assert!(d.join("ck.npz").exists() && d.join("s.npz.spikes").exists());
    assert!(!d.join("s.npz").exists());
}

/// Only a build without the `sonata` feature: SONATA output and input are
/// refused with what to build instead.
#[cfg(not(feature = "sonata"))]
#[test]
fn without_hdf5_sonata_is_refused() {
    let dir = folder();
    let d = dir.path();
    std::fs::write(d.join("s.h5"), b"\x89HDF\r\n\x1a\n and then some bytes").unwrap();
    assert_errors(
        d,
        &[
            (
                vec!["run", "--weights", "w.npy", "--format", "sonata", "--out", "o.h5"],
                vec!["invalid parameter format: sonata needs HDF5 support; this lifsim was built without it"],
            ),
            (
                vec!["plot", "s.h5", "--out", "o.png"],
                vec!["s.h5: is an HDF5 file; this lifsim was built without HDF5 support (build with --features sonata)"],
            ),
        ],
    );
}

// ---------------------------------------------------------------------------
// Signals.

#[test]
fn ctrl_c_ends_a_run_by_the_signal_and_keeps_its_stream() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_lifsim"));
    // SAFETY: only an async-signal-safe call between fork and exec. The child
    // gets SIGINT's default action even when the suite itself was started
    // with SIGINT ignored (a background job of a non-interactive shell is),
    // as a terminal's Ctrl-C would find it.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let child = command
        // 10^8 steps: minutes, however fast the machine, so the signal
        // always finds the run going.
        .args(["run", "--workload", "seed-active", "--t-max", "1000000"])
        .args(["--format", "events", "--out", "o.npz", "--quiet"])
        .current_dir(d)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stream = d.join("o.npz.spikes");
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&stream).map_or(true, |m| m.len() < 200) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: a signal to the child this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    // Ended by the signal (the shell's status 130), not by an exit status.
    assert_eq!(out.status.signal(), Some(libc::SIGINT), "{:?}", out.status);
    assert_eq!(out.status.code(), None);
    assert!(!d.join("o.npz").exists());
    let info = lifsim_in(d, &["info", "o.npz.spikes"]);
    assert!(
        info.status.success(),
        "{}",
        String::from_utf8_lossy(&info.stderr)
    );
    assert!(
        String::from_utf8_lossy(&info.stdout).contains("INCOMPLETE: the run stopped after step")
    );
}

// ---------------------------------------------------------------------------
// The catalogue itself.

/// Every `PATH::name` that docs/errors.md cites (PATH a .rs or .py file of
/// the repository) names a test that exists in that file.
#[test]
fn the_catalogue_cites_only_tests_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/errors.md")).expect("docs/errors.md");
    let mut cited = 0;
    let mut missing = Vec::new();
    for (k, _) in doc.match_indices("::") {
        let before = &doc[..k];
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || "_-./".contains(c)))
            .map_or(0, |s| s + 1);
        let path = &before[start..];
        if !(path.ends_with(".rs") || path.ends_with(".py")) {
            continue;
        }
        let after = &doc[k + 2..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(!name.is_empty(), "a citation of {path} without a name");
        let Ok(source) = std::fs::read_to_string(root.join(path)) else {
            missing.push(format!("{path} (no such file)::{name}"));
            continue;
        };
        let defined = [format!("fn {name}("), format!("def {name}(")]
            .iter()
            .any(|d| source.contains(d.as_str()));
        if !defined {
            missing.push(format!("{path}::{name}"));
        }
        cited += 1;
    }
    assert!(
        missing.is_empty(),
        "docs/errors.md cites tests that do not exist: {missing:#?}"
    );
    assert!(
        cited >= 50,
        "only {cited} citations found; is the format still PATH::name?"
    );
}
