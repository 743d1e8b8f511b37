//! Platform certificates (A.7): X.509, `CN=Tenpay.com sign`, five years, identified by
//! an upper-case hex serial. The sandbox issues them itself, self-signed, from the
//! configured key (and from fresh keys when a test rotates them).

use crate::clock::{beijing_date, beijing_rfc3339, now_secs};
use crate::trade::keyring::private_key;
use crate::wechat_v3_keys::certificate_serial;
use aws_lc_rs::signature::RsaKeyPair;
use rcgen::{CertificateParams, DnType, KeyPair, PKCS_RSA_SHA256, SerialNumber, date_time_ymd};

/// The subject's common name of every platform certificate.
pub const COMMON_NAME: &str = "Tenpay.com sign";
const VALIDITY_YEARS: i64 = 5;
const SECS_PER_DAY: i64 = 86_400;

/// A certificate and the key that signs with it.
#[derive(Debug)]
pub struct PlatformCertificate {
    /// Upper-case hex, as `Wechatpay-Serial` names it.
    pub serial: String,
    pub pem: String,
    /// RFC 3339 (Beijing), as `/v3/certificates` lists them.
    pub effective_time: String,
    pub expire_time: String,
    pub key: RsaKeyPair,
}

impl PlatformCertificate {
    /// Issues a certificate for the RSA key `private_pem` (PKCS#8 or PKCS#1), valid from
    /// yesterday (so that no clock, in any zone, sees it as not yet valid) for five years.
    pub fn issue(private_pem: &str) -> Result<PlatformCertificate, String> {
        let key = private_key(private_pem).map_err(|e| format!("the platform certificate key: {e}"))?;
        let signing_key = KeyPair::from_pem_and_sign_algo(private_pem.trim(), &PKCS_RSA_SHA256)
            .map_err(|e| format!("the platform certificate key: {e}"))?;
        let serial = certificate_serial();
        let serial_bytes = hex::decode(&serial).expect("the serial is hex");
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, COMMON_NAME);
        params.distinguished_name.push(DnType::OrganizationName, "Tenpay.com");
        params.serial_number = Some(SerialNumber::from_slice(&serial_bytes));
        let from = now_secs() - SECS_PER_DAY;
        let (year, month, day) = beijing_date(from);
        // 28 at most, so that 29 February has a counterpart five years on.
        let day = day.min(28);
        let date = |year: i64| date_time_ymd(year as i32, month as u8, day as u8);
        params.not_before = date(year);
        params.not_after = date(year + VALIDITY_YEARS);
        let certificate = params
            .self_signed(&signing_key)
            .map_err(|e| format!("issuing the platform certificate: {e}"))?;
        let effective = params.not_before.unix_timestamp();
        let expire = params.not_after.unix_timestamp();
        Ok(PlatformCertificate {
            serial,
            pem: certificate.pem(),
            effective_time: beijing_rfc3339(effective),
            expire_time: beijing_rfc3339(expire),
            key,
        })
    }

    /// A certificate with a fresh key: what WeChat Pay rotates to.
    pub fn issue_fresh() -> PlatformCertificate {
        let (private_pem, _) = crate::trade_keys::key_pair();
        PlatformCertificate::issue(&private_pem).expect("a generated key issues a certificate")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat_v3::keys::{sign_base64, verifies};

    #[test]
    fn certificates_carry_the_serial_and_the_key() {
        let (private_pem, public_pem) = crate::trade_keys::key_pair();
        let certificate = PlatformCertificate::issue(&private_pem).unwrap();
        assert_eq!(certificate.serial.len(), 40);
        assert!(certificate.pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let der = crate::tls::first_certificate_der(&certificate.pem).unwrap();
        let serial_bytes = hex::decode(&certificate.serial).unwrap();
        assert!(der.windows(serial_bytes.len()).any(|w| w == serial_bytes.as_slice()));
        assert!(der.windows(COMMON_NAME.len()).any(|w| w == COMMON_NAME.as_bytes()));
        let public_der = crate::trade::keyring::public_key_der(&public_pem).unwrap();
        assert!(verifies(&public_der, b"m", &sign_base64(&certificate.key, b"m")));
        assert!(certificate.effective_time.ends_with("+08:00"));
        let years = |text: &str| text[..4].parse::<i64>().unwrap();
        assert_eq!(years(&certificate.expire_time) - years(&certificate.effective_time), 5);
        assert_ne!(PlatformCertificate::issue_fresh().serial, certificate.serial);
    }
}
