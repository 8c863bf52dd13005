//! Running one simulation's partitions on several threads.
//!
//! A step is a few microseconds, far too short for a thread pool's wake-up
//! latency, so each partition gets a thread of its own for a whole stretch of
//! steps and the threads meet at a spinning barrier once a step. Each
//! partition publishes the spikes it found in a buffer of its own, one of two
//! by step parity; after the barrier every thread gathers all partitions'
//! spikes of the step (the sorted, network-wide list the next step reads)
//! while the owners may already be writing the next step's into the other
//! buffer. That exchange is the only communication; between MPI ranks it
//! goes through [`super::exchange`] once per interval, between the steps
//! or, where the delays allow, while the next interval's run (`overlapped`).

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, RwLock};

use super::exchange::{Gathered, Link, Outgoing};
use crate::recording::SpikeSink;

/// A barrier for a fixed number of threads that spins first and sleeps only
/// if spinning did not do: microsecond steps cannot wait for the kernel to
/// wake a thread, but an oversubscribed machine must not burn its cores.
/// Arrival is one atomic add; the mutex is touched only to sleep or wake.
struct SpinBarrier {
    threads: usize,
    /// Polls before sleeping: [`SPINS`], or none when there are more threads
    /// than cores (a spinning thread would hold the core its peer needs).
    spins: u32,
    arrived: AtomicUsize,
    generation: AtomicUsize,
    sleepers: AtomicUsize,
    /// Set when a thread panicked: the others stop waiting and panic too,
    /// so the panic reaches the caller instead of leaving them waiting.
    poisoned: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

/// Polls of the generation before a waiting thread sleeps (a few hundred
/// microseconds: many steps' worth).
const SPINS: u32 = 1 << 16;

impl SpinBarrier {
    fn new(threads: usize) -> Self {
        let spins = if threads <= crate::resources::available_cores() {
            SPINS
        } else {
            0
        };
        Self {
            threads,
            spins,
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            poisoned: AtomicBool::new(false),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        }
    }

