//! `lifsim run net.toml --set projection.K.PARAM=VALUE`: a projection's
//! parameters changed before the build give, bit for bit, the spikes of
//! the file edited the same way; what no file could say is one line naming
//! the setting and the file.

mod common;

use std::path::{Path, PathBuf};

use common::{assert_error, lifsim_in};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = lifsim_in(dir, args);
    assert!(
        o.status.success(),
        "lifsim {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `text` with the `nth` (from 0) occurrence of `from` replaced by `to`.
fn replace_nth(text: &str, from: &str, to: &str, nth: usize) -> String {
    let at = text.match_indices(from).nth(nth).expect("present").0;
    format!("{}{to}{}", &text[..at], &text[at + from.len()..])
}

#[test]
fn projection_settings_run_as_the_edited_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cuba = std::fs::read_to_string(root().join("examples/cuba.toml")).unwrap();
    let cuba = cuba.replace("duration = 1000.0", "duration = 300.0");
    assert!(cuba.contains("duration = 300.0"));
    std::fs::write(d.join("cuba.toml"), &cuba).unwrap();
    // Projection 1 (E -> E, I): p and tau_syn; projection 2 (I -> E, I):
    // weight, and a delay drawn from a distribution.
    let mut edited = replace_nth(&cuba, "p = 0.02", "p = 0.03", 0);
    edited = replace_nth(&edited, "tau_syn = 5.0", "tau_syn = 4.0", 0);
    edited = replace_nth(&edited, "weight = -9.0", "weight = -7.5", 0);
    edited = replace_nth(
        &edited,
        "delay = 0.0",
        "delay = { distribution = \"uniform\", low = 0.1, high = 2.0 }",
        1,
    );
    std::fs::write(d.join("edited.toml"), &edited).unwrap();
    for threads in ["1", "2"] {
        let stdout = ok(
            d,
            &[
                "run",
                "cuba.toml",
                "--out",
                "set.npz",
                "--threads",
                threads,
                "--set",
                "projection.1.p=0.03",
                "--set",
                "projection.1.tau_syn=4",
                "--set",
                "projection.2.weight=-7.5",
                "--set",
                "projection.2.delay={ distribution = \"uniform\", low = 0.1, high = 2.0 }",
            ],
        );
        assert!(
            stdout.contains("changed     --set projection.1.p=0.03, --set projection.1.tau_syn=4, --set projection.2.weight=-7.5"),
            "{stdout}"
        );
        ok(
            d,
            &[
                "run",
                "edited.toml",
                "--out",
                "edited.npz",
                "--threads",
                threads,
                "-q",
            ],
        );
        ok(
            d,
            &[
                "run",
                "cuba.toml",
                "--out",
                "plain.npz",
                "--threads",
                threads,
                "-q",
            ],
        );
        let read = |name: &str| std::fs::read(d.join(name)).unwrap();
        assert_eq!(read("set.npz"), read("edited.npz"), "{threads} thread(s)");
        assert_ne!(
            read("set.npz"),
            read("plain.npz"),
            "the settings change the run"
        );
    }
}

#[test]
fn bad_projection_settings_are_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(root().join("examples/cuba.toml"), d.join("cuba.toml")).unwrap();
    let cases: [(&str, &str); 5] = [
        (
            "projection.3.weight=1",
            "cuba.toml: --set projection.3.weight=1: the network has no projection \"3\" (projections are numbered 1 to 2 in file order, as lifsim info lists them)",
        ),
        (
            "projection.1.target=E",
            "cuba.toml: --set projection.1.target=E: a projection's target cannot be set: it would be another projection (edit the file)",
        ),
        (
            "projection.1.tau=3",
            "cuba.toml: --set projection.1.tau=3: a projection has no parameter \"tau\" (--set takes rule, p,",
        ),
        (
            "projection.1.p=1.5",
            "cuba.toml: invalid parameter p: projection 1 (E -> E, I): ",
        ),
        (
            "projection.2.synapse=conductance",
            "cuba.toml: invalid parameter e_rev: projection 2 (I -> E, I): conductance synapses need e_rev (mV), their reversal potential (the file as changed by --set projection.2.synapse=conductance)",
        ),
    ];
    for (setting, message) in cases {
        let o = lifsim_in(d, &["run", "cuba.toml", "--out", "o.npz", "--set", setting]);
        assert_error(&o, &[message]);
        assert!(!d.join("o.npz").exists());
    }
}
