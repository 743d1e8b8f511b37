//! The functions' routes served over real HTTP in-process, as API Gateway would route
//! them (and `/lambda-url/<function>/...` to that function, as `cargo lambda watch` does),
//! so that the sandbox can deliver callbacks and tests (and a browser) can send raw requests.

use axum::body::{Body as AxumBody, to_bytes};
use axum::extract::State;
use axum::response::Response as AxumResponse;
use lambda_http::{Body, Request};
use minipay::App;
use std::sync::Arc;

const MAX_TEST_BODY: usize = 4 << 20;

pub struct Listener {
    listener: tokio::net::TcpListener,
    pub base_url: String,
}

impl Listener {
    pub async fn bind() -> Listener {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base_url = format!("http://{}", listener.local_addr().expect("bound address"));
        Listener { listener, base_url }
    }

    pub fn serve(self, app: Arc<App>) -> LocalApi {
        let router = axum::Router::new().fallback(dispatch).with_state(app);
        let task = tokio::spawn(async move {
            let _ = axum::serve(self.listener, router).await;
        });
        LocalApi {
            base_url: self.base_url,
            task,
        }
    }
}

pub struct LocalApi {
    pub base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for LocalApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Runs one HTTP request through a function's route.
pub async fn invoke(app: &App, function: &str, req: Request) -> lambda_http::Response<Body> {
    match function {
        "admin" => minipay::routes::admin(app, req).await,
        "openid" => minipay::routes::openid(app, req).await,
        "prepay" => minipay::routes::prepay(app, req).await,
        "query" => minipay::routes::query(app, req).await,
        "notify" => minipay::routes::notify(app, req).await,
        "refund" => minipay::routes::refund(app, req).await,
        "settle" => minipay::routes::settle(app, req).await,
        _ => lambda_http::Response::builder()
            .status(404)
            .body(Body::Text("{\"message\":\"Not Found\"}".into()))
            .expect("static response"),
    }
}

async fn dispatch(State(app): State<Arc<App>>, req: axum::http::Request<AxumBody>) -> AxumResponse {
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_TEST_BODY).await.unwrap_or_default();
    let function = crate::client::function_of(parts.uri.path());
    let request = Request::from_parts(parts, Body::Binary(bytes.to_vec()));
    let answer = invoke(&app, function, request).await;
    let (parts, body) = answer.into_parts();
    let bytes: Vec<u8> = match body {
        Body::Empty => Vec::new(),
        Body::Text(t) => t.into_bytes(),
        Body::Binary(b) => b,
        _ => Vec::new(),
    };
    AxumResponse::from_parts(parts, AxumBody::from(bytes))
}
