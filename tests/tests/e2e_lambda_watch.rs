//! End to end: the real Lambda binaries under `cargo lambda watch`, a real DynamoDB API
//! (moto) and the sandbox, wired only through environment variables.

use harness::client::{ApiClient, Routing};
use harness::readback::{OrderView, assert_acknowledged};
use harness::watch::Watch;
use harness::wechat_v3::backend_v3_env;
use harness::{
    ADMIN_KEY, APP_ID, APP_SECRET, KEY_VERSION, SALT, TOKEN, WECHAT_APP_ID, WECHAT_APP_SECRET, WECHAT_MCH_ID, flows,
    table, trade_keys,
};
use minipay::store::OrderStore;
use sandbox::{
    CallbackOptions, PayOptions, Sandbox, TradePayOptions, WechatV3Key, WechatV3Mode, WechatV3NotifyOptions,
    WechatV3PayOptions, WechatV3RefundOutcome,
};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test]
async fn a_douyin_payment_through_the_lambda_binaries() {
    let table = table::create_fresh_table().await;
    table::put_catalog_item(&table::client().await, &table, "course-trial", 1, "试听课").await;
    let sandbox = Sandbox::start(harness::sandbox_config()).await;
    let watch = Watch::start(|base_url| {
        function_env(
            &table,
            &sandbox,
            base_url,
            [("DOUYIN_SALT", SALT.into()), ("DOUYIN_TOKEN", TOKEN.into())],
        )
    })
    .await;
    let api = ApiClient::new(&watch.base_url, Routing::LambdaUrl);

    let order = flows::pay_one_order(&api, &sandbox, "e2e-user", "course-trial").await;
    assert_eq!(order["status"], "PAID", "watch log:\n{}", watch.log_text());
    assert_eq!(order["code"], 0);
    assert_eq!(order["total_amount"], 1);
    assert!(order["paid_at"].as_i64().is_some());
    let no = order["out_order_no"].as_str().unwrap().to_owned();

    // The back office refunds part of it through the refund function.
    let refund = json!({"out_order_no": no, "out_refund_no": "E2E-RF-1", "refund_amount": 1, "reason": "e2e"});
    let answer = api.post("/refund", Some(ADMIN_KEY), &refund).await;
    assert_eq!(answer.status, 200, "{}\nwatch log:\n{}", answer.text, watch.log_text());
    let deliveries = sandbox
        .finish_refund("E2E-RF-1", true, CallbackOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&deliveries);
    let view = OrderView::read(&api, &no).await;
    assert_eq!(
        (view.status(), view.refunded_amount(), view.refund("E2E-RF-1")),
        ("REFUNDED", 1, Some(("SUCCESS", 1))),
        "watch log:\n{}",
        watch.log_text()
    );

    // The table's stream, fed to the push function, keeps the order center in step: the
    // pushes are looked at after each batch push took, until all four came.
    let mut pump = harness::watch::StreamPump::start(&table, &watch.base_url).await;
    let wanted: BTreeSet<i64> = [0, 1, 5, 6].into();
    let pushed = || -> BTreeSet<i64> {
        sandbox
            .pushes()
            .iter()
            .filter(|p| p.order_detail["order_id"] == json!(no))
            .map(|p| p.order_status)
            .collect()
    };
    let all_pushed = async {
        while pushed() != wanted {
            pump.next_delivery().await.expect("the stream pump runs");
        }
    };
    // Generous: it fires only when a push never comes.
    if tokio::time::timeout(Duration::from_secs(90), all_pushed).await.is_err() {
        panic!(
            "pushed {:?}, not created, paid, refunding, refunded {wanted:?}\nwatch log:\n{}",
            pushed(),
            watch.log_text()
        );
    }
    assert_eq!(sandbox.token_fetches(), 1);

    // The real binaries logged the whole flow, and no secret with it.
    let log = watch.log_text();
    assert!(log.contains("order paid"), "the functions' logs are captured");
    for secret in harness::SECRETS {
        assert!(!log.contains(secret), "a secret reached the functions' logs");
    }
}

