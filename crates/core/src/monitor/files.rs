//! Monitors' records as `.npz` files beside a run's spike file (`lifsim run
//! net.toml --out x.npz` writes `x.state.npz` and `x.rate.npz`), each
//! written atomically ([`crate::io::npz::save_npz`]).
//!
//! - `<stem>.state.npz`: per state monitor, under its population's name
//!   (`E`, or `E#2` for a second monitor of `E`): `E/ids` (population-local,
//!   uint64), `E/times_ms` and one array per variable, `E/V_m`, shaped
//!   (samples, neurons). `times_ms` as well where every monitor has the
//!   same times.
//! - `<stem>.rate.npz`: `times_ms` and per population its rate in Hz (`E`)
//!   and spikes per step or bin (`E/counts`, uint64).

use std::path::{Path, PathBuf};

use super::{RateRecord, StateRecord};
use crate::error::Result;
use crate::io::npz::save_npz;

/// The state and rate files of a run whose spikes go to `out`: `out` with
/// its extension replaced by `.state.npz` and `.rate.npz`.
pub fn monitor_paths(out: &Path) -> (PathBuf, PathBuf) {
    let stem = out.with_extension("");
    let with = |ext: &str| {
        let mut s = stem.clone().into_os_string();
        s.push(ext);
        PathBuf::from(s)
    };
    (with(".state.npz"), with(".rate.npz"))
}

/// The key prefix of each record: its population, `#k` added for the
/// `k`-th monitor of the same population.
pub(super) fn prefixes(records: &[StateRecord]) -> Vec<String> {
    records
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let before = records[..k]
                .iter()
                .filter(|s| s.population == r.population)
                .count();
            match before {
                0 => r.population.clone(),
                n => format!("{}#{}", r.population, n + 1),
            }
        })
        .collect()
}

/// Writes state monitors' `records` to `path` (layout above).
pub fn save_state(path: &Path, records: &[StateRecord]) -> Result<()> {
    let names = prefixes(records);
    save_npz(path, |npz| {
        if let Some(first) = records.first() {
            if records.iter().all(|r| r.times_ms == first.times_ms) {
                npz.add("times_ms", &first.times_ms, &[first.times_ms.len()])?;
            }
        }
        for (r, name) in records.iter().zip(&names) {
            let ids: Vec<u64> = r.ids.iter().map(|&i| i as u64).collect();
            npz.add(&format!("{name}/ids"), &ids, &[ids.len()])?;
            let t = &r.times_ms;
            npz.add(&format!("{name}/times_ms"), t, &[t.len()])?;
            for (var, values) in &r.values {
                npz.add(&format!("{name}/{var}"), values, &[t.len(), r.ids.len()])?;
            }
        }
        Ok(())
    })
}

/// Writes the population rates to `path` (layout above).
pub fn save_rate(path: &Path, rate: &RateRecord) -> Result<()> {
    save_npz(path, |npz| {
        let n = rate.times_ms.len();
        npz.add("times_ms", &rate.times_ms, &[n])?;
        for (name, counts, hz) in &rate.populations {
            npz.add(name, hz, &[n])?;
            npz.add(&format!("{name}/counts"), counts, &[n])?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_sit_beside_the_spike_file() {
        let (s, r) = monitor_paths(Path::new("out/run.npz"));
        assert_eq!(s, Path::new("out/run.state.npz"));
        assert_eq!(r, Path::new("out/run.rate.npz"));
        let (s, _) = monitor_paths(Path::new("spikes"));
        assert_eq!(s, Path::new("spikes.state.npz"));
    }

    #[test]
    fn a_population_monitored_twice_gets_numbered_keys() {
        let rec = |p: &str| StateRecord {
            population: p.into(),
            ids: vec![],
            times_ms: vec![],
            values: vec![],
        };
        let names = prefixes(&[rec("E"), rec("I"), rec("E")]);
        assert_eq!(names, ["E", "I", "E#2"]);
    }
}
