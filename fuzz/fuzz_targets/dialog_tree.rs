//! The admin's dialog tree import (`PUT /api/admin/dialog`): YAML or JSON
//! text into `DialogTree::parse`. A tree that parses must keep its bounds,
//! re-import from its own YAML and JSON exports unchanged, and navigate.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use lodge::telegram::dialog::{DialogMove, DialogTree, Node, MAX_DEPTH, MAX_NODES};

fuzz_target!(|data: &[u8]| {
    // The import refuses non-UTF-8 bodies before parsing.
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(tree) = DialogTree::parse(text) else { return };

    let mut ids = HashSet::new();
    let count = walk(&tree.root, 0, &mut ids);
    assert!(count <= MAX_NODES, "{count} nodes");
    assert_eq!(tree.root.id(), "root");

    let yaml = tree.to_yaml();
    assert_eq!(
        DialogTree::parse(&yaml).as_ref(),
        Ok(&tree),
        "the YAML export does not re-import:\n{yaml}"
    );
    let json = serde_json::to_string(&tree).expect("trees serialise");
    assert_eq!(
        DialogTree::parse(&json).as_ref(),
        Ok(&tree),
        "the JSON export does not re-import:\n{json}"
    );

    // Every button leads to its child, and Back from there returns here.
    let mut at = vec![&tree.root];
    while let Some(node) = at.pop() {
        for child in &node.children {
            let label = child.label.as_deref().expect("children have labels");
            match tree.step(Some(node.id()), label) {
                DialogMove::Descend(n) => assert_eq!(n.id(), child.id()),
                other => panic!("{label:?} from {} went {}", node.id(), other.kind()),
            }
            assert_eq!(tree.step(Some(child.id()), "back").node().id(), node.id());
            at.push(child);
        }
    }
    for c in &tree.commands {
        assert!(tree.enters_on(c));
    }
});

fn walk<'a>(n: &'a Node, depth: usize, ids: &mut HashSet<&'a str>) -> usize {
    assert!(depth <= MAX_DEPTH);
    assert!(ids.insert(n.id()), "id {:?} twice", n.id());
    assert!(!n.text.is_empty());
    1 + n.children.iter().map(|c| walk(c, depth + 1, ids)).sum::<usize>()
}
