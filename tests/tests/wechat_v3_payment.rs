//! WeChat Pay APIv3 against moto and the sandbox over real HTTP (CONTRACT §11): a
//! public-key merchant, a certificate merchant and one switching over take payments and
//! refunds; signature probes and stale notifies are refused and their retries taken;
//! lost answers keep the money reserved; orders made with v2 before the switch are still
//! paid, refunded and reconciled with v2.

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use harness::money::{money, raw_item};
use harness::readback::{OrderView, assert_acknowledged};
use harness::wechat_v3::wechat_v3_keys;
use harness::{ADMIN_KEY, Stack, StackOptions, WECHAT_APP_ID, table};
use minipay::App;
use minipay::service::reconcile::{self, RunReport};
use sandbox::{
    CallbackOptions, Delivery, Fault, FaultKind, WechatPayOptions, WechatV3Key, WechatV3Mode, WechatV3NotifyOptions,
    WechatV3PayOptions, WechatV3RefundOutcome,
};
use serde_json::{Value, json};
use std::time::Duration;

const PREPAY: &str = "/v3/pay/transactions/jsapi";
const REFUNDS: &str = "/v3/refund/domestic/refunds";
const CERTIFICATES: &str = "/v3/certificates";
/// Where the deployment keeps the platform certificates (`pk`; `sk` is TOKEN).
const CERTIFICATES_ITEM: &str = "TOKEN#wechat_v3_certificates#1900000109";

async fn v3_stack(mode: WechatV3Mode, overrides: &[(&str, &str)]) -> Stack {
    let stack = Stack::start_custom(StackOptions {
        wechat_v3: Some(mode),
        overrides: overrides.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
        ..StackOptions::default()
    })
    .await;
    with_course(stack).await
}

async fn with_course(stack: Stack) -> Stack {
    table::put_catalog_item(&table::client().await, &stack.table, "course", 880, "微信小程序课程").await;
    stack
}

async fn session(stack: &Stack, user: &str) -> String {
    stack.client.wechat_login(&stack.sandbox.wechat_login_code(user)).await
}

/// A new order's number and its `wx.requestPayment` fields.
async fn order(stack: &Stack, session: &str) -> (String, Value) {
    stack.client.prepay(session, "course").await
}

async fn pay(stack: &Stack, no: &str, options: WechatV3PayOptions) -> Vec<Delivery> {
    stack
        .sandbox
        .wechat_v3_pay(no, options)
        .await
        .expect("the sandbox pays")
}

fn deliveries(n: usize) -> WechatV3PayOptions {
    WechatV3PayOptions {
        deliveries: n,
        ..WechatV3PayOptions::default()
    }
}

fn signed_with(key: WechatV3Key) -> WechatV3PayOptions {
    WechatV3PayOptions {
        sign_with: Some(key),
        ..WechatV3PayOptions::default()
    }
}

fn silently() -> WechatV3NotifyOptions {
    WechatV3NotifyOptions {
        deliveries: 0,
        ..WechatV3NotifyOptions::default()
    }
}

/// Every delivery answered as v3 asks: 200 and `{"code":"SUCCESS"}`.
fn assert_v3_acknowledged(deliveries: &[Delivery]) {
    assert_acknowledged(deliveries);
    for d in deliveries {
        let body: Value = serde_json::from_str(&d.body).unwrap_or_else(|_| panic!("not JSON: {}", d.body));
        assert_eq!(body, json!({"code": "SUCCESS", "message": "成功"}));
    }
}

fn refund_body(no: &str, refund_no: &str, amount: i64) -> Value {
    json!({"out_order_no": no, "out_refund_no": refund_no, "refund_amount": amount, "reason": "用户申请退款"})
}

async fn status(stack: &Stack, no: &str) -> String {
    OrderView::read(&stack.client, no).await.status().to_owned()
}

async fn reconcile_once(stack: &Stack) -> RunReport {
    reconcile::run(&stack.app, Duration::from_secs(60))
        .await
        .expect("reconcile run")
}

