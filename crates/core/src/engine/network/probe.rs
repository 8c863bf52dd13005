//! Monitors in the network engine ([`crate::monitor`]): each partition
//! samples the state of its own recorded neurons at the end of a step
//! (after threshold and reset, `Part::advance`), and the population rate
//! counts the step's spikes as they are handed to the sink. A record is the
//! partitions' samples merged by global id, so it is the same whatever the
//! thread count.
//!
//! With no monitor, a partition's probe is `None` (one branch per step) and
//! the sink is not wrapped: nothing in the step loop changes.

use super::part::{Part, Segment};
use super::NetworkSimulation;
use crate::error::{Error, Result};
use crate::model::Real;
use crate::monitor::{
    self, population_rate, RateRecord, RateSpec, Readout, StateMonitorSpec, StatePlan, StateRecord,
};
use crate::recording::SpikeSink;

/// A partition's share of the state monitors.
pub(super) struct Probe {
    monitors: Vec<PartMonitor>,
}

/// One monitor's neurons in one partition and their samples.
struct PartMonitor {
    every: u64,
    start: u64,
    stop: u64,
    /// The population's segment in the partition (none: no neuron here).
    segment: usize,
    /// Partition-local indices of the recorded neurons, ascending.
    locals: Vec<usize>,
    /// Per variable: the engine arrays read.
    reads: Vec<Read>,
    /// Per variable: the samples, rows of `locals.len()` values.
    data: Vec<Vec<f64>>,
}

/// A variable as the engine's arrays hold it.
enum Read {
    /// The membrane potential, the array of the model's first state value.
    Voltage(usize),
    /// The sum of these arrays.
    Sum(Vec<usize>),
}

impl PartMonitor {
    #[inline]
    fn samples(&self, k: u64) -> bool {
        let t = k + 1;
        t.is_multiple_of(self.every) && t > self.start && t <= self.stop
    }
}

impl Probe {
    /// Samples the monitors due at the end of step `k`.
    pub(super) fn sample<T: Real>(&mut self, k: u64, arrays: &[Vec<T>], segments: &[Segment<T>]) {
        for m in &mut self.monitors {
            if m.locals.is_empty() || !m.samples(k) {
                continue;
            }
            let seg = &segments[m.segment];
            for (read, out) in m.reads.iter().zip(&mut m.data) {
                match read {
                    Read::Voltage(a) => {
                        let v = &arrays[*a];
                        out.extend(m.locals.iter().map(|&i| seg.dynamics.voltage(v[i])));
                    }
                    Read::Sum(list) => out.extend(
                        m.locals
                            .iter()
                            .map(|&i| list.iter().map(|&a| arrays[a][i].to_f64()).sum::<f64>()),
                    ),
                }
            }
        }
    }
}

/// The monitors of a simulation: each state monitor's plan and the step
/// it started at, and the rate counter.
#[derive(Default)]
pub(super) struct Monitors {
    state: Vec<(StatePlan, u64)>,
    rate: Option<RateCounter>,
}

/// Spikes per step and population, from step `from` on.
struct RateCounter {
    bin: u64,
    /// The first global id of each population, and the end.
    bounds: Vec<u32>,
    from: u64,
    counts: Vec<Vec<u64>>,
}

impl RateCounter {
    fn record(&mut self, step: u64, fired: &[u32]) {
        if step != self.from + self.counts[0].len() as u64 {
            // A restored state: the count starts again at its step.
            self.from = step;
            self.counts.iter_mut().for_each(Vec::clear);
        }
        for c in &mut self.counts {
            c.push(0);
        }
        for &id in fired {
            let p = self.bounds.partition_point(|&b| b <= id) - 1;
            *self.counts[p].last_mut().expect("pushed") += 1;
        }
    }
}

/// The caller's sink, the rate counted on the way.
struct Counting<'a> {
    inner: &'a mut dyn SpikeSink,
    rate: &'a mut RateCounter,
}

