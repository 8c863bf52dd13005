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
use crate::io::npy::{self, Elem, NpyArray};
use crate::io::npz::NpzReader;
use crate::io::output::OutputFile;
use crate::io::stream::{
    self, EventStream, EventStreamWriter, PopulationRange, StreamHeader, StreamPosition,
};
use crate::model::MAX_TIME_MS;
use crate::recording::{RecordMode, SpikeRecord, SpikeSink};
use crate::resources;

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
        // Synced, not closed: the writer keeps its lock until the stream is
        // gone. The stream is on disk before this returns, as it always was,
        // but the wait for the disk overlaps the writing of the output file
        // (which reads the stream from the operating system's cache).
        let (_, synced) = self.stream.sync_durable_in_background()?;
        let stream = EventStream::open(&stream_path);
        let written = stream.and_then(|stream| {
            match self.format {
                OutputFormat::Dense => write_dense(&stream, &self.out)?,
                OutputFormat::Events => stream.write_npz(&self.out)?,
                OutputFormat::Sonata => write_sonata(&stream, &self.out)?,
                OutputFormat::Counts => not_counts(self.format)?,
            }
            Ok(stream)
        });
        let synced = synced.join().unwrap_or_else(|_| {
            Err(Error::io(
                &stream_path,
                std::io::Error::other("the sync thread panicked"),
            ))
        });
        let stream = written?;
        synced?;
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

    fn failed(&self) -> bool {
        self.stream.failed()
    }
}

