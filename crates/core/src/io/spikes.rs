//! Spike files: what `lifsim run` writes, and reading any of them back.
//!
//! Every output format goes through the `.spikes` event stream
//! ([`crate::io::stream`]) while the run goes, so memory stays flat however
//! long the run, and a killed run leaves its spikes on disk. At the end,
//! [`SpikeOutput::finish`] turns the stream into the format asked for:
//!
//! | format | file | content |
//! |---|---|---|
//! | [`OutputFormat::Dense`] | `.npy` | the seed's `bool` array of shape (steps, N) |
//! | [`OutputFormat::Events`] | `.npz` | `times` (float64, ms), `ids` (uint32), scalars `n`, `dt`, `steps` |
//! | [`OutputFormat::Sonata`] | `.h5` | SONATA spike report `/spikes/<population>/{timestamps,node_ids}` (feature `sonata`) |
//!
//! [`SpikeTrain::load`] reads any of these (and the stream itself) back as
//! one list of (time, id) events, for plots and checks.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::npy::{self, Elem, NpyArray};
use crate::io::npz::NpzReader;
use crate::io::stream::{self, EventStream, EventStreamWriter, StreamHeader, StreamPosition};
use crate::io::AtomicFile;
use crate::memory;
use crate::recording::{SpikeRecord, SpikeSink};

/// The population name used when none is given.
pub const DEFAULT_POPULATION: &str = "lifsim";

/// The file formats `lifsim run` writes spikes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// The seed's dense `bool` `.npy` of shape (steps, N).
    Dense,
    /// Events `.npz`: `times` (ms), `ids`, sorted by time then id.
    Events,
    /// A SONATA spike report in HDF5 (needs the `sonata` feature).
    Sonata,
}

impl std::str::FromStr for OutputFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dense" => Ok(OutputFormat::Dense),
            "events" => Ok(OutputFormat::Events),
            "sonata" => Ok(OutputFormat::Sonata),
            other => Err(Error::param(
                "format",
                format!("must be dense, events or sonata, got {other:?}"),
            )),
        }
    }
}

impl OutputFormat {
    /// The usual file name for this format (`spikes.npy`, `spikes.npz`, `spikes.h5`).
    pub fn default_file(self) -> &'static str {
        match self {
            OutputFormat::Dense => "spikes.npy",
            OutputFormat::Events => "spikes.npz",
            OutputFormat::Sonata => "spikes.h5",
        }
    }

    /// Fails early, before a run, for a format this build cannot write.
    pub fn check_available(self) -> Result<()> {
        if self == OutputFormat::Sonata && !cfg!(feature = "sonata") {
            return Err(Error::param(
                "format",
                "sonata needs HDF5 support; this lifsim was built without it (build with --features sonata, after scripts/system-deps.sh)",
            ));
        }
        Ok(())
    }
}

/// Spikes of a run on their way to a file: a [`SpikeSink`] that streams to
/// `<out>.spikes` and, on [`SpikeOutput::finish`], writes `out` atomically.
pub struct SpikeOutput {
    format: OutputFormat,
    out: PathBuf,
    stream: EventStreamWriter,
}

impl SpikeOutput {
    /// Starts the stream for output `out`; checks first that `out` can be written.
    pub fn create(format: OutputFormat, out: &Path, header: StreamHeader) -> Result<Self> {
        format.check_available()?;
        let pop = &header.population;
        if pop.is_empty() || pop.contains('/') || pop.chars().any(char::is_control) {
            return Err(Error::param(
                "population",
                format!("must be a name without '/', got {pop:?}"),
            ));
        }
        crate::io::check_writable(out)?;
        let stream = EventStreamWriter::create(&stream::stream_path_for(out), header)?;
        Ok(Self {
            format,
            out: out.to_path_buf(),
            stream,
        })
    }

    /// Goes on writing the event stream `stream` from position `at` (a
    /// checkpoint's), dropping whatever was written after it; the output goes
    /// to `out`.
    pub fn resume(
        format: OutputFormat,
        out: &Path,
        stream: &Path,
        at: StreamPosition,
    ) -> Result<Self> {
        format.check_available()?;
        crate::io::check_writable(out)?;
        let stream = EventStreamWriter::resume(stream, at)?;
        Ok(Self {
            format,
            out: out.to_path_buf(),
            stream,
        })
    }

