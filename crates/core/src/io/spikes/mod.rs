//! Spike files: what `lifsim run` writes, and reading any of them back.
//!
//! Every spike-train format goes through the `.spikes` event stream
//! ([`crate::io::stream`]) while the run goes, so memory stays flat however
//! long the run, and a killed run leaves its spikes on disk. At the end,
//! [`SpikeOutput::finish`] turns the stream into the format asked for:
//!
//! | format | file | content |
//! |---|---|---|
//! | [`OutputFormat::Dense`] | `.npy` | the seed's `bool` array of shape (steps, N) |
//! | [`OutputFormat::Events`] | `.npz` | `times` (float64, ms), `ids` (uint32), scalars `n`, `dt`, `steps` |
//! | [`OutputFormat::Sonata`] | `.h5` | SONATA spike report `/spikes/<population>/{timestamps,node_ids}` (feature `sonata`) |
//! | [`OutputFormat::Counts`] | `.npy` | spikes per neuron (network files); no spike train, so no stream |
//!
//! [`OutputFormat`] is the one list of output formats: the CLI's `--format`
//! parses into it (its `FromStr`), checkpoints store its [`OutputFormat::name`],
//! and a [`RecordMode`] (Python's `record=`, `bench --record`, a network file's
//! `[record] spikes`) is named by its format ([`OutputFormat::of_record`]).
//!
//! [`SpikeTrain::load`] reads any of these (and the stream itself) back as
//! one list of (time, id) events, for plots and checks.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::npy::{self, Elem};
use crate::io::output::OutputFile;
use crate::io::stream::{self, EventStream, EventStreamWriter, StreamHeader, StreamPosition};
use crate::monitor::SpikeFilter;
use crate::recording::{RecordMode, SpikeRecord, SpikeSink};

/// The population name used when none is given.
pub const DEFAULT_POPULATION: &str = "lifsim";

/// The file formats `lifsim run` writes spikes in (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// The seed's dense `bool` `.npy` of shape (steps, N).
    Dense,
    /// Events `.npz`: `times` (ms), `ids`, sorted by time then id.
    Events,
    /// A SONATA spike report in HDF5 (needs the `sonata` feature).
    Sonata,
    /// Spikes per neuron, an `.npy` of N counts (network files only); not a
    /// spike train, so it is never streamed ([`SpikeOutput::create`] refuses it).
    Counts,
}

impl OutputFormat {
    /// Every format, in the order choices are listed.
    pub const ALL: [OutputFormat; 4] = [
        OutputFormat::Dense,
        OutputFormat::Events,
        OutputFormat::Sonata,
        OutputFormat::Counts,
    ];

    /// The formats that hold a spike train: every one but [`OutputFormat::Counts`].
    pub const SPIKE_TRAINS: [OutputFormat; 3] = [
        OutputFormat::Dense,
        OutputFormat::Events,
        OutputFormat::Sonata,
    ];

    /// The CLI's placeholder for `--format`: the names of [`OutputFormat::ALL`]
    /// joined by `|` (a test checks it).
    pub const CHOICES: &'static str = "dense|events|sonata|counts";

    /// Its name, as `--format` and checkpoints write it.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Dense => "dense",
            OutputFormat::Events => "events",
            OutputFormat::Sonata => "sonata",
            OutputFormat::Counts => "counts",
        }
    }

    /// Whether it holds a spike train (streamed while the run goes).
    pub fn is_spike_train(self) -> bool {
        self != OutputFormat::Counts
    }

    /// What a run in this format records: SONATA holds events.
    pub fn record_mode(self) -> RecordMode {
        match self {
            OutputFormat::Dense => RecordMode::Dense,
            OutputFormat::Events | OutputFormat::Sonata => RecordMode::Events,
            OutputFormat::Counts => RecordMode::Counts,
        }
    }

    /// The format of the same name as a record mode (a network file's
    /// `[record] spikes`; Python's `record=`).
    pub fn of_record(mode: RecordMode) -> Self {
        match mode {
            RecordMode::Dense => OutputFormat::Dense,
            RecordMode::Events => OutputFormat::Events,
            RecordMode::Counts => OutputFormat::Counts,
        }
    }

    /// `formats` as error messages list choices: `dense, events or sonata`.
    pub fn list(formats: &[OutputFormat]) -> String {
        let names: Vec<&str> = formats.iter().map(|f| f.name()).collect();
        match names.split_last() {
            None => String::new(),
            Some((last, [])) => (*last).to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        }
    }

    /// The usual file name for this format (`spikes.npy`, `spikes.npz`,
    /// `spikes.h5`, `counts.npy`).
    pub fn default_file(self) -> &'static str {
        match self {
            OutputFormat::Dense => "spikes.npy",
            OutputFormat::Events => "spikes.npz",
            OutputFormat::Sonata => "spikes.h5",
            OutputFormat::Counts => "counts.npy",
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

impl std::str::FromStr for OutputFormat {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match OutputFormat::ALL.iter().find(|f| f.name() == s) {
            Some(f) => Ok(*f),
            None => Err(Error::param(
                "format",
                format!(
                    "must be {}, got {s:?}",
                    OutputFormat::list(&OutputFormat::ALL)
                ),
            )),
        }
    }
}

