//! The network engine: populations, sparse projections with delays, delta and
//! exponential synapses, Poisson and spike-time inputs, refractoriness, and
//! exact or forward-Euler integration.
//!
//! # The step, written down once
//!
//! Step `k` advances every neuron from `t_k = k dt` to `t_{k+1}`. A spike
//! "arrives" at time `t_a` = the sender's spike time plus the delay; each
//! synapse channel has a ring buffer with one slot per arrival step.
//!
//! 1. **Deliver** the spikes emitted at `t_k` (the sorted list of fired ids,
//!    the one thing partitions exchange): each synapse with a delay of `d`
//!    steps adds its weight to its channel's slot `k + d`. Spike-time inputs
//!    arriving at `t_{k+1}` or earlier are added the same way.
//! 2. **Exponential channels** take in what arrives at `t_k`: `I_syn += slot k`
//!    (a delay of 0 acts here, as Brian2's default does).
//! 3. **Poisson inputs** draw each target's count for `(t_k, t_{k+1}]` and add
//!    `count * weight` to slot `k + 1`.
//! 4. **Integrate** every neuron that is not refractory:
//!    - exact: `y = y P22 + sum_c I_c P21_c + i_ext P20 + J` (NEST's
//!      `iaf_psc_exp`/`iaf_psc_delta` propagators, `y = V - v_rest`);
//!    - Euler: `V = V + dt/tau_m ((-V + v_rest) + r (i_ext + sum_c I_c)) + J`;
//!
//!    where `J` is the delta channel's slot `k + 1` (the jumps arriving at
//!    `t_{k+1}`). A refractory neuron keeps `v_reset`, counts down, and loses its
//!    delta input (NEST's `iaf_psc_delta`). Then `I_c *= P11_c` (decay).
//! 5. **Threshold**: `V >= v_thresh` spikes at `t_{k+1}` (recorded as step `k`),
//!    is reset to `v_reset` and is refractory for the next `t_ref / dt` steps.
//!
//! This is NEST's order of operations, so a delta synapse needs a delay of at
//! least one step and a spike can make its target fire at `t_spike + delay`.
//!
//! # Partitions
//!
//! Each partition owns a contiguous range of neurons, their state and the
//! ring buffers of their inputs, and reads only the global list of fired ids
//! (sorted); its share of a source's targets is found by binary search in the
//! source's sorted row. Every neuron receives its inputs in the same order
//! whatever the partitioning, so threads never change a bit.

use std::ops::Range;

use rayon::prelude::*;

use super::split;
use crate::error::{Error, Result};
use crate::inputs::PoissonSampler;
use crate::model::Real;
use crate::network::build::{Network, NetworkInput};
use crate::network::sparse::PerSynapse;
use crate::recording::SpikeSink;
use crate::rng::{self, Purpose, Xoshiro256pp};
use crate::synapses::{self, Integration, SynapseKind};

/// Networks at least this large split each step across threads by default.
pub const NETWORK_PARALLEL_MIN_NEURONS: usize = 2000;

/// One population's constants for one step.
#[derive(Clone, Debug)]
struct Coeffs<T> {
    integration: Integration,
    /// `V = y + offset` (`v_rest` for exact integration, 0 for Euler).
    offset: f64,
    p22: T,
    p20: T,
    dt_over_tau: T,
    v_rest: T,
    r: T,
    theta: T,
    reset: T,
    refractory_steps: u32,
    /// Per channel: the membrane's response to its current (0 for delta).
    p21: Vec<T>,
    /// Per channel: the current's decay over a step (0 for delta).
    p11: Vec<T>,
}

