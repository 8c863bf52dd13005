//! `lifsim.NetworkDescription`: the core's [`NetworkDescription`] (the one
//! definition of a network: populations, projections, inputs) held for
//! Python. It is changed only the way a network file is read: each new
//! entry is a TOML table, checked with the whole by the core's reader
//! (`NetworkDescription::with_entry`), so what Python builds a file can say,
//! and `save` writes that file. The friendly front (`lifsim.Network`,
//! `python/lifsim/network.py`) turns keyword arguments into those tables.

use std::path::PathBuf;

use lifsim_core::network::Entry;
use lifsim_core::{Dtype, EngineOptions, NetworkDescription};
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use toml::{Table, Value as Toml};

use crate::errors;
use crate::simulation::Simulation;

/// A network as a network file describes it: populations (size, neuron
/// model, parameters), projections (source, target, connection rule,
/// weight, delay, synapse) and inputs, with its time step, duration, seed
/// and float type. Immutable: every change returns a new description,
/// checked whole by lifsim's network-file reader.
///
/// lifsim.Network is the convenient way to build one; this class is what
/// it holds.
#[pyclass(module = "lifsim", name = "NetworkDescription", frozen)]
pub struct Description {
    pub desc: NetworkDescription,
}

#[pymethods]
impl Description {
    /// An empty network (add populations with with_entry).
    #[staticmethod]
    #[pyo3(signature = (*, name = "network", dt = 0.1, duration = 0.0, seed = 1))]
    fn empty(name: &str, dt: f64, duration: f64, seed: u64) -> PyResult<Self> {
        let desc =
            NetworkDescription::empty(name, dt, duration, seed).map_err(errors::from_core)?;
        Ok(Self { desc })
    }

    /// Reads and checks a network file, as `lifsim run FILE` does.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let desc = py
            .detach(|| NetworkDescription::load(&path))
            .map_err(errors::from_core)?;
        Ok(Self { desc })
    }

    /// Reads and checks the text of a network file; file names in it are
    /// relative to `folder` (default: the current folder).
    #[staticmethod]
    #[pyo3(signature = (text, folder = None, *, name = "network"))]
    fn from_toml(text: &str, folder: Option<PathBuf>, name: &str) -> PyResult<Self> {
        let folder = folder.unwrap_or_default();
        let desc = NetworkDescription::from_toml(text, &folder, name).map_err(errors::from_core)?;
        Ok(Self { desc })
    }

    /// This description with one more entry: kind is "population",
    /// "projection" or "input", entry the keys and values its table in a
    /// network file would have (numbers, strings, lists, dicts for
    /// distributions, 1-D NumPy arrays for per-neuron lists).
    fn with_entry(&self, kind: &str, entry: &Bound<'_, PyDict>) -> PyResult<Self> {
        if let Some(key) = kind.strip_prefix("record.") {
            // A monitor ("record.state", "record.rate"): `crate::monitors`.
            return crate::monitors::with_record(&self.desc, key, table_of(entry)?)
                .map(|desc| Self { desc });
        }
        let kind = match kind {
            "population" => Entry::Population,
            "projection" => Entry::Projection,
            "input" => Entry::Input,
            other => {
                return Err(errors::bad_choice(
                    "kind",
                    format!("must be population, projection or input, got {other:?}"),
                ))
            }
        };
        let table = table_of(entry)?;
        let desc = self
            .desc
            .with_entry(kind, table)
            .map_err(errors::from_core)?;
        Ok(Self { desc })
    }

    /// This description with its settings changed: any of name, dt,
    /// duration, seed, dtype.
    fn with_settings(&self, settings: &Bound<'_, PyDict>) -> PyResult<Self> {
        let table = table_of(settings)?;
        for key in table.keys() {
            if !["name", "dt", "duration", "seed", "dtype"].contains(&key.as_str()) {
                return Err(errors::wrong_type(
                    "settings",
                    "name, dt, duration, seed or dtype",
                    &format!("{key:?}"),
                ));
            }
        }
        let desc = self.desc.with_settings(table).map_err(errors::from_core)?;
        Ok(Self { desc })
    }

    /// The network file that says this network (file names relative to
    /// `folder`, default: the current folder).
    #[pyo3(signature = (folder = None))]
    fn to_toml(&self, folder: Option<PathBuf>) -> PyResult<String> {
        let folder = folder.unwrap_or_default();
        self.desc.to_toml(&folder).map_err(errors::from_core)
    }

    /// Writes the network file `path`, which `lifsim run` reads.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.require_populations()?;
        self.desc.save(&path).map_err(errors::from_core)
    }

    /// Builds the network (its synapses, on `threads` threads) and its
    /// initial state: a Simulation at time 0. `state_to`: where the
    /// network's state monitors go (see lifsim.Network.build).
    #[pyo3(signature = (*, threads = None, state_to = None))]
    fn build(
        &self,
        py: Python<'_>,
        threads: Option<&Bound<'_, PyAny>>,
        state_to: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Simulation> {
        self.require_populations()?;
        let threads = crate::threads_option(py, threads)?;
        let options = EngineOptions { threads, isa: None };
        let state = crate::state_files::StateTo::from_py(state_to)?;
        Simulation::build(py, &self.desc, &options, &state)
    }

    /// The populations: (name, size, model) in neuron order.
    #[getter]
    fn populations(&self) -> Vec<(String, usize, &'static str)> {
        let p = &self.desc.populations;
        p.iter()
            .map(|p| (p.name.clone(), p.size, p.model.name()))
            .collect()
    }

    /// The network's name.
    #[getter]
    fn name(&self) -> &str {
        &self.desc.name
    }

    /// Time step, ms.
    #[getter]
    fn dt(&self) -> f64 {
        self.desc.dt
    }

    /// The run time of `lifsim run` on this network, ms.
    #[getter]
    fn duration(&self) -> f64 {
        self.desc.duration
    }

    /// Seed of every random draw.
    #[getter]
    fn seed(&self) -> u64 {
        self.desc.seed
    }

    /// "float64" or "float32".
    #[getter]
    fn dtype(&self) -> &'static str {
        self.desc.dtype.name()
    }

    /// Number of neurons.
    #[getter]
    fn n(&self) -> usize {
        self.desc.n()
    }

    /// Number of projections.
    #[getter]
    fn num_projections(&self) -> usize {
        self.desc.projections.len()
    }

    /// Number of inputs.
    #[getter]
    fn num_inputs(&self) -> usize {
        self.desc.inputs.len()
    }

    /// The same network: equal descriptions, wherever their files were
    /// read from (file names in them are already resolved).
    fn __eq__(&self, other: &Self) -> bool {
        let (mut a, mut b) = (self.desc.clone(), other.desc.clone());
        a.base_dir = PathBuf::new();
        b.base_dir = PathBuf::new();
        a == b
    }

    fn __repr__(&self) -> String {
        let pops: Vec<String> = self
            .desc
            .populations
            .iter()
            .map(|p| format!("{} ({})", p.name, p.size))
            .collect();
        format!(
            "NetworkDescription({:?}: {}; {} projections, {} inputs; dt {} ms, seed {}, {})",
            self.desc.name,
            pops.join(", "),
            self.desc.projections.len(),
            self.desc.inputs.len(),
            self.desc.dt,
            self.desc.seed,
            match self.desc.dtype {
                Dtype::Float64 => "float64",
                Dtype::Float32 => "float32",
            }
        )
    }
}

