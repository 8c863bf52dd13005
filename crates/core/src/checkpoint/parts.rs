//! The files of a checkpoint written by MPI ranks: each rank's part beside
//! the manifest, named by the step and the rank, so that a new checkpoint's
//! parts never overwrite those the previous manifest names. The protocol
//! (`NetworkSimulation::save_checkpoint`): every rank writes its part
//! (atomically, under a new name); the ranks report success in a
//! collective; rank 0 then replaces the manifest (atomically) and removes
//! the parts no manifest names any more. A crash at any point leaves the
//! previous manifest with all its parts, or the new one with all of its.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One rank's file of a checkpoint written by ranks, as the manifest
/// records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartFile {
    /// Its file name, in the manifest's folder.
    pub file: String,
    /// The first of its neurons (global id).
    pub start: u64,
    /// One past its last neuron.
    pub end: u64,
    /// Its checksum (its `checksum` member): a part of another checkpoint
    /// under the same name is refused.
    pub checksum: u64,
}

/// The file of rank `rank` of `ranks` for the checkpoint `manifest` at
/// `step`: `<manifest>.step<step>.rank<rank>of<ranks>.npz`, beside it.
pub fn part_path(manifest: &Path, step: u64, rank: usize, ranks: usize) -> PathBuf {
    let name = manifest.file_name().unwrap_or_default().to_string_lossy();
    manifest.with_file_name(format!("{name}.step{step}.rank{rank}of{ranks}.npz"))
}

/// Whether `file` (a name) is a part file of the manifest named `name`.
fn is_part_of(file: &str, name: &str) -> bool {
    let Some(rest) = file
        .strip_prefix(name)
        .and_then(|r| r.strip_prefix(".step"))
        .and_then(|r| r.strip_suffix(".npz"))
    else {
        return false;
    };
    let Some((step, ranks)) = rest.split_once(".rank") else {
        return false;
    };
    let Some((r, k)) = ranks.split_once("of") else {
        return false;
    };
    [step, r, k]
        .iter()
        .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
}

/// Removes the part files of `manifest` (beside it, by their names) other
/// than those named in `keep`: those of earlier checkpoints, once the new
/// manifest is in place. One that cannot be removed (a folder under such a
/// name) does not keep the others: the first such failure is returned
/// once every other is removed.
pub fn remove_stale_parts(manifest: &Path, keep: &[PartFile]) -> Result<()> {
    let name = manifest.file_name().unwrap_or_default().to_string_lossy();
    let dir = match manifest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut first = Ok(());
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if is_part_of(&file, &name) && !keep.iter().any(|p| p.file == file) {
            let path = entry.path();
            if let Err(e) = std::fs::remove_file(&path) {
                first = first.and(Err(Error::io(&path, e)));
            }
        }
    }
    first
}

/// Removes a checkpoint: the file, then the part files beside it (a run
/// that ended has nothing left to resume).
pub fn remove(manifest: &Path) -> Result<()> {
    if manifest.exists() {
        std::fs::remove_file(manifest).map_err(|e| Error::io(manifest, e))?;
    }
    remove_stale_parts(manifest, &[])
}

#[cfg(test)]
mod tests {
    use super::super::{
        load, open, save_manifest, save_part, CheckpointMeta, PartitionState, StateArray, StateData,
    };
    use super::*;

    /// The dense engine's state of neurons `range` (potentials `10 + i`).
    fn part(range: std::ops::Range<usize>) -> PartitionState {
        let v = range.clone().map(|i| 10.0 + i as f64).collect();
        let until = range.clone().map(|i| i as u64).collect();
        PartitionState {
            range,
            arrays: vec![
                StateArray::new("v", 1, StateData::F64(v)),
                StateArray::new("refractory_until", 1, StateData::U64(until)),
            ],
        }
    }

    /// The checkpoint tests' meta of `n` neurons at `step`, naming `parts`.
    fn meta(n: u64, step: u64, parts: Vec<PartFile>) -> CheckpointMeta {
        let p = crate::model::LifParams::default();
        CheckpointMeta {
            parts,
            ..super::super::tests::meta(n as usize, &p, step)
        }
    }

    /// Writes the parts of `ranges` at `steps` (one per part) and a
    /// manifest at `step` of `n` neurons naming them; the load's result.
    fn written(
        dir: &Path,
        n: u64,
        step: u64,
        ranges: &[(std::ops::Range<usize>, u64)],
    ) -> crate::error::Result<(CheckpointMeta, crate::checkpoint::EngineState)> {
        let ck = dir.join("ck.npz");
        let mut files = Vec::new();
        for (r, (range, s)) in ranges.iter().enumerate() {
            let path = part_path(&ck, step, r, ranges.len());
            let checksum = save_part(&path, *s, &part(range.clone())).unwrap();
            files.push(PartFile {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                start: range.start as u64,
                end: range.end as u64,
                checksum,
            });
        }
        save_manifest(&ck, &meta(n, step, files), step, &[1, 4]).unwrap();
        load(&ck)
    }