#[tokio::test]
async fn a_trade_payment_and_a_user_refund_through_the_lambda_binaries() {
    let table = table::create_fresh_table().await;
    table::put_trade_catalog_item(&table::client().await, &table, "course", 600, "课程").await;
    let sandbox = Sandbox::start(harness::sandbox_config()).await;
    let keys = trade_keys();
    // A trade-only app: no ecpay SALT or Token at all.
    let watch = Watch::start(|base_url| {
        function_env(
            &table,
            &sandbox,
            base_url,
            [
                ("DOUYIN_PAY_MODE", "trade".into()),
                ("DOUYIN_PRIVATE_KEY", keys.app_private_pem.clone()),
                ("DOUYIN_PLATFORM_PUBLIC_KEY", keys.platform_public_pem.clone()),
                ("DOUYIN_KEY_VERSION", KEY_VERSION.into()),
                ("DOUYIN_OPEN_API_BASE", sandbox.base_url.clone()),
            ],
        )
    })
    .await;
    let api = ApiClient::new(&watch.base_url, Routing::LambdaUrl);

    let session = api.login(&sandbox.login_code("e2e-trade")).await;
    let prepay = api.post("/prepay", Some(&session), &json!({"sku": "course"})).await;
    assert_eq!(prepay.status, 200, "{}\nwatch log:\n{}", prepay.text, watch.log_text());
    let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
    let pay = &prepay.body["pay"];
    sandbox
        .trade_request_order(
            pay["data"].as_str().unwrap(),
            pay["byteAuthorization"].as_str().unwrap(),
        )
        .expect("tt.requestOrder accepts the binaries' signature");
    let paid = sandbox.trade_pay(&no, TradePayOptions::default()).await.unwrap();
    assert_eq!(
        paid[0].status,
        200,
        "{}\nwatch log:\n{}",
        paid[0].body,
        watch.log_text()
    );
    assert_eq!(OrderView::read(&api, &no).await.status(), "PAID");

    let asked = sandbox
        .trade_user_refund(&no, 600, "不想要了", CallbackOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&asked.deliveries);
    let out_refund_no = asked
        .out_refund_no
        .unwrap_or_else(|| panic!("{:?}\nwatch log:\n{}", asked.deliveries, watch.log_text()));
    let asked_view = OrderView::read(&api, &no).await;
    assert_eq!(asked_view.refund(&out_refund_no), Some(("PROCESSING", 600)));
    let done = sandbox
        .trade_finish_refund(&asked.refund_id, true, CallbackOptions::default())
        .await
        .unwrap();
    assert_acknowledged(&done);
    let order = api.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(
        (order.body["status"].clone(), order.body["refunded_amount"].clone()),
        (json!("REFUNDED"), json!(600))
    );
    assert_eq!(
        OrderView::read(&api, &no).await.refund(&out_refund_no),
        Some(("SUCCESS", 600))
    );

    let log = watch.log_text();
    assert!(log.contains("user refund recorded"), "the functions' logs are captured");
    let key_line = keys.app_private_pem.lines().nth(1).unwrap();
    assert!(!log.contains(key_line), "the private key reached the functions' logs");
    for secret in harness::SECRETS {
        assert!(!log.contains(secret), "a secret reached the functions' logs");
    }
}

