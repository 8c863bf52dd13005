//! Rows of several projections merged into one row per source
//! ([`Csr::merge`]), which the engine delivers as one
//! (`engine/network/merge.rs` decides which).

use rayon::prelude::*;

use super::{sort_row, Csr, Delays, Weights};
use crate::error::Result;
use crate::model::Real;
use crate::resources;

/// Rows merged per block of this many sources, each block on one thread.
const MERGE_BLOCK: usize = 256;

impl<T: Real> Csr<T> {
    /// The rows of `parts` (as many sources each) merged: row `s` holds
    /// the synapses of row `s` of every part, by delay, then target, and
    /// synapses with one delay and target in the order of `parts`, then of
    /// their rows. So a row's synapses onto one neuron with one delay come in
    /// the order in which the parts' rows, delivered one after another, would
    /// add them. Weights and delays are stored as compactly as every part's
    /// allow: one value where all parts have the same one, else per synapse
    /// in single precision (delays in one byte) where every part's fit.
    /// In parallel over blocks of rows.
    pub(crate) fn merge(parts: &[Self]) -> Result<Self> {
        let n = parts[0].n_sources();
        assert!(
            parts.iter().all(|p| p.n_sources() == n),
            "merged rows of as many sources"
        );
        let same = |a: &Weights<T>, b: &Weights<T>| match (a, b) {
            (Weights::Constant(a), Weights::Constant(b)) => {
                a.to_f64().to_bits() == b.to_f64().to_bits()
            }
            _ => false,
        };
        let weights = if parts.iter().all(|p| same(&p.weights, &parts[0].weights)) {
            parts[0].weights.clone()
        } else if parts.iter().all(|p| match &p.weights {
            Weights::Single(_) => true,
            Weights::Constant(w) => (w.to_f64() as f32) as f64 == w.to_f64(),
            Weights::Full(_) => false,
        }) {
            Weights::Single(Vec::new())
        } else {
            Weights::Full(Vec::new())
        };
        let delays = match parts[0].delays {
            Delays::Constant(d) if parts.iter().all(|p| p.delays == Delays::Constant(d)) => {
                Delays::Constant(d)
            }
            _ if parts.iter().all(|p| p.max_delay() < 256) => Delays::Byte(Vec::new()),
            _ => Delays::Short(Vec::new()),
        };
        let weight = |i: usize, k: usize| parts[i].weights.get(k);
        let delay = |i: usize, k: usize| parts[i].delays.get(k);
        let single = |i, k| weight(i, k).to_f64() as f32;
        let byte = |i, k| delay(i, k) as u8;
        let (per_w, per_d) = (!weights.is_constant(), !delays.is_constant());
        macro_rules! merged {
            ($w:expr, $d:expr) => {
                merge_rows(parts, per_w.then_some($w), per_d.then_some($d))?
            };
        }
        let (offsets, targets, weights, delays) = match (weights, delays) {
            (Weights::Full(_), Delays::Short(_)) => {
                let (o, t, w, d) = merged!(weight, delay);
                (o, t, Weights::Full(w), Delays::Short(d))
            }
            (Weights::Full(_), d) => {
                let (o, t, w, b) = merged!(weight, byte);
                (
                    o,
                    t,
                    Weights::Full(w),
                    if per_d { Delays::Byte(b) } else { d },
                )
            }
            (w, Delays::Short(_)) => {
                let (o, t, s, d) = merged!(single, delay);
                (
                    o,
                    t,
                    if per_w { Weights::Single(s) } else { w },
                    Delays::Short(d),
                )
            }
            (w, d) => {
                let (o, t, s, b) = merged!(single, byte);
                let w = if per_w { Weights::Single(s) } else { w };
                (o, t, w, if per_d { Delays::Byte(b) } else { d })
            }
        };
        Ok(Self::from_parts(offsets, targets, weights, delays))
    }
}

/// `v`, every value of which was written.
///
/// # Safety
/// Every element of `v` is initialised.
unsafe fn assume_init<V>(v: &mut [std::mem::MaybeUninit<V>]) -> &mut [V] {
    // SAFETY: `MaybeUninit<V>` has `V`'s layout, and the caller vouches
    // for the values.
    unsafe { &mut *(v as *mut [std::mem::MaybeUninit<V>] as *mut [V]) }
}