    /// Returns once all threads have called `wait` for this generation.
    fn wait(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.threads {
            // Last in: reset for the next round, then release the others.
            self.arrived.store(0, Ordering::Relaxed);
            self.generation
                .store(generation.wrapping_add(1), Ordering::SeqCst);
            if self.sleepers.load(Ordering::SeqCst) > 0 {
                let _guard = lock(&self.lock);
                self.wake.notify_all();
            }
            return;
        }
        // Plain re-loads, no PAUSE: under a hypervisor, pause-loop exiting
        // can deschedule a vCPU that spins with PAUSE.
        for _ in 0..self.spins {
            if self.generation.load(Ordering::Acquire) != generation {
                return;
            }
            std::sync::atomic::compiler_fence(Ordering::SeqCst);
        }
        let mut guard = lock(&self.lock);
        // SeqCst pairs with the releaser's store of the generation and load
        // of `sleepers`: one of the two sees the other's store.
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        while self.generation.load(Ordering::SeqCst) == generation {
            if self.poisoned.load(Ordering::SeqCst) {
                drop(guard);
                panic!("another thread of this simulation panicked");
            }
            guard = self.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }

    /// Runs `f`; if it panics, wakes every waiting thread (they panic in
    /// turn, so the whole scope unwinds) and passes the panic on.
    fn guard<R>(&self, f: impl FnOnce() -> R) -> R {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(r) => r,
            Err(payload) => {
                self.poisoned.store(true, Ordering::SeqCst);
                // Spinning threads stop spinning within their SPINS polls
                // and sleep; wake the sleepers now to see the flag.
                let _guard = lock(&self.lock);
                self.wake.notify_all();
                drop(_guard);
                std::panic::resume_unwind(payload)
            }
        }
    }
}

fn lock<X>(m: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A neuron range that a thread advances one step at a time, reading only
/// the network-wide sorted list of spikes and constants `C` shared by all
/// ranges, and handing the sink the spikes each step emits. The engine's
/// partitions are this; the runner below is the one run loop, and knows
/// nothing else of them.
pub(super) trait RangeStep<C: Sync + ?Sized>: Send {
    /// Advances the range through `step`, given the network's spikes that
    /// the step delivers (those emitted at the step before).
    fn advance(&mut self, step: u64, fired: &[u32], ctx: &C);

    /// Delivers `fired`, the network's spikes emitted at step `step - 1`,
    /// exactly as `advance(step, fired, ..)` would at its start, but later:
    /// the runner calls it for the spikes of an exchange interval after the
    /// steps that follow them (see [`run_steps`]). Only called when the
    /// interval is longer than one step, or when ranks overlap their
    /// exchanges with the steps (then for every step, after the next
    /// interval's steps: [`overlapped`]).
    fn deliver(&mut self, step: u64, fired: &[u32], ctx: &C);

    /// The range's spikes found by the last `advance` (sorted ids).
    fn fired(&self) -> &[u32];
}

/// One partition's spikes of an exchange interval: the ids of each step, one
/// after the other, and where each step's end.
#[derive(Default)]
struct Batch {
    ids: Vec<u32>,
    ends: Vec<usize>,
}

impl Batch {
    fn clear(&mut self) {
        self.ids.clear();
        self.ends.clear();
    }

    fn push(&mut self, spikes: &[u32]) {
        self.ids.extend_from_slice(spikes);
        self.ends.push(self.ids.len());
    }

    /// The spikes of the interval's `k`-th step.
    fn step(&self, k: usize) -> &[u32] {
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.ids[start..self.ends[k]]
    }
}

/// One partition's batches of the last two intervals, by interval parity.
type Outbox = [Mutex<Batch>; 2];

/// Runs `steps`, exchanging spikes between the partitions once every
/// `interval` steps, the network's minimum delay in steps (NEST's scheme:
/// a spike cannot act before that, so no partition needs another's spikes
/// sooner). `fired` holds the spikes the first step delivers on entry and
/// those the step after the last delivers on return.
///
/// With one partition the steps run on this thread, delivering every step.
/// With more, each partition has a thread (this thread takes the first and
/// records); within an interval each runs its steps alone, then all meet at
/// a barrier, gather every partition's spikes of each step of the interval
/// (in range order, so each step's list stays sorted), record them, and
/// deliver those of all but the last step (the last step's are delivered
/// by the next interval's first step, as without intervals). A spike
/// emitted at step `s` is thus delivered by step `s + interval` at the
/// latest, before anything it acts on is read, and in emission order: the
/// same additions in the same order as delivering every step, so the same
/// bits for every interval and every partitioning.
///
/// With `ranks` of more than one rank (these partitions are one rank's
/// range), this thread also gathers its partitions' batch after the
/// barrier, exchanges it with the other ranks' ([`Link::spikes`]) and
/// meets its threads at a second barrier; then every thread reads the
/// batch it received (the network's, or with Alltoall the spikes this
/// rank needs), rank after rank, as it would read its partitions'. Every rank
/// must call this with the same `steps` and `interval`. Where the ranks
/// overlap their exchanges with the steps ([`super::exchange::overlaps`]),
/// [`overlapped`] runs the steps instead.
pub(super) fn run_steps<C: Sync + ?Sized, P: RangeStep<C>>(
    parts: &mut [P],
    fired: &mut Vec<u32>,
    steps: Range<u64>,
    interval: u64,
    ctx: &C,
    sink: &mut dyn SpikeSink,
    ranks: Option<Link<'_>>,
) {
    let ranks = ranks.filter(|x| x.exchange.ranks() > 1);
    if let Some(link) = ranks.filter(|x| super::exchange::overlaps(x.exchange, interval)) {
        return overlapped(parts, fired, steps, interval / 2, ctx, sink, link);
    }
    if let ([part], None) = (&mut *parts, ranks) {
        for step in steps {
            part.advance(step, fired, ctx);
            fired.clear();
            fired.extend_from_slice(part.fired());
            sink.record(step as usize, fired);
        }
        return;
    }
    let interval = interval.max(1);
    let barrier = SpinBarrier::new(parts.len());
    let outboxes: Vec<Outbox> = parts.iter().map(|_| Default::default()).collect();
    // The network's batch of the last interval, across ranks: written by
    // this thread between the two barriers, read by all after the second
    // (the next write is after every thread's next first barrier).
    let gathered = RwLock::new(Gathered::default());
    let distributed = ranks.is_some();
    let (first, rest) = parts.split_first_mut().expect("at least one partition");
    let start: &[u32] = fired;
    let intervals = || intervals(steps.clone(), interval);
    let last = std::thread::scope(|scope| {
        for (me, part) in rest.iter_mut().enumerate() {
            let (barrier, outboxes, gathered) = (&barrier, &outboxes, &gathered);
            scope.spawn(move || {
                barrier.guard(|| {
                    let (mut global, mut copies) = (start.to_vec(), Vec::new());
                    for (n, steps) in intervals() {
                        let outbox = &outboxes[me + 1];
                        run_interval(part, outbox, n, steps.clone(), &global, ctx, || {});
                        barrier.wait();
                        let copies = &mut copies;
                        if distributed {
                            barrier.wait();
                            let g = read(gathered);
                            deliver_gathered(
                                part,
                                &g,
                                steps,
                                true,
                                &mut global,
                                ctx,
                                &mut |_, _| {},
                            );
                        } else {
                            exchange(
                                part,
                                outboxes,
                                n,
                                steps,
                                &mut global,
                                copies,
                                ctx,
                                &mut |_, _| {},
                            );
                        }
                    }
                })
            });
        }
        barrier.guard(|| {
            let (mut global, mut copies) = (start.to_vec(), Vec::new());
            let mut batch = Outgoing::default();
            for (n, steps) in intervals() {
                run_interval(first, &outboxes[0], n, steps.clone(), &global, ctx, || {});
                barrier.wait();
                let mut record = |step: u64, spikes: &[u32]| sink.record(step as usize, spikes);
                if let Some(ranks) = ranks {
                    {
                        let mut g = gathered.write().unwrap_or_else(|e| e.into_inner());
                        local_batch(&outboxes, n, steps.end - steps.start, &mut batch);
                        ranks.spikes(&mut batch, &mut g);
                    }
                    barrier.wait();
                    let g = read(&gathered);
                    deliver_gathered(first, &g, steps, true, &mut global, ctx, &mut record);
                } else {
                    exchange(
                        first,
                        &outboxes,
                        n,
                        steps,
                        &mut global,
                        &mut copies,
                        ctx,
                        &mut record,
                    );
                }
            }
            global
        })
    });
    *fired = last;
}

/// [`run_steps`] over ranks with each interval's exchange running while
/// the next interval's steps do (Arbor's scheme): `interval` is at most
/// half the minimum delay, so the spikes of interval `n` act no sooner than
/// the first step of interval `n + 2`. After interval `n` this thread
/// starts its exchange ([`Link::start`]), moves it on after each step of
/// interval `n + 1` ([`Link::progress`]) and then finishes it; every
/// partition then delivers those spikes, the last step's too (so the first
/// step of an interval delivers nothing). The spikes of the last interval
/// are exchanged before returning and left as in [`run_steps`] (all but
/// the last step's delivered). Spikes are still delivered in emission
/// order, each before the step it first acts on: the same bits.
fn overlapped<C: Sync + ?Sized, P: RangeStep<C>>(
    parts: &mut [P],
    fired: &mut Vec<u32>,
    steps: Range<u64>,
    interval: u64,
    ctx: &C,
    sink: &mut dyn SpikeSink,
    ranks: Link<'_>,
) {
    let barrier = SpinBarrier::new(parts.len());
    let outboxes: Vec<Outbox> = parts.iter().map(|_| Default::default()).collect();
    // The network's batch of the interval before the last: written by this
    // thread between the two barriers, read by all after the second.
    let gathered = RwLock::new(Gathered::default());
    let (first, rest) = parts.split_first_mut().expect("at least one partition");
    let start: &[u32] = fired;
    let intervals = || intervals(steps.clone(), interval);
    // What interval `n` reads on entry: the spikes before the run, or none.
    let pending = |n: usize| if n == 0 { start } else { &[] };
    let last = std::thread::scope(|scope| {
        for (me, part) in rest.iter_mut().enumerate() {
            let (barrier, outbox, gathered) = (&barrier, &outboxes[me + 1], &gathered);
            scope.spawn(move || {
                barrier.guard(|| {
                    let (mut global, mut before) = (Vec::new(), None);
                    for (n, steps) in intervals() {
                        run_interval(part, outbox, n, steps.clone(), pending(n), ctx, || {});
                        barrier.wait();
                        barrier.wait();
                        if let Some(b) = before.replace(steps) {
                            let g = read(gathered);
                            deliver_gathered(part, &g, b, false, &mut global, ctx, &mut |_, _| {});
                        }
                    }
                    barrier.wait();
                    barrier.wait();
                    let b = before.expect("at least one interval");
                    deliver_gathered(
                        part,
                        &read(gathered),
                        b,
                        true,
                        &mut global,
                        ctx,
                        &mut |_, _| {},
                    );
                })
            });
        }
        barrier.guard(|| {
            let (mut global, mut before) = (Vec::new(), None);
            let mut batch = Outgoing::default();
            let mut record = |step: u64, spikes: &[u32]| sink.record(step as usize, spikes);
            for (n, steps) in intervals() {
                let progress = || ranks.progress();
                run_interval(
                    first,
                    &outboxes[0],
                    n,
                    steps.clone(),
                    pending(n),
                    ctx,
                    progress,
                );
                barrier.wait();
                {
                    let mut g = gathered.write().unwrap_or_else(|e| e.into_inner());
                    if before.is_some() {
                        ranks.finish(&mut g);
                    }
                    local_batch(&outboxes, n, steps.end - steps.start, &mut batch);
                    ranks.start(&mut batch);
                }
                barrier.wait();
                if let Some(b) = before.replace(steps) {
                    deliver_gathered(
                        first,
                        &read(&gathered),
                        b,
                        false,
                        &mut global,
                        ctx,
                        &mut record,
                    );
                }
            }
            // Once every partition has delivered the interval before.
            barrier.wait();
            ranks.finish(&mut gathered.write().unwrap_or_else(|e| e.into_inner()));
            barrier.wait();
            let b = before.expect("at least one interval");
            deliver_gathered(
                first,
                &read(&gathered),
                b,
                true,
                &mut global,
                ctx,
                &mut record,
            );
            global
        })
    });
    *fired = last;
}

/// `steps` cut into stretches of `interval` steps (the last may be
/// shorter), numbered from 0.
fn intervals(steps: Range<u64>, interval: u64) -> impl Iterator<Item = (usize, Range<u64>)> {
    let end = steps.end;
    (steps.start..end)
        .step_by(interval as usize)
        .enumerate()
        .map(move |(n, a)| (n, a..a.saturating_add(interval).min(end)))
}

fn read(g: &RwLock<Gathered>) -> std::sync::RwLockReadGuard<'_, Gathered> {
    g.read().unwrap_or_else(|e| e.into_inner())
}

/// This rank's batch of interval `n` (of `steps` steps): each step's spikes
/// of every partition, in range order, and per step how many.
fn local_batch(outboxes: &[Outbox], n: usize, steps: u64, batch: &mut Outgoing) {
    batch.ids.clear();
    batch.counts.clear();
    let boxes: Vec<_> = outboxes.iter().map(|o| lock(&o[n & 1])).collect();
    for k in 0..steps as usize {
        let before = batch.ids.len();
        for b in &boxes {
            batch.ids.extend_from_slice(b.step(k));
        }
        batch.counts.push((batch.ids.len() - before) as u32);
    }
}

/// After the exchange of an interval between ranks: the network's spikes
/// of each of its steps (each handed to `record`), delivered to `part`;
/// with `keep_last`, but for the last step's, which are left in `global`.
fn deliver_gathered<C: Sync + ?Sized, P: RangeStep<C>>(
    part: &mut P,
    gathered: &Gathered,
    steps: Range<u64>,
    keep_last: bool,
    global: &mut Vec<u32>,
    ctx: &C,
    record: &mut dyn FnMut(u64, &[u32]),
) {
    let last = steps.end - 1;
    for (k, step) in steps.enumerate() {
        global.clear();
        gathered.step_into(k, global);
        record(step, global);
        if step != last || !keep_last {
            part.deliver(step + 1, global, ctx);
        }
    }
}

/// A partition's steps of interval number `n`, its spikes into its outbox;
/// `pending` are the network's spikes the first step delivers. `between`
/// runs after each step.
fn run_interval<C: Sync + ?Sized, P: RangeStep<C>>(
    part: &mut P,
    outbox: &Outbox,
    n: usize,
    steps: Range<u64>,
    pending: &[u32],
    ctx: &C,
    mut between: impl FnMut(),
) {
    // The buffer is free: its last readers gathered it two intervals ago,
    // before the barrier of the interval after, which this thread has passed.
    let mut out = lock(&outbox[n & 1]);
    out.clear();
    let first = steps.start;
    for step in steps {
        part.advance(step, if step == first { pending } else { &[] }, ctx);
        out.push(part.fired());
        between();
    }
}

/// After the barrier of interval `n`: every partition's spikes of each of
/// its steps, gathered in range order (each handed to `record`), delivered
/// to `part` but for the last step's, which are left in `global`. Each
/// outbox is locked only to copy it (`copies`, reused), so the threads
/// gather at once.
#[allow(clippy::too_many_arguments)] // what is exchanged, and what it goes to
fn exchange<C: Sync + ?Sized, P: RangeStep<C>>(
    part: &mut P,
    outboxes: &[Outbox],
    n: usize,
    steps: Range<u64>,
    global: &mut Vec<u32>,
    copies: &mut Vec<Batch>,
    ctx: &C,
    record: &mut dyn FnMut(u64, &[u32]),
) {
    copies.resize_with(outboxes.len(), Batch::default);
    for (copy, outbox) in copies.iter_mut().zip(outboxes) {
        let b = lock(&outbox[n & 1]);
        copy.clear();
        copy.ids.extend_from_slice(&b.ids);
        copy.ends.extend_from_slice(&b.ends);
    }
    let last = steps.end - 1;
    for (k, step) in steps.enumerate() {
        global.clear();
        for b in copies.iter() {
            global.extend_from_slice(b.step(k));
        }
        record(step, global);
        if step != last {
            part.deliver(step + 1, global, ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A range of one neuron that fires every step, and panics at `fail_at`
    /// if it is the one chosen to.
    struct Part {
        id: u32,
        fail_at: Option<u64>,
        fired: Vec<u32>,
    }

    impl RangeStep<()> for Part {
        fn advance(&mut self, step: u64, _: &[u32], _: &()) {
            if self.fail_at == Some(step) {
                panic!("partition {} fails at step {step}", self.id);
            }
            self.fired = vec![self.id];
        }
        fn deliver(&mut self, _: u64, _: &[u32], _: &()) {}
        fn fired(&self) -> &[u32] {
            &self.fired
        }
    }

    struct Count(usize);

    impl SpikeSink for Count {
        fn record(&mut self, _: usize, fired: &[u32]) {
            self.0 += fired.len();
        }
    }

    fn run(parts: usize, failing: Option<u32>) -> std::thread::Result<usize> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let result = std::panic::catch_unwind(|| {
                let mut parts: Vec<Part> = (0..parts as u32)
                    .map(|id| Part {
                        id,
                        fail_at: (Some(id) == failing).then_some(50),
                        fired: Vec::new(),
                    })
                    .collect();
                let mut count = Count(0);
                run_steps(
                    &mut parts,
                    &mut Vec::new(),
                    0..100,
                    7,
                    &(),
                    &mut count,
                    None,
                );
                count.0
            });
            let _ = tx.send(result);
        });
        rx.recv_timeout(std::time::Duration::from_secs(20))
            .expect("the runner must not hang")
    }

    #[test]
    fn every_partition_runs_every_step() {
        assert_eq!(run(3, None).unwrap(), 300);
    }

    #[test]
    fn a_panic_in_any_thread_reaches_the_caller_instead_of_hanging() {
        for failing in 0..3 {
            assert!(run(3, Some(failing)).is_err(), "partition {failing}");
        }
    }
}
