//! Files in and out: `.npy` and `.npz` arrays; every output goes through
//! [`output`] (atomic replace, devices written in place, collision checks).
//! Spike output streams to disk while a run goes ([`stream`]) and is written
//! in the format asked for at the end ([`spikes`], and `sonata` with the `sonata` feature).

pub mod npy;
pub mod npz;
pub mod output;
pub mod recorded;
#[cfg(feature = "sonata")]
pub mod sonata;
pub mod spikes;
pub mod stream;

use std::path::Path;

use crate::error::{Error, Result};
use output::OutputFile;

/// Writes one array as an `.npy` file, atomically.
pub fn save_npy<T: npy::NpyElem>(
    path: &Path,
    values: &[T],
    shape: &[usize],
    fortran_order: bool,
) -> Result<()> {
    let mut file = OutputFile::create(path)?;
    npy::write_npy(file.writer(), values, shape, fortran_order).map_err(|e| file.io_error(e))?;
    file.commit()
}

/// Reads a 1-D float array of `n` values (`what` names it in errors: `i_ext`, `v0`).
pub fn load_vector(path: &Path, what: &str, n: usize) -> Result<Vec<f64>> {
    let array = npy::NpyArray::open(path)?;
    let h = array.header();
    if !matches!(h.elem, npy::Elem::F64 | npy::Elem::F32) {
        return Err(Error::file(
            path,
            format!(
                "{what} has dtype {}; it must be float32 or float64",
                h.elem.name()
            ),
        ));
    }
    if h.shape != [n] {
        return Err(Error::file(
            path,
            format!(
                "{what} must have shape ({n},), one value per neuron, got {}",
                npy::shape_str(&h.shape)
            ),
        ));
    }
    let values = array.to_f64_vec();
    if let Some(k) = values.iter().position(|x| !x.is_finite()) {
        return Err(Error::file(
            path,
            format!("{what}[{k}] is {}; values must be finite", values[k]),
        ));
    }
    Ok(values)
}
