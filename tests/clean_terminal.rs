//! A normal scan prints graftscan's own words only: no driver noise (Mesa's
//! device-select layer printed libwayland's "error: XDG_RUNTIME_DIR is
//! invalid or not set" while wgpu enumerated adapters), and files picked up
//! from the batch folder are notes, not warnings.

use std::path::Path;
use std::process::Command;

#[test]
fn demo_scan_stderr_has_no_error_and_folder_files_are_notes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .arg("scan")
        .arg(root.join("data/demo"))
        .arg("--out")
        .arg(dir.path().join("out"))
        // As a user runs it: wgpu picks its backends itself.
        .env_remove("WGPU_BACKEND")
        .env_remove("NODEVICE_SELECT")
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.to_lowercase().contains("error"),
        "stderr mentions an error:\n{stderr}"
    );
    assert!(stderr.contains("note: using panel.tsv"), "{stderr}");
    assert!(!stderr.contains("warning: using"), "{stderr}");
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/run.json")).unwrap()).unwrap();
    let notes = run["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(run["warnings"].as_array().unwrap().iter().all(|w| {
        !w.as_str()
            .unwrap_or("")
            .contains("found in the batch folder")
    }));
}
