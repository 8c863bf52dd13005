//! Running one simulation's partitions on several threads.
//!
//! A step is a few microseconds, far too short for a thread pool's wake-up
//! latency, so each partition gets a thread of its own for a whole stretch of
//! steps and the threads meet at a spinning barrier once a step. Each
//! partition publishes the spikes it found in a buffer of its own, one of two
//! by step parity; after the barrier every thread gathers all partitions'
//! spikes of the step (the sorted, network-wide list the next step reads)
//! while the owners may already be writing the next step's into the other
//! buffer. That exchange is the only communication, as it will be between
//! MPI ranks.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

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
/// ranges. Both engines' partitions are this; the runner below is the only
/// place they meet.
pub(super) trait RangeStep<C: Sync + ?Sized>: Send {
    /// When the runner hands a step's spikes to the sink: `true` before the
    /// step, with the spikes it reads (the dense engine, whose step delivers
    /// the spikes found at the end of the last), `false` after it, with the
    /// spikes it emitted (the network engine).
    const RECORD_INPUT: bool;

    /// Advances the range through `step`, given the network's spikes that
    /// the step reads.
    fn advance(&mut self, step: u64, fired: &[u32], ctx: &C);

    /// The range's spikes found by the last `advance` (sorted ids).
    fn fired(&self) -> &[u32];
}

/// One partition's spikes of the last two steps, by step parity.
type Outbox = [Mutex<Vec<u32>>; 2];

/// Runs `steps` with one thread per partition (this thread takes the first
/// and records); `fired` holds the spikes the first step reads on entry and
/// those the step after the last reads on return. Partitions are in range
/// order, so concatenating their spikes keeps the list sorted.
pub(super) fn run_steps<C: Sync + ?Sized, P: RangeStep<C>>(
    parts: &mut [P],
    fired: &mut Vec<u32>,
    steps: Range<u64>,
    ctx: &C,
    sink: &mut dyn SpikeSink,
) {
    let barrier = SpinBarrier::new(parts.len());
    let outboxes: Vec<Outbox> = parts.iter().map(|_| Default::default()).collect();
    let (first, rest) = parts.split_first_mut().expect("at least one partition");
    let start: &[u32] = fired;
    let last = std::thread::scope(|scope| {
        for (me, part) in rest.iter_mut().enumerate() {
            let (barrier, outboxes, steps) = (&barrier, &outboxes, steps.clone());
            scope.spawn(move || {
                barrier.guard(|| {
                    let mut global = start.to_vec();
                    for step in steps {
                        part.advance(step, &global, ctx);
                        publish(&outboxes[me + 1], step, part.fired());
                        barrier.wait();
                        gather(outboxes, step, &mut global);
                    }
                })
            });
        }
        barrier.guard(|| {
            let mut global = start.to_vec();
            for step in steps {
                if P::RECORD_INPUT {
                    sink.record(step as usize, &global);
                }
                first.advance(step, &global, ctx);
                publish(&outboxes[0], step, first.fired());
                barrier.wait();
                gather(&outboxes, step, &mut global);
                if !P::RECORD_INPUT {
                    sink.record(step as usize, &global);
                }
            }
            global
        })
    });
    *fired = last;
}

/// Puts a partition's spikes of `step` in its outbox. The buffer is free: its
/// last readers gathered it two steps ago, before the barrier of the step
/// after, which this thread has passed.
fn publish(outbox: &Outbox, step: u64, spikes: &[u32]) {
    let mut out = lock(&outbox[(step & 1) as usize]);
    out.clear();
    out.extend_from_slice(spikes);
}

/// The network-wide spikes of `step`, from every partition's outbox.
fn gather(outboxes: &[Outbox], step: u64, global: &mut Vec<u32>) {
    global.clear();
    for outbox in outboxes {
        global.extend_from_slice(&lock(&outbox[(step & 1) as usize]));
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
        const RECORD_INPUT: bool = false;
        fn advance(&mut self, step: u64, _: &[u32], _: &()) {
            if self.fail_at == Some(step) {
                panic!("partition {} fails at step {step}", self.id);
            }
            self.fired = vec![self.id];
        }
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
                run_steps(&mut parts, &mut Vec::new(), 0..100, &(), &mut count);
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
