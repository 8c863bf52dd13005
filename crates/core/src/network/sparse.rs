//! Sparse synapses stored by presynaptic neuron (compressed sparse rows):
//! the targets of one source are contiguous and ascending, so a spike's
//! delivery is one pass over a contiguous `u32` slice. A partition of the
//! engine holds the rows of the synapses onto its own neurons only (built
//! by [`crate::network::Recipe::connections_onto`]).
//!
//! Weights and delays that are the same for the whole projection are stored
//! once, not per synapse (brunel's 15.6 million synapses take 62 MB: their
//! `u32` targets and nothing else).

use rayon::prelude::*;

use crate::error::Result;
use crate::model::Real;
use crate::resources;

/// Per-synapse values, or one for all.
#[derive(Clone, Debug, PartialEq)]
pub enum PerSynapse<V> {
    /// The same for every synapse.
    Constant(V),
    /// One per synapse, in CSR order.
    Each(Vec<V>),
}

impl<V: Copy> PerSynapse<V> {
    /// The value of synapse `k`.
    #[inline]
    pub fn get(&self, k: usize) -> V {
        match self {
            PerSynapse::Constant(v) => *v,
            PerSynapse::Each(all) => all[k],
        }
    }
}

/// Synapses by presynaptic neuron: row `s` holds the synapses of source `s`.
#[derive(Clone, Debug)]
pub struct Csr<T> {
    offsets: Vec<usize>,
    targets: Vec<u32>,
    weights: PerSynapse<T>,
    delays: PerSynapse<u16>,
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

/// Sorts one row's `targets` ascending, stably, carrying the row's
/// `weights` and `delays` (at `row` in those arrays, where they are stored
/// per synapse) along.
fn sort_row<T: Copy>(
    targets: &mut [u32],
    weights: &mut [T],
    delays: &mut [u16],
    row: std::ops::Range<usize>,
) {
    if targets.is_sorted() {
        return;
    }
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by_key(|&k| targets[k]);
    permute(targets, &order);
    if !weights.is_empty() {
        permute(&mut weights[row.clone()], &order);
    }
    if !delays.is_empty() {
        permute(&mut delays[row], &order);
    }
}

/// `v[i] = old v[order[i]]`.
fn permute<V: Copy>(v: &mut [V], order: &[usize]) {
    let old = v.to_vec();
    for (dst, &k) in v.iter_mut().zip(order) {
        *dst = old[k];
    }
}

impl<T: Real> Csr<T> {
    /// Transposes incoming synapses (runs of targets in ascending order, the
    /// first run starting at target `first_target`, each run's targets
    /// consecutive) into rows by source. Targets within each row come out
    /// ascending. `weight`/`delay` are used where the runs hold no values.
    pub fn from_incoming(
        n_sources: usize,
        target_ids: &[u32],
        runs: Vec<Incoming<T>>,
        weight: Option<T>,
        delay: Option<u16>,
    ) -> Result<Self> {
        let total: usize = runs.iter().map(|r| r.sources.len()).sum();
        let what = format!("{total} synapses");
        let hint = "use fewer neurons or synapses";
        // Row lengths: a histogram over sources.
        let mut offsets: Vec<usize> = resources::zeroed_vec(&what, n_sources + 1, hint)?;
        for run in &runs {
            for &s in &run.sources {
                offsets[s as usize + 1] += 1;
            }
        }
        for s in 0..n_sources {
            offsets[s + 1] += offsets[s];
        }
        let mut targets: Vec<u32> = resources::zeroed_vec(&what, total, hint)?;
        let mut weights: Vec<T> = match weight {
            Some(_) => Vec::new(),
            None => resources::zeroed_vec(&what, total, hint)?,
        };
        let mut delays: Vec<u16> = match delay {
            Some(_) => Vec::new(),
            None => resources::zeroed_vec(&what, total, hint)?,
        };
        let mut cursor: Vec<usize> = offsets[..n_sources].to_vec();
        let mut t_index = 0usize;
        // Runs are consumed (and freed) in target order, so each row fills in
        // ascending target order.
        for run in runs {
            let mut k = 0usize;
            for &count in &run.counts {
                let t = target_ids[t_index];
                t_index += 1;
                for _ in 0..count {
                    let s = run.sources[k] as usize;
                    let at = cursor[s];
                    cursor[s] += 1;
                    targets[at] = t;
                    if weight.is_none() {
                        weights[at] = run.weights[k];
                    }
                    if delay.is_none() {
                        delays[at] = run.delays[k];
                    }
                    k += 1;
                }
            }
        }
        // Targets listed out of population order (`target = ["I", "E"]`)
        // leave rows unsorted; sort them (stably: synapses onto one target
        // keep their order, and so does every sum), so that a row's
        // synapses onto any range of neurons are one stretch of it, in the
        // same order whichever ranges the rows were built for.
        if !target_ids.is_sorted() {
            for s in 0..n_sources {
                let row = offsets[s]..offsets[s + 1];
                sort_row(&mut targets[row.clone()], &mut weights, &mut delays, row);
            }
        }
        Ok(Self {
            offsets,
            targets,
            weights: match weight {
                Some(w) => PerSynapse::Constant(w),
                None => PerSynapse::Each(weights),
            },
            delays: match delay {
                Some(d) => PerSynapse::Constant(d),
                None => PerSynapse::Each(delays),
            },
        })
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
    pub fn weights(&self) -> &PerSynapse<T> {
        &self.weights
    }

    /// The delays in steps.
    pub fn delays(&self) -> &PerSynapse<u16> {
        &self.delays
    }

    /// The shortest delay in steps (`u16::MAX` for no synapses).
    pub fn min_delay(&self) -> u16 {
        match &self.delays {
            _ if self.targets.is_empty() => u16::MAX,
            PerSynapse::Constant(d) => *d,
            PerSynapse::Each(all) => all.par_iter().copied().min().unwrap_or(u16::MAX),
        }
    }

    /// The longest delay in steps.
    pub fn max_delay(&self) -> u16 {
        match &self.delays {
            PerSynapse::Constant(d) => *d,
            PerSynapse::Each(all) => all.par_iter().copied().max().unwrap_or(0),
        }
    }

    /// Bytes held by this projection's arrays.
    pub fn bytes(&self) -> usize {
        let per = |n: usize, size: usize| n * size;
        per(self.offsets.len(), 8)
            + per(self.targets.len(), 4)
            + match &self.weights {
                PerSynapse::Each(w) => per(w.len(), std::mem::size_of::<T>()),
                PerSynapse::Constant(_) => 0,
            }
            + match &self.delays {
                PerSynapse::Each(d) => per(d.len(), 2),
                PerSynapse::Constant(_) => 0,
            }
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
    let per = 4 + if per_synapse_values {
        std::mem::size_of::<T>() as u64 + 2
    } else {
        0
    };
    // Incoming runs and the rows exist together while the rows are filled.
    let bytes = synapses.checked_mul(2 * per);
    resources::check_allocation(
        format!("{what} ({synapses} synapses)"),
        bytes,
        "use fewer neurons or a lower connection probability / in-degree",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_into_sorted_rows() {
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
        let csr = Csr::<f64>::from_incoming(3, &[10, 11, 12], runs, None, None).unwrap();
        assert_eq!(csr.len(), 5);
        assert_eq!(
            csr.triples(),
            vec![
                (0, 10, 2.0, 4),
                (0, 12, 5.0, 1),
                (0, 12, 6.0, 1),
                (1, 12, 7.0, 2),
                (2, 10, 1.0, 3)
            ]
        );
        assert_eq!(csr.max_delay(), 4);
        let runs = vec![Incoming {
            counts: vec![1, 1],
            sources: vec![1, 1],
            ..Default::default()
        }];
        let c = Csr::<f32>::from_incoming(2, &[0, 1], runs, Some(0.5), Some(7)).unwrap();
        assert_eq!(c.triples(), vec![(1, 0, 0.5, 7), (1, 1, 0.5, 7)]);
        assert_eq!(c.row(0), 0..0);
    }
}
