//! Checkpoints: the whole dynamic state of a running simulation, written to
//! an `.npz` file atomically, so a run can be resumed and end with exactly
//! the spikes it would have had without interruption.
//!
//! Each partition (range of neurons) reports its state as named arrays with a
//! fixed number of values per neuron, neuron-major ([`PartitionState`]). The
//! checkpoint stores them concatenated network-wide, so a run may be resumed
//! with another thread count: the arrays are cut again along the new ranges.
//! An engine that gains state (a new buffer) adds an array, and a line to its
//! table of what it saves (`DENSE`, `NETWORK` here): [`load`] refuses arrays
//! the table does not name.
//!
//! File layout (`.npz`, readable by `numpy.load`), format version
//! [`CHECKPOINT_VERSION`]:
//!
//! | member | content |
//! |---|---|
//! | `meta` | uint32: the bytes of UTF-8 JSON ([`CheckpointMeta`]: what ran, how to resume it) |
//! | `step` | uint64 scalar: steps done (the stream position's step) |
//! | `pending` | uint32: the neurons that spike at the next step, ascending |
//! | `state/<name>` | one array per state array, shape (N,) or (N, width) |
//! | `checksum` | uint64 scalar: 64-bit FNV-1a of every other member's file name (`meta.npy`, ...) and bytes, in archive order |
//!
//! Nothing in a checkpoint is taken on trust: [`load`] checks all of it
//! before a resume touches the stream or simulates a step.

use std::io::{Seek, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::npy::{self, Elem, NpyArray, NpyElem};
use crate::io::npz::{self, NpzReader, NpzWriter};
use crate::io::stream::StreamPosition;

/// The values of one state array.
#[derive(Clone, Debug, PartialEq)]
pub enum StateData {
    /// float64 values.
    F64(Vec<f64>),
    /// float32 values.
    F32(Vec<f32>),
    /// uint64 values (steps, generator states).
    U64(Vec<u64>),
    /// uint32 values (counters).
    U32(Vec<u32>),
    /// uint8 values (flags).
    U8(Vec<u8>),
}

impl StateData {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            StateData::F64(v) => v.len(),
            StateData::F32(v) => v.len(),
            StateData::U64(v) => v.len(),
            StateData::U32(v) => v.len(),
            StateData::U8(v) => v.len(),
        }
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn empty_like(&self) -> Self {
        match self {
            StateData::F64(_) => StateData::F64(Vec::new()),
            StateData::F32(_) => StateData::F32(Vec::new()),
            StateData::U64(_) => StateData::U64(Vec::new()),
            StateData::U32(_) => StateData::U32(Vec::new()),
            StateData::U8(_) => StateData::U8(Vec::new()),
        }
    }

    fn extend(&mut self, other: &StateData) -> bool {
        match (self, other) {
            (StateData::F64(a), StateData::F64(b)) => a.extend_from_slice(b),
            (StateData::F32(a), StateData::F32(b)) => a.extend_from_slice(b),
            (StateData::U64(a), StateData::U64(b)) => a.extend_from_slice(b),
            (StateData::U32(a), StateData::U32(b)) => a.extend_from_slice(b),
            (StateData::U8(a), StateData::U8(b)) => a.extend_from_slice(b),
            _ => return false,
        }
        true
    }

    fn slice(&self, r: Range<usize>) -> StateData {
        match self {
            StateData::F64(v) => StateData::F64(v[r].to_vec()),
            StateData::F32(v) => StateData::F32(v[r].to_vec()),
            StateData::U64(v) => StateData::U64(v[r].to_vec()),
            StateData::U32(v) => StateData::U32(v[r].to_vec()),
            StateData::U8(v) => StateData::U8(v[r].to_vec()),
        }
    }
}

/// One named piece of state: `width` values per neuron, neuron-major.
#[derive(Clone, Debug, PartialEq)]
pub struct StateArray {
    /// Its name (`v`, `refractory_until`, ...).
    pub name: String,
    /// Values per neuron.
    pub width: usize,
    /// The values, `width` per neuron, neuron after neuron.
    pub data: StateData,
}

