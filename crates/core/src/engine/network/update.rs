//! Changing a built simulation's parameters between two pieces of its run
//! ([`NetworkSimulation::update`]): the populations' neuron parameters
//! (their models' propagators are computed again) and the Poisson and
//! current inputs' rates, weights and amplitudes. The state is the
//! simulation's and stays: potentials, synaptic variables, ring buffers,
//! refractory ends, every random stream. What the engine has built from
//! the network (its layout, its synapses, the seed's draws, the time step)
//! cannot change without building it again, and is refused saying so.

use std::borrow::Cow;

use super::inputs::per_count;
use super::part::{uniform_current, Part};
use super::NetworkSimulation;
use crate::error::{Error, Result};
use crate::inputs::PoissonSampler;
use crate::model::Real;
use crate::network::build::{NetworkInput, Recipe};
use crate::network::description::{InputKind, NetworkDescription};

impl<T: Real> NetworkSimulation<'_, T> {
    /// Goes on with the network `desc`: the one simulated with some neuron
    /// parameters (`tau_m`, `r`, `v_rest`, `v_reset`, `v_thresh`, `t_ref`,
    /// `i_ext`) or input parameters (a Poisson input's `rate` and `weight`,
    /// a current's `amplitude`) changed
    /// ([`NetworkDescription::with_changed`] makes one). The next step uses
    /// the new values; the state is kept as it is, except that the
    /// potential (mV) of a population whose `v_rest` changes is kept too
    /// where its model holds `V - v_rest` (as NEST does). Anything else that
    /// differs (sizes, models, `v0`, projections, the seed, `dt`, an input's
    /// targets or kind) is refused, naming it, and nothing changes. A
    /// refractory neuron keeps the end of its refractory period; a new
    /// `t_ref` applies from the next spike.
    pub fn update(&mut self, desc: &NetworkDescription) -> Result<()> {
        check_applicable(&self.shared.net.description, desc)?;
        let recipe = Recipe::<T>::new(desc)?;
        // Every dynamics is built before any part changes, so an error
        // leaves the simulation as it was.
        let built = self
            .run
            .parts
            .iter()
            .map(|p| p.dynamics_for(&recipe))
            .collect::<Result<Vec<_>>>()?;
        for (part, dynamics) in self.run.parts.iter_mut().zip(built) {
            part.update(&recipe, dynamics);
        }
        self.shared.net = Cow::Owned(recipe);
        Ok(())
    }
}

impl<T: Real> Part<T> {
    /// The dynamics of each of the partition's segments under `recipe`.
    fn dynamics_for(&self, recipe: &Recipe<T>) -> Result<Vec<Box<dyn crate::neuron::Dynamics<T>>>> {
        let desc = &recipe.description;
        self.segments
            .iter()
            .map(|seg| {
                let k = self.population_of(recipe, seg.local.start);
                let receptors = &recipe.receptors[k];
                desc.populations[k]
                    .model
                    .build::<T>(&desc.populations[k], desc.dt, receptors)
            })
            .collect()
    }

    /// The index of the population of local neuron `i`.
    fn population_of(&self, recipe: &Recipe<T>, i: usize) -> usize {
        let g = self.range.start + i;
        recipe
            .populations
            .iter()
            .position(|(_, span)| span.contains(&g))
            .expect("every neuron is in a population")
    }

