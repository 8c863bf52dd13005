//! Sparse synapses stored by presynaptic neuron (compressed sparse rows),
//! as compact as what each synapse needs: a `u32` target, a weight only
//! where weights vary (in single precision where that loses nothing, or
//! where they were drawn from a distribution), and a delay only where delays
//! vary (one byte below 256 steps). A row holds its synapses grouped by
//! delay, ascending, and within a delay by target, ascending, so a spike's
//! delivery writes one ring-buffer slot after another, each in one pass
//! over contiguous targets. A partition of the engine holds the rows of the
//! synapses onto its own neurons only (built by
//! [`crate::network::Recipe::connections_onto`]).
//!
//! The engine merges the rows of projections out of the same sources into
//! one row per source (`Csr::merge`, decided by
//! `engine/network/merge.rs`): a spike then reads one stream of synapses.
//!
//! Weights and delays that are the same for the whole projection are stored
//! once, not per synapse (brunel's 15.6 million synapses take 62 MB: their
//! `u32` targets and nothing else).

use rayon::prelude::*;

use crate::error::Result;
use crate::model::Real;
use crate::resources;

mod merge;

/// The weights of a projection's synapses, as stored.
#[derive(Clone, Debug, PartialEq)]
pub enum Weights<T> {
    /// The same for every synapse.
    Constant(T),
    /// One per synapse in row order, in single precision: weights drawn
    /// from a distribution (rounded when stored: 24 significant bits, far
    /// finer than any distribution's spread) and weights from files that
    /// single precision holds exactly.
    Single(Vec<f32>),
    /// One per synapse in row order, at the simulation's precision (file
    /// weights that single precision would round).
    Full(Vec<T>),
}

impl<T: Real> Weights<T> {
    /// The weight of synapse `k`.
    #[inline]
    pub fn get(&self, k: usize) -> T {
        match self {
            Weights::Constant(w) => *w,
            Weights::Single(all) => T::from_f64(all[k] as f64),
            Weights::Full(all) => all[k],
        }
    }

    /// Whether one weight serves every synapse.
    pub fn is_constant(&self) -> bool {
        matches!(self, Weights::Constant(_))
    }

    /// Bytes stored per synapse.
    fn bytes_each(&self) -> usize {
        match self {
            Weights::Constant(_) => 0,
            Weights::Single(_) => 4,
            Weights::Full(_) => std::mem::size_of::<T>(),
        }
    }
}

/// The delays (in steps) of a projection's synapses, as stored.
#[derive(Clone, Debug, PartialEq)]
pub enum Delays {
    /// The same for every synapse.
    Constant(u16),
    /// One byte per synapse in row order (every delay below 256 steps).
    Byte(Vec<u8>),
    /// Two bytes per synapse in row order.
    Short(Vec<u16>),
}

impl Delays {
    /// The delay of synapse `k`.
    #[inline]
    pub fn get(&self, k: usize) -> u16 {
        match self {
            Delays::Constant(d) => *d,
            Delays::Byte(all) => all[k] as u16,
            Delays::Short(all) => all[k],
        }
    }

    /// Whether one delay serves every synapse.
    pub fn is_constant(&self) -> bool {
        matches!(self, Delays::Constant(_))
    }

    /// The delay of synapse `start` and the end of its group: the synapses
    /// `start..end` (within `start..limit`) that share it.
    #[inline]
    pub fn group(&self, start: usize, limit: usize) -> (u16, usize) {
        fn run<D: Copy + PartialEq>(all: &[D], start: usize, limit: usize) -> usize {
            let d = all[start];
            start
                + 1
                + all[start + 1..limit]
                    .iter()
                    .take_while(|&&x| x == d)
                    .count()
        }
        match self {
            Delays::Constant(d) => (*d, limit),
            Delays::Byte(all) => (all[start] as u16, run(all, start, limit)),
            Delays::Short(all) => (all[start], run(all, start, limit)),
        }
    }

    /// Bytes stored per synapse.
    fn bytes_each(&self) -> usize {
        match self {
            Delays::Constant(_) => 0,
            Delays::Byte(_) => 1,
            Delays::Short(_) => 2,
        }
    }
}

