//! What every test of the binary uses: running it as a user does.
#![allow(dead_code)]

use std::process::{Command, Output};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_stockade"));
    c.env("RUST_LOG", "warn").env_remove("STOCKADE_DATA").env_remove("STOCKADE_TOKEN");
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A `stockade serve` (or witness) on a free port, stopped however the test ends.
pub struct Running(pub std::process::Child, pub String);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
