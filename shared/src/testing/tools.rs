//! External programs a unit test cross-checks against: OpenSSL's command line and python3's
//! standard library implement MD5, SHA-1, HMAC, AES and RSA with none of our code. Where one
//! is missing the test says so on stderr and skips the cross-check, except where `CI` is set
//! (CI=true) or `MINIPAY_REQUIRE_TOOLS=1` (make mutants): there a missing tool fails the test,
//! so that a cross-check never passes by not running.

use std::io::{ErrorKind, Write as _};
use std::process::{Command, Stdio};

/// Whether a missing tool fails the test, from the values of `CI` and
/// `MINIPAY_REQUIRE_TOOLS`: `CI` set to anything but empty, `0` or `false`, or
/// `MINIPAY_REQUIRE_TOOLS=1`.
fn tools_required(ci: Option<&str>, require_tools: Option<&str>) -> bool {
    let ci = ci.is_some_and(|value| !matches!(value.trim().to_ascii_lowercase().as_str(), "" | "0" | "false"));
    ci || require_tools.is_some_and(|value| value.trim() == "1")
}

fn tools_required_here() -> bool {
    let var = |name| std::env::var(name).ok();
    tools_required(var("CI").as_deref(), var("MINIPAY_REQUIRE_TOOLS").as_deref())
}

/// Runs `program args` with `stdin` and returns what it printed; `None` when `program` is not
/// installed and tools are not required here. Panics when it fails, or is missing where
/// tools are required.
pub fn run(program: &str, args: &[&str], stdin: &[u8]) -> Option<Vec<u8>> {
    let spawned = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            assert!(
                !tools_required_here(),
                "{program} is not installed, and cross-checks must run here (CI or MINIPAY_REQUIRE_TOOLS=1)"
            );
            // Straight to the process's stderr: the test harness would capture eprintln! and
            // show nothing for a test that passes.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {program} is not installed, so a cross-check did not run (CI requires it)"
            );
            return None;
        }
        Err(e) => panic!("{program} does not start: {e}"),
    };
    // Written from another thread: a program that answers before reading all of a large
    // input would otherwise block on a full pipe while we block on its stdin.
    let mut input = child.stdin.take().expect("stdin is piped");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output().expect("the program runs to its end");
    writer
        .join()
        .expect("the writer thread ends")
        .expect("the program reads its input");
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

/// `openssl <args>` over `stdin`.
pub fn openssl(args: &[&str], stdin: &[u8]) -> Option<Vec<u8>> {
    run("openssl", args, stdin)
}

/// A python3 program (standard library only) run over `stdin`; what it printed.
pub fn python3(program: &str, stdin: &str) -> Option<String> {
    run("python3", &["-c", program], stdin.as_bytes())
        .map(|out| String::from_utf8(out).expect("the python program prints UTF-8"))
}

/// The path of a file of this crate, for a tool that reads it (a test key).
pub fn crate_file(relative: &str) -> String {
    format!("{}/{relative}", env!("CARGO_MANIFEST_DIR"))
}

/// A file a tool reads (a key made by the test), removed when dropped. Tests run in
/// parallel in one process, so every file gets its own name.
pub struct TempFile {
    path: std::path::PathBuf,
}

impl TempFile {
    pub fn new(contents: &[u8]) -> TempFile {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("minipay-test-{}-{n}", std::process::id()));
        std::fs::write(&path, contents).expect("the temporary directory is writable");
        TempFile { path }
    }

    pub fn path(&self) -> &str {
        self.path.to_str().expect("the temporary path is UTF-8")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_or_the_explicit_switch_makes_tools_required() {
        for ci in ["true", "1", "yes", "TRUE"] {
            assert!(tools_required(Some(ci), None), "CI={ci}");
        }
        for ci in ["", "0", "false", "False", " "] {
            assert!(!tools_required(Some(ci), None), "CI={ci:?}");
        }
        assert!(!tools_required(None, None));
        assert!(tools_required(None, Some("1")));
        assert!(!tools_required(None, Some("0")));
        assert!(!tools_required(None, Some("")));
        assert!(tools_required(Some("false"), Some("1")));
    }

    #[test]
    fn a_missing_tool_skips_only_where_tools_are_not_required() {
        let outcome = std::panic::catch_unwind(|| run("minipay-no-such-program", &[], b""));
        match outcome {
            Ok(skipped) => {
                assert_eq!(skipped, None);
                assert!(
                    !tools_required_here(),
                    "a missing tool must fail where tools are required"
                );
            }
            Err(_) => assert!(tools_required_here(), "a missing tool may only skip here"),
        }
    }

    #[test]
    fn a_tool_gives_its_output_and_a_failing_one_fails_the_test() {
        if let Some(out) = python3("import sys; print(sys.stdin.read().upper())", "abc") {
            assert_eq!(out, "ABC\n");
        }
        match std::panic::catch_unwind(|| python3("raise SystemExit(3)", "")) {
            Err(_) => {}
            Ok(None) => assert!(!tools_required_here()),
            Ok(Some(out)) => panic!("a failing program's output was taken: {out:?}"),
        }
    }
}
