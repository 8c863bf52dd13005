//! `mpirun -np K lifsim run NETWORK.toml` (feature `mpi`): one network over
//! K processes writes the same spike file, byte for byte, as one process,
//! for 1, 2 and 3 ranks of 1 and 2 threads each, on brunel, coba and a
//! scaled PD14 microcircuit; what ranks cannot do yet is refused with its reason.
//! Open MPI's `mpirun` runs the ranks oversubscribed (more ranks than
//! cores), unbound, and yielding while they wait (`mpi_yield_when_idle`).
#![cfg(feature = "mpi")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{binary, lifsim_in};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `mpirun -np NP lifsim ARGS` in `cwd`, killed after two minutes.
fn mpirun(cwd: &Path, np: usize, args: &[&str]) -> Output {
    let np = np.to_string();
    let mut child = Command::new("mpirun")
        .args(["--oversubscribe", "--bind-to", "none"])
        .args(["--mca", "mpi_yield_when_idle", "1", "-np", &np])
        .arg(binary())
        .args(args)
        .current_dir(cwd)
        // The test machines run as root; Open MPI refuses that unless told.
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("mpirun runs (scripts/system-deps.sh installs Open MPI)");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().expect("kill");
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The one-process run's spike file, then every rank and thread count's,
/// compared byte for byte; the summary is printed once, by rank 0.
fn same_on_every_split(file: &Path, extra: &[&str], splits: &[(usize, usize)]) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = file.to_str().unwrap();
    let run = |out: &str, threads: usize| -> Vec<String> {
        let mut a: Vec<String> = ["run", file, "--out", out, "--threads"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.push(threads.to_string());
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let args = run("one.npz", 1);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let one = lifsim_in(d, &args);
    assert!(one.status.success(), "{}", text(&one.stderr));
    let want = std::fs::read(d.join("one.npz")).unwrap();
    let spikes = |o: &Output| {
        text(&o.stdout)
            .lines()
            .find(|l| l.starts_with("spikes"))
            .map(str::to_string)
    };
    assert!(spikes(&one).is_some());
    // Both exchange schemes over several ranks (one rank has no exchange).
    let cases = splits.iter().flat_map(|&(np, threads)| {
        let schemes: &[&'static str] = if np > 1 {
            &["allgather", "alltoall"]
        } else {
            &["allgather"]
        };
        schemes.iter().map(move |&s| (np, threads, s))
    });
    for (np, threads, scheme) in cases {
        let out = format!("r{np}t{threads}{scheme}.npz");
        let mut args = run(&out, threads);
        args.extend(["--exchange".to_string(), scheme.to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = mpirun(d, np, &args);
        let stdout = text(&o.stdout);
        let case = format!("{np} ranks x {threads} threads, {scheme}");
        assert!(o.status.success(), "{case}: {}", text(&o.stderr));
        let got = std::fs::read(d.join(&out)).unwrap();
        assert!(got == want, "{case}: the spike file differs");
        assert_eq!(spikes(&o), spikes(&one), "{case}");
        assert_eq!(stdout.matches("network ").count(), 1, "{stdout}");
        if np > 1 {
            assert!(
                stdout.contains(&format!("{np} ranks x {threads} thread(s)")),
                "{stdout}"
            );
        }
        // No rank leaves a file of its own behind.
        let names: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| n.ends_with(".npz")), "{names:?}");
    }
}

/// The `--json` report of `mpirun -np NP lifsim ARGS --exchange SCHEME`,
/// and its spike file.
fn exchanged(d: &Path, np: usize, args: &[&str], scheme: &str) -> (serde_json::Value, Vec<u8>) {
    let name = format!("{scheme}{np}{}", args.len());
    let (out, json) = (format!("{name}.npz"), format!("{name}.json"));
    let mut a = args.to_vec();
    a.extend([
        "--exchange",
        scheme,
        "--out",
        &out,
        "--json",
        &json,
        "--quiet",
    ]);
    let o = mpirun(d, np, &a);
    assert!(o.status.success(), "{scheme}: {}", text(&o.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join(&json)).unwrap()).unwrap();
    assert_eq!(report["exchange"], scheme);
    assert!(report["exchanges"].as_u64().unwrap() > 0);
    (report, std::fs::read(d.join(&out)).unwrap())
}

/// Alltoall sends a rank only the spikes of neurons with synapses onto its
/// own: on a sparse brunel (in-degrees 2 and 1, so that a rank's neurons
/// miss about a third of the sources) the ranks receive fewer bytes than
/// with allgather, and the spike file is the same.
#[test]
fn alltoall_moves_fewer_bytes_where_ranks_need_fewer_sources() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let brunel = root().join("examples/brunel.toml");
    let args = [
        "run",
        brunel.to_str().unwrap(),
        "--duration",
        "100",
        "--threads",
        "1",
        "--set",
        "projection.1.indegree=2",
        "--set",
        "projection.2.indegree=1",
    ];
    for np in [2, 3] {
        let (all, a) = exchanged(d, np, &args, "allgather");
        let (some, b) = exchanged(d, np, &args, "alltoall");
        assert!(a == b, "{np} ranks: the spike files differ");
        let bytes = |r: serde_json::Value| r["exchange_bytes"].as_u64().unwrap();
        let (all, some) = (bytes(all), bytes(some));
        assert!(all > 10_000, "{np} ranks: {all} bytes");
        assert!(
            some < all * 9 / 10,
            "{np} ranks: alltoall {some}, allgather {all}"
        );
    }
}

/// Where the minimum delay allows (brunel's: 15 steps), each exchange runs
/// while the next interval's steps do, the interval halved (7 steps: more
/// about twice the exchanges); `--no-overlap` exchanges between the steps
/// once per minimum delay. The same spike file either way, on both schemes.
#[test]
fn brunel_overlaps_its_exchanges_unless_told_not_to() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let brunel = root().join("examples/brunel.toml");
    let args = ["run", brunel.to_str().unwrap(), "--duration", "100"];
    let mut no = args.to_vec();
    no.push("--no-overlap");
    for np in [2, 3] {
        for scheme in ["allgather", "alltoall"] {
            let (on, a) = exchanged(d, np, &args, scheme);
            let (off, b) = exchanged(d, np, &no, scheme);
            let case = format!("{np} ranks, {scheme}");
            assert!(a == b, "{case}: the spike files differ");
            assert_eq!(
                (&on["overlapped"], &off["overlapped"]),
                (&true.into(), &false.into())
            );
            let count = |r: &serde_json::Value| r["exchanges"].as_u64().unwrap();
            // About twice (runs cut into chunks of steps add a few).
            assert!(2 * count(&on) > 3 * count(&off), "{case}: {on} {off}");
        }
    }
    // One process has nothing to overlap.
    let mut one = args.to_vec();
    one.extend(["--json", "one.json", "--out", "one.npz", "--quiet"]);
    assert!(lifsim_in(d, &one).status.success());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("one.json")).unwrap()).unwrap();
    assert_eq!(report["overlapped"], false);
    assert!(std::fs::read(d.join("one.npz")).unwrap() == exchanged(d, 2, &args, "allgather").1);
}

