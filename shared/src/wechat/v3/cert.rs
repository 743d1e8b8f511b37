//! Platform certificates (certificate mode, wechat-v3-reconcile.md A.7): `GET /v3/certificates`
//! answers with each certificate encrypted under the APIv3 key; WeChat then names the one it
//! signed with by its serial in `Wechatpay-Serial`.

use serde::Deserialize;
use x509_parser::prelude::{FromDer as _, X509Certificate};

use super::aead;
use super::verify::VerifyingKey;

/// The only algorithm WeChat encrypts certificates with.
const ALGORITHM: &str = "AEAD_AES_256_GCM";

/// One platform certificate, as read from its PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformCertificate {
    /// Upper-case hex of the serial number's bytes, without the DER sign byte (wechatpay-go's
    /// `%X` of `SerialNumber.Bytes()`): what `Wechatpay-Serial` carries.
    pub serial: String,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub pem: String,
}

impl PlatformCertificate {
    /// Reads one `CERTIFICATE` PEM (nothing but the certificate in it).
    pub fn parse(pem: &str) -> Result<PlatformCertificate, String> {
        let der = certificate_der(pem)?;
        let cert = x509(&der)?;
        let validity = cert.validity();
        Ok(PlatformCertificate {
            serial: serial_hex(cert.raw_serial()),
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            pem: pem.to_owned(),
        })
    }

    /// Its public key, with the serial as id.
    pub fn verifying_key(&self) -> Result<VerifyingKey, String> {
        let der = certificate_der(&self.pem)?;
        let cert = x509(&der)?;
        VerifyingKey::from_spki_der(&self.serial, cert.public_key().raw)
    }

    /// Whether `now` (Unix seconds) is within its validity, both ends included.
    pub fn valid_at(&self, now: i64) -> bool {
        (self.not_before..=self.not_after).contains(&now)
    }
}

fn certificate_der(text: &str) -> Result<Vec<u8>, String> {
    let block = pem::parse(text.trim()).map_err(|_| "the platform certificate is not PEM".to_owned())?;
    if block.tag() != "CERTIFICATE" {
        return Err(format!(
            "the platform certificate is a PEM {}, not CERTIFICATE",
            block.tag()
        ));
    }
    Ok(block.into_contents())
}

fn x509(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err("the platform certificate has bytes after its end".to_owned()),
        Err(e) => Err(format!("the platform certificate is not X.509: {e}")),
    }
}

/// DER writes a positive serial whose first bit is set with a leading zero byte, which is
/// not part of the number.
fn serial_hex(raw: &[u8]) -> String {
    let first = raw
        .iter()
        .position(|&byte| byte != 0)
        .unwrap_or(raw.len().saturating_sub(1));
    hex::encode_upper(&raw[first..])
}

#[derive(Deserialize)]
struct CertificatesAnswer {
    data: Vec<CertificateEntry>,
}

#[derive(Deserialize)]
struct CertificateEntry {
    serial_no: String,
    encrypt_certificate: EncryptedCertificate,
}

#[derive(Deserialize)]
struct EncryptedCertificate {
    algorithm: String,
    nonce: String,
    #[serde(default)]
    associated_data: String,
    ciphertext: String,
}

/// Reads a `GET /v3/certificates` answer body: decrypts each `encrypt_certificate` with the
/// APIv3 key (associated data as given, normally `certificate`), parses it, and refuses the
/// whole answer when one does not decrypt or parse, or its serial differs from the entry's
/// `serial_no` (upper or lower case alike). `{"data":[]}`, an idle account's answer, is no
/// certificate. The answer's own signature is the caller's to verify.
pub fn read_certificates(body: &[u8], apiv3_key: &[u8]) -> Result<Vec<PlatformCertificate>, String> {
    let answer: CertificatesAnswer =
        serde_json::from_slice(body).map_err(|e| format!("the /v3/certificates answer is not as documented: {e}"))?;
    answer
        .data
        .into_iter()
        .map(|entry| read_entry(entry, apiv3_key))
        .collect()
}

