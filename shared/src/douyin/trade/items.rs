//! Which item orders a partial refund comes out of: `refund_create/` names item orders
//! and amounts, while the back office asks for an amount of the whole order.

use super::client::ItemOrder;

/// Splits `amount` over `items` in their order, after skipping the `already` fen that
/// earlier refunds took the same way. `None` when the items hold less than that.
pub fn allocate_refund(items: &[ItemOrder], already: i64, amount: i64) -> Option<Vec<ItemOrder>> {
    let mut skip = already.max(0);
    let mut left = amount;
    let mut parts = Vec::new();
    for item in items {
        let room = (item.amount - skip).max(0);
        skip = (skip - item.amount).max(0);
        let take = room.min(left);
        if take > 0 {
            parts.push(ItemOrder {
                item_order_id: item.item_order_id.clone(),
                amount: take,
            });
            left -= take;
        }
    }
    (left == 0 && amount > 0).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn items(amounts: &[i64]) -> Vec<ItemOrder> {
        amounts
            .iter()
            .enumerate()
            .map(|(i, amount)| ItemOrder {
                item_order_id: format!("item{i}"),
                amount: *amount,
            })
            .collect()
    }

    fn pairs(parts: &[ItemOrder]) -> Vec<(&str, i64)> {
        parts.iter().map(|p| (p.item_order_id.as_str(), p.amount)).collect()
    }

    #[test]
    fn refunds_fill_items_in_order_after_earlier_ones() {
        let three = items(&[100, 100, 100]);
        assert_eq!(
            pairs(&allocate_refund(&three, 0, 150).unwrap()),
            [("item0", 100), ("item1", 50)]
        );
        assert_eq!(
            pairs(&allocate_refund(&three, 150, 150).unwrap()),
            [("item1", 50), ("item2", 100)]
        );
        assert_eq!(allocate_refund(&three, 150, 151), None);
        assert_eq!(allocate_refund(&three, 0, 0), None);
        assert_eq!(allocate_refund(&[], 0, 1), None);
    }

    proptest! {
        #[test]
        fn parts_sum_to_the_amount_and_stay_within_each_item(
            amounts in proptest::collection::vec(1i64..500, 1..6),
            already_share in 0f64..1.0,
            amount in 1i64..3000,
        ) {
            let list = items(&amounts);
            let total: i64 = amounts.iter().sum();
            let already = (total as f64 * already_share) as i64;
            match allocate_refund(&list, already, amount) {
                Some(parts) => {
                    prop_assert_eq!(parts.iter().map(|p| p.amount).sum::<i64>(), amount);
                    for part in &parts {
                        let item = list.iter().find(|i| i.item_order_id == part.item_order_id).unwrap();
                        prop_assert!(part.amount >= 1 && part.amount <= item.amount);
                    }
                }
                None => prop_assert!(already + amount > total),
            }
        }
    }
}
