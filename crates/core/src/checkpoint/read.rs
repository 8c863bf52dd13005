//! Reading a checkpoint back, trusting nothing: every member is checked
//! against the schema of the engine that wrote it before a resume uses it.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::write::{Fnv1a, CHECKSUM};
use super::*;
use crate::io::npy::{Elem, NpyArray};
use crate::io::npz::NpzReader;

/// Reads a checkpoint: its meta and the network-wide state (one partition,
/// or one per rank file).
///
/// Nothing in it is taken on trust: the version, the checksum of its arrays,
/// the meta, the step (the stream position's), the pending spikes (sorted
/// uint32 ids of its neurons) and every state array (the name, type, shape
/// and, where a run cannot produce anything else, finite values of what the
/// engine saves) are checked, each failure a one-line error naming the file.
/// What only the network can tell (that it has as many channels and inputs)
/// is checked when the state is restored.
pub fn load(path: &Path) -> Result<(CheckpointMeta, EngineState)> {
    let (meta, opened) = open(path)?;
    Ok((meta, opened.state()?))
}

/// Reads a checkpoint but for its rank files: its meta, step and pending
/// spikes, a one-file checkpoint's state, and a manifest's list of rank
/// files (checked to cover the network's neurons once), each checked as
/// [`load`] checks them. [`Opened::state`] then reads every rank file,
/// [`Opened::state_of`] only those of some neurons (one rank's resume).
pub fn open(path: &Path) -> Result<(CheckpointMeta, Opened)> {
    let members = Members::read(path)?;
    let json = meta_json(path, members.get("meta")?)?;
    check_version(path, &json)?;
    members.verify_checksum()?;
    let meta = parse_meta(path, &json)?;
    let n = meta.n as usize;
    let step = scalar_u64(path, members.get("step")?, "step")?;
    if step != meta.position.step {
        return Err(Error::file(
            path,
            format!(
                "is at step {step} but its stream position is step {}: a checkpoint holds the state of the step its stream stops at",
                meta.position.step
            ),
        ));
    }
    let pending = read_pending(path, members.get("pending")?, n)?;
    let (whole, parts) = if meta.parts.is_empty() {
        let arrays = read_state(path, &members, &meta.engine, n)?;
        let whole = PartitionState {
            range: 0..n,
            arrays,
        };
        (Some(whole), Vec::new())
    } else {
        if let Some((m, _)) = members.arrays.iter().find(|(m, _)| m.starts_with("state/")) {
            return Err(Error::file(
                path,
                format!("names rank files and holds {m} too; lifsim writes one or the other"),
            ));
        }
        (None, part_files(path, &meta)?)
    };
    let opened = Opened {
        path: path.to_path_buf(),
        engine: meta.engine.clone(),
        n,
        step,
        pending,
        whole,
        parts,
    };
    Ok((meta, opened))
}

/// A checkpoint read by [`open`], but for the state in its rank files.
#[derive(Debug)]
pub struct Opened {
    /// The checkpoint (the manifest, where there are rank files).
    path: PathBuf,
    engine: String,
    /// The network's neurons.
    n: usize,
    step: u64,
    pending: Vec<u32>,
    /// A one-file checkpoint's state, read with it.
    whole: Option<PartitionState>,
    /// A manifest's rank files, in neuron order, covering the neurons once.
    parts: Vec<PartFile>,
}

impl Opened {
    /// The state of every neuron: every rank file read and checked (as
    /// [`load`] does).
    pub fn state(self) -> Result<EngineState> {
        self.read(|_, _| true)
    }

