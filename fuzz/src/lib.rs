//! What each fuzz target does with its bytes: one function per reader of a
//! file a user hands lifsim, in the one place both users of it read.
//!
//! - The fuzz targets (`fuzz/fuzz_targets/*.rs`, built by `cargo fuzz`) call
//!   these functions with libFuzzer's inputs.
//! - The regression test `crates/core/tests/fuzz_regressions.rs` includes this
//!   file as a module (`#[path]`) and calls the same functions on every saved
//!   reproducer under `fuzz/regressions/<target>/`, so a reader bug found by
//!   fuzzing stays a failing `cargo test` until it is fixed, with no
//!   dependency on libFuzzer or a nightly toolchain.
//!
//! This file therefore uses only `std` and `lifsim_core`'s public API, and no
//! `crate::` paths (it is a crate root in one build and a module in the other).
//!
//! Every function returns the reader's `Result`: an `Err` is the reader
//! refusing a bad file, which is the correct outcome; what must never happen
//! is a panic, a hang or an allocation out of proportion to the input. Most
//! readers take a path, so the bytes are first written to a scratch file (on
//! the `/dev/shm` tmpfs where there is one, so an iteration costs no disk I/O).
//! Where a reader's output depends on sizes an input may choose (a network's
//! neurons, synapses, delays), the function checks them first and stops with
//! `Ok` beyond limits far under the fuzzer's 2 GiB, so every allocation
//! libFuzzer reports is one a reader made of its own accord.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use lifsim_core::checkpoint;
use lifsim_core::io::npy::NpyArray;
use lifsim_core::io::npz::NpzReader;
use lifsim_core::io::spikes::SpikeTrain;
use lifsim_core::io::stream::EventStream;
use lifsim_core::network::description::Rule;
use lifsim_core::network::{DenseWeights, Network, NetworkDescription};
use lifsim_core::recording::SpikeSink;
use lifsim_core::{NetworkSimulation, Result};

/// A target: arbitrary bytes in, the reader's verdict out (never a panic).
pub type Target = fn(&[u8]) -> Result<()>;

/// The targets by name, as `cargo fuzz` and `fuzz/regressions/<name>/` call them.
pub const TARGETS: &[(&str, Target)] = &[
    ("npy", npy),
    ("npz", npz),
    ("sparse_npz", sparse_npz),
    ("network_toml", network_toml),
    ("checkpoint", checkpoint),
    ("spikes", spikes),
    ("events", events),
];

/// Most neurons a fuzzed network is built with (the engine's per-neuron state
/// is then a few hundred KiB).
pub const MAX_NEURONS: usize = 10_000;
/// Most synapses a fuzzed network is built with (tens of MiB).
pub const MAX_SYNAPSES: u64 = 1_000_000;
/// Most ring-buffer cells (neurons x delay slots x channels) a fuzzed network
/// is simulated with (160 MiB of float64).
pub const MAX_RING_CELLS: u64 = 20_000_000;
/// Steps a fuzzed network is simulated for.
pub const STEPS: u64 = 20;

/// An `.npy` file: the header and data checks from bytes (an `.npz` member's
/// path) and from a memory-mapped file (a `--weights`, `--v0` or `--i-ext`
/// file's path), every element as `f64` and `u64`, then the readers built on
/// it: a dense weight matrix (`run --weights`), a per-neuron vector (`--v0`,
/// `--i-ext`) and a `rule = "from_file"` matrix.
pub fn npy(data: &[u8]) -> Result<()> {
    let from_bytes = NpyArray::from_bytes(Path::new("fuzz.npy"), data.to_vec());
    let path = scratch_file("w.npy", data);
    let array = NpyArray::open(&path)?;
    assert_eq!(
        from_bytes.as_ref().map(|a| a.header()).ok(),
        Some(array.header()),
        "an .npy read from bytes and from a file must have the same header"
    );
    let header = array.header().clone();
    let _ = array.header().describe();
    let _ = array.as_f64_slice();
    let _ = array.as_f32_slice();
    let _ = array.to_f64_vec();
    let _ = array.to_u64_vec();
    drop(array);
    let _ = DenseWeights::<f64>::peek_n(&path);
    let _ = DenseWeights::<f64>::load(&path);
    let _ = DenseWeights::<f32>::load(&path);
    if let [n] = header.shape[..] {
        let _ = lifsim_core::io::load_vector(&path, "v0", n);
    }
    if let [rows, cols] = header.shape[..] {
        let _ = matrix_from_file(&path, rows, cols);
    }
    Ok(())
}

