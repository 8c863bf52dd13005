//! Dense weight matrices, stored column-major (outgoing weights contiguous).

use std::path::Path;

use crate::engine::kernel::{self, Isa};
use crate::error::{Error, Result};
use crate::io::npy::{shape_str, Elem, Header, NpyArray};
use crate::model::Real;
use crate::resources;

/// A borrowed dense N x N weight matrix in column-major order: element
/// `j * n + i` is `W[i, j]`, the weight from `j` onto `i`.
#[derive(Clone, Copy, Debug)]
pub struct DenseView<'a, T> {
    n: usize,
    data: &'a [T],
}

impl<'a, T: Real> DenseView<'a, T> {
    /// A view of `data` (length `n * n`, column-major); checks shape and that
    /// every weight is finite.
    pub fn new(n: usize, data: &'a [T]) -> Result<Self> {
        if n == 0 {
            return Err(Error::array("W", "the network has no neurons (W is 0 x 0)"));
        }
        if n.checked_mul(n) != Some(data.len()) {
            return Err(Error::array(
                "W",
                format!("{} values cannot form an {n} x {n} matrix", data.len()),
            ));
        }
        let bad = first_non_finite(data);
        if let Some(k) = bad {
            let (i, j) = (k % n, k / n);
            return Err(Error::array(
                "W",
                format!("W[{i}, {j}] is {:?}; weights must be finite", data[k]),
            ));
        }
        Ok(Self { n, data })
    }

    /// Number of neurons.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The outgoing weights of neuron `j` onto neurons `rows`.
    #[inline]
    pub fn column(&self, j: usize, rows: std::ops::Range<usize>) -> &'a [T] {
        let start = j * self.n;
        &self.data[start + rows.start..start + rows.end]
    }

    /// All weights, column-major.
    pub fn as_slice(&self) -> &'a [T] {
        self.data
    }
}

/// Elements per chunk of the finite check: branch-free within a chunk so it
/// vectorises; the exact position is looked for only in a bad chunk.
const FINITE_CHUNK: usize = 4096;

/// The index of the first NaN or infinity in `data`, if any.
fn first_non_finite<T: Real>(data: &[T]) -> Option<usize> {
    let isa = Isa::detect();
    let bad_chunk = data.chunks(FINITE_CHUNK).position(|c| {
        let mut ok = true;
        kernel::all_finite(isa, c, &mut ok);
        !ok
    })?;
    let start = bad_chunk * FINITE_CHUNK;
    data[start..]
        .iter()
        .position(|w| !w.to_f64().is_finite())
        .map(|k| start + k)
}

/// Checks that an `.npy` header describes a usable N x N float matrix; returns N.
fn check_header(path: &Path, h: &Header) -> Result<usize> {
    let n = match h.shape.as_slice() {
        [a, b] if a == b => *a,
        [a, b] => {
            return Err(Error::file(
                path,
                format!("W must be square (N x N), got shape ({a}, {b})"),
            ))
        }
        s => {
            return Err(Error::file(
                path,
                format!(
                    "W must be a 2-D N x N matrix, got {}-D shape {}",
                    s.len(),
                    shape_str(s)
                ),
            ))
        }
    };
    if n == 0 {
        return Err(Error::file(path, "W is 0 x 0: the network has no neurons"));
    }
    if !matches!(h.elem, Elem::F64 | Elem::F32) {
        return Err(Error::file(
            path,
            format!(
                "W has dtype {}; weights must be float32 or float64 (convert with W.astype(numpy.float64))",
                h.elem.name()
            ),
        ));
    }
    Ok(n)
}

enum Storage<T> {
    Owned(Vec<T>),
    Mapped(NpyArray),
}

/// An owned dense weight matrix: in memory, or memory-mapped from an `.npy`
/// file when the file already holds the engine's layout and type.
pub struct DenseWeights<T> {
    n: usize,
    storage: Storage<T>,
}

impl<T: Real> DenseWeights<T> {
    /// Weights from a column-major vector of length `n * n`.
    pub fn from_column_major(n: usize, data: Vec<T>) -> Result<Self> {
        DenseView::new(n, &data)?;
        Ok(Self {
            n,
            storage: Storage::Owned(data),
        })
    }

    /// Loads `W` from an `.npy` file: float32 or float64, C or Fortran order.
    /// A Fortran-order file of the simulation's float type is memory-mapped,
    /// not copied.
    pub fn load(path: &Path) -> Result<Self> {
        let array = NpyArray::open(path)?;
        let n = check_header(path, array.header())?;
        let weights = Self::from_npy(n, array)?;
        if let Err(Error::Array { message, .. }) = DenseView::new(n, weights.as_slice()) {
            return Err(Error::file(path, message));
        }
        Ok(weights)
    }

    /// The number of neurons of the weight file `path`, from its header alone
    /// (no data is read); fails as [`DenseWeights::load`] would on a bad header.
    pub fn peek_n(path: &Path) -> Result<usize> {
        check_header(path, NpyArray::open(path)?.header())
    }

    fn from_npy(n: usize, array: NpyArray) -> Result<Self> {
        let fortran = array.header().fortran_order;
        let native = match T::DTYPE {
            crate::model::Dtype::Float64 => array.as_f64_slice().is_some(),
            crate::model::Dtype::Float32 => array.as_f32_slice().is_some(),
        };
        if fortran && native {
            return Ok(Self {
                n,
                storage: Storage::Mapped(array),
            });
        }
        let mut out: Vec<T> = resources::zeroed_vec(
            &format!("{}: W converted to the engine's layout", array.path().display()),
            n * n,
            "save W in Fortran order with the simulation's dtype so lifsim can map it without a copy",
        )?;
        if let Some(values) = array.as_f64_slice() {
            fill_column_major(n, values, fortran, &mut out);
        } else if let Some(values) = array.as_f32_slice() {
            fill_column_major(n, values, fortran, &mut out);
        } else {
            // Big-endian or unaligned data: decode once, then lay out.
            fill_column_major(n, &array.to_f64_vec(), fortran, &mut out);
        }
        Ok(Self {
            n,
            storage: Storage::Owned(out),
        })
    }

