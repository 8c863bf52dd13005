//! Started as one of several processes of an MPI job (the launcher's
//! environment says so: `OMPI_COMM_WORLD_SIZE`, `PMI_SIZE`,
//! `SLURM_STEP_NUM_TASKS`), what cannot be split over ranks refuses to run
//! rather than have every process run it whole and write the same file.
//! The environment alone is enough to show it: no `mpirun` needed.
//! Only a lifsim built without MPI refuses (with MPI, `tests/mpi.rs`).
#![cfg(not(feature = "mpi"))]

use std::process::{Command, Stdio};

use common::{assert_error, binary};

mod common;

fn run_as_one_of(var: &str, k: &str, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(binary())
        .args(args)
        .current_dir(dir.path())
        .env(var, k)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // Nothing written.
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "{args:?}"
    );
    o
}

#[test]
fn a_lifsim_without_mpi_refuses_to_run_the_seed_model_as_one_of_several_processes() {
    for var in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"] {
        let o = run_as_one_of(
            var,
            "3",
            &["run", "--workload", "seed-active", "--out", "s.npy"],
        );
        assert_error(
            &o,
            &["this lifsim was built without MPI, so each of the 3 processes mpirun/srun started would run the whole network; build it with `cargo build --release --features lifsim-cli/mpi`"],
        );
    }
}

#[test]
fn a_lifsim_without_mpi_refuses_to_run_a_network_as_one_of_several_processes() {
    let net = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cuba.toml");
    let o = run_as_one_of("OMPI_COMM_WORLD_SIZE", "2", &["run", net.to_str().unwrap()]);
    assert_error(
        &o,
        &["this lifsim was built without MPI, so each of the 2 processes mpirun/srun started would run the whole network; build it with `cargo build --release --features lifsim-cli/mpi`"],
    );
}
