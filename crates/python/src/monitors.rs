//! Monitors for Python: a state monitor added to a running simulation
//! (`Simulation._record_state`, `lifsim.Simulation.record_state`), its
//! samples as NumPy arrays, the population rate from the spikes so far,
//! the spikes of chosen neurons only ([`Chosen`]), and `[record]` entries
//! for the network builder. The sampling is the
//! core's ([`lifsim_core::monitor`]); `lifsim/monitors.py` wraps these in
//! `StateMonitor` and `Rate`.

use lifsim_core::monitor::{population_rate, Neurons, SpikeFilter, StateMonitorSpec, StateRecord};
use lifsim_core::recording::SpikeSink;
use lifsim_core::NetworkDescription;
use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use toml::Table;

use crate::convert::out;
use crate::errors;
use crate::simulation::Engine;

/// `desc` with a `[record]` monitor (`key`: state or rate), as
/// `Description.with_entry("record.state", ...)` asks.
pub fn with_record(
    desc: &NetworkDescription,
    key: &str,
    entry: Table,
) -> PyResult<NetworkDescription> {
    desc.with_record(key, entry).map_err(errors::from_core)
}

/// The spec of `Simulation.record_state`'s arguments.
#[allow(clippy::too_many_arguments)] // the keywords of record_state, one each
pub fn state_spec(
    population: String,
    variables: Vec<String>,
    ids: Option<Vec<usize>>,
    n: Option<usize>,
    interval: Option<f64>,
    start: Option<f64>,
    stop: Option<f64>,
) -> PyResult<StateMonitorSpec> {
    let neurons = match (ids, n) {
        (Some(_), Some(_)) => {
            return Err(errors::bad_choice(
                "ids",
                format!("state monitor of {population:?}: give one of ids and n"),
            ))
        }
        (Some(ids), None) => Neurons::Ids(ids),
        (None, Some(n)) => Neurons::First(n),
        (None, None) => Neurons::All,
    };
    Ok(StateMonitorSpec {
        population,
        neurons,
        variables,
        interval,
        start,
        stop,
    })
}

impl Engine {
    /// Adds a state monitor from the next step on; its index.
    pub fn add_state_monitor(&mut self, spec: &StateMonitorSpec) -> lifsim_core::Result<usize> {
        match self {
            Engine::F64(s) => s.add_state_monitor(spec),
            Engine::F32(s) => s.add_state_monitor(spec),
        }
    }

    /// State monitor `m`'s samples so far.
    pub fn state_record(&self, m: usize) -> Option<StateRecord> {
        if m >= self.state_monitors() {
            return None;
        }
        Some(match self {
            Engine::F64(s) => s.state_record(m),
            Engine::F32(s) => s.state_record(m),
        })
    }

    /// The number of state monitors.
    pub fn state_monitors(&self) -> usize {
        match self {
            Engine::F64(s) => s.state_monitors(),
            Engine::F32(s) => s.state_monitors(),
        }
    }
}

/// A state record as a dict: `population`, `ids` (population-local),
/// `times` (ms) and `values` (a dict of (samples, neurons) arrays).
pub fn record_dict<'py>(py: Python<'py>, r: StateRecord) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let (samples, width) = (r.times_ms.len(), r.ids.len());
    d.set_item("population", r.population)?;
    let ids: Vec<u64> = r.ids.iter().map(|&i| i as u64).collect();
    d.set_item("ids", out::vector(py, ids))?;
    d.set_item("times", out::vector(py, r.times_ms))?;
    let values = PyDict::new(py);
    for (name, v) in r.values {
        let a: Bound<'py, PyArray2<f64>> = out::c_matrix(py, samples, width, v)?;
        values.set_item(name, a)?;
    }
    d.set_item("values", values)?;
    Ok(d)
}

/// Rate arrays: times (ms), spikes per bin, rate (Hz).
pub type RateArrays<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<u64>>,
    Bound<'py, PyArray1<f64>>,
);