#[tokio::test]
async fn a_merchant_with_only_a_public_key_takes_a_v3_payment_and_refunds() {
    let stack = v3_stack(WechatV3Mode::PublicKey, &[]).await;
    let session = session(&stack, "wang").await;
    let (no, pay_params) = order(&stack, &session).await;

    // The five wx.requestPayment fields, paySign RSA with the merchant key (A.6),
    // checked with the merchant's public key by aws-lc directly.
    let placed = stack.sandbox.wechat_v3_order(&no).expect("prepay reached WeChat");
    assert_eq!(pay_params["package"], json!(format!("prepay_id={}", placed.prepay_id)));
    assert_eq!(pay_params["signType"], "RSA");
    assert_eq!(pay_params.as_object().unwrap().len(), 5, "{pay_params}");
    let message = format!(
        "{WECHAT_APP_ID}\n{}\n{}\n{}\n",
        pay_params["timeStamp"].as_str().unwrap(),
        pay_params["nonceStr"].as_str().unwrap(),
        pay_params["package"].as_str().unwrap()
    );
    let signature = base64::engine::general_purpose::STANDARD
        .decode(pay_params["paySign"].as_str().unwrap())
        .unwrap();
    let merchant_public = pem::parse(&wechat_v3_keys().merchant_public_pem).unwrap();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, merchant_public.contents())
        .verify(message.as_bytes(), &signature)
        .expect("paySign verifies with the merchant's public key");

    // Before paying, the query (a signed v3 GET, its answer verified) says NOTPAY.
    let pending = stack.client.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(pending.body["status"], "PENDING", "{}", pending.text);

    // Three notifies at once, each signed with WeChat's public key: applied once.
    assert_v3_acknowledged(&pay(&stack, &no, deliveries(3)).await);
    assert_eq!(status(&stack, &no).await, "PAID");
    let item = raw_item(&stack, &format!("ORDER#{no}"), "ORDER").await.unwrap();
    assert_eq!(item["version"], AttributeValue::N("3".into()), "paid exactly once");
    assert_eq!(item["channel"], AttributeValue::S("wechat_v3".into()));

    // A refund, no client certificate in v3; its notify comes twice.
    let refund = stack
        .client
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-V3-A", 300))
        .await;
    assert_eq!(
        (refund.status, refund.body["status"].as_str()),
        (200, Some("PROCESSING")),
        "{}",
        refund.text
    );
    let at_wechat = stack
        .sandbox
        .wechat_v3_refund("RF-V3-A")
        .expect("the refund reached WeChat");
    assert_eq!((at_wechat.refund_fee, at_wechat.total_fee), (300, 880));
    let finished = stack
        .sandbox
        .wechat_v3_finish_refund(
            "RF-V3-A",
            WechatV3RefundOutcome::Success,
            WechatV3NotifyOptions {
                deliveries: 2,
                ..WechatV3NotifyOptions::default()
            },
        )
        .await
        .unwrap();
    assert_v3_acknowledged(&finished);
    let view = OrderView::read(&stack.client, &no).await;
    assert_eq!(
        (view.refund("RF-V3-A"), view.refunded_amount()),
        (Some(("SUCCESS", 300)), 300)
    );

    // WeChat could not pay the second one back (ABNORMAL): kept reserved for a person.
    let refund = stack
        .client
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-V3-B", 580))
        .await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    let abnormal = stack
        .sandbox
        .wechat_v3_finish_refund(
            "RF-V3-B",
            WechatV3RefundOutcome::Abnormal,
            WechatV3NotifyOptions::default(),
        )
        .await
        .unwrap();
    assert_v3_acknowledged(&abnormal);
    let reserved = money(&stack, &no).await;
    assert_eq!(
        (reserved.refunded, reserved.refunding, reserved.refundable),
        (300, 580, 0)
    );
    let item = raw_item(&stack, "REFUND#RF-V3-B", "REFUND").await.unwrap();
    assert_eq!(item["attention"], AttributeValue::S("ABNORMAL".into()));

    assert_eq!(
        stack.sandbox.calls(CERTIFICATES),
        0,
        "a public-key merchant needs no certificate"
    );
}

