//! The guide index.
