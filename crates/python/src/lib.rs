//! `lifsim._lifsim`: the Python extension module of lifsim.
//!
//! A thin layer over `lifsim-core`: it turns Python arguments into the core's
//! types (`convert`), runs the core with the GIL released, and hands the
//! results back as NumPy arrays without copying them (`result`). Error
//! conversion lives in `errors` alone. The Python package (`python/lifsim`)
//! re-exports this module and carries the type stubs.

mod cli;
mod convert;
mod dense;
mod errors;
mod keywords;
mod monitors;
mod network;
mod result;
mod signals;
mod simulation;
mod spike_files;
mod state_files;
mod weights;

use std::path::PathBuf;

use lifsim_core::io::npy::{Elem, NpyArray};
use lifsim_core::params::{self, DefaultValue, Front, Kind};
use lifsim_core::progress::{ProgressObserver, Silent};
use lifsim_core::workloads;
use lifsim_core::{
    run_view_observed, DenseView, DenseWeights, Dtype, ExternalCurrent, InitialVoltage, RunOutput,
    RunSpec, WeightSpec,
};
use numpy::PyArray2;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use convert::{out, EngineFloat, WeightsArg};
use keywords::{Keywords, Source};
use result::SimulationResult;
use signals::SignalCheck;
use weights::{Held, Weights};

/// Simulate a recurrent network of leaky integrate-and-fire neurons.
///
/// Each step, in this order (the seed notebook's update; float64 unless asked):
///
///     fired = V >= v_thresh
///     V     = where(fired, v_reset, V)
///     I_syn = W @ fired
///     dV    = (dt / tau_m) * (-V + v_rest + r * (I_syn + i_ext))
///     V     = V + dV
///     V     = where(fired or refractory, v_reset, V)
///
/// With the defaults this is the seed's run bit for bit: the spike train
/// equals the seed's NumPy loop's np.asarray(spike_train).
///
/// Parameters
/// ----------
/// W : array_like, shape (N, N), or lifsim.Weights
///     Weights, float32 or float64, any memory layout; W[i, j] is the weight
///     from presynaptic j onto postsynaptic i. A Fortran-order array of the
///     run's dtype (what load_weights, generate_weights and workload return)
///     is used in place; any other layout is copied once per call. An array
///     is checked (every weight finite) on every call; a lifsim.Weights was
///     checked once when made, for many runs on one network.
/// dt : float
///     Time step, ms.
/// t_max : float
///     Simulated time, ms; the run has len(np.arange(0, t_max, dt)) - 1 steps.
/// tau_m : float
///     Membrane time constant, ms.
/// v_reset : float
///     Reset potential and default initial potential, mV.
/// v_thresh : float
///     Spike threshold, mV.
/// r : float
///     Membrane resistance, MOhm.
/// v_rest : float, optional
///     Resting potential, mV; None means v_reset (the seed).
/// i_ext : float or array_like of N floats
///     Constant external current, nA (r * i_ext is mV).
/// v0 : None, "reset", "uniform", a number (every neuron) or array_like of N floats
///     Initial voltages: v_reset everywhere (None, "reset"), uniform in
///     [v_reset, v_thresh) drawn from `seed` ("uniform"), or given, mV.
/// t_ref : float
///     Refractory period after the spike step, ms, a multiple of dt.
/// dtype : "float64" or "float32"
///     Arithmetic precision: float64 is NumPy's, float32 is JAX's default
///     (W and every parameter are rounded to float32 first). A lifsim.Weights
///     held in the other dtype is converted for the call.
/// record : "dense", "events" or "counts"
///     What to keep: the dense bool array (steps, N), spike events (times,
///     ids), or spike counts only. Counts and rates come with every mode.
/// seed : int
///     Seed of v0="uniform" (1, the workloads' seed; None means the same).
/// threads : int, optional
///     Threads for one simulation (default: 1 below 5000 neurons, all cores
///     above). Never changes the result.
///
/// Returns
/// -------
/// SimulationResult
///     spikes or times/ids, count, rates, steps, dt, ...
///
/// Raises
/// ------
/// ValueError
///     W not square, a non-finite weight, an invalid parameter.
/// TypeError
///     W not a float32/float64 array, an argument of the wrong type.
///
/// The GIL is released while the weights are prepared and the network runs,
/// so other Python threads (and other simulate calls) run meanwhile. Do not
/// modify W from another thread during the call. Ctrl-C (KeyboardInterrupt)
/// stops a long run within a fraction of a second.
// The keywords and defaults are the parameter table's (lifsim_core::params,
// exported as lifsim.PARAMETERS); tests/python/test_parameters.py compares
// this signature, its defaults' behaviour and the docstring with it.
#[pyfunction]
#[pyo3(
    signature = (
        W, *, dt = 0.01, t_max = 100.0, tau_m = 20.0, v_reset = -65.0, v_thresh = -50.0,
        r = 1.0, v_rest = None, i_ext = None, v0 = None, t_ref = 0.0, dtype = None,
        record = "dense", seed = None, threads = None
    ),
    text_signature = "(W, *, dt=0.01, t_max=100.0, tau_m=20.0, v_reset=-65.0, v_thresh=-50.0, r=1.0, v_rest=None, i_ext=0.0, v0=None, t_ref=0.0, dtype='float64', record='dense', seed=1, threads=None)"
)]
#[allow(non_snake_case, clippy::too_many_arguments)]
fn simulate(
    py: Python<'_>,
    W: &Bound<'_, PyAny>,
    dt: f64,
    t_max: f64,
    tau_m: f64,
    v_reset: f64,
    v_thresh: f64,
    r: f64,
    v_rest: Option<f64>,
    i_ext: Option<&Bound<'_, PyAny>>,
    v0: Option<&Bound<'_, PyAny>>,
    t_ref: f64,
    dtype: Option<&Bound<'_, PyAny>>,
    record: &str,
    seed: Option<&Bound<'_, PyAny>>,
    threads: Option<&Bound<'_, PyAny>>,
) -> PyResult<SimulationResult> {
    let keywords = Keywords {
        params: lifsim_core::LifParams {
            dt,
            t_max,
            tau_m,
            v_reset,
            v_thresh,
            r,
            v_rest,
            t_ref,
        },
        i_ext: i_ext.cloned(),
        v0: v0.cloned(),
        dtype: dtype.cloned(),
        record: record.to_string(),
        seed: seed.cloned(),
        threads: threads.cloned(),
    };
    let (source, spec, dtype) = keywords.prepare(py, W)?;
    let record = spec.record;
    let output = match source {
        Source::Array(w) => match dtype {
            Dtype::Float64 => run::<f64>(py, &w, &spec)?,
            Dtype::Float32 => run::<f32>(py, &w, &spec)?,
        },
        Source::Held(Held::F64(w)) => run_checked(py, w.view(), &spec)?,
        Source::Held(Held::F32(w)) => run_checked(py, w.view(), &spec)?,
    };
    SimulationResult::new(py, output, record, dtype)
}

