//! The sandbox as a process, for the local demo stack. Configured by environment:
//! `SANDBOX_PORT` (default 9100), `SANDBOX_APP_ID`, `SANDBOX_APP_SECRET`,
//! `SANDBOX_SALT`, `SANDBOX_TOKEN`, `SANDBOX_NOTIFY_URL` (optional); for WeChat, all or
//! none of `SANDBOX_WECHAT_APP_ID`, `SANDBOX_WECHAT_APP_SECRET`, `SANDBOX_WECHAT_MCH_ID`,
//! `SANDBOX_WECHAT_API_KEY`, and optionally `SANDBOX_WECHAT_NOTIFY_URL`; for the trade
//! system, both or neither of `SANDBOX_TRADE_APP_PUBLIC_KEY` and
//! `SANDBOX_TRADE_PLATFORM_PRIVATE_KEY` (PEM; `\n` for newlines), and optionally
//! `SANDBOX_TRADE_KEY_VERSION` (default "1"); and both or neither of
//! `SANDBOX_PUBLIC_ORIGIN` (`https://host`) and `SANDBOX_LOCAL_ORIGIN`
//! (`http://127.0.0.1:PORT`), the tunnel: notify URLs must be https, and calls to the
//! public origin go to the local one. Console notify URLs that are not https are refused.
//!
//! `sandbox keygen <dir>` instead writes fresh trade key pairs into `<dir>`
//! (`app_private_key.pem`, `app_public_key.pem`, `platform_private_key.pem`,
//! `platform_public_key.pem`) and exits.

use sandbox::{Sandbox, SandboxConfig};
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

const DEFAULT_PORT: u16 = 9100;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sandbox: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.as_slice() {
        [] => serve().await,
        [command, dir] if command == "keygen" => keygen(Path::new(dir)),
        _ => Err("usage: sandbox [keygen <dir>]".into()),
    }
}

/// Writes a fresh pair of trade key pairs, for the backend and the sandbox to share.
fn keygen(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let keys = sandbox::trade_keys::generate();
    for (name, pem) in keys.files() {
        let path = dir.join(name);
        std::fs::write(&path, pem).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    println!("trade keys written to {}", dir.display());
    Ok(())
}

async fn serve() -> Result<(), String> {
    let config = SandboxConfig::from_env()?;
    let port = match std::env::var("SANDBOX_PORT") {
        Ok(text) => text
            .parse::<u16>()
            .map_err(|_| format!("SANDBOX_PORT={text} is not a port"))?,
        Err(_) => DEFAULT_PORT,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot bind port {port}: {e}"))?;
    // Port 0 picks a free port; report the one actually bound.
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    // Scripts wait for this line: print it once the port accepts connections.
    let mut stdout = std::io::stdout();
    writeln!(stdout, "sandbox listening on http://127.0.0.1:{port}")
        .and_then(|()| stdout.flush())
        .map_err(|e| e.to_string())?;
    Sandbox::serve(listener, config)
        .await
        .map_err(|e| format!("serving failed: {e}"))
}
