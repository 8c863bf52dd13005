//! `[record]`'s monitors: `[[record.state]]` tables, `rate` and
//! `[[record.spikes_from]]`, read into [`Monitors`] and checked against the
//! network ([`crate::monitor`]).

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::monitor::{Monitors, Neurons, RateSpec, SpikesFrom, StateMonitorSpec};
use crate::network::description::NetworkDescription;

/// A `[[record.state]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    population: String,
    ids: Option<RawIds>,
    n: Option<usize>,
    variables: Option<Vec<String>>,
    interval: Option<f64>,
    start: Option<f64>,
    stop: Option<f64>,
}

/// A `[[record.spikes_from]]` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpikesFrom {
    population: String,
    ids: Option<RawIds>,
    n: Option<usize>,
}

/// `ids = [0, 5, 9]` or `ids = { start = 10, stop = 60 }` (population-local).
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawIds {
    List(Vec<usize>),
    Range(RawRange),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRange {
    start: usize,
    stop: usize,
}

/// The neurons `ids` or `n` choose (neither: all); `place` names the table.
fn neurons(ids: Option<RawIds>, n: Option<usize>, place: &str) -> Result<Neurons> {
    Ok(match (ids, n) {
        (Some(_), Some(_)) => {
            return Err(Error::param(
                "ids",
                format!("{place}: give one of ids and n"),
            ))
        }
        (Some(RawIds::List(ids)), None) => Neurons::Ids(ids),
        (Some(RawIds::Range(r)), None) => Neurons::Range {
            start: r.start,
            stop: r.stop,
        },
        (None, Some(n)) => Neurons::First(n),
        (None, None) => Neurons::All,
    })
}

/// `[[record.spikes_from]]` as written (the caller checks them against the
/// network, [`crate::monitor::spikes::plan`]).
pub(super) fn spikes_from(tables: Vec<RawSpikesFrom>) -> Result<Vec<SpikesFrom>> {
    let mut out = Vec::new();
    for t in tables {
        let place = format!("spikes_from {:?}", t.population);
        out.push(SpikesFrom {
            neurons: neurons(t.ids, t.n, &place)?,
            population: t.population,
        });
    }
    Ok(out)
}

/// `rate = true` or `rate = { bin = 1.0 }`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawRate {
    On(bool),
    Binned(RawBin),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBin {
    bin: f64,
}

/// The monitors of `[record]`, each checked against `desc` (its
/// populations, models and `dt`), so a bad one is refused when the file is
/// read rather than when the run ends.
pub(super) fn read(
    state: Vec<RawState>,
    rate: Option<RawRate>,
    desc: &NetworkDescription,
) -> Result<Monitors> {
    let mut monitors = Monitors::default();
    for s in state {
        let place = format!("state monitor of {:?}", s.population);
        let neurons = neurons(s.ids, s.n, &place)?;
        let spec = StateMonitorSpec {
            population: s.population,
            neurons,
            variables: s.variables.unwrap_or_else(|| vec!["V_m".into()]),
            interval: s.interval,
            start: s.start,
            stop: s.stop,
        };
        spec.plan(desc)?;
        monitors.state.push(spec);
    }
    monitors.rate = match rate {
        None | Some(RawRate::On(false)) => None,
        Some(RawRate::On(true)) => Some(RateSpec { bin: None }),
        Some(RawRate::Binned(b)) => Some(RateSpec { bin: Some(b.bin) }),
    };
    if let Some(r) = &monitors.rate {
        r.bin_steps(desc)?;
    }
    Ok(monitors)
}

/// `[record]`'s `state_to`: `"memory"` (the default) or `"disk"`; whether
/// the state monitors stream to disk.
pub(super) fn state_to(value: Option<&str>) -> Result<bool> {
    match value {
        None | Some("memory") => Ok(false),
        Some("disk") => Ok(true),
        Some(other) => Err(Error::param(
            "state_to",
            format!("is \"memory\" or \"disk\", got {other:?}"),
        )),
    }
}