/// The merged rows of [`Csr::merge`], with `weight`/`delay` the value of
/// synapse `k` of part `i` as stored in the merged rows, where stored per
/// synapse.
#[allow(clippy::type_complexity)]
fn merge_rows<T, W, D>(
    parts: &[Csr<T>],
    weight: Option<impl Fn(usize, usize) -> W + Sync>,
    delay: Option<impl Fn(usize, usize) -> D + Sync>,
) -> Result<(Vec<usize>, Vec<u32>, Vec<W>, Vec<D>)>
where
    T: Real,
    W: Copy + Default + Send,
    D: Copy + Default + Send,
{
    let n = parts[0].n_sources();
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0);
    for s in 0..n {
        let len: usize = parts.iter().map(|p| p.row(s).len()).sum();
        offsets.push(offsets[s] + len);
    }
    let total = offsets[n];
    let (what, hint) = (
        format!("{total} merged synapses"),
        "use fewer neurons or synapses",
    );
    let stored = |any: bool| if any { total } else { 0 };
    // Every value is written once below, block by block in parallel: no
    // zeros written first (a whole partition's synapses, on one thread).
    let mut targets: Vec<u32> = resources::reserved_vec(&what, total, hint)?;
    let mut weights: Vec<W> = resources::reserved_vec(&what, stored(weight.is_some()), hint)?;
    let mut delays: Vec<D> = resources::reserved_vec(&what, stored(delay.is_some()), hint)?;
    // The output cut into blocks of rows, each block's slices its own.
    let mut blocks = Vec::new();
    let (mut t, mut w, mut d) = (
        &mut targets.spare_capacity_mut()[..total],
        &mut weights.spare_capacity_mut()[..stored(weight.is_some())],
        &mut delays.spare_capacity_mut()[..stored(delay.is_some())],
    );
    for lo in (0..n).step_by(MERGE_BLOCK) {
        let hi = (lo + MERGE_BLOCK).min(n);
        let len = offsets[hi] - offsets[lo];
        let (bt, rt) = std::mem::take(&mut t).split_at_mut(len);
        let (bw, rw) = std::mem::take(&mut w).split_at_mut(if weight.is_some() { len } else { 0 });
        let (bd, rd) = std::mem::take(&mut d).split_at_mut(if delay.is_some() { len } else { 0 });
        (t, w, d) = (rt, rw, rd);
        blocks.push((lo..hi, bt, bw, bd));
    }
    blocks.into_par_iter().for_each(|(rows, t, w, d)| {
        let base = offsets[rows.start];
        // Per part: the next synapse of the row and the row's end.
        let mut heads: Vec<(usize, usize)> = Vec::with_capacity(parts.len());
        let delay_at = |i: usize, k: usize| parts[i].delays.get(k);
        for s in rows {
            heads.clear();
            heads.extend(parts.iter().map(|p| (p.row(s).start, p.row(s).end)));
            let mut out = offsets[s] - base;
            // Delay by delay (each part's row is by delay), each part's
            // stretch of that delay in the order of the parts.
            loop {
                let next = (heads.iter().enumerate())
                    .filter(|(_, &(at, end))| at < end)
                    .map(|(i, &(at, _))| delay_at(i, at))
                    .min();
                let Some(delay_now) = next else { break };
                let start = out;
                for (i, head) in heads.iter_mut().enumerate() {
                    while head.0 < head.1 && delay_at(i, head.0) == delay_now {
                        let k = head.0;
                        t[out].write(parts[i].targets[k]);
                        if let Some(f) = &weight {
                            w[out].write(f(i, k));
                        }
                        if let Some(f) = &delay {
                            d[out].write(f(i, k));
                        }
                        head.0 += 1;
                        out += 1;
                    }
                }
                // Each part's stretch is by target; the parts' targets
                // interleave only where their target ranges overlap.
                // SAFETY: `start..out` was written just above.
                let t = unsafe { assume_init(&mut t[start..out]) };
                if !t.is_sorted() {
                    let w = match weight {
                        Some(_) => unsafe { assume_init(&mut w[start..out]) },
                        None => &mut [],
                    };
                    sort_row::<W, u8>(t, w, &mut []);
                }
            }
        }
    });
    // SAFETY: the blocks cover `0..total` (`offsets`), and each row's
    // merge wrote every one of its places.
    unsafe {
        targets.set_len(total);
        weights.set_len(stored(weight.is_some()));
        delays.set_len(stored(delay.is_some()));
    }
    Ok((offsets, targets, weights, delays))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random rows of `n` sources onto targets `lo..lo + span`, with the
    /// given kinds of weights and delays, each row by (delay, target).
    fn random_rows(seed: u64, n: usize, lo: u32, span: u32, w: &str, d: &str) -> Csr<f64> {
        let mut x = seed;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        let mut offsets = vec![0];
        let (mut t, mut ws, mut ds) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let len = next(30) as usize;
            let mut row: Vec<(u16, u32, f64)> = (0..len)
                .map(|_| {
                    let delay = match d {
                        "short" => 250 + next(20) as u16,
                        _ => 1 + next(6) as u16,
                    };
                    (
                        delay,
                        lo + next(span as u64) as u32,
                        next(1000) as f64 / 8.0,
                    )
                })
                .collect();
            row.sort_by_key(|&(d, t, _)| (d, t));
            for (dd, tt, ww) in row {
                t.push(tt);
                ws.push(ww);
                ds.push(dd);
            }
            offsets.push(t.len());
        }
        let weights = match w {
            "single" => Weights::Single(ws.iter().map(|&w| w as f32).collect()),
            "full" => Weights::Full(ws.iter().map(|&w| w + 1e-12).collect()),
            _ => Weights::Constant(w.parse().unwrap()),
        };
        let delays = match d {
            "byte" => Delays::Byte(ds.iter().map(|&d| d as u8).collect()),
            "short" => Delays::Short(ds),
            _ => {
                let d: u16 = d.parse().unwrap();
                let mut sorted = Vec::new();
                for r in offsets.windows(2) {
                    let mut row: Vec<(u32, usize)> = (r[0]..r[1]).map(|k| (t[k], k)).collect();
                    row.sort();
                    sorted.extend(row);
                }
                let weights = match weights {
                    Weights::Single(v) => {
                        Weights::Single(sorted.iter().map(|&(_, k)| v[k]).collect())
                    }
                    Weights::Full(v) => Weights::Full(sorted.iter().map(|&(_, k)| v[k]).collect()),
                    c => c,
                };
                let t = sorted.iter().map(|&(t, _)| t).collect();
                return Csr::from_parts(offsets, t, weights, Delays::Constant(d));
            }
        };
        Csr::from_parts(offsets, t, weights, delays)
    }

    /// Merged rows are what a stable sort by (source, delay, target) of
    /// the parts' synapses, listed part after part, gives (so synapses onto
    /// one target with one delay keep the order of the parts), stored as
    /// compactly as all parts allow; with targets of parts apart (as
    /// projections onto different populations) or interleaved.
    #[test]
    fn merged_rows_are_the_parts_synapses_by_delay_then_target() {
        // (the parts' weights and delays, the merged ones', parts' targets apart)
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str, bool);
        let cases: &[Case] = &[
            (
                &[("single", "byte"), ("single", "byte"), ("single", "byte")],
                "single",
                "byte",
                true,
            ),
            (
                &[("single", "byte"), ("single", "byte")],
                "single",
                "byte",
                false,
            ),
            (&[("0.5", "3"), ("0.5", "3")], "constant", "constant", true),
            (&[("0.5", "3"), ("0.5", "3")], "constant", "constant", false),
            (&[("0.5", "3"), ("0.25", "4")], "single", "byte", false),
            (
                &[("single", "byte"), ("full", "short")],
                "full",
                "short",
                false,
            ),
            (&[("0.1", "byte"), ("single", "2")], "full", "byte", true),
        ];
        for (k, &(kinds, want_w, want_d, apart)) in cases.iter().enumerate() {
            let parts: Vec<Csr<f64>> = (kinds.iter().enumerate())
                .map(|(i, &(w, d))| {
                    let lo = if apart { 100 * i as u32 } else { 0 };
                    random_rows(7 + 31 * (k * 10 + i) as u64, 40, lo, 60, w, d)
                })
                .collect();
            let merged = Csr::merge(&parts).unwrap();
            let mut want: Vec<(usize, u32, f64, u16)> =
                parts.iter().flat_map(|p| p.triples()).collect();
            want.sort_by_key(|&(s, t, _, d)| (s, d, t));
            assert_eq!(merged.triples(), want, "case {k}");
            let kind_w = match merged.weights() {
                Weights::Constant(_) => "constant",
                Weights::Single(_) => "single",
                Weights::Full(_) => "full",
            };
            let kind_d = match merged.delays() {
                Delays::Constant(_) => "constant",
                Delays::Byte(_) => "byte",
                Delays::Short(_) => "short",
            };
            assert_eq!((kind_w, kind_d), (want_w, want_d), "case {k}");
        }
    }
}