    /// The state of at least `neurons`, for a process (an MPI rank) that
    /// runs only those: of a checkpoint written by ranks, only the rank
    /// files holding some of them are read and checked (the others are not
    /// opened, so each of K ranks reads about 1/K of the state); a one-file
    /// checkpoint's state is the whole network's. The pending spikes are
    /// always the whole network's (the manifest's).
    pub fn state_of(self, neurons: Range<usize>) -> Result<EngineState> {
        if neurons.start > neurons.end || neurons.end > self.n {
            return Err(Error::file(
                &self.path,
                format!(
                    "is a checkpoint of {} neurons; this process runs neurons {}..{}",
                    self.n, neurons.start, neurons.end
                ),
            ));
        }
        let (a, b) = (neurons.start as u64, neurons.end as u64);
        // No neurons (a rank the split left none): the one file at their
        // place, so that the state still names every array.
        let at = if a == b {
            (self.parts.iter()).position(|p| p.start <= a && a <= p.end && p.start < p.end)
        } else {
            None
        };
        self.read(|i, p| match at {
            Some(at) => i == at,
            None => p.start < b && a < p.end,
        })
    }

    /// The state, from the rank files `keep` selects by their place in
    /// neuron order.
    fn read(self, keep: impl Fn(usize, &PartFile) -> bool) -> Result<EngineState> {
        let partitions = match self.whole {
            Some(whole) => vec![whole],
            None => self
                .parts
                .iter()
                .enumerate()
                .filter(|&(i, p)| keep(i, p))
                .map(|(_, p)| read_part(&self.path, &self.engine, self.step, p))
                .collect::<Result<_>>()?,
        };
        Ok(EngineState {
            engine: self.engine,
            step: self.step,
            pending: self.pending,
            partitions,
        })
    }
}

/// The rank files a manifest names, in neuron order, checked to cover the
/// network's neurons once (the files themselves are read by [`read_part`]).
fn part_files(manifest: &Path, meta: &CheckpointMeta) -> Result<Vec<PartFile>> {
    let mut files = meta.parts.clone();
    files.sort_by_key(|p| p.start);
    let mut next = 0u64;
    for p in &files {
        if p.start != next || p.end < p.start {
            return Err(Error::file(
                manifest,
                format!(
                    "names rank files of neurons {}..{} where neuron {next} is next: they do not cover the network's {} neurons once",
                    p.start, p.end, meta.n
                ),
            ));
        }
        next = p.end;
    }
    if next != meta.n {
        return Err(Error::file(
            manifest,
            format!(
                "names rank files of neurons 0..{next}; the network has {} neurons",
                meta.n
            ),
        ));
    }
    Ok(files)
}

/// One rank file a manifest names, checked: its checksum, the one the
/// manifest records, its step and neurons, and its state arrays.
fn read_part(manifest: &Path, engine: &str, step: u64, p: &PartFile) -> Result<PartitionState> {
    let path = manifest.with_file_name(&p.file);
    if !path.is_file() {
        return Err(Error::file(
            manifest,
            format!(
                "names the rank file {} (neurons {}..{}), which is missing; copy every file of the checkpoint together",
                path.display(),
                p.start,
                p.end
            ),
        ));
    }
    let members = Members::read_part(&path)?;
    members.verify_checksum()?;
    if members.hash != p.checksum {
        return Err(Error::file(
            &path,
            format!(
                "is not the rank file {} was written with (checksum {:016x}; the manifest says {:016x})",
                manifest.display(),
                members.hash,
                p.checksum
            ),
        ));
    }
    let own_step = scalar_u64(&path, members.get("step")?, "step")?;
    let range = members.get("range")?.to_u64_vec()?;
    if own_step != step || range != [p.start, p.end] {
        return Err(Error::file(
            &path,
            format!(
                "holds step {own_step}, neurons {range:?}; the manifest {} says step {step}, neurons [{}, {}]",
                manifest.display(),
                p.start,
                p.end
            ),
        ));
    }
    let n = (p.end - p.start) as usize;
    let arrays = read_state(&path, &members, engine, n)?;
    Ok(PartitionState {
        range: p.start as usize..p.end as usize,
        arrays,
    })
}

