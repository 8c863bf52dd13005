//! `lifsim.SimulationResult`: the core's [`SpikeRecord`] as NumPy arrays.

use lifsim_core::io::spikes::OutputFormat;
use lifsim_core::{Dtype, RecordMode, RunOutput};
use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;

use crate::convert::out;

/// What one call of `lifsim.simulate` recorded.
///
/// The spikes of step k (0-based) are the neurons with V >= v_thresh at the
/// start of that step; they belong to time (k + 1) * dt, as in the seed.
///
/// Attributes:
///     spikes: bool array (steps, N), the seed's np.asarray(spike_train)
///         (record="dense" only).
///     times: spike times in ms, float64, sorted (record="events" only).
///     ids: the neuron of each spike, uint32, sorted by time then id
///         (record="events" only).
///     count: spikes per neuron, uint64 (every record mode).
///     rates: firing rate of each neuron in Hz, float64.
///     num_spikes: total number of spikes.
///     mean_rate: mean firing rate over all neurons, Hz.
///     n: number of neurons.
///     steps: number of steps, len(np.arange(0, t_max, dt)) - 1.
///     dt: time step, ms.
///     duration: simulated time covered by the steps, steps * dt, ms.
///     record: what was recorded: "dense", "events" or "counts".
///     dtype: the float type the run used: "float64" or "float32".
///     wall_time: seconds the simulation loop took (set-up excluded).
#[pyclass(module = "lifsim", name = "SimulationResult", frozen)]
pub struct SimulationResult {
    spikes: Option<Py<PyArray2<bool>>>,
    times: Option<Py<PyArray1<f64>>>,
    ids: Option<Py<PyArray1<u32>>>,
    #[pyo3(get)]
    count: Py<PyArray1<u64>>,
    #[pyo3(get)]
    rates: Py<PyArray1<f64>>,
    #[pyo3(get)]
    num_spikes: u64,
    #[pyo3(get)]
    mean_rate: f64,
    #[pyo3(get)]
    n: usize,
    #[pyo3(get)]
    steps: usize,
    #[pyo3(get)]
    dt: f64,
    #[pyo3(get)]
    duration: f64,
    #[pyo3(get)]
    record: &'static str,
    #[pyo3(get)]
    dtype: &'static str,
    #[pyo3(get)]
    wall_time: f64,
}

impl SimulationResult {
    /// Hands the record's buffers to NumPy (no copies).
    pub fn new(
        py: Python<'_>,
        output: RunOutput,
        mode: RecordMode,
        dtype: Dtype,
    ) -> PyResult<Self> {
        let rec = output.record;
        // Everything derived first, then the buffers are moved out.
        let times = rec.event_times_ms();
        let rates = rec.rates_hz();
        let (mean_rate, duration) = (rec.mean_rate_hz(), rec.duration_ms());
        let (n, steps) = (rec.n, rec.steps);
        Ok(Self {
            spikes: match rec.raster {
                Some(raster) => Some(out::c_matrix(py, steps, n, raster)?.unbind()),
                None => None,
            },
            times: times.map(|t| out::vector(py, t).unbind()),
            ids: rec.events.map(|e| out::vector(py, e.ids).unbind()),
            count: out::vector(py, rec.counts).unbind(),
            rates: out::vector(py, rates).unbind(),
            num_spikes: rec.total,
            mean_rate,
            n,
            steps,
            dt: rec.dt,
            duration,
            // A record mode is named by its output format (the one list of names).
            record: OutputFormat::of_record(mode).name(),
            dtype: dtype.name(),
            wall_time: output.wall.as_secs_f64(),
        })
    }

    fn missing(&self, what: &str, mode: &str) -> PyErr {
        PyAttributeError::new_err(format!(
            "{what} were not recorded (record={:?}); call lifsim.simulate(..., record={mode:?})",
            self.record
        ))
    }
}

#[pymethods]
impl SimulationResult {
    /// The seed's spike array: bool (steps, N), True where a neuron fired.
    #[getter]
    fn spikes(&self, py: Python<'_>) -> PyResult<Py<PyArray2<bool>>> {
        match &self.spikes {
            Some(a) => Ok(a.clone_ref(py)),
            None => Err(self.missing("dense spikes", "dense")),
        }
    }

    /// Spike times in ms ((step + 1) * dt), sorted.
    #[getter]
    fn times(&self, py: Python<'_>) -> PyResult<Py<PyArray1<f64>>> {
        match &self.times {
            Some(a) => Ok(a.clone_ref(py)),
            None => Err(self.missing("spike events", "events")),
        }
    }

    /// The neuron of each spike, in the order of `times`.
    #[getter]
    fn ids(&self, py: Python<'_>) -> PyResult<Py<PyArray1<u32>>> {
        match &self.ids {
            Some(a) => Ok(a.clone_ref(py)),
            None => Err(self.missing("spike events", "events")),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "SimulationResult(n={}, steps={}, dt={}, dtype='{}', record='{}', num_spikes={}, mean_rate={:.3})",
            self.n, self.steps, self.dt, self.dtype, self.record, self.num_spikes, self.mean_rate
        )
    }
}