fn read_entry(entry: CertificateEntry, apiv3_key: &[u8]) -> Result<PlatformCertificate, String> {
    let serial_no = entry.serial_no;
    let encrypted = entry.encrypt_certificate;
    if encrypted.algorithm != ALGORITHM {
        return Err(format!(
            "certificate {serial_no} is encrypted with {:?}, not {ALGORITHM}",
            encrypted.algorithm
        ));
    }
    let plaintext = aead::decrypt(
        apiv3_key,
        &encrypted.nonce,
        &encrypted.associated_data,
        &encrypted.ciphertext,
    )
    .map_err(|e| format!("certificate {serial_no}: {e}"))?;
    let pem = String::from_utf8(plaintext).map_err(|_| format!("certificate {serial_no} decrypts to no text"))?;
    let cert = PlatformCertificate::parse(&pem).map_err(|e| format!("certificate {serial_no}: {e}"))?;
    if !cert.serial.eq_ignore_ascii_case(&serial_no) {
        return Err(format!(
            "certificate {serial_no} decrypts to the certificate of serial {}",
            cert.serial
        ));
    }
    Ok(cert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::oracles::{fresh_rsa_key, wechat_v3_seal, wechat_v3_signature};
    use crate::testing::tools::{TempFile, openssl};
    use crate::wechat::v3::verify::{PlatformKeys, Signed};
    use serde_json::{Value, json};
    use sha2::{Digest as _, Sha256};

    const JAVA_RESPONSE: &str = include_str!("testdata/java_download_certificates_response.json");
    const JAVA_APIV3_KEY: &[u8] = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
    const GO_CERT: &str = include_str!("testdata/go_notify_cert.pem");

    fn subject(cert: &PlatformCertificate) -> String {
        let der = certificate_der(&cert.pem).unwrap();
        x509(&der).unwrap().subject().to_string()
    }

    /// wechatpay-java's `DOWNLOAD_CERTIFICATE_RESPONSE` (A.9 T2).
    #[test]
    fn vector_t2_download_answer() {
        let certs = read_certificates(JAVA_RESPONSE.as_bytes(), JAVA_APIV3_KEY).unwrap();
        assert_eq!(certs.len(), 1);
        let cert = &certs[0];
        assert_eq!(cert.serial, "5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC");
        // 2023-09-19T15:15:58Z and 2028-09-17T15:15:58Z, the entry's effective and expire times.
        assert_eq!((cert.not_before, cert.not_after), (1_695_136_558, 1_852_816_558));
        assert_eq!(cert.pem.len(), 1475);
        let digest = hex::encode(Sha256::digest(cert.pem.as_bytes()));
        assert!(digest.starts_with("8693813a") && digest.ends_with("564eb4"), "{digest}");
        assert!(subject(cert).contains("CN=Tenpay.com sign"), "{}", subject(cert));
        assert_eq!(cert.verifying_key().unwrap().id(), cert.serial);
        assert_eq!(PlatformCertificate::parse(&cert.pem).as_ref(), Ok(cert));
    }

    /// The T2 answer with `change` made to its one entry.
    fn t2_with(change: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut answer: Value = serde_json::from_str(JAVA_RESPONSE).unwrap();
        change(&mut answer["data"][0]);
        serde_json::to_vec(&answer).unwrap()
    }

    #[test]
    fn vector_t2_refused_when_anything_is_off() {
        let mismatch = t2_with(|entry| entry["serial_no"] = json!("5DEA10EF55877E3CF6C33255C2E7DEFFF7E427ED"));
        assert_eq!(
            read_certificates(&mismatch, JAVA_APIV3_KEY),
            Err(
                "certificate 5DEA10EF55877E3CF6C33255C2E7DEFFF7E427ED decrypts to the certificate of serial \
                 5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC"
                    .into()
            )
        );
        let lower = t2_with(|entry| entry["serial_no"] = json!("5dea10ef55877e3cf6c33255c2e7defff7e427ec"));
        assert_eq!(read_certificates(&lower, JAVA_APIV3_KEY).unwrap().len(), 1);

        let wrong_key = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gc";
        let error = read_certificates(JAVA_RESPONSE.as_bytes(), wrong_key).unwrap_err();
        assert_eq!(
            error,
            format!(
                "certificate 5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC: {}",
                aead::AeadError::Tag
            )
        );
        assert!(!error.contains("a7cde1"));
        assert_eq!(
            read_certificates(JAVA_RESPONSE.as_bytes(), b"short").unwrap_err(),
            format!(
                "certificate 5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC: {}",
                aead::AeadError::KeyLength(5)
            )
        );

        let other_aad = t2_with(|entry| entry["encrypt_certificate"]["associated_data"] = json!("transaction"));
        assert!(
            read_certificates(&other_aad, JAVA_APIV3_KEY)
                .unwrap_err()
                .ends_with(&aead::AeadError::Tag.to_string())
        );
        let no_aad = t2_with(|entry| {
            entry["encrypt_certificate"]
                .as_object_mut()
                .unwrap()
                .remove("associated_data");
        });
        assert!(
            read_certificates(&no_aad, JAVA_APIV3_KEY)
                .unwrap_err()
                .ends_with(&aead::AeadError::Tag.to_string())
        );
        let sm4 = t2_with(|entry| entry["encrypt_certificate"]["algorithm"] = json!("AEAD_SM4_GCM"));
        assert_eq!(
            read_certificates(&sm4, JAVA_APIV3_KEY).unwrap_err(),
            "certificate 5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC is encrypted with \"AEAD_SM4_GCM\", not AEAD_AES_256_GCM"
        );
        let no_serial = t2_with(|entry| {
            entry.as_object_mut().unwrap().remove("serial_no");
        });
        assert!(read_certificates(&no_serial, JAVA_APIV3_KEY).is_err());
        assert!(read_certificates(b"<xml/>", JAVA_APIV3_KEY).is_err());
        assert!(read_certificates(br#"{"code":"RESOURCE_NOT_EXISTS"}"#, JAVA_APIV3_KEY).is_err());
        assert_eq!(read_certificates(br#"{"data":[]}"#, JAVA_APIV3_KEY), Ok(vec![]));
    }

    #[test]
    fn vector_t3_certificate() {
        let cert = PlatformCertificate::parse(GO_CERT).unwrap();
        // 2021-04-27 08:55:23Z to 2031-04-25 08:55:23Z (openssl x509 -dates).
        assert_eq!(
            (cert.serial.as_str(), cert.not_before, cert.not_after),
            ("D7CE59D1F522D701", 1_619_513_723, 1_934_873_723)
        );
        assert!(cert.valid_at(1_619_513_723) && cert.valid_at(1_934_873_723));
        assert!(!cert.valid_at(1_619_513_722) && !cert.valid_at(1_934_873_724));
        assert_eq!(cert.pem, GO_CERT);
    }

    #[test]
    fn what_is_no_certificate_is_refused() {
        let parse = |text: &str| PlatformCertificate::parse(text).unwrap_err();
        assert_eq!(parse("MIID not pem"), "the platform certificate is not PEM");
        assert_eq!(
            parse(include_str!("testdata/go_test_public.pem")),
            "the platform certificate is a PEM PUBLIC KEY, not CERTIFICATE"
        );
        let garbage = pem::encode(&pem::Pem::new("CERTIFICATE", vec![0x30, 0x03, 1, 2, 3]));
        assert!(
            parse(&garbage).starts_with("the platform certificate is not X.509"),
            "{}",
            parse(&garbage)
        );
        let mut der = certificate_der(GO_CERT).unwrap();
        der.push(0);
        let trailing = pem::encode(&pem::Pem::new("CERTIFICATE", der));
        assert_eq!(parse(&trailing), "the platform certificate has bytes after its end");
    }

    #[test]
    fn serial_bytes_print_as_wechatpay_go_prints_them() {
        assert_eq!(serial_hex(&[0x00, 0xD7, 0xCE]), "D7CE");
        assert_eq!(serial_hex(&[0x0A, 0x0B]), "0A0B");
        assert_eq!(serial_hex(&[0x00, 0x00, 0x01]), "01");
        assert_eq!(serial_hex(&[0x00]), "00");
        assert_eq!(serial_hex(&[]), "");
    }

    /// A certificate OpenSSL makes now for `private_pem` with `serial`, as PEM.
    fn openssl_certificate(key_file: &TempFile, serial: &str) -> Option<String> {
        let args = [
            "req",
            "-x509",
            "-new",
            "-key",
            key_file.path(),
            "-subj",
            "/CN=Tenpay.com sign",
            "-days",
            "2",
            "-set_serial",
            serial,
        ];
        openssl(&args, b"").map(|out| String::from_utf8(out).unwrap())
    }

    /// OpenSSL's own reading of the serial (its `-serial` is upper-case hex, whole bytes) for
    /// serials with a leading zero nibble, a first bit set, and a small one; and the key
    /// the certificate carries verifies what its private key signs.
    #[test]
    fn certificates_made_by_openssl_read_as_openssl_reads_them() {
        let (private_pem, _) = fresh_rsa_key();
        let key_file = TempFile::new(private_pem.as_bytes());
        for serial in [
            "0x0A1B2C3D4E5F",
            "0x80FF",
            "0x01",
            "0x5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC",
        ] {
            let Some(pem) = openssl_certificate(&key_file, serial) else {
                return;
            };
            let shown = openssl(&["x509", "-noout", "-serial"], pem.as_bytes()).unwrap();
            let shown = String::from_utf8(shown).unwrap();
            let cert = PlatformCertificate::parse(&pem).unwrap();
            assert_eq!(format!("serial={}\n", cert.serial), shown);
            assert_eq!(cert.not_after - cert.not_before, 2 * 86_400);

            let keys = PlatformKeys::new(vec![cert.verifying_key().unwrap()]);
            let signature = wechat_v3_signature(&private_pem, "1700000000", "n", b"{}");
            let signed = Signed {
                timestamp: "1700000000",
                nonce: "n",
                signature: &signature,
                serial: &cert.serial,
                body: b"{}",
            };
            assert_eq!(keys.verify(&signed, 1_700_000_000), Ok(()));
        }
    }

    /// An answer as WeChat makes it, sealed here: every entry comes back, in order, with the
    /// associated data each entry names.
    #[test]
    fn sealed_answers_read_back_in_order() {
        let (private_pem, _) = fresh_rsa_key();
        let key_file = TempFile::new(private_pem.as_bytes());
        let apiv3_key = b"0123456789abcdef0123456789ABCDEF";
        let mut entries = Vec::new();
        let mut expected = Vec::new();
        for (serial, aad, nonce) in [("0x11", "certificate", "aaaaaaaaaaaa"), ("0x2222", "", "bbbbbbbbbbbb")] {
            let Some(pem) = openssl_certificate(&key_file, serial) else {
                return;
            };
            let cert = PlatformCertificate::parse(&pem).unwrap();
            entries.push(json!({
                "serial_no": cert.serial,
                "effective_time": "ignored",
                "encrypt_certificate": {
                    "algorithm": "AEAD_AES_256_GCM",
                    "associated_data": aad,
                    "nonce": nonce,
                    "ciphertext": wechat_v3_seal(apiv3_key, nonce, aad, pem.as_bytes()),
                }
            }));
            expected.push(cert);
        }
        let body = serde_json::to_vec(&json!({ "data": entries })).unwrap();
        let certs = read_certificates(&body, apiv3_key).unwrap();
        assert_eq!(certs, expected);
        assert_eq!(
            certs.iter().map(|c| c.serial.as_str()).collect::<Vec<_>>(),
            ["11", "2222"]
        );
    }
}
