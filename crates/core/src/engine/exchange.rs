//! The one thing processes (MPI ranks) of a distributed run exchange: each
//! rank's spikes of a minimum-delay interval, gathered into the network's.
//!
//! A rank owns a contiguous range of neurons (ranks in ascending order,
//! `network::balance`), so the network's spikes of a step are rank 0's, then
//! rank 1's, ...: each rank's list is sorted, and so is their concatenation.
//! Once per interval each rank sends its batch (the ids of every step of the
//! interval, one step after the other, and how many each step has) and gets
//! every rank's back ([`Exchange::all_gather`]: Arbor's scheme, an
//! `Allgatherv` of ids after an `Allgather` of per-step counts), or sends
//! each rank only the spikes of the neurons with synapses on it
//! ([`Scheme::AllToAll`], NEST's: an `Alltoall` of per-rank counts and an
//! `Alltoallv` of ids, filtered by [`Routes`], `routes.rs`). Either way a
//! rank receives, per step, a sorted list holding every spike it delivers,
//! so the spikes are the same bits.
//!
//! The exchange of an interval can also run behind the next interval's
//! steps ([`Exchange::overlap`], Arbor's scheme): [`Exchange::start`] posts
//! it and returns, [`Exchange::progress`] moves it on between steps and
//! [`Exchange::finish`] waits for what is left (`threads::run_steps` says
//! when the delays allow it).
//!
//! With one rank nothing here is called: `threads::run_steps` runs exactly
//! as it does without an exchange. [`InProcess`] is a group of ranks in one
//! process (threads, for the tests of the rank logic without MPI); `mpi.rs`
//! (feature `mpi`) is the one over MPI.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};

#[cfg(feature = "mpi")]
pub mod mpi;
mod routes;

pub use routes::Routes;

/// How the ranks exchange an interval's spikes (`lifsim run --exchange`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scheme {
    /// Every rank receives every rank's spikes (`MPI_Allgatherv`, Arbor's).
    #[default]
    AllGather,
    /// Each rank receives only the spikes of neurons with synapses onto its
    /// own (`MPI_Alltoallv`, NEST's); rank 0, which writes the output,
    /// receives them all.
    AllToAll,
}

impl Scheme {
    /// The choices, as `--exchange` spells them.
    pub const CHOICES: &'static str = "allgather|alltoall";

    /// The name `--exchange` takes.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::AllGather => "allgather",
            Scheme::AllToAll => "alltoall",
        }
    }
}

impl std::str::FromStr for Scheme {
    type Err = crate::error::Error;

    fn from_str(s: &str) -> crate::error::Result<Self> {
        match s {
            "allgather" => Ok(Scheme::AllGather),
            "alltoall" => Ok(Scheme::AllToAll),
            _ => Err(crate::error::Error::param(
                "exchange",
                format!("is {s:?}; expected one of {}", Scheme::CHOICES),
            )),
        }
    }
}

/// What one rank's spike exchanges moved so far: how many intervals, the
/// bytes it received from other ranks (ids and per-step counts; what a
/// rank sends itself is not counted), and the time spent in them, waiting
/// for the other ranks included.
#[derive(Debug, Default)]
pub struct Traffic {
    intervals: AtomicU64,
    bytes: AtomicU64,
    nanos: AtomicU64,
}

impl Traffic {
    /// Exchanges so far.
    pub fn intervals(&self) -> u64 {
        self.intervals.load(Ordering::Relaxed)
    }

    /// Bytes received from other ranks so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Seconds spent in the exchanges so far (filtering, the collectives
    /// and the wait for the slowest rank).
    pub fn seconds(&self) -> f64 {
        self.nanos.load(Ordering::Relaxed) as f64 * 1e-9
    }

    /// Counts one exchange of `steps` steps whose result is `got`.
    fn count(&self, got: &Gathered, me: usize) {
        let steps = got.steps;
        let others: usize = (0..got.ranks())
            .filter(|&r| r != me)
            .map(|r| {
                let c = &got.counts[r * steps..(r + 1) * steps];
                steps + c.iter().map(|&c| c as usize).sum::<usize>()
            })
            .sum();
        self.intervals.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(4 * others as u64, Ordering::Relaxed);
    }
}

/// One rank's side of the spike exchange of a run: the ranks, where its
/// spikes go (with [`Scheme::AllToAll`]), and the traffic counter.
#[derive(Clone, Copy)]
pub struct Link<'a> {
    /// The ranks.
    pub exchange: &'a dyn Exchange,
    /// Which ranks need each of this rank's neurons' spikes; `None`: all
    /// of them ([`Scheme::AllGather`]).
    pub routes: Option<&'a Routes>,
    /// Counts what the exchanges moved.
    pub traffic: &'a Traffic,
}