/// The population rate of neurons `range` over `steps` steps from the
/// spikes `(steps, ids)` (and those `chosen` did not keep), in bins of
/// `bin` ms (`None`: one step).
pub fn rate<'py>(
    py: Python<'py>,
    desc: &NetworkDescription,
    population: Option<&str>,
    bin: Option<f64>,
    events: (&[u64], &[u32]),
    chosen: Option<&Chosen>,
    steps: u64,
) -> PyResult<RateArrays<'py>> {
    let range = match population {
        Some(p) => desc.ranges(&[p.to_string()]).map_err(errors::from_core)?[0].clone(),
        None => 0..desc.n(),
    };
    let index = population.and_then(|p| desc.populations.iter().position(|q| q.name == p));
    let bin = lifsim_core::monitor::RateSpec { bin }
        .bin_steps(desc)
        .map_err(errors::from_core)?;
    let mut counts = vec![0u64; steps as usize];
    for (&s, &i) in events.0.iter().zip(events.1) {
        if range.contains(&(i as usize)) {
            counts[s as usize] += 1;
        }
    }
    for &(s, p, c) in chosen.map_or(&[][..], |c| &c.log[..]) {
        if index.is_none_or(|k| k == p as usize) && (s as usize) < counts.len() {
            counts[s as usize] += u64::from(c);
        }
    }
    let (t, c, r) = population_rate(&counts, 0, range.len(), desc.dt, bin);
    Ok((out::vector(py, t), out::vector(py, c), out::vector(py, r)))
}

/// The spikes a simulation from Python keeps when the network chooses
/// whose spikes are recorded (`[[record.spikes_from]]`,
/// `Network.record_spikes`): those of the chosen neurons, through the
/// core's [`SpikeFilter`]; of the others, per step and population, only
/// their number, so the population rate stays every neuron's.
pub struct Chosen {
    filter: SpikeFilter,
    /// The filter's counts of unrecorded spikes after the last step logged.
    last: Vec<u64>,
    /// `(step, population, spikes)` of the spikes not kept, for the steps
    /// that had any.
    log: Vec<(u64, u32, u32)>,
}

impl Chosen {
    /// The choice of `desc`; `None` when every neuron's spikes are kept.
    pub fn new(desc: &NetworkDescription) -> lifsim_core::Result<Option<Self>> {
        Ok(SpikeFilter::new(desc)?.map(|filter| Chosen {
            last: vec![0; filter.unrecorded().len()],
            filter,
            log: Vec::new(),
        }))
    }

    /// `inner` receiving the kept spikes only.
    pub fn sink<'a>(&'a mut self, inner: &'a mut dyn SpikeSink) -> ChosenSink<'a> {
        ChosenSink {
            inner,
            chosen: self,
        }
    }
}

/// A sink passing on the chosen neurons' spikes and logging the others'
/// numbers ([`Chosen::sink`]).
pub struct ChosenSink<'a> {
    inner: &'a mut dyn SpikeSink,
    chosen: &'a mut Chosen,
}

impl SpikeSink for ChosenSink<'_> {
    fn record(&mut self, step: usize, fired: &[u32]) {
        let c = &mut *self.chosen;
        self.inner.record(step, c.filter.split(fired));
        for (p, (&now, last)) in c.filter.unrecorded().iter().zip(&mut c.last).enumerate() {
            if now != *last {
                c.log.push((step as u64, p as u32, (now - *last) as u32));
                *last = now;
            }
        }
    }

    fn failed(&self) -> bool {
        self.inner.failed()
    }
}

/// The global ids whose spikes `desc` records, by population name (a
/// population none of whose neurons is recorded is absent); `None`: every
/// neuron's.
pub fn recorded<'py>(
    py: Python<'py>,
    desc: &NetworkDescription,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let plans = lifsim_core::monitor::spikes::plan(desc).map_err(errors::from_core)?;
    if plans.is_empty() {
        return Ok(None);
    }
    let d = PyDict::new(py);
    for p in plans {
        let ids: Vec<u32> = p.ids.iter().map(|&i| (p.offset + i) as u32).collect();
        d.set_item(p.name, out::vector(py, ids))?;
    }
    Ok(Some(d))
}
