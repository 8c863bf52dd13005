//! From a [`NetworkDescription`] to what a simulation needs: a [`Recipe`]
//! (populations, synapse channels, initial state and inputs laid out per
//! neuron; no synapses), from which any range of neurons builds the
//! connections onto its own neurons ([`Recipe::connections_onto`]), as
//! Arbor's recipe is asked for the connections of a cell; and the whole
//! [`Network`], a recipe with every projection built onto all its neurons,
//! for tools and tests that look at the synapses themselves.

use std::ops::{Deref, Range};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::model::Real;
use crate::network::connectivity::{build_projection, ids};
use crate::network::dense_columns::DenseColumns;
use crate::network::description::{Connectivity, InputKind, NetworkDescription, Rule};
use crate::network::distribution::Value;
use crate::network::source_keyed::SourceKeyed;
use crate::network::sparse::Csr;
use crate::neuron::Receptor;
use crate::rng::{self, Purpose};
use crate::synapses::SynapseKind;

/// One projection's synapses onto a range of neurons, ready for the engine.
#[derive(Debug)]
pub struct Connections<T> {
    /// `"E -> E, I"`.
    pub label: String,
    /// Global ids of the sources, as ranges in row order.
    pub sources: Vec<Range<usize>>,
    /// The neurons these synapses are onto (global ids): every target in
    /// `csr` lies here, and every synapse of the projection onto one of
    /// these neurons is in `csr`.
    pub targets: Range<usize>,
    /// The synapses, rows by source (one row per source, empty where the
    /// source has no target in `targets`), targets as global ids, ascending.
    pub csr: Csr<T>,
    /// Index of the synapse channel they feed (see [`Recipe::channels`]).
    pub channel: usize,
    /// For a procedural projection (`connectivity = "procedural"`): what
    /// draws a firing source's synapses again; `csr` then holds none.
    pub procedural: Option<Arc<SourceKeyed>>,
    /// For a dense projection in a run (`connectivity = "dense"`): the
    /// synapses as one column per source row; `csr` then holds none.
    pub dense: Option<DenseColumns<T>>,
}

impl<T: Real> Connections<T> {
    /// The shortest and longest delay in steps of these synapses
    /// (`u16::MAX` and 0 for none); for a procedural projection, what its
    /// delay distribution can reach.
    pub fn delay_range(&self) -> (u16, u16) {
        match (&self.procedural, &self.dense) {
            (Some(gen), _) => gen.delay_reach(),
            (None, Some(d)) => (d.delay(), d.delay()),
            (None, None) => (self.csr.min_delay(), self.csr.max_delay()),
        }
    }
}

impl<T> Connections<T> {
    /// The row of global neuron `j`, if it is a source of this projection.
    #[inline]
    pub fn row_of(&self, j: usize) -> Option<usize> {
        let mut offset = 0;
        for r in &self.sources {
            if r.contains(&j) {
                return Some(offset + j - r.start);
            }
            offset += r.len();
        }
        None
    }
}

/// An input laid out for the engine.
#[derive(Clone, Debug)]
pub enum NetworkInput<T> {
    /// Independent Poisson counts each step into each target.
    Poisson {
        /// Global ids of the targets; target `k` draws from
        /// `rng::stream(seed, Poisson, k)`.
        targets: Vec<u32>,
        /// Mean count per step (`rate * dt`).
        mean_per_step: f64,
        /// Weight of each spike.
        weight: T,
        /// The seed of this input's streams.
        seed: u64,
        /// Synapse channel.
        channel: usize,
    },
    /// Spikes at given steps.
    Spikes {
        /// (arrival step, global target id, weight), sorted by arrival step
        /// (stable: equal steps keep file order).
        events: Vec<(u64, u32, T)>,
        /// Synapse channel.
        channel: usize,
    },
}

/// A network as a simulation asks for it: everything but the synapses, which
/// each range of neurons builds for itself ([`Self::connections_onto`]), so
/// that a partition (a thread now, an MPI rank later) holds only the
/// synapses onto its own neurons and none are ever built whole.
#[derive(Clone, Debug)]
pub struct Recipe<T> {
    /// What it was built from.
    pub description: NetworkDescription,
    /// Each population's name and global neuron ids.
    pub populations: Vec<(String, Range<usize>)>,
    /// The synapse channels: one state variable (and ring buffer) per distinct kind.
    pub channels: Vec<SynapseKind>,
    /// Per population: the channels its neurons receive, ascending (what its
    /// neuron model keeps state for).
    pub receptors: Vec<Vec<Receptor>>,
    /// Per projection: the channel its synapses feed.
    pub projection_channels: Vec<usize>,
    /// Spike inputs (constant currents are folded into `i_ext`).
    pub inputs: Vec<NetworkInput<T>>,
    /// Initial membrane potential of every neuron (mV).
    pub v0: Vec<f64>,
    /// Constant external current into every neuron (nA).
    pub i_ext: Vec<f64>,
}