    /// The output file.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// The stream being written.
    pub fn stream(&mut self) -> &mut EventStreamWriter {
        &mut self.stream
    }

    /// Ends the stream, writes the output file, removes the stream, and returns
    /// the spike counts (no raster or events: they are in the file).
    pub fn finish(self) -> Result<SpikeRecord> {
        let header = self.stream.header().clone();
        let counts = self.stream.counts().to_vec();
        let stream_path = self.stream.path().to_path_buf();
        self.stream.finish()?;
        let stream = EventStream::open(&stream_path)?;
        match self.format {
            OutputFormat::Dense => write_dense(&stream, &self.out)?,
            OutputFormat::Events => stream.write_npz(&self.out)?,
            OutputFormat::Sonata => write_sonata(&stream, &self.out)?,
        }
        std::fs::remove_file(&stream_path).map_err(|e| Error::io(&stream_path, e))?;
        Ok(SpikeRecord {
            n: header.n as usize,
            steps: stream.steps_complete() as usize,
            dt: header.dt,
            total: stream.spikes(),
            counts,
            raster: None,
            events: None,
        })
    }
}

impl SpikeSink for SpikeOutput {
    #[inline]
    fn record(&mut self, step: usize, fired: &[u32]) {
        self.stream.record(step, fired);
    }
}

#[cfg(feature = "sonata")]
fn write_sonata(stream: &EventStream, out: &Path) -> Result<()> {
    crate::io::sonata::write_from_stream(stream, out)
}

#[cfg(not(feature = "sonata"))]
fn write_sonata(_: &EventStream, _: &Path) -> Result<()> {
    OutputFormat::Sonata.check_available()
}

/// Writes the complete steps of `stream` as the seed's dense `bool` `.npy`,
/// one row of N bytes at a time.
pub fn write_dense(stream: &EventStream, out: &Path) -> Result<()> {
    let h = stream.header();
    let (n, steps) = (h.n as usize, stream.steps_complete());
    let mut file = AtomicFile::create(out)?;
    let mut row = vec![0u8; n];
    let mut next = 0u64; // the next row to write
    let mut failed: Option<std::io::Error> = None;
    let w = file.writer();
    let header = npy::header_bytes(Elem::Bool, false, &[steps as usize, n]);
    if let Err(e) = w.write_all(&header) {
        failed = Some(e);
    }
    let zeros = vec![0u8; n];
    stream.for_each_chunk(|ks, ids| {
        for (&k, &i) in ks.iter().zip(ids) {
            if failed.is_some() {
                return;
            }
            if k != next {
                // Row `next` is done; rows between it and `k` had no spike.
                let mut r = w.write_all(&row);
                row.fill(0);
                for _ in next + 1..k {
                    r = r.and_then(|()| w.write_all(&zeros));
                }
                if let Err(e) = r {
                    failed = Some(e);
                }
                next = k;
            }
            row[i as usize] = 1;
        }
    })?;
    if failed.is_none() && next < steps {
        let mut r = w.write_all(&row);
        for _ in next + 1..steps {
            r = r.and_then(|()| w.write_all(&zeros));
        }
        failed = r.err();
    }
    if let Some(e) = failed {
        return Err(file.io_error(e));
    }
    file.commit()
}

/// Which kind of spike file a [`SpikeTrain`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpikeFileKind {
    /// A dense `bool` `.npy` (steps, N).
    Dense,
    /// An events `.npz` (`times`, `ids`).
    Events,
    /// A `.spikes` stream.
    Stream,
    /// A SONATA `.h5` spike report.
    Sonata,
}

/// Spikes read back from a file, as (time, id) events in file order.
#[derive(Clone, Debug)]
pub struct SpikeTrain {
    /// The kind of file.
    pub kind: SpikeFileKind,
    /// Number of neurons (from the file, or the largest id + 1 where it has none).
    pub n: usize,
    /// Time step (ms), where the file says or the caller gave one.
    pub dt: Option<f64>,
    /// Simulated time the spikes cover (ms).
    pub duration_ms: f64,
    /// Spike times (ms).
    pub times: Vec<f64>,
    /// Spiking neurons.
    pub ids: Vec<u64>,
    /// The SONATA population, for `.h5` files and streams.
    pub population: Option<String>,
    /// False for the stream of a run that did not finish (its complete steps are read).
    pub complete: bool,
}

