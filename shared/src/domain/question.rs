//! A helpdesk question being asked in the bot (`/ask`, docs/helpdesk.md):
//! title → question → confirm, with Back at every step. Each step checks its
//! own input with the post's own types, so the member hears of a mistake at
//! the step that made it, and the confirmed draft is a `NewPost` of kind
//! `question` like one from the web's compose form.

use serde::{Deserialize, Serialize};

use super::new_post::{NewPost, PostContent};
use super::post::{PostBody, PostTitle, Visibility};
use super::post_id::PostId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AskStep {
    Title,
    Body,
    Confirm,
}

/// Why a step refused: a sentence for the member.
pub type AskError = String;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionDraft {
    pub step: AskStep,
    /// Stored as typed, trimmed and checked (`PostTitle`, `PostBody`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Fixed when the draft starts, so confirming twice (a double tap, a
    /// retried update) finds the post instead of making a second one.
    pub post_id: PostId,
    /// The bot's latest message of this draft: only its buttons act.
    pub message_id: i64,
}

impl QuestionDraft {
    pub fn new(post_id: PostId, message_id: i64) -> Self {
        Self {
            step: AskStep::Title,
            title: None,
            body: None,
            post_id,
            message_id,
        }
    }

    /// A text message at the current step.
    pub fn type_text(&mut self, text: &str) -> Result<(), AskError> {
        match self.step {
            AskStep::Title => {
                let title = PostTitle::parse(text).map_err(|e| format!("The title {}.", e.problem))?;
                self.title = Some(title.as_str().to_string());
                self.step = AskStep::Body;
            }
            AskStep::Body => {
                let body = PostBody::parse(text).map_err(|e| format!("The question {}.", e.problem))?;
                if body.is_empty() {
                    return Err("The question must not be empty.".into());
                }
                self.body = Some(body.as_str().to_string());
                self.step = AskStep::Confirm;
            }
            AskStep::Confirm => return Err("The question is ready: tap Post it, Back or Cancel.".into()),
        }
        Ok(())
    }

    /// One step back; what was typed there stays (and is shown) until replaced.
    pub fn back(&mut self) -> Result<(), AskError> {
        self.step = match self.step {
            AskStep::Title => return Err("This is the first step: /cancel stops the question.".into()),
            AskStep::Body => AskStep::Title,
            AskStep::Confirm => AskStep::Body,
        };
        Ok(())
    }

    /// The post to create: only a confirmed draft, re-checked whole.
    pub fn post(&self) -> Result<NewPost, AskError> {
        let (AskStep::Confirm, Some(title), Some(body)) = (self.step, &self.title, &self.body) else {
            return Err("The question is not finished yet.".into());
        };
        let title = PostTitle::parse(title).map_err(|e| e.to_string())?;
        let body = PostBody::parse(body).map_err(|e| e.to_string())?;
        Ok(NewPost {
            title,
            body,
            room: None,
            visibility: Visibility::Members,
            draft: false,
            content: PostContent::Question,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PostKind;

    fn draft() -> QuestionDraft {
        QuestionDraft::new(PostId::from_parts(1_796_169_600_000, 7), 10)
    }

    #[test]
    fn title_then_question_then_a_question_post() {
        let mut d = draft();
        assert!(d.post().is_err(), "not before it is confirmed");
        d.type_text("  Where   is the\nkey? ").unwrap();
        assert_eq!((d.step, d.title.as_deref()), (AskStep::Body, Some("Where is the key?")));
        d.type_text("The *office* one.").unwrap();
        assert_eq!(d.step, AskStep::Confirm);
        let post = d.post().unwrap();
        assert_eq!(post.kind(), PostKind::Question);
        assert_eq!(
            (post.title.as_str(), post.body.as_str(), post.draft, post.visibility),
            ("Where is the key?", "The *office* one.", false, Visibility::Members)
        );
        assert!(d.type_text("more").unwrap_err().contains("Post it"));
    }

    #[test]
    fn each_step_refuses_its_own_bad_input_and_keeps_the_draft() {
        let mut d = draft();
        let long = "x".repeat(129);
        assert_eq!(
            d.type_text(&long).unwrap_err(),
            "The title is too long (129 characters, at most 128)."
        );
        assert_eq!(d.type_text(" ").unwrap_err(), "The title must not be empty.");
        assert_eq!(d.step, AskStep::Title);
        d.type_text(&"y".repeat(128)).unwrap();
        assert_eq!(d.type_text("  \n ").unwrap_err(), "The question must not be empty.");
        assert_eq!(d.step, AskStep::Body);
    }

    #[test]
    fn back_goes_one_step_and_keeps_what_was_typed() {
        let mut d = draft();
        assert!(d.back().unwrap_err().contains("/cancel"));
        d.type_text("Old title").unwrap();
        d.back().unwrap();
        assert_eq!((d.step, d.title.as_deref()), (AskStep::Title, Some("Old title")));
        d.type_text("New title").unwrap();
        d.type_text("Body").unwrap();
        d.back().unwrap();
        assert_eq!(d.step, AskStep::Body);
        assert!(d.post().is_err());
        d.type_text("Better body").unwrap();
        assert_eq!(d.post().unwrap().body.as_str(), "Better body");
        assert_eq!(d.title.as_deref(), Some("New title"));
    }

    #[test]
    fn a_stored_draft_round_trips() {
        let mut d = draft();
        d.type_text("T").unwrap();
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(serde_json::from_str::<QuestionDraft>(&json).unwrap(), d);
    }
}