impl<T: Real> Recipe<T> {
    /// Lays out populations, channels, initial state and inputs; draws no
    /// synapse.
    pub fn new(description: &NetworkDescription) -> Result<Self> {
        let desc = description.clone();
        let mut populations = Vec::new();
        let mut start = 0;
        for p in &desc.populations {
            populations.push((p.name.clone(), start..start + p.size));
            start += p.size;
        }
        let n = start;
        check_neurons(n, desc.projections.len())?;
        let mut channels: Vec<SynapseKind> = Vec::new();
        let mut channel_of = |kind: SynapseKind| match channels.iter().position(|&c| c == kind) {
            Some(c) => c,
            None => {
                channels.push(kind);
                channels.len() - 1
            }
        };
        let mut projection_channels = Vec::new();
        for p in &desc.projections {
            // Checked here, so that asking for a range's connections cannot
            // fail on a name.
            desc.ranges(&p.source)?;
            desc.ranges(&p.target)?;
            projection_channels.push(channel_of(p.synapse));
        }
        let mut v0 = Vec::with_capacity(n);
        let mut i_ext = Vec::with_capacity(n);
        for (p, (_, range)) in desc.populations.iter().zip(&populations) {
            v0.extend(per_neuron(
                &p.v0,
                desc.seed,
                Purpose::InitialVoltage,
                range.clone(),
            ));
            i_ext.extend(per_neuron(
                &p.i_ext,
                desc.seed,
                Purpose::Current,
                range.clone(),
            ));
        }
        let mut inputs = Vec::new();
        // Per input: its channel (none for a current).
        let mut input_channels = Vec::new();
        for (k, input) in desc.inputs.iter().enumerate() {
            let channel = match input.kind {
                InputKind::Current { .. } => None,
                _ => Some(channel_of(input.synapse)),
            };
            input_channels.push(channel);
            let all = ids(&desc.ranges(&input.target)?);
            let targets: Vec<u32> = match &input.neurons {
                Some(sel) => sel.iter().map(|&i| all[i]).collect(),
                None => all,
            };
            let weight = T::from_f64(input.weight);
            match &input.kind {
                InputKind::Current { amplitude } => {
                    for &t in &targets {
                        i_ext[t as usize] += amplitude;
                    }
                }
                InputKind::Poisson { rate_hz } => inputs.push(NetworkInput::Poisson {
                    targets,
                    mean_per_step: rate_hz * desc.dt * 1e-3,
                    weight,
                    seed: rng::mix64(desc.seed ^ rng::mix64(0x494e_5055_0000_0000 | k as u64)),
                    channel: channel.expect("a spike input has a channel"),
                }),
                InputKind::SpikeTimes { times, delay } => {
                    let d = desc.delay_steps(*delay) as u64;
                    let mut events: Vec<(u64, u32, T)> = times
                        .iter()
                        .flat_map(|&t| {
                            // A spike at t (on the grid) arrives at t + delay.
                            let at = (t / desc.dt).round() as u64 + d;
                            targets.iter().map(move |&g| (at, g, weight))
                        })
                        .collect();
                    events.sort_by_key(|e| e.0);
                    inputs.push(NetworkInput::Spikes {
                        events,
                        channel: channel.expect("a spike input has a channel"),
                    });
                }
            }
        }
        let receptors = receptors_of(&desc, &channels, &projection_channels, &input_channels);
        Ok(Self {
            description: desc,
            populations,
            channels,
            receptors,
            projection_channels,
            inputs,
            v0,
            i_ext,
        })
    }

    /// Number of neurons.
    pub fn n(&self) -> usize {
        self.v0.len()
    }

