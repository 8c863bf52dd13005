//! The `lifsim` command of the Python package: `lifsim._cli.main` hands the
//! command line to the CLI's own entry point, so `pip install` gives the same
//! program as `cargo install` (built without the `sonata` feature).

use pyo3::prelude::*;

/// Runs `lifsim ARGS...` in this process and returns its exit status. The
/// interpreter lock is released for the whole command.
#[pyfunction]
#[pyo3(name = "_cli_main")]
pub fn cli_main(py: Python<'_>, argv: Vec<String>) -> i32 {
    py.detach(move || lifsim_cli::main(argv))
}
