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

use super::{Entry, Payload, Schema};
use crate::classify::MAX_FIELD_MESSAGES;

pub(super) fn decode(body: &[u8]) -> Option<Payload<'_>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let top = Seed(Role::Plain).deserialize(&mut de).ok()?;
    de.end().ok()?;
    match top {
        Loose::Obj(top) => Some(top.into_payload()),
        _ => None,
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
    Obj(Box<Object<'a>>),
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
    fn into_objects(self) -> Vec<Object<'a>> {
        match self {
            Loose::Obj(o) => vec![*o],
            Loose::List(items) => items
                .into_iter()
                .filter_map(|i| match i {
                    Loose::Obj(o) => Some(*o),
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

/// The keys any of the documented schemas use, wherever they appear.
#[derive(Default)]
struct Object<'a> {
    error: Option<Loose<'a>>,
    error_description: Option<Cow<'a, str>>,
    message: Option<Cow<'a, str>>,
    detail: Option<Cow<'a, str>>,
    title: Option<Cow<'a, str>>,
    /// String codes only: numeric `code`s (seed 001's `"code": 409`) repeat the status.
    code: Option<Cow<'a, str>>,
    /// `type` in nested errors; `status` when it is a string (`"RESOURCE_EXHAUSTED"`).
    kind: Option<Cow<'a, str>>,
    status: Option<Cow<'a, str>>,
    errors: Vec<Object<'a>>,
    success: Option<bool>,
    retry_after: Option<f64>,
    request_id: Option<Cow<'a, str>>,
    entries: Vec<Entry<'a>>,
}

impl<'a> Object<'a> {
    fn into_payload(self) -> Payload<'a> {
        let mut p = Payload {
            retry_after_s: self.retry_after,
            request_id: self.request_id,
            ..Payload::default()
        };
        let mut details = Vec::new();
        for e in self.errors {
            p.entries.extend(e.entries);
            details.push((e.title, e.code, e.detail.or(e.message)));
        }
        let envelope = self.success == Some(false) || !p.entries.is_empty();
        match self.error {
            Some(Loose::Str(code)) => {
                p.codes.push(code);
                p.schema = Some(if self.error_description.is_some() {
                    Schema::OAuth
                } else if self.message.is_some() {
                    Schema::Flat
                } else {
                    Schema::Simple
                });
                p.message = self.error_description.or(self.message);
            }
            Some(Loose::Obj(nested)) => {
                let nested = *nested;
                p.codes.extend(
                    [
                        nested.code,
                        nested.kind,
                        nested.status,
                        nested.error.and_then(Loose::into_str),
                    ]
                    .into_iter()
                    .flatten(),
                );
                p.schema = Some(Schema::Nested);
                p.message = nested.message.or(nested.detail).or(self.message);
            }
            _ if envelope => {
                p.schema = Some(Schema::Envelope);
                p.message = self.message;
            }
            _ if !details.is_empty() || self.message.is_some() || self.title.is_some() => {
                p.schema = Some(Schema::Detailed);
                // Seed 001: "These kinds of errors are defined by their message field".
                p.codes.extend(self.message.clone());
                let mut first_detail = None;
                for (title, code, detail) in details {
                    p.codes.extend(title.into_iter().chain(code));
                    first_detail = first_detail.or(detail);
                }
                p.codes
                    .extend(self.title.into_iter().chain(self.code).chain(self.status));
                p.message = first_detail.or(self.detail).or(self.message);
            }
            _ => {}
        }
        if envelope {
            p.schema = Some(Schema::Envelope);
        }
        p
    }
}

/// Reads any value leniently; objects are read as [`Object`]s in the given role.
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
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose<'de>, A::Error> {
        let mut o = Object::default();
        while let Some(key) = map.next_key_seed(Seed(Role::Plain))? {
            let Loose::Str(key) = key else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let value = |map: &mut A, role| map.next_value_seed(Seed(role));
            match key.as_ref() {
                "error" => o.error = Some(value(&mut map, Role::Plain)?),
                "error_description" => {
                    o.error_description = value(&mut map, Role::Plain)?.into_str()
                }
                "message" => o.message = value(&mut map, Role::Plain)?.into_str(),
                "detail" => o.detail = value(&mut map, Role::Plain)?.into_str(),
                "title" => o.title = value(&mut map, Role::Plain)?.into_str(),
                "code" => o.code = value(&mut map, Role::Plain)?.into_str(),
                "type" => o.kind = value(&mut map, Role::Plain)?.into_str(),
                "status" => o.status = value(&mut map, Role::Plain)?.into_str(),
                "errors" => o.errors = value(&mut map, Role::Entries)?.into_objects(),
                "retry_after" => o.retry_after = value(&mut map, Role::Plain)?.into_seconds(),
                "request_id" => o.request_id = value(&mut map, Role::Plain)?.into_str(),
                "success" => {
                    o.success = match value(&mut map, Role::Plain)? {
                        Loose::Bool(b) => Some(b),
                        _ => None,
                    }
                }
                _ if self.0 == Role::Entries => {
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
        Ok(Loose::Obj(Box::new(o)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_borrow_from_the_body_unless_escaped() {
        let p = decode(br#"{"error":"slow_down","error_description":"wait \"5\" s"}"#).unwrap();
        assert!(matches!(p.codes[0], Cow::Borrowed("slow_down")));
        assert!(matches!(p.message, Some(Cow::Owned(ref m)) if m == "wait \"5\" s"));
    }

    #[test]
    fn wrong_types_are_ignored_not_fatal() {
        let p = decode(br#"{"error":"slow_down","message":42,"errors":"x","retry_after":"2.5"}"#)
            .unwrap();
        assert_eq!(p.schema, Some(Schema::Simple));
        assert_eq!(p.codes, ["slow_down"]);
        assert_eq!(p.retry_after_s, Some(2.5));
    }

    #[test]
    fn errors_as_a_map_are_field_entries() {
        let p =
            decode(br#"{"message":"invalid","errors":{"email":["is invalid"],"name":"is blank"}}"#)
                .unwrap();
        assert_eq!(p.schema, Some(Schema::Envelope));
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.entries[1].1, ["is blank"]);
    }
}
