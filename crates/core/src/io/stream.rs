//! The `.spikes` event stream: spikes written to disk as they happen.
//!
//! A long run cannot keep its spikes in memory, and a run that dies should not
//! take its spikes with it. While a run goes, [`EventStreamWriter`] appends one
//! fixed-size record per spike to a `.spikes` file and flushes it to the
//! operating system at least every [`FLUSH_INTERVAL`] of wall-clock time, so a
//! killed process leaves every spike up to its last flush on disk. The finished
//! stream is then turned into the run's `.npz` (or SONATA `.h5`) without ever
//! holding all spikes in memory ([`EventStream::write_npz`]).
//!
//! Layout (all little-endian):
//!
//! ```text
//! bytes 0..8    magic  b"LIFSPIKE"
//! bytes 8..12   u32    format version (1)
//! bytes 12..16  u32    length L of the JSON header that follows
//! bytes 16..16+L       JSON: {"n": .., "dt": .., "steps": .., "population": ..},
//!                      and, where present, "populations" and "recorded"
//!                      ([[start, stop], ...]: crate::io::recorded),
//!                      space-padded so records start on a 16-byte boundary
//! then records of 12 bytes: u64 step, u32 neuron id
//! ```
//!
//! Records come in step order, ids ascending within a step: the order of the
//! `.npz` events (time, then id). A record whose id is [`MARKER`] is a *marker*:
//! its step `k` says every spike of steps `< k` is in the file before it. The
//! writer adds one at every flush and at the end, so a reader of a crashed run
//! knows exactly which steps are complete ([`EventStream::steps_complete`]).
//! The spike at step `k` belongs to time `(k + 1) * dt`.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::npy::Elem;
use crate::io::npz;
use crate::io::output;
use crate::recording::SpikeSink;

/// The first 8 bytes of every `.spikes` file.
pub const MAGIC: &[u8; 8] = b"LIFSPIKE";
/// The format version this code writes and reads.
pub const VERSION: u32 = 1;
/// Bytes per record: `u64` step, `u32` id.
pub const RECORD_BYTES: usize = 12;
/// The id of a marker record ("all steps before this one are complete").
pub const MARKER: u32 = u32::MAX;
/// Longest wall-clock time between two flushes to the operating system.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// The file extension of event streams.
pub const EXTENSION: &str = "spikes";

/// Records read or converted per chunk (96 KiB of file): large enough for
/// full-speed reads (a few dozen per second of a coba run), small enough
/// that finishing a long run needs no more memory than a short one, and
/// that every buffer of a chunk (at most 96 KiB) stays below the C
/// allocator's threshold for mapping fresh pages (128 KiB). Chunks of
/// 768 KiB took about 4 MB of fresh pages to write a coba `.npz`, some 1000
/// page faults of several microseconds each on a virtual machine, as
/// much as a sixth of the whole process (BENCHMARKS.md, coba).
const CHUNK_RECORDS: usize = 1 << 13;

/// What a stream is about, stored in its header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamHeader {
    /// Number of neurons (ids are `0..n`).
    pub n: u64,
    /// Time step (ms).
    pub dt: f64,
    /// Steps the run was asked to do.
    pub steps: u64,
    /// Population name (SONATA's `/spikes/<population>`).
    pub population: String,
    /// The network's populations and their id ranges, in id order (empty
    /// for the seed's dense model, which has none). Spike files carry them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub populations: Vec<PopulationRange>,
    /// The neurons whose spikes the stream holds, where a run recorded some
    /// only ([`crate::io::recorded`]); absent (and not written): every neuron.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<crate::io::recorded::IdRanges>,
}

/// A population's name and its neurons' ids, `start..stop`, as every spike
/// file of a network run records them (`population_names`,
/// `population_starts`, `population_stops` in an `.npz`; attributes of the
/// same names, prefixed `lifsim_`, in a SONATA report).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopulationRange {
    /// The population's name.
    pub name: String,
    /// Its first id.
    pub start: u64,
    /// One past its last id.
    pub stop: u64,
}

