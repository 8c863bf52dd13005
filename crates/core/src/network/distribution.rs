//! Numbers given once for all, or drawn per neuron or per synapse.
//!
//! A network file writes `weight = 0.1` for a constant, or
//! `weight = { distribution = "normal", mean = 0.1, std = 0.02 }` for a value
//! drawn from a distribution (NEST's `nest.random.normal(...)`, Brian2's
//! `'0.1*mV + 0.02*mV*randn()'`). A distribution may be bounded:
//! `min = 0.0, bound = "redraw"` draws again until the value is within
//! `[min, max]` (NEST's `nest.math.redraw`), `bound = "clip"` moves it to
//! the nearer bound (NEST's `nest.math.max`/`nest.math.min`). Draws come
//! from the caller's stream (`crate::rng`), so they are the same whatever
//! the thread count. A population parameter may also be one value per
//! neuron, written as a list (`v0 = [-60.0, -55.5, ...]`; NumPy arrays from
//! Python).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::{Normal, Xoshiro256pp, NORMAL_MAX_ABS};

mod raw;

use raw::RawValue;

/// A parameter that is a constant or a distribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawValue", into = "RawValue")]
pub enum Value {
    /// The same value everywhere.
    Constant(f64),
    /// Uniform in `[low, high)`.
    Uniform {
        /// Lower bound (included).
        low: f64,
        /// Upper bound (excluded).
        high: f64,
    },
    /// Normal with `mean` and standard deviation `std`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation (>= 0).
        std: f64,
    },
    /// A uniform or normal distribution kept within `[min, max]`.
    Bounded {
        /// The distribution drawn from (uniform or normal).
        base: Box<Value>,
        /// Smallest value kept (may be -inf).
        min: f64,
        /// Largest value kept (may be +inf).
        max: f64,
        /// What happens to a draw outside the bounds.
        bound: Bound,
    },
    /// One value per neuron of a population, in order (`i_ext`, `v0`; never
    /// a weight or a delay: the reader refuses it there).
    PerNeuron(std::sync::Arc<[f64]>),
}

/// What a bounded distribution does with a draw outside its bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// Draw again until one is inside (NEST's `nest.math.redraw`): the
    /// distribution conditioned on the bounds.
    Redraw,
    /// Take the nearer bound (NEST's `nest.math.min(nest.math.max(x, min), max)`).
    Clip,
}

impl Bound {
    /// The word a network file uses.
    pub fn name(self) -> &'static str {
        match self {
            Bound::Redraw => "redraw",
            Bound::Clip => "clip",
        }
    }
}

/// The least share of a distribution's draws that a redraw's bounds must
/// keep: below it a value takes more than 1,000 draws on average. NEST
/// gives up after 1,000 redraws of one value; lifsim refuses such bounds
/// when the file is read instead of failing, or running for hours, later.
pub const MIN_KEPT: f64 = 1e-3;

impl Default for Value {
    fn default() -> Self {
        Value::Constant(0.0)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Constant(x)
    }
}

impl Value {
    /// The constant, if this is one.
    pub fn constant(&self) -> Option<f64> {
        match self {
            Value::Constant(x) => Some(*x),
            _ => None,
        }
    }

