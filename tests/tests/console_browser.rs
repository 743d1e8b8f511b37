//! The merchant console (`GET /console`) in a real browser: headless Chromium at a phone's
//! size, driven by `tests/browser/console_test.py` (Selenium on the system's chromedriver)
//! against a stack with real paid orders. The script signs in, filters, opens an order,
//! refunds part of it, exports CSV, settles an order under the `/lambda-url/admin/`
//! prefix and signs out; this test checks its exit status and then, on its own, what
//! the table holds.
//!
//! Chromium, chromedriver (Debian's `chromium`, `chromium-driver`) and Selenium (in
//! `.venv`, from requirements-dev.txt) are installed by `scripts/setup.sh`; when one is
//! missing this test fails and says what to run: it is never skipped.
//! `MINIPAY_CHROMIUM`, `MINIPAY_CHROMEDRIVER` pick other binaries;
//! `MINIPAY_CONSOLE_SCREENSHOT=$PWD/docs/console.png` keeps the screenshots (the list there,
//! the refunded order beside it as `console-order.png`; by default both go to a temporary
//! directory).

use harness::merchant::{Receiver, WEBHOOK_SECRET};
use harness::money::paid_order;
use harness::{ADMIN_KEY, Stack, table};
use minipay::domain::order::{Order, OrderStatus, Platform};
use minipay::domain::refund::{Refund, RefundStatus};
use minipay::store::admin::AdminStore;
use minipay::store::{OrderStore, RefundStore, SettleStore, Webhook, WebhookStatus, WebhookStore};
use sandbox::{Fault, FaultKind, PayOptions};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the script types, and the fen it must become.
const REFUND_YUAN: &str = "1.05";
const REFUND_FEN: i64 = 105;
const PRICE: i64 = 990;
const ECPAY_REFUND: &str = "/api/apps/ecpay/v1/create_refund";
/// Markup where the page shows an openid and a sku: it must show as text and never run.
const XSS_OPENID: &str = "<img src=x onerror=\"window.__xss=1\">";
const XSS_SKU: &str = "</span><script>window.__xss=2</script>";

/// An `order.paid` delivery of `out_order_no` that ended UNDELIVERED after one attempt.
async fn undelivered_webhook(stack: &Stack, out_order_no: &str) -> Webhook {
    let now = minipay::domain::time::now_secs();
    let id = "evt_0b5e55ed0b5e55ed0b5e55ed";
    let webhook = Webhook {
        event_id: id.into(),
        event_type: "order.paid".into(),
        out_order_no: out_order_no.into(),
        created_at: now - 90_000,
        body: json!({"id": id, "type": "order.paid", "created": now - 90_000,
            "data": {"out_order_no": out_order_no}})
        .to_string(),
        sequence: format!("{:012}-1-{id}", now - 90_000),
        status: WebhookStatus::Pending,
        attempts: 0,
        first_attempt_at: None,
        last_attempt_at: None,
        last_error: None,
        due_at: None,
    };
    assert!(stack.store.record_webhook(&webhook, now).await.unwrap());
    let ended = stack
        .store
        .end_webhook(&webhook, WebhookStatus::Undelivered, Some("HTTP 503"), now)
        .await
        .unwrap();
    assert!(ended);
    webhook
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `name` on PATH, or `$VAR` when set; a failure that says what to install otherwise.
fn tool(var: &str, name: &str, package: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "{var}={} is not a file", path.display());
        return path;
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_default();
    on_path.unwrap_or_else(|| {
        panic!(
            "{name} is not installed: the console's browser test needs it. Run scripts/setup.sh \
             (as root it installs Debian's `{package}` with apt-get), or `sudo apt-get install -y chromium \
             chromium-driver`, or set {var} to one"
        )
    })
}

/// The python3 that runs the scripts (the project's .venv when scripts/test.sh or
/// `make test` runs the tests), checked to have Selenium.
fn python_with_selenium() -> &'static str {
    let probe = Command::new("python3")
        .args(["-c", "import selenium; print(selenium.__version__)"])
        .output()
        .expect("python3 runs");
    assert!(
        probe.status.success(),
        "the python3 on PATH has no selenium (requirements-dev.txt): run scripts/setup.sh and put \
         .venv/bin first on PATH (`make test` does): {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    "python3"
}

