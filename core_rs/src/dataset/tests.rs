use super::*;
use crate::storage::connections::ConnectionBatch;
use crate::storage::tokens::{TokenBatch, TokenUpdate};
use crate::storage::Policy;

fn sample(n: usize) -> RuntimeStorage {
    let rt = RuntimeStorage::new();
    let coords: Vec<f32> = (0..n * 24)
        .map(|i| {
            if (3..6).contains(&(i % 24)) && (i / 24) % 2 == 0 {
                f32::NAN
            } else {
                ((i * 37) % 200) as f32 * 0.01 - 1.0
            }
        })
        .collect();
    let labels = (0..n)
        // short labels are held in place, long ones on the heap
        .map(|i| match i % 3 {
            0 => None,
            1 => Some(format!("w{i}é")),
            _ => Some(format!("{}-{i}", "ä".repeat(i % 20))),
        })
        .collect();
    let ids = rt
        .create_tokens(&TokenBatch {
            coords: &coords,
            labels: Some(labels),
            undefined_nan: true,
            default_weight: 0.5,
            ..Default::default()
        })
        .unwrap();
    rt.update_token(
        ids[1],
        TokenUpdate {
            user_flags: Some(5),
            domain: Some(3),
            entity: Some(4),
            field_radius: Some(1.23),
            coords: vec![(2, None)],
            ..Default::default()
        },
    )
    .unwrap();
    let a: Vec<u32> = ids[..n - 1].to_vec();
    let b: Vec<u32> = ids[1..].to_vec();
    rt.create_connections(&ConnectionBatch::associated(&a, &b))
        .unwrap();
    rt.delete_tokens(&[ids[n / 2]]).unwrap();
    rt.set_profile("explorer", Policy::Refuse).unwrap();
    rt
}

fn same(a: &RuntimeStorage, b: &RuntimeStorage) {
    let (x, y) = (a.read(), b.read());
    assert_eq!(
        bytemuck::cast_slice::<_, u8>(&x.tokens.records),
        bytemuck::cast_slice::<_, u8>(&y.tokens.records)
    );
    assert_eq!(x.tokens.defined, y.tokens.defined);
    assert_eq!(x.tokens.labels, y.tokens.labels);
    assert_eq!(x.tokens.next_id, y.tokens.next_id);
    assert_eq!(
        bytemuck::cast_slice::<_, u8>(&x.connections.records),
        bytemuck::cast_slice::<_, u8>(&y.connections.records)
    );
    assert_eq!(x.connections.next_id, y.connections.next_id);
    assert_eq!(x.cdna, y.cdna);
    assert_eq!(x.history.len(), y.history.len());
}

#[test]
fn parts_of_several_write_chunks_roundtrip_exactly() {
    // parts of 1.5-2.5 chunks: labels, null coordinates and records across chunk edges
    let n = files::WRITE_CHUNK * 5 + 123;
    let rt = sample(n);
    for p in [2, 3] {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("ds");
        rt.save_parquet(&dir, p, false).unwrap();
        let back = RuntimeStorage::new();
        back.load_parquet(&dir).unwrap();
        same(&rt, &back);
        let st = back.read();
        assert_eq!(st.tokens.labels.len(), rt.read().tokens.labels.len());
        assert_eq!(
            st.connections.out_degree(st.tokens.records[7].local_id()),
            rt.read()
                .connections
                .out_degree(st.tokens.records[7].local_id())
        );
    }
}

#[test]
fn roundtrip_is_exact_for_any_partition_count() {
    let rt = sample(57);
    for p in [1, 4, 16, 100] {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("ds");
        let s = rt.save_parquet(&dir, p, false).unwrap();
        assert_eq!(s.tokens, 56);
        assert_eq!(s.connections as usize, rt.read().connections.len());
        let back = RuntimeStorage::new();
        back.load_parquet(&dir).unwrap();
        same(&rt, &back);
    }
}

