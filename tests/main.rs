//! End-to-end tests over the HTTP surface, one binary, every test on SQLite and — when
//! TEST_DATABASE_URL is set — on PostgreSQL too.

mod harness;
mod served;

mod audit;
mod auth;
mod bad_input;
mod batch;
mod concurrency;
mod contract;
mod demo;
mod faults;
mod graphql;
mod graphql_tools;
mod groups;
mod http;
mod idempotency;
mod keys;
mod limits;
mod observability;
mod organisations;
mod placements;
mod practices;
mod registrations;
mod replicas;
mod scope;
mod sync;
mod upgrade;
