//! `fixed_total_number`'s split of its count over the neurons of one side
//! (the sources: `super::source_keyed`), the same bits for every cut of
//! them, from streams keyed by global indices.
//!
//! **`fixed_total_number`** (NEST's: `n` synapses, each a (source, target)
//! pair drawn uniformly with replacement, pairs that would be autapses drawn
//! again when they are not allowed). The number of synapses of each neuron
//! (written below for targets; the caller passes sources in their place)
//! is then multinomial, with each neuron's weight the number of partners it
//! may have. It is drawn as a binary tree of binomial splits: the node for
//! target indices `[lo, hi)` (root 1, children `2i` and `2i + 1`, the left
//! one `[lo, mid)` with `mid = lo + (hi - lo) / 2`) gives its count to its
//! halves by one Binomial(count, weight(left) / weight(node)) draw from
//! `rng::stream(seed, Split, node)`; a leaf's count is its target's. The
//! counts sum to `n` exactly and have the multinomial's law; a range walks
//! only the nodes over its own targets, `O(log n)` draws besides one per
//! target. Each source then draws its targets uniformly from its own
//! connectivity stream. Why not the others: drawing the `n` pairs from one
//! stream makes a source's synapses depend on every other's; sequential
//! conditional binomials (neuron 0, then 1, ...) make a neuron walk every
//! neuron before its own; independent Poisson counts do not sum to `n`.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::rng::{self, Purpose};

/// How many of the indices `range` lie in `runs`.
fn count_in(runs: &[Range<usize>], range: &Range<usize>) -> usize {
    runs.iter()
        .map(|r| {
            r.end
                .min(range.end)
                .saturating_sub(r.start.max(range.start))
        })
        .sum()
}

/// Whether `range` meets any of the ascending runs `picked`.
fn meets(picked: &[Range<usize>], range: &Range<usize>) -> bool {
    picked
        .iter()
        .any(|r| r.start < range.end && range.start < r.end)
}

/// `fixed_total_number`: the number of synapses of each neuron of
/// `picked` (indices into the `n_tgt` targets, ascending runs), `n` in all
/// over the whole projection `label`; targets in `shared` (also sources)
/// weigh one source less when `autapses` are not allowed.
#[allow(clippy::too_many_arguments)]
pub(super) fn total_number_counts(
    label: &str,
    seed: u64,
    n: u64,
    n_src: usize,
    n_tgt: usize,
    shared: &[Range<usize>],
    autapses: bool,
    picked: &[Range<usize>],
) -> Result<Vec<u32>> {
    let weight = |r: &Range<usize>| -> u128 {
        let all = r.len() as u128 * n_src as u128;
        if autapses {
            all
        } else {
            all - count_in(shared, r) as u128
        }
    };
    let mut out = Vec::with_capacity(picked.iter().map(|r| r.len()).sum());
    if n_tgt > 0 {
        split(seed, 1, 0..n_tgt, n, &weight, picked, &mut out).map_err(|count| {
            Error::param(
                "n",
                format!("projection {label}: {count} synapses from one neuron is more than lifsim stores (2^32 - 1)"),
            )
        })?;
    }
    Ok(out)
}

