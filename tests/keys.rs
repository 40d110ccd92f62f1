//! Partners' own keys: RS256 and ES256 tokens verified against a JWKS by `kid`, rotation
//! without a restart, and every way a token is refused, each a 401 with a generic detail and
//! nothing written. The tokens are signed here with RustCrypto's `rsa` and `p256` and
//! serialised by hand, as a partner's own system would, not with the server's JWT library.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::DecodePrivateKey;
use pcr_api::auth::{AuthConfig, Jwks};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

use crate::harness::{TestApp, SECRET};

crate::on_both_backends!(partner_keys_verify_and_rotate, token_rejections, keys_speak_for_their_own_organisations);

enum Key {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ec(p256::ecdsa::SigningKey),
}

/// A partner's signing key and the `kid` it publishes.
struct Partner {
    kid: &'static str,
    key: Key,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Partner {
    fn rsa(kid: &'static str, pem: &str) -> Partner {
        Partner { kid, key: Key::Rsa(Box::new(rsa::RsaPrivateKey::from_pkcs8_pem(pem).expect("RSA key"))) }
    }
    fn ec(kid: &'static str, pem: &str) -> Partner {
        Partner { kid, key: Key::Ec(p256::ecdsa::SigningKey::from_pkcs8_pem(pem).expect("EC key")) }
    }
    fn alg(&self) -> &'static str {
        match self.key {
            Key::Rsa(_) => "RS256",
            Key::Ec(_) => "ES256",
        }
    }
    /// The public half, as the partner publishes it.
    fn jwk(&self) -> Value {
        match &self.key {
            Key::Rsa(k) => json!({"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                "n": b64(&k.n().to_bytes_be()), "e": b64(&k.e().to_bytes_be())}),
            Key::Ec(k) => {
                let point = k.verifying_key().to_encoded_point(false);
                json!({"kty": "EC", "kid": self.kid, "use": "sig", "crv": "P-256",
                    "x": b64(point.x().expect("x")), "y": b64(point.y().expect("y"))})
            }
        }
    }
    /// The RSA public key in the PEM a confused verifier might take as an HMAC secret.
    fn public_pem(&self) -> String {
        use rsa::pkcs8::EncodePublicKey;
        match &self.key {
            Key::Rsa(k) => k.to_public_key().to_public_key_pem(rsa::pkcs8::LineEnding::LF).expect("PEM"),
            Key::Ec(_) => unreachable!("only RSA keys are confused with secrets here"),
        }
    }
    /// A compact JWS over `header` and `claims`, signed with this key whatever the header says.
    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let signature = match &self.key {
            Key::Rsa(k) => {
                let signer = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new((**k).clone());
                rsa::signature::SignatureEncoding::to_vec(&rsa::signature::Signer::sign(&signer, input.as_bytes()))
            }
            Key::Ec(k) => {
                let sig: p256::ecdsa::Signature = k.sign(input.as_bytes());
                sig.to_bytes().to_vec()
            }
        };
        format!("{input}.{}", b64(&signature))
    }
    fn header(&self) -> Value {
        json!({"alg": self.alg(), "typ": "JWT", "kid": self.kid})
    }
    /// A well-formed token for `org` with `scope`, valid for ten minutes.
    fn token(&self, org: &str, scope: &str) -> String {
        self.sign(&self.header(), &claims(org, scope))
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn claims(org: &str, scope: &str) -> Value {
    let t = now();
    json!({"sub": "partner-system-1", "org": org, "scope": scope, "iat": t, "nbf": t, "exp": t + 600,
        "iss": "https://idp.partner.example", "aud": "primary-care-api"})
}

fn hs256(secret: &[u8], header: &Value, claims: &Value) -> String {
    use hmac::{Mac, SimpleHmac};
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let mut mac = SimpleHmac::<rsa::sha2::Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

const RSA_PEM: &str = include_str!("data/keys/partner-rsa.pem");
const RSA_NEXT_PEM: &str = include_str!("data/keys/partner-rsa-next.pem");
const EC_PEM: &str = include_str!("data/keys/partner-ec.pem");

/// A JWKS file of these partners' public keys, in its own temporary directory.
struct KeyFile {
    path: std::path::PathBuf,
}

impl KeyFile {
    fn new(partners: &[&Partner]) -> KeyFile {
        let dir = std::env::temp_dir().join(format!("pcr-jwks-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = KeyFile { path: dir.join("partners.jwks.json") };
        file.write(partners);
        file
    }
    fn write(&self, partners: &[&Partner]) {
        let doc = json!({"keys": partners.iter().map(|p| p.jwk()).collect::<Vec<_>>()});
        // Write beside and rename, as an operator's deploy would: a reader never sees half a file.
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, doc.to_string()).unwrap();
        std::fs::rename(&tmp, &self.path).unwrap();
    }
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.path.parent().unwrap());
    }
}

fn partner_auth(file: &KeyFile) -> AuthConfig {
    AuthConfig {
        jwks: Some(Jwks::load(&file.path).expect("load the JWKS")),
        hs256_secret: Some(SECRET.as_bytes().to_vec()),
        issuer: Some("https://idp.partner.example".into()),
        audience: Some("primary-care-api".into()),
        ..Default::default()
    }
}

fn placement() -> Value {
    json!({"staffRef": "KEY-01", "roleCode": "clinical-pharmacist", "hostType": "practice", "hostCode": "M83001",
        "hoursPerWeek": 37.5, "startDate": "2026-09-01"})
}

async fn partner_keys_verify_and_rotate(mut app: TestApp) {
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    let rsa = Partner::rsa("partner-rsa-2026", RSA_PEM);
    let ec = Partner::ec("partner-ec-2026", EC_PEM);
    let next = Partner::rsa("partner-rsa-2027", RSA_NEXT_PEM);
    let file = KeyFile::new(&[&rsa, &ec]);
    app.state.auth = partner_auth(&file);

    // Both algorithms verify, each by its kid, for reads and for writes.
    for p in [&rsa, &ec] {
        let r = app.get("/api/v1/placements").bearer(&p.token("M83001", "placements:read")).send().await;
        assert_eq!(r.status, 200, "{} token: {}", p.alg(), r.text);
    }
    let created =
        app.post("/api/v1/placements").bearer(&ec.token("M83001", "placements:write")).json(&placement()).send().await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["createdBy"], "partner-system-1");

    // The partner rotates: the next key is published beside the old, then the old withdrawn.
    let before = next.token("M83001", "placements:read");
    let r = app.get("/api/v1/placements").bearer(&before).send().await;
    r.problem(401, "unauthenticated");
    assert_eq!(r.body["detail"], "unknown_key");
    let jwks = app.state.auth.jwks.clone().unwrap();
    jwks.watch(std::time::Duration::from_millis(50));
    file.write(&[&rsa, &ec, &next]);
    let mut waited = 0;
    loop {
        let r = app.get("/api/v1/placements").bearer(&before).send().await;
        if r.status == 200 {
            break;
        }
        assert!(waited < 100, "the new key was not picked up within 5 s: {}", r.text);
        waited += 1;
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A token verified under the old key set is checked again once the set changes.
    let old = rsa.token("M83001", "placements:read");
    assert_eq!(app.get("/api/v1/placements").bearer(&old).send().await.status, 200);
    let generation = jwks.generation();
    file.write(&[&ec, &next]);
    while jwks.generation() == generation {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let r = app.get("/api/v1/placements").bearer(&old).send().await;
    r.problem(401, "unauthenticated");
    assert_eq!(r.body["detail"], "unknown_key", "a withdrawn key no longer verifies, cached or not");

    // A broken file keeps the keys last read: a deploy's typo does not lock partners out.
    std::fs::write(&file.path, "{not json").unwrap();
    assert!(jwks.reload().is_err());
    assert_eq!(app.get("/api/v1/placements").bearer(&before).send().await.status, 200);

    // A file with no usable key, or none at all, stops start-up.
    std::fs::write(&file.path, r#"{"keys": [{"kty": "oct", "kid": "shared", "k": "c2VjcmV0"}]}"#).unwrap();
    assert!(Jwks::load(&file.path).is_err(), "a symmetric key is never taken from a JWKS");
    assert!(Jwks::load(&file.path.with_extension("missing")).is_err());

    // HS256 secrets shorter than 32 bytes are refused at start-up.
    let short = pcr_api::config::AuthArgs { jwt_hs256_secret: Some("too-short".into()), ..Default::default() };
    let err = short.config().unwrap_err();
    assert!(err.contains("at least 32"), "{err}");
    let long = pcr_api::config::AuthArgs { jwt_hs256_secret: Some(SECRET.into()), ..Default::default() };
    assert!(long.config().is_ok());
}

/// Sends a write with `authorization` (raw header values) and asserts a 401 with `detail`,
/// the bearer challenge, and no placement written.
async fn refused(app: &TestApp, authorization: &[String], detail: &str) {
    let before = app.count("placement_records");
    let mut req = app.post("/api/v1/placements").json(&placement());
    for value in authorization {
        req = req.append_header("authorization", value);
    }
    let r = req.send().await;
    r.problem(401, "unauthenticated");
    assert_eq!(r.body["detail"], detail, "{}", r.text);
    let challenge = r.header("www-authenticate").unwrap_or_default();
    assert!(challenge.starts_with("Bearer ") && challenge.contains(detail), "{challenge}");
    assert_eq!(app.count("placement_records"), before, "nothing written for {detail}");
    // The GraphQL endpoint refuses the same credentials the same way.
    let mut req = app.post("/graphql").json(&json!({"query": "{ placements(first: 1) { totalCount } }"}));
    for value in authorization {
        req = req.append_header("authorization", value);
    }
    let g = req.send().await;
    assert_eq!(g.status, 401, "{}", g.text);
    assert_eq!(g.body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(g.body["errors"][0]["message"], detail);
}

fn bearer(token: &str) -> Vec<String> {
    vec![format!("Bearer {token}")]
}

async fn token_rejections(mut app: TestApp) {
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    let rsa = Partner::rsa("partner-rsa-2026", RSA_PEM);
    let ec = Partner::ec("partner-ec-2026", EC_PEM);
    let file = KeyFile::new(&[&rsa, &ec]);
    app.state.auth = partner_auth(&file);
    let write = "placements:read placements:write";
    let t = now();
    let with = |changes: Value| {
        let mut c = claims("M83001", write);
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };

    // The good token, for contrast: every case below differs from it in one respect.
    let ok = app.post("/api/v1/placements").bearer(&rsa.token("M83001", write)).json(&placement()).send().await;
    assert_eq!(ok.status, 201, "{}", ok.text);

    // alg: none, with or without a signature.
    let none_header = json!({"alg": "none", "typ": "JWT"});
    let unsigned =
        format!("{}.{}.", b64(none_header.to_string().as_bytes()), b64(claims("M83001", write).to_string().as_bytes()));
    refused(&app, &bearer(&unsigned), "algorithm_not_allowed").await;
    let none_signed = rsa.sign(&json!({"alg": "none", "kid": rsa.kid}), &claims("M83001", write));
    refused(&app, &bearer(&none_signed), "algorithm_not_allowed").await;

    // Algorithm confusion: the RSA public key (as PEM) used as an HS256 secret.
    let confused =
        hs256(rsa.public_pem().as_bytes(), &json!({"alg": "HS256", "kid": rsa.kid}), &claims("M83001", write));
    refused(&app, &bearer(&confused), "algorithm_not_allowed").await;
    // An RSA key's kid with an ES256 header, and the EC key's kid with RS256.
    refused(
        &app,
        &bearer(&ec.sign(&json!({"alg": "RS256", "kid": ec.kid}), &claims("M83001", write))),
        "algorithm_not_allowed",
    )
    .await;
    refused(
        &app,
        &bearer(&rsa.sign(&json!({"alg": "ES256", "kid": rsa.kid}), &claims("M83001", write))),
        "algorithm_not_allowed",
    )
    .await;
    refused(
        &app,
        &bearer(&rsa.sign(&json!({"alg": "RS512", "kid": rsa.kid}), &claims("M83001", write))),
        "algorithm_not_allowed",
    )
    .await;

    // Unknown kid, and none at all.
    refused(
        &app,
        &bearer(&rsa.sign(&json!({"alg": "RS256", "kid": "someone-else"}), &claims("M83001", write))),
        "unknown_key",
    )
    .await;
    refused(&app, &bearer(&rsa.sign(&json!({"alg": "RS256"}), &claims("M83001", write))), "unknown_key").await;

    // A critical header extension this server does not understand.
    let crit = json!({"alg": "RS256", "kid": rsa.kid, "crit": ["exp-ext"], "exp-ext": true});
    refused(&app, &bearer(&rsa.sign(&crit, &claims("M83001", write))), "unsupported_critical_header").await;

    // Signed by one key, presented as another's.
    let forged = ec.sign(&json!({"alg": "ES256", "kid": ec.kid}), &claims("M83001", write));
    let other = Partner::ec("partner-ec-2026", &p256_other_pem());
    let swapped =
        format!("{}.{}", forged.rsplit_once('.').unwrap().0, other.token("M83001", write).rsplit_once('.').unwrap().1);
    refused(&app, &bearer(&swapped), "invalid_token").await;
    // A changed claim under the original signature.
    let (input, sig) =
        rsa.token("M83001", "placements:read").rsplit_once('.').map(|(a, b)| (a.to_string(), b.to_string())).unwrap();
    let (h, _) = input.split_once('.').unwrap();
    let tampered = format!("{h}.{}.{sig}", b64(claims("M83001", "admin").to_string().as_bytes()));
    refused(&app, &bearer(&tampered), "invalid_token").await;

    // Times: expired, not yet valid, too long; a little clock skew is forgiven.
    refused(&app, &bearer(&rsa.sign(&rsa.header(), &with(json!({"exp": t - 120})))), "expired").await;
    refused(&app, &bearer(&rsa.sign(&rsa.header(), &with(json!({"nbf": t + 600, "exp": t + 900})))), "not_yet_valid")
        .await;
    refused(&app, &bearer(&rsa.sign(&rsa.header(), &with(json!({"exp": t + 25 * 3600})))), "lifetime_too_long").await;
    refused(
        &app,
        &bearer(&rsa.sign(&rsa.header(), &with(json!({"iat": t - 23 * 3600, "exp": t + 2 * 3600})))),
        "lifetime_too_long",
    )
    .await;
    let skewed = rsa.sign(&rsa.header(), &with(json!({"exp": t - 10, "nbf": t + 10})));
    assert_eq!(app.get("/api/v1/placements").bearer(&skewed).send().await.status, 200, "within the leeway");

    // Claims: issuer, audience, subject, expiry.
    refused(&app, &bearer(&rsa.sign(&rsa.header(), &with(json!({"iss": "https://evil.example"})))), "invalid_issuer")
        .await;
    refused(&app, &bearer(&rsa.sign(&rsa.header(), &with(json!({"iss": null})))), "invalid_issuer").await;
    refused(&app, &bearer(&rsa.sign(&rsa.header(), &with(json!({"aud": "another-api"})))), "invalid_audience").await;
    let listed = rsa.sign(&rsa.header(), &with(json!({"aud": ["another-api", "primary-care-api"]})));
    assert_eq!(app.get("/api/v1/placements").bearer(&listed).send().await.status, 200, "aud may be a list");
    refused(&app, &bearer(&rsa.sign(&rsa.header(), &with(json!({"exp": null})))), "missing_claim").await;
    refused(&app, &bearer(&rsa.sign(&rsa.header(), &with(json!({"sub": " "})))), "missing_claim").await;
    refused(&app, &bearer(&rsa.sign(&rsa.header(), &with(json!({"exp": "tomorrow"})))), "invalid_token").await;

    // Development tokens are refused beside a JWKS unless allowed, then accepted.
    let dev = app.token(write);
    refused(&app, &bearer(&dev), "algorithm_not_allowed").await;
    let mut allowed = partner_auth(&file);
    allowed.allow_hs256 = true;
    allowed.issuer = None;
    allowed.audience = None;
    app.state.auth = allowed;
    assert_eq!(app.get("/api/v1/placements").bearer(&dev).send().await.status, 200, "HS256 allowed explicitly");
    // Even then the RSA public key is no HMAC secret.
    refused(&app, &bearer(&confused), "invalid_token").await;
    app.state.auth = partner_auth(&file);

    // Malformed credentials and headers.
    for garbage in ["abc", "a.b.c", "a.b", "....", &"x".repeat(5000)] {
        refused(&app, &bearer(garbage), "invalid_token").await;
    }
    // A header naming RS256 and no key, over empty claims and no signature.
    refused(&app, &bearer("eyJhbGciOiJSUzI1NiJ9.e30."), "unknown_key").await;
    refused(&app, &["Basic dXNlcjpwYXNz".to_string()], "malformed_authorization").await;
    refused(&app, &["Bearer ".to_string()], "malformed_authorization").await;
    let good = rsa.token("M83001", write);
    refused(&app, &[format!("Bearer {good}"), format!("Bearer {good}")], "duplicate_authorization").await;

    // No detail ever carries the JWT library's or the JSON parser's words.
    let r = app.get("/api/v1/placements").bearer("eyJhbGciOiJSUzI1NiIsImtpZCI6MX0.e30.c2ln").send().await;
    r.problem(401, "unauthenticated");
    for word in ["Json", "serde", "invalid type", "Error", "kind"] {
        assert!(!r.text.contains(word), "the detail leaks `{word}`: {}", r.text);
    }
}

/// Another P-256 key, made on the spot: its signatures are valid, just not the partner's.
fn p256_other_pem() -> String {
    use p256::pkcs8::EncodePrivateKey;
    let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("a valid scalar");
    key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).expect("PEM").to_string()
}

/// A partner's key published with `orgs` and `scopes` signs for those organisations and
/// scopes only: a token it signs for another organisation, or for `admin`, is refused (and
/// the attempt audited, its signature having verified), whatever the token claims.
async fn keys_speak_for_their_own_organisations(mut app: TestApp) {
    app.practice("M83001", "Meir Health Centre", "ST3 7DY").await;
    app.practice("M83003", "Trent Vale", "ST4 6AA").await;
    let meir = Partner::rsa("meir-2026", RSA_PEM);
    let operator = Partner::ec("operator-idp", EC_PEM);
    let file = KeyFile::new(&[]);
    let mut bound = meir.jwk();
    bound["orgs"] = json!(["m83001"]);
    bound["scopes"] = json!(["placements:read", "placements:write"]);
    std::fs::write(&file.path, json!({"keys": [bound, operator.jwk()]}).to_string()).unwrap();
    app.state.auth = partner_auth(&file);

    let ok = app
        .post("/api/v1/placements")
        .bearer(&meir.token("M83001", "placements:write"))
        .json(&placement())
        .send()
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    let before = (app.count("placement_records"), app.count("audit_events WHERE outcome = 'accepted'"));
    let mut other_host = placement();
    other_host["hostCode"] = json!("M83003");
    for (org, scope) in
        [("M83003", "placements:write"), ("M83001", "admin"), ("M83001", "placements:write reference:write")]
    {
        let r = app.post("/api/v1/placements").bearer(&meir.token(org, scope)).json(&other_host).send().await;
        r.problem(401, "unauthenticated");
        assert_eq!(r.body["detail"], "not_allowed_for_key", "org {org}, scope {scope}");
    }
    let mut no_org = claims("M83001", "placements:read");
    no_org.as_object_mut().unwrap().remove("org");
    let r = app.get("/api/v1/placements").bearer(&meir.sign(&meir.header(), &no_org)).send().await;
    assert_eq!((r.status, r.body["detail"].as_str()), (401, Some("not_allowed_for_key")));
    assert_eq!((app.count("placement_records"), app.count("audit_events WHERE outcome = 'accepted'")), before);
    let refused = app.count("audit_events WHERE outcome = 'unauthenticated' AND actor = 'partner-system-1'");
    assert_eq!(refused, 3, "each refused write is audited with who signed it");
    // A key without `orgs` (the operator's own identity provider) is not bounded.
    let r = app.post("/api/v1/placements").bearer(&operator.token("M83003", "admin")).json(&other_host).send().await;
    assert_eq!(r.status, 201, "{}", r.text);

    // `orgs` and `scopes` must be lists of strings, or the file is refused.
    let mut broken = meir.jwk();
    broken["orgs"] = json!("M83001");
    std::fs::write(&file.path, json!({"keys": [broken]}).to_string()).unwrap();
    let err = Jwks::load(&file.path).err().expect("refused");
    assert!(err.contains("orgs"), "{err}");
}
