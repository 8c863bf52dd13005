//! The one thing processes (MPI ranks) of a distributed run exchange: each
//! rank's spikes of a minimum-delay interval, gathered into the network's.
//!
//! A rank owns a contiguous range of neurons (ranks in ascending order,
//! `network::balance`), so the network's spikes of a step are rank 0's, then
//! rank 1's, ...: each rank's list is sorted, and so is their concatenation.
//! Once per interval each rank sends its batch (the ids of every step of the
//! interval, one step after the other, and how many each step has) and gets
//! every rank's back ([`Exchange::all_gather`]: Arbor's scheme, an
//! `Allgatherv` of ids after an `Allgather` of per-step counts).
//!
//! With one rank nothing here is called: `threads::run_steps` runs exactly
//! as it does without an exchange. [`InProcess`] is a group of ranks in one
//! process (threads, for the tests of the rank logic without MPI); `mpi.rs`
//! (feature `mpi`) is the one over MPI.

use std::sync::{Arc, Barrier, Mutex};

#[cfg(feature = "mpi")]
pub mod mpi;

/// A reduction over ranks ([`Exchange::reduce`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduce {
    /// The smallest value.
    Min,
    /// The largest value.
    Max,
    /// The sum (wrapping never happens for the counts reduced here).
    Sum,
}

impl Reduce {
    fn apply(self, values: impl Iterator<Item = u64>) -> u64 {
        match self {
            Reduce::Min => values.min().unwrap_or(u64::MAX),
            Reduce::Max => values.max().unwrap_or(0),
            Reduce::Sum => values.sum(),
        }
    }
}

/// The network's spikes of one interval, as gathered from every rank: rank
/// 0's ids of every step, then rank 1's, ..., and per rank and step the
/// count.
#[derive(Clone, Debug, Default)]
pub struct Gathered {
    /// Every rank's ids, rank after rank, each rank's step after step.
    pub ids: Vec<u32>,
    /// `counts[r * steps + k]`: rank `r`'s spikes at step `k` of the interval.
    pub counts: Vec<u32>,
    /// Steps in the interval.
    steps: usize,
    /// Where each rank's step starts in `ids` (`index`), same layout as `counts`.
    starts: Vec<usize>,
}

impl Gathered {
    /// After `counts` (of `steps` steps per rank) and `ids` are filled:
    /// where each rank's step starts.
    pub fn index(&mut self, steps: usize) {
        self.steps = steps;
        self.starts.clear();
        let mut at = 0;
        for &c in &self.counts {
            self.starts.push(at);
            at += c as usize;
        }
        debug_assert_eq!(at, self.ids.len());
    }

    /// The ranks whose spikes were gathered.
    pub fn ranks(&self) -> usize {
        self.counts.len().checked_div(self.steps).unwrap_or(0)
    }

    /// Appends the network's spikes of the interval's `k`-th step to `out`
    /// (rank after rank: sorted).
    pub fn step_into(&self, k: usize, out: &mut Vec<u32>) {
        for r in 0..self.ranks() {
            let i = r * self.steps + k;
            let start = self.starts[i];
            out.extend_from_slice(&self.ids[start..start + self.counts[i] as usize]);
        }
    }
}

/// How the ranks of one distributed run talk: narrow on purpose, so that a
/// run over MPI and one over [`InProcess`] ranks are the same code. Every
/// call is collective: every rank makes the same calls in the same order.
pub trait Exchange: Send + Sync {
    /// This process's rank, `0..ranks()`.
    fn rank(&self) -> usize;

    /// The number of ranks.
    fn ranks(&self) -> usize;

    /// Every rank's batch of one interval into `out`: this rank's `ids`
    /// (its spikes of each step, one step after the other) and `counts`
    /// (how many at each step; the same number of steps on every rank).
    fn all_gather(&self, ids: &[u32], counts: &[u32], out: &mut Gathered);

    /// `value` reduced over all ranks, on every rank.
    fn reduce(&self, value: u64, op: Reduce) -> u64;

    /// Every rank's `bytes`, in rank order, on rank 0 (`None` on the
    /// others): a checkpoint's state, gathered for rank 0 to write.
    fn gather_bytes(&self, bytes: &[u8]) -> Option<Vec<Vec<u8>>>;
}