impl StateArray {
    /// An array of `name` with `width` values per neuron.
    pub fn new(name: &str, width: usize, data: StateData) -> Self {
        Self {
            name: name.to_string(),
            width,
            data,
        }
    }
}

/// The state of one partition: neurons `range`, as named arrays.
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionState {
    /// The neurons (network-wide ids).
    pub range: Range<usize>,
    /// The arrays, each with `range.len() * width` values.
    pub arrays: Vec<StateArray>,
}

impl PartitionState {
    /// The array called `name`, checked to hold `width` values per neuron.
    pub fn array(&self, name: &str, width: usize) -> Result<&StateData> {
        let a =
            self.arrays.iter().find(|a| a.name == name).ok_or_else(|| {
                Error::param("checkpoint", format!("has no state array {name:?}"))
            })?;
        if a.width != width || a.data.len() != width * self.range.len() {
            return Err(Error::param(
                "checkpoint",
                format!(
                    "state array {name:?} has {} values ({} per neuron); this run needs {} per neuron for {} neurons",
                    a.data.len(),
                    a.width,
                    width,
                    self.range.len()
                ),
            ));
        }
        Ok(&a.data)
    }
}

/// The whole dynamic state of a simulation after `step` steps.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineState {
    /// Which engine (`dense`, `network`): a checkpoint resumes only on the same.
    pub engine: String,
    /// Steps done.
    pub step: u64,
    /// The neurons that spike at the next step (sorted ids).
    pub pending: Vec<u32>,
    /// The partitions' states, in range order.
    pub partitions: Vec<PartitionState>,
}

impl EngineState {
    /// The partitions joined into one network-wide partition.
    pub fn joined(&self) -> Result<PartitionState> {
        let bad = |m: String| Error::param("checkpoint", m);
        let first = self
            .partitions
            .first()
            .ok_or_else(|| bad("holds no partition".into()))?;
        let mut arrays: Vec<StateArray> = first
            .arrays
            .iter()
            .map(|a| StateArray::new(&a.name, a.width, a.data.empty_like()))
            .collect();
        let mut end = first.range.start;
        for p in &self.partitions {
            if p.range.start != end {
                return Err(bad(format!(
                    "partition ranges are not contiguous at neuron {end}"
                )));
            }
            end = p.range.end;
            for a in &mut arrays {
                let src = p.array(&a.name, a.width)?;
                if !a.data.extend(src) {
                    return Err(bad(format!("state array {:?} changes type", a.name)));
                }
            }
        }
        Ok(PartitionState {
            range: first.range.start..end,
            arrays,
        })
    }

    /// The pending spikes (see [`EngineState::pending`]) of neurons `range`:
    /// what a partition restored from `pending` holds as its own.
    pub fn pending_in<'a>(
        pending: &'a [u32],
        range: &'a Range<usize>,
    ) -> impl Iterator<Item = u32> + 'a {
        pending
            .iter()
            .copied()
            .filter(move |&j| range.contains(&(j as usize)))
    }

    /// The network-wide state cut into partitions `range`.
    pub fn cut(whole: &PartitionState, range: Range<usize>) -> Result<PartitionState> {
        if range.start < whole.range.start || range.end > whole.range.end {
            return Err(Error::param(
                "checkpoint",
                format!("holds neurons {:?}, not {range:?}", whole.range),
            ));
        }
        let local = range.start - whole.range.start..range.end - whole.range.start;
        Ok(PartitionState {
            range,
            arrays: whole
                .arrays
                .iter()
                .map(|a| {
                    StateArray::new(
                        &a.name,
                        a.width,
                        a.data.slice(local.start * a.width..local.end * a.width),
                    )
                })
                .collect(),
        })
    }
}

/// A simulation whose state can be saved and restored.
pub trait Checkpoint {
    /// The state now.
    fn save_state(&self) -> EngineState;
    /// Puts the simulation in `state` (from [`Checkpoint::save_state`] of the
    /// same network, possibly with another thread count); fails naming what
    /// does not match.
    fn restore_state(&mut self, state: &EngineState) -> Result<()>;
}

