//! Small helpers shared by the services: ids, a seeded PRNG, ARNs and time formats.

use chrono::{DateTime, SecondsFormat, Utc};
use ring::rand::SecureRandom;

/// Random bytes from the OS.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // SystemRandom only fails if the OS has no entropy source at all.
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .unwrap_or_else(|_| b.iter_mut().enumerate().for_each(|(i, x)| *x = i as u8));
    b
}

pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

/// A random RFC 4122 v4 UUID.
pub fn uuid() -> String {
    uuid_from(random_bytes::<16>())
}

pub fn uuid_from(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A uniform float in [0, 1) from the OS.
pub fn random_unit() -> f64 {
    let b = random_bytes::<8>();
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// A small deterministic PRNG (SplitMix64) for seeded scenarios.
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    pub fn new(seed: u64) -> Self {
        SeededRng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        for chunk in b.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        b
    }
    pub fn uuid(&mut self) -> String {
        uuid_from(self.bytes::<16>())
    }
}

/// ISO 8601 with milliseconds, as AWS writes times in XML and CloudTrail JSON.
pub fn iso8601(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// ISO 8601 to the second (CloudTrail `eventTime`).
pub fn iso8601_secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Epoch seconds with fractions, as awsJson/restJson timestamps are written.
pub fn epoch(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// Parses an epoch-seconds number or an ISO 8601 string.
pub fn parse_time(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    match v {
        serde_json::Value::Number(n) => {
            let f = n.as_f64()?;
            DateTime::from_timestamp_millis((f * 1000.0) as i64)
        }
        serde_json::Value::String(s) => {
            if let Ok(f) = s.parse::<f64>() {
                return DateTime::from_timestamp_millis((f * 1000.0) as i64);
            }
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        }
        _ => None,
    }
}

/// Splits an ARN into (partition, service, region, account, resource).
pub fn split_arn(arn: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let mut it = arn.splitn(6, ':');
    if it.next()? != "arn" {
        return None;
    }
    Some((it.next()?, it.next()?, it.next()?, it.next()?, it.next()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_rng_is_deterministic() {
        let mut a = SeededRng::new(7);
        let mut b = SeededRng::new(7);
        assert_eq!(a.uuid(), b.uuid());
        assert_ne!(a.next_u64(), SeededRng::new(8).next_u64());
    }

    #[test]
    fn uuid_has_v4_shape() {
        let u = uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn arn_split() {
        let (p, s, r, a, res) = split_arn("arn:aws:sqs:us-east-1:123:q").unwrap();
        assert_eq!((p, s, r, a, res), ("aws", "sqs", "us-east-1", "123", "q"));
        assert!(split_arn("nope").is_none());
    }
}
