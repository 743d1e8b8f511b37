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

/// Ports tried before giving up: another program binding the chosen port first is rare,
/// and each try costs about a second.
const ATTEMPTS: usize = 5;
/// How long watch may take to listen (it builds nothing before the first invocation).
const START_LIMIT: Duration = Duration::from_secs(120);

enum Started {
    Listening,
    /// watch exited after trying to bind: another program had taken the port.
    LostPort,
}

impl Watch {
    /// Starts `cargo lambda watch` with the variables `env_for(base_url)` gives (the
    /// functions are told their own URL, for the platforms' callbacks) and waits until it
    /// listens. watch cannot bind port 0 and report it (ports.rs), so a port is chosen
    /// first; when another program binds it before watch does, watch exits and this
    /// starts again on another port.
    pub async fn start(env_for: impl Fn(&str) -> Vec<(String, String)>) -> Watch {
        let ports = std::iter::repeat_with(crate::ports::unused_port).take(ATTEMPTS);
        Self::start_on(ports, env_for).await
    }

    /// As [`Watch::start`], on the first of `ports` that watch binds.
    pub async fn start_on(
        ports: impl IntoIterator<Item = u16>,
        env_for: impl Fn(&str) -> Vec<(String, String)>,
    ) -> Watch {
        let mut lost = Vec::new();
        for port in ports {
            let base_url = format!("http://127.0.0.1:{port}");
            let mut watch = Watch::spawn(port, base_url.clone(), &env_for(&base_url));
            match watch.wait_until_listening(port).await {
                Started::Listening => return watch,
                Started::LostPort => lost.push(port),
            }
        }
        panic!("cargo lambda watch lost every port it was given to other programs: {lost:?}");
    }

    fn spawn(port: u16, base_url: String, env: &[(String, String)]) -> Watch {
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
        Watch { base_url, child, log }
    }

    /// Until a process of watch's group listens on `port` (not merely: something
    /// answers there, which may be the program that took the port), or watch exits.
    /// A starting program gives no event to wait on: this polls, with a deadline.
    async fn wait_until_listening(&mut self, port: u16) -> Started {
        let group = self
            .child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .expect("watch runs");
        let started = Instant::now();
        while started.elapsed() < START_LIMIT {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.log_text();
                assert!(
                    status.success() && log.contains("starting Runtime server"),
                    "cargo lambda watch failed ({status}); log:\n{log}"
                );
                return Started::LostPort;
            }
            if crate::ports::listener_in_group(port, group) {
                return Started::Listening;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "cargo lambda watch did not listen within {START_LIMIT:?}; log:\n{}",
            self.log_text()
        );
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
/// source mapping does in AWS. It prints a line after each batch a function took.
pub struct StreamPump {
    child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl StreamPump {
    pub async fn start(table: &str, watch_url: &str) -> StreamPump {
        let failures = std::env::temp_dir().join(format!("minipay-push-failures-{table}.jsonl"));
        let mut child = tokio::process::Command::new("python3")
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
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 scripts/stream_pump.py starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
        StreamPump { child, lines }
    }

    /// Waits for the pump's next batch taken by a function; `None` once the pump ended.
    pub async fn next_delivery(&mut self) -> Option<String> {
        while let Some(line) = self.lines.next_line().await.ok().flatten() {
            if line.starts_with("stream_pump: delivered") {
                return Some(line);
            }
        }
        None
    }
}

impl Drop for StreamPump {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