#[tokio::test]
async fn a_certificate_merchant_downloads_certificates_once_and_follows_a_rotation() {
    let stack = v3_stack(WechatV3Mode::Certificate, &[]).await;
    let session = session(&stack, "li").await;
    for _ in 0..2 {
        let (no, pay_params) = order(&stack, &session).await;
        assert_eq!(pay_params["signType"], "RSA");
        assert_v3_acknowledged(&pay(&stack, &no, WechatV3PayOptions::default()).await);
        assert_eq!(status(&stack, &no).await, "PAID");
    }
    assert_eq!(
        stack.sandbox.calls(CERTIFICATES),
        1,
        "downloaded once, then read from the table for every answer and notify"
    );
    let stored = raw_item(&stack, CERTIFICATES_ITEM, "TOKEN").await;
    assert!(stored.is_some(), "the certificates are shared through the table");

    // WeChat rotates its certificate: a notify names a serial we have not seen, and
    // the certificates are downloaded again (once) instead of the notify being refused.
    let rotated = stack.sandbox.wechat_v3_rotate_certificate().unwrap();
    let (no, _) = order(&stack, &session).await;
    let delivered = pay(&stack, &no, WechatV3PayOptions::default()).await;
    assert_v3_acknowledged(&delivered);
    assert_eq!(status(&stack, &no).await, "PAID");
    assert_eq!(stack.sandbox.calls(CERTIFICATES), 2, "new serial {}", rotated.serial_no);
}

#[tokio::test]
async fn cold_instances_verifying_their_first_answer_at_once_download_the_certificates_once() {
    let stack = v3_stack(WechatV3Mode::Certificate, &[]).await;
    let session = session(&stack, "qian").await;
    let (no, _) = order(&stack, &session).await;
    // The prepay's answer made this instance download them; as if that never happened:
    table::client()
        .await
        .delete_item()
        .table_name(&stack.table)
        .key("pk", AttributeValue::S(CERTIFICATES_ITEM.into()))
        .key("sk", AttributeValue::S("TOKEN".into()))
        .send()
        .await
        .expect("delete the stored certificates");
    // Ten cold starts of the same deployment on the same table: each has no
    // certificate in memory or in the table and must verify WeChat's answer to its
    // order query.
    let instances: Vec<App> = (0..10)
        .map(|_| App::with_store(stack.app.config.clone(), stack.app.store.clone()).expect("an app"))
        .collect();
    let before = stack.sandbox.calls(CERTIFICATES);
    let asked = futures::future::join_all(instances.iter().map(|app| async {
        let client = app.wechat_v3.as_ref().expect("a v3 client");
        client.query_order(&no).await
    }))
    .await;
    for answer in asked {
        let transaction = answer.expect("a verified answer").expect("WeChat has the order");
        assert_eq!(transaction.trade_state, "NOTPAY");
    }
    assert_eq!(
        stack.sandbox.calls(CERTIFICATES) - before,
        1,
        "one instance downloads, the others wait for it and read the table"
    );
}

#[tokio::test]
async fn a_merchant_switching_from_certificates_to_the_public_key_loses_no_notify() {
    let stack = v3_stack(WechatV3Mode::Switching, &[]).await;
    let session = session(&stack, "zhao").await;
    // During the grey switch WeChat signs each notify with either key; every one of
    // them is taken.
    let mut paid = Vec::new();
    for key in [
        WechatV3Key::Certificate,
        WechatV3Key::PublicKey,
        WechatV3Key::PublicKey,
        WechatV3Key::Certificate,
    ] {
        let (no, _) = order(&stack, &session).await;
        assert_v3_acknowledged(&pay(&stack, &no, signed_with(key)).await);
        paid.push(no);
    }
    // And as the sandbox picks them, at random.
    for _ in 0..4 {
        let (no, _) = order(&stack, &session).await;
        assert_v3_acknowledged(&pay(&stack, &no, deliveries(2)).await);
        paid.push(no);
    }
    for no in &paid {
        assert_eq!(status(&stack, no).await, "PAID", "{no}");
    }
    assert!(
        stack.sandbox.calls(CERTIFICATES) <= 1,
        "certificates downloaded at most once: {}",
        stack.sandbox.calls(CERTIFICATES)
    );
}

