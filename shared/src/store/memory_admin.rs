//! The back office's reads on the in-memory store, with the DynamoDB store's paging:
//! newest first, a page ends after its last order, the last page has no cursor.

use super::MemoryStore;
use super::admin::{AdminStore, OrderCursor, OrderFilter, OrderPage, OrderWithChildren};
use crate::error::StoreError;
use async_trait::async_trait;
use std::cmp::Reverse;

#[async_trait]
impl AdminStore for MemoryStore {
    async fn list_orders(
        &self,
        filter: &OrderFilter,
        limit: usize,
        cursor: Option<&OrderCursor>,
    ) -> Result<OrderPage, StoreError> {
        let inner = self.lock();
        let place = |created_at: i64, no: &str| Reverse((created_at, no.to_owned()));
        let after = cursor.map(|c| place(c.created_at, &c.out_order_no));
        let mut orders: Vec<_> = inner
            .orders
            .values()
            .filter(|o| filter.matches(o))
            .filter(|o| after.as_ref().is_none_or(|a| place(o.created_at, &o.out_order_no) > *a))
            .cloned()
            .collect();
        orders.sort_by_key(|o| place(o.created_at, &o.out_order_no));
        let more = orders.len() > limit;
        orders.truncate(limit);
        let next_cursor = if more {
            orders.last().map(OrderCursor::after)
        } else {
            None
        };
        Ok(OrderPage { orders, next_cursor })
    }

    async fn order_with_children(&self, out_order_no: &str) -> Result<Option<OrderWithChildren>, StoreError> {
        let inner = self.lock();
        let Some(order) = inner.orders.get(out_order_no).cloned() else {
            return Ok(None);
        };
        let mut refunds: Vec<_> = inner
            .refunds
            .values()
            .filter(|r| r.out_order_no == out_order_no)
            .cloned()
            .collect();
        refunds.sort_by_key(|r| (r.created_at, r.out_refund_no.clone()));
        let mut settlements: Vec<_> = inner
            .settlements
            .values()
            .filter(|st| st.out_order_no == out_order_no)
            .cloned()
            .collect();
        settlements.sort_by_key(|st| (st.created_at, st.out_settle_no.clone()));
        let mut callbacks: Vec<_> = inner
            .callbacks
            .values()
            .filter(|kept| kept.out_order_no.as_deref() == Some(out_order_no))
            .map(|kept| kept.callback.clone())
            .collect();
        callbacks.sort_by_key(|c| (c.received_at, c.kind.clone()));
        let mut webhooks: Vec<_> = inner
            .webhooks
            .values()
            .filter(|w| w.out_order_no == out_order_no)
            .map(|w| inner.webhook_as_stored(w))
            .collect();
        webhooks.sort_by_key(|w| (w.created_at, w.event_id.clone()));
        Ok(Some(OrderWithChildren {
            order,
            refunds,
            settlements,
            callbacks,
            webhooks,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::{Order, OrderStatus, Platform};
    use crate::store::OrderStore;

    fn order(no: &str, created_at: i64, status: OrderStatus) -> Order {
        Order {
            openid: "u".into(),
            total_amount: 1,
            subject: "s".into(),
            body: String::new(),
            created_at,
            pay_deadline: created_at + 900,
            updated_at: created_at,
            ..crate::testing::fixtures::order(
                no,
                Platform::Douyin,
                crate::domain::channel::ChannelId::DouyinEcpay,
                status,
            )
        }
    }

    #[tokio::test]
    async fn pages_are_newest_first_and_meet_without_gaps_or_repeats() {
        let store = MemoryStore::new();
        // Ties on created_at, as orders made in the same second have.
        for i in 0..7 {
            let status = if i % 2 == 0 {
                OrderStatus::Paid
            } else {
                OrderStatus::Pending
            };
            let o = order(&format!("o{i}"), 100 + i / 2, status);
            store.insert_order(&o, &o.out_order_no, None).await.unwrap();
        }
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .list_orders(&OrderFilter::default(), 3, cursor.as_ref())
                .await
                .unwrap();
            assert!(page.orders.len() <= 3);
            seen.extend(page.orders.iter().map(|o| (o.created_at, o.out_order_no.clone())));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut expected = seen.clone();
        expected.sort_by(|a, b| b.cmp(a));
        expected.dedup();
        assert_eq!(seen, expected);
        assert_eq!(seen.len(), 7);

        let paid = OrderFilter {
            status: Some(OrderStatus::Paid),
            from: Some(101),
            ..OrderFilter::default()
        };
        let page = store.list_orders(&paid, 10, None).await.unwrap();
        let nos: Vec<_> = page.orders.iter().map(|o| o.out_order_no.as_str()).collect();
        assert_eq!(nos, ["o6", "o4", "o2"]);
        assert_eq!(page.next_cursor, None);
    }
}