/// What a checkpoint records beside the state: the run and how to go on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointMeta {
    /// Checkpoint format version.
    pub version: u32,
    /// The engine (`dense`, `network`).
    pub engine: String,
    /// Neurons.
    pub n: u64,
    /// Time step (ms).
    pub dt: f64,
    /// Steps of the whole run.
    pub steps: u64,
    /// The `lifsim run` arguments that started the run (after `run`).
    pub args: Vec<String>,
    /// The folder it ran in (relative paths in `args` are from there).
    pub cwd: String,
    /// Output format (`dense`, `events`, `sonata`).
    pub format: String,
    /// The output file.
    pub out: String,
    /// The event stream being written.
    pub stream: String,
    /// Where the stream stood at the checkpoint.
    pub position: StreamPosition,
    /// The network file of a simulation run from Python (which has no
    /// arguments, output or stream): `lifsim.resume` builds it again from
    /// this. Absent from the CLI's checkpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

/// The checkpoint format version written. Version 2 added the `checksum`
/// member; a version 1 file cannot be verified and is refused.
pub const CHECKPOINT_VERSION: u32 = 2;

/// Writes a checkpoint atomically (a crash while writing leaves the previous one).
pub fn save(path: &Path, meta: &CheckpointMeta, state: &EngineState) -> Result<()> {
    let whole = state.joined()?;
    let n = whole.range.len();
    let json = serde_json::to_vec(meta).expect("meta serialises");
    let meta_words: Vec<u32> = json.iter().map(|&b| u32::from(b)).collect();
    npz::save_npz(path, |z| {
        let mut hash = Fnv1a::new();
        add_hashed(z, &mut hash, "meta", &meta_words, &[json.len()])?;
        add_hashed(z, &mut hash, "step", &[state.step], &[])?;
        add_hashed(
            z,
            &mut hash,
            "pending",
            &state.pending,
            &[state.pending.len()],
        )?;
        for a in &whole.arrays {
            let name = format!("state/{}", a.name);
            let shape = if a.width == 1 {
                vec![n]
            } else {
                vec![n, a.width]
            };
            let h = &mut hash;
            match &a.data {
                StateData::F64(v) => add_hashed(z, h, &name, v, &shape)?,
                StateData::F32(v) => add_hashed(z, h, &name, v, &shape)?,
                StateData::U64(v) => add_hashed(z, h, &name, v, &shape)?,
                StateData::U32(v) => add_hashed(z, h, &name, v, &shape)?,
                StateData::U8(v) => {
                    let b: Vec<bool> = v.iter().map(|&x| x != 0).collect();
                    add_hashed(z, h, &name, &b, &shape)?
                }
            }
        }
        z.add(CHECKSUM, &[hash.0], &[])
    })
}

/// The member that holds the checksum of all the others.
const CHECKSUM: &str = "checksum";

/// Adds member `name` to `z` and its file name and bytes (header and data,
/// exactly what [`NpzWriter::add_streamed`] writes) to `hash`, in one pass.
fn add_hashed<W: Write + Seek, T: NpyElem>(
    z: &mut NpzWriter<W>,
    hash: &mut Fnv1a,
    name: &str,
    values: &[T],
    shape: &[usize],
) -> std::io::Result<()> {
    hash.update(format!("{name}.npy").as_bytes());
    hash.update(&npy::header_bytes(T::ELEM, false, shape));
    z.add_streamed(name, T::ELEM, shape, |out| {
        T::write_le(values, &mut Tee { out, hash })
    })
}

/// 64-bit FNV-1a: the checkpoint checksum (a guard against corruption,
/// not against tampering).
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Passes bytes on to `out` and adds what was written to `hash`.
struct Tee<'a> {
    out: &'a mut dyn Write,
    hash: &'a mut Fnv1a,
}

