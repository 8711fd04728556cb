//! Atomic file replacement (owned by the warp-fixup work; product-agnostic).
