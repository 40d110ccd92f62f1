//! Tokens minted by the CLI's code verify; issuer and audience are enforced when set.

use pcr_api::auth::AuthConfig;

#[test]
fn issuer_and_audience_are_checked_when_configured() {
    let strict = AuthConfig {
        hs256_secret: Some(b"k".repeat(32)),
        issuer: Some("https://idp.example".into()),
        audience: Some("pcr".into()),
        ..Default::default()
    };
    let good = strict.mint("p1", Some("M83001"), "placements:write", 60).unwrap();
    let actor = strict.verify(&good).unwrap();
    assert_eq!(actor.subject, "p1");
    assert_eq!(actor.org.as_deref(), Some("M83001"));
    assert_eq!(actor.scopes, vec!["placements:write"]);
    let other_iss = AuthConfig { issuer: Some("https://other.example".into()), ..strict.clone() };
    assert!(strict.verify(&other_iss.mint("p1", None, "", 60).unwrap()).is_err());
    // The clone shares the cache of verified tokens; a token verified by one configuration
    // does not pass another from there.
    assert!(other_iss.verify(&good).is_err(), "verified for another issuer");
    assert!(strict.verify(&good).is_ok(), "still good where it was verified");
    let other_aud = AuthConfig { audience: Some("someone-else".into()), ..strict.clone() };
    assert!(strict.verify(&other_aud.mint("p1", None, "", 60).unwrap()).is_err());
    let none = AuthConfig::default();
    assert!(none.verify(&good).is_err(), "no key configured: nothing verifies");
}
