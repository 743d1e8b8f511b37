//! Which way of paying an order was made with (the channels themselves, with their
//! platform calls, are in `crate::channel`).

use super::order::Platform;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The channel an order was made with, as stored on the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelId {
    /// Douyin 担保支付 (ecpay v1): douyin.md §3.
    DouyinEcpay,
    /// The Douyin general trade system (`trade_basic`): douyin-trade.md.
    DouyinTrade,
    /// WeChat Pay APIv2 (JSAPI, XML, MD5 signs): wechat.md.
    WechatV2,
    /// WeChat Pay APIv3 (JSAPI, JSON, RSA signs, AES-GCM notifies):
    /// wechat-v3-reconcile.md A.
    WechatV3,
}

impl ChannelId {
    pub const ALL: [ChannelId; 4] = [
        ChannelId::DouyinEcpay,
        ChannelId::DouyinTrade,
        ChannelId::WechatV2,
        ChannelId::WechatV3,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelId::DouyinEcpay => "douyin_ecpay",
            ChannelId::DouyinTrade => "douyin_trade",
            ChannelId::WechatV2 => "wechat_v2",
            ChannelId::WechatV3 => "wechat_v3",
        }
    }

    /// The platform whose users pay through it (and whose sessions may use it).
    pub fn platform(self) -> Platform {
        match self {
            ChannelId::DouyinEcpay | ChannelId::DouyinTrade => Platform::Douyin,
            ChannelId::WechatV2 | ChannelId::WechatV3 => Platform::Wechat,
        }
    }

    /// Whether orders of this channel are settled (分账) by the merchant: Douyin's are,
    /// WeChat's are not. Known without the channel, so that a function built without
    /// WeChat Pay (`settle`) still answers a WeChat order plainly.
    pub fn settles(self) -> bool {
        self.platform() == Platform::Douyin
    }

    /// The channel of an order stored before orders recorded theirs: trade orders are
    /// the ones that kept `tt.requestOrder` data.
    pub fn of_legacy(platform: Platform, has_trade_data: bool) -> ChannelId {
        match platform {
            Platform::Douyin if has_trade_data => ChannelId::DouyinTrade,
            Platform::Douyin => ChannelId::DouyinEcpay,
            Platform::Wechat => ChannelId::WechatV2,
        }
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChannelId {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        ChannelId::ALL.into_iter().find(|c| c.as_str() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_serde() {
        for id in ChannelId::ALL {
            assert_eq!(id.as_str().parse::<ChannelId>(), Ok(id));
            assert_eq!(id.to_string(), id.as_str());
            assert_eq!(serde_json::to_value(id).unwrap(), serde_json::json!(id.as_str()));
        }
        assert!("douyin".parse::<ChannelId>().is_err());
        let named: Vec<&str> = ChannelId::ALL.iter().map(|id| id.as_str()).collect();
        assert_eq!(named, ["douyin_ecpay", "douyin_trade", "wechat_v2", "wechat_v3"]);
    }

    #[test]
    fn each_channel_takes_money_from_its_platforms_users() {
        assert_eq!(ChannelId::DouyinEcpay.platform(), Platform::Douyin);
        assert_eq!(ChannelId::DouyinTrade.platform(), Platform::Douyin);
        assert_eq!(ChannelId::WechatV2.platform(), Platform::Wechat);
    }

    #[test]
    fn orders_stored_before_channels_get_the_channel_they_were_made_with() {
        assert_eq!(ChannelId::of_legacy(Platform::Douyin, false), ChannelId::DouyinEcpay);
        assert_eq!(ChannelId::of_legacy(Platform::Douyin, true), ChannelId::DouyinTrade);
        assert_eq!(ChannelId::of_legacy(Platform::Wechat, false), ChannelId::WechatV2);
    }
}
