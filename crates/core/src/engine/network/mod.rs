//! The network engine: populations of any neuron model ([`crate::neuron`]),
//! projections with delays stored as sparse rows, dense columns or drawn
//! again (procedural), Poisson and spike-time inputs, split over neuron
//! ranges.
//!
//! # The step, written down once
//!
//! Step `k` advances every neuron from `t_k = k dt` to `t_{k+1}`. A spike
//! "arrives" at time `t_a` = the sender's spike time plus the delay; each
//! synapse channel has a ring buffer with one slot per arrival step.
//!
//! 1. **Deliver** the spikes emitted at `t_k` (the sorted list of fired ids,
//!    the one thing partitions exchange; `delivery.rs`): each synapse with a
//!    delay of `d` steps adds its weight to its channel's slot `k + d` (or,
//!    with no delay, straight to the state variable it acts on; a
//!    projection whose every delay is one step onto such a variable is
//!    delivered after step 4 instead, see there).
//! 2. **Inputs** (`inputs.rs`): spike-time inputs arriving at `t_{k+1}` or
//!    earlier are added the same way; Poisson inputs draw each target's count
//!    for `(t_k, t_{k+1}]` and add `count * weight` to slot `k + 1`.
//! 3. **Update** each population's neurons with its model's block update
//!    ([`crate::neuron::Dynamics::update`]): take in what arrives at `t_k`
//!    (a delta synapse's jumps: at `t_{k+1}`), advance the free neurons to
//!    `t_{k+1}`, hold the refractory ones at `v_reset`, decay the synaptic
//!    variables.
//! 4. **Threshold and reset**: `V >= v_thresh` spikes at `t_{k+1}` (recorded
//!    as step `k`), is reset to `v_reset` and is refractory for the next
//!    `t_ref / dt` steps. State monitors sample here. Then the late
//!    projections (`layout::late_projections`) add the spikes emitted at `t_k` straight
//!    into the state variable they act on: what arrives at `t_{k+1}` and
//!    the next update would take in first, unchanged, is added now, so such
//!    a channel needs no ring slot (coba: no ring row read and zeroed per
//!    neuron and step).
//! 5. **Record** the step's spikes (the sink), which are also what the next
//!    step delivers.
//!
//! This is NEST's order of operations, so a delta synapse needs a delay of at
//! least one step and a spike can make its target fire at `t_spike + delay`.
//!
//! # The seed's run on this schedule
//!
//! The seed's step (`crate::model`: `fired = V >= v_thresh`, reset,
//! `I_syn = W @ fired`, Euler update, clamp) is this step seen from the
//! other end: its `fired` at step `k` are the spikes at `t_k` that this
//! step `k` delivers, and its `I_syn` is an exponential current with
//! `tau_syn = dt` and no delay, taken in at `t_k` and gone (`1 - dt/tau_syn
//! = 0`) after the step (`network::seed`). What differs is only the time
//! axis ([`Timing::Seed`]): potentials at or above threshold at `t_0` are
//! spikes at `t_0`, delivered by step 0; each step's row holds the spikes
//! it delivers (`SeedRows`: row `k + 1` for those found by step `k`, row 0
//! for `t_0`'s), `ceil(t_max / dt) - 1` steps; and the step that delivers
//! a spike holds its neuron too (`NetworkDescription::hold_steps`), which
//! is where the seed resets it: a neuron found at threshold keeps its
//! potential until then (`part::Segment::spike`), so the potentials read
//! between steps are the seed's too. Over several ranks, each rank finds only
//! its own neurons' spikes at `t_0`: `build` gathers them from every rank
//! (one collective) so that row 0 and the first delivery are the network's;
//! with no delay the ranks then exchange every step.
//!
//! # Partitions
//!
//! Each partition (`part.rs`) owns a contiguous range of neurons, their
//! state arrays, the synapses onto them (which it builds from the
//! [`Recipe`], `part::partitions`: no partition holds another's) and the
//! ring buffers of their inputs, and reads only the global list of fired
//! ids (sorted).
//! With several partitions each has a thread for a stretch of steps, meeting
//! the others at a barrier once per minimum delay of the network's synapses
//! (`engine::threads`); MPI ranks exchange
//! theirs as often, or twice as often with each exchange running behind the
//! next interval's steps (`threads::overlapped`), delivering them later but
//! in the same order. Every neuron receives its inputs in the same order whatever
//! the partitioning, so threads never change a bit. Checkpoints: `state.rs`.

