//! An offer document read where it lies, for `Offer::parse` and
//! `Offer::facts_of`: its strings borrowed from the JSON text (or from the
//! `Value` submitted), its objects' fields sorted for lookup.
//!
//! The indexer reads every stored offer again. As a `serde_json::Value`,
//! each one cost an allocation per key and per string, a tree per object,
//! and as much again to drop: about a fifth of indexing (callgrind,
//! 20,000 offers reindexed).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A JSON value, borrowing its strings where it can.
#[derive(Debug, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Text(Cow<'a, str>),
    List(Vec<Json<'a>>),
    Object(Fields<'a>),
}

/// An object's fields, sorted by name; a name given twice keeps its last
/// value, as `serde_json::Map` does.
#[derive(Debug, PartialEq)]
pub struct Fields<'a>(Vec<(Cow<'a, str>, Json<'a>)>);

impl<'a> Fields<'a> {
    /// The fields of an object already parsed, borrowed from it.
    pub fn of(object: &'a Map<String, Value>) -> Fields<'a> {
        Fields::sorted(
            object
                .iter()
                .map(|(name, value)| (Cow::Borrowed(name.as_str()), Json::from(value)))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&Json<'a>> {
        self.0
            .binary_search_by(|(key, _)| key.as_ref().cmp(name))
            .ok()
            .map(|at| &self.0[at].1)
    }

    fn sorted(mut fields: Vec<(Cow<'a, str>, Json<'a>)>) -> Fields<'a> {
        // A `Map`'s fields come sorted, each name once.
        if fields.is_sorted_by(|(a, _), (b, _)| a < b) {
            return Fields(fields);
        }
        // Reversed, a stable sort puts each name's last value first among
        // its equals, and deduplication keeps the first.
        fields.reverse();
        fields.sort_by(|(a, _), (b, _)| a.cmp(b));
        fields.dedup_by(|(later, _), (kept, _)| later == kept);
        Fields(fields)
    }
}

impl<'a> Json<'a> {
    /// The object of a JSON text; `None` if the text is not one.
    pub fn object_of(text: &'a str) -> Option<Fields<'a>> {
        match serde_json::from_str(text) {
            Ok(Json::Object(fields)) => Some(fields),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The value of `name` if this is an object that has it.
    pub fn get(&self, name: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(fields) => fields.get(name),
            _ => None,
        }
    }
}

impl<'a> From<&'a Value> for Json<'a> {
    fn from(value: &'a Value) -> Json<'a> {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(text) => Json::Text(Cow::Borrowed(text)),
            Value::Array(items) => Json::List(items.iter().map(Json::from).collect()),
            Value::Object(object) => Json::Object(Fields::of(object)),
        }
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Json<'de>, D::Error> {
        Json::deserialize(inner)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Json<'de>, E> {
        // JSON has no infinities nor NaN: serde_json never gives them.
        Ok(Number::from_f64(value).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Json<'de>, E> {
        Ok(Json::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E>(self, text: String) -> Result<Json<'de>, E> {
        Ok(Json::Text(Cow::Owned(text)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Json<'de>, A::Error> {
        let mut list = Vec::with_capacity(items.size_hint().unwrap_or(0));
        while let Some(item) = items.next_element()? {
            list.push(item);
        }
        Ok(Json::List(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Json<'de>, A::Error> {
        let mut fields = Vec::with_capacity(entries.size_hint().unwrap_or(0));
        while let Some((Name(name), value)) = entries.next_entry()? {
            fields.push((name, value));
        }
        Ok(Json::Object(Fields::sorted(fields)))
    }
}

/// A field name, borrowed unless it had to be unescaped (serde's own
/// `Cow<str>` always copies).
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Name<'de>, D::Error> {
        match Json::deserialize(deserializer)? {
            Json::Text(name) => Ok(Name(name)),
            _ => Err(serde::de::Error::custom("a field name is a string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let fields = Json::object_of(r#"{"plain": "Électricien", "escaped": "a\nb"}"#).unwrap();
        assert!(matches!(
            fields.get("plain"),
            Some(Json::Text(Cow::Borrowed("Électricien")))
        ));
        assert_eq!(fields.get("escaped").and_then(Json::as_str), Some("a\nb"));
    }

    #[test]
    fn reads_the_same_from_text_and_from_a_value() {
        let value = json!({"b": [1, -2, 3.5, null], "a": {"x": true, "y": "z"}, "c": null});
        let text = value.to_string();
        let from_value = Json::from(&value);
        let from_text = Json::Object(Json::object_of(&text).unwrap());
        assert_eq!(from_value, from_text);
        assert_eq!(
            from_text
                .get("a")
                .and_then(|a| a.get("y"))
                .and_then(Json::as_str),
            Some("z")
        );
        assert!(from_text.get("c").is_some_and(Json::is_null));
        assert_eq!(from_text.get("missing"), None);
    }

    #[test]
    fn a_name_given_twice_keeps_its_last_value() {
        let fields = Json::object_of(r#"{"k": 1, "a": 0, "k": 2, "z": 0, "k": 3}"#).unwrap();
        assert_eq!(fields.get("k"), Some(&Json::Number(3.into())));
        assert_eq!(fields.0.len(), 3);
    }

    #[test]
    fn only_an_object_is_a_document() {
        assert!(Json::object_of("[1, 2]").is_none());
        assert!(Json::object_of("{not json").is_none());
    }
}