    /// Takes the constants of `recipe` (`dynamics`: one per segment, from
    /// [`Self::dynamics_for`]), keeping the state.
    fn update(&mut self, recipe: &Recipe<T>, dynamics: Vec<Box<dyn crate::neuron::Dynamics<T>>>) {
        let desc = &recipe.description;
        let range = self.range.clone();
        let pops: Vec<usize> = (self.segments.iter())
            .map(|seg| self.population_of(recipe, seg.local.start))
            .collect();
        for ((seg, new), pop) in self.segments.iter_mut().zip(dynamics).zip(pops) {
            // A model that holds `V - v_rest` keeps the potential in mV.
            if new.voltage(T::ZERO).to_bits() != seg.dynamics.voltage(T::ZERO).to_bits() {
                for x in &mut self.arrays[seg.slots[0]][seg.local.clone()] {
                    *x = new.initial(seg.dynamics.voltage(*x));
                }
            }
            let global = range.start + seg.local.start..range.start + seg.local.end;
            seg.i_const = uniform_current(&recipe.i_ext[global]);
            seg.refractory_steps = desc.hold_steps(&desc.populations[pop]);
            seg.dynamics = new;
            seg.state_was_set(&self.until[seg.local.clone()]);
        }
        for (x, &i) in self.i_ext.iter_mut().zip(&recipe.i_ext[range]) {
            *x = T::from_f64(i);
        }
        let poisson = recipe.inputs.iter().filter_map(|i| match i {
            NetworkInput::Poisson {
                mean_per_step,
                weight,
                ..
            } => Some((*mean_per_step, *weight)),
            NetworkInput::Spikes { .. } => None,
        });
        for (local, (mean, weight)) in self.inputs.poisson.iter_mut().zip(poisson) {
            local.sampler = PoissonSampler::new(mean);
            local.per_count = per_count(&local.sampler, weight);
        }
    }
}

