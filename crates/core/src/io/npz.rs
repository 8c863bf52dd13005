//! `.npz` archives: NumPy's zip of `.npy` members (`numpy.savez`,
//! `scipy.sparse.save_npz`).

use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::io::npy::{self, NpyArray, NpyElem};
use crate::io::output::OutputFile;
use crate::resources;

/// An open `.npz` archive.
pub struct NpzReader {
    path: std::path::PathBuf,
    archive: zip::ZipArchive<std::fs::File>,
    file_len: u64,
}

impl NpzReader {
    /// Opens `path`; fails with a one-line error if it is not a zip archive.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let archive = zip::ZipArchive::new(file)
            .map_err(|e| Error::file(path, format!("not an .npz archive ({e})")))?;
        Ok(Self {
            path: path.to_path_buf(),
            archive,
            file_len,
        })
    }

    /// The array names in the archive (member names without `.npy`).
    pub fn names(&self) -> Vec<String> {
        self.archive
            .file_names()
            .filter_map(|n| n.ok())
            .map(|n| n.strip_suffix(".npy").unwrap_or(&n).to_string())
            .collect()
    }

    /// Reads array `name`; fails naming the archive and the member if it is
    /// missing or malformed.
    pub fn array(&mut self, name: &str) -> Result<NpyArray> {
        let label = Path::new(&format!("{}:{name}", self.path.display())).to_path_buf();
        let bytes = self.member_bytes(name)?;
        NpyArray::from_bytes(&label, bytes)
    }

    /// The raw bytes of member `name.npy` (header included), for arrays whose
    /// element type [`NpyArray`] does not take, such as scipy's `format` string.
    pub fn member_bytes(&mut self, name: &str) -> Result<Vec<u8>> {
        let label = Path::new(&format!("{}:{name}", self.path.display())).to_path_buf();
        let mut member = self
            .archive
            .by_name(&format!("{name}.npy"))
            .map_err(|_| Error::file(&self.path, format!("has no array named {name:?}")))?;
        let size = member.size();
        check_member_size(&label, &member, self.file_len)?;
        resources::check_allocation(
            label.display().to_string(),
            Some(size),
            "is the archive corrupt?",
        )?;
        // The size is the archive's claim: reserve at most a little up front and
        // read no more than it says, so a lie costs nothing.
        let mut bytes = Vec::with_capacity(size.min(1 << 20) as usize);
        (&mut member)
            .take(size)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::file(&label, format!("cannot be read ({e})")))?;
        if bytes.len() as u64 != size {
            return Err(Error::file(
                &label,
                format!(
                    "truncated: the archive says {size} bytes but holds {}",
                    bytes.len()
                ),
            ));
        }
        // Reading on to the member's end is what makes the zip reader check
        // its CRC-32: a changed byte is an error, not a silently wrong value.
        match member.read(&mut [0u8; 1]) {
            Ok(0) => Ok(bytes),
            Ok(_) => Err(Error::file(
                &label,
                format!("corrupt archive: the member holds more than its {size} bytes"),
            )),
            Err(e) => Err(Error::file(
                &label,
                format!("corrupt archive member ({e}): its bytes are not the ones written"),
            )),
        }
    }
}

/// Deflate cannot expand data by more than about 1032 to 1; a member that
/// claims more is corrupt, and one stored uncompressed cannot be larger than
/// the archive. Checked before the claimed size is believed.
fn check_member_size<R: Read>(
    label: &Path,
    member: &zip::read::ZipFile<'_, R>,
    file_len: u64,
) -> Result<()> {
    const MAX_RATIO: u64 = 1100;
    let (size, packed) = (member.size(), member.compressed_size());
    let stored = member.compression() == zip::CompressionMethod::Stored;
    let limit = if stored {
        packed.min(file_len)
    } else {
        packed.saturating_mul(MAX_RATIO)
    };
    if size > limit || packed > file_len {
        return Err(Error::file(
            label,
            format!(
                "corrupt archive: the member claims {size} bytes from {packed} compressed, in a file of {file_len}"
            ),
        ));
    }
    Ok(())
}