#[test]
fn empty_runtime_roundtrips() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("ds");
    let rt = RuntimeStorage::new();
    rt.save_parquet(&dir, 3, false).unwrap();
    let back = sample(5);
    back.load_parquet(&dir).unwrap();
    same(&rt, &back);
}

#[test]
fn existing_datasets_and_other_directories_are_protected() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("ds");
    let rt = sample(10);
    rt.save_parquet(&dir, 2, false).unwrap();
    let e = rt.save_parquet(&dir, 2, false).unwrap_err().to_string();
    assert!(e.contains("overwrite=True"), "{e}");
    let other = RuntimeStorage::new();
    other.save_parquet(&dir, 3, true).unwrap();
    assert_eq!(load(&dir).unwrap().tokens.len(), 0);
    let leftovers: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
    assert_eq!(
        leftovers.len(),
        1,
        "the old dataset and the temporary are gone"
    );
    let plain = d.path().join("notes");
    std::fs::create_dir(&plain).unwrap();
    std::fs::write(plain.join("a.txt"), b"keep me").unwrap();
    let e = rt.save_parquet(&plain, 2, true).unwrap_err().to_string();
    assert!(e.contains("not a dataset"), "{e}");
    assert!(plain.join("a.txt").exists());
    let file = d.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    assert!(rt.save_parquet(&file, 2, true).is_err());
    assert!(rt.save_parquet(&d.path().join("z"), 0, false).is_err());
}

#[test]
fn damaged_datasets_are_refused_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("ds");
    sample(40).save_parquet(&dir, 2, false).unwrap();
    let part = dir.join("connections/part-00001.parquet");
    let good = std::fs::read(&part).unwrap();
    let check = |why: &str, name: &str| {
        let e = load(&dir)
            .err()
            .unwrap_or_else(|| panic!("{why}: accepted"))
            .to_string();
        assert!(e.contains(name), "{why}: {e}");
    };
    std::fs::write(&part, &good[..good.len() / 2]).unwrap();
    check("truncated", "part-00001");
    let mut flipped = good.clone();
    flipped[good.len() / 3] ^= 1;
    std::fs::write(&part, &flipped).unwrap();
    check("flipped", "part-00001");
    std::fs::remove_file(&part).unwrap();
    check("missing", "part-00001");
    std::fs::write(&part, &good).unwrap();
    load(&dir).unwrap();
    std::fs::write(dir.join("tokens/part-00002.parquet"), &good).unwrap();
    check("extra", "part-00002");
    std::fs::remove_file(dir.join("tokens/part-00002.parquet")).unwrap();
    // a connections part where a tokens part should be: size/CRC differ, and so does the schema
    let meta = std::fs::read_to_string(dir.join(META)).unwrap();
    std::fs::write(dir.join(META), "{not json").unwrap();
    check("bad json", "meta.json");
    std::fs::write(
        dir.join(META),
        meta.replace("\"format_version\": 1", "\"format_version\": 9"),
    )
    .unwrap();
    check("version", "meta.json");
    std::fs::remove_file(dir.join(META)).unwrap();
    check("no meta", "meta.json");
}

#[test]
fn wrong_schema_is_named() {
    let recs = vec![<Connection as bytemuck::Zeroable>::zeroed(); 3];
    let b = columns::connections_batch(&recs).unwrap();
    let bytes = files::encode(&b).unwrap();
    let e = files::decode(bytes::Bytes::from(bytes), &columns::token_schema()).unwrap_err();
    assert!(e.contains("wrong schema"), "{e}");
}

