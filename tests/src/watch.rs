//! The real Lambda binaries under `cargo lambda watch`, configured only through an env
//! file as a deployment is through its environment.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

pub struct Watch {
    pub base_url: String,
    child: tokio::process::Child,
    pub log: PathBuf,
}

fn workspace_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A free loopback port, to know watch's URL before configuring the functions.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Watch {
    /// Starts `cargo lambda watch` on `port` with these variables and waits until it
    /// serves.
    pub async fn start(port: u16, env: &[(String, String)]) -> Watch {
        let dir = std::env::temp_dir().join(format!("minipay-watch-{port}"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let env_file = dir.join("function.env");
        // A PEM spans lines, which an env file cannot hold: those go to watch's own
        // environment, which the functions inherit (as `make demo` does).
        let (multiline, simple): (Vec<_>, Vec<_>) = env.iter().partition(|(_, v)| v.contains('\n'));
        let text: String = simple.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(&env_file, text).expect("env file");
        let log = dir.join("watch.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = tokio::process::Command::new("cargo")
            .args([
                "lambda",
                "watch",
                "--ignore-changes",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
                "--env-file",
            ])
            .arg(&env_file)
            .envs(multiline.iter().map(|(k, v)| (k, v)))
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("cargo lambda watch starts (is cargo-lambda installed? run `make test`)");
        let watch = Watch {
            base_url: format!("http://127.0.0.1:{port}"),
            child,
            log,
        };
        watch.wait_until_serving(Duration::from_secs(120)).await;
        watch
    }

    async fn wait_until_serving(&self, limit: Duration) {
        let started = Instant::now();
        let http = reqwest::Client::new();
        while started.elapsed() < limit {
            if http.get(&self.base_url).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("cargo lambda watch did not start; log:\n{}", self.log_text());
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Invokes a non-HTTP function as Lambda's Invoke API does (watch serves it at
    /// `POST /2015-03-31/functions/{name}/invocations`, the event as the body) and returns
    /// what the function answered.
    pub async fn invoke(&self, function: &str, event: &serde_json::Value) -> serde_json::Value {
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.base_url);
        let answer = reqwest::Client::new()
            .post(&url)
            .json(event)
            .timeout(Duration::from_secs(300))
            .send()
            .await
            .unwrap_or_else(|err| panic!("invoke {function}: {err}\nwatch log:\n{}", self.log_text()));
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "invoke {function}: HTTP {status}: {text}\nwatch log:\n{}",
            self.log_text()
        );
        serde_json::from_str(&text).unwrap_or_else(|err| {
            panic!(
                "invoke {function}: not JSON ({err}): {text}\nwatch log:\n{}",
                self.log_text()
            )
        })
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // cargo lambda watch runs each function through `cargo run`: stop its whole process
        // group. Signalled directly: procps' `kill -TERM -<pgid>` misreads some group ids
        // and signalled every process of the machine.
        if let Some(pid) = self
            .child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .filter(|pid| *pid > 1)
        {
            // SAFETY: kill(2) with a negative id signals exactly that process group, which
            // `process_group(0)` made for this child alone.
            unsafe {
                libc::kill(-pid, libc::SIGTERM);
            }
        }
    }
}

/// `scripts/stream_pump.py`: the table's stream fed to `push` under watch, as the event
/// source mapping does in AWS.
pub struct StreamPump {
    child: tokio::process::Child,
}

impl StreamPump {
    pub async fn start(table: &str, watch_url: &str) -> StreamPump {
        let failures = std::env::temp_dir().join(format!("minipay-push-failures-{table}.jsonl"));
        let child = tokio::process::Command::new("python3")
            .arg(workspace_root().join("scripts/stream_pump.py"))
            .args([
                "--endpoint-url",
                &crate::table::endpoint(),
                "--table",
                table,
                "--interval",
                "0.2",
            ])
            .arg("--invoke-url")
            .arg(format!("{watch_url}/2015-03-31/functions/push/invocations"))
            .arg("--failures")
            .arg(failures)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 scripts/stream_pump.py starts");
        StreamPump { child }
    }
}

impl Drop for StreamPump {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