    /// Checks the parameters; `what` names the parameter in errors.
    pub fn validate(&self, what: &'static str) -> Result<()> {
        let ok = match self {
            Value::Constant(x) => x.is_finite(),
            Value::Uniform { low, high } => low.is_finite() && high.is_finite() && low <= high,
            Value::Normal { mean, std } => mean.is_finite() && std.is_finite() && *std >= 0.0,
            Value::Bounded {
                base,
                min,
                max,
                bound,
            } => {
                base.validate(what)?;
                if min.is_nan() || max.is_nan() || min > max {
                    return Err(Error::param(
                        what,
                        format!("{self}: needs min <= max, got min = {min} and max = {max}"),
                    ));
                }
                if *bound == Bound::Redraw {
                    let kept = base.kept_within(*min, *max);
                    if kept == 0.0 {
                        return Err(Error::param(
                            what,
                            format!(
                                "{self}: no draw of {base} can fall within [{min}, {max}], so a redraw would never end"
                            ),
                        ));
                    }
                    if kept < MIN_KEPT {
                        return Err(Error::param(
                            what,
                            format!(
                                "{self}: the bounds keep {kept:.2e} of the draws, so a value would take more than 1000 redraws (NEST gives up after 1000); widen them or use bound = \"clip\""
                            ),
                        ));
                    }
                }
                true
            }
            Value::PerNeuron(values) => {
                if let Some((k, x)) = values.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                    return Err(Error::param(
                        what,
                        format!("value {k} of the list is {x}; every value must be finite"),
                    ));
                }
                true
            }
        };
        if ok {
            Ok(())
        } else {
            Err(Error::param(
                what,
                format!("{self}: needs finite numbers (uniform: low <= high; normal: std >= 0)"),
            ))
        }
    }

    /// The share of the draws of this (unbounded) distribution that fall
    /// within `[min, max]`; 1 for anything but uniform and normal.
    fn kept_within(&self, min: f64, max: f64) -> f64 {
        match *self {
            Value::Uniform { low, high } if high > low => {
                ((high.min(max) - low.max(min)) / (high - low)).max(0.0)
            }
            Value::Uniform { low: x, .. } | Value::Normal { mean: x, std: 0.0 } => {
                f64::from(u8::from(min <= x && x <= max))
            }
            Value::Normal { mean, std } => {
                let (z1, z2) = ((min - mean) / std, (max - mean) / std);
                let s = std::f64::consts::FRAC_1_SQRT_2;
                // Phi(z2) - Phi(z1), from whichever tail keeps its digits.
                if z1 > 0.0 {
                    0.5 * (libm::erfc(z1 * s) - libm::erfc(z2 * s))
                } else {
                    0.5 * (libm::erfc(-z2 * s) - libm::erfc(-z1 * s))
                }
            }
            _ => 1.0,
        }
    }

    /// Smallest and largest value the distribution allows (normal: unbounded).
    pub fn bounds(&self) -> (f64, f64) {
        match self {
            Value::Constant(x) => (*x, *x),
            Value::Uniform { low, high } => (*low, *high),
            Value::Normal { mean, std: 0.0 } => (*mean, *mean),
            Value::Normal { .. } => (f64::NEG_INFINITY, f64::INFINITY),
            Value::Bounded { base, min, max, .. } => {
                let (lo, hi) = base.bounds();
                (lo.max(*min), hi.min(*max))
            }
            Value::PerNeuron(values) => values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                    (lo.min(x), hi.max(x))
                }),
        }
    }

    /// The values of neurons `0..n` of a population: drawn for neuron `i`
    /// from `stream(i)` (a fresh generator per neuron, so a neuron's value
    /// does not depend on the others), the same constant for all, or the
    /// given list (whose length the reader checked to be `n`).
    pub fn per_neuron(&self, n: usize, stream: impl Fn(usize) -> Xoshiro256pp) -> Vec<f64> {
        match self {
            Value::Constant(x) => vec![*x; n],
            Value::PerNeuron(values) => values.to_vec(),
            _ => (0..n)
                .map(|i| self.sample(&mut stream(i), &mut Normal::new()))
                .collect(),
        }
    }

    /// Whether this is a list of values, one per neuron.
    pub fn is_per_neuron(&self) -> bool {
        matches!(self, Value::PerNeuron(_))
    }

    /// Smallest and largest value a draw can actually give: [`Self::bounds`],
    /// with a normal's tails cut where lifsim's sampler ends
    /// ([`NORMAL_MAX_ABS`] standard deviations from the mean). What a value
    /// must fit in (a delay in 65535 steps).
    pub fn reach(&self) -> (f64, f64) {
        match self {
            Value::Normal { mean, std } => {
                (mean - NORMAL_MAX_ABS * std, mean + NORMAL_MAX_ABS * std)
            }
            Value::Bounded { base, min, max, .. } => {
                let (lo, hi) = base.reach();
                (lo.max(*min), hi.min(*max))
            }
            _ => self.bounds(),
        }
    }

    /// One value, drawn from `rng` (and `normal`'s cached deviate) unless
    /// constant. Per-neuron lists are not drawn but read by index
    /// ([`Self::per_neuron`]); the readers allow them only where that is how
    /// they are read, and `sample` panics on one.
    #[inline]
    pub fn sample(&self, rng: &mut Xoshiro256pp, normal: &mut Normal) -> f64 {
        match self {
            Value::Constant(x) => *x,
            Value::Uniform { low, high } => rng.uniform_range(*low, *high),
            Value::Normal { mean, std } => mean + std * normal.sample(rng),
            Value::Bounded {
                base,
                min,
                max,
                bound: Bound::Redraw,
            } => loop {
                // Ends: `validate` refused bounds that keep less than MIN_KEPT.
                let x = base.sample(rng, normal);
                if *min <= x && x <= *max {
                    return x;
                }
            },
            Value::Bounded {
                base,
                min,
                max,
                bound: Bound::Clip,
            } => base.sample(rng, normal).clamp(*min, *max),
            Value::PerNeuron(_) => {
                panic!("a per-neuron list is read by index, not drawn (Value::per_neuron)")
            }
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Constant(x) => write!(f, "{x}"),
            Value::Uniform { low, high } => write!(f, "uniform({low}, {high})"),
            Value::Normal { mean, std } => write!(f, "normal({mean}, {std})"),
            Value::Bounded {
                base,
                min,
                max,
                bound,
            } => {
                let how = match bound {
                    Bound::Redraw => "redrawn",
                    Bound::Clip => "clipped",
                };
                write!(f, "{base} {how} within [{min}, {max}]")
            }
            Value::PerNeuron(values) => write!(f, "a list of {} values", values.len()),
        }
    }
}

#[cfg(test)]
mod tests;
