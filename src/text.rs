//! How people compare names: « Étape-Insertion » is « etape insertion »,
//! « L'Isle-sur-la-Sorgue » is « l isle sur la sorgue »; and how counts
//! are written.

use unicode_normalization::UnicodeNormalization;

/// Lower case, French accents and ligatures folded to ASCII, hyphens and
/// apostrophes as spaces, one space between words.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => folded.push('a'),
            'ç' => folded.push('c'),
            'é' | 'è' | 'ê' | 'ë' => folded.push('e'),
            'î' | 'ï' | 'í' | 'ì' => folded.push('i'),
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => folded.push('o'),
            'ù' | 'û' | 'ü' | 'ú' => folded.push('u'),
            'ÿ' => folded.push('y'),
            'ñ' => folded.push('n'),
            'œ' => folded.push_str("oe"),
            'æ' => folded.push_str("ae"),
            '-' | '\'' | '’' => folded.push(' '),
            other => folded.push(other),
        }
    }
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Accented letters as one character each: text pasted from a PDF or a Mac
/// writes « é » as « e » and a combining accent, which would then pass for
/// two characters, one of them not a letter.
pub fn composed(text: &str) -> String {
    text.nfc().collect()
}

/// « de » before a place's name, as French contracts it: « d'Aix », « du
/// Puy », « des Pennes-Mirabeau », « de La Ciotat ». (An « h » is left alone:
/// which are silent cannot be told from the spelling.)
pub fn of_place(name: &str) -> String {
    if let Some(rest) = name.strip_prefix("Le ") {
        format!("du {rest}")
    } else if let Some(rest) = name.strip_prefix("Les ") {
        format!("des {rest}")
    } else if fold(name).starts_with(['a', 'e', 'i', 'o', 'u', 'y']) {
        format!("d'{name}")
    } else {
        format!("de {name}")
    }
}

/// A number written in digits only: Rust's `parse` also takes « +9 ».
pub fn digits<T: std::str::FromStr>(raw: &str) -> Option<T> {
    if raw.bytes().all(|b| b.is_ascii_digit()) {
        raw.parse().ok()
    } else {
        None
    }
}

/// « 12 345 », as French writes numbers.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// « 0 opération », « 1 opération », « 2 opérations »: French takes the
/// singular up to one.
pub fn quantity(count: u64, one: &str, many: &str) -> String {
    format!("{count} {}", if count > 1 { many } else { one })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn de_contracts_before_a_place() {
        assert_eq!(of_place("Aix-en-Provence"), "d'Aix-en-Provence");
        assert_eq!(of_place("Éguilles"), "d'Éguilles");
        assert_eq!(of_place("Le Puy-Sainte-Réparade"), "du Puy-Sainte-Réparade");
        assert_eq!(of_place("Les Pennes-Mirabeau"), "des Pennes-Mirabeau");
        assert_eq!(of_place("La Ciotat"), "de La Ciotat");
        assert_eq!(of_place("L'Isle-sur-la-Sorgue"), "de L'Isle-sur-la-Sorgue");
        assert_eq!(of_place("Marignane"), "de Marignane");
    }

    #[test]
    fn a_decomposed_accent_is_composed() {
        let pasted = "E\u{301}lodie Ge\u{301}ro\u{302}me";
        assert_eq!(composed(pasted), "Élodie Gérôme");
        assert_eq!(fold(&composed(pasted)), "elodie gerome");
    }

    #[test]
    fn quantities_take_the_plural_past_one() {
        assert_eq!(quantity(0, "minute", "minutes"), "0 minute");
        assert_eq!(
            quantity(1, "compte actif", "comptes actifs"),
            "1 compte actif"
        );
        assert_eq!(
            quantity(2, "compte actif", "comptes actifs"),
            "2 comptes actifs"
        );
    }

    #[test]
    fn names_fold_as_people_compare_them() {
        assert_eq!(fold("Jeanne-Marie  Dupré"), "jeanne marie dupre");
        assert_eq!(fold("Œdipe Françoise"), "oedipe francoise");
        assert_eq!(fold("ÉTAPE Insertion"), fold("étape insertion"));
        assert_eq!(fold("L'Isle-sur-la-Sorgue"), "l isle sur la sorgue");
    }
}
