//! openapi.yaml in step with the handlers.
//!
//! Every operation of openapi.yaml is a route of template.yaml (the handlers' route table:
//! API Gateway sends nothing else to a function) and the other way round; each is served
//! by its function's `minipay::routes::<fn>` (a 400 for a bad id, query or body; 200 for
//! the console page, which takes none) and answered 404 `not_found` by every other
//! function; no function serves a method the document does not list; the security scheme
//! of each operation is what the handler asks for; and the required fields of each JSON
//! request schema are exactly the fields the request structs cannot do without (a body
//! missing any one is 400 `invalid_request`, a body of only those is not), with the
//! documented ranges (lengths, minimum and maximum, enums, nullable fields and the id
//! patterns) enforced where the document says.
//!
//! Everything runs in-process over the in-memory store. The platforms are configured at
//! a closed loopback port, so that a request that gets past validation ends in
//! `platform_unavailable` (or `not_found`) at once, never in a 400.

use lambda_http::{Body, Request, Response};
use minipay::App;
use minipay::config::Config;
use minipay::domain::ids::{session_key_of, valid_back_office_no, valid_out_order_no};
use minipay::domain::order::Platform;
use minipay::secret::Secret;
use minipay::store::{CatalogItem, MemoryStore, Session, SessionStore};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use yaml_rust2::{Yaml, YamlLoader};

const SESSION: &str = "5e55105e55105e55105e55105e55105e";
const ADMIN_KEY: &str = "in-step-admin-key-0b7d";
const SKU: &str = "course-basic";
/// Nothing listens here: platform calls fail at once with `platform_unavailable`.
const CLOSED_PORT: &str = "http://127.0.0.1:1";
/// The functions whose routes serve HTTP, as `minipay::routes` names them.
const FUNCTIONS: [&str; 7] = ["openid", "prepay", "query", "notify", "refund", "settle", "admin"];
/// An id that breaks the id rule: a served id route answers 400, not 404.
const BAD_ID: &str = "not*an*id";

fn load(file: &str) -> Value {
    let path = format!("{}/../{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{path} parses: {e}"));
    json_of(&docs[0])
}

fn json_of(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Yaml::Integer(i) => json!(i),
        Yaml::String(s) => json!(s),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(items) => Value::Array(items.iter().map(json_of).collect()),
        Yaml::Hash(hash) => Value::Object(
            hash.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        other => panic!("unexpected key {other:?}"),
                    };
                    (key, json_of(v))
                })
                .collect(),
        ),
        // CloudFormation tags (!Ref, !Sub, ...) and the rest carry nothing we read.
        _ => Value::Null,
    }
}

/// One operation of openapi.yaml.
struct Operation {
    method: String,
    path: String,
    spec: Value,
}

impl Operation {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The bearer this operation asks for: `None`, or the scheme's name.
    fn scheme(&self, doc: &Value) -> Option<String> {
        let security = self.spec.get("security").or_else(|| doc.get("security"));
        let requirements = security.and_then(Value::as_array).cloned().unwrap_or_default();
        assert!(
            requirements.len() <= 1,
            "{}: one security requirement at most",
            self.name()
        );
        let scheme = requirements.first().and_then(Value::as_object)?.keys().next()?.clone();
        let defined = &doc["components"]["securitySchemes"][&scheme];
        assert_eq!(
            (defined["type"].as_str(), defined["scheme"].as_str()),
            (Some("http"), Some("bearer")),
            "{}: scheme {scheme} is a bearer scheme",
            self.name()
        );
        Some(scheme)
    }

    /// A token the operation accepts, and one of the other scheme that it must refuse.
    fn tokens(&self, doc: &Value) -> Option<(&'static str, &'static str)> {
        match self.scheme(doc)?.as_str() {
            "session" => Some((SESSION, ADMIN_KEY)),
            "adminKey" => Some((ADMIN_KEY, SESSION)),
            other => panic!(
                "{}: unknown security scheme {other}: teach this test its token",
                self.name()
            ),
        }
    }

    /// The JSON request body schema, if the operation takes JSON.
    fn json_body(&self, doc: &Value) -> Option<Map<String, Value>> {
        let schema = self
            .spec
            .get("requestBody")?
            .get("content")?
            .get("application/json")?
            .get("schema")?;
        Some(effective(doc, schema))
    }

