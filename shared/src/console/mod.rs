//! `GET /console` (CONTRACT.md §10): the merchant console, one page of plain HTML, CSS
//! and JavaScript (`console.html`, no build step) on the admin API, which it finds
//! relative to its own URL. Served with a Content-Security-Policy that lets only the
//! page's own inline `<script>` and `<style>` run (by their SHA-256) and lets it talk
//! only to its own origin.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::{Body, Response};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// The page, as served.
pub const PAGE: &str = include_str!("console.html");

/// The policy, computed once per cold start from the page's inline blocks.
static POLICY: LazyLock<String> = LazyLock::new(|| policy(PAGE));

/// The page's answer: `text/html`, the policy and headers that keep it out of frames,
/// caches and referrers.
pub fn page() -> Response<Body> {
    Response::builder()
        .status(200)
        .header("content-type", "text/html; charset=utf-8")
        .header("content-security-policy", POLICY.as_str())
        .header("x-content-type-options", "nosniff")
        .header("x-frame-options", "DENY")
        .header("referrer-policy", "no-referrer")
        .header("cache-control", "no-cache")
        .body(Body::Text(PAGE.to_owned()))
        .expect("static status and headers are valid")
}

/// Nothing but the page's own inline script and style (by hash), requests to its own
/// origin (the admin API), no plugins, frames, forms posted elsewhere or `<base>`.
pub fn policy(page: &str) -> String {
    let hashes = |tag: &str| {
        inline_blocks(page, tag)
            .iter()
            .map(|block| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(block.as_bytes()))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; img-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hashes("script"),
        hashes("style")
    )
}

/// The text of every `<tag>…</tag>` block (tags written plainly, without attributes).
fn inline_blocks<'a>(page: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut blocks = Vec::new();
    let mut rest = page;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        blocks.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_exactly_the_pages_inline_script_and_style() {
        let scripts = inline_blocks(PAGE, "script");
        let styles = inline_blocks(PAGE, "style");
        assert_eq!((scripts.len(), styles.len()), (1, 1));
        // No other way in for a script or a style than the hashed blocks.
        assert_eq!(PAGE.matches("<script").count(), 1);
        assert_eq!(PAGE.matches("<style").count(), 1);
        let policy = policy(PAGE);
        let hash = |text: &str| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(text.as_bytes())));
        assert!(
            policy.contains(&format!("script-src {};", hash(scripts[0]))),
            "{policy}"
        );
        assert!(policy.contains(&format!("style-src {};", hash(styles[0]))), "{policy}");
        assert!(policy.starts_with("default-src 'none';"));
        assert!(!policy.contains("unsafe"));
    }

    /// Inline handlers and style attributes would be refused by the policy; data goes
    /// into the page as text only; the key never goes anywhere that outlives the tab.
    #[test]
    fn the_page_keeps_to_what_its_policy_and_the_contract_allow() {
        let lower = PAGE.to_ascii_lowercase();
        for banned in [
            " onclick=",
            " onload=",
            " onsubmit=",
            " onerror=",
            " style=",
            "innerhtml",
            "outerhtml",
            "insertadjacenthtml",
            "document.write",
            "localstorage",
            "document.cookie",
            "eval(",
            "new function",
            "http://",
            "https://",
        ] {
            assert!(!lower.contains(banned), "the console contains {banned:?}");
        }
        assert!(PAGE.contains("sessionStorage.setItem(KEY"));
        assert!(PAGE.contains("sessionStorage.removeItem(KEY)"));
    }

    #[test]
    fn the_answer_is_html_with_the_policy() {
        let response = page();
        let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
        assert_eq!(response.status(), 200);
        assert_eq!(header("content-type"), "text/html; charset=utf-8");
        assert_eq!(header("content-security-policy"), policy(PAGE));
        assert_eq!(header("x-frame-options"), "DENY");
    }
}