impl<T: Real> Coeffs<T> {
    fn new(p: &crate::network::description::Population, dt: f64, channels: &[SynapseKind]) -> Self {
        let exact = p.integration == Integration::Exact;
        let offset = if exact { p.v_rest } else { 0.0 };
        let (p21, p11) = channels
            .iter()
            .map(|c| match *c {
                SynapseKind::Delta => (T::ZERO, T::ZERO),
                SynapseKind::Exponential { tau_syn } if exact => (
                    T::from_f64(synapses::p_synaptic(dt, p.tau_m, tau_syn, p.r)),
                    T::from_f64(synapses::decay(dt, tau_syn)),
                ),
                SynapseKind::Exponential { tau_syn } => (T::ZERO, T::from_f64(1.0 - dt / tau_syn)),
            })
            .unzip();
        Self {
            integration: p.integration,
            offset,
            p22: T::from_f64(synapses::decay(dt, p.tau_m)),
            p20: T::from_f64(synapses::p_current(dt, p.tau_m, p.r)),
            dt_over_tau: T::from_f64(dt) / T::from_f64(p.tau_m),
            v_rest: T::from_f64(p.v_rest - offset),
            r: T::from_f64(p.r),
            theta: T::from_f64(p.v_thresh - offset),
            reset: T::from_f64(p.v_reset - offset),
            refractory_steps: p.refractory_steps(dt),
            p21,
            p11,
        }
    }
}

/// A population's share of a partition.
struct Segment<T> {
    local: Range<usize>,
    c: Coeffs<T>,
}

struct LocalPoisson<T> {
    sampler: PoissonSampler,
    weight: T,
    channel: usize,
    targets: Vec<u32>,
    rngs: Vec<Xoshiro256pp>,
}

struct LocalSpikes<T> {
    events: Vec<(u64, u32, T)>,
    next: usize,
    channel: usize,
}

/// The state of neurons `range` and the buffers of their inputs.
struct Part<T> {
    range: Range<usize>,
    whole: bool,
    segments: Vec<Segment<T>>,
    /// `V - offset` of each neuron.
    y: Vec<T>,
    /// Refractory steps left.
    refr: Vec<u32>,
    i_ext: Vec<T>,
    /// Synaptic currents per channel (empty for the delta channel).
    isyn: Vec<Vec<T>>,
    /// Ring buffers per channel: `slots` rows of `range.len()` values.
    ring: Vec<Vec<T>>,
    scratch: Vec<T>,
    poisson: Vec<LocalPoisson<T>>,
    spikes: Vec<LocalSpikes<T>>,
    fired: Vec<u32>,
}

/// Constants every partition reads.
struct Shared<'a, T> {
    net: &'a Network<T>,
    mask: u64,
    delta: Option<usize>,
    exp_channels: Vec<usize>,
}

/// A network simulation: build it from a [`Network`], then [`run`](Self::run).
pub struct NetworkSimulation<'n, T: Real> {
    shared: Shared<'n, T>,
    parts: Vec<Part<T>>,
    fired: Vec<u32>,
    step: u64,
    steps: u64,
    pool: Option<rayon::ThreadPool>,
}

