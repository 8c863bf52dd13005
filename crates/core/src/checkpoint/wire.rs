//! One partition's state as bytes, for the ranks of a distributed run to
//! send theirs to rank 0, which writes the checkpoint: the range, then each
//! array's name, width, type and values (little-endian). Written and read
//! by the same binary in one job; not a file format.

use super::{PartitionState, StateArray, StateData};
use crate::error::{Error, Result};

/// `p` as bytes ([`decode`] reads them back).
pub fn encode(p: &PartitionState) -> Vec<u8> {
    let mut out = Vec::new();
    let word = |out: &mut Vec<u8>, x: u64| out.extend_from_slice(&x.to_le_bytes());
    word(&mut out, p.range.start as u64);
    word(&mut out, p.range.end as u64);
    word(&mut out, p.arrays.len() as u64);
    for a in &p.arrays {
        word(&mut out, a.name.len() as u64);
        out.extend_from_slice(a.name.as_bytes());
        word(&mut out, a.width as u64);
        word(&mut out, a.data.len() as u64);
        match &a.data {
            StateData::F64(v) => {
                out.push(0);
                v.iter()
                    .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
            }
            StateData::F32(v) => {
                out.push(1);
                v.iter()
                    .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
            }
            StateData::U64(v) => {
                out.push(2);
                v.iter()
                    .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
            }
            StateData::U32(v) => {
                out.push(3);
                v.iter()
                    .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
            }
            StateData::U8(v) => {
                out.push(4);
                out.extend_from_slice(v);
            }
        }
    }
    out
}

/// The partition state [`encode`] wrote into `bytes`.
pub fn decode(bytes: &[u8]) -> Result<PartitionState> {
    let mut r = Reader { bytes, at: 0 };
    let start = r.word()? as usize;
    let end = r.word()? as usize;
    let mut arrays = Vec::new();
    for _ in 0..r.word()? {
        let len = r.word()? as usize;
        let name = String::from_utf8(r.take(len)?.to_vec()).map_err(|_| bad())?;
        let width = r.word()? as usize;
        let n = r.word()? as usize;
        let tag = r.take(1)?[0];
        let size = [8, 4, 8, 4, 1].get(tag as usize).ok_or_else(bad)?;
        let raw = r.take(n.checked_mul(*size).ok_or_else(bad)?)?;
        let data = match tag {
            0 => StateData::F64(chunks(raw, f64::from_le_bytes)),
            1 => StateData::F32(chunks(raw, f32::from_le_bytes)),
            2 => StateData::U64(chunks(raw, u64::from_le_bytes)),
            3 => StateData::U32(chunks(raw, u32::from_le_bytes)),
            _ => StateData::U8(raw.to_vec()),
        };
        arrays.push(StateArray::new(&name, width, data));
    }
    Ok(PartitionState {
        range: start..end,
        arrays,
    })
}

fn chunks<const B: usize, X>(raw: &[u8], f: fn([u8; B]) -> X) -> Vec<X> {
    raw.chunks_exact(B)
        .map(|c| f(c.try_into().expect("chunks of B bytes")))
        .collect()
}

fn bad() -> Error {
    Error::param("checkpoint", "a rank's state arrived damaged")
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(bad)?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn word(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_array_round_trips() {
        let p = PartitionState {
            range: 64..67,
            arrays: vec![
                StateArray::new("v", 1, StateData::F64(vec![-65.0, f64::NAN, 1e-300])),
                StateArray::new("g", 1, StateData::F32(vec![0.5, -0.0, 3.0])),
                StateArray::new("poisson0", 2, StateData::U64(vec![1, 2, 3, 4, 5, u64::MAX])),
                StateArray::new("n", 1, StateData::U32(vec![7, 8, 9])),
                StateArray::new("dirty0", 1, StateData::U8(vec![0, 1, 0])),
            ],
        };
        let back = decode(&encode(&p)).unwrap();
        assert_eq!(back.range, p.range);
        // NaN != NaN: compare the bytes of what round-tripped.
        assert_eq!(encode(&back), encode(&p));
        assert!(decode(&encode(&p)[..20]).is_err());
    }
}