impl Write for Tee<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Reads a checkpoint: its meta and the network-wide state (one partition).
///
/// Nothing in it is taken on trust: the version, the checksum of its arrays,
/// the meta, the step (the stream position's), the pending spikes (sorted
/// uint32 ids of its neurons) and every state array (the name, type, shape
/// and, where a run cannot produce anything else, finite values of what the
/// engine saves) are checked, each failure a one-line error naming the file.
/// What only the network can tell (that it has as many channels and inputs)
/// is checked when the state is restored.
pub fn load(path: &Path) -> Result<(CheckpointMeta, EngineState)> {
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
    let arrays = read_state(path, &members, &meta)?;
    let state = EngineState {
        engine: meta.engine.clone(),
        step,
        pending,
        partitions: vec![PartitionState {
            range: 0..n,
            arrays,
        }],
    };
    Ok((meta, state))
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
        if !arrays.iter().any(|(m, _)| m == "meta") {
            return Err(Error::file(path, "is not a lifsim checkpoint (no meta)"));
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

/// The seed model's dense engine (`Partition::save_state`).
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
        "dense" => DENSE.to_vec(),
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
const ENGINES: [&str; 2] = ["dense", "network"];

/// The `state/` members, each checked against what `meta.engine` saves.
fn read_state(path: &Path, members: &Members, meta: &CheckpointMeta) -> Result<Vec<StateArray>> {
    let bad = |m: String| Error::file(path, m);
    assert!(
        ENGINES.contains(&meta.engine.as_str()),
        "parse_meta checked the engine"
    );
    let schema = schema(&meta.engine);
    let mut arrays = Vec::new();
    let mut slots = None;
    for (member, a) in &members.arrays {
        let Some(name) = member.strip_prefix("state/") else {
            if !["meta", "step", "pending", CHECKSUM].contains(&member.as_str()) {
                return Err(bad(format!(
                    "has a member {member:?} that lifsim does not write"
                )));
            }
            continue;
        };
        let want = schema.iter().find(|x| x.matches(name)).ok_or_else(|| {
            bad(format!(
                "has a state array {name:?} that the {} engine does not save",
                meta.engine
            ))
        })?;
        let width = state_width(path, name, a, want, meta.n as usize, &mut slots)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineOptions, Simulation};
    use crate::inputs::{ExternalCurrent, InitialVoltage};
    use crate::model::LifParams;
    use crate::network::DenseView;
    use crate::recording::{RecordMode, Recorder};

    fn sim<'w>(w: &'w [f64], n: usize, p: &LifParams, threads: usize) -> Simulation<'w, f64> {
        Simulation::new(
            DenseView::new(n, w).unwrap(),
            p,
            &ExternalCurrent::Constant(25.0),
            &InitialVoltage::Uniform { seed: 9 },
            &EngineOptions {
                threads: Some(threads),
                isa: None,
            },
        )
        .unwrap()
    }

    /// The meta of a checkpoint at `step` (its stream position).
    fn meta(n: usize, p: &LifParams, step: u64) -> CheckpointMeta {
        CheckpointMeta {
            version: CHECKPOINT_VERSION,
            engine: "dense".into(),
            n: n as u64,
            dt: p.dt,
            steps: p.steps() as u64,
            args: vec!["--t-max".into(), "30".into()],
            cwd: "/".into(),
            format: "events".into(),
            out: "s.npz".into(),
            stream: "s.npz.spikes".into(),
            position: StreamPosition {
                step,
                bytes: 64,
                spikes: 0,
            },
            network: None,
        }
    }

    #[test]
    fn a_restored_run_goes_on_bit_for_bit_with_any_thread_count() {
        let n = 300;
        let w: Vec<f64> = (0..n * n)
            .map(|k| ((k * 7 % 23) as f64 - 11.0) / 8.0)
            .collect();
        let p = LifParams {
            t_max: 30.0,
            t_ref: 2.0,
            ..LifParams::default()
        };
        let mut whole = Recorder::new(RecordMode::Events, n, p.steps()).unwrap();
        sim(&w, n, &p, 1).run(&mut whole);
        let whole = whole.finish(p.dt);
        assert!(whole.total > 200);

        let mut first = sim(&w, n, &p, 3);
        let mut rec = Recorder::new(RecordMode::Events, n, p.steps()).unwrap();
        first.run_until(1234, &mut rec);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.npz");
        save(&path, &meta(n, &p, 1234), &first.save_state()).unwrap();
        drop(first);
        let (m, state) = load(&path).unwrap();
        assert_eq!(m, meta(n, &p, 1234));
        assert_eq!(state.step, 1234);
        // Resumed on another thread count, the rest of the run is the same.
        let mut second = sim(&w, n, &p, 2);
        second.restore_state(&state).unwrap();
        second.run(&mut rec);
        assert_eq!(rec.finish(p.dt).events, whole.events);
        // A checkpoint of another network is refused.
        let w2 = vec![0.0; 10 * 10];
        let e = sim(&w2, 10, &p, 1).restore_state(&state).unwrap_err();
        assert!(
            e.to_string()
                .contains("holds 300 neurons; this network has 10"),
            "{e}"
        );
    }

    /// Every spike, as (step, id).
    #[derive(Default)]
    struct Collect(Vec<(u64, u32)>);

    impl crate::recording::SpikeSink for Collect {
        fn record(&mut self, step: usize, fired: &[u32]) {
            self.0.extend(fired.iter().map(|&i| (step as u64, i)));
        }
    }

    /// A network with every kind of state the network engine has: delta
    /// synapses with delays (ring buffers), exponential synapses with and
    /// without delay (currents), refractoriness and Poisson input.
    const NETWORK: &str = r#"
        dt = 0.1
        duration = 300.0
        seed = 5
        [[population]]
        name = "E"
        size = 160
        tau_m = 20.0
        v_rest = -49.0
        v_reset = -60.0
        v_thresh = -50.0
        t_ref = 2.0
        r = 1.0
        v0 = { distribution = "uniform", low = -60.0, high = -50.0 }
        integration = "exact"
        [[population]]
        name = "I"
        size = 40
        tau_m = 10.0
        v_rest = -55.0
        v_reset = -60.0
        v_thresh = -50.0
        t_ref = 1.0
        r = 1.0
        v0 = -58.0
        integration = "exact"
        [[projection]]
        source = "E"
        target = ["E", "I"]
        rule = "fixed_probability"
        p = 0.1
        weight = 1.5
        delay = 1.2
        synapse = "exponential"
        tau_syn = 5.0
        [[projection]]
        source = "I"
        target = ["E"]
        rule = "fixed_indegree"
        indegree = 8
        weight = -2.0
        delay = 0.7
        synapse = "delta"
        [[projection]]
        source = "E"
        target = ["I"]
        rule = "fixed_probability"
        p = 0.05
        weight = 0.8
        delay = 0.0
        synapse = "exponential"
        tau_syn = 3.0
        [[input]]
        type = "poisson"
        target = ["E", "I"]
        rate = 900.0
        weight = 0.6
        synapse = "delta"
    "#;

    #[test]
    fn a_restored_network_goes_on_bit_for_bit_with_any_thread_count() {
        use crate::engine::NetworkSimulation;
        use crate::network::{Network, NetworkDescription};
        let desc = NetworkDescription::from_toml(NETWORK, Path::new("."), "mixed").unwrap();
        let net = Network::<f64>::build(&desc).unwrap();
        let n = net.n();
        let steps = desc.steps();
        let mut whole = Recorder::new(RecordMode::Events, n, steps).unwrap();
        NetworkSimulation::new(&net, Some(1))
            .unwrap()
            .run(&mut whole);
        let whole = whole.finish(desc.dt);
        assert!(whole.total > 500, "the network is active: {}", whole.total);

        let mut first = NetworkSimulation::new(&net, Some(3)).unwrap();
        let mut before = Collect::default();
        first.run_until(1111, &mut before);
        let state = first.save_state();
        let names: Vec<&str> = state.partitions[0]
            .arrays
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        for want in ["y", "until", "ring0", "dirty0", "poisson0"] {
            assert!(names.contains(&want), "{want} not in {names:?}");
        }
        assert!(names.iter().any(|n| n.starts_with("isyn")), "{names:?}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.npz");
        let mut m = meta(n, &LifParams::default(), 1111);
        m.engine = "network".into();
        save(&path, &m, &state).unwrap();
        drop(first);
        let (_, state) = load(&path).unwrap();
        for threads in [1, 2] {
            let mut second = NetworkSimulation::new(&net, Some(threads)).unwrap();
            second.restore_state(&state).unwrap();
            let mut after = Collect::default();
            second.run(&mut after);
            let all: Vec<(u64, u32)> = before.0.iter().chain(&after.0).copied().collect();
            let events = whole.events.as_ref().unwrap();
            let want: Vec<(u64, u32)> = events
                .steps
                .iter()
                .copied()
                .zip(events.ids.iter().copied())
                .collect();
            assert_eq!(all, want, "{threads} threads");
        }
        // A dense checkpoint does not restore a network.
        let dense = EngineState {
            engine: "dense".into(),
            ..state
        };
        let mut other = NetworkSimulation::new(&net, None).unwrap();
        let e = other.restore_state(&dense).unwrap_err();
        assert!(e.to_string().contains("not the network engine"), "{e}");
    }

    /// A small dense state at step 7 and its meta.
    fn small() -> (CheckpointMeta, EngineState) {
        let p = LifParams::default();
        let state = EngineState {
            engine: "dense".into(),
            step: 7,
            pending: vec![1, 3],
            partitions: vec![PartitionState {
                range: 0..4,
                arrays: vec![
                    StateArray::new("v", 1, StateData::F64(vec![-60.0, -50.0, -55.0, -49.0])),
                    StateArray::new("refractory_until", 1, StateData::U64(vec![u64::MAX; 4])),
                ],
            }],
        };
        (meta(4, &p, 7), state)
    }

    /// What `load` says of a checkpoint `save` wrote from `meta` and `state`
    /// (so with a checksum that holds: the other checks answer).
    fn refusal(meta: &CheckpointMeta, state: &EngineState) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.npz");
        save(&path, meta, state).unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.starts_with(&path.display().to_string()), "{e}");
        assert_eq!(e.lines().count(), 1, "{e}");
        e
    }

    #[test]
    fn an_inconsistent_checkpoint_is_refused_naming_what_is_wrong() {
        let (m, s) = small();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.npz");
        save(&path, &m, &s).unwrap();
        assert_eq!(load(&path).unwrap(), (m.clone(), s.clone()));

        let with = |f: &dyn Fn(&mut CheckpointMeta, &mut EngineState)| {
            let (mut m, mut s) = small();
            f(&mut m, &mut s);
            refusal(&m, &s)
        };
        fn arrays(s: &mut EngineState) -> &mut Vec<StateArray> {
            &mut s.partitions[0].arrays
        }
        /// A change that makes a checkpoint inconsistent.
        type Change = Box<dyn Fn(&mut CheckpointMeta, &mut EngineState)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "is at step 9 but its stream position is step 7",
                Box::new(|_, s| s.step = 9),
            ),
            (
                "is at step 5 but its stream position is step 7",
                Box::new(|_, s| s.step = 5),
            ),
            (
                "stream position is step 99999 of a run of 9999 steps",
                Box::new(|m, s| {
                    m.position.step = 99_999;
                    s.step = 99_999;
                }),
            ),
            ("version 1 checkpoint", Box::new(|m, _| m.version = 1)),
            ("from a newer lifsim", Box::new(|m, _| m.version = 3)),
            (
                "unknown engine \"sparse\"",
                Box::new(|m, s| {
                    m.engine = "sparse".into();
                    s.engine = "sparse".into();
                }),
            ),
            (
                "pending spike of neuron 4, in a network of 4",
                Box::new(|_, s| s.pending = vec![1, 4]),
            ),
            (
                "not sorted and unique (3 before 1)",
                Box::new(|_, s| s.pending = vec![3, 1]),
            ),
            (
                "not sorted and unique (2 before 2)",
                Box::new(|_, s| s.pending = vec![2, 2]),
            ),
            (
                "state/v holds NaN at index 2",
                Box::new(|_, s| {
                    arrays(s)[0].data = StateData::F64(vec![-60.0, -50.0, f64::NAN, -49.0])
                }),
            ),
            (
                "state/v holds -inf at index 0",
                Box::new(|_, s| {
                    arrays(s)[0].data = StateData::F64(vec![f64::NEG_INFINITY, -50.0, -55.0, -49.0])
                }),
            ),
            (
                "state/v is a float32 array of shape (4,); the engine saves a float64",
                Box::new(|_, s| arrays(s)[0].data = StateData::F32(vec![-60.0; 4])),
            ),
            (
                "\"w\" that the dense engine does not save",
                Box::new(|_, s| {
                    arrays(s).push(StateArray::new("w", 1, StateData::F64(vec![0.0; 4])))
                }),
            ),
            (
                "has no state array refractory_until",
                Box::new(|_, s| {
                    arrays(s).pop();
                }),
            ),
        ];
        for (want, change) in &cases {
            let e = with(change.as_ref());
            assert!(e.contains(want), "{want:?} not in {e}");
        }
    }

    #[test]
    fn a_network_checkpoint_is_checked_against_what_the_engine_saves() {
        let (mut m, _) = small();
        m.engine = "network".into();
        let n = 4;
        let state = |extra: Vec<StateArray>| EngineState {
            engine: "network".into(),
            step: 7,
            pending: vec![],
            partitions: vec![PartitionState {
                range: 0..n,
                arrays: [
                    StateArray::new("y", 1, StateData::F64(vec![0.5; n])),
                    StateArray::new("until", 1, StateData::F64(vec![0.0; n])),
                ]
                .into_iter()
                .chain(extra)
                .collect(),
            }],
        };
        let ring = |k: usize, w: usize| {
            StateArray::new(&format!("ring{k}"), w, StateData::F64(vec![0.0; n * w]))
        };
        let dirty = |k: usize, w: usize| {
            StateArray::new(&format!("dirty{k}"), w, StateData::U8(vec![0; n * w]))
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.npz");
        let good = state(vec![ring(0, 4), dirty(0, 4), ring(1, 4), dirty(1, 4)]);
        save(&path, &m, &good).unwrap();
        assert_eq!(load(&path).unwrap().1, good);
        for (arrays, want) in [
            (vec![ring(0, 4)], "has state array ring0 without dirty0"),
            (
                vec![
                    StateArray::new("ring0", 2, StateData::F64(vec![0.0, 0.0, 0.0, 1.5, 0.0, 0.0, 0.0, 0.0])),
                    StateArray::new("dirty0", 2, StateData::U8(vec![1, 0, 1, 0, 1, 0, 1, 0])),
                ],
                "state/ring0 holds 1.5 for neuron 1 in slot 1, which state/dirty0 says is empty",
            ),
            (vec![ring(0, 4), dirty(0, 4), ring(1, 2), dirty(1, 2)], "state/ring1 has 2 ring-buffer slots per neuron where another array has 4"),
            (vec![StateArray::new("poisson0", 2, StateData::U64(vec![1; n * 2]))], "state/poisson0 is a uint64 array of shape (4, 2); the engine saves a uint64 array of shape (4, 4)"),
            (vec![StateArray::new("isyn01", 1, StateData::F64(vec![0.0; n]))], "\"isyn01\" that the network engine does not save"),
            (vec![StateArray::new("isyn0", 1, StateData::F64(vec![0.0, f64::NAN, 0.0, 0.0]))], "state/isyn0 holds NaN at index 1"),
        ] {
            let e = refusal(&m, &state(arrays));
            assert!(e.contains(want), "{want:?} not in {e}");
        }
    }

    #[test]
    fn a_corrupt_byte_fails_the_checksum() {
        let (m, s) = small();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ck.npz");
        save(&path, &m, &s).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        // The last byte of v's data (-49.0's sign and exponent): the
        // member's CRC-32 catches it first; the checkpoint's own checksum is
        // behind it for a member rewritten with a fresh CRC.
        let v = (-49.0f64).to_le_bytes();
        let at = bytes.windows(8).position(|w| w == v).unwrap() + 7;
        bytes[at] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("corrupt archive member"), "{e}");
    }
}
