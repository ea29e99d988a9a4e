//! The error AWS answers a refused call with, in each protocol's own format,
//! so the SDK surfaces it exactly as it would on AWS (`AccessDeniedException`
//! for DynamoDB and SESv2, code `AccessDenied` for SQS and S3).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use super::policy::Decision;
use super::request::Protocol;

/// The principal a function's calls run as: its execution role's session.
pub fn principal(role: &str, function: &str) -> String {
    format!("arn:aws:sts::{}:assumed-role/{role}/{function}", crate::ACCOUNT)
}

/// IAM's sentence, as the services word it.
pub fn message(protocol: Protocol, principal: &str, action: &str, resource: &str, why: Decision) -> String {
    // SQS reports the action in lower case.
    let action = match protocol {
        Protocol::Sqs => action.to_ascii_lowercase(),
        _ => action.to_string(),
    };
    let reason = match why {
        Decision::ExplicitDeny => "with an explicit deny in an identity-based policy".to_string(),
        _ => format!("because no identity-based policy allows the {action} action"),
    };
    let resource = match protocol {
        Protocol::S3 => format!("\"{resource}\""),
        _ => resource.to_string(),
    };
    format!("User: {principal} is not authorized to perform: {action} on resource: {resource} {reason}")
}

pub fn response(protocol: Protocol, message: &str, head_only: bool) -> Response {
    let request_id = lodge::crypto::random_token(16);
    let (status, content_type, body, extra): (StatusCode, &str, String, Option<(&str, &str)>) = match protocol {
        Protocol::DynamoDb => (
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.0",
            serde_json::json!({"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message})
                .to_string(),
            None,
        ),
        Protocol::Sqs => (
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.0",
            serde_json::json!({"__type": "com.amazon.coral.service#AccessDeniedException", "message": message})
                .to_string(),
            Some(("x-amzn-query-error", "AccessDenied;Sender")),
        ),
        Protocol::SesV2 => (
            StatusCode::FORBIDDEN,
            "application/json",
            serde_json::json!({"message": message}).to_string(),
            Some(("x-amzn-errortype", "AccessDeniedException")),
        ),
        Protocol::S3 => (
            StatusCode::FORBIDDEN,
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>{}</Message>\
                 <RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>",
                xml_escape(message)
            ),
            None,
        ),
    };
    let mut r = Response::new(if head_only { Body::empty() } else { Body::from(body) });
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static(content_type));
    h.insert(
        "x-amzn-requestid",
        HeaderValue::from_str(&request_id).unwrap_or(HeaderValue::from_static("local")),
    );
    if let Some((k, v)) = extra {
        h.insert(k, HeaderValue::from_static(v));
    }
    r
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_each_services_wording() {
        let p = principal("r", "f");
        assert_eq!(
            message(
                Protocol::DynamoDb,
                &p,
                "dynamodb:BatchWriteItem",
                "arn:t",
                Decision::ImplicitDeny
            ),
            "User: arn:aws:sts::123456789012:assumed-role/r/f is not authorized to perform: \
             dynamodb:BatchWriteItem on resource: arn:t because no identity-based policy allows the \
             dynamodb:BatchWriteItem action"
        );
        assert!(
            message(Protocol::Sqs, &p, "sqs:SendMessage", "arn:q", Decision::ImplicitDeny)
                .contains("perform: sqs:sendmessage on")
        );
        assert!(message(
            Protocol::S3,
            &p,
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            Decision::ExplicitDeny
        )
        .ends_with("resource: \"arn:aws:s3:::b/k\" with an explicit deny in an identity-based policy"));
    }
}
