//! Black-box tests: the real app over real HTTP on 127.0.0.1 against fake
//! TripleSeat, Revel and SendGrid servers. One binary, compiled once.

mod admin;
mod binary;
mod configuration;
mod console;
mod contract;
mod edge;
mod email;
mod health;
mod helpers;
mod idempotency;
mod postgres;
mod revel;
mod signature;
mod store;
mod sweep;
mod time_gate;
mod tripleseat_auth;
mod tripleseat_reads;
mod validation;
