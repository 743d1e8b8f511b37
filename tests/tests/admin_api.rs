//! The back office's admin API (CONTRACT.md §10) against moto, over real HTTP: lists
//! read from the table's indexes, filtered and paged; one order with its refunds,
//! settlements and timeline; the CSV export; and every refusal.

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use harness::client::Answer;
use harness::money::paid_order;
use harness::readback::assert_acknowledged;
use harness::{ADMIN_KEY, Stack, table};
use sandbox::CallbackOptions;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

const BULK: i64 = 500;
const STATUSES: [&str; 6] = ["PENDING", "PAID", "REFUNDED", "FAILED", "TIMEOUT", "CLOSED"];
/// An openid that CSV must quote: a comma and a quote.
const ODD_OPENID: &str = "odd,\"quoted\" user";

/// One of the bulk orders, as generated: two made in each second, so that pages meet
/// in the middle of a second; every status, platform and one of five users in turn.
#[derive(Debug, Clone)]
struct Bulk {
    no: String,
    created_at: i64,
    status: &'static str,
    platform: &'static str,
    openid: String,
}

fn bulk(base: i64, i: i64) -> Bulk {
    Bulk {
        no: format!("BULK{i:04}"),
        created_at: base + i / 2,
        status: STATUSES[(i % 6) as usize],
        platform: if i % 3 == 0 { "wechat" } else { "douyin" },
        openid: if i == 7 {
            ODD_OPENID.to_owned()
        } else {
            format!("bulk-user-{}", i % 5)
        },
    }
}

fn bulk_orders(base: i64) -> Vec<Bulk> {
    (0..BULK).map(|i| bulk(base, i)).collect()
}

async fn stack() -> Stack {
    let stack = Stack::start().await;
    table::put_catalog_item(&table::client().await, &stack.table, "course", 990, "Rust 进阶课程").await;
    stack
}

