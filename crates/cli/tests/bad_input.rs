//! Black-box tests of hostile input (issue 11, items 4, 5 and 9): headers
//! that used to panic, values that used to hang the plot, and mistakes in a
//! network file that used to be accepted in silence. Every one must end in
//! exactly one stderr line, exit status 2, no panic, and no hang.
//!
//! The files are written byte by byte here (a small stored-zip writer
//! included), so each test says exactly what a user's file held.

mod common;
use common::{assert_error, lifsim, lifsim_in};

use std::path::{Path, PathBuf};
use std::process::Output;

use lifsim_core::io::npy::{write_npy, NpyElem};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The bytes of an `.npy` file of `values` with `shape`.
fn npy_bytes<T: NpyElem>(values: &[T], shape: &[usize]) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_npy(&mut bytes, values, shape, false).unwrap();
    bytes
}

/// An `.npy` file whose header says `descr` (any text, quotes included).
fn npy_with_descr(descr: &str, shape: &[usize], data_len: usize) -> Vec<u8> {
    let dict = format!(
        "{{'descr': {descr}, 'fortran_order': False, 'shape': ({},), }}",
        shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&((dict.len() + 1) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.push(b'\n');
    out.extend(std::iter::repeat_n(0u8, data_len));
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip archive of stored (uncompressed) members, as `numpy.savez` writes.
fn zip_bytes(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, data) in members {
        let (crc, len, offset) = (crc32(data), data.len() as u32, out.len() as u32);
        let name = name.as_bytes();
        // version 20, no flags, stored, time 0, date 1980-01-01
        let common = |v: &mut Vec<u8>| {
            for x in [20u16, 0, 0, 0, 33] {
                v.extend_from_slice(&x.to_le_bytes());
            }
            for x in [crc, len, len] {
                v.extend_from_slice(&x.to_le_bytes());
            }
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name);
        out.extend_from_slice(data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        common(&mut central);
        for x in [0u16, 0, 0] {
            central.extend_from_slice(&x.to_le_bytes());
        }
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let (cd_offset, cd_len) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    let count = members.len() as u16;
    for x in [0u16, 0, count, count] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Writes `bytes` to `dir/name`.
fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// An events `.npz` (`times`, `ids` as uint64) with the float64 scalars
/// `scalars` (`n`, `dt`, `steps`).
fn events(dir: &Path, times: &[f64], ids: &[u64], scalars: &[(&str, f64)]) -> PathBuf {
    let mut members = vec![
        ("times.npy".to_string(), npy_bytes(times, &[times.len()])),
        ("ids.npy".to_string(), npy_bytes(ids, &[ids.len()])),
    ];
    for (name, v) in scalars {
        members.push((format!("{name}.npy"), npy_bytes(&[*v], &[])));
    }
    let members: Vec<(&str, Vec<u8>)> = members
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    file(dir, "events.npz", &zip_bytes(&members))
}

/// A `.spikes` stream (the layout of `crates/core/src/io/stream.rs`) with the
/// JSON header `json` and one spike of neuron 0 at each of `steps` steps,
/// then the end marker.
fn stream(dir: &Path, json: &str, steps: u64) -> PathBuf {
    let mut json = json.as_bytes().to_vec();
    while !(16 + json.len()).is_multiple_of(16) {
        json.push(b' ');
    }
    let mut out = b"LIFSPIKE".to_vec();
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    let mut record = |step: u64, id: u32| {
        out.extend_from_slice(&step.to_le_bytes());
        out.extend_from_slice(&id.to_le_bytes());
    };
    for k in 0..steps {
        record(k, 0);
    }
    record(steps, u32::MAX);
    file(dir, "run.npz.spikes", &out)
}

/// A dense spike array (bool, 4 steps of 3 neurons, two spikes).
fn dense(dir: &Path) -> PathBuf {
    let bits = [
        false, true, false, false, false, false, true, false, false, false, false, false,
    ];
    file(dir, "d.npy", &npy_bytes(&bits, &[4, 3]))
}

// ---------------------------------------------------------------------------
// Item 4: headers that panicked.

#[test]
fn a_dtype_with_multibyte_characters_is_an_error_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for descr in ["'\u{e9}8'", "'\u{1f980}8'", "'<\u{e9}'", "'\u{1f980}'"] {
        let bad = npy_with_descr(descr, &[2, 2], 32);
        let w = file(d, "w.npy", &bad);
        let png = d.join("p.png");
        assert_error(&lifsim(&["info", s(&w)]), &["w.npy: ", "dtype"]);
        assert_error(
            &lifsim(&["plot", s(&w), "--out", s(&png)]),
            &["w.npy: ", "dtype"],
        );
        let out = d.join("s.npy");
        assert_error(
            &lifsim(&["run", "--weights", s(&w), "--out", s(&out)]),
            &["w.npy: ", "dtype"],
        );
        // A matrix of a network file's from_file projection.
        let net = file(
            d,
            "net.toml",
            b"duration = 1.0\n[[population]]\nname = \"E\"\nsize = 2\n[[projection]]\nsource = \"E\"\ntarget = \"E\"\nrule = \"from_file\"\nfile = \"w.npy\"\n",
        );
        assert_error(
            &lifsim_in(d, &["run", s(&net), "--out", s(&d.join("o.npz"))]),
            &["w.npy: ", "dtype"],
        );
        // Any member of an archive: spike events, and a checkpoint's.
        let members = [
            ("times.npy", bad.clone()),
            ("ids.npy", npy_bytes(&[0u32, 1], &[2])),
        ];
        let ev = file(d, "ev.npz", &zip_bytes(&members));
        assert_error(&lifsim(&["info", s(&ev)]), &["ev.npz:times: ", "dtype"]);
        assert_error(
            &lifsim(&["plot", s(&ev), "--out", s(&png)]),
            &["ev.npz:times: ", "dtype"],
        );
        let members = [
            ("meta.npy", bad.clone()),
            ("step.npy", bad.clone()),
            ("pending.npy", bad.clone()),
        ];
        let ck = file(d, "ck.npz", &zip_bytes(&members));
        assert_error(&lifsim(&["info", s(&ck)]), &["ck.npz:", "dtype"]);
        assert_error(&lifsim(&["resume", s(&ck)]), &["ck.npz:", "dtype"]);
        assert!(!png.exists() && !out.exists());
    }
}

#[test]
fn an_events_file_claiming_absurd_neuron_counts_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let png = d.join("p.png");
    // 1e20 panicked (capacity overflow), 1e11 aborted on a 100 GB allocation.
    for n in ["1e20", "1e11", "-1", "2.5", "nan"] {
        let ev = events(d, &[0.5, 1.0], &[0, 1], &[("n", n.parse().unwrap())]);
        for cmd in [vec!["info", s(&ev)], vec!["plot", s(&ev), "--out", s(&png)]] {
            assert_error(
                &lifsim(&cmd),
                &["events.npz:n: is ", "whole number from 0 to 4294967295"],
            );
        }
    }
    // n below an id is a corrupt file, not a larger network.
    let ev = events(d, &[0.5, 1.0], &[0, 7], &[("n", 3.0)]);
    assert_error(
        &lifsim(&["info", s(&ev)]),
        &["ids[1] is 7, not below the file's 3 neurons"],
    );
    assert!(!png.exists());
}

#[test]
fn an_id_beyond_what_lifsim_counts_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 2^64 - 1 wrapped N around to 0: "neurons 0", exit 0.
    for id in [u64::MAX, u32::MAX as u64] {
        let ev = events(d, &[0.5], &[id], &[]);
        assert_error(
            &lifsim(&["info", s(&ev)]),
            &[&format!(
                "ids[0] is {id}; lifsim reads neuron ids below 4294967295"
            )],
        );
    }
    // The largest id there can be is read.
    let ev = events(d, &[0.5], &[u32::MAX as u64 - 1], &[]);
    let out = lifsim(&["info", s(&ev)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("neurons      4294967295"));
}

#[test]
fn archive_members_that_claim_more_than_the_file_holds_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = npy_bytes(&[0.5f64, 1.0], &[2]);
    let mut zip = zip_bytes(&[
        ("times.npy", good.clone()),
        ("ids.npy", npy_bytes(&[0u32, 1], &[2])),
    ]);
    // The central directory's uncompressed size of times.npy: 1 GB, in a
    // file of 400 bytes (it was believed, and reserved).
    let cd = zip
        .windows(4)
        .position(|w| w == [0x50, 0x4b, 0x01, 0x02])
        .unwrap();
    zip[cd + 24..cd + 28].copy_from_slice(&1_000_000_000u32.to_le_bytes());
    let ev = file(d, "ev.npz", &zip);
    assert_error(
        &lifsim(&["info", s(&ev)]),
        &["ev.npz:times: corrupt archive: the member claims 1000000000 bytes"],
    );
}

// ---------------------------------------------------------------------------
// Item 5: values that hung the plot, or were taken as they came.

#[test]
fn plot_refuses_time_steps_it_cannot_draw() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spikes = dense(d);
    let png = d.join("p.png");
    // inf and 1e308 looped forever inside plotters; 0 and nan were accepted.
    for dt in ["inf", "1e308", "1e300", "0", "nan", "-0.1"] {
        let out = lifsim(&["plot", s(&spikes), "--dt", dt, "--out", s(&png)]);
        assert_error(
            &out,
            &["invalid parameter dt: must be a positive number of ms"],
        );
        let out = lifsim(&["info", s(&spikes), "--dt", dt]);
        assert_error(
            &out,
            &["invalid parameter dt: must be a positive number of ms"],
        );
    }
    // A dt whose spike times leave what a float64 axis can hold.
    let out = lifsim(&["plot", s(&spikes), "--dt", "1e15", "--out", s(&png)]);
    assert_error(&out, &["d.npy: times[1] is 3000000000000000.0 ms"]);
    assert!(!png.exists());
    // A sane one still plots.
    let out = lifsim(&["plot", s(&spikes), "--dt", "0.5", "--out", s(&png)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(png.exists());
}

#[test]
fn plot_refuses_windows_it_cannot_draw() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spikes = dense(d);
    let png = d.join("p.png");
    let cases: [(&[&str], &str); 8] = [
        (
            &["--t-start", "nan"],
            "invalid --t-start: must be a time from 0 to 1e15 ms, got NaN",
        ),
        (&["--t-start", "inf"], "invalid --t-start"),
        (&["--t-start", "-1"], "invalid --t-start"),
        (&["--t-stop", "nan"], "invalid --t-stop"),
        (&["--t-stop", "1e300"], "invalid --t-stop"),
        (
            &["--t-start", "0.01", "--t-stop", "0.01"],
            "--t-start (0.01 ms) must be before --t-stop (0.01 ms)",
        ),
        (
            &["--t-start", "0.5"],
            "--t-start (0.5 ms) is not before the end of the spikes (0.04 ms)",
        ),
        (
            &["--t-start", "0.01", "--t-stop", "0.0100000000000001"],
            "too narrow to plot",
        ),
    ];
    for (flags, want) in cases {
        let mut args = vec!["plot", s(&spikes), "--dt", "0.01", "--out", s(&png)];
        args.extend_from_slice(flags);
        assert_error(&lifsim(&args), &[want]);
    }
    // No steps at all, far along the axis: an empty plot, not a hang.
    let ev = events(d, &[], &[], &[]);
    let out = lifsim(&["plot", s(&ev), "--t-start", "1e12", "--out", s(&png)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(png.exists());
}

#[test]
fn events_with_an_infinite_time_axis_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let png = d.join("p.png");
    let cases: [(&[(&str, f64)], &str); 5] = [
        (
            &[("dt", 0.1), ("steps", f64::INFINITY)],
            "events.npz:steps: is inf",
        ),
        (
            &[("dt", f64::INFINITY), ("steps", 10.0)],
            "events.npz:dt: must be a positive number of ms",
        ),
        (
            &[("dt", f64::NAN), ("steps", 10.0)],
            "events.npz:dt: must be a positive number of ms",
        ),
        (
            &[("dt", 0.1), ("steps", 1e300)],
            "events.npz:steps: is 1e300",
        ),
        (
            &[("dt", 1e10), ("steps", 1e10)],
            "covers 1e20 ms (steps times dt); lifsim reads at most 1e15 ms",
        ),
    ];
    for (scalars, want) in cases {
        let ev = events(d, &[0.5], &[0], scalars);
        assert_error(&lifsim(&["plot", s(&ev), "--out", s(&png)]), &[want]);
        assert_error(&lifsim(&["info", s(&ev)]), &[want]);
    }
    let ev = events(d, &[1e300], &[0], &[]);
    assert_error(
        &lifsim(&["plot", s(&ev), "--out", s(&png)]),
        &["times[0] is 1e300 ms"],
    );
    assert!(!png.exists());
}

#[test]
fn a_stream_header_with_a_huge_dt_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let png = d.join("p.png");
    let header = r#"{"n":2,"dt":1e308,"steps":5,"population":"lifsim"}"#;
    let spikes = stream(d, header, 5);
    assert_error(
        &lifsim(&["plot", s(&spikes), "--out", s(&png)]),
        &["run.npz.spikes: bad .spikes header: 5 steps of dt reach inf ms"],
    );
    assert_error(
        &lifsim(&["info", s(&spikes)]),
        &["run.npz.spikes: bad .spikes header"],
    );
    let header = r#"{"n":2,"dt":1e14,"steps":20,"population":"lifsim"}"#;
    let spikes = stream(d, header, 20);
    assert_error(
        &lifsim(&["plot", s(&spikes), "--out", s(&png)]),
        &["run.npz.spikes: bad .spikes header: 20 steps of dt reach 2e15 ms"],
    );
    assert!(!png.exists());
}

#[test]
fn run_refuses_times_it_cannot_simulate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let w = file(d, "w.npy", &npy_bytes(&[0.0f64; 4], &[2, 2]));
    let out = d.join("s.npy");
    let cases: [(&[&str], &str); 12] = [
        (
            &["--dt", "nan"],
            "invalid parameter dt: must be a finite number, got NaN",
        ),
        (&["--dt", "inf"], "invalid parameter dt"),
        (&["--dt", "0"], "invalid parameter dt"),
        (&["--dt", "-0.01"], "invalid parameter dt"),
        (
            &["--dt", "1e308"],
            "invalid parameter t_max: must be at least dt",
        ),
        (&["--t-max", "nan"], "invalid parameter t_max"),
        (&["--t-max", "inf"], "invalid parameter t_max"),
        (&["--t-max", "-1"], "invalid parameter t_max"),
        (&["--t-max", "1e300"], "invalid parameter t_max"),
        (
            &["--t-max", "1e300", "--dt", "1e290"],
            "invalid parameter t_max: must be at most 1e15 ms",
        ),
        (
            &["--t-max", "1e16", "--dt", "1e5"],
            "invalid parameter t_max: must be at most 1e15 ms",
        ),
        (
            &["--t-max", "1e5", "--dt", "1e-300"],
            "steps is more than lifsim will run",
        ),
    ];
    for (flags, want) in cases {
        let mut args = vec!["run", "--weights", s(&w), "--out", s(&out)];
        args.extend_from_slice(flags);
        assert_error(&lifsim(&args), &[want]);
        assert!(!out.exists());
    }
    // A network file's duration, likewise.
    for (line, want) in [
        (
            "duration = 1e16\ndt = 1e5",
            "invalid parameter duration: the network: must be at most 1e15 ms",
        ),
        ("duration = inf", "invalid parameter duration"),
        (
            "duration = 1e5\ndt = 1e-300",
            "steps is more than lifsim will run",
        ),
    ] {
        let net = file(
            d,
            "net.toml",
            format!("{line}\n[[population]]\nname = \"E\"\nsize = 2\n").as_bytes(),
        );
        assert_error(
            &lifsim(&["run", s(&net), "--out", s(&d.join("o.npz"))]),
            &["net.toml: ", want],
        );
    }
}

// ---------------------------------------------------------------------------
// Item 9: network files accepted in silence.

/// A two-population network file with `extra` appended (more tables).
fn network(dir: &Path, e_name: &str, extra: &str) -> PathBuf {
    let text = format!(
        "duration = 1.0\n\
         [[population]]\nname = {e_name:?}\nsize = 4\n\
         [[population]]\nname = \"I\"\nsize = 2\n\
         [[projection]]\nsource = \"I\"\ntarget = \"I\"\nrule = \"all_to_all\"\nweight = 0.1\n\
         {extra}"
    );
    file(dir, "net.toml", text.as_bytes())
}

fn run_net(dir: &Path, net: &Path) -> Output {
    lifsim_in(dir, &["run", s(net), "--out", s(&dir.join("o.npz"))])
}

#[test]
fn population_names_that_cannot_be_told_apart_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, why) in [
        ("", "must not be empty"),
        ("a/b", "must not contain '/'"),
        ("E\t", "must not contain control characters"),
        ("E ", "must not begin or end with a space"),
        ("I", "is defined twice"),
    ] {
        let net = network(d, name, "");
        assert_error(
            &run_net(d, &net),
            &["net.toml: invalid parameter name: population ", why],
        );
        assert!(!d.join("o.npz").exists());
    }
}

