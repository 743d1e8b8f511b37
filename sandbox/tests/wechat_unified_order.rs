//! `POST /pay/unifiedorder` over HTTP: signatures first, field rules, JSAPI payers,
//! idempotent repeats, refused XML.

mod common;

use common::wechat::*;
use common::*;
use sandbox::TradeState;
use sandbox::clock::{beijing_compact, now_secs};
use sandbox::wechat::sign::{SignType, sign, verifies as verify};
use sandbox::wechat::xml::{parse_flat, to_xml};

#[tokio::test]
async fn an_order_answers_a_signed_prepay_id() {
    let sandbox = wechat_sandbox().await;
    let openid = sandbox.wechat_openid_of("alice");
    let answer = pay_call(&sandbox, UNIFIED_ORDER, wechat_order_fields("WX-1", &openid)).await;
    assert_eq!(outcome(&answer), "SUCCESS");
    assert_eq!(answer["return_msg"], "OK");
    assert_eq!(
        (answer["appid"].as_str(), answer["mch_id"].as_str()),
        (WX_APP_ID, MCH_ID)
    );
    assert_eq!(answer["trade_type"], "JSAPI");
    assert_eq!(answer["sign"].len(), 32);
    assert_ne!(answer["nonce_str"], "5K8264ILTKCH16CQ2502SI8ZNMTM67VS");
    let prepay_id = &answer["prepay_id"];
    assert!(prepay_id.starts_with("wx") && prepay_id.len() <= 64, "{prepay_id}");
    assert!(prepay_id[2..16].bytes().all(|b| b.is_ascii_digit()));

    let order = sandbox.wechat_order("WX-1").unwrap();
    assert_eq!((order.trade_state, order.total_fee), (TradeState::NotPay, 1990));
    assert_eq!(order.openid.as_deref(), Some(openid.as_str()));
    assert_eq!(order.attach.as_deref(), Some("coupon=A&x=1"));
    assert_eq!(&order.prepay_id, prepay_id);
    assert_eq!(sandbox.calls(UNIFIED_ORDER), 1);
}

#[tokio::test]
async fn hmac_requests_get_hmac_answers() {
    let sandbox = wechat_sandbox().await;
    let fields = wechat_order_fields("WX-H", &sandbox.wechat_openid_of("alice"));
    let answer = pay_raw(&sandbox, UNIFIED_ORDER, signed_xml(fields, SignType::HmacSha256)).await;
    assert_eq!(outcome(&answer), "SUCCESS");
    assert_eq!(answer["sign"].len(), 64);
    assert!(verify(&answer, API_KEY));
    assert_eq!(sandbox.wechat_order("WX-H").unwrap().sign_type, "HMAC-SHA256");
}

#[tokio::test]
async fn a_bad_sign_is_a_communication_failure() {
    let sandbox = wechat_sandbox().await;
    let openid = sandbox.wechat_openid_of("alice");
    let mut base = wechat_order_fields("WX-S", &openid);
    base.insert("appid".into(), WX_APP_ID.into());
    base.insert("mch_id".into(), MCH_ID.into());
    base.insert("nonce_str".into(), "n1".into());
    let wrong_key = sign(&base, "another-key-another-key-another-k", SignType::Md5);
    // An HMAC sign without `sign_type` is read as a wrong MD5 sign, as WeChat does.
    let hmac_unnamed = sign(&base, API_KEY, SignType::HmacSha256);
    let mut tampered = base.clone();
    tampered.insert("sign".into(), sign(&base, API_KEY, SignType::Md5));
    tampered.insert("total_fee".into(), "1".into());
    let mut unknown_type = base.clone();
    unknown_type.insert("sign_type".into(), "SHA1".into());
    unknown_type.insert("sign".into(), sign(&base, API_KEY, SignType::Md5));
    let mut cases = vec![tampered, base.clone()]; // the second has no sign at all
    // The right MD5 sign in lower-case hex is not WeChat's sign (wechat.md §3: upper case).
    let lower_case = sign(&base, API_KEY, SignType::Md5).to_lowercase();
    for signature in [wrong_key, hmac_unnamed, lower_case] {
        let mut signed = base.clone();
        signed.insert("sign".into(), signature);
        cases.push(signed);
    }
    for case in cases {
        let answer = pay_raw(&sandbox, UNIFIED_ORDER, to_xml(&case)).await;
        assert_eq!(
            answer,
            fields(&[("return_code", "FAIL"), ("return_msg", "签名错误")]),
            "{case:?}"
        );
    }
    let answer = pay_raw(&sandbox, UNIFIED_ORDER, to_xml(&unknown_type)).await;
    assert_eq!(answer["return_code"], "FAIL");
    assert!(sandbox.wechat_order("WX-S").is_none());
}

