//! One entry point per function: route, parse, call the service, answer.

use crate::app::App;
use crate::channel::callback::{Inbound, Refusal};
use crate::console;
use crate::domain::order::Platform;
use crate::domain::time::now_secs;
use crate::error::ApiError;
use crate::http::{client_ip, require_admin};
use crate::http::{is_route, json_body, raw_body, respond, segments, unknown_route};
use crate::service::{
    admin, admin_webhooks, auth, login, notify, orders, prepay, refund as refunds, settle as settlement,
};
use crate::store::Store;
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};

pub async fn openid<S: Store + ?Sized>(app: &App<S>, req: Request) -> Response<Body> {
    if !is_route(&req, &Method::POST, &["openid"]) {
        return respond::<()>(Err(unknown_route(&req)));
    }
    respond(async { login::login(app, json_body(&req)?).await }.await)
}

pub async fn prepay<S: Store + ?Sized>(app: &App<S>, req: Request) -> Response<Body> {
    if !is_route(&req, &Method::POST, &["prepay"]) {
        return respond::<()>(Err(unknown_route(&req)));
    }
    respond(
        async {
            let request: Result<prepay::PrepayRequest, _> = json_body(&req);
            match request {
                // The session and the catalog entry in one table request.
                Ok(request) if prepay::check(&request).is_ok() => {
                    let (session, item) = auth::session_with_item(app, &req, &request.sku).await?;
                    prepay::prepay_item(app, &session, request, item, &client_ip(&req)).await
                }
                // A bad request: the session first, as ever (401 before 400).
                request => {
                    let session = auth::session(app, &req).await?;
                    prepay::prepay(app, &session, request?, &client_ip(&req)).await
                }
            }
        }
        .await,
    )
}

pub async fn query<S: Store + ?Sized>(app: &App<S>, req: Request) -> Response<Body> {
    let path = segments(&req);
    let result: Result<serde_json::Value, ApiError> = async {
        match (req.method(), path.as_slice()) {
            (&Method::GET, [.., "orders", out_order_no]) if !is_admin_order(&path) => {
                let session = auth::session(app, &req).await?;
                let answer = orders::order_status(app, &session, out_order_no).await?;
                Ok(serde_json::to_value(answer).unwrap_or_default())
            }
            (&Method::GET, [.., "refunds", out_refund_no]) => {
                require_admin(&req, app.config.admin_api_key.as_ref())?;
                let answer = refunds::refund_state(app, out_refund_no).await?;
                Ok(serde_json::to_value(answer).unwrap_or_default())
            }
            _ => Err(unknown_route(&req)),
        }
    }
    .await;
    respond(result)
}

/// `/admin/orders/{no}` is the back office's, not the mini-program's `/orders/{no}`.
fn is_admin_order(path: &[&str]) -> bool {
    path.iter().rev().nth(2) == Some(&"admin")
}

/// The back office's reads and its console (CONTRACT.md §10). The console page itself
/// needs no key: it holds no data, and asks for the key to call the routes that do.
pub async fn admin<S: Store + ?Sized>(app: &App<S>, req: Request) -> Response<Body> {
    let path = segments(&req);
    let query = req.uri().query();
    let key = app.config.admin_api_key.as_ref();
    match (req.method(), path.as_slice()) {
        (&Method::GET, [.., "admin", "orders"]) => respond(
            async {
                require_admin(&req, key)?;
                admin::list_orders(app, query).await
            }
            .await,
        ),
        (&Method::GET, [.., "admin", "orders", out_order_no]) => respond(
            async {
                require_admin(&req, key)?;
                admin::order_detail(app, out_order_no, query).await
            }
            .await,
        ),
        (&Method::GET, [.., "admin", "orders.csv"]) => {
            let csv = async {
                require_admin(&req, key)?;
                admin::orders_csv(app, query).await
            }
            .await;
            match csv {
                Ok(text) => csv_response(text),
                Err(err) => respond::<()>(Err(err)),
            }
        }
        (&Method::GET, [.., "admin", "webhooks"]) => respond(
            async {
                require_admin(&req, key)?;
                admin_webhooks::list_webhooks(app, query).await
            }
            .await,
        ),
        (&Method::POST, [.., "admin", "webhooks", event_id, "redeliver"]) => respond(
            async {
                require_admin(&req, key)?;
                admin_webhooks::redeliver(app, event_id, query, now_secs()).await
            }
            .await,
        ),
        (&Method::GET, [.., "console"]) => console::page(),
        _ => respond::<()>(Err(unknown_route(&req))),
    }
}

pub async fn refund<S: Store + ?Sized>(app: &App<S>, req: Request) -> Response<Body> {
    if !is_route(&req, &Method::POST, &["refund"]) {
        return respond::<()>(Err(unknown_route(&req)));
    }
    respond(
        async {
            require_admin(&req, app.config.admin_api_key.as_ref())?;
            refunds::refund(app, json_body(&req)?).await
        }
        .await,
    )
}

