//! Creates what `template.yaml` declares — tables, queues (DLQs first),
//! buckets, the SES identity — and records what their `!Ref`/`!GetAtt` mean.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;

use crate::template::{scalar, Physical, Resolver, Template};
use crate::{ACCOUNT, REGION};

pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub s3: aws_sdk_s3::Client,
    pub ses: aws_sdk_sesv2::Client,
}

/// SQS's `VisibilityTimeout` when a queue does not set one.
pub const SQS_DEFAULT_VISIBILITY_SECS: u32 = 30;

/// The one knob for quicker retries locally: every queue's *default*
/// visibility timeout (the template's, else SQS's 30 s) is multiplied by
/// `LODGE_VISIBILITY_SCALE` at creation, rounded up to whole seconds. A
/// visibility that code sets (`ChangeMessageVisibility`) is never scaled.
pub const VISIBILITY_SCALE_VAR: &str = "LODGE_VISIBILITY_SCALE";

/// `LODGE_VISIBILITY_SCALE` if set, else `default`.
pub fn visibility_scale(default: f64) -> Result<f64, String> {
    match std::env::var(VISIBILITY_SCALE_VAR) {
        Ok(v) => match v.parse::<f64>() {
            Ok(f) if f > 0.0 && f <= 1.0 => Ok(f),
            _ => Err(format!("{VISIBILITY_SCALE_VAR} must be a number in (0, 1], not {v:?}")),
        },
        Err(_) => Ok(default),
    }
}

/// A queue's visibility timeout after scaling: whole seconds, at least 1.
pub fn scaled_visibility(secs: u32, scale: f64) -> u32 {
    if secs == 0 {
        return 0;
    }
    ((secs as f64 * scale).ceil() as u32).clamp(1, secs)
}

fn err(what: &str, e: impl std::fmt::Debug) -> String {
    format!("creating {what}: {e:?}")
}

pub async fn provision(
    template: &Template,
    clients: &Clients,
    prefix: &str,
    params: &std::collections::BTreeMap<String, String>,
    visibility_scale: f64,
) -> Result<Physical, String> {
    let mut physical = Physical::default();
    for (id, res) in &template.resources {
        // Resources without a local stand-in still get a name for !Ref.
        physical.refs.insert(id.clone(), format!("{prefix}{id}"));
        if res.kind == "AWS::Serverless::HttpApi" {
            physical.refs.insert(id.clone(), "local".into());
        }
    }
    for (id, res) in template.of_kind("AWS::DynamoDB::Table") {
        let name = format!("{prefix}{id}");
        create_table(&clients.dynamodb, &name, &res.properties).await?;
        physical.refs.insert(id.clone(), name.clone());
        physical.attrs.insert(
            format!("{id}.Arn"),
            format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"),
        );
    }
    for (id, _) in template.of_kind("AWS::S3::Bucket") {
        let name = format!("{prefix}{id}").to_lowercase();
        match clients.s3.create_bucket().bucket(&name).send().await {
            Ok(_) => {}
            Err(e) if format!("{e:?}").contains("BucketAlready") => {}
            Err(e) => return Err(err(&name, e)),
        }
        physical.refs.insert(id.clone(), name.clone());
        physical
            .attrs
            .insert(format!("{id}.Arn"), format!("arn:aws:s3:::{name}"));
    }
    // Queues in dependency order: a queue's redrive target must exist first.
    let mut pending: Vec<_> = template.of_kind("AWS::SQS::Queue").collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut next = Vec::new();
        for (id, res) in pending {
            let resolver = Resolver {
                template,
                params,
                physical: &physical,
                secrets: &Default::default(),
            };
            match queue_attributes(&resolver, &res.properties, visibility_scale) {
                Ok(attrs) => {
                    let fifo = res
                        .properties
                        .get("FifoQueue")
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    let name = format!("{prefix}{id}{}", if fifo { ".fifo" } else { "" });
                    let out = clients
                        .sqs
                        .create_queue()
                        .queue_name(&name)
                        .set_attributes(Some(attrs))
                        .send()
                        .await
                        .map_err(|e| err(&name, e))?;
                    physical.refs.insert(id.clone(), out.queue_url.unwrap_or_default());
                    physical
                        .attrs
                        .insert(format!("{id}.Arn"), format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"));
                    physical.attrs.insert(format!("{id}.QueueName"), name);
                }
                Err(_) => next.push((id, res)),
            }
        }
        if next.len() == before {
            return Err(format!(
                "queues with unresolvable properties: {:?}",
                next.iter().map(|(id, _)| id).collect::<Vec<_>>()
            ));
        }
        pending = next;
    }
    Ok(physical)
}