impl SpikeTrain {
    /// Reads any spike file lifsim writes: a dense `.npy` (`dt` gives its time
    /// step; it has none of its own), an events `.npz`, a `.spikes` stream or a
    /// SONATA `.h5`. The kind is told from the file's first bytes.
    pub fn load(path: &Path, dt: Option<f64>) -> Result<Self> {
        Self::load_population(path, dt, None)
    }

    /// [`SpikeTrain::load`], choosing the population of a SONATA file with
    /// several (`None`: its only one).
    pub fn load_population(path: &Path, dt: Option<f64>, population: Option<&str>) -> Result<Self> {
        let mut magic = [0u8; 8];
        {
            use std::io::Read;
            let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let got = f.read(&mut magic).map_err(|e| Error::io(path, e))?;
            if got < magic.len() {
                return Err(Error::file(path, "is too short to be a spike file"));
            }
        }
        if magic.starts_with(b"\x93NUMPY") {
            Self::load_dense(path, dt)
        } else if magic.starts_with(b"PK") {
            Self::load_events(path, dt)
        } else if stream::is_stream(&magic) {
            Self::load_stream(path)
        } else if magic == *HDF5_MAGIC {
            load_sonata(path, population)
        } else {
            Err(Error::file(
                path,
                "is not a spike file lifsim reads (.npy, .npz, .spikes or SONATA .h5)",
            ))
        }
    }

    fn load_dense(path: &Path, dt: Option<f64>) -> Result<Self> {
        let a = NpyArray::open(path)?;
        let h = a.header();
        let [steps, n] = h.shape[..] else {
            return Err(Error::file(
                path,
                format!(
                    "is a {}; a dense spike array is bool of shape (steps, N)",
                    h.describe()
                ),
            ));
        };
        if h.elem != Elem::Bool {
            return Err(Error::file(
                path,
                format!(
                    "is a {}; a dense spike array is bool of shape (steps, N)",
                    h.describe()
                ),
            ));
        }
        let dt = dt.unwrap_or(crate::model::LifParams::default().dt);
        let data = a.data();
        let spikes = data.iter().filter(|&&b| b != 0).count();
        let (mut times, mut ids) = alloc_events(path, spikes)?;
        let at = |step: usize, i: usize| {
            if h.fortran_order {
                i * steps + step
            } else {
                step * n + i
            }
        };
        for k in 0..steps {
            for i in 0..n {
                if data[at(k, i)] != 0 {
                    times.push((k + 1) as f64 * dt);
                    ids.push(i as u64);
                }
            }
        }
        Ok(Self {
            kind: SpikeFileKind::Dense,
            n,
            dt: Some(dt),
            duration_ms: steps as f64 * dt,
            times,
            ids,
            population: None,
            complete: true,
        })
    }

    fn load_events(path: &Path, dt_hint: Option<f64>) -> Result<Self> {
        let mut z = NpzReader::open(path)?;
        let names = z.names();
        for need in ["times", "ids"] {
            if !names.iter().any(|m| m == need) {
                return Err(Error::file(
                    path,
                    format!("has no {need:?} array; spike events need \"times\" (ms) and \"ids\""),
                ));
            }
        }
        let times = z.array("times")?.to_f64_vec();
        let ids = z.array("ids")?.to_u64_vec()?;
        if times.len() != ids.len() {
            return Err(Error::file(
                path,
                format!("has {} times but {} ids", times.len(), ids.len()),
            ));
        }
        if let Some(k) = times.iter().position(|t| !t.is_finite()) {
            return Err(Error::file(path, format!("times[{k}] is {}", times[k])));
        }
        let scalar = |z: &mut NpzReader, name: &str| -> Result<Option<f64>> {
            if !names.iter().any(|m| m == name) {
                return Ok(None);
            }
            let v = z.array(name)?.to_f64_vec();
            Ok(v.first().copied())
        };
        let max_id = ids.iter().max().map_or(0, |&m| m + 1);
        let n = scalar(&mut z, "n")?
            .map_or(max_id, |v| v as u64)
            .max(max_id);
        let dt = scalar(&mut z, "dt")?.or(dt_hint);
        let last = times.iter().copied().fold(0.0f64, f64::max);
        let duration_ms = match (scalar(&mut z, "steps")?, dt) {
            (Some(steps), Some(dt)) => (steps * dt).max(last),
            _ => last,
        };
        Ok(Self {
            kind: SpikeFileKind::Events,
            n: n as usize,
            dt,
            duration_ms,
            times,
            ids,
            population: None,
            complete: true,
        })
    }

