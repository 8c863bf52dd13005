//! The one error type of the library.
//!
//! Every variant renders as a single line that names the file or the parameter
//! at fault, so the CLI can print it as is and the Python binding can raise it.

use std::path::PathBuf;

/// Everything that can go wrong in lifsim, as one enum.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A file was read but its content is not what lifsim accepts.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, and what to do where that helps.
        message: String,
    },
    /// A model or run parameter is out of its valid range.
    #[error("invalid parameter {name}: {message}")]
    Parameter {
        /// The parameter's name as the user wrote it (`dt`, `tau_m`, ...).
        name: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// An array handed in through the API has the wrong shape or values.
    #[error("{what}: {message}")]
    Array {
        /// Which argument (`W`, `i_ext`, `v0`, ...).
        what: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A run would need more memory than the machine has.
    #[error("{what} needs {} but only {} of memory is available; {hint}", human_bytes(*.needed), human_bytes(*.available))]
    OutOfMemory {
        /// What was to be allocated.
        what: String,
        /// Bytes it would need.
        needed: u64,
        /// Bytes the machine reports available.
        available: u64,
        /// What the user can do instead.
        hint: &'static str,
    },
    /// A progress observer stopped the run (Ctrl-C in Python) before its end.
    #[error("interrupted at step {step} of {steps}")]
    Interrupted {
        /// Steps done when it stopped.
        step: u64,
        /// Steps in the whole run.
        steps: u64,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A [`Error::File`] for `path` with `message`.
    pub fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::File {
            path: path.into(),
            message: message.into(),
        }
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`Error::Parameter`] for parameter `name`.
    pub fn param(name: &'static str, message: impl Into<String>) -> Self {
        Error::Parameter {
            name,
            message: message.into(),
        }
    }

    /// An [`Error::Array`] for argument `what`.
    pub fn array(what: &'static str, message: impl Into<String>) -> Self {
        Error::Array {
            what,
            message: message.into(),
        }
    }
}

/// `1536` -> `"1.5 KiB"`: sizes as people read them.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_reads_naturally() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(8 << 30), "8.0 GiB");
    }
}
