//! WeChat user identities: the openid of a user in the mini-program and the unionid
//! across the developer's apps. Derived, not stored, so they survive sandbox restarts
//! (the demo stack keeps users in its database), and shaped like WeChat's 28-character
//! ids starting with "o".
//!
//! An openid also carries a check part derived from the app id, so that `unifiedorder`
//! can tell an openid of this mini-program from any other string (WeChat refuses an
//! openid of another app) without remembering every login.

use sha2::{Digest, Sha256};

/// Hex digits naming the user; the check part fills the rest of the 28 characters.
const USER_PART: usize = 18;
const CHECK_PART: usize = 9;

fn digest(parts: &[&str]) -> String {
    // Length-prefixed so that ("ab", "c") and ("a", "bc") differ.
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn check_part(app_id: &str, user_part: &str) -> String {
    digest(&["wechat-openid-check", app_id, user_part])[..CHECK_PART].to_owned()
}

/// The openid of `user` in the mini-program `app_id`: stable, different per app, and
/// different from the user's Douyin openid (other prefix and derivation).
pub fn openid_of(app_id: &str, user: &str) -> String {
    let user_part = &digest(&["wechat-openid", app_id, user])[..USER_PART];
    format!("o{user_part}{}", check_part(app_id, user_part))
}

/// Whether `openid` is one this sandbox gives out for `app_id`.
pub fn is_openid_of_app(app_id: &str, openid: &str) -> bool {
    let Some(rest) = openid.strip_prefix('o') else {
        return false;
    };
    if rest.len() != USER_PART + CHECK_PART || !rest.is_ascii() {
        return false;
    }
    let (user_part, check) = rest.split_at(USER_PART);
    check == check_part(app_id, user_part)
}

/// The unionid of `user`: the same for every app of the developer.
pub fn unionid_of(user: &str) -> String {
    format!("o{}", &digest(&["wechat-unionid", user])[..USER_PART + CHECK_PART])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openids_are_stable_per_user_and_app() {
        let alice = openid_of("wx1", "alice");
        assert_eq!(alice.len(), 28);
        assert!(alice.starts_with('o'));
        assert_eq!(alice, openid_of("wx1", "alice"));
        assert_ne!(alice, openid_of("wx1", "bob"));
        assert_ne!(alice, openid_of("wx2", "alice"));
        assert_ne!(alice, crate::douyin::login::openid_of("wx1", "alice"));
    }

    #[test]
    fn openids_are_recognised_only_for_their_app() {
        let alice = openid_of("wx1", "alice");
        assert!(is_openid_of_app("wx1", &alice));
        assert!(!is_openid_of_app("wx2", &alice));
        let mut forged = alice.clone();
        forged.replace_range(1..2, if &alice[1..2] == "0" { "1" } else { "0" });
        assert!(!is_openid_of_app("wx1", &forged));
        assert!(!is_openid_of_app("wx1", ""));
        assert!(!is_openid_of_app("wx1", "oé"));
        assert!(!is_openid_of_app("wx1", &unionid_of("alice")));
    }
}
