//! What drives the network from outside, and where it starts.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{LifParams, Real};
use crate::rng::{self, Purpose, Xoshiro256pp};

/// Constant external current `i_ext` (nA with `r` in MOhm, so `r * i_ext` is mV).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExternalCurrent {
    /// The same current into every neuron (the seed: 0).
    Constant(f64),
    /// One value per neuron.
    PerNeuron(Vec<f64>),
}

impl Default for ExternalCurrent {
    fn default() -> Self {
        ExternalCurrent::Constant(0.0)
    }
}

impl ExternalCurrent {
    /// Checks the current against a network of `n` neurons.
    pub fn validate(&self, n: usize) -> Result<()> {
        match self {
            ExternalCurrent::Constant(x) if !x.is_finite() => {
                Err(Error::param("i_ext", format!("must be finite, got {x}")))
            }
            ExternalCurrent::PerNeuron(v) if v.len() != n => Err(Error::array(
                "i_ext",
                format!("has {} values but the network has {n} neurons", v.len()),
            )),
            ExternalCurrent::PerNeuron(v) => match v.iter().position(|x| !x.is_finite()) {
                Some(k) => Err(Error::array(
                    "i_ext",
                    format!("i_ext[{k}] is {}; must be finite", v[k]),
                )),
                None => Ok(()),
            },
            ExternalCurrent::Constant(_) => Ok(()),
        }
    }
}

/// The membrane potential every neuron starts from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitialVoltage {
    /// `v_reset` everywhere (the seed).
    #[default]
    Reset,
    /// Uniform in `[v_reset, v_thresh)`, drawn in neuron order from
    /// `rng::stream(seed, InitialVoltage, 0)`.
    Uniform {
        /// The generator's seed.
        seed: u64,
    },
    /// One value per neuron (mV).
    Values(Vec<f64>),
}

impl InitialVoltage {
    /// The initial voltages of `n` neurons, in float64.
    pub fn voltages(&self, n: usize, params: &LifParams) -> Result<Vec<f64>> {
        match self {
            InitialVoltage::Reset => Ok(vec![params.v_reset; n]),
            InitialVoltage::Uniform { seed } => {
                let mut rng = rng::stream(*seed, Purpose::InitialVoltage, 0);
                Ok((0..n)
                    .map(|_| rng.uniform_range(params.v_reset, params.v_thresh))
                    .collect())
            }
            InitialVoltage::Values(v) => {
                if v.len() != n {
                    return Err(Error::array(
                        "v0",
                        format!("has {} values but the network has {n} neurons", v.len()),
                    ));
                }
                if let Some(k) = v.iter().position(|x| !x.is_finite()) {
                    return Err(Error::array(
                        "v0",
                        format!("v0[{k}] is {}; must be finite", v[k]),
                    ));
                }
                Ok(v.clone())
            }
        }
    }
}

/// The external drive as the engine reads it: one broadcast value, or one per neuron.
#[derive(Clone, Debug)]
pub enum Drive<T> {
    /// The same value for every neuron.
    Constant(T),
    /// One value per neuron.
    PerNeuron(Vec<T>),
}

impl<T: Real> Drive<T> {
    /// The drive in the engine's float type.
    pub fn new(current: &ExternalCurrent) -> Self {
        match current {
            ExternalCurrent::Constant(x) => Drive::Constant(T::from_f64(*x)),
            ExternalCurrent::PerNeuron(v) => {
                Drive::PerNeuron(v.iter().map(|&x| T::from_f64(x)).collect())
            }
        }
    }
}

/// The largest mean number of Poisson spikes per step lifsim draws
/// (`rate * dt`); a rate above it is refused.
pub const MAX_POISSON_MEAN: f64 = 500.0;

/// Draws Poisson-distributed spike counts with a fixed mean per step, by
/// inversion of a precomputed table: one 64-bit random number per draw.
///
/// `thresholds[c]` is `P(count <= c)` scaled to 2^64, so the count is the
/// number of thresholds at or below a uniform 64-bit integer. The table runs
/// until the remaining probability is below 2^-64.
#[derive(Clone, Debug, PartialEq)]
pub struct PoissonSampler {
    thresholds: Vec<u64>,
    /// The count for each value of the random number's top 8 bits, where
    /// that byte alone decides it ([`AMBIGUOUS`] elsewhere): one load and a
    /// well-predicted branch instead of a search, most of the time.
    quick: [u8; 256],
}

/// Marks a [`PoissonSampler`] bucket whose count depends on the lower bits.
const AMBIGUOUS: u8 = u8::MAX;