/// Writes named arrays into an `.npz` archive (uncompressed, like `numpy.savez`).
pub struct NpzWriter<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
}

impl<W: Write + Seek> NpzWriter<W> {
    /// An archive written to `out`.
    pub fn new(out: W) -> Self {
        Self {
            zip: zip::ZipWriter::new(out),
        }
    }

    /// Adds a 1-D or N-D array (row-major) under `name`.
    pub fn add<T: NpyElem>(
        &mut self,
        name: &str,
        values: &[T],
        shape: &[usize],
    ) -> std::io::Result<()> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(values.len() * T::ELEM.size() > u32::MAX as usize / 2);
        self.zip
            .start_file(format!("{name}.npy"), options)
            .map_err(std::io::Error::other)?;
        npy::write_npy(&mut self.zip, values, shape, false)
    }

    /// Adds an array under `name` whose data `write` streams in (little-endian
    /// `elem` values, row-major, exactly as many as `shape` holds), so arrays
    /// larger than memory can be written.
    pub fn add_streamed(
        &mut self,
        name: &str,
        elem: npy::Elem,
        shape: &[usize],
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let bytes = shape.iter().product::<usize>() * elem.size();
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(bytes > u32::MAX as usize / 2);
        self.zip
            .start_file(format!("{name}.npy"), options)
            .map_err(std::io::Error::other)?;
        self.zip.write_all(&npy::header_bytes(elem, false, shape))?;
        let mut counted = CountingWriter {
            inner: &mut self.zip,
            bytes: 0,
        };
        write(&mut counted)?;
        if counted.bytes != bytes as u64 {
            return Err(std::io::Error::other(format!(
                "{name}: wrote {} bytes of data where its shape needs {bytes}",
                counted.bytes
            )));
        }
        Ok(())
    }

    /// Adds a 1-D array of strings under `name` (NumPy `<U`, see
    /// [`npy::strings_npy`]).
    pub fn add_strings(&mut self, name: &str, values: &[&str]) -> std::io::Result<()> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        self.zip
            .start_file(format!("{name}.npy"), options)
            .map_err(std::io::Error::other)?;
        self.zip.write_all(&npy::strings_npy(values))
    }

    /// Writes the central directory and returns the underlying writer.
    pub fn finish(self) -> std::io::Result<W> {
        self.zip.finish().map_err(std::io::Error::other)
    }
}

/// Counts the bytes that pass through, to check a streamed array's length.
struct CountingWriter<'a, W: Write> {
    inner: &'a mut W,
    bytes: u64,
}

impl<W: Write> Write for CountingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes named arrays to `path` as an `.npz`, atomically and streaming
/// (nothing is buffered beyond the file writer); `write` adds the members.
pub fn save_npz(
    path: &Path,
    write: impl FnOnce(&mut NpzWriter<&mut std::io::BufWriter<std::fs::File>>) -> std::io::Result<()>,
) -> Result<()> {
    let mut file = OutputFile::create(path)?;
    let mut npz = NpzWriter::new(file.writer());
    write(&mut npz)
        .and_then(|()| npz.finish().map(drop))
        .map_err(|e| Error::io(path, e))?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_named_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.npz");
        save_npz(&path, |npz| {
            npz.add("times", &[0.1f64, 0.2], &[2])?;
            npz.add("ids", &[3u32, 4], &[2])
        })
        .unwrap();
        let mut r = NpzReader::open(&path).unwrap();
        let mut names = r.names();
        names.sort();
        assert_eq!(names, vec!["ids", "times"]);
        assert_eq!(r.array("times").unwrap().to_f64_vec(), vec![0.1, 0.2]);
        assert_eq!(r.array("ids").unwrap().to_u64_vec().unwrap(), vec![3, 4]);
        assert!(r
            .array("nope")
            .err()
            .unwrap()
            .to_string()
            .contains("no array named \"nope\""));
    }
}
