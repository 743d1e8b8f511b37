//! WeChat Pay v2 signatures, as the platform computes them (wechat.md §3): every field
//! but `sign` whose value is not empty, sorted by name in ASCII order, joined as
//! `k=v&k=v` with the raw values, then `&key=<APIv2 key>`; MD5 of that, or HMAC-SHA256
//! keyed with the API key over the same string; hex in upper case.
//!
//! The sandbox's own code, written from the reference and pinned by its published
//! vectors below, so that a mistake in the backend's signing cannot hide behind the same
//! mistake here.

use super::Fields;
use hmac::{Hmac, KeyInit as _, Mac as _};
use md5::{Digest as _, Md5};
use sha2::Sha256;
use std::str::FromStr;

/// `sign_type`: MD5 unless the request names HMAC-SHA256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignType {
    Md5,
    HmacSha256,
}

impl SignType {
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Md5 => "MD5",
            SignType::HmacSha256 => "HMAC-SHA256",
        }
    }

    /// Hex digits of a sign of this type.
    pub fn sign_len(self) -> usize {
        match self {
            SignType::Md5 => 32,
            SignType::HmacSha256 => 64,
        }
    }
}

impl FromStr for SignType {
    type Err = ();

    /// Exactly the names WeChat documents; anything else is a malformed `sign_type`.
    fn from_str(name: &str) -> Result<SignType, ()> {
        match name {
            "MD5" => Ok(SignType::Md5),
            "HMAC-SHA256" => Ok(SignType::HmacSha256),
            _ => Err(()),
        }
    }
}

/// The text that is hashed: `k=v` pairs of the signed fields, then `key=<api_key>`.
pub fn string_to_sign(fields: &Fields, api_key: &str) -> String {
    // A BTreeMap of Strings iterates in byte order, which for field names is ASCII order.
    let mut text = String::new();
    for (name, value) in fields
        .iter()
        .filter(|(name, value)| *name != "sign" && !value.is_empty())
    {
        text.push_str(name);
        text.push('=');
        text.push_str(value);
        text.push('&');
    }
    text.push_str("key=");
    text.push_str(api_key);
    text
}

/// The sign WeChat computes for `fields`: upper-case hex.
pub fn sign(fields: &Fields, api_key: &str, sign_type: SignType) -> String {
    digest_upper_hex(&string_to_sign(fields, api_key), api_key, sign_type)
}

fn digest_upper_hex(text: &str, api_key: &str, sign_type: SignType) -> String {
    match sign_type {
        SignType::Md5 => hex::encode_upper(Md5::digest(text.as_bytes())),
        SignType::HmacSha256 => {
            let mut mac = Hmac::<Sha256>::new_from_slice(api_key.as_bytes()).expect("HMAC takes keys of any length");
            mac.update(text.as_bytes());
            hex::encode_upper(mac.finalize().into_bytes())
        }
    }
}

/// Whether `fields` carry exactly the sign WeChat computes with `sign_type`. The
/// comparison is of the text: a sign in lower-case hex is not WeChat's sign (the
/// platform answers it 签名错误).
pub fn sign_matches(fields: &Fields, api_key: &str, sign_type: SignType) -> bool {
    fields
        .get("sign")
        .is_some_and(|received| *received == sign(fields, api_key, sign_type))
}

/// How a receiver checks a message that may not name its sign type (notifies of
/// HMAC-SHA256 orders often do not): `sign_type` when present, else the sign's length
/// (64 hex digits for HMAC-SHA256, 32 for MD5), as wechat.md §3 describes.
pub fn verifies(fields: &Fields, api_key: &str) -> bool {
    let named = fields.get("sign_type").filter(|name| !name.is_empty());
    let sign_type = match named {
        Some(name) => match name.parse() {
            Ok(sign_type) => sign_type,
            Err(()) => return false,
        },
        None => match fields.get("sign").map(String::len) {
            Some(64) => SignType::HmacSha256,
            _ => SignType::Md5,
        },
    };
    sign_matches(fields, api_key, sign_type)
}

