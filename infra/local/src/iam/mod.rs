//! IAM per function, as AWS enforces it. moto's own IAM mode ignores resource
//! ARNs (ARCHITECTURE.md §4), so the check is here: each function gets its
//! own credentials (the access key id names it, as a Lambda's calls are
//! attributed to its role) and an endpoint at `proxy`, which reads each
//! request's action and resources, checks them against that function's
//! policy and forwards allowed calls to the stand-in unchanged.
//!
//! The policies are the SAM transform's own output (`infra/policies.py`
//! runs aws-sam-translator), so policy templates expand exactly as on AWS;
//! their intrinsics resolve to the physical names the runner provisioned.

pub mod denied;
pub mod policy;
pub mod proxy;
pub mod request;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use crate::template::Resolver;
use policy::{Effect, Policy, Statement};

/// One function's execution role, as the stand-in's callers see it.
#[derive(Debug, Clone)]
pub struct Role {
    pub function: String,
    /// The role's name (SAM names it `<Function>Role`).
    pub role: String,
    pub policy: Policy,
}

/// The statements of the AWS managed policies SAM attaches (their published
/// documents): every function gets the basic one, SQS-triggered ones the
/// queue one, which is what lets the event source mapping poll.
fn managed(arn: &str) -> Result<Vec<Statement>, String> {
    let logs = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"];
    let sqs = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"];
    let actions: Vec<&str> = match arn.rsplit('/').next() {
        Some("AWSLambdaBasicExecutionRole") => logs.to_vec(),
        Some("AWSLambdaSQSQueueExecutionRole") => sqs.iter().chain(&logs).copied().collect(),
        _ => return Err(format!("managed policy {arn} is not known to the local IAM check")),
    };
    Ok(vec![Statement {
        effect: Effect::Allow,
        actions: actions.into_iter().map(str::to_string).collect(),
        resources: vec!["*".into()],
    }])
}

/// Every function's role, keyed by logical id, with ARNs resolved locally.
pub fn roles(template: &Path, resolver: &Resolver, prefix: &str) -> Result<BTreeMap<String, Role>, String> {
    let expanded = expanded(template)?;
    let functions = expanded.as_object().ok_or("policies.py did not print an object")?;
    let mut roles = BTreeMap::new();
    for (function, doc) in functions {
        let mut statements = Vec::new();
        for arn in policy::one_or_many(&doc["managed"]) {
            statements.extend(managed(&scalar(&arn, resolver)?)?);
        }
        for s in policy::one_or_many(&doc["statements"]) {
            let mut resolve = |v: &Value| scalar(v, resolver);
            statements.push(Statement::from_json(&s, &mut resolve).map_err(|e| format!("{function}: {e}"))?);
        }
        roles.insert(
            function.clone(),
            Role {
                function: format!("{prefix}{function}"),
                role: format!("{prefix}{function}Role"),
                policy: Policy { statements },
            },
        );
    }
    Ok(roles)
}

/// One string from a policy value, resolving the intrinsics the SAM
/// transform leaves: `Fn::Sub` with a variable map, `Fn::Select`,
/// `Fn::Split`, `Fn::Join`, and whatever `Resolver` knows (Ref, GetAtt, Sub, If).
fn scalar(v: &Value, r: &Resolver) -> Result<String, String> {
    let mut all = eval(v, r)?;
    match all.len() {
        1 => Ok(all.remove(0)),
        n => Err(format!("{v} is a list of {n} where one string is needed")),
    }
}

