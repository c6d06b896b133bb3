//! Vietnamese text handling: diacritic-insensitive search and list ordering.
//!
//! * [`fold`] and [`matches()`] implement the search people actually type:
//!   without diacritics, in any case, with words in any order and possibly
//!   cut short ("ha nguyen", "thu h" both find "Nguyễn Thị Thu Hà").
//! * [`collator`] gives a shared Vietnamese ICU collator (a < ă < â < b … d <
//!   đ < e < ê …, tone marks as secondary differences).
//! * [`name_sort_key`] builds byte-comparable keys that order people the way
//!   Vietnamese lists do: by given name, then middle name, then family name.
//! * [`house_number_key`] builds byte-comparable keys that order house numbers
//!   naturally ("5" < "5A" < "12" < "12/3" < "12/10").
//!
//! Every `*_key` function returns a `Vec<u8>` meant to be stored in a BLOB
//! column and compared with `memcmp` (SQLite's BLOB comparison), so that an
//! `ORDER BY key` gives the right order without a custom SQL collation.
//! Keys depend on the ICU4X version and its CLDR data: recompute them after
//! upgrading `icu_collator`.

use std::cmp::Ordering;
use std::sync::LazyLock;

use icu_collator::CollatorBorrowed;
use icu_collator::options::CollatorOptions;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Folds text for diacritic- and case-insensitive search.
///
/// The result is lowercase, has every combining mark removed (after canonical
/// decomposition, so precomposed and decomposed input fold alike), maps
/// `đ`/`Đ` to `d` (and the look-alike `ð`/`Ð`, which legacy data sometimes
/// uses for `Đ`), collapses runs of whitespace to a single space and is
/// trimmed. Other characters, including punctuation, are kept.
///
/// ```
/// use sync_core::text::fold;
/// assert_eq!(fold("  Nguyễn Thị   Thu Hà "), "nguyen thi thu ha");
/// assert_eq!(fold("ĐỖ Văn Đức"), "do van duc");
/// ```
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    // `true` while the last thing pushed was a space (or nothing at all), so
    // leading whitespace is dropped and runs collapse to one space.
    let mut at_space = true;
    for c in s.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_whitespace() {
            if !at_space {
                out.push(' ');
                at_space = true;
            }
            continue;
        }
        at_space = false;
        match c {
            'đ' | 'Đ' | 'ð' | 'Ð' => out.push('d'),
            _ => out.extend(c.to_lowercase()),
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Returns whether a search query matches an already [`fold`]ed text.
///
/// The query is folded here; `folded_haystack` must already be the output of
/// [`fold`] (typically a stored search column), it is not folded again. Every
/// word of the query must be a prefix of a *different* word of the haystack,
/// in any order: "ha nguyen", "nguyen thi ha" and "thu h" all match
/// "nguyen thi thu ha", but "ha ha" does not. An empty query matches
/// everything.
pub fn matches(query: &str, folded_haystack: &str) -> bool {
    let query = fold(query);
    let needles: Vec<&str> = query.split_whitespace().collect();
    if needles.is_empty() {
        return true;
    }
    let words: Vec<&str> = folded_haystack.split_whitespace().collect();
    if needles.len() > words.len() {
        return false;
    }
    // Bipartite matching (Kuhn's algorithm): query word -> distinct haystack
    // word it is a prefix of. Names have a handful of words, so this is cheap.
    let mut owner: Vec<Option<usize>> = vec![None; words.len()];
    for n in 0..needles.len() {
        let mut seen = vec![false; words.len()];
        if !augment(n, &needles, &words, &mut owner, &mut seen) {
            return false;
        }
    }
    true
}

/// One augmenting-path step of the matching in [`matches`].
fn augment(
    n: usize,
    needles: &[&str],
    words: &[&str],
    owner: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    for (w, word) in words.iter().enumerate() {
        if seen[w] || !word.starts_with(needles[n]) {
            continue;
        }
        seen[w] = true;
        let free = match owner[w] {
            None => true,
            Some(other) => augment(other, needles, words, owner, seen),
        };
        if free {
            owner[w] = Some(n);
            return true;
        }
    }
    false
}

/// The Vietnamese collator (CLDR "vi" tailoring, tertiary strength).
///
/// Obtain the shared instance with [`collator()`]. Comparison is canonical:
/// precomposed and decomposed spellings of the same text compare equal.
#[derive(Debug)]
pub struct VietnameseCollator {
    inner: CollatorBorrowed<'static>,
}

static COLLATOR: LazyLock<VietnameseCollator> = LazyLock::new(|| {
    let inner = CollatorBorrowed::try_new(
        icu_locale_core::locale!("vi").into(),
        CollatorOptions::default(),
    )
    .expect("compiled ICU4X data contains the Vietnamese collation");
    VietnameseCollator { inner }
});

/// The shared Vietnamese collator, created on first use.
pub fn collator() -> &'static VietnameseCollator {
    &COLLATOR
}

