//! Nothing here: the end-to-end tests live in `tests/` (see `tests/common`).
