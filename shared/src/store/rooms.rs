//! Rooms: admin-defined topics in one partition (`ROOMS` / `ROOM#<slug>`),
//! their subscribers (`ROOM#<slug>` / `SUB#<member>`, for issue 13), and
//! rooms a member muted (the profile's `muted_rooms` set).

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::keys::{self, Key};
use super::{n, s, values, Store, StoreError};
use crate::domain::{MemberId, RoomDescription, RoomSlug, RoomTitle, MAX_MUTED_ROOMS};

impl Store {
    pub fn rooms(&self) -> Rooms<'_> {
        Rooms { store: self }
    }
}

pub struct Rooms<'a> {
    store: &'a Store,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Room {
    pub slug: RoomSlug,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: Option<i64>,
}

#[derive(Serialize)]
struct Subscriber<'a> {
    member_id: &'a MemberId,
    at: i64,
}

/// Why a room action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomRefusal {
    NoSuchRoom,
    /// Creating a room whose slug is taken.
    Exists,
    /// `MAX_MUTED_ROOMS` muted already.
    MuteLimit,
}

fn set(v: &RoomSlug) -> AttributeValue {
    AttributeValue::Ss(vec![v.to_string()])
}

impl Rooms<'_> {
    /// Every room, by slug: one query of a small partition.
    pub async fn list(&self) -> Result<Vec<Room>, StoreError> {
        self.store.query_prefix(keys::ROOMS, Some("ROOM#")).await
    }

    pub async fn get(&self, slug: &RoomSlug) -> Result<Option<Room>, StoreError> {
        self.store.get(&Key::room(slug)).await
    }

    pub async fn create(
        &self,
        slug: &RoomSlug,
        title: &RoomTitle,
        description: &RoomDescription,
        now: i64,
    ) -> Result<Result<Room, RoomRefusal>, StoreError> {
        let room = Room {
            slug: slug.clone(),
            title: title.as_str().into(),
            description: description.as_str().into(),
            created_at: now,
            updated_at: None,
        };
        match self.store.put_new(&Key::room(slug), &room).await {
            Ok(()) => Ok(Ok(room)),
            Err(StoreError::Conflict) => Ok(Err(RoomRefusal::Exists)),
            Err(e) => Err(e),
        }
    }

    /// Changes title and description only (the posts side may keep counters on the item).
    pub async fn edit(
        &self,
        slug: &RoomSlug,
        title: &RoomTitle,
        description: &RoomDescription,
        now: i64,
    ) -> Result<Result<(), RoomRefusal>, StoreError> {
        let out = self
            .store
            .update(
                &Key::room(slug),
                "SET title = :t, description = :d, updated_at = :now",
                Some("attribute_exists(pk)"),
                &[],
                values([
                    (":t", s(title.as_str())),
                    (":d", s(description.as_str())),
                    (":now", n(now)),
                ]),
                None,
            )
            .await;
        match out {
            Ok(_) => Ok(Ok(())),
            Err(StoreError::Conflict) => Ok(Err(RoomRefusal::NoSuchRoom)),
            Err(e) => Err(e),
        }
    }

    fn room_exists(&self, slug: &RoomSlug) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        self.store
            .tx_check(&Key::room(slug), "attribute_exists(pk)", &[], Default::default())
    }

    /// Subscribes (repeating is a no-op): the subscriber item and the
    /// profile's set together, only for a room that exists.
    pub async fn subscribe(
        &self,
        member: &MemberId,
        slug: &RoomSlug,
        now: i64,
    ) -> Result<Result<(), RoomRefusal>, StoreError> {
        let items = vec![
            self.room_exists(slug)?,
            self.store.tx_put(
                &Key::room_subscriber(slug, member),
                &Subscriber {
                    member_id: member,
                    at: now,
                },
                None,
                None,
            )?,
            self.store.tx_update(
                &Key::member(member),
                "ADD subscribed_rooms :r",
                "attribute_exists(pk)",
                values([(":r", set(slug))]),
            )?,
        ];
        match self.store.transact(items).await {
            Ok(()) => Ok(Ok(())),
            Err(e) if e.failed_at(0) => Ok(Err(RoomRefusal::NoSuchRoom)),
            Err(e) => Err(e),
        }
    }

    pub async fn unsubscribe(&self, member: &MemberId, slug: &RoomSlug) -> Result<(), StoreError> {
        self.store
            .transact(vec![
                self.store.tx_delete(&Key::room_subscriber(slug, member), None, None)?,
                self.store.tx_update(
                    &Key::member(member),
                    "DELETE subscribed_rooms :r",
                    "attribute_exists(pk)",
                    values([(":r", set(slug))]),
                )?,
            ])
            .await
    }

    /// Everyone subscribed to a room (issue 13's fan-out).
    pub async fn subscribers(&self, slug: &RoomSlug) -> Result<Vec<MemberId>, StoreError> {
        #[derive(Deserialize)]
        struct Sub {
            member_id: MemberId,
        }
        let subs: Vec<Sub> = self
            .store
            .query_prefix(&keys::room_subscribers(slug), Some(keys::SUBSCRIBER))
            .await?;
        Ok(subs.into_iter().map(|s| s.member_id).collect())
    }

    /// Leaves the room's posts out of the member's feed. At most
    /// `MAX_MUTED_ROOMS`, by a condition on the set's size; muting a muted
    /// room again is a no-op.
    pub async fn mute(&self, member: &MemberId, slug: &RoomSlug) -> Result<Result<(), RoomRefusal>, StoreError> {
        let items = vec![
            self.room_exists(slug)?,
            self.store.tx_update(
                &Key::member(member),
                "ADD muted_rooms :r",
                "attribute_exists(pk) AND (attribute_not_exists(muted_rooms) OR size(muted_rooms) < :max \
                 OR contains(muted_rooms, :slug))",
                values([
                    (":r", set(slug)),
                    (":max", n(MAX_MUTED_ROOMS)),
                    (":slug", s(slug.as_str())),
                ]),
            )?,
        ];
        match self.store.transact(items).await {
            Ok(()) => Ok(Ok(())),
            Err(e) if e.failed_at(0) => Ok(Err(RoomRefusal::NoSuchRoom)),
            Err(e) if e.failed_at(1) => Ok(Err(RoomRefusal::MuteLimit)),
            Err(e) => Err(e),
        }
    }

    pub async fn unmute(&self, member: &MemberId, slug: &RoomSlug) -> Result<(), StoreError> {
        self.store
            .update(
                &Key::member(member),
                "DELETE muted_rooms :r",
                Some("attribute_exists(pk)"),
                &[],
                values([(":r", set(slug))]),
                None,
            )
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, Member, MemberStatus, Role};
    use crate::store::testing;

    async fn member(store: &Store) -> Member {
        let m = Member::new(
            Email::parse(&format!("{}@lodge.test", crate::crypto::random_digits(8))).unwrap(),
            Role::Member,
            MemberStatus::Approved,
            1,
        );
        store.members().create(&m).await.unwrap();
        m
    }

    fn slug(s: &str) -> RoomSlug {
        RoomSlug::parse(s).unwrap()
    }

    #[tokio::test]
    async fn rooms_are_created_once_edited_listed_subscribed_and_muted() {
        let store = testing::store().await;
        let rooms = store.rooms();
        let title = RoomTitle::parse("Travel").unwrap();
        let about = RoomDescription::parse("Trips and tips").unwrap();
        rooms
            .create(&slug("travel"), &title, &about, 10)
            .await
            .unwrap()
            .unwrap();
        rooms.create(&slug("books"), &title, &about, 11).await.unwrap().unwrap();
        assert_eq!(
            rooms.create(&slug("travel"), &title, &about, 12).await.unwrap(),
            Err(RoomRefusal::Exists)
        );
        let renamed = RoomTitle::parse("Journeys").unwrap();
        rooms
            .edit(&slug("travel"), &renamed, &about, 13)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            rooms.edit(&slug("nowhere"), &renamed, &about, 13).await.unwrap(),
            Err(RoomRefusal::NoSuchRoom)
        );
        let list = rooms.list().await.unwrap();
        assert_eq!(
            list.iter().map(|r| r.slug.as_str()).collect::<Vec<_>>(),
            ["books", "travel"]
        );
        assert_eq!(list[1].title, "Journeys");

        let m = member(&store).await;
        rooms.subscribe(&m.id, &slug("travel"), 20).await.unwrap().unwrap();
        rooms.subscribe(&m.id, &slug("travel"), 21).await.unwrap().unwrap();
        assert_eq!(
            rooms.subscribe(&m.id, &slug("nowhere"), 21).await.unwrap(),
            Err(RoomRefusal::NoSuchRoom)
        );
        assert_eq!(
            rooms.subscribers(&slug("travel")).await.unwrap(),
            std::slice::from_ref(&m.id)
        );
        rooms.mute(&m.id, &slug("books")).await.unwrap().unwrap();
        let stored = store.members().get(&m.id).await.unwrap().unwrap();
        assert!(stored.subscribed_rooms.contains(&slug("travel")));
        assert!(stored.muted_rooms.contains(&slug("books")));
        rooms.unsubscribe(&m.id, &slug("travel")).await.unwrap();
        rooms.unmute(&m.id, &slug("books")).await.unwrap();
        let stored = store.members().get(&m.id).await.unwrap().unwrap();
        assert!(stored.subscribed_rooms.is_empty() && stored.muted_rooms.is_empty());
        assert!(rooms.subscribers(&slug("travel")).await.unwrap().is_empty());
        // A whole-profile write keeps the sets as sets.
        rooms.mute(&m.id, &slug("books")).await.unwrap().unwrap();
        let stored = store.members().get(&m.id).await.unwrap().unwrap();
        store.put(&Key::of_member(&stored), &stored).await.unwrap();
        rooms.mute(&m.id, &slug("travel")).await.unwrap().unwrap();
        assert_eq!(store.members().get(&m.id).await.unwrap().unwrap().muted_rooms.len(), 2);
    }
}
