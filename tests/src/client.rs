//! Drives the HTTP routes as the mini-program and the back office do, through the
//! in-process API or through `cargo lambda watch`.

use serde_json::Value;
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub enum Routing {
    /// Paths as API Gateway serves them: `{base}/prepay`.
    Gateway,
    /// `cargo lambda watch` function URLs: `{base}/lambda-url/prepay/prepay`.
    LambdaUrl,
}

#[derive(Clone)]
pub struct ApiClient {
    pub base_url: String,
    pub routing: Routing,
    http: reqwest::Client,
}

/// An answer: HTTP status and JSON body (`Value::Null` when it is not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// Which function serves a path, as template.yaml routes it; a `cargo lambda watch`
/// path (`/lambda-url/<function>/...`) by the function it names.
pub fn function_of(path: &str) -> &'static str {
    if let Some(rest) = path.strip_prefix("/lambda-url/") {
        let named = rest.split('/').next().unwrap_or_default();
        let functions = ["admin", "openid", "prepay", "query", "notify", "refund", "settle"];
        return functions.into_iter().find(|f| *f == named).unwrap_or("none");
    }
    if path.starts_with("/admin/") || path == "/console" {
        "admin"
    } else if path.starts_with("/openid") {
        "openid"
    } else if path.starts_with("/prepay") {
        "prepay"
    } else if path.starts_with("/orders/") || path.starts_with("/refunds/") {
        "query"
    } else if path.starts_with("/notify/") {
        "notify"
    } else if path.starts_with("/refund") {
        "refund"
    } else if path.starts_with("/settle") {
        "settle"
    } else {
        "none"
    }
}

impl ApiClient {
    pub fn new(base_url: impl Into<String>, routing: Routing) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        ApiClient {
            base_url: base_url.into(),
            routing,
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        match self.routing {
            Routing::Gateway => format!("{}{path}", self.base_url),
            Routing::LambdaUrl => format!("{}/lambda-url/{}{path}", self.base_url, function_of(path)),
        }
    }

    pub async fn send(&self, method: &str, path: &str, bearer: Option<&str>, body: Option<Vec<u8>>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(bytes) = body {
            request = request.header("content-type", "application/json").body(bytes);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, body, text }
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: &Value) -> Answer {
        self.send("POST", path, bearer, Some(serde_json::to_vec(body).expect("json")))
            .await
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> Answer {
        self.send("GET", path, bearer, None).await
    }

    /// Logs a user in with a code and returns the session.
    pub async fn login(&self, code: &str) -> String {
        let answer = self.post("/openid", None, &serde_json::json!({"code": code})).await;
        assert_eq!(answer.status, 200, "login: {}", answer.text);
        answer.body["session"].as_str().expect("session").to_owned()
    }

    /// Logs a WeChat user in with a `wx.login` code and returns the session.
    pub async fn wechat_login(&self, code: &str) -> String {
        let body = serde_json::json!({"code": code, "platform": "wechat"});
        let answer = self.post("/openid", None, &body).await;
        assert_eq!(answer.status, 200, "login: {}", answer.text);
        answer.body["session"].as_str().expect("session").to_owned()
    }

    /// Orders one `sku`: the new order's number and what the mini-program pays with.
    pub async fn prepay(&self, session: &str, sku: &str) -> (String, serde_json::Value) {
        let answer = self
            .post("/prepay", Some(session), &serde_json::json!({"sku": sku}))
            .await;
        assert_eq!(answer.status, 200, "prepay: {}", answer.text);
        let out_order_no = answer.body["out_order_no"].as_str().expect("out_order_no").to_owned();
        (out_order_no, answer.body["pay"].clone())
    }
}
