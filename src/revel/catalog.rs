//! The establishment's product catalogue, every page, indexed for matching and cached
//! per establishment for `CATALOG_TTL_SECS`. Concurrent first requests for one establishment wait on the
//! same lock and share a single read, so a burst of webhooks costs one read.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::client::{RevelError, RevelReader};
use super::product::Product;
use super::product_match::Catalog;
use crate::money::Cents;
use crate::tripleseat::id_string;

type Slot = Arc<Mutex<Option<(Instant, Arc<Catalog>)>>>;

pub struct CatalogCache {
    ttl: Duration,
    slots: DashMap<String, Slot>,
}

impl CatalogCache {
    pub fn new(ttl: Duration) -> CatalogCache {
        CatalogCache {
            ttl,
            slots: DashMap::new(),
        }
    }

    pub async fn products(
        &self,
        client: &RevelReader,
        establishment: &str,
        deadline: Option<Instant>,
    ) -> Result<Arc<Catalog>, RevelError> {
        let slot = Arc::clone(self.slots.entry(establishment.to_string()).or_default().value());
        let mut cached = slot.lock().await;
        if let Some((read_at, products)) = cached.as_ref() {
            if read_at.elapsed() < self.ttl {
                return Ok(Arc::clone(products));
            }
        }
        let path = format!("/resources/Product/?establishment={establishment}&active=true&limit=100");
        let objects = client.list(&path, deadline).await?;
        // Indexed once per read, so matching a line does not score every product.
        let products = Arc::new(Catalog::new(objects.iter().filter_map(read_product).collect()));
        tracing::info!(establishment, products = products.len(), "Revel catalogue read");
        *cached = Some((Instant::now(), Arc::clone(&products)));
        Ok(products)
    }
}

fn read_product(object: &Value) -> Option<Product> {
    if object.get("active").and_then(Value::as_bool) == Some(false) {
        return None;
    }
    Some(Product::new(
        id_string(object.get("id"))?,
        object.get("name")?.as_str()?,
        object.get("price").and_then(Cents::from_json),
    ))
}
