//! Notification preferences: each kind on or off per channel, and the
//! digest choices (issue 14 reads `digest_weekly_email` and
//! `digest_daily_telegram`). Stored on the member's profile as
//! `notification_prefs`; a switch never set takes its default.

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
    /// The weekly email digest (issue 14); default on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_weekly_email: Option<bool>,
    /// The daily Telegram digest (issue 14); default off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_daily_telegram: Option<bool>,
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

    pub fn weekly_email_digest(&self) -> bool {
        self.digest_weekly_email.unwrap_or(true)
    }

    pub fn daily_telegram_digest(&self) -> bool {
        self.digest_daily_telegram.unwrap_or(false)
    }

    /// Every switch explicit, from a settings form: a checkbox is sent only
    /// when ticked, so each `<kind>.<channel>` present is on and each absent
    /// one off. An unknown field is refused (it names a switch that does not exist).
    pub fn from_form(fields: &HashMap<String, String>) -> Result<Prefs, String> {
        let mut prefs = Prefs {
            digest_weekly_email: Some(false),
            digest_daily_telegram: Some(false),
            ..Prefs::default()
        };
        for kind in Kind::ALL {
            for channel in Channel::ALL {
                prefs.set(kind, channel, false);
            }
        }
        for name in fields.keys() {
            match name.as_str() {
                "digest_weekly_email" => prefs.digest_weekly_email = Some(true),
                "digest_daily_telegram" => prefs.digest_daily_telegram = Some(true),
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
        assert!(p.weekly_email_digest() && !p.daily_telegram_digest());
    }

    #[test]
    fn a_form_sets_every_switch_and_refuses_unknown_ones() {
        let form: HashMap<String, String> = [("reply.email", "on"), ("digest_daily_telegram", "on")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let p = Prefs::from_form(&form).unwrap();
        assert!(p.wants(Kind::Reply, Channel::Email, true));
        assert!(!p.wants(Kind::Reply, Channel::Web, true));
        assert!(!p.wants(Kind::Mention, Channel::Telegram, true));
        assert!(!p.weekly_email_digest() && p.daily_telegram_digest());
        let bad: HashMap<String, String> = [("reply.fax".to_string(), "on".to_string())].into_iter().collect();
        assert!(Prefs::from_form(&bad).is_err());
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
