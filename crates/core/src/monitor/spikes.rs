//! Spike recording of a subset of neurons (Brian2's `SpikeMonitor(G[:50])`,
//! NEST's `spike_recorder` connected to some nodes).
//!
//! A network file names the neurons whose spikes are written, one table per
//! population; a population it does not name has none of its spikes
//! written. Without any table every neuron's spikes are:
//!
//! ```toml
//! [[record.spikes_from]]
//! population = "E"
//! n = 50                      # the first 50; or ids = [0, 5, 9], or
//!                             # ids = { start = 10, stop = 60 } (population-local);
//!                             # neither: all of E
//! ```
//!
//! The choice is applied where the spikes leave the engine, by a
//! [`SpikeFilter`] in the sink path ([`Filtered`], or the CLI's spike
//! output): the spike file and its `.spikes` stream hold only the chosen
//! neurons, while the spikes of the others are still counted, per
//! population, so a run's summary rates are the network's. Monitors that
//! wrap the sink inside the engine (the population rate) see every spike.
//! Without a choice there is no filter and the sink path is unchanged.

use super::Neurons;
use crate::error::{Error, Result};
use crate::network::NetworkDescription;
use crate::recording::SpikeSink;

/// The neurons of one population whose spikes are written (a
/// `[[record.spikes_from]]` table).
#[derive(Clone, Debug, PartialEq)]
pub struct SpikesFrom {
    /// The population.
    pub population: String,
    /// Which of its neurons.
    pub neurons: Neurons,
}

/// A [`SpikesFrom`] checked against its network: the population's index,
/// its first global id and the population-local ids chosen, ascending.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikesPlan {
    /// The population's index in the network.
    pub population: usize,
    /// Its name.
    pub name: String,
    /// The global id of its first neuron.
    pub offset: usize,
    /// Its size.
    pub size: usize,
    /// Population-local ids recorded, ascending.
    pub ids: Vec<usize>,
}

/// Checks every `[[record.spikes_from]]` of `desc`: the population exists,
/// is named once, and the ids lie in it. Empty: every neuron is recorded.
pub fn plan(desc: &NetworkDescription) -> Result<Vec<SpikesPlan>> {
    let mut plans: Vec<SpikesPlan> = Vec::new();
    for s in &desc.monitors.spikes {
        let place = format!("spikes_from {:?}", s.population);
        let Some(index) = desc.populations.iter().position(|p| p.name == s.population) else {
            let known: Vec<&str> = desc.populations.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::param(
                "population",
                format!(
                    "{place}: no population named so (there are: {})",
                    known.join(", ")
                ),
            ));
        };
        let range = desc.ranges(std::slice::from_ref(&s.population))?[0].clone();
        if plans.iter().any(|p| p.population == index) {
            return Err(Error::param(
                "population",
                format!("{place}: the population is named twice; give its neurons in one table"),
            ));
        }
        plans.push(SpikesPlan {
            population: index,
            name: s.population.clone(),
            offset: range.start,
            size: range.len(),
            ids: s.neurons.local_ids(range.len(), &place)?,
        });
    }
    Ok(plans)
}

/// The global ids whose spikes `desc` records, as the ranges spike files
/// store ([`crate::io::recorded`]); `None` where every neuron's are (no
/// table, or tables that name them all).
pub fn recorded_ranges(desc: &NetworkDescription) -> Result<Option<crate::io::recorded::IdRanges>> {
    let mut plans = plan(desc)?;
    if plans.is_empty() {
        return Ok(None);
    }
    plans.sort_by_key(|p| p.offset);
    let ids = plans
        .iter()
        .flat_map(|p| p.ids.iter().map(move |&i| (p.offset + i) as u64));
    let ranges = crate::io::recorded::ranges_of(ids);
    // Tables that name every neuron record what no table does: the file
    // is then the same, byte for byte, as without them.
    let n: usize = desc.populations.iter().map(|p| p.size).sum();
    Ok((crate::io::recorded::count(&ranges) != n as u64).then_some(ranges))
}

