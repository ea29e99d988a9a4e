//! Independent point reads joined into one `BatchGetItem` (strongly
//! consistent, like `Store::get`). A page names up front every item it will
//! need (the viewer's session and profile, the post, the viewer's state on
//! it) and takes each back through the typed slot it got: one round trip
//! and one SDK call instead of one per item, which is most of a request's
//! own CPU (README, "Benchmarks").
//!
//! Only `store/` adds keys (`Reads::add` is crate-private); a function asks
//! an aggregate's handle to add what it needs, for example
//! `store.posts().page_reads(&mut reads, …)`.

use std::collections::HashMap;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use super::{from_item, Item, Key, Store, StoreError};

/// Keys to read together.
#[derive(Default)]
pub struct Reads {
    keys: Vec<Key>,
}

/// Where one item of a `Reads` comes back, and as what type.
pub struct Slot<T> {
    index: usize,
    _type: PhantomData<fn() -> T>,
}

/// The answers of one `Store::fetch`, by slot.
pub struct Fetched {
    items: Vec<Option<Item>>,
}

impl Reads {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn add<T: DeserializeOwned>(&mut self, key: Key) -> Slot<T> {
        self.keys.push(key);
        Slot {
            index: self.keys.len() - 1,
            _type: PhantomData,
        }
    }
}

impl Fetched {
    /// The item of `slot`, or `None` when there is none; each slot once.
    pub fn take<T: DeserializeOwned>(&mut self, slot: Slot<T>) -> Result<Option<T>, StoreError> {
        self.items
            .get_mut(slot.index)
            .and_then(Option::take)
            .map(from_item)
            .transpose()
    }

    /// Whether `slot`'s item exists (a marker whose content does not matter).
    pub fn exists<T>(&mut self, slot: Slot<T>) -> bool {
        self.items.get_mut(slot.index).and_then(Option::take).is_some()
    }
}

impl Store {
    /// Reads every key of `reads` at once (chunks of 100, unprocessed keys
    /// retried; see `batch_get`).
    pub async fn fetch(&self, reads: Reads) -> Result<Fetched, StoreError> {
        if reads.keys.is_empty() {
            return Ok(Fetched { items: Vec::new() });
        }
        let ids: Vec<(String, String)> = reads.keys.iter().map(|k| (k.pk.clone(), k.sk.clone())).collect();
        let found = self.batch_get(reads.keys, true).await?;
        let mut by_key: HashMap<(String, String), Item> = found
            .into_iter()
            .filter_map(|item| {
                let pk = item.get("pk")?.as_s().ok()?.clone();
                let sk = item.get("sk")?.as_s().ok()?.clone();
                Some(((pk, sk), item))
            })
            .collect();
        // A key asked twice is read once: the last slot takes the item, the
        // earlier ones a copy.
        let items = ids
            .iter()
            .enumerate()
            .map(|(i, id)| match ids[i + 1..].contains(id) {
                true => by_key.get(id).cloned(),
                false => by_key.remove(id),
            })
            .collect();
        Ok(Fetched { items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PostId;
    use crate::store::testing::store;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Thing {
        name: String,
    }

    #[tokio::test]
    async fn each_slot_gets_its_own_item_and_a_missing_one_is_none() {
        let store = store().await;
        let post = PostId::generate(1_000);
        let (a, b) = (Key::post_item(&post, "A"), Key::post_item(&post, "B"));
        store.put(&a, &Thing { name: "a".into() }).await.unwrap();
        store.put(&b, &Thing { name: "b".into() }).await.unwrap();
        let mut reads = Reads::new();
        let sb = reads.add::<Thing>(b.clone());
        let missing = reads.add::<Thing>(Key::post_item(&post, "C"));
        let sa = reads.add::<Thing>(a.clone());
        let twice = reads.add::<Thing>(a);
        let mut got = store.fetch(reads).await.unwrap();
        assert_eq!(got.take(sa).unwrap().unwrap().name, "a");
        assert_eq!(got.take(sb).unwrap().unwrap().name, "b");
        assert_eq!(got.take(twice).unwrap().unwrap().name, "a");
        assert!(got.take(missing).unwrap().is_none());
    }
}
