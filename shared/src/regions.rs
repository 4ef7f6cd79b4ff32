//! Every region of every AWS partition, pinned: the regions the access model decides over
//! (SPEC section 2, "The key universe": every region of the partition, not a sample).
//!
//! The table ([`PARTITIONS`]) is generated from botocore's partition data and committed:
//! `partitions[].regions` of `botocore/data/partitions.json` (the SDKs' partition data) and of
//! `botocore/data/endpoints.json`; a region either file names counts. endpoints.json lags: in
//! botocore 1.44.18 it lacks `me-west-1` and `sa-west-1`, which partitions.json has. Each
//! partition's pseudo-region `<id>-global` (`aws-global`, `aws-cn-global`, ...) is a global
//! endpoint, not a region a key lives in, and is left out. Partitions are sorted by id and each
//! partition's regions by name (byte order), so a lookup may binary-search them. Partition ids
//! and region names are compared exactly (case-sensitive, as ARNs are).
//!
//! Refresh procedure (bump `botocore` and `boto3` together in `tests/requirements.txt` first):
//!
//! ```sh
//! pip install -r tests/requirements.txt     # botocore==1.44.18, the version the table names
//! python3 scripts/refresh-regions.py > shared/src/regions/table.rs
//! ```
//!
//! The unit test `the_table_equals_botocores_partition_data` checks the committed table against
//! the installed botocore (found with `python3 -c 'import botocore'`). It fails, never skips,
//! when python3 or botocore is missing: `pip install -r tests/requirements.txt`.

mod table;

pub use table::{BOTOCORE_VERSION, PARTITIONS};

/// An AWS partition: its id (the second field of an ARN) and every one of its regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// The partition id: `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, ...
    pub id: &'static str,
    /// Every region of the partition, sorted by name (byte order), each once.
    pub regions: &'static [&'static str],
}

/// Every region of `partition` (an id such as `aws` or `aws-us-gov`), sorted by name; an empty
/// slice for a partition id the table does not know (ids are matched exactly: `AWS` is unknown).
pub fn regions(partition: &str) -> &'static [&'static str] {
    PARTITIONS.iter().find(|p| p.id == partition).map_or(&[], |p| p.regions)
}

