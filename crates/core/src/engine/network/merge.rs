//! Projections delivered as one: the stored projections out of the same
//! sources into the same channel, their rows merged in each partition, so
//! that a spike reads one row of synapses per partition instead of one per
//! projection. PD14's source populations each have 8 projections: a spike
//! read 8 rows of about 240 synapses per partition, each starting at a
//! random place in memory; merged, one row of about 1,950, which the
//! hardware streams (delivery is bound by memory, and a short row costs its
//! start's latency).
//!
//! Which projections merge is decided from the description, never from a
//! partition's synapses, so every partition, thread count and rank merges
//! the same ones and adds every value in the same order.

use crate::error::Result;
use crate::model::Real;
use crate::network::build::{Connections, Recipe};
use crate::network::description::Connectivity;
use crate::network::sparse::Csr;

/// The groups of projections (indices, ascending) delivered as one, in the
/// order of their first projection; a projection merged with none is a
/// group of its own. Projections merge when their synapses are stored, they
/// have the same sources, channel and lateness (`late`, per projection:
/// [`late_projections`](super::layout::late_projections)), and each of
/// weight and delay is either one value, the same, for both or drawn for
/// both (so merging stores no more per synapse).
pub(super) fn groups<T: Real>(net: &Recipe<T>, late: &[bool]) -> Vec<Vec<usize>> {
    let projections = &net.description.projections;
    let alike = |a: usize, b: usize| {
        let (p, q) = (&projections[a], &projections[b]);
        let same = |x: Option<f64>, y: Option<f64>| x.map(f64::to_bits) == y.map(f64::to_bits);
        p.connectivity == Connectivity::Stored
            && q.connectivity == Connectivity::Stored
            && p.source == q.source
            && net.projection_channels[a] == net.projection_channels[b]
            && late[a] == late[b]
            && same(p.weight.constant(), q.weight.constant())
            && same(p.delay.constant(), q.delay.constant())
    };
    let mut placed = vec![false; projections.len()];
    let mut groups = Vec::new();
    for a in 0..projections.len() {
        if placed[a] {
            continue;
        }
        let group: Vec<usize> = (a..projections.len())
            .filter(|&b| !placed[b] && (b == a || alike(a, b)))
            .collect();
        for &b in &group {
            placed[b] = true;
        }
        groups.push(group);
    }
    groups
}

/// A partition's connections (one per projection) as it delivers them:
/// one per group of `groups`, each group's rows merged ([`Csr::merge`]),
/// with each one's lateness. A group is merged and its projections' rows
/// freed before the next, so building takes at most one group's synapses
/// more than they do.
pub(super) fn merged<T: Real>(
    connections: Vec<Connections<T>>,
    groups: &[Vec<usize>],
    late: &[bool],
) -> Result<(Vec<Connections<T>>, Vec<bool>)> {
    let mut each: Vec<Option<Connections<T>>> = connections.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(groups.len());
    for group in groups {
        let mut members = group.iter().map(|&k| each[k].take().expect("in one group"));
        let mut first = members.next().expect("a group has a projection");
        let rest: Vec<Connections<T>> = members.collect();
        if !rest.is_empty() {
            let mut rows = vec![std::mem::replace(&mut first.csr, Csr::empty(0, 0))];
            for c in rest {
                first.label = format!("{} + {}", first.label, c.label);
                rows.push(c.csr);
            }
            first.csr = Csr::merge(&rows)?;
        }
        out.push(first);
    }
    let late = groups.iter().map(|g| late[g[0]]).collect();
    Ok((out, late))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::NetworkDescription;

    /// Projections out of the same sources merge, in the place of the
    /// first; not those onto another channel, with one weight against drawn
    /// ones, with another constant delay, procedural, or out of other
    /// sources.
    #[test]
    fn projections_merge_by_sources_channel_and_storage() {
        let projection = |source: &str, target: &str, extra: &str| {
            format!(
                "[[projection]]\nsource = \"{source}\"\ntarget = \"{target}\"\nrule = \"fixed_total_number\"\n\
                 n = 50\nsynapse = \"exponential\"\n{extra}\n"
            )
        };
        let drawn = "weight = { distribution = \"normal\", mean = 0.1, std = 0.01 }\n\
                     delay = { distribution = \"normal\", mean = 1.0, std = 0.2, min = 0.1, bound = \"redraw\" }";
        let text = [
            "dt = 0.1\nduration = 1.0\n[[population]]\nname = \"A\"\nsize = 20\n\
             [[population]]\nname = \"B\"\nsize = 20\n"
                .to_string(),
            projection("A", "A", &format!("{drawn}\ntau_syn = 0.5")), // 0
            projection("B", "A", &format!("{drawn}\ntau_syn = 0.5")), // 1
            projection("A", "B", &format!("{drawn}\ntau_syn = 0.5")), // 2: with 0
            projection("A", "B", &format!("{drawn}\ntau_syn = 2.0")), // 3: another channel
            projection("A", "A", "weight = 0.1\ndelay = 1.0\ntau_syn = 0.5"), // 4
            projection("A", "B", "weight = 0.1\ndelay = 1.0\ntau_syn = 0.5"), // 5: with 4
            projection("A", "B", "weight = 0.1\ndelay = 2.0\ntau_syn = 0.5"), // 6: another delay
            projection(
                "A",
                "B",
                &format!("{drawn}\ntau_syn = 0.5\nconnectivity = \"procedural\""),
            ), // 7
            projection("B", "B", &format!("{drawn}\ntau_syn = 0.5")), // 8: with 1
        ]
        .concat();
        let desc =
            NetworkDescription::from_toml(&text, std::path::Path::new("."), "merge").unwrap();
        let recipe = Recipe::<f64>::new(&desc).unwrap();
        let late = vec![false; desc.projections.len()];
        assert_eq!(
            groups(&recipe, &late),
            [
                vec![0, 2],
                vec![1, 8],
                vec![3],
                vec![4, 5],
                vec![6],
                vec![7]
            ]
        );
        // A late projection merges only with late ones.
        let mut late = late;
        late[2] = true;
        assert_eq!(groups(&recipe, &late)[0], [0]);
    }
}
