//! Fuzz target `sparse_npz`: see `lifsim_fuzz::sparse_npz` for what it feeds the bytes to.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // An `Err` is the reader refusing the input, which is fine; a panic, a
    // hang or a huge allocation is what libFuzzer reports.
    let _ = lifsim_fuzz::sparse_npz(data);
});
