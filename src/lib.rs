//! relais — a partner job-offer portal. Everything lives in this library;
//! `main.rs` only parses the command line.

pub mod accounts;
pub mod activity;
pub mod agencies;
pub mod announcements;
pub mod api;
pub mod apikeys;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod jobs;
pub mod mail;
pub mod offers;
pub mod referentials;
pub mod referrals;
pub mod search;
pub mod secrets;
pub mod startup;
pub mod telemetry;
pub mod text;
pub mod web;