/// One run in `T` on a NumPy array: the weights are converted (when their
/// layout needs it), checked and simulated, all with the GIL released.
fn run<T: EngineFloat>(
    py: Python<'_>,
    weights: &WeightsArg<'_>,
    spec: &RunSpec,
) -> PyResult<RunOutput> {
    let n = weights.n;
    let layout = weights.layout::<T>();
    with_signals(py, |observer| {
        let data = layout.column_major(n)?;
        run_view_observed(DenseView::new(n, &data)?, spec, observer)
    })
}

/// One run on the already checked weights of a `lifsim.Weights`.
fn run_checked<T: EngineFloat>(
    py: Python<'_>,
    view: DenseView<'_, T>,
    spec: &RunSpec,
) -> PyResult<RunOutput> {
    with_signals(py, |observer| run_view_observed(view, spec, observer))
}

/// Runs `body` with the GIL released, handing it the run's progress
/// observer: on the main thread a Ctrl-C check (Ctrl-C stops the run and
/// raises `KeyboardInterrupt`), elsewhere none.
fn with_signals<F>(py: Python<'_>, body: F) -> PyResult<RunOutput>
where
    F: FnOnce(&mut dyn ProgressObserver) -> lifsim_core::Result<RunOutput> + Send,
{
    let mut signals = SignalCheck::for_this_thread(py)?;
    let output = py.detach(|| match signals.as_mut() {
        Some(check) => body(check),
        None => body(&mut Silent),
    });
    output.map_err(|err| match signals.and_then(|s| s.raised) {
        Some(raised) => raised,
        None => errors::from_core(err),
    })
}

/// Load a weight matrix from an .npy file, as `lifsim run --weights` does.
///
/// Parameters
/// ----------
/// path : str or os.PathLike
///     An N x N float32 or float64 .npy file, C or Fortran order.
/// dtype : None, "float64" or "float32"
///     Element type of the result; None keeps the file's.
///
/// Returns
/// -------
/// numpy.ndarray, shape (N, N), Fortran order
///     W itself (W[i, j]: weight from j onto i), in the layout simulate uses
///     without a copy. Equal to np.load(path) (converted to dtype).
///
/// Raises
/// ------
/// FileNotFoundError, OSError
///     The file cannot be read.
/// ValueError
///     Not an N x N float matrix, or a non-finite weight (the CLI's messages).
#[pyfunction]
#[pyo3(signature = (path, *, dtype = None), text_signature = "(path, *, dtype=None)")]
fn load_weights<'py>(
    py: Python<'py>,
    path: PathBuf,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let dtype = match dtype {
        Some(d) => convert::dtype(Some(d))?,
        None => match NpyArray::open(&path)
            .map_err(errors::from_core)?
            .header()
            .elem
        {
            Elem::F32 => Dtype::Float32,
            _ => Dtype::Float64,
        },
    };
    match dtype {
        Dtype::Float64 => load::<f64>(py, path),
        Dtype::Float32 => load::<f32>(py, path),
    }
}

