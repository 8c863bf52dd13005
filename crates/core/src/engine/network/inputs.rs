//! Inputs from outside the network, for one partition's neurons: Poisson
//! trains (drawn each step from each target's own stream) and spike times.

use std::ops::Range;

use crate::inputs::PoissonSampler;
use crate::model::Real;
use crate::network::build::{NetworkInput, Recipe};
use crate::rng::{self, Purpose, Xoshiro256pp};

/// A Poisson input's share of a partition.
pub(super) struct LocalPoisson<T> {
    pub(super) sampler: PoissonSampler,
    /// `count * weight` for each count the sampler can give.
    pub(super) per_count: Vec<T>,
    channel: usize,
    /// Local indices of the targets...
    pub(super) targets: Vec<u32>,
    /// ...and their generators (keyed by the target's index in the input).
    pub(super) rngs: Vec<Xoshiro256pp>,
}

/// A spike-time input's share of a partition: (arrival step, local index,
/// weight), by arrival.
pub(super) struct LocalSpikes<T> {
    pub(super) events: Vec<(u64, u32, T)>,
    pub(super) next: usize,
    channel: usize,
}

/// Every input's share of a partition.
pub(super) struct LocalInputs<T> {
    pub(super) poisson: Vec<LocalPoisson<T>>,
    pub(super) spikes: Vec<LocalSpikes<T>>,
}

/// `count * weight` for each count `sampler` can give.
pub(super) fn per_count<T: Real>(sampler: &PoissonSampler, weight: T) -> Vec<T> {
    (0..=sampler.max_count())
        .map(|c| T::from_f64(c as f64) * weight)
        .collect()
}

impl<T: Real> LocalInputs<T> {
    /// Whether any of them adds to channel `channel`.
    pub(super) fn writes(&self, channel: usize) -> bool {
        self.poisson.iter().any(|p| p.channel == channel)
            || self.spikes.iter().any(|p| p.channel == channel)
    }

    /// Whether there are none (so no step adds anything).
    pub(super) fn is_empty(&self) -> bool {
        self.poisson.is_empty() && self.spikes.is_empty()
    }

    /// The inputs of `net` onto neurons `range`.
    pub(super) fn new(net: &Recipe<T>, range: &Range<usize>) -> Self {
        let local = |g: u32| {
            let g = g as usize;
            range.contains(&g).then(|| (g - range.start) as u32)
        };
        let (mut poisson, mut spikes) = (Vec::new(), Vec::new());
        for input in &net.inputs {
            match input {
                NetworkInput::Poisson {
                    targets,
                    mean_per_step,
                    weight,
                    seed,
                    channel,
                } => {
                    let (mut t, mut rngs) = (Vec::new(), Vec::new());
                    for (k, &g) in targets.iter().enumerate() {
                        if let Some(i) = local(g) {
                            t.push(i);
                            rngs.push(rng::stream(*seed, Purpose::Poisson, k as u64));
                        }
                    }
                    let sampler = PoissonSampler::new(*mean_per_step);
                    poisson.push(LocalPoisson {
                        per_count: per_count(&sampler, *weight),
                        sampler,
                        channel: *channel,
                        targets: t,
                        rngs,
                    });
                }
                NetworkInput::Spikes { events, channel } => spikes.push(LocalSpikes {
                    events: events
                        .iter()
                        .filter_map(|&(a, g, w)| local(g).map(|i| (a, i, w)))
                        .collect(),
                    next: 0,
                    channel: *channel,
                }),
            }
        }
        Self { poisson, spikes }
    }

    /// Step `k`'s inputs into the ring buffers (`len` neurons a slot, `mask`
    /// = slots - 1): spike times arriving by `t_{k+1}`, then the Poisson
    /// counts for `(t_k, t_{k+1}]`, arriving at `t_{k+1}`.
    pub(super) fn apply(
        &mut self,
        k: u64,
        mask: u64,
        len: usize,
        ring: &mut [Vec<T>],
        dirty: &mut [Vec<bool>],
    ) {
        for input in &mut self.spikes {
            let ring = &mut ring[input.channel];
            while let Some(&(a, i, w)) = input.events.get(input.next) {
                if a > k + 1 {
                    break;
                }
                let slot = (a & mask) as usize;
                let at = slot * len + i as usize;
                ring[at] = ring[at] + w;
                dirty[input.channel][slot] = true;
                input.next += 1;
            }
        }
        let sn = ((k + 1) & mask) as usize;
        let next = sn * len;
        for input in &mut self.poisson {
            let row = &mut ring[input.channel][next..next + len];
            let per_count = &input.per_count;
            for (&i, rng) in input.targets.iter().zip(input.rngs.iter_mut()) {
                let count = input.sampler.sample(rng) as usize;
                // A table lookup instead of a branch on the (random) count.
                let r = &mut row[i as usize];
                *r = *r + per_count[count.min(per_count.len() - 1)];
            }
            dirty[input.channel][sn] = true;
        }
    }

    /// After a restore at `step`: spike-time inputs have taken in every event
    /// arriving by `t_step`.
    pub(super) fn rewind(&mut self, step: u64) {
        for input in &mut self.spikes {
            input.next = if step == 0 {
                0
            } else {
                input.events.partition_point(|&(a, _, _)| a <= step)
            };
        }
    }
}