fn eval(v: &Value, r: &Resolver) -> Result<Vec<String>, String> {
    let arg = |name: &str| v.as_object().filter(|o| o.len() == 1).and_then(|o| o.get(name));
    let items = |a: &Value| a.as_array().cloned().unwrap_or_default();
    if let Some(a) = arg("Fn::Sub").filter(|a| a.is_array()) {
        let (text, vars) = (items(a).first().cloned(), items(a).get(1).cloned());
        let mut text = text
            .and_then(|t| t.as_str().map(str::to_string))
            .ok_or("Fn::Sub needs a string")?;
        for (name, value) in vars.as_ref().and_then(Value::as_object).into_iter().flatten() {
            text = text.replace(&format!("${{{name}}}"), &scalar(value, r)?);
        }
        return eval(&serde_json::json!({"Fn::Sub": text}), r);
    }
    if let Some(a) = arg("Fn::Split") {
        let (delim, s) = (items(a).first().cloned(), items(a).get(1).cloned());
        let delim = delim
            .and_then(|d| d.as_str().map(str::to_string))
            .ok_or("Fn::Split needs a delimiter")?;
        let s = scalar(&s.ok_or("Fn::Split needs a string")?, r)?;
        return Ok(s.split(delim.as_str()).map(str::to_string).collect());
    }
    if let Some(a) = arg("Fn::Select") {
        let (i, list) = (items(a).first().cloned(), items(a).get(1).cloned());
        let i: usize = i
            .and_then(|i| i.as_u64().or_else(|| i.as_str()?.parse().ok()))
            .ok_or("Fn::Select needs an index")? as usize;
        let list = eval(&list.ok_or("Fn::Select needs a list")?, r)?;
        return list
            .get(i)
            .cloned()
            .map(|s| vec![s])
            .ok_or_else(|| format!("Fn::Select index {i} out of range"));
    }
    if let Some(a) = arg("Fn::Join") {
        let (delim, list) = (items(a).first().cloned(), items(a).get(1).cloned());
        let delim = delim
            .and_then(|d| d.as_str().map(str::to_string))
            .ok_or("Fn::Join needs a delimiter")?;
        let parts = items(&list.unwrap_or_default())
            .iter()
            .map(|p| scalar(p, r))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(vec![parts.join(&delim)]);
    }
    if let Value::Array(list) = v {
        return list.iter().map(|x| scalar(x, r)).collect();
    }
    let yaml = serde_yaml::to_value(v).map_err(|e| e.to_string())?;
    r.resolve(&yaml)?
        .map(|s| vec![s])
        .ok_or_else(|| format!("{v} resolves to no value"))
}

/// `infra/policies.py`'s output for `template`, cached by content (the SAM
/// transform takes a second or two; tests start many stacks).
pub fn expanded(template: &Path) -> Result<Value, String> {
    static CACHE: OnceLock<Mutex<HashMap<String, Value>>> = OnceLock::new();
    let text = std::fs::read_to_string(template).map_err(|e| format!("cannot read {}: {e}", template.display()))?;
    let (python, script) = tools(template);
    let code = std::fs::read_to_string(&script).map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let key = lodge::crypto::sha256_hex(format!("{code}\0{text}").as_bytes());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().expect("cache lock").get(&key) {
        return Ok(v.clone());
    }
    let file = std::env::temp_dir().join(format!("lodge-iam-{}.json", &key[..24]));
    let value = match std::fs::read(&file).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
        Some(v) => v,
        None => {
            let out = std::process::Command::new(&python)
                .arg(&script)
                .arg(template)
                .env("AWS_DEFAULT_REGION", crate::REGION)
                .output()
                .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "expanding the template's IAM policies failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("policies.py: {e}"))?;
            // Written whole then renamed: a concurrent reader never sees half.
            let tmp = file.with_extension(format!("{}.tmp", std::process::id()));
            if std::fs::write(&tmp, &out.stdout).is_ok() {
                let _ = std::fs::rename(&tmp, &file);
            }
            v
        }
    };
    cache.lock().expect("cache lock").insert(key, value.clone());
    Ok(value)
}

/// The venv's python and the expansion script: `LODGE_VENV`/`LODGE_ROOT`
/// (set by the Makefile), else next to the template, else this clone.
fn tools(template: &Path) -> (PathBuf, PathBuf) {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = std::env::var_os("LODGE_ROOT")
        .map(PathBuf::from)
        .or_else(|| {
            let dir = template.parent()?;
            dir.join("infra/policies.py").exists().then(|| dir.to_path_buf())
        })
        .unwrap_or(here);
    let venv = std::env::var_os("LODGE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"));
    (venv.join("bin/python"), root.join("infra/policies.py"))
}
