//! Deterministic random weight matrices (`lifsim gen-weights`).
//!
//! Row `i` of `W` (the weights onto neuron `i`) comes from its own stream
//! `rng::stream(seed, Weights, i)`, so the result does not depend on how many
//! threads build it. For each `j` in order: if `p < 1`, a uniform `u` decides
//! the connection (`u < p`); a connected weight is `mean + std * z` with `z` a
//! standard normal, rounded to a multiple of `quantum` when one is given.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Real;
use crate::network::dense::fill_column_major;
use crate::resources;
use crate::rng::{self, Normal, Purpose};

/// How to draw a dense weight matrix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightSpec {
    /// Number of neurons N (W is N x N).
    pub n: usize,
    /// Mean of the normal distribution.
    pub mean: f64,
    /// Standard deviation of the normal distribution.
    pub std: f64,
    /// Probability that a connection exists (1: all-to-all).
    pub p: f64,
    /// Round every weight to the nearest multiple of this power of two, so
    /// synaptic sums are exact in any order (None: no rounding).
    pub quantum: Option<f64>,
    /// The generator's seed.
    pub seed: u64,
}

impl WeightSpec {
    /// Checks the parameters; errors name the one at fault.
    pub fn validate(&self) -> Result<()> {
        if self.n == 0 {
            return Err(Error::param("n", "must be at least 1"));
        }
        if !self.mean.is_finite() {
            return Err(Error::param(
                "mean",
                format!("must be finite, got {}", self.mean),
            ));
        }
        if !(self.std.is_finite() && self.std >= 0.0) {
            return Err(Error::param(
                "std",
                format!("must be finite and >= 0, got {}", self.std),
            ));
        }
        if !(0.0..=1.0).contains(&self.p) {
            return Err(Error::param(
                "p",
                format!("must be in [0, 1], got {}", self.p),
            ));
        }
        if let Some(q) = self.quantum {
            let is_pow2 = q > 0.0 && q.is_finite() && q.to_bits() & ((1u64 << 52) - 1) == 0;
            if !is_pow2 {
                return Err(Error::param(
                    "quantum",
                    format!("must be a power of two, got {q}"),
                ));
            }
        }
        Ok(())
    }

    /// Draws row `i` (the weights onto neuron `i`) into `row`.
    pub fn fill_row(&self, i: usize, row: &mut [f64]) {
        let mut rng = rng::stream(self.seed, Purpose::Weights, i as u64);
        let mut normal = Normal::new();
        for w in row.iter_mut() {
            let connected = self.p >= 1.0 || rng.uniform() < self.p;
            *w = if connected {
                let x = self.mean + self.std * normal.sample(&mut rng);
                match self.quantum {
                    Some(q) => (x / q).round_ties_even() * q,
                    None => x,
                }
            } else {
                0.0
            };
        }
    }

    /// The whole matrix row-major (`W[i, j]` at `i * n + j`), rows in parallel.
    pub fn row_major(&self) -> Result<Vec<f64>> {
        self.validate()?;
        let n = self.n;
        let mut w: Vec<f64> = resources::zeroed_vec(
            &format!("a {n} x {n} weight matrix"),
            n.saturating_mul(n),
            "use fewer neurons or a sparse network",
        )?;
        w.par_chunks_mut(n)
            .enumerate()
            .for_each(|(i, row)| self.fill_row(i, row));
        Ok(w)
    }

    /// The whole matrix column-major in the engine's float type.
    pub fn column_major<T: Real>(&self) -> Result<Vec<T>> {
        let rows = self.row_major()?;
        let mut out: Vec<T> =
            resources::zeroed_vec("the weight matrix", rows.len(), "use fewer neurons")?;
        fill_column_major(self.n, &rows, false, &mut out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(n: usize) -> WeightSpec {
        WeightSpec {
            n,
            mean: 0.0,
            std: 1.0,
            p: 1.0,
            quantum: None,
            seed: 0,
        }
    }

    #[test]
    fn same_seed_same_bits_any_thread_count() {
        let a = spec(300).row_major().unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let b = pool.install(|| spec(300).row_major().unwrap());
        assert_eq!(a, b);
        let mut other = spec(300);
        other.seed = 1;
        assert_ne!(a, other.row_major().unwrap());
    }

    #[test]
    fn first_values_are_pinned() {
        let w = spec(4).row_major().unwrap();
        let bits: Vec<u64> = w[..3].iter().map(|x| x.to_bits()).collect();
        assert_eq!(bits, GOLDEN, "{:?}", &w[..3]);
    }

    const GOLDEN: [u64; 3] = [
        4609080893899159829,
        13822594954754755719,
        13829747537155603460,
    ];

    #[test]
    fn probability_and_quantum_are_honoured() {
        let mut s = spec(200);
        s.p = 0.1;
        s.quantum = Some(1.0 / 256.0);
        s.std = 5.0;
        let w = s.row_major().unwrap();
        let nonzero = w.iter().filter(|&&x| x != 0.0).count() as f64 / w.len() as f64;
        assert!((nonzero - 0.1).abs() < 0.01, "{nonzero}");
        assert!(w.iter().all(|&x| (x * 256.0).fract() == 0.0));
        s.quantum = Some(0.3);
        assert!(s.validate().unwrap_err().to_string().contains("quantum"));
    }
}
