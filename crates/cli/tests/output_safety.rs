//! Nothing of the user's is ever lost: a run refuses paths that are one file,
//! never renames over a device, shares no stream with another run, stops at
//! its first write error, checks memory, disk and cores before it starts.
//! Each test drives the real `lifsim` binary and checks the files around it,
//! byte for byte.

mod common;
use common::{binary, lifsim_in, limit_file_size};

use std::collections::BTreeMap;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Asserts a failure with exit status 2 whose last stderr line is the
/// error and contains every fragment; returns stderr.
fn assert_refused(out: &Output, fragments: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or("");
    assert!(last.starts_with("lifsim: error: "), "{stderr}");
    for f in fragments {
        assert!(last.contains(f), "{f:?} not in: {stderr}");
    }
    stderr
}

/// Every file under `dir` with its bytes (a device or FIFO as its kind).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut all = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let t = e.file_type().unwrap();
        let content = if t.is_file() {
            std::fs::read(e.path()).unwrap()
        } else if t.is_char_device() {
            b"<char device>".to_vec()
        } else if t.is_fifo() {
            b"<fifo>".to_vec()
        } else {
            b"<other>".to_vec()
        };
        all.insert(e.path(), content);
    }
    all
}

/// A folder with a small dense network `w.npy` and a network file `net.toml`
/// (a short CUBA) whose projection reads `m.npy`.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let o = lifsim_in(
        dir.path(),
        &["gen-weights", "-n", "40", "--std", "5", "--out", "w.npy"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = lifsim_in(
        dir.path(),
        &["gen-weights", "-n", "20", "--p", "0.3", "--out", "m.npy"],
    );
    assert!(o.status.success());
    std::fs::write(dir.path().join("net.toml"), net_toml(200.0, -49.0)).unwrap();
    dir
}

/// A 20-neuron network of `duration` ms with a matrix from `m.npy`; with
/// `v_rest` above the threshold (-50 mV) it fires, below it it is silent.
fn net_toml(duration: f64, v_rest: f64) -> String {
    format!(
        r#"
dt = 0.1
duration = {duration}
seed = 3
[[population]]
name = "E"
size = 20
tau_m = 20.0
v_rest = {v_rest}
v_reset = -60.0
v_thresh = -50.0
t_ref = 2.0
r = 1.0
v0 = {{ distribution = "uniform", low = -60.0, high = -50.0 }}
[[projection]]
source = "E"
target = "E"
rule = "from_file"
file = "m.npy"
delay = 1.0
synapse = "delta"
"#
    )
}

#[test]
fn two_paths_of_one_run_that_are_one_file_are_refused_before_it_runs() {
    let ws = workspace();
    let dir = ws.path();
    std::fs::write(dir.join("notes.txt"), "a file of the user's").unwrap();
    std::fs::write(dir.join("old.npz"), "an earlier result").unwrap();
    std::fs::hard_link(dir.join("w.npy"), dir.join("w-link.npy")).unwrap();
    let seed = ["run", "--weights", "w.npy", "--t-max", "20"];
    let net = ["run", "net.toml"];
    let every = ["--checkpoint-every", "1"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // --checkpoint naming the run's own inputs or its output.
        (
            [&seed[..], &["--checkpoint", "w.npy"], &every].concat(),
            "--checkpoint and --weights are the same file",
        ),
        (
            [&net[..], &["--checkpoint", "net.toml"], &every].concat(),
            "--checkpoint and the network file are the same file",
        ),
        (
            [&net[..], &["--checkpoint", "m.npy"], &every].concat(),
            "--checkpoint and projection 1 (E -> E) file are the same file",
        ),
        (
            [
                &seed[..],
                &["--format", "events", "--out", "old.npz"],
                &["--checkpoint", "./old.npz"],
                &every,
            ]
            .concat(),
            "--checkpoint and --out are the same file",
        ),
        (
            [
                &seed[..],
                &["--format", "events", "--out", "s.npz"],
                &["--checkpoint", "s.npz.spikes"],
                &every,
            ]
            .concat(),
            "--checkpoint and the spike stream of --out are the same file",
        ),
        // A checkpoint path holding some other file of the user's.
        (
            [&seed[..], &["--checkpoint", "notes.txt"], &every].concat(),
            "not a lifsim checkpoint",
        ),
        // --out over an input (also through a hard link), --json and --plot over --out.
        (
            [&seed[..], &["--out", "w.npy"]].concat(),
            "--out and --weights are the same file",
        ),
        (
            [&seed[..], &["--out", "w-link.npy"]].concat(),
            "--out and --weights are the same file",
        ),
        (
            [&net[..], &["--out", "net.toml"]].concat(),
            "--out and the network file are the same file",
        ),
        (
            [&net[..], &["--out", "old.npz", "--json", "old.npz"]].concat(),
            "--json and --out are the same file",
        ),
        (
            [&seed[..], &["--out", "old.npz", "--plot", "old.npz"]].concat(),
            "--plot and --out are the same file",
        ),
        (
            vec!["bench", "--weights", "w.npy", "--json", "w.npy"],
            "--json and --weights are the same file",
        ),
        (
            vec!["plot", "old.npz", "--out", "./old.npz"],
            "--out and the spike file are the same file",
        ),
    ];
    for (args, message) in cases {
        let before = snapshot(dir);
        let out = lifsim_in(dir, &args);
        assert_refused(&out, &[message]);
        assert_eq!(snapshot(dir), before, "lifsim {args:?} changed the folder");
    }
}

