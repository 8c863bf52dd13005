//! The neuron range each MPI rank owns: contiguous, in ascending order (so
//! the network's spike list is the ranks' lists one after the other), and
//! balanced by the expected cost of the neurons: a fixed cost per neuron
//! plus the synapses onto it, which a rank holds in memory and delivers to.
//! Computed from the description alone, in the same order of floating-point
//! operations on every rank: every rank gets the same ranges.

use std::ops::Range;

use crate::error::Result;
use crate::network::description::{NetworkDescription, Rule};

/// A neuron's own cost each step (its update, its Poisson draws) in
/// synapses: delivering a spike to a synapse costs about as much as
/// updating a neuron, and a synapse delivers about once every 1000 steps
/// (10 Hz at dt = 0.1 ms), so a neuron costs about as much as a thousand
/// synapses onto it. Memory goes with the synapses alone; this keeps ranks
/// of sparse populations from getting too many neurons.
pub const NEURON_COST: f64 = 1000.0;

/// The expected number of synapses onto each neuron (global ids), per
/// neuron: each projection's mean in-degree over its targets. A file
/// projection, unknown until read, counts none.
pub fn expected_indegree(desc: &NetworkDescription) -> Result<Vec<f64>> {
    let mut per = vec![0.0f64; desc.n()];
    for p in &desc.projections {
        let sources: usize = desc.ranges(&p.source)?.iter().map(|r| r.len()).sum();
        let targets = desc.ranges(&p.target)?;
        let t: usize = targets.iter().map(|r| r.len()).sum();
        if t == 0 {
            continue;
        }
        let each = match &p.rule {
            Rule::AllToAll => sources as f64,
            Rule::OneToOne => 1.0,
            Rule::FixedProbability { p } => p * sources as f64,
            Rule::FixedIndegree { indegree } => *indegree as f64,
            Rule::FixedOutdegree { outdegree } => (*outdegree * sources) as f64 / t as f64,
            Rule::FixedTotalNumber { n } => *n as f64 / t as f64,
            Rule::File { .. } => 0.0,
            Rule::Given => sources as f64,
        };
        for r in targets {
            for x in &mut per[r] {
                *x += each;
            }
        }
    }
    Ok(per)
}

/// The neuron ranges of `ranks` ranks, in rank order: contiguous, covering
/// every neuron, each of about the same [`NEURON_COST`] plus expected
/// synapses, boundaries on multiples of 64 neurons (the threads' split of a
/// range keeps whole cache lines). Small networks may leave a rank no
/// neurons.
pub fn rank_ranges(desc: &NetworkDescription, ranks: usize) -> Result<Vec<Range<usize>>> {
    let n = desc.n();
    let ranks = ranks.max(1);
    let indegree = expected_indegree(desc)?;
    // The cost of each block of 64 neurons, and their running sum.
    let blocks = n.div_ceil(64);
    let mut cum = Vec::with_capacity(blocks + 1);
    cum.push(0.0f64);
    let mut total = 0.0;
    for b in 0..blocks {
        let cost: f64 = indegree[b * 64..((b + 1) * 64).min(n)]
            .iter()
            .map(|&s| NEURON_COST + s)
            .sum();
        total += cost;
        cum.push(total);
    }
    // Cut r: the block boundary nearest to r/ranks of the total cost.
    let mut cuts = vec![0usize];
    for r in 1..ranks {
        let want = total * r as f64 / ranks as f64;
        let above = cum.partition_point(|&c| c < want).min(blocks);
        let b = if above > 0 && want - cum[above - 1] < cum[above] - want {
            above - 1
        } else {
            above
        };
        let prev = *cuts.last().expect("starts with 0");
        cuts.push(b.max(prev));
    }
    cuts.push(blocks);
    Ok(cuts
        .windows(2)
        .map(|w| (w[0] * 64).min(n)..(w[1] * 64).min(n))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(text: &str) -> NetworkDescription {
        NetworkDescription::from_toml(text, std::path::Path::new("."), "t").unwrap()
    }

    const TWO: &str = r#"
        name = "two"
        dt = 0.1
        duration = 10.0
        [[population]]
        name = "A"
        size = 6400
        [[population]]
        name = "B"
        size = 6400
        [[projection]]
        source = "A"
        target = "B"
        rule = "fixed_indegree"
        indegree = 3000
        weight = 0.1
        delay = 1.5
    "#;

    #[test]
    fn ranges_cover_the_network_in_order_and_balance_synapses_and_neurons() {
        let d = desc(TWO);
        for ranks in 1..=5 {
            let r = rank_ranges(&d, ranks).unwrap();
            assert_eq!(r.len(), ranks);
            assert_eq!(r[0].start, 0);
            assert_eq!(r.last().unwrap().end, 12800);
            for w in r.windows(2) {
                assert_eq!(w[0].end, w[1].start);
            }
        }
        // A costs 1000 a neuron, B 4000: two ranks cut where 6400 * 1000 +
        // (x - 6400) * 4000 = 6400 * 5000 / 2, x = 8800, halfway between
        // the block edges 8768 and 8832 (the tie goes to the upper one).
        let r = rank_ranges(&d, 2).unwrap();
        assert_eq!(r[0], 0..8832);
        let cost = |r: &Range<usize>| -> f64 {
            r.clone()
                .map(|i| if i < 6400 { 1000.0 } else { 4000.0 })
                .sum()
        };
        let (a, b) = (cost(&r[0]), cost(&r[1]));
        assert!((a - b).abs() <= 64.0 * 4000.0, "{a} vs {b}");
    }

    #[test]
    fn a_small_network_leaves_ranks_empty_rather_than_cutting_blocks() {
        let d = desc(&TWO.replace("6400", "50"));
        let r = rank_ranges(&d, 3).unwrap();
        assert_eq!(r.iter().map(|r| r.len()).sum::<usize>(), 100);
        assert!(r.iter().all(|r| r.start % 64 == 0));
    }
}