    /// The synapses of projection number `k` onto neurons `targets` (global
    /// ids): exactly those a build of the whole network has onto them, bit
    /// for bit, in the same order within each row. Parallel over target
    /// neurons (`fixed_indegree`) or sources (the rules drawn by source,
    /// each range drawing them all: `network::by_source`) on the current
    /// rayon pool; the result does not depend on the thread count. A file
    /// projection reads and checks the whole file. Always stored, whatever
    /// the projection's `connectivity` ([`Self::connections_for_run`] heeds it).
    pub fn connections_onto(&self, k: usize, targets: Range<usize>) -> Result<Connections<T>> {
        let desc = &self.description;
        let p = &desc.projections[k];
        let targets = targets.start.min(self.n())..targets.end.min(self.n());
        Ok(Connections {
            label: p.label(),
            sources: desc.ranges(&p.source)?,
            csr: build_projection::<T>(desc, k, &targets)?,
            targets,
            channel: self.projection_channels[k],
            procedural: None,
            dense: None,
        })
    }

    /// What a run keeps of projection number `k` onto neurons `targets`:
    /// its synapses ([`Self::connections_onto`]), or for a procedural
    /// projection none, and what draws a source's synapses again (the
    /// same synapses, drawn from the same streams).
    pub fn connections_for_run(&self, k: usize, targets: Range<usize>) -> Result<Connections<T>> {
        let desc = &self.description;
        let p = &desc.projections[k];
        match p.connectivity {
            Connectivity::Stored => return self.connections_onto(k, targets),
            Connectivity::Dense if p.rule == Rule::Given => {
                return self.given_columns(k, targets);
            }
            Connectivity::Dense => {
                // The synapses as rows, then as columns: the rows of one
                // range at a time, never the whole projection's.
                let mut c = self.connections_onto(k, targets)?;
                let delay = p.delay.constant().map_or(0, |d| desc.delay_steps(d));
                let columns = DenseColumns::from_csr(&c.csr, c.targets.clone(), delay as u16)?;
                c.csr = Csr::empty(c.csr.n_sources(), delay as u16);
                c.dense = Some(columns);
                return Ok(c);
            }
            Connectivity::Procedural => {}
        }
        let gen = SourceKeyed::new(desc, k)?;
        let sources = desc.ranges(&p.source)?;
        let csr = Csr::empty(gen.n_sources(), gen.delay_reach().0);
        Ok(Connections {
            label: p.label(),
            sources,
            csr,
            targets: targets.start.min(self.n())..targets.end.min(self.n()),
            channel: self.projection_channels[k],
            procedural: Some(Arc::new(gen)),
            dense: None,
        })
    }
}

impl<T: Real> Recipe<T> {
    /// The columns onto `targets` of projection `k`, whose weights are the
    /// matrix handed to the simulation ([`Rule::Given`]), column-major
    /// over the projection's targets, which must be one range holding
    /// `targets` (as the seed's one population does).
    fn given_columns(&self, k: usize, targets: Range<usize>) -> Result<Connections<T>> {
        let desc = &self.description;
        let p = &desc.projections[k];
        let sources = desc.ranges(&p.source)?;
        let n_src = sources.iter().map(|r| r.len()).sum();
        let all = match desc.ranges(&p.target)?.as_slice() {
            [one] if one.start <= targets.start && targets.end <= one.end => one.clone(),
            _ => {
                return Err(Error::param(
                    "rule",
                    format!(
                        "projection {}: weights held in memory reach one population, holding every neuron of a range",
                        p.label()
                    ),
                ))
            }
        };
        let delay = p.delay.constant().map_or(0, |d| desc.delay_steps(d)) as u16;
        let offset = targets.start - all.start;
        let columns = DenseColumns::given(n_src, all.len(), offset, targets.len(), delay);
        Ok(Connections {
            label: p.label(),
            sources,
            csr: Csr::empty(n_src, delay),
            targets,
            channel: self.projection_channels[k],
            procedural: None,
            dense: Some(columns),
        })
    }
}

/// A whole network: the [`Recipe`] (which it dereferences to) and every
/// projection built onto all its neurons. A simulation does not need this
/// (its partitions build their own connections from the recipe); tools and
/// tests that look at the synapses do.
#[derive(Debug)]
pub struct Network<T> {
    /// Everything but the synapses.
    pub recipe: Recipe<T>,
    /// The projections, each onto every neuron.
    pub projections: Vec<Connections<T>>,
}

impl<T> Deref for Network<T> {
    type Target = Recipe<T>;

    fn deref(&self) -> &Recipe<T> {
        &self.recipe
    }
}

impl<T: Real> Network<T> {
    /// [`Network::build`] on `threads` threads (`None`: every core), as a run
    /// with `--threads` asks; the synapses are the same whatever the count.
    pub fn build_on(description: &NetworkDescription, threads: Option<usize>) -> Result<Self> {
        match threads {
            None => Self::build(description),
            Some(t) => crate::engine::thread_pool(t)?.install(|| Self::build(description)),
        }
    }

