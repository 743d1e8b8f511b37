//! Field limits WeChat Pay v2 and v3 share.

use crate::domain::text::truncate;

/// WeChat's limit on what was bought (`body` in v2, `description` in v3), in bytes.
const DESCRIPTION_MAX_BYTES: usize = 127;

/// `text` cut to what WeChat shows as what was bought.
pub fn description(text: &str) -> String {
    truncate(text, usize::MAX, DESCRIPTION_MAX_BYTES).to_owned()
}
