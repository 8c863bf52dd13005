//! Connection rules: which sources connect onto each target, drawn from a
//! seed, and matrices read from files.
//!
//! Every rule but `fixed_indegree` draws by source (`super::source_keyed`:
//! each source's synapses from its own streams, so that a procedural run
//! can draw them again when it fires), and a range keeps those onto its own
//! neurons (`super::by_source`). `fixed_indegree` draws by target: every
//! target neuron draws its synapses from its own streams
//! (`rng::stream(projection seed, Connectivity | Weights | Delays, target index)`),
//! so targets are built in parallel and the network is the same bits whatever
//! the thread count, and a neuron range can build the synapses onto its own
//! neurons alone ([`build_projection`]) and get exactly its share of the
//! whole network's. Its synapses are then transposed into rows by source: held while the rows
//! are filled where they take little memory ([`Csr::from_incoming`]), else
//! drawn a batch of targets at a time, once to count each row and again to
//! fill it, so the rows are the only memory the size of the synapses
//! ([`Csr::from_replay`]).

use std::collections::HashSet;
use std::ops::Range;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::Real;
use crate::network::by_source;
use crate::network::description::{NetworkDescription, Projection, Rule};
use crate::network::distribution::Value;
use crate::network::matrix::{read_matrix, Rows};
use crate::network::source_keyed::{is_source_keyed, SourceKeyed};
use crate::network::sparse::{check_synapse_memory, Csr, Incoming};
use crate::rng::{self, Normal, Purpose, Xoshiro256pp};

/// Targets per parallel work item.
const CHUNK: usize = 256;

/// Chunks per thread drawn at once while rows are built (16 chunks of 256
/// targets with 1,000 synapses each: 16 MB of runs per thread).
const BATCH_PER_THREAD: usize = 16;

/// A projection's share whose drawn synapses take at most this fraction of
/// the available memory is drawn once and held while its rows are filled;
/// a larger one is drawn again for each pass (`Csr::from_replay`). The
/// synapses are the same either way.
const HOLD_FRACTION: u64 = 16;

/// The global neuron ids of concatenated ranges.
pub fn ids(ranges: &[Range<usize>]) -> Vec<u32> {
    ranges
        .iter()
        .flat_map(|r| r.clone().map(|i| i as u32))
        .collect()
}

/// The seed of projection number `k` (streams of different projections never meet).
pub fn projection_seed(seed: u64, k: usize) -> u64 {
    rng::mix64(seed ^ rng::mix64(0x5052_4f4a_0000_0000 | k as u64))
}