impl<'n, T: Real> NetworkSimulation<'n, T> {
    /// Lays out the state of `net` over `threads` partitions (`None`: one
    /// below [`NETWORK_PARALLEL_MIN_NEURONS`] neurons, every core above).
    pub fn new(net: &'n Network<T>, threads: Option<usize>) -> Result<Self> {
        let n = net.n();
        let desc = &net.description;
        let threads = match threads {
            Some(0) => return Err(Error::param("threads", "must be at least 1")),
            Some(t) => t,
            None if n >= NETWORK_PARALLEL_MIN_NEURONS => rayon::current_num_threads(),
            None => 1,
        };
        let slots = (net.max_delay_steps() + 2).next_power_of_two();
        let delta = net.channels.iter().position(|c| *c == SynapseKind::Delta);
        let exp_channels: Vec<usize> = (0..net.channels.len())
            .filter(|&c| Some(c) != delta)
            .collect();
        let coeffs: Vec<Coeffs<T>> = desc
            .populations
            .iter()
            .map(|p| Coeffs::new(p, desc.dt, &net.channels))
            .collect();
        let ranges = split(n, threads);
        let whole = ranges.len() == 1;
        let parts = ranges
            .into_iter()
            .map(|range| Part::new(net, range, whole, &coeffs, slots as usize))
            .collect::<Result<Vec<_>>>()?;
        let pool = if parts.len() > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(parts.len())
                    .build()
                    .map_err(|e| {
                        Error::param(
                            "threads",
                            format!("cannot start {} threads: {e}", parts.len()),
                        )
                    })?,
            )
        } else {
            None
        };
        Ok(Self {
            shared: Shared {
                net,
                mask: slots - 1,
                delta,
                exp_channels,
            },
            parts,
            fired: Vec::new(),
            step: 0,
            steps: desc.steps() as u64,
            pool,
        })
    }

    /// Steps in the whole run.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Steps done so far.
    pub fn step_index(&self) -> u64 {
        self.step
    }

    /// Number of partitions (threads) a step is split into.
    pub fn partitions(&self) -> usize {
        self.parts.len()
    }

    /// Membrane potentials of every neuron now (mV).
    pub fn voltages(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.shared.net.n());
        for p in &self.parts {
            for s in &p.segments {
                out.extend(
                    p.y[s.local.clone()]
                        .iter()
                        .map(|&y| y.to_f64() + s.c.offset),
                );
            }
        }
        out
    }

    /// Runs the remaining steps, handing each step's spikes to `sink`.
    pub fn run(&mut self, sink: &mut dyn SpikeSink) {
        self.run_until(self.steps, sink);
    }

    /// Runs up to (not including) step `until`, or the end of the run.
    pub fn run_until(&mut self, until: u64, sink: &mut dyn SpikeSink) {
        while self.step < until.min(self.steps) {
            self.advance();
            sink.record(self.step as usize, &self.fired);
            self.step += 1;
        }
    }

    fn advance(&mut self) {
        let (k, shared, fired) = (self.step, &self.shared, &self.fired);
        match &self.pool {
            None => self.parts[0].advance(k, fired, shared),
            Some(pool) => pool.install(|| {
                self.parts
                    .par_iter_mut()
                    .for_each(|p| p.advance(k, fired, shared))
            }),
        }
        // The exchange: partitions' spikes in range order stay sorted.
        self.fired.clear();
        for p in &self.parts {
            self.fired.extend_from_slice(&p.fired);
        }
    }
}

