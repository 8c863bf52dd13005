//! Source-keyed generation: every synapse of a projection drawn from
//! streams keyed by (projection, source), so that a source's outgoing
//! synapses can be drawn again, alone, whenever it fires (procedural
//! connectivity, GeNN's approach: `connectivity = "procedural"` stores no
//! synapse), and a stored build draws exactly the same ones (it keeps, of
//! each source's synapses, those onto its own neurons: `super::by_source`).
//!
//! Source `s` (its index among the projection's sources) draws from
//! `rng::stream(projection seed, Connectivity | Weights | Delays, s)`:
//!
//! - `all_to_all`: every target, in order; `one_to_one`: target `s`.
//! - `fixed_probability` (`pairwise_bernoulli`): Bernoulli(p) trials over
//!   the targets in order, by geometric gaps between successes (one draw
//!   per synapse).
//! - `fixed_outdegree`: `outdegree` targets drawn uniformly, drawn again
//!   for a forbidden autapse or (without multapses) a repeat.
//! - `fixed_total_number` (NEST's semantics: `n` pairs drawn uniformly
//!   with replacement): the number of synapses of each source is
//!   multinomial, drawn once for the projection by a binary tree of
//!   binomial splits over the sources (`rng::stream(seed, Split, node)`,
//!   `super::range_rules::total_number_counts`), each source weighing the
//!   targets it may reach; each source then draws its targets uniformly,
//!   again for a forbidden autapse. The counts do not depend on threads or
//!   on which neurons a partition holds.
//!
//! Each synapse then draws its weight and its delay, in the order the
//! targets were drawn. `fixed_indegree` (each target's sources) and file
//! projections cannot be drawn by source: they stay target-keyed and
//! stored (`super::connectivity`).

use std::collections::HashSet;
use std::ops::Range;

use crate::error::{Error, Result};
use crate::model::Real;
use crate::network::connectivity::{ids, projection_seed};
use crate::network::description::{NetworkDescription, Projection, Rule};
use crate::network::distribution::Value;
use crate::network::range_rules::total_number_counts;
use crate::rng::{self, Normal, Purpose};

/// How a projection's sources draw their targets.
#[derive(Clone, Debug)]
enum Draw {
    AllToAll,
    OneToOne,
    Probability {
        p: f64,
    },
    Outdegree {
        outdegree: usize,
    },
    /// The number of synapses of each source.
    Total {
        counts: Vec<u32>,
    },
}

/// A projection whose synapses are drawn by source: what it takes to draw
/// the outgoing synapses of any source again (a few bytes per neuron).
#[derive(Clone, Debug)]
pub struct SourceKeyed {
    label: String,
    seed: u64,
    draw: Draw,
    /// Global ids of the sources and the targets, in projection order.
    src_ids: Vec<u32>,
    tgt_ids: Vec<u32>,
    allow_autapses: bool,
    allow_multapses: bool,
    weight: Value,
    delay: Value,
    dt: f64,
    /// The delay in steps when it is the same for every synapse.
    delay_steps: Option<u16>,
    /// Shortest and longest delay (steps) a draw can give.
    delay_reach: (u16, u16),
}

/// Whether projection `proj`'s rule can be drawn by source.
pub fn is_source_keyed(rule: &Rule) -> bool {
    !matches!(
        rule,
        Rule::FixedIndegree { .. } | Rule::File { .. } | Rule::Given
    )
}

impl SourceKeyed {
    /// The generator of projection number `k` of `desc`; an error for a
    /// rule that cannot be drawn by source (the message names the
    /// projection).
    pub fn new(desc: &NetworkDescription, k: usize) -> Result<Self> {
        let proj = &desc.projections[k];
        let src_ranges = desc.ranges(&proj.source)?;
        let tgt_ranges = desc.ranges(&proj.target)?;
        let (src_ids, tgt_ids) = (ids(&src_ranges), ids(&tgt_ranges));
        let seed = projection_seed(desc.seed, k);
        let draw = match proj.rule {
            Rule::AllToAll => Draw::AllToAll,
            Rule::OneToOne => Draw::OneToOne,
            Rule::FixedProbability { p } => Draw::Probability { p },
            Rule::FixedOutdegree { outdegree } => Draw::Outdegree { outdegree },
            Rule::FixedTotalNumber { n } => Draw::Total {
                // The tree over the sources, each weighing the targets it
                // may reach (one fewer for a source that is also a
                // target, without autapses).
                counts: total_number_counts(
                    &proj.label(),
                    seed,
                    n,
                    tgt_ids.len(),
                    src_ids.len(),
                    &shared_sources(proj, &src_ranges),
                    proj.allow_autapses,
                    std::slice::from_ref(&(0..src_ids.len())),
                )?,
            },
            Rule::FixedIndegree { .. } | Rule::File { .. } | Rule::Given => {
                return Err(not_by_source(k, proj))
            }
        };
        let (lo, hi) = proj.delay.reach();
        let steps = |ms: f64| desc.delay_steps(ms).clamp(0, u16::MAX as i64) as u16;
        Ok(Self {
            label: proj.label(),
            seed,
            draw,
            src_ids,
            tgt_ids,
            allow_autapses: proj.allow_autapses,
            allow_multapses: proj.allow_multapses,
            weight: proj.weight.clone(),
            delay: proj.delay.clone(),
            dt: desc.dt,
            delay_steps: proj.delay.constant().map(steps),
            delay_reach: (steps(lo), steps(hi)),
        })
    }

    /// `"E -> E, I"`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Number of sources (rows).
    pub fn n_sources(&self) -> usize {
        self.src_ids.len()
    }

    /// The weight when it is the same for every synapse.
    pub fn constant_weight(&self) -> Option<f64> {
        self.weight.constant()
    }

