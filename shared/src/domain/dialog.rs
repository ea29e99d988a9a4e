//! The admin-defined dialog tree: every node has a text; its children appear
//! as reply-keyboard buttons; Back and Restart are always there.
//!
//! Imported as YAML or JSON (JSON is YAML), validated as a whole, stored as
//! one item. Example:
//!
//! ```yaml
//! commands: [menu]            # optional: commands besides /start that enter the tree
//! root:
//!   text: Hello! What would you like to know?
//!   children:
//!     - label: What is Lodge?
//!       text: A private, invite-only community.
//!     - label: How do I join?
//!       id: join              # optional stable id (default: the path, e.g. root/2; children: join/1)
//!       text: Ask a member for an invite.
//!       children:
//!         - label: I have an invite
//!           text: Open the link in it and write a short intro.
//! ```

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// The two buttons every dialog keyboard ends with.
pub const BACK: &str = "⬅️ Back";
pub const RESTART: &str = "🔄 Restart";

pub const MAX_NODES: usize = 500;
pub const MAX_DEPTH: usize = 12;
pub const MAX_LABEL: usize = 64;
/// A Telegram message holds 4096 characters.
pub const MAX_TEXT: usize = 4096;
pub const ROOT_ID: &str = "root";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialogTree {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    pub root: Node,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Filled in by `parse` when absent (the node's path), so always set after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The button leading here (the root has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Node>,
}

impl Node {
    pub fn id(&self) -> &str {
        self.id.as_deref().unwrap_or(ROOT_ID)
    }

    pub fn labels(&self) -> Vec<&str> {
        self.children.iter().filter_map(|c| c.label.as_deref()).collect()
    }
}

/// What an input did.
#[derive(Debug, PartialEq)]
pub enum DialogMove<'a> {
    Descend(&'a Node),
    Back(&'a Node),
    Restart(&'a Node),
    /// Matched no button: stay here, show a hint.
    Unknown(&'a Node),
}

impl DialogMove<'_> {
    pub fn node(&self) -> &Node {
        match self {
            DialogMove::Descend(n) | DialogMove::Back(n) | DialogMove::Restart(n) | DialogMove::Unknown(n) => n,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            DialogMove::Descend(_) => "descend",
            DialogMove::Back(_) => "back",
            DialogMove::Restart(_) => "restart",
            DialogMove::Unknown(_) => "unknown",
        }
    }
}

impl DialogTree {
    /// Parses YAML or JSON and checks the whole tree; every problem is listed
    /// with the path of its node.
    pub fn parse(text: &str) -> Result<Self, Vec<String>> {
        let mut tree: DialogTree = serde_yaml::from_str(text).map_err(|e| vec![format!("not a dialog tree: {e}")])?;
        let mut problems = Vec::new();
        let mut ids = HashSet::new();
        let mut count = 0;
        tree.root.label = None;
        check(&mut tree.root, ROOT_ID, 0, &mut ids, &mut count, &mut problems);
        if count > MAX_NODES {
            problems.push(format!("the tree has {count} nodes; at most {MAX_NODES} are allowed"));
        }
        for c in &mut tree.commands {
            *c = c.trim().trim_start_matches('/').to_lowercase();
            if c.is_empty()
                || c.len() > 32
                || !c
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                problems.push(format!("commands: {c:?} is not a bot command (1-32 of a-z 0-9 _)"));
            } else if ["start", "help", "me", "whois", "invite"].contains(&c.as_str()) {
                problems.push(format!("commands: /{c} is one of the bot's own commands"));
            }
        }
        if problems.is_empty() {
            Ok(tree)
        } else {
            Err(problems)
        }
    }

    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_default()
    }

    fn index(&self) -> HashMap<&str, (&Node, Option<&Node>)> {
        let mut map = HashMap::new();
        fn walk<'a>(n: &'a Node, parent: Option<&'a Node>, map: &mut HashMap<&'a str, (&'a Node, Option<&'a Node>)>) {
            map.insert(n.id(), (n, parent));
            for c in &n.children {
                walk(c, Some(n), map);
            }
        }
        walk(&self.root, None, &mut map);
        map
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.index().get(id).map(|(n, _)| *n)
    }

    /// Where `input` leads from node `at` (the root when `at` is unknown,
    /// e.g. after the tree was replaced).
    pub fn step(&self, at: Option<&str>, input: &str) -> DialogMove<'_> {
        let index = self.index();
        let (here, parent) = at.and_then(|id| index.get(id).copied()).unwrap_or((&self.root, None));
        let input = input.trim();
        if input == RESTART || input.eq_ignore_ascii_case("restart") {
            return DialogMove::Restart(&self.root);
        }
        if input == BACK || input.eq_ignore_ascii_case("back") {
            return DialogMove::Back(parent.unwrap_or(&self.root));
        }
        match here.children.iter().find(|c| {
            c.label
                .as_deref()
                .is_some_and(|l| l == input || l.eq_ignore_ascii_case(input))
        }) {
            Some(child) => DialogMove::Descend(child),
            None => DialogMove::Unknown(here),
        }
    }

    pub fn enters_on(&self, command: &str) -> bool {
        command == "start" || self.commands.iter().any(|c| c == command)
    }
}

