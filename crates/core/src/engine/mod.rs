//! The engine: advances a network step by step, on the schedule written
//! down in [`network`], over one or more neuron ranges. There is one: the
//! seed's run is a network on it too ([`Simulation`], `seed.rs`).

pub mod exchange;
pub mod kernel;
pub mod network;
mod seed;
mod stepper;
mod threads;

use std::ops::Range;

pub use kernel::Isa;
pub use network::NetworkSimulation;
pub use seed::Simulation;

use crate::error::{Error, Result};

/// Networks at least this large split each step across threads by default
/// (the seed's dense run and network files alike): below it a step (a few
/// microseconds for cuba's 4000 neurons) costs less than meeting another
/// thread at a barrier.
pub const PARALLEL_MIN_NEURONS: usize = 5000;

/// How the engine runs (never what it computes: results are the same bits
/// for every choice here).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineOptions {
    /// Threads for one simulation's step; `None`: one below
    /// [`PARALLEL_MIN_NEURONS`] neurons, every core above.
    pub threads: Option<usize>,
    /// Force an instruction set (tests); `None`: the best the CPU has.
    pub isa: Option<Isa>,
}

/// A rayon pool of `threads` threads (at least one, at most the available
/// cores: its work never depends on the pool's size), for work that runs on
/// as many threads as the user asked rather than on every core.
pub(crate) fn thread_pool(threads: usize) -> Result<rayon::ThreadPool> {
    if threads == 0 {
        return Err(Error::param("threads", "must be at least 1"));
    }
    let threads = threads.min(crate::resources::available_cores());
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Error::param("threads", format!("cannot start {threads} threads: {e}")))
}

impl EngineOptions {
    /// The threads a simulation of `n` neurons splits its step across: the
    /// number asked for, or by default one below [`PARALLEL_MIN_NEURONS`]
    /// neurons and every core above.
    pub fn threads_for(&self, n: usize) -> Result<usize> {
        match self.threads {
            Some(0) => Err(Error::param("threads", "must be at least 1")),
            Some(t) => Ok(t),
            None if n >= PARALLEL_MIN_NEURONS => Ok(rayon::current_num_threads()),
            None => Ok(1),
        }
    }
}

/// `n` neurons cut into `parts` contiguous ranges of nearly equal size,
/// boundaries on multiples of 64 neurons (whole cache lines).
pub fn split(n: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, n.div_ceil(64).max(1));
    let blocks = n.div_ceil(64);
    (0..parts)
        .map(|p| {
            let start = (blocks * p / parts * 64).min(n);
            let end = (blocks * (p + 1) / parts * 64).min(n);
            start..end
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_everything_in_order() {
        for (n, parts) in [(1, 4), (64, 2), (1000, 2), (1003, 3), (10_000, 16)] {
            let ranges = split(n, parts);
            assert_eq!(ranges.first().unwrap().start, 0);
            assert_eq!(ranges.last().unwrap().end, n);
            for w in ranges.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert!(w[0].start < w[0].end);
            }
        }
    }
}
