//! Tables on the DynamoDB emulator, created from the definition in template.yaml so
//! that tests and the deployed table cannot drift.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, StreamSpecification,
    StreamViewType, TimeToLiveSpecification,
};
use minipay::store::DynamoStore;
use rand::RngExt as _;
use yaml_rust2::{Yaml, YamlLoader};

/// The emulator's endpoint, exported by the test command after it started moto.
pub fn endpoint() -> String {
    std::env::var("MINIPAY_TEST_DYNAMODB")
        .expect("MINIPAY_TEST_DYNAMODB is not set: run the tests with `make test`, which starts moto and sets it")
}

pub async fn client() -> Client {
    client_at(&endpoint()).await
}

/// A client of the DynamoDB API at `endpoint`, with timeouts like the functions'.
pub async fn client_at(endpoint: &str) -> Client {
    Client::new(&sdk_config_at(endpoint))
}

/// A client like [`client_at`]'s whose requests `requests` counts.
pub async fn counted_client_at(endpoint: &str, requests: &crate::requests::TableRequests) -> Client {
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config_at(endpoint))
        .interceptor(requests.clone())
        .build();
    Client::from_conf(config)
}

/// The functions' own SDK configuration (`minipay::aws`: Lambda's variables, their HTTP
/// client, their timeouts) pointed at `endpoint`.
pub fn sdk_config_at(endpoint: &str) -> minipay::aws::SdkConfig {
    let env: std::collections::HashMap<String, String> = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_ENDPOINT_URL", endpoint),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    minipay::aws::sdk_config_from(&env, &minipay::outbound::http_client()).expect("a complete environment")
}

pub async fn store(table: &str) -> DynamoStore {
    store_at(&endpoint(), table).await
}

pub async fn store_at(endpoint: &str, table: &str) -> DynamoStore {
    DynamoStore::new(client_at(endpoint).await, table)
}

/// The `Table` resource's properties in template.yaml.
pub fn template_table() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml is readable");
    let docs = YamlLoader::load_from_str(&text).expect("template.yaml parses");
    docs[0]["Resources"]["Table"]["Properties"].clone()
}

/// Creates a table with a unique name from the template's definition.
pub async fn create_fresh_table() -> String {
    create_fresh_table_at(&endpoint()).await
}

pub async fn create_fresh_table_at(endpoint: &str) -> String {
    let suffix: u64 = rand::rng().random();
    let name = format!("minipay-test-{suffix:016x}");
    create_table(&client_at(endpoint).await, &name).await;
    name
}

pub async fn create_table(client: &Client, name: &str) {
    let props = template_table();
    let mut create = client.create_table().table_name(name);
    for key in props["KeySchema"].as_vec().expect("KeySchema") {
        let key_type = match key["KeyType"].as_str() {
            Some("HASH") => KeyType::Hash,
            _ => KeyType::Range,
        };
        create = create.key_schema(
            KeySchemaElement::builder()
                .attribute_name(key["AttributeName"].as_str().expect("AttributeName"))
                .key_type(key_type)
                .build()
                .expect("key schema"),
        );
    }
    for attr in props["AttributeDefinitions"].as_vec().expect("AttributeDefinitions") {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attr["AttributeName"].as_str().expect("AttributeName"))
                .attribute_type(ScalarAttributeType::from(
                    attr["AttributeType"].as_str().expect("AttributeType"),
                ))
                .build()
                .expect("attribute definition"),
        );
    }
    for index in props["GlobalSecondaryIndexes"].as_vec().into_iter().flatten() {
        create = create.global_secondary_indexes(global_index(index));
    }
    if let Some(view) = props["StreamSpecification"]["StreamViewType"].as_str() {
        create = create.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()
                .expect("stream specification"),
        );
    }
    create
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "create table {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        });
    if let Some(attr) = props["TimeToLiveSpecification"]["AttributeName"].as_str() {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attr)
                    .enabled(true)
                    .build()
                    .expect("ttl"),
            )
            .send()
            .await
            .expect("enable TTL");
    }
}

/// A global secondary index of the template, as CreateTable takes it.
fn global_index(index: &yaml_rust2::Yaml) -> aws_sdk_dynamodb::types::GlobalSecondaryIndex {
    use aws_sdk_dynamodb::types::{GlobalSecondaryIndex, Projection, ProjectionType};
    let mut built = GlobalSecondaryIndex::builder().index_name(index["IndexName"].as_str().expect("IndexName"));
    for key in index["KeySchema"].as_vec().expect("index KeySchema") {
        let key_type = match key["KeyType"].as_str() {
            Some("HASH") => KeyType::Hash,
            _ => KeyType::Range,
        };
        built = built.key_schema(
            KeySchemaElement::builder()
                .attribute_name(key["AttributeName"].as_str().expect("AttributeName"))
                .key_type(key_type)
                .build()
                .expect("index key schema"),
        );
    }
    let projection = index["Projection"]["ProjectionType"].as_str().unwrap_or("ALL");
    built
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::from(projection))
                .build(),
        )
        .build()
        .expect("global secondary index")
}

/// Every item of `table` as stored (tests' tables are small: one scan page).
pub async fn all_items(table: &str) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    client()
        .await
        .scan()
        .table_name(table)
        .consistent_read(true)
        .send()
        .await
        .expect("scan the table")
        .items
        .unwrap_or_default()
}

/// Writes a catalog entry that the trade system can sell (goods type and tag group).
pub async fn put_trade_catalog_item(client: &Client, table: &str, sku: &str, price: i64, subject: &str) {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    put_catalog_item(client, table, sku, price, subject).await;
    client
        .update_item()
        .table_name(table)
        .key("pk", V::S(format!("SKU#{sku}")))
        .key("sk", V::S("SKU".into()))
        .update_expression("SET goods_type = :type, tag_group_id = :tag")
        .expression_attribute_values(":type", V::N("401".into()))
        .expression_attribute_values(":tag", V::S("tag_group_7272625659888041996".into()))
        .send()
        .await
        .expect("add trade fields to the catalog item");
}

/// Writes a catalog entry as an operator would.
pub async fn put_catalog_item(client: &Client, table: &str, sku: &str, price: i64, subject: &str) {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    client
        .put_item()
        .table_name(table)
        .item("pk", V::S(format!("SKU#{sku}")))
        .item("sk", V::S("SKU".into()))
        .item("entity", V::S("SKU".into()))
        .item("price", V::N(price.to_string()))
        .item("subject", V::S(subject.into()))
        .item("body", V::S(format!("{subject} · 课程")))
        .item("image", V::S("https://example.com/course.png".into()))
        .send()
        .await
        .expect("put catalog item");
}
