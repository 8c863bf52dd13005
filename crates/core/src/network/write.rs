//! Writing a [`NetworkDescription`] back as a network file: the inverse of
//! the reader (`read/`), so that `NetworkDescription::from_toml(desc.to_toml(dir))`
//! is `desc` again. Every parameter is written out, defaults included, so a
//! file means the same whatever later versions take as defaults; numbers are
//! written in the shortest form that reads back as the same `f64`.
//!
//! The Python package builds networks through this pair: each change is the
//! description written, the new entry added, and the whole read and checked
//! again ([`NetworkDescription::with_entry`]), so a network built in Python is
//! by construction one a file can say.

use std::path::{Path, PathBuf};

use toml::{Table, Value as Toml};

use crate::error::{Error, Result};
use crate::monitor::{Monitors, Neurons};
use crate::network::description::{
    Connectivity, Input, InputKind, NetworkDescription, Population, Projection, Rule,
};
use crate::network::distribution::Value;
use crate::recording::RecordMode;
use crate::synapses::SynapseKind;

/// The kinds of entry a network file lists (`[[population]]`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A `[[population]]`.
    Population,
    /// A `[[projection]]`.
    Projection,
    /// An `[[input]]`.
    Input,
}

impl Entry {
    /// The table name a network file uses.
    pub fn key(self) -> &'static str {
        match self {
            Entry::Population => "population",
            Entry::Projection => "projection",
            Entry::Input => "input",
        }
    }
}

impl NetworkDescription {
    /// An empty network (no populations yet) with time step `dt` (ms), run
    /// time `duration` (ms) and `seed`, checked as a file's would be.
    pub fn empty(name: &str, dt: f64, duration: f64, seed: u64) -> Result<Self> {
        let mut table = Table::new();
        table.insert("name".into(), name.into());
        table.insert("dt".into(), dt.into());
        table.insert("duration".into(), duration.into());
        table.insert("seed".into(), seed_value(seed)?);
        Self::from_table(table, Path::new(""), name, true)
    }

    /// The network file that says this network, with file names relative to
    /// `dir` where the file lies below it (absolute otherwise).
    pub fn to_toml(&self, dir: &Path) -> Result<String> {
        let table = self.to_table(dir)?;
        toml::to_string(&table)
            .map_err(|e| Error::param("network", format!("cannot be written as TOML: {e}")))
    }