#[test]
fn brunel_gives_the_same_spike_file_on_every_split() {
    same_on_every_split(
        &root().join("examples/brunel.toml"),
        &["--duration", "200"],
        &[(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2)],
    );
}

/// coba: conductance synapses with one step of delay, which go straight
/// into the conductances after the update (late delivery), an exchange
/// every step.
#[test]
fn coba_gives_the_same_spike_file_on_every_split() {
    same_on_every_split(
        &root().join("examples/coba.toml"),
        &["--duration", "300"],
        &[(2, 1), (2, 2), (3, 1)],
    );
}

#[test]
fn a_scaled_microcircuit_gives_the_same_spike_file_on_every_split() {
    same_on_every_split(
        &root().join("crates/cli/tests/data/microcircuit_small.toml"),
        &["--duration", "300"],
        &[(2, 1), (2, 2), (3, 1), (3, 2)],
    );
}

#[test]
fn what_ranks_cannot_do_yet_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let brunel = root().join("examples/brunel.toml");
    let brunel = brunel.to_str().unwrap();
    std::fs::write(
        d.join("monitored.toml"),
        std::fs::read_to_string(brunel).unwrap()
            + "\n[[record.state]]\npopulation = \"E\"\nids = [0, 1, 6000, 9999]\nvariables = [\"V_m\"]\n",
    )
    .unwrap();
    let cases: [(&[&str], &str); 2] = [
        (
            &["run", "monitored.toml", "--duration", "5", "--stream-state"],
            "streamed state monitors (--stream-state) are not supported over MPI ranks yet; run on one process (this is one of 2 ranks)",
        ),
        (
            &[
                "run",
                "--workload",
                "seed-active",
                "--t-max",
                "5",
                "--out",
                "s.npy",
                "--checkpoint",
                "ck.npz",
                "--checkpoint-every",
                "1",
            ],
            "checkpoints of the seed model (--checkpoint, lifsim resume) are not supported over MPI ranks yet; run on one process (this is one of 2 ranks)",
        ),
    ];
    for (args, message) in cases {
        let o = mpirun(d, 2, args);
        let stderr = text(&o.stderr);
        assert!(!o.status.success(), "{args:?}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        // Nothing written.
        for f in ["s.npy", "ck.npz", "lifsim.npz", "spikes.npz"] {
            assert!(!d.join(f).exists(), "{args:?} wrote {f}");
        }
    }
}

