//! WeChat Pay APIv3 (wechat-v3-reconcile.md A). The crypto, no I/O (A.3–A.7): what the
//! merchant signs (`sign`: requests, `paySign`), what WeChat signs (`verify`: answers and
//! notifies, by the WeChat Pay public key or a platform certificate), the AES-GCM that
//! hides notify resources and certificates (`aead`), and the platform certificates
//! themselves (`cert`). The calls: `transport` (one signed request), `keyring` (the keys
//! answers and notifies are verified with), `client` (each API call), `notify` (reading a
//! notify), `model` (their JSON).

pub mod aead;
pub mod cert;
pub mod client;
pub mod keyring;
pub mod model;
pub mod notify;
pub mod sign;
pub mod transport;
pub mod verify;

/// Every string APIv3 signs is lines, each ending in `\n`, the last one included.
fn signed_lines(lines: &[&[u8]]) -> Vec<u8> {
    let mut message = Vec::with_capacity(lines.iter().map(|line| line.len() + 1).sum());
    for line in lines {
        message.extend_from_slice(line);
        message.push(b'\n');
    }
    message
}
