//! `lifsim`: the command-line interface. Everything is in the library
//! (`lib.rs`), which the Python package's `lifsim` command calls too.

fn main() {
    std::process::exit(lifsim_cli::main(std::env::args_os()));
}
