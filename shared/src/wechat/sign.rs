//! v2 `sign` (MD5 or HMAC-SHA256 over the sorted fields and `&key=`), its verification over a
//! received map, and the five-field paySign for `wx.requestPayment`. Rules: wechat.md §3, §5.

use std::collections::BTreeMap;
use std::str::FromStr;

use hmac::{Hmac, KeyInit as _, Mac as _};
use md5::{Digest as _, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

const SIGN: &str = "sign";
const SIGN_TYPE: &str = "sign_type";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignType {
    Md5,
    HmacSha256,
}

impl SignType {
    /// The value of the `sign_type` / `signType` field.
    pub fn as_str(self) -> &'static str {
        match self {
            SignType::Md5 => "MD5",
            SignType::HmacSha256 => "HMAC-SHA256",
        }
    }

    /// Notifies for HMAC-signed orders arrive without `sign_type`; defaulting to MD5 then
    /// rejects every one of them (WxJava #1633), so the digest length decides instead.
    fn from_sign_len(sign: &str) -> Option<Self> {
        match sign.len() {
            32 => Some(SignType::Md5),
            64 => Some(SignType::HmacSha256),
            _ => None,
        }
    }
}

impl FromStr for SignType {
    type Err = ();

    fn from_str(value: &str) -> Result<Self, ()> {
        match value {
            "MD5" => Ok(SignType::Md5),
            "HMAC-SHA256" => Ok(SignType::HmacSha256),
            _ => Err(()),
        }
    }
}

/// v2 sign: every field except `sign`, empty values left out, sorted by name (ASCII,
/// case-sensitive), `k=v` joined by `&`, then `&key=<api key>`; MD5 or HMAC-SHA256 (HMAC key =
/// the api key, over the same string), upper-case hex.
pub fn sign(fields: &BTreeMap<String, String>, api_key: &str, sign_type: SignType) -> String {
    let text = string_to_sign(fields, api_key);
    match sign_type {
        SignType::Md5 => hex::encode_upper(Md5::digest(text.as_bytes())),
        SignType::HmacSha256 => {
            let mut mac = Hmac::<Sha256>::new_from_slice(api_key.as_bytes()).expect("HMAC takes a key of any length");
            mac.update(text.as_bytes());
            hex::encode_upper(mac.finalize().into_bytes())
        }
    }
}

/// `k=v&…&key=<api key>` from raw values (no URL-encoding). A `BTreeMap<String, _>` iterates in
/// byte order, which for WeChat's ASCII names is the case-sensitive ASCII sort the rule asks for.
fn string_to_sign(fields: &BTreeMap<String, String>, api_key: &str) -> String {
    let mut text = String::new();
    for (name, value) in fields {
        if name == SIGN || value.is_empty() {
            continue;
        }
        text.push_str(name);
        text.push('=');
        text.push_str(value);
        text.push('&');
    }
    text.push_str("key=");
    text.push_str(api_key);
    text
}

/// Verifies `fields["sign"]` over the raw received map, unknown extra fields included (WeChat
/// adds fields without notice, and dropping one breaks the check: WxJava #1407). The algorithm
/// is `sign_type` when present (an empty one counts as absent, as it does in the signature),
/// else the sign's length: 64 hex = HMAC-SHA256, 32 = MD5. Hex case does not matter. False
/// when `sign` is missing or empty or `sign_type` is unknown.
pub fn verify(fields: &BTreeMap<String, String>, api_key: &str) -> bool {
    let Some(received) = fields.get(SIGN).filter(|s| !s.is_empty()) else {
        return false;
    };
    let sign_type = match fields.get(SIGN_TYPE).filter(|t| !t.is_empty()) {
        Some(named) => named.parse().ok(),
        None => SignType::from_sign_len(received),
    };
    let Some(sign_type) = sign_type else {
        return false;
    };
    let Ok(received) = hex::decode(received) else {
        return false;
    };
    let expected = hex::decode(sign(fields, api_key, sign_type)).expect("own hex output decodes");
    expected.ct_eq(&received).into()
}

