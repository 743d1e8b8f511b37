//! The back office's webhook deliveries and an order's timeline (issue 11 item 3)
//! against moto, the sandbox and a webhook receiver on a loopback port: deliveries made
//! UNDELIVERED by sweeps driven with a `now` the test controls, listed by
//! `GET /admin/webhooks`, redelivered by `POST /admin/webhooks/{id}/redeliver`; and the
//! callbacks and deliveries of a paid and refunded order in its timeline.

use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodb::types::AttributeValue;
use harness::merchant::{BusCatcher, Receiver, WEBHOOK_SECRET, notifier, signed_at};
use harness::money::{Item, n, order_item, raw_item, s, stream_record, webhook_item};
use harness::{ADMIN_KEY, Stack, table};
use minipay::domain::time::now_secs;
use minipay::merchant::Notifier;
use minipay::service::events::stream_batch;
use minipay::service::webhooks::sweep;
use sandbox::{CallbackOptions, WechatPayOptions};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

async fn stack(receiver: &Receiver, bus: &BusCatcher) -> Stack {
    let stack = Stack::start_with(&[
        ("MERCHANT_WEBHOOK_URL", receiver.url.as_str()),
        ("MERCHANT_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("EVENT_BUS_NAME", bus.bus_name.as_str()),
    ])
    .await;
    let client = table::client().await;
    table::put_catalog_item(&client, &stack.table, "course", 990, "Rust 进阶课程").await;
    table::put_catalog_item(&client, &stack.table, "wx-course", 880, "微信小程序课程").await;
    stack
}

async fn run_batch(notifier: &Notifier, records: Vec<Value>, now: i64) {
    let batch: Event = serde_json::from_value(json!({ "Records": records })).expect("a stream batch");
    let answer = stream_batch(notifier, batch, now).await;
    assert!(
        answer.batch_item_failures.is_empty(),
        "{:?}",
        answer.batch_item_failures
    );
}

/// A Douyin order made through the API: its number and its item as inserted.
async fn new_order(stack: &Stack, user: &str) -> (String, Item) {
    let session = stack.client.login(&stack.sandbox.login_code(user)).await;
    let prepay = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    assert_eq!(prepay.status, 200, "{}", prepay.text);
    let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
    let item = order_item(stack, &no).await;
    (no, item)
}

/// Sweeps at each due time until none of `ids` is pending: they end UNDELIVERED.
async fn sweep_until_undelivered(stack: &Stack, notifier: &Notifier, ids: &[String]) {
    for _ in 0..40 {
        let mut due = Vec::new();
        for id in ids {
            due.extend(n(&webhook_item(stack, id).await, "due_at"));
        }
        let Some(next) = due.into_iter().min() else {
            return;
        };
        sweep(notifier, next, Duration::from_secs(30)).await.expect("sweep");
    }
    panic!("still pending after 40 sweeps");
}

async fn admin(stack: &Stack, method: &str, path: &str) -> harness::client::Answer {
    stack.client.send(method, path, Some(ADMIN_KEY), None).await
}

fn listed_ids(answer: &harness::client::Answer) -> Vec<String> {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["webhooks"]
        .as_array()
        .expect("webhooks")
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_undelivered_webhook_is_listed_and_redelivered_once_the_receiver_recovers() {
    let receiver = Receiver::start(usize::MAX).await;
    let bus = BusCatcher::create();
    let stack = stack(&receiver, &bus).await;
    let notifier = notifier(&stack).await;
    let (first_no, first) = new_order(&stack, "lan").await;
    let (_, second) = new_order(&stack, "zhu").await;
    let t = now_secs();
    run_batch(
        &notifier,
        vec![stream_record("1", None, &first), stream_record("2", None, &second)],
        t,
    )
    .await;
    assert_eq!(receiver.posts().len(), 1, "the batch stopped at the first failure");
    // The other one is recorded too: both are in the list of pending deliveries.
    let ids = listed_ids(&admin(&stack, "GET", "/admin/webhooks?status=PENDING").await);
    assert_eq!(ids.len(), 2, "both pending");
    sweep_until_undelivered(&stack, &notifier, &ids).await;

    // Both listed, newest first, one per page with limit=1.
    let page1 = admin(&stack, "GET", "/admin/webhooks?limit=1").await;
    let cursor = page1.body["next_cursor"].as_str().expect("a second page").to_owned();
    let page2 = admin(
        &stack,
        "GET",
        &format!("/admin/webhooks?status=UNDELIVERED&limit=1&cursor={cursor}"),
    )
    .await;
    assert!(page2.body["next_cursor"].is_null(), "{}", page2.text);
    let both: Vec<String> = listed_ids(&page1).into_iter().chain(listed_ids(&page2)).collect();
    assert_eq!(
        both.iter().cloned().collect::<BTreeSet<_>>(),
        ids.iter().cloned().collect::<BTreeSet<_>>(),
        "every undelivered one, once"
    );
    let created = |a: &harness::client::Answer| a.body["webhooks"][0]["created_at"].as_i64().unwrap();
    assert!(created(&page1) >= created(&page2), "newest first");
    assert!(listed_ids(&admin(&stack, "GET", "/admin/webhooks?status=PENDING").await).is_empty());

    // The first order's delivery, as listed.
    let all = admin(&stack, "GET", "/admin/webhooks").await;
    let listed = all.body["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["out_order_no"] == json!(first_no))
        .expect("the first order's delivery")
        .clone();
    let id = listed["id"].as_str().unwrap().to_owned();
    let item = webhook_item(&stack, &id).await;
    let attempts = n(&item, "attempts").unwrap();
    assert!(attempts >= 9, "{attempts} attempts over 24 hours");
    assert_eq!(
        listed,
        json!({"id": id, "type": "order.created", "out_order_no": first_no, "status": "UNDELIVERED",
            "attempts": attempts, "last_error": "HTTP 503", "created_at": n(&item, "created_at").unwrap(),
            "last_attempt_at": n(&item, "last_attempt_at").unwrap()})
    );

    // The receiver still fails: counted, still UNDELIVERED, and 503 saying what came back.
    let redeliver = format!("/admin/webhooks/{id}/redeliver");
    let posts_before = receiver.posts().len();
    let failed = admin(&stack, "POST", &redeliver).await;
    assert_eq!(failed.status, 503, "{}", failed.text);
    assert_eq!(failed.body["error"]["code"], "platform_unavailable");
    assert!(
        failed.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("the merchant's receiver answered HTTP 503"),
        "{}",
        failed.text
    );
    let item = webhook_item(&stack, &id).await;
    assert_eq!(
        (
            s(&item, "delivery_status"),
            n(&item, "attempts"),
            s(&item, "last_error")
        ),
        (Some("UNDELIVERED"), Some(attempts + 1), Some("HTTP 503"))
    );
    assert!(!item.contains_key("open_shard"), "not back in the open index");
    assert_eq!(receiver.posts().len(), posts_before + 1);

    // Recovered: delivered, the same bytes, signed now.
    receiver.set_failures(0);
    let before = now_secs();
    let done = admin(&stack, "POST", &redeliver).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["status"], "DELIVERED");
    assert_eq!(done.body["attempts"], attempts + 2);
    let post = receiver.posts().last().unwrap().clone();
    assert!(post.accepted);
    assert_eq!(post.json()["id"], json!(id));
    assert_eq!(
        Some(post.body.as_str()),
        s(&item, "body"),
        "the kept body, byte for byte"
    );
    let signed = signed_at(&post);
    assert!(signed >= before && signed <= now_secs(), "a fresh t: {signed}");
    let item = webhook_item(&stack, &id).await;
    assert_eq!(
        (s(&item, "delivery_status"), n(&item, "attempts")),
        (Some("DELIVERED"), Some(attempts + 2))
    );
    let undelivered = listed_ids(&admin(&stack, "GET", "/admin/webhooks").await);
    assert!(!undelivered.contains(&id), "gone from the UNDELIVERED list");
    assert_eq!(undelivered.len(), 1);
    assert!(listed_ids(&admin(&stack, "GET", "/admin/webhooks?status=DELIVERED").await).contains(&id));

    // Delivered already: 409, and nothing posted.
    let posts_before = receiver.posts().len();
    let again = admin(&stack, "POST", &redeliver).await;
    assert_eq!(
        (again.status, again.body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{}",
        again.text
    );
    assert_eq!(receiver.posts().len(), posts_before);

    // Unknown, malformed, unauthorised.
    let unknown = admin(&stack, "POST", "/admin/webhooks/evt_000000000000000000000000/redeliver").await;
    assert_eq!(
        (unknown.status, unknown.body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    for (method, path) in [
        ("POST", "/admin/webhooks/not-an-id/redeliver"),
        ("POST", "/admin/webhooks/EVT_000000000000000000000000/redeliver"),
        ("GET", "/admin/webhooks?status=LOST"),
        ("GET", "/admin/webhooks?limit=0"),
        ("GET", "/admin/webhooks?limit=101"),
        ("GET", "/admin/webhooks?cursor=garbage"),
        ("GET", "/admin/webhooks?sort=asc"),
        ("GET", "/admin/webhooks?status=PENDING&status=DELIVERED"),
    ] {
        let answer = admin(&stack, method, path).await;
        assert_eq!(
            (answer.status, answer.body["error"]["code"].as_str()),
            (400, Some("invalid_request")),
            "{method} {path}: {}",
            answer.text
        );
    }
    for bearer in [None, Some("wrong-key")] {
        for (method, path) in [("GET", "/admin/webhooks"), ("POST", redeliver.as_str())] {
            let answer = stack.client.send(method, path, bearer, None).await;
            assert_eq!(answer.status, 401, "{method} {path} with {bearer:?}: {}", answer.text);
        }
    }
    assert_eq!(receiver.posts().len(), posts_before, "no refusal posted anything");
}

#[tokio::test]
async fn a_pending_webhook_is_tried_at_once_and_stays_pending_when_it_fails() {
    let receiver = Receiver::start(usize::MAX).await;
    let bus = BusCatcher::create();
    let stack = stack(&receiver, &bus).await;
    let notifier = notifier(&stack).await;
    let (_, inserted) = new_order(&stack, "mo").await;
    let t = now_secs();
    run_batch(&notifier, vec![stream_record("1", None, &inserted)], t).await;
    let id = receiver.posts()[0].json()["id"].as_str().unwrap().to_owned();
    let redeliver = format!("/admin/webhooks/{id}/redeliver");

    let failed = admin(&stack, "POST", &redeliver).await;
    assert_eq!(failed.status, 503, "{}", failed.text);
    let item = webhook_item(&stack, &id).await;
    assert_eq!(
        (s(&item, "delivery_status"), n(&item, "attempts")),
        (Some("PENDING"), Some(2))
    );
    assert_eq!(s(&item, "open_shard"), Some("OPEN"), "still in the open index");

    receiver.set_failures(0);
    let done = admin(&stack, "POST", &redeliver).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(
        (done.body["status"].as_str(), done.body["attempts"].as_i64()),
        (Some("DELIVERED"), Some(3))
    );
    signed_at(receiver.posts().last().unwrap());
    let item = webhook_item(&stack, &id).await;
    assert!(!item.contains_key("open_shard"), "out of the open index");
}

#[tokio::test]
async fn a_paid_and_refunded_orders_timeline_shows_its_callbacks_and_webhook_deliveries() {
    let receiver = Receiver::start(0).await;
    let bus = BusCatcher::create();
    let stack = stack(&receiver, &bus).await;
    let notifier = notifier(&stack).await;
    let code = stack.sandbox.wechat_login_code("xu");
    let login = stack
        .client
        .post("/openid", None, &json!({"code": code, "platform": "wechat"}))
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    let session = login.body["session"].as_str().unwrap().to_owned();
    let prepay = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "wx-course"}))
        .await;
    assert_eq!(prepay.status, 200, "{}", prepay.text);
    let no = prepay.body["out_order_no"].as_str().unwrap().to_owned();
    let pending = order_item(&stack, &no).await;
    for d in stack
        .sandbox
        .wechat_pay(&no, WechatPayOptions::default())
        .await
        .unwrap()
    {
        assert_eq!(d.status, 200, "{}", d.body);
    }
    let paid = order_item(&stack, &no).await;
    assert_eq!(s(&paid, "status"), Some("PAID"));
    let body = json!({"out_order_no": no, "out_refund_no": "WX-TL-1", "refund_amount": 880, "reason": "不想学了"});
    let refund = stack.client.post("/refund", Some(ADMIN_KEY), &body).await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    let refunding = order_item(&stack, &no).await;
    let refund_started = raw_item(&stack, "REFUND#WX-TL-1", "REFUND").await.unwrap();
    for d in stack
        .sandbox
        .wechat_finish_refund("WX-TL-1", true, CallbackOptions::default())
        .await
        .unwrap()
    {
        assert_eq!(d.status, 200, "{}", d.body);
    }
    let refund_done = raw_item(&stack, "REFUND#WX-TL-1", "REFUND").await.unwrap();
    let refunded = order_item(&stack, &no).await;
    assert_eq!(s(&refund_done, "status"), Some("SUCCESS"));
    assert_eq!(
        (s(&refunded, "status"), n(&refunded, "refunded_amount")),
        (Some("REFUNDED"), Some(880))
    );
    run_batch(
        &notifier,
        vec![
            stream_record("1", None, &pending),
            stream_record("2", Some(&pending), &paid),
            stream_record("3", Some(&paid), &refunding),
            stream_record("4", None, &refund_started),
            stream_record("5", Some(&refund_started), &refund_done),
            stream_record("6", Some(&refunding), &refunded),
        ],
        now_secs(),
    )
    .await;
    assert_eq!(
        receiver.kinds(),
        [
            "order.created",
            "order.paid",
            "refund.processing",
            "refund.succeeded",
            "order.refunded"
        ]
    );

    let detail = admin(&stack, "GET", &format!("/admin/orders/{no}")).await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let timeline: Vec<(i64, String, String)> = detail.body["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["at"].as_i64().unwrap(),
                m["source"].as_str().unwrap().to_owned(),
                m["what"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        timeline.windows(2).all(|w| w[0].0 <= w[1].0),
        "oldest first: {timeline:#?}"
    );
    let at = |what: &str, source: &str| {
        let found: Vec<usize> = timeline
            .iter()
            .enumerate()
            .filter(|(_, m)| m.2.starts_with(what) && m.1 == source)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(found.len(), 1, "one `{what}` from {source}: {timeline:#?}");
        found[0]
    };
    let created = at("order created", "prepay");
    let pay_callback = at("wechat payment callback", "platform");
    let paid_at = at("paid: 880 fen", "platform");
    let refund_asked = at("refund WX-TL-1 asked", "back office");
    let refund_callback = at("wechat refund callback", "platform");
    let refund_ok = at("refund WX-TL-1 succeeded", "platform");
    let whole = at("fully refunded", "platform");
    let hooks: Vec<usize> = [
        "order.created",
        "order.paid",
        "refund.processing",
        "refund.succeeded",
        "order.refunded",
    ]
    .iter()
    .map(|kind| at(&format!("webhook {kind} delivered"), "events"))
    .collect();
    assert!(created < pay_callback && created < paid_at, "{timeline:#?}");
    // WeChat's time_end (the payment) may fall in the second before the notify came.
    if timeline[pay_callback].0 == timeline[paid_at].0 {
        assert!(pay_callback < paid_at, "{timeline:#?}");
    }
    assert!(
        paid_at < refund_asked && refund_asked < refund_callback,
        "{timeline:#?}"
    );
    assert!(refund_callback < refund_ok && refund_ok <= whole, "{timeline:#?}");
    assert!(
        hooks.windows(2).all(|w| w[0] < w[1]),
        "deliveries in the order made: {timeline:#?}"
    );
    assert!(hooks[0] > whole, "delivered after the changes they tell: {timeline:#?}");
    assert_eq!(timeline.len(), 12, "nothing else: {timeline:#?}");
}

/// Writes deliveries straight to the table, 25 a batch, as the store writes them: `count`
/// DELIVERED ones made after one UNDELIVERED one.
async fn write_deliveries(stack: &Stack, base: i64, count: i64) -> String {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let client = table::client().await;
    let item = |i: i64, status: &str| -> Item {
        let id = format!("evt_{i:024x}");
        let text = |v: &str| AttributeValue::S(v.to_owned());
        let num = |v: i64| AttributeValue::N(v.to_string());
        HashMap::from([
            ("pk".to_owned(), text(&format!("WEBHOOK#{id}"))),
            ("sk".to_owned(), text("WEBHOOK")),
            ("entity".to_owned(), text("WEBHOOK")),
            ("event_id".to_owned(), text(&id)),
            ("event_type".to_owned(), text("order.created")),
            ("out_order_no".to_owned(), text(&format!("BULKHOOK{i:04}"))),
            ("created_at".to_owned(), num(base + i)),
            ("body".to_owned(), text("{}")),
            ("sequence".to_owned(), text(&format!("{:012}-0-{id}", base + i))),
            ("delivery_status".to_owned(), text(status)),
            ("attempts".to_owned(), num(1)),
        ])
    };
    let items: Vec<Item> = std::iter::once(item(0, "UNDELIVERED"))
        .chain((1..=count).map(|i| item(i, "DELIVERED")))
        .collect();
    for chunk in items.chunks(25) {
        let writes = chunk
            .iter()
            .map(|i| {
                let put = PutRequest::builder().set_item(Some(i.clone())).build().unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        client
            .batch_write_item()
            .request_items(&stack.table, writes)
            .send()
            .await
            .unwrap();
    }
    format!("evt_{:024x}", 0)
}

#[tokio::test]
async fn an_undelivered_webhook_under_many_delivered_ones_is_reached_in_bounded_pages() {
    let receiver = Receiver::start(0).await;
    let bus = BusCatcher::create();
    let stack = stack(&receiver, &bus).await;
    let undelivered = write_deliveries(&stack, now_secs() - 10_000, 600).await;
    let mut cursor: Option<String> = None;
    let mut found = Vec::new();
    let mut pages = 0;
    loop {
        // limit=1: eight queries read 2 + 4 + ... + 256 = 510 deliveries, fewer than there are.
        let mut path = "/admin/webhooks?limit=1".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let before = stack.store.request_count();
        let page = admin(&stack, "GET", &path).await;
        let cost = stack.store.request_count() - before;
        assert!(cost <= 8, "{path}: {cost} queries for one page");
        found.extend(listed_ids(&page));
        pages += 1;
        assert!(pages <= 10, "paging does not end");
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(found, [undelivered], "found once, after {pages} pages");
    assert!(pages >= 2, "the 600 delivered ones took more than one bounded read");
}
