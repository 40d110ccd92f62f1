//! Parsed GraphQL documents by query text. Clients send the same few queries again and
//! again; parsing one (a PEG parser, an allocation per token) cost more than copying the
//! parsed tree does. Each document also remembers the operations and variables it was
//! found valid with: validation is a function of those alone, so a repeat needs only the
//! limits checked (depth, complexity), which depend on them too and are checked every time.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, Response};
use lru::LruCache;

/// Documents kept; a query is at most `GRAPHQL_MAX_QUERY_BYTES`, so this bounds the memory.
const CAPACITY: usize = 256;
/// Operation and variable sets remembered per document, beyond which repeats validate again.
const VALID_INPUTS: usize = 64;

struct Document {
    parsed: ExecutableDocument,
    /// Whether it selects `__schema` or `__type` anywhere (see [`Prepared::introspects`]).
    introspects: bool,
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
                    let introspects = introspects(&parsed);
                    let doc = Arc::new(Document { parsed, introspects, valid_with: Mutex::new(HashSet::new()) });
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
        self.document.as_ref().is_some_and(|d| d.introspects)
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

fn introspects(doc: &ExecutableDocument) -> bool {
    fn selects(set: &SelectionSet) -> bool {
        set.items.iter().any(|item| match &item.node {
            Selection::Field(f) => {
                matches!(f.node.name.node.as_str(), "__schema" | "__type") || selects(&f.node.selection_set.node)
            }
            Selection::InlineFragment(f) => selects(&f.node.selection_set.node),
            // The fragment's definition is looked at on its own below.
            Selection::FragmentSpread(_) => false,
        })
    }
    doc.operations.iter().any(|(_, op)| selects(&op.node.selection_set.node))
        || doc.fragments.values().any(|f| selects(&f.node.selection_set.node))
}
