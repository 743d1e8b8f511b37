//! WeChat Pay APIv3 test helpers, written here from the reference (A.3–A.5) rather than
//! taken from the sandbox: requests signed with the merchant key, answers and notifies
//! verified with WeChat Pay's keys, resources decrypted with the APIv3 key, and a notify
//! receiver that keeps what it got.

use super::hub;
use super::wechat::{MCH_ID, WX_APP_ID, wechat_config};
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sandbox::{Sandbox, SandboxConfig, WechatV3Keys, WechatV3Mode, WechatV3PayOptions};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

pub const APIV3_KEY: &str = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
pub const PREPAY: &str = "/v3/pay/transactions/jsapi";
pub const REFUNDS: &str = "/v3/refund/domestic/refunds";
pub const CERTIFICATES: &str = "/v3/certificates";
pub use super::hub::NOWHERE;

/// The merchant's and WeChat Pay's keys, made once per test process.
pub fn keys() -> &'static WechatV3Keys {
    static KEYS: OnceLock<WechatV3Keys> = OnceLock::new();
    KEYS.get_or_init(sandbox::wechat_v3_keys::generate)
}

pub fn v3_config(mode: WechatV3Mode) -> SandboxConfig {
    let mut config = wechat_config(None);
    config.wechat.as_mut().unwrap().v3 = Some(keys().sandbox_config(APIV3_KEY, mode));
    config
}

pub async fn v3_sandbox(mode: WechatV3Mode) -> Sandbox {
    Sandbox::start(v3_config(mode)).await
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn rsa_private(pem_text: &str) -> RsaKeyPair {
    RsaKeyPair::from_pkcs8(pem::parse(pem_text).unwrap().contents()).unwrap()
}

/// SHA256withRSA, Base64, with the merchant's private key.
pub fn merchant_sign(message: &str) -> String {
    let key = rsa_private(&keys().merchant_private_pem);
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        message.as_bytes(),
        &mut signature,
    )
    .unwrap();
    STANDARD.encode(signature)
}

/// Whether `signature` is a SHA256withRSA signature of `message` by the SPKI key `spki`.
pub fn verifies(spki: &[u8], message: &str, signature: &str) -> bool {
    let Ok(signature) = STANDARD.decode(signature) else {
        return false;
    };
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki)
        .verify(message.as_bytes(), &signature)
        .is_ok()
}

/// The SPKI of WeChat Pay's public key, as the merchant downloads it.
pub fn pay_public_key() -> Vec<u8> {
    pem::parse(&keys().pay_public_pem).unwrap().into_contents()
}

/// The SubjectPublicKeyInfo inside an RSA certificate: the SEQUENCE around the first
/// rsaEncryption algorithm identifier (the certificate's own signature algorithm is
/// sha256WithRSAEncryption, another OID).
pub fn certificate_public_key(certificate_pem: &str) -> Vec<u8> {
    let der = pem::parse(certificate_pem).unwrap().into_contents();
    let rsa_encryption = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let oid = der
        .windows(rsa_encryption.len())
        .position(|w| w == rsa_encryption)
        .unwrap();
    // SEQUENCE (30 82 len len) { SEQUENCE (30 0d) { OID ... } ... }
    let start = oid - 2 - 4;
    assert_eq!(&der[start..start + 2], &[0x30, 0x82]);
    let len = usize::from(der[start + 2]) << 8 | usize::from(der[start + 3]);
    der[start..start + 4 + len].to_vec()
}

/// AES-256-GCM with the APIv3 key: the plaintext of a resource.
pub fn decrypt(nonce: &str, associated_data: &str, ciphertext: &str) -> Result<Vec<u8>, ()> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, APIV3_KEY.as_bytes()).unwrap());
    let mut in_out = STANDARD.decode(ciphertext).map_err(drop)?;
    let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes()).map_err(drop)?;
    let plaintext = key
        .open_in_place(nonce, Aad::from(associated_data.as_bytes()), &mut in_out)
        .map_err(drop)?;
    Ok(plaintext.to_vec())
}

/// The decrypted `resource` of a notify or an `encrypt_certificate`, checking its AAD.
pub fn open_resource(resource: &Value, associated_data: &str) -> Vec<u8> {
    assert_eq!(resource["algorithm"], "AEAD_AES_256_GCM");
    assert_eq!(resource["associated_data"], associated_data);
    decrypt(
        resource["nonce"].as_str().unwrap(),
        associated_data,
        resource["ciphertext"].as_str().unwrap(),
    )
    .expect("the resource opens with the APIv3 key")
}

