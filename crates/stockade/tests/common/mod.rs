//! What every test of the binary uses: running it as a user does.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
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

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The python of a virtual environment under `target/NAME` holding the
/// packages a pinned pip requirements file names, made from PyPI when
/// missing or when the file has changed (once, atomically: a test process
/// that loses the race uses the winner's).
pub fn python_venv(name: &str, requirements: &Path) -> PathBuf {
    let venv = root().join("target").join(name);
    let py = venv.join("bin/python3");
    let pinned = std::fs::read_to_string(requirements).unwrap();
    let stamp = venv.join("requirements.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(pinned.as_str()) {
        return py;
    }
    let building = root().join(format!("target/{name}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    let ok = |c: &mut Command| {
        let o = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert!(o.status.success(), "{c:?}: {}", text(&o));
    };
    ok(Command::new("python3").args(["-m", "venv"]).arg(&building));
    ok(Command::new(building.join("bin/pip")).args(["install", "--quiet", "-r"]).arg(requirements));
    std::fs::write(building.join("requirements.txt"), &pinned).unwrap();
    let _ = std::fs::remove_dir_all(&venv);
    if std::fs::rename(&building, &venv).is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    // A venv's scripts name its directory; the interpreter itself does not care.
    py
}