/// Node `node` of the tree, over targets `range`, holding `count` synapses:
/// splits them between its halves and recurses into those that meet
/// `picked`, pushing each picked leaf's count (depth <= 33 for 2^32 targets);
/// a count a leaf cannot hold is the error.
fn split(
    seed: u64,
    node: u64,
    range: Range<usize>,
    count: u64,
    weight: &dyn Fn(&Range<usize>) -> u128,
    picked: &[Range<usize>],
    out: &mut Vec<u32>,
) -> std::result::Result<(), u64> {
    if !meets(picked, &range) {
        return Ok(());
    }
    if range.len() == 1 {
        out.push(u32::try_from(count).map_err(|_| count)?);
        return Ok(());
    }
    let mid = range.start + range.len() / 2;
    let left = if count == 0 {
        0
    } else {
        let (wl, wt) = (weight(&(range.start..mid)), weight(&range));
        // wt > 0 wherever count > 0: a node without weight gets nothing.
        let mut rng = rng::stream(seed, Purpose::Split, node);
        rng::binomial(&mut rng, count, wl as f64 / wt as f64)
    };
    split(seed, 2 * node, range.start..mid, left, weight, picked, out)?;
    split(
        seed,
        2 * node + 1,
        mid..range.end,
        count - left,
        weight,
        picked,
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counts of every target, built whole.
    fn counts(
        seed: u64,
        n: u64,
        n_src: usize,
        n_tgt: usize,
        shared: &[Range<usize>],
        autapses: bool,
    ) -> Vec<u32> {
        total_number_counts(
            "E -> E",
            seed,
            n,
            n_src,
            n_tgt,
            shared,
            autapses,
            std::slice::from_ref(&(0..n_tgt)),
        )
        .unwrap()
    }

    #[test]
    fn counts_sum_to_n_and_every_cut_gives_the_same() {
        for (n, n_tgt) in [
            (0u64, 5usize),
            (1, 1),
            (7, 1),
            (1000, 37),
            (123_457, 1000),
            (5, 1000),
        ] {
            let whole = counts(9, n, 50, n_tgt, &[], true);
            assert_eq!(whole.len(), n_tgt);
            assert_eq!(whole.iter().map(|&c| c as u64).sum::<u64>(), n);
            for cut in [vec![0..n_tgt / 2, n_tgt / 2..n_tgt], vec![0..1, 1..n_tgt]] {
                let parts: Vec<u32> = cut
                    .iter()
                    .flat_map(|r| {
                        total_number_counts(
                            "E -> E",
                            9,
                            n,
                            50,
                            n_tgt,
                            &[],
                            true,
                            std::slice::from_ref(r),
                        )
                        .unwrap()
                    })
                    .collect();
                assert_eq!(parts, whole, "{n} onto {n_tgt}, {cut:?}");
            }
            // Runs picked together: the targets of both, in order.
            if n_tgt > 10 {
                let two = total_number_counts("E -> E", 9, n, 50, n_tgt, &[], true, &[2..4, 7..9])
                    .unwrap();
                assert_eq!(two, [&whole[2..4], &whole[7..9]].concat());
            }
        }
    }

    /// The counts are multinomial(n, 1/targets): the chi-square of 2,000
    /// targets' counts (expected 100 each) against the uniform, and the
    /// variance of a count, n p (1 - p), across 200 seeds.
    #[test]
    fn counts_are_multinomial() {
        let (n, n_tgt) = (200_000u64, 2000usize);
        let c = counts(3, n, 10, n_tgt, &[], true);
        let e = n as f64 / n_tgt as f64;
        let chi2: f64 = c.iter().map(|&x| (x as f64 - e).powi(2) / e).sum();
        let df = (n_tgt - 1) as f64;
        assert!((chi2 - df).abs() < 6.0 * (2.0 * df).sqrt(), "chi2 {chi2}");
        // Across seeds: target 5's count has the binomial's mean and variance.
        let (n, n_tgt, seeds) = (1000u64, 10usize, 4000);
        let x: Vec<f64> = (0..seeds)
            .map(|s| counts(s, n, 3, n_tgt, &[], true)[5] as f64)
            .collect();
        let mean = x.iter().sum::<f64>() / seeds as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (seeds - 1) as f64;
        assert!(
            (mean - 100.0).abs() < 5.0 * (90.0f64 / seeds as f64).sqrt(),
            "{mean}"
        );
        assert!((var / 90.0 - 1.0).abs() < 0.12, "{var}");
    }

    /// Without autapses, a target that is also a source weighs one source
    /// less: with 2 sources, targets 0..10 shared, 10..20 not, the shared
    /// ones get 1/3 of the synapses (weights 1 and 2).
    #[test]
    fn targets_without_autapses_weigh_one_source_less() {
        let c = counts(4, 300_000, 2, 20, std::slice::from_ref(&(0..10)), false);
        let shared: u64 = c[..10].iter().map(|&x| x as u64).sum();
        let p: f64 = 1.0 / 3.0;
        let se = (300_000.0 * p * (1.0 - p)).sqrt();
        assert!((shared as f64 - 100_000.0).abs() < 5.0 * se, "{shared}");
        // A lone source that is the target itself gets nothing.
        let c = counts(4, 1000, 1, 3, std::slice::from_ref(&(1..2)), false);
        assert_eq!(c[1], 0);
        assert_eq!(c[0] + c[2], 1000);
    }

    #[test]
    fn a_count_beyond_u32_is_an_error() {
        let one = std::slice::from_ref(&(0..1));
        let err = total_number_counts("A -> B", 1, 5_000_000_000, 10, 1, &[], true, one)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "invalid parameter n: projection A -> B: 5000000000 synapses from one neuron is more than lifsim stores (2^32 - 1)");
        // u32::MAX itself fits.
        let c = total_number_counts("A -> B", 1, u32::MAX as u64, 10, 1, &[], true, one).unwrap();
        assert_eq!(c, [u32::MAX]);
    }
}
