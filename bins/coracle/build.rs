//! Link `coracle` as a non-PIE executable.
//!
//! A PIE's pointers to its own code and data (vtables, string slices, the GOT) are fixed up by
//! the dynamic loader at every exec, which copies each of those pages: about 0.9 MB of private
//! memory in a debug build, ~0.25 MB in release, paid again by every container's monitor (its
//! relay is a fresh exec) and by every command's start-up. Linked at a fixed address they need
//! no fix-up and stay shared, clean page-cache pages. The cost is ASLR for the binary's own
//! text (libraries, heap and stack stay randomised): the trade setup.sh already makes for
//! coracle-runtime. The objects are compiled as PIC anyway; only the final link changes.
fn main() {
    // A crt-static build is a static PIE unless built with `-C relocation-model=static` (as
    // setup.sh builds coracle-runtime); `-no-pie` would fight rustc's `-static-pie` there.
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if !features.split(',').any(|f| f == "crt-static") {
        println!("cargo:rustc-link-arg-bin=coracle=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