#[tokio::test]
async fn probes_and_stale_notifies_are_refused_and_their_retries_taken() {
    let stack = v3_stack(WechatV3Mode::PublicKey, &[]).await;
    let session = session(&stack, "chen").await;
    for spoil in ["probe", "stale"] {
        let (no, _) = order(&stack, &session).await;
        match spoil {
            "probe" => stack.sandbox.wechat_v3_probe_next(0, 1),
            _ => stack.sandbox.wechat_v3_stale_next(0, 1),
        }
        let refused = pay(&stack, &no, WechatV3PayOptions::default()).await;
        assert_eq!(refused[0].status, 401, "{spoil}: {}", refused[0].body);
        let body: Value = serde_json::from_str(&refused[0].body).unwrap();
        assert_eq!(body["code"], "FAIL", "{spoil}");
        assert_eq!(status(&stack, &no).await, "PENDING", "{spoil}: nothing applied");
        // WeChat sends it again, correctly signed.
        assert_v3_acknowledged(&pay(&stack, &no, WechatV3PayOptions::default()).await);
        assert_eq!(status(&stack, &no).await, "PAID", "{spoil}");
    }

    // A tampered notify is refused too, and an answer that is a probe is not believed:
    // the order paid without a notify stays PENDING until an answer verifies.
    let (no, _) = order(&stack, &session).await;
    let tampered = WechatV3PayOptions {
        tamper_signature: true,
        deliveries: 0,
        ..WechatV3PayOptions::default()
    };
    pay(&stack, &no, tampered).await;
    stack.sandbox.wechat_v3_probe_next(2, 0);
    let asked = stack.client.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(
        (asked.status, asked.error_code()),
        (503, "platform_unavailable"),
        "{}",
        asked.text
    );
    assert_eq!(
        status(&stack, &no).await,
        "PENDING",
        "an answer not verified is not believed"
    );
}

#[tokio::test]
async fn lost_v3_answers_keep_the_money_reserved_until_wechat_says() {
    let stack = v3_stack(WechatV3Mode::PublicKey, &[("RECONCILE_AFTER_SECONDS", "0")]).await;
    let session = session(&stack, "sun").await;

    // Prepay: WeChat made the order, both answers were lost. Asking again gets the same
    // prepay id (an identical repeat is idempotent), not a second order.
    stack.sandbox.set_fault(Fault::after(PREPAY, FaultKind::Status(502), 2));
    let lost = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    assert_eq!(lost.status, 503, "{}", lost.text);
    let (no, pay_params) = order(&stack, &session).await;
    let placed = stack.sandbox.wechat_v3_order(&no).unwrap();
    assert_eq!(pay_params["package"], json!(format!("prepay_id={}", placed.prepay_id)));
    assert_v3_acknowledged(&pay(&stack, &no, WechatV3PayOptions::default()).await);

    // Refund: WeChat made it, answered SYSTEM_ERROR both times: unknown, not refused.
    stack.sandbox.set_fault(Fault::after(
        REFUNDS,
        FaultKind::PlatformError {
            err_no: 0,
            err_tips: "系统繁忙，请稍后重试".into(),
        },
        2,
    ));
    let lost = stack
        .client
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-V3-LOST", 880))
        .await;
    assert!(lost.status >= 500, "{}", lost.text);
    assert!(
        stack.sandbox.wechat_v3_refund("RF-V3-LOST").is_some(),
        "WeChat made the refund"
    );
    let state = stack.client.get("/refunds/RF-V3-LOST", Some(ADMIN_KEY)).await;
    assert_eq!(state.body["status"], "PROCESSING", "{}", state.text);
    let again = stack
        .client
        .post("/refund", Some(ADMIN_KEY), &refund_body(&no, "RF-V3-AGAIN", 880))
        .await;
    assert_eq!((again.status, again.error_code()), (409, "conflict"), "{}", again.text);

    // It succeeds and its notify is lost as well: one reconcile run learns it.
    stack
        .sandbox
        .wechat_v3_finish_refund("RF-V3-LOST", WechatV3RefundOutcome::Success, silently())
        .await
        .unwrap();
    let report = reconcile_once(&stack).await;
    assert_eq!((report.refunds_ended, report.errors), (1, 0), "{report:?}");
    let view = OrderView::read(&stack.client, &no).await;
    assert_eq!((view.status(), view.refunded_amount()), ("REFUNDED", 880));
}