/// `Err` naming what differs between `old` (the network built) and `new`
/// that a built simulation cannot take.
fn check_applicable(old: &NetworkDescription, new: &NetworkDescription) -> Result<()> {
    let rebuild = |name: &'static str, place: &str, what: &str| -> Result<()> {
        Err(Error::param(
            name,
            format!("{place}: cannot be changed in a built simulation ({what}); build the network again"),
        ))
    };
    if old.dt != new.dt {
        return rebuild("dt", "the network", "every step and delay is counted in it");
    }
    if old.seed != new.seed {
        return rebuild(
            "seed",
            "the network",
            "the synapses and streams are drawn from it",
        );
    }
    if old.dtype != new.dtype {
        return rebuild("dtype", "the network", "the state is held in it");
    }
    if old.populations.len() != new.populations.len() {
        return rebuild(
            "population",
            "the network",
            "the state is laid out by population",
        );
    }
    for (a, b) in old.populations.iter().zip(&new.populations) {
        let place = format!("population {:?}", a.name);
        if a.name != b.name {
            return rebuild("name", &place, "projections and inputs are built by name");
        }
        if a.size != b.size {
            return rebuild("size", &place, "the state and synapses are laid out for it");
        }
        if a.model != b.model {
            return rebuild("model", &place, "the state is the model's");
        }
        if a.v0 != b.v0 {
            return Err(Error::param(
                "v0",
                format!(
                    "{place}: is the initial potential, used when the network is built; \
                     change the potential of a built simulation with set_state"
                ),
            ));
        }
    }
    if old.projections.len() != new.projections.len() {
        return rebuild("projection", "the network", "its synapses are built");
    }
    for (k, (a, b)) in old.projections.iter().zip(&new.projections).enumerate() {
        if a != b {
            let place = format!("projection {} ({})", k + 1, a.label());
            return rebuild("projection", &place, "its synapses are built");
        }
    }
    if old.inputs.len() != new.inputs.len() {
        return rebuild("input", "the network", "its inputs are laid out");
    }
    for (k, (a, b)) in old.inputs.iter().zip(&new.inputs).enumerate() {
        let place = old.input_place(k);
        if a.target != b.target || a.neurons != b.neurons {
            return rebuild("target", &place, "its targets are laid out");
        }
        if a.synapse != b.synapse {
            return rebuild("synapse", &place, "the synapse channels are laid out");
        }
        match (&a.kind, &b.kind) {
            (InputKind::Poisson { .. }, InputKind::Poisson { .. })
            | (InputKind::Current { .. }, InputKind::Current { .. }) => {}
            (InputKind::SpikeTimes { .. }, InputKind::SpikeTimes { .. }) => {
                if a != b {
                    return rebuild("times", &place, "its spikes are laid out");
                }
            }
            _ => return rebuild("type", &place, "its inputs are laid out"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::engine::EngineOptions;
    use crate::network::ChangeTarget;
    use crate::recording::{Events, RecordMode, Recorder};
    use std::path::Path;

    const NET: &str = r#"
        duration = 40.0
        [[population]]
        name = "E"
        size = 150
        tau_m = 10.0
        v_rest = -65.0
        v_reset = -65.0
        v_thresh = -50.0
        r = 10.0
        i_ext = 1.2
        v0 = { distribution = "uniform", low = -65.0, high = -50.0 }
        [[projection]]
        source = "E"
        target = "E"
        rule = "fixed_indegree"
        indegree = 10
        weight = 0.5
        delay = 1.0
        synapse = "exponential"
        tau_syn = 2.0
        [[input]]
        type = "poisson"
        target = "E"
        rate = 3000.0
        weight = 0.2
        synapse = "exponential"
        tau_syn = 2.0
    "#;

    fn sim(desc: &NetworkDescription, threads: usize) -> NetworkSimulation<'static, f64> {
        let options = EngineOptions {
            threads: Some(threads),
            isa: None,
        };
        NetworkSimulation::owning(Recipe::new(desc).unwrap(), &options).unwrap()
    }

    fn events(s: &mut NetworkSimulation<'_, f64>, until: u64) -> Events {
        let mut rec = Recorder::new(RecordMode::Events, s.recipe().n(), 0).unwrap();
        s.set_steps(until);
        s.run_until(until, &mut rec);
        rec.finish(0.1).events.unwrap()
    }

    fn table(pairs: &[(&str, f64)]) -> toml::Table {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), (*v).into()))
            .collect()
    }

    #[test]
    fn an_update_goes_on_as_the_changed_network_from_the_same_state() {
        let desc = NetworkDescription::from_toml(NET, Path::new(""), "net").unwrap();
        let changed = desc
            .with_changed(
                ChangeTarget::Population("E"),
                table(&[("tau_m", 7.0), ("i_ext", 1.6)]),
            )
            .unwrap()
            .with_changed(ChangeTarget::Input(0), table(&[("rate", 5000.0)]))
            .unwrap();
        for threads in [1, 2] {
            let mut a = sim(&desc, threads);
            events(&mut a, 200);
            let state = a.save_state();
            a.update(&changed).unwrap();
            let tail = events(&mut a, 400);
            let mut b = sim(&changed, 3 - threads);
            b.set_steps(200);
            b.restore_state(&state).unwrap();
            let expected = events(&mut b, 400);
            assert!(tail.ids.len() > 100, "{} spikes", tail.ids.len());
            assert_eq!((tail.steps, tail.ids), (expected.steps, expected.ids));
        }
    }

    #[test]
    fn what_needs_a_new_build_is_refused_and_nothing_changes() {
        let desc = NetworkDescription::from_toml(NET, Path::new(""), "net").unwrap();
        let mut whole = sim(&desc, 1);
        let want = events(&mut whole, 300);
        let mut s = sim(&desc, 1);
        let head = events(&mut s, 150);
        let bigger = NetworkDescription::from_toml(
            &NET.replace("size = 150", "size = 151"),
            Path::new(""),
            "net",
        )
        .unwrap();
        let err = s.update(&bigger).unwrap_err().to_string();
        assert!(
            err.contains(
                "invalid parameter size: population \"E\": cannot be changed in a built simulation"
            ),
            "{err}"
        );
        let rewired = NetworkDescription::from_toml(
            &NET.replace("indegree = 10", "indegree = 11"),
            Path::new(""),
            "net",
        )
        .unwrap();
        let err = s.update(&rewired).unwrap_err().to_string();
        assert!(
            err.contains("projection 1 (E -> E): cannot be changed"),
            "{err}"
        );
        s.update(&desc).unwrap(); // the same network: no change at all
        let tail = events(&mut s, 300);
        let mut ids = head.ids;
        ids.extend(tail.ids);
        assert_eq!(ids, want.ids);
    }
}
