//! The admin routes' query strings, checked: every parameter known, given once and in
//! range, or a 400 that says which and why. An empty value counts as not given, so a
//! form can send every field.

use crate::domain::ids::valid_out_order_no;
use crate::domain::order::{OrderStatus, Platform};
use crate::error::ApiError;
use crate::store::admin::{OrderCursor, OrderFilter};
use std::collections::BTreeMap;

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;
/// Openids are tens of characters; anything much longer is not one.
const OPENID_MAX_CHARS: usize = 128;

const FILTER_PARAMS: [&str; 5] = ["status", "platform", "openid", "from", "to"];
const PAGE_PARAMS: [&str; 2] = ["limit", "cursor"];

/// `GET /admin/orders`: what to list and which page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub filter: OrderFilter,
    pub limit: usize,
    pub cursor: Option<OrderCursor>,
}

/// The parameters of `GET /admin/orders`.
pub fn list_query(raw: Option<&str>) -> Result<ListQuery, ApiError> {
    let known: Vec<&str> = FILTER_PARAMS.iter().chain(&PAGE_PARAMS).copied().collect();
    let params = params(raw, &known)?;
    let filter = filter(&params)?;
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::invalid(format!("limit must be a whole number from 1 to {MAX_LIMIT}")))?,
    };
    let cursor = params.get("cursor").map(|text| cursor(text, &filter)).transpose()?;
    Ok(ListQuery { filter, limit, cursor })
}

/// The parameters of `GET /admin/orders.csv`: the list's filters, no paging (the
/// export is every matching order).
pub fn csv_query(raw: Option<&str>) -> Result<OrderFilter, ApiError> {
    filter(&params(raw, &FILTER_PARAMS)?)
}

/// `GET /admin/orders/{out_order_no}` takes no parameters.
pub fn no_query(raw: Option<&str>) -> Result<(), ApiError> {
    params(raw, &[]).map(drop)
}

/// The non-empty parameters, each known and given once.
pub(crate) fn params<'a>(raw: Option<&str>, known: &[&'a str]) -> Result<BTreeMap<&'a str, String>, ApiError> {
    let mut params = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let Some(&name) = known.iter().find(|k| **k == name) else {
            let expected = if known.is_empty() {
                "this route takes none".to_owned()
            } else {
                format!("known: {}", known.join(", "))
            };
            return Err(ApiError::invalid(format!(
                "unknown query parameter `{name}`; {expected}"
            )));
        };
        if value.is_empty() {
            continue;
        }
        if params.insert(name, value.into_owned()).is_some() {
            return Err(ApiError::invalid(format!(
                "query parameter `{name}` is given twice; give it once"
            )));
        }
    }
    Ok(params)
}

fn filter(params: &BTreeMap<&str, String>) -> Result<OrderFilter, ApiError> {
    let status = params
        .get("status")
        .map(|text| {
            text.parse::<OrderStatus>().map_err(|()| {
                let all: Vec<&str> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
                ApiError::invalid(format!("status must be one of {}", all.join(", ")))
            })
        })
        .transpose()?;
    let platform = params
        .get("platform")
        .map(|text| {
            text.parse::<Platform>()
                .map_err(|()| ApiError::invalid("platform must be douyin or wechat"))
        })
        .transpose()?;
    let openid = params.get("openid").cloned();
    if openid.as_ref().is_some_and(|o| o.chars().count() > OPENID_MAX_CHARS) {
        return Err(ApiError::invalid(format!(
            "openid must be at most {OPENID_MAX_CHARS} characters"
        )));
    }
    let from = params.get("from").map(|t| unix_seconds("from", t)).transpose()?;
    let to = params.get("to").map(|t| unix_seconds("to", t)).transpose()?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(ApiError::invalid(format!("from ({from}) must not be after to ({to})")));
    }
    Ok(OrderFilter {
        status,
        platform,
        openid,
        from,
        to,
    })
}

fn unix_seconds(name: &str, text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|t| *t >= 0)
        .ok_or_else(|| ApiError::invalid(format!("{name} must be unix seconds (a whole number, 0 or more)")))
}

