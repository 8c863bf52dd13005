//! `--format` and `--out` together: a format whose files have another
//! extension than the one `--out` names is refused (an `.npy` holding an
//! `.npz` archive would fool every reader), and an `--out` with a known
//! extension and no `--format` picks the format it names.

use std::path::Path;

use anyhow::{bail, Result};
use lifsim_core::io::spikes::OutputFormat;

use super::output_format;

/// The extensions of a format's files; the first is the one lifsim writes.
fn extensions(f: OutputFormat) -> &'static [&'static str] {
    match f {
        OutputFormat::Dense | OutputFormat::Counts => &["npy"],
        OutputFormat::Events => &["npz"],
        OutputFormat::Sonata => &["h5", "hdf5"],
    }
}

/// What a format's file is, for messages.
fn kind(f: OutputFormat) -> &'static str {
    match f {
        OutputFormat::Dense | OutputFormat::Counts => "an .npy array",
        OutputFormat::Events => "an .npz archive",
        OutputFormat::Sonata => "an HDF5 .h5 file",
    }
}

/// `formats` as choices of `--format`: `--format dense or counts`.
fn choices(formats: &[OutputFormat]) -> String {
    format!("--format {}", OutputFormat::list(formats))
}

/// The format of a run writing to `out`: `format` (checked against
/// `allowed`), else the one `out`'s extension names among `allowed`
/// (`default` where it is one of them), else `default`. An extension that is
/// not a spike file's (`/dev/null`, `.bin`) leaves the choice to `--format`.
pub fn choose_format(
    format: Option<&str>,
    out: Option<&Path>,
    allowed: &[OutputFormat],
    default: OutputFormat,
) -> Result<OutputFormat> {
    let ext = out
        .and_then(|o| o.extension())
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let named: Vec<OutputFormat> = match &ext {
        Some(e) => allowed
            .iter()
            .copied()
            .filter(|f| extensions(*f).contains(&e.as_str()))
            .collect(),
        None => Vec::new(),
    };
    let known = ext.as_deref().is_some_and(|e| {
        OutputFormat::ALL
            .iter()
            .any(|f| extensions(*f).contains(&e))
    });
    let out_name = || out.map(|o| o.display().to_string()).unwrap_or_default();
    match format {
        Some(name) => {
            let f = output_format(name, allowed)?;
            if known && !extensions(f).contains(&ext.as_deref().unwrap_or("")) {
                let renamed = out
                    .map(|o| o.with_extension(extensions(f)[0]).display().to_string())
                    .unwrap_or_default();
                let instead = if named.is_empty() {
                    String::new()
                } else {
                    format!(", or choose {}", choices(&named))
                };
                bail!(
                    "{}: --format {f} writes {}; name the file {renamed}{instead}",
                    out_name(),
                    kind(f)
                );
            }
            Ok(f)
        }
        None if named.contains(&default) || named.is_empty() => Ok(default),
        None if named.len() == 1 => Ok(named[0]),
        None => bail!(
            "{}: .{} files are written by {}; say which with --format",
            out_name(),
            ext.unwrap_or_default(),
            choices(&named)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OutputFormat::*;

    fn seed(format: Option<&str>, out: &str) -> Result<OutputFormat> {
        choose_format(
            format,
            Some(Path::new(out)),
            &OutputFormat::SPIKE_TRAINS,
            Dense,
        )
    }

    fn network(format: Option<&str>, out: &str, record: OutputFormat) -> Result<OutputFormat> {
        choose_format(format, Some(Path::new(out)), &OutputFormat::ALL, record)
    }

    #[test]
    fn the_extension_picks_the_format_when_none_is_given() {
        assert_eq!(seed(None, "s.npz").unwrap(), Events);
        assert_eq!(seed(None, "s.NPZ").unwrap(), Events);
        assert_eq!(seed(None, "s.h5").unwrap(), Sonata);
        assert_eq!(seed(None, "s.npy").unwrap(), Dense);
        assert_eq!(seed(None, "/dev/null").unwrap(), Dense);
        assert_eq!(seed(None, "s.bin").unwrap(), Dense);
        assert_eq!(
            choose_format(None, None, &OutputFormat::SPIKE_TRAINS, Dense).unwrap(),
            Dense
        );
        // A network file's own record mode wins where the extension fits it.
        assert_eq!(network(None, "c.npy", Counts).unwrap(), Counts);
        assert_eq!(network(None, "c.npy", Dense).unwrap(), Dense);
        assert_eq!(network(None, "s.npz", Counts).unwrap(), Events);
        assert_eq!(network(None, "s.npz", Events).unwrap(), Events);
        let e = network(None, "s.npy", Events).unwrap_err().to_string();
        assert_eq!(
            e,
            "s.npy: .npy files are written by --format dense or counts; say which with --format"
        );
    }

    #[test]
    fn a_format_and_an_extension_that_disagree_are_refused() {
        let e = seed(Some("events"), "x.npy").unwrap_err().to_string();
        assert_eq!(
            e,
            "x.npy: --format events writes an .npz archive; name the file x.npz, or choose --format dense"
        );
        let e = network(Some("dense"), "out/x.npz", Events)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "out/x.npz: --format dense writes an .npy array; name the file out/x.npy, or choose --format events"
        );
        let e = network(Some("events"), "x.npy", Events)
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("or choose --format dense or counts"), "{e}");
        let e = seed(Some("sonata"), "x.npz").unwrap_err().to_string();
        assert!(e.starts_with("x.npz: --format sonata writes an HDF5 .h5 file; name the file x.h5"));
        // Agreeing, or an extension that is no spike file's: as asked.
        assert_eq!(seed(Some("events"), "x.npz").unwrap(), Events);
        assert_eq!(seed(Some("sonata"), "x.hdf5").unwrap(), Sonata);
        assert_eq!(seed(Some("events"), "/dev/null").unwrap(), Events);
        assert_eq!(network(Some("counts"), "c.npy", Events).unwrap(), Counts);
        // The format's own check still comes first.
        let e = seed(Some("counts"), "c.npy").unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid value \"counts\" for --format: choose dense, events or sonata"
        );
    }
}
