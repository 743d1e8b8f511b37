//! Helpers for the merchant-events tests: a webhook receiver on a loopback port that
//! records what it gets and fails when told to, the `events` function's dependencies
//! around a stack, and a rule on an EventBridge bus (moto) that catches what was put.

use crate::Stack;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use minipay::merchant::Notifier;
use minipay::merchant::bus::EventBridgeBus;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub const WEBHOOK_SECRET: &str = "whsec_test_5d1f9a";

/// One POST the receiver got.
#[derive(Debug, Clone)]
pub struct Post {
    pub signature: Option<String>,
    pub body: String,
    /// Whether it answered 2xx.
    pub accepted: bool,
}

impl Post {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a webhook body is JSON")
    }
    pub fn kind(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }
}

#[derive(Default)]
struct ReceiverState {
    posts: Mutex<Vec<Post>>,
    failures_left: AtomicUsize,
    /// Takes the post and never answers (a receiver that hangs).
    hangs: bool,
}

/// The merchant's webhook receiver.
pub struct Receiver {
    pub url: String,
    state: Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Answers 503 to the first `failures` posts, then 200.
    pub async fn start(failures: usize) -> Receiver {
        Self::serve(ReceiverState {
            failures_left: AtomicUsize::new(failures),
            ..ReceiverState::default()
        })
        .await
    }

    /// Takes every post and never answers.
    pub async fn hanging() -> Receiver {
        Self::serve(ReceiverState {
            hangs: true,
            ..ReceiverState::default()
        })
        .await
    }

    async fn serve(state: ReceiverState) -> Receiver {
        let state = Arc::new(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hooks", listener.local_addr().expect("address"));
        let router = axum::Router::new()
            .route("/hooks", axum::routing::post(receive))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver { url, state, task }
    }

    pub fn posts(&self) -> Vec<Post> {
        self.state.posts.lock().unwrap().clone()
    }

    /// Answers 503 to the next `failures` posts, then 200 (0: recovered).
    pub fn set_failures(&self, failures: usize) {
        self.state.failures_left.store(failures, Ordering::SeqCst);
    }

    pub fn kinds(&self) -> Vec<String> {
        self.posts().iter().map(Post::kind).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let fail = state
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    state.posts.lock().unwrap().push(Post {
        signature: headers
            .get("minipay-signature")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(&body).into_owned(),
        accepted: !fail,
    });
    if state.hangs {
        std::future::pending::<()>().await;
    }
    if fail {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

/// The `events` function's dependencies around `stack` (its configuration, its table),
/// with the EventBridge API of the test command's moto.
pub async fn notifier(stack: &Stack) -> Notifier {
    let client = bus_client(&crate::table::endpoint()).await;
    let bus = EventBridgeBus::new(client, stack.app.config.event_bus_name.clone());
    Notifier::assemble(&stack.app.config, stack.store.clone(), Arc::new(bus))
}

pub async fn bus_client(endpoint: &str) -> aws_sdk_eventbridge::Client {
    let config = crate::table::sdk_config_at(endpoint);
    aws_sdk_eventbridge::Client::new(&config)
}

/// A bus of its own on moto with a rule sending every `minipay` event to an SQS queue,
/// read back with boto3 (the test command's Python): what a merchant's rule would get.
pub struct BusCatcher {
    pub bus_name: String,
    queue: String,
}

impl BusCatcher {
    pub fn create() -> BusCatcher {
        let suffix: u64 = rand::RngExt::random(&mut rand::rng());
        let bus_name = format!("minipay-test-{suffix:016x}");
        let queue = python(
            r#"
import json, sys, boto3
ep, bus = sys.argv[1], sys.argv[2]
events = boto3.client("events", endpoint_url=ep)
sqs = boto3.client("sqs", endpoint_url=ep)
events.create_event_bus(Name=bus)
url = sqs.create_queue(QueueName=bus)["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
events.put_rule(Name=bus, EventBusName=bus, EventPattern=json.dumps({"source": ["minipay"]}))
events.put_targets(Rule=bus, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
print(url)
"#,
            &[&bus_name],
        );
        BusCatcher {
            bus_name,
            queue: queue.trim().to_owned(),
        }
    }

    /// Every event the rule caught so far (the EventBridge envelopes), each once.
    pub fn caught(&self) -> Vec<Value> {
        let out = python(
            r#"
import json, sys, boto3
sqs = boto3.client("sqs", endpoint_url=sys.argv[1])
got = []
while True:
    answer = sqs.receive_message(QueueUrl=sys.argv[2], MaxNumberOfMessages=10)
    messages = answer.get("Messages", [])
    if not messages:
        break
    for m in messages:
        got.append(json.loads(m["Body"]))
        sqs.delete_message(QueueUrl=sys.argv[2], ReceiptHandle=m["ReceiptHandle"])
print(json.dumps(got))
"#,
            &[&self.queue],
        );
        serde_json::from_str(&out).expect("caught events as JSON")
    }
}

fn python(script: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(crate::table::endpoint())
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .expect("python3 runs (make test puts the project's virtualenv on PATH)");
    assert!(
        out.status.success(),
        "python helper failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The `Minipay-Signature` of a post checked as a merchant would, with the `hmac` crate
/// directly (never minipay's signer); its `t`.
pub fn signed_at(post: &Post) -> i64 {
    use hmac::{Hmac, KeyInit as _, Mac as _};
    let header = post.signature.as_deref().expect("Minipay-Signature header");
    let parts: std::collections::HashMap<&str, &str> = header.split(',').filter_map(|kv| kv.split_once('=')).collect();
    let (t, v1) = (parts["t"], parts["v1"]);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("any key length");
    mac.update(format!("{t}.{}", post.body).as_bytes());
    assert_eq!(
        v1,
        hex::encode(mac.finalize().into_bytes()),
        "signature of {}",
        post.body
    );
    t.parse().expect("t is unix seconds")
}
