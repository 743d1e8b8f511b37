//! The `msg_signature` of ecpay callbacks (douyin.md §5), written from the reference:
//! SHA-1 over the console Token, `timestamp`, `nonce` and the raw `msg`, sorted and
//! concatenated with no separator, in lower-case hex.

use sha1::{Digest as _, Sha1};

/// The `msg_signature` the platform sends with `msg` (the exact string it puts in the
/// envelope: the receiver must hash those bytes, never a re-serialization).
pub fn callback_signature(token: &str, timestamp: &str, nonce: &str, msg: &str) -> String {
    let mut parts = [token, timestamp, nonce, msg];
    parts.sort_unstable();
    let mut sha1 = Sha1::new();
    for part in parts {
        sha1.update(part.as_bytes());
    }
    hex::encode(sha1.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// douyin.md §9 vector (c): the `msg` exactly as received.
    const VECTOR_C_MSG: &str = r#"{"appid":"tt226e54d3bd581bf801","cp_orderno":"202408041111312119","cp_extra":"","way":"2","channel_no":"","channel_gateway_no":"","payment_order_no":"","out_channel_order_no":"","total_amount":1,"status":"SUCCESS","seller_uid":"73744242495132490630","extra":"","item_id":"","paid_at":1722769986,"message":"","order_id":"7398108028895054107"}"#;

    #[test]
    fn vector_c() {
        let signature = callback_signature("douyin_mini_token", "1722769986", "5280", VECTOR_C_MSG);
        assert_eq!(signature, "840bdf067c1d6056becfe88735c8ebb7e1ab809c");
    }

    #[test]
    fn the_order_of_the_arguments_does_not_matter_but_every_byte_does() {
        let signature = callback_signature("douyin_mini_token", "1722769986", "5280", VECTOR_C_MSG);
        assert_eq!(
            callback_signature(VECTOR_C_MSG, "5280", "douyin_mini_token", "1722769986"),
            signature
        );
        let reserialized =
            serde_json::to_string(&serde_json::from_str::<serde_json::Value>(VECTOR_C_MSG).unwrap()).unwrap();
        assert_ne!(reserialized, VECTOR_C_MSG);
        assert_ne!(
            callback_signature("douyin_mini_token", "1722769986", "5280", &reserialized),
            signature
        );
        assert_ne!(
            callback_signature("other_token", "1722769986", "5280", VECTOR_C_MSG),
            signature
        );
    }
}