/// A group of ranks in one process: each rank is a thread holding one of
/// the handles [`InProcess::group`] returns. What the tests of the rank
/// logic (ranges, partial builds, the agreed interval) run on without MPI.
pub struct InProcess {
    rank: usize,
    shared: Arc<Group>,
}

/// What the ranks of an [`InProcess`] group share: a slot per rank.
struct Group {
    ranks: usize,
    barrier: Barrier,
    slots: Mutex<Vec<Slot>>,
}

/// What one rank puts in for a collective.
#[derive(Clone, Default)]
struct Slot {
    ids: Vec<u32>,
    counts: Vec<u32>,
    value: u64,
    bytes: Vec<u8>,
}

impl InProcess {
    /// `ranks` handles, one per rank, in rank order.
    pub fn group(ranks: usize) -> Vec<InProcess> {
        let shared = Arc::new(Group {
            ranks,
            barrier: Barrier::new(ranks),
            slots: Mutex::new(vec![Default::default(); ranks]),
        });
        (0..ranks)
            .map(|rank| InProcess {
                rank,
                shared: shared.clone(),
            })
            .collect()
    }

    /// Puts this rank's contribution in its slot, waits for every rank's,
    /// reads them all with `read`, and waits again so that no rank
    /// overwrites its slot before every rank has read it.
    fn collective<R>(&self, put: impl FnOnce(&mut Slot), read: impl FnOnce(&[Slot]) -> R) -> R {
        put(&mut self.lock()[self.rank]);
        self.shared.barrier.wait();
        let r = read(&self.lock());
        self.shared.barrier.wait();
        r
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Slot>> {
        self.shared.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Exchange for InProcess {
    fn rank(&self) -> usize {
        self.rank
    }

    fn ranks(&self) -> usize {
        self.shared.ranks
    }

    fn all_gather(&self, ids: &[u32], counts: &[u32], out: &mut Gathered) {
        self.collective(
            |slot| {
                slot.ids.clear();
                slot.ids.extend_from_slice(ids);
                slot.counts.clear();
                slot.counts.extend_from_slice(counts);
            },
            |slots| {
                out.ids.clear();
                out.counts.clear();
                for s in slots {
                    out.ids.extend_from_slice(&s.ids);
                    out.counts.extend_from_slice(&s.counts);
                }
            },
        );
        out.index(counts.len());
    }

    fn reduce(&self, value: u64, op: Reduce) -> u64 {
        self.collective(
            |slot| slot.value = value,
            |slots| op.apply(slots.iter().map(|s| s.value)),
        )
    }

    fn gather_bytes(&self, bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
        let all = self.collective(
            |slot| slot.bytes = bytes.to_vec(),
            |slots| slots.iter().map(|s| s.bytes.clone()).collect(),
        );
        (self.rank == 0).then_some(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_gather_their_batches_in_rank_order_step_by_step() {
        let group = InProcess::group(3);
        let results: Vec<Vec<Vec<u32>>> = std::thread::scope(|s| {
            let handles: Vec<_> = group
                .iter()
                .map(|x| {
                    s.spawn(move || {
                        // Rank r owns ids 10r..10r+10; fires r+k ids at step k.
                        let r = x.rank() as u32;
                        let (mut ids, mut counts) = (Vec::new(), Vec::new());
                        for k in 0..4u32 {
                            ids.extend((0..r + k).map(|i| 10 * r + i));
                            counts.push(r + k);
                        }
                        let mut g = Gathered::default();
                        x.all_gather(&ids, &counts, &mut g);
                        assert_eq!(x.reduce(r as u64 + 5, Reduce::Min), 5);
                        assert_eq!(x.reduce(r as u64, Reduce::Sum), 3);
                        (0..4)
                            .map(|k| {
                                let mut out = Vec::new();
                                g.step_into(k, &mut out);
                                out
                            })
                            .collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for k in 0..4u32 {
            let want: Vec<u32> = (0..3u32)
                .flat_map(|r| (0..r + k).map(move |i| 10 * r + i))
                .collect();
            for r in &results {
                assert_eq!(r[k as usize], want, "step {k}");
            }
        }
    }
}