/// Synapses by presynaptic neuron: row `s` holds the synapses of source `s`,
/// by delay, then by target.
#[derive(Clone, Debug)]
pub struct Csr<T> {
    offsets: Vec<usize>,
    targets: Vec<u32>,
    weights: Weights<T>,
    delays: Delays,
}

/// The synapses onto a run of consecutive targets, in target order, as
/// connection rules produce them (one target at a time).
#[derive(Clone, Debug, Default)]
pub struct Incoming<T> {
    /// Number of synapses onto each target of the run.
    pub counts: Vec<u32>,
    /// Source row of each synapse.
    pub sources: Vec<u32>,
    /// Weight of each synapse (empty when the projection's weight is constant).
    pub weights: Vec<T>,
    /// Delay in steps of each synapse (empty when constant).
    pub delays: Vec<u16>,
}

/// Incoming synapses that can be drawn more than once: `replay(f)` calls
/// `f` on each run of targets in target order, the same runs every time (a
/// connection rule draws them again from the same streams), so that rows
/// are built without holding every run at once.
pub type Replay<'a, T> = dyn Fn(&mut (dyn FnMut(&Incoming<T>) + Send)) -> Result<()> + 'a;

/// Sorts one row by (delay, target), stably (synapses onto one target with
/// one delay keep their order), carrying its weights and delays along
/// (`weights`/`delays` empty where they are not stored per synapse).
pub(crate) fn sort_row<W: Copy, D: Copy + Into<u16>>(
    targets: &mut [u32],
    weights: &mut [W],
    delays: &mut [D],
) {
    let key = |k: usize| {
        let d = delays.get(k).map_or(0, |&d| d.into() as u64);
        d << 32 | targets[k] as u64
    };
    if (1..targets.len()).all(|k| key(k - 1) <= key(k)) {
        return;
    }
    // Key and position together: all distinct, so the unstable sort (a
    // plain integer sort, faster than a stable sort by key) gives the
    // stable order.
    let mut keyed: Vec<u128> = (0..targets.len())
        .map(|k| (key(k) as u128) << 64 | k as u128)
        .collect();
    keyed.sort_unstable();
    let order: Vec<usize> = keyed.iter().map(|&x| x as u64 as usize).collect();
    permute(targets, &order);
    if !weights.is_empty() {
        permute(weights, &order);
    }
    if !delays.is_empty() {
        permute(delays, &order);
    }
}

/// `v[i] = old v[order[i]]`.
fn permute<V: Copy>(v: &mut [V], order: &[usize]) {
    let old = v.to_vec();
    for (dst, &k) in v.iter_mut().zip(order) {
        *dst = old[k];
    }
}

/// `v` cut at `offsets` into one slice per row (no slices when `v` is empty:
/// values not stored per synapse).
fn rows_of<'a, V>(mut v: &'a mut [V], offsets: &[usize]) -> Vec<&'a mut [V]> {
    if v.is_empty() {
        return Vec::new();
    }
    offsets
        .windows(2)
        .map(|w| {
            let (row, rest) = std::mem::take(&mut v).split_at_mut(w[1] - w[0]);
            v = rest;
            row
        })
        .collect()
}

/// Delay buckets per row from which rows are sorted after the scatter
/// instead of filled by (source, delay) buckets (delays of 256 steps or
/// more), and bucket cursors per synapse beyond which too (8 bytes each:
/// a cursor for every source and delay would take more memory than the
/// synapses, for few synapses per source).
const MAX_BUCKETS: usize = 256;
const MAX_CURSORS_PER_SYNAPSE: f64 = 0.25;

/// One projection's synapses by row, as stored: row offsets, targets, and
/// weights and delays where stored per synapse (as `W` and `D`; empty
/// otherwise).
struct Rows<W, D> {
    offsets: Vec<usize>,
    targets: Vec<u32>,
    weights: Vec<W>,
    delays: Vec<D>,
}

