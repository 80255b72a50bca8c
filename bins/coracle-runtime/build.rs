//! Link the code `coracle-runtime` runs on its hot path (start-up, `run`, `create`, `start`,
//! `delete`, `state`, `kill`) first and together, in one output section `.text.hot`.
//!
//! The kernel maps a file-backed page fault's whole 64 KiB window of the page cache (fault-around),
//! so the peak RSS of a short-lived static binary is roughly the number of 64 KiB windows its code
//! touches. With LTO the ~0.6 MB of code a `run` executes is spread over all 2.7 MB of `.text` and
//! nearly every window got mapped (3.2 MB peak). `hot-text.ld` lists the input sections in
//! first-use order and is made by `scripts/hot-text.py` (regenerate it after large changes to the
//! hot path: new code is still linked, only not in the hot part). Each section is named exactly
//! (`.text.hot`) and again without its symbol hash (`.text.warm`, right after), so a toolchain or
//! dependency update, which changes the hashes, loosens the packing instead of losing it.
//! `INSERT BEFORE .text` keeps the linker's default layout for everything else; GNU ld and lld
//! both take it.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let script = format!("{dir}/hot-text.ld");
    // Only ELF targets have this linker-script syntax; the project builds for Linux only.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bin=coracle-runtime=-Wl,-T,{script}");
    }
    println!("cargo:rerun-if-changed=hot-text.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
