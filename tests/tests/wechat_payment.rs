//! The WeChat Pay v2 (JSAPI) flow against moto and the sandbox over real HTTP.

use aws_sdk_dynamodb::types::AttributeValue;
use harness::gate::Gate;
use harness::money::{Money, money, raw_item};
use harness::readback::{OrderView, assert_acknowledged};
use harness::{ADMIN_KEY, Stack, StackOptions, WECHAT_API_KEY, WECHAT_APP_ID, table};
use minipay::store::OrderStore as _;
use sandbox::tls::MerchantCertificate;
use sandbox::wechat::sign::{SignType, pay_sign};
use sandbox::{CallbackOptions, Fault, FaultKind, WechatPayOptions};
use serde_json::{Value, json};

async fn stack() -> Stack {
    with_course(Stack::start().await).await
}

async fn with_course(stack: Stack) -> Stack {
    table::put_catalog_item(&table::client().await, &stack.table, "course", 880, "微信小程序课程").await;
    stack
}

async fn wechat_session(stack: &Stack, user: &str) -> String {
    let code = stack.sandbox.wechat_login_code(user);
    let login = stack
        .client
        .post("/openid", None, &json!({"code": code, "platform": "wechat"}))
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["openid"], json!(stack.sandbox.wechat_openid_of(user)));
    login.body["session"].as_str().unwrap().to_owned()
}

async fn order(stack: &Stack, session: &str) -> (String, Value) {
    stack.client.prepay(session, "course").await
}

fn xml_text(answer: &harness::client::Answer) -> &str {
    answer.text.as_str()
}

#[tokio::test]
async fn a_wechat_payment_runs_end_to_end() {
    // The five notifies meet at the conditional write that marks the order paid.
    let gate = Gate::new("pay_by_callback", 5);
    let options = StackOptions {
        wrap_store: Some(gate.in_front()),
        ..StackOptions::default()
    };
    let stack = with_course(Stack::start_custom(options).await).await;
    let session = wechat_session(&stack, "wang").await;
    let (no, pay) = order(&stack, &session).await;

    // The five wx.requestPayment fields, signed with the API key (checked with the
    // sandbox's own signing code, not the backend's).
    let package = pay["package"].as_str().unwrap();
    let prepay_id = package
        .strip_prefix("prepay_id=")
        .expect("package carries the prepay_id");
    assert_eq!(
        stack
            .sandbox
            .wechat_order(&no)
            .expect("unifiedorder reached WeChat")
            .prepay_id,
        prepay_id
    );
    assert_eq!(pay["signType"], "MD5");
    let expected = pay_sign(
        WECHAT_APP_ID,
        pay["timeStamp"].as_str().unwrap(),
        pay["nonceStr"].as_str().unwrap(),
        package,
        SignType::Md5,
        WECHAT_API_KEY,
    );
    assert_eq!(pay["paySign"], json!(expected));
    assert_eq!(pay.as_object().unwrap().len(), 5);

    let pending = stack.client.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(
        (pending.body["status"].clone(), pending.body["platform"].clone()),
        (json!("PENDING"), json!("wechat"))
    );

    // Five concurrent deliveries with a field WeChat added later, elements out of name
    // order and non-ASCII values as character references: all acknowledged.
    let options = WechatPayOptions {
        deliveries: 5,
        extra_field: true,
        reordered: true,
        escaped_unicode: true,
        ..WechatPayOptions::default()
    };
    let deliveries = stack.sandbox.wechat_pay(&no, options).await.unwrap();
    gate.assert_met();
    for d in deliveries {
        assert_eq!(d.status, 200, "{}", d.body);
        assert!(
            d.body.contains("<return_code><![CDATA[SUCCESS]]></return_code>"),
            "{}",
            d.body
        );
    }
    let paid = stack.client.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(
        (paid.body["status"].clone(), paid.body["code"].clone()),
        (json!("PAID"), json!(0))
    );
    let item = raw_item(&stack, &format!("ORDER#{no}"), "ORDER").await.unwrap();
    assert_eq!(item["version"], AttributeValue::N("3".into()), "paid exactly once");

    // The same user asking again after paying gets a new order; before paying, the same.
    let (again, pay_again) = order(&stack, &session).await;
    assert_ne!(again, no);
    let (same, pay_same) = order(&stack, &session).await;
    assert_eq!(same, again);
    assert_eq!(pay_same["package"], pay_again["package"]);
    assert_ne!(pay_same["nonceStr"], pay_again["nonceStr"], "a fresh nonce each time");
}