/// An `.npz` archive: the member names, then every member as an array (as
/// `f64` and `u64`) and as raw bytes.
pub fn npz(data: &[u8]) -> Result<()> {
    let path = scratch_file("a.npz", data);
    let mut z = NpzReader::open(&path)?;
    for name in z.names() {
        if let Ok(a) = z.array(&name) {
            let _ = a.to_f64_vec();
            let _ = a.to_u64_vec();
        }
        let _ = z.member_bytes(&name);
    }
    // A name that is not there must be an error, not a panic.
    let _ = z.array("no such member");
    Ok(())
}

/// A scipy.sparse `.npz` (csr, csc or coo, as `scipy.sparse.save_npz` writes
/// it) read by a `rule = "from_file"` projection, then a few steps of the
/// network it makes. The populations take the file's own `shape` when it is
/// readable and small, so valid matrices get past the shape check to the
/// index checks; otherwise 4 x 4.
pub fn sparse_npz(data: &[u8]) -> Result<()> {
    let path = scratch_file("W.npz", data);
    let (rows, cols) = NpzReader::open(&path)
        .and_then(|mut z| z.array("shape")?.to_u64_vec())
        .ok()
        .and_then(|s| match s[..] {
            [r, c]
                if (1..=MAX_NEURONS as u64 / 2).contains(&r)
                    && (1..=MAX_NEURONS as u64 / 2).contains(&c) =>
            {
                Some((r as usize, c as usize))
            }
            _ => None,
        })
        .unwrap_or((4, 4));
    matrix_from_file(&path, rows, cols)
}

/// A network file: parsed and checked from any UTF-8 text; then, when its
/// sizes are within this module's limits, built and simulated for [`STEPS`]
/// steps. Projections that read a matrix file are not built (a fuzzed path
/// could name any file on the machine; [`sparse_npz`] and [`npy`] cover
/// those readers).
pub fn network_toml(data: &[u8]) -> Result<()> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let desc = NetworkDescription::from_toml(text, &scratch_dir(), "fuzz")?;
    if !buildable(&desc)? {
        return Ok(());
    }
    simulate(&desc)
}

/// A checkpoint `.npz` (`lifsim resume`, `lifsim info`): its meta and state,
/// then the state joined and cut again as a resume with another thread count
/// does. A mutated checkpoint nearly always fails its checksum, which would
/// leave every check after it unfuzzed; so the same members are also loaded
/// resealed, with the checksum of what they now hold ([`reseal`]).
pub fn checkpoint(data: &[u8]) -> Result<()> {
    let path = scratch_file("ck.npz", data);
    let first = load_checkpoint(&path);
    if let Some(resealed) = reseal(&path) {
        let path = scratch_file("resealed.npz", &resealed);
        let _ = load_checkpoint(&path);
    }
    first
}

/// [`checkpoint`] on one file.
fn load_checkpoint(path: &Path) -> Result<()> {
    let (meta, state) = checkpoint::load(path)?;
    let whole = state.joined()?;
    let n = whole.range.len();
    for range in [0..n / 2, n / 2..n, 0..n] {
        let _ = checkpoint::EngineState::cut(&whole, range);
    }
    let _ = checkpoint::EngineState::pending_in(&state.pending, &(0..n)).count();
    let _ = meta.position;
    Ok(())
}

