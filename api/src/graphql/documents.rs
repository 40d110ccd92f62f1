//! Parsed GraphQL documents by query text. Clients send the same few queries again and
//! again; parsing one (a PEG parser, an allocation per token) cost more than copying the
//! parsed tree does. Each document also remembers the operations and variables it was
//! found valid with: validation is a function of those alone, so a repeat needs only the
//! limits checked (depth, complexity), which depend on them too and are checked every time.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Request, Response};
use lru::LruCache;

use super::outcome::Operation;

/// Documents kept; a query is at most `GRAPHQL_MAX_QUERY_BYTES`, so this bounds the memory.
const CAPACITY: usize = 256;
/// Operation and variable sets remembered per document, beyond which repeats validate again.
const VALID_INPUTS: usize = 64;

struct Document {
    parsed: ExecutableDocument,
    /// How deep it reaches, in data and in introspection.
    shape: Shape,
    /// `operationName` and variables (as JSON) the document was valid with.
    valid_with: Mutex<HashSet<String>>,
}

pub struct DocumentCache(Mutex<LruCache<String, Arc<Document>>>);

impl Default for DocumentCache {
    fn default() -> Self {
        DocumentCache(Mutex::new(LruCache::new(NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN))))
    }
}

/// A request's document as the cache knows it.
pub struct Prepared {
    document: Option<Arc<Document>>,
    inputs: String,
    validated: bool,
}

impl DocumentCache {
    /// Hands the request its parsed document, from the cache or parsed now and kept. A query
    /// that does not parse is left to the schema, which reports it the usual way.
    pub fn prepare(&self, request: &mut Request) -> Prepared {
        let inputs = serde_json::to_string(&(&request.operation_name, &request.variables)).unwrap_or_default();
        let cached = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(request.query.as_str()).cloned();
        let document = match cached {
            Some(doc) => doc,
            None => match async_graphql::parser::parse_query(&request.query) {
                Ok(parsed) => {
                    let shape = Shape::of(&parsed);
                    let doc = Arc::new(Document { parsed, shape, valid_with: Mutex::new(HashSet::new()) });
                    self.0.lock().unwrap_or_else(|p| p.into_inner()).put(request.query.clone(), doc.clone());
                    doc
                }
                Err(_) => return Prepared { document: None, inputs, validated: false },
            },
        };
        request.set_parsed_query(document.parsed.clone());
        let validated = document.valid_with.lock().unwrap_or_else(|p| p.into_inner()).contains(&inputs);
        Prepared { document: Some(document), inputs, validated }
    }
}

impl Prepared {
    /// Whether the document asks for the schema (`__schema` or `__type`), in any operation
    /// or fragment; `__typename` is not introspection. Those fields are valid only at a
    /// query's root, so wherever else they appear validation refuses the document anyway.
    pub fn introspects(&self) -> bool {
        self.document.as_ref().is_some_and(|d| d.shape.introspects)
    }

    /// The type of the operation `name` selects (the only one when `name` is absent), when
    /// the document parsed and has it.
    pub fn operation_type(&self, name: Option<&str>) -> Option<OperationType> {
        let doc = &self.document.as_ref()?.parsed;
        let op = match name {
            Some(n) => doc.operations.iter().find(|(op_name, _)| op_name.is_some_and(|o| o.as_str() == n))?.1,
            None => doc.operations.iter().next()?.1,
        };
        Some(op.node.ty)
    }

    /// The operation `name` selects (the only one when `name` is absent), for metrics and logs.
    pub fn operation(&self, name: Option<&str>) -> Operation {
        let Some(doc) = self.document.as_ref().map(|d| &d.parsed) else { return Operation::Unknown };
        let found = match name {
            Some(n) => doc.operations.iter().find(|(op_name, _)| op_name.is_some_and(|o| o.as_str() == n)),
            None if doc.operations.iter().count() == 1 => doc.operations.iter().next(),
            None => None,
        };
        match found {
            Some((Some(name), _)) => Operation::Named(name.clone()),
            Some((None, _)) => Operation::Anonymous,
            None => Operation::Unknown,
        }
    }

    /// How the document reaches down (all zeros for one that does not parse).
    pub fn shape(&self) -> Shape {
        self.document.as_ref().map(|d| d.shape).unwrap_or_default()
    }

    /// Whether the document was valid with these operation and variables before.
    pub fn validated(&self) -> bool {
        self.validated
    }

    /// Remembers that the document was valid with these inputs, when the response shows it
    /// was: every error, if any, came from a resolver (has a path). Parse, validation and
    /// limit errors have none.
    pub fn done(&self, response: &Response) {
        if self.validated || response.errors.iter().any(|e| e.path.is_empty()) {
            return;
        }
        if let Some(doc) = &self.document {
            let mut valid = doc.valid_with.lock().unwrap_or_else(|p| p.into_inner());
            if valid.len() < VALID_INPUTS {
                valid.insert(self.inputs.clone());
            }
        }
    }
}

/// Introspection fields that list many things; nesting them multiplies the answer.
const INTROSPECTION_LISTS: &[&str] =
    &["types", "fields", "inputFields", "interfaces", "possibleTypes", "enumValues", "args", "directives"];

