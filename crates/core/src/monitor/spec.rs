//! What a monitor records, as a network file or the Python package says it,
//! and its check against a network ([`StateMonitorSpec::plan`]).

use super::check_variable;
use crate::error::{Error, Result};
use crate::network::NetworkDescription;

/// Which neurons of a population a state monitor records.
#[derive(Clone, Debug, PartialEq)]
pub enum Neurons {
    /// Every neuron.
    All,
    /// The first `n`.
    First(usize),
    /// These population-local indices.
    Ids(Vec<usize>),
    /// The population-local indices `start..stop` (Brian2's `G[start:stop]`).
    Range {
        /// The first.
        start: usize,
        /// One past the last.
        stop: usize,
    },
}

impl Neurons {
    /// The population-local ids chosen of a population of `size` neurons,
    /// ascending; refuses an empty choice, an id out of the population and
    /// an id named twice. `place` opens the error (`state monitor of "E"`).
    pub fn local_ids(&self, size: usize, place: &str) -> Result<Vec<usize>> {
        let bad =
            |name: &'static str, msg: String| Err(Error::param(name, format!("{place}: {msg}")));
        match self {
            Neurons::All => Ok((0..size).collect()),
            Neurons::First(n) if *n == 0 || *n > size => bad(
                "n",
                format!("must be 1 to the population's size {size}, got {n}"),
            ),
            Neurons::First(n) => Ok((0..*n).collect()),
            Neurons::Range { start, stop } if start >= stop || *stop > size => bad(
                "ids",
                format!(
                    "range {start}..{stop} is not a non-empty range within the population's size {size}"
                ),
            ),
            Neurons::Range { start, stop } => Ok((*start..*stop).collect()),
            Neurons::Ids(ids) => {
                if ids.is_empty() {
                    return bad("ids", "names no neuron".into());
                }
                let mut sorted = ids.clone();
                sorted.sort_unstable();
                if let Some(&i) = sorted.iter().find(|&&i| i >= size) {
                    return bad(
                        "ids",
                        format!("id {i} is not below the population's size {size}"),
                    );
                }
                if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                    return bad("ids", format!("names neuron {} twice", w[0]));
                }
                Ok(sorted)
            }
        }
    }
}

/// A state monitor: variables of some neurons of one population, sampled
/// every `interval` ms (see the module's timing).
#[derive(Clone, Debug, PartialEq)]
pub struct StateMonitorSpec {
    /// The population.
    pub population: String,
    /// Which of its neurons.
    pub neurons: Neurons,
    /// The variables ([`super::recordables`] of the population's model).
    pub variables: Vec<String>,
    /// Sampling interval (ms), a multiple of `dt`; `None`: `dt`.
    pub interval: Option<f64>,
    /// Samples at times `t > start` only (ms), where given.
    pub start: Option<f64>,
    /// Samples at times `t <= stop` only (ms), where given.
    pub stop: Option<f64>,
}

/// A population-rate monitor of every population.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RateSpec {
    /// Bin width (ms), a multiple of `dt`; `None`: one step.
    pub bin: Option<f64>,
}

/// Every monitor of a network (`[record]`'s `state` and `rate` entries).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Monitors {
    /// State monitors, in file order.
    pub state: Vec<StateMonitorSpec>,
    /// The population rate, if asked for.
    pub rate: Option<RateSpec>,
    /// Whether the state monitors' samples go to disk as the run goes
    /// (`[record]`'s `state_to = "disk"`, `lifsim run --stream-state`)
    /// rather than stay in memory to the end.
    pub stream: bool,
    /// The neurons whose spikes are written (`[[record.spikes_from]]`, in
    /// file order); empty: every neuron's ([`super::spikes`]).
    pub spikes: Vec<super::spikes::SpikesFrom>,
}

impl Monitors {
    /// Whether nothing is monitored.
    pub fn is_empty(&self) -> bool {
        self.state.is_empty() && self.rate.is_none()
    }
}

/// A state monitor checked against its network, in steps and global ids.
#[derive(Clone, Debug, PartialEq)]
pub struct StatePlan {
    /// The population's index and name.
    pub population: usize,
    /// Its name.
    pub name: String,
    /// The global id of its first neuron.
    pub offset: usize,
    /// Population-local ids recorded, ascending.
    pub ids: Vec<usize>,
    /// The variables.
    pub variables: Vec<String>,
    /// Steps between samples.
    pub every: u64,
    /// Samples at the end of steps `k` with `start < k + 1 <= stop`.
    pub start: u64,
    /// See `start`.
    pub stop: u64,
}

impl StateMonitorSpec {
    /// This monitor checked against `desc`: the population exists, the ids
    /// lie in it (distinct), each variable is one its model records, and
    /// the times are whole steps.
    pub fn plan(&self, desc: &NetworkDescription) -> Result<StatePlan> {
        let place = format!("state monitor of {:?}", self.population);
        let bad =
            |name: &'static str, msg: String| Err(Error::param(name, format!("{place}: {msg}")));
        let range = desc.ranges(std::slice::from_ref(&self.population))?[0].clone();
        let index = desc
            .populations
            .iter()
            .position(|p| p.name == self.population)
            .expect("found by ranges");
        let pop = &desc.populations[index];
        let ids = self.neurons.local_ids(pop.size, &place)?;
        if self.variables.is_empty() {
            return bad("variables", "names no variable".into());
        }
        for (k, v) in self.variables.iter().enumerate() {
            check_variable(&pop.name, pop.model, v)?;
            if self.variables[..k].contains(v) {
                return bad("variables", format!("names {v:?} twice"));
            }
        }
        let every = match self.interval {
            Some(i) => desc.steps_at(i, "interval", &place)?,
            None => 1,
        };
        if every == 0 {
            return bad("interval", format!("must be at least dt ({} ms)", desc.dt));
        }
        let start = match self.start {
            Some(t) => desc.steps_at(t, "start", &place)?,
            None => 0,
        };
        let stop = match self.stop {
            Some(t) => desc.steps_at(t, "stop", &place)?,
            None => u64::MAX,
        };
        if stop <= start {
            return bad(
                "stop",
                format!("must be after start ({} ms)", start as f64 * desc.dt),
            );
        }
        Ok(StatePlan {
            population: index,
            name: pop.name.clone(),
            offset: range.start,
            ids,
            variables: self.variables.clone(),
            every,
            start,
            stop,
        })
    }
}

impl RateSpec {
    /// The bin in steps, checked against `desc` (a whole number of steps).
    pub fn bin_steps(&self, desc: &NetworkDescription) -> Result<u64> {
        match self.bin {
            None => Ok(1),
            Some(b) => match desc.steps_at(b, "bin", "rate monitor")? {
                0 => Err(Error::param(
                    "bin",
                    format!(
                        "rate monitor: must be at least dt ({} ms), got {b}",
                        desc.dt
                    ),
                )),
                s => Ok(s),
            },
        }
    }
}
