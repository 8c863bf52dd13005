//! Reading a `[[projection]]`: its populations, connection rule, weight,
//! delay and synapse.

use std::path::PathBuf;

use serde::Deserialize;

use super::{
    bad, check_conductance, check_distinct, finite, value_field, within, OneOrMany, RawValueField,
};
use crate::error::Result;
use crate::network::description::{Connectivity, NetworkDescription, Projection, Rule};
use crate::network::distribution::Value;
use crate::synapses::SynapseKind;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProjection {
    pub(super) source: OneOrMany,
    pub(super) target: OneOrMany,
    pub(super) rule: String,
    pub(super) p: Option<f64>,
    pub(super) indegree: Option<usize>,
    pub(super) outdegree: Option<usize>,
    /// NEST writes `N`.
    #[serde(alias = "N")]
    pub(super) n: Option<u64>,
    pub(super) file: Option<PathBuf>,
    pub(super) weight_scale: Option<f64>,
    pub(super) allow_autapses: Option<bool>,
    pub(super) allow_multapses: Option<bool>,
    pub(super) weight: RawValueField,
    pub(super) delay: RawValueField,
    pub(super) synapse: Option<String>,
    pub(super) tau_syn: Option<f64>,
    pub(super) e_rev: Option<f64>,
    pub(super) connectivity: Option<String>,
}

