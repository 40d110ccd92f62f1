//! Parsed GraphQL documents by query text. Clients send the same few queries again and
//! again; parsing one (a PEG parser, an allocation per token) cost more than copying the
//! parsed tree does.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::Request;
use lru::LruCache;

/// Documents kept; a query is at most `GRAPHQL_MAX_QUERY_BYTES`, so this bounds the memory.
const CAPACITY: usize = 256;

pub struct DocumentCache(Mutex<LruCache<String, Arc<ExecutableDocument>>>);

impl Default for DocumentCache {
    fn default() -> Self {
        DocumentCache(Mutex::new(LruCache::new(NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN))))
    }
}

impl DocumentCache {
    /// Hands the request its parsed document, from the cache or parsed now and kept. A query
    /// that does not parse is left to the schema, which reports it the usual way.
    pub fn prepare(&self, request: &mut Request) {
        let cached = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(request.query.as_str()).cloned();
        let doc = match cached {
            Some(doc) => doc,
            None => match async_graphql::parser::parse_query(&request.query) {
                Ok(doc) => {
                    let doc = Arc::new(doc);
                    self.0.lock().unwrap_or_else(|p| p.into_inner()).put(request.query.clone(), doc.clone());
                    doc
                }
                Err(_) => return,
            },
        };
        request.set_parsed_query(ExecutableDocument::clone(&doc));
    }
}