/// The step a checkpoint holds, once it can be read.
/// The seed's dense model (`--workload`, `--weights`) over 2 and 3 ranks
/// (run as the seed network, an exchange every step) writes the file a
/// one-process run (the dense engine) writes, byte for byte: the seed's
/// dense raster and events, float64 and float32, neurons above threshold
/// at `t_0` included.
#[test]
fn the_seed_model_over_ranks_writes_the_one_process_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gen = lifsim_in(
        d,
        &[
            "gen-weights",
            "--n",
            "200",
            "--std",
            "40",
            "--p",
            "0.2",
            "--seed",
            "3",
            "--out",
            "w.npy",
        ],
    );
    assert!(gen.status.success(), "{}", text(&gen.stderr));
    let cases: [&[&str]; 3] = [
        &["--workload", "seed-active", "--t-max", "40"],
        &[
            "--weights",
            "w.npy",
            "--i-ext",
            "25",
            "--v0=-49.5",
            "--t-ref",
            "1",
            "--t-max",
            "60.05",
            "--format",
            "events",
        ],
        &[
            "--weights",
            "w.npy",
            "--i-ext",
            "25",
            "--v0",
            "uniform",
            "--dtype",
            "float32",
            "--t-max",
            "60",
        ],
    ];
    for (c, flags) in cases.iter().enumerate() {
        let ext = if flags.contains(&"events") {
            "npz"
        } else {
            "npy"
        };
        fn run<'a>(out: &'a str, flags: &[&'a str]) -> Vec<&'a str> {
            let mut a = vec!["run", "--out", out];
            a.extend_from_slice(flags);
            a
        }
        let one_out = format!("one{c}.{ext}");
        let one = lifsim_in(d, &run(&one_out, flags));
        assert!(one.status.success(), "{flags:?}: {}", text(&one.stderr));
        let want = std::fs::read(d.join(&one_out)).unwrap();
        let spikes = |o: &Output| {
            text(&o.stdout)
                .lines()
                .find(|l| l.starts_with("spikes"))
                .map(str::to_string)
        };
        let count: u64 = spikes(&one).unwrap()[6..].trim().parse().unwrap();
        assert!(count > 100, "{flags:?}: {count} spikes");
        for np in [2, 3] {
            let out = format!("r{np}c{c}.{ext}");
            let o = mpirun(d, np, &run(&out, flags));
            assert!(
                o.status.success(),
                "{flags:?}, {np} ranks: {}",
                text(&o.stderr)
            );
            let got = std::fs::read(d.join(&out)).unwrap();
            assert!(got == want, "{flags:?}, {np} ranks: the spike file differs");
            assert_eq!(spikes(&o), spikes(&one), "{flags:?}, {np} ranks");
            assert_eq!(text(&o.stdout).matches("network ").count(), 1);
        }
    }
    // No rank leaves a file of its own behind.
    let mut names: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 1 + 3 * 3, "{names:?}");
}

fn checkpoint_step(ck: &Path) -> Option<u64> {
    let mut z = lifsim_core::io::npz::NpzReader::open(ck).ok()?;
    z.array("step").ok()?.to_u64_vec().ok()?.first().copied()
}