#[tokio::test]
async fn a_lower_case_hmac_sign_is_refused_too() {
    let sandbox = wechat_sandbox().await;
    let mut fields = wechat_order_fields("WX-L", &sandbox.wechat_openid_of("alice"));
    for (name, value) in [
        ("appid", WX_APP_ID),
        ("mch_id", MCH_ID),
        ("nonce_str", "n1"),
        ("sign_type", "HMAC-SHA256"),
    ] {
        fields.insert(name.into(), value.into());
    }
    let upper = sign(&fields, API_KEY, SignType::HmacSha256);
    fields.insert("sign".into(), upper.to_lowercase());
    let answer = pay_raw(&sandbox, UNIFIED_ORDER, to_xml(&fields)).await;
    assert_eq!(answer["return_msg"], "签名错误");
    fields.insert("sign".into(), upper);
    assert_eq!(
        outcome(&pay_raw(&sandbox, UNIFIED_ORDER, to_xml(&fields)).await),
        "SUCCESS"
    );
}

#[tokio::test]
async fn elements_in_any_order_as_text_cdata_or_references_are_read_alike() {
    let sandbox = wechat_sandbox().await;
    let mut fields = wechat_order_fields("WX-X", &sandbox.wechat_openid_of("alice"));
    fields.insert("body".into(), "月卡 <monthly> & pass".into());
    let signed: Fields = parse_flat(signed_xml(fields, SignType::Md5).as_bytes()).unwrap();
    // Hand-written: reverse name order, some values bare, the body as escaped text with
    // character references, whitespace between elements.
    let mut body = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml>\n");
    for (n, (name, value)) in signed.iter().rev().enumerate() {
        let written = match (name.as_str(), n % 2) {
            ("body", _) => "&#26376;&#21345; &lt;monthly&gt; &amp; pass".to_owned(),
            (_, 0) => format!("<![CDATA[{value}]]>"),
            _ => value.replace('&', "&amp;"),
        };
        body.push_str(&format!("  <{name}>{written}</{name}>\n"));
    }
    body.push_str("</xml>");
    let answer = pay_raw(&sandbox, UNIFIED_ORDER, body).await;
    assert_eq!(outcome(&answer), "SUCCESS", "{answer:?}");
    assert_eq!(sandbox.wechat_order("WX-X").unwrap().body, "月卡 <monthly> & pass");
}

#[tokio::test]
async fn time_expire_must_leave_five_minutes_and_follow_time_start() {
    let sandbox = wechat_sandbox().await;
    let openid = sandbox.wechat_openid_of("alice");
    let now = now_secs();
    let order = |no: &str, times: &[(&str, i64)]| {
        let mut fields = wechat_order_fields(no, &openid);
        for (name, at) in times {
            fields.insert((*name).into(), beijing_compact(*at));
        }
        fields
    };
    // Checked against the sandbox's clock at the request, a little later than `now`.
    let short = pay_call(&sandbox, UNIFIED_ORDER, order("WX-T1", &[("time_expire", now + 290)])).await;
    assert_eq!(outcome(&short), "INVALID_REQUEST");
    assert_eq!(short["err_code_des"], "time_expire时间过短，刷卡至少1分钟，其他5分钟");
    let past = pay_call(&sandbox, UNIFIED_ORDER, order("WX-T2", &[("time_expire", now - 60)])).await;
    assert_eq!(outcome(&past), "INVALID_REQUEST");
    let before_start = order("WX-T3", &[("time_start", now + 900), ("time_expire", now + 600)]);
    let answer = pay_call(&sandbox, UNIFIED_ORDER, before_start).await;
    assert_eq!(outcome(&answer), "INVALID_REQUEST");
    assert!(answer["err_code_des"].contains("time_start"), "{answer:?}");
    let mut malformed = order("WX-T4", &[]);
    malformed.insert("time_expire".into(), "2024-08-04 19:13:06".into());
    assert_eq!(
        outcome(&pay_call(&sandbox, UNIFIED_ORDER, malformed).await),
        "INVALID_REQUEST"
    );
    for no in ["WX-T1", "WX-T2", "WX-T3", "WX-T4"] {
        assert!(sandbox.wechat_order(no).is_none(), "{no}");
    }

    let fields = order("WX-T5", &[("time_start", now), ("time_expire", now + 310)]);
    assert_eq!(
        outcome(&pay_call(&sandbox, UNIFIED_ORDER, fields.clone()).await),
        "SUCCESS"
    );
    assert_eq!(sandbox.wechat_order("WX-T5").unwrap().time_expire, Some(now + 310));
    // `time_expire` is set once: the same request again is fine, another deadline is not.
    assert_eq!(
        outcome(&pay_call(&sandbox, UNIFIED_ORDER, fields.clone()).await),
        "SUCCESS"
    );
    let mut moved = fields;
    moved.insert("time_expire".into(), beijing_compact(now + 3600));
    assert_eq!(
        outcome(&pay_call(&sandbox, UNIFIED_ORDER, moved).await),
        "INVALID_REQUEST"
    );
}

