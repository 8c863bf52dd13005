//! Connection rules: which sources connect onto each target, drawn from a
//! seed, and matrices read from files.
//!
//! Every target neuron draws its synapses from its own streams
//! (`rng::stream(projection seed, Connectivity | Weights | Delays, target index)`),
//! so targets are built in parallel and the network is the same bits whatever
//! the thread count, and a neuron range can build the synapses onto its own
//! neurons alone ([`build_projection`]) and get exactly its share of the
//! whole network's. The synapses are then transposed into rows by source
//! ([`Csr`]).

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::io::npy::{Elem, NpyArray};
use crate::io::npz::NpzReader;
use crate::model::Real;
use crate::network::description::{NetworkDescription, Projection, Rule};
use crate::network::distribution::Value;
use crate::network::sparse::{check_synapse_memory, Csr, Incoming};
use crate::rng::{self, Normal, Purpose, Xoshiro256pp};

/// Targets per parallel work item.
const CHUNK: usize = 256;

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
    let runs = match &proj.rule {
        Rule::File { path, scale } => {
            let rows = read_matrix(path, tgt_ids.len(), src_ids.len(), &picked)?;
            vec![from_rows(desc, proj, seed, rows, &picked, *scale)]
        }
        _ => {
            check_projection_memory::<T>(desc, k, onto)?;
            let chunks: Vec<Range<usize>> = picked
                .iter()
                .flat_map(|r| {
                    r.clone()
                        .step_by(CHUNK)
                        .map(move |a| a..(a + CHUNK).min(r.end))
                })
                .collect();
            chunks
                .into_par_iter()
                .map(|chunk| generate(desc, proj, seed, &src_ids, &tgt_ids, chunk))
                .collect()
        }
    };
    // A file's weights are its own (kept whole where single precision
    // would round them); a rule's are the description's.
    let (weight, drawn) = match proj.rule {
        Rule::File { .. } => (None, false),
        _ => (weight, true),
    };
    Csr::from_incoming(src_ids.len(), &onto_ids, runs, weight, delay, drawn)
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
    if let Rule::File { .. } = proj.rule {
        return Ok(());
    }
    let n_src = desc.ranges(&proj.source)?.iter().map(|r| r.len()).sum();
    let n_tgt = target_indices(&desc.ranges(&proj.target)?, onto)
        .iter()
        .map(|r| r.len())
        .sum();
    check_synapse_memory::<T>(
        &format!("projection {}", proj.label()),
        expected_synapses(&proj.rule, n_src, n_tgt),
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

/// How many synapses a rule makes (its mean for fixed_probability).
fn expected_synapses(rule: &Rule, n_src: usize, n_tgt: usize) -> u64 {
    match *rule {
        Rule::AllToAll => n_src as u64 * n_tgt as u64,
        Rule::OneToOne => n_tgt as u64,
        Rule::FixedProbability { p } => (p * n_src as f64 * n_tgt as f64).ceil() as u64,
        Rule::FixedIndegree { indegree } => indegree as u64 * n_tgt as u64,
        Rule::File { .. } => 0,
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

/// The synapses onto targets `chunk` (indices into `tgt_ids`).
fn generate<T: Real>(
    desc: &NetworkDescription,
    proj: &Projection,
    seed: u64,
    src_ids: &[u32],
    tgt_ids: &[u32],
    chunk: Range<usize>,
) -> Incoming<T> {
    let mut run = Incoming::<T>::default();
    let n_src = src_ids.len();
    let mut seen = HashSet::new();
    for ti in chunk {
        let tgt = tgt_ids[ti];
        let before = run.sources.len();
        let mut rng = rng::stream(seed, Purpose::Connectivity, ti as u64);
        let autapse_ok = |s: usize| proj.allow_autapses || src_ids[s] != tgt;
        match proj.rule {
            Rule::AllToAll => run
                .sources
                .extend((0..n_src).filter(|&s| autapse_ok(s)).map(|s| s as u32)),
            Rule::OneToOne => {
                if autapse_ok(ti) {
                    run.sources.push(ti as u32)
                }
            }
            Rule::FixedProbability { p } => {
                if p >= 1.0 {
                    run.sources
                        .extend((0..n_src).filter(|&s| autapse_ok(s)).map(|s| s as u32));
                } else if p > 0.0 {
                    // Geometric gaps between successes of Bernoulli(p) trials:
                    // one draw per synapse instead of one per pair.
                    let ln_q = libm::log1p(-p);
                    let mut s: i64 = -1;
                    loop {
                        let u = 1.0 - rng.uniform(); // (0, 1]
                                                     // >= 0, so truncation is the floor.
                        let gap = libm::log(u) / ln_q;
                        if gap >= (n_src as i64 - s) as f64 {
                            break;
                        }
                        s += gap as i64 + 1;
                        if s >= n_src as i64 {
                            break;
                        }
                        if autapse_ok(s as usize) {
                            run.sources.push(s as u32);
                        }
                    }
                }
            }
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
            Rule::File { .. } => unreachable!("file projections are read, not drawn"),
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

/// Some rows of a matrix `W[target, source]`: their non-zero entries, row
/// after row.
struct Rows {
    counts: Vec<u32>,
    sources: Vec<u32>,
    weights: Vec<f64>,
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

/// Reads `W[target, source]` from a dense `.npy` or a scipy.sparse `.npz`,
/// checks all of it, and keeps the rows of targets `picked` (indices,
/// ascending). Errors name entries by their place in the whole matrix, so
/// every range that reads a bad file reports it alike.
fn read_matrix(path: &Path, n_tgt: usize, n_src: usize, picked: &[Range<usize>]) -> Result<Rows> {
    let is_npz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"));
    if is_npz {
        read_sparse(path, n_tgt, n_src, picked)
    } else {
        read_dense(path, n_tgt, n_src, picked)
    }
}

/// The error for the `k`-th non-zero weight (in target-major order) of the file.
fn not_finite(path: &Path, k: usize, w: f64) -> Error {
    Error::file(path, format!("weight {k} is {w}; weights must be finite"))
}

fn check_shape(path: &Path, shape: &[usize], n_tgt: usize, n_src: usize) -> Result<()> {
    if shape != [n_tgt, n_src] {
        return Err(Error::file(
            path,
            format!(
                "W must have shape ({n_tgt}, {n_src}) (targets x sources) for this projection, got {}",
                crate::io::npy::shape_str(shape)
            ),
        ));
    }
    Ok(())
}

fn read_dense(path: &Path, n_tgt: usize, n_src: usize, picked: &[Range<usize>]) -> Result<Rows> {
    let array = NpyArray::open(path)?;
    let h = array.header().clone();
    check_shape(path, &h.shape, n_tgt, n_src)?;
    if !matches!(h.elem, Elem::F64 | Elem::F32) {
        return Err(Error::file(
            path,
            format!(
                "W has dtype {}; weights must be float32 or float64",
                h.elem.name()
            ),
        ));
    }
    // Read in place where the file's bytes are native floats: every range
    // of a run reads the file, and a copy each would multiply the matrix.
    let shape = (n_tgt, n_src, h.fortran_order);
    match (array.as_f64_slice(), array.as_f32_slice()) {
        (Some(v), _) => scan_dense(path, v, shape, picked),
        (_, Some(v)) => scan_dense(path, v, shape, picked),
        _ => scan_dense(path, &array.to_f64_vec(), shape, picked),
    }
}

/// The non-zero entries of the rows `picked` of the dense matrix `values`
/// (`(targets, sources, Fortran order)`), every entry checked finite.
fn scan_dense<V: Copy + Into<f64>>(
    path: &Path,
    values: &[V],
    (n_tgt, n_src, fortran): (usize, usize, bool),
    picked: &[Range<usize>],
) -> Result<Rows> {
    let at = |i: usize, j: usize| -> f64 {
        if fortran {
            values[j * n_tgt + i].into()
        } else {
            values[i * n_src + j].into()
        }
    };
    let mut rows = Rows {
        counts: Vec::new(),
        sources: Vec::new(),
        weights: Vec::new(),
    };
    let mut picked = picked.iter().peekable();
    // Non-zero entries of the whole matrix so far (for error messages).
    let mut k = 0usize;
    for i in 0..n_tgt {
        while picked.next_if(|r| r.end <= i).is_some() {}
        let keep = picked.peek().is_some_and(|r| r.contains(&i));
        let before = rows.sources.len();
        for j in 0..n_src {
            let w = at(i, j);
            if w != 0.0 {
                if !w.is_finite() {
                    return Err(not_finite(path, k, w));
                }
                k += 1;
                if keep {
                    rows.sources.push(j as u32);
                    rows.weights.push(w);
                }
            }
        }
        if keep {
            rows.counts.push((rows.sources.len() - before) as u32);
        }
    }
    Ok(rows)
}

fn read_sparse(path: &Path, n_tgt: usize, n_src: usize, picked: &[Range<usize>]) -> Result<Rows> {
    let mut npz = NpzReader::open(path)?;
    let format_bytes = npz.member_bytes("format").map_err(|_| {
        Error::file(
            path,
            "has no 'format' array: save the matrix with scipy.sparse.save_npz",
        )
    })?;
    let format = ["csr", "csc", "coo"]
        .into_iter()
        .find(|f| format_bytes.ends_with(f.as_bytes()))
        .ok_or_else(|| {
            Error::file(
                path,
                "unsupported sparse format; convert the matrix with .tocsr() before save_npz",
            )
        })?;
    let shape: Vec<usize> = npz
        .array("shape")?
        .to_u64_vec()?
        .into_iter()
        .map(|x| x as usize)
        .collect();
    check_shape(path, &shape, n_tgt, n_src)?;
    let data = npz.array("data")?;
    if !matches!(data.header().elem, Elem::F64 | Elem::F32) {
        return Err(Error::file(
            path,
            format!(
                "data has dtype {}; weights must be float32 or float64",
                data.header().elem.name()
            ),
        ));
    }
    let data = data.to_f64_vec();
    let bad_index = |what: &str, v: u64, limit: usize| {
        Error::file(
            path,
            format!("{what} {v} is out of range for shape ({n_tgt}, {n_src}) (limit {limit})"),
        )
    };
    // (target, source) of each entry, in file order.
    let (tgt_of, src_of): (Vec<u64>, Vec<u64>) = match format {
        "coo" => (
            npz.array("row")?.to_u64_vec()?,
            npz.array("col")?.to_u64_vec()?,
        ),
        _ => {
            let indptr = npz.array("indptr")?.to_u64_vec()?;
            let indices = npz.array("indices")?.to_u64_vec()?;
            let major = if format == "csr" { n_tgt } else { n_src };
            if indptr.len() != major + 1
                || indptr.windows(2).any(|w| w[0] > w[1])
                || indptr.last().copied() != Some(indices.len() as u64)
            {
                return Err(Error::file(path, "indptr is not a valid compressed index"));
            }
            let mut outer = Vec::with_capacity(indices.len());
            for m in 0..major {
                outer.extend(std::iter::repeat_n(
                    m as u64,
                    (indptr[m + 1] - indptr[m]) as usize,
                ));
            }
            if format == "csr" {
                (outer, indices)
            } else {
                (indices, outer)
            }
        }
    };
    if tgt_of.len() != data.len() || src_of.len() != data.len() {
        return Err(Error::file(
            path,
            "the index arrays and data have different lengths",
        ));
    }
    if let Some(&t) = tgt_of.iter().find(|&&t| t as usize >= n_tgt) {
        return Err(bad_index("row (target)", t, n_tgt));
    }
    if let Some(&s) = src_of.iter().find(|&&s| s as usize >= n_src) {
        return Err(bad_index("column (source)", s, n_src));
    }
    // A stable counting sort by target keeps each row's entries in file order.
    let mut counts = vec![0u32; n_tgt];
    for &t in &tgt_of {
        counts[t as usize] += 1;
    }
    let mut start = vec![0usize; n_tgt + 1];
    for t in 0..n_tgt {
        start[t + 1] = start[t] + counts[t] as usize;
    }
    let mut sources = vec![0u32; data.len()];
    let mut weights = vec![0.0; data.len()];
    for ((&t, &s), &w) in tgt_of.iter().zip(&src_of).zip(&data) {
        let at = &mut start[t as usize];
        sources[*at] = s as u32;
        weights[*at] = w;
        *at += 1;
    }
    if let Some(k) = weights.iter().position(|w| !w.is_finite()) {
        return Err(not_finite(path, k, weights[k]));
    }
    // Keep the rows of `picked`: `start[t]` is now where row `t + 1` begins.
    let begin = |t: usize| if t == 0 { 0 } else { start[t - 1] };
    let mut rows = Rows {
        counts: Vec::new(),
        sources: Vec::new(),
        weights: Vec::new(),
    };
    for r in picked {
        rows.counts.extend_from_slice(&counts[r.clone()]);
        let span = begin(r.start)..begin(r.end);
        rows.sources.extend_from_slice(&sources[span.clone()]);
        rows.weights.extend_from_slice(&weights[span]);
    }
    Ok(rows)
}
