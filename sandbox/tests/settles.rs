//! `settle`, `query_settle` and the settle callback over HTTP: `settle_params` as a
//! JSON string, the receivers' limits, idempotency, amounts, signed callbacks.

mod common;

use common::*;
use sandbox::{CallbackOptions, Sandbox, SettleReceiver, TransferStatus};
use serde_json::{Value, json};
use std::time::Duration;

async fn settle(sandbox: &Sandbox, fields: Value) -> Value {
    ecpay(sandbox, SETTLE, fields).await
}

async fn query_settle(sandbox: &Sandbox, out_settle_no: &str) -> Value {
    ecpay(sandbox, QUERY_SETTLE, json!({ "out_settle_no": out_settle_no })).await
}

fn assert_refused(answer: &Value, needle: &str) {
    let (err_no, tips) = err(answer);
    assert_eq!(err_no, 2010, "{answer}");
    assert!(tips.contains(needle), "{tips:?} should mention {needle:?}");
}

/// `fields` as a partial settle (`finish` "false"): the order stays open for more.
fn partial(mut fields: Value) -> Value {
    fields["finish"] = json!("false");
    fields
}

fn receivers(count: usize, amount: i64) -> Value {
    let list: Vec<Value> = (0..count)
        .map(|i| json!({ "merchant_uid": format!("7000000000000000{i}"), "amount": amount }))
        .collect();
    Value::Array(list)
}

#[tokio::test]
async fn a_settlement_of_a_paid_order_is_accepted_as_processing() {
    let sandbox = sandbox().await;
    settleable_order(&sandbox, "SO-1").await; // total 1990: receivers may get 597
    let mut fields = partial(settle_fields("SO-1", "ST-1", receivers(2, 298)));
    fields["cp_extra"] = json!("extra-1");
    let answer = settle(&sandbox, fields).await;
    assert_eq!(answer.as_object().unwrap().len(), 3, "{answer}");
    assert_eq!((&answer["err_no"], &answer["err_tips"]), (&json!(0), &json!("")));
    let settle_no = answer["settle_no"].as_str().unwrap();
    assert!(!settle_no.is_empty() && settle_no.bytes().all(|b| b.is_ascii_digit()));

    let stored = sandbox.settle("ST-1").unwrap();
    assert_eq!(stored.settle_no, settle_no);
    assert_eq!(
        (stored.out_order_no.as_str(), stored.settle_desc.as_str()),
        ("SO-1", "主动结算")
    );
    assert_eq!(stored.settle_params, receivers(2, 298), "parsed, as sent");
    assert_eq!(
        stored.receivers[1],
        SettleReceiver {
            merchant_uid: "70000000000000001".into(),
            amount: 298
        }
    );
    assert_eq!(
        (stored.status, stored.finish.as_deref(), stored.is_final),
        (TransferStatus::Processing, Some("false"), false)
    );

    let answer = query_settle(&sandbox, "ST-1").await;
    assert_eq!((&answer["err_no"], &answer["err_tips"]), (&json!(0), &json!("")));
    assert_eq!(
        answer["settle_info"],
        json!({
            // A partial settle moves only the receivers' shares.
            "settle_no": settle_no, "settle_amount": 596, "settle_status": "PROCESSING", "settle_detail": "",
            "settled_at": 0, "rake": 19, "commission": 0, "cp_extra": "extra-1", "msg": "",
        })
    );

    // No receivers at all is a settlement too; without `finish` it is the final one,
    // and settles what the partial one left.
    assert_eq!(
        settle(&sandbox, settle_fields("SO-1", "ST-2", json!([]))).await["err_no"],
        0
    );
    let empty = sandbox.settle("ST-2").unwrap();
    assert_eq!((empty.settle_params, empty.receivers.len()), (json!([]), 0));
    assert_eq!((empty.is_final, empty.settle_amount), (true, 1990 - 596));
}

#[tokio::test]
async fn settle_params_sent_as_json_instead_of_a_string_fail_the_sign() {
    let sandbox = sandbox().await;
    settleable_order(&sandbox, "SO-2").await;
    for nested in [
        receivers(1, 10),
        json!({ "merchant_uid": "m", "amount": 10 }),
        json!([]),
    ] {
        // The client's own signer refuses nested values, so sign the string form and swap.
        let mut body = signed(settle_fields("SO-2", "ST-3", nested.clone()));
        body["settle_params"] = nested;
        assert_eq!(err(&post(&sandbox, SETTLE, &body).await.1), (2008, "验签异常".into()));
    }
    // The number was never used: the sign check comes before idempotency.
    assert_eq!(
        settle(&sandbox, settle_fields("SO-2", "ST-3", json!([]))).await["err_no"],
        0
    );
}

