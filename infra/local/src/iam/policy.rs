//! IAM policy evaluation for one principal: identity-based statements only
//! (what a Lambda execution role has). An explicit `Deny` wins, then any
//! `Allow`; nothing matching is an implicit deny, as in AWS.

/// What AWS decided, and why (the reason picks the error message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No statement allows it.
    ImplicitDeny,
    /// A `Deny` statement matches.
    ExplicitDeny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One statement with resolved ARNs. Statements with `Condition`,
/// `NotAction`, `NotResource` or `Principal` are refused when loading (see
/// `from_json`), so nothing here is silently evaluated more loosely than AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub effect: Effect,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

impl Policy {
    pub fn decide(&self, action: &str, resource: &str) -> Decision {
        let action = action.to_ascii_lowercase();
        let hits: Vec<&Statement> = self
            .statements
            .iter()
            .filter(|s| {
                s.actions.iter().any(|a| wildcard(&a.to_ascii_lowercase(), &action))
                    && s.resources.iter().any(|r| wildcard(r, resource))
            })
            .collect();
        if hits.is_empty() {
            return Decision::ImplicitDeny;
        }
        if hits.iter().any(|s| s.effect == Effect::Deny) {
            Decision::ExplicitDeny
        } else {
            Decision::Allow
        }
    }

    /// Every action pattern the policy's `Allow` statements name.
    pub fn allowed_actions(&self) -> impl Iterator<Item = &str> {
        self.statements
            .iter()
            .filter(|s| s.effect == Effect::Allow)
            .flat_map(|s| s.actions.iter().map(String::as_str))
    }
}

/// `Action`/`Resource` may be one string or a list.
pub fn one_or_many(v: &serde_json::Value) -> Vec<serde_json::Value> {
    match v {
        serde_json::Value::Array(a) => a.clone(),
        serde_json::Value::Null => vec![],
        other => vec![other.clone()],
    }
}

impl Statement {
    /// A statement whose `Resource` entries were already resolved to strings
    /// by `resolve` (intrinsics → local ARNs).
    pub fn from_json(
        v: &serde_json::Value,
        resolve: &mut dyn FnMut(&serde_json::Value) -> Result<String, String>,
    ) -> Result<Self, String> {
        let obj = v.as_object().ok_or("a statement is not an object")?;
        for unsupported in ["Condition", "NotAction", "NotResource", "Principal", "NotPrincipal"] {
            if obj.contains_key(unsupported) {
                return Err(format!(
                    "statement uses {unsupported}, which the local IAM check does not evaluate"
                ));
            }
        }
        let effect = match obj.get("Effect").and_then(|e| e.as_str()) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => return Err(format!("statement Effect {other:?} is neither Allow nor Deny")),
        };
        let actions = one_or_many(obj.get("Action").unwrap_or(&serde_json::Value::Null))
            .iter()
            .map(|a| a.as_str().map(str::to_string).ok_or("an Action is not a string"))
            .collect::<Result<Vec<_>, _>>()?;
        let resources = one_or_many(obj.get("Resource").unwrap_or(&serde_json::Value::Null))
            .iter()
            .map(&mut *resolve)
            .collect::<Result<Vec<_>, _>>()?;
        if actions.is_empty() || resources.is_empty() {
            return Err("statement without Action or Resource".into());
        }
        Ok(Self {
            effect,
            actions,
            resources,
        })
    }
}

/// IAM's glob: `*` is any run of characters (including `/` and `:`), `?`
/// exactly one. Case-sensitive; callers lowercase actions.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(actions: &[&str], resources: &[&str]) -> Statement {
        Statement {
            effect: Effect::Allow,
            actions: actions.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
        }
    }

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/t";

    #[test]
    fn wildcards_match_any_run_or_one_character() {
        assert!(wildcard("a*c", "abbbc"));
        assert!(wildcard("a*c", "ac"));
        assert!(wildcard("*", ""));
        assert!(wildcard("a?c", "abc"));
        assert!(!wildcard("a?c", "ac"));
        assert!(!wildcard("a*c", "abcd"));
        assert!(wildcard("arn:*:table/t/index/*", &format!("{TABLE}/index/gsi1")));
        assert!(!wildcard("arn:*:table/t/index/*", TABLE));
        assert!(wildcard("*b*b*", "abcbd"));
    }

    #[test]
    fn actions_match_case_insensitively_and_by_wildcard() {
        let p = Policy {
            statements: vec![allow(&["sqs:SendMessage*", "dynamodb:getitem"], &["*"])],
        };
        assert_eq!(p.decide("sqs:SendMessage", "arn:q"), Decision::Allow);
        assert_eq!(p.decide("sqs:sendmessagebatch", "arn:q"), Decision::Allow);
        assert_eq!(p.decide("dynamodb:GetItem", TABLE), Decision::Allow);
        assert_eq!(p.decide("sqs:ReceiveMessage", "arn:q"), Decision::ImplicitDeny);
    }

    #[test]
    fn resources_are_exact_unless_wildcarded() {
        let index = format!("{TABLE}/index/*");
        let p = Policy {
            statements: vec![allow(&["dynamodb:Query"], &[TABLE, &index])],
        };
        assert_eq!(p.decide("dynamodb:Query", TABLE), Decision::Allow);
        assert_eq!(
            p.decide("dynamodb:Query", &format!("{TABLE}/index/gsi1")),
            Decision::Allow
        );
        assert_eq!(p.decide("dynamodb:Query", &format!("{TABLE}2")), Decision::ImplicitDeny);
        // Resource ARNs are case-sensitive.
        assert_eq!(
            p.decide("dynamodb:Query", &TABLE.to_uppercase()),
            Decision::ImplicitDeny
        );
        let table_only = Policy {
            statements: vec![allow(&["dynamodb:Query"], &[TABLE])],
        };
        assert_eq!(
            table_only.decide("dynamodb:Query", &format!("{TABLE}/index/gsi1")),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn an_explicit_deny_beats_any_allow() {
        let mut deny = allow(&["dynamodb:DeleteItem"], &[TABLE]);
        deny.effect = Effect::Deny;
        let p = Policy {
            statements: vec![allow(&["dynamodb:*"], &["*"]), deny],
        };
        assert_eq!(p.decide("dynamodb:PutItem", TABLE), Decision::Allow);
        assert_eq!(p.decide("dynamodb:DeleteItem", TABLE), Decision::ExplicitDeny);
    }

    #[test]
    fn statements_iam_features_not_evaluated_here_are_refused() {
        let mut id = |v: &serde_json::Value| Ok::<String, String>(v.as_str().unwrap_or_default().to_string());
        let ok = serde_json::json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"});
        let s = Statement::from_json(&ok, &mut id).unwrap();
        assert_eq!(s.actions, vec!["s3:GetObject"]);
        let cond = serde_json::json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}}});
        assert!(Statement::from_json(&cond, &mut id).unwrap_err().contains("Condition"));
        let not = serde_json::json!({"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"});
        assert!(Statement::from_json(&not, &mut id).is_err());
    }
}
