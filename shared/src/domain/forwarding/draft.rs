//! A rule being created in the bot (`/rules` → New rule), one step at a time:
//! source → destinations → mode → keyword filters → confirm. Each step checks
//! its own input, so the admin hears about a mistake at the step that made
//! it; the finished draft still goes through `ForwardRule::from_json`, the
//! one place that decides what a valid rule is.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::filters::FiltersSpec;
use super::rule::{Destination, ForwardRule, Mode, RuleError, RuleId, TelegramChatId, MAX_DESTINATIONS};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WizardStep {
    Source,
    Destinations,
    Mode,
    Filters,
    Confirm,
}

impl WizardStep {
    /// "step n of 4" (confirming is not a question).
    pub fn number(self) -> usize {
        match self {
            WizardStep::Source => 1,
            WizardStep::Destinations => 2,
            WizardStep::Mode => 3,
            WizardStep::Filters | WizardStep::Confirm => 4,
        }
    }

    /// Whether the step takes typed input (ids, forwarded posts, keywords).
    pub fn takes_text(self) -> bool {
        matches!(
            self,
            WizardStep::Source | WizardStep::Destinations | WizardStep::Filters
        )
    }

    fn previous(self) -> Option<WizardStep> {
        match self {
            WizardStep::Source => None,
            WizardStep::Destinations => Some(WizardStep::Source),
            WizardStep::Mode => Some(WizardStep::Destinations),
            WizardStep::Filters => Some(WizardStep::Mode),
            WizardStep::Confirm => Some(WizardStep::Filters),
        }
    }
}

pub const STEPS: usize = 4;

/// How a destination's delivery mode was chosen (step 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryChoice {
    Forward,
    Copy,
    /// Forward, and copy where the source forbids forwarding.
    ForwardOrCopy,
}