#[tokio::test]
async fn receivers_are_limited_in_number_and_share() {
    let sandbox = sandbox().await;
    settleable_order(&sandbox, "SO-3").await; // total 1990
    let five = settle(&sandbox, partial(settle_fields("SO-3", "ST-4", receivers(5, 1)))).await;
    assert_refused(&five, "settle_params");
    assert_refused(&five, "at most 4");
    assert_eq!(
        settle(&sandbox, partial(settle_fields("SO-3", "ST-5", receivers(4, 1)))).await["err_no"],
        0
    );

    // 30% of 1990 is 597.
    let greedy = settle(&sandbox, partial(settle_fields("SO-3", "ST-6", receivers(3, 200)))).await;
    assert_refused(&greedy, "30%");
    assert_eq!(
        settle(&sandbox, partial(settle_fields("SO-3", "ST-7", receivers(3, 199)))).await["err_no"],
        0
    );

    let bad_receivers: [(Value, &str); 5] = [
        (
            json!([{ "merchant_uid": "m", "amount": "1" }]),
            "settle_params[0].amount",
        ),
        (json!([{ "merchant_uid": "m", "amount": 0 }]), "settle_params[0].amount"),
        (json!([{ "amount": 1 }]), "settle_params[0].merchant_uid"),
        (
            json!({ "merchant_uid": "m", "amount": 1 }),
            "settle_params must be a JSON array",
        ),
        (json!([1]), "settle_params[0]"),
    ];
    for (index, (value, needle)) in bad_receivers.into_iter().enumerate() {
        let answer = settle(&sandbox, settle_fields("SO-3", &format!("ST-R{index}"), value)).await;
        assert_refused(&answer, needle);
    }
    let mut fields = settle_fields("SO-3", "ST-8", json!([]));
    fields["settle_params"] = json!("[{");
    assert_refused(&settle(&sandbox, fields).await, "settle_params is not valid JSON");
    let long_uid = json!([{ "merchant_uid": "m".repeat(2048), "amount": 1 }]);
    assert_refused(
        &settle(&sandbox, settle_fields("SO-3", "ST-9", long_uid)).await,
        "2048 bytes",
    );
}

#[tokio::test]
async fn settle_parameters_are_strict() {
    let sandbox = sandbox().await;
    settleable_order(&sandbox, "SO-4").await;
    let cases: [(&str, Value); 8] = [
        ("settle_desc", json!("")),
        ("settle_desc", json!("字".repeat(81))),
        ("settle_params", json!("")),
        ("cp_extra", json!("x".repeat(2049))),
        ("notify_url", json!(format!("https://x/{}", "a".repeat(256)))),
        ("notify_url", json!("http://127.0.0.1:9000/notify/douyin")),
        ("finish", json!(1)),
        ("out_settle_no", json!("S 1")),
    ];
    for (index, (field, value)) in cases.into_iter().enumerate() {
        let mut fields = settle_fields("SO-4", &format!("ST-P{index}"), json!([]));
        fields[field] = value.clone();
        assert_refused(&settle(&sandbox, fields).await, field);
    }
    let mut fields = settle_fields("SO-4", "ST-OK", json!([]));
    fields["settle_desc"] = json!("字".repeat(80));
    assert_eq!(settle(&sandbox, fields).await["err_no"], 0);

    let mut body = signed(settle_fields("SO-4", "ST-10", json!([])));
    body["app_id"] = json!("tt_other");
    assert_eq!(post(&sandbox, SETTLE, &body).await.1["err_no"], 2042);
    let mut body = signed(json!({ "out_settle_no": "ST-OK" }));
    body["sign"] = json!("bad");
    assert_eq!(post(&sandbox, QUERY_SETTLE, &body).await.1["err_no"], 2008);
}

#[tokio::test]
async fn only_paid_orders_are_settled() {
    let sandbox = sandbox().await;
    create_order(&sandbox, order_fields("SO-5")).await;
    assert_refused(
        &settle(&sandbox, settle_fields("SO-5", "ST-11", json!([]))).await,
        "not paid",
    );
    assert_refused(
        &settle(&sandbox, settle_fields("NOPE", "ST-12", json!([]))).await,
        "out_order_no",
    );
    assert!(sandbox.settle("ST-11").is_none());
}