    fn load_stream(path: &Path) -> Result<Self> {
        let s = EventStream::open(path)?;
        let h = s.header();
        let (mut times, mut ids) = alloc_events(path, s.spikes() as usize)?;
        s.for_each_chunk(|ks, is| {
            times.extend(ks.iter().map(|&k| (k + 1) as f64 * h.dt));
            ids.extend(is.iter().map(|&i| i as u64));
        })?;
        Ok(Self {
            kind: SpikeFileKind::Stream,
            n: h.n as usize,
            dt: Some(h.dt),
            duration_ms: s.steps_complete() as f64 * h.dt,
            times,
            ids,
            population: Some(h.population.clone()),
            complete: s.is_complete(),
        })
    }

    /// Number of spikes.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether there is no spike.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Mean firing rate over all neurons (Hz).
    pub fn mean_rate_hz(&self) -> f64 {
        crate::recording::rate_hz(self.len() as u64, self.n, self.duration_ms)
    }
}

/// The 8 bytes every HDF5 file starts with.
pub const HDF5_MAGIC: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

#[cfg(feature = "sonata")]
fn load_sonata(path: &Path, population: Option<&str>) -> Result<SpikeTrain> {
    crate::io::sonata::read(path, population)
}

#[cfg(not(feature = "sonata"))]
fn load_sonata(path: &Path, _: Option<&str>) -> Result<SpikeTrain> {
    Err(Error::file(
        path,
        "is an HDF5 file; this lifsim was built without HDF5 support (build with --features sonata)",
    ))
}

