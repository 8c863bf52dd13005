//! What every black-box test of the `lifsim` binary shares: running it, and
//! checking that an error is one line with exit status 2.
#![allow(dead_code)] // each test file uses its own part of this

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Longest a command may take: a hang fails its test instead of stalling the
/// suite.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The binary under test: this build's, or `LIFSIM_BIN` (to show that a test
/// fails on an older lifsim).
pub fn binary() -> PathBuf {
    std::env::var_os("LIFSIM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_lifsim")))
}

/// Runs `lifsim ARGS` in `cwd`, killed after [`PATIENCE`].
pub fn lifsim_in(cwd: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lifsim runs");
    // Read both pipes on threads so a chatty child never blocks on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let stdout = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).map(|_| v)
    });
    let stderr = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).map(|_| v)
    });
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > PATIENCE {
            child.kill().expect("kill");
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = child.wait().expect("wait");
    Output {
        status,
        stdout: stdout.join().unwrap().unwrap_or_default(),
        stderr: stderr.join().unwrap().unwrap_or_default(),
    }
}

/// Runs `lifsim ARGS` here.
pub fn lifsim(args: &[&str]) -> Output {
    lifsim_in(Path::new("."), args)
}

/// Asserts a failure with exit status 2 and exactly one stderr line
/// containing every fragment.
pub fn assert_error(out: &Output, fragments: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "status {:?}, stderr: {stderr}",
        out.status
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    for f in fragments {
        assert!(stderr.contains(f), "{f:?} not in: {stderr}");
    }
}

/// Makes `cmd`'s writes fail past `bytes` of any one file (`RLIMIT_FSIZE`,
/// with SIGXFSZ ignored so the write returns an error instead of killing
/// the process): a full disk without root.
pub fn limit_file_size(cmd: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
}