/// The synapses of projection number `k` of `desc` onto the neurons `onto`
/// (global ids; any range, the projection's targets outside it are left
/// out): rows by source, one row for each of the projection's sources,
/// holding the global ids of their targets in `onto` by delay, then
/// ascending (see [`Csr`]). Each target
/// draws from its own streams, so a range gets exactly the synapses a build
/// of the whole network puts onto its neurons, bit for bit, and ranges that
/// cover the network give it all. A file projection reads (and checks) the
/// whole file and keeps the range's rows.
pub fn build_projection<T: Real>(
    desc: &NetworkDescription,
    k: usize,
    onto: &Range<usize>,
) -> Result<Csr<T>> {
    let proj = &desc.projections[k];
    let src_ids = ids(&desc.ranges(&proj.source)?);
    let tgt_ranges = desc.ranges(&proj.target)?;
    let tgt_ids = ids(&tgt_ranges);
    let picked = target_indices(&tgt_ranges, onto);
    let onto_ids: Vec<u32> = picked
        .iter()
        .flat_map(|r| tgt_ids[r.clone()].iter().copied())
        .collect();
    let seed = projection_seed(desc.seed, k);
    let weight = proj.weight.constant().map(T::from_f64);
    let delay = proj.delay.constant().map(|d| desc.delay_steps(d) as u16);
    let n_src = src_ids.len();
    match &proj.rule {
        Rule::File { path, scale } => {
            // A file's weights are its own (kept whole where single precision
            // would round them); a rule's are the description's.
            let rows = read_matrix(path, tgt_ids.len(), src_ids.len(), &picked)?;
            let run = from_rows(desc, proj, seed, rows, &picked, *scale);
            return Csr::from_incoming(n_src, &onto_ids, vec![run], None, delay, false);
        }
        Rule::Given => {
            return Err(Error::param(
                "rule",
                format!(
                    "projection {} has weights held in memory, read as dense columns by a run; it has no stored synapses",
                    proj.label()
                ),
            ))
        }
        rule if is_source_keyed(rule) => {
            check_projection_memory::<T>(desc, k, onto)?;
            let gen = SourceKeyed::new(desc, k)?;
            let share = expected_synapses(rule, n_src, tgt_ids.len(), onto_ids.len());
            return by_source::build(&gen, onto, share);
        }
        _ => check_projection_memory::<T>(desc, k, onto)?,
    }
    // Chunks of targets.
    let mut chunks: Vec<Range<usize>> = Vec::new();
    for r in &picked {
        for a in r.clone().step_by(CHUNK) {
            chunks.push(a..(a + CHUNK).min(r.end));
        }
    }
    let ctx = Context {
        desc,
        proj,
        seed,
        src_ids: &src_ids,
        tgt_ids: &tgt_ids,
    };
    // Few enough synapses to hold (PD14's largest share of a projection,
    // 1.2e7 synapses, takes 170 MB as runs): drawn once, in parallel, and
    // held while the rows are filled, since drawing them again costs more
    // than the memory saves (PD14's setup took 2.6 times the CPU).
    let share = expected_synapses(&proj.rule, n_src, tgt_ids.len(), onto_ids.len());
    let run_bytes =
        4 + if weight.is_none() {
            std::mem::size_of::<T>() as u64
        } else {
            0
        } + if delay.is_none() { 2 } else { 0 };
    if share.saturating_mul(run_bytes) <= crate::resources::available_bytes() / HOLD_FRACTION {
        let runs: Vec<Incoming<T>> = chunks
            .par_iter()
            .map(|chunk| generate(&ctx, chunk.clone()))
            .collect();
        return Csr::from_incoming(n_src, &onto_ids, runs, weight, delay, true);
    }
    // Otherwise (the `scale` workload's 5e8 synapses per thread) the runs
    // are drawn a batch of chunks at a time, in parallel, and
    // handed over in target order: each pass of the build draws them again
    // (from the same streams, so the same synapses), and no more than two
    // batches are held at once (`Csr::from_replay`).
    let batch = BATCH_PER_THREAD * rayon::current_num_threads();
    // The next batch is drawn while `f` takes in the last one.
    let draw = |group: &[Range<usize>]| -> Vec<Incoming<T>> {
        group
            .par_iter()
            .map(|chunk| generate(&ctx, chunk.clone()))
            .collect()
    };
    let replay = |f: &mut (dyn FnMut(&Incoming<T>) + Send)| {
        let mut groups = chunks.chunks(batch);
        let mut runs = groups.next().map(draw);
        while let Some(done) = runs {
            let next = groups.next();
            runs = rayon::join(|| done.iter().for_each(&mut *f), || next.map(draw)).1;
        }
        Ok(())
    };
    Csr::from_replay(n_src, &onto_ids, &replay, weight, delay, true)
}

/// Refuses, before they are drawn, the synapses of projection `k` onto the
/// neurons `onto` if they would not fit in memory (nothing for a file
/// projection: its size is the file's).
pub fn check_projection_memory<T: Real>(
    desc: &NetworkDescription,
    k: usize,
    onto: &Range<usize>,
) -> Result<()> {
    let proj = &desc.projections[k];
    if let Rule::File { .. } | Rule::Given = proj.rule {
        return Ok(());
    }
    let n_src = desc.ranges(&proj.source)?.iter().map(|r| r.len()).sum();
    let tgt_ranges = desc.ranges(&proj.target)?;
    let n_all = tgt_ranges.iter().map(|r| r.len()).sum();
    let n_tgt = target_indices(&tgt_ranges, onto)
        .iter()
        .map(|r| r.len())
        .sum();
    check_synapse_memory::<T>(
        &format!("projection {}", proj.label()),
        expected_synapses(&proj.rule, n_src, n_all, n_tgt),
        proj.weight.constant().is_none() || proj.delay.constant().is_none(),
    )
}

/// The indices into a projection's targets (the concatenation of
/// `tgt_ranges`, the key of each target's streams) of the targets whose
/// neurons lie in `onto`, as runs of consecutive indices, ascending.
fn target_indices(tgt_ranges: &[Range<usize>], onto: &Range<usize>) -> Vec<Range<usize>> {
    let mut picked = Vec::new();
    let mut offset = 0;
    for r in tgt_ranges {
        let (lo, hi) = (r.start.max(onto.start), r.end.min(onto.end));
        if lo < hi {
            picked.push(offset + lo - r.start..offset + hi - r.start);
        }
        offset += r.len();
    }
    picked
}