#[tokio::test]
async fn the_sign_is_checked_before_the_fields() {
    let sandbox = wechat_sandbox().await;
    // Nothing but a wrong sign: still a sign error, not LACK_PARAMS.
    let answer = pay_raw(&sandbox, UNIFIED_ORDER, "<xml><sign>00</sign></xml>").await;
    assert_eq!(answer["return_msg"], "签名错误");
    // A correct sign with the wrong merchant.
    let mut fields = wechat_order_fields("WX-M", &sandbox.wechat_openid_of("alice"));
    fields.insert("mch_id".into(), "1900000999".into());
    let answer = pay_call(&sandbox, UNIFIED_ORDER, fields).await;
    assert_eq!(outcome(&answer), "APPID_MCHID_NOT_MATCH");
    assert!(verify(&answer, API_KEY), "business errors are signed too");
}

#[tokio::test]
async fn jsapi_needs_an_openid_of_this_app() {
    let sandbox = wechat_sandbox().await;
    let mut without = wechat_order_fields("WX-J", "");
    without.remove("openid");
    let answer = pay_call(&sandbox, UNIFIED_ORDER, without.clone()).await;
    assert_eq!(outcome(&answer), "LACK_PARAMS");
    assert!(answer["err_code_des"].contains("openid"));
    for foreign in [
        sandbox.openid_of("alice"),
        "o".repeat(28),
        "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
    ] {
        let answer = pay_call(&sandbox, UNIFIED_ORDER, wechat_order_fields("WX-J", &foreign)).await;
        assert_eq!(outcome(&answer), "INVALID_REQUEST", "{foreign}");
    }
    // NATIVE needs no openid (but a product_id).
    let mut native = without;
    native.insert("trade_type".into(), "NATIVE".into());
    assert_eq!(
        outcome(&pay_call(&sandbox, UNIFIED_ORDER, native.clone()).await),
        "LACK_PARAMS"
    );
    native.insert("product_id".into(), "P1".into());
    let answer = pay_call(&sandbox, UNIFIED_ORDER, native).await;
    assert_eq!(outcome(&answer), "SUCCESS");
    assert!(answer["code_url"].starts_with("weixin://wxpay/bizpayurl?pr="));
}

