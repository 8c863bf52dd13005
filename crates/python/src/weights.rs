//! `lifsim.Weights`: a weight matrix checked once and kept in the engine's
//! layout and float type, for many runs on the same network.
//!
//! `simulate(W)` with a NumPy array checks every weight on every call (the
//! array may have changed since the last one); on the seed's 8 MB matrix that
//! is a few per cent of a run. A `Weights` is immutable, so the check and any
//! layout conversion happen once, as `lifsim bench` does with its file.

use std::sync::Arc;

use lifsim_core::{resources, DenseWeights, Dtype};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::convert::{self, out, EngineFloat, WeightsArg};
use crate::errors;

/// The checked matrix in the float type of the runs it is for, shared
/// with the simulations built on it (`lifsim.DenseNetwork`).
pub enum Held {
    /// For float64 runs.
    F64(Arc<DenseWeights<f64>>),
    /// For float32 runs.
    F32(Arc<DenseWeights<f32>>),
}

/// A weight matrix checked once and held, immutable, in the layout and float
/// type lifsim simulates with, for many `simulate` calls on one network.
///
/// `simulate(W)` with a NumPy array checks that every weight is finite on
/// every call, since the array may have changed in between; passing a
/// Weights skips that (and any conversion of layout or dtype), as
/// `lifsim bench` does. The matrix is copied once: later changes to the
/// array do not reach it.
///
/// Parameters
/// ----------
/// W : array_like, shape (N, N)
///     Weights, float32 or float64, any memory layout; W[i, j] is the weight
///     from presynaptic j onto postsynaptic i.
/// dtype : "float64" or "float32"
///     The precision of the runs these weights are for: simulate's dtype,
///     float64 unless asked, as there. Weights held in the other dtype than a
///     run's are converted for every call.
///
/// Raises
/// ------
/// ValueError, TypeError
///     As simulate does for the same W.
///
/// Examples
/// --------
/// >>> W = lifsim.Weights(np.load("weights.npy"))
/// >>> runs = [lifsim.simulate(W, i_ext=i) for i in (0.0, 10.0, 20.0)]
/// >>> W32 = lifsim.Weights(W, dtype="float32")
/// >>> lifsim.simulate(W32, dtype="float32")
#[pyclass(module = "lifsim", name = "Weights", frozen)]
pub struct Weights {
    held: Held,
}

impl Weights {
    /// The checked matrix.
    pub fn held(&self) -> &Held {
        &self.held
    }

    /// The float type of the runs these weights are for.
    pub fn dtype(&self) -> Dtype {
        match self.held {
            Held::F64(_) => Dtype::Float64,
            Held::F32(_) => Dtype::Float32,
        }
    }

    /// Number of neurons.
    pub fn n(&self) -> usize {
        match &self.held {
            Held::F64(w) => w.n(),
            Held::F32(w) => w.n(),
        }
    }
}

/// One checked copy of `w` in `T`, made without the GIL.
pub fn checked_copy<T: EngineFloat>(
    py: Python<'_>,
    w: &WeightsArg<'_>,
) -> PyResult<DenseWeights<T>> {
    let n = w.n;
    let layout = w.layout::<T>();
    py.detach(|| {
        // `from_column_major` checks the weights, once, on the copy.
        let owned = match layout.column_major(n)? {
            std::borrow::Cow::Owned(v) => v,
            std::borrow::Cow::Borrowed(s) => {
                let mut v = resources::zeroed_vec(
                    &format!("a copy of W ({n} x {n})"),
                    s.len(),
                    "simulate the NumPy array directly (it is checked on every call, not copied)",
                )?;
                v.copy_from_slice(s);
                v
            }
        };
        DenseWeights::from_column_major(n, owned)
    })
    .map_err(errors::from_core)
}

#[pymethods]
impl Weights {
    #[new]
    #[pyo3(signature = (W, *, dtype = None), text_signature = "(W, *, dtype='float64')")]
    #[allow(non_snake_case)]
    fn new(
        py: Python<'_>,
        W: &Bound<'_, PyAny>,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let w = WeightsArg::extract(W)?;
        let dtype = convert::dtype(dtype)?;
        let held = match dtype {
            Dtype::Float64 => Held::F64(Arc::new(checked_copy(py, &w)?)),
            Dtype::Float32 => Held::F32(Arc::new(checked_copy(py, &w)?)),
        };
        Ok(Self { held })
    }

    /// Number of neurons N.
    #[getter(n)]
    fn py_n(&self) -> usize {
        self.n()
    }

    /// (N, N).
    #[getter]
    fn shape(&self) -> (usize, usize) {
        (self.n(), self.n())
    }

    /// The float type of the runs: "float64" or "float32".
    #[getter(dtype)]
    fn py_dtype(&self) -> &'static str {
        self.dtype().name()
    }

    /// A copy of the matrix as a Fortran-order NumPy array (`np.asarray(w)`).
    #[pyo3(signature = (dtype = None, copy = None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if copy == Some(false) {
            return Err(PyValueError::new_err(
                "lifsim.Weights keeps its matrix to itself: converting it to a NumPy array always copies",
            ));
        }
        let n = self.n();
        let array = match &self.held {
            Held::F64(w) => out::fortran_matrix(py, n, w.as_slice().to_vec())?.into_any(),
            Held::F32(w) => out::fortran_matrix(py, n, w.as_slice().to_vec())?.into_any(),
        };
        match dtype {
            Some(d) => array.call_method1("astype", (d,)),
            None => Ok(array),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "lifsim.Weights(n={}, dtype='{}')",
            self.n(),
            self.dtype().name()
        )
    }
}