/// Keeps a copy of `files` of `d` (in `d/saved`); each call of the
/// closure returned puts them back, so that one checkpoint resumes again.
fn keep_aside<'a>(d: &'a Path, files: &'a [String]) -> impl Fn() + 'a {
    let saved = d.join("saved");
    std::fs::create_dir(&saved).unwrap();
    for f in files {
        std::fs::copy(d.join(f), saved.join(f)).unwrap();
    }
    move || {
        for f in files {
            std::fs::copy(saved.join(f), d.join(f)).unwrap();
        }
    }
}

/// `lifsim ARGS` (a resume) in `d`, on `np` ranks (one process for 1):
/// it succeeds and writes `want` as `s.npz`, which is then removed.
fn resume_gives(d: &Path, np: usize, args: &[&str], want: &[u8]) {
    let o = if np == 1 {
        lifsim_in(d, args)
    } else {
        mpirun(d, np, args)
    };
    assert!(
        o.status.success(),
        "{np} ranks, {args:?}: {}",
        text(&o.stderr)
    );
    assert!(
        std::fs::read(d.join("s.npz")).unwrap() == want,
        "resumed on {np} ranks, {args:?}: differs"
    );
    std::fs::remove_file(d.join("s.npz")).unwrap();
}

#[test]
fn checkpoints_of_ranks_resume_onto_any_split_with_the_same_spikes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let brunel = root().join("examples/brunel.toml");
    let brunel = brunel.to_str().unwrap();
    // Long enough that the run is still going when the kill reaches it:
    // mpirun passes SIGTERM on to the ranks only after a while (on a quiet
    // machine the 2,500 steps of a 300 ms run after step 500 were done first).
    let run = ["run", brunel, "--duration", "1500", "--threads", "1"];
    let one = lifsim_in(d, &[&run[..], &["--out", "one.npz"]].concat());
    assert!(one.status.success(), "{}", text(&one.stderr));
    let want = std::fs::read(d.join("one.npz")).unwrap();
    // Two ranks write checkpoints (each rank its own file) until killed.
    let np = ["--oversubscribe", "--bind-to", "none", "-np", "2"];
    let mut child = Command::new("mpirun")
        .args(np)
        .args(["--mca", "mpi_yield_when_idle", "1"])
        .arg(binary())
        .args(run)
        .args([
            "--out",
            "s.npz",
            "--checkpoint",
            "ck.npz",
            "--checkpoint-every",
            "5",
        ])
        .args(["--quiet"])
        .current_dir(d)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .spawn()
        .unwrap();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    while checkpoint_step(&d.join("ck.npz")).is_none_or(|s| s < 500) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    let seen = checkpoint_step(&d.join("ck.npz"));
    // SIGTERM: mpirun passes it on to the ranks.
    // SAFETY: a signal to the child we started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().unwrap();
    // What a failure below needs to be read: when the kill came, at which
    // checkpoint, how the run ended and what it left.
    let left = || {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        format!(
            "killed after {:?} at checkpoint step {seen:?}; mpirun ended with {status}; files: {names:?}",
            started.elapsed()
        )
    };
    let step = checkpoint_step(&d.join("ck.npz"));
    let step = step.unwrap_or_else(|| panic!("no checkpoint was left: {}", left()));
    assert!(
        (500..15_000).contains(&step),
        "checkpoint at step {step}: {}",
        left()
    );
    assert!(
        !d.join("s.npz").exists(),
        "the killed run wrote output: {}",
        left()
    );
    // Each rank wrote its own neurons' state beside rank 0's manifest,
    // which holds none.
    let parts = [0, 1].map(|r| format!("ck.npz.step{step}.rank{r}of2.npz"));
    for p in &parts {
        assert!(d.join(p).is_file(), "{p} is missing: {}", left());
    }
    let z = lifsim_core::io::npz::NpzReader::open(&d.join("ck.npz")).unwrap();
    assert!(!z.names().iter().any(|m| m.starts_with("state/")));
    let mut files: Vec<String> = parts.to_vec();
    files.extend(["ck.npz".into(), "s.npz.spikes".into()]);
    let restore = keep_aside(d, &files);
    // Onto three ranks of two threads, two ranks (each reads its own
    // rank file only), one process, one process of two threads.
    let resumes: [(usize, &[&str]); 4] = [
        (3, &["resume", "ck.npz", "--threads", "2", "--quiet"]),
        (2, &["resume", "ck.npz", "--quiet"]),
        (1, &["resume", "ck.npz", "--quiet"]),
        (1, &["resume", "ck.npz", "--threads", "2", "--quiet"]),
    ];
    for (np, args) in resumes {
        restore();
        resume_gives(d, np, args, &want);
        // The finished run removed its checkpoint, rank files included.
        for f in &files {
            assert!(!d.join(f).exists(), "{f} left behind");
        }
    }
    // A missing rank file, and one of another checkpoint, are refused.
    restore();
    std::fs::remove_file(d.join(&parts[1])).unwrap();
    let o = lifsim_in(d, &["resume", "ck.npz", "--quiet"]);
    let stderr = text(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains(&format!("names the rank file {}", parts[1]))
            && stderr.contains("which is missing"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    std::fs::copy(d.join(&parts[0]), d.join(&parts[1])).unwrap();
    let o = lifsim_in(d, &["resume", "ck.npz", "--quiet"]);
    let stderr = text(&o.stderr);
    assert!(!o.status.success());
    assert!(
        stderr.contains("is not the rank file") && stderr.contains("the manifest says"),
        "{stderr}"
    );
    assert!(!d.join("s.npz").exists());
}

/// A rank that cannot write its file of a checkpoint (here a folder in
/// the way of its file at step 100, as a full disk on one rank would)
/// stops every rank with the reason, one line each; the previous
/// checkpoint, its manifest and rank files, stands and resumes to the
/// one-process spikes, and no output or temporary file is left.
#[test]
fn a_rank_that_cannot_write_its_checkpoint_file_leaves_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let top = dir.path().canonicalize().unwrap();
    let brunel = root().join("examples/brunel.toml");
    let brunel = brunel.to_str().unwrap();
    let run = ["run", brunel, "--duration", "300", "--threads", "1"];
    let one = lifsim_in(&top, &[&run[..], &["--out", "one.npz"]].concat());
    assert!(one.status.success(), "{}", text(&one.stderr));
    let want = std::fs::read(top.join("one.npz")).unwrap();
    let flags = ["--out", "s.npz", "--checkpoint", "ck.npz"];
    let args = [&run[..], &flags, &["--checkpoint-every", "5", "--quiet"]].concat();
    // Checkpoints every 50 steps (dt 0.1 ms) on three ranks; rank `q`'s
    // file of the second cannot be created.
    for q in [0, 1] {
        let d = top.join(format!("rank{q}"));
        std::fs::create_dir(&d).unwrap();
        let blocked = format!("ck.npz.step100.rank{q}of3.npz");
        std::fs::create_dir(d.join(&blocked)).unwrap();
        let o = mpirun(&d, 3, &args);
        let stderr = text(&o.stderr);
        assert!(!o.status.success(), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        // Each rank that prints before MPI_Abort ends the job (at least
        // the one that calls it) prints one line: rank 0 (which writes the
        // manifest) the failing rank and why, the others that another rank
        // failed; rank `q` itself, when not rank 0, its own cause.
        let cause = format!(
            "{}: is a directory; give a file name",
            d.join(&blocked).display()
        );
        let root_line = format!(
            "invalid parameter checkpoint: rank {q} of 3 could not write its file: {cause}"
        );
        let other_line = format!(
            "invalid parameter checkpoint: another rank could not write its file of the checkpoint at step 100; {} is the previous one",
            d.join("ck.npz").display()
        );
        let errors: Vec<&str> = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("lifsim: error: "))
            .collect();
        assert!(!errors.is_empty(), "{stderr}");
        for e in &errors {
            assert!(
                e.ends_with(&root_line) || *e == other_line || (q != 0 && *e == cause),
                "{e}"
            );
        }
        // The checkpoint at step 50 stands, with its three rank files; no
        // output and no temporary file is left; the stream stays for
        // resume.
        assert_eq!(checkpoint_step(&d.join("ck.npz")), Some(50));
        let mut left: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let files: Vec<String> = (0..3)
            .map(|r| format!("ck.npz.step50.rank{r}of3.npz"))
            .chain(["ck.npz".into(), "s.npz.spikes".into()])
            .collect();
        let mut expected = files.clone();
        expected.push(blocked.clone());
        expected.sort();
        assert_eq!(left, expected);
        // Once the cause is gone, it resumes (on one process, on three
        // ranks) to the spikes of the run never interrupted.
        std::fs::remove_dir(d.join(&blocked)).unwrap();
        let restore = keep_aside(&d, &files);
        for np in [1, 3] {
            restore();
            resume_gives(&d, np, &["resume", "ck.npz", "--quiet"], &want);
        }
    }
}