#[test]
fn parts_from_workers_make_a_dataset_that_loads() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("ds");
    let tmp = files::temp_dir(&dir).unwrap();
    let coords: Vec<f32> = (0..4 * 24).map(|i| i as f32 * 0.001).collect();
    let labels = Some(vec![Some("a".to_string()), None, Some("c".into()), None]);
    for part in 0..2 {
        let ids: Vec<u32> = (1 + 4 * part as u32..5 + 4 * part as u32).collect();
        parts::write_tokens_part(
            &tmp,
            part,
            &parts::TokenPart {
                id: &ids,
                coords: &coords,
                label: labels.clone(),
                ..Default::default()
            },
        )
        .unwrap();
    }
    let (a, b, id) = ([1u32, 2, 5], [2u32, 3, 8], [1u32, 2, 3]);
    parts::write_connections_part(
        &tmp,
        0,
        &parts::ConnectionPart {
            id: &id,
            token_a: &a,
            token_b: &b,
            ..Default::default()
        },
    )
    .unwrap();
    let s = parts::finish(&tmp, &dir, parts::FinishOptions::default()).unwrap();
    assert_eq!((s.tokens, s.connections), (8, 3));
    let st = load(&dir).unwrap();
    assert_eq!(st.tokens.next_id, 9);
    assert_eq!(st.connections.next_id, 4);
    assert_eq!(st.tokens.labels.len(), 4);
    // the quantised coordinates are what create_many stores
    let rt = RuntimeStorage::new();
    rt.create_tokens(&TokenBatch {
        coords: &coords,
        default_weight: 1.0,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        rt.read().tokens.records[2].coords,
        st.tokens.records[2].coords
    );
    // a gap in the numbering is refused
    let tmp = files::temp_dir(&dir).unwrap();
    let ids = [1u32];
    parts::write_tokens_part(
        &tmp,
        1,
        &parts::TokenPart {
            id: &ids,
            coords: &coords[..24],
            ..Default::default()
        },
    )
    .unwrap();
    let e = parts::finish(
        &tmp,
        &d.path().join("other"),
        parts::FinishOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("part-00000"), "{e}");
}

#[test]
fn a_write_removes_the_temporary_folders_of_dead_writers_of_this_machine_only() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("ds");
    let mut child = std::process::Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    let dead = child.id();
    let host = files::host_tag();
    let me = std::process::id();
    let folder = |n: String| {
        let p = d.path().join(n);
        std::fs::create_dir_all(p.join("tokens")).unwrap();
        std::fs::write(p.join("tokens").join("part-00000.parquet"), b"partial").unwrap();
        p
    };
    let gone = folder(format!(".ds.tmp-{host}-{dead}-0-1a"));
    let live = folder(format!(".ds.tmp-{host}-{me}-7-2b"));
    let elsewhere = folder(format!(".ds.tmp-0badc0de-{dead}-0-3c"));
    let other_dataset = folder(format!(".other.tmp-{host}-{dead}-0-4d"));
    let rt = sample(20);
    rt.save_parquet(&dir, 2, false).unwrap();
    assert!(!gone.exists(), "a dead writer's folder stays");
    assert!(live.exists(), "a running writer's folder was removed");
    assert!(elsewhere.exists(), "another machine's folder was removed");
    assert!(
        other_dataset.exists(),
        "another dataset's folder was removed"
    );
    let back = RuntimeStorage::new();
    back.load_parquet(&dir).unwrap();
    same(&rt, &back);
}

/// A dataset of 8 tokens (ids 1..=8) whose connection part holds `recs` as they are (no
/// part writer's checks), finished as workers finish one.
fn dataset_with_connections(root: &Path, recs: &[Connection]) -> std::path::PathBuf {
    let dir = root.join(format!("ds{}", recs.len()));
    let tmp = files::temp_dir(&dir).unwrap();
    let ids: Vec<u32> = (1..=8).collect();
    let coords = vec![0.25f32; 8 * 24];
    parts::write_tokens_part(
        &tmp,
        0,
        &parts::TokenPart {
            id: &ids,
            coords: &coords,
            ..Default::default()
        },
    )
    .unwrap();
    std::fs::create_dir_all(tmp.join("connections")).unwrap();
    let b = columns::connections_batch(recs).unwrap();
    files::write_part(&tmp, &files::part_name("connections", 0), &b).unwrap();
    parts::finish(&tmp, &dir, parts::FinishOptions::default()).unwrap();
    dir
}