#[tokio::test]
async fn forged_hostile_or_wrong_notifies_change_nothing() {
    let stack = stack().await;
    let session = wechat_session(&stack, "li").await;
    let (no, _) = order(&stack, &session).await;

    let tampered = WechatPayOptions {
        tamper_signature: true,
        ..WechatPayOptions::default()
    };
    let d = stack.sandbox.wechat_pay(&no, tampered).await.unwrap();
    assert!(d[0].body.contains("FAIL"), "{}", d[0].body);
    let cheaper = WechatPayOptions {
        total_fee: Some(1),
        ..WechatPayOptions::default()
    };
    let d = stack.sandbox.wechat_pay(&no, cheaper).await.unwrap();
    assert!(d[0].body.contains("FAIL"), "{}", d[0].body);

    let xxe = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\
         <xml><return_code>SUCCESS</return_code><out_trade_no>{no}</out_trade_no><attach>&xxe;</attach></xml>"
    );
    for body in [xxe.as_str(), "<xml><return_code>SUCCESS", "not xml", ""] {
        let answer = stack
            .client
            .send("POST", "/notify/wechat", None, Some(body.as_bytes().to_vec()))
            .await;
        assert!(answer.status >= 400, "{body:?} answered {}", answer.status);
        assert!(
            xml_text(&answer).contains("<return_code><![CDATA[FAIL]]></return_code>"),
            "{}",
            answer.text
        );
        assert!(!answer.text.contains("root:"), "no file content may come back");
    }
    let item = raw_item(&stack, &format!("ORDER#{no}"), "ORDER").await.unwrap();
    assert_eq!(item["status"], AttributeValue::S("PENDING".into()));
}

#[tokio::test]
async fn query_maps_wechat_trade_states() {
    let stack = stack().await;
    let session = wechat_session(&stack, "zhao").await;
    let (failed, _) = order(&stack, &session).await;
    stack.sandbox.wechat_fail(&failed).unwrap();
    let answer = stack.client.get(&format!("/orders/{failed}"), Some(&session)).await;
    assert_eq!(
        (answer.body["status"].clone(), answer.body["code"].clone()),
        (json!("FAILED"), json!(2))
    );

    let (closed, _) = order(&stack, &session).await;
    assert_ne!(closed, failed);
    stack.sandbox.wechat_close(&closed).unwrap();
    let answer = stack.client.get(&format!("/orders/{closed}"), Some(&session)).await;
    assert_eq!(
        (answer.body["status"].clone(), answer.body["code"].clone()),
        (json!("CLOSED"), json!(3))
    );

    // Paid without a notify (lost or late): the query finds it.
    let (silent, _) = order(&stack, &session).await;
    let quiet = WechatPayOptions {
        deliveries: 0,
        ..WechatPayOptions::default()
    };
    stack.sandbox.wechat_pay(&silent, quiet).await.unwrap();
    let answer = stack.client.get(&format!("/orders/{silent}"), Some(&session)).await;
    assert_eq!(answer.body["status"], "PAID", "{}", answer.text);
}

#[tokio::test]
async fn a_wechat_order_is_refunded_with_the_client_certificate_and_the_refund_notify() {
    let stack = stack().await;
    let session = wechat_session(&stack, "qian").await;
    let (no, _) = order(&stack, &session).await;
    let paid = stack
        .sandbox
        .wechat_pay(&no, WechatPayOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&paid);
    assert_eq!(OrderView::read(&stack.client, &no).await.status(), "PAID");

    let body = json!({"out_order_no": no, "out_refund_no": "WX-RF-1", "refund_amount": 300, "reason": "不想学了"});
    let refund = stack.client.post("/refund", Some(ADMIN_KEY), &body).await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    assert_eq!(refund.body["status"], "PROCESSING");
    let platform = stack.sandbox.wechat_refund("WX-RF-1").expect("WeChat has the refund");
    assert_eq!(refund.body["refund_no"], json!(platform.refund_id));

    let five = CallbackOptions {
        deliveries: 5,
        ..CallbackOptions::default()
    };
    for d in stack.sandbox.wechat_finish_refund("WX-RF-1", true, five).await.unwrap() {
        assert_eq!(d.status, 200, "{}", d.body);
    }
    let answer = stack.client.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(answer.body["refunded_amount"], 300, "{}", answer.text);
    assert_eq!(
        stack.client.get("/refunds/WX-RF-1", Some(ADMIN_KEY)).await.body["status"],
        "SUCCESS"
    );
    let once = Money {
        refunded: 300,
        refunding: 0,
        refundable: 580,
    };
    assert_eq!(money(&stack, &no).await, once, "five notifies, applied once");

    // A refund notify encrypted with another key is refused.
    let forged = "<xml><return_code>SUCCESS</return_code><appid>wx_sandbox_app</appid><mch_id>1900000109</mch_id>\
                  <req_info>bm90IGVuY3J5cHRlZA==</req_info></xml>";
    let answer = stack
        .client
        .send("POST", "/notify/wechat", None, Some(forged.as_bytes().to_vec()))
        .await;
    assert!(answer.status >= 400 && answer.text.contains("FAIL"), "{}", answer.text);
    assert_eq!(money(&stack, &no).await, once, "the forged notify changed nothing");
}