impl DeliveryChoice {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "forward" => Some(Self::Forward),
            "copy" => Some(Self::Copy),
            "fallback" => Some(Self::ForwardOrCopy),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forward => "forward",
            Self::Copy => "copy",
            Self::ForwardOrCopy => "fallback",
        }
    }

    pub fn mode(self) -> Mode {
        match self {
            Self::Copy => Mode::Copy,
            Self::Forward | Self::ForwardOrCopy => Mode::Forward,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleDraft {
    /// Chosen when the draft starts, so a second tap on Create finds the
    /// rule already there instead of making a twin.
    pub rule_id: RuleId,
    pub step: WizardStep,
    pub source: Option<TelegramChatId>,
    pub destinations: Vec<Destination>,
    pub delivery: Option<DeliveryChoice>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// The bot message whose buttons drive the draft: buttons of any other
    /// message are stale.
    pub message_id: i64,
    /// The page of chats the step's keyboard shows.
    pub page: usize,
}

/// Why a step refused its input, in words for the admin.
pub type StepError = String;

impl RuleDraft {
    pub fn new(message_id: i64) -> Self {
        Self {
            rule_id: RuleId::generate(),
            step: WizardStep::Source,
            source: None,
            destinations: vec![],
            delivery: None,
            include: vec![],
            exclude: vec![],
            message_id,
            page: 0,
        }
    }

    fn at(&self, step: WizardStep) -> Result<(), StepError> {
        if self.step == step {
            Ok(())
        } else {
            Err("That belongs to another step of this rule.".into())
        }
    }

    fn go(&mut self, step: WizardStep) {
        self.step = step;
        self.page = 0;
    }

    /// Step 1. Choosing again (after Back) keeps destinations other than
    /// the new source.
    pub fn choose_source(&mut self, chat: TelegramChatId) -> Result<(), StepError> {
        self.at(WizardStep::Source)?;
        self.source = Some(chat);
        self.destinations.retain(|d| d.chat_id != chat);
        self.go(WizardStep::Destinations);
        Ok(())
    }

    /// Step 2, a button: selects or unselects; `true` when now selected.
    pub fn toggle_destination(&mut self, dest: Destination) -> Result<bool, StepError> {
        self.at(WizardStep::Destinations)?;
        if let Some(i) = self.destinations.iter().position(|d| *d == dest) {
            self.destinations.remove(i);
            return Ok(false);
        }
        self.add_destination(dest).map(|_| true)
    }

    /// Step 2, typed: selects (typing a selected one again changes nothing).
    pub fn add_destination(&mut self, dest: Destination) -> Result<(), StepError> {
        self.at(WizardStep::Destinations)?;
        if Some(dest.chat_id) == self.source {
            return Err("That is the source chat: a rule cannot forward a chat into itself.".into());
        }
        if self.destinations.contains(&dest) {
            return Ok(());
        }
        if self.destinations.len() >= MAX_DESTINATIONS {
            return Err(format!("A rule has at most {MAX_DESTINATIONS} destinations."));
        }
        self.destinations.push(dest);
        Ok(())
    }

    pub fn finish_destinations(&mut self) -> Result<(), StepError> {
        self.at(WizardStep::Destinations)?;
        if self.destinations.is_empty() {
            return Err("Choose at least one destination first.".into());
        }
        self.go(WizardStep::Mode);
        Ok(())
    }

    /// Step 3.
    pub fn choose_delivery(&mut self, delivery: DeliveryChoice) -> Result<(), StepError> {
        self.at(WizardStep::Mode)?;
        self.delivery = Some(delivery);
        self.go(WizardStep::Filters);
        Ok(())
    }

    /// Step 4: `rust, release notes, -draft` — words a post must contain
    /// (any of them), and with a leading `-` words it must not contain.
    pub fn set_keywords(&mut self, text: &str) -> Result<(), StepError> {
        self.at(WizardStep::Filters)?;
        let (mut include, mut exclude) = (vec![], vec![]);
        for word in text.split([',', '\n']).map(str::trim).filter(|w| !w.is_empty()) {
            match word.strip_prefix('-') {
                Some(w) if !w.trim().is_empty() => exclude.push(w.trim().to_string()),
                Some(_) => return Err("A lone '-' is not a word: write -word to exclude one.".into()),
                None => include.push(word.to_string()),
            }
        }
        if include.is_empty() && exclude.is_empty() {
            return Err("Send some words separated by commas, or tap Skip.".into());
        }
        // The same checks as the API's `filters`, with the same messages.
        FiltersSpec::from_json(&json!({"include": include, "exclude": exclude})).map_err(|e| e.to_string())?;
        (self.include, self.exclude) = (include, exclude);
        self.go(WizardStep::Confirm);
        Ok(())
    }

    pub fn skip_keywords(&mut self) -> Result<(), StepError> {
        self.at(WizardStep::Filters)?;
        (self.include, self.exclude) = (vec![], vec![]);
        self.go(WizardStep::Confirm);
        Ok(())
    }

    /// One step back; the answers given so far are kept.
    pub fn back(&mut self) -> Result<(), StepError> {
        let previous = self.step.previous().ok_or("This is the first step.")?;
        self.go(previous);
        Ok(())
    }

    /// The draft in the API's JSON form.
    pub fn to_json(&self) -> Value {
        let delivery = self.delivery.unwrap_or(DeliveryChoice::Copy);
        json!({
            "source_chat_id": self.source.map(TelegramChatId::get),
            "destinations": self.destinations,
            "mode": delivery.mode().as_str(),
            "fallback_to_copy": delivery == DeliveryChoice::ForwardOrCopy,
            "filters": {"include": self.include, "exclude": self.exclude},
            "enabled": true,
        })
    }

    /// The rule, once confirmed.
    pub fn build(&self) -> Result<ForwardRule, RuleError> {
        if self.step != WizardStep::Confirm {
            return Err(RuleError::new("draft", "is not finished"));
        }
        ForwardRule::from_json(self.rule_id.clone(), &self.to_json())
    }
}

/// What an admin types for a chat: `-1001234567890`, or with a forum topic
/// `-1001234567890:42` (destinations only).
pub fn parse_chat(text: &str, topics: bool) -> Result<Destination, StepError> {
    let text = text.trim();
    let (chat, thread) = match text.split_once(':') {
        Some((c, t)) if topics => (c.trim(), Some(t.trim())),
        Some(_) => return Err("A source is a whole chat: send its id without a topic.".into()),
        None => (text, None),
    };
    let chat = chat
        .parse::<i64>()
        .map_err(|_| {
            format!(
                "{chat:?} is not a chat id. Ids look like -1001234567890 (forward me a post from the chat to find it)."
            )
        })
        .and_then(|id| TelegramChatId::new(id).map_err(|e| format!("The chat id {e}.")))?;
    let thread_id = match thread {
        None => None,
        Some(t) => Some(
            t.parse::<i64>()
                .ok()
                .filter(|t| *t > 0)
                .ok_or_else(|| format!("{t:?} is not a forum topic id (a positive number)."))?,
        ),
    };
    Ok(Destination {
        chat_id: chat,
        thread_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(id: i64) -> TelegramChatId {
        TelegramChatId::new(id).unwrap()
    }

    fn dest(id: i64) -> Destination {
        Destination {
            chat_id: chat(id),
            thread_id: None,
        }
    }

    #[test]
    fn a_draft_walks_the_steps_and_builds_a_valid_rule() {
        let mut d = RuleDraft::new(10);
        d.choose_source(chat(-1001)).unwrap();
        assert_eq!(d.step, WizardStep::Destinations);
        assert!(d.toggle_destination(dest(-1002)).unwrap());
        assert!(d.toggle_destination(dest(-1003)).unwrap());
        assert!(!d.toggle_destination(dest(-1003)).unwrap(), "a second tap unselects");
        d.add_destination(parse_chat("-1004:7", true).unwrap()).unwrap();
        d.finish_destinations().unwrap();
        d.choose_delivery(DeliveryChoice::ForwardOrCopy).unwrap();
        d.set_keywords("Rust, release notes,\n-draft").unwrap();
        assert_eq!(
            (d.include.clone(), d.exclude.clone()),
            (
                vec!["Rust".to_string(), "release notes".into()],
                vec!["draft".to_string()]
            )
        );
        let rule = d.build().unwrap();
        assert_eq!(rule.id, d.rule_id);
        assert_eq!(rule.source_chat_id, chat(-1001));
        assert_eq!(
            rule.destinations,
            vec![
                dest(-1002),
                Destination {
                    chat_id: chat(-1004),
                    thread_id: Some(7)
                }
            ]
        );
        assert_eq!(
            (rule.mode, rule.fallback_to_copy, rule.enabled),
            (Mode::Forward, true, true)
        );
        assert_eq!(rule.filters.spec().exclude, vec!["draft"]);
    }

    #[test]
    fn each_step_refuses_what_would_make_a_bad_rule() {
        let mut d = RuleDraft::new(10);
        assert!(d.finish_destinations().is_err(), "not at that step yet");
        d.choose_source(chat(-1001)).unwrap();
        assert!(d.toggle_destination(dest(-1001)).unwrap_err().contains("source chat"));
        assert!(d.finish_destinations().unwrap_err().contains("at least one"));
        d.toggle_destination(dest(-1002)).unwrap();
        d.finish_destinations().unwrap();
        assert!(d.build().is_err(), "not confirmed yet");
        d.choose_delivery(DeliveryChoice::Copy).unwrap();
        assert!(d.set_keywords(" , ").unwrap_err().contains("Skip"));
        assert!(d.set_keywords("ok, -").unwrap_err().contains("lone"));
        assert!(d
            .set_keywords(&"x".repeat(501))
            .unwrap_err()
            .starts_with("filters.include[0]"));
        d.skip_keywords().unwrap();
        assert_eq!(d.step, WizardStep::Confirm);
    }

    #[test]
    fn back_keeps_answers_and_a_new_source_drops_itself_from_destinations() {
        let mut d = RuleDraft::new(10);
        assert!(d.back().is_err());
        d.choose_source(chat(-1001)).unwrap();
        d.toggle_destination(dest(-1002)).unwrap();
        d.toggle_destination(dest(-1003)).unwrap();
        d.back().unwrap();
        assert_eq!(d.step, WizardStep::Source);
        d.choose_source(chat(-1002)).unwrap();
        assert_eq!(d.destinations, vec![dest(-1003)]);
    }

    #[test]
    fn typed_chats_parse_or_say_what_is_wrong() {
        assert_eq!(parse_chat(" -1001234567890 ", false).unwrap(), dest(-1001234567890));
        assert!(parse_chat("-100123:4", false).unwrap_err().contains("without a topic"));
        assert!(parse_chat("@news", true).unwrap_err().contains("not a chat id"));
        assert!(parse_chat("0", true).unwrap_err().contains("not 0"));
        assert!(parse_chat("-100123:x", true).unwrap_err().contains("forum topic"));
    }

    #[test]
    fn drafts_survive_storage() {
        let mut d = RuleDraft::new(10);
        d.choose_source(chat(-1001)).unwrap();
        let back: RuleDraft = serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
        assert_eq!(back, d);
    }
}
