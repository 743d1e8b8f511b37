//! The trade system's server APIs over HTTP: `oauth/client_token/`, the access-token
//! check, `order_query/`, `refund_create/` / `refund_query/` and `settle_create/` /
//! `settle_query/`, and faults on their paths.

mod common;

use common::trade::*;
use common::*;
use sandbox::{Fault, FaultKind, TransferStatus};
use serde_json::{Value, json};

fn credentials() -> Value {
    json!({ "grant_type": "client_credential", "client_key": APP_ID, "client_secret": APP_SECRET })
}

#[tokio::test]
async fn client_tokens_are_issued_and_cut_earlier_ones_to_five_minutes() {
    let sandbox = trade_sandbox().await;
    let (status, answer) = post(&sandbox, CLIENT_TOKEN, &credentials()).await;
    assert_eq!(status, 200);
    assert_eq!(answer["message"], "success");
    assert_eq!(
        (&answer["data"]["expires_in"], &answer["data"]["description"]),
        (&json!(7200), &json!(""))
    );
    let first = answer["data"]["access_token"].as_str().unwrap().to_owned();
    assert!(first.starts_with("clt.") && first.len() > 20, "{first}");

    let second = client_token(&sandbox).await;
    assert_ne!(first, second);
    assert_eq!(sandbox.client_token_fetches(), 2);
    let tokens = sandbox.client_tokens();
    assert!(
        tokens[0].expires_at <= now_secs() + 300,
        "cut to five minutes: {tokens:?}"
    );
    assert_eq!(tokens[1].expires_at - tokens[1].issued_at, 7200);
    // Both still work within the five minutes.
    for token in [&first, &second] {
        let answer = developer(&sandbox, REFUND_QUERY, token, &json!({ "order_id": "none" })).await;
        assert_eq!(answer["err_no"], 0, "{answer}");
    }

    let wrong: [(&str, Value); 4] = [
        ("client_secret", json!("nope")),
        ("client_key", json!("tt_other")),
        ("grant_type", json!("authorization_code")),
        ("client_secret", json!(12345)),
    ];
    for (field, value) in wrong {
        let mut body = credentials();
        body[field] = value;
        let (status, answer) = post(&sandbox, CLIENT_TOKEN, &body).await;
        assert_eq!((status, &answer["message"]), (200, &json!("error")), "{answer}");
        assert_eq!(
            (&answer["data"]["error_code"], &answer["data"]["access_token"]),
            (&json!(10013), &json!(""))
        );
        assert!(
            answer["data"]["description"].as_str().unwrap().contains(field),
            "{answer}"
        );
    }
    assert_eq!(sandbox.client_token_fetches(), 2, "failures issue nothing");
    assert_eq!(sandbox.calls(CLIENT_TOKEN), 6);
}