    /// Whether the operation documents query parameters (then an unknown one is a 400).
    fn takes_query(&self, doc: &Value) -> bool {
        let parameters = self.spec.get("parameters").and_then(Value::as_array);
        parameters
            .into_iter()
            .flatten()
            .any(|p| effective(doc, p).get("in") == Some(&json!("query")))
    }

    /// The path with every parameter set to `value`.
    fn concrete_path(&self, value: &str) -> String {
        let mut out = String::new();
        for segment in self.path.split('/').filter(|s| !s.is_empty()) {
            out.push('/');
            out.push_str(if segment.starts_with('{') { value } else { segment });
        }
        out
    }
}

fn operations(doc: &Value) -> Vec<Operation> {
    assert_eq!(doc["openapi"], "3.0.3");
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, spec) in item.as_object().expect("path item") {
            if ["get", "put", "post", "delete", "patch", "head", "options", "trace"].contains(&method.as_str()) {
                ops.push(Operation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    spec: spec.clone(),
                });
            }
        }
    }
    ops
}

/// `METHOD path` → function, from the HttpApi events of template.yaml.
fn template_routes() -> BTreeMap<String, String> {
    let template = load("template.yaml");
    let mut routes = BTreeMap::new();
    for (name, resource) in template["Resources"].as_object().expect("Resources") {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let Some(events) = resource["Properties"]["Events"].as_object() else {
            continue;
        };
        for event in events.values().filter(|e| e["Type"] == "HttpApi" || e["Type"] == "Api") {
            let function = resource["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no Metadata.BuildProperties.Binary"));
            let method = event["Properties"]["Method"].as_str().expect("Method").to_uppercase();
            let path = event["Properties"]["Path"].as_str().expect("Path");
            routes.insert(format!("{method} {path}"), function.to_owned());
        }
    }
    routes
}

/// The function template.yaml routes the operation to.
fn owner<'a>(routes: &'a BTreeMap<String, String>, op: &Operation) -> &'a str {
    routes
        .get(&op.name())
        .unwrap_or_else(|| panic!("{} is not a route of template.yaml", op.name()))
}

/// A schema with `$ref` and `allOf` resolved, the outer keys (examples) winning.
fn effective(doc: &Value, schema: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let mut target = doc;
        for part in reference.trim_start_matches("#/").split('/') {
            target = &target[part];
        }
        assert!(target.is_object(), "unresolved {reference}");
        out.extend(effective(doc, target));
    }
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        out.extend(effective(doc, part));
    }
    for (k, v) in schema.as_object().expect("schema is an object") {
        if k != "$ref" && k != "allOf" {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

async fn app() -> App {
    let env: HashMap<String, String> = [
        ("TABLE_NAME", "in-step"),
        ("DOUYIN_APP_ID", "tt_in_step"),
        ("DOUYIN_APP_SECRET", "in-step-app-secret"),
        ("DOUYIN_SALT", "in-step-salt"),
        ("DOUYIN_TOKEN", "in-step-token"),
        ("DOUYIN_API_BASE", CLOSED_PORT),
        ("WECHAT_APP_ID", "wx_in_step"),
        ("WECHAT_APP_SECRET", "in-step-wechat-secret"),
        ("WECHAT_MCH_ID", "1900000109"),
        ("WECHAT_API_KEY", "instepwsxedcrfvtgbyhnujmikolp111"),
        ("WECHAT_API_BASE", CLOSED_PORT),
        ("WECHAT_LOGIN_BASE", CLOSED_PORT),
        ("WECHAT_NOTIFY_URL", "http://127.0.0.1:1/notify/wechat"),
        ("ADMIN_API_KEY", ADMIN_KEY),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let config = Config::from_source(&env, &HashMap::new()).expect("config");
    let store = Arc::new(MemoryStore::new());
    store.add_catalog_item(CatalogItem {
        sku: SKU.into(),
        price: 100,
        subject: "课程".into(),
        body: "课程".into(),
        image: "https://example.com/c.png".into(),
        goods_type: None,
        tag_group_id: None,
    });
    let session = Session {
        openid: "openid-in-step".into(),
        unionid: None,
        platform: Platform::Douyin,
        session_key: Secret::new("in-step-session-key"),
        expires_at: i64::MAX / 2,
    };
    store
        .put_session(&session_key_of(SESSION), &session)
        .await
        .expect("session");
    App::with_store(config, store).expect("app")
}

fn request(method: &str, path: &str, bearer: Option<&str>, body: &[u8]) -> Request {
    let mut builder = lambda_http::http::Request::builder().method(method).uri(path);
    if let Some(token) = bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Body::Binary(body.to_vec())).expect("request")
}

/// An answer: status, media type and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    media_type: String,
    text: String,
    json: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

async fn call(app: &App, function: &str, req: Request) -> Answer {
    let response: Response<Body> = match function {
        "openid" => minipay::routes::openid(app, req).await,
        "prepay" => minipay::routes::prepay(app, req).await,
        "query" => minipay::routes::query(app, req).await,
        "notify" => minipay::routes::notify(app, req).await,
        "refund" => minipay::routes::refund(app, req).await,
        "settle" => minipay::routes::settle(app, req).await,
        "admin" => minipay::routes::admin(app, req).await,
        other => panic!("no route function for `{other}`: add it to FUNCTIONS and call()"),
    };
    let status = response.status().as_u16();
    let media_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let text = match response.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    };
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        media_type,
        text,
        json,
    }
}