#[tokio::test]
async fn a_wechat_v3_payment_and_refund_through_the_lambda_binaries() {
    // A merchant in the middle of switching to the public key: notifies come signed with
    // either key, so the binaries use the public key and download the certificates too.
    harness::trust_sandbox_tls();
    let table = table::create_fresh_table().await;
    table::put_catalog_item(&table::client().await, &table, "course", 880, "微信小程序课程").await;
    let mode = WechatV3Mode::Switching;
    let sandbox = Sandbox::start(harness::sandbox_config_with(Some(mode))).await;
    let watch = Watch::start(|base_url| {
        let api = ApiClient::new(base_url, Routing::LambdaUrl);
        let notify = api.url("/notify/wechat");
        let notify = notify.strip_prefix(&api.base_url).expect("a URL on the API").to_owned();
        let wechat = [
            ("WECHAT_APP_ID", WECHAT_APP_ID.to_owned()),
            ("WECHAT_APP_SECRET", WECHAT_APP_SECRET.to_owned()),
            ("WECHAT_MCH_ID", WECHAT_MCH_ID.to_owned()),
            ("WECHAT_API_BASE", sandbox.tls_url.clone()),
            ("WECHAT_LOGIN_BASE", sandbox.base_url.clone()),
            ("WECHAT_NOTIFY_URL", harness::public_url(&notify)),
        ];
        let mut env = function_env(&table, &sandbox, base_url, wechat);
        env.extend(backend_v3_env(mode).into_iter().map(|(k, v)| (k.to_owned(), v)));
        env
    })
    .await;
    let api = ApiClient::new(&watch.base_url, Routing::LambdaUrl);
    let code = sandbox.wechat_login_code("e2e-v3");
    let login = api
        .post("/openid", None, &json!({"code": code, "platform": "wechat"}))
        .await;
    assert_eq!(login.status, 200, "{}\nwatch log:\n{}", login.text, watch.log_text());
    let session = login.body["session"].as_str().unwrap().to_owned();

    let mut paid = Vec::new();
    for key in [WechatV3Key::PublicKey, WechatV3Key::Certificate] {
        let prepay = api.post("/prepay", Some(&session), &json!({"sku": "course"})).await;
        assert_eq!(prepay.status, 200, "{}\nwatch log:\n{}", prepay.text, watch.log_text());
        assert_eq!(prepay.body["pay"]["signType"], "RSA");
        let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
        let options = WechatV3PayOptions {
            sign_with: Some(key),
            ..WechatV3PayOptions::default()
        };
        let delivered = sandbox.wechat_v3_pay(&no, options).await.unwrap();
        assert_acknowledged(&delivered);
        assert_eq!(OrderView::read(&api, &no).await.status(), "PAID", "signed with {key:?}");
        paid.push(no);
    }

    let refund = json!({"out_order_no": paid[0], "out_refund_no": "E2E-V3-RF", "refund_amount": 880, "reason": "e2e"});
    let answer = api.post("/refund", Some(ADMIN_KEY), &refund).await;
    assert_eq!(answer.status, 200, "{}\nwatch log:\n{}", answer.text, watch.log_text());
    let done = sandbox
        .wechat_v3_finish_refund(
            "E2E-V3-RF",
            WechatV3RefundOutcome::Success,
            WechatV3NotifyOptions::default(),
        )
        .await
        .unwrap();
    assert_acknowledged(&done);
    let view = OrderView::read(&api, &paid[0]).await;
    assert_eq!(
        (view.status(), view.refund("E2E-V3-RF")),
        ("REFUNDED", Some(("SUCCESS", 880)))
    );

    let log = watch.log_text();
    for secret in harness::SECRETS {
        assert!(!log.contains(secret), "a secret reached the functions' logs");
    }
}

/// The platform's order query, which only the reconciler may have sent here.
const QUERY_ORDER: &str = "/api/apps/ecpay/v1/query_order";