/// `paySign` of `wx.requestPayment` (wechat.md §5): the same rule over exactly five
/// fields, `appId` with a capital I.
pub fn pay_sign(
    app_id: &str,
    time_stamp: &str,
    nonce_str: &str,
    package: &str,
    sign_type: SignType,
    api_key: &str,
) -> String {
    let fields = Fields::from([
        ("appId".to_owned(), app_id.to_owned()),
        ("nonceStr".to_owned(), nonce_str.to_owned()),
        ("package".to_owned(), package.to_owned()),
        ("signType".to_owned(), sign_type.as_str().to_owned()),
        ("timeStamp".to_owned(), time_stamp.to_owned()),
    ]);
    sign(&fields, api_key, sign_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// The example of WeChat's 签名算法 page (wechat.md §3 cites it): one field set signed
    /// both ways. Checked independently with Python's hashlib and hmac.
    const OFFICIAL_KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    fn official_fields() -> Fields {
        fields(&[
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("device_info", "1000"),
            ("body", "test"),
            ("nonce_str", "ibuaiVcKdpRxkhJA"),
        ])
    }

    #[test]
    fn official_sign_vectors() {
        let signed = official_fields();
        assert_eq!(
            string_to_sign(&signed, OFFICIAL_KEY),
            "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA\
             &key=192006250b4c09247ec02edce69f6a2d"
        );
        assert_eq!(
            sign(&signed, OFFICIAL_KEY, SignType::Md5),
            "9A0A8659F005D6984697E2CA0A9CF3B7"
        );
        assert_eq!(
            sign(&signed, OFFICIAL_KEY, SignType::HmacSha256),
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
    }

    /// Test vector (d) of wechat.md §5.
    #[test]
    fn pay_sign_vector_d() {
        let pay_sign = pay_sign(
            "wxd678efh567hg6787",
            "1490840662",
            "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
            "prepay_id=wx2017033010242291fcfe0db70013231072",
            SignType::Md5,
            "qazwsxedcrfvtgbyhnujmikolp111111",
        );
        assert_eq!(pay_sign, "22D9B4E54AB1950F51E0649E8810ACD6");
    }

    #[test]
    fn sign_and_empty_values_are_not_signed_but_sign_type_is() {
        let mut noisy = official_fields();
        noisy.insert("sign".into(), "ANYTHING".into());
        noisy.insert("attach".into(), String::new());
        assert_eq!(
            sign(&noisy, OFFICIAL_KEY, SignType::Md5),
            "9A0A8659F005D6984697E2CA0A9CF3B7"
        );
        noisy.insert("sign_type".into(), "MD5".into());
        assert_ne!(
            sign(&noisy, OFFICIAL_KEY, SignType::Md5),
            "9A0A8659F005D6984697E2CA0A9CF3B7"
        );
    }

    #[test]
    fn names_sort_in_ascii_order_and_values_stay_raw() {
        let signed = fields(&[("b", "1"), ("B", "2"), ("a_b", "x&y=z"), ("aB", "月")]);
        assert_eq!(string_to_sign(&signed, "k"), "B=2&aB=月&a_b=x&y=z&b=1&key=k");
    }

    #[test]
    fn only_the_exact_upper_case_sign_matches() {
        let mut signed = official_fields();
        signed.insert("sign".into(), "9A0A8659F005D6984697E2CA0A9CF3B7".into());
        assert!(sign_matches(&signed, OFFICIAL_KEY, SignType::Md5));
        assert!(verifies(&signed, OFFICIAL_KEY));
        assert!(!sign_matches(&signed, OFFICIAL_KEY, SignType::HmacSha256));
        assert!(!sign_matches(&signed, "another key", SignType::Md5));
        signed.insert("sign".into(), "9a0a8659f005d6984697e2ca0a9cf3b7".into());
        assert!(!sign_matches(&signed, OFFICIAL_KEY, SignType::Md5));
        assert!(!verifies(&signed, OFFICIAL_KEY));
    }

    #[test]
    fn receivers_pick_the_type_by_name_else_by_length() {
        let mut hmac = official_fields();
        hmac.insert("sign".into(), sign(&hmac, OFFICIAL_KEY, SignType::HmacSha256));
        assert!(
            verifies(&hmac, OFFICIAL_KEY),
            "a 64-digit sign without sign_type is HMAC"
        );
        let mut named = official_fields();
        named.insert("sign_type".into(), "HMAC-SHA256".into());
        named.insert("sign".into(), sign(&named, OFFICIAL_KEY, SignType::HmacSha256));
        assert!(verifies(&named, OFFICIAL_KEY));
        named.insert("sign_type".into(), "MD5".into());
        assert!(!verifies(&named, OFFICIAL_KEY));
        named.insert("sign_type".into(), "SHA1".into());
        assert!(!verifies(&named, OFFICIAL_KEY));
    }

    #[test]
    fn sign_type_names() {
        for sign_type in [SignType::Md5, SignType::HmacSha256] {
            assert_eq!(sign_type.as_str().parse(), Ok(sign_type));
            assert_eq!(sign(&official_fields(), "k", sign_type).len(), sign_type.sign_len());
        }
        assert_eq!("md5".parse::<SignType>(), Err(()));
        assert_eq!("".parse::<SignType>(), Err(()));
    }
}