impl SpikeSink for Counting<'_> {
    fn record(&mut self, step: usize, fired: &[u32]) {
        self.rate.record(step as u64, fired);
        self.inner.record(step, fired);
    }

    fn failed(&self) -> bool {
        self.inner.failed()
    }
}

impl Monitors {
    /// Runs `run` with `sink`, wrapped to count the rate if it is monitored.
    pub(super) fn with_sink(
        &mut self,
        sink: &mut dyn SpikeSink,
        run: impl FnOnce(&mut dyn SpikeSink),
    ) {
        match &mut self.rate {
            None => run(sink),
            Some(rate) => run(&mut Counting { inner: sink, rate }),
        }
    }
}

/// Refuses a monitor of `bytes` that would take more than half the memory
/// available.
fn check_memory(what: String, bytes: Option<u64>) -> Result<()> {
    let available = crate::resources::available_bytes() / 2;
    let needed = bytes.unwrap_or(u64::MAX);
    if needed > available {
        return Err(Error::OutOfMemory {
            what,
            needed,
            available,
            hint: "record fewer neurons or variables, sample less often, or run in pieces",
        });
    }
    Ok(())
}

/// Sample times of a monitor from step `from` to step `to` (exclusive), in
/// steps: `t = k + 1` for the steps `k` that sample (time `t dt`).
fn sample_steps(plan: &StatePlan, from: u64, to: u64) -> impl Iterator<Item = u64> {
    let (lo, hi) = sample_span(plan, from, to);
    (lo..=hi).step_by(plan.every as usize)
}

/// The first and last sample of [`sample_steps`] (`lo > hi`: none).
fn sample_span(plan: &StatePlan, from: u64, to: u64) -> (u64, u64) {
    // The first multiple of `every` above both `from` and `start`.
    let lo = (from.max(plan.start) / plan.every)
        .saturating_add(1)
        .saturating_mul(plan.every);
    (lo, to.min(plan.stop))
}

/// How many samples [`sample_steps`] gives, without counting them one by one.
fn sample_count(plan: &StatePlan, from: u64, to: u64) -> u64 {
    let (lo, hi) = sample_span(plan, from, to);
    if lo > hi {
        0
    } else {
        (hi - lo) / plan.every + 1
    }
}