/// An answer as it came.
#[derive(Debug, Clone)]
pub struct V3Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl V3Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON {:?}: {e}", self.text))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.headers))
            .to_str()
            .unwrap()
    }

    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    /// `TIMESTAMP\nNONCE\nBODY\n` of the answer's signature.
    pub fn signed_message(&self) -> String {
        signed_message(&self.headers, &self.text)
    }

    /// Whether the answer's signature verifies with `spki`.
    pub fn verifies_with(&self, spki: &[u8]) -> bool {
        verifies(spki, &self.signed_message(), self.header("wechatpay-signature"))
    }
}

pub fn signed_message(headers: &HeaderMap, body: &str) -> String {
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
    format!(
        "{}\n{}\n{body}\n",
        header("wechatpay-timestamp"),
        header("wechatpay-nonce")
    )
}

/// How a test request departs from a correct one.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: &'static str,
    pub path_and_query: String,
    pub body: String,
    /// The request's `Wechatpay-Serial` (the key the caller can verify with).
    pub wechatpay_serial: Option<String>,
    pub accept: bool,
    pub user_agent: bool,
    /// Replaces the whole `Authorization` (None: the correct one).
    pub authorization: Option<String>,
    pub timestamp: i64,
    /// Signs this instead of the real message.
    pub signed_text: Option<String>,
    pub over_tls: bool,
}

impl Call {
    pub fn get(path_and_query: &str) -> Call {
        Call {
            method: "GET",
            path_and_query: path_and_query.to_owned(),
            body: String::new(),
            wechatpay_serial: None,
            accept: true,
            user_agent: true,
            authorization: None,
            timestamp: now(),
            signed_text: None,
            over_tls: false,
        }
    }

    pub fn post(path_and_query: &str, body: &Value) -> Call {
        Call {
            method: "POST",
            body: body.to_string(),
            ..Call::get(path_and_query)
        }
    }

    /// `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n` (A.3).
    pub fn message(&self, nonce: &str) -> String {
        format!(
            "{}\n{}\n{}\n{nonce}\n{}\n",
            self.method, self.path_and_query, self.timestamp, self.body
        )
    }

    /// The `Authorization` header with these fields, in the wechatpay-go order.
    pub fn authorization_of(mchid: &str, nonce: &str, timestamp: i64, serial: &str, signature: &str) -> String {
        format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"{mchid}\",nonce_str=\"{nonce}\",timestamp=\"{timestamp}\",serial_no=\"{serial}\",signature=\"{signature}\""
        )
    }

    pub fn correct_authorization(&self) -> String {
        let nonce = "593BEC0C930BF1AFEB40B4A08C8FB242";
        let text = self.signed_text.clone().unwrap_or_else(|| self.message(nonce));
        Call::authorization_of(
            MCH_ID,
            nonce,
            self.timestamp,
            &keys().merchant_cert_serial,
            &merchant_sign(&text),
        )
    }

    pub async fn send(&self, sandbox: &Sandbox) -> V3Answer {
        if !self.accept {
            return self.send_raw(sandbox).await;
        }
        let base = if self.over_tls {
            &sandbox.tls_url
        } else {
            &sandbox.base_url
        };
        let client = if self.over_tls {
            super::wechat::tls_client(None)
        } else {
            super::http()
        };
        let url = format!("{base}{}", self.path_and_query);
        let mut request = match self.method {
            "GET" => client.get(url),
            _ => client.post(url).body(self.body.clone()),
        };
        request = request.header("content-type", "application/json");
        if self.accept {
            request = request.header("accept", "application/json");
        }
        // reqwest sends no User-Agent unless told.
        if self.user_agent {
            request = request.header("user-agent", "minipay-sandbox-tests/1.0");
        }
        if let Some(serial) = &self.wechatpay_serial {
            request = request.header("wechatpay-serial", serial);
        }
        let authorization = self
            .authorization
            .clone()
            .unwrap_or_else(|| self.correct_authorization());
        request = request.header("authorization", authorization);
        let response = request.send().await.unwrap();
        V3Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap(),
        }
    }
}

impl Call {
    /// Over a bare TCP connection, for requests reqwest cannot make (it always adds an
    /// `Accept: */*`).
    async fn send_raw(&self, sandbox: &Sandbox) -> V3Answer {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let address = sandbox.base_url.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\nAuthorization: {}\r\n",
            self.method,
            self.path_and_query,
            self.body.len(),
            self.authorization
                .clone()
                .unwrap_or_else(|| self.correct_authorization())
        );
        if self.user_agent {
            head.push_str("User-Agent: minipay-sandbox-tests/1.0\r\n");
        }
        stream
            .write_all(format!("{head}\r\n{}", self.body).as_bytes())
            .await
            .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        let (head, text) = raw.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(": ").unwrap();
            headers.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        V3Answer {
            status,
            headers,
            text: text.to_owned(),
        }
    }
}

