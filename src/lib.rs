//! relais — a partner job-offer portal. Everything lives in this library;
//! `main.rs` only parses the command line.

pub mod agencies;
pub mod cli;
pub mod config;
pub mod db;
pub mod startup;
pub mod telemetry;
pub mod web;
