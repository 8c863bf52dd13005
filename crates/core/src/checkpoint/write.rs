//! Writing a checkpoint: the members in order, each hashed as it is written.

use std::io::{Seek, Write};
use std::path::Path;

use super::{CheckpointMeta, EngineState, PartitionState, StateData};
use crate::error::Result;
use crate::io::npy::{self, NpyElem};
use crate::io::npz::{self, NpzWriter};
/// Writes a checkpoint atomically (a crash while writing leaves the previous one).
pub fn save(path: &Path, meta: &CheckpointMeta, state: &EngineState) -> Result<()> {
    let whole = state.joined()?;
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
        add_arrays(z, &mut hash, &whole)?;
        z.add(CHECKSUM, &[hash.0], &[])
    })
}

/// Writes the manifest of a checkpoint written by ranks (atomically): the
/// meta (whose `parts` name the ranks' files), the step and the pending
/// spikes, and no state array.
pub fn save_manifest(path: &Path, meta: &CheckpointMeta, step: u64, pending: &[u32]) -> Result<()> {
    let json = serde_json::to_vec(meta).expect("meta serialises");
    let meta_words: Vec<u32> = json.iter().map(|&b| u32::from(b)).collect();
    npz::save_npz(path, |z| {
        let mut hash = Fnv1a::new();
        add_hashed(z, &mut hash, "meta", &meta_words, &[json.len()])?;
        add_hashed(z, &mut hash, "step", &[step], &[])?;
        add_hashed(z, &mut hash, "pending", pending, &[pending.len()])?;
        z.add(CHECKSUM, &[hash.0], &[])
    })
}

/// Writes one rank's part of a checkpoint (atomically): the step, its
/// neurons (`range`, uint64 start and end) and its state arrays. Returns
/// the part's checksum, which the manifest records.
pub fn save_part(path: &Path, step: u64, part: &PartitionState) -> Result<u64> {
    let mut sum = 0;
    npz::save_npz(path, |z| {
        let mut hash = Fnv1a::new();
        add_hashed(z, &mut hash, "step", &[step], &[])?;
        let range = [part.range.start as u64, part.range.end as u64];
        add_hashed(z, &mut hash, "range", &range, &[2])?;
        add_arrays(z, &mut hash, part)?;
        sum = hash.0;
        z.add(CHECKSUM, &[hash.0], &[])
    })?;
    Ok(sum)
}

/// Adds the `state/<name>` member of each array of `part`.
fn add_arrays<W: Write + Seek>(
    z: &mut NpzWriter<W>,
    hash: &mut Fnv1a,
    part: &PartitionState,
) -> std::io::Result<()> {
    let n = part.range.len();
    for a in &part.arrays {
        let name = format!("state/{}", a.name);
        let shape = if a.width == 1 {
            vec![n]
        } else {
            vec![n, a.width]
        };
        let h = &mut *hash;
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
    Ok(())
}

/// The member that holds the checksum of all the others.
pub(super) const CHECKSUM: &str = "checksum";

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
pub(super) struct Fnv1a(pub(super) u64);

impl Fnv1a {
    pub(super) fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    pub(super) fn update(&mut self, bytes: &[u8]) {
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
