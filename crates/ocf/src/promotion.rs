//! Promotion scores through crm_attribute (owned by the OMFLOW work; product-agnostic).
