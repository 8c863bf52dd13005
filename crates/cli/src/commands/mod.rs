//! One module per subcommand.

pub mod batch;
pub mod bench;
pub mod gen_weights;
pub mod info;
pub mod info_network;
pub mod network;
pub mod plot;
pub mod ranks;
pub mod resume;
pub mod run;
pub mod seed_ranks;
pub mod state_stream;
pub mod workload;

use anyhow::Result;
use lifsim_core::{run_view, DenseWeights, Dtype, Real, RunOutput};

use crate::args::{Resolved, WeightSource};

/// The weights of a resolved run, loaded or generated in the run's float type.
pub fn load_weights<T: Real>(source: &WeightSource) -> Result<DenseWeights<T>> {
    Ok(match source {
        WeightSource::File(path) => DenseWeights::<T>::load(path)?,
        WeightSource::Generated(spec) => {
            DenseWeights::from_column_major(spec.n, spec.column_major::<T>()?)?
        }
    })
}

/// Runs `f` with the weights of `resolved` in its float type, so callers are
/// written once for float64 and float32.
pub fn with_weights<R>(resolved: &Resolved, f: impl WeightsFn<R>) -> Result<R> {
    match resolved.dtype {
        Dtype::Float64 => f.call(&load_weights::<f64>(&resolved.weights)?),
        Dtype::Float32 => f.call(&load_weights::<f32>(&resolved.weights)?),
    }
}

/// A function generic over the float type (closures cannot be).
pub trait WeightsFn<R> {
    /// Called with the loaded weights.
    fn call<T: Real>(self, weights: &DenseWeights<T>) -> Result<R>;
}

/// One simulation of `resolved` on `weights`.
pub fn simulate<T: Real>(weights: &DenseWeights<T>, resolved: &Resolved) -> Result<RunOutput> {
    Ok(run_view(weights.view(), &resolved.spec)?)
}