/// Writes the bulk orders straight to the table, 25 a batch (moto's transactions copy
/// the whole table, which makes 500 prepays too slow): items as the store writes them.
async fn write_bulk(stack: &Stack, orders: &[Bulk]) {
    let client = table::client().await;
    let n = |v: i64| AttributeValue::N(v.to_string());
    let text = |v: &str| AttributeValue::S(v.to_owned());
    for chunk in orders.chunks(25) {
        let writes = chunk
            .iter()
            .map(|o| {
                let paid = ["PAID", "REFUNDED"].contains(&o.status);
                let mut item = HashMap::from([
                    ("pk".to_owned(), text(&format!("ORDER#{}", o.no))),
                    ("sk".to_owned(), text("ORDER")),
                    ("entity".to_owned(), text("ORDER")),
                    ("out_order_no".to_owned(), text(&o.no)),
                    ("platform".to_owned(), text(o.platform)),
                    ("openid".to_owned(), text(&o.openid)),
                    ("sku".to_owned(), text("course")),
                    ("quantity".to_owned(), n(1)),
                    ("total_amount".to_owned(), n(990)),
                    ("subject".to_owned(), text("Rust 进阶课程")),
                    ("body".to_owned(), text("")),
                    ("status".to_owned(), text(o.status)),
                    ("created_at".to_owned(), n(o.created_at)),
                    ("pay_deadline".to_owned(), n(o.created_at + 900)),
                    (
                        "refunded_amount".to_owned(),
                        n(if o.status == "REFUNDED" { 990 } else { 0 }),
                    ),
                    ("refunding_amount".to_owned(), n(0)),
                    ("refundable".to_owned(), n(if o.status == "PAID" { 990 } else { 0 })),
                    ("updated_at".to_owned(), n(o.created_at + 60)),
                    ("version".to_owned(), n(1)),
                ]);
                if paid {
                    item.insert("paid_at".to_owned(), n(o.created_at + 30));
                    item.insert("trade_no".to_owned(), text(&format!("T{}", o.no)));
                    item.insert("pay_channel".to_owned(), text("1"));
                }
                let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
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
}

/// A stack holding the 500 bulk orders, made a day ago and after.
async fn bulk_stack() -> (Stack, Vec<Bulk>) {
    let stack = stack().await;
    let orders = bulk_orders(minipay::domain::time::now_secs() - 86_400);
    write_bulk(&stack, &orders).await;
    (stack, orders)
}

async fn admin_get(stack: &Stack, path: &str) -> Answer {
    stack.client.get(path, Some(ADMIN_KEY)).await
}

/// Every page of `GET /admin/orders?<query>` with `limit`: the orders in the order
/// given, each page checked (limit respected, only the last without a cursor), and the
/// table requests each page cost.
async fn every_page(stack: &Stack, query: &str, limit: usize) -> (Vec<Value>, Vec<u64>) {
    let (mut orders, mut requests) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/admin/orders?limit={limit}&{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let before = stack.store.request_count();
        let page = admin_get(stack, &path).await;
        requests.push(stack.store.request_count() - before);
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        let listed = page.body["orders"].as_array().expect("orders").clone();
        assert!(listed.len() <= limit, "{path}: {} orders", listed.len());
        orders.extend(listed.iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(next) => {
                assert_eq!(listed.len(), limit, "{path}: a page short of its limit has a next page");
                cursor = Some(next.to_owned());
            }
            None => {
                assert!(page.body["next_cursor"].is_null(), "{}", page.text);
                break;
            }
        }
        assert!(requests.len() <= 1_000, "paging does not end");
    }
    (orders, requests)
}

fn numbers(orders: &[Value]) -> Vec<String> {
    orders
        .iter()
        .map(|o| o["out_order_no"].as_str().expect("out_order_no").to_owned())
        .collect()
}

/// The numbers of the bulk orders `keep` selects, as a set.
fn expected(orders: &[Bulk], keep: impl Fn(&Bulk) -> bool) -> HashSet<String> {
    orders.iter().filter(|o| keep(o)).map(|o| o.no.clone()).collect()
}

/// Each order once, newest first.
fn assert_once_newest_first(listed: &[Value]) {
    let nos = numbers(listed);
    let unique: HashSet<&String> = nos.iter().collect();
    assert_eq!(unique.len(), nos.len(), "an order is listed twice");
    let times: Vec<i64> = listed.iter().map(|o| o["created_at"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "not newest first: {times:?}");
}

#[tokio::test]
async fn paging_over_500_orders_sees_each_once_newest_first_one_request_a_page() {
    let (stack, orders) = bulk_stack().await;
    let first = admin_get(&stack, "/admin/orders").await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["orders"].as_array().unwrap().len(), 20, "default limit");
    assert_eq!(first.body["orders"][0]["out_order_no"], "BULK0499");

    // 37 does not divide 500, and two orders share each second: pages end mid-second.
    let (listed, requests) = every_page(&stack, "", 37).await;
    assert_eq!(listed.len(), BULK as usize);
    assert_once_newest_first(&listed);
    assert_eq!(
        numbers(&listed).into_iter().collect::<HashSet<_>>(),
        expected(&orders, |_| true)
    );
    assert_eq!(requests.len(), 14, "13 full pages and the rest");
    assert!(requests.iter().all(|r| *r == 1), "one index query a page: {requests:?}");

    let (all_at_once, _) = every_page(&stack, "", 100).await;
    assert_eq!(
        numbers(&all_at_once),
        numbers(&listed),
        "the same order whatever the page size"
    );
    println!("table requests per page over 500 orders, limit 37: {requests:?}");
}

#[tokio::test]
async fn filters_narrow_by_status_platform_user_and_time() {
    let (stack, orders) = bulk_stack().await;
    for status in STATUSES {
        let (listed, requests) = every_page(&stack, &format!("status={status}"), 30).await;
        assert_once_newest_first(&listed);
        assert!(listed.iter().all(|o| o["status"] == status));
        assert_eq!(
            numbers(&listed).into_iter().collect::<HashSet<_>>(),
            expected(&orders, |o| o.status == status),
            "{status}"
        );
        assert!(requests.iter().all(|r| *r == 1), "{status}: {requests:?}");
    }

    // The platform is a filter on the entity index: a third of the orders are WeChat's.
    let (wechat, requests) = every_page(&stack, "platform=wechat", 50).await;
    assert_once_newest_first(&wechat);
    assert_eq!(
        numbers(&wechat).into_iter().collect::<HashSet<_>>(),
        expected(&orders, |o| o.platform == "wechat")
    );
    println!("table requests per page, platform=wechat, limit 50: {requests:?}");
    assert!(requests.iter().all(|r| *r <= 3), "{requests:?}");

    let (user, _) = every_page(&stack, "openid=bulk-user-3", 25).await;
    assert_once_newest_first(&user);
    assert_eq!(
        numbers(&user).into_iter().collect::<HashSet<_>>(),
        expected(&orders, |o| o.openid == "bulk-user-3")
    );
    let odd = format!("openid={}", urlencode(ODD_OPENID));
    assert_eq!(numbers(&every_page(&stack, &odd, 10).await.0), ["BULK0007"]);

    // A user's paid Douyin orders: the openid index, status and platform filtered.
    let (narrow, _) = every_page(&stack, "openid=bulk-user-3&status=PAID&platform=douyin", 5).await;
    assert_once_newest_first(&narrow);
    assert_eq!(
        numbers(&narrow).into_iter().collect::<HashSet<_>>(),
        expected(&orders, |o| o.openid == "bulk-user-3"
            && o.status == "PAID"
            && o.platform == "douyin")
    );
    assert_eq!(narrow.len(), 17);
    // Paid bulk orders are all Douyin's: the filter leaves nothing, and says so.
    let (none, _) = every_page(&stack, "openid=bulk-user-3&status=PAID&platform=wechat", 5).await;
    assert!(none.is_empty());

    // Creation time, both ends included, on each index.
    let (from, to) = (orders[100].created_at, orders[199].created_at);
    for extra in ["", "&status=TIMEOUT", "&openid=bulk-user-1", "&platform=douyin"] {
        let (range, _) = every_page(&stack, &format!("from={from}&to={to}{extra}"), 40).await;
        assert_once_newest_first(&range);
        let keep = |o: &Bulk| {
            (from..=to).contains(&o.created_at)
                && (extra != "&status=TIMEOUT" || o.status == "TIMEOUT")
                && (extra != "&openid=bulk-user-1" || o.openid == "bulk-user-1")
                && (extra != "&platform=douyin" || o.platform == "douyin")
        };
        assert_eq!(
            numbers(&range).into_iter().collect::<HashSet<_>>(),
            expected(&orders, keep),
            "{extra}"
        );
    }
    let (after, _) = every_page(&stack, &format!("from={}", orders[490].created_at), 100).await;
    assert_eq!(after.len(), 10);
    let (before, _) = every_page(&stack, &format!("to={}", orders[9].created_at), 100).await;
    assert_eq!(before.len(), 10);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn one_order_with_its_refunds_settlement_and_timeline() {
    let stack = stack().await;
    let api = &stack.client;
    let (_, no) = paid_order(&stack, "rita", "course").await;
    let refund = |refund_no: &str, amount: i64| json!({"out_order_no": no, "out_refund_no": refund_no, "refund_amount": amount, "reason": "用户申请退款"});
    let answer = api.post("/refund", Some(ADMIN_KEY), &refund("RF-1", 300)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_acknowledged(
        &stack
            .sandbox
            .finish_refund("RF-1", true, CallbackOptions::default())
            .await
            .unwrap(),
    );
    // Seven days on: the platform settles an order only then.
    stack.sandbox.age_order(&no, 8).unwrap();
    let settle = json!({"out_order_no": no, "out_settle_no": "ST-1", "settle_desc": "课程分账"});
    let answer = api.post("/settle", Some(ADMIN_KEY), &settle).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_acknowledged(
        &stack
            .sandbox
            .finish_settle("ST-1", true, CallbackOptions::default())
            .await
            .unwrap(),
    );
    let answer = api.post("/refund", Some(ADMIN_KEY), &refund("RF-2", 100)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_acknowledged(
        &stack
            .sandbox
            .finish_refund("RF-2", false, CallbackOptions::default())
            .await
            .unwrap(),
    );
    // An item of a kind the back office does not know (the events engineer's webhook
    // deliveries) under the same order is passed over.
    put_foreign_item(&stack, &no).await;

    let detail = admin_get(&stack, &format!("/admin/orders/{no}")).await;
    assert_eq!(detail.status, 200, "{}", detail.text);
    let order = &detail.body["order"];
    assert_eq!(
        (
            &order["status"],
            &order["total_amount"],
            &order["refunded_amount"],
            &order["code"]
        ),
        (&json!("PAID"), &json!(990), &json!(300), &json!(0))
    );
    assert_eq!(
        (&order["sku"], &order["quantity"], &order["late"]),
        (&json!("course"), &json!(1), &json!(false))
    );
    assert!(order["openid"].as_str().is_some_and(|o| !o.is_empty()));
    assert!(order["paid_at"].as_i64().is_some());

    let refunds = detail.body["refunds"].as_array().unwrap();
    let summary: Vec<_> = refunds
        .iter()
        .map(|r| {
            (
                r["out_refund_no"].as_str().unwrap(),
                r["refund_amount"].as_i64().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary, [("RF-1", 300, "SUCCESS"), ("RF-2", 100, "FAIL")]);
    assert!(refunds.iter().all(|r| !r["refund_no"].as_str().unwrap().is_empty()));
    let settlements = detail.body["settlements"].as_array().unwrap();
    assert_eq!(settlements.len(), 1);
    assert_eq!(
        (&settlements[0]["out_settle_no"], &settlements[0]["status"]),
        (&json!("ST-1"), &json!("SUCCESS"))
    );
    assert!(!settlements[0]["settle_no"].as_str().unwrap().is_empty());

    let timeline = detail.body["timeline"].as_array().unwrap();
    let at: Vec<i64> = timeline.iter().map(|m| m["at"].as_i64().unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] <= w[1]), "oldest first: {at:?}");
    let steps: Vec<(String, String)> = timeline
        .iter()
        .map(|m| {
            let what = m["what"].as_str().unwrap();
            (
                what.split(':').next().unwrap().to_owned(),
                m["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let step = |what: &str, source: &str| {
        steps
            .iter()
            .position(|s| s == &(what.to_owned(), source.to_owned()))
            .unwrap_or_else(|| panic!("no `{what}` from {source} in {steps:?}"))
    };
    let made = step("order created", "prepay");
    let paid = step("paid", "platform");
    let rf1 = (
        step("refund RF-1 asked", "back office"),
        step("refund RF-1 succeeded", "platform"),
    );
    let st1 = (
        step("settlement ST-1 asked (课程分账)", "back office"),
        step("settlement ST-1 succeeded", "platform"),
    );
    let rf2 = (
        step("refund RF-2 asked", "back office"),
        step("refund RF-2 failed", "platform"),
    );
    // The callbacks whose message names the order (ecpay refund callbacks name only the
    // refund), each before the change it made.
    let paid_callback = step("douyin payment callback", "platform");
    let settle_callback = step("douyin settle callback", "platform");
    assert_eq!(steps.len(), 10, "{steps:?}");
    assert_eq!(made, 0);
    assert!(rf1.0 < rf1.1 && st1.0 < st1.1 && rf2.0 < rf2.1, "{steps:?}");
    // The platform's paid_at may fall in the second before its callback came.
    let at = |i: usize| timeline[i]["at"].as_i64().unwrap();
    if at(paid_callback) == at(paid) {
        assert!(paid_callback < paid, "{steps:?}");
    }
    assert!(st1.0 < settle_callback && settle_callback < st1.1, "{steps:?}");

    let listed = admin_get(&stack, "/admin/orders?status=PAID").await;
    assert_eq!(numbers(listed.body["orders"].as_array().unwrap()), [no.as_str()]);

    let unknown = admin_get(&stack, "/admin/orders/NO-SUCH-ORDER").await;
    assert_eq!(
        (unknown.status, unknown.error_code()),
        (404, "not_found"),
        "{}",
        unknown.text
    );
}

async fn put_foreign_item(stack: &Stack, no: &str) {
    let now = minipay::domain::time::now_secs();
    table::client()
        .await
        .put_item()
        .table_name(&stack.table)
        .item("pk", AttributeValue::S(format!("WEBHOOK#evt_{no}")))
        .item("sk", AttributeValue::S("WEBHOOK".into()))
        .item("entity", AttributeValue::S("WEBHOOK".into()))
        .item("out_order_no", AttributeValue::S(no.into()))
        .item("created_at", AttributeValue::N(now.to_string()))
        .send()
        .await
        .unwrap();
}

/// The fields of one CSV record (RFC 4180), for reading back what the export wrote.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

#[tokio::test]
async fn the_csv_export_has_a_header_and_a_row_per_order_escaped() {
    let (stack, orders) = bulk_stack().await;
    let (_, paid_no) = paid_order(&stack, "sara", "course").await;
    let response = reqwest::Client::new()
        .get(format!("{}/admin/orders.csv", stack.api.base_url))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    let text = response.text().await.unwrap();
    let records = csv_records(&text);
    assert_eq!(
        records[0].join(","),
        "out_order_no,platform,status,total_amount,refunded_amount,openid,sku,quantity,created_at,paid_at,late"
    );
    assert_eq!(records.len(), 1 + BULK as usize + 1, "a header and a row per order");
    assert!(records.iter().all(|r| r.len() == 11));
    // Newest first: the order paid just now, then the bulk.
    assert_eq!(records[1][0], paid_no);
    assert_eq!(&records[1][1..5], ["douyin", "PAID", "990", "0"]);
    assert!(records[1][9].parse::<i64>().is_ok(), "paid_at: {:?}", records[1]);
    let odd = records.iter().find(|r| r[0] == "BULK0007").expect("BULK0007");
    assert_eq!(odd[5], ODD_OPENID, "quoted and read back whole");
    assert!(text.contains(",\"odd,\"\"quoted\"\" user\","));
    let refunded = records.iter().find(|r| r[0] == "BULK0002").expect("BULK0002");
    let made = orders[2].created_at;
    let row = format!(
        "douyin,REFUNDED,990,990,bulk-user-2,course,1,{made},{},false",
        made + 30
    );
    assert_eq!(refunded[1..].join(","), row);
    let pending = records.iter().find(|r| r[0] == "BULK0000").expect("BULK0000");
    assert_eq!((pending[2].as_str(), pending[9].as_str()), ("PENDING", ""));

    let (from, to) = (orders[10].created_at, orders[59].created_at);
    let ranged = admin_get(&stack, &format!("/admin/orders.csv?from={from}&to={to}")).await;
    assert_eq!(ranged.status, 200, "{}", ranged.text);
    let ranged = csv_records(&ranged.text);
    assert_eq!(
        ranged.len() - 1,
        expected(&orders, |o| (from..=to).contains(&o.created_at)).len()
    );
}

#[tokio::test]
async fn refusals_unauthorized_bad_parameters_and_unknown_orders() {
    let stack = stack().await;
    let session = stack.client.login(&stack.sandbox.login_code("uma")).await;
    for path in ["/admin/orders", "/admin/orders/1732240000a1b2", "/admin/orders.csv"] {
        for key in [None, Some("wrong-key"), Some(session.as_str())] {
            let answer = stack.client.get(path, key).await;
            assert_eq!(
                (answer.status, answer.error_code()),
                (401, "unauthorized"),
                "{path}: {}",
                answer.text
            );
        }
    }
    let from_after_to = "from=200&to=100";
    let garbage_cursor = "cursor=bm90LWEtY3Vyc29y";
    for query in [
        "status=SHIPPED",
        "status=paid",
        "platform=alipay",
        "limit=0",
        "limit=101",
        "limit=many",
        from_after_to,
        "from=-5",
        "to=tomorrow",
        garbage_cursor,
        "cursor=%%%",
        "page=2",
        "limit=5&limit=6",
    ] {
        let answer = admin_get(&stack, &format!("/admin/orders?{query}")).await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (400, "invalid_request"),
            "{query}: {}",
            answer.text
        );
        assert!(!answer.body["error"]["message"].as_str().unwrap().is_empty());
    }
    for query in ["limit=5", "cursor=x", from_after_to, "status=SHIPPED"] {
        let answer = admin_get(&stack, &format!("/admin/orders.csv?{query}")).await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (400, "invalid_request"),
            "csv {query}: {}",
            answer.text
        );
    }
    let answer = admin_get(&stack, "/admin/orders/1732240000a1b2?x=1").await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (400, "invalid_request"),
        "{}",
        answer.text
    );
    let answer = admin_get(&stack, "/admin/orders/not*an*id").await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (400, "invalid_request"),
        "{}",
        answer.text
    );
    let answer = admin_get(&stack, "/admin/orders/1732240000a1b2").await;
    assert_eq!(
        (answer.status, answer.error_code()),
        (404, "not_found"),
        "{}",
        answer.text
    );
    // An empty table lists nothing, and says it is the last page.
    let empty = admin_get(&stack, "/admin/orders").await;
    assert_eq!(empty.body, json!({"orders": [], "next_cursor": null}));
}
