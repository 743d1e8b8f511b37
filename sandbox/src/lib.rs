//! A local stand-in for the Douyin open platform and for WeChat (mini-program login and
//! WeChat Pay v2 and v3), for integration tests (in process, over real HTTP on 127.0.0.1) and
//! the demo stack (as the `sandbox` binary).
//!
//! It checks requests the way the platforms do (app, sign, strict parameter types),
//! keeps orders, refunds, settlements, access tokens and order-center pushes, and
//! sends correctly signed callbacks when a test "pays" or finishes a refund or
//! settlement. Tests drive it through [`Sandbox`]; scripts through the same operations
//! under `/sandbox/` (WeChat's under `/sandbox/wechat/`).

pub mod calls;
pub mod clock;
pub mod config;
pub mod control;
pub mod delivery;
pub mod douyin;
pub mod error;
pub mod faults;
pub mod json_body;
pub mod msg_style;
pub mod notify_url;
pub mod random;
pub mod router;
pub mod settlement_rules;
pub mod state;
pub mod tls;
pub mod trade;
pub mod trade_keys;
pub mod traffic;
pub mod wechat;
pub mod wechat_v3;
pub mod wechat_v3_keys;

pub use config::{SandboxConfig, TradeSandboxConfig, Tunnel, WechatSandboxConfig};
pub use douyin::{
    CallbackOptions, Delivery, IssuedToken, OrderStatus, PayOptions, PushRecord, SandboxOrder, SandboxRefund,
    SandboxSettle, SettleReceiver, TransferStatus,
};
pub use error::SandboxError;
pub use faults::{Fault, FaultKind, FaultWhen};
pub use trade::{
    ItemOrder, ItemRefund, RefundOrigin, TradeCancel, TradeOrder, TradePayOptions, TradePayStatus, TradePayment,
    TradeRefund, TradeSettle, TradeUserRefund,
};
pub use trade_keys::TradeKeys;
pub use wechat::{PayApi, TradeState, WechatOrder, WechatPayOptions, WechatRefund, WechatRefundStatus};
pub use wechat_v3::{
    SpoiledSignatures, WechatV3Certificate, WechatV3Key, WechatV3Mode, WechatV3NotifyOptions, WechatV3PayOptions,
    WechatV3RefundOutcome, WechatV3SandboxConfig,
};
pub use wechat_v3_keys::WechatV3Keys;

use state::{SharedState, State};
use tls::TlsIdentity;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base_url: String,
    /// `https://127.0.0.1:<port>`: the same routes over TLS, as WeChat Pay is served
    /// (trust [`Sandbox::tls_ca_pem`]); `/secapi/` answers only there, and only with the
    /// merchant certificate of [`WechatSandboxConfig::client_cert_pem`].
    pub tls_url: String,
    state: SharedState,
    server: JoinHandle<()>,
    tls_server: JoinHandle<()>,
}

