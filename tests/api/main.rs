//! Integration tests: the real server on a random port, a real database
//! (SQLite always; PostgreSQL too when RELAIS_TEST_POSTGRES_URL is set), a real
//! browser when chromium-driver is installed.
#![allow(clippy::unwrap_used)]

mod helpers;

mod accounts;
mod activity;
mod admin;
mod agencies;
mod announcements;
mod bench;
mod browser;
mod commands;
mod configuration;
mod database;
mod demo;
mod france_travail;
mod health;
mod home;
mod inactivity;
mod login;
mod migrations;
mod offers;
mod openapi;
mod referrals;
mod search;
mod smtp;
mod sso;
mod structure;
mod upstream;
