//! The archive of weekly issues, for approved members.

use askama::Template;
use http::StatusCode;
use lodge::config::AppUrl;
use lodge::digest::render::{self, Section};
use lodge::domain::digest::IssueId;
use lodge::store::digests::{IssueRecord, IssueStatus};
use lodge::web::{self, Ctx, Layout, Reply, WebError};

use crate::State;

#[derive(Template)]
#[template(path = "digests.html")]
struct ListPage {
    layout: Layout,
    issues: Vec<IssueRecord>,
}

#[derive(Template)]
#[template(path = "digest_issue.html")]
pub(crate) struct IssuePage<'a> {
    pub(crate) layout: Layout,
    pub(crate) id: &'a str,
    pub(crate) note_html: Option<&'a str>,
    pub(crate) sections: Vec<Section>,
}

pub async fn list(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let issues = state.store.digests().issues().await?;
    if ctx.wants_json {
        let list: Vec<_> = issues
            .iter()
            .map(|i| serde_json::json!({"id": i.id, "planned_at": i.planned_at, "recipients": i.recipients}))
            .collect();
        return Ok(web::json(StatusCode::OK, &serde_json::json!({ "issues": list })));
    }
    web::page(
        StatusCode::OK,
        ListPage {
            layout: v.layout("Digests"),
            issues,
        },
    )
}

pub async fn issue(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let id = ctx.path_param("id", IssueId::parse)?;
    let record = state.store.digests().issue(&id).await?;
    let Some(content) = record
        .filter(|r| r.status == IssueStatus::Planned)
        .and_then(|r| r.content)
    else {
        return Err(WebError::not_found());
    };
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &serde_json::json!({"id": id, "content": content}),
        ));
    }
    web::page(
        StatusCode::OK,
        IssuePage {
            layout: v.layout(id.to_string()),
            id: id.as_str(),
            note_html: content.note_html.as_deref(),
            sections: render::sections(app, &content, None),
        },
    )
}
