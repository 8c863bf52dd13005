//! What a simulation decides once from the description, the same on every
//! partition and rank: the state arrays and where each channel's undelayed
//! weights go (`state_layout`), which projections deliver late
//! (`late_projections`), and whether the weights held in memory fit
//! (`check_given`).

use crate::error::{Error, Result};
use crate::model::Real;
use crate::network::build::Recipe;
use crate::network::description::{Connectivity, NetworkDescription, Rule};

/// Checks that the projections of [`Rule::Given`] weights in `desc` have a
/// matrix (of `n` x `n`, if any) of their size.
pub(super) fn check_given(desc: &NetworkDescription, n: Option<usize>) -> Result<()> {
    for p in desc.projections.iter().filter(|p| p.rule == Rule::Given) {
        let size =
            |names| -> Result<usize> { Ok(desc.ranges(names)?.iter().map(|r| r.len()).sum()) };
        let (n_src, n_tgt) = (size(&p.source)?, size(&p.target)?);
        let problem = match n {
            None => "has weights held in memory, but the simulation was given no matrix".into(),
            Some(n) if (n, n) != (n_tgt, n_src) => format!(
                "has {n_tgt} targets and {n_src} sources, but the matrix given is {n} x {n}"
            ),
            Some(_) if p.connectivity != Connectivity::Dense => {
                "has weights held in memory, read as dense columns only (connectivity = \"dense\")"
                    .into()
            }
            Some(_) => continue,
        };
        return Err(Error::param(
            "rule",
            format!("projection {} {problem}", p.label()),
        ));
    }
    Ok(())
}

/// Per projection of `net`: whether it is late: whether its spikes go
/// straight into the state one step later, after the update of the step
/// that delivers them (`Part::deliver_late`), instead of through the ring:
/// a projection with a delay of exactly one step for all its synapses
/// (stored or procedural) onto a channel with a `direct` array and no
/// jumps. Such a delay makes the interval between exchanges one step (or
/// none), so every step delivers its own spikes. With
/// `direct` the channels' direct arrays and `interval` the steps between
/// exchanges. Decided from the description, so every partition and rank
/// decides the same for the same projection.
pub(super) fn late_projections<T: Real>(
    net: &Recipe<T>,
    direct: &[Option<usize>],
    interval: u64,
) -> Vec<bool> {
    let desc = &net.description;
    let one_step = |p: &crate::network::description::Projection| {
        p.delay.constant().map(|ms| desc.delay_steps(ms)) == Some(1)
    };
    (desc.projections.iter().enumerate())
        .map(|(k, p)| {
            let ch = net.projection_channels[k];
            interval <= 1
                && one_step(p)
                && p.connectivity != Connectivity::Dense
                && direct[ch].is_some()
                && !net.channels[ch].is_jump()
        })
        .collect()
}

