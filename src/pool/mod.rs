//! The pool's rules: registration, authentication, partial validation and crediting, difficulty.
pub mod difficulty;
pub mod tokens;