#[tokio::test]
async fn settle_replays_the_first_answer() {
    let sandbox = sandbox().await;
    settleable_order(&sandbox, "SO-6").await;
    let first = settle(&sandbox, settle_fields("SO-6", "ST-13", receivers(1, 100))).await;
    let mut changed = settle_fields("SO-6", "ST-13", receivers(2, 5));
    changed["settle_desc"] = json!("changed");
    assert_eq!(settle(&sandbox, changed).await, first);
    let stored = sandbox.settle("ST-13").unwrap();
    assert_eq!((stored.receivers.len(), stored.settle_desc.as_str()), (1, "主动结算"));

    // A refused first call stays refused under that number.
    create_order(&sandbox, order_fields("SO-7")).await;
    let refused = settle(&sandbox, settle_fields("SO-7", "ST-14", json!([]))).await;
    assert_refused(&refused, "not paid");
    sandbox
        .pay(
            "SO-7",
            sandbox::PayOptions {
                deliveries: 0,
                notify_url: Some(hub::NOWHERE.into()),
                ..sandbox::PayOptions::default()
            },
        )
        .await
        .unwrap();
    sandbox.age_order("SO-7", 8).unwrap();
    assert_eq!(
        settle(&sandbox, settle_fields("SO-7", "ST-14", json!([]))).await,
        refused
    );
    assert_eq!(
        settle(&sandbox, settle_fields("SO-7", "ST-15", json!([]))).await["err_no"],
        0
    );
}

#[tokio::test]
async fn an_unknown_settlement_is_not_found() {
    let sandbox = sandbox().await;
    assert_eq!(
        err(&query_settle(&sandbox, "NOPE").await),
        (2010, "settle not found".into())
    );
}

#[tokio::test]
async fn a_finished_settlement_calls_back_with_the_amounts_and_a_verifiable_signature() {
    let receiver = Receiver::start(Duration::ZERO).await;
    let sandbox = Sandbox::start(config(Some(receiver.url.clone()))).await;
    settleable_order(&sandbox, "SO-8").await; // total 1990: rake 19
    let done = ecpay(&sandbox, CREATE_REFUND, refund_fields("SO-8", "RF-1", 500)).await;
    assert_eq!(done["err_no"], 0);
    ecpay(&sandbox, CREATE_REFUND, refund_fields("SO-8", "RF-2", 300)).await; // fails
    ecpay(&sandbox, CREATE_REFUND, refund_fields("SO-8", "RF-3", 200)).await; // fails
    let quiet = CallbackOptions {
        deliveries: 0,
        ..CallbackOptions::default()
    };
    sandbox.finish_refund("RF-1", true, quiet.clone()).await.unwrap();
    sandbox.finish_refund("RF-2", false, quiet.clone()).await.unwrap();
    // A refund in flight holds the settlement.
    let held = settle(&sandbox, settle_fields("SO-8", "ST-16-early", receivers(1, 100))).await;
    assert_refused(&held, "a refund of 200 is in flight");
    sandbox.finish_refund("RF-3", false, quiet).await.unwrap();
    let answer = settle(&sandbox, settle_fields("SO-8", "ST-16", receivers(1, 100))).await;
    let settle_no = answer["settle_no"].clone();

    let deliveries = sandbox
        .finish_settle("ST-16", true, CallbackOptions::default())
        .await
        .unwrap();
    assert_eq!(deliveries[0].status, 200);
    let envelope = receiver.bodies().last().unwrap().clone();
    assert!(verifies(&envelope));
    assert_eq!(envelope["type"], "settle");
    assert_eq!(
        msg_keys(&envelope),
        [
            "app_id",
            "cp_settle_no",
            "cp_extra",
            "status",
            "rake",
            "commission",
            "settle_detail",
            "settled_at",
            "message",
            "order_id",
            "channel_settle_id",
            "settle_amount",
            "settle_no",
            "out_order_no",
            "is_auto_settle"
        ]
    );
    let stored = sandbox.settle("ST-16").unwrap();
    let settled_at = stored.settled_at.unwrap();
    let msg = msg_of(&envelope);
    assert_eq!(
        msg,
        json!({
            "app_id": APP_ID, "cp_settle_no": "ST-16", "cp_extra": "", "status": "SUCCESS", "rake": 19,
            "commission": 0, "settle_detail": stored.settle_detail, "settled_at": settled_at, "message": "",
            "order_id": sandbox.order("SO-8").unwrap().order_id, "channel_settle_id": stored.channel_settle_id,
            // Only the refund that succeeded is taken off.
            "settle_amount": 1490, "settle_no": settle_no, "out_order_no": "SO-8", "is_auto_settle": false,
        })
    );
    assert!(
        stored.settle_detail.contains("70000000000000000"),
        "{}",
        stored.settle_detail
    );
    assert!(!stored.channel_settle_id.is_empty());

    let info = &query_settle(&sandbox, "ST-16").await["settle_info"];
    assert_eq!(
        (
            &info["settle_status"],
            &info["settled_at"],
            &info["settle_amount"],
            &info["rake"]
        ),
        (&json!("SUCCESS"), &json!(settled_at), &json!(1490), &json!(19))
    );
    assert_eq!(info["settle_detail"], json!(stored.settle_detail));

    // Once: the repeat resends the same msg; the other outcome is refused.
    sandbox
        .finish_settle("ST-16", true, CallbackOptions::default())
        .await
        .unwrap();
    let bodies = receiver.bodies();
    assert_eq!(bodies[bodies.len() - 1]["msg"], bodies[bodies.len() - 2]["msg"]);
    let refused = sandbox.finish_settle("ST-16", false, CallbackOptions::default()).await;
    assert!(refused.unwrap_err().contains("SUCCESS"));
}

