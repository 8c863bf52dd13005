//! Python arguments to lifsim's types: the weight matrix (borrowed from NumPy
//! where its layout allows), per-neuron arrays, and the string choices.
//!
//! Nothing here decides how the model behaves; values are handed to the core,
//! which validates them and words the errors (see `errors.rs`).

use std::borrow::Cow;

use lifsim_core::network::dense::fill_column_major;
use lifsim_core::resources;
use lifsim_core::{Dtype, ExternalCurrent, InitialVoltage, Real, RecordMode};
use numpy::ndarray::ArrayView2;
use numpy::{
    Element, PyArray2, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArray2,
    PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyString};

use crate::errors;

/// `numpy` itself, for the conversions NumPy does best (`asarray`, `dtype`).
fn numpy_module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    py.import("numpy")
}

/// The Python type name of `obj`, for error messages.
fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_string())
}

/// The float types a simulation runs in, with the one thing the binding
/// needs per type: whether a NumPy array can be used as the engine's weights
/// as it is.
pub trait EngineFloat: Real + Element {
    /// The weights as the engine's column-major slice, if `w` holds them in
    /// Fortran order with exactly this type (no copy then).
    fn as_column_major<'a>(w: &'a WeightsArg<'_>) -> Option<&'a [Self]>;
}

impl EngineFloat for f64 {
    fn as_column_major<'a>(w: &'a WeightsArg<'_>) -> Option<&'a [f64]> {
        match &w.array {
            Matrix::F64(a) if a.is_fortran_contiguous() => a.as_slice().ok(),
            _ => None,
        }
    }
}

impl EngineFloat for f32 {
    fn as_column_major<'a>(w: &'a WeightsArg<'_>) -> Option<&'a [f32]> {
        match &w.array {
            Matrix::F32(a) if a.is_fortran_contiguous() => a.as_slice().ok(),
            _ => None,
        }
    }
}

/// A float matrix NumPy owns, read-only borrowed for the call.
enum Matrix<'py> {
    F64(PyReadonlyArray2<'py, f64>),
    F32(PyReadonlyArray2<'py, f32>),
}

/// The weight matrix `W` as passed from Python: a square float32 or float64
/// array, native byte order and aligned, in any memory layout.
pub struct WeightsArg<'py> {
    /// Number of neurons.
    pub n: usize,
    array: Matrix<'py>,
}

impl<'py> WeightsArg<'py> {
    /// Checks `obj` is an N x N float32/float64 array (anything `numpy.asarray`
    /// turns into one is accepted: lists, JAX arrays, memory maps).
    pub fn extract(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        let mut array = match obj.cast::<PyUntypedArray>() {
            Ok(a) => a.clone(),
            Err(_) => numpy_module(py)?
                .call_method1("asarray", (obj,))?
                .cast_into::<PyUntypedArray>()?,
        };
        let n = match array.shape() {
            [a, b] if a == b && *a > 0 => *a,
            shape => return Err(errors::weights_shape(shape)),
        };
        let dtype = array.dtype();
        let size = dtype.itemsize();
        if dtype.kind() != b'f' || !(size == 4 || size == 8) {
            return Err(errors::weights_dtype(&dtype.as_any().str()?.to_string()));
        }
        if dtype.is_native_byteorder() == Some(false) || !array.is_aligned() {
            // Rare (a byte-swapped or packed buffer): let NumPy make a native,
            // aligned copy in the engine's layout once.
            let native = if size == 8 { "=f8" } else { "=f4" };
            let kwargs = PyDict::new(py);
            kwargs.set_item("dtype", native)?;
            kwargs.set_item("order", "F")?;
            array = numpy_module(py)?
                .getattr("array")?
                .call((array,), Some(&kwargs))?
                .cast_into::<PyUntypedArray>()?;
        }
        let borrow_error = |e: numpy::BorrowError| PyValueError::new_err(format!("W: {e}"));
        let array = if size == 8 {
            Matrix::F64(
                array
                    .cast_into::<PyArray2<f64>>()?
                    .try_readonly()
                    .map_err(borrow_error)?,
            )
        } else {
            Matrix::F32(
                array
                    .cast_into::<PyArray2<f32>>()?
                    .try_readonly()
                    .map_err(borrow_error)?,
            )
        };
        Ok(Self { n, array })
    }

    /// What the engine needs to do with the weights for a run in `T`; cheap,
    /// done with the GIL held, so the work itself can run without it.
    pub fn layout<T: EngineFloat>(&self) -> Layout<'_, T> {
        if let Some(slice) = T::as_column_major(self) {
            return Layout::Ready(slice);
        }
        match &self.array {
            Matrix::F64(a) => Layout::FromF64(a.as_array()),
            Matrix::F32(a) => Layout::FromF32(a.as_array()),
        }
    }
}