    /// The recipe, and every projection drawn onto all the neurons. Parallel
    /// over target neurons (on the current rayon pool); the result does not
    /// depend on the thread count.
    pub fn build(description: &NetworkDescription) -> Result<Self> {
        let recipe = Recipe::new(description)?;
        let projections = (0..description.projections.len())
            .map(|k| recipe.connections_onto(k, 0..recipe.n()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            recipe,
            projections,
        })
    }

    /// Number of synapses.
    pub fn synapses(&self) -> usize {
        self.projections.iter().map(|p| p.csr.len()).sum()
    }

    /// Bytes held by the synapses.
    pub fn synapse_bytes(&self) -> usize {
        self.projections.iter().map(|p| p.csr.bytes()).sum()
    }

    /// The shortest delay of any synapse between the network's neurons, in
    /// steps, at least 1: how many steps partitions may run before they must
    /// exchange spikes (`u64::MAX` without synapses).
    pub fn min_delay_steps(&self) -> u64 {
        min_delay_steps(&self.projections)
    }

    /// The longest delay in steps, at least 1, of any synapse between the
    /// network's neurons (spike inputs reach the ring at most a step ahead).
    pub fn max_delay_steps(&self) -> u64 {
        max_delay_steps(&self.projections)
    }
}

/// The shortest delay in steps, at least 1, of the synapses of `connections`
/// (any ranges' connections of any projections; `u64::MAX` without synapses):
/// how many steps partitions may run before they must exchange spikes.
pub fn min_delay_steps<'a, T: Real + 'a>(
    connections: impl IntoIterator<Item = &'a Connections<T>>,
) -> u64 {
    connections
        .into_iter()
        .map(|p| p.delay_range().0 as u64)
        .min()
        .map_or(u64::MAX, |d| d.clamp(1, u16::MAX as u64))
}

/// The longest delay in steps, at least 1, of the synapses of `connections`.
pub fn max_delay_steps<'a, T: Real + 'a>(
    connections: impl IntoIterator<Item = &'a Connections<T>>,
) -> u64 {
    connections
        .into_iter()
        .map(|p| p.delay_range().1 as u64)
        .max()
        .unwrap_or(0)
        .max(1)
}

/// Per population: the channels (of kinds `channels`) that projections
/// (`projections`: the channel of each) and inputs bring to it.
fn receptors_of(
    desc: &NetworkDescription,
    channels: &[SynapseKind],
    projections: &[usize],
    inputs: &[Option<usize>],
) -> Vec<Vec<Receptor>> {
    let mut sets: Vec<Vec<usize>> = vec![Vec::new(); desc.populations.len()];
    let mut add = |targets: &[String], channel: usize| {
        for t in targets {
            let p = desc
                .populations
                .iter()
                .position(|p| &p.name == t)
                .expect("checked");
            if !sets[p].contains(&channel) {
                sets[p].push(channel);
            }
        }
    };
    for (p, &c) in desc.projections.iter().zip(projections) {
        add(&p.target, c);
    }
    for (i, c) in desc.inputs.iter().zip(inputs) {
        if let Some(c) = c {
            add(&i.target, *c);
        }
    }
    sets.into_iter()
        .map(|mut s| {
            s.sort_unstable();
            s.into_iter()
                .map(|channel| Receptor {
                    channel,
                    kind: channels[channel],
                })
                .collect()
        })
        .collect()
}

/// Bytes a neuron costs at the least, whatever the network: its initial
/// voltage and current here (16), its potential, refractory end and spike
/// count in the simulation (24), and one row offset per projection (8 each,
/// added by [`check_neurons`]). Synapses and ring buffers come on top.
const NEURON_BYTES_AT_LEAST: u64 = 40;

/// Refuses, before anything is built, a network whose neurons alone would
/// not fit in memory.
fn check_neurons(n: usize, projections: usize) -> Result<()> {
    let per_neuron = NEURON_BYTES_AT_LEAST + 8 * projections as u64;
    crate::resources::check_allocation(
        format!("the state of {n} neurons"),
        (n as u64).checked_mul(per_neuron),
        "use smaller populations",
    )
}

/// The values of `v` for neurons `range`: neuron `i` draws from its own stream.
fn per_neuron(v: &Value, seed: u64, purpose: Purpose, range: Range<usize>) -> Vec<f64> {
    let start = range.start;
    v.per_neuron(range.len(), |i| {
        rng::stream(seed, purpose, (start + i) as u64)
    })
}
