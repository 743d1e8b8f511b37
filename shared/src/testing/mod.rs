//! What the unit tests check against besides published vectors: other implementations run
//! by the test ([`tools`]) and expected values derived in the test from the written rules
//! ([`oracles`]). Never the code under test. And what many tests start from ([`fixtures`]).

pub mod fixtures;
pub mod oracles;
pub mod tools;
