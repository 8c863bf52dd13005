//! Every file lifsim writes goes through this module, so that nothing of the
//! user's is ever lost:
//!
//! - [`OutputFile`] writes a regular file atomically (a hidden temporary file
//!   beside it, renamed into place only when complete) and writes a character
//!   device or a FIFO (`/dev/null`, `/dev/stdout`, a pipe) in place: a rename
//!   never replaces anything but a regular file or nothing. Write errors
//!   (`/dev/full`: "No space left on device") are reported, naming the file.
//! - [`StagedFile`] is the same for writers that need a path of their own
//!   (HDF5, PNG): they write a temporary file, which is renamed into place or
//!   copied into the device.
//! - [`RunFiles`] refuses, before anything runs, two paths of one run (inputs
//!   and outputs) that name the same file: by canonical path and, where the
//!   file exists, by device and inode.
//! - [`lock_exclusive`] keeps two runs from writing one stream.
//! - [`check_writable`] and [`check_space`] refuse, before a long run, an
//!   output that cannot be written or does not fit on its disk.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::resources;

/// What is at an output path before lifsim writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Nothing, or a regular file: written atomically (temporary file, rename).
    Regular,
    /// A character device or a FIFO: written in place, never replaced.
    Device,
}

/// Says how `path` is to be written, or why it cannot be: a folder, a block
/// device or a socket is refused.
pub fn classify(path: &Path) -> Result<Target> {
    if path.file_name().is_none() {
        return Err(Error::file(path, "is not a file path"));
    }
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Target::Regular),
        Err(e) => Err(Error::io(path, e)),
        Ok(m) => {
            let t = m.file_type();
            if t.is_file() {
                Ok(Target::Regular)
            } else if t.is_dir() {
                Err(Error::file(path, "is a directory; give a file name"))
            } else if t.is_char_device() || t.is_fifo() {
                Ok(Target::Device)
            } else {
                Err(Error::file(
                    path,
                    "is neither a regular file nor a character device or FIFO; lifsim does not write there",
                ))
            }
        }
    }
}

