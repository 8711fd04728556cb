//! `/proc/self/mountinfo` parsing (owned by the sharedfs work; product-agnostic).
