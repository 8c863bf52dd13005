//! Reading a `[[projection]]`: its populations, connection rule, weight,
//! delay and synapse.

use std::path::PathBuf;

use serde::Deserialize;

use super::{
    bad, check_conductance, check_distinct, finite, value_field, within, OneOrMany, RawValueField,
};
use crate::error::Result;
use crate::network::description::{NetworkDescription, Projection, Rule};
use crate::network::distribution::Value;
use crate::synapses::SynapseKind;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProjection {
    source: OneOrMany,
    target: OneOrMany,
    rule: String,
    p: Option<f64>,
    indegree: Option<usize>,
    file: Option<PathBuf>,
    weight_scale: Option<f64>,
    allow_autapses: Option<bool>,
    allow_multapses: Option<bool>,
    weight: RawValueField,
    delay: RawValueField,
    synapse: Option<String>,
    tau_syn: Option<f64>,
    e_rev: Option<f64>,
}

impl NetworkDescription {
    pub(super) fn projection(&self, p: RawProjection, k: usize, text: &str) -> Result<Projection> {
        let source = p.source.into_vec();
        let target = p.target.into_vec();
        let place = format!(
            "projection {} ({} -> {})",
            k + 1,
            source.join(", "),
            target.join(", ")
        );
        check_distinct(&source, "source", &place)?;
        check_distinct(&target, "target", &place)?;
        let p_weight = value_field(p.weight, "weight", &place, text)?;
        let p_delay = value_field(p.delay, "delay", &place, text)?;
        let n_src: usize = self.sizes(&source, &place)?;
        let n_tgt: usize = self.sizes(&target, &place)?;
        let synapse = SynapseKind::parse(p.synapse.as_deref(), p.tau_syn, p.e_rev)
            .map_err(|e| within("synapse", &place, e))?;
        let only = |name: &'static str, present: bool, rule: &str| -> Result<()> {
            if present {
                bad(name, &place, format!("is not a parameter of rule {rule:?}"))
            } else {
                Ok(())
            }
        };
        let rule_name = p.rule.as_str();
        const RULES: [&str; 5] = [
            "all_to_all",
            "one_to_one",
            "fixed_probability",
            "fixed_indegree",
            "from_file",
        ];
        if !RULES.contains(&rule_name) {
            return bad(
                "rule",
                &place,
                format!("unknown rule {rule_name:?}; choose {}", RULES.join(", ")),
            );
        }
        if rule_name != "fixed_probability" {
            only("p", p.p.is_some(), rule_name)?;
        }
        if rule_name != "fixed_indegree" {
            only("indegree", p.indegree.is_some(), rule_name)?;
        }
        let rule = match rule_name {
            "all_to_all" | "from_file" if p.file.is_some() => {
                let path = self.base_dir.join(p.file.as_ref().expect("checked"));
                if p_weight.is_some() {
                    return bad("weight", &place, "weights come from the file; scale them with weight_scale");
                }
                let scale = finite("weight_scale", &place, p.weight_scale.unwrap_or(1.0))?;
                Rule::File { path, scale }
            }
            "from_file" => return bad("file", &place, "rule \"from_file\" needs file = \"W.npy\" or \"W.npz\""),
            "all_to_all" => Rule::AllToAll,
            "one_to_one" => {
                if n_src != n_tgt {
                    return bad(
                        "rule",
                        &place,
                        format!("one_to_one needs equal sizes, got {n_src} sources and {n_tgt} targets"),
                    );
                }
                Rule::OneToOne
            }
            "fixed_probability" => {
                let Some(prob) = p.p else {
                    return bad("p", &place, "rule \"fixed_probability\" needs p");
                };
                if !(0.0..=1.0).contains(&prob) {
                    return bad("p", &place, format!("must be in [0, 1], got {prob}"));
                }
                Rule::FixedProbability { p: prob }
            }
            "fixed_indegree" => {
                let Some(indegree) = p.indegree else {
                    return bad("indegree", &place, "rule \"fixed_indegree\" needs indegree");
                };
                Rule::FixedIndegree { indegree }
            }
            other => {
                return bad(
                    "rule",
                    &place,
                    format!(
                        "unknown rule {other:?}; choose all_to_all, one_to_one, fixed_probability, fixed_indegree or from_file"
                    ),
                )
            }
        };
        if !matches!(rule, Rule::File { .. }) {
            only("weight_scale", p.weight_scale.is_some(), rule_name)?;
            only("file", p.file.is_some(), rule_name)?;
        }
        let allow_autapses = p.allow_autapses.unwrap_or(true);
        let allow_multapses = p.allow_multapses.unwrap_or(true);
        if let Rule::FixedIndegree { indegree } = rule {
            if !allow_multapses {
                // Without autapses a target that is also a source has one source fewer.
                let available = n_src - usize::from(!allow_autapses);
                if indegree > available {
                    return bad(
                        "indegree",
                        &place,
                        format!("{indegree} distinct sources wanted but only {available} can connect (allow_multapses = false)"),
                    );
                }
            }
            if n_src == 0 && indegree > 0 {
                return bad("indegree", &place, "the source populations are empty");
            }
            // A lone source that is also the target has nothing to draw.
            let overlap = source.iter().any(|s| target.contains(s));
            if !allow_autapses && n_src == 1 && overlap && indegree > 0 {
                return bad(
                    "indegree",
                    &place,
                    "the only source is the target itself and allow_autapses = false",
                );
            }
        }
        let weight = match (p_weight, &rule) {
            (Some(w), _) => w,
            // Unused: the file holds the weights.
            (None, Rule::File { .. }) => Value::Constant(1.0),
            (None, _) => {
                return bad(
                    "weight",
                    &place,
                    "needs a weight (mV for delta synapses, nA for exponential ones)",
                )
            }
        };
        weight
            .validate("weight")
            .map_err(|e| within("weight", &place, e))?;
        check_conductance(&synapse, weight.bounds().0, &place)?;
        let delay = p_delay.unwrap_or(Value::Constant(self.dt * synapse.min_delay_steps() as f64));
        delay
            .validate("delay")
            .map_err(|e| within("delay", &place, e))?;
        let (lo, hi) = delay.bounds();
        if matches!(delay, Value::Normal { .. }) && lo.is_infinite() {
            return bad(
                "delay",
                &place,
                "a normal distribution can give negative delays; use a uniform one",
            );
        }
        let min = synapse.min_delay_steps() as i64;
        if self.delay_steps(lo) < min {
            return bad(
                "delay",
                &place,
                format!(
                    "{lo} ms is below the minimum of {min} step(s) of {} ms for {synapse} synapses",
                    self.dt
                ),
            );
        }
        if self.delay_steps(hi) > u16::MAX as i64 {
            return bad("delay", &place, format!("{hi} ms is more than 65535 steps"));
        }
        Ok(Projection {
            source,
            target,
            rule,
            allow_autapses,
            allow_multapses,
            weight,
            delay,
            synapse,
        })
    }
}