/// Every member of a checkpoint, read and parsed, with the checksum of all
/// but [`CHECKSUM`] computed as they were read.
struct Members<'p> {
    path: &'p Path,
    arrays: Vec<(String, NpyArray)>,
    hash: u64,
}

impl<'p> Members<'p> {
    /// Reads every member of `path`, in archive order.
    fn read(path: &'p Path) -> Result<Self> {
        let m = Self::read_any(path)?;
        if !m.arrays.iter().any(|(m, _)| m == "meta") {
            return Err(Error::file(path, "is not a lifsim checkpoint (no meta)"));
        }
        Ok(m)
    }

    /// Reads every member of a rank's file of a checkpoint.
    fn read_part(path: &'p Path) -> Result<Self> {
        let m = Self::read_any(path)?;
        if !m.arrays.iter().any(|(m, _)| m == "range") {
            return Err(Error::file(
                path,
                "is not a rank file of a lifsim checkpoint (no range)",
            ));
        }
        Ok(m)
    }

    fn read_any(path: &'p Path) -> Result<Self> {
        let mut z = NpzReader::open(path)?;
        let mut hash = Fnv1a::new();
        let mut arrays = Vec::new();
        for name in z.names() {
            let bytes = z.member_bytes(&name)?;
            if name != CHECKSUM {
                hash.update(format!("{name}.npy").as_bytes());
                hash.update(&bytes);
            }
            let label = PathBuf::from(format!("{}:{name}", path.display()));
            arrays.push((name, NpyArray::from_bytes(&label, bytes)?));
        }
        Ok(Self {
            path,
            arrays,
            hash: hash.0,
        })
    }

    /// Member `name`; fails if there is none.
    fn get(&self, name: &str) -> Result<&NpyArray> {
        self.arrays
            .iter()
            .find(|(m, _)| m == name)
            .map(|(_, a)| a)
            .ok_or_else(|| Error::file(self.path, format!("has no {name} member; it is corrupt")))
    }

    /// Fails unless the stored checksum is that of the other members.
    fn verify_checksum(&self) -> Result<()> {
        let stored = scalar_u64(self.path, self.get(CHECKSUM)?, CHECKSUM)?;
        if stored != self.hash {
            return Err(Error::file(
                self.path,
                format!(
                    "its contents do not match its checksum ({:016x}, stored {stored:016x}): the file is corrupt",
                    self.hash
                ),
            ));
        }
        Ok(())
    }
}

/// The meta member's bytes: uint32 values, each a byte of the JSON.
fn meta_json(path: &Path, a: &NpyArray) -> Result<Vec<u8>> {
    let h = a.header();
    if h.elem != Elem::U32 || h.shape.len() != 1 {
        return Err(Error::file(
            path,
            format!("meta is a {}, not the uint32 bytes of JSON", h.describe()),
        ));
    }
    a.to_u64_vec()?
        .into_iter()
        .map(|b| {
            u8::try_from(b).map_err(|_| {
                Error::file(path, format!("meta holds {b}, which is not a byte of JSON"))
            })
        })
        .collect()
}

/// Refuses a checkpoint of another format version, before anything else in
/// it is read as this version's.
fn check_version(path: &Path, json: &[u8]) -> Result<()> {
    #[derive(Deserialize)]
    struct Versioned {
        version: u32,
    }
    let v: Versioned = serde_json::from_slice(json)
        .map_err(|e| Error::file(path, format!("bad checkpoint meta ({e})")))?;
    let why = match v.version {
        CHECKPOINT_VERSION => return Ok(()),
        old if old < CHECKPOINT_VERSION => format!(
            "is a version {old} checkpoint, which this lifsim does not read (version {CHECKPOINT_VERSION} adds a checksum); resume it with the lifsim that wrote it, or start the run again"
        ),
        new => format!(
            "is a version {new} checkpoint, from a newer lifsim; this one reads version {CHECKPOINT_VERSION}"
        ),
    };
    Err(Error::file(path, why))
}