    /// Writes the network file `path` (atomically), file names in it relative
    /// to its folder.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path.parent().unwrap_or(Path::new(""));
        let text = self.to_toml(dir)?;
        crate::io::output::write_bytes(path, text.as_bytes())
    }

    /// This network with one more entry, given as the table a network file
    /// would hold; the whole is checked again as a file is, so an entry is
    /// accepted exactly when a file could say it (a population first, then
    /// what refers to it). File names in `entry` are relative to `base_dir`.
    pub fn with_entry(&self, kind: Entry, entry: Table) -> Result<Self> {
        let mut table = self.to_table(&self.base_dir)?;
        let list = table
            .entry(kind.key())
            .or_insert_with(|| Toml::Array(Vec::new()));
        if let Toml::Array(items) = list {
            items.push(Toml::Table(entry));
        }
        Self::from_table(table, &self.base_dir, &self.name, true)
    }

    /// This network with a monitor added to `[record]`: `key` is `state`
    /// (`entry` a `[[record.state]]` table), `spikes_from` (a
    /// `[[record.spikes_from]]` table) or `rate` (`entry` empty for
    /// `rate = true`, or `{ bin = ... }`); checked again as a file is.
    pub fn with_record(&self, key: &str, entry: Table) -> Result<Self> {
        let mut table = self.to_table(&self.base_dir)?;
        let record = table
            .entry("record")
            .or_insert_with(|| Toml::Table(Table::new()));
        let Toml::Table(record) = record else {
            unreachable!("written as a table")
        };
        match key {
            "state" | "spikes_from" => {
                let list = record.entry(key).or_insert_with(|| Toml::Array(Vec::new()));
                if let Toml::Array(items) = list {
                    items.push(Toml::Table(entry));
                }
            }
            "rate" if entry.is_empty() => {
                record.insert("rate".into(), Toml::Boolean(true));
            }
            "rate" => {
                record.insert("rate".into(), Toml::Table(entry));
            }
            other => {
                return Err(Error::param(
                    "record",
                    format!("a monitor is state, spikes_from or rate, got {other:?}"),
                ))
            }
        }
        Self::from_table(table, &self.base_dir, &self.name, true)
    }

    /// This network with its run settings changed: time step, duration,
    /// seed, float type, name (each where given), checked again.
    pub fn with_settings(&self, settings: Table) -> Result<Self> {
        let mut table = self.to_table(&self.base_dir)?;
        for (key, value) in settings {
            table.insert(key, value);
        }
        let name = table
            .get("name")
            .and_then(Toml::as_str)
            .unwrap_or(&self.name)
            .to_string();
        Self::from_table(table, &self.base_dir, &name, true)
    }

    /// Reads `table` (a whole network file's) as a file is read; `empty_ok`
    /// accepts a network without populations (one being built).
    pub(in crate::network) fn from_table(
        table: Table,
        base: &Path,
        name: &str,
        empty_ok: bool,
    ) -> Result<Self> {
        let text = toml::to_string(&table)
            .map_err(|e| Error::param("network", format!("cannot be written as TOML: {e}")))?;
        Self::read_text(&text, base, name, empty_ok)
    }

    /// The table of a network file that says this network.
    pub(in crate::network) fn to_table(&self, dir: &Path) -> Result<Table> {
        let mut t = Table::new();
        t.insert("name".into(), self.name.clone().into());
        t.insert("dt".into(), self.dt.into());
        t.insert("duration".into(), self.duration.into());
        if self.timing != super::description::Timing::Network {
            t.insert("timing".into(), self.timing.name().into());
        }
        t.insert("seed".into(), seed_value(self.seed)?);
        t.insert("dtype".into(), self.dtype.name().into());
        let list = |items: Vec<Table>| Toml::Array(items.into_iter().map(Toml::Table).collect());
        let pops = self.populations.iter().map(population).collect();
        t.insert("population".into(), list(pops));
        let projections = self
            .projections
            .iter()
            .map(|p| projection(p, dir))
            .collect::<Result<Vec<_>>>()?;
        if !projections.is_empty() {
            t.insert("projection".into(), list(projections));
        }
        if !self.inputs.is_empty() {
            t.insert(
                "input".into(),
                list(self.inputs.iter().map(input).collect()),
            );
        }
        let mut record = Table::new();
        record.insert("spikes".into(), record_name(self.record).into());
        monitors(&self.monitors, &mut record);
        t.insert("record".into(), Toml::Table(record));
        Ok(t)
    }
}

/// A seed as TOML writes integers (signed 64 bits).
fn seed_value(seed: u64) -> Result<Toml> {
    i64::try_from(seed)
        .map(Toml::Integer)
        .map_err(|_| Error::param("seed", format!("must be below 2^63, got {seed}")))
}

/// `[record]`'s `rate`, `[[record.state]]` and `[[record.spikes_from]]`
/// entries, as the reader takes them.
fn monitors(m: &Monitors, record: &mut Table) {
    if let Some(rate) = &m.rate {
        let value = match rate.bin {
            None => Toml::Boolean(true),
            Some(bin) => Toml::Table(Table::from_iter([("bin".to_string(), bin.into())])),
        };
        record.insert("rate".into(), value);
    }
    if !m.spikes.is_empty() {
        let tables = m.spikes.iter().map(|s| {
            let mut t = Table::new();
            t.insert("population".into(), s.population.clone().into());
            neurons(&s.neurons, &mut t);
            Toml::Table(t)
        });
        record.insert("spikes_from".into(), Toml::Array(tables.collect()));
    }
    if m.state.is_empty() {
        return;
    }
    if m.stream {
        record.insert("state_to".into(), "disk".into());
    }
    let tables = m.state.iter().map(|s| {
        let mut t = Table::new();
        t.insert("population".into(), s.population.clone().into());
        neurons(&s.neurons, &mut t);
        let vars = s
            .variables
            .iter()
            .map(|v| Toml::String(v.clone()))
            .collect();
        t.insert("variables".into(), Toml::Array(vars));
        for (key, value) in [
            ("interval", s.interval),
            ("start", s.start),
            ("stop", s.stop),
        ] {
            if let Some(x) = value {
                t.insert(key.into(), x.into());
            }
        }
        Toml::Table(t)
    });
    record.insert("state".into(), Toml::Array(tables.collect()));
}