/// The answer is documented for the operation: its status and media type, and an error
/// envelope whose code is one of the document's codes.
fn assert_documented(doc: &Value, op: &Operation, answer: &Answer) {
    let name = op.name();
    let response = &op.spec["responses"][answer.status.to_string()];
    assert!(
        response.is_object(),
        "{name}: status {} is not documented: {}",
        answer.status,
        answer.text
    );
    let mut response = response.clone();
    if let Some(reference) = response.get("$ref").and_then(Value::as_str) {
        response = Value::Object(effective(doc, &json!({"$ref": reference})));
    }
    let content = response["content"].as_object().expect("content");
    assert!(
        content.contains_key(&answer.media_type),
        "{name}: {} answered as {} but documented as {:?}",
        answer.status,
        answer.media_type,
        content.keys().collect::<Vec<_>>()
    );
    if answer.json.get("error").is_some() {
        assert_error_envelope(doc, answer);
    }
}

fn assert_error_envelope(doc: &Value, answer: &Answer) {
    let codes = &doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"];
    let error = answer.json["error"]
        .as_object()
        .unwrap_or_else(|| panic!("not an envelope: {}", answer.text));
    assert_eq!(answer.json.as_object().map(Map::len), Some(1), "{}", answer.text);
    assert_eq!(error.keys().collect::<Vec<_>>(), ["code", "message"], "{}", answer.text);
    assert!(
        codes.as_array().expect("codes").contains(&json!(answer.code())),
        "{}",
        answer.text
    );
    assert!(!error["message"].as_str().unwrap_or("").is_empty(), "{}", answer.text);
}

#[test]
fn the_document_and_template_yaml_list_the_same_routes() {
    let doc = load("openapi.yaml");
    let documented: BTreeSet<String> = operations(&doc).iter().map(Operation::name).collect();
    let deployed: BTreeSet<String> = template_routes().into_keys().collect();
    assert_eq!(
        documented, deployed,
        "openapi.yaml and template.yaml (the routes API Gateway sends to the functions) differ"
    );
}

#[tokio::test]
async fn each_operation_is_served_by_its_function_and_by_no_other() {
    let doc = load("openapi.yaml");
    let routes = template_routes();
    let app = app().await;
    for function in routes.values() {
        assert!(
            FUNCTIONS.contains(&function.as_str()),
            "template.yaml routes HTTP to `{function}`: add it here"
        );
    }
    for op in operations(&doc) {
        let owner = owner(&routes, &op);
        let bearer = op.tokens(&doc).map(|(good, _)| good);
        // An empty body and an id that breaks the id rule, or a query parameter that the
        // document does not list: the owner answers 400.
        let mut path = op.concrete_path(BAD_ID);
        if op.takes_query(&doc) {
            path.push_str("?not_a_parameter=1");
        }
        // Nothing a caller can get wrong (no path parameter, query or body: the console
        // page): the owner answers it.
        let nothing_to_refuse = !op.path.contains('{') && !op.takes_query(&doc) && op.spec.get("requestBody").is_none();
        for function in FUNCTIONS {
            let answer = call(&app, function, request(&op.method, &path, bearer, b"")).await;
            if function == owner && nothing_to_refuse {
                assert_eq!(
                    answer.status,
                    200,
                    "{} through `{function}`: {}",
                    op.name(),
                    answer.text
                );
                assert_documented(&doc, &op, &answer);
            } else if function == owner {
                assert_eq!(
                    answer.status,
                    400,
                    "{} through `{function}`: {}",
                    op.name(),
                    answer.text
                );
                assert_documented(&doc, &op, &answer);
                if answer.media_type == "application/json" && answer.json.get("err_no").is_none() {
                    assert_eq!(answer.code(), "invalid_request", "{}", answer.text);
                }
            } else {
                assert_eq!(
                    (answer.status, answer.code()),
                    (404, "not_found"),
                    "{} is served by `{function}` as well as `{owner}`: {}",
                    op.name(),
                    answer.text
                );
                assert_error_envelope(&doc, &answer);
            }
        }
    }
}