/// The populations a file states as three arrays (names, first ids, ends),
/// checked as [`check_populations`] does against its `n` neurons; `what`
/// names the arrays in the error (`population_names`, ...).
pub fn populations_from(
    what: &str,
    names: Vec<String>,
    starts: Vec<u64>,
    stops: Vec<u64>,
    n: u64,
) -> std::result::Result<Vec<PopulationRange>, String> {
    if starts.len() != names.len() || stops.len() != names.len() {
        return Err(format!(
            "has {} {what} but {} starts and {} stops",
            names.len(),
            starts.len(),
            stops.len()
        ));
    }
    let pops: Vec<PopulationRange> = names
        .into_iter()
        .zip(starts.into_iter().zip(stops))
        .map(|(name, (start, stop))| PopulationRange { name, start, stop })
        .collect();
    check_populations(&pops, n)?;
    Ok(pops)
}

/// Checks that `pops` are named, in id order, without gaps or overlaps, and
/// within `n` neurons: what a file must say to be believed.
pub fn check_populations(pops: &[PopulationRange], n: u64) -> std::result::Result<(), String> {
    let mut next = 0;
    for p in pops {
        if p.name.is_empty() || p.name.chars().any(char::is_control) {
            return Err(format!("population name {:?} is not a name", p.name));
        }
        if p.start != next || p.stop < p.start {
            return Err(format!(
                "population {:?} has ids {}..{}; the populations must cover 0..N in order",
                p.name, p.start, p.stop
            ));
        }
        next = p.stop;
    }
    if !pops.is_empty() && next != n {
        return Err(format!(
            "the populations cover ids 0..{next} of {n} neurons"
        ));
    }
    Ok(())
}

impl StreamHeader {
    fn to_bytes(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec(self).expect("a header always serialises");
        // Pad so the records start on a 16-byte boundary.
        while !(16 + json.len()).is_multiple_of(16) {
            json.push(b' ');
        }
        let mut out = Vec::with_capacity(16 + json.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        out
    }
}

/// Whether `bytes` (a file's start) is an event stream.
pub fn is_stream(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Where a writer stands: enough to cut the file back to this point and go on
/// from there (a checkpoint records it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPosition {
    /// Steps whose spikes are all written.
    pub step: u64,
    /// Length of the file up to and including the marker for `step` (bytes).
    pub bytes: u64,
    /// Spikes written so far.
    pub spikes: u64,
}

/// Appends spikes to a `.spikes` file as the run produces them (a [`SpikeSink`]).
///
/// Memory use is the write buffer and one counter per neuron, whatever the
/// length of the run. A write error (a full disk) stops the writing and is
/// reported by [`EventStreamWriter::finish`], naming the file.
pub struct EventStreamWriter {
    path: PathBuf,
    out: BufWriter<File>,
    header: StreamHeader,
    counts: Vec<u64>,
    spikes: u64,
    bytes: u64,
    next_step: u64,
    last_flush: Instant,
    error: Option<std::io::Error>,
}

impl EventStreamWriter {
    /// Creates (or truncates) `path` and writes its header. The file is
    /// locked for as long as the writer lives: a second run writing the same
    /// stream is refused before it changes a byte of it.
    pub fn create(path: &Path, header: StreamHeader) -> Result<Self> {
        if output::classify(path)? != output::Target::Regular {
            return Err(Error::file(path, "a spike stream must be a regular file"));
        }
        // Opened without truncating, and truncated only once locked.
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        output::lock_exclusive(&file, path, "this spike stream")?;
        file.set_len(0).map_err(|e| Error::io(path, e))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let head = header.to_bytes();
        out.write_all(&head).map_err(|e| Error::io(path, e))?;
        let n = usize::try_from(header.n)
            .map_err(|_| Error::file(path, "more neurons than this machine can count"))?;
        Ok(Self {
            path: path.to_path_buf(),
            out,
            counts: vec![0; n],
            header,
            spikes: 0,
            bytes: head.len() as u64,
            next_step: 0,
            last_flush: Instant::now(),
            error: None,
        })
    }