impl VietnameseCollator {
    /// Compares two strings in Vietnamese dictionary order.
    pub fn compare(&self, a: &str, b: &str) -> Ordering {
        self.inner.compare(a, b)
    }

    /// The ICU sort key of `s`: comparing two keys bytewise gives the same
    /// result as [`compare`](Self::compare) on the strings.
    ///
    /// ICU sort keys never contain the byte `0x00` (`0x01` separates levels),
    /// which [`name_sort_key`] relies on.
    pub fn sort_key(&self, s: &str) -> Vec<u8> {
        let mut key = Vec::with_capacity(2 * s.len() + 4);
        self.append_sort_key(s, &mut key);
        key
    }

    fn append_sort_key(&self, s: &str, key: &mut Vec<u8>) {
        let Ok(()) = self.inner.write_sort_key_to(s, key);
    }
}

/// Splits a whitespace-normalised full name (words separated by single
/// spaces) into `(family, middle, given)`.
///
/// The family name is the first word, the given name the last word and the
/// middle name everything in between. A one-word name is a given name only.
pub(crate) fn split_name(normalized: &str) -> (Option<&str>, Option<&str>, &str) {
    let Some((family, rest)) = normalized.split_once(' ') else {
        return (None, None, normalized);
    };
    match rest.rsplit_once(' ') {
        Some((middle, given)) => (Some(family), Some(middle), given),
        None => (Some(family), None, rest),
    }
}

/// A byte-comparable key that sorts full names in Vietnamese list order.
///
/// The name is written family–middle–given ("Nguyễn Thị Thu Hà"); lists are
/// ordered by given name ("Hà"), then middle name ("Thị Thu"), then family
/// name ("Nguyễn"), each compared with the Vietnamese [`collator()`]. A
/// missing component (a one-word name has only a given name) sorts before any
/// present one.
///
/// Layout: `key(given) 00 key(middle) 00 key(family) 00 nfc(name)`, where
/// `key` is the full ICU sort key. ICU keys never contain `0x00`, so the
/// separator is lower than every key byte: when one component's key is a
/// proper prefix of the other's (e.g. "An" vs "Anh"), the shorter one meets
/// the separator first and sorts first, exactly as the collator says. Hence a
/// bytewise comparison of two keys equals comparing `(given, middle, family)`
/// with the collator. The trailing NFC text only breaks ties between names
/// the collator considers equal, so that the order is deterministic.
pub fn name_sort_key(full_name: &str) -> Vec<u8> {
    let normalized: String = full_name
        .nfc()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let (family, middle, given) = split_name(&normalized);
    let coll = collator();
    let mut key = Vec::with_capacity(4 * normalized.len() + 16);
    coll.append_sort_key(given, &mut key);
    key.push(0);
    coll.append_sort_key(middle.unwrap_or(""), &mut key);
    key.push(0);
    coll.append_sort_key(family.unwrap_or(""), &mut key);
    key.push(0);
    key.extend_from_slice(normalized.as_bytes());
    key
}

