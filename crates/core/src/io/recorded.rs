//! Which neurons a spike file holds the spikes of, when a run recorded some
//! only (`[[record.spikes_from]]`, Python's `Network.record_spikes`).
//!
//! Stored as ascending, disjoint global id ranges `start..stop`, so the
//! common "first K of a population" is one pair however large K, and an id
//! list is at worst a pair per id. A file that records every neuron has no
//! such field at all (so files of runs without a choice keep their bytes):
//!
//! | file | field |
//! |---|---|
//! | events `.npz` | `recorded_starts`, `recorded_stops` (uint64 arrays) |
//! | `.spikes` stream | `"recorded": [[start, stop], ...]` in the JSON header |
//! | SONATA `.h5` | `lifsim_recorded_starts`, `lifsim_recorded_stops` attributes |
//!
//! Readers hand them on as [`crate::io::spikes::SpikeTrain::recorded`], so
//! a rate is over the recorded neurons and a raster draws their rows.

use std::io::{Seek, Write};

use crate::io::npz::NpzWriter;
use crate::io::stream::StreamHeader;

/// Recorded global ids as ascending, disjoint, non-empty `[start, stop)` pairs.
pub type IdRanges = Vec<[u64; 2]>;

/// The ranges of `ids` (ascending, no repeats): runs of consecutive ids merged.
pub fn ranges_of(ids: impl IntoIterator<Item = u64>) -> IdRanges {
    let mut out: IdRanges = Vec::new();
    for id in ids {
        match out.last_mut() {
            Some(last) if last[1] == id => last[1] = id + 1,
            _ => out.push([id, id + 1]),
        }
    }
    out
}

/// Neurons the ranges hold.
pub fn count(ranges: &[[u64; 2]]) -> u64 {
    ranges.iter().map(|r| r[1] - r[0]).sum()
}

/// Neurons of `start..stop` (a population) the ranges hold.
pub fn count_within(ranges: &[[u64; 2]], start: u64, stop: u64) -> u64 {
    ranges
        .iter()
        .map(|r| r[1].min(stop).saturating_sub(r[0].max(start)))
        .sum()
}

/// Whether `id` is in the ranges (binary search: they are ascending).
pub fn contains(ranges: &[[u64; 2]], id: u64) -> bool {
    let k = ranges.partition_point(|r| r[1] <= id);
    ranges.get(k).is_some_and(|r| r[0] <= id)
}

/// The ranges a file states as two arrays, checked: as many starts as
/// stops, each range non-empty, ascending without overlaps, within `n`
/// neurons. `what` names the arrays in the error (`recorded_starts`, ...).
pub fn from_arrays(
    what: &str,
    starts: Vec<u64>,
    stops: Vec<u64>,
    n: u64,
) -> std::result::Result<IdRanges, String> {
    if starts.len() != stops.len() {
        return Err(format!(
            "has {} {what} but {} stops",
            starts.len(),
            stops.len()
        ));
    }
    let ranges: IdRanges = starts.into_iter().zip(stops).map(|(a, b)| [a, b]).collect();
    check(&ranges, n)?;
    Ok(ranges)
}

/// Checks ranges read from a file: each non-empty, ascending, disjoint, below `n`.
pub fn check(ranges: &[[u64; 2]], n: u64) -> std::result::Result<(), String> {
    let mut next = 0;
    for (k, r) in ranges.iter().enumerate() {
        if r[0] >= r[1] || r[0] < next || r[1] > n {
            return Err(format!(
                "recorded range {k} is ids {}..{}; the recorded ranges must be non-empty, ascending, disjoint and within the file's {n} neurons",
                r[0], r[1]
            ));
        }
        next = r[1];
    }
    Ok(())
}

/// Adds what an events `.npz` says of its neurons beyond `n`: the
/// populations (`population_names`, `population_starts`,
/// `population_stops`) and the recorded ranges, each where `header` has them.
pub(crate) fn add_npz_fields<W: Write + Seek>(
    z: &mut NpzWriter<W>,
    header: &StreamHeader,
) -> std::io::Result<()> {
    let pops = &header.populations;
    if !pops.is_empty() {
        let names: Vec<&str> = pops.iter().map(|p| p.name.as_str()).collect();
        z.add_strings("population_names", &names)?;
        let starts: Vec<u64> = pops.iter().map(|p| p.start).collect();
        z.add("population_starts", &starts, &[pops.len()])?;
        let stops: Vec<u64> = pops.iter().map(|p| p.stop).collect();
        z.add("population_stops", &stops, &[pops.len()])?;
    }
    if let Some(r) = &header.recorded {
        let starts: Vec<u64> = r.iter().map(|r| r[0]).collect();
        z.add("recorded_starts", &starts, &[r.len()])?;
        let stops: Vec<u64> = r.iter().map(|r| r[1]).collect();
        z.add("recorded_stops", &stops, &[r.len()])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_ids_are_one_range_each() {
        assert_eq!(ranges_of(0..50), vec![[0, 50]]);
        assert_eq!(
            ranges_of([1, 2, 3, 7, 9, 10]),
            vec![[1, 4], [7, 8], [9, 11]]
        );
        assert!(ranges_of([]).is_empty());
        let r = ranges_of([1, 2, 3, 7, 9, 10]);
        assert_eq!(count(&r), 6);
        assert_eq!(count_within(&r, 2, 10), 4);
        let member: Vec<u64> = (0..12).filter(|&i| contains(&r, i)).collect();
        assert_eq!(member, vec![1, 2, 3, 7, 9, 10]);
    }

    #[test]
    fn ranges_from_a_file_are_checked() {
        assert_eq!(
            from_arrays("recorded_starts", vec![0, 5], vec![2, 6], 6).unwrap(),
            vec![[0, 2], [5, 6]]
        );
        assert!(from_arrays("recorded_starts", vec![0], vec![], 6)
            .unwrap_err()
            .contains("1 recorded_starts but 0 stops"));
        for (a, b) in [
            (vec![0, 1], vec![2, 3]),
            (vec![3], vec![3]),
            (vec![0], vec![7]),
        ] {
            let e = from_arrays("recorded_starts", a, b, 6).unwrap_err();
            assert!(e.contains("must be non-empty, ascending, disjoint"), "{e}");
        }
    }
}
