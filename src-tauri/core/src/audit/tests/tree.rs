//! The report's file tree (`tree.rs`): cut by depth and by entries per directory.

use super::*;

#[test]
fn the_tree_is_cut_by_depth_and_by_entries_per_directory() {
    let mut many = Layer::new().dir("many");
    for i in 0..60 {
        many = many.file(&format!("many/f{i:02}"), 100 + i);
    }
    let report = audit_layers(&[many.file("a/b/c/d/e/f/deep", 7).tar()]);
    let root = &report.tree;
    assert_eq!((root.name.as_str(), root.files), ("/", 61));
    assert_eq!(root.bytes, (100..160).sum::<u64>() + 7);

    let many = root
        .children
        .iter()
        .find(|c| c.name == "many")
        .expect("many");
    assert_eq!(many.children.len(), 50);
    assert_eq!(many.children.first().map(|c| c.name.as_str()), Some("f59"));
    assert_eq!(
        many.other,
        Some(OtherEntries {
            entries: 10,
            bytes: (100..110).sum(),
            files: 10
        })
    );

    let mut node = root.children.iter().find(|c| c.name == "a").expect("a");
    let mut names = vec![node.name.clone()];
    while let Some(child) = node.children.first() {
        node = child;
        names.push(node.name.clone());
    }
    assert_eq!(names, vec!["a", "b", "c", "d"]);
    assert_eq!((node.bytes, node.files), (7, 1));
    assert_eq!(
        node.other,
        Some(OtherEntries {
            entries: 1,
            bytes: 7,
            files: 1
        })
    );
}
