//! The sandbox as a process, for the local demo stack. Configured by environment:
//! `SANDBOX_PORT` (default 9100), `SANDBOX_APP_ID`, `SANDBOX_APP_SECRET`,
//! `SANDBOX_SALT`, `SANDBOX_TOKEN`, `SANDBOX_NOTIFY_URL` (optional); for WeChat, all or
//! none of `SANDBOX_WECHAT_APP_ID`, `SANDBOX_WECHAT_APP_SECRET`, `SANDBOX_WECHAT_MCH_ID`,
//! `SANDBOX_WECHAT_API_KEY`, and optionally `SANDBOX_WECHAT_NOTIFY_URL`; for WeChat Pay
//! APIv3 (`/v3/`), `SANDBOX_WECHAT_V3_APIV3_KEY` with `SANDBOX_WECHAT_V3_MERCHANT_CERT_SERIAL`
//! and `SANDBOX_WECHAT_V3_MERCHANT_PUBLIC_KEY`, `SANDBOX_WECHAT_V3_MODE` (public_key,
//! certificate, switching) and the keys that mode needs: `SANDBOX_WECHAT_V3_PUBLIC_KEY_ID`
//! with `SANDBOX_WECHAT_V3_PUBLIC_KEY_PRIVATE`, `SANDBOX_WECHAT_V3_PLATFORM_PRIVATE_KEY`
//! (see `WechatV3SandboxConfig::from_env`); for the trade
//! system, both or neither of `SANDBOX_TRADE_APP_PUBLIC_KEY` and
//! `SANDBOX_TRADE_PLATFORM_PRIVATE_KEY` (PEM; `\n` for newlines), and optionally
//! `SANDBOX_TRADE_KEY_VERSION` (default "1"); and both or neither of
//! `SANDBOX_PUBLIC_ORIGIN` (`https://host`) and `SANDBOX_LOCAL_ORIGIN`
//! (`http://127.0.0.1:PORT`), the tunnel: notify URLs must be https, and calls to the
//! public origin go to the local one. Console notify URLs that are not https are refused.
//!
//! With WeChat configured the sandbox also serves over TLS on `SANDBOX_TLS_PORT`
//! (default 9101), as WeChat Pay is reached; refunds need the merchant certificate
//! `SANDBOX_WECHAT_CLIENT_CERT`. `SANDBOX_TLS_CA_FILE`, when set, is where the CA
//! certificate of that listener is written (PEM), for clients to trust (`SSL_CERT_FILE`).
//!
//! `sandbox keygen <dir>` instead writes fresh trade key pairs into `<dir>`
//! (`app_private_key.pem`, `app_public_key.pem`, `platform_private_key.pem`,
//! `platform_public_key.pem`) and exits.

use sandbox::{Sandbox, SandboxConfig};
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

const DEFAULT_PORT: u16 = 9100;
const DEFAULT_TLS_PORT: u16 = 9101;

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

fn port_from_env(name: &str, default: u16) -> Result<u16, String> {
    match std::env::var(name) {
        Ok(text) => text.parse::<u16>().map_err(|_| format!("{name}={text} is not a port")),
        Err(_) => Ok(default),
    }
}

async fn bind(port: u16) -> Result<(tokio::net::TcpListener, u16), String> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot bind port {port}: {e}"))?;
    // Port 0 picks a free port; report the one actually bound.
    let bound = listener.local_addr().map_err(|e| e.to_string())?.port();
    Ok((listener, bound))
}

async fn serve() -> Result<(), String> {
    let config = SandboxConfig::from_env()?;
    let (listener, port) = bind(port_from_env("SANDBOX_PORT", DEFAULT_PORT)?).await?;
    let tls = match &config.wechat {
        Some(_) => Some(bind(port_from_env("SANDBOX_TLS_PORT", DEFAULT_TLS_PORT)?).await?),
        None => None,
    };
    if let Ok(path) = std::env::var("SANDBOX_TLS_CA_FILE") {
        std::fs::write(&path, Sandbox::tls_ca_pem()).map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    // Scripts wait for the first line: print it once the ports accept connections.
    let mut stdout = std::io::stdout();
    let mut announce = |line: String| writeln!(stdout, "{line}").and_then(|()| stdout.flush());
    announce(format!("sandbox listening on http://127.0.0.1:{port}")).map_err(|e| e.to_string())?;
    let served = match tls {
        Some((tls_listener, tls_port)) => {
            announce(format!("sandbox serving WeChat Pay on https://127.0.0.1:{tls_port}"))
                .map_err(|e| e.to_string())?;
            Sandbox::serve_with_tls(listener, tls_listener, config).await
        }
        None => Sandbox::serve(listener, config).await,
    };
    served.map_err(|e| format!("serving failed: {e}"))
}
