//! What the platforms accept as a notify URL: every one of them calls only public
//! https addresses (douyin.md §3 "https, port 443"; douyin-trade.md §2, §5 "HTTPS";
//! wechat.md §4 "public https, no query string"). A local backend serves plain http, so
//! tests and the demo hand the platform a public https URL and a [`crate::Tunnel`]
//! carries the calls to the local address, as a developer's tunnel would.

/// The rules one URL field is checked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlRules {
    pub max_bytes: usize,
    /// Ecpay: only the https port may be named.
    pub port_443_only: bool,
    /// WeChat: the notify may not carry a query string.
    pub query_allowed: bool,
}

/// Ecpay's `notify_url`s and the console one (douyin.md §3).
pub const ECPAY: UrlRules = UrlRules {
    max_bytes: 256,
    port_443_only: true,
    query_allowed: true,
};

/// The trade system's `payNotifyUrl` and the `notify_url`s of refunds and settlements
/// (douyin-trade.md §2, §5).
pub const TRADE: UrlRules = UrlRules {
    max_bytes: 512,
    port_443_only: false,
    query_allowed: true,
};

/// WeChat Pay's `notify_url`s and the merchant-platform one (wechat.md §4).
pub const WECHAT: UrlRules = UrlRules {
    max_bytes: 256,
    port_443_only: false,
    query_allowed: false,
};

/// Checks `url` as the platform would; the problem, worded to follow the field name.
pub fn check(url: &str, rules: UrlRules) -> Result<(), String> {
    if url.len() > rules.max_bytes {
        return Err(format!("is longer than {} bytes", rules.max_bytes));
    }
    let Some(rest) = url.strip_prefix("https://") else {
        return Err(format!("{url:?} is not an https URL (the platform calls https only)"));
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !host_ok {
        return Err(format!("{url:?} has no valid host"));
    }
    match port {
        None => {}
        Some(port) if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(format!("{url:?} has no valid port"));
        }
        Some(port) if rules.port_443_only && port != "443" => {
            return Err(format!("{url:?} names port {port}; only 443 is called"));
        }
        Some(_) => {}
    }
    if !rules.query_allowed && rest.contains('?') {
        return Err(format!("{url:?} carries a query string"));
    }
    if url.chars().any(char::is_whitespace) {
        return Err(format!("{url:?} contains white space"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_https_urls_pass() {
        for url in [
            "https://minipay.test/notify/douyin",
            "https://api.example.com",
            "https://api.example.com:443/n?x=1",
            "https://a-b_c.example.com/lambda-url/notify/notify/douyin",
        ] {
            assert_eq!(check(url, ECPAY), Ok(()), "{url}");
        }
        assert_eq!(check("https://api.example.com:8443/n", TRADE), Ok(()));
    }

    #[test]
    fn what_the_platforms_refuse() {
        let refused = |url: &str, rules: UrlRules, needle: &str| {
            let problem = check(url, rules).unwrap_err();
            assert!(problem.contains(needle), "{url}: {problem}");
        };
        refused("http://127.0.0.1:9000/notify", ECPAY, "not an https URL");
        refused("http://api.example.com/n", TRADE, "not an https URL");
        refused("HTTPS://api.example.com/n", WECHAT, "not an https URL");
        refused("notify", TRADE, "not an https URL");
        refused("https:///n", ECPAY, "no valid host");
        refused("https://", TRADE, "no valid host");
        refused("https://user@host/n", TRADE, "no valid host");
        refused("https://api.example.com:8443/n", ECPAY, "only 443");
        refused("https://api.example.com:/n", TRADE, "no valid port");
        refused("https://api.example.com/n?a=1", WECHAT, "query string");
        refused("https://api.example.com/a b", TRADE, "white space");
        refused(
            &format!("https://x/{}", "a".repeat(250)),
            ECPAY,
            "longer than 256 bytes",
        );
        assert!(check(&format!("https://x/{}", "a".repeat(250)), TRADE).is_ok());
    }
}