/// What `desc` records of the spikes, in words: `every neuron`, or per
/// population (`E: 50 of 10000 (the first 50); I: none`), for `lifsim
/// info` and the run's summary.
pub fn describe(desc: &NetworkDescription) -> Result<String> {
    let plans = plan(desc)?;
    if plans.is_empty() {
        return Ok("every neuron".into());
    }
    let parts: Vec<String> = desc
        .populations
        .iter()
        .enumerate()
        .map(|(k, pop)| match plans.iter().find(|p| p.population == k) {
            None => format!("{}: none", pop.name),
            Some(p) => {
                let spec = &desc
                    .monitors
                    .spikes
                    .iter()
                    .find(|s| s.population == pop.name);
                let how = match spec.map(|s| &s.neurons) {
                    Some(Neurons::All) | None => "all".to_string(),
                    Some(Neurons::First(n)) => format!("the first {n}"),
                    Some(Neurons::Range { start, stop }) => format!("ids {start}..{stop}"),
                    Some(Neurons::Ids(_)) => "an id list".to_string(),
                };
                format!("{}: {} of {} ({how})", pop.name, p.ids.len(), p.size)
            }
        })
        .collect();
    Ok(parts.join("; "))
}

/// Marks a recorded neuron in [`SpikeFilter`]'s table.
const RECORDED: u32 = u32::MAX;

/// Splits each step's spikes into those written and those only counted.
pub struct SpikeFilter {
    /// Per neuron: [`RECORDED`], or the index of its population.
    class: Vec<u32>,
    /// Per population: spikes of its neurons that are not recorded.
    unrecorded: Vec<u64>,
    /// The recorded spikes of the step being split.
    kept: Vec<u32>,
    /// Neurons recorded.
    recorded: usize,
}

impl SpikeFilter {
    /// The filter of `desc`'s `[[record.spikes_from]]`; `None` when every
    /// neuron is recorded (no filter, no cost).
    pub fn new(desc: &NetworkDescription) -> Result<Option<Self>> {
        let plans = plan(desc)?;
        if plans.is_empty() {
            return Ok(None);
        }
        let mut class = Vec::with_capacity(desc.n());
        for (k, pop) in desc.populations.iter().enumerate() {
            class.extend(std::iter::repeat_n(k as u32, pop.size));
        }
        let mut recorded = 0;
        for p in &plans {
            for &i in &p.ids {
                class[p.offset + i] = RECORDED;
            }
            recorded += p.ids.len();
        }
        Ok(Some(Self {
            class,
            unrecorded: vec![0; desc.populations.len()],
            kept: Vec::new(),
            recorded,
        }))
    }

    /// The recorded ones of `fired` (ascending, as given); the others are
    /// counted.
    #[inline]
    pub fn split(&mut self, fired: &[u32]) -> &[u32] {
        self.kept.clear();
        for &i in fired {
            match self.class[i as usize] {
                RECORDED => self.kept.push(i),
                p => self.unrecorded[p as usize] += 1,
            }
        }
        &self.kept
    }

    /// Per population, the spikes of its neurons not recorded so far.
    pub fn unrecorded(&self) -> &[u64] {
        &self.unrecorded
    }

    /// Goes on from a checkpoint's counts of [`Self::unrecorded`].
    pub fn resume_from(&mut self, unrecorded: &[u64]) -> Result<()> {
        if unrecorded.len() != self.unrecorded.len() {
            return Err(Error::param(
                "spikes_from",
                format!(
                    "the checkpoint counts the unrecorded spikes of {} populations; the network has {} (did the network file change?)",
                    unrecorded.len(),
                    self.unrecorded.len()
                ),
            ));
        }
        self.unrecorded.copy_from_slice(unrecorded);
        Ok(())
    }

    /// Neurons whose spikes are recorded.
    pub fn recorded(&self) -> usize {
        self.recorded
    }

    /// Whether neuron `id` (global) is recorded.
    pub fn records(&self, id: u32) -> bool {
        self.class[id as usize] == RECORDED
    }
}

