//! Capture of a JSON / JSON-LD document in one pass: each event is
//! validated, hashed and mapped as soon as it is parsed, then dropped, so
//! that it is worked on while it is still in the cache and no tree of the
//! whole document is ever built, walked three times and freed.
//!
//! The result is [`crate::validate`] followed by [`crate::map_document`]'s,
//! by construction and by test (`tests/capture.rs` compares the two routes
//! on every conformance document, on simulated feeds and on documents
//! built to take every detour):
//! - validity: GS1's schema checks the members of an event list each on its
//!   own, so a document is valid when it is with its lists emptied and each
//!   event is valid under the schema's rule for one member of the list,
//!   compiled on its own (`validate::event_is_valid`);
//! - the event hash reads the document's `@context` and its
//!   `…:ignoreFields` lists; the events are hashed with what came before
//!   them, which is all there is unless one of those members comes after
//!   the list.
//!
//! Whenever a document strays from the common shape (a member the hash
//! reads after the events, a second event list, an event list that is not
//! an array, malformed JSON, an invalid header or event), the one-pass route
//! gives up and the document takes the whole-tree route, which also lists
//! the errors of an invalid one: the fast route never decides a refusal.

use crate::json::Tree;
use crate::map::{Directory, Mapping};
use crate::validate::{DocumentError, event_is_valid, header_is_valid};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use stockade_model::{Event, SiteId, SourceId};

/// Events of a document, each with its index in `eventList`.
pub type Mapped = Vec<(usize, Result<Event, String>)>;

/// Validates and maps a JSON / JSON-LD capture document: what
/// [`crate::validate`] then [`crate::map_document`] give, in one pass where
/// the document allows it.
pub fn capture_json(
    bytes: &[u8],
    dir: &Directory,
    source: &SourceId,
    default_site: Option<&SiteId>,
) -> Result<Mapped, DocumentError> {
    match one_pass(bytes, dir, source, default_site) {
        Some(mapped) => Ok(mapped),
        None => {
            let doc = crate::validate(bytes)?;
            Ok(crate::map_document(&doc, dir, source, default_site))
        }
    }
}

/// Whether a document is captured in one pass (tests of the detours).
#[doc(hidden)]
pub fn takes_one_pass(bytes: &[u8]) -> bool {
    let source = SourceId::new("epcis").ok();
    source.is_some_and(|s| one_pass(bytes, &Directory::default(), &s, None).is_some())
}

/// The one-pass route; None sends the document the whole-tree way.
fn one_pass(bytes: &[u8], dir: &Directory, source: &SourceId, default_site: Option<&SiteId>) -> Option<Mapped> {
    let mut pass = Pass {
        dir,
        source,
        default_site,
        levels: Vec::with_capacity(4),
        events_seen: false,
        detour: false,
        out: Vec::new(),
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let header = LevelSeed { pass: &mut pass, level: Level::Document }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    (!pass.detour && header_is_valid(&header)).then_some(pass.out)
}

/// What one pass over a document carries.
struct Pass<'a> {
    dir: &'a Directory,
    source: &'a SourceId,
    default_site: Option<&'a SiteId>,
    /// Members read so far of the objects open above the current value
    /// (the document, its body, the query results, the results body).
    levels: Vec<Map<String, Value>>,
    /// An event list was reached (its events are done or being done).
    events_seen: bool,
    /// The document must take the whole-tree route.
    detour: bool,
    out: Mapped,
}

/// The objects on the way from the document to its events.
#[derive(Clone, Copy, PartialEq)]
enum Level {
    Document,
    Body,
    QueryResults,
    ResultsBody,
}

/// What a member of a level leads to.
enum Child {
    Level(Level),
    Events,
}

impl Level {
    fn child(self, name: &str) -> Option<Child> {
        match (self, name) {
            (Level::Document, "epcisBody") => Some(Child::Level(Level::Body)),
            (Level::Body, "eventList") | (Level::ResultsBody, "eventList") => Some(Child::Events),
            (Level::Body, "queryResults") => Some(Child::Level(Level::QueryResults)),
            (Level::QueryResults, "resultsBody") => Some(Child::Level(Level::ResultsBody)),
            _ => None,
        }
    }
}