/// The checkpoint `path` with its `checksum` member replaced by the checksum
/// of its other members as they are now: 64-bit FNV-1a of each member's file
/// name and bytes, in archive order, as `checkpoint::load` computes it (if that
/// scheme changes, the resealed copy just fails its checksum, as the input
/// does). `None` if the archive cannot be read.
fn reseal(path: &Path) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut z = NpzReader::open(path).ok()?;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut fnv = |bytes: &[u8]| {
        for &b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for name in z.names().into_iter().filter(|m| m != "checksum") {
        let bytes = z.member_bytes(&name).ok()?;
        let file = format!("{name}.npy");
        fnv(file.as_bytes());
        fnv(&bytes);
        out.start_file(file, stored).ok()?;
        out.write_all(&bytes).ok()?;
    }
    out.start_file("checksum.npy", stored).ok()?;
    lifsim_core::io::npy::write_npy(&mut out, &[hash], &[], false).ok()?;
    Some(out.finish().ok()?.into_inner())
}

/// A `.spikes` stream (a killed run's, `lifsim info`/`plot`, `resume`): the
/// scan, every chunk of records, the conversion to an events `.npz`, and the
/// same file read as a spike train.
pub fn spikes(data: &[u8]) -> Result<()> {
    let path = scratch_file("run.npz.spikes", data);
    let stream = EventStream::open(&path)?;
    let _ = (
        stream.steps_complete(),
        stream.is_complete(),
        stream.spikes(),
        stream.trailing_spikes(),
        stream.trailing_bytes(),
        stream.position(),
    );
    stream.for_each_chunk(|steps, ids| {
        assert_eq!(steps.len(), ids.len(), "a chunk's steps and ids pair up");
    })?;
    stream.write_npz(&scratch_dir().join("run.npz"))?;
    let train = SpikeTrain::load(&path, None)?;
    let _ = (train.len(), train.mean_rate_hz());
    Ok(())
}

/// Any spike file `lifsim info` and `lifsim plot` read, told by its first
/// bytes (a dense `.npy`, an events `.npz`, a `.spikes` stream), as a spike
/// train with its mean rate.
pub fn events(data: &[u8]) -> Result<()> {
    let path = scratch_file("spikes.npz", data);
    let train = SpikeTrain::load(&path, Some(0.1))?;
    let _ = (train.len(), train.is_empty(), train.mean_rate_hz());
    Ok(())
}

/// A network of two populations, `rows` targets and `cols` sources, whose one
/// projection is the matrix file `path` (`.npy` or `.npz`), built and run.
fn matrix_from_file(path: &Path, rows: usize, cols: usize) -> Result<()> {
    if rows == 0 || cols == 0 || rows + cols > MAX_NEURONS {
        return Ok(());
    }
    let file = path.file_name().expect("a scratch file").to_string_lossy();
    let text = format!(
        "duration = 1.0\n\
         [[population]]\nname = \"src\"\nsize = {cols}\ni_ext = 20.0\n\
         [[population]]\nname = \"tgt\"\nsize = {rows}\n\
         [[projection]]\nsource = \"src\"\ntarget = \"tgt\"\nrule = \"from_file\"\nfile = {file:?}\n"
    );
    let desc = NetworkDescription::from_toml(&text, path.parent().expect("a folder"), "fuzz")
        .expect("the matrix network's own text is valid");
    simulate(&desc)
}