/// A sink that passes on only the recorded spikes (a [`SpikeFilter`]'s).
pub struct Filtered<'a> {
    /// Where the recorded spikes go.
    pub inner: &'a mut dyn SpikeSink,
    /// The filter, which counts the others.
    pub filter: &'a mut SpikeFilter,
}

impl SpikeSink for Filtered<'_> {
    #[inline]
    fn record(&mut self, step: usize, fired: &[u32]) {
        let kept = self.filter.split(fired);
        self.inner.record(step, kept);
    }

    fn failed(&self) -> bool {
        self.inner.failed()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::io::spikes::{OutputFormat, SpikeOutput};
    use crate::io::stream::StreamHeader;

    const NET: &str = r#"
        duration = 1.0
        [[population]]
        name = "E"
        size = 4
        [[population]]
        name = "I"
        size = 2
        [record]
        [[record.spikes_from]]
        population = "I"
        ids = [1]
    "#;

    #[test]
    fn the_filter_keeps_the_chosen_and_counts_the_others_per_population() {
        let desc = NetworkDescription::from_toml(NET, Path::new(""), "t").unwrap();
        let mut f = SpikeFilter::new(&desc).unwrap().unwrap();
        assert_eq!(f.recorded(), 1);
        assert_eq!(f.split(&[0, 3, 4, 5]), &[5]);
        assert_eq!(f.split(&[5]), &[5]);
        assert_eq!(f.unrecorded(), &[2, 1]);
        assert!(f.records(5) && !f.records(4));
        assert_eq!(describe(&desc).unwrap(), "E: none; I: 1 of 2 (an id list)");
        let all = NET
            .replace("[[record.spikes_from]]", "")
            .replace("population = \"I\"\n        ids = [1]", "");
        let all = NetworkDescription::from_toml(&all, Path::new(""), "t").unwrap();
        assert!(SpikeFilter::new(&all).unwrap().is_none());
        assert_eq!(describe(&all).unwrap(), "every neuron");
    }

    #[test]
    fn every_form_of_choice_is_written_back_as_read() {
        let text = NET.replace(
            "ids = [1]",
            "ids = { start = 0, stop = 2 }\n[[record.spikes_from]]\npopulation = \"E\"\nids = [3, 1]",
        );
        for t in [
            NET.to_string(),
            text,
            NET.replace("ids = [1]", "n = 2"),
            NET.replace("ids = [1]", ""),
        ] {
            let desc = NetworkDescription::from_toml(&t, Path::new(""), "t").unwrap();
            assert!(!desc.monitors.spikes.is_empty());
            let again = desc.to_toml(Path::new("")).unwrap();
            let back = NetworkDescription::from_toml(&again, Path::new(""), "t").unwrap();
            assert_eq!(back, desc, "{again}");
        }
    }

    #[test]
    fn a_checkpoints_counts_must_fit_the_network() {
        let desc = NetworkDescription::from_toml(NET, Path::new(""), "t").unwrap();
        let mut f = SpikeFilter::new(&desc).unwrap().unwrap();
        let e = f.resume_from(&[1]).unwrap_err().to_string();
        assert_eq!(e, "invalid parameter spikes_from: the checkpoint counts the unrecorded spikes of 1 populations; the network has 2 (did the network file change?)");
        f.resume_from(&[7, 9]).unwrap();
        assert_eq!(f.unrecorded(), &[7, 9]);
        // A network that records every neuron cannot go on from counts of
        // unrecorded spikes.
        let dir = tempfile::tempdir().unwrap();
        let header = StreamHeader {
            n: 6,
            dt: 0.1,
            steps: 10,
            population: "p".into(),
            populations: desc.population_ranges(),
            recorded: None,
        };
        let mut out =
            SpikeOutput::create(OutputFormat::Events, &dir.path().join("o.npz"), header).unwrap();
        let e = out.resume_unrecorded(&[1, 2]).unwrap_err().to_string();
        assert!(
            e.ends_with("the network now records every neuron's (did the network file change?)"),
            "{e}"
        );
        out.resume_unrecorded(&[]).unwrap();
        out.abandon().unwrap();
    }
}