/// A choice of neurons as `n` or `ids` (a list or `{ start, stop }`); all: neither.
fn neurons(neurons: &Neurons, t: &mut Table) {
    let int = |i: usize| Toml::Integer(i as i64);
    match neurons {
        Neurons::All => {}
        Neurons::First(n) => {
            t.insert("n".into(), int(*n));
        }
        Neurons::Ids(ids) => {
            let ids = ids.iter().map(|&i| int(i)).collect();
            t.insert("ids".into(), Toml::Array(ids));
        }
        Neurons::Range { start, stop } => {
            let range = Table::from_iter([
                ("start".to_string(), int(*start)),
                ("stop".to_string(), int(*stop)),
            ]);
            t.insert("ids".into(), Toml::Table(range));
        }
    }
}

fn record_name(mode: RecordMode) -> &'static str {
    match mode {
        RecordMode::Dense => "dense",
        RecordMode::Events => "events",
        RecordMode::Counts => "counts",
    }
}

/// A number or distribution as a file writes it.
fn value(v: &Value) -> Toml {
    Toml::try_from(v).expect("a value is a number, a list or a table of numbers")
}

fn names(list: &[String]) -> Toml {
    Toml::Array(list.iter().map(|s| Toml::String(s.clone())).collect())
}

fn population(p: &Population) -> Table {
    let mut t = Table::new();
    t.insert("name".into(), p.name.clone().into());
    t.insert("size".into(), Toml::Integer(p.size as i64));
    t.insert("model".into(), p.model.name().into());
    for (key, x) in [
        ("tau_m", p.tau_m),
        ("v_rest", p.v_rest),
        ("v_reset", p.v_reset),
        ("v_thresh", p.v_thresh),
        ("r", p.r),
        ("t_ref", p.t_ref),
    ] {
        t.insert(key.into(), x.into());
    }
    t.insert("i_ext".into(), value(&p.i_ext));
    t.insert("v0".into(), value(&p.v0));
    t
}

/// `synapse`, `tau_syn` and `e_rev` of a synapse kind, into `t`.
fn synapse(t: &mut Table, kind: &SynapseKind) {
    t.insert("synapse".into(), kind.name().into());
    match *kind {
        SynapseKind::Delta => {}
        SynapseKind::Exponential { tau_syn } | SynapseKind::Alpha { tau_syn } => {
            t.insert("tau_syn".into(), tau_syn.into());
        }
        SynapseKind::Conductance { tau_syn, e_rev } => {
            t.insert("tau_syn".into(), tau_syn.into());
            t.insert("e_rev".into(), e_rev.into());
        }
    }
}

fn projection(p: &Projection, dir: &Path) -> Result<Table> {
    let mut t = Table::new();
    t.insert("source".into(), names(&p.source));
    t.insert("target".into(), names(&p.target));
    let count = |n: u64| Toml::Integer(n.min(i64::MAX as u64) as i64);
    let (rule, param): (&str, Option<(&str, Toml)>) = match &p.rule {
        Rule::AllToAll => ("all_to_all", None),
        Rule::OneToOne => ("one_to_one", None),
        Rule::FixedProbability { p } => ("fixed_probability", Some(("p", (*p).into()))),
        Rule::FixedIndegree { indegree } => (
            "fixed_indegree",
            Some(("indegree", count(*indegree as u64))),
        ),
        Rule::FixedOutdegree { outdegree } => (
            "fixed_outdegree",
            Some(("outdegree", count(*outdegree as u64))),
        ),
        Rule::FixedTotalNumber { n } => ("fixed_total_number", Some(("n", count(*n)))),
        Rule::File { path, scale } => {
            let file = relative_to(path, dir)?;
            t.insert("file".into(), file.display().to_string().into());
            t.insert("weight_scale".into(), (*scale).into());
            ("from_file", None)
        }
        Rule::Given => {
            return Err(crate::error::Error::param(
                "rule",
                format!(
                    "projection {} has weights held in memory; save them (np.save) and use rule = \"from_file\"",
                    p.label()
                ),
            ))
        }
    };
    t.insert("rule".into(), rule.into());
    if let Some((key, x)) = param {
        t.insert(key.into(), x);
    }
    t.insert("allow_autapses".into(), p.allow_autapses.into());
    t.insert("allow_multapses".into(), p.allow_multapses.into());
    if !matches!(p.rule, Rule::File { .. } | Rule::Given) {
        // A file's weights are its own (the reader refuses a weight beside it).
        t.insert("weight".into(), value(&p.weight));
    }
    t.insert("delay".into(), value(&p.delay));
    synapse(&mut t, &p.synapse);
    if p.connectivity != Connectivity::Stored {
        t.insert("connectivity".into(), p.connectivity.name().into());
    }
    Ok(t)
}