/// Whether `desc` is small enough to build and simulate here (see the
/// limits above); an error of the description's own (an unknown population)
/// is returned as it is.
fn buildable(desc: &NetworkDescription) -> Result<bool> {
    if desc.n() > MAX_NEURONS {
        return Ok(false);
    }
    let mut synapses = 0u64;
    let mut max_delay_steps = 0i64;
    for p in &desc.projections {
        let n_src = neurons(desc, &p.source)?;
        let n_tgt = neurons(desc, &p.target)?;
        synapses += match p.rule {
            Rule::AllToAll => n_src * n_tgt,
            Rule::OneToOne => n_tgt,
            Rule::FixedProbability { p } => (p * (n_src * n_tgt) as f64).ceil() as u64,
            Rule::FixedIndegree { indegree } => (indegree as u64).saturating_mul(n_tgt),
            Rule::FixedOutdegree { outdegree } => (outdegree as u64).saturating_mul(n_src),
            Rule::FixedTotalNumber { n } => n,
            Rule::File { .. } | Rule::Given => return Ok(false),
        };
        // What a draw can reach (a normal's tails end where the sampler's do).
        max_delay_steps = max_delay_steps.max(desc.delay_steps(p.delay.reach().1));
    }
    let mut events = 0u64;
    for input in &desc.inputs {
        let targets = match &input.neurons {
            Some(ids) => ids.len() as u64,
            None => neurons(desc, &input.target)?,
        };
        if let lifsim_core::network::description::InputKind::SpikeTimes { times, delay } =
            &input.kind
        {
            events = events.saturating_add((times.len() as u64).saturating_mul(targets));
            max_delay_steps = max_delay_steps.max(desc.delay_steps(*delay));
        }
    }
    // One ring buffer per synapse kind; at most one kind per projection and input.
    let channels = (desc.projections.len() + desc.inputs.len()).max(1) as u64;
    let slots = (max_delay_steps.clamp(0, 1 << 20) as u64 + 2).next_power_of_two();
    let ring = (desc.n() as u64)
        .saturating_mul(slots)
        .saturating_mul(channels);
    Ok(synapses <= MAX_SYNAPSES && events <= MAX_SYNAPSES && ring <= MAX_RING_CELLS)
}

/// Neurons in the named populations.
fn neurons(desc: &NetworkDescription, names: &[String]) -> Result<u64> {
    Ok(desc.ranges(names)?.iter().map(|r| r.len() as u64).sum())
}

/// Builds `desc` in float64 and float32 and runs [`STEPS`] steps of each on one thread.
fn simulate(desc: &NetworkDescription) -> Result<()> {
    /// Counts spikes and checks their ids, as any sink relies on.
    struct Check {
        n: usize,
    }
    impl SpikeSink for Check {
        fn record(&mut self, _step: usize, fired: &[u32]) {
            assert!(fired.windows(2).all(|w| w[0] < w[1]), "fired ids ascend");
            assert!(
                fired.iter().all(|&i| (i as usize) < self.n),
                "fired ids < N"
            );
        }
    }
    let net = Network::<f64>::build(desc)?;
    let mut sim = NetworkSimulation::new(&net, Some(1))?;
    sim.run_until(STEPS, &mut Check { n: net.n() });
    let net = Network::<f32>::build(desc)?;
    let mut sim = NetworkSimulation::new(&net, Some(1))?;
    sim.run_until(STEPS, &mut Check { n: net.n() });
    Ok(())
}

thread_local! {
    /// This thread's scratch folder (threads of one process, such as the
    /// regression test's, must not share files).
    static SCRATCH: OnceCell<PathBuf> = const { OnceCell::new() };
}

/// The calling thread's scratch folder, made on first use:
/// `$LIFSIM_FUZZ_TMP` (set by `scripts/fuzz.sh`, which removes it after), else
/// `/dev/shm` where it exists, else the system's temporary folder; then
/// `lifsim-fuzz-<pid>-<thread>`.
pub fn scratch_dir() -> PathBuf {
    SCRATCH.with(|cell| {
        cell.get_or_init(|| {
            static THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let base = std::env::var_os("LIFSIM_FUZZ_TMP")
                .map(PathBuf::from)
                .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()))
                .unwrap_or_else(std::env::temp_dir);
            let k = THREADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = base.join(format!("lifsim-fuzz-{}-{k}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("the scratch folder can be made");
            dir
        })
        .clone()
    })
}

/// Writes `data` to `name` in the scratch folder (replacing the previous
/// input's file) and returns its path.
fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, data).expect("the scratch file can be written");
    path
}