#[test]
fn rate_monitors_counts_and_dense_rasters_are_the_same_on_ranks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let brunel = std::fs::read_to_string(root().join("examples/brunel.toml")).unwrap();
    assert!(brunel.contains("\nspikes = \"events\""));
    let rated = brunel.replace(
        "\nspikes = \"events\"",
        "\nrate = { bin = 1.0 }\nspikes = \"events\"",
    );
    std::fs::write(d.join("rated.toml"), rated).unwrap();
    for (format, ext) in [("events", "npz"), ("counts", "npy"), ("dense", "npy")] {
        let args = |out: &str| {
            [
                "run",
                "rated.toml",
                "--duration",
                "100",
                "--format",
                format,
                "--out",
                out,
            ]
            .map(String::from)
            .to_vec()
        };
        let (a, b) = (format!("a.{ext}"), format!("b.{ext}"));
        let one = lifsim_in(d, &args(&a).iter().map(String::as_str).collect::<Vec<_>>());
        assert!(one.status.success(), "{}", text(&one.stderr));
        let two = mpirun(
            d,
            2,
            &args(&b).iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert!(two.status.success(), "{}", text(&two.stderr));
        for (x, y) in [
            (a.clone(), b.clone()),
            ("a.rate.npz".to_string(), "b.rate.npz".to_string()),
        ] {
            let (x, y) = (
                std::fs::read(d.join(&x)).unwrap(),
                std::fs::read(d.join(&y)).unwrap(),
            );
            assert!(x == y, "{format}: {a} and {b} differ");
        }
    }
}

