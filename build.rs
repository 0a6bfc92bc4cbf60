//! Links the service's binary with packed relative relocations (`DT_RELR`: GNU ld 2.38,
//! lld 15 and glibc 2.36 have them). A position-independent binary lists every pointer
//! the loader must adjust at start; as 24-byte entries that table is about 1.1 MB, read
//! whole at every start and resident after it, and packed it is about 20 KB
//! (docs/PERFORMANCE.md, idle memory).
//!
//! A toolchain or C library without them must still build a binary that runs, so a
//! small program is linked with the flag and run first; the flag is used only if that
//! works. `CONNECTOR_PACKED_RELOCATIONS` tells the tests which way it went.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const FLAG: &str = "-Wl,-z,pack-relative-relocs";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let packed = is_native_linux_gnu() && links_and_runs_with(FLAG);
    if packed {
        println!("cargo:rustc-link-arg-bins={FLAG}");
    }
    println!("cargo:rustc-env=CONNECTOR_PACKED_RELOCATIONS={packed}");
}

/// Only a binary built for this machine can be tried here.
fn is_native_linux_gnu() -> bool {
    let cfg = |name: &str| env::var(name).unwrap_or_default();
    cfg("CARGO_CFG_TARGET_OS") == "linux" && cfg("CARGO_CFG_TARGET_ENV") == "gnu" && cfg("TARGET") == cfg("HOST")
}

/// A program with pointers to relocate (std's, and a table of its own), linked with
/// `flag` and run. An older linker ignores the flag; a C library that cannot apply
/// packed relocations refuses to start the program (or it crashes): either way this
/// answers whether the binary will run where it is built.
fn links_and_runs_with(flag: &str) -> bool {
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        return false;
    };
    let source = out.join("packed_relocations_probe.rs");
    let program = out.join("packed_relocations_probe");
    let text = r#"static NAMES: [&str; 3] = ["a", "bb", "ccc"];
fn main() {
    let lengths: usize = NAMES.iter().map(|name| name.len()).sum();
    assert_eq!(lengths, 6);
    println!("{}", std::env::args().count());
}
"#;
    if std::fs::write(&source, text).is_err() {
        return false;
    }
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let linked = Command::new(rustc)
        .args(["--edition=2021", "--crate-type=bin", "-C"])
        .arg(format!("link-arg={flag}"))
        .arg("-o")
        .arg(&program)
        .arg(&source)
        .output()
        .is_ok_and(|output| output.status.success());
    linked
        && Command::new(&program)
            .output()
            .is_ok_and(|output| output.status.success())
}