pub mod balance;
mod delivery;
mod inputs;
mod layout;
mod merge;
mod part;
mod probe;
mod procedural;
mod rank_files;
mod routing;
mod state;
mod update;

use std::borrow::Cow;
use std::sync::Arc;

use part::Part;

use super::exchange::{Exchange, Gathered, Link, Reduce, Routes, Scheme, Traffic};
use super::kernel::Isa;
use super::stepper::Partitions;
use super::{split, EngineOptions};
use crate::checkpoint::EngineState;
use crate::error::Result;
use crate::model::Real;
use crate::network::build::{Connections, Recipe};
use crate::network::description::Timing;
use crate::network::GivenMatrix;
use crate::recording::SpikeSink;

/// Constants every partition reads.
pub(super) struct Shared<'a, T: Real> {
    /// Borrowed from the caller (`lifsim run`), or owned by a simulation
    /// that outlives its builder ([`NetworkSimulation::owning`]).
    net: Cow<'a, Recipe<T>>,
    mask: u64,
    /// Steps between exchanges: the shortest delay of any synapse.
    interval: u64,
    /// Per channel: the state array its weights go into directly when they
    /// have no delay (the same for every population the channel reaches), if
    /// any; otherwise they go through slot `k` of the ring.
    direct: Vec<Option<usize>>,
    /// Whether any projection is late (else step 4 has none to deliver).
    any_late: bool,
    /// The matrix of the projections with weights held in memory
    /// ([`Rule::Given`](crate::network::description::Rule::Given), the seed's `W`), read in place.
    matrix: Option<GivenMatrix<'a, T>>,
    isa: Isa,
}

impl<T: Real> Shared<'_, T> {
    /// The weights of the [`Rule::Given`](crate::network::description::Rule::Given) projections (empty if none).
    #[inline]
    fn given(&self) -> &[T] {
        self.matrix.as_ref().map_or(&[], |m| m.view().as_slice())
    }
}

/// A network simulation: build it from a [`Recipe`] (or a whole
/// [`crate::Network`]), then [`run`](Self::run).
pub struct NetworkSimulation<'n, T: Real> {
    shared: Shared<'n, T>,
    /// The names of the state arrays (the union of every model's).
    names: Vec<String>,
    run: Partitions<Part<T>>,
    /// State and rate monitors (`probe.rs`).
    monitors: probe::Monitors,
    /// The ranks of a distributed run, this simulation being one rank's
    /// range of neurons ([`Self::distributed`]); `None`: the whole network.
    ranks: Option<Arc<dyn Exchange>>,
    /// Where this rank's spikes go ([`Scheme::AllToAll`]); `None`: to all.
    routes: Option<Routes>,
    /// What this rank's exchanges moved.
    traffic: Traffic,
}

impl<'n, T: Real> NetworkSimulation<'n, T> {
    /// Lays out the state of `net` over `threads` partitions (`None`: the
    /// rule of [`EngineOptions::threads_for`], the same as the seed's run),
    /// each building the synapses onto its own neurons (on `threads`
    /// threads, or the current rayon pool). A whole [`crate::Network`]
    /// passes as its recipe; its synapses are not read.
    pub fn new(net: &'n Recipe<T>, threads: Option<usize>) -> Result<Self> {
        Self::with_options(net, &EngineOptions { threads, isa: None })
    }

    /// As [`Self::new`], with every option of [`EngineOptions`] (threads,
    /// and the instruction set, which tests force to compare them).
    pub fn with_options(net: &'n Recipe<T>, options: &EngineOptions) -> Result<Self> {
        Self::build(Cow::Borrowed(net), None, options, None)
    }

    /// As [`Self::owning`], for a network whose projections of
    /// [`Rule::Given`](crate::network::description::Rule::Given) weights (the seed's run, `network::seed`) read
    /// `matrix` in place: borrowed for the simulation's life, or shared.
    pub fn with_matrix(
        net: Recipe<T>,
        matrix: GivenMatrix<'n, T>,
        options: &EngineOptions,
    ) -> Result<Self> {
        Self::build(Cow::Owned(net), Some(matrix), options, None)
    }

