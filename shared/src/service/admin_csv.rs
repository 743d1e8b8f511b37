//! Orders as CSV rows for bookkeeping (RFC 4180: CRLF, fields quoted when they hold a
//! comma, a quote or a line break, quotes doubled).

use crate::domain::order::Order;
use std::fmt::Write as _;

pub const HEADER: &str =
    "out_order_no,platform,status,total_amount,refunded_amount,openid,sku,quantity,created_at,paid_at,late\r\n";

/// Appends one order's row.
pub fn write_row(out: &mut String, order: &Order) {
    let paid_at = order
        .payment
        .as_ref()
        .map(|p| p.paid_at.to_string())
        .unwrap_or_default();
    // Every field but openid and sku is ours: ids, enums and numbers need no quoting.
    let _ = write!(
        out,
        "{},{},{},{},{},",
        order.out_order_no,
        order.platform.as_str(),
        order.status,
        order.total_amount,
        order.refunded_amount
    );
    text_field(out, &order.openid);
    out.push(',');
    text_field(out, &order.sku);
    let _ = write!(
        out,
        ",{},{},{},{}\r\n",
        order.quantity, order.created_at, paid_at, order.late
    );
}

/// A field from outside (the platform's openid, the operator's sku), quoted when it
/// must be; one that a spreadsheet would run as a formula is kept as text.
fn text_field(out: &mut String, value: &str) {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quoted = formula || value.contains([',', '"', '\n', '\r']);
    if quoted {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    out.push_str(&value.replace('"', "\"\""));
    if quoted {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::{OrderStatus, Payment, Platform};

    fn order() -> Order {
        Order {
            openid: "o-user".into(),
            sku: "course".into(),
            quantity: 2,
            total_amount: 1980,
            subject: "s".into(),
            body: String::new(),
            created_at: 1_732_240_000,
            pay_deadline: 0,
            payment: Some(Payment {
                amount: 1980,
                paid_at: 1_732_240_060,
                trade_no: "T".into(),
                channel: "1".into(),
            }),
            refunded_amount: 300,
            updated_at: 0,
            late: true,
            ..crate::testing::fixtures::order(
                "1732240000a1",
                Platform::Wechat,
                crate::domain::channel::ChannelId::WechatV2,
                OrderStatus::Paid,
            )
        }
    }

    fn row(order: &Order) -> String {
        let mut out = String::new();
        write_row(&mut out, order);
        out
    }

    #[test]
    fn a_row_has_the_headers_columns_in_fen_and_unix_seconds() {
        assert_eq!(
            row(&order()),
            "1732240000a1,wechat,PAID,1980,300,o-user,course,2,1732240000,1732240060,true\r\n"
        );
        let unpaid = Order {
            payment: None,
            late: false,
            settle_succeeded: false,
            status: OrderStatus::Pending,
            ..order()
        };
        assert!(row(&unpaid).ends_with(",1732240000,,false\r\n"));
        assert_eq!(
            HEADER.trim_end().split(',').count(),
            row(&order()).trim_end().split(',').count()
        );
    }

    #[test]
    fn outside_text_is_quoted_and_never_a_formula() {
        let tricky = Order {
            openid: "a,\"b\"".into(),
            sku: "line\nbreak".into(),
            ..order()
        };
        assert!(row(&tricky).contains(",\"a,\"\"b\"\"\",\"line\nbreak\",2,"));
        let formula = Order {
            openid: "=HYPERLINK(\"x\")".into(),
            sku: "@sum".into(),
            ..order()
        };
        assert!(row(&formula).contains(",\"'=HYPERLINK(\"\"x\"\")\",\"'@sum\",2,"));
    }
}
