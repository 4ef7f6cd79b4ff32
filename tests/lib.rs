//! Nothing lives here: see `main.rs`, the one end-to-end test binary.