impl PoissonSampler {
    /// A sampler for mean `lambda` (0 <= lambda <= [`MAX_POISSON_MEAN`]).
    pub fn new(lambda: f64) -> Self {
        assert!(
            (0.0..=MAX_POISSON_MEAN).contains(&lambda),
            "Poisson mean {lambda} out of range"
        );
        const SCALE: f64 = 18_446_744_073_709_551_616.0; // 2^64
        let mut thresholds = Vec::new();
        // Work in logarithms so exp(-lambda) cannot underflow for large means.
        let mut log_pmf = -lambda;
        let mut cdf = 0.0f64;
        let mut c = 0u64;
        loop {
            let pmf = libm::exp(log_pmf);
            cdf += pmf;
            // Past the mean, stop once the terms are below 2^-64 (the rounded
            // sum may never reach 1 exactly): the last count takes the rest.
            if cdf * SCALE >= SCALE || (c as f64 > lambda && pmf * SCALE < 1.0) {
                thresholds.push(u64::MAX);
                break;
            }
            thresholds.push((cdf * SCALE) as u64);
            c += 1;
            log_pmf += libm::log(lambda) - libm::log(c as f64);
        }
        let count = |x: u64| {
            thresholds
                .partition_point(|&th| th <= x)
                .min(thresholds.len() - 1)
        };
        let mut quick = [AMBIGUOUS; 256];
        for (b, q) in quick.iter_mut().enumerate() {
            let (lo, hi) = ((b as u64) << 56, ((b as u64) << 56) | ((1u64 << 56) - 1));
            let (a, z) = (count(lo), count(hi));
            if a == z && a < AMBIGUOUS as usize {
                *q = a as u8;
            }
        }
        Self { thresholds, quick }
    }

    /// The largest count [`Self::sample`] returns.
    pub fn max_count(&self) -> u32 {
        self.thresholds.len() as u32 - 1
    }

    /// One count drawn from `rng`.
    #[inline]
    pub fn sample(&self, rng: &mut Xoshiro256pp) -> u32 {
        let x = rng.next_u64();
        let q = self.quick[(x >> 56) as usize];
        if q != AMBIGUOUS {
            return q as u32;
        }
        let t = &self.thresholds;
        t.partition_point(|&th| th <= x).min(t.len() - 1) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_v0_lies_in_range_and_is_pinned_by_seed() {
        let p = LifParams::default();
        let a = InitialVoltage::Uniform { seed: 5 }
            .voltages(1000, &p)
            .unwrap();
        assert!(a.iter().all(|&v| (-65.0..-50.0).contains(&v)));
        assert_eq!(
            a,
            InitialVoltage::Uniform { seed: 5 }
                .voltages(1000, &p)
                .unwrap()
        );
        assert_ne!(
            a,
            InitialVoltage::Uniform { seed: 6 }
                .voltages(1000, &p)
                .unwrap()
        );
    }

    #[test]
    fn wrong_lengths_and_values_are_named() {
        let p = LifParams::default();
        let e = InitialVoltage::Values(vec![0.0; 3])
            .voltages(4, &p)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "v0: has 3 values but the network has 4 neurons"
        );
        let e = ExternalCurrent::PerNeuron(vec![1.0, f64::INFINITY])
            .validate(2)
            .unwrap_err();
        assert_eq!(e.to_string(), "i_ext: i_ext[1] is inf; must be finite");
    }

    #[test]
    fn poisson_counts_have_the_right_moments() {
        for lambda in [0.0, 0.05, 2.0, 30.0] {
            let sampler = PoissonSampler::new(lambda);
            let mut rng = rng::stream(9, Purpose::Poisson, 0);
            let n = 200_000;
            let (mut s, mut s2) = (0.0, 0.0);
            for _ in 0..n {
                let c = sampler.sample(&mut rng) as f64;
                s += c;
                s2 += c * c;
            }
            let mean = s / n as f64;
            let var = s2 / n as f64 - mean * mean;
            let tol = 5.0 * (lambda / n as f64).sqrt() + 1e-12;
            assert!((mean - lambda).abs() < tol, "lambda {lambda}: mean {mean}");
            assert!(
                (var - lambda).abs() < 10.0 * tol * (1.0 + lambda.sqrt()),
                "lambda {lambda}: var {var}"
            );
        }
        // P(0) for lambda = 2 is exp(-2).
        let t = PoissonSampler::new(2.0).thresholds;
        assert!(((t[0] as f64) / 2f64.powi(64) - (-2.0f64).exp()).abs() < 1e-15);
    }

    #[test]
    fn the_quick_table_agrees_with_the_search() {
        for lambda in [0.0, 0.3, 2.0, 17.0, 250.0] {
            let s = PoissonSampler::new(lambda);
            let mut rng = rng::stream(1, Purpose::Poisson, 3);
            for _ in 0..20_000 {
                let mut a = rng.clone();
                let x = a.next_u64();
                let want = s
                    .thresholds
                    .partition_point(|&th| th <= x)
                    .min(s.thresholds.len() - 1);
                assert_eq!(s.sample(&mut rng) as usize, want, "lambda {lambda}");
            }
            // Most buckets decide the count alone for small means.
            if lambda <= 2.0 {
                assert!(s.quick.iter().filter(|&&q| q == AMBIGUOUS).count() < 16);
            }
        }
    }
}
