//! With [`Scheme::AllToAll`](crate::engine::exchange::Scheme): which
//! neurons' spikes this rank needs (the sources of the synapses its
//! partitions hold), told to the ranks that own them ([`Routes::build`]).

use std::ops::Range;

use super::part::Part;
use crate::engine::exchange::{Exchange, Routes};
use crate::model::Real;

/// The routes of this rank's spikes, from the synapses of `parts` (this
/// rank's partitions) onto its neurons; `ranges` are every rank's neurons
/// of a network of `n`. A sparse projection needs the sources whose row on
/// this rank is not empty; a procedural or dense one (whose rows are drawn
/// again, or are columns of every source) every source. Collective.
pub(super) fn routes<T: Real>(
    parts: &[Part<T>],
    n: usize,
    x: &dyn Exchange,
    ranges: &[Range<usize>],
) -> Routes {
    let mut needed = vec![0u64; n.div_ceil(64)];
    let mut set = |j: usize| needed[j / 64] |= 1 << (j % 64);
    for proj in parts.iter().flat_map(|p| &p.connections) {
        let every = proj.procedural.is_some() || proj.dense.is_some();
        let mut row = 0;
        for r in &proj.sources {
            for j in r.clone() {
                if every || !proj.csr.row(row).is_empty() {
                    set(j);
                }
                row += 1;
            }
        }
    }
    Routes::build(x, ranges, |j| needed[j / 64] >> (j % 64) & 1 == 1)
}