#[tokio::test]
async fn v2_orders_made_before_the_switch_are_paid_refunded_and_reconciled_with_v2() {
    // Before: the merchant has its APIv3 settings, new orders still go to v2.
    let before = v3_stack(
        WechatV3Mode::PublicKey,
        &[("WECHAT_PAY_API", "v2"), ("RECONCILE_AFTER_SECONDS", "0")],
    )
    .await;
    let session = session(&before, "zhou").await;
    let (v2_paid, params) = order(&before, &session).await;
    assert_eq!(params["signType"], "MD5", "a v2 order");
    // A second user, so that the first order is not reused.
    let other = self::session(&before, "wu").await;
    let (v2_lost, _) = order(&before, &other).await;

    // The switch to v3: a new cold start on the same table and platform.
    let Stack { sandbox, table, .. } = before;
    let after = Stack::start_custom(StackOptions {
        wechat_v3: Some(WechatV3Mode::PublicKey),
        overrides: vec![("RECONCILE_AFTER_SECONDS".into(), "0".into())],
        reuse: Some((sandbox, table)),
        ..StackOptions::default()
    })
    .await;
    let (v3_lost, params) = order(&after, &session).await;
    assert_eq!(params["signType"], "RSA", "new orders are v3");

    // The v2 order's XML notify is still verified with the APIv2 key.
    let notified = after
        .sandbox
        .wechat_pay(&v2_paid, WechatPayOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&notified);
    assert!(notified[0].body.contains("SUCCESS"), "{}", notified[0].body);
    assert_eq!(status(&after, &v2_paid).await, "PAID");

    // One v2 and one v3 order paid with their notifies lost: one reconcile run asks each
    // with its own API.
    let quiet = WechatPayOptions {
        deliveries: 0,
        ..WechatPayOptions::default()
    };
    after.sandbox.wechat_pay(&v2_lost, quiet).await.unwrap();
    pay(&after, &v3_lost, deliveries(0)).await;
    let report = reconcile_once(&after).await;
    assert_eq!((report.orders_paid, report.errors), (2, 0), "{report:?}");
    assert_eq!(status(&after, &v2_lost).await, "PAID");
    assert_eq!(status(&after, &v3_lost).await, "PAID");

    // The v2 order is refunded with v2 (secapi, the client certificate), the v3 one with
    // v3; both notifies lost, the reconciler finishes both.
    for (no, refund_no) in [(&v2_paid, "RF-V2-AFTER"), (&v3_lost, "RF-V3-AFTER")] {
        let refund = after
            .client
            .post("/refund", Some(ADMIN_KEY), &refund_body(no, refund_no, 880))
            .await;
        assert_eq!(refund.status, 200, "{refund_no}: {}", refund.text);
    }
    assert!(after.sandbox.wechat_refund("RF-V2-AFTER").is_some());
    let no_notify = CallbackOptions {
        deliveries: 0,
        ..CallbackOptions::default()
    };
    after
        .sandbox
        .wechat_finish_refund("RF-V2-AFTER", true, no_notify)
        .await
        .unwrap();
    after
        .sandbox
        .wechat_v3_finish_refund("RF-V3-AFTER", WechatV3RefundOutcome::Success, silently())
        .await
        .unwrap();
    let report = reconcile_once(&after).await;
    assert_eq!((report.refunds_ended, report.errors), (2, 0), "{report:?}");
    for no in [&v2_paid, &v3_lost] {
        let view = OrderView::read(&after.client, no).await;
        assert_eq!((view.status(), view.refunded_amount()), ("REFUNDED", 880), "{no}");
    }
}
