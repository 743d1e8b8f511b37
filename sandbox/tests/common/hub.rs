//! The backend the sandbox tests stand in for, at a public https address like a real
//! one: one local HTTP server per test process, each receiver at its own path, and the
//! sandbox's tunnel carrying `https://minipay.test/...` to it (the platforms refuse http
//! notify URLs, as the sandbox does now).

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sandbox::Tunnel;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// What every test backend's notify URL starts with.
pub const PUBLIC_ORIGIN: &str = "https://minipay.test";
/// A notify URL every platform accepts (https; ecpay's port rule applies only to URLs
/// given to ecpay itself, and tests use this one as an override there) where nothing
/// listens: privileged port 1, outside the tunnel, so each delivery fails at once.
pub const NOWHERE: &str = "https://127.0.0.1:1/notify";

type Reply = Pin<Box<dyn Future<Output = Response> + Send>>;
type Handler = Arc<dyn Fn(HeaderMap, Bytes) -> Reply + Send + Sync>;

struct Hub {
    local_origin: String,
    handlers: Mutex<HashMap<String, Handler>>,
    mounted: AtomicUsize,
}

/// Started once, on a runtime of its own: each test has its own runtime, which ends
/// with the test, and the hub must outlive them all.
fn hub() -> &'static Hub {
    static HUB: OnceLock<&'static Hub> = OnceLock::new();
    HUB.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let hub: &'static Hub = Box::leak(Box::new(Hub {
            local_origin: format!("http://{}", listener.local_addr().unwrap()),
            handlers: Mutex::default(),
            mounted: AtomicUsize::new(0),
        }));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = Router::new().fallback(dispatch);
                axum::serve(listener, app).await.unwrap();
            });
        });
        hub
    })
}

async fn dispatch(uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let handler = hub().handlers.lock().unwrap().get(uri.path()).cloned();
    match handler {
        Some(handler) => handler(headers, body).await,
        None => (StatusCode::NOT_FOUND, "nothing mounted here").into_response(),
    }
}

/// The tunnel every test sandbox is configured with.
pub fn tunnel() -> Tunnel {
    Tunnel {
        public_origin: PUBLIC_ORIGIN.into(),
        local_origin: hub().local_origin.clone(),
    }
}

/// Serves `handler` at a fresh path named after `name`; its public URL.
pub fn mount<F, Fut>(name: &str, handler: F) -> String
where
    F: Fn(HeaderMap, Bytes) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    let hub = hub();
    let path = format!("/{name}/{}", hub.mounted.fetch_add(1, Ordering::SeqCst));
    let handler: Handler = Arc::new(move |headers, body| Box::pin(handler(headers, body)));
    hub.handlers.lock().unwrap().insert(path.clone(), handler);
    format!("{PUBLIC_ORIGIN}{path}")
}
