//! `POST /v3/pay/transactions/jsapi`, the order query and close (A.1): each field rule
//! refused with WeChat's code and the field named, idempotent repeats, one order-number
//! space with v2, and the Transaction JSON through the order's life.

mod common;

use common::wechat::{MCH_ID, WX_APP_ID, place_order};
use common::wechat_v3::*;
use sandbox::{PayApi, TradeState, WechatV3Mode, WechatV3PayOptions};
use serde_json::{Value, json};

async fn sandbox() -> sandbox::Sandbox {
    v3_sandbox(WechatV3Mode::PublicKey).await
}

#[tokio::test]
async fn a_prepay_answers_a_prepay_id_and_holds_the_order() {
    let sandbox = sandbox().await;
    let answer = prepay(&sandbox, &prepay_body(&sandbox, "ORDER-1", "alice")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.verifies_with(&pay_public_key()));
    let prepay_id = answer.json()["prepay_id"].as_str().unwrap().to_owned();
    assert!(prepay_id.starts_with("wx") && prepay_id.len() == 36, "{prepay_id}");
    let order = sandbox.wechat_v3_order("ORDER-1").unwrap();
    assert_eq!(
        (order.api, order.trade_state, order.total_fee),
        (PayApi::V3, TradeState::NotPay, 1990)
    );
    assert_eq!(order.prepay_id, prepay_id);
    // Without time_expire an order can be paid for seven days.
    let window = order.time_expire.unwrap() - order.created_at;
    assert_eq!(window, 7 * 86_400);
}

/// Prepays `body` changed by `change`; the answer's status, code and named field.
async fn refused(sandbox: &sandbox::Sandbox, no: &str, change: impl FnOnce(&mut Value)) -> (u16, String, Value) {
    let mut body = prepay_body(sandbox, no, "alice");
    change(&mut body);
    let answer = prepay(sandbox, &body).await;
    assert!(answer.verifies_with(&pay_public_key()));
    let json = answer.json();
    (answer.status, answer.code(), json["detail"]["field"].clone())
}

/// A change to a correct prepay body.
type Change = Box<dyn FnOnce(&mut Value)>;
/// Status, code and named field of a refusal.
type Refusal = (u16, String, Value);

#[tokio::test]
async fn field_rules_are_refused_with_the_field_named() {
    let sandbox = sandbox().await;
    let param = |field: &str| (400, "PARAM_ERROR".to_owned(), json!(field));
    let cases: Vec<(&str, Change, Refusal)> = vec![
        (
            "description",
            Box::new(|b| b["description"] = json!("月".repeat(43))),
            param("description"),
        ),
        (
            "no description",
            Box::new(|b| b["description"] = json!("")),
            param("description"),
        ),
        (
            "short number",
            Box::new(|b| b["out_trade_no"] = json!("A1234")),
            param("out_trade_no"),
        ),
        (
            "number symbol",
            Box::new(|b| b["out_trade_no"] = json!("ORD@123")),
            param("out_trade_no"),
        ),
        (
            "http notify",
            Box::new(|b| b["notify_url"] = json!("http://minipay.test/n")),
            param("notify_url"),
        ),
        (
            "query notify",
            Box::new(|b| b["notify_url"] = json!("https://minipay.test/n?x=1")),
            param("notify_url"),
        ),
        (
            "zero total",
            Box::new(|b| b["amount"]["total"] = json!(0)),
            param("amount.total"),
        ),
        (
            "fractional total",
            Box::new(|b| b["amount"]["total"] = json!(19.9)),
            param("amount.total"),
        ),
        (
            "text total",
            Box::new(|b| b["amount"]["total"] = json!("1990")),
            param("amount.total"),
        ),
        (
            "currency",
            Box::new(|b| b["amount"]["currency"] = json!("USD")),
            param("amount.currency"),
        ),
        ("no payer", Box::new(|b| b["payer"] = json!({})), param("payer.openid")),
        (
            "foreign openid",
            Box::new(|b| b["payer"]["openid"] = json!("oNotOfThisApp")),
            param("payer.openid"),
        ),
        (
            "time format",
            Box::new(|b| b["time_expire"] = json!("20300101120000")),
            param("time_expire"),
        ),
        (
            "emoji",
            Box::new(|b| b["description"] = json!("月卡😀")),
            param("description"),
        ),
        (
            "attach",
            Box::new(|b| b["attach"] = json!("a".repeat(129))),
            param("attach"),
        ),
        (
            "other app",
            Box::new(|b| b["appid"] = json!("wx_other_app")),
            (400, "APPID_MCHID_NOT_MATCH".into(), Value::Null),
        ),
        (
            "other merchant",
            Box::new(|b| b["mchid"] = json!("1900000110")),
            (400, "MCH_NOT_EXISTS".into(), Value::Null),
        ),
    ];
    for (index, (case, change, expected)) in cases.into_iter().enumerate() {
        let no = format!("RULE-{index:02}");
        assert_eq!(refused(&sandbox, &no, change).await, expected, "{case}");
        assert!(sandbox.wechat_v3_order(&no).is_none(), "{case}");
    }
    // The limits themselves pass: 127 bytes, 6 and 32 characters, every allowed symbol.
    let mut body = prepay_body(&sandbox, "A-_|*6", "alice");
    body["description"] = json!(format!("{}a", "月".repeat(42)));
    assert_eq!(prepay(&sandbox, &body).await.status, 200);
    let mut body = prepay_body(&sandbox, &"L".repeat(32), "alice");
    body["description"] = json!("™ three-byte characters are fine");
    assert_eq!(prepay(&sandbox, &body).await.status, 200);
}