impl Description {
    /// Refuses a network without populations (being built) where a whole
    /// one is needed, with the reader's message.
    fn require_populations(&self) -> PyResult<()> {
        if self.desc.populations.is_empty() {
            return Err(errors::from_core(lifsim_core::Error::param(
                "population",
                "the network has no populations; add one with population(...)",
            )));
        }
        Ok(())
    }
}

/// A Python dict as a TOML table: the keys, each value converted by [`toml_of`].
pub(crate) fn table_of(dict: &Bound<'_, PyDict>) -> PyResult<Table> {
    let mut table = Table::new();
    for (key, value) in dict.iter() {
        let key: String = key.extract()?;
        if value.is_none() {
            continue; // not given: the file's default
        }
        let v = toml_of(&value, &key)?;
        table.insert(key, v);
    }
    Ok(table)
}

/// A Python value as the TOML value a network file would hold; `key` names
/// it in a `TypeError`.
fn toml_of(value: &Bound<'_, PyAny>, key: &str) -> PyResult<Toml> {
    if value.is_instance_of::<PyBool>() {
        return Ok(Toml::Boolean(value.extract()?));
    }
    if value.is_instance_of::<PyInt>() {
        return match value.extract::<i64>() {
            Ok(i) => Ok(Toml::Integer(i)),
            Err(_) => Err(errors::wrong_type(
                key,
                "an integer below 2^63",
                "a larger one",
            )),
        };
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(Toml::Float(value.extract()?));
    }
    if value.is_instance_of::<PyString>() {
        return Ok(Toml::String(value.extract()?));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        return Ok(Toml::Table(table_of(dict)?));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items = value
            .try_iter()?
            .map(|item| toml_of(&item?, key))
            .collect::<PyResult<Vec<_>>>()?;
        return Ok(Toml::Array(items));
    }
    if let Ok(array) = value.extract::<PyReadonlyArray1<'_, f64>>() {
        let items = array.as_array().iter().map(|&x| Toml::Float(x)).collect();
        return Ok(Toml::Array(items));
    }
    if value.hasattr("dtype")? && value.hasattr("tolist")? {
        // Another NumPy array or scalar (integers, float32): as Python numbers.
        return toml_of(&value.call_method0("tolist")?, key);
    }
    let got = value.get_type().name()?.to_string();
    Err(errors::wrong_type(
        key,
        "a number, a string, a list, a dict or a NumPy array",
        &got,
    ))
}
