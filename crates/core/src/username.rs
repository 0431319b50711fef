//! Usernames of users and operators: how they are written, checked and compared.
//!
//! * **Written** in Unicode Normalization Form C ([`normalise`]): the same name typed on two
//!   keyboards (`José` precomposed or as `e` + combining acute) is stored, shown and looked up
//!   as one string.
//! * **Checked** by [`check`]: 1 to [`MAX_CHARS`] characters, no surrounding spaces, none of
//!   the characters that are invisible or unstable (general categories Cc control, Cf format,
//!   such as zero-width spaces and bidirectional overrides, Zl/Zp separators, Co private use,
//!   Cn unassigned), and written in one script (Unicode Technical Standard #39's single-script
//!   test, under which Japanese mixing Han and kana, or Latin with digits, is one script), so
//!   that `аlice` with a Cyrillic `а` is refused.
//! * **Compared** by [`key`]: the Unicode identifier caseless match (Unicode Standard §3.13,
//!   D146 "compatibility caseless match", the form UAX #31 recommends for case-insensitive
//!   identifiers): full case folding and compatibility normalisation, so `Alice`, `ALICE`,
//!   fullwidth `ａｌｉｃｅ` and `alice` share one key, and so do `Straße` and `STRASSE`.
//!   Storage keeps one principal per (brand, kind, key); the first spelling is the one shown.
//!
//! Full case folding rather than `to_lowercase`: lowercasing leaves `ß`/`ss`, final `ς`/`σ`
//! and Cherokee letters apart. Compatibility (NFKC) rather than canonical normalisation in the
//! key: fullwidth, ligature and superscript forms read as their plain letters. What the key
//! does not merge is a whole-script look-alike (a name written entirely in Cyrillic letters
//! that resemble Latin ones): those are different names in a script of their own, and merging
//! them (UTS #39 skeletons) would refuse legitimate distinct names; the single-script rule
//! above refuses the common attack, a Latin name with one foreign letter.

use std::borrow::Cow;

use caseless::Caseless;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::MixedScript;

/// The longest username, in characters (after NFC normalisation).
pub const MAX_CHARS: usize = 128;

/// Why a username is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Empty, or longer than [`MAX_CHARS`] characters.
    #[error("username must be 1 to {MAX_CHARS} characters")]
    Length,
    /// Starts or ends with white space.
    #[error("username must not start or end with white space")]
    SurroundingSpace,
    /// Holds a character that is invisible or unstable (named by its code point).
    #[error("username must not contain U+{0:04X} (control, format, separator, private-use or unassigned characters)")]
    ForbiddenCharacter(u32),
    /// Letters of more than one script (e.g. Latin with one Cyrillic letter).
    #[error("username must be written in one script (it mixes letters of several, e.g. Latin and Cyrillic)")]
    MixedScripts,
}

/// `username` in Normalization Form C: borrowed when it already is (the usual case).
pub fn normalise(username: &str) -> Cow<'_, str> {
    if is_nfc_quick(username.chars()) == IsNormalized::Yes {
        Cow::Borrowed(username)
    } else {
        Cow::Owned(username.nfc().collect())
    }
}

/// The form under which usernames are compared and kept unique: the compatibility caseless
/// form, `NFKC(fold(NFKD(fold(NFD(username)))))`. Two usernames clash exactly when their keys
/// are equal. Deterministic for a given Unicode version; the same for every normalisation of
/// the input.
pub fn key(username: &str) -> String {
    let first: String = username.nfd().default_case_fold().nfkd().collect();
    first.chars().default_case_fold().nfkc().collect()
}

/// Characters that render as nothing, or as a blank, though their general category is not
/// Cc or Cf: Unicode's `Default_Ignorable_Code_Point`s outside Cf (the combining grapheme
/// joiner, variation selectors, Hangul fillers, Mongolian free variation selectors, the Khmer
/// inherent vowels, reserved ignorables) and the Braille blank. A name with one looks the same
/// as the name without it.
const INVISIBLE: [(char, char); 13] = [
    ('\u{034F}', '\u{034F}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{2065}', '\u{2065}'),
    ('\u{2800}', '\u{2800}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{E0000}', '\u{E0FFF}'),
    ('\u{1D173}', '\u{1D17A}'),
];

/// Whether `c` is refused in usernames.
fn forbidden(c: char) -> bool {
    INVISIBLE.iter().any(|(first, last)| (*first..=*last).contains(&c))
        || matches!(
            c.general_category(),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
                | GeneralCategory::PrivateUse
                | GeneralCategory::Unassigned
                | GeneralCategory::Surrogate
        )
}

