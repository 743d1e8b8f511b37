//! A moto server of a test's own, for tests that stop and restart the table.

use std::process::Stdio;
use std::time::{Duration, Instant};

pub struct Moto {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl Moto {
    pub async fn start() -> Moto {
        let mut moto = Moto {
            port: crate::watch::free_port(),
            child: None,
        };
        moto.restart().await;
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port: an emulator coming back after an outage, empty.
    pub async fn restart(&mut self) {
        self.stop();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/moto_serial.py");
        let child = std::process::Command::new("python3")
            .args([script, "-H", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 scripts/moto_serial.py starts");
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
