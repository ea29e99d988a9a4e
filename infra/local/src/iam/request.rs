//! What an AWS request asks for, in IAM terms: the actions and resource ARNs
//! AWS authorises for it, read from the wire as the SDK sends it (JSON
//! protocols by `X-Amz-Target`, SESv2 and S3 by method and path).

use serde_json::Value;

use crate::{ACCOUNT, REGION};

/// The wire protocol, which decides the shape of the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// awsJson1_0: DynamoDB.
    DynamoDb,
    /// awsJson1_0 with awsQueryCompatible error codes: SQS.
    Sqs,
    /// restJson1: SESv2.
    SesV2,
    /// restXml: S3.
    S3,
}

/// One request: its operation and every (action, resource) AWS checks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub protocol: Protocol,
    pub operation: String,
    pub checks: Vec<(String, String)>,
}

pub struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub target: Option<&'a str>,
    /// The service of the SigV4 credential scope (`dynamodb`, `sqs`, `ses`, `s3`).
    pub service: Option<&'a str>,
    pub copy_source: Option<&'a str>,
    pub body: &'a [u8],
}

/// The access a request needs; `Err` for a request this check cannot read
/// (refused, rather than let through unchecked).
pub fn access(req: &Incoming) -> Result<Access, String> {
    match (req.target, req.service) {
        (Some(t), _) if t.starts_with("DynamoDB_") => dynamodb(op_of(t), req.body),
        (Some(t), _) if t.starts_with("AmazonSQS.") => sqs(op_of(t), req.body),
        (_, Some("ses")) => ses(req),
        (_, Some("s3")) => s3(req),
        (target, service) => Err(format!(
            "no IAM mapping for this request (target {target:?}, service {service:?}, {} {})",
            req.method, req.path
        )),
    }
}

fn op_of(target: &str) -> &str {
    target.rsplit('.').next().unwrap_or(target)
}

fn json(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("request body is not JSON: {e}"))
}

pub fn table_arn(name: &str) -> String {
    if name.starts_with("arn:") {
        name.to_string()
    } else {
        format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}")
    }
}

fn dynamodb(op: &str, body: &[u8]) -> Result<Access, String> {
    let body = json(body)?;
    let table = |v: &Value| -> Result<String, String> {
        v.get("TableName")
            .and_then(Value::as_str)
            .map(table_arn)
            .ok_or_else(|| format!("{op} without TableName"))
    };
    let action = |a: &str| format!("dynamodb:{a}");
    let checks = match op {
        // Batches are authorised once per table, under the batch's own action.
        "BatchWriteItem" | "BatchGetItem" => {
            let tables = body
                .get("RequestItems")
                .and_then(Value::as_object)
                .ok_or_else(|| format!("{op} without RequestItems"))?;
            tables.keys().map(|t| (action(op), table_arn(t))).collect()
        }
        // Transactions have no action of their own: each item is authorised
        // as the single-item call it stands for.
        "TransactWriteItems" | "TransactGetItems" => {
            let items = body
                .get("TransactItems")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("{op} without TransactItems"))?;
            let mut checks = Vec::new();
            for item in items {
                let (kind, inner) = item
                    .as_object()
                    .and_then(|o| o.iter().next())
                    .ok_or_else(|| format!("{op}: an empty item"))?;
                let single = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    "Get" => "GetItem",
                    other => return Err(format!("{op}: unknown item kind {other}")),
                };
                checks.push((action(single), table(inner)?));
            }
            checks
        }
        // Reads through an index are authorised on the index's ARN.
        "Query" | "Scan" => {
            let mut arn = table(&body)?;
            if let Some(index) = body.get("IndexName").and_then(Value::as_str) {
                arn = format!("{arn}/index/{index}");
            }
            vec![(action(op), arn)]
        }
        "ListTables" => vec![(action(op), "*".to_string())],
        _ => vec![(action(op), table(&body)?)],
    };
    Ok(Access {
        protocol: Protocol::DynamoDb,
        operation: op.to_string(),
        checks,
    })
}

/// `http://host/123456789012/name` → `arn:aws:sqs:<region>:123456789012:name`.
pub fn queue_arn(url: &str) -> Option<String> {
    let mut parts = url.trim_end_matches('/').rsplit('/');
    let name = parts.next()?;
    let account = parts.next()?;
    (!name.is_empty() && account.chars().all(|c| c.is_ascii_digit()) && !account.is_empty())
        .then(|| format!("arn:aws:sqs:{REGION}:{account}:{name}"))
}

