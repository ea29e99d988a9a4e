//! The callback data of `/rules` buttons: `fr:<what>[:<arg>]`, within
//! Telegram's 64 bytes. Rules are named by a short hash of their id (ids may
//! be 64 characters long), resolved against the rule list on a press.

use lodge::forwarding::draft::{parse_chat, DeliveryChoice};
use lodge::forwarding::{Destination, RuleId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Button {
    /// The rule list, at a page.
    List(usize),
    Show(String),
    Enable(String, bool),
    Delete(String),
    ConfirmDelete(String),
    /// Starts a draft.
    New,
    /// The draft's chat keyboard, at a page.
    Page(usize),
    /// A chat (or topic) for the draft's current step: source or destination.
    Pick(Destination),
    Done,
    Deliver(DeliveryChoice),
    Skip,
    Back,
    Save,
    Cancel,
}

pub(crate) const PREFIX: &str = "fr:";

/// A rule's short tag in callback data: a hash of its id, which may be
/// longer than 64 bytes of callback data allow.
pub(crate) fn rule_tag(id: &RuleId) -> String {
    lodge::crypto::sha256_hex(id.as_str().as_bytes())[..12].to_string()
}

impl Button {
    pub fn encode(&self) -> String {
        let dest = |d: &Destination| match d.thread_id {
            Some(t) => format!("{}:{t}", d.chat_id),
            None => d.chat_id.to_string(),
        };
        let body = match self {
            Button::List(page) => format!("l:{page}"),
            Button::Show(h) => format!("s:{h}"),
            Button::Enable(h, true) => format!("on:{h}"),
            Button::Enable(h, false) => format!("off:{h}"),
            Button::Delete(h) => format!("d:{h}"),
            Button::ConfirmDelete(h) => format!("dd:{h}"),
            Button::New => "new".into(),
            Button::Page(page) => format!("p:{page}"),
            Button::Pick(d) => format!("c:{}", dest(d)),
            Button::Done => "done".into(),
            Button::Deliver(d) => format!("m:{}", d.as_str()),
            Button::Skip => "skip".into(),
            Button::Back => "back".into(),
            Button::Save => "save".into(),
            Button::Cancel => "x".into(),
        };
        format!("{PREFIX}{body}")
    }

    /// `None` for anything this module did not encode.
    pub fn parse(data: &str) -> Option<Self> {
        let rest = data.strip_prefix(PREFIX)?;
        let (what, arg, has_arg) = match rest.split_once(':') {
            Some((what, arg)) => (what, arg, true),
            None => (rest, "", false),
        };
        let page = || arg.parse::<usize>().ok().filter(|p| *p < 10_000);
        let rule = || (arg.len() == 12 && arg.bytes().all(|b| b.is_ascii_hexdigit())).then(|| arg.to_string());
        Some(match what {
            "l" => Button::List(page()?),
            "s" => Button::Show(rule()?),
            "on" => Button::Enable(rule()?, true),
            "off" => Button::Enable(rule()?, false),
            "d" => Button::Delete(rule()?),
            "dd" => Button::ConfirmDelete(rule()?),
            "p" => Button::Page(page()?),
            "c" => Button::Pick(parse_chat(arg, true).ok()?),
            "m" => Button::Deliver(DeliveryChoice::parse(arg)?),
            _ if has_arg => return None,
            "new" => Button::New,
            "done" => Button::Done,
            "skip" => Button::Skip,
            "back" => Button::Back,
            "save" => Button::Save,
            "x" => Button::Cancel,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodge::forwarding::TelegramChatId;

    #[test]
    fn every_button_round_trips_within_64_bytes() {
        let h = rule_tag(&RuleId::parse(&"r".repeat(64)).unwrap());
        let topic = Destination {
            chat_id: TelegramChatId::new(i64::MIN + 1).unwrap(),
            thread_id: Some(i64::MAX),
        };
        let all = [
            Button::List(9_999),
            Button::Show(h.clone()),
            Button::Enable(h.clone(), true),
            Button::Enable(h.clone(), false),
            Button::Delete(h.clone()),
            Button::ConfirmDelete(h),
            Button::New,
            Button::Page(3),
            Button::Pick(topic),
            Button::Pick(Destination {
                chat_id: TelegramChatId::new(-100123).unwrap(),
                thread_id: None,
            }),
            Button::Done,
            Button::Deliver(DeliveryChoice::ForwardOrCopy),
            Button::Skip,
            Button::Back,
            Button::Save,
            Button::Cancel,
        ];
        for b in all {
            let data = b.encode();
            assert!(data.len() <= 64, "{data}");
            assert_eq!(Button::parse(&data), Some(b), "{data}");
        }
    }

    #[test]
    fn foreign_or_damaged_data_is_not_a_button() {
        for bad in [
            "mod:x:approve",
            "fr:",
            "fr:l:x",
            "fr:s:zz",
            "fr:c:0",
            "fr:m:teleport",
            "fr:new:1",
            "fr:save:",
            "fr:l:10000",
        ] {
            assert_eq!(Button::parse(bad), None, "{bad}");
        }
    }
}
