//! What the unit tests check against besides published vectors: other implementations run
//! by the test ([`tools`]) and expected values derived in the test from the written rules
//! ([`oracles`]). Never the code under test.

pub mod oracles;
pub mod tools;