// Token tags of `house_number_key`, in increasing order.
const HN_END: u8 = 0x00;
const HN_LETTERS_END: u8 = 0x01;
const HN_SLASH: u8 = 0x02;
const HN_OTHER_SEPARATOR: u8 = 0x03;
const HN_NUMBER: u8 = 0x04;
const HN_LETTERS: u8 = 0x05;
// Groups, the first byte of every key.
const HN_GROUP_NUMBERED: u8 = 0x01;
const HN_GROUP_OTHER: u8 = 0x02;
const HN_GROUP_EMPTY: u8 = 0xFF;

/// A byte-comparable key giving the natural order of house numbers.
///
/// The rule:
/// 1. Text is [`fold`]ed (case and diacritics are ignored) and a leading
///    "số nhà", "số" or "SN" is dropped.
/// 2. Numbers that begin with a digit come first; forms that begin with a
///    letter (lots, "K12/3"-style alley numbers) come after them, and empty
///    forms (nothing but spaces or punctuation) come last.
/// 3. The text is read as a sequence of tokens: numbers (compared
///    numerically, leading zeros ignored), letter runs (compared
///    alphabetically, "a" < "b" < "bis"), `/` and other punctuation.
///    Whitespace only separates tokens. Tokens are compared in turn; at the
///    first difference, "nothing more" < `/` < other punctuation < a number <
///    letters.
///
/// So the main number decides first, then a letter suffix, then the `/`
/// sub-numbers: `5 < 5A < 5B < 12 < 12/3 < 12/10 < 12A < 12A/1 < 13`.
/// Forms equal under these rules ("5a", "5 A", "05A") are ordered by their
/// trimmed text, so the order is deterministic. Digit runs longer than 255
/// significant digits are compared on their first 255 digits.
pub fn house_number_key(s: &str) -> Vec<u8> {
    let folded = fold(s);
    let body = strip_house_prefix(&folded);
    let mut key = Vec::with_capacity(body.len() + 8);
    match body.chars().find(|c| c.is_alphanumeric()) {
        None => key.push(HN_GROUP_EMPTY),
        Some(c) if c.is_ascii_digit() => key.push(HN_GROUP_NUMBERED),
        Some(_) => key.push(HN_GROUP_OTHER),
    }
    let mut chars = body.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut digits = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(d);
                chars.next();
            }
            let significant = digits.trim_start_matches('0');
            let significant = &significant[..significant.len().min(255)];
            key.push(HN_NUMBER);
            key.push(u8::try_from(significant.len()).unwrap_or(u8::MAX));
            key.extend_from_slice(significant.as_bytes());
        } else if c.is_alphanumeric() {
            key.push(HN_LETTERS);
            while let Some(&l) = chars
                .peek()
                .filter(|l| l.is_alphanumeric() && !l.is_ascii_digit())
            {
                let mut buf = [0; 4];
                key.extend_from_slice(l.encode_utf8(&mut buf).as_bytes());
                chars.next();
            }
            key.push(HN_LETTERS_END);
        } else {
            chars.next();
            if c == '/' {
                key.push(HN_SLASH);
            } else if !c.is_whitespace() {
                key.push(HN_OTHER_SEPARATOR);
            }
        }
    }
    key.push(HN_END);
    key.extend_from_slice(s.trim().as_bytes());
    key
}

