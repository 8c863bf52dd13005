//! The stored build of a source-keyed projection (`super::source_keyed`):
//! a range of neurons draws every source's synapses, as a procedural run
//! draws them when the source fires, and keeps those onto its own neurons,
//! row by row. So stored and procedural runs add the same weights into the
//! same slots in the same order, and their spike trains are identical.
//!
//! Every range draws the whole projection (a simulation on `T` threads
//! draws it `T` times), in exchange for building no synapse it does not
//! keep and needing no transposition: rows come out by source already.
//! Sources are drawn a batch of chunks at a time, in parallel, and each
//! batch's rows are appended in source order, so the rows are the only
//! memory the size of the synapses.

use std::collections::HashSet;
use std::ops::Range;

use rayon::prelude::*;

use crate::error::Result;
use crate::model::Real;
use crate::network::source_keyed::SourceKeyed;
use crate::network::sparse::{sort_row, Csr, Delays, Weights};
use crate::resources;

/// Sources per parallel work item.
const SOURCE_CHUNK: usize = 512;

/// Chunks per thread drawn at once.
const BATCH_PER_THREAD: usize = 8;

/// The rows of a chunk of sources: synapse counts, then targets, weights
/// and delays (empty where not stored per synapse), each row sorted by
/// (delay, target).
struct Chunk<D> {
    counts: Vec<u32>,
    targets: Vec<u32>,
    weights: Vec<f32>,
    delays: Vec<D>,
}

/// The synapses of `gen` onto the neurons `onto` (global ids), rows by
/// source, each by delay, then target (stable: synapses onto one target
/// with one delay keep the order they were drawn in); `expected`: about
/// how many there are (what the rows reserve).
pub(super) fn build<T: Real>(
    gen: &SourceKeyed,
    onto: &Range<usize>,
    expected: u64,
) -> Result<Csr<T>> {
    let (_, longest) = gen.delay_reach();
    if gen.constant_delay().is_some() || longest < 256 {
        build_with::<T, u8>(gen, onto, expected, |d| d as u8, Delays::Byte)
    } else {
        build_with::<T, u16>(gen, onto, expected, |d| d, Delays::Short)
    }
}

fn build_with<T: Real, D: Copy + Default + Send + Into<u16>>(
    gen: &SourceKeyed,
    onto: &Range<usize>,
    expected: u64,
    to_d: fn(u16) -> D,
    wrap_d: fn(Vec<D>) -> Delays,
) -> Result<Csr<T>> {
    let n_src = gen.n_sources();
    let per_weight = gen.constant_weight().is_none();
    let per_delay = gen.constant_delay().is_none();
    let hint = "use fewer neurons or synapses";
    let what = format!("{expected} synapses of projection {}", gen.label());
    let mut targets: Vec<u32> = Vec::new();
    let mut weights: Vec<f32> = Vec::new();
    let mut delays: Vec<D> = Vec::new();
    reserve(&mut targets, expected, &what, hint)?;
    if per_weight {
        reserve(&mut weights, expected, &what, hint)?;
    }
    if per_delay {
        reserve(&mut delays, expected, &what, hint)?;
    }
    let mut offsets = Vec::with_capacity(n_src + 1);
    offsets.push(0usize);
    let (lo, hi) = (onto.start as u32, onto.end.min(u32::MAX as usize) as u32);
    let draw = |chunk: Range<usize>| -> Chunk<D> {
        let mut c = Chunk {
            counts: Vec::with_capacity(chunk.len()),
            targets: Vec::new(),
            weights: Vec::new(),
            delays: Vec::new(),
        };
        let mut seen = HashSet::new();
        for s in chunk {
            let start = c.targets.len();
            gen.each(s, &mut seen, |t, w, d| {
                if lo <= t && t < hi {
                    c.targets.push(t);
                    if per_weight {
                        c.weights.push(T::from_f64(w).to_f64() as f32);
                    }
                    if per_delay {
                        c.delays.push(to_d(d));
                    }
                }
            });
            let end = c.targets.len();
            let w = if per_weight {
                &mut c.weights[start..end]
            } else {
                &mut [][..]
            };
            let d = if per_delay {
                &mut c.delays[start..end]
            } else {
                &mut [][..]
            };
            sort_row(&mut c.targets[start..end], w, d);
            c.counts.push((end - start) as u32);
        }
        c
    };
    let chunks: Vec<Range<usize>> = (0..n_src)
        .step_by(SOURCE_CHUNK)
        .map(|a| a..(a + SOURCE_CHUNK).min(n_src))
        .collect();
    let batch = BATCH_PER_THREAD * rayon::current_num_threads();
    for group in chunks.chunks(batch) {
        let drawn: Vec<Chunk<D>> = group.par_iter().map(|r| draw(r.clone())).collect();
        for c in drawn {
            grow(&mut targets, &c.targets);
            grow(&mut weights, &c.weights);
            grow(&mut delays, &c.delays);
            for n in c.counts {
                offsets.push(offsets.last().copied().unwrap_or(0) + n as usize);
            }
        }
    }
    let weights = match gen.constant_weight() {
        Some(w) => Weights::Constant(T::from_f64(w)),
        None => Weights::Single(weights),
    };
    let delays = match gen.constant_delay() {
        Some(d) => Delays::Constant(d),
        None => wrap_d(delays),
    };
    Ok(Csr::from_parts(offsets, targets, weights, delays))
}

/// Reserves room for `n` values, or the error that the machine has not got it.
fn reserve<V>(v: &mut Vec<V>, n: u64, what: &str, hint: &'static str) -> Result<()> {
    let bytes = n.saturating_mul(std::mem::size_of::<V>() as u64);
    resources::check_allocation(what, Some(bytes), hint)?;
    v.try_reserve_exact(n as usize)
        .map_err(|_| crate::error::Error::OutOfMemory {
            what: what.to_string(),
            needed: bytes,
            available: resources::available_bytes(),
            hint,
        })
}

/// Appends `more` to `v`, growing it by a sixteenth at a time past what was
/// reserved (doubling would take twice the rows' memory at the end).
fn grow<V: Copy>(v: &mut Vec<V>, more: &[V]) {
    if v.len() + more.len() > v.capacity() {
        v.reserve_exact(more.len() + v.capacity() / 16);
    }
    v.extend_from_slice(more);
}