/// The meta, with every field checked against what a run writes.
fn parse_meta(path: &Path, json: &[u8]) -> Result<CheckpointMeta> {
    let bad = |m: String| Error::file(path, format!("bad checkpoint meta: {m}"));
    let meta: CheckpointMeta = serde_json::from_slice(json).map_err(|e| bad(format!("{e}")))?;
    if !ENGINES.contains(&meta.engine.as_str()) {
        return Err(bad(format!("unknown engine {:?}", meta.engine)));
    }
    if meta.n == 0 || usize::try_from(meta.n).is_err() {
        return Err(bad(format!("{} neurons", meta.n)));
    }
    if !(meta.dt.is_finite() && meta.dt > 0.0) {
        return Err(bad(format!("time step {} ms", meta.dt)));
    }
    if meta.position.step > meta.steps {
        return Err(bad(format!(
            "its stream position is step {} of a run of {} steps",
            meta.position.step, meta.steps
        )));
    }
    if !["dense", "events", "sonata"].contains(&meta.format.as_str()) {
        return Err(bad(format!("unknown output format {:?}", meta.format)));
    }
    Ok(meta)
}

/// A uint64 scalar member (`step`, `checksum`).
fn scalar_u64(path: &Path, a: &NpyArray, name: &str) -> Result<u64> {
    let h = a.header();
    match (h.elem, &h.shape[..], a.to_u64_vec()) {
        (Elem::U64, [], Ok(v)) if v.len() == 1 => Ok(v[0]),
        _ => Err(Error::file(
            path,
            format!("{name} is a {}, not a uint64 scalar", h.describe()),
        )),
    }
}

/// The pending spikes: uint32 ids of neurons `0..n`, strictly increasing
/// (as the engines report them).
fn read_pending(path: &Path, a: &NpyArray, n: usize) -> Result<Vec<u32>> {
    let h = a.header();
    if h.elem != Elem::U32 || h.shape.len() != 1 {
        return Err(Error::file(
            path,
            format!(
                "pending is a {}; lifsim writes its neuron ids as a uint32 array",
                h.describe()
            ),
        ));
    }
    let ids: Vec<u32> = a.to_u64_vec()?.into_iter().map(|i| i as u32).collect();
    if let Some(&i) = ids.iter().find(|&&i| i as usize >= n) {
        return Err(Error::file(
            path,
            format!("pending spike of neuron {i}, in a network of {n} neurons"),
        ));
    }
    if let Some(w) = ids.windows(2).find(|w| w[0] >= w[1]) {
        return Err(Error::file(
            path,
            format!(
                "pending spikes are not sorted and unique ({} before {})",
                w[0], w[1]
            ),
        ));
    }
    Ok(ids)
}

/// How many values per neuron a state array holds.
#[derive(Clone, Copy)]
enum Width {
    /// This many.
    Fixed(usize),
    /// One per ring-buffer slot: any number, the same for every such array.
    Slots,
}

/// A state array an engine saves (see the engines' `save_state`).
#[derive(Clone)]
struct Expected {
    /// Its name; a trailing `#` stands for a channel or input number.
    name: &'static str,
    elem: Elem,
    width: Width,
    /// Whether every value must be finite: no run produces a NaN (or an
    /// infinity) there, and one would silently change the rest of the run
    /// (a NaN potential never reaches threshold).
    finite: bool,
    /// Whether every checkpoint of the engine has it.
    required: bool,
    /// An array that goes with it, with the same number.
    paired: Option<&'static str>,
}

impl Expected {
    const fn new(name: &'static str, elem: Elem, width: Width, finite: bool) -> Self {
        Self {
            name,
            elem,
            width,
            finite,
            required: false,
            paired: None,
        }
    }

