//! JWT access tokens (algorithm pinned) and opaque refresh tokens (stored hashed).

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The HMAC algorithms an operator may choose (`ALGORITHM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256, the default.
    Hs256,
    /// HMAC-SHA384.
    Hs384,
    /// HMAC-SHA512.
    Hs512,
}

impl JwtAlgorithm {
    fn jwt(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::Hs384 => Algorithm::HS384,
            Self::Hs512 => Algorithm::HS512,
        }
    }
}

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string.
    pub sub: String,
    /// The session id; revoking the session invalidates the token.
    pub sid: i64,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expiry (Unix seconds); required.
    pub exp: i64,
    /// A unique token id.
    pub jti: String,
}

/// Signing and verification keys with the algorithm pinned.
#[derive(Clone)]
pub struct TokenKeys {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    /// Keys for `secret` with `algorithm`.
    pub fn new(secret: &[u8], algorithm: JwtAlgorithm) -> Self {
        Self {
            algorithm: algorithm.jwt(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// Signs claims.
    pub fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(self.algorithm), claims, &self.encoding)
    }

    /// Verifies signature, algorithm (only the configured one) and expiry (no leeway).
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(self.algorithm);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map(|data| data.claims)
    }
}

/// `n` random bytes, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a refresh token: its SHA-256, hex. The token itself has 256 bits
/// of entropy, so a fast hash is enough.
pub fn hash_refresh_token(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_offset: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: "1".into(),
            sid: 1,
            iat: now,
            exp: now + exp_offset,
            jti: random_token(16),
        }
    }

    #[test]
    fn round_trip() {
        let keys = TokenKeys::new(b"secret-secret-secret-secret-1234", JwtAlgorithm::Hs384);
        let token = keys.sign(&claims(60)).unwrap();
        assert_eq!(keys.verify(&token).unwrap().sub, "1");
    }

    #[test]
    fn expired_and_foreign_algorithms_are_rejected() {
        let keys = TokenKeys::new(b"k", JwtAlgorithm::Hs256);
        assert!(keys.verify(&keys.sign(&claims(-1)).unwrap()).is_err());
        let other = TokenKeys::new(b"k", JwtAlgorithm::Hs512);
        assert!(keys.verify(&other.sign(&claims(60)).unwrap()).is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, b) = (random_token(32), random_token(32));
        assert_ne!(a, b);
        assert_eq!(hash_refresh_token(&a).len(), 64);
        assert_eq!(hash_refresh_token(&a), hash_refresh_token(&a));
    }
}
