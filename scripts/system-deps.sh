#!/usr/bin/env bash
# Installs (once) the Debian packages lifsim's optional features build against:
# libhdf5-dev and pkg-config for SONATA/HDF5 output (cargo feature `sonata`);
# libopenmpi-dev, openmpi-bin and libclang-dev (for the bindings' generator) for
# runs over MPI ranks (cargo feature `mpi`).
# Idempotent: does nothing when they are already there. Needs root (CI and the
# developers' machines run as root); elsewhere it says what to install.
set -euo pipefail
missing=()
pkg-config --exists hdf5 2>/dev/null || [ -f /usr/include/hdf5/serial/hdf5.h ] || missing+=(libhdf5-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
pkg-config --exists ompi-c 2>/dev/null || missing+=(libopenmpi-dev)
command -v mpirun >/dev/null 2>&1 || missing+=(openmpi-bin)
# libclang itself (bindgen's libclang.so*), not libclang-cpp, which other
# packages bring and which bindgen cannot use.
ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || missing+=(libclang-dev)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: missing ${missing[*]}; install them (apt-get install ${missing[*]}) or build without --features sonata / mpi" >&2
    exit 1
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