#[tokio::test]
async fn time_expire_is_raised_to_a_minute_and_kept_otherwise() {
    let sandbox = sandbox().await;
    let mut soon = prepay_body(&sandbox, "EXPIRE-1", "alice");
    soon["time_expire"] = json!("2020-01-01T00:00:00+08:00");
    assert_eq!(prepay(&sandbox, &soon).await.status, 200);
    let order = sandbox.wechat_v3_order("EXPIRE-1").unwrap();
    assert_eq!(order.time_expire.unwrap() - order.created_at, 60);

    let mut later = prepay_body(&sandbox, "EXPIRE-2", "alice");
    later["time_expire"] = json!("2099-01-01T12:00:00Z");
    assert_eq!(prepay(&sandbox, &later).await.status, 200);
    let order = sandbox.wechat_v3_order("EXPIRE-2").unwrap();
    assert_eq!(
        order.time_expire.unwrap() - order.created_at,
        90 * 86_400,
        "capped at 90 days"
    );

    let mut exact = prepay_body(&sandbox, "EXPIRE-3", "alice");
    let in_an_hour = now() + 3600;
    exact["time_expire"] = json!(rfc3339_utc(in_an_hour));
    assert_eq!(prepay(&sandbox, &exact).await.status, 200);
    assert_eq!(
        sandbox.wechat_v3_order("EXPIRE-3").unwrap().time_expire,
        Some(in_an_hour)
    );
}

/// `secs` as RFC 3339 in UTC, computed here with days-from-civil.
fn rfc3339_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let time = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

#[tokio::test]
async fn identical_repeats_get_the_same_prepay_id_and_changed_ones_are_refused() {
    let sandbox = sandbox().await;
    let body = prepay_body(&sandbox, "IDEM-1", "alice");
    let first = prepay(&sandbox, &body).await.json()["prepay_id"].clone();
    // The same parameters in another key order are the same request.
    let mut reordered = serde_json::Map::new();
    for (key, value) in body.as_object().unwrap().iter().rev() {
        reordered.insert(key.clone(), value.clone());
    }
    let again = prepay(&sandbox, &Value::Object(reordered)).await;
    assert_eq!((again.status, again.json()["prepay_id"].clone()), (200, first));
    let mut changed = body.clone();
    changed["amount"]["total"] = json!(1);
    let refused = prepay(&sandbox, &changed).await;
    assert_eq!((refused.status, refused.code()), (403, "OUT_TRADE_NO_USED".into()));
    assert_eq!(sandbox.wechat_v3_order("IDEM-1").unwrap().total_fee, 1990);

    paid_order(&sandbox, "IDEM-2").await;
    let mut paid = prepay_body(&sandbox, "IDEM-2", "alice");
    paid["notify_url"] = json!(NOWHERE);
    let answer = prepay(&sandbox, &paid).await;
    assert_eq!((answer.status, answer.code()), (403, "ORDERPAID".into()));
}

#[tokio::test]
async fn v2_and_v3_share_the_merchant_order_numbers() {
    let sandbox = sandbox().await;
    place_order(&sandbox, "SHARED-1", "alice").await;
    let answer = prepay(&sandbox, &prepay_body(&sandbox, "SHARED-1", "alice")).await;
    assert_eq!((answer.status, answer.code()), (403, "OUT_TRADE_NO_USED".into()));
    // Each API's pay control serves its own orders only.
    let error = sandbox
        .wechat_v3_pay("SHARED-1", WechatV3PayOptions::default())
        .await
        .unwrap_err();
    assert!(error.contains("APIv2"), "{error}");
    // A v3 query sees the v2 order: one merchant.
    assert_eq!(query_order(&sandbox, "SHARED-1").await.json()["trade_state"], "NOTPAY");
}

