//! Where a rank's spikes go with [`super::Scheme::AllToAll`]: for each of
//! its own neurons, a bit per rank saying whether that rank holds synapses
//! from it (1 bit per own neuron and rank, NEST's target tables turned into
//! bits).
//!
//! Each rank knows, after building the synapses onto its own neurons (the
//! target-oriented build), which sources it needs: a bit per neuron of the
//! network. Rank `q` sends rank `r` the bits of `r`'s range (one
//! `Alltoallv` at setup), so that rank `r` holds, per rank, the bits of its
//! own neurons. Rank 0 asks for every neuron: it records the network's
//! spikes and writes the output file.

use std::ops::Range;

use super::{Exchange, Gathered};

/// Per rank, which of this rank's neurons it needs the spikes of.
#[derive(Clone, Debug)]
pub struct Routes {
    /// This rank's first neuron (global id).
    start: usize,
    /// Words of 32 bits per rank: this rank's neurons, rounded up.
    words: usize,
    /// The number of ranks.
    ranks: usize,
    /// `bits[q * words + i / 32] >> (i % 32) & 1`: whether rank `q` needs
    /// the spikes of this rank's `i`-th neuron.
    bits: Vec<u32>,
}

impl Routes {
    /// Tells every rank which of its neurons' spikes this rank needs, and
    /// learns the same of its own from every rank: `needed(j)` for each
    /// global neuron `j` says whether this rank holds synapses from it (on
    /// rank 0 it is ignored: rank 0 needs every spike). `ranges` are all
    /// ranks' neuron ranges, in rank order. Collective.
    pub fn build(
        x: &dyn Exchange,
        ranges: &[Range<usize>],
        needed: impl Fn(usize) -> bool,
    ) -> Self {
        let me = x.rank();
        let mut send = Vec::new();
        let mut counts = Vec::with_capacity(ranges.len());
        for r in ranges {
            let words = r.len().div_ceil(32);
            let at = send.len();
            send.resize(at + words, 0u32);
            for (i, j) in r.clone().enumerate() {
                if me == 0 || needed(j) {
                    send[at + i / 32] |= 1 << (i % 32);
                }
            }
            counts.push(words as u32);
        }
        let mut got = Gathered::default();
        x.all_to_all(&send, &counts, &mut got);
        let own = &ranges[me];
        Self {
            start: own.start,
            words: own.len().div_ceil(32),
            ranks: ranges.len(),
            bits: got.ids,
        }
    }

    /// Whether rank `q` needs the spikes of global neuron `j` (one of this
    /// rank's).
    #[inline]
    fn wants(&self, q: usize, j: u32) -> bool {
        let i = j as usize - self.start;
        self.bits[q * self.words + i / 32] >> (i % 32) & 1 == 1
    }

    /// The ranks these routes know of.
    pub fn ranks(&self) -> usize {
        self.ranks
    }

    /// From this rank's spikes of an interval (`ids`, `counts` per step),
    /// each rank's share: `out` holds rank 0's ids of each step, then rank
    /// 1's, ..., and `out_counts[q * steps + k]` how many rank `q` gets of
    /// step `k` (each step's ids stay in order, so sorted).
    pub fn select(
        &self,
        ids: &[u32],
        counts: &[u32],
        out: &mut Vec<u32>,
        out_counts: &mut Vec<u32>,
    ) {
        out.clear();
        out_counts.clear();
        for q in 0..self.ranks {
            let mut at = 0;
            for &c in counts {
                let before = out.len();
                let step = &ids[at..at + c as usize];
                out.extend(step.iter().copied().filter(|&j| self.wants(q, j)));
                out_counts.push((out.len() - before) as u32);
                at += c as usize;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{on_ranks, InProcess, Scheme};
    use super::*;

    /// Three ranks of 64, 64 and 40 neurons; rank r needs the neurons whose
    /// id is divisible by r + 2 (rank 0: all). What each rank receives of
    /// every rank's spikes is exactly the ones it needs, in order.
    #[test]
    fn each_rank_gets_the_spikes_it_needs_and_rank_0_all() {
        let ranges = [0..64, 64..128, 128..168];
        let group = InProcess::group_with(3, Scheme::AllToAll);
        let got = on_ranks(&group, |x| {
            let me = x.rank();
            let routes = Routes::build(x, &ranges, |j| j % (me + 2) == 0);
            // Every own neuron fires at step 0, odd ones at step 1.
            let own = ranges[me].clone();
            let mut ids: Vec<u32> = own.clone().map(|j| j as u32).collect();
            let odd: Vec<u32> = own.filter(|j| j % 2 == 1).map(|j| j as u32).collect();
            let counts = [ids.len() as u32, odd.len() as u32];
            ids.extend(odd);
            let (mut sel, mut sel_counts) = (Vec::new(), Vec::new());
            routes.select(&ids, &counts, &mut sel, &mut sel_counts);
            let mut g = Gathered::default();
            x.all_to_all(&sel, &sel_counts, &mut g);
            g.steps(2)
        });
        for (r, steps) in got.iter().enumerate() {
            let need = |j: &u32| r == 0 || (*j as usize).is_multiple_of(r + 2);
            let all: Vec<u32> = (0..168).filter(need).collect();
            let odd: Vec<u32> = (0..168).filter(|j| j % 2 == 1).filter(need).collect();
            assert_eq!(steps[0], all, "rank {r}, step 0");
            assert_eq!(steps[1], odd, "rank {r}, step 1");
        }
    }
}