/// The `population_names`, `population_starts` and `population_stops` arrays
/// of an events `.npz` (none: no populations), checked against its `n` ids.
fn populations_of_npz(
    path: &Path,
    z: &mut NpzReader,
    members: &[String],
    n: u64,
) -> Result<Vec<PopulationRange>> {
    let has = |m: &str| members.iter().any(|x| x == m);
    let arrays = ["population_names", "population_starts", "population_stops"];
    match arrays.iter().filter(|m| has(m)).count() {
        0 => return Ok(Vec::new()),
        3 => {}
        _ => return Err(Error::file(
            path,
            "has some of population_names, population_starts, population_stops but not all three",
        )),
    }
    let label = |name: &str| PathBuf::from(format!("{}:{name}", path.display()));
    let names = crate::io::npy::read_strings(
        &label("population_names"),
        &z.member_bytes("population_names")?,
    )?;
    let starts = z.array("population_starts")?.to_u64_vec()?;
    let stops = z.array("population_stops")?.to_u64_vec()?;
    if starts.len() != names.len() || stops.len() != names.len() {
        return Err(Error::file(
            path,
            format!(
                "has {} population_names but {} starts and {} stops",
                names.len(),
                starts.len(),
                stops.len()
            ),
        ));
    }
    let pops: Vec<PopulationRange> = names
        .into_iter()
        .zip(starts.into_iter().zip(stops))
        .map(|(name, (start, stop))| PopulationRange { name, start, stop })
        .collect();
    stream::check_populations(&pops, n).map_err(|e| Error::file(path, e))?;
    Ok(pops)
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
    /// The network's populations and their id ranges, where the file says
    /// (every spike file of a network run but a dense `.npy`).
    pub populations: Vec<PopulationRange>,
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
        if let Some(dt) = dt {
            check_dt(dt).map_err(|e| Error::param("dt", e))?;
        }
        let train = if magic.starts_with(b"\x93NUMPY") {
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
        }?;
        train.validate(path)?;
        Ok(train)
    }

    /// Checks what a file said against what lifsim can represent: at most
    /// [`MAX_NEURONS`] neurons and every id below N, a time step that is a
    /// positive number, and times and a duration that are finite and within
    /// [`MAX_TIME_MS`]. Every reader's result goes through it, so a corrupt
    /// header is an error here and never a hang or an allocation later.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let bad = |msg: String| Err(Error::file(path, msg));
        if self.n as u64 > MAX_NEURONS {
            return bad(format!(
                "claims {} neurons; lifsim reads at most {MAX_NEURONS}",
                self.n
            ));
        }
        if let Some(k) = self.ids.iter().position(|&i| i >= self.n as u64) {
            return bad(format!(
                "ids[{k}] is {}, not below the file's {} neurons",
                self.ids[k], self.n
            ));
        }
        if let Some(dt) = self.dt {
            check_dt(dt).map_err(|e| Error::file(path, format!("dt {e}")))?;
        }
        if let Some(k) = self.times.iter().position(|t| !in_time_range(*t)) {
            return bad(format!(
                "times[{k}] is {:?} ms; spike times must be finite and within {MAX_TIME_MS:e} ms",
                self.times[k]
            ));
        }
        if !(in_time_range(self.duration_ms) && self.duration_ms >= 0.0) {
            return bad(format!(
                "covers {:?} ms (steps times dt); lifsim reads at most {MAX_TIME_MS:e} ms",
                self.duration_ms
            ));
        }
        Ok(())
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
        // With N = 0 there is no data to bound the number of steps by: a
        // shape (10^18, 0) would be a loop of 10^18 empty rows.
        let rows = if n == 0 { 0 } else { steps };
        let at = |step: usize, i: usize| {
            if h.fortran_order {
                i * steps + step
            } else {
                step * n + i
            }
        };
        for k in 0..rows {
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
            populations: Vec::new(),
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
        let label = |name: &str| PathBuf::from(format!("{}:{name}", path.display()));
        let n = match scalar(&mut z, "n")? {
            Some(v) => whole_number(&label("n"), v, MAX_NEURONS)?,
            None => neurons_of(path, &ids)?,
        };
        let dt = match scalar(&mut z, "dt")? {
            Some(v) => {
                check_dt(v).map_err(|e| Error::file(label("dt"), e))?;
                Some(v)
            }
            None => dt_hint,
        };
        let last = times.iter().copied().fold(0.0f64, f64::max);
        let duration_ms = match (scalar(&mut z, "steps")?, dt) {
            (Some(steps), Some(dt)) => {
                let steps = whole_number(&label("steps"), steps, u64::MAX)?;
                (steps as f64 * dt).max(last)
            }
            _ => last,
        };
        let populations = populations_of_npz(path, &mut z, &names, n)?;
        Ok(Self {
            kind: SpikeFileKind::Events,
            n: n as usize,
            dt,
            duration_ms,
            times,
            ids,
            population: None,
            populations,
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
            populations: h.populations.clone(),
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
    resources::check_allocation(
        format!("{}: {len} spike events", path.display()),
        (len as u64).checked_mul(16),
        "the file holds more spikes than this machine can read at once",
    )?;
    Ok((Vec::with_capacity(len), Vec::with_capacity(len)))
}

/// The most neurons a spike file may have: ids are below `2^32 - 1`, as in
/// lifsim's own networks and streams (whose marker id is `u32::MAX`).
pub const MAX_NEURONS: u64 = u32::MAX as u64;

/// Why `dt` is not a time step (a positive, finite number of ms), if it is not.
pub fn check_dt(dt: f64) -> std::result::Result<(), String> {
    if dt.is_finite() && dt > 0.0 && dt <= MAX_TIME_MS {
        Ok(())
    } else {
        Err(format!(
            "must be a positive number of ms up to {MAX_TIME_MS:e}, got {dt:?}"
        ))
    }
}

/// Whether `t` (ms) is a time lifsim can put on an axis.
fn in_time_range(t: f64) -> bool {
    t.is_finite() && t.abs() <= MAX_TIME_MS
}

/// A scalar that must be a whole number in `0..=max` (a count stored as a float).
fn whole_number(label: &Path, v: f64, max: u64) -> Result<u64> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= max as f64 {
        Ok(v as u64)
    } else {
        Err(Error::file(
            label,
            format!("is {v:?}; it must be a whole number from 0 to {max}"),
        ))
    }
}

/// N for a file that does not say: the largest id + 1, refused (not wrapped
/// around) when an id is beyond what lifsim can count.
fn neurons_of(path: &Path, ids: &[u64]) -> Result<u64> {
    match ids.iter().position(|&i| i >= MAX_NEURONS) {
        Some(k) => Err(Error::file(
            path,
            format!(
                "ids[{k}] is {}; lifsim reads neuron ids below {MAX_NEURONS}",
                ids[k]
            ),
        )),
        None => Ok(ids.iter().max().map_or(0, |&m| m + 1)),
    }
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
            populations: Vec::new(),
        }
    }

    /// Spikes of a small made-up run, step by step.
    fn spikes_of_step(k: usize) -> Vec<u32> {
        (0..5u32).filter(|&i| (k + i as usize) % 3 == 0).collect()
    }

    #[test]
    fn output_formats_are_named_once() {
        let names: Vec<&str> = OutputFormat::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(OutputFormat::CHOICES, names.join("|"));
        for f in OutputFormat::ALL {
            assert_eq!(f.name().parse::<OutputFormat>().unwrap(), f);
            assert_eq!(f.to_string(), f.name());
            assert_eq!(
                OutputFormat::of_record(f.record_mode()).record_mode(),
                f.record_mode()
            );
            assert_eq!(f.is_spike_train(), OutputFormat::SPIKE_TRAINS.contains(&f));
        }
        for mode in [RecordMode::Dense, RecordMode::Events, RecordMode::Counts] {
            let f = OutputFormat::of_record(mode);
            assert_eq!(f.record_mode(), mode);
            // The record mode's own names are the format's.
            assert_eq!(f.name().parse::<RecordMode>().unwrap(), mode);
        }
        assert_eq!(
            OutputFormat::list(&OutputFormat::SPIKE_TRAINS),
            "dense, events or sonata"
        );
        assert_eq!(
            OutputFormat::list(&OutputFormat::ALL),
            "dense, events, sonata or counts"
        );
        let err = "xyz".parse::<OutputFormat>().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid parameter format: must be dense, events, sonata or counts, got \"xyz\""
        );
        let dir = tempfile::tempdir().unwrap();
        let err = SpikeOutput::create(
            OutputFormat::Counts,
            &dir.path().join("c.npy"),
            header(2, 3),
        );
        assert!(err.is_err_and(|e| e.to_string().contains("counts are not a spike train")));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
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

    /// An events `.npz` with `times`, `ids` and optional scalars `n`, `dt`, `steps`.
    fn events_npz(dir: &Path, times: &[f64], ids: &[u64], scalars: &[(&str, f64)]) -> PathBuf {
        let path = dir.join("events.npz");
        crate::io::npz::save_npz(&path, |z| {
            z.add("times", times, &[times.len()])?;
            z.add("ids", ids, &[ids.len()])?;
            for (name, v) in scalars {
                z.add(name, &[*v], &[])?;
            }
            Ok(())
        })
        .unwrap();
        path
    }

    /// Times, ids, scalars of an events file, and what its error must say.
    type EventsCase<'a> = (&'a [f64], &'a [u64], &'a [(&'a str, f64)], &'a str);

    #[test]
    fn event_headers_that_lie_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let cases: [EventsCase; 12] = [
            (
                &[1.0],
                &[0],
                &[("n", 1e20)],
                "events.npz:n: is 1e20; it must be a whole number from 0 to 4294967295",
            ),
            (
                &[1.0],
                &[0],
                &[("n", 1e11)],
                "events.npz:n: is 100000000000.0",
            ),
            (&[1.0], &[0], &[("n", -1.0)], "events.npz:n: is -1.0"),
            (&[1.0], &[0], &[("n", 2.5)], "events.npz:n: is 2.5"),
            (&[1.0], &[0], &[("n", f64::NAN)], "events.npz:n: is NaN"),
            (
                &[1.0],
                &[u64::MAX],
                &[],
                "ids[0] is 18446744073709551615; lifsim reads neuron ids below 4294967295",
            ),
            (
                &[1.0, 2.0],
                &[0, 5],
                &[("n", 3.0)],
                "ids[1] is 5, not below the file's 3 neurons",
            ),
            (
                &[1.0],
                &[0],
                &[("dt", f64::INFINITY), ("steps", 10.0)],
                "events.npz:dt: must be a positive number of ms",
            ),
            (
                &[1.0],
                &[0],
                &[("dt", 0.0)],
                "events.npz:dt: must be a positive number of ms",
            ),
            (
                &[1.0],
                &[0],
                &[("dt", 0.1), ("steps", f64::INFINITY)],
                "events.npz:steps: is inf",
            ),
            (
                &[1.0],
                &[0],
                &[("dt", 0.1), ("steps", 1e17)],
                "covers 1e16 ms (steps times dt); lifsim reads at most 1e15 ms",
            ),
            (
                &[1e300],
                &[0],
                &[],
                "times[0] is 1e300 ms; spike times must be finite and within 1e15 ms",
            ),
        ];
        for (times, ids, scalars, want) in cases {
            let path = events_npz(d, times, ids, scalars);
            let e = SpikeTrain::load(&path, None).unwrap_err().to_string();
            assert!(e.contains(want), "{scalars:?}: {e}\n  wanted: {want}");
        }
        // The largest N lifsim can count is still read.
        let path = events_npz(
            d,
            &[1.0],
            &[7],
            &[("n", MAX_NEURONS as f64), ("dt", 0.5), ("steps", 4.0)],
        );
        let t = SpikeTrain::load(&path, None).unwrap();
        assert_eq!(
            (t.n as u64, t.dt, t.duration_ms),
            (MAX_NEURONS, Some(0.5), 2.0)
        );
    }

    #[test]
    fn a_stream_whose_times_overflow_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.npz.spikes");
        let stream = |dt: f64| {
            let h = StreamHeader {
                dt,
                ..header(5, 100)
            };
            let mut w = EventStreamWriter::create(&path, h).unwrap();
            for k in 0..20 {
                w.record(k, &[1, 2]);
            }
            w.finish().unwrap();
            SpikeTrain::load(&path, None).unwrap_err().to_string()
        };
        // The header's steps * dt bounds every spike time (io::stream).
        let e = stream(1e308);
        assert!(
            e.contains("run.npz.spikes: bad .spikes header: 100 steps of dt reach inf ms"),
            "{e}"
        );
        let e = stream(1e14);
        assert!(
            e.contains("100 steps of dt reach 1e16 ms, more than"),
            "{e}"
        );
    }

    #[test]
    fn dense_files_check_their_time_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.npy");
        crate::io::save_npy(&path, &[false, true, true, false], &[2, 2], false).unwrap();
        for dt in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300] {
            let e = SpikeTrain::load(&path, Some(dt)).unwrap_err().to_string();
            assert!(
                e.starts_with("invalid parameter dt: must be a positive number"),
                "{dt}: {e}"
            );
        }
        // A finite dt whose times overflow.
        let e = SpikeTrain::load(&path, Some(1e15)).unwrap_err().to_string();
        assert!(e.contains("times[1] is 2000000000000000.0 ms"), "{e}");
        // Rows of no neurons hold no spikes however many rows the header claims.
        let empty = dir.path().join("e.npy");
        let header = npy::header_bytes(Elem::Bool, false, &[1 << 40, 0]);
        std::fs::write(&empty, header).unwrap();
        let t = SpikeTrain::load(&empty, Some(1e-3)).unwrap();
        assert_eq!((t.n, t.len()), (0, 0));
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
