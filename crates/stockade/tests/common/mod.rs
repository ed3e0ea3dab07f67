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

/// Waits (up to 30 s) until the server on `port` handles connections: it
/// answers, or closes one it cannot read (TLS). The port accepts them as
/// soon as it is bound, before the data directory is open, and only then
/// does the server read them.
pub fn wait_for(port: u16) {
    use std::io::{Read, Write};
    for _ in 0..600 {
        if let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = c.set_read_timeout(Some(std::time::Duration::from_millis(100)));
            let mut answer = [0u8; 12];
            if c.write_all(b"GET /api/v1/health HTTP/1.0\r\n\r\n").is_ok() && c.read(&mut answer).is_ok() {
                return;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `stockade ARGS --listen 127.0.0.1:PORT` on a free port, once it answers.
pub fn listening(args: &[&str]) -> Running {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let child = bin().args(args).args(["--listen", &listen]).spawn().unwrap();
    wait_for(port);
    Running(child, format!("http://{listen}"))
}
