//! Offer search: the tantivy index that follows the database, and queries
//! with France Travail's parameters. One module, two front ends (the API and
//! the pages).

mod columns;
mod directory;
pub mod geo;
pub mod index;
mod offer_store;
pub mod params;
pub mod query;
pub mod schema;
mod word_cache;
mod word_pairs;

pub use index::{Indexer, IndexerWaker, SearchError, SearchIndex};