/// Room for `len` events, refused when the machine cannot hold them.
pub(crate) fn alloc_events(path: &Path, len: usize) -> Result<(Vec<f64>, Vec<u64>)> {
    memory::check_allocation(
        format!("{}: {len} spike events", path.display()),
        (len as u64).checked_mul(16),
        "the file holds more spikes than this machine can read at once",
    )?;
    Ok((Vec::with_capacity(len), Vec::with_capacity(len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(n: u64, steps: u64) -> StreamHeader {
        StreamHeader {
            n,
            dt: 0.5,
            steps,
            population: DEFAULT_POPULATION.into(),
        }
    }

    /// Spikes of a small made-up run, step by step.
    fn spikes_of_step(k: usize) -> Vec<u32> {
        (0..5u32).filter(|&i| (k + i as usize) % 3 == 0).collect()
    }

    #[test]
    fn every_format_holds_the_same_spikes() {
        let dir = tempfile::tempdir().unwrap();
        let steps = 40;
        let mut want_times = Vec::new();
        let mut want_ids = Vec::new();
        for k in 0..steps {
            for i in spikes_of_step(k) {
                want_times.push((k + 1) as f64 * 0.5);
                want_ids.push(i as u64);
            }
        }
        let formats = [OutputFormat::Dense, OutputFormat::Events];
        for (format, name) in formats.iter().zip(["s.npy", "s.npz"]) {
            let out = dir.path().join(name);
            let mut o = SpikeOutput::create(*format, &out, header(5, steps as u64)).unwrap();
            for k in 0..steps {
                o.record(k, &spikes_of_step(k));
            }
            let rec = o.finish().unwrap();
            assert_eq!(rec.total as usize, want_ids.len());
            assert_eq!(rec.counts.iter().sum::<u64>(), rec.total);
            // The stream is gone; only the output remains.
            let left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert!(left.iter().all(|f| !f.ends_with(".spikes")), "{left:?}");
            let t = SpikeTrain::load(&out, Some(0.5)).unwrap();
            assert_eq!(t.times, want_times, "{format:?}");
            assert_eq!(t.ids, want_ids, "{format:?}");
            assert_eq!((t.n, t.duration_ms), (5, 20.0), "{format:?}");
        }
        // The dense file is exactly the raster.
        let a = NpyArray::open(&dir.path().join("s.npy")).unwrap();
        assert_eq!(a.header().shape, vec![steps, 5]);
        for k in 0..steps {
            for i in 0..5u32 {
                assert_eq!(
                    a.data()[k * 5 + i as usize] != 0,
                    spikes_of_step(k).contains(&i)
                );
            }
        }
    }

    #[test]
    fn a_killed_run_leaves_a_readable_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.npz.spikes");
        let mut w = EventStreamWriter::create(&path, header(5, 100)).unwrap();
        for k in 0..30 {
            w.record(k, &spikes_of_step(k));
        }
        let at = w.sync(false).unwrap();
        for k in 30..37 {
            w.record(k, &spikes_of_step(k));
        }
        w.sync(false).unwrap();
        // Steps 37 and 38 reach the file without a marker, and a record is cut
        // in half: what a SIGKILL mid-write leaves.
        w.record(37, &[1, 2]);
        w.record(38, &[4]);
        drop(w); // flushes the buffer, writes no marker
        {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            f.write_all(&[7, 7, 7]).unwrap();
        }
        let s = EventStream::open(&path).unwrap();
        assert_eq!(s.steps_complete(), 37);
        assert!(!s.is_complete());
        assert_eq!(s.trailing_spikes(), 3);
        assert_eq!(s.trailing_bytes(), 3 * 12 + 3);
        let t = SpikeTrain::load(&path, None).unwrap();
        let want: usize = (0..37).map(|k| spikes_of_step(k).len()).sum();
        assert_eq!(t.len(), want);
        assert!(!t.complete);
        assert_eq!(t.duration_ms, 37.0 * 0.5);

        // Resuming from the earlier position cuts the rest and goes on.
        let mut w = EventStreamWriter::resume(&path, at).unwrap();
        assert_eq!(w.spikes(), at.spikes);
        for k in 30..100 {
            w.record(k, &spikes_of_step(k));
        }
        w.finish().unwrap();
        let s = EventStream::open(&path).unwrap();
        assert!(s.is_complete());
        let want: usize = (0..100).map(|k| spikes_of_step(k).len()).sum();
        assert_eq!(s.spikes() as usize, want);
        // A position that is not a marker is refused.
        let bad = StreamPosition {
            bytes: at.bytes + 12,
            ..at
        };
        let e = EventStreamWriter::resume(&path, bad).err().unwrap();
        assert!(e.to_string().contains("not the stream"), "{e}");
    }

    #[test]
    fn npz_events_from_elsewhere_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brian.npz");
        crate::io::npz::save_npz(&path, |z| {
            z.add("times", &[1.5f32, 2.0, 7.25], &[3])?;
            z.add("ids", &[3i64, 0, 9], &[3])
        })
        .unwrap();
        let t = SpikeTrain::load(&path, None).unwrap();
        assert_eq!(t.times, vec![1.5, 2.0, 7.25]);
        assert_eq!(t.ids, vec![3, 0, 9]);
        assert_eq!((t.n, t.duration_ms, t.dt), (10, 7.25, None));
    }

    #[test]
    fn wrong_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let w = dir.path().join("w.npy");
        crate::io::save_npy(&w, &[1.0f64; 4], &[2, 2], false).unwrap();
        let e = SpikeTrain::load(&w, None).unwrap_err().to_string();
        assert!(
            e.contains("float64 array of shape (2, 2)") && e.contains("bool"),
            "{e}"
        );
        let t = dir.path().join("t.txt");
        std::fs::write(&t, "hello, world").unwrap();
        let e = SpikeTrain::load(&t, None).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}: is not a spike file", t.display())),
            "{e}"
        );
    }
}
