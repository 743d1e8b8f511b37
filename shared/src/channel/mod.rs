//! Ways of paying. A channel is one platform API for taking money: how an order is
//! placed and paid for, asked about and closed, refunded and settled. Every order
//! records the channel it was made with; the services ask that channel and never the
//! platform or mode themselves, so a new way to pay is a new module here and one line
//! in [`registry`].

pub mod callback;
pub mod douyin_reply;
pub mod ecpay;
pub mod registry;
pub mod trade;
pub mod wechat_v2;
pub mod wechat_v2_reply;
pub mod wechat_v3;

pub use registry::Channels;

pub use crate::domain::channel::ChannelId;

use crate::domain::order::{Order, Payment, PaymentOutcome, PlatformOrder};
use crate::domain::refund::{Refund, Settlement};
use crate::douyin::money::MoneyQuery;
use crate::error::PlatformError;
use crate::store::CatalogItem;
use async_trait::async_trait;
use callback::{Ack, Inbound, Refusal, Reply, Verified};

/// An order's texts, cut to what the channel's order fields take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTexts {
    pub subject: String,
    pub body: String,
}

/// How closing an unpaid order on the platform went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closing {
    /// Nobody can pay it any more.
    Closed,
    /// It was paid before it could be closed: ask how.
    AlreadyPaid,
}

/// How the platform says a refund stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundAtPlatform {
    /// The platform has no refund with this number.
    Unknown,
    Processing {
        refund_no: String,
    },
    Success,
    Fail,
    /// Not refunded, not failed (WeChat's `CHANGE`): a person must act in the merchant
    /// console.
    NeedsAttention(String),
}

impl RefundAtPlatform {
    /// What a refund query that found the refund says.
    pub fn from_money(query: MoneyQuery) -> RefundAtPlatform {
        use crate::domain::refund::RefundStatus;
        match query.status {
            RefundStatus::Success => RefundAtPlatform::Success,
            RefundStatus::Fail => RefundAtPlatform::Fail,
            RefundStatus::Processing => RefundAtPlatform::Processing {
                refund_no: query.platform_no,
            },
        }
    }
}

/// Why a refund was not made.
#[derive(Debug)]
pub enum RefundNotMade {
    /// The platform refused, or its answer was lost (see [`PlatformError::is_certain_refusal`]).
    Platform(PlatformError),
    /// We refused before asking: the channel cannot carry this refund.
    Unallocatable(String),
}

impl From<PlatformError> for RefundNotMade {
    fn from(err: PlatformError) -> Self {
        RefundNotMade::Platform(err)
    }
}

/// The platform's order a placed order is paid with (pay parameters need it).
fn placed(order: &Order) -> Result<&PlatformOrder, PlatformError> {
    order
        .platform_order
        .as_ref()
        .ok_or_else(|| PlatformError::Unavailable("the order was not placed".into()))
}

/// A way of paying. Each call is one platform conversation for one order, refund or
/// settlement; recording its outcome is the services' part.
#[async_trait]
pub trait Channel: Send + Sync {
    fn id(&self) -> ChannelId;

    /// The order's subject and body for `item`, within this channel's field limits.
    fn texts(&self, item: &CatalogItem) -> OrderTexts;

    /// Completes a new order before it is stored (the trade system keeps the signed
    /// `tt.requestOrder` data on it).
    /// `Err` says why the item cannot be sold this way (a catalog entry lacking what
    /// the channel needs).
    fn prepare(&self, _order: &mut Order, _item: &CatalogItem) -> Result<(), String> {
        Ok(())
    }

    /// Makes the platform create the order; `None` when the mini-program places it
    /// itself. Idempotent on the order number, so repeating it after a failure yields
    /// the same platform order.
    async fn place(&self, order: &Order, client_ip: &str) -> Result<Option<PlatformOrder>, PlatformError>;

    /// What the mini-program pays with (the argument of its pay call).
    fn pay_params(&self, order: &Order, now: i64) -> Result<serde_json::Value, PlatformError>;

    /// How the payment of an unpaid order stands; `expired` once nobody may pay it any
    /// more (past its deadline and a grace period).
    async fn query_payment(&self, order: &Order, expired: bool, now: i64) -> Result<PaymentOutcome, PlatformError>;

    /// Closes an expired unpaid order the platform would still take payment for
    /// (asked only after [`PaymentOutcome::Expired`]).
    async fn close(&self, _order: &Order) -> Result<Closing, PlatformError> {
        Ok(Closing::Closed)
    }

    /// Asks for a recorded refund; the platform's refund number. Idempotent on
    /// `out_refund_no`.
    async fn refund(&self, order: &Order, refund: &Refund) -> Result<String, RefundNotMade>;

    /// Whether [`Self::refund`] reads the order's refunded and in-flight amounts (as they
    /// stand with this refund reserved), so that it must be given the order read again
    /// after the refund began; other channels are asked with the order as read before.
    fn refund_reads_refunds(&self) -> bool {
        false
    }

    async fn query_refund(&self, order: &Order, refund: &Refund) -> Result<RefundAtPlatform, PlatformError>;

    /// Asks for a recorded settlement; the platform's settle number.
    async fn settle(&self, _settlement: &Settlement) -> Result<String, PlatformError> {
        Err(PlatformError::Unavailable(format!("{} has no settlement", self.id())))
    }

    /// How a settlement stands; `None` when the platform has none with this number.
    async fn query_settle(&self, _settlement: &Settlement) -> Result<Option<MoneyQuery>, PlatformError> {
        Err(PlatformError::Unavailable(format!("{} has no settlement", self.id())))
    }

    /// Whether a callback that came to its platform's notify route is in this
    /// channel's shape (from its headers and the shape of its body, before any check).
    fn claims(&self, inbound: &Inbound) -> bool;

    /// Verifies a claimed callback over its raw bytes, then reads what it says. May ask
    /// the platform for the key it is verified with (WeChat's platform certificates).
    async fn read_callback(&self, inbound: &Inbound<'_>) -> Result<Verified, Refusal>;

    /// The answer to a callback in the form this channel's platform API reads.
    fn reply(&self, ack: Ack) -> Reply;

    /// Whether a verified payment is confirmed with the platform before it is applied.
    fn confirms_payments(&self) -> bool {
        false
    }

    /// Confirms a verified payment of one of this channel's orders with the platform.
    async fn confirm_payment(&self, _out_order_no: &str, _payment: &Payment) -> Result<(), Refusal> {
        Ok(())
    }
}