#[test]
fn a_completed_run_removes_only_its_own_checkpoint() {
    let ws = workspace();
    let dir = ws.path();
    let before = snapshot(dir);
    let o = lifsim_in(
        dir,
        &[
            "run",
            "net.toml",
            "--out",
            "s.npz",
            "--checkpoint",
            "ck.npz",
            "--checkpoint-every",
            "50",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut after = snapshot(dir);
    assert!(after.remove(&dir.join("s.npz")).is_some());
    assert_eq!(
        after, before,
        "only the output is new; the checkpoint is gone"
    );
}

/// Makes a private character device node like `/dev/null` (1, 3) or
/// `/dev/full` (1, 7) in `dir`, so that a lifsim that replaced it would
/// replace this node and not the machine's; a FIFO where `mknod` needs a
/// privilege this process does not have.
fn device(dir: &Path, name: &str, minor: u32) -> Option<PathBuf> {
    let path = dir.join(name);
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let dev = libc::makedev(1, minor);
    // SAFETY: a valid path; mknod creates a node or fails.
    let rc = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, dev) };
    (rc == 0).then_some(path)
}

fn is_char_device(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_char_device())
        .unwrap_or(false)
}

#[test]
fn devices_are_written_in_place_never_replaced() {
    let ws = workspace();
    let dir = ws.path();
    let Some(null) = device(dir, "null", 3) else {
        eprintln!("note: mknod needs root; the device checks run on /dev/null only");
        let o = lifsim_in(dir, &["run", "--weights", "w.npy", "--out", "/dev/null"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(is_char_device(Path::new("/dev/null")));
        return;
    };
    let null = null.to_str().unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec!["run", "--weights", "w.npy", "--t-max", "20", "--out", null],
        vec![
            "run",
            "--weights",
            "w.npy",
            "--t-max",
            "20",
            "--format",
            "events",
            "--out",
            null,
        ],
        vec!["run", "net.toml", "--out", "s.npz", "--json", null],
        vec!["gen-weights", "-n", "10", "--out", null],
        vec!["workload", "seed", "--out", "wl"],
    ];
    for args in &runs {
        let o = lifsim_in(dir, args);
        assert!(
            o.status.success(),
            "lifsim {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            is_char_device(Path::new(null)),
            "lifsim {args:?} replaced the device"
        );
    }
    // No stream or temporary file was left beside the device.
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("null") && n != "null")
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // A full device says so, and stays a device.
    let full = device(dir, "full", 7).unwrap();
    let full_s = full.to_str().unwrap();
    for args in [
        vec![
            "run",
            "--weights",
            "w.npy",
            "--t-max",
            "20",
            "--out",
            full_s,
        ],
        vec!["gen-weights", "-n", "100", "--out", full_s],
        vec!["run", "net.toml", "--out", "s.npz", "--json", full_s],
    ] {
        let o = lifsim_in(dir, &args);
        assert_refused(&o, &[full_s, "No space left on device"]);
        assert!(is_char_device(&full), "lifsim {args:?} replaced the device");
    }
}

