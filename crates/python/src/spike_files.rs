//! `lifsim.read_spikes(path)`: any spike file lifsim writes (events `.npz`,
//! `.spikes` stream, SONATA `.h5`, dense `.npy`), read by the core's
//! reader as `lifsim info` and `lifsim plot` read it, with its populations
//! and, for a file of some neurons only, which neurons it holds.

use std::path::PathBuf;

use lifsim_core::io::recorded;
use lifsim_core::io::spikes::{SpikeTrain, DEFAULT_POPULATION};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::out;
use crate::errors;

/// The spikes of file `path` as a dict: `times` (ms), `ids` (uint32),
/// `populations` [(name, first id, end id)] (one for all the neurons of a
/// file that names none), `t_stop` (ms the file covers) and `recorded`
/// (global ids recorded by population name, a population with none
/// absent; None: every neuron's). `dt` is a dense `.npy`'s time step;
/// `population` chooses one of a SONATA file's.
#[pyfunction]
#[pyo3(signature = (path, *, dt = None, population = None))]
pub fn _read_spikes<'py>(
    py: Python<'py>,
    path: PathBuf,
    dt: Option<f64>,
    population: Option<String>,
) -> PyResult<Bound<'py, PyDict>> {
    let train = py
        .detach(|| SpikeTrain::load_population(&path, dt, population.as_deref()))
        .map_err(errors::from_core)?;
    let pops: Vec<(String, u64, u64)> = if train.populations.is_empty() {
        let name = train.population.clone();
        let name = name.unwrap_or_else(|| DEFAULT_POPULATION.to_string());
        vec![(name, 0, train.n as u64)]
    } else {
        let p = &train.populations;
        p.iter()
            .map(|p| (p.name.clone(), p.start, p.stop))
            .collect()
    };
    let d = PyDict::new(py);
    if let Some(r) = &train.recorded {
        let by_name = PyDict::new(py);
        for (name, start, stop) in &pops {
            let ids: Vec<u32> = r
                .iter()
                .flat_map(|x| x[0].max(*start)..x[1].min(*stop))
                .map(|i| i as u32)
                .collect();
            if recorded::count_within(r, *start, *stop) > 0 {
                by_name.set_item(name, out::vector(py, ids))?;
            }
        }
        d.set_item("recorded", by_name)?;
    } else {
        d.set_item("recorded", py.None())?;
    }
    // Ids are below the file's N, which the reader keeps below 2^32 - 1.
    let ids: Vec<u32> = train.ids.iter().map(|&i| i as u32).collect();
    d.set_item("ids", out::vector(py, ids))?;
    d.set_item("t_stop", train.duration_ms)?;
    d.set_item("times", out::vector(py, train.times))?;
    d.set_item("populations", pops)?;
    Ok(d)
}