    /// One rank's share of a network run over the ranks of `ranks` (MPI):
    /// the neurons of its range ([`balance::rank_ranges`]), split over
    /// `options.threads` threads, with the synapses onto them and no
    /// others. Its runs are collective (every rank runs the same steps) and
    /// hand the whole network's spikes to the sink, on every rank with
    /// [`Scheme::AllGather`], on rank 0 with [`Scheme::AllToAll`] (the
    /// others' sinks get the spikes their neurons receive). A
    /// checkpoint's state is gathered on rank 0 ([`Self::gathered_state`];
    /// `Checkpoint::save_state` is this rank's alone) and restores onto any
    /// split; so are the state monitors' records
    /// ([`Self::gathered_state_record`]; `state_record` is this rank's
    /// neurons'). Streamed state monitors are not supported (refused).
    pub fn distributed(
        net: &'n Recipe<T>,
        options: &EngineOptions,
        ranks: Arc<dyn Exchange>,
    ) -> Result<Self> {
        if !net.description.monitors.state.is_empty() && net.description.monitors.stream {
            return Err(distributed_refusal(
                "streamed state monitors (--stream-state)",
            ));
        }
        Self::build(Cow::Borrowed(net), None, options, Some(ranks))
    }

    /// The neurons this simulation holds: all of them, or its rank's range.
    pub fn neuron_range(&self) -> std::ops::Range<usize> {
        let parts = &self.run.parts;
        parts[0].range.start..parts[parts.len() - 1].range.end
    }

    /// What this rank's spike exchanges moved so far (nothing with one rank).
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    /// The shortest delay of any synapse, in steps: the interval between
    /// exchanges (half of it, rounded down, when they overlap the steps).
    pub fn min_delay_steps(&self) -> u64 {
        self.shared.interval
    }

    /// Whether the ranks exchange each interval's spikes while the next
    /// interval's steps run ([`super::exchange::overlaps`]).
    pub fn overlaps(&self) -> bool {
        let delay = self.shared.interval;
        (self.ranks.as_deref()).is_some_and(|x| super::exchange::overlaps(x, delay))
    }

    /// Whether this is one rank's share of a run over several ranks.
    pub fn is_distributed(&self) -> bool {
        self.ranks.as_ref().is_some_and(|r| r.ranks() > 1)
    }

