//! The image's `User` ("name", "uid", "name:group", "uid:gid", …) resolved against the image's
//! own /etc/passwd and /etc/group, as Docker does: a numeric user missing from passwd runs with
//! gid 0; a named one must exist; supplementary groups are those listing the user.

use crate::error::{Error, Result};

#[derive(Debug, PartialEq, Eq)]
pub struct Resolved {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: Option<String>,
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_entries(passwd: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    passwd.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 7).then_some(())?;
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f[5],
        })
    })
}

/// (name, gid, members)
fn group_entries(group: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    group.lines().filter_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 4).then_some(())?;
        Some((
            f[0],
            f[2].parse().ok()?,
            f[3].split(',').filter(|m| !m.is_empty()).collect(),
        ))
    })
}

/// Resolve `user` (empty means root) with the image's passwd and group text (empty when absent).
pub fn resolve(user: &str, passwd: &str, group: &str) -> Result<Resolved> {
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let u = if u.is_empty() { "0" } else { u };
    let found = passwd_entries(passwd).find(|e| e.name == u || u.parse() == Ok(e.uid));
    let (uid, mut gid, name, home) = match (found, u.parse::<u32>()) {
        (Some(e), _) => (
            e.uid,
            e.gid,
            Some(e.name.to_string()),
            Some(e.home.to_string()),
        ),
        (None, Ok(n)) => (n, 0, None, None),
        (None, Err(_)) => {
            return Err(Error::Other(format!(
                "user {u:?}: not found in the image's /etc/passwd"
            )))
        }
    };
    if let Some(g) = g {
        gid = match group_entries(group).find(|(n, id, _)| *n == g || g.parse() == Ok(*id)) {
            Some((_, id, _)) => id,
            None => g.parse().map_err(|_| {
                Error::Other(format!("group {g:?}: not found in the image's /etc/group"))
            })?,
        };
    }
    let mut additional_gids = Vec::new();
    if g.is_none() {
        if let Some(name) = &name {
            for (_, id, members) in group_entries(group) {
                if members.contains(&name.as_str()) && id != gid && !additional_gids.contains(&id) {
                    additional_gids.push(id);
                }
            }
        }
    }
    Ok(Resolved {
        uid,
        gid,
        additional_gids,
        home,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\nbad line\n";
    const GROUP: &str = "root:x:0:\nwww:x:33:\nstaff:x:50:www,other\nvideo:x:44:www\n";

    #[test]
    fn resolves_like_docker() {
        let r = resolve("", PASSWD, GROUP).unwrap();
        assert_eq!((r.uid, r.gid, r.home.as_deref()), (0, 0, Some("/root")));
        let r = resolve("www", PASSWD, GROUP).unwrap();
        assert_eq!(
            r,
            Resolved {
                uid: 33,
                gid: 33,
                additional_gids: vec![50, 44],
                home: Some("/var/www".into())
            }
        );
        assert_eq!(resolve("33", PASSWD, GROUP).unwrap().uid, 33);
        let r = resolve("www:staff", PASSWD, GROUP).unwrap();
        assert_eq!((r.uid, r.gid, r.additional_gids.len()), (33, 50, 0));
        let r = resolve("1000", PASSWD, GROUP).unwrap();
        assert_eq!((r.uid, r.gid, r.home), (1000, 0, None));
        assert_eq!(resolve("1000:1001", "", "").unwrap().gid, 1001);
        assert!(resolve("nobody", PASSWD, GROUP)
            .unwrap_err()
            .to_string()
            .contains("nobody"));
        assert!(resolve("www:nogroup", PASSWD, GROUP)
            .unwrap_err()
            .to_string()
            .contains("nogroup"));
    }
}