impl NetworkDescription {
    /// Projection number `k`; `connectivity`: the file's, where the
    /// projection does not say its own.
    pub(super) fn projection(
        &self,
        p: RawProjection,
        k: usize,
        text: &str,
        connectivity: Connectivity,
    ) -> Result<Projection> {
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
        for (name, v) in [("weight", &p_weight), ("delay", &p_delay)] {
            if v.as_ref().is_some_and(Value::is_per_neuron) {
                return bad(
                    name,
                    &place,
                    "a list of values is one per neuron, for a population's i_ext and v0; \
                     per-synapse weights come from a matrix (rule = \"from_file\")",
                );
            }
        }
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
        const RULES: [&str; 8] = [
            "all_to_all",
            "one_to_one",
            "fixed_probability",
            "pairwise_bernoulli",
            "fixed_indegree",
            "fixed_outdegree",
            "fixed_total_number",
            "from_file",
        ];
        if !RULES.contains(&rule_name) {
            return bad(
                "rule",
                &place,
                format!("unknown rule {rule_name:?}; choose {}", RULES.join(", ")),
            );
        }
        let bernoulli = matches!(rule_name, "fixed_probability" | "pairwise_bernoulli");
        only("p", p.p.is_some() && !bernoulli, rule_name)?;
        only(
            "indegree",
            p.indegree.is_some() && rule_name != "fixed_indegree",
            rule_name,
        )?;
        only(
            "outdegree",
            p.outdegree.is_some() && rule_name != "fixed_outdegree",
            rule_name,
        )?;
        only(
            "n",
            p.n.is_some() && rule_name != "fixed_total_number",
            rule_name,
        )?;
        let rule = match rule_name {
            "all_to_all" | "from_file" if p.file.is_some() => {
                let path = self.base_dir.join(p.file.as_ref().expect("checked"));
                if p_weight.is_some() {
                    return bad(
                        "weight",
                        &place,
                        "weights come from the file; scale them with weight_scale",
                    );
                }
                let scale = finite("weight_scale", &place, p.weight_scale.unwrap_or(1.0))?;
                Rule::File { path, scale }
            }
            "from_file" => {
                return bad(
                    "file",
                    &place,
                    "rule \"from_file\" needs file = \"W.npy\" or \"W.npz\"",
                )
            }
            "all_to_all" => Rule::AllToAll,
            "one_to_one" => {
                if n_src != n_tgt {
                    return bad(
                        "rule",
                        &place,
                        format!(
                            "one_to_one needs equal sizes, got {n_src} sources and {n_tgt} targets"
                        ),
                    );
                }
                Rule::OneToOne
            }
            "fixed_probability" | "pairwise_bernoulli" => {
                let Some(prob) = p.p else {
                    return bad("p", &place, format!("rule {rule_name:?} needs p"));
                };
                if !(0.0..=1.0).contains(&prob) {
                    return bad("p", &place, format!("must be in [0, 1], got {prob}"));
                }
                Rule::FixedProbability { p: prob }
            }
            "fixed_indegree" => match p.indegree {
                Some(indegree) => Rule::FixedIndegree { indegree },
                None => return bad("indegree", &place, "rule \"fixed_indegree\" needs indegree"),
            },
            "fixed_outdegree" => match p.outdegree {
                Some(outdegree) => Rule::FixedOutdegree { outdegree },
                None => {
                    return bad(
                        "outdegree",
                        &place,
                        "rule \"fixed_outdegree\" needs outdegree (the number of targets of each source)",
                    )
                }
            },
            _ => match p.n {
                Some(n) => Rule::FixedTotalNumber { n },
                None => {
                    return bad(
                        "n",
                        &place,
                        "rule \"fixed_total_number\" needs n (the number of synapses; NEST's N)",
                    )
                }
            },
        };
        if !matches!(rule, Rule::File { .. }) {
            only("weight_scale", p.weight_scale.is_some(), rule_name)?;
            only("file", p.file.is_some(), rule_name)?;
        }
        let allow_autapses = p.allow_autapses.unwrap_or(true);
        let allow_multapses = p.allow_multapses.unwrap_or(true);
        // Neurons that are sources and targets at once (whole populations).
        let shared: usize = source
            .iter()
            .filter(|s| target.contains(s))
            .map(|s| self.sizes(std::slice::from_ref(s), &place))
            .sum::<Result<usize>>()?;
        let overlap = shared > 0;
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
            if !allow_autapses && n_src == 1 && overlap && indegree > 0 {
                return bad(
                    "indegree",
                    &place,
                    "the only source is the target itself and allow_autapses = false",
                );
            }
        }
        if let Rule::FixedOutdegree { outdegree } = rule {
            // A source that is also a target, without autapses, has one target fewer.
            let available = n_tgt - usize::from(!allow_autapses && overlap);
            if !allow_multapses && outdegree > available {
                return bad(
                    "outdegree",
                    &place,
                    format!("{outdegree} distinct targets wanted but only {available} can be reached (allow_multapses = false)"),
                );
            }
            if available == 0 && outdegree > 0 {
                return bad(
                    "outdegree",
                    &place,
                    "the only target is the source itself and allow_autapses = false",
                );
            }
        }
        if let Rule::FixedTotalNumber { n } = rule {
            if !allow_multapses {
                return bad(
                    "allow_multapses",
                    &place,
                    "fixed_total_number draws its pairs with replacement; allow_multapses = false is not supported (nor by NEST)",
                );
            }
            // Every pair, less the autapses where they are not allowed.
            let pairs =
                n_src as u128 * n_tgt as u128 - if allow_autapses { 0 } else { shared as u128 };
            if pairs == 0 && n > 0 {
                return bad(
                    "n",
                    &place,
                    "no pair can connect: the only source is the target itself and allow_autapses = false",
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
        let lo = delay.bounds().0;
        // What a draw can reach: lifsim's normal deviates end 12 std out.
        let hi = delay.reach().1;
        if lo.is_infinite() {
            return bad(
                "delay",
                &place,
                format!(
                    "a normal distribution can give negative delays; bound it (min = {}, bound = \"redraw\": NEST's nest.math.redraw) or use a uniform one",
                    self.dt * synapse.min_delay_steps().max(1) as f64 / 2.0
                ),
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
        let connectivity = match p.connectivity {
            Some(c) => c.parse().map_err(|e| within("connectivity", &place, e))?,
            None => connectivity,
        };
        Ok(Projection {
            connectivity,
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