/// The id of the partition `region` belongs to (`us-gov-west-1` is in `aws-us-gov`), or `None`
/// for a name the table does not list (a region newer than the table, or not a region).
pub fn partition_of_region(region: &str) -> Option<&'static str> {
    PARTITIONS.iter().find(|p| p.regions.binary_search(&region).is_ok()).map(|p| p.id)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::PathBuf;
    use std::process::Command;

    use super::*;

    /// A region name's shape, by hand: `[a-z]{2,4}(-[a-z]+)+-[0-9]+`. The first field is two
    /// letters except the sovereign cloud's `eusc` (`eusc-de-east-1`).
    fn is_region_name(name: &str) -> bool {
        let fields: Vec<&str> = name.split('-').collect();
        let Some((number, rest)) = fields.split_last() else { return false };
        let Some((first, words)) = rest.split_first() else { return false };
        let letters = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
        (2..=4).contains(&first.len())
            && letters(first)
            && !words.is_empty()
            && words.iter().all(|w| letters(w))
            && !number.is_empty()
            && number.bytes().all(|b| b.is_ascii_digit())
    }

    #[test]
    fn the_shape_check_itself() {
        for good in ["us-east-1", "ap-southeast-7", "us-gov-west-1", "us-isob-east-1", "eusc-de-east-1", "me-west-12"] {
            assert!(is_region_name(good), "{good}");
        }
        for bad in [
            "",
            "us",
            "us-1",
            "us-east",
            "us-east-",
            "-east-1",
            "us--east-1",
            "US-east-1",
            "u-east-1",
            "eastus-west-1",
            "us-east-1a",
            "us-east-x",
            "aws-global",
            "us-east-1-",
        ] {
            assert!(!is_region_name(bad), "{bad}");
        }
    }

    #[test]
    fn every_region_has_a_region_name_shape() {
        for p in PARTITIONS {
            for region in p.regions {
                assert!(is_region_name(region), "{}: {region:?} is not shaped like a region name", p.id);
            }
        }
    }

    #[test]
    fn partitions_and_regions_are_sorted_without_duplicates() {
        assert!(PARTITIONS.windows(2).all(|w| w[0].id < w[1].id), "partition ids sorted, each once");
        let mut seen = BTreeSet::new();
        for p in PARTITIONS {
            assert!(!p.regions.is_empty(), "{} has no region", p.id);
            assert!(p.regions.windows(2).all(|w| w[0] < w[1]), "{}: regions sorted, each once", p.id);
            for region in p.regions {
                assert!(seen.insert(*region), "{region} is in two partitions");
            }
        }
    }

    #[test]
    fn every_partition_is_there() {
        for id in ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"] {
            assert!(!regions(id).is_empty(), "{id}");
        }
    }

    #[test]
    fn lookups() {
        assert!(regions("aws").contains(&"us-east-1"));
        assert!(regions("aws").contains(&"eu-west-1"));
        assert!(regions("aws-cn").contains(&"cn-north-1"));
        assert!(regions("aws-us-gov").contains(&"us-gov-west-1"));
        assert!(!regions("aws").contains(&"us-gov-west-1"));
        assert!(!regions("aws").contains(&"aws-global"));
        assert_eq!(regions("aws-nope"), &[] as &[&str]);
        assert_eq!(regions("AWS"), &[] as &[&str]);
        assert_eq!(regions(""), &[] as &[&str]);

        assert_eq!(partition_of_region("us-east-1"), Some("aws"));
        assert_eq!(partition_of_region("cn-northwest-1"), Some("aws-cn"));
        assert_eq!(partition_of_region("us-gov-west-1"), Some("aws-us-gov"));
        assert_eq!(partition_of_region("us-isob-east-1"), Some("aws-iso-b"));
        assert_eq!(partition_of_region("eusc-de-east-1"), Some("aws-eusc"));
        assert_eq!(partition_of_region("us-east-99"), None);
        assert_eq!(partition_of_region("aws-global"), None);
        assert_eq!(partition_of_region("US-EAST-1"), None);
        assert_eq!(partition_of_region(""), None);
        for p in PARTITIONS {
            for region in p.regions {
                assert_eq!(partition_of_region(region), Some(p.id));
            }
        }
    }

    /// The workspace root (shared/ is one of its members).
    fn workspace_root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn tests_requirements_pin_the_botocore_the_table_names() {
        let path = workspace_root().join("tests/requirements.txt");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let pin = format!("botocore=={BOTOCORE_VERSION}");
        assert!(
            text.lines().any(|l| l.trim() == pin),
            "{} must pin `{pin}`, the botocore shared/src/regions/table.rs was generated from",
            path.display()
        );
    }

    const INSTALL: &str = "run `pip install -r tests/requirements.txt` (from the workspace root)";

    /// The installed botocore: its directory and version, through python3.
    fn botocore() -> (PathBuf, String) {
        let output = Command::new("python3")
            .args(["-c", "import botocore, os; print(os.path.dirname(botocore.__file__)); print(botocore.__version__)"])
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run python3 ({e}): the region table is checked against botocore's data; {INSTALL}")
            });
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut lines = stdout.lines();
        match (output.status.success(), lines.next(), lines.next()) {
            (true, Some(dir), Some(version)) => (PathBuf::from(dir), version.trim().to_owned()),
            _ => panic!(
                "python3 cannot import botocore ({}; stderr: {}): the region table is checked against botocore's \
                 data; {INSTALL}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        }
    }

    /// `{partition id: regions}` from one of botocore's data files (`id_field` names the id).
    fn read_partitions(path: &std::path::Path, id_field: &str) -> BTreeMap<String, BTreeSet<String>> {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}; {INSTALL}", path.display()));
        let json: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        let partitions = json["partitions"].as_array().unwrap_or_else(|| panic!("{}: no partitions", path.display()));
        partitions
            .iter()
            .map(|p| {
                let id = p[id_field]
                    .as_str()
                    .unwrap_or_else(|| panic!("{}: a partition without {id_field}", path.display()));
                let regions =
                    p["regions"].as_object().unwrap_or_else(|| panic!("{}: {id} has no regions", path.display()));
                (id.to_owned(), regions.keys().cloned().collect())
            })
            .collect()
    }

    #[test]
    fn the_table_equals_botocores_partition_data() {
        let (dir, version) = botocore();
        let mut expected = read_partitions(&dir.join("data/partitions.json"), "id");
        for (id, regions) in read_partitions(&dir.join("data/endpoints.json"), "partition") {
            expected.entry(id).or_default().extend(regions);
        }
        for (id, regions) in &mut expected {
            regions.remove(&format!("{id}-global"));
        }
        let pinned: BTreeMap<String, BTreeSet<String>> =
            PARTITIONS.iter().map(|p| (p.id.to_owned(), p.regions.iter().map(|r| (*r).to_owned()).collect())).collect();

        let mut differences = Vec::new();
        for id in expected.keys().chain(pinned.keys()).collect::<BTreeSet<_>>() {
            let (want, have) =
                (expected.get(id).cloned().unwrap_or_default(), pinned.get(id).cloned().unwrap_or_default());
            let missing: Vec<_> = want.difference(&have).collect();
            let extra: Vec<_> = have.difference(&want).collect();
            if !missing.is_empty() || !extra.is_empty() {
                differences.push(format!("{id}: not pinned {missing:?}, not in botocore {extra:?}"));
            }
        }
        let fix = if version == BOTOCORE_VERSION {
            "regenerate it: `python3 scripts/refresh-regions.py > shared/src/regions/table.rs`".to_owned()
        } else {
            format!("the installed botocore is not the pinned one: {INSTALL}")
        };
        assert!(
            differences.is_empty(),
            "shared/src/regions/table.rs (botocore {BOTOCORE_VERSION}) differs from the installed botocore {version} \
             ({}):\n  {}\n{fix}",
            dir.display(),
            differences.join("\n  ")
        );
    }
}