#[tokio::test]
async fn a_lost_payment_callback_recovered_by_reconcile_through_the_lambda_binaries() {
    let table = table::create_fresh_table().await;
    table::put_catalog_item(&table::client().await, &table, "course-trial", 1, "试听课").await;
    let sandbox = Sandbox::start(harness::sandbox_config()).await;
    let watch = Watch::start(|base_url| {
        function_env(
            &table,
            &sandbox,
            base_url,
            [
                ("DOUYIN_SALT", SALT.into()),
                ("DOUYIN_TOKEN", TOKEN.into()),
                // Open items are asked about at once (deployed: 60 s after they are made).
                ("RECONCILE_AFTER_SECONDS", "0".into()),
                // What Lambda sets for the template's JSON logs; without it the functions
                // log errors only (shared/src/app.rs `log_filter("")`).
                ("AWS_LAMBDA_LOG_LEVEL", "INFO".into()),
            ],
        )
    })
    .await;
    let api = ApiClient::new(&watch.base_url, Routing::LambdaUrl);

    let session = api.login(&sandbox.login_code("e2e-lost-callback")).await;
    let prepay = api
        .post(
            "/prepay",
            Some(&session),
            &json!({"sku": "course-trial", "quantity": 1}),
        )
        .await;
    assert_eq!(prepay.status, 200, "{}\nwatch log:\n{}", prepay.text, watch.log_text());
    let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();

    // The user pays; the platform's callback never arrives.
    let deliveries = sandbox
        .pay(
            &no,
            PayOptions {
                deliveries: 0,
                ..Default::default()
            },
        )
        .await
        .expect("sandbox pays");
    assert!(deliveries.is_empty());
    // Not through GET /orders, which asks the platform itself while the order is pending.
    let store = table::store(&table).await;
    let stored = store.get_order(&no).await.unwrap().expect("the order is stored");
    assert_eq!(stored.status.as_str(), "PENDING", "no callback, no change");
    assert_eq!(sandbox.calls(QUERY_ORDER), 0);

    // The schedule fires.
    let event: serde_json::Value =
        serde_json::from_str(include_str!("../../events/reconcile.json")).expect("events/reconcile.json");
    let report = watch.invoke("reconcile", &event).await;
    assert!(
        report["orders_paid"].as_u64().is_some_and(|n| n >= 1),
        "report {report}\nwatch log:\n{}",
        watch.log_text()
    );
    assert_eq!(report["errors"], 0, "report {report}");
    assert_eq!(report["out_of_time"], false, "report {report}");
    assert!(sandbox.calls(QUERY_ORDER) >= 1, "the reconciler asked the platform");

    let stored = store.get_order(&no).await.unwrap().expect("the order is stored");
    assert_eq!(stored.status.as_str(), "PAID", "the reconciler recorded the payment");
    let queries = sandbox.calls(QUERY_ORDER);
    let order = api.get(&format!("/orders/{no}"), Some(&session)).await;
    assert_eq!(order.status, 200, "{}", order.text);
    assert_eq!(order.body["status"], "PAID", "watch log:\n{}", watch.log_text());
    assert!(order.body["paid_at"].as_i64().is_some());
    assert_eq!(
        sandbox.calls(QUERY_ORDER),
        queries,
        "a paid order is read from the table"
    );

    let log = watch.log_text();
    assert!(
        log.contains("reconcile: payment found"),
        "the reconciler's logs are captured"
    );
    assert!(log.contains("Scheduled Event"), "the run logs what started it");
    for secret in harness::SECRETS {
        assert!(!log.contains(secret), "a secret reached the functions' logs");
    }
}

#[tokio::test]
async fn watch_that_lost_its_port_to_another_program_starts_again_on_another() {
    // Another program listens on the port chosen first (bound, not merely probed).
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let free_port = harness::ports::unused_port();
    let watch = Watch::start_on([taken_port, free_port], |_| Vec::new()).await;
    assert_eq!(watch.base_url, format!("http://127.0.0.1:{free_port}"));
    let answer = reqwest::get(&watch.base_url).await.expect("watch answers");
    assert!(
        answer.status().is_client_error(),
        "watch's own answer: {}",
        answer.status()
    );
}

/// The variables a deployment sets, pointed at moto and the sandbox, plus `extra`; and
/// the sandbox's tunnel pointed at the functions, whose notify URL is public https.
fn function_env<const N: usize>(
    table: &str,
    sandbox: &Sandbox,
    base_url: &str,
    extra: [(&str, String); N],
) -> Vec<(String, String)> {
    let api = ApiClient::new(base_url, Routing::LambdaUrl);
    sandbox.set_tunnel(Some(harness::tunnel_to(&api.base_url)));
    let notify_path = api.url("/notify/douyin");
    let notify_path = notify_path.strip_prefix(&api.base_url).expect("a URL on the API");
    [
        ("TABLE_NAME", table.to_owned()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_ENDPOINT_URL_DYNAMODB", table::endpoint()),
        ("DOUYIN_APP_ID", APP_ID.into()),
        ("DOUYIN_APP_SECRET", APP_SECRET.into()),
        ("DOUYIN_API_BASE", sandbox.base_url.clone()),
        ("DOUYIN_NOTIFY_URL", harness::public_url(notify_path)),
        ("ADMIN_API_KEY", ADMIN_KEY.into()),
    ]
    .into_iter()
    .chain(extra)
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}