/// A paid WeChat order of 880 fen on a stack whose backend sends refunds with
/// `client_cert` (`""`: none configured).
async fn paid_order_with_client_cert(client_cert: &str) -> (Stack, String) {
    let stack = Stack::start_with(&[("WECHAT_CLIENT_CERT", client_cert)]).await;
    table::put_catalog_item(&table::client().await, &stack.table, "course", 880, "微信小程序课程").await;
    let session = wechat_session(&stack, "sun").await;
    let (no, _) = order(&stack, &session).await;
    let delivered = stack
        .sandbox
        .wechat_pay(&no, WechatPayOptions::default())
        .await
        .unwrap();
    assert_eq!(delivered[0].status, 200, "{}", delivered[0].body);
    (stack, no)
}

#[tokio::test]
async fn a_refund_sent_with_another_certificate_is_refused_and_its_amount_released() {
    let stranger = MerchantCertificate::generate(harness::WECHAT_MCH_ID).identity_pem();
    let (stack, no) = paid_order_with_client_cert(&stranger).await;
    let body = json!({"out_order_no": no, "out_refund_no": "WX-RF-C1", "refund_amount": 300});
    let refund = stack.client.post("/refund", Some(ADMIN_KEY), &body).await;
    assert_ne!(refund.status, 200, "{}", refund.text);
    assert!(refund.text.contains("certificate not match"), "{}", refund.text);
    // WeChat said for certain it did nothing: the refund failed and its amount is free.
    assert!(stack.sandbox.wechat_refund("WX-RF-C1").is_none());
    let state = stack.client.get("/refunds/WX-RF-C1", Some(ADMIN_KEY)).await;
    assert_eq!(state.body["status"], "FAIL", "{}", state.text);
    let order = stack.store.get_order(&no).await.unwrap().unwrap();
    assert_eq!((order.refunded_amount, order.refunding_amount), (0, 0));
}

#[tokio::test]
async fn without_a_certificate_no_refund_is_sent_and_its_amount_stays_reserved() {
    let (stack, no) = paid_order_with_client_cert("").await;
    let body = json!({"out_order_no": no, "out_refund_no": "WX-RF-C2", "refund_amount": 300});
    let refund = stack.client.post("/refund", Some(ADMIN_KEY), &body).await;
    assert_ne!(refund.status, 200, "{}", refund.text);
    assert!(refund.text.contains("WECHAT_CLIENT_CERT"), "{}", refund.text);
    assert_eq!(stack.sandbox.calls("/secapi/pay/refund"), 0);
    // Refused before asking, but the backend keeps an unsent refund in flight like one
    // whose answer was lost: the amount stays reserved until the platform is asked.
    let state = stack.client.get("/refunds/WX-RF-C2", Some(ADMIN_KEY)).await;
    assert_eq!(state.body["status"], "PROCESSING", "{}", state.text);
    let order = stack.store.get_order(&no).await.unwrap().unwrap();
    assert_eq!((order.refunded_amount, order.refunding_amount), (0, 300));
}

#[tokio::test]
async fn an_order_wechat_never_accepted_is_not_placed_again_with_under_five_minutes_left() {
    let stack = stack().await;
    let session = wechat_session(&stack, "zhou").await;
    // unifiedorder fails twice (the call and its retry): the order waits unplaced.
    stack
        .sandbox
        .set_fault(Fault::before("/pay/unifiedorder", FaultKind::Status(502), 2));
    let failed = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    assert_ne!(failed.status, 200, "{}", failed.text);
    let orders: Vec<String> = table::all_items(&stack.table)
        .await
        .iter()
        .filter_map(|item| item.get("pk")?.as_s().ok()?.strip_prefix("ORDER#").map(str::to_owned))
        .collect();
    let [unplaced] = orders.as_slice() else {
        panic!("one order expected: {orders:?}");
    };
    // Time passes: four minutes of its pay window are left, too few for WeChat's
    // `time_expire`, though enough for the order to be reused otherwise.
    let four_minutes_left = (sandbox::clock::now_secs() + 240).to_string();
    table::client()
        .await
        .update_item()
        .table_name(&stack.table)
        .key("pk", AttributeValue::S(format!("ORDER#{unplaced}")))
        .key("sk", AttributeValue::S("ORDER".into()))
        .update_expression("SET pay_deadline = :soon")
        .expression_attribute_values(":soon", AttributeValue::N(four_minutes_left))
        .send()
        .await
        .unwrap();

    let (placed, _) = order(&stack, &session).await;
    assert_ne!(&placed, unplaced, "a new order, not the one WeChat would refuse");
    assert!(stack.sandbox.wechat_order(&placed).is_some());
    assert!(stack.sandbox.wechat_order(unplaced).is_none());
    assert_eq!(stack.sandbox.calls("/pay/unifiedorder"), 3);
}