impl<T: Real> Part<T> {
    fn new(
        net: &Network<T>,
        range: Range<usize>,
        whole: bool,
        coeffs: &[Coeffs<T>],
        slots: usize,
    ) -> Result<Self> {
        let len = range.len();
        let mut segments = Vec::new();
        for ((_, pop), c) in net.populations.iter().zip(coeffs) {
            let lo = pop.start.max(range.start);
            let hi = pop.end.min(range.end);
            if lo < hi {
                segments.push(Segment {
                    local: lo - range.start..hi - range.start,
                    c: c.clone(),
                });
            }
        }
        let mut y = vec![T::ZERO; len];
        for s in &segments {
            for i in s.local.clone() {
                y[i] = T::from_f64(net.v0[range.start + i] - s.c.offset);
            }
        }
        let ring_len = slots.checked_mul(len).filter(|&b| b < usize::MAX / 16);
        let ring = net
            .channels
            .iter()
            .map(|_| {
                crate::memory::zeroed_vec(
                    "the synaptic ring buffers",
                    ring_len.unwrap_or(usize::MAX / 8),
                    "use shorter delays or fewer neurons",
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let isyn = net
            .channels
            .iter()
            .map(|c| match c {
                SynapseKind::Delta => Vec::new(),
                SynapseKind::Exponential { .. } => vec![T::ZERO; len],
            })
            .collect();
        let local = |g: u32| {
            let g = g as usize;
            range.contains(&g).then(|| (g - range.start) as u32)
        };
        let mut poisson = Vec::new();
        let mut spikes = Vec::new();
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
                    poisson.push(LocalPoisson {
                        sampler: PoissonSampler::new(*mean_per_step),
                        weight: *weight,
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
        Ok(Self {
            whole,
            segments,
            y,
            refr: vec![0; len],
            i_ext: net.i_ext[range.clone()]
                .iter()
                .map(|&x| T::from_f64(x))
                .collect(),
            isyn,
            ring,
            scratch: vec![T::ZERO; len],
            poisson,
            spikes,
            fired: Vec::new(),
            range,
        })
    }

    /// One step (see the module documentation), given the spikes emitted at `t_k`.
    fn advance(&mut self, k: u64, fired: &[u32], s: &Shared<'_, T>) {
        let len = self.range.len();
        let slot = |step: u64| (step & s.mask) as usize * len;
        self.deliver(k, fired, s);
        // Spike-time inputs arriving by t_{k+1}.
        for input in &mut self.spikes {
            let ring = &mut self.ring[input.channel];
            while let Some(&(a, i, w)) = input.events.get(input.next) {
                if a > k + 1 {
                    break;
                }
                let at = (a & s.mask) as usize * len + i as usize;
                ring[at] = ring[at] + w;
                input.next += 1;
            }
        }
        // Exponential channels take in what arrives at t_k.
        let now = slot(k);
        for &c in &s.exp_channels {
            let row = &mut self.ring[c][now..now + len];
            for (i, r) in self.isyn[c].iter_mut().zip(row.iter_mut()) {
                *i = *i + *r;
                *r = T::ZERO;
            }
        }
        // Poisson counts for (t_k, t_{k+1}], arriving at t_{k+1}.
        let next = slot(k + 1);
        for input in &mut self.poisson {
            let row = &mut self.ring[input.channel][next..next + len];
            for (&i, rng) in input.targets.iter().zip(input.rngs.iter_mut()) {
                let count = input.sampler.sample(rng);
                if count != 0 {
                    let r = &mut row[i as usize];
                    *r = *r + T::from_f64(count as f64) * input.weight;
                }
            }
        }
        self.fired.clear();
        let mut delta_row = s.delta.map(|c| std::mem::take(&mut self.ring[c]));
        for seg in &self.segments {
            let l = seg.local.clone();
            let jumps = delta_row
                .as_mut()
                .map(|ring| &mut ring[next + l.start..next + l.end]);
            integrate(
                &seg.c,
                &mut self.y[l.clone()],
                &mut self.refr[l.clone()],
                &self.i_ext[l.clone()],
                &mut self.isyn,
                &s.exp_channels,
                l.clone(),
                jumps,
                &mut self.scratch[l.clone()],
            );
            // Threshold and reset.
            let first = self.fired.len();
            let base = (self.range.start + l.start) as u32;
            detect(&self.y[l.clone()], seg.c.theta, base, &mut self.fired);
            for &g in &self.fired[first..] {
                let i = g as usize - self.range.start;
                self.y[i] = seg.c.reset;
                self.refr[i] = seg.c.refractory_steps;
            }
        }
        if let (Some(c), Some(ring)) = (s.delta, delta_row) {
            self.ring[c] = ring;
        }
    }

    /// Adds the weights of the spikes emitted at `t_k` into the ring slots of
    /// their arrival.
    fn deliver(&mut self, k: u64, fired: &[u32], s: &Shared<'_, T>) {
        let len = self.range.len();
        let (lo, hi) = (self.range.start as u32, self.range.end as u32);
        for proj in &s.net.projections {
            let ring = &mut self.ring[proj.channel];
            let csr = &proj.csr;
            let all = csr.targets();
            for &j in fired {
                let Some(row) = proj.row_of(j as usize) else {
                    continue;
                };
                let r = csr.row(row);
                let targets = &all[r.clone()];
                let (a, b) = if self.whole {
                    (0, targets.len())
                } else {
                    (
                        targets.partition_point(|&t| t < lo),
                        targets.partition_point(|&t| t < hi),
                    )
                };
                match (csr.weights(), csr.delays()) {
                    (PerSynapse::Constant(w), PerSynapse::Constant(d)) => {
                        let at = ((k + *d as u64) & s.mask) as usize * len;
                        let dest = &mut ring[at..at + len];
                        for &t in &targets[a..b] {
                            let x = &mut dest[(t - lo) as usize];
                            *x = *x + *w;
                        }
                    }
                    (weights, delays) => {
                        for (idx, &t) in (r.start + a..).zip(&targets[a..b]) {
                            let at = ((k + delays.get(idx) as u64) & s.mask) as usize * len;
                            let x = &mut ring[at + (t - lo) as usize];
                            *x = *x + weights.get(idx);
                        }
                    }
                }
            }
        }
    }
}

/// Step 4 of the module documentation for one population's neurons.
#[allow(clippy::too_many_arguments)]
fn integrate<T: Real>(
    c: &Coeffs<T>,
    y: &mut [T],
    refr: &mut [u32],
    i_ext: &[T],
    isyn: &mut [Vec<T>],
    exp_channels: &[usize],
    local: Range<usize>,
    jumps: Option<&mut [T]>,
    acc: &mut [T],
) {
    // Each pass is a plain loop over arrays, so it vectorises; the sums are
    // formed in NEST's order (V P22 + I_ex P21ex + I_in P21in + I_e P20).
    match c.integration {
        Integration::Exact => {
            for (a, &y) in acc.iter_mut().zip(y.iter()) {
                *a = y * c.p22;
            }
            for &ch in exp_channels {
                let p21 = c.p21[ch];
                for (a, &i) in acc.iter_mut().zip(&isyn[ch][local.clone()]) {
                    *a = *a + i * p21;
                }
            }
            for (a, &e) in acc.iter_mut().zip(i_ext) {
                *a = *a + e * c.p20;
            }
        }
        Integration::Euler => {
            acc.copy_from_slice(i_ext);
            for &ch in exp_channels {
                for (a, &i) in acc.iter_mut().zip(&isyn[ch][local.clone()]) {
                    *a = *a + i;
                }
            }
            for (a, &y) in acc.iter_mut().zip(y.iter()) {
                *a = y + c.dt_over_tau * ((-y + c.v_rest) + c.r * *a);
            }
        }
    }
    match jumps {
        Some(jumps) => {
            for (((y, r), &a), j) in y.iter_mut().zip(refr.iter_mut()).zip(acc.iter()).zip(jumps) {
                let free = *r == 0;
                *y = if free { a + *j } else { *y };
                *r = r.saturating_sub(1);
                *j = T::ZERO;
            }
        }
        None => {
            for ((y, r), &a) in y.iter_mut().zip(refr.iter_mut()).zip(acc.iter()) {
                let free = *r == 0;
                *y = if free { a } else { *y };
                *r = r.saturating_sub(1);
            }
        }
    }
    for &ch in exp_channels {
        let p11 = c.p11[ch];
        for i in &mut isyn[ch][local.clone()] {
            *i = *i * p11;
        }
    }
}

/// Appends `offset + i` for every `v[i] >= thresh`, in ascending order.
fn detect<T: Real>(v: &[T], thresh: T, offset: u32, out: &mut Vec<u32>) {
    const CHUNK: usize = 32;
    for (c, chunk) in v.chunks(CHUNK).enumerate() {
        // A branch-free "any" over the chunk vectorises; spikes are rare, so
        // the per-neuron scan runs seldom.
        if chunk.iter().fold(false, |any, &x| any | (x >= thresh)) {
            for (i, &x) in chunk.iter().enumerate() {
                if x >= thresh {
                    out.push(offset + (c * CHUNK + i) as u32);
                }
            }
        }
    }
}