impl<T: Real> NetworkSimulation<'_, T> {
    /// Adds a state monitor, sampling from the next step on (see
    /// [`crate::monitor`] for what each sample is); its index for
    /// [`Self::state_record`]. Refuses a monitor the rest of the run
    /// (its planned steps) would fill beyond half the memory available.
    pub fn add_state_monitor(&mut self, spec: &StateMonitorSpec) -> Result<usize> {
        let streamed = self.shared.net.description.monitors.stream;
        self.add_state_monitor_streamed(spec, streamed)
    }

    /// [`Self::add_state_monitor`], the monitor's samples being drained to
    /// disk every block (`streamed`: memory holds one block of them, and the
    /// check is of that block) or kept to the end, whatever the network's
    /// `state_to` says (Python's `record_state(..., to=path)`).
    pub fn add_state_monitor_streamed(
        &mut self,
        spec: &StateMonitorSpec,
        streamed: bool,
    ) -> Result<usize> {
        if self.is_distributed() && streamed {
            return Err(super::distributed_refusal("streamed state monitors"));
        }
        let desc = &self.shared.net.description;
        let plan = spec.plan(desc)?;
        let from = self.run.step;
        let mut samples = sample_count(&plan, from, self.run.steps);
        let values = (plan.ids.len() * plan.variables.len()) as u64;
        if streamed {
            // Streamed: memory holds one block between drains at most.
            samples = samples.min(monitor::block_samples(values));
        }
        check_memory(
            format!(
                "the state monitor of population {:?} ({samples} samples x {values} values; monitors take at most half the memory available)",
                plan.name
            ),
            samples.checked_mul(values).and_then(|v| v.checked_mul(8)),
        )?;
        let channels = &self.shared.net.channels;
        let v_rest = desc.populations[plan.population].v_rest;
        for part in &mut self.run.parts {
            let pop = self.shared.net.populations[plan.population].1.clone();
            let m = part_monitor(part, &plan, pop, channels, v_rest, samples as usize);
            part.probe
                .get_or_insert_with(|| Probe {
                    monitors: Vec::new(),
                })
                .monitors
                .push(m);
        }
        self.monitors.state.push((plan, from));
        Ok(self.monitors.state.len() - 1)
    }

    /// Counts the rate of every population from the next step on; refuses
    /// a second rate monitor.
    pub fn add_rate_monitor(&mut self, spec: &RateSpec) -> Result<()> {
        let desc = &self.shared.net.description;
        let bin = spec.bin_steps(desc)?;
        if self.monitors.rate.is_some() {
            return Err(Error::param("rate", "is monitored already"));
        }
        let pops = desc.populations.len() as u64;
        let left = self.run.steps.saturating_sub(self.run.step);
        check_memory(
            format!("the rate monitor ({left} steps x {pops} populations; monitors take at most half the memory available)"),
            left.checked_mul(pops).and_then(|v| v.checked_mul(8)),
        )?;
        let mut bounds: Vec<u32> = self
            .shared
            .net
            .populations
            .iter()
            .map(|(_, r)| r.start as u32)
            .collect();
        bounds.push(self.shared.net.n() as u32);
        self.monitors.rate = Some(RateCounter {
            bin,
            bounds,
            from: self.run.step,
            counts: vec![Vec::new(); pops as usize],
        });
        Ok(())
    }

    /// Adds the monitors the network's description asks for.
    pub(super) fn add_described_monitors(&mut self) -> Result<()> {
        let monitors = self.shared.net.description.monitors.clone();
        for s in &monitors.state {
            self.add_state_monitor(s)?;
        }
        if let Some(r) = &monitors.rate {
            self.add_rate_monitor(r)?;
        }
        Ok(())
    }

    /// The number of state monitors.
    pub fn state_monitors(&self) -> usize {
        self.monitors.state.len()
    }

    /// What state monitor `m` has sampled so far, merged over the
    /// partitions (neurons by ascending id).
    pub fn state_record(&self, m: usize) -> StateRecord {
        let (plan, from) = &self.monitors.state[m];
        let dt = self.shared.net.description.dt;
        let times_ms: Vec<f64> = sample_steps(plan, *from, self.run.step)
            .map(|t| t as f64 * dt)
            .collect();
        let parts: Vec<&PartMonitor> = self
            .run
            .parts
            .iter()
            .map(|p| &p.probe.as_ref().expect("a probe per monitor").monitors[m])
            .collect();
        let values = plan
            .variables
            .iter()
            .enumerate()
            .map(|(v, name)| {
                let mut out = Vec::with_capacity(times_ms.len() * plan.ids.len());
                for s in 0..times_ms.len() {
                    for p in &parts {
                        let w = p.locals.len();
                        out.extend_from_slice(&p.data[v][s * w..(s + 1) * w]);
                    }
                }
                (name.clone(), out)
            })
            .collect();
        StateRecord {
            population: plan.name.clone(),
            ids: plan.ids.clone(),
            times_ms,
            values,
        }
    }

    /// What state monitor `m` has sampled since the last drain (or since
    /// it started), as [`Self::state_record`]; those samples are dropped
    /// from memory. The drained records of a run, concatenated, are its
    /// whole record, bit for bit.
    pub fn drain_state_record(&mut self, m: usize) -> StateRecord {
        let record = self.state_record(m);
        self.monitors.state[m].1 = self.run.step;
        for p in &mut self.run.parts {
            let pm = &mut p.probe.as_mut().expect("a probe per monitor").monitors[m];
            pm.data.iter_mut().for_each(Vec::clear);
        }
        record
    }

    /// The most steps (at least 1) whose samples of every state monitor
    /// together fit in `bytes`: how often a streamed run drains.
    pub fn state_block_steps(&self, bytes: u64) -> u64 {
        // Bytes per step, every monitor at its densest (one sample per
        // `every` steps, rounded up).
        let per_step: f64 = self
            .monitors
            .state
            .iter()
            .map(|(p, _)| (p.ids.len() * p.variables.len() * 8) as f64 / p.every as f64)
            .sum();
        if per_step == 0.0 {
            return u64::MAX;
        }
        ((bytes as f64 / per_step) as u64).max(1)
    }

    /// Bytes of every state monitor's samples from now to the end of the
    /// run (values and times).
    pub fn state_bytes_left(&self) -> u64 {
        self.monitors
            .state
            .iter()
            .map(|(p, from)| {
                let n = sample_count(p, (*from).max(self.run.step), self.run.steps);
                let per = (p.ids.len() * p.variables.len()) as u64 + 1;
                n.saturating_mul(per).saturating_mul(8)
            })
            .fold(0, u64::saturating_add)
    }

    /// The population rates counted so far (complete bins), if the rate
    /// is monitored.
    pub fn rate_record(&self) -> Option<RateRecord> {
        let rate = self.monitors.rate.as_ref()?;
        let net = &self.shared.net;
        let mut times_ms = Vec::new();
        let populations = net
            .populations
            .iter()
            .zip(&rate.counts)
            .map(|((name, range), counts)| {
                let (t, c, r) =
                    population_rate(counts, rate.from, range.len(), net.description.dt, rate.bin);
                times_ms = t;
                (name.clone(), c, r)
            })
            .collect();
        Some(RateRecord {
            times_ms,
            populations,
        })
    }

    /// Drops every sample: after a restored state the monitors start again
    /// at its step.
    pub(super) fn restart_monitors(&mut self) {
        let step = self.run.step;
        for (_, from) in &mut self.monitors.state {
            *from = step;
        }
        for p in &mut self.run.parts {
            for m in p.probe.iter_mut().flat_map(|p| &mut p.monitors) {
                m.data.iter_mut().for_each(Vec::clear);
            }
        }
        if let Some(r) = &mut self.monitors.rate {
            r.from = step;
            r.counts.iter_mut().for_each(Vec::clear);
        }
    }
}

