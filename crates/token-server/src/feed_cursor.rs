//! Revocation-feed cursors on the wire: opaque, and meaningful at one brand only.
//!
//! Inside, a cursor is the feed's platform-wide position. Shown as a number, the gaps between a
//! brand's own cursors would count every other brand's revocations. So each cursor leaves the
//! server sealed: the position and the brand's id, one AES block under the deployment's cursor key
//! (a keyed permutation), in base64url. A sealed cursor reveals nothing of the position, compares
//! to nothing, and opens only at the brand it was given by; `0`, the start of the feed, is the one
//! cursor a follower writes itself.
//!
//! The key is random, made once per deployment and kept in the database (`platform_meta`), so
//! every replica seals alike and cursors survive restarts and master-key rotations.

use std::fmt;

use aws_lc_rs::cipher::{AES_128, DecryptingKey, DecryptionContext, EncryptingKey, UnboundCipherKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_tenancy::BrandId;

/// The name of the cursor key in the database's platform metadata.
pub const CURSOR_KEY_NAME: &str = "feed_cursor_key";

/// Bytes of the cursor key.
pub const CURSOR_KEY_LEN: usize = 16;

/// The start of the feed, before any entry.
pub(crate) const START: &str = "0";

/// Characters of a sealed cursor: one AES block in unpadded base64url.
const SEALED_LEN: usize = 22;

/// A cursor as written, checked for form only (which brand it belongs to is checked on opening).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireCursor {
    /// `0`: the start of the feed.
    Start,
    /// A cursor this server sealed, or something of the same form.
    Sealed([u8; 16]),
}

impl WireCursor {
    /// Reads the form of a cursor: `0`, or 22 base64url characters.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        if text == START {
            return Some(Self::Start);
        }
        if text.len() != SEALED_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        // Only the canonical spelling: a block has exactly one.
        let block: [u8; 16] = bytes.try_into().ok()?;
        (URL_SAFE_NO_PAD.encode(block) == text).then_some(Self::Sealed(block))
    }
}

/// Seals and opens cursors under the deployment's key. Cheap to clone.
#[derive(Clone)]
pub struct CursorCodec {
    seal: std::sync::Arc<EncryptingKey>,
    open: std::sync::Arc<DecryptingKey>,
}

impl fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CursorCodec([redacted])")
    }
}

/// A cursor key of the wrong length.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("a feed cursor key has {CURSOR_KEY_LEN} bytes")]
pub struct BadCursorKey;

impl CursorCodec {
    /// A codec under `key` ([`CURSOR_KEY_LEN`] random bytes).
    pub fn new(key: &[u8]) -> Result<Self, BadCursorKey> {
        let unbound = || UnboundCipherKey::new(&AES_128, key).map_err(|_| BadCursorKey);
        let seal = EncryptingKey::ecb(unbound()?).map_err(|_| BadCursorKey)?;
        let open = DecryptingKey::ecb(unbound()?).map_err(|_| BadCursorKey)?;
        Ok(Self { seal: std::sync::Arc::new(seal), open: std::sync::Arc::new(open) })
    }

    /// The wire form of `position` at `brand`.
    pub(crate) fn seal(&self, brand: BrandId, position: i64) -> String {
        if position <= 0 {
            return START.to_owned();
        }
        let mut block = [0u8; 16];
        block[..8].copy_from_slice(&position.to_be_bytes());
        block[8..].copy_from_slice(&brand.0.to_be_bytes());
        match self.seal.encrypt(&mut block) {
            Ok(_) => URL_SAFE_NO_PAD.encode(block),
            // ECB on one whole block cannot fail; the start is the safe answer if it ever did.
            Err(_) => START.to_owned(),
        }
    }

    /// The position a cursor stands for at `brand`; `None` when it was not sealed for `brand`.
    pub(crate) fn open(&self, brand: BrandId, cursor: WireCursor) -> Option<i64> {
        let WireCursor::Sealed(mut block) = cursor else {
            return Some(0);
        };
        self.open.decrypt(&mut block, DecryptionContext::None).ok()?;
        let (position, owner) = block.split_at(8);
        let position = i64::from_be_bytes(position.try_into().ok()?);
        let owner = i64::from_be_bytes(owner.try_into().ok()?);
        (owner == brand.0 && position > 0).then_some(position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> CursorCodec {
        CursorCodec::new(&[7; CURSOR_KEY_LEN]).expect("a key")
    }

    #[test]
    fn cursors_round_trip_at_their_brand_only() {
        let codec = codec();
        for position in [1, 2, 1_000, i64::MAX] {
            let sealed = codec.seal(BrandId(3), position);
            assert_eq!(sealed.len(), SEALED_LEN);
            let wire = WireCursor::parse(&sealed).expect("its own form");
            assert_eq!(codec.open(BrandId(3), wire), Some(position));
            assert_eq!(codec.open(BrandId(4), wire), None, "another brand's cursor");
        }
        assert_eq!(codec.seal(BrandId(3), 0), "0");
        assert_eq!(codec.open(BrandId(3), WireCursor::Start), Some(0));
    }

    #[test]
    fn sealed_cursors_do_not_show_their_order() {
        let codec = codec();
        let (a, b) = (codec.seal(BrandId(1), 41), codec.seal(BrandId(1), 42));
        assert_ne!(a, b);
        assert!(!a.contains("41") && !b.contains("42"));
        let other = CursorCodec::new(&[8; CURSOR_KEY_LEN]).expect("a key");
        assert_eq!(other.open(BrandId(1), WireCursor::parse(&a).expect("form")), None, "another deployment's key");
    }

    #[test]
    fn only_the_start_and_sealed_blocks_parse() {
        for bad in ["", "00", "1", "-1", "42", "abc", &"A".repeat(21), &"A".repeat(23), "AAAAAAAAAAAAAAAAAAAAA+"] {
            assert_eq!(WireCursor::parse(bad), None, "{bad}");
        }
        // 22 characters whose last one carries bits beyond the block: not canonical.
        assert_eq!(WireCursor::parse("AAAAAAAAAAAAAAAAAAAAAB"), None);
        assert!(WireCursor::parse("AAAAAAAAAAAAAAAAAAAAAA").is_some());
        assert!(CursorCodec::new(&[1; 15]).is_err());
    }
}