    #[test]
    fn rank_files_are_stitched_by_neuron_and_checked_against_the_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (_, state) = written(d, 5, 5, &[(0..3, 5), (3..5, 5)]).unwrap();
        assert_eq!(state.pending, vec![1, 4]);
        assert_eq!(state.joined().unwrap(), part(0..5));
        let fails = |n, ranges: &[(std::ops::Range<usize>, u64)]| {
            let e = written(d, n, 5, ranges).unwrap_err().to_string();
            assert_eq!(e.lines().count(), 1, "{e}");
            e
        };
        let e = fails(5, &[(0..3, 5), (4..5, 5)]);
        assert!(
            e.contains("where neuron 3 is next: they do not cover"),
            "{e}"
        );
        let e = fails(6, &[(0..3, 5), (3..5, 5)]);
        assert!(
            e.contains("names rank files of neurons 0..5; the network has 6 neurons"),
            "{e}"
        );
        let e = fails(5, &[(0..3, 5), (3..5, 7)]);
        assert!(
            e.contains("holds step 7, neurons [3, 5]; the manifest"),
            "{e}"
        );
        // A rank file of another checkpoint (other potentials) under the
        // same name.
        written(d, 5, 5, &[(0..3, 5), (3..5, 5)]).unwrap();
        let mut other = part(3..5);
        other.arrays[0].data = StateData::F64(vec![-1.0, -2.0]);
        save_part(&part_path(&d.join("ck.npz"), 5, 1, 2), 5, &other).unwrap();
        let e = load(&d.join("ck.npz")).unwrap_err().to_string();
        assert!(e.contains("is not the rank file"), "{e}");
    }

    #[test]
    fn a_rank_reads_only_the_rank_files_of_its_own_neurons() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ck = d.join("ck.npz");
        let ranges = [(0..3, 5), (3..5, 5), (5..5, 5), (5..8, 5)];
        written(d, 8, 5, &ranges).unwrap();
        let file = |r: usize| part_path(&ck, 5, r, 4);
        let state_of = |neurons: std::ops::Range<usize>| open(&ck).unwrap().1.state_of(neurons);
        let ranges_of = |s: &crate::checkpoint::EngineState| -> Vec<_> {
            s.partitions
                .iter()
                .map(|p| (p.range.start, p.range.end))
                .collect()
        };
        // The last file gone, the first not a checkpoint: neurons 3..5 are
        // still read, from the one file that holds them.
        std::fs::remove_file(file(3)).unwrap();
        std::fs::write(file(0), b"not a zip").unwrap();
        let s = state_of(3..5).unwrap();
        assert_eq!(ranges_of(&s), [(3, 5)]);
        assert_eq!(s.joined().unwrap(), part(3..5));
        assert_eq!((s.step, s.pending), (5, vec![1, 4]), "the manifest's");
        // A range astride files reads each file it overlaps, an empty one
        // the file at its place; every file read is still checked.
        let e = state_of(2..4).unwrap_err().to_string();
        assert!(e.contains("ck.npz.step5.rank0of4.npz"), "{e}");
        assert_eq!(ranges_of(&state_of(4..4).unwrap()), [(3, 5)]);
        let e = state_of(4..6).unwrap_err().to_string();
        assert!(
            e.contains("names the rank file")
                && e.contains("rank3of4.npz (neurons 5..8), which is missing"),
            "{e}"
        );
        let e = state_of(3..9).unwrap_err().to_string();
        assert!(
            e.contains("is a checkpoint of 8 neurons; this process runs neurons 3..9"),
            "{e}"
        );
        let mut other = part(3..5);
        other.arrays[0].data = StateData::F64(vec![-1.0, -2.0]);
        save_part(&file(1), 5, &other).unwrap();
        let e = state_of(3..5).unwrap_err().to_string();
        assert!(e.contains("is not the rank file"), "{e}");
        // One process reads every file, and names the one missing.
        written(d, 8, 5, &ranges).unwrap();
        std::fs::remove_file(file(3)).unwrap();
        assert_eq!(ranges_of(&state_of(0..5).unwrap()), [(0, 3), (3, 5)]);
        let e = load(&ck).unwrap_err().to_string();
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(
            e.contains("rank3of4.npz (neurons 5..8), which is missing"),
            "{e}"
        );
        let e = open(&ck).unwrap().1.state().unwrap_err().to_string();
        assert!(e.contains("which is missing"), "{e}");
    }

    #[test]
    fn stale_parts_are_removed_past_one_that_cannot_be() {
        let dir = tempfile::tempdir().unwrap();
        let ck = dir.path().join("ck.npz");
        let (folder, stale) = (part_path(&ck, 5, 0, 2), part_path(&ck, 5, 1, 2));
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(&stale, b"old").unwrap();
        let e = remove_stale_parts(&ck, &[]).unwrap_err().to_string();
        assert!(e.contains("ck.npz.step5.rank0of2.npz"), "{e}");
        assert!(folder.is_dir() && !stale.exists());
    }

    #[test]
    fn part_files_are_named_by_step_and_rank_and_found_by_name() {
        let p = part_path(Path::new("/x/ck.npz"), 500, 1, 3);
        assert_eq!(p, Path::new("/x/ck.npz.step500.rank1of3.npz"));
        assert!(is_part_of("ck.npz.step500.rank1of3.npz", "ck.npz"));
        for other in [
            "ck.npz",
            "ck.npz.step.rank1of3.npz",
            "ck.npz.step5.rank1of3.npz.tmp",
            "ck2.npz.step5.rank1of3.npz",
            "ck.npz.step5x.rank1of3.npz",
        ] {
            assert!(!is_part_of(other, "ck.npz"), "{other}");
        }
    }
}
