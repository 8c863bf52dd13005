//! Dense columns: a projection's synapses onto a range of targets stored as
//! one column of weights per source (`connectivity = "dense"`), the storage
//! of the seed's `W` inside the network engine. A spike of source `j` adds
//! column `j` to its targets' input: one contiguous vector add, where rows
//! of targets would read a target id per weight.

use std::ops::Range;

use crate::error::Result;
use crate::model::Real;
use crate::network::sparse::{Csr, Weights};

/// A projection's weights onto targets `targets` (global ids), column-major:
/// element `row * targets.len() + (t - targets.start)` is the weight from
/// the projection's source row `row` onto `t`, zero where there is no
/// synapse; every synapse has the delay `delay` (steps).
#[derive(Debug)]
pub struct DenseColumns<T> {
    rows: usize,
    len: usize,
    values: Vec<T>,
    delay: u16,
}

impl<T: Real> DenseColumns<T> {
    /// The synapses of `csr` (rows by source, targets global ids within
    /// `targets`) as columns, with the delay `delay` for all. Synapses of
    /// one pair (multapses) are summed into one weight, in row order.
    pub fn from_csr(csr: &Csr<T>, targets: Range<usize>, delay: u16) -> Result<Self> {
        let (rows, len) = (csr.n_sources(), targets.len());
        let size = rows.saturating_mul(len);
        let mut values: Vec<T> = crate::resources::zeroed_vec(
            "the dense columns of a projection",
            size,
            "use connectivity = \"stored\" for a sparse projection",
        )?;
        let lo = targets.start;
        let all = csr.targets();
        for row in 0..rows {
            let column = &mut values[row * len..(row + 1) * len];
            for s in csr.row(row) {
                let w = match csr.weights() {
                    Weights::Constant(x) => *x,
                    Weights::Single(v) => T::from_f64(v[s] as f64),
                    Weights::Full(v) => v[s],
                };
                let x = &mut column[all[s] as usize - lo];
                *x = *x + w;
            }
        }
        Ok(Self {
            rows,
            len,
            values,
            delay,
        })
    }

    /// The weights of source row `row` onto every target, in target order.
    #[inline]
    pub fn column(&self, row: usize) -> &[T] {
        &self.values[row * self.len..(row + 1) * self.len]
    }

    /// The delay of every synapse (steps).
    pub fn delay(&self) -> u16 {
        self.delay
    }

    /// Number of source rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of weights stored (sources times targets).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no weight is stored.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.values.len() * std::mem::size_of::<T>()
    }
}