fn load<T: EngineFloat>(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    let (n, data) = py
        .detach(move || DenseWeights::<T>::load(&path).map(|w| (w.n(), w.as_slice().to_vec())))
        .map_err(errors::from_core)?;
    Ok(out::fortran_matrix(py, n, data)?.into_any())
}

/// Draw a deterministic random weight matrix, as `lifsim gen-weights` does.
///
/// Row i (the weights onto neuron i) comes from its own random stream, so the
/// matrix depends only on the arguments, never on the thread count. Each
/// weight is connected with probability p and then mean + std * z (z a
/// standard normal), rounded to a multiple of `quantum` when one is given.
///
/// Parameters
/// ----------
/// n : int
///     Number of neurons N.
/// mean, std : float
///     Mean and standard deviation of the weights, mV (std >= 0).
/// p : float
///     Connection probability in [0, 1] (1: all-to-all).
/// quantum : float, optional
///     A power of two (1/256, ...): rounding weights to its multiples makes
///     every synaptic sum exact, so any simulator gives the same spikes.
/// seed : int
///     Generator seed.
/// dtype : "float64" or "float32"
///     Element type of the result (float32 values are the float64 ones rounded).
///
/// Returns
/// -------
/// numpy.ndarray, shape (N, N), Fortran order
///     The same matrix `lifsim gen-weights` writes for these arguments.
#[pyfunction]
#[pyo3(
    signature = (n, *, mean = 0.0, std = 1.0, p = 1.0, quantum = None, seed = None, dtype = None),
    text_signature = "(n, *, mean=0.0, std=1.0, p=1.0, quantum=None, seed=1, dtype='float64')"
)]
#[allow(clippy::too_many_arguments)]
fn generate_weights<'py>(
    py: Python<'py>,
    n: &Bound<'py, PyAny>,
    mean: f64,
    std: f64,
    p: f64,
    quantum: Option<f64>,
    seed: Option<&Bound<'py, PyAny>>,
    dtype: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let seed = match seed {
        Some(s) => convert::non_negative_int(s, "seed")?,
        None => workloads::WORKLOAD_SEED,
    };
    let spec = WeightSpec {
        n: convert::non_negative_int(n, "n")? as usize,
        mean,
        std,
        p,
        quantum,
        seed,
    };
    match convert::dtype(dtype)? {
        Dtype::Float64 => generate::<f64>(py, spec),
        Dtype::Float32 => generate::<f32>(py, spec),
    }
}

