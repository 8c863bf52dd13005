//! Matrices `W[target, source]` read from files for `rule = "from_file"`:
//! a dense `.npy` (C or Fortran order, float32 or float64) or a scipy.sparse
//! `.npz` (csr, csc or coo), checked whole, the rows of a range of targets kept.

use std::ops::Range;
use std::path::Path;

use crate::error::{Error, Result};
use crate::io::npy::{Elem, NpyArray};
use crate::io::npz::NpzReader;

/// Some rows of a matrix `W[target, source]`: their non-zero entries, row
/// after row.
pub(super) struct Rows {
    pub(super) counts: Vec<u32>,
    pub(super) sources: Vec<u32>,
    pub(super) weights: Vec<f64>,
}

/// Reads `W[target, source]` from a dense `.npy` or a scipy.sparse `.npz`,
/// checks all of it, and keeps the rows of targets `picked` (indices,
/// ascending). Errors name entries by their place in the whole matrix, so
/// every range that reads a bad file reports it alike.
pub(super) fn read_matrix(
    path: &Path,
    n_tgt: usize,
    n_src: usize,
    picked: &[Range<usize>],
) -> Result<Rows> {
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