#[tokio::test]
async fn a_failed_settlement_calls_back_fail_to_its_own_url() {
    let console = Receiver::start(Duration::ZERO).await;
    let own = Receiver::start(Duration::ZERO).await;
    let sandbox = Sandbox::start(config(Some(console.url.clone()))).await;
    settleable_order(&sandbox, "SO-9").await;
    let mut fields = settle_fields("SO-9", "ST-17", json!([]));
    fields["notify_url"] = json!(own.url);
    settle(&sandbox, fields).await;
    sandbox
        .finish_settle("ST-17", false, CallbackOptions::default())
        .await
        .unwrap();
    assert!(console.bodies().is_empty());
    let envelope = &own.bodies()[0];
    assert!(verifies(envelope));
    let msg = msg_of(envelope);
    assert_eq!((&msg["status"], &msg["settled_at"]), (&json!("FAIL"), &json!(0)));
    assert_eq!(
        query_settle(&sandbox, "ST-17").await["settle_info"]["settle_status"],
        "FAIL"
    );
    let unknown = sandbox.finish_settle("NOPE", true, CallbackOptions::default()).await;
    assert!(unknown.unwrap_err().contains("unknown settlement"));
}

#[tokio::test]
async fn an_order_is_settled_seven_days_after_its_payment() {
    let sandbox = sandbox().await;
    paid_order(&sandbox, "SO-10").await;
    let now = settle(&sandbox, settle_fields("SO-10", "ST-20", json!([]))).await;
    assert_refused(&now, "can be settled 7 days after payment");
    sandbox.age_order("SO-10", 6).unwrap();
    let six_days = settle(&sandbox, settle_fields("SO-10", "ST-21", json!([]))).await;
    assert_refused(&six_days, "7 days after payment");
    sandbox.age_order("SO-10", 1).unwrap();
    let seven_days = settle(&sandbox, settle_fields("SO-10", "ST-22", json!([]))).await;
    assert_eq!(seven_days["err_no"], 0, "{seven_days}");
    assert!(sandbox.settle("ST-20").is_none() && sandbox.settle("ST-21").is_none());
}

#[tokio::test]
async fn an_order_has_at_most_fifty_settles_and_the_fiftieth_is_final() {
    let sandbox = sandbox().await;
    settleable_order(&sandbox, "SO-11").await; // total 1990
    for index in 1..50 {
        let answer = settle(
            &sandbox,
            partial(settle_fields("SO-11", &format!("ST-P{index}"), receivers(1, 1))),
        )
        .await;
        assert_eq!(answer["err_no"], 0, "settle {index}: {answer}");
    }
    // The 50th asks to stay open, and is final all the same.
    let fiftieth = settle(&sandbox, partial(settle_fields("SO-11", "ST-P50", receivers(1, 1)))).await;
    assert_eq!(fiftieth["err_no"], 0, "{fiftieth}");
    let stored = sandbox.settle("ST-P50").unwrap();
    assert_eq!((stored.is_final, stored.settle_amount), (true, 1990 - 49));
    let more = settle(&sandbox, partial(settle_fields("SO-11", "ST-P51", receivers(1, 1)))).await;
    assert_refused(&more, "settled by its final settlement ST-P50");

    // A final settlement that failed does not count: the order can be settled again.
    sandbox
        .finish_settle(
            "ST-P50",
            false,
            CallbackOptions {
                deliveries: 0,
                ..CallbackOptions::default()
            },
        )
        .await
        .unwrap();
    let again = settle(&sandbox, settle_fields("SO-11", "ST-P52", json!([]))).await;
    assert_eq!(again["err_no"], 0, "{again}");
    let bad_finish = settle(&sandbox, partial(settle_fields("SO-11", "ST-P53", json!([])))).await;
    assert_refused(&bad_finish, "settled by its final settlement ST-P52");
    let mut odd = settle_fields("SO-11", "ST-P54", json!([]));
    odd["finish"] = json!("yes");
    assert_refused(&settle(&sandbox, odd).await, "finish");
}