    const fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }

    const fn paired(self, with: &'static str) -> Self {
        Self {
            paired: Some(with),
            ..self
        }
    }

    /// Whether `name` is one of these arrays.
    fn matches(&self, name: &str) -> bool {
        match self.name.strip_suffix('#') {
            None => name == self.name,
            Some(stem) => name
                .strip_prefix(stem)
                .is_some_and(|k| k.parse::<usize>().is_ok_and(|k2| k2.to_string() == k)),
        }
    }

    /// The name of the array that goes with `name` (this kind's), if any.
    fn partner(&self, name: &str) -> Option<String> {
        let stem = self.name.strip_suffix('#')?;
        let k = name.strip_prefix(stem)?;
        Some(format!("{}{k}", self.paired?.strip_suffix('#')?))
    }
}

/// The seed model's dense engine of earlier versions (`v`, and the last
/// step each neuron is held at), which the seed's run translates
/// (`engine/seed.rs`).
const DENSE: &[Expected] = &[
    Expected::new("v", Elem::F64, Width::Fixed(1), true).required(),
    Expected::new("refractory_until", Elem::U64, Width::Fixed(1), false).required(),
];

/// The network engine (`Part::save_state`): beside these, the state arrays
/// of its neuron models ([`crate::neuron::state_name_patterns`]).
const NETWORK: &[Expected] = &[
    Expected::new("until", Elem::F64, Width::Fixed(1), true).required(),
    Expected::new("ring#", Elem::F64, Width::Slots, true).paired("dirty#"),
    Expected::new("dirty#", Elem::Bool, Width::Slots, false).paired("ring#"),
    Expected::new("poisson#", Elem::U64, Width::Fixed(4), false),
];

/// The arrays a checkpoint of `engine` may hold.
fn schema(engine: &str) -> Vec<Expected> {
    match engine {
        super::DENSE_ENGINE => DENSE.to_vec(),
        _ => NETWORK
            .iter()
            .cloned()
            .chain(
                crate::neuron::state_name_patterns()
                    .into_iter()
                    .map(|n| Expected::new(n, Elem::F64, Width::Fixed(1), true)),
            )
            .collect(),
    }
}

/// The engines whose checkpoints are read.
const ENGINES: [&str; 2] = [super::DENSE_ENGINE, super::ENGINE];

/// The `state/` members of `n` neurons, each checked against what `engine`
/// saves.
fn read_state(path: &Path, members: &Members, engine: &str, n: usize) -> Result<Vec<StateArray>> {
    let bad = |m: String| Error::file(path, m);
    assert!(ENGINES.contains(&engine), "parse_meta checked the engine");
    let schema = schema(engine);
    let mut arrays = Vec::new();
    let mut slots = None;
    for (member, a) in &members.arrays {
        let Some(name) = member.strip_prefix("state/") else {
            if !["meta", "step", "pending", "range", CHECKSUM].contains(&member.as_str()) {
                return Err(bad(format!(
                    "has a member {member:?} that lifsim does not write"
                )));
            }
            continue;
        };
        let want = schema.iter().find(|x| x.matches(name)).ok_or_else(|| {
            bad(format!(
                "has a state array {name:?} that the {engine} engine does not save"
            ))
        })?;
        let width = state_width(path, name, a, want, n, &mut slots)?;
        let data = decode(a).expect("state_width checked the type");
        check_values(path, name, &data, want)?;
        if let Some(partner) = want.partner(name) {
            if !members
                .arrays
                .iter()
                .any(|(m, _)| m.strip_prefix("state/") == Some(&partner))
            {
                return Err(bad(format!("has state array {name} without {partner}")));
            }
        }
        arrays.push(StateArray::new(name, width, data));
    }
    if let Some(missing) = schema
        .iter()
        .find(|x| x.required && !arrays.iter().any(|a| a.name == x.name))
    {
        return Err(bad(format!("has no state array {}", missing.name)));
    }
    check_rings(path, &arrays)?;
    Ok(arrays)
}