async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str, props: &Value) -> Result<(), String> {
    let key_schema = |v: Option<&Value>| -> Vec<KeySchemaElement> {
        v.and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|k| {
                KeySchemaElement::builder()
                    .attribute_name(k.get("AttributeName")?.as_str()?)
                    .key_type(KeyType::from(k.get("KeyType")?.as_str()?))
                    .build()
                    .ok()
            })
            .collect()
    };
    let attrs: Vec<AttributeDefinition> = props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            AttributeDefinition::builder()
                .attribute_name(a.get("AttributeName")?.as_str()?)
                .attribute_type(ScalarAttributeType::from(a.get("AttributeType")?.as_str()?))
                .build()
                .ok()
        })
        .collect();
    let gsis: Vec<GlobalSecondaryIndex> = props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|g| {
            let projection = g
                .get("Projection")
                .and_then(|p| p.get("ProjectionType"))
                .and_then(Value::as_str)
                .unwrap_or("ALL");
            GlobalSecondaryIndex::builder()
                .index_name(g.get("IndexName")?.as_str()?)
                .set_key_schema(Some(key_schema(g.get("KeySchema"))))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(projection))
                        .build(),
                )
                .build()
                .ok()
        })
        .collect();
    let billing = props
        .get("BillingMode")
        .and_then(Value::as_str)
        .unwrap_or("PAY_PER_REQUEST");
    let result = client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attrs))
        .set_key_schema(Some(key_schema(props.get("KeySchema"))))
        .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
        .billing_mode(BillingMode::from(billing))
        .send()
        .await;
    match result {
        Ok(_) => {}
        Err(e) if format!("{e:?}").contains("ResourceInUse") => return Ok(()),
        Err(e) => return Err(err(name, e)),
    }
    if let Some(ttl) = props.get("TimeToLiveSpecification") {
        if ttl.get("Enabled").and_then(Value::as_bool) == Some(true) {
            let attr = ttl.get("AttributeName").and_then(Value::as_str).unwrap_or("expires_at");
            client
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attr)
                        .enabled(true)
                        .build()
                        .map_err(|e| err(name, e))?,
                )
                .send()
                .await
                .map_err(|e| err(name, e))?;
        }
    }
    Ok(())
}

fn queue_attributes(
    r: &Resolver,
    props: &Value,
    visibility_scale: f64,
) -> Result<std::collections::HashMap<QueueAttributeName, String>, String> {
    let mut attrs = std::collections::HashMap::new();
    let visibility = match props.get("VisibilityTimeout").and_then(scalar) {
        Some(v) => v
            .parse()
            .map_err(|_| format!("VisibilityTimeout {v:?} is not a number"))?,
        None => SQS_DEFAULT_VISIBILITY_SECS,
    };
    attrs.insert(
        QueueAttributeName::VisibilityTimeout,
        scaled_visibility(visibility, visibility_scale).to_string(),
    );
    let simple = [
        ("MessageRetentionPeriod", QueueAttributeName::MessageRetentionPeriod),
        ("DelaySeconds", QueueAttributeName::DelaySeconds),
        (
            "ReceiveMessageWaitTimeSeconds",
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
        ),
        ("FifoQueue", QueueAttributeName::FifoQueue),
        (
            "ContentBasedDeduplication",
            QueueAttributeName::ContentBasedDeduplication,
        ),
    ];
    for (prop, name) in simple {
        if let Some(v) = props.get(prop).and_then(scalar) {
            attrs.insert(name, v);
        }
    }
    if let Some(rp) = props.get("RedrivePolicy") {
        let target = rp
            .get("deadLetterTargetArn")
            .ok_or("RedrivePolicy without deadLetterTargetArn")?;
        let arn = r.resolve(target)?.ok_or("empty deadLetterTargetArn")?;
        let max = rp.get("maxReceiveCount").and_then(scalar).unwrap_or_else(|| "5".into());
        attrs.insert(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max.parse::<u32>().unwrap_or(5)})
                .to_string(),
        );
    }
    Ok(attrs)
}

/// SES refuses to send from an unverified identity; moto too. Verify the
/// sender's domain (on AWS the deployer does this once, see the README's “Deploy”).
pub async fn verify_sender(ses: &aws_sdk_sesv2::Client, mail_from: &str) -> Result<(), String> {
    let address = mail_from
        .rsplit('<')
        .next()
        .unwrap_or(mail_from)
        .trim_end_matches('>')
        .trim();
    let domain = address.rsplit('@').next().unwrap_or(address);
    match ses.create_email_identity().email_identity(domain).send().await {
        Ok(_) => Ok(()),
        Err(e) if format!("{e:?}").contains("AlreadyExists") => Ok(()),
        Err(e) => Err(err("SES identity", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_default_visibility_to_whole_seconds() {
        assert_eq!(scaled_visibility(360, 1.0), 360);
        assert_eq!(scaled_visibility(360, 0.05), 18);
        assert_eq!(scaled_visibility(60, 0.05), 3);
        assert_eq!(
            scaled_visibility(30, 0.001),
            1,
            "never 0: that would hand a message out twice at once"
        );
        assert_eq!(scaled_visibility(0, 0.5), 0, "a queue that asks for 0 keeps it");
    }
}
