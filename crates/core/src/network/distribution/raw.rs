//! What a TOML file may write for a [`Value`], read by hand so that every
//! mistake names the wrong key and the keys there are.

use serde::{Deserialize, Serialize};

use super::{Bound, Value};

/// A number or a distribution table, as written.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub(super) enum RawValue {
    Float(f64),
    Int(i64),
    Table(RawDistribution),
    /// One value per neuron.
    List(Vec<f64>),
}

/// The keys a distribution table may have, for messages.
const KEYS: &str = "distribution, low and high (uniform), mean and std (normal), \
                    min, max and bound (redraw or clip)";

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
            "a number, a table like {{ distribution = \"normal\", mean = 0.1, std = 0.02 }} or a list of numbers"
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

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<RawValue, A::Error> {
        let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Number(x)) = seq.next_element()? {
            values.push(x);
        }
        Ok(RawValue::List(values))
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
                "bound" => {
                    if d.bound.is_some() {
                        return Err(A::Error::custom("bound is given twice"));
                    }
                    d.bound = Some(map.next_value()?);
                    continue;
                }
                "low" => &mut d.low,
                "high" => &mut d.high,
                "mean" => &mut d.mean,
                "std" => &mut d.std,
                "min" => &mut d.min,
                "max" => &mut d.max,
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
pub(super) struct RawDistribution {
    distribution: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    low: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    high: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    std: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bound: Option<String>,
}

impl TryFrom<RawValue> for Value {
    type Error = String;
    fn try_from(raw: RawValue) -> std::result::Result<Self, String> {
        let d = match raw {
            RawValue::Float(x) => return Ok(Value::Constant(x)),
            RawValue::Int(i) => return Ok(Value::Constant(i as f64)),
            RawValue::Table(d) => d,
            RawValue::List(values) => return Ok(Value::PerNeuron(values.into())),
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
        let base = match d.distribution.as_str() {
            "uniform" => {
                extra(&[("mean", d.mean), ("std", d.std)])?;
                Value::Uniform {
                    low: need(d.low, "low")?,
                    high: need(d.high, "high")?,
                }
            }
            "normal" => {
                extra(&[("low", d.low), ("high", d.high)])?;
                Value::Normal {
                    mean: need(d.mean, "mean")?,
                    std: need(d.std, "std")?,
                }
            }
            other => {
                return Err(format!(
                "unknown distribution {other:?}; choose uniform (low, high) or normal (mean, std)"
            ))
            }
        };
        let bound = match d.bound.as_deref() {
            None if d.min.is_none() && d.max.is_none() => return Ok(base),
            None => {
                return Err(
                    "min and max need bound = \"redraw\" (draw again until inside, NEST's \
                     nest.math.redraw) or bound = \"clip\" (take the nearer bound)"
                        .into(),
                )
            }
            Some(_) if d.min.is_none() && d.max.is_none() => {
                return Err("bound needs min, max or both".into())
            }
            Some("redraw") => Bound::Redraw,
            Some("clip") => Bound::Clip,
            Some(other) => return Err(format!("unknown bound {other:?}; choose redraw or clip")),
        };
        Ok(Value::Bounded {
            base: Box::new(base),
            min: d.min.unwrap_or(f64::NEG_INFINITY),
            max: d.max.unwrap_or(f64::INFINITY),
            bound,
        })
    }
}

impl From<Value> for RawValue {
    fn from(v: Value) -> Self {
        let none = RawDistribution::default();
        match v {
            Value::Constant(x) => RawValue::Float(x),
            Value::PerNeuron(values) => RawValue::List(values.to_vec()),
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
            Value::Bounded {
                base,
                min,
                max,
                bound,
            } => {
                match RawValue::from(*base) {
                    RawValue::Table(table) => RawValue::Table(RawDistribution {
                        min: (min != f64::NEG_INFINITY).then_some(min),
                        max: (max != f64::INFINITY).then_some(max),
                        bound: Some(bound.name().into()),
                        ..table
                    }),
                    // A constant base (files never make one) is its value, kept within bounds.
                    RawValue::Float(x) => RawValue::Float(x.clamp(min, max)),
                    RawValue::Int(i) => RawValue::Float((i as f64).clamp(min, max)),
                    // Not a distribution (the reader never bounds a list).
                    list @ RawValue::List(_) => list,
                }
            }
        }
    }
}
