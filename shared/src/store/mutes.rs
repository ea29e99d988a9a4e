//! Members a member muted: the profile's `muted_members` set. Their posts
//! leave the muter's feed and their comments collapse, for the muter only.
//! At most 50, and never a moderator (docs/posts.md, "Rate limits").

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::Key;
use super::{n, s, values, Store, StoreError};
use crate::domain::{MemberId, MAX_MUTED_MEMBERS};

impl Store {
    pub fn member_mutes(&self) -> MemberMutes<'_> {
        MemberMutes { store: self }
    }
}

pub struct MemberMutes<'a> {
    store: &'a Store,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MuteRefusal {
    /// `MAX_MUTED_MEMBERS` muted already.
    Limit,
    /// Moderators and admins cannot be muted.
    Moderator,
    NoSuchMember,
    Yourself,
}

impl MemberMutes<'_> {
    /// One transaction: the set grows only below the limit (re-muting is a
    /// no-op), the target has no staff entry and exists.
    pub async fn mute(&self, me: &MemberId, target: &MemberId) -> Result<Result<(), MuteRefusal>, StoreError> {
        if me == target {
            return Ok(Err(MuteRefusal::Yourself));
        }
        let items = vec![
            self.store.tx_update(
                &Key::member(me),
                "ADD muted_members :m",
                "attribute_exists(pk) AND (attribute_not_exists(muted_members) OR size(muted_members) < :max \
                 OR contains(muted_members, :target))",
                values([
                    (":m", AttributeValue::Ss(vec![target.to_string()])),
                    (":max", n(MAX_MUTED_MEMBERS)),
                    (":target", s(target.as_str())),
                ]),
            )?,
            self.store
                .tx_check(&Key::staff(target), "attribute_not_exists(pk)", &[], Default::default())?,
            self.store
                .tx_check(&Key::member(target), "attribute_exists(pk)", &[], Default::default())?,
        ];
        match self.store.transact(items).await {
            Ok(()) => Ok(Ok(())),
            Err(e) if e.failed_at(2) => Ok(Err(MuteRefusal::NoSuchMember)),
            Err(e) if e.failed_at(1) => Ok(Err(MuteRefusal::Moderator)),
            Err(e) if e.failed_at(0) => Ok(Err(MuteRefusal::Limit)),
            Err(e) => Err(e),
        }
    }

    pub async fn unmute(&self, me: &MemberId, target: &MemberId) -> Result<(), StoreError> {
        self.store
            .update(
                &Key::member(me),
                "DELETE muted_members :m",
                Some("attribute_exists(pk)"),
                &[],
                values([(":m", AttributeValue::Ss(vec![target.to_string()]))]),
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

    async fn member(store: &Store, role: Role) -> Member {
        let m = Member::new(
            Email::parse(&format!("{}@lodge.test", crate::crypto::random_digits(10))).unwrap(),
            role,
            MemberStatus::Approved,
            1,
        );
        let mut items = store.members().create_items(&m).unwrap();
        items.push(store.members().staff_item(&m, role).unwrap());
        store.transact(items).await.unwrap();
        m
    }

    #[tokio::test]
    async fn at_most_fifty_never_a_moderator() {
        let store = testing::store().await;
        let me = member(&store, Role::Member).await;
        let mutes = store.member_mutes();
        let mut targets = Vec::new();
        for _ in 0..51 {
            targets.push(member(&store, Role::Member).await);
        }
        for t in &targets[..50] {
            mutes.mute(&me.id, &t.id).await.unwrap().unwrap();
        }
        // Again: a no-op, even at the limit.
        mutes.mute(&me.id, &targets[0].id).await.unwrap().unwrap();
        assert_eq!(
            mutes.mute(&me.id, &targets[50].id).await.unwrap(),
            Err(MuteRefusal::Limit)
        );
        mutes.unmute(&me.id, &targets[0].id).await.unwrap();
        mutes.mute(&me.id, &targets[50].id).await.unwrap().unwrap();
        assert_eq!(
            store.members().get(&me.id).await.unwrap().unwrap().muted_members.len(),
            50
        );

        let moderator = member(&store, Role::Moderator).await;
        let other = member(&store, Role::Member).await;
        assert_eq!(
            mutes.mute(&other.id, &moderator.id).await.unwrap(),
            Err(MuteRefusal::Moderator)
        );
        assert_eq!(
            mutes.mute(&other.id, &MemberId::generate()).await.unwrap(),
            Err(MuteRefusal::NoSuchMember)
        );
        assert_eq!(
            mutes.mute(&other.id, &other.id).await.unwrap(),
            Err(MuteRefusal::Yourself)
        );
    }
}
