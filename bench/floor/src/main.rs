//! `floor`: a do-nothing Lambda function, built with the same release profile as the real
//! ones and started the same way by `make bench` (scripts/bench_lambda.py). Its cold start
//! (the Tokio runtime, the `lambda_runtime` client, one invocation) is the floor that the
//! functions' cold-start figures in BENCHMARKS.md are compared against: whatever a function
//! takes beyond it is its own configuration, clients and work. It reads no configuration
//! and answers every event with the same API Gateway-shaped JSON.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({"statusCode": 200, "body": "{}"}))
    }))
    .await
}