/// Drops a leading "so nha" / "so" / "sn" (folded "số nhà", "số", "SN") when
/// it is a word of its own, with the spaces and dots after it.
fn strip_house_prefix(folded: &str) -> &str {
    for prefix in ["so nha", "so", "sn"] {
        if let Some(rest) = folded.strip_prefix(prefix)
            && !rest.starts_with(char::is_alphabetic)
        {
            return rest.trim_start_matches([' ', '.', ':']);
        }
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_removes_marks_case_and_spaces() {
        assert_eq!(fold("Nguyễn Thị Thu Hà"), "nguyen thi thu ha");
        assert_eq!(fold("ĐỖ Văn Đức"), "do van duc");
        assert_eq!(fold("\t Lê  \n Văn\u{a0}Tám  "), "le van tam");
        assert_eq!(fold(""), "");
        assert_eq!(fold("   "), "");
        // Decomposed input (NFD) folds like precomposed input.
        let nfd: String = "Nguyễn Thị Ánh Tuyết".nfd().collect();
        assert_ne!(nfd, "Nguyễn Thị Ánh Tuyết");
        assert_eq!(fold(&nfd), "nguyen thi anh tuyet");
        // Legacy look-alike of Đ.
        assert_eq!(fold("Ðặng"), "dang");
        assert_eq!(fold("Ưng Ơn Ôn Ăn Ân Ê"), "ung on on an an e");
    }

    #[test]
    fn matches_words_in_any_order_as_prefixes() {
        let hay = fold("Nguyễn Thị Thu Hà");
        for q in [
            "ha nguyen",
            "nguyen thi ha",
            "thu h",
            "Nguyễn",
            "HÀ",
            "",
            "  ",
            "ng th",
        ] {
            assert!(matches(q, &hay), "{q:?} should match");
        }
        for q in [
            "hai",
            "nguyen van",
            "ha ha",
            "thu thu",
            "x",
            "nguyen thi thu ha a",
        ] {
            assert!(!matches(q, &hay), "{q:?} should not match");
        }
        // A word needs its own haystack word, even when the greedy choice
        // would take the wrong one first.
        assert!(matches("th thu", &fold("Thu Thảo")));
        assert!(matches("t th", &fold("Thu Tam")));
        assert!(!matches("t t t", &fold("Thu Tam")));
    }

    #[test]
    fn collator_is_vietnamese() {
        let c = collator();
        let ordered = [
            "a", "á", "ă", "ắ", "â", "b", "d", "đ", "e", "ê", "o", "ô", "ơ", "u", "ư",
        ];
        for pair in ordered.windows(2) {
            assert_eq!(c.compare(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert!(c.sort_key(pair[0]) < c.sort_key(pair[1]), "{pair:?}");
        }
        // Tones are secondary: the base letters decide first.
        assert_eq!(c.compare("Hà", "Hai"), Ordering::Less);
        assert_eq!(c.compare("Ánh", "Anh"), Ordering::Greater);
        assert_eq!(c.compare("Ánh", "Anhb"), Ordering::Less);
        // Đ sorts after every D word.
        assert_eq!(c.compare("Dung", "Đào"), Ordering::Less);
        // Canonically equivalent strings are equal.
        let nfd: String = "Ánh".nfd().collect();
        assert_eq!(c.compare("Ánh", &nfd), Ordering::Equal);
        assert_eq!(c.sort_key("Ánh"), c.sort_key(&nfd));
    }

    #[test]
    fn collator_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<VietnameseCollator>();
        let h = std::thread::spawn(|| collator().compare("a", "b"));
        assert_eq!(h.join().ok(), Some(Ordering::Less));
    }

    #[test]
    fn icu_sort_keys_never_contain_zero() {
        let c = collator();
        let mut samples: Vec<String> = (0u32..0x3_0000)
            .step_by(7)
            .filter_map(char::from_u32)
            .map(String::from)
            .collect();
        samples.extend(
            [
                "",
                " ",
                "Nguyễn Thị Thu Hà",
                "a\u{fffe}b",
                "\u{0}",
                "ǅ",
                "ＡＢＣ",
                "H'Hen Niê",
            ]
            .map(String::from),
        );
        for s in &samples {
            assert!(!c.sort_key(s).contains(&0), "zero byte in key of {s:?}");
        }
    }

    #[test]
    fn split_name_parts() {
        assert_eq!(
            split_name("Nguyễn Thị Thu Hà"),
            (Some("Nguyễn"), Some("Thị Thu"), "Hà")
        );
        assert_eq!(split_name("Lê An"), (Some("Lê"), None, "An"));
        assert_eq!(split_name("Hà"), (None, None, "Hà"));
    }

    /// Sorting by `name_sort_key` must equal sorting by
    /// `(compare(given), compare(middle), compare(family))`.
    #[test]
    fn name_sort_key_equals_component_comparison() {
        let families = [
            "Nguyễn", "Trần", "Lê", "Đỗ", "Đặng", "Dương", "Ân", "An", "Ăn",
        ];
        let middles = ["", "Văn", "Thị", "Thị Thu", "Đức", "Thi", "Thị Ánh", "Van"];
        let givens = [
            "An", "Anh", "Ánh", "Ân", "Ăn", "A", "Ba", "Bá", "Đào", "Dao", "Dũng", "an",
        ];
        let mut names = Vec::new();
        for f in families {
            for m in middles {
                for g in givens {
                    let name = [f, m, g]
                        .iter()
                        .filter(|p| !p.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" ");
                    names.push(name);
                }
            }
        }
        names.extend(["An", "Anh", "Ánh", "Ba"].map(String::from));
        let c = collator();
        let expected = |a: &String, b: &String| {
            let (fa, ma, ga) = split_name(a);
            let (fb, mb, gb) = split_name(b);
            c.compare(ga, gb)
                .then_with(|| c.compare(ma.unwrap_or(""), mb.unwrap_or("")))
                .then_with(|| c.compare(fa.unwrap_or(""), fb.unwrap_or("")))
        };
        let keys: Vec<Vec<u8>> = names.iter().map(|n| name_sort_key(n)).collect();
        for (a, ka) in names.iter().zip(&keys) {
            for (b, kb) in names.iter().zip(&keys) {
                let want = expected(a, b);
                let got = ka.cmp(kb);
                if want == Ordering::Equal {
                    assert_eq!(a == b, got == Ordering::Equal, "{a} vs {b}");
                } else {
                    assert_eq!(got, want, "{a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn name_sort_key_normalises_spacing_and_form() {
        let nfd: String = "Nguyễn Thị Ánh".nfd().collect();
        assert_eq!(name_sort_key(&nfd), name_sort_key("  Nguyễn   Thị Ánh "));
        // Ties between collation-equal spellings are still deterministic.
        assert!(name_sort_key("Lê Văn An") < name_sort_key("LÊ VĂN AN"));
    }

    #[test]
    fn house_numbers_in_natural_order() {
        let ordered = [
            "1", "2", "05", "5A", "5a", "5B", "5 bis", "12", "12/3", "12/3A", "12/10", "12/10/2",
            "12-14", "12A", "12A/1", "12B", "13", "100", "K12/3", "Lô A5", "",
        ];
        let keys: Vec<_> = ordered.iter().map(|s| house_number_key(s)).collect();
        for (i, pair) in keys.windows(2).enumerate() {
            assert!(pair[0] < pair[1], "{:?} < {:?}", ordered[i], ordered[i + 1]);
        }
    }

    #[test]
    fn house_number_prefixes_and_empties() {
        let key = |s: &str| {
            let k = house_number_key(s);
            let end = k.iter().position(|&b| b == HN_END).unwrap_or(k.len());
            k[..end].to_vec()
        };
        assert_eq!(key("Số 12"), key("12"));
        assert_eq!(key("số nhà 12/3"), key("12/3"));
        assert_eq!(key("SN 7"), key("7"));
        assert_eq!(key("12 / 3"), key("12/3"));
        assert_eq!(key("005"), key("5"));
        assert_ne!(key("Sơn 7"), key("7"));
        assert!(house_number_key("9999") < house_number_key("K1"));
        assert!(house_number_key("K1") < house_number_key(" - "));
        assert!(house_number_key("ZZZ") < house_number_key(""));
        assert_eq!(house_number_key("")[0], HN_GROUP_EMPTY);
        assert!(house_number_key("999999999999999999999999") > house_number_key("1000"));
    }
}
