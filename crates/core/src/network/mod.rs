//! Networks: who connects to whom, and with what weight.
//!
//! The seed's network is a dense N x N matrix `W`, `W[i, j]` the weight from
//! presynaptic `j` onto postsynaptic `i`. lifsim stores it column-major, so
//! the outgoing weights of neuron `j` are contiguous and a spike costs one
//! contiguous vector add ([`DenseWeights`]).
//!
//! Larger networks are described as populations, projections and inputs
//! ([`NetworkDescription`], read from a TOML network file), laid out as a
//! [`Recipe`] from which each range of neurons builds the synapses onto its
//! own neurons, as sparse rows by presynaptic neuron ([`sparse::Csr`]), or
//! built whole ([`Network`]).

pub mod build;
mod by_source;
pub mod change;
pub mod connectivity;
pub mod dense;
pub mod dense_columns;
pub mod description;
pub mod distribution;
pub mod generate;
mod matrix;
mod range_rules;
mod read;
pub mod seed;
pub mod source_keyed;
pub mod sparse;
pub mod write;

pub use build::{Network, Recipe};
pub use change::ChangeTarget;
pub use dense::{DenseView, DenseWeights, GivenMatrix};
pub use description::NetworkDescription;
pub use distribution::Value;
pub use generate::WeightSpec;
pub use read::overrides::{Overrides, Setting};
pub use write::Entry;