struct LevelSeed<'p, 'a> {
    pass: &'p mut Pass<'a>,
    level: Level,
}

impl<'de> DeserializeSeed<'de> for LevelSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// A value other than the object expected is kept as it is (the schema
/// judges it).
macro_rules! as_tree {
    () => {
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
            Tree.visit_bool(v)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
            Tree.visit_i64(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
            Tree.visit_u64(v)
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
            Tree.visit_f64(v)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
            Tree.visit_str(v)
        }
        fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
            Tree.visit_string(v)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
            Tree.visit_unit()
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
            Tree.visit_none()
        }
    };
}

impl<'de> Visitor<'de> for LevelSeed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    as_tree!();

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        Tree.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.pass.levels.len();
        self.pass.levels.push(Map::new());
        while let Some(name) = map.next_key::<String>()? {
            let child = self.level.child(&name);
            if self.pass.events_seen && (child.is_some() || name == "@context" || crate::hash::is_ignore_list(&name)) {
                // Read after the events: the hash or the event list would
                // not be what the events were done with.
                self.pass.detour = true;
            }
            let value = match child {
                Some(_) if self.pass.detour => map.next_value_seed(Tree)?,
                Some(Child::Level(level)) => map.next_value_seed(LevelSeed { pass: &mut *self.pass, level })?,
                Some(Child::Events) => map.next_value_seed(EventsSeed { pass: &mut *self.pass })?,
                None => map.next_value_seed(Tree)?,
            };
            if let Some(members) = self.pass.levels.get_mut(depth) {
                members.insert(name, value);
            }
        }
        let members = self.pass.levels.pop().unwrap_or_default();
        Ok(Value::Object(members))
    }
}

/// An event list: each event done as it is read; an empty list left in
/// the document's place.
struct EventsSeed<'p, 'a> {
    pass: &'p mut Pass<'a>,
}

impl<'de> DeserializeSeed<'de> for EventsSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl EventsSeed<'_, '_> {
    /// What the hash reads of the document, from what was read of it so far.
    fn context(&self) -> crate::hash::Context {
        let levels = &self.pass.levels;
        let at_context = levels.first().and_then(|d| d.get("@context"));
        // The document, the body and the query results list ignored fields
        // (the results body does not); the query results are open when the
        // events are theirs, else they may have come before in the body.
        let query_results =
            levels.get(2).or_else(|| levels.get(1).and_then(|body| body.get("queryResults")?.as_object()));
        crate::hash::Context::from_parts(at_context, levels.iter().take(2).chain(query_results))
    }
}

/// A list that is not an array: the whole-tree route decides.
macro_rules! detour {
    ($($name:ident($($arg:ident: $t:ty),*)),*) => {
        $(fn $name<E: serde::de::Error>(self, $($arg: $t),*) -> Result<Value, E> {
            self.pass.detour = true;
            Tree.$name($($arg),*)
        })*
    };
}

impl<'de> Visitor<'de> for EventsSeed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    detour!(
        visit_bool(v: bool),
        visit_i64(v: i64),
        visit_u64(v: u64),
        visit_f64(v: f64),
        visit_str(v: &str),
        visit_string(v: String),
        visit_unit(),
        visit_none()
    );

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        self.pass.detour = true;
        Tree.visit_map(map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.pass.events_seen = true;
        let ctx = self.context();
        let mapping = Mapping::new(self.pass.dir, self.pass.source, self.pass.default_site);
        let pass = self.pass;
        let mut i = 0;
        while let Some(ev) = seq.next_element_seed(Tree)? {
            if !pass.detour {
                if event_is_valid(&ev) {
                    mapping.event(i, &ev, ctx.hash(&ev), &mut pass.out);
                } else {
                    pass.detour = true;
                }
            }
            i += 1;
        }
        Ok(Value::Array(Vec::new()))
    }
}
