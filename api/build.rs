//! Marks the build when TEST_DATABASE_URL is set, so the end-to-end suite runs its
//! PostgreSQL half (and otherwise lists it as ignored, saying how to enable it).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
}