#[tokio::test]
async fn unknown_paths_and_undocumented_methods_are_not_found() {
    let doc = load("openapi.yaml");
    let app = app().await;
    let ops = operations(&doc);
    let mut probes: Vec<(String, String)> = [
        ("GET", "/"),
        ("POST", "/"),
        ("POST", "/no/such/route"),
        ("GET", "/orders"),
        ("POST", "/openid/extra"),
        ("POST", "/notify"),
        ("POST", "/notify/alipay"),
        ("GET", "/refunds"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    for op in &ops {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let documented = ops.iter().any(|o| o.path == op.path && o.method == method);
            if !documented {
                probes.push((method.to_owned(), op.concrete_path("o1")));
            }
        }
    }
    for (method, path) in probes {
        for function in FUNCTIONS {
            let answer = call(&app, function, request(&method, &path, Some(ADMIN_KEY), b"{}")).await;
            assert_eq!(
                (answer.status, answer.code()),
                (404, "not_found"),
                "{method} {path} through `{function}`: {}",
                answer.text
            );
            assert_error_envelope(&doc, &answer);
        }
    }
}

#[tokio::test]
async fn secured_operations_refuse_a_missing_or_other_token() {
    let doc = load("openapi.yaml");
    let routes = template_routes();
    let app = app().await;
    for op in operations(&doc) {
        let function = owner(&routes, &op);
        let path = op.concrete_path("o1");
        match op.tokens(&doc) {
            Some((_, other)) => {
                for bearer in [None, Some(other), Some("0000")] {
                    let answer = call(&app, function, request(&op.method, &path, bearer, b"")).await;
                    assert_eq!(
                        (answer.status, answer.code()),
                        (401, "unauthorized"),
                        "{} with {bearer:?}: {}",
                        op.name(),
                        answer.text
                    );
                    assert_documented(&doc, &op, &answer);
                }
            }
            None => {
                let answer = call(&app, function, request(&op.method, &path, None, b"")).await;
                assert_ne!(
                    answer.code(),
                    "unauthorized",
                    "{} needs no bearer: {}",
                    op.name(),
                    answer.text
                );
            }
        }
    }
}

/// A request body of `fields`, through the operation's function, with its bearer.
async fn send(app: &App, doc: &Value, op: &Operation, function: &str, fields: &Map<String, Value>) -> Answer {
    let bearer = op.tokens(doc).map(|(good, _)| good);
    let body = serde_json::to_vec(fields).expect("body");
    let answer = call(
        app,
        function,
        request(&op.method, &op.concrete_path("o1"), bearer, &body),
    )
    .await;
    assert_documented(doc, op, &answer);
    answer
}

#[tokio::test]
async fn required_fields_and_ranges_match_the_request_structs() {
    let doc = load("openapi.yaml");
    let routes = template_routes();
    let app = app().await;
    let mut checked = 0;
    for op in operations(&doc) {
        let Some(schema) = op.json_body(&doc) else {
            continue;
        };
        checked += 1;
        let name = op.name();
        let function = owner(&routes, &op);
        let required: Vec<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|v| v.as_str().expect("required names").to_owned())
            .collect();
        let properties = schema["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no properties"));
        let mut full = Map::new();
        for (field, property) in properties {
            let example = effective(&doc, property)
                .get("example")
                .cloned()
                .unwrap_or_else(|| panic!("{name}: property {field} needs an example"));
            full.insert(field.clone(), example);
        }
        for field in &required {
            assert!(full.contains_key(field), "{name}: required {field} is not a property");
        }
        let only_required: Map<String, Value> = full
            .iter()
            .filter(|(k, _)| required.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let not_refused = |answer: &Answer, what: &str| {
            assert_ne!(answer.status, 400, "{name}: {what} is refused: {}", answer.text);
        };

        // Every documented property, each with its example, is accepted.
        not_refused(
            &send(&app, &doc, &op, function, &full).await,
            "a body with every property",
        );
        // Only the required fields: the structs need nothing more.
        not_refused(
            &send(&app, &doc, &op, function, &only_required).await,
            "a body of only the required fields",
        );
        // Without any one required field: the structs cannot do without it.
        for field in &required {
            let mut body = only_required.clone();
            body.remove(field);
            let answer = send(&app, &doc, &op, function, &body).await;
            assert_eq!(
                answer.status, 400,
                "{name}: a body without required {field} is accepted: {}",
                answer.text
            );
        }

        for (field, property) in properties {
            let property = effective(&doc, property);
            let with = |value: Value| {
                let mut body = only_required.clone();
                body.insert(field.clone(), value);
                body
            };
            let refused = |answer: &Answer, what: String| {
                assert_eq!(
                    (answer.status, answer.code()),
                    (400, "invalid_request"),
                    "{name}: {field} {what} is accepted: {}",
                    answer.text
                );
            };
            if property.get("nullable") == Some(&json!(true)) {
                let answer = send(&app, &doc, &op, function, &with(Value::Null)).await;
                not_refused(&answer, &format!("{field}: null"));
            }
            if let Some(values) = property.get("enum").and_then(Value::as_array) {
                for value in values {
                    not_refused(
                        &send(&app, &doc, &op, function, &with(value.clone())).await,
                        &format!("{field}: {value}"),
                    );
                }
                refused(
                    &send(&app, &doc, &op, function, &with(json!("not-in-enum"))).await,
                    "outside its enum".into(),
                );
            }
            let int = |key: &str| property.get(key).and_then(Value::as_i64);
            if let Some(min) = int("minimum") {
                not_refused(
                    &send(&app, &doc, &op, function, &with(json!(min))).await,
                    &format!("{field}: {min}"),
                );
                refused(
                    &send(&app, &doc, &op, function, &with(json!(min - 1))).await,
                    format!("{}", min - 1),
                );
            }
            if let Some(max) = int("maximum") {
                not_refused(
                    &send(&app, &doc, &op, function, &with(json!(max))).await,
                    &format!("{field}: {max}"),
                );
                refused(
                    &send(&app, &doc, &op, function, &with(json!(max + 1))).await,
                    format!("{}", max + 1),
                );
            }
            if property.get("type") == Some(&json!("string")) && property.get("enum").is_none() {
                let len = |key: &str| property.get(key).and_then(Value::as_u64).map(|n| n as usize);
                if let Some(max) = len("maxLength") {
                    let at = "a".repeat(max);
                    not_refused(
                        &send(&app, &doc, &op, function, &with(json!(at))).await,
                        &format!("{field}: {max} chars"),
                    );
                    let over = "a".repeat(max + 1);
                    refused(
                        &send(&app, &doc, &op, function, &with(json!(over))).await,
                        format!("of {} chars", max + 1),
                    );
                }
                if len("minLength") == Some(1) {
                    refused(&send(&app, &doc, &op, function, &with(json!(""))).await, "empty".into());
                }
                if property.contains_key("pattern") {
                    refused(
                        &send(&app, &doc, &op, function, &with(json!(BAD_ID))).await,
                        format!("`{BAD_ID}`"),
                    );
                }
            }
        }
    }
    assert!(
        checked >= 5,
        "expected the JSON bodies of openid, prepay, refund, settle and notify/douyin"
    );
}

/// The id patterns of the document are the rules the handlers apply.
#[test]
fn id_patterns_are_the_handlers_rules() {
    let doc = load("openapi.yaml");
    let schemas = &doc["components"]["schemas"];
    type Rule = fn(&str) -> bool;
    let rules: [(&str, Rule); 2] = [
        ("OutOrderNo", valid_out_order_no),
        ("BackOfficeNo", valid_back_office_no),
    ];
    for (name, rule) in rules {
        let pattern = schemas[name]["pattern"].as_str().expect("pattern");
        let max: usize = pattern
            .strip_prefix("^[0-9A-Za-z_-]{1,")
            .and_then(|rest| rest.strip_suffix("}$"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name}: unexpected pattern {pattern}"));
        assert_eq!(schemas[name]["maxLength"], json!(max), "{name}");
        for (value, fits) in [
            ("a".repeat(max), true),
            ("a".repeat(max + 1), false),
            (String::new(), false),
            ("Az09_-".into(), true),
            (BAD_ID.into(), false),
            ("订单".into(), false),
            ("a b".into(), false),
        ] {
            assert_eq!(rule(&value), fits, "{name}: {value:?}");
        }
    }
}
