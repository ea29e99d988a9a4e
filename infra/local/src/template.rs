//! Reads `template.yaml`: functions with their triggers and environment, and
//! the tables, queues and buckets to create. The runner derives everything
//! from here, so the local stack cannot drift from what `sam deploy` creates.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_yaml::Value;

#[derive(Debug, Clone)]
pub struct Template {
    pub parameters: BTreeMap<String, Option<String>>,
    pub conditions: BTreeMap<String, Value>,
    pub global_env: Vec<(String, Value)>,
    pub resources: BTreeMap<String, Resource>,
    pub functions: Vec<FunctionSpec>,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: String,
    pub properties: Value,
}

#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// The cargo binary (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    pub env: Vec<(String, Value)>,
    pub routes: Vec<Route>,
    pub queues: Vec<QueueTrigger>,
    pub schedules: Vec<String>,
    /// SNS topics (logical ids) that invoke the function.
    pub topics: Vec<String>,
    /// `Timeout` (the function's, else `Globals.Function`'s, else Lambda's 3 s).
    pub timeout: Duration,
}

/// Lambda's default when neither the function nor `Globals` sets `Timeout`.
pub const DEFAULT_TIMEOUT_SECS: u64 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
}

impl Route {
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

#[derive(Debug, Clone)]
pub struct QueueTrigger {
    /// Logical id of the queue resource.
    pub queue: String,
    pub batch_size: i32,
    pub reports_failures: bool,
    /// `ScalingConfig.MaximumConcurrency`: how many batches may be in flight.
    pub max_concurrency: Option<i32>,
    /// `MaximumBatchingWindowInSeconds`: how long to gather a batch (0: send what one receive got).
    pub batching_window: Duration,
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let doc: Value = serde_yaml::from_str(text).map_err(|e| format!("template.yaml is not valid YAML: {e}"))?;
        let map = |v: Option<&Value>| v.and_then(Value::as_mapping).cloned().unwrap_or_default();
        let parameters = map(doc.get("Parameters"))
            .into_iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.get("Default").and_then(scalar))))
            .collect();
        let conditions = map(doc.get("Conditions"))
            .into_iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v)))
            .collect();
        let env_of = |v: Option<&Value>| -> Vec<(String, Value)> {
            map(v.and_then(|v| v.get("Environment")).and_then(|e| e.get("Variables")))
                .into_iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v)))
                .collect()
        };
        let globals = doc.get("Globals").and_then(|g| g.get("Function"));
        let global_env = env_of(globals);
        let global_timeout = globals.and_then(|g| g.get("Timeout")).and_then(Value::as_u64);
        let mut resources = BTreeMap::new();
        let mut functions = Vec::new();
        for (id, res) in map(doc.get("Resources")) {
            let id = id.as_str().ok_or("resource id is not a string")?.to_string();
            let kind = res.get("Type").and_then(Value::as_str).unwrap_or_default().to_string();
            let properties = res.get("Properties").cloned().unwrap_or(Value::Null);
            if kind == "AWS::Serverless::Function" {
                let mut spec = function_spec(&id, &res, env_of(Some(&properties)))?;
                let secs = properties.get("Timeout").and_then(Value::as_u64).or(global_timeout);
                spec.timeout = Duration::from_secs(secs.unwrap_or(DEFAULT_TIMEOUT_SECS));
                functions.push(spec);
            }
            resources.insert(id, Resource { kind, properties });
        }
        Ok(Self {
            parameters,
            conditions,
            global_env,
            resources,
            functions,
        })
    }

    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a String, &'a Resource)> + 'a {
        self.resources.iter().filter(move |(_, r)| r.kind == kind)
    }

    pub fn routes(&self) -> impl Iterator<Item = (&FunctionSpec, &Route)> {
        self.functions.iter().flat_map(|f| f.routes.iter().map(move |r| (f, r)))
    }
}

