//! # lifsim-core
//!
//! The simulator behind `lifsim`: recurrent networks of leaky
//! integrate-and-fire neurons, stepped exactly as the seed's NumPy/JAX code
//! steps them (bit for bit in float64), only much faster.
//!
//! - [`model`]: the neuron's parameters ([`LifParams`]) and its update.
//! - [`params`]: the parameter table (name, unit, default, help, check) every front
//!   end is generated from or checked against, and the step-count rule of each kind of run.
//! - [`network`]: weights, dense ([`DenseWeights`]) and generated ([`WeightSpec`]);
//!   networks of populations and sparse projections ([`NetworkDescription`], [`Network`]).
//! - [`neuron`]: neuron models behind one trait, one file each (`lif_euler`,
//!   `iaf_psc_delta`, `iaf_psc_exp`, `iaf_psc_alpha`, `iaf_cond_exp`).
//! - [`synapses`]: delta, exponential, alpha and conductance synapses; exact-integration constants.
//! - [`inputs`]: external current and initial voltages.
//! - [`engine`]: the one engine, split over neuron ranges: networks
//!   ([`NetworkSimulation`]), the seed's run among them ([`Simulation`]).
//! - [`recording`]: what is kept of the spikes ([`Recorder`], [`SpikeRecord`]).
//! - [`io`]: `.npy`/`.npz` files, written atomically; spike output streamed to
//!   disk as a run goes, then written as `.npy`, `.npz` or SONATA `.h5`.
//! - [`resources`]: memory (cgroup-aware), disk and cores, checked before use.
//! - [`progress`]: runs in chunks with a progress observer ([`progress::Driver`]).
//! - [`checkpoint`]: a simulation's whole state saved and restored ([`checkpoint::Checkpoint`]).
//! - [`workloads`]: the named reference workloads (`seed`, `seed-active`).
//!
//! ```
//! use lifsim_core::{run, LifParams, RunSpec, WeightSpec};
//!
//! // The seed's network: 1000 neurons, W ~ Normal(0, 1), no input: silent.
//! let w = WeightSpec { n: 1000, mean: 0.0, std: 1.0, p: 1.0, quantum: None, seed: 1 };
//! let weights = w.column_major::<f64>().unwrap();
//! let spec = RunSpec { params: LifParams::default(), ..RunSpec::default() };
//! let out = run::<f64>(1000, &weights, &spec).unwrap();
//! assert_eq!(out.record.steps, 9_999);
//! assert_eq!(out.record.total, 0);
//! ```

#![deny(missing_docs)]

pub mod batch;
pub mod checkpoint;
pub mod engine;
pub mod error;
pub mod inputs;
pub mod io;
pub mod model;
pub mod monitor;
pub mod network;
pub mod neuron;
pub mod params;
pub mod progress;
pub mod recording;
pub mod resources;
pub mod rng;
mod run;
pub mod synapses;
pub mod workloads;

pub use engine::{EngineOptions, Isa, NetworkSimulation, Simulation};
pub use error::{Error, Result};
pub use inputs::{ExternalCurrent, InitialVoltage};
pub use model::{Dtype, LifParams, Real};
pub use network::{DenseView, DenseWeights, Network, NetworkDescription, WeightSpec};
pub use recording::{RecordMode, Recorder, SpikeRecord, SpikeSink};
pub use run::{run, run_view, run_view_observed, RunOutput, RunSpec};