/// How many synapses a rule makes onto `n_tgt` of its `n_all` targets
/// (its mean for fixed_probability; the targets' share of the whole for
/// fixed_total_number and fixed_outdegree), saturating.
fn expected_synapses(rule: &Rule, n_src: usize, n_all: usize, n_tgt: usize) -> u64 {
    let (n_src, n_tgt) = (n_src as u64, n_tgt as u64);
    let share = |total: u64| -> u64 {
        let part = total as u128 * n_tgt as u128;
        u64::try_from(part.div_ceil(n_all.max(1) as u128)).unwrap_or(u64::MAX)
    };
    match *rule {
        Rule::AllToAll => n_src.saturating_mul(n_tgt),
        Rule::OneToOne => n_tgt,
        Rule::FixedProbability { p } => (p * n_src as f64 * n_tgt as f64).ceil() as u64,
        Rule::FixedIndegree { indegree } => (indegree as u64).saturating_mul(n_tgt),
        Rule::FixedOutdegree { outdegree } => share((outdegree as u64).saturating_mul(n_src)),
        Rule::FixedTotalNumber { n } => share(n),
        Rule::File { .. } => 0,
        Rule::Given => n_src.saturating_mul(n_tgt),
    }
}

/// Per-target draws of weights and delays.
struct Draws<'a> {
    desc: &'a NetworkDescription,
    weight: &'a Value,
    delay: &'a Value,
    rng_w: Xoshiro256pp,
    rng_d: Xoshiro256pp,
    normal_w: Normal,
    normal_d: Normal,
}

impl<'a> Draws<'a> {
    fn new(desc: &'a NetworkDescription, proj: &'a Projection, seed: u64, ti: usize) -> Self {
        Self {
            desc,
            weight: &proj.weight,
            delay: &proj.delay,
            rng_w: rng::stream(seed, Purpose::Weights, ti as u64),
            rng_d: rng::stream(seed, Purpose::Delays, ti as u64),
            normal_w: Normal::new(),
            normal_d: Normal::new(),
        }
    }

    fn push<T: Real>(&mut self, run: &mut Incoming<T>, file_weight: Option<f64>) {
        match file_weight {
            Some(w) => run.weights.push(T::from_f64(w)),
            None if self.weight.constant().is_none() => run.weights.push(T::from_f64(
                self.weight.sample(&mut self.rng_w, &mut self.normal_w),
            )),
            None => {}
        }
        if self.delay.constant().is_none() {
            let ms = self.delay.sample(&mut self.rng_d, &mut self.normal_d);
            // Bounds were checked against the minimum and u16 when loaded.
            run.delays.push(self.desc.delay_steps(ms) as u16);
        }
    }
}

/// What every chunk of a projection's targets shares.
struct Context<'a> {
    desc: &'a NetworkDescription,
    proj: &'a Projection,
    seed: u64,
    src_ids: &'a [u32],
    tgt_ids: &'a [u32],
}

/// The synapses onto targets `chunk` (indices into `tgt_ids`) of a rule
/// drawn by target (`fixed_indegree`).
fn generate<T: Real>(ctx: &Context, chunk: Range<usize>) -> Incoming<T> {
    let Context {
        desc,
        proj,
        seed,
        src_ids,
        tgt_ids,
    } = *ctx;
    let mut run = Incoming::<T>::default();
    let n_src = src_ids.len();
    let mut seen = HashSet::new();
    for ti in chunk {
        let tgt = tgt_ids[ti];
        let before = run.sources.len();
        let mut rng = rng::stream(seed, Purpose::Connectivity, ti as u64);
        let autapse_ok = |s: usize| proj.allow_autapses || src_ids[s] != tgt;
        match proj.rule {
            Rule::FixedIndegree { indegree } => {
                seen.clear();
                let mut made = 0;
                while made < indegree {
                    let s = rng.below(n_src as u64) as usize;
                    if !autapse_ok(s) || (!proj.allow_multapses && !seen.insert(s)) {
                        continue;
                    }
                    run.sources.push(s as u32);
                    made += 1;
                }
            }
            _ => unreachable!("only fixed_indegree is drawn by target"),
        }
        let count = run.sources.len() - before;
        run.counts.push(count as u32);
        let mut draws = Draws::new(desc, proj, seed, ti);
        for _ in 0..count {
            draws.push(&mut run, None);
        }
    }
    run
}

/// The synapses of `rows`, the rows of targets `picked` (indices into the
/// projection's targets, ascending): weights from the file, delays drawn
/// from each target's own stream.
fn from_rows<T: Real>(
    desc: &NetworkDescription,
    proj: &Projection,
    seed: u64,
    rows: Rows,
    picked: &[Range<usize>],
    scale: f64,
) -> Incoming<T> {
    let mut run = Incoming::<T> {
        counts: rows.counts,
        sources: rows.sources,
        ..Default::default()
    };
    let mut k = 0;
    let tis = picked.iter().flat_map(|r| r.clone());
    for (row, ti) in tis.enumerate() {
        let mut draws = Draws::new(desc, proj, seed, ti);
        for _ in 0..run.counts[row] {
            draws.push(&mut run, Some(rows.weights[k] * scale));
            k += 1;
        }
    }
    run
}
