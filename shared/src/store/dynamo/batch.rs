//! Items read together in one BatchGetItem: prepay's session and catalog entry.

use super::*;
use aws_sdk_dynamodb::types::KeysAndAttributes;

/// Rounds of a batch read before giving up on keys the table left unprocessed (it does
/// so only when throttled).
const BATCH_ROUNDS: usize = 3;

impl DynamoStore {
    /// The items of `keys` (pk, sk) that exist, by pk; strongly consistent like `get`.
    async fn batch_get(&self, keys: &[(String, &str)]) -> Result<HashMap<String, Item>, StoreError> {
        let mut wanted: Vec<Item> = keys
            .iter()
            .map(|(pk, sk)| Item::from([("pk".to_owned(), s(pk.clone())), ("sk".to_owned(), s(*sk))]))
            .collect();
        let mut found = HashMap::new();
        for _ in 0..BATCH_ROUNDS {
            let request = built(
                KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut wanted)))
                    .consistent_read(true)
                    .build(),
            )?;
            self.count();
            let answer = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(unavailable)?;
            for item in answer
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                found.insert(get_s(&item, "pk")?, item);
            }
            wanted = answer
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if wanted.is_empty() {
                return Ok(found);
            }
        }
        Err(StoreError::Unavailable("the table left keys unread; retry".into()))
    }
}

#[async_trait]
impl PrepayReads for DynamoStore {
    async fn session_and_catalog_item(
        &self,
        token_hash: &str,
        now: i64,
        sku: &str,
    ) -> Result<(Option<Session>, Option<CatalogItem>), StoreError> {
        let (session_key, catalog_key) = (session_pk(token_hash), catalog_pk(sku));
        let mut found = self
            .batch_get(&[(session_key.clone(), SESSION_SK), (catalog_key.clone(), CATALOG_SK)])
            .await?;
        let session = match found.remove(&session_key) {
            Some(item) => session_from_item(&item, now)?,
            None => None,
        };
        let item = found
            .remove(&catalog_key)
            .map(|item| catalog_from_item(sku, &item))
            .transpose()?;
        Ok((session, item))
    }
}
