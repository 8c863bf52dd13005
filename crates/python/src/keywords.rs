//! The keyword arguments of `lifsim.simulate`, parsed once for every front
//! that takes them: `simulate` itself (its signature lists them, and
//! `tests/python/test_parameters.py` checks it against the parameter table)
//! and `lifsim.DenseNetwork(W, **kw)`, whose keywords are simulate's and
//! arrive as a dict.

use lifsim_core::params;
use lifsim_core::{Dtype, EngineOptions, LifParams, RunSpec};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{self, WeightsArg};
use crate::errors;
use crate::weights::{Held, Weights};

/// simulate's keyword arguments as given (numbers converted, the rest as
/// the Python objects to convert).
pub struct Keywords<'py> {
    /// The model's parameters (dt, t_max, tau_m, v_reset, v_thresh, r,
    /// v_rest, t_ref), not yet validated.
    pub params: LifParams,
    /// simulate's `i_ext`.
    pub i_ext: Option<Bound<'py, PyAny>>,
    /// simulate's `v0`.
    pub v0: Option<Bound<'py, PyAny>>,
    /// simulate's `dtype`.
    pub dtype: Option<Bound<'py, PyAny>>,
    /// simulate's `record`.
    pub record: String,
    /// simulate's `seed`.
    pub seed: Option<Bound<'py, PyAny>>,
    /// simulate's `threads`.
    pub threads: Option<Bound<'py, PyAny>>,
}

/// Where a run's weights come from.
pub enum Source<'a, 'py> {
    /// A NumPy array (or anything `numpy.asarray` reads), checked per call.
    Array(WeightsArg<'py>),
    /// A `lifsim.Weights` in the run's dtype, checked when it was made.
    Held(&'a Held),
}

impl<'py> Keywords<'py> {
    /// The keywords of `dict` (simulate's names; any other is a
    /// `TypeError`, as a call of simulate with it is), the others at
    /// simulate's defaults (the parameter table's).
    pub fn from_dict(dict: Option<&Bound<'py, PyDict>>, what: &str) -> PyResult<Self> {
        let mut kw = Keywords {
            params: LifParams::default(),
            i_ext: None,
            v0: None,
            dtype: None,
            record: "dense".into(),
            seed: None,
            threads: None,
        };
        let Some(dict) = dict else {
            return Ok(kw);
        };
        for (key, value) in dict.iter() {
            let key: String = key.extract()?;
            let number = |v: &Bound<'py, PyAny>| -> PyResult<f64> {
                v.extract::<f64>().map_err(|_| {
                    let got = v.get_type().name().map(|n| n.to_string());
                    errors::wrong_type(&key, "a number", &got.unwrap_or_default())
                })
            };
            let given = (!value.is_none()).then(|| value.clone());
            match key.as_str() {
                "dt" => kw.params.dt = number(&value)?,
                "t_max" => kw.params.t_max = number(&value)?,
                "tau_m" => kw.params.tau_m = number(&value)?,
                "v_reset" => kw.params.v_reset = number(&value)?,
                "v_thresh" => kw.params.v_thresh = number(&value)?,
                "r" => kw.params.r = number(&value)?,
                "v_rest" => kw.params.v_rest = given.as_ref().map(number).transpose()?,
                "t_ref" => kw.params.t_ref = number(&value)?,
                "i_ext" => kw.i_ext = given,
                "v0" => kw.v0 = given,
                "dtype" => kw.dtype = given,
                "record" => kw.record = value.extract()?,
                "seed" => kw.seed = given,
                "threads" => kw.threads = given,
                _ => {
                    return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                        "{what} got an unexpected keyword argument {key:?} (it takes lifsim.simulate's)"
                    )))
                }
            }
        }
        Ok(kw)
    }

    /// The run these keywords ask for on `w`: where its weights come from,
    /// its spec and float type, each argument checked as simulate checks it.
    pub fn prepare<'a>(
        &self,
        py: Python<'py>,
        w: &'a Bound<'py, PyAny>,
    ) -> PyResult<(Source<'a, 'py>, RunSpec, Dtype)> {
        let params = self.params.clone();
        // Cheap checks first, so a typo costs nothing.
        params.validate().map_err(errors::from_core)?;
        let record = convert::record_mode(&self.record)?;
        let seed = match &self.seed {
            Some(s) => convert::non_negative_int(s, "seed")?,
            None => params::SEED.default.count(),
        };
        let threads = crate::threads_option(py, self.threads.as_ref())?;
        let dtype = convert::dtype(self.dtype.as_ref())?;
        // A checked lifsim.Weights in the run's dtype goes straight to the
        // engine; anything else is an array (a Weights of the other dtype
        // converts as one).
        let (source, n) = match w.cast::<Weights>() {
            Ok(held) if held.get().dtype() == dtype => {
                (Source::Held(held.get().held()), held.get().n())
            }
            _ => {
                let array = WeightsArg::extract(w)?;
                let n = array.n;
                (Source::Array(array), n)
            }
        };
        let spec = RunSpec {
            params,
            i_ext: convert::external_current(self.i_ext.as_ref(), n)?,
            v0: convert::initial_voltage(self.v0.as_ref(), seed, n)?,
            record,
            options: EngineOptions { threads, isa: None },
        };
        Ok((source, spec, dtype))
    }
}