fn function_spec(id: &str, res: &Value, env: Vec<(String, Value)>) -> Result<FunctionSpec, String> {
    let binary = res
        .get("Metadata")
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| b.get("Binary"))
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{id}: Metadata.BuildProperties.Binary is missing"))?
        .to_string();
    let mut spec = FunctionSpec {
        logical_id: id.into(),
        binary,
        env,
        routes: vec![],
        queues: vec![],
        schedules: vec![],
        topics: vec![],
        timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
    };
    let events = res
        .get("Properties")
        .and_then(|p| p.get("Events"))
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    for (name, event) in events {
        let props = event.get("Properties").cloned().unwrap_or(Value::Null);
        let str_prop = |k: &str| props.get(k).and_then(Value::as_str).map(str::to_string);
        match event.get("Type").and_then(Value::as_str) {
            Some("HttpApi") => spec.routes.push(Route {
                method: str_prop("Method")
                    .ok_or_else(|| format!("{id}.{name:?}: HttpApi event without Method"))?
                    .to_uppercase(),
                path: str_prop("Path").ok_or_else(|| format!("{id}.{name:?}: HttpApi event without Path"))?,
            }),
            Some("SQS") => spec.queues.push(QueueTrigger {
                queue: props
                    .get("Queue")
                    .and_then(logical_target)
                    .ok_or_else(|| format!("{id}: SQS event Queue must be !GetAtt Q.Arn"))?,
                batch_size: props.get("BatchSize").and_then(Value::as_i64).unwrap_or(10) as i32,
                reports_failures: props
                    .get("FunctionResponseTypes")
                    .and_then(Value::as_sequence)
                    .is_some_and(|s| s.iter().any(|v| v.as_str() == Some("ReportBatchItemFailures"))),
                max_concurrency: props
                    .get("ScalingConfig")
                    .and_then(|c| c.get("MaximumConcurrency"))
                    .and_then(Value::as_i64)
                    .map(|n| n as i32),
                batching_window: Duration::from_secs(
                    props
                        .get("MaximumBatchingWindowInSeconds")
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                ),
            }),
            Some("Schedule" | "ScheduleV2") => spec.schedules.push(str_prop("ScheduleExpression").unwrap_or_default()),
            // Run on demand: `POST /_local/sns/{function}` with the SNS event.
            Some("SNS") => spec.topics.push(
                props
                    .get("Topic")
                    .and_then(logical_target)
                    .ok_or_else(|| format!("{id}: SNS event Topic must be !Ref T"))?,
            ),
            other => {
                return Err(format!(
                    "{id}: event type {other:?} is not supported by the local runner"
                ))
            }
        }
    }
    Ok(spec)
}

/// `!GetAtt Q.Arn` / `!Ref Q` → `Q`.
fn logical_target(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "!GetAtt" => {
            t.value.as_str().and_then(|s| s.split('.').next()).map(str::to_string)
        }
        Value::Tagged(t) if t.tag == "!Ref" => t.value.as_str().map(str::to_string),
        Value::Mapping(m) => m
            .get("Fn::GetAtt")
            .and_then(|v| v.as_sequence()?.first()?.as_str().map(str::to_string))
            .or_else(|| m.get("Ref").and_then(Value::as_str).map(str::to_string)),
        _ => None,
    }
}

pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What a `!Ref` / `!GetAtt` of each resource means locally.
#[derive(Debug, Default, Clone)]
pub struct Physical {
    /// Logical id → value of `!Ref`.
    pub refs: BTreeMap<String, String>,
    /// `Logical.Attr` → value of `!GetAtt`.
    pub attrs: BTreeMap<String, String>,
}

/// Resolves intrinsic functions the way CloudFormation would, against local
/// parameter values, physical resources and local secrets.
pub struct Resolver<'a> {
    pub template: &'a Template,
    pub params: &'a BTreeMap<String, String>,
    pub physical: &'a Physical,
    /// `{{resolve:secretsmanager:…:SecretString:<key>}}` → value by key.
    pub secrets: &'a BTreeMap<String, String>,
}

