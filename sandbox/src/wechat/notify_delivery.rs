//! How WeChat Pay sends its notifies: the same XML body POSTed as `text/xml`,
//! `deliveries` times at once (WeChat notifies from several servers within seconds).

use crate::delivery::{Delivery, Notifier, deliver_concurrently};

pub async fn deliver_xml(http: &Notifier, url: &str, body: &str, count: usize) -> Vec<Delivery> {
    deliver_concurrently(count, |_| {
        http.post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            .body(body.to_owned())
    })
    .await
}
