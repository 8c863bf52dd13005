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
/// manifest is in place.
pub fn remove_stale_parts(manifest: &Path, keep: &[PartFile]) -> Result<()> {
    let name = manifest.file_name().unwrap_or_default().to_string_lossy();
    let dir = match manifest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if is_part_of(&file, &name) && !keep.iter().any(|p| p.file == file) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
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
    use super::*;

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
