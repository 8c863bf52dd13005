//! Networks: who connects to whom, and with what weight.
//!
//! The seed's network is a dense N x N matrix `W`, `W[i, j]` the weight from
//! presynaptic `j` onto postsynaptic `i`. lifsim stores it column-major, so
//! the outgoing weights of neuron `j` are contiguous and a spike costs one
//! contiguous vector add ([`DenseWeights`]).

pub mod dense;
pub mod generate;

pub use dense::{DenseView, DenseWeights};
pub use generate::WeightSpec;