/// The names of the state arrays of every population's model, in order of
/// first appearance, and per channel the array its undelayed weights go to.
pub(super) fn state_layout<T: Real>(net: &Recipe<T>) -> Result<(Vec<String>, Vec<Option<usize>>)> {
    let desc = &net.description;
    let mut names: Vec<String> = Vec::new();
    // Per channel: the direct arrays the populations it reaches name
    // (`None` in the list: one of them has none).
    let mut wanted: Vec<Vec<Option<usize>>> = vec![Vec::new(); net.channels.len()];
    for (pop, receptors) in desc.populations.iter().zip(&net.receptors) {
        let dynamics = pop.model.build::<T>(pop, desc.dt, receptors)?;
        let own = dynamics.state_names();
        for n in &own {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        for (r, rec) in receptors.iter().enumerate() {
            let array = dynamics
                .direct_input(r)
                .map(|k| names.iter().position(|n| *n == own[k]).expect("listed"));
            wanted[rec.channel].push(array);
        }
    }
    let direct = wanted
        .into_iter()
        .map(|w| match w.first() {
            Some(&Some(a)) if w.iter().all(|&x| x == Some(a)) => Some(a),
            _ => None,
        })
        .collect();
    Ok((names, direct))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::NetworkSimulation;

    /// The late projections are those whose every synapse has a delay of
    /// one step onto a channel whose weights go straight into a state
    /// (an exponential current here), stored or procedural; not a longer
    /// or drawn delay, a delta synapse, or dense columns.
    #[test]
    fn late_projections_are_the_one_step_ones_onto_a_state_taking_weights() {
        let projection = |delay: &str, synapse: &str, extra: &str| {
            let tau = if synapse == "delta" {
                ""
            } else {
                "tau_syn = 2.0\n"
            };
            format!(
                "[[projection]]\nsource = \"A\"\ntarget = \"A\"\nrule = \"fixed_probability\"\np = 0.5\n\
                 weight = 0.1\ndelay = {delay}\nsynapse = \"{synapse}\"\n{extra}\n{tau}"
            )
        };
        let text = [
            "dt = 0.1\nduration = 1.0\n[[population]]\nname = \"A\"\nsize = 20\n".to_string(),
            projection("0.1", "exponential", ""),
            projection("0.2", "exponential", ""),
            projection(
                "{ distribution = \"uniform\", low = 0.1, high = 0.2 }",
                "exponential",
                "",
            ),
            projection("0.1", "delta", ""),
            projection("0.1", "exponential", "connectivity = \"dense\""),
            projection("0.1", "exponential", "connectivity = \"procedural\""),
            projection("0.0", "exponential", ""),
        ]
        .concat();
        let desc = NetworkDescription::from_toml(&text, std::path::Path::new("."), "late").unwrap();
        let recipe = Recipe::<f64>::new(&desc).unwrap();
        let sim = NetworkSimulation::new(&recipe, Some(1)).unwrap();
        let (_, direct) = state_layout(&recipe).unwrap();
        assert_eq!(
            late_projections(&recipe, &direct, sim.shared.interval),
            [true, false, false, false, false, true, false]
        );
    }

    /// A projection of weights held in memory runs only with a matrix of
    /// its size, read as dense columns; it is never written to a file nor
    /// stored as rows.
    #[test]
    fn weights_held_in_memory_need_their_matrix() {
        use crate::engine::EngineOptions;
        use crate::network::{DenseView, GivenMatrix};
        let params = crate::LifParams::default();
        let current = crate::ExternalCurrent::Constant(0.0);
        let desc = |n| {
            let v0 = vec![-60.0; n];
            crate::network::seed::seed_network(
                None,
                n,
                &params,
                &current,
                v0,
                crate::Dtype::Float64,
            )
            .unwrap()
        };
        let w = vec![0.0f64; 9];
        let with = |desc: &NetworkDescription| {
            let recipe = Recipe::<f64>::new(desc).unwrap();
            let view = DenseView::new(3, &w).unwrap();
            let options = EngineOptions::default();
            NetworkSimulation::with_matrix(recipe, GivenMatrix::Borrowed(view), &options)
                .map(|_| ())
        };
        assert!(with(&desc(3)).is_ok());
        let e = with(&desc(4)).unwrap_err().to_string();
        assert!(
            e.contains("has 4 targets and 4 sources, but the matrix given is 3 x 3"),
            "{e}"
        );
        let recipe = Recipe::<f64>::new(&desc(3)).unwrap();
        let e = NetworkSimulation::new(&recipe, None)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("the simulation was given no matrix"), "{e}");
        let mut stored = desc(3);
        stored.projections[0].connectivity = Connectivity::Stored;
        let e = with(&stored).unwrap_err().to_string();
        assert!(e.contains("read as dense columns only"), "{e}");
        let e = recipe.connections_onto(0, 0..3).unwrap_err().to_string();
        assert!(e.contains("it has no stored synapses"), "{e}");
        let e = desc(3).to_toml(std::path::Path::new(".")).unwrap_err();
        assert!(e.to_string().contains("save them (np.save)"), "{e}");
    }
}
