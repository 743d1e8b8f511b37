//! Cutting text to a platform's limits without splitting a character.

/// The longest prefix of `text` that has at most `max_chars` characters and
/// `max_bytes` UTF-8 bytes.
pub fn truncate(text: &str, max_chars: usize, max_bytes: usize) -> &str {
    let mut end = 0;
    for (count, (index, ch)) in text.char_indices().enumerate() {
        let next = index + ch.len_utf8();
        if count >= max_chars || next > max_bytes {
            break;
        }
        end = next;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cuts_chinese_on_a_character_boundary() {
        let text = "课程".repeat(30);
        let cut = truncate(&text, 42, 128);
        assert_eq!(cut.chars().count(), 42);
        assert_eq!(cut.len(), 126);
        assert_eq!(truncate("ab课", 10, 4), "ab");
        // Limits met exactly keep the whole text.
        assert_eq!(truncate("ab课", 10, 5), "ab课");
        assert_eq!(truncate("ab课", 3, 128), "ab课");
        assert_eq!(truncate("", 42, 128), "");
    }

    proptest! {
        #[test]
        fn never_exceeds_either_limit(text in "\\PC{0,200}", chars in 0usize..60, bytes in 0usize..200) {
            let cut = truncate(&text, chars, bytes);
            prop_assert!(cut.chars().count() <= chars);
            prop_assert!(cut.len() <= bytes);
            prop_assert!(text.starts_with(cut));
            let fits = text.chars().count() <= chars && text.len() <= bytes;
            prop_assert_eq!(fits, cut == text);
            prop_assert_eq!(truncate(&text, text.chars().count(), text.len()), text.as_str());
        }
    }
}