/// Checks a username as it will be stored (pass it through [`normalise`] first).
pub fn check(username: &str) -> Result<(), UsernameError> {
    let chars = username.chars().count();
    if chars == 0 || chars > MAX_CHARS {
        return Err(UsernameError::Length);
    }
    if let Some(c) = username.chars().find(|&c| forbidden(c)) {
        return Err(UsernameError::ForbiddenCharacter(u32::from(c)));
    }
    if username.trim() != username {
        return Err(UsernameError::SurroundingSpace);
    }
    if !username.is_single_script() {
        return Err(UsernameError::MixedScripts);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOSE_NFC: &str = "Jos\u{e9}";
    const JOSE_NFD: &str = "Jose\u{301}";

    #[test]
    fn invisible_and_blank_looking_characters_are_refused() {
        for name in [
            "alice\u{034F}",
            "alice\u{FE0F}",
            "bob\u{FE00}",
            "alice\u{E0101}",
            "\u{3164}",
            "\u{3164}\u{3164}",
            "\u{115F}",
            "\u{2800}",
            "a\u{180B}",
            "a\u{FFA0}",
        ] {
            assert!(matches!(check(name), Err(UsernameError::ForbiddenCharacter(_))), "{name:?}");
        }
    }

    #[test]
    fn names_are_stored_in_nfc() {
        assert!(matches!(normalise("alice"), Cow::Borrowed("alice")));
        assert_eq!(normalise(JOSE_NFD), JOSE_NFC);
        assert!(matches!(normalise(JOSE_NFC), Cow::Borrowed(_)));
    }

    #[test]
    fn look_alikes_share_a_key() {
        let alice = key("alice");
        for spelling in ["Alice", "ALICE", "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}", "\u{ff21}lice"] {
            assert_eq!(key(spelling), alice, "{spelling}");
        }
        assert_eq!(key(JOSE_NFC), key(JOSE_NFD));
        assert_eq!(key("jos\u{c9}"), key(JOSE_NFD), "case and normalisation together");
        assert_eq!(key("Stra\u{df}e"), key("STRASSE"), "full case folding: ß is ss");
        assert_eq!(
            key("\u{3a3}\u{3bf}\u{3c6}\u{3bf}\u{3c2}"),
            key("\u{3c3}\u{3bf}\u{3c6}\u{3bf}\u{3c3}"),
            "final sigma"
        );
        assert_eq!(key("\u{fb01}le"), key("file"), "ligature");
        assert_ne!(key("alice"), key("alicia"));
        assert_ne!(key("alice"), key("\u{430}lice"), "a Cyrillic a is another letter (refused by check)");
    }

    #[test]
    fn invisible_and_unstable_characters_are_refused() {
        for (name, c) in [
            ("alice\u{200b}", 0x200b),
            ("ali\u{200d}ce", 0x200d),
            ("\u{202e}ecila", 0x202e),
            ("alice\u{2066}", 0x2066),
            ("al\u{ad}ice", 0xad),
            ("alice\u{7}", 7),
            ("ali\nce", 10),
            ("alice\u{2028}", 0x2028),
            ("alice\u{e000}", 0xe000),
            ("alice\u{feff}", 0xfeff),
            ("alice\u{378}", 0x378),
        ] {
            assert_eq!(check(name), Err(UsernameError::ForbiddenCharacter(c)), "{name:?}");
        }
    }

    #[test]
    fn mixed_scripts_are_refused_and_single_scripts_accepted() {
        assert_eq!(check("\u{430}lice"), Err(UsernameError::MixedScripts), "Cyrillic a in a Latin name");
        assert_eq!(check("p\u{430}yp\u{430}l"), Err(UsernameError::MixedScripts));
        assert_eq!(check("\u{3b1}lice"), Err(UsernameError::MixedScripts), "Greek alpha");
        for ok in [
            "alice",
            "Alice Smith",
            "alice.smith_2@example.com",
            JOSE_NFC,
            "\u{41c}\u{430}\u{440}\u{438}\u{44f}",
            "\u{5d9}\u{5d5}\u{5e1}\u{5d9}",
            "\u{5c71}\u{7530}\u{305f}\u{308d}\u{3046}",
            "\u{d64d}\u{ae38}\u{b3d9}",
            "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}",
        ] {
            assert_eq!(check(&normalise(ok)), Ok(()), "{ok}");
        }
    }

    #[test]
    fn lengths_and_spaces_are_checked() {
        assert_eq!(check(""), Err(UsernameError::Length));
        assert_eq!(check(&"a".repeat(MAX_CHARS + 1)), Err(UsernameError::Length));
        assert_eq!(check(&"\u{e9}".repeat(MAX_CHARS)), Ok(()), "characters, not bytes");
        assert_eq!(check(" alice"), Err(UsernameError::SurroundingSpace));
        assert_eq!(check("alice\u{3000}"), Err(UsernameError::SurroundingSpace));
    }
}