/// A cursor this API gave for a list with the same from/to.
fn cursor(text: &str, filter: &OrderFilter) -> Result<OrderCursor, ApiError> {
    let cursor = OrderCursor::decode(text)
        .filter(|c| valid_out_order_no(&c.out_order_no))
        .ok_or_else(|| {
            ApiError::invalid("cursor is not one this API gave; use next_cursor of the previous page as it is")
        })?;
    // The next page of another range would start outside it.
    if filter.from.is_some_and(|from| cursor.created_at < from) || filter.to.is_some_and(|to| cursor.created_at > to) {
        return Err(ApiError::invalid(
            "cursor belongs to a list with other from/to; start again without cursor",
        ));
    }
    Ok(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn refused(raw: &str) -> String {
        let err = list_query(Some(raw)).expect_err(raw);
        assert_eq!(err.code, ErrorCode::InvalidRequest, "{raw}");
        err.message
    }

    #[test]
    fn nothing_given_lists_the_first_twenty_of_everything() {
        for raw in [
            None,
            Some(""),
            Some("status=&platform=&openid=&from=&to=&limit=&cursor="),
        ] {
            assert_eq!(
                list_query(raw).unwrap(),
                ListQuery {
                    filter: OrderFilter::default(),
                    limit: 20,
                    cursor: None
                }
            );
        }
    }

    #[test]
    fn every_filter_is_read() {
        let cursor = OrderCursor {
            created_at: 150,
            out_order_no: "o1".into(),
        };
        let raw = format!(
            "status=PAID&platform=wechat&openid=o%2Bx%20y&from=100&to=200&limit=100&cursor={}",
            cursor.encode()
        );
        assert_eq!(
            list_query(Some(&raw)).unwrap(),
            ListQuery {
                filter: OrderFilter {
                    status: Some(OrderStatus::Paid),
                    platform: Some(Platform::Wechat),
                    openid: Some("o+x y".into()),
                    from: Some(100),
                    to: Some(200),
                },
                limit: 100,
                cursor: Some(cursor),
            }
        );
        assert_eq!(list_query(Some("limit=1&from=5&to=5")).unwrap().limit, 1);
    }

    #[test]
    fn each_bad_parameter_is_refused_with_its_reason() {
        assert!(refused("status=paid").contains("status must be one of PENDING, PAID"));
        assert!(refused("status=PROCESSING").contains("status"));
        assert!(refused("platform=alipay").contains("douyin or wechat"));
        for limit in ["0", "101", "-1", "ten", "1.5"] {
            assert!(refused(&format!("limit={limit}")).contains("limit must be"), "{limit}");
        }
        assert!(refused("from=-1").contains("from must be unix seconds"));
        assert!(refused("to=yesterday").contains("to must be unix seconds"));
        assert!(refused("from=200&to=100").contains("must not be after"));
        assert!(refused("cursor=garbage").contains("cursor is not one this API gave"));
        let bad_no = OrderCursor {
            created_at: 1,
            out_order_no: "a*b".into(),
        };
        assert!(refused(&format!("cursor={}", bad_no.encode())).contains("cursor is not one"));
        let outside = OrderCursor {
            created_at: 50,
            out_order_no: "o1".into(),
        };
        assert!(refused(&format!("from=100&cursor={}", outside.encode())).contains("other from/to"));
        assert!(refused(&format!("openid={}", "x".repeat(129))).contains("openid"));
        assert!(refused("sort=asc").contains("unknown query parameter `sort`"));
        assert!(refused("status=PAID&status=FAILED").contains("given twice"));
    }

    #[test]
    fn the_export_takes_filters_and_the_detail_nothing() {
        assert_eq!(
            csv_query(Some("from=1&to=2")).unwrap(),
            OrderFilter {
                from: Some(1),
                to: Some(2),
                ..OrderFilter::default()
            }
        );
        assert!(
            csv_query(Some("limit=5"))
                .unwrap_err()
                .message
                .contains("unknown query parameter `limit`")
        );
        assert!(no_query(None).is_ok());
        assert!(no_query(Some("x=1")).unwrap_err().message.contains("takes none"));
    }
}