impl Resolver<'_> {
    pub fn resolve(&self, v: &Value) -> Result<Option<String>, String> {
        match v {
            Value::Tagged(t) => self.intrinsic(&t.tag.to_string(), &t.value),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, inner) = m.iter().next().expect("len 1");
                let name = k.as_str().unwrap_or_default();
                let tag = match name {
                    "Ref" => "!Ref".to_string(),
                    n if n.starts_with("Fn::") => format!("!{}", &n[4..]),
                    _ => return Err(format!("unsupported value {v:?}")),
                };
                self.intrinsic(&tag, inner)
            }
            other => Ok(scalar(other).map(|s| self.dynamic_refs(&s)).transpose()?),
        }
    }

    fn intrinsic(&self, tag: &str, arg: &Value) -> Result<Option<String>, String> {
        match tag {
            "!Ref" => {
                let name = arg.as_str().ok_or("!Ref needs a name")?;
                if name == "AWS::NoValue" {
                    return Ok(None);
                }
                self.reference(name).map(Some)
            }
            "!GetAtt" => {
                let path = match arg {
                    Value::Sequence(s) => s.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("."),
                    other => other.as_str().unwrap_or_default().to_string(),
                };
                self.attribute(&path).map(Some)
            }
            "!Sub" => {
                let text = match arg {
                    Value::Sequence(s) => s.first().and_then(Value::as_str).unwrap_or_default(),
                    other => other.as_str().unwrap_or_default(),
                };
                self.substitute(text).and_then(|s| self.dynamic_refs(&s)).map(Some)
            }
            "!If" => {
                let seq = arg.as_sequence().ok_or("!If needs [condition, then, else]")?;
                let cond = seq
                    .first()
                    .and_then(Value::as_str)
                    .ok_or("!If needs a condition name")?;
                let branch = if self.condition(cond)? { seq.get(1) } else { seq.get(2) };
                branch.map(|b| self.resolve(b)).transpose().map(Option::flatten)
            }
            other => Err(format!("intrinsic {other} is not supported by the local runner")),
        }
    }

    fn reference(&self, name: &str) -> Result<String, String> {
        if let Some(p) = self.params.get(name) {
            return Ok(p.clone());
        }
        if let Some(r) = self.physical.refs.get(name) {
            return Ok(r.clone());
        }
        match name {
            "AWS::Region" => Ok(crate::REGION.into()),
            "AWS::AccountId" => Ok(crate::ACCOUNT.into()),
            "AWS::Partition" => Ok("aws".into()),
            "AWS::URLSuffix" => Ok("amazonaws.com".into()),
            "AWS::StackName" => Ok("lodge-local".into()),
            _ => Err(format!("!Ref {name}: no such parameter or resource")),
        }
    }

    fn attribute(&self, path: &str) -> Result<String, String> {
        self.physical
            .attrs
            .get(path)
            .cloned()
            .ok_or_else(|| format!("!GetAtt {path}: not available locally"))
    }

    fn substitute(&self, text: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {text:?}"))?
                + start;
            let name = &rest[start + 2..end];
            out.push_str(&if name.contains('.') {
                self.attribute(name)?
            } else {
                self.reference(name)?
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `{{resolve:secretsmanager:NAME:SecretString:KEY}}` → the local secret `KEY`.
    fn dynamic_refs(&self, s: &str) -> Result<String, String> {
        let Some(start) = s.find("{{resolve:") else {
            return Ok(s.to_string());
        };
        let end = s[start..].find("}}").ok_or("unclosed {{resolve:")? + start;
        let parts: Vec<&str> = s[start + 2..end].split(':').collect();
        let key = match parts.as_slice() {
            ["resolve", "secretsmanager", _name, "SecretString", key, ..] => *key,
            _ => {
                return Err(format!(
                    "dynamic reference {:?} is not supported locally",
                    &s[start..end + 2]
                ))
            }
        };
        let value = self
            .secrets
            .get(key)
            .ok_or_else(|| format!("no local value for secret key {key}"))?;
        Ok(format!("{}{}{}", &s[..start], value, self.dynamic_refs(&s[end + 2..])?))
    }

    pub fn condition(&self, name: &str) -> Result<bool, String> {
        let c = self
            .template
            .conditions
            .get(name)
            .ok_or_else(|| format!("no condition {name}"))?;
        self.eval(c)
    }

    fn eval(&self, v: &Value) -> Result<bool, String> {
        let (tag, arg) = match v {
            Value::Tagged(t) => (t.tag.to_string(), &t.value),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, a) = m.iter().next().expect("len 1");
                (
                    format!("!{}", k.as_str().unwrap_or_default().trim_start_matches("Fn::")),
                    a,
                )
            }
            _ => return Err(format!("bad condition {v:?}")),
        };
        let items = || arg.as_sequence().cloned().unwrap_or_default();
        match tag.as_str() {
            "!Not" => Ok(!self.eval(items().first().ok_or("!Not needs one item")?)?),
            "!And" => items().iter().try_fold(true, |acc, c| Ok(acc && self.eval(c)?)),
            "!Or" => items().iter().try_fold(false, |acc, c| Ok(acc || self.eval(c)?)),
            "!Equals" => {
                let it = items();
                let a = it.first().map(|v| self.resolve(v)).transpose()?.flatten();
                let b = it.get(1).map(|v| self.resolve(v)).transpose()?.flatten();
                Ok(a == b)
            }
            "!Condition" => self.condition(arg.as_str().unwrap_or_default()),
            other => Err(format!("condition function {other} is not supported")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = r#"
Parameters:
  AppUrl: {Type: String, Default: ''}
  Secrets: {Type: String, Default: lodge/dev}
Conditions:
  HasAppUrl: !Not [!Equals [!Ref AppUrl, '']]
Globals:
  Function:
    Timeout: 10
    Environment:
      Variables:
        URL: !If [HasAppUrl, !Ref AppUrl, !Sub 'https://${Api}.example']
Resources:
  Q: {Type: AWS::SQS::Queue}
  F:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: f}}
    Properties:
      Timeout: 60
      Environment:
        Variables:
          QUEUE: !Ref Q
          ARN: !GetAtt Q.Arn
          KEY: !Sub '{{resolve:secretsmanager:${Secrets}:SecretString:k}}'
      Events:
        A: {Type: HttpApi, Properties: {Path: '/x/{id}', Method: get}}
        B: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn, BatchSize: 5, FunctionResponseTypes: [ReportBatchItemFailures], ScalingConfig: {MaximumConcurrency: 4}, MaximumBatchingWindowInSeconds: 2}}
  G:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: g}}