impl<W, D> Rows<W, D>
where
    W: Copy + Default + Send,
    D: Copy + Default + Send + Into<u16>,
{
    /// Scatters the runs of `replay` (onto `target_ids`, in order) into
    /// rows by source, each row by delay, then target: a counting sort by
    /// (source, delay), with `buckets` delays per row (1: one delay for all,
    /// or rows sorted by delay afterwards). The runs are drawn twice, once
    /// to count the buckets and once to fill them, and never held all at
    /// once: the rows are the only memory the size of the synapses. Runs
    /// come in target order, so each bucket fills in ascending target
    /// order, and synapses onto one target with one delay keep their order
    /// (and so does every sum into it): a row's synapses onto any range of
    /// neurons with one delay are one stretch of it, in the same order
    /// whichever ranges the rows were built for. `weight`/`delay` convert
    /// the runs' values where they are stored per synapse.
    fn transpose<T: Copy>(
        n_sources: usize,
        target_ids: &[u32],
        replay: &Replay<'_, T>,
        weight: Option<fn(T) -> W>,
        delay: Option<fn(u16) -> D>,
        buckets: usize,
    ) -> Result<Self> {
        let hint = "use fewer neurons or synapses";
        let bucket = |run: &Incoming<T>, k: usize| {
            let d = if buckets > 1 {
                run.delays[k] as usize
            } else {
                0
            };
            run.sources[k] as usize * buckets + d
        };
        // Bucket sizes, then each bucket's first place: its cursor.
        let what = format!("the rows of {n_sources} sources");
        let mut cursor: Vec<usize> = resources::zeroed_vec(&what, n_sources * buckets + 1, hint)?;
        replay(&mut |run| {
            for k in 0..run.sources.len() {
                cursor[bucket(run, k) + 1] += 1;
            }
        })?;
        for b in 0..n_sources * buckets {
            cursor[b + 1] += cursor[b];
        }
        let total = cursor[n_sources * buckets];
        let what = format!("{total} synapses");
        let offsets: Vec<usize> = cursor.iter().step_by(buckets).copied().collect();
        let per = |stored: bool| if stored { total } else { 0 };
        let mut targets: Vec<u32> = resources::zeroed_vec(&what, total, hint)?;
        let mut weights: Vec<W> = resources::zeroed_vec(&what, per(weight.is_some()), hint)?;
        let mut delays: Vec<D> = resources::zeroed_vec(&what, per(delay.is_some()), hint)?;
        let mut t_index = 0usize;
        replay(&mut |run| {
            let mut k = 0usize;
            for &count in &run.counts {
                let t = target_ids[t_index];
                t_index += 1;
                for _ in 0..count {
                    let b = bucket(run, k);
                    let at = cursor[b];
                    cursor[b] += 1;
                    targets[at] = t;
                    if let Some(f) = weight {
                        weights[at] = f(run.weights[k]);
                    }
                    if let Some(f) = delay {
                        delays[at] = f(run.delays[k]);
                    }
                    k += 1;
                }
            }
        })?;
        drop(cursor);
        let mut rows = Self {
            offsets,
            targets,
            weights,
            delays,
        };
        // Rows are in (delay, target) order already unless the delays did
        // not fit the buckets or targets were listed out of population order
        // (`target = ["I", "E"]`).
        if (delay.is_some() && buckets == 1) || !target_ids.is_sorted() {
            rows.sort();
        }
        Ok(rows)
    }

    /// Sorts every row by (delay, target), stably, in parallel.
    fn sort(&mut self) {
        let t = rows_of(&mut self.targets, &self.offsets);
        let mut w = rows_of(&mut self.weights, &self.offsets);
        let mut d = rows_of(&mut self.delays, &self.offsets);
        w.resize_with(t.len(), Default::default);
        d.resize_with(t.len(), Default::default);
        t.into_par_iter()
            .zip(w)
            .zip(d)
            .for_each(|((t, w), d)| sort_row(t, w, d));
    }
}