pub async fn settle<S: Store + ?Sized>(app: &App<S>, req: Request) -> Response<Body> {
    if !is_route(&req, &Method::POST, &["settle"]) {
        return respond::<()>(Err(unknown_route(&req)));
    }
    respond(
        async {
            require_admin(&req, app.config.admin_api_key.as_ref())?;
            settlement::settle(app, json_body(&req)?).await
        }
        .await,
    )
}

pub async fn notify<S: Store + ?Sized>(app: &App<S>, req: Request) -> Response<Body> {
    let platform = if is_route(&req, &Method::POST, &["notify", "douyin"]) {
        Platform::Douyin
    } else if is_route(&req, &Method::POST, &["notify", "wechat"]) {
        Platform::Wechat
    } else {
        return respond::<()>(Err(unknown_route(&req)));
    };
    let reply = match raw_body(&req) {
        Ok(body) => {
            let inbound = Inbound {
                headers: req.headers(),
                body,
            };
            notify::answer(app, platform, inbound).await
        }
        Err(_) => {
            let inbound = Inbound {
                headers: req.headers(),
                body: &[],
            };
            notify::reply(app, platform, &inbound, Refusal::TooLarge.into())
        }
    };
    Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type)
        .body(Body::Text(reply.body))
        .expect("a channel's status and content type are valid")
}

fn csv_response(body: String) -> Response<Body> {
    Response::builder()
        .status(200)
        .header("content-type", "text/csv; charset=utf-8")
        .header("content-disposition", "attachment; filename=\"orders.csv\"")
        .body(Body::Text(body))
        .expect("static status and headers are valid")
}

#[cfg(test)]
mod tests {
    //! Each route driven by its sample event in `events/`, as `cargo lambda invoke` sends it.

    use super::*;
    use crate::config::Config;
    use crate::domain::ids::session_key_of;
    use crate::domain::order::{Order, OrderStatus, Platform, PlatformOrder};
    use crate::douyin::fake::FakeDouyin;
    use crate::secret::Secret;
    use crate::store::{CatalogItem, MemoryStore, OrderStore, Session, SessionStore};
    use serde_json::Value;
    use std::collections::HashMap;
    use std::sync::Arc;

    const EVENT_SESSION: &str = "0123456789abcdef0123456789abcdef";

    async fn app() -> (App, Arc<MemoryStore>) {
        let env: HashMap<String, String> = [
            ("TABLE_NAME", "t"),
            ("DOUYIN_APP_ID", "tt226e54d3bd581bf801"),
            ("DOUYIN_APP_SECRET", "secret"),
            ("DOUYIN_SALT", "salt"),
            ("DOUYIN_TOKEN", "douyin_mini_token"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
        let store = Arc::new(MemoryStore::new());
        store.add_catalog_item(CatalogItem {
            sku: "course-basic".into(),
            price: 9900,
            subject: "Rust 基础课".into(),
            body: "十二讲".into(),
            image: "https://example.com/c.png".into(),
            goods_type: None,
            tag_group_id: None,
        });
        let session = Session {
            openid: "openid-event".into(),
            unionid: None,
            platform: Platform::Douyin,
            session_key: Secret::new("k"),
            expires_at: crate::domain::time::now_secs() + 600,
        };
        store
            .put_session(&session_key_of(EVENT_SESSION), &session)
            .await
            .unwrap();
        let config = Config::from_source(&env, &HashMap::new()).unwrap();
        let app = App::assemble(config, store.clone(), Some(Arc::new(FakeDouyin::default())));
        (app, store)
    }

    fn event(text: &str) -> Request {
        lambda_http::request::from_str(text).expect("event parses")
    }

    fn answer(response: Response<Body>) -> (u16, Value) {
        let status = response.status().as_u16();
        let body = match response.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("unexpected body {other:?}"),
        };
        (status, body)
    }

    async fn insert_order(store: &MemoryStore, out_order_no: &str, amount: i64) {
        let order = Order {
            openid: "openid-event".into(),
            sku: "course-basic".into(),
            total_amount: amount,
            pay_deadline: i64::MAX / 2,
            platform_order: Some(PlatformOrder {
                order_id: "1".into(),
                order_token: "t".into(),
            }),
            ..crate::testing::fixtures::order(
                out_order_no,
                Platform::Douyin,
                crate::domain::channel::ChannelId::DouyinEcpay,
                OrderStatus::Pending,
            )
        };
        store.insert_order(&order, out_order_no, None).await.unwrap();
    }

    #[tokio::test]
    async fn openid_event_logs_in() {
        let (app, _) = app().await;
        let (status, body) = answer(openid(&app, event(include_str!("../../events/openid.json"))).await);
        assert_eq!(status, 200, "{body}");
        assert!(body["openid"].as_str().unwrap().starts_with("openid-"));
        assert_eq!(body["session"].as_str().unwrap().len(), 32);
    }

    #[tokio::test]
    async fn prepay_event_orders_from_the_catalog() {
        let (app, store) = app().await;
        let (status, body) = answer(prepay(&app, event(include_str!("../../events/prepay.json"))).await);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["total_amount"], 9900);
        assert_eq!(body["status"], "PENDING");
        assert_eq!(store.order_count(), 1);
    }

