//! Reading spike files back: any file lifsim writes (dense `.npy`, events
//! `.npz`, `.spikes` stream, SONATA `.h5`), told apart by its first bytes,
//! checked before it is believed.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::io::npy::{Elem, NpyArray};
use crate::io::npz::NpzReader;
use crate::io::recorded::{self, IdRanges};
use crate::io::stream::{self, EventStream, PopulationRange};
use crate::model::MAX_TIME_MS;
use crate::resources;

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
    stream::populations_from("population_names", names, starts, stops, n)
        .map_err(|e| Error::file(path, e))
}

/// The `recorded_starts` and `recorded_stops` arrays of an events `.npz`
/// (none: every neuron recorded), checked against its `n` ids.
fn recorded_of_npz(
    path: &Path,
    z: &mut NpzReader,
    members: &[String],
    n: u64,
) -> Result<Option<IdRanges>> {
    let has = |m: &str| members.iter().any(|x| x == m);
    match (has("recorded_starts"), has("recorded_stops")) {
        (false, false) => return Ok(None),
        (true, true) => {}
        _ => {
            return Err(Error::file(
                path,
                "has one of recorded_starts, recorded_stops but not both",
            ))
        }
    }
    let starts = z.array("recorded_starts")?.to_u64_vec()?;
    let stops = z.array("recorded_stops")?.to_u64_vec()?;
    recorded::from_arrays("recorded_starts", starts, stops, n)
        .map(Some)
        .map_err(|e| Error::file(path, e))
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
    /// The neurons whose spikes the file holds, where the run recorded some
    /// only ([`crate::io::recorded`]); `None`: every neuron's.
    pub recorded: Option<IdRanges>,
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
        if let Some(r) = &self.recorded {
            recorded::check(r, self.n as u64).map_err(|e| Error::file(path, e))?;
            if let Some(k) = self.ids.iter().position(|&i| !recorded::contains(r, i)) {
                return bad(format!(
                    "ids[{k}] is {}, a neuron the file says was not recorded",
                    self.ids[k]
                ));
            }
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
            recorded: None,
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
        let recorded = recorded_of_npz(path, &mut z, &names, n)?;
        Ok(Self {
            kind: SpikeFileKind::Events,
            n: n as usize,
            dt,
            duration_ms,
            times,
            ids,
            population: None,
            populations,
            recorded,
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
            recorded: h.recorded.clone(),
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

    /// Neurons whose spikes the file holds: the recorded ones, or all N.
    pub fn recorded_neurons(&self) -> usize {
        self.recorded
            .as_ref()
            .map_or(self.n, |r| recorded::count(r) as usize)
    }

    /// Mean firing rate over the neurons whose spikes the file holds (Hz):
    /// all N, or the recorded ones.
    pub fn mean_rate_hz(&self) -> f64 {
        crate::recording::rate_hz(self.len() as u64, self.recorded_neurons(), self.duration_ms)
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
