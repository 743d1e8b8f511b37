//! The channels a deployment has, built once per cold start, and which one new orders
//! of each platform are made with.

use super::callback::Inbound;
use super::ecpay::EcpayChannel;
use super::trade::{Trade, TradeChannel, TradeSettings};
use super::wechat_v2::WechatV2Channel;
use super::wechat_v3::WechatV3Channel;
use super::{Channel, ChannelId};
use crate::config::{Config, DouyinPayMode, WechatPayApi};
use crate::domain::order::Platform;
use crate::douyin::Douyin;
use crate::error::{ApiError, PlatformError};
use crate::store::TokenStore;
use crate::wechat::client::WechatApi;
use crate::wechat::v3::client::WechatV3Client;
use std::sync::Arc;

/// What channels are made from: the deployment's settings and platform clients.
pub struct Parts<'a> {
    pub config: &'a Config,
    pub tokens: &'a Arc<dyn TokenStore>,
    pub douyin: Option<&'a Arc<dyn Douyin>>,
    pub trade: Option<&'a Arc<Trade>>,
    pub wechat: Option<&'a Arc<dyn WechatApi>>,
    pub wechat_v3: Option<&'a Arc<WechatV3Client>>,
}

/// Every way of paying minipay knows; each makes its channel when the deployment
/// configured it. A new channel is one more line here.
pub const ALL: &[MakeChannel] = &[ecpay, trade, wechat_v2, wechat_v3];

/// Douyin's ways of paying (the channels that settle).
pub const DOUYIN: &[MakeChannel] = &[ecpay, trade];

/// Makes a channel when the deployment configured it.
pub type MakeChannel = fn(&Parts) -> Option<Arc<dyn Channel>>;

fn ecpay(parts: &Parts) -> Option<Arc<dyn Channel>> {
    let douyin = parts.douyin?.clone();
    let config = parts.config.douyin.as_ref()?;
    Some(Arc::new(EcpayChannel::new(
        douyin,
        config,
        parts.config.order_valid_seconds,
    )))
}

fn trade(parts: &Parts) -> Option<Arc<dyn Channel>> {
    let settings = TradeSettings {
        order_entry_page: parts.config.order_entry_page.clone(),
        notify_url: parts.config.douyin.as_ref()?.notify_url.clone(),
        valid_seconds: parts.config.order_valid_seconds,
    };
    Some(Arc::new(TradeChannel::new(
        parts.trade?.clone(),
        parts.tokens.clone(),
        settings,
    )))
}

fn wechat_v2(parts: &Parts) -> Option<Arc<dyn Channel>> {
    Some(Arc::new(WechatV2Channel::new(
        parts.wechat?.clone(),
        parts.config.wechat.as_ref()?,
    )))
}

fn wechat_v3(parts: &Parts) -> Option<Arc<dyn Channel>> {
    Some(Arc::new(WechatV3Channel::new(parts.wechat_v3?.clone())))
}

/// The channel new orders of `platform` are made with on this deployment.
fn for_new_orders(config: &Config, platform: Platform) -> Option<ChannelId> {
    match platform {
        Platform::Douyin => Some(match config.douyin.as_ref()?.pay_mode {
            DouyinPayMode::Ecpay => ChannelId::DouyinEcpay,
            DouyinPayMode::Trade => ChannelId::DouyinTrade,
        }),
        Platform::Wechat => Some(match config.wechat.as_ref()?.pay_api {
            WechatPayApi::V2 => ChannelId::WechatV2,
            WechatPayApi::V3 => ChannelId::WechatV3,
        }),
    }
}

/// The configured channels.
#[derive(Clone, Default)]
pub struct Channels {
    channels: Vec<Arc<dyn Channel>>,
    /// Which channel new orders of each platform are made with.
    new_orders: Vec<(Platform, ChannelId)>,
}

impl Channels {
    /// The channels `makers` make of `parts` (a function's kit names its makers).
    pub fn build(makers: &[MakeChannel], parts: &Parts) -> Channels {
        Channels {
            channels: makers.iter().filter_map(|make| make(parts)).collect(),
            new_orders: Platform::ALL
                .into_iter()
                .filter_map(|p| for_new_orders(parts.config, p).map(|id| (p, id)))
                .collect(),
        }
    }

    /// The channel an order was made with. Orders outlive configuration changes, so
    /// a channel no longer configured is a platform failure (nothing changes, the
    /// caller may retry once it is configured again), not a refusal.
    pub fn get(&self, id: ChannelId) -> Result<&dyn Channel, PlatformError> {
        self.channels
            .iter()
            .find(|c| c.id() == id)
            .map(|c| c.as_ref())
            .ok_or_else(|| PlatformError::Unavailable(format!("the {id} channel is not configured")))
    }

    /// The channel new orders of `platform` are made with.
    pub fn for_new_order(&self, platform: Platform) -> Result<&dyn Channel, ApiError> {
        let not_configured = || ApiError::invalid(format!("{} is not configured on this deployment", platform.name()));
        let (_, id) = self
            .new_orders
            .iter()
            .find(|(p, _)| *p == platform)
            .ok_or_else(not_configured)?;
        self.get(*id).map_err(|_| not_configured())
    }

    /// The configured channel of `platform` that reads a callback of this shape.
    pub fn claiming(&self, platform: Platform, inbound: &Inbound) -> Option<&dyn Channel> {
        self.channels
            .iter()
            .find(|c| c.id().platform() == platform && c.claims(inbound))
            .map(|c| c.as_ref())
    }

    /// The channel that answers a callback to `platform`'s notify route: the one that
    /// reads its shape, else (for a body in no channel's shape) the platform's first.
    pub fn answering(&self, platform: Platform, inbound: &Inbound) -> Option<&dyn Channel> {
        self.claiming(platform, inbound).or_else(|| {
            self.channels
                .iter()
                .find(|c| c.id().platform() == platform)
                .map(|c| c.as_ref())
        })
    }

    /// Whether a channel that can take money from `platform`'s users is configured.
    pub fn serves(&self, platform: Platform) -> bool {
        self.channels.iter().any(|c| c.id().platform() == platform)
    }
}