    #[tokio::test]
    async fn query_events_v2_and_rest_find_the_owners_order() {
        let (app, store) = app().await;
        let (status, _) = answer(query(&app, event(include_str!("../../events/query.json"))).await);
        assert_eq!(status, 404);
        insert_order(&store, "1732240000a1b2c3d4e5f6a7b8c9d0", 9900).await;
        for text in [
            include_str!("../../events/query.json"),
            include_str!("../../events/query-rest.json"),
        ] {
            let (status, body) = answer(query(&app, event(text)).await);
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["out_order_no"], "1732240000a1b2c3d4e5f6a7b8c9d0");
            assert_eq!(body["code"], 9);
        }
    }

    #[tokio::test]
    async fn notify_event_pays_the_order_once() {
        let (app, store) = app().await;
        insert_order(&store, "202408041111312119", 1).await;
        for _ in 0..2 {
            let (status, body) = answer(notify(&app, event(include_str!("../../events/notify-douyin.json"))).await);
            assert_eq!(
                (status, body),
                (200, serde_json::json!({"err_no": 0, "err_tips": "success"}))
            );
        }
        let order = store.get_order("202408041111312119").await.unwrap().unwrap();
        assert_eq!(order.status, OrderStatus::Paid);
        assert_eq!(order.payment.unwrap().trade_no, "7398108028895054107");
    }

    /// The trade callback event is signed with the key that plays the platform's in
    /// `douyin/trade/testdata` (its public half configured as the platform key).
    #[tokio::test]
    async fn trade_notify_event_is_verified_from_its_headers_and_pays_once() {
        let (mut app, store) = app().await;
        let mut config = app.config.clone();
        if let Some(douyin) = config.douyin.as_mut() {
            douyin.trade.platform_public_key =
                Some(include_str!("douyin/trade/testdata/platform_public.pem").to_owned());
        }
        let api = Arc::new(crate::douyin::trade::fake::FakeTrade::default());
        app.set_trade(App::trade_from_config(&config, api).unwrap());
        insert_order(&store, "1732240000f0e1d2c3b4a5968778695a", 9900).await;
        let text = include_str!("../../events/notify-douyin-trade.json");
        for _ in 0..2 {
            let (status, body) = answer(notify(&app, event(text)).await);
            assert_eq!(
                (status, body),
                (200, serde_json::json!({"err_no": 0, "err_tips": "success"}))
            );
        }
        let order = store
            .get_order("1732240000f0e1d2c3b4a5968778695a")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(order.status, OrderStatus::Paid);
        assert_eq!(order.payment.unwrap().trade_no, "motb73383242802221734767173");
        // The same body with the signature header of another body is refused.
        let forged = text.replace(
            "\"byte-timestamp\": \"1732240001\"",
            "\"byte-timestamp\": \"1732240002\"",
        );
        assert_ne!(forged, text);
        let (status, body) = answer(notify(&app, event(&forged)).await);
        assert_eq!((status, body["err_no"].as_i64()), (401, Some(2)));
    }

    /// The console under an API Gateway stage (`/prod/console`), with no key: the page.
    #[tokio::test]
    async fn console_event_serves_the_page() {
        let (app, _) = app().await;
        let response = admin(&app, event(include_str!("../../events/console.json"))).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
        assert!(response.headers().contains_key("content-security-policy"));
        assert!(matches!(response.body(), Body::Text(t) if t == crate::console::PAGE));
    }

    #[tokio::test]
    async fn each_platform_is_answered_in_its_own_format() {
        let (app, _) = app().await;
        let mut douyin = event(include_str!("../../events/notify-douyin.json"));
        *douyin.body_mut() = Body::Text("not a callback".into());
        let reply = notify(&app, douyin).await;
        assert_eq!(reply.headers()["content-type"], "application/json");
        let (status, body) = answer(reply);
        assert_eq!((status, body["err_no"].as_i64()), (400, Some(1)));

        // This deployment has no WeChat channel: nothing says how WeChat would read an
        // answer, so a plain code and message, and WeChat retries the 500.
        let mut wechat =
            event(&include_str!("../../events/notify-douyin.json").replace("/notify/douyin", "/notify/wechat"));
        *wechat.body_mut() = Body::Text("<xml></xml>".into());
        let (status, body) = answer(notify(&app, wechat).await);
        assert_eq!((status, body["code"].as_str()), (500, Some("FAIL")));
    }

    #[tokio::test]
    async fn a_route_of_another_function_is_not_found() {
        let (app, _) = app().await;
        let (status, body) = answer(openid(&app, event(include_str!("../../events/prepay.json"))).await);
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
        let (status, _) = answer(notify(&app, event(include_str!("../../events/query.json"))).await);
        assert_eq!(status, 404);
    }
}
