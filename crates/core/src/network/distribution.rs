//! Numbers given once for all, or drawn per neuron or per synapse.
//!
//! A network file writes `weight = 0.1` for a constant, or
//! `weight = { distribution = "normal", mean = 0.1, std = 0.02 }` for a value
//! drawn from a distribution (NEST's `nest.random.normal(...)`, Brian2's
//! `'0.1*mV + 0.02*mV*randn()'`). Draws come from the caller's stream
//! (`crate::rng`), so they are the same whatever the thread count.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::{Normal, Xoshiro256pp};

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
}

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
        let ok = match *self {
            Value::Constant(x) => x.is_finite(),
            Value::Uniform { low, high } => low.is_finite() && high.is_finite() && low <= high,
            Value::Normal { mean, std } => mean.is_finite() && std.is_finite() && std >= 0.0,
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

    /// Smallest and largest value a draw can give (normal: unbounded).
    pub fn bounds(&self) -> (f64, f64) {
        match *self {
            Value::Constant(x) => (x, x),
            Value::Uniform { low, high } => (low, high),
            Value::Normal { mean, std: 0.0 } => (mean, mean),
            Value::Normal { .. } => (f64::NEG_INFINITY, f64::INFINITY),
        }
    }

    /// One value, drawn from `rng` (and `normal`'s cached deviate) unless constant.
    #[inline]
    pub fn sample(&self, rng: &mut Xoshiro256pp, normal: &mut Normal) -> f64 {
        match *self {
            Value::Constant(x) => x,
            Value::Uniform { low, high } => rng.uniform_range(low, high),
            Value::Normal { mean, std } => mean + std * normal.sample(rng),
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Constant(x) => write!(f, "{x}"),
            Value::Uniform { low, high } => write!(f, "uniform({low}, {high})"),
            Value::Normal { mean, std } => write!(f, "normal({mean}, {std})"),
        }
    }
}

/// What a TOML file may write for a [`Value`].
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
enum RawValue {
    Float(f64),
    Int(i64),
    Table(RawDistribution),
}

/// The keys a distribution table may have, for messages.
const KEYS: &str = "distribution, low and high (uniform), mean and std (normal)";

/// By hand rather than `untagged`: an untagged enum answers every mistake
/// with "data did not match any variant", where a user needs to hear which
/// key is wrong and which ones there are.
impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(RawValueVisitor)
    }
}

struct RawValueVisitor;

impl<'de> serde::de::Visitor<'de> for RawValueVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a number or a table like {{ distribution = \"normal\", mean = 0.1, std = 0.02 }}"
        )
    }

    fn visit_f64<E: serde::de::Error>(self, x: f64) -> std::result::Result<RawValue, E> {
        Ok(RawValue::Float(x))
    }

    fn visit_i64<E: serde::de::Error>(self, i: i64) -> std::result::Result<RawValue, E> {
        Ok(RawValue::Int(i))
    }

    fn visit_u64<E: serde::de::Error>(self, i: u64) -> std::result::Result<RawValue, E> {
        Ok(RawValue::Float(i as f64))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<RawValue, A::Error> {
        use serde::de::Error as _;
        let mut d = RawDistribution::default();
        while let Some(key) = map.next_key::<String>()? {
            let slot = match key.as_str() {
                "distribution" => {
                    d.distribution = map.next_value()?;
                    continue;
                }
                "low" => &mut d.low,
                "high" => &mut d.high,
                "mean" => &mut d.mean,
                "std" => &mut d.std,
                other => {
                    return Err(A::Error::custom(format!(
                        "unknown key {other:?} in a distribution table; the keys are {KEYS}"
                    )))
                }
            };
            if slot.is_some() {
                return Err(A::Error::custom(format!("{key} is given twice")));
            }
            let x: Number = map.next_value()?;
            *slot = Some(x.0);
        }
        if d.distribution.is_empty() {
            return Err(A::Error::custom(format!(
                "a distribution table needs distribution = \"uniform\" or \"normal\"; the keys are {KEYS}"
            )));
        }
        Ok(RawValue::Table(d))
    }
}

/// A TOML integer or float, as `f64`.
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(NumberVisitor).map(Number)
    }
}

struct NumberVisitor;

