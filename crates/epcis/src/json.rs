//! A capture document's JSON as a `serde_json::Value` tree, built with each
//! object and array allocated once at its final size.
//!
//! serde_json's own `Value` visitor starts every object and array empty and
//! grows it member by member: with `preserve_order` (pinned in the
//! workspace) an object is an `IndexMap`, whose entries and hash table are
//! both reallocated as they grow, which was a third of the parse. Here the
//! members of one object or array are gathered on the stack first, then
//! moved into a map or vector of exactly their number. The parser is still
//! serde_json's; the tree is the same one (`tests/json_tree.rs` holds it
//! equal to `serde_json::from_slice` on every conformance document).

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use smallvec::SmallVec;
use std::fmt;

/// Members gathered on the stack before an object or array is built; an
/// EPCIS event has fewer, a larger one spills to the heap once.
const INLINE: usize = 16;

/// Parses a whole JSON text (nothing but whitespace after it), as
/// `serde_json::from_slice::<Value>` does, with the same errors.
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Tree.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Builds one value: the seed and the visitor at once.
#[derive(Clone, Copy)]
pub(crate) struct Tree;

impl<'de> DeserializeSeed<'de> for Tree {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tree {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        // As serde_json: a number JSON can write, else null.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items: SmallVec<[Value; INLINE]> = SmallVec::new();
        while let Some(v) = seq.next_element_seed(Tree)? {
            items.push(v);
        }
        // `into_vec` hands over a spilled buffer as it is; an inline one is
        // copied into a vector of exactly its length.
        Ok(Value::Array(items.into_vec()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members: SmallVec<[(String, Value); INLINE]> = SmallVec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Tree)?;
            members.push((key, value));
        }
        let mut object = Map::with_capacity(members.len());
        // In order, as serde_json inserts them: a repeated name keeps its
        // first place and takes its last value.
        for (k, v) in members {
            object.insert(k, v);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(text: &str) {
        let ours = parse(text.as_bytes());
        let theirs = serde_json::from_str::<Value>(text);
        match (ours, theirs) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "{text}");
                // Equal maps may differ in order; the order is part of the tree.
                assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap(), "{text}");
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text}"),
            (a, b) => panic!("{text}: ours {a:?}, serde_json's {b:?}"),
        }
    }

    #[test]
    fn the_tree_is_serde_jsons() {
        for text in [
            r#"{"b":1,"a":[1,2.5,-3,true,null,"x\u00e9\n"],"c":{}}"#,
            r#"{"z":1,"y":2,"z":3}"#,
            r#"[[],[{}],{"k":[{"k":{"k":[]}}]}]"#,
            "1e400",
            "18446744073709551615",
            "-9223372036854775808",
            r#""\ud83d\ude00""#,
            &format!("[{}]", (0..40).map(|i| i.to_string()).collect::<Vec<_>>().join(",")),
            &format!("{{{}}}", (0..40).map(|i| format!("\"m{i}\":{i}")).collect::<Vec<_>>().join(",")),
        ] {
            same(text);
        }
    }

    #[test]
    fn bad_json_gets_serde_jsons_error() {
        for text in ["", "{", r#"{"a":1,}"#, "[1 2]", "{} x", r#"{"a":tru}"#, "\"\\x\""] {
            same(text);
            assert!(parse(text.as_bytes()).is_err(), "{text}");
        }
    }
}