impl Sandbox {
    /// Serves on a fresh port of 127.0.0.1 in a spawned task.
    ///
    /// # Panics
    /// When no local port can be bound (nothing a test could do about it), or when the
    /// configuration is one the consoles refuse or the trade keys do not parse (a test
    /// bug; see [`SandboxConfig::check`]).
    pub async fn start(config: SandboxConfig) -> Sandbox {
        if let Err(problem) = config.check() {
            panic!("sandbox configuration refused: {problem}");
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port for the sandbox");
        let address = listener.local_addr().expect("a bound listener has an address");
        let tls_listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a local port for the sandbox's TLS");
        let tls_address = tls_listener.local_addr().expect("a bound listener has an address");
        let state = State::new(config);
        let app = router::app(state.clone());
        let tls_app = app.clone();
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("sandbox server stopped: {e}");
            }
        });
        let tls_server = tokio::spawn(async move {
            if let Err(e) = tls::serve(tls_listener, tls_app, TlsIdentity::shared()).await {
                eprintln!("sandbox TLS server stopped: {e}");
            }
        });
        Sandbox {
            base_url: format!("http://{address}"),
            tls_url: format!("https://{tls_address}"),
            state,
            server,
            tls_server,
        }
    }

    /// The CA certificate (PEM) behind [`Sandbox::tls_url`]: the same for every sandbox
    /// of the process.
    pub fn tls_ca_pem() -> &'static str {
        TlsIdentity::shared().ca_cert_pem()
    }

    /// Serves on `listener` until the task is cancelled or serving fails (or at once,
    /// when the configuration is refused or the trade keys do not parse).
    pub async fn serve(listener: TcpListener, config: SandboxConfig) -> std::io::Result<()> {
        config.check().map_err(std::io::Error::other)?;
        if let Some(trade) = &config.trade {
            trade::keyring::Keyring::load(trade).map_err(std::io::Error::other)?;
        }
        axum::serve(listener, router::app(State::new(config))).await
    }

    /// Like [`Sandbox::serve`], and the same routes over TLS on `tls_listener` (see
    /// [`Sandbox::tls_url`]), one state for both, until either stops.
    pub async fn serve_with_tls(
        listener: TcpListener,
        tls_listener: TcpListener,
        config: SandboxConfig,
    ) -> std::io::Result<()> {
        config.check().map_err(std::io::Error::other)?;
        if let Some(trade) = &config.trade {
            trade::keyring::Keyring::load(trade).map_err(std::io::Error::other)?;
        }
        let app = router::app(State::new(config));
        tokio::select! {
            served = axum::serve(listener, app.clone()) => served,
            served = tls::serve(tls_listener, app, TlsIdentity::shared()) => served,
        }
    }

    /// The configuration it was started with (the tunnel may have moved since).
    pub fn config(&self) -> &SandboxConfig {
        &self.state.config
    }

    /// Points the tunnel at another local origin (or removes it): the backend was
    /// restarted elsewhere behind the same public URL. Calls already under way keep
    /// the address they resolved.
    ///
    /// # Panics
    /// When the tunnel is malformed (a test bug; see [`Tunnel::check`]).
    pub fn set_tunnel(&self, tunnel: Option<Tunnel>) {
        if let Some(problem) = tunnel.as_ref().and_then(|t| t.check().err()) {
            panic!("tunnel refused: {problem}");
        }
        self.state.http.set_tunnel(tunnel);
    }

    /// A fresh one-time login code for `user`, as `tt.login` would return.
    pub fn login_code(&self, user: &str) -> String {
        douyin::login::issue_code(&self.state, user)
    }

    /// The openid login reports for `user` (stable, derived from the app id and user).
    pub fn openid_of(&self, user: &str) -> String {
        douyin::login::openid_of(&self.state.config.app_id, user)
    }

    /// Pays the order (SUCCESS) and sends the payment callback `options.deliveries`
    /// times concurrently; returns what each delivery got back, in sending order.
    /// Paying a paid order only resends the callback. Fails for unknown orders, for
    /// failed and timed-out ones unless `options.late` (a payment after the end), and
    /// when a callback is to be sent but there is no notify URL.
    pub async fn pay(&self, out_order_no: &str, options: PayOptions) -> Result<Vec<Delivery>, String> {
        douyin::payment::pay(&self.state, out_order_no, options)
            .await
            .map_err(|e| e.to_string())
    }

    /// Marks the order FAIL; no callback is sent, as on the platform.
    pub fn fail_order(&self, out_order_no: &str) -> Result<(), String> {
        douyin::payment::fail(&self.state, out_order_no)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Makes an unpaid order time out now (instead of waiting out its `valid_time`).
    pub fn expire_order(&self, out_order_no: &str) -> Result<(), String> {
        douyin::payment::expire(&self.state, out_order_no)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Moves the paid order's payment `days` into the past (1 to 3650), as if that
    /// much time had gone by since: the platform settles an order only 7 days after
    /// its payment. Fails for unknown and unpaid orders.
    pub fn age_order(&self, out_order_no: &str, days: i64) -> Result<SandboxOrder, String> {
        douyin::payment::age(&self.state, out_order_no, days).map_err(|e| e.to_string())
    }

    /// The order as the platform holds it now.
    pub fn order(&self, out_order_no: &str) -> Option<SandboxOrder> {
        douyin::order(&self.state, out_order_no)
    }

    /// Finishes the refund, SUCCESS when `success` else FAIL, and sends the refund
    /// callback `options.deliveries` times concurrently; returns what each delivery got
    /// back, in sending order. The outcome is set once: a repeat with the same outcome
    /// only resends the callback, the other outcome is refused. Fails for unknown
    /// refunds and when there is no notify URL (nothing changes then).
    pub async fn finish_refund(
        &self,
        out_refund_no: &str,
        success: bool,
        options: CallbackOptions,
    ) -> Result<Vec<Delivery>, String> {
        douyin::refund_finish::finish(&self.state, out_refund_no, success, options)
            .await
            .map_err(|e| e.to_string())
    }

    /// Finishes the settlement like [`Sandbox::finish_refund`] finishes a refund; it
    /// settles the order total minus the refunds that succeeded by now.
    pub async fn finish_settle(
        &self,
        out_settle_no: &str,
        success: bool,
        options: CallbackOptions,
    ) -> Result<Vec<Delivery>, String> {
        douyin::settle_finish::finish(&self.state, out_settle_no, success, options)
            .await
            .map_err(|e| e.to_string())
    }

    /// The refund as the platform holds it now.
    pub fn refund(&self, out_refund_no: &str) -> Option<SandboxRefund> {
        douyin::refund(&self.state, out_refund_no)
    }

    /// The settlement as the platform holds it now.
    pub fn settle(&self, out_settle_no: &str) -> Option<SandboxSettle> {
        douyin::settle(&self.state, out_settle_no)
    }

    /// Accepted order-center pushes, in order of arrival.
    pub fn pushes(&self) -> Vec<PushRecord> {
        douyin::pushes(&self.state)
    }

    /// Successful `v2/token` answers: each one cut the earlier tokens to five minutes.
    pub fn token_fetches(&self) -> usize {
        douyin::token_fetches(&self.state)
    }

    /// Every access token issued, in issue order, with its current expiry.
    pub fn tokens(&self) -> Vec<IssuedToken> {
        douyin::tokens(&self.state)
    }

    /// Every issued access token expires now (to test the backend's refresh).
    pub fn expire_tokens(&self) {
        douyin::expire_tokens(&self.state);
    }

    /// A fresh `wx.login` code for `user` (five minutes, single use) for WeChat's
    /// `sns/jscode2session`.
    ///
    /// # Panics
    /// When the sandbox has no WeChat config (a test bug).
    pub fn wechat_login_code(&self, user: &str) -> String {
        wechat::issue_code(&self.state, user)
            .map(|(code, _)| code)
            .expect("WeChat login code")
    }

    /// The WeChat openid of `user` in the mini-program: stable, and not the user's
    /// Douyin openid. `unifiedorder` accepts exactly these as JSAPI payers.
    ///
    /// # Panics
    /// When the sandbox has no WeChat config (a test bug).
    pub fn wechat_openid_of(&self, user: &str) -> String {
        wechat::openid_of(&self.state, user).expect("WeChat openid")
    }

    /// Pays the WeChat order (SUCCESS) and sends the payment notify `options.deliveries`
    /// times concurrently; returns what each delivery got back, in sending order.
    /// Paying a paid order only resends the notify. Fails for unknown orders, and for
    /// closed, failed and expired ones unless `options.late` (a payment after the end).
    pub async fn wechat_pay(&self, out_trade_no: &str, options: WechatPayOptions) -> Result<Vec<Delivery>, String> {
        wechat::payment::pay(&self.state, out_trade_no, options)
            .await
            .map_err(|e| e.to_string())
    }

    /// Marks the WeChat order PAYERROR; no notify is sent, as on the platform.
    pub fn wechat_fail(&self, out_trade_no: &str) -> Result<(), String> {
        wechat::payment::fail(&self.state, out_trade_no)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Marks the unpaid WeChat order CLOSED (as WeChat's own timeout would).
    pub fn wechat_close(&self, out_trade_no: &str) -> Result<(), String> {
        wechat::payment::close(&self.state, out_trade_no)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Marks the unpaid WeChat order USERPAYING (the payer has not finished yet).
    pub fn wechat_user_paying(&self, out_trade_no: &str) -> Result<(), String> {
        wechat::payment::user_paying(&self.state, out_trade_no)
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Finishes the WeChat refund, SUCCESS when `success` else REFUNDCLOSE, and sends
    /// the refund notify (encrypted `req_info`, no sign) `options.deliveries` times
    /// concurrently. The outcome is set once, like [`Sandbox::finish_refund`]'s.
    /// `options.tamper_signature` encrypts `req_info` with a wrong key.
    pub async fn wechat_finish_refund(
        &self,
        out_refund_no: &str,
        success: bool,
        options: CallbackOptions,
    ) -> Result<Vec<Delivery>, String> {
        let outcome = if success {
            WechatRefundStatus::Success
        } else {
            WechatRefundStatus::RefundClose
        };
        self.wechat_finish_refund_as(out_refund_no, outcome, options).await
    }

    /// Like [`Sandbox::wechat_finish_refund`], with any final `refund_status`: SUCCESS,
    /// REFUNDCLOSE, or CHANGE (退款异常: the money could not go back to the card; the
    /// refund stays CHANGE). PROCESSING is refused.
    pub async fn wechat_finish_refund_as(
        &self,
        out_refund_no: &str,
        outcome: WechatRefundStatus,
        options: CallbackOptions,
    ) -> Result<Vec<Delivery>, String> {
        wechat::refund_finish::finish(&self.state, out_refund_no, outcome, options)
            .await
            .map_err(|e| e.to_string())
    }

    /// The WeChat order as the platform holds it now.
    pub fn wechat_order(&self, out_trade_no: &str) -> Option<WechatOrder> {
        wechat::order(&self.state, out_trade_no)
    }

    /// The WeChat refund as the platform holds it now.
    pub fn wechat_refund(&self, out_refund_no: &str) -> Option<WechatRefund> {
        wechat::refund(&self.state, out_refund_no)
    }

    /// Pays the WeChat order placed with APIv3 (SUCCESS) and sends the TRANSACTION.SUCCESS
    /// notify `options.deliveries` times concurrently, each delivery signed on its own;
    /// returns what each got back (200 or 204 acknowledges), in sending order. Paying a
    /// paid order only resends the notify. Fails for unknown and v2 orders, and for
    /// closed, failed and expired ones unless `options.late`. Failing, closing and
    /// USERPAYING are [`Sandbox::wechat_fail`], [`Sandbox::wechat_close`] and
    /// [`Sandbox::wechat_user_paying`], which serve both APIs.
    pub async fn wechat_v3_pay(
        &self,
        out_trade_no: &str,
        options: WechatV3PayOptions,
    ) -> Result<Vec<Delivery>, String> {
        wechat_v3::payment::pay(&self.state, out_trade_no, options)
            .await
            .map_err(|e| e.to_string())
    }

    /// Finishes the refund of a v3 order as `outcome` (SUCCESS, CLOSED or ABNORMAL), once
    /// (the same again only resends), and sends the REFUND.* notify.
    pub async fn wechat_v3_finish_refund(
        &self,
        out_refund_no: &str,
        outcome: WechatV3RefundOutcome,
        options: WechatV3NotifyOptions,
    ) -> Result<Vec<Delivery>, String> {
        wechat_v3::refund_finish::finish(&self.state, out_refund_no, outcome, options)
            .await
            .map_err(|e| e.to_string())
    }

    /// The order as the platform holds it now (either API's; v3 ones have `api` V3).
    pub fn wechat_v3_order(&self, out_trade_no: &str) -> Option<WechatOrder> {
        self.wechat_order(out_trade_no)
    }

    /// The refund as the platform holds it now (`status` in v2 words: REFUNDCLOSE is v3's
    /// CLOSED, CHANGE its ABNORMAL).
    pub fn wechat_v3_refund(&self, out_refund_no: &str) -> Option<WechatRefund> {
        self.wechat_refund(out_refund_no)
    }

    fn v3_platform(&self) -> &wechat_v3::V3Platform {
        self.state
            .wechat_v3
            .as_ref()
            .expect("the sandbox has no WeChat APIv3 config (a test bug)")
    }

    /// The platform certificates, oldest first (the newest signs).
    ///
    /// # Panics
    /// When APIv3 is off (a test bug), as every `wechat_v3_*` control below.
    pub fn wechat_v3_certificates(&self) -> Vec<WechatV3Certificate> {
        self.v3_platform().certificates()
    }

    /// Issues a new platform certificate (fresh key), listed after the old ones, which
    /// signs everything from now on. Fails when the merchant has no certificate.
    pub fn wechat_v3_rotate_certificate(&self) -> Result<WechatV3Certificate, String> {
        self.v3_platform().rotate_certificate()
    }

    /// The merchant profile now.
    pub fn wechat_v3_mode(&self) -> WechatV3Mode {
        self.v3_platform().mode()
    }

    /// Switches the merchant profile (public key, certificate, switching); fails when
    /// the mode's keys are not configured.
    pub fn wechat_v3_set_mode(&self, mode: WechatV3Mode) -> Result<(), String> {
        self.v3_platform().set_mode(mode)
    }

    /// The next `answers` answers and `notifies` notify deliveries carry a
    /// `WECHATPAY/SIGNTEST/...` probe instead of a signature (added to any pending).
    pub fn wechat_v3_probe_next(&self, answers: usize, notifies: usize) {
        self.v3_platform().spoil(SpoiledSignatures {
            probe_answers: answers,
            probe_notifies: notifies,
            ..SpoiledSignatures::default()
        });
    }

    /// The next `answers` answers and `notifies` notify deliveries are signed correctly
    /// over a timestamp ten minutes old (a verifier allows five).
    pub fn wechat_v3_stale_next(&self, answers: usize, notifies: usize) {
        self.v3_platform().spoil(SpoiledSignatures {
            stale_answers: answers,
            stale_notifies: notifies,
            ..SpoiledSignatures::default()
        });
    }

    /// Probe and stale signatures still to come.
    pub fn wechat_v3_spoiled(&self) -> SpoiledSignatures {
        self.v3_platform().spoiled()
    }

    /// While switching, signs every notify with `key` (`None`: either key at random,
    /// as WeChat's grey switch does).
    pub fn wechat_v3_fix_notify_key(&self, key: Option<WechatV3Key>) {
        self.v3_platform().set_notify_key(key);
    }

    /// What `tt.requestOrder` does with the backend's `data` and `byteAuthorization`:
    /// checks the signature (app public key, `key_version`, timestamp within an hour)
    /// and `data` (douyin-trade.md §2), then makes the order; returns its `orderId`.
    /// The same `data` again gives the same order; another `data` with the same
    /// `outOrderNo` is refused. Fails when the trade system is off.
    pub fn trade_request_order(&self, data: &str, byte_authorization: &str) -> Result<String, String> {
        trade::request_order::request_order(&self.state, data, byte_authorization).map_err(|e| e.to_string())
    }

    /// Pays the trade order (SUCCESS) and sends the `payment` callback
    /// `options.callback.deliveries` times concurrently; returns what each delivery got
    /// back, in sending order. Paying a paid order only resends the same `msg`. Fails
    /// for unknown orders, and for cancelled and expired ones unless `options.late` (a
    /// payment after the end; the order keeps its `cancel`).
    pub async fn trade_pay(&self, out_order_no: &str, options: TradePayOptions) -> Result<Vec<Delivery>, String> {
        trade::payment::pay(&self.state, out_order_no, options)
            .await
            .map_err(|e| e.to_string())
    }

    /// Ends the unpaid trade order (TIMEOUT in `order_query/`) and sends a `payment`
    /// callback with `status` CANCEL and `message` (`USER_CANCEL` or `TIME_OUT`).
    pub async fn trade_cancel(
        &self,
        out_order_no: &str,
        message: &str,
        options: CallbackOptions,
    ) -> Result<Vec<Delivery>, String> {
        trade::payment::cancel(&self.state, out_order_no, message, options)
            .await
            .map_err(|e| e.to_string())
    }

    /// The user asks for `amount` back on the platform's order page: sends
    /// `pre_create_refund`, and makes the refund (PROCESSING) with the `out_refund_no`
    /// of the first good synchronous reply; with no good reply there is no refund yet,
    /// and the application waits for [`Sandbox::trade_retry_user_refund`]. The order
    /// only has to be paid on the platform: paid with no callback delivered, it stages
    /// a refund application for an order the backend does not know as paid yet.
    pub async fn trade_user_refund(
        &self,
        out_order_no: &str,
        amount: i64,
        reason: &str,
        options: CallbackOptions,
    ) -> Result<TradeUserRefund, String> {
        trade::user_refund::user_refund(&self.state, out_order_no, amount, reason, options)
            .await
            .map_err(|e| e.to_string())
    }

    /// The platform sends the pending refund application `refund_id` again (the same
    /// `msg`), as it retries one that got no good reply; see
    /// [`Sandbox::trade_user_refund`]. Fails for unknown ids and for applications whose
    /// refund was made already.
    pub async fn trade_retry_user_refund(
        &self,
        refund_id: &str,
        options: CallbackOptions,
    ) -> Result<TradeUserRefund, String> {
        trade::user_refund::retry(&self.state, refund_id, options)
            .await
            .map_err(|e| e.to_string())
    }

    /// Finishes the trade refund, SUCCESS when `success` else FAIL, once (a repeat with
    /// the same outcome only resends, the other is refused), and sends the `refund`
    /// callback to the refund's `notify_url`, else the order's.
    pub async fn trade_finish_refund(
        &self,
        refund_id: &str,
        success: bool,
        options: CallbackOptions,
    ) -> Result<Vec<Delivery>, String> {
        trade::refund_finish::finish(&self.state, refund_id, success, options)
            .await
            .map_err(|e| e.to_string())
    }

    /// Finishes the trade settlement like [`Sandbox::trade_finish_refund`]; it settles
    /// the order total minus the refunds that succeeded by now.
    pub async fn trade_finish_settle(
        &self,
        out_settle_no: &str,
        success: bool,
        options: CallbackOptions,
    ) -> Result<Vec<Delivery>, String> {
        trade::settle_finish::finish(&self.state, out_settle_no, success, options)
            .await
            .map_err(|e| e.to_string())
    }

    /// Like [`Sandbox::age_order`], for a paid trade order.
    pub fn trade_age_order(&self, out_order_no: &str, days: i64) -> Result<TradeOrder, String> {
        trade::payment::age(&self.state, out_order_no, days).map_err(|e| e.to_string())
    }

    /// The trade order as the platform holds it now.
    pub fn trade_order(&self, out_order_no: &str) -> Option<TradeOrder> {
        trade::order(&self.state, out_order_no)
    }

    pub fn trade_refund(&self, refund_id: &str) -> Option<TradeRefund> {
        trade::refund(&self.state, refund_id)
    }

    pub fn trade_refund_by_out_no(&self, out_refund_no: &str) -> Option<TradeRefund> {
        trade::refund_by_out_no(&self.state, out_refund_no)
    }

    pub fn trade_settle(&self, out_settle_no: &str) -> Option<TradeSettle> {
        trade::settle(&self.state, out_settle_no)
    }

    /// Successful `oauth/client_token/` answers: each cut the earlier tokens to five minutes.
    pub fn client_token_fetches(&self) -> usize {
        trade::client_token_fetches(&self.state)
    }

    /// Every client token issued, in issue order, with its current expiry.
    pub fn client_tokens(&self) -> Vec<IssuedToken> {
        trade::client_tokens(&self.state)
    }

    /// Every issued client token expires now (to test the backend's refresh).
    pub fn expire_client_tokens(&self) {
        trade::expire_client_tokens(&self.state);
    }

    /// The next `fault.times` platform calls whose path starts with `fault.path_prefix`
    /// fail with `fault.kind`: instead of the platform's handling (`FaultWhen::Before`),
    /// or after it, losing the answer of work that was done (`FaultWhen::After`).
    pub fn set_fault(&self, fault: Fault) {
        self.state.faults.set(fault);
    }

    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Requests received on exactly this path, including refused and faulted ones.
    pub fn calls(&self, path: &str) -> usize {
        self.state.calls.count(path)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.server.abort();
        self.tls_server.abort();
    }
}
