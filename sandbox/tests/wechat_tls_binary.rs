//! The `sandbox` binary with WeChat: it serves WeChat Pay over TLS on `SANDBOX_TLS_PORT`,
//! writes the CA to `SANDBOX_TLS_CA_FILE` for clients to trust, and takes refunds only
//! with the merchant certificate of `SANDBOX_WECHAT_CLIENT_CERT`.

mod common;

use common::wechat::*;
use common::{APP_ID, APP_SECRET, SALT, TOKEN};
use sandbox::wechat::sign::SignType;
use sandbox::wechat::xml::parse_flat;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the sandbox process even when an assertion fails first.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn announced(lines: &mut impl BufRead, prefix: &str) -> String {
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    line.trim().strip_prefix(prefix).expect(&line).to_owned()
}

#[test]
fn the_binary_serves_wechat_pay_over_tls_with_its_ca_in_a_file() {
    let dir = std::env::temp_dir().join(format!("minipay-sandbox-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    let merchant = merchant_certificate();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .env("SANDBOX_PORT", "0")
        .env("SANDBOX_TLS_PORT", "0")
        .env("SANDBOX_TLS_CA_FILE", &ca_file)
        .env("SANDBOX_APP_ID", APP_ID)
        .env("SANDBOX_APP_SECRET", APP_SECRET)
        .env("SANDBOX_SALT", SALT)
        .env("SANDBOX_TOKEN", TOKEN)
        .env("SANDBOX_WECHAT_APP_ID", WX_APP_ID)
        .env("SANDBOX_WECHAT_APP_SECRET", WX_APP_SECRET)
        .env("SANDBOX_WECHAT_MCH_ID", MCH_ID)
        .env("SANDBOX_WECHAT_API_KEY", API_KEY)
        // As an env file holds it: one line, `\n` for the newlines.
        .env("SANDBOX_WECHAT_CLIENT_CERT", merchant.cert_pem.replace('\n', "\\n"))
        .env_remove("SANDBOX_NOTIFY_URL")
        .env_remove("SANDBOX_WECHAT_NOTIFY_URL")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let _child = KillOnDrop(child);
    let http_url = announced(&mut stdout, "sandbox listening on ");
    let tls_url = announced(&mut stdout, "sandbox serving WeChat Pay on ");
    assert!(http_url.starts_with("http://127.0.0.1:") && tls_url.starts_with("https://127.0.0.1:"));

    // A client that trusts the written CA, and nothing else.
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&ca_file).unwrap()).unwrap();
    let client = |identity: Option<&str>| {
        let builder = reqwest::Client::builder().tls_certs_only([ca.clone()]);
        match identity {
            Some(pem) => builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap()),
            None => builder,
        }
        .build()
        .unwrap()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let refund = signed_xml(wechat_refund_fields("NO-SUCH-ORDER", "R-1", 100), SignType::Md5);
    let post = |client: reqwest::Client| {
        let url = format!("{tls_url}{REFUND}");
        let body = refund.clone();
        runtime.block_on(async move {
            let answer = client.post(url).body(body).send().await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        })
    };
    let (status, page) = post(client(None));
    assert_eq!(status, 400, "{page}");
    let (status, text) = post(client(Some(&merchant.identity_pem())));
    assert_eq!(status, 200);
    assert_eq!(
        outcome(&parse_flat(text.as_bytes()).unwrap()),
        "ORDERNOTEXIST",
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