    /// The delay in steps when it is the same for every synapse.
    pub fn constant_delay(&self) -> Option<u16> {
        self.delay_steps
    }

    /// The shortest and longest delay in steps that any synapse can have.
    pub fn delay_reach(&self) -> (u16, u16) {
        self.delay_reach
    }

    /// The weight a drawn value `w` has once stored as the engine stores
    /// it (single precision for drawn weights, `sparse::Weights::Single`),
    /// at precision `T`: what a stored and a procedural run both add.
    #[inline]
    pub fn stored_weight<T: Real>(&self, w: f64) -> T {
        match self.weight.constant() {
            Some(c) => T::from_f64(c),
            None => T::from_f64((T::from_f64(w).to_f64() as f32) as f64),
        }
    }

    /// The expected number of synapses of the whole projection.
    pub fn expected_synapses(&self) -> f64 {
        let (n_src, n_tgt) = (self.src_ids.len() as f64, self.tgt_ids.len() as f64);
        match &self.draw {
            Draw::AllToAll => n_src * n_tgt,
            Draw::OneToOne => n_src,
            Draw::Probability { p } => p * n_src * n_tgt,
            Draw::Outdegree { outdegree } => *outdegree as f64 * n_src,
            Draw::Total { counts } => counts.iter().map(|&c| c as f64).sum(),
        }
    }

    /// Calls `f(target id, weight, delay in steps)` for every synapse of
    /// source `s` (its index among the sources), in the order they are
    /// drawn; `seen` is scratch space (kept to spare an allocation). The
    /// weight is the drawn value (see [`Self::stored_weight`]).
    #[inline]
    pub fn each(&self, s: usize, seen: &mut HashSet<usize>, mut f: impl FnMut(u32, f64, u16)) {
        let mut rng = rng::stream(self.seed, Purpose::Connectivity, s as u64);
        let mut rng_w = rng::stream(self.seed, Purpose::Weights, s as u64);
        let mut rng_d = rng::stream(self.seed, Purpose::Delays, s as u64);
        let (mut normal_w, mut normal_d) = (Normal::new(), Normal::new());
        let constant_w = self.weight.constant();
        let mut emit = |t: usize| {
            let w = match constant_w {
                Some(w) => w,
                None => self.weight.sample(&mut rng_w, &mut normal_w),
            };
            let d = match self.delay_steps {
                Some(d) => d,
                None => {
                    let ms = self.delay.sample(&mut rng_d, &mut normal_d);
                    // Within u16: checked against the delay's reach when loaded.
                    (ms / self.dt).round() as u16
                }
            };
            f(self.tgt_ids[t], w, d);
        };
        let src = self.src_ids[s];
        let n_tgt = self.tgt_ids.len();
        let autapse_ok = |t: usize| self.allow_autapses || self.tgt_ids[t] != src;
        match &self.draw {
            Draw::AllToAll => (0..n_tgt).filter(|&t| autapse_ok(t)).for_each(emit),
            Draw::OneToOne => {
                if autapse_ok(s) {
                    emit(s)
                }
            }
            Draw::Probability { p } => {
                let p = *p;
                if p >= 1.0 {
                    (0..n_tgt).filter(|&t| autapse_ok(t)).for_each(emit);
                } else if p > 0.0 {
                    // Geometric gaps between successes of Bernoulli(p)
                    // trials: one draw per synapse instead of one per pair.
                    let ln_q = libm::log1p(-p);
                    let mut t: i64 = -1;
                    loop {
                        let u = 1.0 - rng.uniform(); // (0, 1]
                        let gap = libm::log(u) / ln_q; // >= 0: truncation floors
                        if gap >= (n_tgt as i64 - t) as f64 {
                            break;
                        }
                        t += gap as i64 + 1;
                        if t >= n_tgt as i64 {
                            break;
                        }
                        if autapse_ok(t as usize) {
                            emit(t as usize);
                        }
                    }
                }
            }
            Draw::Outdegree { outdegree } => {
                seen.clear();
                let mut made = 0;
                while made < *outdegree {
                    let t = rng.below(n_tgt as u64) as usize;
                    if !autapse_ok(t) || (!self.allow_multapses && !seen.insert(t)) {
                        continue;
                    }
                    made += 1;
                    emit(t);
                }
            }
            Draw::Total { counts } => {
                let mut made = 0;
                while made < counts[s] {
                    let t = rng.below(n_tgt as u64) as usize;
                    if autapse_ok(t) {
                        made += 1;
                        emit(t);
                    }
                }
            }
        }
    }
}

/// Refuses projection number `k` as procedural if its rule is not drawn by source.
pub fn check_rule(k: usize, proj: &Projection) -> Result<()> {
    if is_source_keyed(&proj.rule) {
        Ok(())
    } else {
        Err(not_by_source(k, proj))
    }
}

/// The error for a projection asked to be procedural whose rule is not
/// drawn by source.
fn not_by_source(k: usize, proj: &Projection) -> Error {
    let rule = match proj.rule {
        Rule::FixedIndegree { .. } => "rule \"fixed_indegree\" draws each target's sources",
        _ => "a file projection's synapses are read, not drawn",
    };
    Error::param(
        "connectivity",
        format!(
            "projection {} ({}): procedural connectivity draws a source's synapses again when it fires, and {rule}; use connectivity = \"stored\", or rule fixed_outdegree, fixed_total_number or pairwise_bernoulli",
            k + 1,
            proj.label()
        ),
    )
}

/// The runs of source indices that are also targets (whole populations).
fn shared_sources(proj: &Projection, src_ranges: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut offset = 0;
    for (name, r) in proj.source.iter().zip(src_ranges) {
        if proj.target.contains(name) {
            runs.push(offset..offset + r.len());
        }
        offset += r.len();
    }
    runs
}
