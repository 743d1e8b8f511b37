//! What many unit tests start from: a deployment's configuration and a stored order.

use crate::config::Config;
use crate::domain::channel::ChannelId;
use crate::domain::order::{Order, OrderStatus, Platform};
use std::collections::HashMap;

/// The configuration of a Douyin deployment (table `t`, app `tt1` with its secret, SALT
/// and token) with `more` variables on top.
pub fn config(more: &[(&str, &str)]) -> Config {
    let base = [
        ("TABLE_NAME", "t"),
        ("DOUYIN_APP_ID", "tt1"),
        ("DOUYIN_APP_SECRET", "secret"),
        ("DOUYIN_SALT", "salt"),
        ("DOUYIN_TOKEN", "token"),
    ];
    let env: HashMap<String, String> = base
        .iter()
        .chain(more)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_source(&env, &HashMap::new()).expect("a valid test configuration")
}

/// Order `no`: one item for 100 fen, made at 1 and payable until 901, in `status`.
pub fn order(no: &str, platform: Platform, channel: ChannelId, status: OrderStatus) -> Order {
    Order {
        out_order_no: no.into(),
        platform,
        channel,
        openid: "o".into(),
        sku: "s".into(),
        quantity: 1,
        total_amount: 100,
        subject: "课".into(),
        body: "课".into(),
        status,
        created_at: 1,
        pay_deadline: 901,
        platform_order: None,
        payment: None,
        refunded_amount: 0,
        refunding_amount: 0,
        settle_status: None,
        updated_at: 1,
        trade_data: None,
        late: false,
        settle_succeeded: false,
    }
}