/// The path a regular output is really written at: a symbolic link is
/// followed, so the file it points to is replaced and the link kept.
fn resolved(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The hidden temporary file `.NAME.tmp-PID` beside `target`
/// ([`remove_stale_temps`] knows the pattern).
fn temp_beside(target: &Path) -> Result<PathBuf> {
    let name = target
        .file_name()
        .ok_or_else(|| Error::file(target, "is not a file path"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".tmp-{}", std::process::id()));
    Ok(target.with_file_name(temp_name))
}

/// Renames `temp` over `target`, unless `target` has meanwhile become
/// something other than a regular file (then `temp` is removed and nothing
/// is replaced).
fn rename_into_place(temp: &Path, target: &Path) -> Result<()> {
    if let Ok(m) = std::fs::symlink_metadata(target) {
        if !m.file_type().is_file() {
            let _ = std::fs::remove_file(temp);
            return Err(Error::file(
                target,
                "is no longer a regular file; lifsim did not replace it",
            ));
        }
    }
    std::fs::rename(temp, target).map_err(|e| {
        let _ = std::fs::remove_file(temp);
        Error::io(target, e)
    })
}

/// An output file that appears under its name only when complete (a regular
/// file), or a device written in place.
///
/// For a regular file, data goes to a hidden temporary file beside the
/// target; [`OutputFile::commit`] renames it into place. Dropped without a
/// commit (an error, a panic), the temporary file is removed, so no partial
/// output is ever left behind.
pub struct OutputFile {
    target: PathBuf,
    temp: Option<PathBuf>,
    writer: Option<BufWriter<File>>,
}

impl OutputFile {
    /// Starts writing `target`; fails (naming `target`) if it cannot be
    /// written: its folder is missing or not writable, or it is a folder.
    pub fn create(target: &Path) -> Result<Self> {
        let (file, temp) = match classify(target)? {
            Target::Device => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(target)
                    .map_err(|e| Error::io(target, e))?;
                (file, None)
            }
            Target::Regular => {
                let temp = temp_beside(&resolved(target))?;
                let file = File::create(&temp).map_err(|e| Error::io(target, e))?;
                (file, Some(temp))
            }
        };
        Ok(Self {
            target: target.to_path_buf(),
            temp,
            writer: Some(BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// The writer for the file's content.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.writer
            .as_mut()
            .expect("writer is present until commit")
    }

    /// The file this will become.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes, syncs and renames the file into place (a device: flushes,
    /// reporting its write errors).
    pub fn commit(mut self) -> Result<()> {
        let writer = self.writer.take().expect("commit once");
        let file = writer
            .into_inner()
            .map_err(|e| Error::io(&self.target, e.into_error()))?;
        let Some(temp) = self.temp.take() else {
            return Ok(());
        };
        if let Err(e) = file.sync_all() {
            let _ = std::fs::remove_file(&temp);
            return Err(Error::io(&self.target, e));
        }
        drop(file);
        rename_into_place(&temp, &resolved(&self.target))
    }

    /// Maps a write error to an error naming the target file.
    pub fn io_error(&self, e: std::io::Error) -> Error {
        Error::io(&self.target, e)
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.writer().flush()
    }
}

/// An output written through a path by a library that opens files itself
/// (HDF5, the PNG encoder): it writes [`StagedFile::path`], a temporary file,
/// and [`StagedFile::commit`] renames that into place or, for a device,
/// copies it there. Dropped without a commit, the temporary file is removed.
pub struct StagedFile {
    target: PathBuf,
    temp: PathBuf,
    device: bool,
    committed: bool,
}

impl StagedFile {
    /// Starts an output at `target`; fails (naming it) if it cannot be written.
    pub fn create(target: &Path) -> Result<Self> {
        let device = classify(target)? == Target::Device;
        let mut temp = if device {
            let name = target.file_name().unwrap_or_default().to_string_lossy();
            std::env::temp_dir().join(format!(".lifsim-{}-{name}", std::process::id()))
        } else {
            temp_beside(&resolved(target))?
        };
        // Writers that choose the format by extension (the PNG encoder) see it.
        if let Some(ext) = target.extension() {
            let mut name = temp.file_name().unwrap_or_default().to_os_string();
            name.push(".");
            name.push(ext);
            temp.set_file_name(name);
        }
        // Probe now, so an unwritable folder fails before the writer runs.
        File::create(&temp).map_err(|e| Error::io(target, e))?;
        Ok(Self {
            target: target.to_path_buf(),
            temp,
            device,
            committed: false,
        })
    }

    /// The file the writer is to write (it exists, empty, and may be replaced).
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// The file this will become.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Renames the written file into place, or copies it into the device.
    pub fn commit(mut self) -> Result<()> {
        self.committed = true;
        if self.device {
            let result = copy_into_device(&self.temp, &self.target);
            let _ = std::fs::remove_file(&self.temp);
            return result;
        }
        let synced = File::open(&self.temp).and_then(|f| f.sync_all());
        if let Err(e) = synced {
            let _ = std::fs::remove_file(&self.temp);
            return Err(Error::io(&self.target, e));
        }
        rename_into_place(&self.temp, &resolved(&self.target))
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

fn copy_into_device(from: &Path, device: &Path) -> Result<()> {
    let mut src = File::open(from).map_err(|e| Error::io(device, e))?;
    let mut dst = OpenOptions::new()
        .write(true)
        .open(device)
        .map_err(|e| Error::io(device, e))?;
    std::io::copy(&mut src, &mut dst)
        .and_then(|_| dst.flush())
        .map(drop)
        .map_err(|e| Error::io(device, e))
}

/// Writes `bytes` to `path` through an [`OutputFile`].
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = OutputFile::create(path)?;
    file.writer()
        .write_all(bytes)
        .map_err(|e| Error::io(path, e))?;
    file.commit()
}

/// Makes sure `path` can be written before a long run, so an unwritable
/// output fails at once instead of after the simulation. Creates nothing
/// that stays.
pub fn check_writable(path: &Path) -> Result<()> {
    match classify(path)? {
        Target::Device => OpenOptions::new()
            .write(true)
            .open(path)
            .map(drop)
            .map_err(|e| Error::io(path, e)),
        Target::Regular => {
            let probe = OutputFile::create(path)?;
            drop(probe);
            Ok(())
        }
    }
}

/// Fails if `bytes` more would not fit on the filesystem that holds `path`
/// (a device output needs no room). `what` says what the bytes are.
pub fn check_space(path: &Path, bytes: u64, what: &str) -> Result<()> {
    if classify(path)? == Target::Device {
        return Ok(());
    }
    let dir = existing_folder(&resolved(path));
    if let Some(free) = resources::free_disk_bytes(&dir) {
        if bytes > free {
            return Err(Error::file(
                path,
                format!(
                    "{what} needs {} but the disk holding {} has {} free; free some space, or choose a smaller output (--format events, a shorter run)",
                    crate::error::human_bytes(bytes),
                    dir.display(),
                    crate::error::human_bytes(free)
                ),
            ));
        }
    }
    Ok(())
}

/// The nearest folder at or above `path`'s parent that exists.
fn existing_folder(path: &Path) -> PathBuf {
    let mut dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    while !dir.exists() {
        match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => dir = p.to_path_buf(),
            _ => return PathBuf::from("."),
        }
    }
    dir
}

/// Takes an exclusive advisory lock (`flock`) on an open file for as long as
/// `file` stays open; fails at once, naming `path`, while another process
/// holds it.
pub fn lock_exclusive(file: &File, path: &Path, what: &str) -> Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor this process owns, alive for the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Err(Error::file(
            path,
            format!("{what} is being written by another lifsim run; wait for it to end, or give this run another --out"),
        ));
    }
    Err(Error::io(path, e))
}

/// Removes the hidden temporary files (`.NAME.tmp-PID`, see [`OutputFile`])
/// that a killed writer of `target` left, where process PID is gone (Linux's
/// /proc tells; elsewhere nothing is removed).
pub fn remove_stale_temps(target: &Path) {
    let target = resolved(target);
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    if !Path::new("/proc/self").exists() {
        return;
    }
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        let pid: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !pid.is_empty() && !Path::new("/proc").join(&pid).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Whether a path of a run is read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Read by the run (weights, network file, a matrix it names).
    Input,
    /// Written by the run.
    Output,
}

/// The files one run reads and writes, each with the flag or place that
/// named it, checked to be distinct before the run starts.
#[derive(Default, Debug)]
pub struct RunFiles {
    files: Vec<(String, PathBuf, Role)>,
}

/// Where a path points: the canonical path, and device and inode if it exists.
#[derive(Debug, PartialEq)]
struct Identity {
    canonical: PathBuf,
    inode: Option<(u64, u64)>,
    char_device: bool,
}

impl Identity {
    fn same(&self, other: &Identity) -> bool {
        self.canonical == other.canonical || (self.inode.is_some() && self.inode == other.inode)
    }
}

fn identity(path: &Path) -> Identity {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let canonical = std::fs::canonicalize(&absolute).unwrap_or_else(|_| {
        // A file to be created: its folder's canonical path and its name.
        match (absolute.parent(), absolute.file_name()) {
            (Some(dir), Some(name)) => std::fs::canonicalize(dir)
                .map(|d| d.join(name))
                .unwrap_or(absolute.clone()),
            _ => absolute.clone(),
        }
    });
    let meta = std::fs::metadata(path).ok();
    Identity {
        canonical,
        inode: meta.as_ref().map(|m| (m.dev(), m.ino())),
        char_device: meta.is_some_and(|m| m.file_type().is_char_device()),
    }
}

/// Whether two paths name the same file (see [`RunFiles::check`]).
pub fn same_file(a: &Path, b: &Path) -> bool {
    identity(a).same(&identity(b))
}

impl RunFiles {
    /// No files yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A file the run reads, named by `what` (`--weights`, `projection 2 file`).
    pub fn input(&mut self, what: impl Into<String>, path: &Path) -> &mut Self {
        self.files
            .push((what.into(), path.to_path_buf(), Role::Input));
        self
    }

    /// A file the run writes, named by `what` (`--out`, `--checkpoint`).
    pub fn output(&mut self, what: impl Into<String>, path: &Path) -> &mut Self {
        self.files
            .push((what.into(), path.to_path_buf(), Role::Output));
        self
    }

    /// Fails, naming both, if an output is the same file as another output or
    /// an input. Character devices (`/dev/null`) may take several outputs.
    pub fn check(&self) -> Result<()> {
        let ids: Vec<Identity> = self.files.iter().map(|(_, p, _)| identity(p)).collect();
        for (j, (what_j, path_j, role_j)) in self.files.iter().enumerate() {
            for (i, (what_i, _, role_i)) in self.files[..j].iter().enumerate() {
                if *role_i == Role::Input && *role_j == Role::Input {
                    continue;
                }
                let (a, b) = (&ids[i], &ids[j]);
                if !a.same(b)
                    || (a.char_device && *role_i == Role::Output && *role_j == Role::Output)
                {
                    continue;
                }
                let why = if *role_i == Role::Input || *role_j == Role::Input {
                    "a run never writes over a file it reads"
                } else {
                    "give each output its own file"
                };
                return Err(Error::file(
                    path_j,
                    format!("{what_j} and {what_i} are the same file; {why}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_file_leaves_nothing_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.npy");
        {
            let mut f = OutputFile::create(&target).unwrap();
            f.writer().write_all(b"partial").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_bytes(&target, b"whole").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn unwritable_path_is_named() {
        let err = check_writable(Path::new("/nonexistent-dir/out.npy")).unwrap_err();
        assert!(
            err.to_string().starts_with("/nonexistent-dir/out.npy: "),
            "{err}"
        );
    }

    #[test]
    fn a_device_is_written_in_place_and_its_errors_reported() {
        write_bytes(Path::new("/dev/null"), b"gone").unwrap();
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        if Path::new("/dev/full").exists() {
            let err = write_bytes(Path::new("/dev/full"), &[0u8; 4096]).unwrap_err();
            assert!(err.to_string().starts_with("/dev/full: "), "{err}");
            assert!(err.to_string().contains("space"), "{err}");
        }
    }

    #[test]
    fn a_symlink_is_kept_and_its_file_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        let link = dir.path().join("link.txt");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_bytes(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
    }

    #[test]
    fn same_files_are_found_by_path_and_by_inode() {
        let dir = tempfile::tempdir().unwrap();
        let w = dir.path().join("w.npy");
        std::fs::write(&w, "x").unwrap();
        let hard = dir.path().join("hard.npy");
        std::fs::hard_link(&w, &hard).unwrap();
        let dotted = dir.path().join(".").join("w.npy");
        let fresh = dir.path().join("out.npz");
        let err = RunFiles::new()
            .input("--weights", &w)
            .output("--out", &dotted)
            .check()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("--out and --weights are the same file"),
            "{err}"
        );
        assert!(RunFiles::new()
            .input("--weights", &w)
            .output("--checkpoint", &hard)
            .check()
            .is_err());
        // A file still to be created is found by its folder's canonical path.
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(RunFiles::new()
            .output("--out", &fresh)
            .output("--json", &dir.path().join("sub/../out.npz"))
            .check()
            .is_err());
        assert!(RunFiles::new()
            .input("--weights", &w)
            .input("--config", &hard)
            .output("--out", &fresh)
            .output("--json", Path::new("/dev/null"))
            .output("--plot", Path::new("/dev/null"))
            .check()
            .is_ok());
    }

    #[test]
    fn a_lock_is_exclusive_between_open_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.spikes");
        let a = File::create(&path).unwrap();
        let b = OpenOptions::new().write(true).open(&path).unwrap();
        lock_exclusive(&a, &path, "the stream").unwrap();
        let err = lock_exclusive(&b, &path, "the stream").unwrap_err();
        assert!(err.to_string().contains("another lifsim run"), "{err}");
        drop(a);
        lock_exclusive(&b, &path, "the stream").unwrap();
    }
}
