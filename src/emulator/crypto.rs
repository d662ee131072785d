//! Real cryptography for the emulator (ring): KMS authenticated encryption and MACs, SigV4
//! signatures, and RFC 6238 TOTP codes for virtual MFA devices.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::{digest, hmac};

pub fn sha256_hex(data: &[u8]) -> String {
    super::util::hex(digest::digest(&digest::SHA256, data).as_ref())
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&k, data).as_ref().to_vec()
}

pub fn hmac_verify_sha256(key: &[u8], data: &[u8], mac: &[u8]) -> bool {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::verify(&k, data, mac).is_ok()
}

/// AES-256-GCM seal: returns nonce || ciphertext || tag.
pub fn seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce_bytes = super::util::random_bytes::<12>();
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("32-byte key"));
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(aad),
        &mut buf,
    )
    .expect("AES-GCM seal of an in-memory buffer");
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&buf);
    out
}

/// AES-256-GCM open of `nonce || ciphertext || tag`; None when forged or damaged.
pub fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < 12 + 16 {
        return None;
    }
    let (nonce, rest) = sealed.split_at(12);
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let mut buf = rest.to_vec();
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let plain = key.open_in_place(nonce, Aad::from(aad), &mut buf).ok()?;
    Some(plain.to_vec())
}

/// Decodes RFC 4648 base32 (the usual form of TOTP seeds); padding and case are ignored.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits: u64 = 0;
    let mut nbits = 0u32;
    let mut out = Vec::new();
    for c in s.chars().filter(|c| *c != '=' && !c.is_whitespace()) {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u64 - 'A' as u64,
            c @ '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        bits = (bits << 5) | v;
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

/// The RFC 6238 time step (30 s) a Unix time falls in.
pub fn totp_step(unix_secs: i64) -> u64 {
    (unix_secs.max(0) / 30) as u64
}

/// RFC 6238 TOTP (HMAC-SHA1, 6 digits) for a time step.
pub fn totp_at_step(secret: &[u8], step: u64) -> String {
    let k = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&k, &step.to_be_bytes());
    let m = mac.as_ref();
    let off = (m[m.len() - 1] & 0x0f) as usize;
    let bin = ((m[off] as u32 & 0x7f) << 24)
        | ((m[off + 1] as u32) << 16)
        | ((m[off + 2] as u32) << 8)
        | (m[off + 3] as u32);
    format!("{:06}", bin % 1_000_000)
}

/// The TOTP code for a Unix time.
pub fn totp(secret: &[u8], unix_secs: i64) -> String {
    totp_at_step(secret, totp_step(unix_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA1 seed "12345678901234567890" (8 digits there; last 6 here).
        let seed = b"12345678901234567890";
        assert_eq!(totp(seed, 59), "287082");
        assert_eq!(totp(seed, 1111111109), "081804");
        assert_eq!(totp(seed, 1234567890), "005924");
        assert_eq!(totp(seed, 2000000000), "279037");
    }

    #[test]
    fn base32_roundtrip_known() {
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert!(base32_decode("not base32!").is_none());
    }

    #[test]
    fn seal_open_and_tamper() {
        let key = [7u8; 32];
        let c = seal(&key, b"ctx", b"hello");
        assert_eq!(open(&key, b"ctx", &c).unwrap(), b"hello");
        assert!(open(&key, b"other", &c).is_none());
        let mut bad = c.clone();
        bad[14] ^= 1;
        assert!(open(&key, b"ctx", &bad).is_none());
    }
}