#[tokio::test]
async fn developer_apis_need_a_live_access_token() {
    let sandbox = trade_sandbox().await;
    let body = json!({ "out_order_no": "none" });
    let no_header = http()
        .post(format!("{}{ORDER_QUERY}", sandbox.base_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let answer: Value = no_header.json().await.unwrap();
    let (err_no, msg) = trade_err(&answer);
    assert_eq!((err_no, answer.get("data")), (28001003, None));
    assert!(msg.contains("access-token is invalid"), "{msg}");

    let answer = developer(&sandbox, ORDER_QUERY, "clt.made-up", &body).await;
    assert_eq!(trade_err(&answer).0, 28001003);

    let token = client_token(&sandbox).await;
    assert_eq!(
        trade_err(&developer(&sandbox, ORDER_QUERY, &token, &body).await).0,
        20000,
        "past the token check"
    );
    sandbox.expire_client_tokens();
    for path in [ORDER_QUERY, REFUND_CREATE, REFUND_QUERY, SETTLE_CREATE, SETTLE_QUERY] {
        assert_eq!(
            trade_err(&developer(&sandbox, path, &token, &body).await).0,
            28001003,
            "{path}"
        );
    }
    let fresh = client_token(&sandbox).await;
    assert_eq!(
        trade_err(&developer(&sandbox, ORDER_QUERY, &fresh, &body).await).0,
        20000
    );
}

#[tokio::test]
async fn without_a_trade_config_everything_is_refused() {
    let sandbox = sandbox().await;
    let (_, answer) = post(&sandbox, CLIENT_TOKEN, &credentials()).await;
    assert_eq!(answer["data"]["error_code"], 10013);
    let answer = developer(&sandbox, ORDER_QUERY, "clt.x", &json!({ "out_order_no": "x" })).await;
    assert_eq!(trade_err(&answer).0, 28001003);
}

#[tokio::test]
async fn order_query_reports_the_order_before_and_after_paying() {
    let sandbox = trade_sandbox().await;
    let order_id = request_order(&sandbox, &order_data("TQ-1", 990, 3));
    let token = client_token(&sandbox).await;
    let answer = developer(&sandbox, ORDER_QUERY, &token, &json!({ "out_order_no": "TQ-1" })).await;
    assert_eq!(trade_err(&answer), (0, "success".into()));
    let data = &answer["data"];
    assert_eq!((&data["order_id"], &data["app_id"]), (&json!(order_id), &json!(APP_ID)));
    assert_eq!(
        (&data["pay_status"], &data["total_amount"], &data["discount_amount"]),
        (&json!("PROCESS"), &json!(2970), &json!(0))
    );
    assert!(
        data.get("pay_time").is_none() && data.get("pay_channel").is_none(),
        "{data}"
    );
    let items = data["item_order_list"].as_array().unwrap();
    assert_eq!(items.len(), 3, "one item order per unit");
    assert!(
        items
            .iter()
            .all(|item| item["item_order_amount"] == 990 && item["sku_id"] == "vip-30")
    );

    let options = sandbox::TradePayOptions {
        pay_channel: 2,
        ..quiet_pay()
    };
    sandbox.trade_pay("TQ-1", options).await.unwrap();
    let answer = developer(&sandbox, ORDER_QUERY, &token, &json!({ "order_id": order_id })).await;
    let data = &answer["data"];
    assert_eq!(
        (&data["pay_status"], &data["pay_channel"]),
        (&json!("SUCCESS"), &json!(2))
    );
    assert!(data["pay_time"].as_i64().unwrap() >= data["trade_time"].as_i64().unwrap());
    assert!(!data["channel_pay_id"].as_str().unwrap().is_empty());

    // A cancelled order reports TIMEOUT.
    request_order(&sandbox, &order_data("TQ-2", 100, 1));
    sandbox.trade_cancel("TQ-2", "USER_CANCEL", quiet()).await.unwrap();
    let answer = developer(&sandbox, ORDER_QUERY, &token, &json!({ "out_order_no": "TQ-2" })).await;
    assert_eq!(answer["data"]["pay_status"], "TIMEOUT");

    let answer = developer(&sandbox, ORDER_QUERY, &token, &json!({ "out_order_no": 12 })).await;
    assert_eq!(trade_err(&answer).0, 10000, "strict types");
    let answer = developer(&sandbox, ORDER_QUERY, &token, &json!({ "out_order_no": "unknown" })).await;
    assert_eq!((trade_err(&answer).0, answer.get("data")), (20000, None));
}

fn refund_body(order_id: &str, out_refund_no: &str, items: Value) -> Value {
    json!({
        "order_id": order_id,
        "out_refund_no": out_refund_no,
        "refund_reason": [{ "code": 101, "text": "不想要了" }],
        "item_order_detail": items,
        "order_entry_schema": { "path": "pages/refund/detail", "params": "{\"r\":\"1\"}" },
    })
}

fn item(order: &sandbox::TradeOrder, index: usize, amount: i64) -> Value {
    json!({ "item_order_id": order.item_orders[index].item_order_id, "refund_amount": amount })
}

#[tokio::test]
async fn refund_create_checks_amounts_per_item_order_and_is_idempotent() {
    let sandbox = trade_sandbox().await;
    let order_id = paid_trade_order(&sandbox, "TR-1", 500, 2).await;
    let order = sandbox.trade_order("TR-1").unwrap();
    let token = client_token(&sandbox).await;
    let create = |body: Value| {
        let (sandbox, token) = (&sandbox, &token);
        async move { developer(sandbox, REFUND_CREATE, token, &body).await }
    };

    let body = refund_body(&order_id, "R-1", json!([item(&order, 0, 300)]));
    let answer = create(body.clone()).await;
    assert_eq!(trade_err(&answer).0, 0, "{answer}");
    let refund_id = answer["data"]["refund_id"].as_str().unwrap().to_owned();
    assert!(answer["data"]["refund_audit_deadline"].as_i64().unwrap() > now_secs() * 1000);
    let refund = sandbox.trade_refund(&refund_id).unwrap();
    assert_eq!(
        (refund.refund_total_amount, refund.status),
        (300, TransferStatus::Processing)
    );
    assert_eq!(sandbox.trade_refund_by_out_no("R-1").unwrap().refund_id, refund_id);

    // The same body again: the same refund; the number with other parameters: refused.
    assert_eq!(create(body).await["data"]["refund_id"], json!(refund_id));
    let other = create(refund_body(&order_id, "R-1", json!([item(&order, 0, 100)]))).await;
    assert!(trade_err(&other).1.contains("already used"), "{other}");

    let refusals: [(Value, &str); 8] = [
        // 200 of item 0 is left (the refund in flight counts).
        (
            refund_body(&order_id, "R-2", json!([item(&order, 0, 201)])),
            "exceeds the 200 left",
        ),
        (
            refund_body(
                &order_id,
                "R-2",
                json!([{ "item_order_id": "ot1", "refund_amount": 1 }]),
            ),
            "not an item of this order",
        ),
        (
            refund_body(&order_id, "R-2", json!([item(&order, 1, 0)])),
            "refund_amount must be in",
        ),
        (
            refund_body(
                &order_id,
                "R-2",
                json!([{ "item_order_id": order.item_orders[1].item_order_id, "refund_amount": "10" }]),
            ),
            "must be an integer, not a string",
        ),
        (
            refund_body(&order_id, "R-2", json!([item(&order, 1, 10), item(&order, 1, 10)])),
            "repeats item_order_id",
        ),
        (
            json!({ "order_id": order_id, "out_refund_no": "R-2", "order_entry_schema": { "path": "pages/refund/detail" }, "refund_reason": [{ "code": 101, "text": "x" }], "refund_all": true }),
            "refund_all is only allowed",
        ),
        (
            json!({ "order_id": order_id, "out_refund_no": "R-2", "order_entry_schema": { "path": "pages/refund/detail" }, "refund_reason": [{ "code": 100, "text": "x" }], "item_order_detail": [item(&order, 1, 1)] }),
            "code 100",
        ),
        (
            json!({ "order_id": order_id, "out_refund_no": "R-2", "order_entry_schema": { "path": "pages/refund/detail" }, "refund_reason": [{ "code": 101, "text": "x".repeat(50) }], "item_order_detail": [item(&order, 1, 1)] }),
            "text is longer than 49 characters",
        ),
    ];
    for (body, needle) in refusals {
        let answer = create(body).await;
        let (err_no, msg) = trade_err(&answer);
        assert_eq!(err_no, 10000, "{answer}");
        assert!(msg.contains(needle), "{msg:?} should mention {needle:?}");
    }
    let mut bad_total = refund_body(&order_id, "R-2", json!([item(&order, 1, 100)]));
    bad_total["refund_total_amount"] = json!(99);
    assert!(trade_err(&create(bad_total).await).1.contains("refund_total_amount"));
    let mut bad_schema = refund_body(&order_id, "R-2", json!([item(&order, 1, 100)]));
    bad_schema["order_entry_schema"]["path"] = json!("/pages/refund");
    assert!(
        trade_err(&create(bad_schema).await)
            .1
            .contains("must not start with '/'")
    );
    // The refund-detail page is required, and a notify URL must be https.
    let mut no_schema = refund_body(&order_id, "R-2", json!([item(&order, 1, 100)]));
    no_schema.as_object_mut().unwrap().remove("order_entry_schema");
    assert_eq!(
        trade_err(&create(no_schema).await),
        (10000, "参数错误: order_entry_schema is required".into())
    );
    let mut http_notify = refund_body(&order_id, "R-2", json!([item(&order, 1, 100)]));
    http_notify["notify_url"] = json!("http://127.0.0.1:9000/notify/douyin");
    let (err_no, msg) = trade_err(&create(http_notify).await);
    assert_eq!(err_no, 10000);
    assert!(
        msg.contains("notify_url \"http://127.0.0.1:9000/notify/douyin\" is not an https URL"),
        "{msg}"
    );
    assert!(sandbox.trade_refund_by_out_no("R-2").is_none());
    assert_eq!(
        trade_err(&create(refund_body("motb0", "R-2", json!([item(&order, 1, 1)]))).await).0,
        20000
    );

    // What is left of both item orders, exactly.
    let answer = create(refund_body(
        &order_id,
        "R-3",
        json!([item(&order, 0, 200), item(&order, 1, 500)]),
    ))
    .await;
    assert_eq!(trade_err(&answer).0, 0, "{answer}");
    let order = sandbox.trade_order("TR-1").unwrap();
    assert_eq!((order.refunding_amount, order.refunded_amount), (1000, 0));

    // refund_all on an order without refunds; an unpaid order cannot be refunded.
    let other_id = paid_trade_order(&sandbox, "TR-2", 300, 1).await;
    let all = json!({ "order_id": other_id, "out_refund_no": "R-4", "order_entry_schema": { "path": "pages/refund/detail" }, "refund_reason": [{ "code": 999, "text": "其他" }], "refund_all": true, "refund_total_amount": 300 });
    assert_eq!(trade_err(&create(all).await).0, 0);
    assert_eq!(sandbox.trade_refund_by_out_no("R-4").unwrap().refund_total_amount, 300);
    let unpaid_id = request_order(&sandbox, &order_data("TR-3", 300, 1));
    let unpaid = sandbox.trade_order("TR-3").unwrap();
    let answer = create(refund_body(&unpaid_id, "R-5", json!([item(&unpaid, 0, 1)]))).await;
    assert!(trade_err(&answer).1.contains("not paid"), "{answer}");
}

#[tokio::test]
async fn refund_query_lists_refunds_by_any_key() {
    let sandbox = trade_sandbox().await;
    let order_id = paid_trade_order(&sandbox, "TR-6", 500, 1).await;
    let order = sandbox.trade_order("TR-6").unwrap();
    let token = client_token(&sandbox).await;
    for (no, amount) in [("R-6a", 100), ("R-6b", 200)] {
        let answer = developer(
            &sandbox,
            REFUND_CREATE,
            &token,
            &refund_body(&order_id, no, json!([item(&order, 0, amount)])),
        )
        .await;
        assert_eq!(trade_err(&answer).0, 0, "{answer}");
    }
    let refund_id = sandbox.trade_refund_by_out_no("R-6a").unwrap().refund_id;
    sandbox.trade_finish_refund(&refund_id, true, quiet()).await.unwrap();

    let answer = developer(&sandbox, REFUND_QUERY, &token, &json!({ "refund_id": refund_id })).await;
    let list = answer["data"]["refund_list"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        (
            &list[0]["refund_status"],
            &list[0]["refund_total_amount"],
            &list[0]["out_refund_no"]
        ),
        (&json!("SUCCESS"), &json!(100), &json!("R-6a"))
    );
    assert!(list[0]["refund_at"].as_i64().unwrap() > 0);
    assert_eq!(list[0]["item_order_detail"], json!([item(&order, 0, 100)]));

    let answer = developer(&sandbox, REFUND_QUERY, &token, &json!({ "out_refund_no": "R-6b" })).await;
    let list = answer["data"]["refund_list"].as_array().unwrap();
    assert_eq!(list[0]["refund_status"], "PROCESSING");
    assert!(list[0].get("refund_at").is_none());
    let answer = developer(&sandbox, REFUND_QUERY, &token, &json!({ "order_id": order_id })).await;
    assert_eq!(answer["data"]["refund_list"].as_array().unwrap().len(), 2);
    let answer = developer(&sandbox, REFUND_QUERY, &token, &json!({ "out_refund_no": "none" })).await;
    assert_eq!(answer["data"]["refund_list"], json!([]));
    let answer = developer(&sandbox, REFUND_QUERY, &token, &json!({})).await;
    assert_eq!(trade_err(&answer).0, 10000);
    assert_eq!(sandbox.trade_order("TR-6").unwrap().refunded_amount, 100);
}

fn settle_body(out_order_no: &str, out_settle_no: &str) -> Value {
    json!({ "out_order_no": out_order_no, "out_settle_no": out_settle_no, "settle_desc": "主动结算" })
}

#[tokio::test]
async fn settle_create_refuses_unpaid_orders_and_repeated_numbers() {
    let sandbox = trade_sandbox().await;
    let token = client_token(&sandbox).await;
    request_order(&sandbox, &order_data("TS-1", 1000, 1));
    let answer = developer(&sandbox, SETTLE_CREATE, &token, &settle_body("TS-1", "S-1")).await;
    assert_eq!((trade_err(&answer).0, answer.get("data")), (23102, None));
    let answer = developer(&sandbox, SETTLE_CREATE, &token, &settle_body("none", "S-1")).await;
    assert_eq!(trade_err(&answer).0, 23101);
    assert!(sandbox.trade_settle("S-1").is_none());

    // Paid, but not yet 7 days ago: not finished (23107).
    let order_id = paid_trade_order(&sandbox, "TS-2", 1000, 1).await;
    let early = developer(&sandbox, SETTLE_CREATE, &token, &settle_body("TS-2", "S-2")).await;
    let (err_no, msg) = trade_err(&early);
    assert_eq!(err_no, 23107, "{early}");
    assert!(msg.contains("7 days after payment"), "{msg}");
    assert!(sandbox.trade_settle("S-2").is_none());
    sandbox.trade_age_order("TS-2", 8).unwrap();
    let mut body = settle_body("TS-2", "S-2");
    body["settle_params"] = json!(json!([{ "merchant_uid": "7001", "amount": 100 }]).to_string());
    body["cp_extra"] = json!("x-1");
    let answer = developer(&sandbox, SETTLE_CREATE, &token, &body).await;
    assert_eq!(trade_err(&answer).0, 0, "{answer}");
    let settle_id = answer["data"]["settle_id"].as_str().unwrap().to_owned();
    assert!(!answer["data"]["wallet_settle_id"].as_str().unwrap().is_empty());
    let stored = sandbox.trade_settle("S-2").unwrap();
    assert_eq!(
        (stored.settle_id.as_str(), stored.status, stored.receivers.len()),
        (settle_id.as_str(), TransferStatus::Processing, 1)
    );

    // Not idempotent: the same request again is 23111, and must be queried.
    let again = developer(&sandbox, SETTLE_CREATE, &token, &body).await;
    assert_eq!(trade_err(&again).0, 23111);
    let answer = developer(&sandbox, SETTLE_CREATE, &token, &settle_body("TS-2", "S-3")).await;
    assert_eq!(trade_err(&answer).0, 23112, "the order is being settled");

    let expected = json!([{
        "settle_id": settle_id, "out_settle_no": "S-2", "order_id": order_id, "out_order_no": "TS-2",
        "settle_status": "PROCESSING", "settle_amount": 1000, "rake": 0, "commission": 0, "cp_extra": "x-1",
    }]);
    for key in [
        json!({ "settle_id": settle_id }),
        json!({ "out_settle_no": "S-2" }),
        json!({ "order_id": order_id }),
        json!({ "out_order_no": "TS-2" }),
    ] {
        let answer = developer(&sandbox, SETTLE_QUERY, &token, &key).await;
        assert_eq!(answer["data"], expected, "{key}");
    }
    let answer = developer(&sandbox, SETTLE_QUERY, &token, &json!({ "out_settle_no": "none" })).await;
    assert_eq!((trade_err(&answer).0, &answer["data"]), (0, &json!([])));

    sandbox.trade_finish_settle("S-2", true, quiet()).await.unwrap();
    let answer = developer(&sandbox, SETTLE_QUERY, &token, &json!({ "out_settle_no": "S-2" })).await;
    assert_eq!(answer["data"][0]["settle_status"], "SUCCESS");
    assert!(answer["data"][0]["settle_at"].as_i64().unwrap() > 0);

    let mut missing = settle_body("TS-2", "S-4");
    missing.as_object_mut().unwrap().remove("settle_desc");
    assert_eq!(
        trade_err(&developer(&sandbox, SETTLE_CREATE, &token, &missing).await).0,
        10000
    );
}

#[tokio::test]
async fn faults_and_call_counts_cover_the_trade_paths() {
    let sandbox = trade_sandbox().await;
    let token = client_token(&sandbox).await;
    sandbox.set_fault(Fault::before(
        "/api/trade_basic/",
        FaultKind::PlatformError {
            err_no: 13000,
            err_tips: "系统错误".into(),
        },
        1,
    ));
    let answer = developer(&sandbox, ORDER_QUERY, &token, &json!({ "out_order_no": "x" })).await;
    assert_eq!(trade_err(&answer), (13000, "系统错误".into()));
    assert_eq!(
        trade_err(&developer(&sandbox, ORDER_QUERY, &token, &json!({ "out_order_no": "x" })).await).0,
        20000
    );
    assert_eq!(sandbox.calls(ORDER_QUERY), 2);

    sandbox.set_fault(Fault::before(CLIENT_TOKEN, FaultKind::Status(502), 1));
    let (status, _) = post_raw(&sandbox, CLIENT_TOKEN, credentials().to_string()).await;
    assert_eq!(status, 502);
    sandbox.set_fault(Fault::before(
        CLIENT_TOKEN,
        FaultKind::PlatformError {
            err_no: 10000,
            err_tips: "busy".into(),
        },
        1,
    ));
    let (_, answer) = post(&sandbox, CLIENT_TOKEN, &credentials()).await;
    assert_eq!(
        (&answer["data"]["error_code"], &answer["data"]["description"]),
        (&json!(10000), &json!("busy"))
    );
    assert_eq!(sandbox.client_token_fetches(), 1);
}

#[tokio::test]
async fn settle_create_waits_for_refunds_in_flight() {
    let sandbox = trade_sandbox().await;
    let token = client_token(&sandbox).await;
    let order_id = settleable_trade_order(&sandbox, "TS-9", 1000, 1).await;
    let order = sandbox.trade_order("TS-9").unwrap();
    let refund = developer(
        &sandbox,
        REFUND_CREATE,
        &token,
        &refund_body(&order_id, "R-9", json!([item(&order, 0, 400)])),
    )
    .await;
    let refund_id = refund["data"]["refund_id"].as_str().unwrap().to_owned();

    let held = developer(&sandbox, SETTLE_CREATE, &token, &settle_body("TS-9", "S-9a")).await;
    let (err_no, msg) = trade_err(&held);
    assert_eq!(err_no, 23107, "{held}");
    assert!(msg.contains("a refund of 400 is in flight"), "{msg}");

    sandbox.trade_finish_refund(&refund_id, true, quiet()).await.unwrap();
    let answer = developer(&sandbox, SETTLE_CREATE, &token, &settle_body("TS-9", "S-9b")).await;
    assert_eq!(trade_err(&answer).0, 0, "{answer}");
    assert_eq!(sandbox.trade_settle("S-9b").unwrap().settle_amount, 600);
}
