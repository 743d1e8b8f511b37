//! The sandbox judges the backend with its own code: it must not link the backend's
//! crate, or a mistake in the backend's signing would be made on both sides.

#[test]
fn the_sandbox_does_not_depend_on_the_backend_crate() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let table: Vec<&str> = manifest
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("minipay") || line.contains("path = \"../shared\""))
        .collect();
    assert!(table.is_empty(), "sandbox/Cargo.toml names the backend: {table:?}");
}