/// SONATA reports too: rank 0 writes the same HDF5 file as one process.
#[cfg(feature = "sonata")]
#[test]
fn a_sonata_report_is_the_same_on_ranks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let brunel = root().join("examples/brunel.toml");
    let run = |out: &str| {
        [
            "run",
            brunel.to_str().unwrap(),
            "--duration",
            "50",
            "--out",
            out,
        ]
        .map(String::from)
    };
    let one = lifsim_in(d, &run("a.h5").each_ref().map(String::as_str));
    assert!(one.status.success(), "{}", text(&one.stderr));
    let three = mpirun(d, 3, &run("b.h5").each_ref().map(String::as_str));
    assert!(three.status.success(), "{}", text(&three.stderr));
    let (a, b) = (
        std::fs::read(d.join("a.h5")).unwrap(),
        std::fs::read(d.join("b.h5")).unwrap(),
    );
    assert!(a == b, "the SONATA files differ");
}

/// State monitors: each rank samples its own neurons, rank 0 gathers them
/// into the same `.state.npz` as one process writes.
#[test]
fn state_monitors_over_ranks_write_the_one_process_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let brunel = std::fs::read_to_string(root().join("examples/brunel.toml")).unwrap();
    let monitored = brunel
        + "\n[[record.state]]\npopulation = \"E\"\nids = [0, 1, 6000, 9999]\nvariables = [\"V_m\"]\n"
        + "\n[[record.state]]\npopulation = \"I\"\nvariables = [\"V_m\"]\ninterval = 1.0\n";
    std::fs::write(d.join("monitored.toml"), monitored).unwrap();
    let run =
        |out: &str| ["run", "monitored.toml", "--duration", "50", "--out", out].map(String::from);
    let one = lifsim_in(d, &run("a.npz").each_ref().map(String::as_str));
    assert!(one.status.success(), "{}", text(&one.stderr));
    let three = mpirun(d, 3, &run("b.npz").each_ref().map(String::as_str));
    assert!(three.status.success(), "{}", text(&three.stderr));
    for (a, b) in [("a.npz", "b.npz"), ("a.state.npz", "b.state.npz")] {
        let (x, y) = (
            std::fs::read(d.join(a)).unwrap(),
            std::fs::read(d.join(b)).unwrap(),
        );
        assert!(x == y, "{a} and {b} differ");
    }
}
