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
//!    `t_{k+1}`). A refractory neuron keeps `v_reset` and loses its
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
//! (sorted); where its share of each source's sorted row begins and ends is
//! found once, when the partition is built. With several partitions each has
//! a thread for a stretch of steps, meeting the others at a barrier once a
//! step (`engine::threads`, shared with the dense engine). Every neuron
//! receives its inputs in the same order whatever the partitioning, so
//! threads never change a bit.

use std::ops::Range;

use super::kernel::{self, Isa};
use super::split;
use super::threads::{self, RangeStep};
use crate::checkpoint::{EngineState, PartitionState, StateArray, StateData};
use crate::error::{Error, Result};
use crate::inputs::PoissonSampler;
use crate::model::Real;
use crate::network::build::{Network, NetworkInput};
use crate::network::sparse::PerSynapse;
use crate::recording::SpikeSink;
use crate::rng::{self, Purpose, Xoshiro256pp};
use crate::synapses::{self, Integration, SynapseKind};

/// Networks at least this large split each step across threads by default:
/// below it a step (a few microseconds for cuba's 4000 neurons) costs less
/// than meeting another thread at a barrier.
pub const NETWORK_PARALLEL_MIN_NEURONS: usize = 10_000;

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
    /// The external current, when the same for all these neurons.
    i_ext: Option<T>,
}

struct LocalPoisson<T> {
    sampler: PoissonSampler,
    /// `count * weight` for each count the sampler can give.
    per_count: Vec<T>,
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
    /// The first step at which each neuron integrates again (a float, so the
    /// vectorised test against the step number needs no conversion and the
    /// array is only read, except at spikes).
    until: Vec<f64>,
    i_ext: Vec<T>,
    /// Synaptic currents per channel (empty for the delta channel).
    isyn: Vec<Vec<T>>,
    /// Ring buffers per channel: `slots` rows of `range.len()` values.
    ring: Vec<Vec<T>>,
    /// Per channel and slot: whether anything was added to the row since it
    /// was last taken in (a clean row holds zeros and is not read).
    dirty: Vec<Vec<bool>>,
    scratch: Vec<T>,
    /// Room for the ids of every neuron of the partition: the fused pass and
    /// `kernel::detect` write the ids at threshold here without a call (a
    /// `Vec::push` in the loop made the compiler keep the constants on the
    /// stack around it).
    ids: Vec<u32>,
    poisson: Vec<LocalPoisson<T>>,
    spikes: Vec<LocalSpikes<T>>,
    fired: Vec<u32>,
    /// Per projection and source row: where this partition's targets begin
    /// and end in the row (empty for a partition of the whole network). A
    /// binary search per spike at every step cost a chain of cache misses
    /// into the row; the bounds are found once here.
    bounds: Vec<Vec<[u32; 2]>>,
}

/// Constants every partition reads.
struct Shared<'a, T> {
    net: &'a Network<T>,
    mask: u64,
    delta: Option<usize>,
    exp_channels: Vec<usize>,
    isa: Isa,
}

/// A network simulation: build it from a [`Network`], then [`run`](Self::run).
pub struct NetworkSimulation<'n, T: Real> {
    shared: Shared<'n, T>,
    parts: Vec<Part<T>>,
    fired: Vec<u32>,
    step: u64,
    steps: u64,
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
        Ok(Self {
            shared: Shared {
                net,
                mask: slots - 1,
                delta,
                exp_channels,
                isa: Isa::detect(),
            },
            parts,
            fired: Vec::new(),
            step: 0,
            steps: desc.steps() as u64,
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

    /// Runs up to (not including) step `until`, or the end of the run. With
    /// several partitions, each has a thread for the whole stretch
    /// (`threads::run_steps`).
    pub fn run_until(&mut self, until: u64, sink: &mut dyn SpikeSink) {
        let until = until.min(self.steps);
        if self.step >= until {
            return;
        }
        if let [part] = self.parts.as_mut_slice() {
            while self.step < until {
                part.advance(self.step, &self.fired, &self.shared);
                self.fired.clear();
                self.fired.extend_from_slice(&part.fired);
                sink.record(self.step as usize, &self.fired);
                self.step += 1;
            }
        } else {
            let steps = self.step..until;
            threads::run_steps(&mut self.parts, &mut self.fired, steps, &self.shared, sink);
            self.step = until;
        }
    }
}

impl<T: Real> crate::checkpoint::Checkpoint for NetworkSimulation<'_, T> {
    fn save_state(&self) -> EngineState {
        let slots = (self.shared.mask + 1) as usize;
        EngineState {
            engine: "network".into(),
            step: self.step,
            pending: self.fired.clone(),
            partitions: self.parts.iter().map(|p| p.save_state(slots)).collect(),
        }
    }

    fn restore_state(&mut self, state: &EngineState) -> Result<()> {
        if state.engine != "network" {
            return Err(Error::param(
                "checkpoint",
                format!("is of the {} engine, not the network engine", state.engine),
            ));
        }
        if state.step > self.steps {
            return Err(Error::param(
                "checkpoint",
                format!("is at step {} of a run of {} steps", state.step, self.steps),
            ));
        }
        let n = self.shared.net.n();
        let whole = state.joined()?;
        if whole.range != (0..n) {
            return Err(Error::param(
                "checkpoint",
                format!("holds {} neurons; this network has {n}", whole.range.len()),
            ));
        }
        let slots = (self.shared.mask + 1) as usize;
        for p in &mut self.parts {
            let cut = EngineState::cut(&whole, p.range.clone())?;
            p.restore_state(&cut, state.step, &state.pending, slots)?;
        }
        self.step = state.step;
        self.fired = state.pending.clone();
        Ok(())
    }
}