fn sqs(op: &str, body: &[u8]) -> Result<Access, String> {
    let body = json(body)?;
    // Batch calls are authorised as their single-message action.
    let action = match op {
        "SendMessageBatch" => "SendMessage",
        "DeleteMessageBatch" => "DeleteMessage",
        "ChangeMessageVisibilityBatch" => "ChangeMessageVisibility",
        other => other,
    };
    let resource = match op {
        "ListQueues" => "*".to_string(),
        "GetQueueUrl" => {
            let name = body
                .get("QueueName")
                .and_then(Value::as_str)
                .ok_or("GetQueueUrl without QueueName")?;
            let account = body
                .get("QueueOwnerAWSAccountId")
                .and_then(Value::as_str)
                .unwrap_or(ACCOUNT);
            format!("arn:aws:sqs:{REGION}:{account}:{name}")
        }
        _ => body
            .get("QueueUrl")
            .and_then(Value::as_str)
            .and_then(queue_arn)
            .ok_or_else(|| format!("{op} without a QueueUrl"))?,
    };
    Ok(Access {
        protocol: Protocol::Sqs,
        operation: op.to_string(),
        checks: vec![(format!("sqs:{action}"), resource)],
    })
}

/// `Name <a@Example.org>` or `a@example.org` → `example.org`.
pub fn mail_domain(from: &str) -> Option<String> {
    let address = from.rsplit('<').next()?.trim_end_matches('>').trim();
    let (_, domain) = address.rsplit_once('@')?;
    (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

fn ses(req: &Incoming) -> Result<Access, String> {
    if !(req.method == "POST" && req.path == "/v2/email/outbound-emails") {
        return Err(format!("no IAM mapping for SES {} {}", req.method, req.path));
    }
    let body = json(req.body)?;
    let identity = match body.get("FromEmailAddressIdentityArn").and_then(Value::as_str) {
        Some(arn) => arn.to_string(),
        None => {
            let from = body
                .get("FromEmailAddress")
                .and_then(Value::as_str)
                .ok_or("SendEmail without FromEmailAddress")?;
            let domain = mail_domain(from).ok_or_else(|| format!("SendEmail: no domain in {from:?}"))?;
            format!("arn:aws:ses:{REGION}:{ACCOUNT}:identity/{domain}")
        }
    };
    let mut checks = vec![("ses:SendEmail".to_string(), identity)];
    if let Some(set) = body.get("ConfigurationSetName").and_then(Value::as_str) {
        checks.push((
            "ses:SendEmail".into(),
            format!("arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/{set}"),
        ));
    }
    Ok(Access {
        protocol: Protocol::SesV2,
        operation: "SendEmail".into(),
        checks,
    })
}

fn s3(req: &Incoming) -> Result<Access, String> {
    let path = req.path.trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) if !k.is_empty() => (b, Some(decode(k))),
        Some((b, _)) => (b, None),
        None => (path, None),
    };
    let params: Vec<String> = req
        .query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split('=').next().unwrap_or_default().to_string())
        .collect();
    let has = |p: &str| params.iter().any(|q| q == p);
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let (operation, checks): (&str, Vec<(&str, String)>) = match (req.method, key) {
        ("PUT", Some(k)) if req.copy_source.is_some() => {
            let source = decode(req.copy_source.unwrap_or_default().trim_start_matches('/'));
            let source = source.split('?').next().unwrap_or_default().to_string();
            (
                "CopyObject",
                vec![
                    ("s3:GetObject", format!("arn:aws:s3:::{source}")),
                    ("s3:PutObject", format!("{bucket_arn}/{k}")),
                ],
            )
        }
        ("PUT", Some(k)) if has("tagging") => (
            "PutObjectTagging",
            vec![("s3:PutObjectTagging", format!("{bucket_arn}/{k}"))],
        ),
        ("PUT", Some(k)) if has("acl") => ("PutObjectAcl", vec![("s3:PutObjectAcl", format!("{bucket_arn}/{k}"))]),
        // Single uploads and every step of a multipart upload.
        ("PUT" | "POST", Some(k)) if req.method == "PUT" || has("uploads") || has("uploadId") => {
            ("PutObject", vec![("s3:PutObject", format!("{bucket_arn}/{k}"))])
        }
        ("GET", Some(k)) if has("tagging") => (
            "GetObjectTagging",
            vec![("s3:GetObjectTagging", format!("{bucket_arn}/{k}"))],
        ),
        // HeadObject is authorised as GetObject.
        ("GET" | "HEAD", Some(k)) => ("GetObject", vec![("s3:GetObject", format!("{bucket_arn}/{k}"))]),
        ("DELETE", Some(k)) => ("DeleteObject", vec![("s3:DeleteObject", format!("{bucket_arn}/{k}"))]),
        ("GET", None) if has("location") => ("GetBucketLocation", vec![("s3:GetBucketLocation", bucket_arn)]),
        // ListObjects(V2) and HeadBucket.
        ("GET" | "HEAD", None) => ("ListBucket", vec![("s3:ListBucket", bucket_arn)]),
        (method, key) => {
            return Err(format!(
                "no IAM mapping for S3 {method} /{bucket}{} {:?}",
                key.map(|k| format!("/{k}")).unwrap_or_default(),
                req.query
            ))
        }
    };
    Ok(Access {
        protocol: Protocol::S3,
        operation: operation.to_string(),
        checks: checks.into_iter().map(|(a, r)| (a.to_string(), r)).collect(),
    })
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("k={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(target: Option<&'a str>, service: &'a str, body: &'a str) -> Incoming<'a> {
        Incoming {
            method: "POST",
            path: "/",
            query: None,
            target,
            service: Some(service),
            copy_source: None,
            body: body.as_bytes(),
        }
    }

    fn checks(a: Access) -> Vec<(String, String)> {
        a.checks
    }

    #[test]
    fn dynamodb_batches_check_each_table_and_transactions_each_item() {
        let batch = r#"{"RequestItems": {"t1": [], "t2": []}}"#;
        let a = access(&req(Some("DynamoDB_20120810.BatchWriteItem"), "dynamodb", batch)).unwrap();
        assert_eq!(
            checks(a),
            vec![
                ("dynamodb:BatchWriteItem".into(), table_arn("t1")),
                ("dynamodb:BatchWriteItem".into(), table_arn("t2"))
            ]
        );
        let tx = r#"{"TransactItems": [{"Put": {"TableName": "t"}}, {"ConditionCheck": {"TableName": "u"}},
            {"Delete": {"TableName": "t"}}, {"Update": {"TableName": "t"}}]}"#;
        let a = access(&req(Some("DynamoDB_20120810.TransactWriteItems"), "dynamodb", tx)).unwrap();
        let actions: Vec<_> = a.checks.iter().map(|(a, r)| format!("{a} {r}")).collect();
        assert_eq!(
            actions,
            [
                format!("dynamodb:PutItem {}", table_arn("t")),
                format!("dynamodb:ConditionCheckItem {}", table_arn("u")),
                format!("dynamodb:DeleteItem {}", table_arn("t")),
                format!("dynamodb:UpdateItem {}", table_arn("t")),
            ]
        );
    }

    #[test]
    fn dynamodb_index_reads_are_checked_on_the_index_arn() {
        let q = r#"{"TableName": "t", "IndexName": "gsi1"}"#;
        let a = access(&req(Some("DynamoDB_20120810.Query"), "dynamodb", q)).unwrap();
        assert_eq!(
            checks(a),
            vec![("dynamodb:Query".into(), format!("{}/index/gsi1", table_arn("t")))]
        );
        let g = r#"{"TableName": "t", "Key": {}}"#;
        let a = access(&req(Some("DynamoDB_20120810.GetItem"), "dynamodb", g)).unwrap();
        assert_eq!(checks(a), vec![("dynamodb:GetItem".into(), table_arn("t"))]);
    }

    #[test]
    fn sqs_batches_are_their_single_action_on_the_queue_arn() {
        let body = r#"{"QueueUrl": "http://127.0.0.1:5000/123456789012/q.fifo", "Entries": []}"#;
        let a = access(&req(Some("AmazonSQS.DeleteMessageBatch"), "sqs", body)).unwrap();
        assert_eq!(a.protocol, Protocol::Sqs);
        assert_eq!(
            checks(a),
            vec![(
                "sqs:DeleteMessage".into(),
                "arn:aws:sqs:us-east-1:123456789012:q.fifo".into()
            )]
        );
        assert!(access(&req(Some("AmazonSQS.SendMessage"), "sqs", "{}")).is_err());
    }

    #[test]
    fn ses_sends_are_checked_on_the_from_domain_and_configuration_set() {
        let mut r = req(
            None,
            "ses",
            r#"{"FromEmailAddress": "Lodge <no-reply@Lodge.Local>", "ConfigurationSetName": "c"}"#,
        );
        r.path = "/v2/email/outbound-emails";
        let a = access(&r).unwrap();
        assert_eq!(
            checks(a),
            vec![
                (
                    "ses:SendEmail".into(),
                    "arn:aws:ses:us-east-1:123456789012:identity/lodge.local".into()
                ),
                (
                    "ses:SendEmail".into(),
                    "arn:aws:ses:us-east-1:123456789012:configuration-set/c".into()
                ),
            ]
        );
    }

    #[test]
    fn s3_objects_by_method_and_path() {
        let mut r = req(None, "s3", "");
        r.method = "PUT";
        r.path = "/b/exports/a%20b.json";
        assert_eq!(
            checks(access(&r).unwrap()),
            vec![("s3:PutObject".into(), "arn:aws:s3:::b/exports/a b.json".into())]
        );
        r.method = "HEAD";
        assert_eq!(access(&r).unwrap().checks[0].0, "s3:GetObject");
        r.method = "GET";
        r.path = "/b";
        r.query = Some("list-type=2&prefix=x");
        assert_eq!(
            checks(access(&r).unwrap()),
            vec![("s3:ListBucket".into(), "arn:aws:s3:::b".into())]
        );
        r.method = "POST";
        r.query = Some("delete");
        assert!(access(&r).is_err(), "an unmapped request is refused, not let through");
    }
}