/// The weights in one of three states: ready for the engine, or a NumPy
/// array of some layout and float type still to be converted.
pub enum Layout<'a, T> {
    /// Column-major in the run's type: used in place.
    Ready(&'a [T]),
    /// A float64 array to round and lay out column-major.
    FromF64(ArrayView2<'a, f64>),
    /// A float32 array to widen and lay out column-major.
    FromF32(ArrayView2<'a, f32>),
}

impl<'a, T: Real> Layout<'a, T> {
    /// The engine's column-major weights (`data[j * n + i] = W[i, j]`):
    /// borrowed when ready, else one converted copy.
    pub fn column_major(self, n: usize) -> lifsim_core::Result<Cow<'a, [T]>> {
        Ok(match self {
            Layout::Ready(slice) => Cow::Borrowed(slice),
            Layout::FromF64(view) => Cow::Owned(to_column_major(n, view)?),
            Layout::FromF32(view) => Cow::Owned(to_column_major(n, view)?),
        })
    }
}

/// One copy of `w` in the engine's layout and type, checked against the
/// memory the machine has.
fn to_column_major<T: Real, S: Copy + Into<f64>>(
    n: usize,
    w: ArrayView2<'_, S>,
) -> lifsim_core::Result<Vec<T>> {
    let mut out: Vec<T> = resources::zeroed_vec(
        &format!("W ({n} x {n}) converted to the engine's layout"),
        n.saturating_mul(n),
        "pass W in Fortran order with the simulation's dtype (numpy.asfortranarray) so lifsim uses it without a copy",
    )?;
    if let Some(rows) = w.as_slice() {
        // C order: the cache-blocked transpose.
        fill_column_major(n, rows, false, &mut out);
    } else if let Some(columns) = w.t().as_slice() {
        // Fortran order in the other float type: a straight conversion.
        fill_column_major(n, columns, true, &mut out);
    } else {
        // Strided (a slice of a bigger array): the transposed view's logical
        // order is W's column-major order.
        for (o, &x) in out.iter_mut().zip(w.t().iter()) {
            *o = T::from_f64(x.into());
        }
    }
    Ok(out)
}

/// A per-neuron array argument (`i_ext`, `v0`) as float64 values, one per
/// neuron (the core checks the values).
fn float_vector(obj: &Bound<'_, PyAny>, what: &'static str, n: usize) -> PyResult<Vec<f64>> {
    let py = obj.py();
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", "float64")?;
    // NumPy's own TypeError ("float() argument must be ...") does not say
    // which argument it was about: name it.
    let array = numpy_module(py)?
        .getattr("asarray")?
        .call((obj,), Some(&kwargs))
        .map_err(|e| {
            if e.is_instance_of::<pyo3::exceptions::PyTypeError>(py) {
                errors::wrong_type(
                    what,
                    "a number or an array of one number per neuron",
                    &type_name(obj),
                )
            } else {
                PyValueError::new_err(format!("{what}: {}", e.value(py)))
            }
        })?
        .cast_into::<PyArrayDyn<f64>>()?;
    let array = array
        .try_readonly()
        .map_err(|e| PyValueError::new_err(format!("{what}: {e}")))?;
    if array.shape() != [n] {
        return Err(errors::vector_shape(what, n, array.shape()));
    }
    Ok(array.as_array().iter().copied().collect())
}

/// `i_ext`: None (the table's default, 0), a number for every neuron, or one
/// value per neuron.
pub fn external_current(obj: Option<&Bound<'_, PyAny>>, n: usize) -> PyResult<ExternalCurrent> {
    let Some(obj) = obj else {
        return Ok(ExternalCurrent::Constant(
            lifsim_core::params::I_EXT.default.number(),
        ));
    };
    if obj.is_instance_of::<PyFloat>() || obj.is_instance_of::<PyInt>() {
        return Ok(ExternalCurrent::Constant(obj.extract()?));
    }
    if obj.is_instance_of::<PyString>() {
        return Err(errors::wrong_type(
            "i_ext",
            "a number or an array of one value per neuron",
            "str",
        ));
    }
    let values = float_vector_or_scalar(obj, "i_ext", n)?;
    Ok(match values {
        Scalar::One(x) => ExternalCurrent::Constant(x),
        Scalar::Many(v) => ExternalCurrent::PerNeuron(v),
    })
}

enum Scalar {
    One(f64),
    Many(Vec<f64>),
}

/// A NumPy scalar or 0-d array is one number; anything else a vector.
fn float_vector_or_scalar(
    obj: &Bound<'_, PyAny>,
    what: &'static str,
    n: usize,
) -> PyResult<Scalar> {
    if let Ok(array) = obj.cast::<PyUntypedArray>() {
        if array.ndim() == 0 {
            return Ok(Scalar::One(obj.call_method0("item")?.extract()?));
        }
    } else if obj.hasattr("__float__")? && !obj.hasattr("__len__")? {
        return Ok(Scalar::One(obj.extract()?));
    }
    float_vector(obj, what, n).map(Scalar::Many)
}

/// `v0`: None or "reset" (all `v_reset`), "uniform" (drawn from `seed`), a
/// number for every neuron (as a network file's `v0 = -60.0`), or one
/// voltage per neuron.
pub fn initial_voltage(
    obj: Option<&Bound<'_, PyAny>>,
    seed: u64,
    n: usize,
) -> PyResult<InitialVoltage> {
    let Some(obj) = obj else {
        return Ok(InitialVoltage::Reset);
    };
    if let Ok(s) = obj.cast::<PyString>() {
        return match s.to_cow()?.as_ref() {
            "reset" => Ok(InitialVoltage::Reset),
            "uniform" => Ok(InitialVoltage::Uniform { seed }),
            other => Err(errors::bad_choice(
                "v0",
                format!(
                    "must be \"reset\", \"uniform\", a number or an array of one voltage per neuron, got {other:?}"
                ),
            )),
        };
    }
    Ok(InitialVoltage::Values(
        match float_vector_or_scalar(obj, "v0", n)? {
            Scalar::One(x) => vec![x; n],
            Scalar::Many(v) => v,
        },
    ))
}

/// `dtype`: None (the table's default, float64), "float64"/"float32" or
/// anything `numpy.dtype` reads as one of them.
pub fn dtype(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Dtype> {
    let Some(obj) = obj else {
        return lifsim_core::params::DTYPE
            .default
            .word()
            .parse()
            .map_err(errors::from_core);
    };
    let name: String = if let Ok(s) = obj.cast::<PyString>() {
        s.to_cow()?.into_owned()
    } else {
        match numpy_module(obj.py())?.call_method1("dtype", (obj,)) {
            Ok(d) => d.getattr("name")?.extract()?,
            Err(_) => {
                return Err(errors::wrong_type(
                    "dtype",
                    "\"float64\", \"float32\" or a NumPy float dtype",
                    &type_name(obj),
                ))
            }
        }
    };
    name.parse().map_err(errors::from_core)
}

/// `record`: "dense", "events" or "counts".
pub fn record_mode(name: &str) -> PyResult<RecordMode> {
    name.parse().map_err(errors::from_core)
}

/// A non-negative integer argument (`seed`, `threads`): Python ints and
/// anything with `__index__` (NumPy integers).
pub fn non_negative_int(obj: &Bound<'_, PyAny>, name: &'static str) -> PyResult<u64> {
    if let Ok(x) = obj.extract::<u64>() {
        return Ok(x);
    }
    if obj.hasattr("__index__")? && !obj.is_instance_of::<PyFloat>() {
        return Err(errors::bad_choice(
            name,
            format!("must be an integer in [0, 2**64), got {obj}"),
        ));
    }
    Err(errors::wrong_type(name, "an integer", &type_name(obj)))
}

/// Float-typed NumPy arrays handed back to Python without a copy.
pub mod out {
    use numpy::npyffi::NPY_ORDER;
    use numpy::{Element, PyArray1, PyArray2, PyArrayMethods};
    use pyo3::prelude::*;

    /// A Vec as a 1-D NumPy array (the Vec's buffer becomes the array's).
    pub fn vector<'py, T: Element>(py: Python<'py>, v: Vec<T>) -> Bound<'py, PyArray1<T>> {
        PyArray1::from_vec(py, v)
    }

    /// A column-major N x N Vec as a Fortran-order NumPy matrix (no copy).
    pub fn fortran_matrix<'py, T: Element>(
        py: Python<'py>,
        n: usize,
        data: Vec<T>,
    ) -> PyResult<Bound<'py, PyArray2<T>>> {
        PyArray1::from_vec(py, data).reshape_with_order([n, n], NPY_ORDER::NPY_FORTRANORDER)
    }

    /// A row-major Vec as a C-order (rows, cols) NumPy array (no copy).
    pub fn c_matrix<'py, T: Element>(
        py: Python<'py>,
        rows: usize,
        cols: usize,
        data: Vec<T>,
    ) -> PyResult<Bound<'py, PyArray2<T>>> {
        PyArray1::from_vec(py, data).reshape([rows, cols])
    }
}