#[test]
fn an_input_or_projection_naming_neurons_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases = [
        (
            "[[input]]\ntype = \"spike_generator\"\ntarget = \"E\"\nneurons = [0, 2, 2]\ntimes = [0.5]\nweight = 1.0\n",
            "net.toml: invalid parameter neurons: input 1 (spike_generator -> E): index 2 is listed twice",
        ),
        (
            "[[input]]\ntype = \"current\"\ntarget = [\"E\", \"I\", \"E\"]\namplitude = 1.0\n",
            "input 1 (current -> E, I, E): target names population \"E\" twice",
        ),
        (
            "[[input]]\ntype = \"poisson\"\ntarget = \"E\"\nneurons = [3, 1, 3]\nrate = 10.0\nweight = 0.1\n",
            "index 3 is listed twice",
        ),
        (
            "[[projection]]\nsource = [\"E\", \"E\"]\ntarget = \"I\"\nrule = \"all_to_all\"\nweight = 0.1\n",
            "projection 2 (E, E -> I): source names population \"E\" twice",
        ),
    ];
    for (extra, want) in cases {
        let net = network(d, "E", extra);
        assert_error(&run_net(d, &net), &[want]);
    }
}

#[test]
fn a_typo_in_a_distribution_names_the_field_the_line_and_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let typo = "[[projection]]\nsource = \"E\"\ntarget = \"I\"\nrule = \"all_to_all\"\n\
                weight = { distribution = \"normal\", mean = 1, sdt = 0.1 }\n";
    let net = network(d, "E", typo);
    assert_error(
        &run_net(d, &net),
        &[
            "net.toml: invalid parameter weight: projection 2 (E -> I), line 17: ",
            "unknown key \"sdt\" in a distribution table; the keys are distribution, low and high (uniform), mean and std (normal)",
        ],
    );
    let net = network(
        d,
        "E",
        "[[population]]\nname = \"X\"\nsize = 1\nv0 = { distribution = \"uniform\", low = -70, hi = -60 }\n",
    );
    assert_error(
        &run_net(d, &net),
        &["invalid parameter v0: population \"X\", line 16: unknown key \"hi\""],
    );
    let net = network(
        d,
        "E",
        "[[projection]]\nsource = \"E\"\ntarget = \"E\"\nrule = \"all_to_all\"\nweight = 0.1\ndelay = { distribution = \"uniform\", low = 1.0 }\n",
    );
    assert_error(
        &run_net(d, &net),
        &["invalid parameter delay: projection 2 (E -> E), line 18: distribution \"uniform\" needs high"],
    );
}

/// A stored (uncompressed) member whose bytes changed after it was written
/// fails its CRC-32; it is never read as a silently different value.
#[test]
fn a_changed_byte_in_an_archive_member_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = events(
        dir.path(),
        &[0.5, 1.5],
        &[0, 1],
        &[("n", 2.0), ("dt", 0.5), ("steps", 4.0)],
    );
    assert!(lifsim(&["info", s(&path)]).status.success());
    // Change the last byte of the second time (1.5 -> another float64).
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(8)
        .position(|w| w == 1.5f64.to_le_bytes())
        .expect("the time is stored as is");
    bytes[at] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    for cmd in [vec!["info", s(&path)], vec!["plot", s(&path), "--out"]] {
        let png = dir.path().join("r.png");
        let mut args = cmd.clone();
        if args[0] == "plot" {
            args.push(s(&png));
        }
        assert_error(
            &lifsim(&args),
            &["events.npz:times", "corrupt archive member"],
        );
        assert!(!png.exists());
    }
}