/// Monitor `plan`'s share of partition `part`, room for `samples` samples.
fn part_monitor<T: Real>(
    part: &Part<T>,
    plan: &StatePlan,
    pop: std::ops::Range<usize>,
    channels: &[crate::synapses::SynapseKind],
    v_rest: f64,
    samples: usize,
) -> PartMonitor {
    let base = part.range.start;
    let mut m = PartMonitor {
        every: plan.every,
        start: plan.start,
        stop: plan.stop,
        segment: 0,
        locals: Vec::new(),
        reads: Vec::new(),
        // One (empty) list per variable even where the partition holds none
        // of the neurons: the merge reads every partition's.
        data: vec![Vec::new(); plan.variables.len()],
    };
    let globals = plan.ids.iter().map(|&i| plan.offset + i);
    // The population's segment: the one whose neurons lie in its span.
    let Some(segment) = part.segments.iter().position(|s| {
        let lo = base + s.local.start;
        pop.start <= lo && lo < pop.end
    }) else {
        return m;
    };
    let seg = &part.segments[segment];
    let span = base + seg.local.start..base + seg.local.end;
    m.locals = globals
        .filter(|g| span.contains(g))
        .map(|g| g - base)
        .collect();
    let names = seg.dynamics.state_names();
    m.reads = plan
        .variables
        .iter()
        .map(|v| match monitor::readout(v, &names, channels, v_rest) {
            Readout::Voltage => Read::Voltage(seg.slots[0]),
            Readout::Sum(list) => Read::Sum(list.into_iter().map(|k| seg.slots[k]).collect()),
        })
        .collect();
    m.data = (0..m.reads.len())
        .map(|_| Vec::with_capacity(samples * m.locals.len()))
        .collect();
    m.segment = segment;
    m
}