impl<T: Real> Csr<T> {
    /// Transposes incoming synapses (runs of targets, onto `target_ids` in
    /// order) into rows by source, each row by delay, then target.
    /// `weight`/`delay` are used where the runs hold no values. `drawn`: the
    /// runs' weights were drawn from a distribution and are kept in single
    /// precision; other weights are kept in single precision only where
    /// that rounds none of them.
    pub fn from_incoming(
        n_sources: usize,
        target_ids: &[u32],
        runs: Vec<Incoming<T>>,
        weight: Option<T>,
        delay: Option<u16>,
        drawn: bool,
    ) -> Result<Self> {
        let replay = |f: &mut (dyn FnMut(&Incoming<T>) + Send)| {
            runs.iter().for_each(&mut *f);
            Ok(())
        };
        Self::from_replay(n_sources, target_ids, &replay, weight, delay, drawn)
    }

    /// As [`Self::from_incoming`], the runs drawn by `replay` as often as
    /// the build needs them (twice, or three times where weights or delays
    /// are stored per synapse: a first pass finds whether single precision
    /// holds the weights and the longest delay) and never held all at once.
    pub fn from_replay(
        n_sources: usize,
        target_ids: &[u32],
        replay: &Replay<'_, T>,
        weight: Option<T>,
        delay: Option<u16>,
        drawn: bool,
    ) -> Result<Self> {
        let exact = |w: &T| (w.to_f64() as f32) as f64 == w.to_f64();
        let (mut single, mut longest, mut total) = (true, None::<u16>, 0usize);
        if (weight.is_none() && !drawn) || delay.is_none() {
            replay(&mut |r| {
                single &= drawn || r.weights.iter().all(exact);
                longest = longest.max(r.delays.iter().copied().max());
                total += r.sources.len();
            })?;
        }
        let buckets = match (delay, longest) {
            (None, Some(d)) if (d as usize) < MAX_BUCKETS => d as usize + 1,
            _ => 1,
        };
        let cursors = (n_sources * buckets) as f64;
        let buckets = if cursors <= 65536.0 + MAX_CURSORS_PER_SYNAPSE * total as f64 {
            buckets
        } else {
            1
        };
        let byte = longest.is_none_or(|d| d < 256);
        let (n, ids) = (n_sources, target_ids);
        macro_rules! build {
            ($w:ty, $to_w:expr, $wrap_w:expr, $d:ty, $to_d:expr, $wrap_d:expr) => {{
                let to_w: Option<fn(T) -> $w> = weight.is_none().then_some($to_w);
                let to_d: Option<fn(u16) -> $d> = delay.is_none().then_some($to_d);
                let rows = Rows::<$w, $d>::transpose(n, ids, replay, to_w, to_d, buckets)?;
                Self {
                    offsets: rows.offsets,
                    targets: rows.targets,
                    weights: match weight {
                        Some(w) => Weights::Constant(w),
                        None => $wrap_w(rows.weights),
                    },
                    delays: match delay {
                        Some(d) => Delays::Constant(d),
                        None => $wrap_d(rows.delays),
                    },
                }
            }};
        }
        let to_single = |w: T| w.to_f64() as f32;
        let to_byte = |d: u16| d as u8;
        Ok(match (single, byte) {
            (true, true) => build!(f32, to_single, Weights::Single, u8, to_byte, Delays::Byte),
            (true, false) => build!(f32, to_single, Weights::Single, u16, |d| d, Delays::Short),
            (false, true) => build!(T, |w| w, Weights::Full, u8, to_byte, Delays::Byte),
            (false, false) => build!(T, |w| w, Weights::Full, u16, |d| d, Delays::Short),
        })
    }

    /// Rows already laid out: `offsets` (one more than the rows), each
    /// row's `targets` by delay, then ascending, and their weights and
    /// delays (per synapse where not constant).
    pub(crate) fn from_parts(
        offsets: Vec<usize>,
        targets: Vec<u32>,
        weights: Weights<T>,
        delays: Delays,
    ) -> Self {
        debug_assert_eq!(offsets.last().copied(), Some(targets.len()));
        Self {
            offsets,
            targets,
            weights,
            delays,
        }
    }

