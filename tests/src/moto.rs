//! A moto server of a test's own, for tests that stop and restart the table.

use crate::ports::Reservation;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

/// How long moto may take to import and listen before the test fails.
const START_LIMIT: Duration = Duration::from_secs(60);

pub struct Moto {
    /// Held for the whole test: moto comes back on this port after an outage.
    reservation: Reservation,
    child: Option<Child>,
    log: PathBuf,
}

impl Moto {
    pub async fn start() -> Moto {
        let reservation = Reservation::new();
        let log = std::env::temp_dir().join(format!("minipay-moto-{}.log", reservation.port()));
        let mut moto = Moto {
            reservation,
            child: None,
            log,
        };
        moto.restart().await;
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.reservation.port())
    }

    /// Starts (again) on the reserved port: an emulator coming back after an outage,
    /// empty. Returns once moto listens (it says so on stdout).
    pub async fn restart(&mut self) {
        self.stop();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/moto_serial.py");
        let log = std::fs::File::create(&self.log).expect("moto log file");
        let port = self.reservation.port().to_string();
        let mut child = std::process::Command::new("python3")
            .args([script, "-H", "127.0.0.1", "-p", &port, "--reuse-port"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("python3 scripts/moto_serial.py starts");
        let listening = first_line(child.stdout.take().expect("piped stdout"));
        self.child = Some(child);
        let line = match tokio::time::timeout(START_LIMIT, listening).await {
            Ok(Ok(line)) => line,
            _ => String::new(),
        };
        assert!(
            line.starts_with("moto listening on "),
            "moto did not start within {START_LIMIT:?}; its log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// Stops moto and waits until it has exited, so that it no longer listens.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The first line of `stdout`, when it comes (empty at end of file); what follows is
/// read and dropped, so that the pipe never fills.
fn first_line(stdout: std::process::ChildStdout) -> tokio::sync::oneshot::Receiver<String> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = sender.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    receiver
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