impl serde::de::Visitor<'_> for NumberVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number")
    }

    fn visit_f64<E: serde::de::Error>(self, x: f64) -> std::result::Result<f64, E> {
        Ok(x)
    }

    fn visit_i64<E: serde::de::Error>(self, i: i64) -> std::result::Result<f64, E> {
        Ok(i as f64)
    }

    fn visit_u64<E: serde::de::Error>(self, i: u64) -> std::result::Result<f64, E> {
        Ok(i as f64)
    }
}

/// A distribution table as written (read by [`RawValueVisitor`], which
/// refuses unknown keys).
#[derive(Clone, Debug, Default, Serialize)]
struct RawDistribution {
    distribution: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    low: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    high: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    std: Option<f64>,
}

impl TryFrom<RawValue> for Value {
    type Error = String;
    fn try_from(raw: RawValue) -> std::result::Result<Self, String> {
        let d = match raw {
            RawValue::Float(x) => return Ok(Value::Constant(x)),
            RawValue::Int(i) => return Ok(Value::Constant(i as f64)),
            RawValue::Table(d) => d,
        };
        let need = |x: Option<f64>, name: &str| {
            x.ok_or_else(|| format!("distribution {:?} needs {name}", d.distribution))
        };
        let extra = |names: &[(&str, Option<f64>)]| -> std::result::Result<(), String> {
            match names.iter().find(|(_, v)| v.is_some()) {
                Some((n, _)) => Err(format!("distribution {:?} takes no {n}", d.distribution)),
                None => Ok(()),
            }
        };
        match d.distribution.as_str() {
            "uniform" => {
                extra(&[("mean", d.mean), ("std", d.std)])?;
                Ok(Value::Uniform {
                    low: need(d.low, "low")?,
                    high: need(d.high, "high")?,
                })
            }
            "normal" => {
                extra(&[("low", d.low), ("high", d.high)])?;
                Ok(Value::Normal {
                    mean: need(d.mean, "mean")?,
                    std: need(d.std, "std")?,
                })
            }
            other => Err(format!(
                "unknown distribution {other:?}; choose uniform (low, high) or normal (mean, std)"
            )),
        }
    }
}

impl From<Value> for RawValue {
    fn from(v: Value) -> Self {
        let none = RawDistribution::default();
        match v {
            Value::Constant(x) => RawValue::Float(x),
            Value::Uniform { low, high } => RawValue::Table(RawDistribution {
                distribution: "uniform".into(),
                low: Some(low),
                high: Some(high),
                ..none
            }),
            Value::Normal { mean, std } => RawValue::Table(RawDistribution {
                distribution: "normal".into(),
                mean: Some(mean),
                std: Some(std),
                ..none
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Purpose};

    #[derive(Deserialize)]
    struct T {
        w: Value,
    }

    fn parse(s: &str) -> std::result::Result<Value, String> {
        toml::from_str::<T>(s)
            .map(|t| t.w)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn parses_constants_and_distributions() {
        assert_eq!(parse("w = 1.5").unwrap(), Value::Constant(1.5));
        assert_eq!(parse("w = 2").unwrap(), Value::Constant(2.0));
        assert_eq!(
            parse("w = { distribution = \"uniform\", low = -60.0, high = -50.0 }").unwrap(),
            Value::Uniform {
                low: -60.0,
                high: -50.0
            }
        );
        assert_eq!(
            parse("w = { distribution = \"normal\", mean = 1, std = 0.5 }").unwrap(),
            Value::Normal {
                mean: 1.0,
                std: 0.5
            }
        );
        let e = parse("w = { distribution = \"normal\", mean = 1 }").unwrap_err();
        assert!(e.contains("needs std"), "{e}");
        let e = parse("w = { distribution = \"gamma\", mean = 1 }").unwrap_err();
        assert!(e.contains("unknown distribution \"gamma\""), "{e}");
        let e =
            parse("w = { distribution = \"uniform\", low = 0, high = 1, std = 1 }").unwrap_err();
        assert!(e.contains("takes no std"), "{e}");
    }

    #[test]
    fn samples_stay_in_bounds_and_validate() {
        let v = Value::Uniform {
            low: 1.0,
            high: 2.0,
        };
        let mut rng = stream(1, Purpose::Weights, 0);
        let mut n = Normal::new();
        for _ in 0..1000 {
            let x = v.sample(&mut rng, &mut n);
            assert!((1.0..2.0).contains(&x));
        }
        assert!(Value::Uniform {
            low: 2.0,
            high: 1.0
        }
        .validate("weight")
        .is_err());
        assert!(Value::Constant(f64::NAN).validate("weight").is_err());
    }
}
