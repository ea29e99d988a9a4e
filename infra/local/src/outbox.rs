//! Emails "sent" through the SES stand-in, read back from moto for people
//! (`/_local/outbox.html`) and tests (`/_local/outbox`).
//!
//! moto keeps only the HTML part of a multipart message and none of its
//! headers. So the IAM check, which every function's SES call passes
//! through, records each accepted `SendEmail` request by the message id
//! SES answered (`record`), and the outbox joins that to moto's list: each
//! email then shows its headers, text part, Reply-To and configuration set
//! exactly as the SDK sent them. (Calls that bypass the check, e.g. through
//! a test's fault proxy, show moto's fields only.)

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::Serialize;

/// What a function's `SendEmail` carried beyond moto's record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SentParts {
    pub headers: BTreeMap<String, String>,
    pub text: Option<String>,
    pub reply_to: Vec<String>,
    pub configuration_set: Option<String>,
}

/// SES message id → what was sent.
pub type SentMail = Arc<Mutex<HashMap<String, SentParts>>>;

/// Notes one accepted SESv2 `SendEmail` (its JSON request and response).
pub fn record(sent: &SentMail, request: &[u8], response: &[u8]) {
    let (Ok(req), Ok(resp)) = (
        serde_json::from_slice::<serde_json::Value>(request),
        serde_json::from_slice::<serde_json::Value>(response),
    ) else {
        return;
    };
    let Some(id) = resp["MessageId"].as_str() else {
        return;
    };
    let simple = &req["Content"]["Simple"];
    let parts = SentParts {
        headers: simple["Headers"]
            .as_array()
            .map(|hs| {
                hs.iter()
                    .filter_map(|h| Some((h["Name"].as_str()?.to_string(), h["Value"].as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        text: simple["Body"]["Text"]["Data"].as_str().map(str::to_string),
        reply_to: req["ReplyToAddresses"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        configuration_set: req["ConfigurationSetName"].as_str().map(str::to_string),
    };
    sent.lock().expect("sent mail lock").insert(id.to_string(), parts);
}

#[derive(Debug, Clone, Serialize)]
pub struct OutboxEmail {
    pub id: String,
    pub to: Vec<String>,
    pub from: String,
    pub subject: String,
    /// What SES stored (moto keeps the HTML part of a multipart message).
    pub body: String,
    pub sent_at: String,
    /// Custom headers as sent (`List-Unsubscribe`, …).
    pub headers: BTreeMap<String, String>,
    /// The text part as sent.
    pub text: Option<String>,
    pub reply_to: Vec<String>,
    pub configuration_set: Option<String>,
}

pub struct Outbox {
    moto_url: String,
    client: reqwest::Client,
    /// moto records no send time: we note when we first saw each message.
    first_seen: Mutex<HashMap<String, (usize, i64)>>,
    sent: SentMail,
}

impl Outbox {
    pub fn new(moto_url: &str) -> Self {
        Self::with_sent(moto_url, SentMail::default())
    }

    /// An outbox that adds what `sent` recorded to each email.
    pub fn with_sent(moto_url: &str, sent: SentMail) -> Self {
        Self {
            moto_url: moto_url.to_string(),
            client: reqwest::Client::new(),
            first_seen: Mutex::new(HashMap::new()),
            sent,
        }
    }

    /// moto's `data.json` snapshots live state and can fail while other
    /// requests mutate it, so a failed read is retried a few times.
    async fn snapshot(&self) -> Result<serde_json::Value, String> {
        let mut last = String::new();
        for attempt in 0..8 {
            let result = async {
                let r = self
                    .client
                    .get(format!("{}/moto-api/data.json", self.moto_url))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !r.status().is_success() {
                    return Err(format!("moto answered {}", r.status()));
                }
                r.json::<serde_json::Value>().await.map_err(|e| e.to_string())
            }
            .await;
            match result {
                Ok(v) => return Ok(v),
                Err(e) => last = e,
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 * (attempt + 1))).await;
        }
        Err(last)
    }

    pub async fn list(&self) -> Result<Vec<OutboxEmail>, String> {
        let data = self.snapshot().await?;
        let messages = data["ses"]["Message"].as_array().cloned().unwrap_or_default();
        let now = lodge::clock::Clock::now(&lodge::clock::SystemClock);
        let mut seen = self.first_seen.lock().expect("outbox lock");
        let sent = self.sent.lock().expect("sent mail lock");
        let mut out = Vec::new();
        for m in messages {
            let id = m["id"].as_str().unwrap_or_default().to_string();
            let next = seen.len();
            let (order, at) = *seen.entry(id.clone()).or_insert((next, now));
            let to = m["destinations"]["ToAddresses"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let parts = sent.get(&id).cloned().unwrap_or_default();
            out.push((
                order,
                OutboxEmail {
                    id,
                    to,
                    from: m["source"].as_str().unwrap_or_default().to_string(),
                    subject: m["subject"].as_str().unwrap_or_default().to_string(),
                    body: m["body"].as_str().unwrap_or_default().to_string(),
                    sent_at: lodge::clock::rfc3339(at),
                    headers: parts.headers,
                    text: parts.text,
                    reply_to: parts.reply_to,
                    configuration_set: parts.configuration_set,
                },
            ));
        }
        out.sort_by_key(|(order, _)| *order);
        Ok(out.into_iter().map(|(_, m)| m).collect())
    }
}

pub fn render_html(mails: &[OutboxEmail]) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut page = String::from(
        "<!doctype html><meta charset=utf-8><title>Local outbox · Lodge</title>\
         <style>body{font:15px system-ui;margin:2rem auto;max-width:52rem}article{border:1px solid #ddd;border-radius:8px;margin:1rem 0;padding:1rem}\
         iframe{width:100%;height:22rem;border:1px solid #eee}</style><h1>Local outbox</h1>\
         <p>Emails sent through the local SES stand-in, newest first. Refresh to update.</p>",
    );
    if mails.is_empty() {
        page.push_str("<p><em>No emails yet.</em></p>");
    }
    for m in mails.iter().rev() {
        let headers: String = m
            .headers
            .iter()
            .map(|(k, v)| format!("{}: {}\n", esc(k), esc(v)))
            .collect();
        let text = m
            .text
            .as_deref()
            .map(|t| format!("<details><summary>Text part</summary><pre>{}</pre></details>", esc(t)))
            .unwrap_or_default();
        page.push_str(&format!(
            "<article><p><strong>{}</strong><br>To: {} · {}</p>{}<iframe sandbox srcdoc=\"{}\"></iframe>{}</article>",
            esc(&m.subject),
            esc(&m.to.join(", ")),
            esc(&m.sent_at),
            if headers.is_empty() {
                String::new()
            } else {
                format!("<pre>{headers}</pre>")
            },
            esc(&m.body),
            text
        ));
    }
    page
}