#[test]
fn a_second_run_on_the_same_output_is_refused_and_the_first_one_is_untouched() {
    let ws = workspace();
    let dir = ws.path();
    // Silent and long (20 million steps, a second or so): still running when
    // the second run starts.
    std::fs::write(dir.join("long.toml"), net_toml(2_000_000.0, -55.0)).unwrap();
    let alone = lifsim_in(
        dir,
        &["run", "long.toml", "--out", "alone.npz", "--threads", "1"],
    );
    assert!(
        alone.status.success(),
        "{}",
        String::from_utf8_lossy(&alone.stderr)
    );
    let first = Command::new(binary())
        .args(["run", "long.toml", "--out", "s.npz", "--threads", "1"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stream = dir.join("s.npz.spikes");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !stream.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    let second = lifsim_in(
        dir,
        &["run", "long.toml", "--out", "s.npz", "--threads", "1"],
    );
    let first_done = first.wait_with_output().unwrap();
    assert!(
        first_done.status.success(),
        "{}",
        String::from_utf8_lossy(&first_done.stderr)
    );
    assert_refused(&second, &["s.npz.spikes", "another lifsim run"]);
    assert_eq!(
        std::fs::read(dir.join("s.npz")).unwrap(),
        std::fs::read(dir.join("alone.npz")).unwrap(),
        "the first run's output is that of a run alone"
    );
    assert!(!stream.exists());
}

/// Mounts a tmpfs of `kib` KiB at `at` (needs root), or says it cannot.
fn small_disk(at: &Path, kib: u32) -> bool {
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
        .arg(at)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_stops_the_run_at_once_and_gives_the_space_back() {
    let ws = workspace();
    let dir = ws.path();
    std::fs::write(dir.join("long.toml"), net_toml(2_000_000.0, -49.0)).unwrap();
    let disk = dir.join("disk");
    std::fs::create_dir(&disk).unwrap();
    let mut run = Command::new(binary());
    run.args(["run", "long.toml", "--threads", "1", "--progress", "always"])
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE");
    let _mounted = if small_disk(&disk, 128) {
        run.args(["--out", "disk/s.npz"]);
        Some(Unmount(disk.clone()))
    } else {
        // Without root: a file size limit makes the writes fail the same way.
        eprintln!("note: no tmpfs (needs root); using RLIMIT_FSIZE instead");
        run.args(["--out", "disk/s.npz"]);
        limit_file_size(&mut run, 128 << 10);
        None
    };
    let o = run.output().unwrap();
    let stderr = assert_refused(&o, &["disk/s.npz.spikes", "cannot be written"]);
    // The run stopped at the first failed write, long before its end (the
    // progress lines are every 10 %; 128 KiB of spikes is about 1 %).
    assert!(!stderr.contains("% "), "kept simulating: {stderr}");
    let left: Vec<_> = std::fs::read_dir(&disk).unwrap().flatten().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_dense_output_larger_than_the_disk_is_refused_before_the_run() {
    let ws = workspace();
    let dir = ws.path();
    // 1000 neurons x 1e9 steps: 1 TB of bools.
    let o = lifsim_in(dir, &["gen-weights", "-n", "1000", "--out", "w1000.npy"]);
    assert!(o.status.success());
    let o = lifsim_in(
        dir,
        &[
            "run",
            "--weights",
            "w1000.npy",
            "--dt",
            "0.1",
            "--t-max",
            "1e8",
            "--out",
            "s.npy",
        ],
    );
    assert_refused(&o, &["s.npy", "the dense spike array needs", "free"]);
    assert!(!dir.join("s.npy.spikes").exists());
}

#[test]
fn sizes_are_checked_against_memory_before_anything_is_built() {
    let ws = workspace();
    let dir = ws.path();
    let big = net_toml(10.0, -49.0).replace("size = 20", "size = 1000000000");
    std::fs::write(dir.join("big.toml"), big).unwrap();
    let start = Instant::now();
    let o = lifsim_in(dir, &["run", "big.toml", "--out", "s.npz"]);
    assert_refused(&o, &["the state of 1000000000 neurons needs", "available"]);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "refused, not attempted"
    );
    let huge = net_toml(10.0, -49.0).replace("size = 20", "size = 5000000000");
    std::fs::write(dir.join("huge.toml"), huge).unwrap();
    let o = lifsim_in(dir, &["run", "huge.toml", "--out", "s.npz"]);
    assert_refused(&o, &["5000000000 neurons is more than"]);
    // A sweep of 30^6 = 729 million points, and 10^8 copies of one run.
    let grid: Vec<String> = (0..6)
        .map(|_| format!("--sweep=i_ext={}", csv(30)))
        .collect();
    let mut args = vec!["bench", "--weights", "w.npy", "--t-max", "1"];
    args.extend(grid.iter().map(String::as_str));
    let o = lifsim_in(dir, &args);
    assert_refused(&o, &["729000000 simulations needs", "sweep fewer values"]);
    let o = lifsim_in(
        dir,
        &[
            "bench",
            "--weights",
            "w.npy",
            "--t-max",
            "1",
            "--parallel",
            "--runs",
            "100000000000",
        ],
    );
    assert_refused(&o, &["100000000000 simulations needs"]);
}

fn csv(k: usize) -> String {
    (1..=k).map(|v| v.to_string()).collect::<Vec<_>>().join(",")
}

#[test]
fn more_threads_than_cores_are_capped_with_a_warning() {
    let ws = workspace();
    let dir = ws.path();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let asked = (cores * 32).to_string();
    let o = lifsim_in(
        dir,
        &[
            "run",
            "net.toml",
            "--out",
            "s.npz",
            "--json",
            "r.json",
            "--threads",
            &asked,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!(
            "--threads {asked} is more than the {cores} core(s)"
        )),
        "{stderr}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    assert!(report["threads"].as_u64().unwrap() <= cores as u64);
    // The seed model and bench --jobs too.
    let o = lifsim_in(
        dir,
        &[
            "bench",
            "--weights",
            "w.npy",
            "--t-max",
            "5",
            "--parallel",
            "--runs",
            "2",
            "--jobs",
            &asked,
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--jobs"));
}

/// This process's memory cgroup folder (v2: the unified hierarchy; v1: the
/// memory controller's), and the names of its limit and procs files.
fn memory_cgroup() -> Option<(PathBuf, &'static str)> {
    let groups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    for line in groups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let path = path.trim_start_matches('/');
        if controllers.split(',').any(|c| c == "memory") {
            let dir = Path::new("/sys/fs/cgroup/memory").join(path);
            return Some((dir, "memory.limit_in_bytes"));
        }
        if controllers.is_empty() && Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
            let dir = Path::new("/sys/fs/cgroup").join(path);
            return Some((dir, "memory.max"));
        }
    }
    None
}

struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn a_cgroup_memory_limit_is_honoured() {
    let ws = workspace();
    let dir = ws.path();
    // A child group of this process's with a 1 GiB limit (needs root and a
    // writable cgroup hierarchy, as CI has; elsewhere there is nothing to test).
    let Some((parent, limit_file)) = memory_cgroup() else {
        eprintln!("note: no memory cgroup; nothing to test");
        return;
    };
    let group = parent.join(format!("lifsim-test-{}", std::process::id()));
    if std::fs::create_dir(&group).is_err() {
        eprintln!("note: cannot create a cgroup under {}", parent.display());
        return;
    }
    let _cleanup = RemoveDir(group.clone());
    std::fs::write(group.join(limit_file), "1073741824").unwrap();
    // A 20000 x 20000 float64 matrix: 3.2 GB, more than the group allows but
    // less than the machine has. The shell moves itself into the group, then
    // becomes lifsim.
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec {} gen-weights -n 20000 --out w20k.npy",
        group.display(),
        binary().display()
    );
    let o = Command::new("sh")
        .args(["-c", &script])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_refused(&o, &["needs", "of memory is available"]);
    assert!(!dir.join("w20k.npy").exists());
}