impl<'n, T: Real> RangeStep<Shared<'n, T>> for Part<T> {
    const RECORD_INPUT: bool = false;

    fn advance(&mut self, step: u64, fired: &[u32], s: &Shared<'n, T>) {
        Part::advance(self, step, fired, s);
    }

    fn fired(&self) -> &[u32] {
        &self.fired
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
                let i_ext = &net.i_ext[lo..hi];
                segments.push(Segment {
                    local: lo - range.start..hi - range.start,
                    c: c.clone(),
                    i_ext: i_ext
                        .iter()
                        .all(|&x| x.to_bits() == i_ext[0].to_bits())
                        .then(|| T::from_f64(i_ext[0])),
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
                crate::resources::zeroed_vec(
                    "the synaptic ring buffer",
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
                    let sampler = PoissonSampler::new(*mean_per_step);
                    poisson.push(LocalPoisson {
                        per_count: (0..=sampler.max_count())
                            .map(|c| T::from_f64(c as f64) * *weight)
                            .collect(),
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
        let bounds = if whole {
            Vec::new()
        } else {
            net.projections
                .iter()
                .map(|proj| row_bounds(&proj.csr, &range))
                .collect()
        };
        Ok(Self {
            whole,
            bounds,
            segments,
            y,
            until: vec![0.0; len],
            i_ext: net.i_ext[range.clone()]
                .iter()
                .map(|&x| T::from_f64(x))
                .collect(),
            isyn,
            dirty: vec![vec![false; slots]; ring.len()],
            ring,
            scratch: vec![T::ZERO; len],
            ids: vec![0; len],
            poisson,
            spikes,
            fired: Vec::new(),
            range,
        })
    }

    /// This range's dynamic state, for checkpoints: `y`, `until`, the
    /// synaptic currents and ring buffers of every channel (a ring as `slots`
    /// values per neuron), the rows' dirty flags (per neuron, `slots` each:
    /// this partition's flags), and each Poisson input's generator state (4
    /// words per target neuron, zeros elsewhere). Spike-time inputs need
    /// nothing: how far each has gone follows from the step.
    fn save_state(&self, slots: usize) -> PartitionState {
        let len = self.range.len();
        let f = |v: &[T]| StateData::F64(v.iter().map(|&x| x.to_f64()).collect());
        let mut arrays = vec![
            StateArray::new("y", 1, f(&self.y)),
            StateArray::new("until", 1, StateData::F64(self.until.clone())),
        ];
        for (ch, isyn) in self.isyn.iter().enumerate() {
            if !isyn.is_empty() {
                arrays.push(StateArray::new(&format!("isyn{ch}"), 1, f(isyn)));
            }
        }
        for (ch, ring) in self.ring.iter().enumerate() {
            // Slot-major rows to neuron-major values.
            let mut by_neuron = vec![0.0f64; len * slots];
            for slot in 0..slots {
                for i in 0..len {
                    by_neuron[i * slots + slot] = ring[slot * len + i].to_f64();
                }
            }
            arrays.push(StateArray::new(
                &format!("ring{ch}"),
                slots,
                StateData::F64(by_neuron),
            ));
            let flags: Vec<u8> = (0..len)
                .flat_map(|_| self.dirty[ch].iter().map(|&d| u8::from(d)))
                .collect();
            arrays.push(StateArray::new(
                &format!("dirty{ch}"),
                slots,
                StateData::U8(flags),
            ));
        }
        for (q, input) in self.poisson.iter().enumerate() {
            let mut words = vec![0u64; len * 4];
            for (&i, rng) in input.targets.iter().zip(&input.rngs) {
                words[i as usize * 4..i as usize * 4 + 4].copy_from_slice(&rng.state());
            }
            arrays.push(StateArray::new(
                &format!("poisson{q}"),
                4,
                StateData::U64(words),
            ));
        }
        PartitionState {
            range: self.range.clone(),
            arrays,
        }
    }

    /// Restores [`Self::save_state`]'s state (of these neurons, cut from the
    /// network-wide state) after `step` steps; `pending` spike at the next.
    fn restore_state(
        &mut self,
        st: &PartitionState,
        step: u64,
        pending: &[u32],
        slots: usize,
    ) -> Result<()> {
        let len = self.range.len();
        let bad = |name: &str| {
            Error::param(
                "checkpoint",
                format!("state array {name} has the wrong type"),
            )
        };
        let floats = |name: &str, width: usize| -> Result<&Vec<f64>> {
            match st.array(name, width)? {
                StateData::F64(v) => Ok(v),
                _ => Err(bad(name)),
            }
        };
        self.y = floats("y", 1)?.iter().map(|&x| T::from_f64(x)).collect();
        self.until = floats("until", 1)?.clone();
        for ch in 0..self.isyn.len() {
            if !self.isyn[ch].is_empty() {
                self.isyn[ch] = floats(&format!("isyn{ch}"), 1)?
                    .iter()
                    .map(|&x| T::from_f64(x))
                    .collect();
            }
        }
        for ch in 0..self.ring.len() {
            let values = floats(&format!("ring{ch}"), slots)?;
            for slot in 0..slots {
                for i in 0..len {
                    self.ring[ch][slot * len + i] = T::from_f64(values[i * slots + slot]);
                }
            }
            let name = format!("dirty{ch}");
            let StateData::U8(flags) = st.array(&name, slots)? else {
                return Err(bad(&name));
            };
            // A row is dirty here if it was in any partition it came from:
            // taking in a row of zeros changes nothing, so this is exact
            // whatever the old and new partitions.
            for slot in 0..slots {
                self.dirty[ch][slot] = (0..len).any(|i| flags[i * slots + slot] != 0);
            }
        }
        for (q, input) in self.poisson.iter_mut().enumerate() {
            let name = format!("poisson{q}");
            let StateData::U64(words) = st.array(&name, 4)? else {
                return Err(bad(&name));
            };
            for (&i, rng) in input.targets.iter().zip(input.rngs.iter_mut()) {
                let w: [u64; 4] = words[i as usize * 4..i as usize * 4 + 4]
                    .try_into()
                    .expect("4 words");
                if w == [0; 4] {
                    return Err(Error::param(
                        "checkpoint",
                        format!(
                            "has no generator state for Poisson input {q} of neuron {}",
                            self.range.start + i as usize
                        ),
                    ));
                }
                *rng = Xoshiro256pp::from_state(w);
            }
        }
        // Spike-time inputs have taken in every event arriving by t_step.
        for input in &mut self.spikes {
            input.next = if step == 0 {
                0
            } else {
                input.events.partition_point(|&(a, _, _)| a <= step)
            };
        }
        self.fired.clear();
        self.fired
            .extend(EngineState::pending_in(pending, &self.range));
        Ok(())
    }

    /// One step (see the module documentation), given the spikes emitted at `t_k`.
    fn advance(&mut self, k: u64, fired: &[u32], s: &Shared<'_, T>) {
        let len = self.range.len();
        let (sk, sn) = ((k & s.mask) as usize, ((k + 1) & s.mask) as usize);
        let (now, next) = (sk * len, sn * len);
        self.deliver(k, fired, s);
        // Spike-time inputs arriving by t_{k+1}.
        for input in &mut self.spikes {
            let ring = &mut self.ring[input.channel];
            while let Some(&(a, i, w)) = input.events.get(input.next) {
                if a > k + 1 {
                    break;
                }
                let slot = (a & s.mask) as usize;
                let at = slot * len + i as usize;
                ring[at] = ring[at] + w;
                self.dirty[input.channel][slot] = true;
                input.next += 1;
            }
        }
        // Poisson counts for (t_k, t_{k+1}], arriving at t_{k+1}.
        for input in &mut self.poisson {
            let row = &mut self.ring[input.channel][next..next + len];
            let per_count = &input.per_count;
            for (&i, rng) in input.targets.iter().zip(input.rngs.iter_mut()) {
                let count = input.sampler.sample(rng) as usize;
                // A table lookup instead of a branch on the (random) count.
                let r = &mut row[i as usize];
                *r = *r + per_count[count.min(per_count.len() - 1)];
            }
            self.dirty[input.channel][sn] = true;
        }
        self.fired.clear();
        let e = &s.exp_channels;
        let (e0, e1) = (e.first().copied(), e.get(1).copied());
        // Rows nothing was delivered into hold zeros: skip reading them.
        let arriving = e.iter().any(|&c| self.dirty[c][sk]);
        let jumping = s.delta.is_some_and(|d| self.dirty[d][sn]);
        for seg in &self.segments {
            let l = seg.local.clone();
            let c = &seg.c;
            let first = self.fired.len();
            let base = (self.range.start + l.start) as u32;
            let mut count = 0;
            if e.len() > 2 {
                // Many synapse time constants: one pass per channel.
                for &ch in e {
                    let row = &mut self.ring[ch][now + l.start..now + l.end];
                    for (i, r) in self.isyn[ch][l.clone()].iter_mut().zip(row.iter_mut()) {
                        *i = *i + *r;
                        *r = T::ZERO;
                    }
                }
                let jumps = s
                    .delta
                    .map(|d| &mut self.ring[d][next + l.start..next + l.end]);
                integrate(
                    c,
                    &mut self.y[l.clone()],
                    &self.until[l.clone()],
                    k as f64,
                    &self.i_ext[l.clone()],
                    &mut self.isyn,
                    e,
                    l.clone(),
                    jumps,
                    &mut self.scratch[l.clone()],
                );
                let ids = &mut self.ids[l.clone()];
                kernel::detect(&mut self.y[l.clone()], c.theta, base, ids, &mut count);
            } else {
                // One fused pass: arrivals, membrane, decay.
                let [r0, r1, rd] = pick(
                    &mut self.ring,
                    [
                        e0.filter(|_| arriving),
                        e1.filter(|_| arriving),
                        s.delta.filter(|_| jumping),
                    ],
                );
                let [i0, i1, _] = pick(&mut self.isyn, [e0, e1, None]);
                let p = |v: &[T], ch: Option<usize>| ch.map_or(T::ZERO, |ch| v[ch]);
                let job = Job {
                    c,
                    p21: [p(&c.p21, e0), p(&c.p21, e1)],
                    p11: [p(&c.p11, e0), p(&c.p11, e1)],
                    i_const: seg.i_ext,
                    lanes: Lanes {
                        y: &mut self.y[l.clone()],
                        until: &self.until[l.clone()],
                        now: k as f64,
                        i_ext: &self.i_ext[l.clone()],
                        isyn: [lane(i0, 0, &l), lane(i1, 0, &l)],
                        arriving: [lane(r0, now, &l), lane(r1, now, &l)],
                        jumps: lane(rd, next, &l),
                    },
                    base,
                    ids: &mut self.ids[l.clone()],
                    count: &mut count,
                };
                fused(s.isa, job);
            }
            self.fired
                .extend_from_slice(&self.ids[l.start..l.start + count]);
            // Reset.
            for &g in &self.fired[first..] {
                let i = g as usize - self.range.start;
                self.y[i] = c.reset;
                // Integration resumes after `refractory_steps` held steps.
                self.until[i] = (k + 1 + c.refractory_steps as u64) as f64;
            }
        }
        for &ch in e {
            self.dirty[ch][sk] = false;
        }
        if let Some(d) = s.delta {
            self.dirty[d][sn] = false;
        }
    }

    /// Adds the weights of the spikes emitted at `t_k` into the ring slots of
    /// their arrival (or, for exponential synapses without delay, straight
    /// into the synaptic current, which takes them in at `t_k` anyway).
    fn deliver(&mut self, k: u64, fired: &[u32], s: &Shared<'_, T>) {
        let len = self.range.len();
        let lo = self.range.start as u32;
        for (p, proj) in s.net.projections.iter().enumerate() {
            let ch = proj.channel;
            let ring = &mut self.ring[ch];
            let dirty = &mut self.dirty[ch];
            let isyn = &mut self.isyn[ch];
            let csr = &proj.csr;
            let all = csr.targets();
            // First touch every row: the loads of the row bounds are
            // independent, so their cache misses overlap, and the rows' first
            // targets are on their way before the scatter needs them.
            for &j in fired {
                if let Some(row) = proj.row_of(j as usize) {
                    prefetch(all.as_ptr().wrapping_add(csr.row(row).start));
                }
            }
            for &j in fired {
                let Some(row) = proj.row_of(j as usize) else {
                    continue;
                };
                let r = csr.row(row);
                let targets = &all[r.clone()];
                let (a, b) = if self.whole {
                    (0, targets.len())
                } else {
                    let [a, b] = self.bounds[p][row];
                    (a as usize, b as usize)
                };
                match (csr.weights(), csr.delays()) {
                    (PerSynapse::Constant(w), PerSynapse::Constant(0)) if !isyn.is_empty() => {
                        scatter(isyn, &targets[a..b], lo, *w);
                    }
                    (PerSynapse::Constant(w), PerSynapse::Constant(d)) => {
                        let slot = ((k + *d as u64) & s.mask) as usize;
                        scatter(
                            &mut ring[slot * len..(slot + 1) * len],
                            &targets[a..b],
                            lo,
                            *w,
                        );
                        dirty[slot] = true;
                    }
                    (weights, delays) => {
                        for (idx, &t) in (r.start + a..).zip(&targets[a..b]) {
                            let d = delays.get(idx);
                            let x = if d == 0 && !isyn.is_empty() {
                                &mut isyn[(t - lo) as usize]
                            } else {
                                let slot = ((k + d as u64) & s.mask) as usize;
                                dirty[slot] = true;
                                &mut ring[slot * len + (t - lo) as usize]
                            };
                            *x = *x + weights.get(idx);
                        }
                    }
                }
            }
        }
    }
}

/// For every source row of `csr`, the offsets in the row of its first target
/// in `range` and of its first target past it (rows are sorted by target).
fn row_bounds<T: Real>(
    csr: &crate::network::sparse::Csr<T>,
    range: &Range<usize>,
) -> Vec<[u32; 2]> {
    let (lo, hi) = (range.start as u32, range.end as u32);
    (0..csr.n_sources())
        .map(|row| {
            let targets = &csr.targets()[csr.row(row)];
            let at = |x: u32| targets.partition_point(|&t| t < x) as u32;
            [at(lo), at(hi)]
        })
        .collect()
}

/// This partition's slice `[at + l.start, at + l.end)` of a channel's array.
fn lane<'a, V>(v: Option<&'a mut Vec<V>>, at: usize, l: &Range<usize>) -> Option<&'a mut [V]> {
    v.map(|v| &mut v[at + l.start..at + l.end])
}

/// Step 4 of the module documentation for one population's neurons.
#[allow(clippy::too_many_arguments)]
fn integrate<T: Real>(
    c: &Coeffs<T>,
    y: &mut [T],
    until: &[f64],
    now: f64,
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
            for (((y, &u), &a), j) in y.iter_mut().zip(until).zip(acc.iter()).zip(jumps) {
                let free = now >= u;
                *y = if free { a + *j } else { c.reset };
                *j = T::ZERO;
            }
        }
        None => {
            for ((y, &u), &a) in y.iter_mut().zip(until).zip(acc.iter()) {
                let free = now >= u;
                *y = if free { a } else { c.reset };
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

/// The arrays one fused pass updates (one population's share of a partition).
struct Lanes<'a, T> {
    y: &'a mut [T],
    until: &'a [f64],
    /// The step number.
    now: f64,
    /// Per-neuron external current (used when the population's is not uniform).
    i_ext: &'a [T],
    /// Up to two exponential channels' currents...
    isyn: [Option<&'a mut [T]>; 2],
    /// ...and what arrives in them at `t_k` (`None`: nothing).
    arriving: [Option<&'a mut [T]>; 2],
    /// The delta channel's jumps arriving at `t_{k+1}` (`None`: none).
    jumps: Option<&'a mut [T]>,
}

/// One fused pass: the constants and the arrays.
struct Job<'a, T> {
    c: &'a Coeffs<T>,
    p21: [T; 2],
    p11: [T; 2],
    /// The external current when the same for every neuron of the population.
    i_const: Option<T>,
    lanes: Lanes<'a, T>,
    /// Global id of the first neuron.
    base: u32,
    /// Where the ids of the neurons at threshold go (one slot per neuron)...
    ids: &'a mut [u32],
    /// ...and how many there are.
    count: &'a mut usize,
}

/// Step 4 of the module documentation (with step 2 folded in) in one pass,
/// specialised for what the population has (integration, number of
/// exponential channels, arrivals, jumps, uniform current) and compiled for
/// the widest instruction set the CPU has. Every version does the same IEEE
/// operations in the same order, so all give the same bits.
fn fused<T: Real>(isa: Isa, job: Job<'_, T>) {
    let exact = job.c.integration == Integration::Exact;
    if exact {
        by_channels::<T, true>(isa, job)
    } else {
        by_channels::<T, false>(isa, job)
    }
}

fn by_channels<T: Real, const X: bool>(isa: Isa, job: Job<'_, T>) {
    match job.lanes.isyn.iter().filter(|x| x.is_some()).count() {
        0 => by_jumps::<T, X, 0>(isa, job),
        1 => by_jumps::<T, X, 1>(isa, job),
        _ => by_jumps::<T, X, 2>(isa, job),
    }
}

fn by_jumps<T: Real, const X: bool, const E: usize>(isa: Isa, job: Job<'_, T>) {
    match (
        job.lanes.jumps.is_some(),
        job.lanes.arriving[0].is_some() && E > 0,
    ) {
        (true, true) => by_current::<T, X, E, true, true>(isa, job),
        (true, false) => by_current::<T, X, E, true, false>(isa, job),
        (false, true) => by_current::<T, X, E, false, true>(isa, job),
        (false, false) => by_current::<T, X, E, false, false>(isa, job),
    }
}

fn by_current<T: Real, const X: bool, const E: usize, const D: bool, const A: bool>(
    isa: Isa,
    job: Job<'_, T>,
) {
    if job.i_const.is_some() {
        by_isa::<T, X, E, D, A, false>(isa, job)
    } else {
        by_isa::<T, X, E, D, A, true>(isa, job)
    }
}

fn by_isa<T: Real, const X: bool, const E: usize, const D: bool, const A: bool, const I: bool>(
    isa: Isa,
    job: Job<'_, T>,
) {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn avx2<
        T: Real,
        const X: bool,
        const E: usize,
        const D: bool,
        const A: bool,
        const I: bool,
    >(
        job: Job<'_, T>,
    ) {
        fused_impl::<T, X, E, D, A, I>(job)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn avx512<
        T: Real,
        const X: bool,
        const E: usize,
        const D: bool,
        const A: bool,
        const I: bool,
    >(
        job: Job<'_, T>,
    ) {
        fused_impl::<T, X, E, D, A, I>(job)
    }
    match isa {
        // SAFETY: `Isa::detect` only returns what the CPU supports.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2::<T, X, E, D, A, I>(job) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512::<T, X, E, D, A, I>(job) },
        _ => fused_impl::<T, X, E, D, A, I>(job),
    }
}

/// The loop itself: `X` exact (else Euler), `E` exponential channels, `D`
/// delta jumps, `A` arrivals in the exponential channels, `I` per-neuron current.
#[inline(always)]
fn fused_impl<
    T: Real,
    const X: bool,
    const E: usize,
    const D: bool,
    const A: bool,
    const I: bool,
>(
    job: Job<'_, T>,
) {
    let Job {
        c,
        p21,
        p11,
        i_const,
        lanes,
        base,
        ids,
        count: fired_count,
    } = job;
    // Constants in locals: read through `c` they could alias the arrays
    // written below, which would stop the loop from vectorising.
    let (p22, p20, dt_over_tau, v_rest, r, reset, theta) =
        (c.p22, c.p20, c.dt_over_tau, c.v_rest, c.r, c.reset, c.theta);
    let n = lanes.y.len();
    let y = &mut lanes.y[..n];
    let until = &lanes.until[..n];
    let now = lanes.now;
    let i_ext = if I { &lanes.i_ext[..n] } else { lanes.i_ext };
    let i_const = i_const.unwrap_or(T::ZERO);
    // Slices of length n where used, empty where not (never indexed then).
    let mut empty: [[T; 0]; 5] = [[], [], [], [], []];
    let [e0, e1, e2, e3, e4] = &mut empty;
    let [i0, i1] = lanes.isyn;
    let [a0, a1] = lanes.arriving;
    let i0 = i0.unwrap_or(e0);
    let i1 = i1.unwrap_or(e1);
    let a0 = a0.unwrap_or(e2);
    let a1 = a1.unwrap_or(e3);
    let jumps = lanes.jumps.unwrap_or(e4);
    let i0 = if E >= 1 { &mut i0[..n] } else { i0 };
    let i1 = if E >= 2 { &mut i1[..n] } else { i1 };
    let a0 = if A && E >= 1 { &mut a0[..n] } else { a0 };
    let a1 = if A && E >= 2 { &mut a1[..n] } else { a1 };
    let jumps = if D { &mut jumps[..n] } else { jumps };
    let ids = &mut ids[..n];
    let mut count = 0;
    // Blocks of neurons: each block's loop also tells whether any neuron of
    // the block crossed threshold, so only those (few) blocks are scanned.
    const BLOCK: usize = 64;
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        // A count, not a bool: it vectorises to one subtraction per lane.
        let mut hits = 0u64;
        for i in start..end {
            let mut cur = [T::ZERO; 2];
            if E >= 1 {
                cur[0] = i0[i];
                if A {
                    cur[0] = cur[0] + a0[i];
                    a0[i] = T::ZERO;
                }
            }
            if E >= 2 {
                cur[1] = i1[i];
                if A {
                    cur[1] = cur[1] + a1[i];
                    a1[i] = T::ZERO;
                }
            }
            let ext = if I { i_ext[i] } else { i_const };
            let old = y[i];
            let mut v = if X {
                let mut acc = old * p22;
                if E >= 1 {
                    acc = acc + cur[0] * p21[0];
                }
                if E >= 2 {
                    acc = acc + cur[1] * p21[1];
                }
                acc + ext * p20
            } else {
                let mut current = ext;
                if E >= 1 {
                    current = current + cur[0];
                }
                if E >= 2 {
                    current = current + cur[1];
                }
                old + dt_over_tau * ((-old + v_rest) + r * current)
            };
            if D {
                v = v + jumps[i];
                jumps[i] = T::ZERO;
            }
            let free = now >= until[i];
            // A refractory neuron sits at v_reset (it was put there when it
            // spiked); writing v_reset rather than keeping the old value lets the
            // compiler blend instead of using a masked store (slow on AMD).
            y[i] = if free { v } else { reset };
            if E >= 1 {
                i0[i] = cur[0] * p11[0];
            }
            if E >= 2 {
                i1[i] = cur[1] * p11[1];
            }
            hits += (y[i] >= theta) as u64;
        }
        if hits != 0 {
            kernel::write_crossings(&y[start..end], theta, base + start as u32, ids, &mut count);
        }
        start = end;
    }
    *fired_count = count;
}

/// Mutable references to up to three distinct elements of `v`, without allocating.
fn pick<V>(v: &mut [V], want: [Option<usize>; 3]) -> [Option<&mut V>; 3] {
    let mut out: [Option<&mut V>; 3] = [None, None, None];
    for (i, x) in v.iter_mut().enumerate() {
        if let Some(k) = want.iter().position(|&w| w == Some(i)) {
            out[k] = Some(x);
        }
    }
    out
}

/// `dest[t - lo] += w` for every target `t`: one spike's delivery into one ring slot.
#[inline]
fn scatter<T: Real>(dest: &mut [T], targets: &[u32], lo: u32, w: T) {
    // Every target lies in [lo, lo + dest.len()): rows hold ids of the
    // network's neurons (checked when built) and `targets` is this
    // partition's share of the row (`row_bounds`).
    assert!(targets
        .first()
        .zip(targets.last())
        .is_none_or(|(&f, &l)| f >= lo && ((l - lo) as usize) < dest.len()));
    for &t in targets {
        // SAFETY: rows are sorted, so first <= t <= last, both checked above.
        let x = unsafe { dest.get_unchecked_mut((t - lo) as usize) };
        *x = *x + w;
    }
}

/// Asks the CPU to bring the cache line at `p` closer; never faults, whatever `p`.
#[inline(always)]
fn prefetch<V>(p: *const V) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it does not access memory architecturally
    // and cannot fault, whatever the address.
    #[allow(unused_unsafe)]
    unsafe {
        std::arch::x86_64::_mm_prefetch(p.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