fn generate<T: EngineFloat>(py: Python<'_>, spec: WeightSpec) -> PyResult<Bound<'_, PyAny>> {
    let n = spec.n;
    let data = py
        .detach(move || spec.column_major::<T>())
        .map_err(errors::from_core)?;
    Ok(out::fortran_matrix(py, n, data)?.into_any())
}

/// A named reference workload: its weights and the keyword arguments of
/// simulate that make up the rest of the run.
///
/// `W, kw = lifsim.workload("seed"); lifsim.simulate(W, **kw)` is exactly the
/// run `lifsim bench --workload seed` times.
///
/// Parameters
/// ----------
/// name : "seed" or "seed-active"
///     "seed": N = 1000, W ~ Normal(0, 1), the seed's parameters; silent.
///     "seed-active": the same network firing (W ~ Normal(0, 200) on a 1/256
///     grid, i_ext = 20, v0 uniform).
///
/// Returns
/// -------
/// (numpy.ndarray, dict)
///     W (float64, Fortran order) and the keyword arguments (dt, t_max, tau_m,
///     v_reset, v_thresh, r, v_rest, i_ext, v0, t_ref, and seed when v0 is
///     "uniform").
#[pyfunction]
#[pyo3(text_signature = "(name)")]
fn workload<'py>(
    py: Python<'py>,
    name: &str,
) -> PyResult<(Bound<'py, PyArray2<f64>>, Bound<'py, PyDict>)> {
    let w = workloads::by_name(name).map_err(errors::from_core)?;
    let spec = w.weights.clone();
    let data = py
        .detach(move || spec.column_major::<f64>())
        .map_err(errors::from_core)?;
    let weights = out::fortran_matrix(py, w.weights.n, data)?;
    let kw = PyDict::new(py);
    let p = &w.params;
    // Every number of the table that simulate takes (v_rest unset stays None).
    for spec in params::PARAMETERS
        .iter()
        .filter(|s| s.kind == Kind::Number && s.takes(Front::Python))
    {
        match spec.name {
            "v_rest" => kw.set_item(spec.name, p.v_rest)?,
            name => kw.set_item(name, p.get(name))?,
        }
    }
    match w.i_ext {
        ExternalCurrent::Constant(x) => kw.set_item("i_ext", x)?,
        ExternalCurrent::PerNeuron(v) => kw.set_item("i_ext", out::vector(py, v))?,
    }
    match w.v0 {
        InitialVoltage::Reset => kw.set_item("v0", "reset")?,
        InitialVoltage::Uniform { seed } => {
            kw.set_item("v0", "uniform")?;
            kw.set_item("seed", seed)?;
        }
        InitialVoltage::Values(v) => kw.set_item("v0", out::vector(py, v))?,
    }
    Ok((weights, kw))
}

/// The extension module; `lifsim/__init__.py` re-exports it.
#[pymodule]
fn _lifsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(cli::cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(load_weights, m)?)?;
    m.add_function(wrap_pyfunction!(generate_weights, m)?)?;
    m.add_function(wrap_pyfunction!(workload, m)?)?;
    m.add_class::<SimulationResult>()?;
    m.add_class::<Weights>()?;
    m.add_class::<network::Description>()?;
    m.add_class::<simulation::Simulation>()?;
    m.add_function(wrap_pyfunction!(simulation::resume, m)?)?;
    m.add_function(wrap_pyfunction!(spike_files::_read_spikes, m)?)?;
    m.add_class::<dense::DenseSimulation>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("WORKLOADS", workloads::NAMES.to_vec())?;
    m.add("PARAMETERS", parameters(m.py())?)?;
    Ok(())
}

/// `lifsim.PARAMETERS`: the parameter table (`lifsim_core::params`) as a
/// tuple of dicts: `name`, `unit`, `kind`, `default` (as Python takes it:
/// a float, an int, a str, or None for a parameter that is left unset),
/// `help` and `fronts` (where it can be given: "flag", "config", "python",
/// "network_flag", "population").
fn parameters(py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
    let rows = params::PARAMETERS
        .iter()
        .map(|spec| {
            let row = PyDict::new(py);
            row.set_item("name", spec.name)?;
            row.set_item("unit", spec.unit)?;
            row.set_item("kind", spec.kind.name())?;
            match spec.default {
                DefaultValue::Number(x) => row.set_item("default", x)?,
                DefaultValue::Count(x) => row.set_item("default", x)?,
                DefaultValue::Word(w) => row.set_item("default", w)?,
                DefaultValue::Unset(_) => row.set_item("default", py.None())?,
            }
            row.set_item("help", spec.help)?;
            let fronts: Vec<&str> = spec.fronts.iter().map(|f| f.name()).collect();
            row.set_item("fronts", PyTuple::new(py, fronts)?)?;
            Ok(row)
        })
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, rows)
}

/// `threads`, or the available cores if fewer, with a `RuntimeWarning`
/// when capped (more spinning threads than cores only take turns; the result
/// is the same bits).
/// An optional `threads` keyword: a non-negative int, capped at the usable
/// cores as [`capped_threads`] does, or `None` for the engine's default.
fn threads_option(py: Python<'_>, threads: Option<&Bound<'_, PyAny>>) -> PyResult<Option<usize>> {
    threads
        .map(|t| capped_threads(py, convert::non_negative_int(t, "threads")? as usize))
        .transpose()
}

fn capped_threads(py: Python<'_>, threads: usize) -> PyResult<usize> {
    if threads == 0 {
        return Ok(0); // refused with the engine's own message
    }
    let (usable, warning) = lifsim_core::resources::usable_threads(threads, "threads");
    if let Some(w) = warning {
        let category = py.get_type::<pyo3::exceptions::PyRuntimeWarning>();
        let message = std::ffi::CString::new(w).unwrap_or_default();
        PyErr::warn(py, &category, &message, 1)?;
    }
    Ok(usable)
}