#[tokio::test]
async fn an_operator_refunds_exports_settles_and_signs_out_in_a_phone_sized_browser() {
    let chromium = tool("MINIPAY_CHROMIUM", "chromium", "chromium");
    let chromedriver = tool("MINIPAY_CHROMEDRIVER", "chromedriver", "chromium-driver");
    let python = python_with_selenium();

    let receiver = Receiver::start(0).await;
    let stack = Stack::start_with(&[
        ("MERCHANT_WEBHOOK_URL", receiver.url.as_str()),
        ("MERCHANT_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ])
    .await;
    table::put_catalog_item(&table::client().await, &stack.table, "course", PRICE, "Rust 进阶课程").await;
    let (_, refunded) = paid_order(&stack, "amy", "course").await;
    // A webhook that failed for 24 hours: the operator redelivers it from the console.
    let webhook = undelivered_webhook(&stack, &refunded).await;
    let (_, settled) = paid_order(&stack, "bo", "course").await;
    // Seven days on: the platform settles an order only then.
    stack.sandbox.age_order(&settled, 8).unwrap();
    let (_, stuck) = paid_order(&stack, "cy", "course").await;
    // A refund in flight for two days: someone must look at it.
    let now = minipay::domain::time::now_secs();
    let old_refund = Refund {
        out_refund_no: format!("rf-{stuck}-old"),
        out_order_no: stuck.clone(),
        refund_amount: 200,
        reason: "two days ago".into(),
        status: RefundStatus::Processing,
        refund_no: Some("P-OLD".into()),
        all_settle: false,
        created_at: now - 2 * 86_400,
        updated_at: now - 2 * 86_400,
        attention: None,
    };
    stack.store.begin_refund(&old_refund).await.unwrap();
    // Paid after it had timed out: `late`.
    let (session, _) = paid_order(&stack, "dee", "course").await;
    let prepay = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course", "quantity": 2}))
        .await;
    assert_eq!(prepay.status, 200, "{}", prepay.text);
    let late = prepay.body["out_order_no"].as_str().unwrap().to_owned();
    stack
        .store
        .finish_unpaid(&late, OrderStatus::Timeout, now)
        .await
        .unwrap();
    let deliveries = stack
        .sandbox
        .pay(
            &late,
            PayOptions {
                late: true,
                ..PayOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(deliveries[0].status, 200, "{}", deliveries[0].body);
    let paid_late = stack.store.get_order(&late).await.unwrap().expect("the late order");
    assert_eq!((paid_late.status, paid_late.late), (OrderStatus::Paid, true));
    // One left unpaid.
    let unpaid = stack
        .client
        .post("/prepay", Some(&session), &json!({"sku": "course"}))
        .await;
    assert_eq!(unpaid.status, 200, "{}", unpaid.text);

    // Text from outside (the platform's openid, an operator's sku) that would be markup.
    let probe = Order {
        out_order_no: "xssprobe1".into(),
        platform: Platform::Wechat,
        channel: minipay::domain::channel::ChannelId::WechatV2,
        openid: XSS_OPENID.into(),
        sku: XSS_SKU.into(),
        quantity: 1,
        total_amount: 1,
        subject: "s".into(),
        body: String::new(),
        status: OrderStatus::Pending,
        created_at: now - 3600,
        pay_deadline: now + 3600,
        platform_order: None,
        payment: None,
        refunded_amount: 0,
        refunding_amount: 0,
        settle_status: None,
        updated_at: now - 3600,
        trade_data: None,
        late: false,
        settle_succeeded: false,
    };
    stack.store.insert_order(&probe, "xssprobe1", None).await.unwrap();

    // The platform makes the first refund and loses its answers (the next two
    // create_refund calls: one request's worth); the page must send it again under the
    // same number.
    stack
        .sandbox
        .set_fault(Fault::after(ECPAY_REFUND, FaultKind::Status(502), 2));

    let work = std::env::temp_dir().join(format!("minipay-console-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let screenshot = std::env::var_os("MINIPAY_CONSOLE_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| work.join("console.png"));
    let result = work.join("result.json");
    let base = stack.api.base_url.clone();
    let script = repo_root().join("tests/browser/console_test.py");
    // The script drives a browser: run it off the runtime's threads, which serve the API.
    let mut command = Command::new(python);
    command
        .arg(&script)
        .arg(format!("{base}/console"))
        .arg(ADMIN_KEY)
        .args([
            "--order",
            &refunded,
            "--late-order",
            &late,
            "--refund-yuan",
            REFUND_YUAN,
        ])
        .arg("--screenshot")
        .arg(&screenshot)
        .arg("--detail-screenshot")
        .arg(screenshot.with_file_name("console-order.png"))
        .arg("--result")
        .arg(&result)
        .arg("--prefixed-url")
        .arg(format!("{base}/lambda-url/admin/console"))
        .args(["--settle-order", &settled, "--first-refund-unclear"])
        .args([
            "--markup-order",
            &probe.out_order_no,
            "--markup-text",
            XSS_OPENID,
            "--markup-text",
            XSS_SKU,
        ])
        .args([
            "--attention-order",
            &stuck,
            "--attention-refund",
            &old_refund.out_refund_no,
        ])
        .args(["--webhook-id", &webhook.event_id])
        .arg("--chromium")
        .arg(&chromium)
        .arg("--chromedriver")
        .arg(&chromedriver);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("the browser script starts");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{log}");
    assert!(
        output.status.success(),
        "the browser script failed ({}):\n{log}",
        output.status
    );

    // The redelivery reached the receiver once, the kept body, and was recorded.
    let posts = receiver.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0].accepted);
    assert_eq!(posts[0].body, webhook.body);
    let redelivered = stack.store.get_webhook(&webhook.event_id).await.unwrap().unwrap();
    assert_eq!(
        (redelivered.status, redelivered.attempts),
        (WebhookStatus::Delivered, 2)
    );

    let result: Value = serde_json::from_str(&std::fs::read_to_string(&result).unwrap()).unwrap();
    assert_eq!(result["out_order_no"], refunded.as_str());
    assert_eq!(result["refund_yuan"], REFUND_YUAN);

    // The table, read on its own: exactly the refund the operator confirmed (the second,
    // refused with 409, left nothing), with the amount typed, in fen.
    let out_refund_no = result["out_refund_no"].as_str().expect("out_refund_no");
    assert!(out_refund_no.starts_with(&format!("rf-{refunded}-")) && out_refund_no.len() <= 64);
    let refund = stack
        .store
        .get_refund(out_refund_no)
        .await
        .unwrap()
        .expect("the refund is in the table");
    assert_eq!(refund.out_order_no, refunded);
    assert_eq!(refund.refund_amount, REFUND_FEN);
    assert!(
        matches!(refund.status, RefundStatus::Processing | RefundStatus::Success),
        "{:?}",
        refund.status
    );
    assert_eq!(refund.reason, "browser test: partial refund");
    let stored = stack
        .store
        .order_with_children(&refunded)
        .await
        .unwrap()
        .expect("the order");
    assert_eq!(stored.refunds.len(), 1, "{:?}", stored.refunds);
    assert_eq!(
        stored.order.refunding_amount + stored.order.refunded_amount,
        REFUND_FEN,
        "the order reserves or has refunded exactly the refund"
    );
    let platform = stack
        .sandbox
        .refund(out_refund_no)
        .expect("the platform has the refund");
    assert_eq!(platform.refund_amount, REFUND_FEN);
    assert_eq!(
        refund.refund_no.as_deref(),
        Some(platform.refund_no.as_str()),
        "the retry completed the refund the platform made"
    );

    // The settlement made under the /lambda-url/admin/ prefix went to the settle function.
    let out_settle_no = result["out_settle_no"].as_str().expect("out_settle_no");
    let settlement = stack
        .store
        .get_settlement(out_settle_no)
        .await
        .unwrap()
        .expect("the settlement is in the table");
    assert_eq!(settlement.out_order_no, settled);
    // The other orders are untouched.
    let order = stack.store.get_order(&late).await.unwrap().unwrap();
    assert_eq!(
        (order.status, order.late, order.refunding_amount),
        (OrderStatus::Paid, true, 0)
    );
    assert_eq!(result["csv_rows"], 7, "every order of the table");

    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, 390, "the screenshot is phone-wide");
    let _ = std::fs::remove_dir_all(&work);
}