fn check(
    node: &mut Node,
    path: &str,
    depth: usize,
    ids: &mut HashSet<String>,
    count: &mut usize,
    problems: &mut Vec<String>,
) {
    *count += 1;
    let id = match node.id.take() {
        Some(id) if depth == 0 && id != ROOT_ID => {
            problems.push(format!("{path}: the root's id is always {ROOT_ID:?}"));
            ROOT_ID.to_string()
        }
        Some(id) => id.trim().to_string(),
        None => path.to_string(),
    };
    if id.is_empty() || id.len() > 64 {
        problems.push(format!("{path}: id must be 1-64 characters"));
    }
    if !ids.insert(id.clone()) {
        problems.push(format!("{path}: id {id:?} is used twice"));
    }
    node.id = Some(id);
    node.text = node.text.trim().to_string();
    if node.text.is_empty() {
        problems.push(format!("{path}: text is empty"));
    }
    if node.text.chars().count() > MAX_TEXT {
        problems.push(format!("{path}: text is longer than {MAX_TEXT} characters"));
    }
    if depth >= MAX_DEPTH && !node.children.is_empty() {
        problems.push(format!("{path}: the tree is deeper than {MAX_DEPTH} levels"));
        return;
    }
    let mut labels = HashSet::new();
    let parent_id = node.id.clone();
    for (i, child) in node.children.iter_mut().enumerate() {
        // Paths continue from the parent's id, so an explicit id roots its subtree.
        let child_path = format!("{}/{}", parent_id.as_deref().unwrap_or(path), i + 1);
        match child.label.as_mut().map(|l| {
            *l = l.trim().to_string();
            l.clone()
        }) {
            None => problems.push(format!("{child_path}: label is missing")),
            Some(l) if l.is_empty() || l.chars().count() > MAX_LABEL => {
                problems.push(format!("{child_path}: label must be 1-{MAX_LABEL} characters"))
            }
            Some(l)
                if [BACK, RESTART].contains(&l.as_str())
                    || l.eq_ignore_ascii_case("back")
                    || l.eq_ignore_ascii_case("restart")
                    || l.starts_with('/') =>
            {
                problems.push(format!("{child_path}: label {l:?} is reserved"))
            }
            Some(l) if !labels.insert(l.to_lowercase()) => {
                problems.push(format!("{child_path}: label {l:?} is used twice here"))
            }
            Some(_) => {}
        }
        check(child, &child_path, depth + 1, ids, count, problems);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "
root:
  text: Hello
  children:
    - label: What is Lodge?
      text: A club.
    - label: How do I join?
      id: join
      text: Ask a member.
      children:
        - label: I have an invite
          text: Open it.
";

    #[test]
    fn parses_assigns_ids_and_navigates() {
        let t = DialogTree::parse(YAML).unwrap();
        assert_eq!(t.root.children[0].id(), "root/1");
        assert_eq!(t.step(None, "how do i join?").kind(), "descend");
        assert_eq!(t.step(None, "How do I join?").node().id(), "join");
        assert_eq!(t.step(Some("join"), "I have an invite").node().id(), "join/1");
        assert_eq!(t.step(Some("join/1"), BACK), DialogMove::Back(t.node("join").unwrap()));
        assert_eq!(t.step(Some("join/1"), RESTART).node().id(), "root");
        assert_eq!(t.step(Some("join"), "pizza").kind(), "unknown");
        assert_eq!(t.step(Some("gone"), "What is Lodge?").node().id(), "root/1");
        // Round trip through JSON and YAML.
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(DialogTree::parse(&json).unwrap(), t);
        assert_eq!(DialogTree::parse(&t.to_yaml()).unwrap(), t);
    }

    #[test]
    fn lists_every_problem() {
        let bad = "
commands: [start, 'Bad Cmd']
root:
  text: ''
  children:
    - label: A
      text: x
    - label: a
      text: y
    - text: z
    - label: Back
      id: root/1
      text: w
";
        let problems = DialogTree::parse(bad).unwrap_err();
        let all = problems.join("\n");
        for expect in [
            "root: text is empty",
            "root/2: label \"a\" is used twice",
            "root/3: label is missing",
            "root/4: label \"Back\" is reserved",
            "root/4: id \"root/1\" is used twice",
            "/start is one of",
            "not a bot command",
        ] {
            assert!(all.contains(expect), "{expect} in\n{all}");
        }
        assert!(DialogTree::parse("root: [1]").is_err());
        assert!(DialogTree::parse("root: {text: x, extra: 1}").is_err());
    }
}