#[tokio::test]
async fn field_rules_are_enforced() {
    let sandbox = wechat_sandbox().await;
    let openid = sandbox.wechat_openid_of("alice");
    let long_body = "元".repeat(43); // 129 bytes
    let cases: [(&str, Option<&str>, &str); 14] = [
        ("body", None, "LACK_PARAMS"),
        ("spbill_create_ip", None, "LACK_PARAMS"),
        ("notify_url", None, "LACK_PARAMS"),
        ("trade_type", None, "LACK_PARAMS"),
        ("total_fee", None, "LACK_PARAMS"),
        ("total_fee", Some("0.12"), "INVALID_REQUEST"),
        ("total_fee", Some("0"), "INVALID_REQUEST"),
        ("body", Some(&long_body), "INVALID_REQUEST"),
        ("out_trade_no", Some("WX 1"), "INVALID_REQUEST"),
        ("notify_url", Some("https://example.com/notify?x=1"), "INVALID_REQUEST"),
        ("notify_url", Some("ftp://example.com/notify"), "INVALID_REQUEST"),
        ("trade_type", Some("MICROPAY"), "INVALID_REQUEST"),
        ("spbill_create_ip", Some("somewhere"), "INVALID_REQUEST"),
        ("nonce_str", Some(&"n".repeat(33)), "INVALID_REQUEST"),
    ];
    for (field, value, expected) in cases {
        let mut fields = wechat_order_fields("WX-F", &openid);
        match value {
            Some(value) => fields.insert(field.into(), value.into()),
            None => fields.remove(field),
        };
        let answer = pay_call(&sandbox, UNIFIED_ORDER, fields).await;
        assert_eq!(outcome(&answer), expected, "{field}={value:?}: {answer:?}");
    }
    let mut long_no = wechat_order_fields(&"9".repeat(33), &openid);
    assert_eq!(
        outcome(&pay_call(&sandbox, UNIFIED_ORDER, long_no.clone()).await),
        "INVALID_REQUEST"
    );
    long_no.insert("out_trade_no".into(), "A_b-1|2*3".into());
    assert_eq!(outcome(&pay_call(&sandbox, UNIFIED_ORDER, long_no).await), "SUCCESS");
    assert!(sandbox.wechat_order("WX-F").is_none());
}

#[tokio::test]
async fn identical_repeats_get_the_same_prepay_id_and_changed_ones_are_refused() {
    let sandbox = wechat_sandbox().await;
    let openid = sandbox.wechat_openid_of("alice");
    let first = place_order(&sandbox, "WX-R", "alice").await;
    let mut repeat = wechat_order_fields("WX-R", &openid);
    repeat.insert("nonce_str".into(), "another-nonce".into());
    let again = pay_call(&sandbox, UNIFIED_ORDER, repeat).await;
    assert_eq!(outcome(&again), "SUCCESS");
    assert_eq!(again["prepay_id"], first);

    let mut changed = wechat_order_fields("WX-R", &openid);
    changed.insert("total_fee".into(), "1".into());
    let answer = pay_call(&sandbox, UNIFIED_ORDER, changed).await;
    assert_eq!(outcome(&answer), "INVALID_REQUEST");
    assert_eq!(answer["err_code_des"], "201 商户订单号重复");
    assert_eq!(sandbox.wechat_order("WX-R").unwrap().total_fee, 1990);
}

#[tokio::test]
async fn paid_and_closed_orders_cannot_be_placed_again() {
    let sandbox = wechat_sandbox().await;
    let openid = sandbox.wechat_openid_of("alice");
    paid_wechat_order(&sandbox, "WX-P").await;
    let answer = pay_call(&sandbox, UNIFIED_ORDER, wechat_order_fields("WX-P", &openid)).await;
    assert_eq!(outcome(&answer), "ORDERPAID");
    place_order(&sandbox, "WX-C", "alice").await;
    sandbox.wechat_close("WX-C").unwrap();
    let answer = pay_call(&sandbox, UNIFIED_ORDER, wechat_order_fields("WX-C", &openid)).await;
    assert_eq!(outcome(&answer), "ORDERCLOSED");
}

#[tokio::test]
async fn what_is_not_flat_xml_is_refused() {
    let sandbox = wechat_sandbox().await;
    let doctype = r#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><appid>&xxe;</appid></xml>"#;
    let cases = [
        (doctype.to_owned(), "XML_FORMAT_ERROR"),
        (r#"{"appid":"wx"}"#.to_owned(), "XML_FORMAT_ERROR"),
        ("<xml><a><b>1</b></a></xml>".to_owned(), "XML_FORMAT_ERROR"),
        (String::new(), "POST_DATA_EMPTY"),
    ];
    for (body, return_msg) in cases {
        let answer = pay_raw(&sandbox, UNIFIED_ORDER, body.clone()).await;
        assert_eq!(
            answer,
            fields(&[("return_code", "FAIL"), ("return_msg", return_msg)]),
            "{body}"
        );
    }
}

#[tokio::test]
async fn without_a_wechat_config_pay_calls_fail() {
    let sandbox = sandbox().await;
    let answer = pay_raw(
        &sandbox,
        UNIFIED_ORDER,
        signed_xml(wechat_order_fields("WX-0", "o"), SignType::Md5),
    )
    .await;
    assert_eq!(answer["return_code"], "FAIL");
    assert!(answer["return_msg"].contains("not configured"));
}
