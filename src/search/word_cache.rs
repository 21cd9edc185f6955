//! A token filter that normalises each word with an analyzer of one word
//! (lower case, stop words, accents, stem) and remembers what each word
//! became: offers repeat the same few thousand words, and stemming them
//! again each time took about half the indexing thread's time.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use tantivy::tokenizer::{TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer};

/// Words remembered by one analyzer at most: enough for the vocabulary of
/// offers, and a bound on its memory whatever the text (a few MB).
const REMEMBERED_WORDS: usize = 100_000;

/// Words normalised by `words`, an analyzer that reads its whole text as
/// one word and gives one token for it, or none for a stop word.
#[derive(Clone)]
pub struct CachedWords {
    words: TextAnalyzer,
}

impl CachedWords {
    pub fn new(words: TextAnalyzer) -> CachedWords {
        CachedWords { words }
    }
}

impl TokenFilter for CachedWords {
    type Tokenizer<T: Tokenizer> = CachedWordsFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedWordsFilter<T> {
        CachedWordsFilter {
            inner: tokenizer,
            words: self.words,
            seen: Words::default(),
        }
    }
}

pub struct CachedWordsFilter<T> {
    inner: T,
    words: TextAnalyzer,
    /// By word as written, what it became (`None`: a stop word).
    seen: Words,
}

/// Hashed with foldhash: SipHash took a third of the time of looking a
/// word up, on an indexing thread that spends a tenth of its time here.
type Words = HashMap<String, Option<String>, RandomState>;

/// A copy starts with nothing remembered: the memory only spares work
/// (searches keep theirs, `SearchIndex::with_analyzer`).
impl<T: Clone> Clone for CachedWordsFilter<T> {
    fn clone(&self) -> Self {
        CachedWordsFilter {
            inner: self.inner.clone(),
            words: self.words.clone(),
            seen: Words::default(),
        }
    }
}

impl<T: Tokenizer> Tokenizer for CachedWordsFilter<T> {
    type TokenStream<'a> = CachedWordsStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedWordsStream {
            tail: self.inner.token_stream(text),
            words: &mut self.words,
            seen: &mut self.seen,
        }
    }
}

pub struct CachedWordsStream<'a, T> {
    tail: T,
    words: &'a mut TextAnalyzer,
    seen: &'a mut Words,
}

impl<T: TokenStream> TokenStream for CachedWordsStream<'_, T> {
    fn advance(&mut self) -> bool {
        // A stop word is passed over; the next word keeps its position, so
        // phrases still see the gap.
        while self.tail.advance() {
            let token = self.tail.token_mut();
            if !self.seen.contains_key(&token.text) {
                let normalised = self
                    .words
                    .token_stream(&token.text)
                    .next()
                    .map(|t| t.text.clone());
                if self.seen.len() >= REMEMBERED_WORDS {
                    match normalised {
                        Some(word) => {
                            token.text = word;
                            return true;
                        }
                        None => continue,
                    }
                }
                self.seen.insert(token.text.clone(), normalised);
            }
            if let Some(Some(word)) = self.seen.get(&token.text) {
                token.text.clear();
                token.text.push_str(word);
                return true;
            }
        }
        false
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use tantivy::tokenizer::{
        LowerCaser, RawTokenizer, SimpleTokenizer, TextAnalyzer, TokenStream as _,
    };

    use super::{CachedWords, REMEMBERED_WORDS};

    #[test]
    fn words_past_the_memory_bound_are_still_normalised() {
        let words = TextAnalyzer::builder(RawTokenizer::default())
            .filter(LowerCaser)
            .build();
        let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(CachedWords::new(words))
            .build();
        let text: String = (0..REMEMBERED_WORDS + 3)
            .map(|n| format!("Mot{n} "))
            .collect();
        let mut stream = analyzer.token_stream(&text);
        let mut last = String::new();
        let mut count = 0;
        while let Some(token) = stream.next() {
            last.clone_from(&token.text);
            count += 1;
        }
        assert_eq!(count, REMEMBERED_WORDS + 3);
        assert_eq!(last, format!("mot{}", REMEMBERED_WORDS + 2));
    }
}