#[test]
fn a_load_refuses_connections_a_snapshot_load_refuses_naming_them() {
    let d = tempfile::tempdir().unwrap();
    let conn = |id: u32, a: u32, b: u32| {
        let mut c = <Connection as bytemuck::Zeroable>::zeroed();
        (c.id, c.token_a, c.token_b, c.pull_strength) = (id, a, b, 0.5);
        c
    };
    // many rows, so that the bad one sits past the first read batch
    let good: Vec<Connection> = (0..70_000u32)
        .map(|i| conn(i + 1, 1 + i % 8, 1 + (i + 3) % 8))
        .collect();
    let st = load(&dataset_with_connections(d.path(), &good)).unwrap();
    assert_eq!(st.connections.len(), 70_000);
    assert_eq!(st.connections.out_degree(1), 8750);
    assert_eq!(st.connections.slot(69_999), Some(69_998));
    type Spoil = dyn Fn(&mut Connection);
    let cases: [(&Spoil, &str); 5] = [
        (
            &|c| c.token_b = 9,
            "connection 66000 links tokens 8 -> 9 that are not in the file",
        ),
        (&|c| c.id = 12, "connection id 12 is repeated"),
        (&|c| c.id = 0, "a connection has id 0"),
        (
            &|c| c.pull_strength = f32::INFINITY,
            "has strength inf: strengths must be finite",
        ),
        (
            &|c| c.preferred_distance = -1.0,
            "preferred distance -1: it must be",
        ),
    ];
    for (i, (spoil, want)) in cases.iter().enumerate() {
        let mut recs = good.clone();
        recs.truncate(69_999 - i); // a folder of its own per case
        spoil(&mut recs[65_999]);
        let e = load(&dataset_with_connections(d.path(), &recs))
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{e}");
        assert!(e.contains("connections"), "{e}");
    }
}

#[test]
fn a_load_refuses_tokens_a_snapshot_load_refuses_naming_them() {
    let d = tempfile::tempdir().unwrap();
    let good: Vec<Token> = (0..70_000u32)
        .map(|i| {
            let mut t = <Token as bytemuck::Zeroable>::zeroed();
            (t.id, t.weight) = (i + 1, 0.5);
            t
        })
        .collect();
    let dataset = |recs: &[Token]| {
        let dir = d.path().join(format!("tokens{}", recs.len()));
        let tmp = files::temp_dir(&dir).unwrap();
        std::fs::create_dir_all(tmp.join("tokens")).unwrap();
        let b = columns::tokens_batch(recs, &vec![0; recs.len()], 0, &[]).unwrap();
        files::write_part(&tmp, &files::part_name("tokens", 0), &b).unwrap();
        parts::finish(&tmp, &dir, parts::FinishOptions::default()).unwrap();
        dir
    };
    let st = load(&dataset(&good)).unwrap();
    assert_eq!(st.tokens.len(), 70_000);
    assert_eq!(st.tokens.slot(69_999), Some(69_998));
    type Spoil = dyn Fn(&mut Token);
    let cases: [(&Spoil, &str); 3] = [
        (
            &|t| t.weight = f32::INFINITY,
            "token 66000 has weight inf: weights must be finite",
        ),
        (
            &|t| t.weight = f32::NAN,
            "token 66000 has weight NaN: weights must be finite",
        ),
        (
            &|t| t.flags = 14 << crate::token::flags::ENTITY_SHIFT | 0x0100,
            "token 66000 has entity type 15: entity types are 0..=14",
        ),
    ];
    for (i, (spoil, want)) in cases.iter().enumerate() {
        let mut recs = good.clone();
        recs.truncate(69_999 - i); // a folder of its own per case
        spoil(&mut recs[65_999]);
        let e = load(&dataset(&recs)).unwrap_err().to_string();
        assert!(e.contains(want), "{e}");
        assert!(e.contains("tokens") && e.contains("rows from 65536"), "{e}");
    }
}
