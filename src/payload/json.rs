//! JSON error payloads, decoded in one pass into borrowed, typed values.
//!
//! Error payloads are written by many hands, so every field is read leniently:
//! a field of an unexpected type is ignored rather than failing the whole
//! payload (`"message": 42` must not hide `"error": "slow_down"`). Strings
//! borrow from the body unless they had escapes. Nesting depth is bounded by
//! serde_json's recursion limit, so hostile input fails fast instead of
//! overflowing the stack.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::MAX_FIELD_MESSAGES;
use super::{ErrorField, Payload};

pub(super) fn decode<'a>(body: &'a [u8], payload: &mut Payload<'a>) -> bool {
    let mut de = serde_json::Deserializer::from_slice(body);
    de.deserialize_map(Fill(payload, Role::Plain)).is_ok() && de.end().is_ok()
}

/// Reads a JSON object into a [`Payload`] in place: payloads are large, and
/// returning them by value through each serde layer would copy them each time.
struct Fill<'o, 'de>(&'o mut Payload<'de>, Role);

impl<'de> Visitor<'de> for Fill<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        read_object(map, self.0, self.1)
    }
}

/// Whether unknown keys of an object are `errors` entries worth keeping
/// (`{"session_id": ["..."]}`) or noise to skip without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    Entries,
}

/// A JSON value, read only as deep as the error schemas need.
enum Loose<'a> {
    Other,
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Obj(Box<Payload<'a>>),
    List(Vec<Loose<'a>>),
}

impl<'a> Loose<'a> {
    fn into_str(self) -> Option<Cow<'a, str>> {
        match self {
            Loose::Str(s) => Some(s),
            _ => None,
        }
    }

    /// `"msg"` or `["msg", ...]` as a list of strings.
    fn into_strs(self) -> Vec<Cow<'a, str>> {
        match self {
            Loose::Str(s) => vec![s],
            Loose::List(items) => items.into_iter().filter_map(Loose::into_str).collect(),
            _ => Vec::new(),
        }
    }

    /// `{...}` or `[{...}, ...]` as a list of objects.
    #[allow(clippy::vec_box)]
    fn into_objects(self) -> Vec<Box<Payload<'a>>> {
        match self {
            Loose::Obj(o) => vec![o],
            Loose::List(items) => items
                .into_iter()
                .filter_map(|i| match i {
                    Loose::Obj(o) => Some(o),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Seconds as a number or a numeric string.
    fn into_seconds(self) -> Option<f64> {
        let s = match self {
            Loose::Num(n) => n,
            Loose::Str(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        (s.is_finite() && s >= 0.0).then_some(s)
    }
}

/// Reads any value leniently; objects are read as [`Payload`]s in the given role.
struct Seed(Role);

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Loose<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Loose<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Loose<'de>, E> {
        Ok(Loose::Str(Cow::Owned(v)))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Loose<'de>, E> {
        Ok(Loose::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Loose<'de>, E> {
        Ok(Loose::Num(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Loose<'de>, E> {
        Ok(Loose::Num(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Loose<'de>, E> {
        Ok(Loose::Num(v))
    }
    fn visit_unit<E>(self) -> Result<Loose<'de>, E> {
        Ok(Loose::Other)
    }
    /// Keeps only the elements a caller can use (strings in plain lists, objects
    /// in `errors`), and no more of them than a classification keeps, so that
    /// a long list costs no memory however long it is.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Seed(self.0))? {
            let wanted = matches!(
                (self.0, &item),
                (Role::Plain, Loose::Str(_)) | (Role::Entries, Loose::Obj(_))
            );
            if wanted && items.len() < MAX_FIELD_MESSAGES {
                items.push(item);
            }
        }
        Ok(Loose::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Loose<'de>, A::Error> {
        let mut o = Box::<Payload>::default();
        read_object(map, &mut o, self.0)?;
        Ok(Loose::Obj(o))
    }
}

/// Reads the keys any schema uses; in `Role::Entries` objects, other keys with
/// string values are kept as entries, elsewhere they are skipped unread.
fn read_object<'de, A: MapAccess<'de>>(
    mut map: A,
    o: &mut Payload<'de>,
    role: Role,
) -> Result<(), A::Error> {
    while let Some(key) = map.next_key_seed(Seed(Role::Plain))? {
        let Loose::Str(key) = key else {
            map.next_value::<IgnoredAny>()?;
            continue;
        };
        let value = |map: &mut A, role| map.next_value_seed(Seed(role));
        match key.as_ref() {
            "error" => {
                o.error = match value(&mut map, Role::Plain)? {
                    Loose::Str(code) => Some(ErrorField::Code(code)),
                    Loose::Obj(nested) => Some(ErrorField::Nested(nested)),
                    _ => None,
                }
            }
            "error_description" => o.error_description = value(&mut map, Role::Plain)?.into_str(),
            "message" => o.message = value(&mut map, Role::Plain)?.into_str(),
            "detail" => o.detail = value(&mut map, Role::Plain)?.into_str(),
            "title" => o.title = value(&mut map, Role::Plain)?.into_str(),
            "code" => o.code = value(&mut map, Role::Plain)?.into_str(),
            "type" => o.kind = value(&mut map, Role::Plain)?.into_str(),
            "status" => o.status = value(&mut map, Role::Plain)?.into_str(),
            "errors" => o.errors = value(&mut map, Role::Entries)?.into_objects(),
            "retry_after" => o.retry_after_s = value(&mut map, Role::Plain)?.into_seconds(),
            "request_id" => o.request_id = value(&mut map, Role::Plain)?.into_str(),
            "success" => {
                o.success = match value(&mut map, Role::Plain)? {
                    Loose::Bool(b) => Some(b),
                    _ => None,
                }
            }
            _ if role == Role::Entries => {
                let strs = value(&mut map, Role::Plain)?.into_strs();
                if !strs.is_empty() {
                    o.entries.push((key, strs));
                }
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{self, Schema, MAX_CODES};

    fn decoded(body: &[u8]) -> Payload<'_> {
        let mut p = Payload::default();
        assert!(payload::decode(body, &mut p));
        p
    }

    #[test]
    fn strings_borrow_from_the_body_unless_escaped() {
        let p = decoded(br#"{"error":"slow_down","error_description":"wait \"5\" s"}"#);
        assert!(matches!(
            p.error,
            Some(ErrorField::Code(Cow::Borrowed("slow_down")))
        ));
        assert!(matches!(p.error_description, Some(Cow::Owned(ref m)) if m == "wait \"5\" s"));
    }

    #[test]
    fn wrong_types_are_ignored_not_fatal() {
        let body = br#"{"error":"slow_down","message":42,"errors":"x","retry_after":"2.5"}"#;
        let p = decoded(body);
        assert_eq!(p.schema, Some(Schema::Simple));
        let mut buf = [""; MAX_CODES];
        let (n, _) = p.codes(&mut buf);
        assert_eq!(&buf[..n], ["slow_down"]);
        assert_eq!(p.retry_after_s, Some(2.5));
    }

    #[test]
    fn errors_as_a_map_are_field_entries() {
        let body = br#"{"message":"invalid","errors":{"email":["is invalid"],"name":"is blank"}}"#;
        let p = decoded(body);
        assert_eq!(p.schema, Some(Schema::Envelope));
        let entries: Vec<_> = p.entries().collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].1, ["is blank"]);
    }
}
