//! Every input the fuzzers ever broke a reader with stays a test.
//!
//! `fuzz/regressions/<target>/` holds the minimised reproducers of crashes,
//! hangs and huge allocations that `scripts/fuzz.sh` found (one folder per
//! fuzz target). This test feeds each file to the very function its fuzz
//! target calls, `fuzz/src/lib.rs`, included here as a module so the "bytes to
//! reader" code exists once, and needs neither libFuzzer nor nightly.
//!
//! Each input must give `Ok` or `Err` (a refusal is fine), within 10 s, without
//! a panic and without asking for more than 2 GiB at once (the fuzzers'
//! `-malloc_limit_mb=2048`). A reproducer that still panics or hangs fails its
//! target's test, naming the file and the panic message; a larger allocation
//! is refused by this test's allocator ([`Limit`]), which aborts the whole test
//! binary with "memory allocation of N bytes failed": a failure too, only a
//! louder one.
//!
//! To add a reproducer: `cargo fuzz tmin <target> <artifact>` and copy the
//! minimised file into `fuzz/regressions/<target>/` with a name that says
//! what it is.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

#[allow(dead_code)]
#[path = "../../../fuzz/src/lib.rs"]
mod targets;

/// How long one input may take: the fuzzers' `-timeout`.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The largest single allocation allowed: the fuzzers' `-malloc_limit_mb`.
const MAX_ALLOCATION: usize = 2 << 30;

/// The system allocator, refusing any single request over [`MAX_ALLOCATION`],
/// as libFuzzer does: on a machine with memory to spare, a reader that
/// believes a file's claimed size would otherwise pass here and fail there.
struct Limit;

// SAFETY: every call is forwarded to `System` unchanged, or refused with null
// (which the `GlobalAlloc` contract allows).
unsafe impl GlobalAlloc for Limit {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if refuse(layout.size()) {
            return std::ptr::null_mut();
        }
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if refuse(new_size) {
            return std::ptr::null_mut();
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Limit = Limit;

thread_local! {
    /// The reproducer this thread is reading, for the message before an abort.
    static CURRENT: Cell<&'static str> = const { Cell::new("") };
}

/// Whether to refuse an allocation of `size` bytes; if so, first says which
/// reproducer asked (the abort that follows loses the test's captured output).
/// Allocates nothing: it runs inside the allocator.
fn refuse(size: usize) -> bool {
    if size <= MAX_ALLOCATION {
        return false;
    }
    let file = CURRENT.with(Cell::get);
    let mut err = std::io::stderr();
    let _ = err.write_all(b"fuzz_regressions: ");
    let _ = err.write_all(file.as_bytes());
    let _ = err.write_all(b" asked for more than 2 GiB in one allocation\n");
    true
}

/// The reproducers of `target`, sorted.
fn reproducers(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .map(|e| e.expect("a readable folder entry").path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// Runs every reproducer of `target` through its fuzz function on a thread of
/// its own, and fails listing each that panicked or ran past [`TIMEOUT`].
fn check(target: &str) {
    let run = targets::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no fuzz target named {target}"))
        .1;
    let mut failures = Vec::new();
    for file in reproducers(target) {
        let data = std::fs::read(&file).expect("a readable reproducer");
        let name: &'static str = Box::leak(file.display().to_string().into_boxed_str());
        let (tx, rx) = mpsc::channel();
        // The thread's panic message goes to stderr as usual; the result says which file.
        std::thread::spawn(move || {
            CURRENT.with(|c| c.set(name));
            let outcome = std::panic::catch_unwind(|| run(&data).map_err(|e| e.to_string()));
            let _ = std::fs::remove_dir_all(targets::scratch_dir());
            let _ = tx.send(outcome.map_err(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic".into())
            }));
        });
        match rx.recv_timeout(TIMEOUT) {
            Ok(Ok(_)) => {}
            Ok(Err(panic)) => failures.push(format!("{}: panicked: {panic}", file.display())),
            // The thread is left running; the test process ends after the failure.
            Err(_) => failures.push(format!(
                "{}: still running after {TIMEOUT:?}",
                file.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the {target} fuzz reproducers fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// One test per fuzz target, so a failure names the reader.
macro_rules! regressions {
    ($($target:ident),* $(,)?) => {
        $(
            #[test]
            fn $target() {
                check(stringify!($target));
            }
        )*

        #[test]
        fn every_fuzz_target_has_a_test() {
            let mut tested = vec![$(stringify!($target)),*];
            let mut all: Vec<&str> = targets::TARGETS.iter().map(|(name, _)| *name).collect();
            tested.sort();
            all.sort();
            assert_eq!(tested, all);
        }
    };
}

regressions!(
    npy,
    npz,
    sparse_npz,
    network_toml,
    checkpoint,
    spikes,
    events
);