/// Refuses a ring buffer holding input in a slot its dirty flags call empty:
/// the engine never reads such a slot (it holds zeros), so the input would be
/// silently lost, or added in later at the wrong step.
fn check_rings(path: &Path, arrays: &[StateArray]) -> Result<()> {
    for ring in arrays.iter().filter(|a| a.name.starts_with("ring")) {
        let flags = format!("dirty{}", &ring.name["ring".len()..]);
        let dirty = arrays.iter().find(|a| a.name == flags);
        let (StateData::F64(values), Some(StateData::U8(dirty))) =
            (&ring.data, dirty.map(|d| &d.data))
        else {
            continue;
        };
        if let Some(k) = (0..values.len()).find(|&k| values[k] != 0.0 && dirty[k] == 0) {
            return Err(Error::file(
                path,
                format!(
                    "state/{} holds {} for neuron {} in slot {}, which state/{flags} says is empty: the checkpoint is corrupt",
                    ring.name,
                    values[k],
                    k / ring.width,
                    k % ring.width
                ),
            ));
        }
    }
    Ok(())
}

/// The values per neuron of state array `name`, checked against `want`:
/// its type, and a row-major shape `(n,)` or `(n, width)`.
fn state_width(
    path: &Path,
    name: &str,
    a: &NpyArray,
    want: &Expected,
    n: usize,
    slots: &mut Option<usize>,
) -> Result<usize> {
    let h = a.header();
    let bad = || {
        Error::file(
            path,
            format!(
                "state/{name} is a {}; the engine saves a {} array of shape ({n}{})",
                h.describe(),
                want.elem.name(),
                match want.width {
                    Width::Fixed(1) => ",".to_string(),
                    Width::Fixed(w) => format!(", {w}"),
                    Width::Slots => ", slots".to_string(),
                }
            ),
        )
    };
    let width = match h.shape[..] {
        [m] if m == n => 1,
        [m, w] if m == n && !h.fortran_order && w > 1 => w,
        _ => return Err(bad()),
    };
    match want.width {
        _ if h.elem != want.elem => return Err(bad()),
        Width::Fixed(w) if w != width => return Err(bad()),
        Width::Fixed(_) => {}
        Width::Slots => {
            if *slots.get_or_insert(width) != width {
                return Err(Error::file(
                    path,
                    format!(
                        "state/{name} has {width} ring-buffer slots per neuron where another array has {}",
                        slots.unwrap_or(0)
                    ),
                ));
            }
        }
    }
    Ok(width)
}

/// The values of a state array, by its type.
fn decode(a: &NpyArray) -> Option<StateData> {
    Some(match a.header().elem {
        Elem::F64 => StateData::F64(a.to_f64_vec()),
        // float32 -> float64 -> float32 is exact.
        Elem::F32 => StateData::F32(a.to_f64_vec().into_iter().map(|x| x as f32).collect()),
        Elem::U64 => StateData::U64(a.to_u64_vec().ok()?),
        Elem::U32 => StateData::U32(a.to_u64_vec().ok()?.into_iter().map(|x| x as u32).collect()),
        Elem::Bool => StateData::U8(a.data().to_vec()),
        Elem::I32 | Elem::I64 => return None,
    })
}

/// Refuses values no run produces: non-finite floats where `want` says so,
/// bools other than 0 and 1.
fn check_values(path: &Path, name: &str, data: &StateData, want: &Expected) -> Result<()> {
    let first_bad = match data {
        StateData::F64(v) if want.finite => v
            .iter()
            .position(|x| !x.is_finite())
            .map(|i| (i, v[i].to_string())),
        StateData::F32(v) if want.finite => v
            .iter()
            .position(|x| !x.is_finite())
            .map(|i| (i, v[i].to_string())),
        StateData::U8(v) => v
            .iter()
            .position(|&b| b > 1)
            .map(|i| (i, format!("{} as a bool", v[i]))),
        _ => None,
    };
    match first_bad {
        None => Ok(()),
        Some((i, x)) => Err(Error::file(
            path,
            format!("state/{name} holds {x} at index {i}, which no run produces: the checkpoint is corrupt"),
        )),
    }
}
