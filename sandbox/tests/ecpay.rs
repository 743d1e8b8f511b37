//! `create_order` and `query_order` over HTTP: signs, strict types, idempotency, states.

mod common;

use common::*;
use sandbox::{OrderStatus, PayOptions};
use serde_json::{Map, Value, json};

async fn refused(sandbox: &sandbox::Sandbox, body: &Value) -> (i64, String) {
    let (status, answer) = post(sandbox, CREATE_ORDER, body).await;
    assert_eq!(status, 200, "{answer}");
    (
        answer["err_no"].as_i64().unwrap(),
        answer["err_tips"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn create_order_with_a_correct_sign_succeeds() {
    let sandbox = sandbox::Sandbox::start(config(Some("https://minipay.test/console".into()))).await;
    let data = create_order(&sandbox, order_fields("NO-1")).await;
    let order_id = data["order_id"].as_str().unwrap();
    assert_eq!(order_id.len(), 19);
    assert!(order_id.bytes().all(|b| b.is_ascii_digit()));
    assert!(!data["order_token"].as_str().unwrap().is_empty());

    let order = sandbox.order("NO-1").unwrap();
    assert_eq!(order.order_id, order_id);
    assert_eq!(order.order_token, data["order_token"].as_str().unwrap());
    assert_eq!((order.total_amount, order.valid_time), (1990, 900));
    assert_eq!(
        (order.subject.as_str(), order.body.as_str()),
        ("月卡 monthly pass", "30 天会员")
    );
    assert_eq!(order.status, OrderStatus::Processing);
    // No notify_url in the request: the console one is recorded.
    assert_eq!(order.notify_url.as_deref(), Some("https://minipay.test/console"));
}

#[tokio::test]
async fn create_order_is_idempotent_on_out_order_no() {
    let sandbox = sandbox().await;
    let first = create_order(&sandbox, order_fields("NO-2")).await;
    let mut changed = order_fields("NO-2");
    changed["total_amount"] = json!(5);
    changed["subject"] = json!("something else");
    let again = create_order(&sandbox, changed).await;
    assert_eq!(again, first);
    let order = sandbox.order("NO-2").unwrap();
    assert_eq!(
        (order.total_amount, order.subject.as_str()),
        (1990, "月卡 monthly pass")
    );
    let other = create_order(&sandbox, order_fields("NO-3")).await;
    assert_ne!(other["order_id"], first["order_id"]);
    assert_eq!(sandbox.calls(CREATE_ORDER), 3);
}

#[tokio::test]
async fn a_wrong_or_missing_sign_gets_2008() {
    let sandbox = sandbox().await;
    let mut body = signed(order_fields("NO-4"));
    body["sign"] = json!("0123456789abcdef0123456789abcdef");
    assert_eq!(refused(&sandbox, &body).await, (2008, "验签异常".into()));

    // Signed, then a value changed: the sign is checked over what is received.
    let mut body = signed(order_fields("NO-4"));
    body["total_amount"] = json!(1);
    assert_eq!(refused(&sandbox, &body).await.0, 2008);

    let mut body = signed(order_fields("NO-4"));
    body.as_object_mut().unwrap().remove("sign");
    assert_eq!(refused(&sandbox, &body).await.0, 2008);

    // Signed with another SALT.
    let mut fields: Map<String, Value> = order_fields("NO-4").as_object().unwrap().clone();
    fields.insert("app_id".into(), json!(APP_ID));
    let sign = sign_with(&fields, "another salt");
    fields.insert("sign".into(), json!(sign));
    assert_eq!(refused(&sandbox, &Value::Object(fields)).await.0, 2008);

    // The right digest in upper-case hex: the platform compares the lower-case text (§4).
    let mut body = signed(order_fields("NO-4"));
    body["sign"] = json!(body["sign"].as_str().unwrap().to_uppercase());
    assert_eq!(refused(&sandbox, &body).await.0, 2008);

    // The sign is checked before the business parameters.
    let mut body = order_fields("NO-4");
    body["total_amount"] = json!(0);
    let mut body = signed(body);
    body["sign"] = json!("bad");
    assert_eq!(refused(&sandbox, &body).await.0, 2008);
    assert!(sandbox.order("NO-4").is_none());
}

#[tokio::test]
async fn a_wrong_app_id_gets_2042() {
    let sandbox = sandbox().await;
    let mut body = signed(order_fields("NO-5"));
    body["app_id"] = json!("tt_someone_else");
    assert_eq!(refused(&sandbox, &body).await.0, 2042);
    body.as_object_mut().unwrap().remove("app_id");
    assert_eq!(refused(&sandbox, &body).await.0, 2042);
}

#[tokio::test]
async fn a_float_or_string_amount_is_refused() {
    let sandbox = sandbox().await;
    for amount in [json!(1990.0), json!("1990"), json!(0), json!(10_000_000_001_i64)] {
        let mut fields = order_fields("NO-6");
        fields["total_amount"] = amount.clone();
        let (err_no, tips) = refused(&sandbox, &signed(fields)).await;
        assert_eq!(err_no, 2010, "amount {amount}");
        assert!(tips.contains("total_amount"), "{tips}");
    }
    assert!(sandbox.order("NO-6").is_none());
}

#[tokio::test]
async fn subject_and_body_limits_count_characters_and_bytes() {
    let sandbox = sandbox().await;
    let mut fields = order_fields("NO-7");
    fields["subject"] = json!("a".repeat(43));
    let (err_no, tips) = refused(&sandbox, &signed(fields)).await;
    assert_eq!(err_no, 2010);
    assert!(tips.contains("subject"), "{tips}");

    let mut fields = order_fields("NO-8");
    fields["body"] = json!("");
    let (err_no, tips) = refused(&sandbox, &signed(fields)).await;
    assert_eq!(err_no, 2010);
    assert!(tips.contains("body"), "{tips}");

    // 42 Chinese characters are 126 bytes: within both limits.
    let mut fields = order_fields("NO-9");
    fields["subject"] = json!("中".repeat(42));
    create_order(&sandbox, fields).await;
}

#[tokio::test]
async fn other_business_parameters_are_checked() {
    let sandbox = sandbox().await;
    let cases: [(&str, Value); 9] = [
        ("valid_time", json!(299)),
        ("valid_time", json!(172_801)),
        ("valid_time", json!("900")),
        ("out_order_no", json!("has space")),
        ("notify_url", json!(7)),
        ("notify_url", json!(format!("https://x/{}", "a".repeat(256)))),
        ("notify_url", json!("http://127.0.0.1:9000/notify/douyin")),
        ("notify_url", json!("https://minipay.test:8443/notify/douyin")),
        ("cp_extra", json!(12)),
    ];
    for (index, (field, value)) in cases.into_iter().enumerate() {
        let mut fields = order_fields(&format!("NO-10-{index}"));
        fields[field] = value.clone();
        let (err_no, tips) = refused(&sandbox, &signed(fields)).await;
        assert_eq!(err_no, 2010, "{field} = {value}");
        assert!(tips.contains(field), "{tips}");
    }
    let mut fields = order_fields("");
    fields.as_object_mut().unwrap().remove("out_order_no");
    assert_eq!(refused(&sandbox, &signed(fields)).await.0, 2010);
}

#[tokio::test]
async fn a_number_whose_first_call_failed_stays_failed() {
    let sandbox = sandbox().await;
    let mut fields = order_fields("NO-11");
    fields["valid_time"] = json!(10);
    assert_eq!(refused(&sandbox, &signed(fields)).await.0, 2010);
    let (err_no, tips) = refused(&sandbox, &signed(order_fields("NO-11"))).await;
    assert_eq!(err_no, 2010);
    assert!(tips.contains("new number"), "{tips}");
}

#[tokio::test]
async fn order_notify_url_and_cp_extra_are_recorded() {
    let sandbox = sandbox().await;
    let mut fields = order_fields("NO-12");
    fields["notify_url"] = json!("https://minipay.test/mine");
    fields["cp_extra"] = json!("中".repeat(700)); // 2100 bytes: silently truncated
    create_order(&sandbox, fields).await;
    let order = sandbox.order("NO-12").unwrap();
    assert_eq!(order.notify_url.as_deref(), Some("https://minipay.test/mine"));
    assert_eq!(order.cp_extra, "中".repeat(682));
    let answer = query_order(&sandbox, "NO-12").await;
    assert_eq!(answer["payment_info"]["cp_extra"], "中".repeat(682));
}

#[tokio::test]
async fn query_order_reports_each_state() {
    let sandbox = sandbox().await;
    let receiver = Receiver::start(std::time::Duration::ZERO).await;

    let unknown = query_order(&sandbox, "NOPE").await;
    assert_eq!(
        (&unknown["err_no"], &unknown["err_tips"]),
        (&json!(2000), &json!("no payment record"))
    );

    for no in ["Q-PAID", "Q-FAIL", "Q-LATE"] {
        let mut fields = order_fields(no);
        fields["notify_url"] = json!(receiver.url);
        create_order(&sandbox, fields).await;
    }
    let processing = query_order(&sandbox, "Q-PAID").await;
    assert_eq!(processing["err_no"], 0);
    assert!(processing.get("data").is_none(), "query_order answers at top level");
    assert_eq!(processing["out_order_no"], "Q-PAID");
    assert_eq!(processing["order_id"], json!(sandbox.order("Q-PAID").unwrap().order_id));
    let info = &processing["payment_info"];
    assert_eq!(
        (&info["order_status"], &info["total_fee"], &info["pay_time"]),
        (&json!("PROCESSING"), &json!(1990), &json!(""))
    );
    assert_eq!(info["way"], 2);

    sandbox.pay("Q-PAID", PayOptions::default()).await.unwrap();
    let paid = query_order(&sandbox, "Q-PAID").await;
    assert_eq!(paid["payment_info"]["order_status"], "SUCCESS");
    let pay_time = paid["payment_info"]["pay_time"].as_str().unwrap();
    let paid_at = sandbox.order("Q-PAID").unwrap().paid_at.unwrap();
    assert_eq!(pay_time, sandbox::clock::beijing_datetime(paid_at));

    sandbox.fail_order("Q-FAIL").unwrap();
    assert_eq!(
        query_order(&sandbox, "Q-FAIL").await["payment_info"]["order_status"],
        "FAIL"
    );

    sandbox.expire_order("Q-LATE").unwrap();
    assert_eq!(
        query_order(&sandbox, "Q-LATE").await["payment_info"]["order_status"],
        "TIMEOUT"
    );
    assert!(sandbox.pay("Q-LATE", PayOptions::default()).await.is_err());
    assert_eq!(sandbox.order("Q-LATE").unwrap().status, OrderStatus::Timeout);
}

#[tokio::test]
async fn query_order_checks_the_sign_and_app_id() {
    let sandbox = sandbox().await;
    create_order(&sandbox, order_fields("Q-1")).await;
    let mut body = signed(json!({ "out_order_no": "Q-1" }));
    body["sign"] = json!("nope");
    let (_, answer) = post(&sandbox, QUERY_ORDER, &body).await;
    assert_eq!(answer["err_no"], 2008);
    let mut body = signed(json!({ "out_order_no": "Q-1" }));
    body["app_id"] = json!("tt_other");
    let (_, answer) = post(&sandbox, QUERY_ORDER, &body).await;
    assert_eq!(answer["err_no"], 2042);
    assert_eq!(sandbox.calls(QUERY_ORDER), 2);
}

#[tokio::test]
async fn malformed_ecpay_bodies_are_a_400_with_an_err_no() {
    let sandbox = sandbox().await;
    let (status, text) = post_raw(&sandbox, CREATE_ORDER, "total_amount=1").await;
    assert_eq!(status, 400);
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["err_no"], 2010);
    assert_eq!(sandbox.calls(CREATE_ORDER), 1);
}

#[test]
fn the_test_signers_reproduce_the_published_vectors() {
    // douyin.md §9 (a), with its own SALT.
    let vector_a = json!({
        "app_id": "tt-not-signed",
        "out_order_no": "202406100423024876",
        "total_amount": 1,
        "subject": "闫嵩达 - test - subject - 01",
        "body": "闫嵩达 - test - body - 01",
        "valid_time": 600,
        "notify_url": "https://yansongda.cn/douyin/notify",
    });
    let salt = "oDxWDBr4U7FAAQ8hnGDm29i4A6pbTMDKme4WLLvA";
    assert_eq!(
        sign_with(vector_a.as_object().unwrap(), salt),
        "771c1952ffb5e0744fc0ad1337aafa6a"
    );
    // (c): the test Token is the vector's.
    let msg = r#"{"appid":"tt226e54d3bd581bf801","cp_orderno":"202408041111312119","cp_extra":"","way":"2","channel_no":"","channel_gateway_no":"","payment_order_no":"","out_channel_order_no":"","total_amount":1,"status":"SUCCESS","seller_uid":"73744242495132490630","extra":"","item_id":"","paid_at":1722769986,"message":"","order_id":"7398108028895054107"}"#;
    let signature = "840bdf067c1d6056becfe88735c8ebb7e1ab809c";
    assert!(callback_signature_matches("1722769986", "5280", msg, signature));
    assert!(!callback_signature_matches(
        "1722769986",
        "5280",
        msg,
        &signature.to_uppercase()
    ));
}
