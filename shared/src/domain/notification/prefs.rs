//! Notification preferences: each kind on or off per channel. Stored on the
//! member's profile as `notification_prefs`; a switch never set takes its
//! default. The digest choice is the digests' own attribute (`digest`,
//! `domain::digest::DigestChoice`), shown on the same settings page.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Kind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The `/notifications` inbox.
    Web,
    Telegram,
    Email,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Web, Channel::Telegram, Channel::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Telegram => "telegram",
            Channel::Email => "email",
        }
    }

    pub fn parse(raw: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == raw)
    }
}

/// One kind's switches; `None` is "the default".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switches {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<bool>,
}

impl Switches {
    fn get(&self, channel: Channel) -> Option<bool> {
        match channel {
            Channel::Web => self.web,
            Channel::Telegram => self.telegram,
            Channel::Email => self.email,
        }
    }

    fn set(&mut self, channel: Channel, on: bool) {
        match channel {
            Channel::Web => self.web = Some(on),
            Channel::Telegram => self.telegram = Some(on),
            Channel::Email => self.email = Some(on),
        }
    }
}

/// A member's choices. Field names are the stored (and JSON) names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefs {
    /// Per kind (`Kind::as_str`).
    #[serde(default)]
    pub kinds: HashMap<Kind, Switches>,
}

impl Prefs {
    /// Whether `kind` goes to `channel`. Email is off by default for members
    /// with Telegram linked and on for the others; the rest default on.
    pub fn wants(&self, kind: Kind, channel: Channel, telegram_linked: bool) -> bool {
        let default = match channel {
            Channel::Email => !telegram_linked,
            Channel::Web | Channel::Telegram => true,
        };
        self.kinds.get(&kind).and_then(|s| s.get(channel)).unwrap_or(default)
    }

    pub fn set(&mut self, kind: Kind, channel: Channel, on: bool) {
        self.kinds.entry(kind).or_default().set(channel, on);
    }

    /// Every switch explicit, from a settings form: a checkbox is sent only
    /// when ticked, so each `<kind>.<channel>` present is on and each absent
    /// one off. Fields named in `other_fields` belong to the same form but
    /// not to these switches (the digest choice); any other unknown field is
    /// refused (it names a switch that does not exist).
    pub fn from_form(fields: &HashMap<String, String>, other_fields: &[&str]) -> Result<Prefs, String> {
        let mut prefs = Prefs::default();
        for kind in Kind::ALL {
            for channel in Channel::ALL {
                prefs.set(kind, channel, false);
            }
        }
        for name in fields.keys() {
            match name.as_str() {
                other if other_fields.contains(&other) => {}
                other => {
                    let (kind, channel) = other
                        .split_once('.')
                        .and_then(|(k, c)| Some((Kind::parse(k)?, Channel::parse(c)?)))
                        .ok_or_else(|| format!("There is no setting called {other:?}."))?;
                    prefs.set(kind, channel, true);
                }
            }
        }
        Ok(prefs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_defaults_follow_telegram_and_the_rest_default_on() {
        let p = Prefs::default();
        assert!(p.wants(Kind::Reply, Channel::Email, false));
        assert!(!p.wants(Kind::Reply, Channel::Email, true));
        assert!(p.wants(Kind::Reply, Channel::Telegram, true));
        assert!(p.wants(Kind::Reply, Channel::Web, true));
    }

    #[test]
    fn a_form_sets_every_switch_and_refuses_unknown_ones() {
        let form: HashMap<String, String> = [("reply.email", "on"), ("digest", "daily")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = Prefs::from_form(&form, &["digest"]).unwrap();
        assert!(p.wants(Kind::Reply, Channel::Email, true));
        assert!(!p.wants(Kind::Reply, Channel::Web, true));
        assert!(!p.wants(Kind::Mention, Channel::Telegram, true));
        assert!(Prefs::from_form(&form, &[]).is_err(), "digest is not a switch");
        let bad: HashMap<String, String> = [("reply.fax".to_string(), "on".to_string())].into_iter().collect();
        assert!(Prefs::from_form(&bad, &["digest"]).is_err());
    }

    #[test]
    fn prefs_round_trip_through_json() {
        let mut p = Prefs::default();
        p.set(Kind::FollowedPost, Channel::Telegram, false);
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"followed_post\":{\"telegram\":false}"), "{json}");
        assert_eq!(serde_json::from_str::<Prefs>(&json).unwrap(), p);
    }
}