    /// As [`Self::with_options`], holding the recipe itself: a simulation
    /// that can be kept and run piece by piece (the Python package's), with
    /// no network to borrow from.
    pub fn owning(
        net: Recipe<T>,
        options: &EngineOptions,
    ) -> Result<NetworkSimulation<'static, T>> {
        NetworkSimulation::build(Cow::Owned(net), None, options, None)
    }

    fn build(
        net: Cow<'n, Recipe<T>>,
        matrix: Option<GivenMatrix<'n, T>>,
        options: &EngineOptions,
        ranks: Option<Arc<dyn Exchange>>,
    ) -> Result<Self> {
        layout::check_given(&net.description, matrix.as_ref().map(|m| m.view().n()))?;
        // This rank's neurons (all of them with one rank), split over threads.
        let all_ranges = match &ranks {
            Some(x) => balance::rank_ranges(&net.description, x.ranks())?,
            None => std::iter::once(0..net.n()).collect(),
        };
        let own = all_ranges[ranks.as_ref().map_or(0, |x| x.rank())].clone();
        // The pool the synapses are built on: the threads asked for, else the current one.
        let pool = options.threads;
        let threads = options.threads_for(own.len())?;
        let ranges = split(own.len(), threads)
            .into_iter()
            .map(|r| r.start + own.start..r.end + own.start)
            .collect();
        let (names, direct) = layout::state_layout(&net)?;
        let built = part::partitions(&net, ranges, &names, &direct, pool, ranks.as_deref())?;
        let (parts, slots) = (built.parts, built.slots);
        let steps = net.description.steps() as u64;
        // The spikes the first step delivers: on the seed's time axis, those at `t_0`.
        let mut fired: Vec<u32> = parts.iter().flat_map(|p| p.fired.iter().copied()).collect();
        if let Some(x) = ranks.as_deref().filter(|x| x.ranks() > 1) {
            if net.description.timing == Timing::Seed {
                // A rank found only its own neurons' spikes at t_0; the first
                // row and the first delivery are the network's (collective:
                // every rank builds the same description).
                let mut all = Gathered::default();
                x.all_gather(&fired, &[fired.len() as u32], &mut all);
                all.index(1);
                fired.clear();
                all.step_into(0, &mut fired);
            }
        }
        let routes = match ranks.as_deref() {
            Some(x) if x.ranks() > 1 && x.scheme() == Scheme::AllToAll => {
                Some(routing::routes(&parts, net.n(), x, &all_ranges))
            }
            _ => None,
        };
        let late = built.late;
        let mut sim = Self {
            shared: Shared {
                any_late: late.contains(&true),
                net,
                mask: slots - 1,
                interval: built.interval,
                direct,
                matrix,
                isa: options.isa.unwrap_or_else(Isa::detect),
            },
            names,
            run: Partitions::new(parts, fired, steps),
            monitors: probe::Monitors::default(),
            ranks,
            routes,
            traffic: Traffic::default(),
        };
        sim.add_described_monitors()?;
        Ok(sim)
    }

    /// The network simulated.
    pub fn recipe(&self) -> &Recipe<T> {
        &self.shared.net
    }

    /// Makes the run `steps` steps long (at least the steps done): a
    /// simulation run piece by piece goes on past its description's
    /// duration. Steps are steps: the spikes of steps `0..s` do not depend
    /// on how the run is cut or how long it is.
    pub fn set_steps(&mut self, steps: u64) {
        self.run.steps = steps.max(self.run.step);
    }

    /// Steps in the whole run.
    pub fn steps(&self) -> u64 {
        self.run.steps
    }

    /// Steps done so far.
    pub fn step_index(&self) -> u64 {
        self.run.step
    }

    /// Number of partitions (threads) a step is split into.
    pub fn partitions(&self) -> usize {
        self.run.parts.len()
    }

    /// The instruction set the kernels run with.
    pub fn isa(&self) -> Isa {
        self.shared.isa
    }

    /// The neurons whose spikes the next step delivers (sorted ids): on
    /// the seed's time axis, those found at threshold by the last step.
    pub fn pending_spikes(&self) -> &[u32] {
        &self.run.fired
    }

    /// Number of synapses, summed over the partitions (each holds those
    /// onto its own neurons; procedural projections hold none, dense ones
    /// a weight for every pair, zero or not).
    pub fn synapses(&self) -> usize {
        let each = |c: &Connections<T>| c.csr.len() + c.dense.as_ref().map_or(0, |d| d.len());
        self.connections().flatten().map(each).sum()
    }

    /// Bytes held by the synapses of all partitions.
    pub fn synapse_bytes(&self) -> usize {
        let each = |c: &Connections<T>| c.csr.bytes() + c.dense.as_ref().map_or(0, |d| d.bytes());
        self.connections().flatten().map(each).sum()
    }

    /// Per partition, in range order: its connections, each onto the
    /// partition's neurons (`Connections::targets`): one per group of
    /// projections delivered as one (the stored projections out of the same
    /// sources onto the same channel, their rows merged; labelled `"a + b"`),
    /// in the order of each group's first projection.
    pub fn connections(&self) -> impl Iterator<Item = &[Connections<T>]> {
        self.run.parts.iter().map(|p| p.connections.as_slice())
    }

    /// Membrane potentials of every neuron now (mV).
    pub fn voltages(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.shared.net.n());
        for p in &self.run.parts {
            p.voltages(&mut out);
        }
        out
    }

    /// Runs the remaining steps, handing each step's spikes to `sink`.
    pub fn run(&mut self, sink: &mut dyn SpikeSink) {
        self.run_until(self.run.steps, sink);
    }

    /// Runs up to (not including) step `until`, or the end of the run. With
    /// several partitions, each has a thread for the whole stretch and they
    /// exchange spikes once per minimum delay (`threads::run_steps`).
    /// Distributed, the call is collective: the ranks run to the
    /// smallest `until` any of them asks for.
    pub fn run_until(&mut self, until: u64, sink: &mut dyn SpikeSink) {
        let interval = self.shared.interval;
        let ranks = self.ranks.as_deref().filter(|r| r.ranks() > 1);
        let until = match ranks {
            Some(r) => r.reduce(until.min(self.run.steps), Reduce::Min),
            None => until,
        };
        let ranks = ranks.map(|exchange| Link {
            exchange,
            routes: self.routes.as_ref(),
            traffic: &self.traffic,
        });
        let (run, shared) = (&mut self.run, &self.shared);
        let timing = shared.net.description.timing;
        self.monitors.with_sink(sink, |sink| {
            let until = until.min(run.steps);
            if timing == Timing::Network || run.step >= until {
                return run.run_until_over(until, interval, shared, sink, ranks);
            }
            // The seed's rows: each step's row holds the spikes it
            // delivers; the spikes the last step finds are the next
            // stretch's first row.
            sink.record(run.step as usize, &run.fired);
            let mut rows = SeedRows { inner: sink, until };
            run.run_until_over(until, interval, shared, &mut rows, ranks);
        });
    }
}

