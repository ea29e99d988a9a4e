//! `GET/PUT /api/admin/dialog` (the tree as JSON or YAML) and
//! `POST /api/admin/dialog/export` (the interaction log as CSV in S3).

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use lambda_http::http::StatusCode;
use lodge::store::dialog::interactions_csv;
use lodge::telegram::dialog::DialogTree;
use lodge::web::{self, Ctx, Reply, WebError};
use serde_json::json;

use crate::State;

/// How long an export's download link works.
pub const EXPORT_LINK_SECS: u64 = 15 * 60;

fn wants_yaml(ctx: &Ctx) -> bool {
    ctx.query_param("format") == Some("yaml") || ctx.header("accept").is_some_and(|a| a.contains("yaml"))
}

pub async fn export_tree(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    state.sessions.require_admin(ctx).await?;
    let stored = state.store.dialog().tree().await?.ok_or_else(|| {
        WebError::new(
            StatusCode::NOT_FOUND,
            "no_dialog",
            "No dialog tree has been imported yet.",
        )
    })?;
    if wants_yaml(ctx) {
        return Ok(lambda_http::Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/yaml; charset=utf-8")
            .body(lambda_http::Body::Text(stored.tree.to_yaml()))
            .expect("static headers"));
    }
    Ok(web::json(StatusCode::OK, &stored.tree))
}

pub async fn import_tree(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_admin(ctx).await?;
    let text = std::str::from_utf8(&ctx.body).map_err(|_| WebError::bad_request("The body is not UTF-8 text."))?;
    if text.trim().is_empty() {
        return Err(WebError::bad_request(
            "Send the dialog tree as YAML or JSON in the body.",
        ));
    }
    let tree = DialogTree::parse(text).map_err(|problems| WebError::invalid(problems.join("; ")))?;
    state
        .store
        .dialog()
        .put_tree(&tree, &v.member.id, state.clock.now())
        .await?;
    let nodes = count(&tree.root);
    tracing::info!(member = %v.member.id, nodes, "dialog tree imported");
    Ok(web::json(StatusCode::OK, &json!({"status": "saved", "nodes": nodes})))
}

fn count(n: &lodge::telegram::dialog::Node) -> usize {
    1 + n.children.iter().map(count).sum::<usize>()
}

pub async fn export_log(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_admin(ctx).await?;
    let entries = state.store.dialog().interactions().await?;
    let now = state.clock.now();
    let key = format!(
        "exports/dialog-log-{}-{}.csv",
        lodge::clock::rfc3339(now).replace(':', ""),
        lodge::crypto::random_token(6)
    );
    state
        .s3
        .put_object()
        .bucket(&state.bucket)
        .key(&key)
        .content_type("text/csv; charset=utf-8")
        .content_disposition("attachment; filename=\"dialog-log.csv\"")
        .body(interactions_csv(&entries).into_bytes().into())
        .send()
        .await
        .map_err(|e| WebError::unavailable("file storage", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    let presign = PresigningConfig::expires_in(Duration::from_secs(EXPORT_LINK_SECS)).map_err(WebError::internal)?;
    let url = state
        .s3
        .get_object()
        .bucket(&state.bucket)
        .key(&key)
        .presigned(presign)
        .await
        .map_err(|e| WebError::unavailable("file storage", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    tracing::info!(member = %v.member.id, rows = entries.len(), "dialog log exported");
    Ok(web::json(
        StatusCode::OK,
        &json!({"url": url.uri(), "rows": entries.len(), "expires_in": EXPORT_LINK_SECS}),
    ))
}
