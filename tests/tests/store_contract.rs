//! The store contract suite (`minipay::store::contract`) on `DynamoStore` against moto:
//! every case on a fresh table of its own, made from template.yaml's definition.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use harness::table;
use minipay::store::contract::{CALLBACK_RETENTION_SECS, Subject};
use minipay::store::{CatalogItem, DynamoStore, Store};
use sha2::{Digest, Sha256};

struct DynamoSubject {
    store: DynamoStore,
    client: Client,
    table: String,
}

async fn fresh_dynamo() -> DynamoSubject {
    let table = table::create_fresh_table().await;
    DynamoSubject {
        store: table::store(&table)
            .await
            .with_callback_retention(CALLBACK_RETENTION_SECS),
        client: table::client().await,
        table,
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

#[async_trait]
impl Subject for DynamoSubject {
    fn store(&self) -> &dyn Store {
        &self.store
    }

    async fn add_catalog_item(&self, item: &CatalogItem) {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("SKU#{}", item.sku)))
            .item("sk", s("SKU"))
            .item("entity", s("SKU"))
            .item("price", AttributeValue::N(item.price.to_string()))
            .item("subject", s(&item.subject))
            .item("body", s(&item.body))
            .item("image", s(&item.image));
        if let Some(goods_type) = item.goods_type {
            put = put.item("goods_type", AttributeValue::N(goods_type.to_string()));
        }
        if let Some(tag_group_id) = &item.tag_group_id {
            put = put.item("tag_group_id", s(tag_group_id));
        }
        put.send().await.expect("put catalog item");
    }

    async fn callback_expires_at(&self, raw_body: &[u8]) -> Option<i64> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("CALLBACK#{}", hex::encode(Sha256::digest(raw_body)))))
            .key("sk", s("CALLBACK"))
            .consistent_read(true)
            .send()
            .await
            .expect("get kept callback")
            .item?;
        match item.get("ttl") {
            Some(AttributeValue::N(ttl)) => ttl.parse().ok(),
            other => panic!("kept callback without a numeric ttl: {other:?}"),
        }
    }

    async fn put_in_line(&self, out_order_no: &str, sequence: &str) {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("WEBHOOKS#{out_order_no}")))
            .key("sk", s("WEBHOOKS"))
            .update_expression("ADD waiting :sequence")
            .expression_attribute_values(":sequence", AttributeValue::Ss(vec![sequence.to_owned()]))
            .send()
            .await
            .expect("put an entry in the line");
    }
}

minipay::store_contract_tests!(fresh_dynamo);
