//! Changing a population's or an input's parameters in a description: what
//! a simulation run in pieces asks between two pieces (`sim.set(E, i_ext=..)`
//! in Python). The change is made to the network file's table and the whole
//! is read again ([`NetworkDescription::with_changed`]), so a changed value
//! is checked exactly as a file's is, with the same errors. Whether a built
//! simulation can take the change is the engine's question
//! (`NetworkSimulation::update`).

use toml::{Table, Value as Toml};

use crate::error::{Error, Result};
use crate::network::description::{InputKind, NetworkDescription};
use crate::neuron::PARAMETERS;

/// What a change is made to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeTarget<'a> {
    /// The population of this name.
    Population(&'a str),
    /// Input number `k` of the network (0-based, in file order).
    Input(usize),
}

/// The keys of a `[[population]]` table that are not parameters of its
/// neurons: what it is and how large (a built simulation cannot change them,
/// but a description can).
const POPULATION_KEYS: &[&str] = &["name", "size", "model", "integration"];

/// The keys of an `[[input]]` table, all kinds together.
const INPUT_KEYS: &[&str] = &[
    "type",
    "target",
    "neurons",
    "rate",
    "times",
    "amplitude",
    "weight",
    "delay",
    "synapse",
    "tau_syn",
    "e_rev",
];

/// The keys of an `[[input]]` table that belong to some kinds of input
/// only ([`input_parameters`]).
const PARAMETERS_OF_SOME_KIND: &[&str] = &["rate", "times", "amplitude", "weight", "delay"];

impl NetworkDescription {
    /// This network with the entries of `values` (keys and values as a
    /// network file's table would hold them) changed in the population or
    /// input `target`, checked whole as a file is: a bad value gets the
    /// error a file with it would get. A key that is no parameter of the
    /// target is refused, naming the target and the parameters it has.
    pub fn with_changed(&self, target: ChangeTarget<'_>, values: Table) -> Result<Self> {
        let mut table = self.to_table(&self.base_dir)?;
        let (list, k) = match target {
            ChangeTarget::Population(name) => {
                let k = self.population_index(name)?;
                let model = self.populations[k].model;
                for key in values.keys() {
                    let known = PARAMETERS.iter().any(|p| p.0 == key.as_str())
                        || POPULATION_KEYS.contains(&key.as_str());
                    if !known {
                        let names: Vec<&str> = PARAMETERS.iter().map(|p| p.0).collect();
                        return Err(Error::param(
                            "population",
                            format!(
                                "population {name:?}: has no parameter {key:?} \
                                 ({model} neurons have {})",
                                names.join(", ")
                            ),
                        ));
                    }
                }
                ("population", k)
            }
            ChangeTarget::Input(k) => {
                let Some(input) = self.inputs.get(k) else {
                    return Err(Error::param(
                        "input",
                        format!(
                            "no input number {k}: the network has {} (numbered from 0)",
                            self.inputs.len()
                        ),
                    ));
                };
                let own = input_parameters(&input.kind);
                for key in values.keys() {
                    let known = INPUT_KEYS.contains(&key.as_str());
                    let another_kinds = PARAMETERS_OF_SOME_KIND.contains(&key.as_str());
                    if !known || (another_kinds && !own.contains(&key.as_str())) {
                        return Err(Error::param(
                            "input",
                            format!(
                                "{}: has no parameter {key:?} (its parameters are {})",
                                self.input_place(k),
                                own.join(", ")
                            ),
                        ));
                    }
                }
                ("input", k)
            }
        };
        if let Some(Toml::Array(items)) = table.get_mut(list) {
            if let Some(Toml::Table(entry)) = items.get_mut(k) {
                entry.extend(values);
            }
        }
        Self::from_table(table, &self.base_dir, &self.name, false)
    }

    /// The index of the population `name`, or the reader's error for a name
    /// no population has.
    pub fn population_index(&self, name: &str) -> Result<usize> {
        match self.populations.iter().position(|p| p.name == name) {
            Some(k) => Ok(k),
            None => self.ranges(&[name.to_string()]).map(|_| 0),
        }
    }

    /// `input 2 (poisson -> E)`: input `k` as errors name it.
    pub fn input_place(&self, k: usize) -> String {
        let input = &self.inputs[k];
        let kind = match input.kind {
            InputKind::Poisson { .. } => "poisson",
            InputKind::SpikeTimes { .. } => "spike_generator",
            InputKind::Current { .. } => "current",
        };
        format!("input {} ({kind} -> {})", k + 1, input.target.join(", "))
    }
}

/// The parameters of an input of `kind` (beside its targets and synapse).
pub fn input_parameters(kind: &InputKind) -> &'static [&'static str] {
    match kind {
        InputKind::Poisson { .. } => &["rate", "weight"],
        InputKind::SpikeTimes { .. } => &["times", "weight", "delay"],
        InputKind::Current { .. } => &["amplitude"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const NET: &str = r#"
        duration = 10.0
        [[population]]
        name = "E"
        size = 4
        tau_m = 10.0
        [[input]]
        type = "poisson"
        target = "E"
        rate = 1000.0
        weight = 0.5
    "#;

    fn net() -> NetworkDescription {
        NetworkDescription::from_toml(NET, Path::new(""), "net").unwrap()
    }

    fn values(pairs: &[(&str, Toml)]) -> Table {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn a_change_is_the_network_a_file_with_it_says() {
        let changed = net()
            .with_changed(
                ChangeTarget::Population("E"),
                values(&[("tau_m", 15.0.into())]),
            )
            .unwrap();
        let text = NET.replace("tau_m = 10.0", "tau_m = 15.0");
        let file = NetworkDescription::from_toml(&text, Path::new(""), "net").unwrap();
        assert_eq!(changed, file);
        let changed = net()
            .with_changed(ChangeTarget::Input(0), values(&[("rate", 2000.0.into())]))
            .unwrap();
        assert_eq!(
            changed.inputs[0].kind,
            InputKind::Poisson { rate_hz: 2000.0 }
        );
    }

    #[test]
    fn a_bad_value_gets_the_files_error() {
        let err = net()
            .with_changed(
                ChangeTarget::Population("E"),
                values(&[("tau_m", (-1.0).into())]),
            )
            .unwrap_err()
            .to_string();
        let text = NET.replace("tau_m = 10.0", "tau_m = -1.0");
        let file = NetworkDescription::from_toml(&text, Path::new(""), "net")
            .unwrap_err()
            .to_string();
        assert_eq!(err, file);
    }

    #[test]
    fn unknown_names_are_refused_saying_what_there_is() {
        let err = net()
            .with_changed(
                ChangeTarget::Population("E"),
                values(&[("tau", 1.0.into())]),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                r#"population "E": has no parameter "tau" (iaf_psc_exp neurons have tau_m, r,"#
            ),
            "{err}"
        );
        let err = net()
            .with_changed(ChangeTarget::Population("X"), Table::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(r#"no population named "X" (there are: E)"#),
            "{err}"
        );
        let err = net()
            .with_changed(ChangeTarget::Input(0), values(&[("rates", 1.0.into())]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(r#"input 1 (poisson -> E): has no parameter "rates" (its parameters are rate, weight)"#),
            "{err}"
        );
        let err = net()
            .with_changed(ChangeTarget::Input(3), Table::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no input number 3: the network has 1"),
            "{err}"
        );
    }
}