/// A rank's outgoing spikes of an interval, and the buffers the filtered
/// per-rank copies are made in (reused between intervals).
#[derive(Default)]
pub struct Outgoing {
    /// Each step's ids, one step after the other.
    pub ids: Vec<u32>,
    /// How many at each step.
    pub counts: Vec<u32>,
    selected: Vec<u32>,
    selected_counts: Vec<u32>,
}

impl Link<'_> {
    /// Exchanges this rank's spikes of an interval (`out`) for the spikes
    /// of every rank this rank needs (`got`: every rank's with
    /// [`Scheme::AllGather`], each rank's filtered by the routes with
    /// [`Scheme::AllToAll`]). Collective.
    pub fn spikes(&self, out: &mut Outgoing, got: &mut Gathered) {
        let start = std::time::Instant::now();
        match self.batch(out) {
            (Scheme::AllGather, ids, counts) => self.exchange.all_gather(ids, counts, got),
            (Scheme::AllToAll, ids, counts) => self.exchange.all_to_all(ids, counts, got),
        }
        self.finished(got, start);
    }

    /// Starts exchanging this rank's spikes of an interval (`out`) as
    /// [`Self::spikes`] does, and returns at once; [`Self::finish`] gets
    /// what it received. Collective.
    pub fn start(&self, out: &mut Outgoing) {
        let start = std::time::Instant::now();
        let (scheme, ids, counts) = self.batch(out);
        self.exchange.start(scheme, ids, counts);
        self.timed(start);
    }

    /// What this rank sends of `out`, and by which collective: all of it to
    /// every rank, or each rank's selection by the routes.
    fn batch<'o>(&self, out: &'o mut Outgoing) -> (Scheme, &'o [u32], &'o [u32]) {
        match self.routes {
            None => (Scheme::AllGather, &out.ids, &out.counts),
            Some(routes) => {
                routes.select(
                    &out.ids,
                    &out.counts,
                    &mut out.selected,
                    &mut out.selected_counts,
                );
                (Scheme::AllToAll, &out.selected, &out.selected_counts)
            }
        }
    }

    /// Moves the exchange [`Self::start`] began on, without waiting.
    pub fn progress(&self) {
        let start = std::time::Instant::now();
        self.exchange.progress();
        self.timed(start);
    }

    /// Waits for the exchange [`Self::start`] began to end and puts what
    /// this rank received in `got`, as [`Self::spikes`] would.
    pub fn finish(&self, got: &mut Gathered) {
        let start = std::time::Instant::now();
        self.exchange.finish(got);
        self.finished(got, start);
    }

    /// Counts an exchange that ended with `got`, begun at `start`.
    fn finished(&self, got: &Gathered, start: std::time::Instant) {
        self.traffic.count(got, self.exchange.rank());
        self.timed(start);
    }

    fn timed(&self, start: std::time::Instant) {
        let nanos = start.elapsed().as_nanos() as u64;
        self.traffic.nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// Whether a run over `exchange`'s ranks whose minimum delay is `delay`
/// steps overlaps each exchange with the next interval's steps: where asked
/// to ([`Exchange::overlap`]), over several ranks, and where the delay
/// leaves an interval of half of it, at least one step.
pub fn overlaps(exchange: &dyn Exchange, delay: u64) -> bool {
    exchange.ranks() > 1 && exchange.overlap() && delay >= 2
}

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

    /// Each rank's batch for this rank into `out` (the same layout as
    /// [`Self::all_gather`]'s: from rank 0, its ids of each step, then from
    /// rank 1, ...). `counts[q * steps + k]` is how many ids this rank sends
    /// rank `q` for step `k` (the same `steps` on every rank); `ids` holds
    /// rank 0's ids of each step, then rank 1's, ...
    fn all_to_all(&self, ids: &[u32], counts: &[u32], out: &mut Gathered);

    /// Starts [`Self::all_gather`] (`scheme` [`Scheme::AllGather`]) or
    /// [`Self::all_to_all`] of `ids` and `counts` and returns without
    /// waiting for the other ranks; the caller may reuse both at once. One
    /// exchange at a time: [`Self::finish`] ends it. Collective.
    fn start(&self, scheme: Scheme, ids: &[u32], counts: &[u32]);

    /// Moves the exchange [`Self::start`] began on, if it can without
    /// waiting (MPI progresses a non-blocking collective only within MPI
    /// calls).
    fn progress(&self);

    /// Waits for the exchange [`Self::start`] began and puts its result in
    /// `out`, as the blocking collective would.
    fn finish(&self, out: &mut Gathered);

    /// How the ranks exchange spikes.
    fn scheme(&self) -> Scheme;

    /// Whether an interval's exchange runs while the next interval's steps
    /// do ([`Self::start`], [`Self::finish`]), where the delays allow it.
    fn overlap(&self) -> bool;

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
    scheme: Scheme,
    overlap: bool,
    shared: Arc<Group>,
    /// The batch [`Exchange::start`] was given, exchanged by
    /// [`Exchange::finish`] (a group in one process has nothing to overlap).
    started: Mutex<Option<(Scheme, Slot)>>,
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

impl Slot {
    /// Puts a rank's batch of spike ids and per-step counts in its slot.
    fn publish(&mut self, ids: &[u32], counts: &[u32]) {
        self.ids.clear();
        self.ids.extend_from_slice(ids);
        self.counts.clear();
        self.counts.extend_from_slice(counts);
    }
}

impl InProcess {
    /// `ranks` handles, one per rank, in rank order.
    pub fn group(ranks: usize) -> Vec<InProcess> {
        Self::group_with(ranks, Scheme::default())
    }

    /// As [`Self::group`], exchanging spikes by `scheme`.
    pub fn group_with(ranks: usize, scheme: Scheme) -> Vec<InProcess> {
        Self::group_overlapping(ranks, scheme, false)
    }

    /// As [`Self::group_with`], each interval's exchange overlapped with
    /// the next interval's steps if `overlap` ([`Exchange::overlap`]).
    pub fn group_overlapping(ranks: usize, scheme: Scheme, overlap: bool) -> Vec<InProcess> {
        let shared = Arc::new(Group {
            ranks,
            barrier: Barrier::new(ranks),
            slots: Mutex::new(vec![Default::default(); ranks]),
        });
        (0..ranks)
            .map(|rank| InProcess {
                rank,
                scheme,
                overlap,
                shared: shared.clone(),
                started: Mutex::new(None),
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
            |slot| slot.publish(ids, counts),
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

    fn all_to_all(&self, ids: &[u32], counts: &[u32], out: &mut Gathered) {
        let (me, k) = (self.rank, self.shared.ranks);
        let steps = counts.len() / k;
        self.collective(
            |slot| slot.publish(ids, counts),
            |slots| {
                out.ids.clear();
                out.counts.clear();
                for s in slots {
                    let before: usize = s.counts[..me * steps].iter().map(|&c| c as usize).sum();
                    let mine = &s.counts[me * steps..(me + 1) * steps];
                    let n: usize = mine.iter().map(|&c| c as usize).sum();
                    out.ids.extend_from_slice(&s.ids[before..before + n]);
                    out.counts.extend_from_slice(mine);
                }
            },
        );
        out.index(steps);
    }

    fn start(&self, scheme: Scheme, ids: &[u32], counts: &[u32]) {
        let mut slot = Slot::default();
        slot.publish(ids, counts);
        let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
        assert!(started.is_none(), "one exchange at a time");
        *started = Some((scheme, slot));
    }

    fn progress(&self) {}

    fn finish(&self, out: &mut Gathered) {
        let started = self
            .started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let (scheme, slot) = started.expect("an exchange was started");
        match scheme {
            Scheme::AllGather => self.all_gather(&slot.ids, &slot.counts, out),
            Scheme::AllToAll => self.all_to_all(&slot.ids, &slot.counts, out),
        }
    }

    fn scheme(&self) -> Scheme {
        self.scheme
    }

    fn overlap(&self) -> bool {
        self.overlap
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

/// Runs `f` once per rank of `group`, each on a thread of its own, and
/// returns what each returned, in rank order: the in-process stand-in for
/// `mpirun` in the exchange's tests.
#[cfg(test)]
pub(crate) fn on_ranks<T: Send>(group: &[InProcess], f: impl Fn(&InProcess) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = group.iter().map(|x| s.spawn(move || f(x))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[cfg(test)]
impl Gathered {
    /// The ids of the first `steps` steps, one vector per step.
    pub(crate) fn steps(&self, steps: usize) -> Vec<Vec<u32>> {
        (0..steps)
            .map(|k| {
                let mut out = Vec::new();
                self.step_into(k, &mut out);
                out
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_gather_their_batches_in_rank_order_step_by_step() {
        let group = InProcess::group(3);
        let results = on_ranks(&group, |x| {
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
            g.steps(4)
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