#[tokio::test]
async fn the_query_follows_the_order_through_payment() {
    let sandbox = sandbox().await;
    place(&sandbox, "QUERY-1", NOWHERE).await;
    let unpaid = query_order(&sandbox, "QUERY-1").await;
    assert_eq!(unpaid.status, 200);
    let unpaid = unpaid.json();
    assert_eq!(
        (unpaid["trade_state"].as_str(), unpaid["trade_state_desc"].as_str()),
        (Some("NOTPAY"), Some("订单未支付"))
    );
    assert!(unpaid.get("transaction_id").is_none() && unpaid.get("success_time").is_none());
    assert_eq!(
        (unpaid["appid"].as_str(), unpaid["mchid"].as_str()),
        (Some(WX_APP_ID), Some(MCH_ID))
    );

    sandbox.wechat_user_paying("QUERY-1").unwrap();
    assert_eq!(
        query_order(&sandbox, "QUERY-1").await.json()["trade_state"],
        "USERPAYING"
    );
    let quiet = WechatV3PayOptions {
        deliveries: 0,
        ..WechatV3PayOptions::default()
    };
    sandbox.wechat_v3_pay("QUERY-1", quiet).await.unwrap();
    let paid = query_order(&sandbox, "QUERY-1").await.json();
    let order = sandbox.wechat_v3_order("QUERY-1").unwrap();
    assert_eq!(paid["trade_state"], "SUCCESS");
    assert_eq!(paid["transaction_id"].as_str(), order.transaction_id.as_deref());
    assert_eq!(
        paid["amount"],
        json!({"total": 1990, "payer_total": 1990, "currency": "CNY", "payer_currency": "CNY"})
    );
    assert_eq!(paid["payer"]["openid"], sandbox.wechat_openid_of("alice"));
    assert_eq!(paid["attach"], "coupon=A&x=1");
    let success_time = paid["success_time"].as_str().unwrap();
    assert!(
        success_time.ends_with("+08:00") && success_time.len() == 25,
        "{success_time}"
    );
}

#[tokio::test]
async fn queries_need_the_merchant_and_a_known_order() {
    let sandbox = sandbox().await;
    let unknown = query_order(&sandbox, "NOPE-1").await;
    assert_eq!((unknown.status, unknown.code()), (404, "ORDER_NOT_EXIST".into()));
    place(&sandbox, "QUERY-2", NOWHERE).await;
    let no_mchid = Call::get("/v3/pay/transactions/out-trade-no/QUERY-2")
        .send(&sandbox)
        .await;
    assert_eq!((no_mchid.status, no_mchid.code()), (400, "PARAM_ERROR".into()));
    let other = Call::get("/v3/pay/transactions/out-trade-no/QUERY-2?mchid=1900000110")
        .send(&sandbox)
        .await;
    assert_eq!((other.status, other.code()), (400, "MCH_NOT_EXISTS".into()));
}

async fn close(sandbox: &sandbox::Sandbox, out_trade_no: &str) -> V3Answer {
    let path = format!("/v3/pay/transactions/out-trade-no/{out_trade_no}/close");
    Call::post(&path, &json!({ "mchid": MCH_ID })).send(sandbox).await
}

#[tokio::test]
async fn close_answers_204_signed_over_an_empty_body_and_repeats() {
    let sandbox = sandbox().await;
    place(&sandbox, "CLOSE-1", NOWHERE).await;
    for _ in 0..2 {
        let answer = close(&sandbox, "CLOSE-1").await;
        assert_eq!((answer.status, answer.text.as_str()), (204, ""));
        assert!(answer.signed_message().ends_with("\n\n"));
        assert!(answer.verifies_with(&pay_public_key()));
    }
    assert_eq!(query_order(&sandbox, "CLOSE-1").await.json()["trade_state"], "CLOSED");
    let again = prepay(&sandbox, &prepay_body(&sandbox, "CLOSE-1", "alice")).await;
    assert_eq!((again.status, again.code()), (400, "ORDER_CLOSED".into()));

    paid_order(&sandbox, "CLOSE-2").await;
    let paid = close(&sandbox, "CLOSE-2").await;
    assert_eq!((paid.status, paid.code()), (400, "ORDERPAID".into()));
    assert_eq!(
        sandbox.wechat_v3_order("CLOSE-2").unwrap().trade_state,
        TradeState::Success
    );
    assert_eq!(close(&sandbox, "CL-NONE").await.status, 404);
    let wrong_merchant = Call::post(
        "/v3/pay/transactions/out-trade-no/CLOSE-2/close",
        &json!({ "mchid": "1" }),
    )
    .send(&sandbox)
    .await;
    assert_eq!(wrong_merchant.code(), "MCH_NOT_EXISTS");
}
