//! Dense columns: a projection's synapses onto a range of targets stored as
//! one column of weights per source (`connectivity = "dense"`), the storage
//! of the seed's `W` inside the network engine. A spike of source `j` adds
//! column `j` to its targets' input: one contiguous vector add, where rows
//! of targets would read a target id per weight. The columns are stored
//! here, or read in place from a matrix handed to the simulation
//! ([`crate::network::description::Rule::Given`]: the seed's `W`, which
//! is already column-major), so a run holds no copy of it.

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
    store: Store<T>,
    delay: u16,
}

/// Where the columns are.
#[derive(Debug)]
enum Store<T> {
    /// Here, `rows * len` weights.
    Owned(Vec<T>),
    /// In the matrix handed to the simulation (column-major, `stride`
    /// targets per column): row `r`'s column starts at `r * stride + offset`.
    Given { offset: usize, stride: usize },
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
            store: Store::Owned(values),
            delay,
        })
    }

    /// The columns of a matrix handed to the simulation (`Rule::Given`,
    /// column-major, `stride` targets per column, `rows` columns) for its
    /// targets `offset..offset + len`, read there, with the delay `delay`.
    pub fn given(rows: usize, stride: usize, offset: usize, len: usize, delay: u16) -> Self {
        Self {
            rows,
            len,
            store: Store::Given { offset, stride },
            delay,
        }
    }

    /// The weights of source row `row` onto every target, in target order;
    /// `given` is the simulation's matrix (read only by given columns).
    #[inline]
    pub fn column<'a>(&'a self, row: usize, given: &'a [T]) -> &'a [T] {
        match &self.store {
            Store::Owned(values) => &values[row * self.len..(row + 1) * self.len],
            Store::Given { offset, stride } => {
                let at = row * stride + offset;
                &given[at..at + self.len]
            }
        }
    }

    /// The delay of every synapse (steps).
    pub fn delay(&self) -> u16 {
        self.delay
    }

    /// Number of source rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of weights (sources times targets).
    pub fn len(&self) -> usize {
        self.rows * self.len
    }

    /// Whether there is no weight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of weights read (held here, or in the matrix handed to the
    /// simulation, shared with its caller).
    pub fn bytes(&self) -> usize {
        self.len() * std::mem::size_of::<T>()
    }
}