/// The body of a JSAPI prepay (total 1990) for `user`.
pub fn prepay_body(sandbox: &Sandbox, out_trade_no: &str, user: &str) -> Value {
    json!({
        "appid": WX_APP_ID,
        "mchid": MCH_ID,
        "description": "月卡 monthly pass",
        "out_trade_no": out_trade_no,
        "notify_url": NOWHERE,
        "amount": { "total": 1990, "currency": "CNY" },
        "payer": { "openid": sandbox.wechat_openid_of(user) },
        "attach": "coupon=A&x=1",
    })
}

/// Prepays `body`; the answer.
pub async fn prepay(sandbox: &Sandbox, body: &Value) -> V3Answer {
    Call::post(PREPAY, body).send(sandbox).await
}

/// Places an order for alice with `notify_url`; returns its `prepay_id`.
pub async fn place(sandbox: &Sandbox, out_trade_no: &str, notify_url: &str) -> String {
    let mut body = prepay_body(sandbox, out_trade_no, "alice");
    body["notify_url"] = json!(notify_url);
    let answer = prepay(sandbox, &body).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()["prepay_id"].as_str().unwrap().to_owned()
}

/// Places and pays an order (total 1990) without a notify.
pub async fn paid_order(sandbox: &Sandbox, out_trade_no: &str) {
    place(sandbox, out_trade_no, NOWHERE).await;
    let quiet = WechatV3PayOptions {
        deliveries: 0,
        ..WechatV3PayOptions::default()
    };
    sandbox.wechat_v3_pay(out_trade_no, quiet).await.unwrap();
}

pub fn order_path(out_trade_no: &str) -> String {
    format!("/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={MCH_ID}")
}

pub async fn query_order(sandbox: &Sandbox, out_trade_no: &str) -> V3Answer {
    Call::get(&order_path(out_trade_no)).send(sandbox).await
}

pub fn refund_body(out_trade_no: &str, out_refund_no: &str, refund: i64) -> Value {
    json!({
        "out_trade_no": out_trade_no,
        "out_refund_no": out_refund_no,
        "reason": "用户申请退款",
        "amount": { "refund": refund, "total": 1990, "currency": "CNY" },
    })
}

pub async fn refund(sandbox: &Sandbox, body: &Value) -> V3Answer {
    Call::post(REFUNDS, body).send(sandbox).await
}

/// One notify as received.
#[derive(Debug, Clone)]
pub struct Notify {
    pub headers: HeaderMap,
    pub body: String,
}

impl Notify {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    pub fn serial(&self) -> &str {
        self.headers["wechatpay-serial"].to_str().unwrap()
    }

    pub fn signature(&self) -> &str {
        self.headers["wechatpay-signature"].to_str().unwrap()
    }

    pub fn verifies_with(&self, spki: &[u8]) -> bool {
        verifies(spki, &signed_message(&self.headers, &self.body), self.signature())
    }

    /// The decrypted resource, as JSON.
    pub fn resource(&self) -> Value {
        let body = self.json();
        let associated_data = body["resource"]["original_type"].as_str().unwrap().to_owned();
        serde_json::from_slice(&open_resource(&body["resource"], &associated_data)).unwrap()
    }
}

/// A stand-in backend notify endpoint answering `status`, keeping what it got.
#[derive(Clone)]
pub struct JsonReceiver {
    pub url: String,
    received: Arc<Mutex<Vec<Notify>>>,
}

impl JsonReceiver {
    pub fn start(status: StatusCode) -> JsonReceiver {
        let received: Arc<Mutex<Vec<Notify>>> = Arc::default();
        let keeping = received.clone();
        let url = hub::mount("wechat/v3/notify", move |headers: HeaderMap, body: Bytes| {
            let keeping = keeping.clone();
            async move {
                let body = String::from_utf8(body.to_vec()).unwrap();
                keeping.lock().unwrap().push(Notify { headers, body });
                let ack = json!({ "code": "SUCCESS", "message": "成功" }).to_string();
                if status == StatusCode::NO_CONTENT {
                    status.into_response()
                } else {
                    (status, ack).into_response()
                }
            }
        });
        JsonReceiver { url, received }
    }

    pub fn received(&self) -> Vec<Notify> {
        self.received.lock().unwrap().clone()
    }
}