"#;

    #[test]
    fn reads_functions_and_resolves_intrinsics() {
        let t = Template::parse(T).unwrap();
        let f = &t.functions[0];
        assert_eq!(f.binary, "f");
        assert_eq!(
            f.routes,
            vec![Route {
                method: "GET".into(),
                path: "/x/{id}".into()
            }]
        );
        assert_eq!(
            (
                f.queues[0].queue.as_str(),
                f.queues[0].batch_size,
                f.queues[0].reports_failures
            ),
            ("Q", 5, true)
        );
        assert_eq!(f.queues[0].max_concurrency, Some(4));
        assert_eq!(f.queues[0].batching_window, Duration::from_secs(2));
        assert_eq!(f.timeout, Duration::from_secs(60), "the function's own Timeout wins");
        assert_eq!(t.functions[1].timeout, Duration::from_secs(10), "else Globals'");
        let bare = Template::parse(
            "Resources: {H: {Type: AWS::Serverless::Function, Metadata: {BuildProperties: {Binary: h}}}}",
        )
        .unwrap();
        assert_eq!(bare.functions[0].timeout, Duration::from_secs(DEFAULT_TIMEOUT_SECS));
        let mut physical = Physical::default();
        physical.refs.insert("Q".into(), "http://q".into());
        physical.refs.insert("Api".into(), "local".into());
        physical.attrs.insert("Q.Arn".into(), "arn:q".into());
        let secrets = [("k".to_string(), "s3cret".to_string())].into();
        let mut params: BTreeMap<String, String> = [
            ("AppUrl".to_string(), String::new()),
            ("Secrets".into(), "lodge/dev".into()),
        ]
        .into();
        let r = Resolver {
            template: &t,
            params: &params,
            physical: &physical,
            secrets: &secrets,
        };
        let get = |r: &Resolver, env: &[(String, Value)], k: &str| {
            r.resolve(&env.iter().find(|(n, _)| n == k).unwrap().1).unwrap()
        };
        assert_eq!(get(&r, &f.env, "QUEUE").as_deref(), Some("http://q"));
        assert_eq!(get(&r, &f.env, "ARN").as_deref(), Some("arn:q"));
        assert_eq!(get(&r, &f.env, "KEY").as_deref(), Some("s3cret"));
        assert_eq!(get(&r, &t.global_env, "URL").as_deref(), Some("https://local.example"));
        params.insert("AppUrl".into(), "http://127.0.0.1:3000".into());
        let r = Resolver {
            template: &t,
            params: &params,
            physical: &physical,
            secrets: &secrets,
        };
        assert_eq!(get(&r, &t.global_env, "URL").as_deref(), Some("http://127.0.0.1:3000"));
    }
}
