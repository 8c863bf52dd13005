//! Running one simulation's partitions on several threads.
//!
//! A step is a few microseconds, far too short for a thread pool's wake-up
//! latency, so each partition gets a thread of its own for a whole stretch of
//! steps and the threads meet at a spinning barrier twice a step: once when
//! the step's spikes are ready, once when every partition has advanced. The
//! spike exchange in between is the only communication, as it will be between
//! MPI ranks.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, RwLock};

use super::kernel::Isa;
use super::partition::Partition;
use crate::model::{Coefficients, Real};
use crate::network::DenseView;
use crate::recording::SpikeSink;

/// A barrier for a fixed number of threads that spins first and sleeps only
/// if spinning did not do: microsecond steps cannot wait for the kernel to
/// wake a thread, but an oversubscribed machine must not burn its cores.
struct SpinBarrier {
    threads: usize,
    generation: AtomicUsize,
    /// Threads arrived in this generation, and how many of them sleep.
    state: Mutex<(usize, usize)>,
    wake: Condvar,
}

/// Spins before sleeping: a few tens of microseconds, about one step.
const SPINS: u32 = 1 << 16;

impl SpinBarrier {
    fn new(threads: usize) -> Self {
        Self {
            threads,
            generation: AtomicUsize::new(0),
            state: Mutex::new((0, 0)),
            wake: Condvar::new(),
        }
    }

    fn wait(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        {
            let mut state = lock(&self.state);
            state.0 += 1;
            if state.0 == self.threads {
                state.0 = 0;
                self.generation
                    .store(generation.wrapping_add(1), Ordering::Release);
                if state.1 > 0 {
                    self.wake.notify_all();
                }
                return;
            }
        }
        for _ in 0..SPINS {
            if self.generation.load(Ordering::Acquire) != generation {
                return;
            }
            // A plain re-load, no PAUSE: under a hypervisor, PAUSE loops
            // trigger pause-loop exits that cost microseconds each.
            std::sync::atomic::compiler_fence(Ordering::SeqCst);
        }
        // The generation changes only under the lock, so checking it under
        // the lock before waiting cannot miss the wake-up.
        let mut state = lock(&self.state);
        state.1 += 1;
        while self.generation.load(Ordering::Acquire) == generation {
            state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.1 -= 1;
    }
}

fn lock<X>(m: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Everything a step reads that is the same for every partition.
pub(super) struct StepContext<'a, 'w, T> {
    pub weights: &'a DenseView<'w, T>,
    pub coeffs: &'a Coefficients<T>,
    pub isa: Isa,
}

/// Runs `steps` on `parts`, one thread per partition (the calling thread
/// takes the first). `fired` holds the spikes of the first step on entry and
/// those of the step after the last on return; `sink` sees every step's.
pub(super) fn run_steps<T: Real>(
    parts: &mut [Partition<T>],
    fired: &mut Vec<u32>,
    steps: Range<u64>,
    ctx: &StepContext<'_, '_, T>,
    sink: &mut dyn SpikeSink,
) {
    let barrier = SpinBarrier::new(parts.len());
    let global = RwLock::new(std::mem::take(fired));
    let slots: Vec<Mutex<Vec<u32>>> = parts.iter().map(|_| Mutex::new(Vec::new())).collect();
    let (first, rest) = parts.split_first_mut().expect("at least one partition");
    std::thread::scope(|scope| {
        for (part, slot) in rest.iter_mut().zip(&slots[1..]) {
            let (barrier, global, steps) = (&barrier, &global, steps.clone());
            scope.spawn(move || {
                for step in steps {
                    barrier.wait();
                    part.advance(step, ctx.weights, &read(global), ctx.coeffs, ctx.isa);
                    let mut out = lock(slot);
                    out.clear();
                    out.extend_from_slice(part.fired());
                    drop(out);
                    barrier.wait();
                }
            });
        }
        for step in steps {
            // Workers wait at the barrier, so the list is stable here.
            sink.record(step as usize, &read(&global));
            barrier.wait();
            first.advance(step, ctx.weights, &read(&global), ctx.coeffs, ctx.isa);
            barrier.wait();
            // The exchange: partitions' spikes in range order stay sorted.
            let mut all = global.write().unwrap_or_else(|e| e.into_inner());
            all.clear();
            all.extend_from_slice(first.fired());
            for slot in &slots[1..] {
                all.extend_from_slice(&lock(slot));
            }
        }
    });
    *fired = global.into_inner().unwrap_or_else(|e| e.into_inner());
}

fn read(lock: &RwLock<Vec<u32>>) -> std::sync::RwLockReadGuard<'_, Vec<u32>> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}
