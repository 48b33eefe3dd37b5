//! The `m2v-bench` binary's command line. (This integration test also makes `cargo
//! test` build the binary with the test build's features, which `cargo xtask ci`'s
//! bench smoke step then runs: without a test here, a cold CI run finds no binary and
//! a warm one runs a stale one.)

use std::process::Command;

#[test]
fn help_lists_the_options_and_a_bad_flag_is_refused() {
    let bin = env!("CARGO_BIN_EXE_m2v-bench");
    let help = Command::new(bin).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in ["--quick", "--no-python", "--out"] {
        assert!(text.contains(flag), "--help lacks {flag}:\n{text}");
    }
    let bad = Command::new(bin).arg("--no-such-flag").output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--no-such-flag"));
}