/// On the seed's time axis ([`Timing::Seed`]), the spikes found by step `k`
/// go to row `k + 1`, below `until`.
struct SeedRows<'s> {
    inner: &'s mut dyn SpikeSink,
    until: u64,
}

impl SpikeSink for SeedRows<'_> {
    fn record(&mut self, step: usize, fired: &[u32]) {
        if (step as u64) + 1 < self.until {
            self.inner.record(step + 1, fired);
        }
    }

    fn failed(&self) -> bool {
        self.inner.failed()
    }
}

/// The error for what a distributed simulation cannot do yet.
pub(super) fn distributed_refusal(what: &str) -> crate::error::Error {
    crate::error::Error::param(
        "MPI",
        format!("{what} are not supported on more than one rank yet; run on one process (without mpirun)"),
    )
}

impl<T: Real> NetworkSimulation<'_, T> {
    /// The whole network's state now, for a checkpoint. Over several ranks
    /// the call is collective: every rank's range is gathered on rank 0,
    /// which gets the state (the others get `None`), in the same format as
    /// a one-process run's, so it restores onto any number of ranks and
    /// threads. With one rank, [`crate::checkpoint::Checkpoint::save_state`].
    pub fn gathered_state(&self) -> Option<EngineState> {
        use crate::checkpoint::{wire, Checkpoint};
        let local = self.save_state();
        let Some(ranks) = self.ranks.as_deref().filter(|r| r.ranks() > 1) else {
            return Some(local);
        };
        let mine = local.joined().expect("a rank's partitions are contiguous");
        let all = ranks.gather_bytes(&wire::encode(&mine))?;
        let partitions = all
            .iter()
            .map(|b| wire::decode(b).expect("encoded by this binary in this job"))
            .collect();
        Some(EngineState {
            partitions,
            ..local
        })
    }
}

impl<T: Real> NetworkSimulation<'_, T> {
    /// What state monitor `m` has sampled so far, of every neuron it
    /// records. Over several ranks the call is collective: each rank's
    /// samples of its own neurons are gathered on rank 0, which gets the
    /// record (the others get `None`), the same as one process's.
    pub fn gathered_state_record(&self, m: usize) -> Option<crate::monitor::StateRecord> {
        let mut record = self.state_record(m);
        let Some(ranks) = self.ranks.as_deref().filter(|r| r.ranks() > 1) else {
            return Some(record);
        };
        // This rank's columns: one row of its recorded neurons per sample.
        let mut bytes = Vec::new();
        for (_, v) in &record.values {
            bytes.extend(v.iter().flat_map(|x| x.to_le_bytes()));
        }
        let all = ranks.gather_bytes(&bytes)?;
        let (samples, vars) = (record.times_ms.len(), record.values.len());
        for (k, (_, out)) in record.values.iter_mut().enumerate() {
            out.clear();
            for s in 0..samples {
                for b in &all {
                    // Each rank sent `vars` blocks of `samples` rows.
                    let per_var = b.len() / 8 / vars.max(1);
                    let w = per_var.checked_div(samples).unwrap_or(0);
                    let row = (k * per_var + s * w) * 8;
                    out.extend(
                        b[row..row + w * 8]
                            .chunks_exact(8)
                            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))),
                    );
                }
            }
        }
        Some(record)
    }
}

impl<T: Real> crate::checkpoint::Checkpoint for NetworkSimulation<'_, T> {
    fn save_state(&self) -> EngineState {
        let slots = (self.shared.mask + 1) as usize;
        self.run.save(|p| p.save_state(&self.names, slots))
    }

    fn restore_state(&mut self, state: &EngineState) -> Result<()> {
        let (n, slots) = (self.shared.net.n(), (self.shared.mask + 1) as usize);
        let names = &self.names;
        let range = |p: &Part<T>| p.range.clone();
        self.run
            .restore(state, "the network engine", n, range, |p, cut, st| {
                p.restore_state(cut, names, st.step, &st.pending, slots)
            })?;
        self.restart_monitors();
        Ok(())
    }
}
