//! Every conversion of a lifsim error into a Python exception, in one place.
//!
//! The message is always lifsim's own one-line message, the same text the CLI
//! prints after `lifsim: error: `; only the exception class is chosen here:
//!
//! | lifsim error | Python exception |
//! |---|---|
//! | [`Error::Parameter`], [`Error::Array`], [`Error::File`] | `ValueError` |
//! | [`Error::Io`], file not found | `FileNotFoundError` |
//! | [`Error::Io`], permission denied | `PermissionError` |
//! | [`Error::Io`], anything else | `OSError` |
//! | [`Error::OutOfMemory`] | `MemoryError` |
//! | [`Error::Interrupted`] | `KeyboardInterrupt` (the signal handler's own exception when there is one) |
//! | an argument of the wrong type or dtype | `TypeError` |

use lifsim_core::io::npy::shape_str;
use lifsim_core::Error;
use pyo3::exceptions::{
    PyFileNotFoundError, PyKeyboardInterrupt, PyMemoryError, PyOSError, PyPermissionError,
    PyTypeError, PyValueError,
};
use pyo3::PyErr;

/// The Python exception for a lifsim error.
pub fn from_core(err: Error) -> PyErr {
    let message = err.to_string();
    match &err {
        Error::Parameter { .. } | Error::Array { .. } | Error::File { .. } => {
            PyValueError::new_err(message)
        }
        Error::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
            std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(message),
            _ => PyOSError::new_err(message),
        },
        Error::OutOfMemory { .. } => PyMemoryError::new_err(message),
        Error::Interrupted { .. } => PyKeyboardInterrupt::new_err(message),
    }
}

/// `W` is not a matrix of floats: the CLI's message for a weight file of that dtype.
pub fn weights_dtype(dtype: &str) -> PyErr {
    PyTypeError::new_err(format!(
        "W has dtype {dtype}; weights must be float32 or float64 (convert with W.astype(numpy.float64))"
    ))
}

/// `W` does not have shape (N, N), N >= 1: the CLI's message for a weight file of that shape.
pub fn weights_shape(shape: &[usize]) -> PyErr {
    PyValueError::new_err(match shape {
        [0, 0] => "W is 0 x 0: the network has no neurons".to_string(),
        [a, b] => format!("W must be square (N x N), got shape ({a}, {b})"),
        s => format!(
            "W must be a 2-D N x N matrix, got {}-D shape {}",
            s.len(),
            shape_str(s)
        ),
    })
}

/// A per-neuron array (`i_ext`, `v0`) that is not one value per neuron.
pub fn vector_shape(what: &'static str, n: usize, shape: &[usize]) -> PyErr {
    from_core(Error::array(
        what,
        format!(
            "must have shape ({n},), one value per neuron, got {}",
            shape_str(shape)
        ),
    ))
}

/// A state array (named `what`) that is not one row per neuron.
pub fn vector_shape_of(what: &str, n: usize, shape: &[usize]) -> PyErr {
    PyValueError::new_err(format!(
        "state array {what}: must have shape ({n},) or ({n}, width), one row per neuron, got {}",
        shape_str(shape)
    ))
}

/// An argument of a type lifsim cannot use; `expected` says what it takes.
pub fn wrong_type(what: &str, expected: &str, got: &str) -> PyErr {
    PyTypeError::new_err(format!("{what} must be {expected}, got {got}"))
}

/// An argument whose value is not one of the accepted choices, worded as the
/// core words invalid parameters.
pub fn bad_choice(name: &'static str, message: String) -> PyErr {
    from_core(Error::param(name, message))
}