/// paySign for `wx.requestPayment`: the v2 sign over exactly `appId` (capital I), `nonceStr`,
/// `package` (`prepay_id=…`), `signType` and `timeStamp`. `sign_type` must be the one the
/// unifiedorder request used.
pub fn pay_sign(
    app_id: &str,
    time_stamp: &str,
    nonce_str: &str,
    package: &str,
    sign_type: SignType,
    api_key: &str,
) -> String {
    let fields: BTreeMap<String, String> = [
        ("appId", app_id),
        ("nonceStr", nonce_str),
        ("package", package),
        ("signType", sign_type.as_str()),
        ("timeStamp", time_stamp),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    sign(&fields, api_key, sign_type)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::tools::python3;
    use proptest::prelude::*;
    use serde_json::json;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn md5_upper(text: &str) -> String {
        hex::encode_upper(Md5::digest(text.as_bytes()))
    }

    fn hmac_upper(key: &str, text: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(text.as_bytes());
        hex::encode_upper(mac.finalize().into_bytes())
    }

    /// Official 签名算法 page (wechat.md §3): the same string signed both ways.
    const OFFICIAL_KEY: &str = "192006250b4c09247ec02edce69f6a2d";

    fn official_fields() -> BTreeMap<String, String> {
        map(&[
            ("appid", "wxd930ea5d5a258f4f"),
            ("mch_id", "10000100"),
            ("device_info", "1000"),
            ("body", "test"),
            ("nonce_str", "ibuaiVcKdpRxkhJA"),
        ])
    }

    #[test]
    fn official_example_md5_and_hmac() {
        let fields = official_fields();
        assert_eq!(
            sign(&fields, OFFICIAL_KEY, SignType::Md5),
            "9A0A8659F005D6984697E2CA0A9CF3B7"
        );
        assert_eq!(
            sign(&fields, OFFICIAL_KEY, SignType::HmacSha256),
            "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
        );
    }

    #[test]
    fn vector_d_pay_sign() {
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
    fn pay_sign_hmac_signs_the_same_five_fields() {
        let expected = hmac_upper(
            "k",
            "appId=wx1&nonceStr=n&package=prepay_id=p&signType=HMAC-SHA256&timeStamp=1&key=k",
        );
        assert_eq!(
            pay_sign("wx1", "1", "n", "prepay_id=p", SignType::HmacSha256, "k"),
            expected
        );
    }

    const API_KEY: &str = "8934e7d15453e97507ef794cf7b0519d";

    fn unifiedorder(sign_type: SignType) -> BTreeMap<String, String> {
        map(&[
            ("appid", "wx2421b1c4370ec43b"),
            ("mch_id", "10000100"),
            ("nonce_str", "1add1a30ac87aa2db72f57a2375d8fec"),
            ("sign_type", sign_type.as_str()),
            ("body", "小程序-会员充值"),
            ("attach", ""),
            ("out_trade_no", "20240601123456_0001"),
            ("total_fee", "100"),
            ("spbill_create_ip", "14.23.150.211"),
            ("notify_url", "https://pay.example.com/wechat/notify"),
            ("trade_type", "JSAPI"),
            ("openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
        ])
    }

    #[test]
    fn unifiedorder_md5_matches_the_hand_written_string() {
        let text = "appid=wx2421b1c4370ec43b&body=小程序-会员充值&mch_id=10000100\
            &nonce_str=1add1a30ac87aa2db72f57a2375d8fec&notify_url=https://pay.example.com/wechat/notify\
            &openid=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o&out_trade_no=20240601123456_0001&sign_type=MD5\
            &spbill_create_ip=14.23.150.211&total_fee=100&trade_type=JSAPI&key=8934e7d15453e97507ef794cf7b0519d";
        assert_eq!(
            sign(&unifiedorder(SignType::Md5), API_KEY, SignType::Md5),
            md5_upper(text)
        );
    }

    #[test]
    fn unifiedorder_hmac_matches_the_hand_written_string() {
        let text = "appid=wx2421b1c4370ec43b&body=小程序-会员充值&mch_id=10000100\
            &nonce_str=1add1a30ac87aa2db72f57a2375d8fec&notify_url=https://pay.example.com/wechat/notify\
            &openid=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o&out_trade_no=20240601123456_0001&sign_type=HMAC-SHA256\
            &spbill_create_ip=14.23.150.211&total_fee=100&trade_type=JSAPI&key=8934e7d15453e97507ef794cf7b0519d";
        let signed = sign(&unifiedorder(SignType::HmacSha256), API_KEY, SignType::HmacSha256);
        assert_eq!(signed, hmac_upper(API_KEY, text));
        assert_ne!(
            signed,
            hex::encode_upper(Sha256::digest(text.as_bytes())),
            "plain SHA-256 is the classic bug"
        );
    }

    #[test]
    fn sign_and_empty_values_are_left_out_but_sign_type_is_signed() {
        let base = map(&[("a", "1"), ("b", "2")]);
        let mut noisy = base.clone();
        noisy.insert("sign".into(), "ANYTHING".into());
        noisy.insert("c".into(), String::new());
        assert_eq!(sign(&noisy, "k", SignType::Md5), sign(&base, "k", SignType::Md5));
        assert_eq!(sign(&base, "k", SignType::Md5), md5_upper("a=1&b=2&key=k"));

        let mut typed = base.clone();
        typed.insert("sign_type".into(), "MD5".into());
        assert_eq!(
            sign(&typed, "k", SignType::Md5),
            md5_upper("a=1&b=2&sign_type=MD5&key=k")
        );
    }

    #[test]
    fn names_sort_by_ascii_case_sensitive() {
        let fields = map(&[("b", "1"), ("B", "2"), ("a_b", "3"), ("aB", "4")]);
        assert_eq!(sign(&fields, "k", SignType::Md5), md5_upper("B=2&aB=4&a_b=3&b=1&key=k"));
    }

    /// wechat.md §3 written apart from `sign`: the non-empty fields but `sign`, sorted by
    /// name bytewise, `k=v` joined by `&`, then `&key=`; MD5 or HMAC-SHA256, upper-case hex.
    fn written_rule(fields: &BTreeMap<String, String>, api_key: &str, sign_type: SignType) -> String {
        let mut pairs: Vec<(&String, &String)> = fields
            .iter()
            .filter(|(name, value)| *name != "sign" && !value.is_empty())
            .collect();
        pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut text: Vec<String> = pairs.iter().map(|(name, value)| format!("{name}={value}")).collect();
        text.push(format!("key={api_key}"));
        let text = text.join("&");
        match sign_type {
            SignType::Md5 => md5_upper(&text),
            SignType::HmacSha256 => hmac_upper(api_key, &text),
        }
    }

    /// `fields` with the `sign` the written rule gives them.
    fn signed(mut fields: BTreeMap<String, String>, sign_type: SignType) -> BTreeMap<String, String> {
        let value = written_rule(&fields, API_KEY, sign_type);
        fields.insert("sign".into(), value);
        fields
    }

    /// Python's hashlib and hmac over the same fields, the rule written again in Python.
    #[test]
    fn sign_and_pay_sign_match_python() {
        let cases = json!([
            {"key": OFFICIAL_KEY, "type": "MD5", "fields": official_fields()},
            {"key": OFFICIAL_KEY, "type": "HMAC-SHA256", "fields": official_fields()},
            {"key": API_KEY, "type": "HMAC-SHA256", "fields": unifiedorder(SignType::HmacSha256)},
            {"key": "k&key=x", "type": "MD5", "fields": {"attach": "a=1&b=\"中文\"", "Body": " 空格 ", "b": "",
                "sign": "IGNORED", "sign_type": "MD5", "total_fee": "0"}},
            {"key": "", "type": "HMAC-SHA256", "fields": {}},
        ]);
        let program = r#"
import hashlib, hmac, json, sys
def sign(fields, key, sign_type):
    text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "sign" and v != "")
    text = (text + "&" if text else "") + "key=" + key
    if sign_type == "MD5":
        return hashlib.md5(text.encode()).hexdigest().upper()
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest().upper()
print(json.dumps([sign(c["fields"], c["key"], c["type"]) for c in json.load(sys.stdin)]))
"#;
        let Some(out) = python3(program, &cases.to_string()) else {
            return;
        };
        let expected: Vec<String> = serde_json::from_str(&out).unwrap();
        let ours: Vec<String> = cases
            .as_array()
            .unwrap()
            .iter()
            .map(|case| {
                let fields: BTreeMap<String, String> = serde_json::from_value(case["fields"].clone()).unwrap();
                let sign_type = case["type"].as_str().unwrap().parse().unwrap();
                sign(&fields, case["key"].as_str().unwrap(), sign_type)
            })
            .collect();
        assert_eq!(ours, expected);
        assert_eq!(expected[0], "9A0A8659F005D6984697E2CA0A9CF3B7");

        let pay = json!({"appId": "wx1", "nonceStr": "n 中", "package": "prepay_id=p&x=1", "signType": "HMAC-SHA256",
            "timeStamp": "1490840662"});
        let Some(out) = python3(
            program,
            &json!([{"key": "k", "type": "HMAC-SHA256", "fields": pay}]).to_string(),
        ) else {
            return;
        };
        let expected: Vec<String> = serde_json::from_str(&out).unwrap();
        assert_eq!(
            [pay_sign(
                "wx1",
                "1490840662",
                "n 中",
                "prepay_id=p&x=1",
                SignType::HmacSha256,
                "k"
            )],
            [expected[0].clone()]
        );
    }

    #[test]
    fn verify_keeps_unknown_fields_and_rejects_any_change() {
        let mut fields = unifiedorder(SignType::Md5);
        fields.insert("some_future_field".into(), "v".into());
        let notify = signed(fields, SignType::Md5);
        assert!(verify(&notify, API_KEY));
        assert!(!verify(&notify, "another-key"));
        for name in notify.keys().filter(|name| *name != "sign") {
            let mut tampered = notify.clone();
            tampered.get_mut(name).unwrap().push('0');
            assert!(!verify(&tampered, API_KEY), "changing {name} went unnoticed");
        }
        let mut dropped = notify.clone();
        dropped.remove("some_future_field");
        assert!(!verify(&dropped, API_KEY));
    }

    #[test]
    fn verify_picks_hmac_for_64_digit_signs_without_sign_type() {
        let mut fields = unifiedorder(SignType::HmacSha256);
        fields.remove("sign_type");
        let notify = signed(fields, SignType::HmacSha256);
        assert_eq!(notify["sign"].len(), 64);
        assert!(verify(&notify, API_KEY));

        let mut md5 = unifiedorder(SignType::Md5);
        md5.remove("sign_type");
        assert!(verify(&signed(md5, SignType::Md5), API_KEY));
    }

    #[test]
    fn verify_honours_sign_type() {
        let notify = signed(unifiedorder(SignType::HmacSha256), SignType::HmacSha256);
        assert!(verify(&notify, API_KEY));
        let mut relabelled = notify.clone();
        relabelled.insert("sign_type".into(), "MD5".into());
        assert!(!verify(&relabelled, API_KEY));
        relabelled.insert("sign_type".into(), "SHA1".into());
        assert!(!verify(&relabelled, API_KEY));
    }

    /// A named `sign_type` decides, even when the sign's length suggests the other one: an
    /// MD5 sign under `sign_type` HMAC-SHA256, or under a type we do not know, is refused.
    #[test]
    fn verify_trusts_a_named_sign_type_over_the_sign_length() {
        for named in ["HMAC-SHA256", "SHA1"] {
            let mut fields = unifiedorder(SignType::Md5);
            fields.insert("sign_type".into(), named.into());
            let notify = signed(fields, SignType::Md5);
            assert_eq!(notify["sign"].len(), 32);
            assert!(!verify(&notify, API_KEY), "{named}");
        }
        // An empty sign_type is no name: the length decides.
        let mut fields = unifiedorder(SignType::HmacSha256);
        fields.insert("sign_type".into(), String::new());
        assert!(verify(&signed(fields, SignType::HmacSha256), API_KEY));
    }

    #[test]
    fn verify_accepts_lower_case_hex() {
        let mut notify = signed(official_fields(), SignType::Md5);
        let lower = notify["sign"].to_lowercase();
        notify.insert("sign".into(), lower);
        assert!(verify(&notify, API_KEY));
    }

    #[test]
    fn verify_rejects_missing_empty_or_odd_signs() {
        let fields = official_fields();
        assert!(!verify(&fields, OFFICIAL_KEY));
        for bad in [
            "",
            "9A0A8659",
            "ZZ0A8659F005D6984697E2CA0A9CF3B7",
            " 9A0A8659F005D6984697E2CA0A9CF3B7",
        ] {
            let mut notify = fields.clone();
            notify.insert("sign".into(), bad.into());
            assert!(!verify(&notify, OFFICIAL_KEY), "{bad:?}");
        }
    }

    #[test]
    fn sign_type_names() {
        for sign_type in [SignType::Md5, SignType::HmacSha256] {
            assert_eq!(sign_type.as_str().parse(), Ok(sign_type));
        }
        assert_eq!("md5".parse::<SignType>(), Err(()));
        assert_eq!("".parse::<SignType>(), Err(()));
    }

    fn any_sign_type() -> impl Strategy<Value = SignType> {
        prop_oneof![Just(SignType::Md5), Just(SignType::HmacSha256)]
    }

    /// Values WeChat bodies and attach fields really carry: Chinese, zeros, quotes, and the
    /// separators of the signed string itself.
    fn awkward_value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("0".to_owned()),
            "[0-9]{1,6}",
            "[中文测试充值 \"'&=0a-z]{1,12}",
            "\\PC{1,16}",
        ]
    }

    fn fields() -> impl Strategy<Value = BTreeMap<String, String>> {
        proptest::collection::btree_map("[a-z][a-z_]{0,10}", awkward_value(), 1..8).prop_map(|mut fields| {
            fields.remove("sign");
            fields.remove("sign_type");
            fields
        })
    }

    proptest! {
        #[test]
        fn sign_follows_the_written_rule_and_what_it_gives_verifies(
            fields in fields(), sign_type in any_sign_type(), name_the_type in any::<bool>(),
        ) {
            let mut fields = fields;
            if name_the_type {
                fields.insert("sign_type".into(), sign_type.as_str().into());
            }
            prop_assert_eq!(sign(&fields, API_KEY, sign_type), written_rule(&fields, API_KEY, sign_type));
            let notify = signed(fields, sign_type);
            prop_assert!(verify(&notify, API_KEY));
            let mut lower = notify.clone();
            lower.insert("sign".into(), notify["sign"].to_lowercase());
            prop_assert!(verify(&lower, API_KEY));
            prop_assert!(!verify(&notify, "another-key"));
        }

        #[test]
        fn changing_any_non_empty_value_breaks_verification(
            fields in fields(), sign_type in any_sign_type(), pick in any::<prop::sample::Index>(), extra in "\\PC",
        ) {
            let notify = signed(fields, sign_type);
            let non_empty: Vec<&String> =
                notify.iter().filter(|(name, value)| *name != "sign" && !value.is_empty()).map(|(name, _)| name).collect();
            prop_assume!(!non_empty.is_empty());
            let name = pick.get(&non_empty).to_string();
            let mut tampered = notify.clone();
            tampered.get_mut(&name).unwrap().push_str(&extra);
            prop_assert!(!verify(&tampered, API_KEY));
        }

    }
}