fn input(i: &Input) -> Table {
    let mut t = Table::new();
    t.insert("target".into(), names(&i.target));
    if let Some(neurons) = &i.neurons {
        let ids = neurons.iter().map(|&k| Toml::Integer(k as i64)).collect();
        t.insert("neurons".into(), Toml::Array(ids));
    }
    let kind = match &i.kind {
        InputKind::Poisson { rate_hz } => {
            t.insert("rate".into(), (*rate_hz).into());
            "poisson"
        }
        InputKind::SpikeTimes { times, delay } => {
            let times = times.iter().map(|&x| Toml::Float(x)).collect();
            t.insert("times".into(), Toml::Array(times));
            t.insert("delay".into(), (*delay).into());
            "spike_generator"
        }
        InputKind::Current { amplitude } => {
            t.insert("amplitude".into(), (*amplitude).into());
            "current"
        }
    };
    t.insert("type".into(), kind.into());
    if !matches!(i.kind, InputKind::Current { .. }) {
        t.insert("weight".into(), i.weight.into());
        synapse(&mut t, &i.synapse);
    }
    t
}

/// `path` relative to `dir` if it lies below it, else absolute (a file
/// outside the network file's folder stays where it is).
fn relative_to(path: &Path, dir: &Path) -> Result<PathBuf> {
    let absolute =
        |p: &Path| -> Result<PathBuf> { std::path::absolute(p).map_err(|e| Error::io(p, e)) };
    let file = absolute(path)?;
    let folder = absolute(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    })?;
    Ok(match file.strip_prefix(&folder) {
        Ok(rel) => rel.to_path_buf(),
        Err(_) => file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
    }

    #[test]
    fn every_example_reads_back_as_itself() {
        for name in [
            "cuba",
            "coba",
            "brunel",
            "brunel_alpha",
            "microcircuit",
            "scale",
        ] {
            let path = examples().join(format!("{name}.toml"));
            let desc = NetworkDescription::load(&path).unwrap();
            let text = desc.to_toml(&examples()).unwrap();
            let again = NetworkDescription::from_toml(&text, &examples(), "other").unwrap();
            assert_eq!(again, desc, "{name}");
            // And the text is a fixed point.
            assert_eq!(again.to_toml(&examples()).unwrap(), text, "{name}");
        }
    }

    #[test]
    fn entries_are_checked_as_a_file_checks_them() {
        let net = NetworkDescription::empty("t", 0.1, 100.0, 3).unwrap();
        let mut pop = Table::new();
        pop.insert("name".into(), "E".into());
        pop.insert("size".into(), Toml::Integer(3));
        pop.insert(
            "v0".into(),
            Toml::Array(vec![(-60.0).into(), (-55.5).into(), (-51.25).into()]),
        );
        let net = net.with_entry(Entry::Population, pop.clone()).unwrap();
        assert_eq!(
            net.populations[0].v0,
            Value::PerNeuron(vec![-60.0, -55.5, -51.25].into())
        );
        // A second population of the same name is refused with the reader's message.
        let err = net.with_entry(Entry::Population, pop.clone()).unwrap_err();
        assert!(err.to_string().contains("defined twice"), "{err}");
        // A list of the wrong length names the parameter and both lengths.
        pop.insert("name".into(), "I".into());
        pop.insert("size".into(), Toml::Integer(2));
        let err = net.with_entry(Entry::Population, pop).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("v0") && msg.contains("3 values"), "{msg}");
        // A list is no weight.
        let mut proj = Table::new();
        proj.insert("source".into(), "E".into());
        proj.insert("target".into(), "E".into());
        proj.insert("rule".into(), "all_to_all".into());
        proj.insert("weight".into(), Toml::Array(vec![1.0.into()]));
        let err = net.with_entry(Entry::Projection, proj).unwrap_err();
        assert!(err.to_string().contains("per-synapse weights"), "{err}");
    }

    #[test]
    fn an_empty_network_checks_its_settings() {
        assert!(NetworkDescription::empty("t", 0.1, 0.0, 1).is_ok());
        let err = NetworkDescription::empty("t", -0.1, 0.0, 1).unwrap_err();
        assert!(err.to_string().contains("dt"), "{err}");
    }
}