/// How deep a document reaches: its data fields, and apart from them its introspection
/// (`__schema`, `__type` and what is under them). Depth counts fields the way async-graphql
/// does, fragments inlined. Introspection gets its own bound: the standard query
/// (graphql-js's `getIntrospectionQuery`) nests 15 fields deep and 3 lists deep, far past
/// the data limit, while a hand-made `__type` nesting lists within lists within lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Whether it selects `__schema` or `__type` anywhere (see [`Prepared::introspects`]).
    pub introspects: bool,
    /// The deepest path of data fields.
    pub data_depth: usize,
    /// The deepest path through `__schema` or `__type`, from the root.
    pub introspection_depth: usize,
    /// The most listing introspection fields on one path (`types { fields { args … } } }` is 3).
    pub introspection_lists: usize,
    /// The most fields an operation selects at its root, aliases and fragments included:
    /// each is a query of its own against the database.
    pub root_fields: usize,
    /// How many `COUNT` statements its `totalCount` fields will run (see [`counts`]).
    pub counts: usize,
}

impl Shape {
    fn of(doc: &ExecutableDocument) -> Shape {
        let mut memo = HashMap::new();
        let mut shape = Shape::default();
        for (_, op) in doc.operations.iter() {
            let set = &op.node.selection_set.node;
            let walked = Shape {
                root_fields: root_fields(doc, set, &mut Vec::new()),
                counts: counts(doc, set, &mut HashMap::new(), &mut Vec::new()),
                ..walk(doc, set, false, &mut memo, &mut Vec::new())
            };
            shape = shape.max(walked);
        }
        shape
    }

    fn max(self, o: Shape) -> Shape {
        Shape {
            introspects: self.introspects || o.introspects,
            data_depth: self.data_depth.max(o.data_depth),
            introspection_depth: self.introspection_depth.max(o.introspection_depth),
            introspection_lists: self.introspection_lists.max(o.introspection_lists),
            root_fields: self.root_fields.max(o.root_fields),
            counts: self.counts.max(o.counts),
        }
    }
}

/// The `COUNT` statements a selection set's `totalCount` fields run: one each, aliases and
/// fragments included. A total nested under a page is loaded for all the page's items in one
/// statement (as their items are), so it counts once however large the pages around it.
/// Fragments are counted once each; one spreading itself counts nothing.
fn counts<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    memo: &mut HashMap<&'a str, usize>,
    spreading: &mut Vec<&'a str>,
) -> usize {
    let mut n = 0usize;
    for item in &set.items {
        let part = match &item.node {
            Selection::Field(f) => match f.node.name.node.as_str() {
                "totalCount" => 1,
                _ => counts(doc, &f.node.selection_set.node, memo, spreading),
            },
            Selection::InlineFragment(f) => counts(doc, &f.node.selection_set.node, memo, spreading),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                match (memo.get(name), doc.fragments.get(&s.node.fragment_name.node)) {
                    (Some(known), _) => *known,
                    (None, Some(fragment)) if !spreading.contains(&name) => {
                        spreading.push(name);
                        let counted = counts(doc, &fragment.node.selection_set.node, memo, spreading);
                        spreading.pop();
                        memo.insert(name, counted);
                        counted
                    }
                    _ => 0,
                }
            }
        };
        n = n.saturating_add(part);
    }
    n
}

/// How many fields a selection set selects, through its fragments (`__typename`, answered
/// without the database, is not counted; a fragment spreading itself counts once).
fn root_fields<'a>(doc: &'a ExecutableDocument, set: &'a SelectionSet, spreading: &mut Vec<&'a str>) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => usize::from(f.node.name.node.as_str() != "__typename"),
            Selection::InlineFragment(f) => root_fields(doc, &f.node.selection_set.node, spreading),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                match doc.fragments.get(&s.node.fragment_name.node) {
                    Some(fragment) if !spreading.contains(&name) => {
                        spreading.push(name);
                        let n = root_fields(doc, &fragment.node.selection_set.node, spreading);
                        spreading.pop();
                        n
                    }
                    _ => 0,
                }
            }
        })
        .sum()
}

/// The shape of one selection set, relative to it, inside introspection or not. Fragments
/// are measured once each (a document may spread one fragment many times); a fragment that
/// spreads itself counts for nothing here, and validation refuses the cycle.
fn walk<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    inside: bool,
    memo: &mut HashMap<(&'a str, bool), Shape>,
    spreading: &mut Vec<&'a str>,
) -> Shape {
    let mut shape = Shape::default();
    for item in &set.items {
        let part = match &item.node {
            Selection::Field(f) => {
                let name = f.node.name.node.as_str();
                let root = !inside && matches!(name, "__schema" | "__type");
                let below = walk(doc, &f.node.selection_set.node, inside || root, memo, spreading);
                if inside || root {
                    Shape {
                        introspects: true,
                        data_depth: 0,
                        introspection_depth: 1 + below.introspection_depth,
                        introspection_lists: usize::from(INTROSPECTION_LISTS.contains(&name))
                            + below.introspection_lists,
                        root_fields: 0,
                        counts: 0,
                    }
                } else {
                    Shape {
                        introspects: below.introspects,
                        data_depth: 1 + below.data_depth,
                        introspection_depth: if below.introspects { 1 + below.introspection_depth } else { 0 },
                        introspection_lists: below.introspection_lists,
                        root_fields: 0,
                        counts: 0,
                    }
                }
            }
            Selection::InlineFragment(f) => walk(doc, &f.node.selection_set.node, inside, memo, spreading),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                match (memo.get(&(name, inside)), doc.fragments.get(&s.node.fragment_name.node)) {
                    (Some(known), _) => *known,
                    (None, Some(fragment)) if !spreading.contains(&name) => {
                        spreading.push(name);
                        let measured = walk(doc, &fragment.node.selection_set.node, inside, memo, spreading);
                        spreading.pop();
                        memo.insert((name, inside), measured);
                        measured
                    }
                    _ => Shape::default(),
                }
            }
        };
        shape = shape.max(part);
    }
    shape
}