impl std::fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Spikes of a run on their way to a file: a [`SpikeSink`] that streams to
/// `<out>.spikes` and, on [`SpikeOutput::finish`], writes `out` atomically.
pub struct SpikeOutput {
    format: OutputFormat,
    out: PathBuf,
    stream: EventStreamWriter,
    /// Which neurons' spikes are written (`[[record.spikes_from]]`); none: all.
    filter: Option<SpikeFilter>,
}

impl SpikeOutput {
    /// Starts the stream for output `out`; checks first that `out` can be written.
    pub fn create(format: OutputFormat, out: &Path, header: StreamHeader) -> Result<Self> {
        format.check_available()?;
        not_counts(format)?;
        let pop = &header.population;
        if pop.is_empty() || pop.contains('/') || pop.chars().any(char::is_control) {
            return Err(Error::param(
                "population",
                format!("must be a name without '/', got {pop:?}"),
            ));
        }
        crate::io::output::check_writable(out)?;
        if format == OutputFormat::Dense {
            // The seed's array has a byte per neuron and step, spikes or not.
            let bytes = header.n.saturating_mul(header.steps);
            crate::io::output::check_space(out, bytes, "the dense spike array")?;
        }
        let stream = EventStreamWriter::create(&stream::stream_path_for(out), header)?;
        Ok(Self {
            format,
            out: out.to_path_buf(),
            stream,
            filter: None,
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
        not_counts(format)?;
        crate::io::output::check_writable(out)?;
        let stream = EventStreamWriter::resume(stream, at)?;
        Ok(Self {
            format,
            out: out.to_path_buf(),
            stream,
            filter: None,
        })
    }

    /// Writes only the spikes `filter` records (the stream and the file
    /// then hold those neurons' spikes alone; the others are counted by
    /// the filter, [`Self::unrecorded`]).
    pub fn with_filter(mut self, filter: Option<SpikeFilter>) -> Self {
        self.filter = filter;
        self
    }

    /// Per population, the spikes not written (of neurons the filter does
    /// not record); empty without a filter.
    pub fn unrecorded(&self) -> &[u64] {
        self.filter.as_ref().map_or(&[], |f| f.unrecorded())
    }

    /// Goes on counting the spikes not written from a checkpoint's
    /// [`Self::unrecorded`].
    pub fn resume_unrecorded(&mut self, unrecorded: &[u64]) -> Result<()> {
        match &mut self.filter {
            Some(f) => f.resume_from(unrecorded),
            None if unrecorded.is_empty() => Ok(()),
            None => Err(Error::param(
                "spikes_from",
                "the checkpoint is of a run that recorded some neurons' spikes; the network now records every neuron's (did the network file change?)",
            )),
        }
    }

    /// The output file.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// The stream being written.
    pub fn stream(&mut self) -> &mut EventStreamWriter {
        &mut self.stream
    }

    /// Removes the stream: after [`SpikeOutput::write`], or to give up (a
    /// failed run that cannot be resumed leaves nothing behind; a full disk
    /// gets its space back).
    pub fn abandon(self) -> Result<()> {
        self.stream.remove()
    }

    /// Ends the stream, writes the output file, removes the stream, and returns
    /// the spike counts (no raster or events: they are in the file).
    pub fn finish(mut self) -> Result<SpikeRecord> {
        let record = self.write()?;
        self.abandon()?;
        Ok(record)
    }

    /// Ends the stream and writes the output file from it, keeping the
    /// stream (and its lock); returns the spike counts.
    pub fn write(&mut self) -> Result<SpikeRecord> {
        let header = self.stream.header().clone();
        let counts = self.stream.counts().to_vec();
        let stream_path = self.stream.path().to_path_buf();
        // Flushed, not closed: the writer keeps its lock until the stream is
        // gone, and the output file is written from the operating system's
        // cache. Not waited onto the disk: a resumable run's stream was
        // synced up to its checkpoint's position when that was written, and
        // resuming cuts it back there, so nothing after it is ever read
        // after a crash.
        self.stream.sync(false)?;
        let stream = EventStream::open(&stream_path)?;
        match self.format {
            OutputFormat::Dense => write_dense(&stream, &self.out)?,
            OutputFormat::Events => stream.write_npz(&self.out)?,
            OutputFormat::Sonata => write_sonata(&stream, &self.out)?,
            OutputFormat::Counts => not_counts(self.format)?,
        }
        Ok(SpikeRecord {
            n: header.n as usize,
            steps: stream.steps_complete() as usize,
            dt: header.dt,
            total: stream.spikes(),
            counts,
            raster: None,
            events: None,
            unrecorded: self.unrecorded().to_vec(),
        })
    }
}

impl SpikeSink for SpikeOutput {
    #[inline]
    fn record(&mut self, step: usize, fired: &[u32]) {
        match &mut self.filter {
            None => self.stream.record(step, fired),
            Some(f) => self.stream.record(step, f.split(fired)),
        }
    }

    fn failed(&self) -> bool {
        self.stream.failed()
    }
}

/// Refuses [`OutputFormat::Counts`], which is no spike train to stream.
fn not_counts(format: OutputFormat) -> Result<()> {
    if format.is_spike_train() {
        return Ok(());
    }
    Err(Error::param(
        "format",
        "counts are not a spike train: keep them with a Recorder of RecordMode::Counts",
    ))
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
    let mut file = OutputFile::create(out)?;
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

mod read;
#[cfg(test)]
mod tests;

#[cfg(feature = "sonata")]
pub(crate) use read::alloc_events;
pub use read::{check_dt, SpikeFileKind, SpikeTrain, HDF5_MAGIC, MAX_NEURONS};