    /// Number of neurons.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The weights, column-major.
    pub fn as_slice(&self) -> &[T] {
        match &self.storage {
            Storage::Owned(v) => v,
            Storage::Mapped(a) => {
                let bytes = a.data();
                // SAFETY: `from_npy` maps only when the file holds aligned,
                // little-endian values of exactly type T (checked there).
                unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<T>(), self.n * self.n) }
            }
        }
    }

    /// Whether the weights are memory-mapped from their file (no copy).
    pub fn is_mapped(&self) -> bool {
        matches!(self.storage, Storage::Mapped(_))
    }

    /// A borrowed view for the engine.
    pub fn view(&self) -> DenseView<'_, T> {
        DenseView {
            n: self.n,
            data: self.as_slice(),
        }
    }
}

/// A square matrix handed to a simulation for its projections of
/// [`Rule::Given`](crate::network::description::Rule::Given) weights, read in
/// place: borrowed from the caller (a run), or shared with an owner that
/// keeps the simulation between calls (Python's `DenseSimulation`).
pub enum GivenMatrix<'w, T> {
    /// Borrowed for the simulation's life.
    Borrowed(DenseView<'w, T>),
    /// Shared.
    Shared(std::sync::Arc<DenseWeights<T>>),
}

impl<T: Real> GivenMatrix<'_, T> {
    /// The matrix, column-major.
    pub fn view(&self) -> DenseView<'_, T> {
        match self {
            GivenMatrix::Borrowed(v) => *v,
            GivenMatrix::Shared(w) => w.view(),
        }
    }
}

/// Writes `src` (row-major unless `fortran`) into `out` column-major, rounding
/// each value to `T`. The transpose goes in 64 x 64 blocks to stay in cache.
pub fn fill_column_major<T: Real, S: Copy + Into<f64>>(
    n: usize,
    src: &[S],
    fortran: bool,
    out: &mut [T],
) {
    if fortran {
        for (o, &s) in out.iter_mut().zip(src) {
            *o = T::from_f64(s.into());
        }
        return;
    }
    const B: usize = 64;
    for i0 in (0..n).step_by(B) {
        for j0 in (0..n).step_by(B) {
            for i in i0..(i0 + B).min(n) {
                for j in j0..(j0 + B).min(n) {
                    out[j * n + i] = T::from_f64(src[i * n + j].into());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::save_npy;

    fn save(
        dir: &Path,
        name: &str,
        values: &[f64],
        shape: &[usize],
        fortran: bool,
    ) -> std::path::PathBuf {
        let p = dir.join(name);
        save_npy(&p, values, shape, fortran).unwrap();
        p
    }

    #[test]
    fn c_and_fortran_order_give_the_same_matrix() {
        let dir = tempfile::tempdir().unwrap();
        // W = [[1, 2], [3, 4]]: column 0 (outgoing of neuron 0) is [1, 3].
        let c = save(dir.path(), "c.npy", &[1.0, 2.0, 3.0, 4.0], &[2, 2], false);
        let f = save(dir.path(), "f.npy", &[1.0, 3.0, 2.0, 4.0], &[2, 2], true);
        let wc = DenseWeights::<f64>::load(&c).unwrap();
        let wf = DenseWeights::<f64>::load(&f).unwrap();
        assert_eq!(wc.as_slice(), &[1.0, 3.0, 2.0, 4.0]);
        assert_eq!(wc.as_slice(), wf.as_slice());
        assert!(wf.is_mapped() && !wc.is_mapped());
        let w32 = DenseWeights::<f32>::load(&f).unwrap();
        assert_eq!(w32.as_slice(), &[1.0f32, 3.0, 2.0, 4.0]);
        assert_eq!(wc.view().column(1, 0..2), &[2.0, 4.0]);
    }

    #[test]
    fn transposes_large_blocks_correctly() {
        let n = 130;
        let src: Vec<f64> = (0..n * n).map(|k| k as f64).collect();
        let mut out = vec![0.0f64; n * n];
        fill_column_major(n, &src, false, &mut out);
        for i in 0..n {
            for j in 0..n {
                assert_eq!(out[j * n + i], src[i * n + j]);
            }
        }
    }

    #[test]
    fn bad_matrices_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, Vec<f64>, Vec<usize>, &str); 4] = [
            (
                "vec.npy",
                vec![1.0; 3],
                vec![3],
                "must be a 2-D N x N matrix, got 1-D shape (3,)",
            ),
            (
                "cube.npy",
                vec![1.0; 8],
                vec![2, 2, 2],
                "got 3-D shape (2, 2, 2)",
            ),
            (
                "rect.npy",
                vec![1.0; 6],
                vec![2, 3],
                "must be square (N x N), got shape (2, 3)",
            ),
            (
                "nan.npy",
                vec![1.0, f64::NAN, 0.0, 0.0],
                vec![2, 2],
                "W[0, 1] is NaN",
            ),
        ];
        for (name, values, shape, expected) in cases {
            let p = save(dir.path(), name, &values, &shape, false);
            let err = DenseWeights::<f64>::load(&p).err().unwrap().to_string();
            assert!(err.starts_with(&p.display().to_string()), "{err}");
            assert!(err.contains(expected), "{err}");
        }
    }
}