    /// Reopens the stream at `path` to go on from `at` (a position an earlier
    /// writer reported): everything after it is cut off, and the spike counts
    /// are rebuilt from the spikes before it.
    pub fn resume(path: &Path, at: StreamPosition) -> Result<Self> {
        // Locked before it is read, so no other run changes it under us.
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        output::lock_exclusive(&file, path, "this spike stream")?;
        let stream = EventStream::open(path)?;
        if stream.positions_at(at)?.is_none() {
            return Err(Error::file(
                path,
                format!(
                    "holds no complete record of step {} at byte {}; it is not the stream this checkpoint was written with",
                    at.step, at.bytes
                ),
            ));
        }
        let header = stream.header.clone();
        let mut counts = vec![0u64; header.n as usize];
        let mut spikes = 0u64;
        stream.for_each_chunk_until(at.bytes, |_, ids| {
            for &i in ids {
                counts[i as usize] += 1;
            }
            spikes += ids.len() as u64;
        })?;
        if spikes != at.spikes {
            return Err(Error::file(
                path,
                format!(
                    "holds {spikes} spikes before step {} where the checkpoint expects {}",
                    at.step, at.spikes
                ),
            ));
        }
        drop(stream);
        file.set_len(at.bytes).map_err(|e| Error::io(path, e))?;
        let mut file = file;
        file.seek(SeekFrom::End(0))
            .map_err(|e| Error::io(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 16, file),
            header,
            counts,
            spikes,
            bytes: at.bytes,
            next_step: at.step,
            last_flush: Instant::now(),
            error: None,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header written at the start of the file.
    pub fn header(&self) -> &StreamHeader {
        &self.header
    }

    /// Spikes per neuron so far.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Spikes so far.
    pub fn spikes(&self) -> u64 {
        self.spikes
    }

    /// Writes a marker for the steps recorded so far and flushes everything to
    /// the operating system (it then survives the process being killed);
    /// `durable` also waits for the disk (it then survives a power cut).
    /// Returns the position to resume from.
    pub fn sync(&mut self, durable: bool) -> Result<StreamPosition> {
        self.flush_marked(durable);
        match self.error() {
            Some(e) => Err(e),
            None => Ok(StreamPosition {
                step: self.next_step,
                bytes: self.bytes,
                spikes: self.spikes,
            }),
        }
    }

    /// Ends the stream: a final marker, flushed and synced to disk.
    pub fn finish(mut self) -> Result<StreamPosition> {
        self.sync(true)
    }

    /// The first write error, if writing has stopped (a full disk).
    pub fn error(&self) -> Option<Error> {
        self.error
            .as_ref()
            .map(|e| Error::file(&self.path, format!("cannot be written ({e})")))
    }

    /// Ends the stream and removes its file, keeping the lock until the file
    /// is gone, so no other run can open it in between.
    pub fn remove(self) -> Result<()> {
        std::fs::remove_file(&self.path).map_err(|e| Error::io(&self.path, e))
    }

    /// A marker, then a flush; the first error is kept (writing stops there).
    fn flush_marked(&mut self, durable: bool) {
        self.mark();
        if self.error.is_none() {
            let flushed = self.out.flush().and_then(|()| {
                if durable {
                    self.out.get_ref().sync_data()
                } else {
                    Ok(())
                }
            });
            if let Err(e) = flushed {
                self.error = Some(e);
            }
        }
        self.last_flush = Instant::now();
    }

    fn mark(&mut self) {
        let step = self.next_step;
        self.put(step, MARKER);
    }

    #[inline]
    fn put(&mut self, step: u64, id: u32) {
        if self.error.is_some() {
            return;
        }
        let mut rec = [0u8; RECORD_BYTES];
        rec[..8].copy_from_slice(&step.to_le_bytes());
        rec[8..].copy_from_slice(&id.to_le_bytes());
        match self.out.write_all(&rec) {
            Ok(()) => self.bytes += RECORD_BYTES as u64,
            Err(e) => self.error = Some(e),
        }
    }
}

impl SpikeSink for EventStreamWriter {
    #[inline]
    fn record(&mut self, step: usize, fired: &[u32]) {
        let step = step as u64;
        for &i in fired {
            self.counts[i as usize] += 1;
            self.put(step, i);
        }
        self.spikes += fired.len() as u64;
        self.next_step = step + 1;
        // Checking the clock every step would cost more than the step on small
        // networks; every 256 steps still flushes many times a second.
        if step % 256 == 255 && self.last_flush.elapsed() >= FLUSH_INTERVAL {
            // An error here is kept; `failed` tells the driver to stop.
            self.flush_marked(false);
        }
    }

    fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// A `.spikes` file opened for reading: its header and how much of it is complete.
pub struct EventStream {
    path: PathBuf,
    header: StreamHeader,
    data_start: u64,
    /// File length up to and including the last marker.
    complete_bytes: u64,
    steps_complete: u64,
    spikes: u64,
    trailing_spikes: u64,
    trailing_bytes: u64,
}

impl EventStream {
    /// Opens `path` and scans it once: finds the last marker, counts the spikes
    /// before it, and notes anything after it (the tail of a killed run).
    pub fn open(path: &Path) -> Result<Self> {
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut head = [0u8; 16];
        file.read_exact(&mut head)
            .map_err(|_| Error::file(path, "is not a lifsim .spikes stream (too short)"))?;
        if !is_stream(&head) {
            return Err(Error::file(path, "is not a lifsim .spikes stream"));
        }
        let version = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(Error::file(
                path,
                format!(".spikes format version {version}; this lifsim reads version {VERSION}"),
            ));
        }
        let json_len = u32::from_le_bytes(head[12..16].try_into().expect("4 bytes")) as u64;
        if 16 + json_len > len || json_len > 1 << 20 {
            return Err(Error::file(path, "truncated .spikes header"));
        }
        let mut json = vec![0u8; json_len as usize];
        file.read_exact(&mut json).map_err(|e| Error::io(path, e))?;
        let header: StreamHeader = serde_json::from_slice(&json)
            .map_err(|e| Error::file(path, format!("bad .spikes header ({e})")))?;
        if !(header.dt.is_finite() && header.dt > 0.0) || header.n > u32::MAX as u64 {
            return Err(Error::file(
                path,
                "bad .spikes header (dt or n out of range)",
            ));
        }
        // Every spike's time, (step + 1) * dt, must be a time lifsim runs to.
        if header.steps as f64 * header.dt > crate::model::MAX_TIME_MS {
            return Err(Error::file(
                path,
                format!(
                    "bad .spikes header: {} steps of dt reach {:e} ms, more than lifsim's {:e} ms",
                    header.steps,
                    header.steps as f64 * header.dt,
                    crate::model::MAX_TIME_MS
                ),
            ));
        }
        let mut stream = Self {
            path: path.to_path_buf(),
            header,
            data_start: 16 + json_len,
            complete_bytes: 16 + json_len,
            steps_complete: 0,
            spikes: 0,
            trailing_spikes: 0,
            trailing_bytes: 0,
        };
        stream.scan(&mut file, len)?;
        Ok(stream)
    }

    fn scan(&mut self, file: &mut File, len: u64) -> Result<()> {
        let whole = (len - self.data_start) / RECORD_BYTES as u64;
        let mut pending = 0u64; // spikes since the last marker
        let mut offset = self.data_start;
        let mut last_step = 0u64;
        let mut buf = vec![0u8; CHUNK_RECORDS * RECORD_BYTES];
        let mut left = whole;
        file.seek(SeekFrom::Start(self.data_start))
            .map_err(|e| Error::io(&self.path, e))?;
        while left > 0 {
            let take = left.min(CHUNK_RECORDS as u64) as usize;
            let bytes = &mut buf[..take * RECORD_BYTES];
            file.read_exact(bytes)
                .map_err(|e| Error::io(&self.path, e))?;
            for rec in bytes.chunks_exact(RECORD_BYTES) {
                let (step, id) = decode(rec);
                offset += RECORD_BYTES as u64;
                if step < last_step {
                    return Err(Error::file(
                        &self.path,
                        format!(
                            "corrupt .spikes stream: step {step} after step {last_step} at byte {}",
                            offset - RECORD_BYTES as u64
                        ),
                    ));
                }
                // A spike belongs to a step of the run (< steps); a marker
                // says how many steps are complete (<= steps).
                let beyond = if id == MARKER {
                    step > self.header.steps
                } else {
                    step >= self.header.steps
                };
                if beyond {
                    return Err(Error::file(
                        &self.path,
                        format!(
                            "corrupt .spikes stream: step {step} at byte {} in a run of {} steps",
                            offset - RECORD_BYTES as u64,
                            self.header.steps
                        ),
                    ));
                }
                if id == MARKER {
                    self.spikes += pending;
                    pending = 0;
                    self.complete_bytes = offset;
                    self.steps_complete = step;
                    last_step = step;
                } else if id as u64 >= self.header.n {
                    return Err(Error::file(
                        &self.path,
                        format!(
                            "corrupt .spikes stream: neuron id {id} in a network of {} neurons",
                            self.header.n
                        ),
                    ));
                } else {
                    pending += 1;
                    last_step = step;
                }
            }
            left -= take as u64;
        }
        self.trailing_spikes = pending;
        self.trailing_bytes = len - self.complete_bytes;
        Ok(())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header.
    pub fn header(&self) -> &StreamHeader {
        &self.header
    }

    /// Steps whose spikes are all in the file (the last marker's step).
    pub fn steps_complete(&self) -> u64 {
        self.steps_complete
    }

    /// Whether the run that wrote the stream finished.
    pub fn is_complete(&self) -> bool {
        self.steps_complete == self.header.steps
    }

    /// Spikes of the complete steps.
    pub fn spikes(&self) -> u64 {
        self.spikes
    }

    /// Spikes after the last marker (written by a run that was then killed;
    /// their step may be incomplete, so readers leave them out).
    pub fn trailing_spikes(&self) -> u64 {
        self.trailing_spikes
    }

    /// Bytes after the last marker, including a partly written record.
    pub fn trailing_bytes(&self) -> u64 {
        self.trailing_bytes
    }

    /// The position of the end of the complete part (to resume writing there).
    pub fn position(&self) -> StreamPosition {
        StreamPosition {
            step: self.steps_complete,
            bytes: self.complete_bytes,
            spikes: self.spikes,
        }
    }

    /// Checks that `at.bytes` ends with the marker of step `at.step`.
    fn positions_at(&self, at: StreamPosition) -> Result<Option<()>> {
        if at.bytes < self.data_start + RECORD_BYTES as u64
            || at.bytes > self.complete_bytes
            || !(at.bytes - self.data_start).is_multiple_of(RECORD_BYTES as u64)
        {
            return Ok(None);
        }
        let mut file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        let mut rec = [0u8; RECORD_BYTES];
        file.seek(SeekFrom::Start(at.bytes - RECORD_BYTES as u64))
            .and_then(|_| file.read_exact(&mut rec))
            .map_err(|e| Error::io(&self.path, e))?;
        Ok((decode(&rec) == (at.step, MARKER)).then_some(()))
    }

    /// Calls `f` with the spikes of the complete steps in order, a chunk at a
    /// time: parallel slices of steps and ids (markers left out).
    pub fn for_each_chunk(&self, f: impl FnMut(&[u64], &[u32])) -> Result<()> {
        self.for_each_chunk_until(self.complete_bytes, f)
    }

    fn for_each_chunk_until(&self, end: u64, mut f: impl FnMut(&[u64], &[u32])) -> Result<()> {
        let mut file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        file.seek(SeekFrom::Start(self.data_start))
            .map_err(|e| Error::io(&self.path, e))?;
        let mut left = (end - self.data_start) / RECORD_BYTES as u64;
        let chunk = CHUNK_RECORDS.min(left as usize);
        let mut buf = vec![0u8; chunk * RECORD_BYTES];
        let mut steps = Vec::with_capacity(chunk);
        let mut ids = Vec::with_capacity(chunk);
        while left > 0 {
            let take = left.min(CHUNK_RECORDS as u64) as usize;
            let bytes = &mut buf[..take * RECORD_BYTES];
            file.read_exact(bytes)
                .map_err(|e| Error::io(&self.path, e))?;
            steps.clear();
            ids.clear();
            for rec in bytes.chunks_exact(RECORD_BYTES) {
                let (step, id) = decode(rec);
                if id != MARKER {
                    steps.push(step);
                    ids.push(id);
                }
            }
            f(&steps, &ids);
            left -= take as u64;
        }
        Ok(())
    }

    /// Writes the complete part as the events `.npz` lifsim writes: `times`
    /// (float64, ms, `(step + 1) * dt`), `ids` (uint32), and the scalars `n`,
    /// `dt` and `steps`. Streams through the file twice; memory stays flat.
    pub fn write_npz(&self, path: &Path) -> Result<()> {
        let count = self.spikes as usize;
        let dt = self.header.dt;
        npz::save_npz(path, |z| {
            z.add_streamed("times", Elem::F64, &[count], |out| {
                self.write_column(out, |steps, _, buf| {
                    for &k in steps {
                        buf.extend_from_slice(&(((k + 1) as f64) * dt).to_le_bytes());
                    }
                })
            })?;
            z.add_streamed("ids", Elem::U32, &[count], |out| {
                self.write_column(out, |_, ids, buf| {
                    for &i in ids {
                        buf.extend_from_slice(&i.to_le_bytes());
                    }
                })
            })?;
            z.add("n", &[self.header.n], &[])?;
            z.add("dt", &[dt], &[])?;
            z.add("steps", &[self.steps_complete], &[])?;
            crate::io::recorded::add_npz_fields(z, &self.header)?;
            Ok(())
        })
    }

    /// Streams one column of the events into `out`: `encode` turns each chunk
    /// of (steps, ids) into little-endian bytes.
    fn write_column(
        &self,
        out: &mut dyn Write,
        mut encode: impl FnMut(&[u64], &[u32], &mut Vec<u8>),
    ) -> std::io::Result<()> {
        let mut buf = Vec::new();
        let mut failed = None;
        self.for_each_chunk(|steps, ids| {
            if failed.is_some() {
                return;
            }
            buf.clear();
            encode(steps, ids, &mut buf);
            if let Err(e) = out.write_all(&buf) {
                failed = Some(e);
            }
        })
        .map_err(std::io::Error::other)?;
        failed.map_or(Ok(()), Err)
    }
}

#[inline]
fn decode(rec: &[u8]) -> (u64, u32) {
    (
        u64::from_le_bytes(rec[..8].try_into().expect("8 bytes")),
        u32::from_le_bytes(rec[8..12].try_into().expect("4 bytes")),
    )
}

/// The stream file that goes with output `out`: `out` with `.spikes` appended
/// (`run.npz` streams to `run.npz.spikes` while the run goes). An output
/// that is a device or FIFO (`/dev/null`) streams to the system's temporary
/// folder instead, never beside the device.
pub fn stream_path_for(out: &Path) -> PathBuf {
    let mut name = match output::classify(out) {
        Ok(output::Target::Device) => {
            let file = out.file_name().unwrap_or_default().to_string_lossy();
            std::env::temp_dir()
                .join(format!("lifsim-{}-{file}", std::process::id()))
                .into_os_string()
        }
        _ => out.as_os_str().to_os_string(),
    };
    name.push(".");
    name.push(EXTENSION);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::SpikeSink;

    /// A record of a step the run does not have (the `spikes` fuzz target
    /// found 2^64 - 1, whose time overflowed) is corruption, named as such.
    #[test]
    fn records_beyond_the_run_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.spikes");
        let header = StreamHeader {
            n: 4,
            dt: 0.1,
            steps: 10,
            population: "p".into(),
            populations: Vec::new(),
            recorded: None,
        };
        let mut w = EventStreamWriter::create(&path, header).unwrap();
        w.record(3, &[1, 2]);
        w.finish().unwrap();
        assert_eq!(EventStream::open(&path).unwrap().spikes(), 2);
        for step in [10u64, u64::MAX] {
            let mut bytes = std::fs::read(&path).unwrap();
            let first = bytes.len() - 3 * RECORD_BYTES; // the first spike
            bytes[first..first + 8].copy_from_slice(&step.to_le_bytes());
            // Keep the steps in order: make the spike the last record.
            let tail = bytes.split_off(first);
            bytes.extend_from_slice(&tail[RECORD_BYTES..]);
            bytes.extend_from_slice(&tail[..RECORD_BYTES]);
            std::fs::write(&path, &bytes).unwrap();
            let e = EventStream::open(&path).err().unwrap().to_string();
            assert!(e.contains("in a run of 10 steps"), "{step}: {e}");
            let mut w = EventStreamWriter::create(
                &path,
                StreamHeader {
                    n: 4,
                    dt: 0.1,
                    steps: 10,
                    population: "p".into(),
                    populations: Vec::new(),
                    recorded: None,
                },
            )
            .unwrap();
            w.record(3, &[1, 2]);
            w.finish().unwrap();
        }
    }
}
