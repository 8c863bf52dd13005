//! Files in and out: `.npy` and `.npz` arrays, and output written atomically.
//! Spike output streams to disk while a run goes ([`stream`]) and is written
//! in the format asked for at the end ([`spikes`], and `sonata` with the `sonata` feature).

pub mod npy;
pub mod npz;
#[cfg(feature = "sonata")]
pub mod sonata;
pub mod spikes;
pub mod stream;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// An output file that appears under its name only when complete.
///
/// Data goes to a hidden temporary file beside the target; [`AtomicFile::commit`]
/// renames it into place. Dropped without a commit (an error, a panic), the
/// temporary file is removed, so no partial output is ever left behind.
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Starts writing `target`; fails (naming `target`) if its folder is not writable.
    pub fn create(target: &Path) -> Result<Self> {
        let name = target
            .file_name()
            .ok_or_else(|| Error::file(target, "is not a file path"))?;
        if target.is_dir() {
            return Err(Error::file(target, "is a directory; give a file name"));
        }
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".tmp-{}", std::process::id()));
        let temp = target.with_file_name(temp_name);
        let file = File::create(&temp).map_err(|e| Error::io(target, e))?;
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

    /// Flushes, syncs and renames the file into place.
    pub fn commit(mut self) -> Result<()> {
        let writer = self.writer.take().expect("commit once");
        let file = writer
            .into_inner()
            .map_err(|e| Error::io(&self.target, e.into_error()))?;
        file.sync_all().map_err(|e| Error::io(&self.target, e))?;
        drop(file);
        std::fs::rename(&self.temp, &self.target).map_err(|e| Error::io(&self.target, e))
    }

    /// Maps a write error to an error naming the target file.
    pub fn io_error(&self, e: std::io::Error) -> Error {
        Error::io(&self.target, e)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes one array as an `.npy` file, atomically.
pub fn save_npy<T: npy::NpyElem>(
    path: &Path,
    values: &[T],
    shape: &[usize],
    fortran_order: bool,
) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    npy::write_npy(file.writer(), values, shape, fortran_order).map_err(|e| file.io_error(e))?;
    file.commit()
}

/// Makes sure `path`'s folder exists and is writable before a long run, so an
/// unwritable output path fails at once instead of after the simulation.
pub fn check_writable(path: &Path) -> Result<()> {
    let probe = AtomicFile::create(path)?;
    drop(probe);
    Ok(())
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.writer().flush()
    }
}

/// Reads a 1-D float array of `n` values (`what` names it in errors: `i_ext`, `v0`).
pub fn load_vector(path: &Path, what: &str, n: usize) -> Result<Vec<f64>> {
    let array = npy::NpyArray::open(path)?;
    let h = array.header();
    if !matches!(h.elem, npy::Elem::F64 | npy::Elem::F32) {
        return Err(Error::file(
            path,
            format!(
                "{what} has dtype {}; it must be float32 or float64",
                h.elem.name()
            ),
        ));
    }
    if h.shape != [n] {
        return Err(Error::file(
            path,
            format!(
                "{what} must have shape ({n},), one value per neuron, got {}",
                npy::shape_str(&h.shape)
            ),
        ));
    }
    let values = array.to_f64_vec();
    if let Some(k) = values.iter().position(|x| !x.is_finite()) {
        return Err(Error::file(
            path,
            format!("{what}[{k}] is {}; values must be finite", values[k]),
        ));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_file_leaves_nothing_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.npy");
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.writer().write_all(b"partial").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        save_npy(&target, &[1.0f64, 2.0], &[2], false).unwrap();
        assert!(target.exists());
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
}