    /// `n_sources` empty rows, with `delay` the delay they report: the
    /// rows of a projection whose synapses live elsewhere (dense columns,
    /// drawn again when a source fires).
    pub(crate) fn empty(n_sources: usize, delay: u16) -> Self {
        Self::from_parts(
            vec![0; n_sources + 1],
            Vec::new(),
            Weights::Constant(T::ZERO),
            Delays::Constant(delay),
        )
    }

    /// Number of source rows.
    pub fn n_sources(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Number of synapses.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are no synapses.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The synapse index range of source row `s`.
    #[inline]
    pub fn row(&self, s: usize) -> std::ops::Range<usize> {
        self.offsets[s]..self.offsets[s + 1]
    }

    /// All targets (global neuron ids), row after row.
    #[inline]
    pub fn targets(&self) -> &[u32] {
        &self.targets
    }

    /// The weights.
    pub fn weights(&self) -> &Weights<T> {
        &self.weights
    }

    /// The delays in steps.
    pub fn delays(&self) -> &Delays {
        &self.delays
    }

    /// The shortest delay in steps (`u16::MAX` for no synapses).
    pub fn min_delay(&self) -> u16 {
        match &self.delays {
            _ if self.targets.is_empty() => u16::MAX,
            Delays::Constant(d) => *d,
            Delays::Byte(all) => all.par_iter().copied().min().map_or(u16::MAX, u16::from),
            Delays::Short(all) => all.par_iter().copied().min().unwrap_or(u16::MAX),
        }
    }

    /// The longest delay in steps.
    pub fn max_delay(&self) -> u16 {
        match &self.delays {
            Delays::Constant(d) => *d,
            Delays::Byte(all) => all.par_iter().copied().max().map_or(0, u16::from),
            Delays::Short(all) => all.par_iter().copied().max().unwrap_or(0),
        }
    }

    /// Bytes held by this projection's arrays: the row offsets, and per
    /// synapse its target and what is stored of its weight and delay.
    pub fn bytes(&self) -> usize {
        self.offsets.len() * std::mem::size_of::<usize>()
            + self.targets.len() * (4 + self.weights.bytes_each() + self.delays.bytes_each())
    }

    /// Every synapse as (source row, target, weight, delay), in CSR order (tests).
    pub fn triples(&self) -> Vec<(usize, u32, T, u16)> {
        (0..self.n_sources())
            .flat_map(|s| {
                self.row(s)
                    .map(move |k| (s, self.targets[k], self.weights.get(k), self.delays.get(k)))
            })
            .collect()
    }
}

/// Checks that a count of synapses fits the machine before building it.
pub fn check_synapse_memory<T>(what: &str, synapses: u64, per_synapse_values: bool) -> Result<()> {
    // The rows are filled from runs drawn a few thousand targets at a time
    // (`Csr::from_replay`): the rows are what takes the memory, their values
    // counted here at full precision and two-byte delays (at most what is
    // stored).
    let per = 4 + if per_synapse_values {
        std::mem::size_of::<T>() as u64 + 2
    } else {
        0
    };
    resources::check_allocation(
        format!("{what} ({synapses} synapses)"),
        synapses.checked_mul(per),
        "use fewer neurons or a lower connection probability / in-degree",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows sort by (delay, target), synapses onto one target with one
    /// delay (multapses) keeping their order, weights and delays carried
    /// along: the order a stable sort by key gives.
    #[test]
    fn sort_row_is_a_stable_sort_by_delay_then_target() {
        let mut x = 12345u64;
        let mut next = |m: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % m
        };
        for len in [0, 1, 2, 7, 100, 3000] {
            let targets: Vec<u32> = (0..len).map(|_| next(40) as u32).collect();
            let delays: Vec<u8> = (0..len).map(|_| next(5) as u8).collect();
            let weights: Vec<f32> = (0..len).map(|i| i as f32).collect();
            let mut want: Vec<(u8, u32, f32)> = (0..len)
                .map(|i| (delays[i], targets[i], weights[i]))
                .collect();
            want.sort_by_key(|&(d, t, _)| (d, t));
            let (mut t, mut w, mut d) = (targets.clone(), weights.clone(), delays.clone());
            sort_row(&mut t, &mut w, &mut d);
            let got: Vec<(u8, u32, f32)> = (0..len).map(|i| (d[i], t[i], w[i])).collect();
            assert_eq!(got, want, "{len}");
            // Without stored delays: by target alone.
            let (mut t, mut w) = (targets.clone(), weights.clone());
            sort_row::<f32, u8>(&mut t, &mut w, &mut []);
            let mut want: Vec<(u32, f32)> = (0..len).map(|i| (targets[i], weights[i])).collect();
            want.sort_by_key(|&(t, _)| t);
            let got: Vec<(u32, f32)> = t.into_iter().zip(w).collect();
            assert_eq!(got, want, "{len}, no delays");
        }
    }

    #[test]
    fn transposes_into_rows_by_delay_then_target() {
        // Targets 10, 11, 12; sources 0..3.
        // 10 <- 2, 0 ; 11 <- (none) ; 12 <- 0, 0, 1
        let runs = vec![
            Incoming {
                counts: vec![2, 0],
                sources: vec![2, 0],
                weights: vec![1.0, 2.0],
                delays: vec![3, 4],
            },
            Incoming {
                counts: vec![3],
                sources: vec![0, 0, 1],
                weights: vec![5.0, 6.0, 7.0],
                delays: vec![1, 1, 2],
            },
        ];
        let csr = Csr::<f64>::from_incoming(3, &[10, 11, 12], runs, None, None, false).unwrap();
        assert_eq!(csr.len(), 5);
        assert_eq!(
            csr.triples(),
            vec![
                (0, 12, 5.0, 1),
                (0, 12, 6.0, 1),
                (0, 10, 2.0, 4),
                (1, 12, 7.0, 2),
                (2, 10, 1.0, 3)
            ]
        );
        assert_eq!(csr.max_delay(), 4);
        assert_eq!(csr.delays().group(0, 3), (1, 2));
        assert_eq!(csr.delays().group(2, 3), (4, 3));
        // Weights single precision holds exactly and delays below 256 take
        // 4 + 1 bytes: with the target and 4 row offsets, 5 * 9 + 4 * 8.
        assert!(matches!(csr.weights(), Weights::Single(_)));
        assert!(matches!(csr.delays(), Delays::Byte(_)));
        assert_eq!(csr.bytes(), 5 * 9 + 4 * 8);
        let runs = vec![Incoming {
            counts: vec![1, 1],
            sources: vec![1, 1],
            ..Default::default()
        }];
        let c = Csr::<f32>::from_incoming(2, &[0, 1], runs, Some(0.5), Some(7), false).unwrap();
        assert_eq!(c.triples(), vec![(1, 0, 0.5, 7), (1, 1, 0.5, 7)]);
        assert_eq!(c.row(0), 0..0);
        assert_eq!(c.bytes(), 2 * 4 + 3 * 8);
    }

    #[test]
    fn keeps_full_precision_and_long_delays_where_it_must() {
        let runs = || {
            vec![Incoming {
                counts: vec![2],
                sources: vec![0, 0],
                weights: vec![0.1, -0.25],
                delays: vec![300, 2],
            }]
        };
        // 0.1 is not a single-precision number: kept whole unless drawn.
        let csr = Csr::<f64>::from_incoming(1, &[4], runs(), None, None, false).unwrap();
        assert_eq!(csr.triples(), vec![(0, 4, -0.25, 2), (0, 4, 0.1, 300)]);
        assert!(matches!(csr.weights(), Weights::Full(_)));
        assert!(matches!(csr.delays(), Delays::Short(_)));
        let drawn = Csr::<f64>::from_incoming(1, &[4], runs(), None, None, true).unwrap();
        assert_eq!(drawn.weights().get(1), 0.1f32 as f64);
        assert_eq!(drawn.bytes(), 2 * (4 + 4 + 2) + 2 * 8);
    }
}
