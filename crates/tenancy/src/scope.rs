//! The brand-scoped capability.

use std::sync::Arc;

use portcullis_core::BrandKey;

use crate::{Brand, BrandId};

/// Proof that a brand was resolved, and the handle every tenant query requires.
///
/// Cheap to clone. Storage implementations read [`BrandScope::brand_id`] to filter every query;
/// callers never pass a bare brand id to storage.
#[derive(Debug, Clone)]
pub struct BrandScope {
    brand: Arc<Brand>,
}

impl BrandScope {
    /// Wraps a brand that storage returned. Use [`crate::resolve_brand`] rather than building
    /// one by hand.
    pub fn new(brand: Brand) -> Self {
        Self { brand: Arc::new(brand) }
    }

    /// The brand's internal id: for storage implementations only.
    pub fn brand_id(&self) -> BrandId {
        self.brand.id
    }

    /// The brand's key.
    pub fn key(&self) -> &BrandKey {
        &self.brand.key
    }

    /// The whole brand record.
    pub fn brand(&self) -> &Brand {
        &self.brand
    }
}
