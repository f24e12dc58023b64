//! Who may call ecsd: accounts, each with an access key pair, IAM users (for password tokens)
//! and the projects it owns.
//!
//! The shapes here are what the `--config` TOML file holds (`[[accounts]]`,
//! `[[accounts.users]]`, `[[accounts.projects]]`); `ecsd` reads the file and adds the bootstrap
//! account from its flags. Secrets are wrapped in [`Secret`], whose `Debug` never shows them, so
//! no log line or error can carry one.

use engine::quota::Quotas;
use serde::Deserialize;
use std::collections::HashMap;

/// A secret string (secret key, password). `Debug` prints `"***"`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

/// One account (a Huawei Cloud "domain"): its AK/SK pair, users and projects.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub access_key: String,
    pub secret_key: Secret,
    /// The account (domain) name, as IAM password requests name it.
    pub domain: String,
    /// IAM users who may get tokens with `POST /v3/auth/tokens` (password method).
    #[serde(default)]
    pub users: Vec<User>,
    pub projects: Vec<Project>,
    /// Requests per second allowed for this account's key and tokens (0: no limit). Unset: the
    /// server-wide default (`--rate-limit`).
    #[serde(default)]
    pub rate_limit: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub name: String,
    pub password: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// The project id that appears in API paths (`/v1/{project_id}/...`).
    pub id: String,
    /// e.g. `eu-de` or `eu-de_team-a`; token requests scope by this name.
    pub name: String,
    /// The region of the project's ECS endpoint in the token catalog, e.g. `eu-de`.
    pub region: String,
    /// `[accounts.projects.quotas]`: the project's limits. Absent: no limits.
    #[serde(default)]
    pub quotas: Quotas,
}

/// A reference to an account in [`Accounts`].
pub type AccountId = usize;

/// All accounts, indexed by access key, and checked: keys and project ids are unique and
/// well-formed, and each account has at least one project.
#[derive(Debug, Default)]
pub struct Accounts {
    accounts: Vec<Account>,
    by_access_key: HashMap<String, AccountId>,
    by_project: HashMap<String, AccountId>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AccountsError {
    #[error("access key {0:?} is used by two accounts")]
    DuplicateAccessKey(String),
    #[error("project {0:?} is listed twice (a project belongs to one account)")]
    DuplicateProject(String),
    #[error("account {0:?} has no projects; add at least one [[accounts.projects]]")]
    NoProjects(String),
    #[error("{what} {value:?} is not valid: {rule}")]
    Invalid {
        what: &'static str,
        value: String,
        rule: &'static str,
    },
    #[error("user {user:?} is listed twice in account {domain:?}")]
    DuplicateUser { domain: String, user: String },
    #[error("domain {0:?} is used by two accounts")]
    DuplicateDomain(String),
}

fn id_like(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

impl Accounts {
    pub fn new(accounts: Vec<Account>) -> Result<Self, AccountsError> {
        let mut by_access_key = HashMap::new();
        let mut by_project = HashMap::new();
        let mut domains = std::collections::HashSet::new();
        for (index, account) in accounts.iter().enumerate() {
            if !id_like(&account.access_key) {
                return Err(AccountsError::Invalid {
                    what: "access key",
                    value: account.access_key.clone(),
                    rule: "1 to 64 letters, digits, '-' or '_'",
                });
            }
            if account.secret_key.expose().len() < 8 {
                return Err(AccountsError::Invalid {
                    what: "secret key of access key",
                    value: account.access_key.clone(),
                    rule: "at least 8 characters",
                });
            }
            if account.domain.trim().is_empty() {
                return Err(AccountsError::Invalid {
                    what: "domain of access key",
                    value: account.access_key.clone(),
                    rule: "must not be empty",
                });
            }
            if !domains.insert(account.domain.clone()) {
                return Err(AccountsError::DuplicateDomain(account.domain.clone()));
            }
            if by_access_key
                .insert(account.access_key.clone(), index)
                .is_some()
            {
                return Err(AccountsError::DuplicateAccessKey(
                    account.access_key.clone(),
                ));
            }
            if account.projects.is_empty() {
                return Err(AccountsError::NoProjects(account.domain.clone()));
            }
            for project in &account.projects {
                if !id_like(&project.id) {
                    return Err(AccountsError::Invalid {
                        what: "project id",
                        value: project.id.clone(),
                        rule: "1 to 64 letters, digits, '-' or '_'",
                    });
                }
                if project.name.is_empty() || project.region.is_empty() {
                    return Err(AccountsError::Invalid {
                        what: "project",
                        value: project.id.clone(),
                        rule: "name and region must not be empty",
                    });
                }
                if by_project.insert(project.id.clone(), index).is_some() {
                    return Err(AccountsError::DuplicateProject(project.id.clone()));
                }
            }
            let mut users = std::collections::HashSet::new();
            for user in &account.users {
                // A user name is a line of a token's payload (`tokens`): no control characters.
                if user.name.is_empty()
                    || user.name.chars().any(char::is_control)
                    || user.password.expose().is_empty()
                {
                    return Err(AccountsError::Invalid {
                        what: "user of domain",
                        value: account.domain.clone(),
                        rule: "name and password must not be empty, and the name has no control characters",
                    });
                }
                if !users.insert(user.name.as_str()) {
                    return Err(AccountsError::DuplicateUser {
                        domain: account.domain.clone(),
                        user: user.name.clone(),
                    });
                }
            }
        }
        Ok(Self {
            accounts,
            by_access_key,
            by_project,
        })
    }

    pub fn get(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(id)
    }

    pub fn by_access_key(&self, access_key: &str) -> Option<(AccountId, &Account)> {
        let id = *self.by_access_key.get(access_key)?;
        Some((id, &self.accounts[id]))
    }

    pub fn by_domain(&self, domain: &str) -> Option<(AccountId, &Account)> {
        self.accounts
            .iter()
            .enumerate()
            .find(|(_, account)| account.domain == domain)
    }

    /// The account owning `project_id`, if any.
    pub fn owner_of(&self, project_id: &str) -> Option<AccountId> {
        self.by_project.get(project_id).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Account> {
        self.accounts.iter()
    }

    /// The project `project_id` of whichever account owns it.
    pub fn project(&self, project_id: &str) -> Option<&Project> {
        self.get(self.owner_of(project_id)?)?.project(project_id)
    }
}

impl Account {
    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|project| project.id == id)
    }

    pub fn project_named(&self, name: &str) -> Option<&Project> {
        self.projects.iter().find(|project| project.name == name)
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|user| user.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(access_key: &str, domain: &str, project: &str) -> Account {
        Account {
            access_key: access_key.into(),
            secret_key: Secret::new("secret-key-0001"),
            domain: domain.into(),
            users: vec![User {
                name: "alice".into(),
                password: Secret::new("pw"),
            }],
            projects: vec![Project {
                id: project.into(),
                name: "eu-de".into(),
                region: "eu-de".into(),
                quotas: Default::default(),
            }],
            rate_limit: None,
        }
    }

    #[test]
    fn accounts_are_found_by_key_domain_and_project() {
        let accounts =
            Accounts::new(vec![account("AK1", "a", "p1"), account("AK2", "b", "p2")]).expect("ok");
        assert_eq!(accounts.by_access_key("AK2").map(|(id, _)| id), Some(1));
        assert!(accounts.by_access_key("AK3").is_none());
        assert_eq!(accounts.by_domain("a").map(|(id, _)| id), Some(0));
        assert_eq!(accounts.owner_of("p2"), Some(1));
        assert_eq!(accounts.owner_of("p3"), None);
    }

    #[test]
    fn duplicates_and_bad_values_are_refused() {
        assert_eq!(
            Accounts::new(vec![account("AK1", "a", "p1"), account("AK1", "b", "p2")]).err(),
            Some(AccountsError::DuplicateAccessKey("AK1".into()))
        );
        assert_eq!(
            Accounts::new(vec![account("AK1", "a", "p1"), account("AK2", "b", "p1")]).err(),
            Some(AccountsError::DuplicateProject("p1".into()))
        );
        assert_eq!(
            Accounts::new(vec![account("AK1", "a", "p1"), account("AK2", "a", "p2")]).err(),
            Some(AccountsError::DuplicateDomain("a".into()))
        );
        assert!(Accounts::new(vec![account("A K", "a", "p1")]).is_err());
        assert!(Accounts::new(vec![account("AK1", "a", "p/1")]).is_err());
        let mut no_projects = account("AK1", "a", "p1");
        no_projects.projects.clear();
        assert!(Accounts::new(vec![no_projects]).is_err());
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let text = format!("{:?}", account("AK1", "a", "p1"));
        assert!(!text.contains("secret-key-0001"), "{text}");
        assert!(!text.contains("\"pw\""), "{text}");
        assert!(text.contains("***"));
    }

    /// `iter` lists every account in the configured order (the banner and the config checks of
    /// the `ecsd` crate read it); `project` finds a project of any account by its id.
    #[test]
    fn accounts_iterate_in_order_and_projects_are_found_across_accounts() {
        let accounts =
            Accounts::new(vec![account("AK1", "a", "p1"), account("AK2", "b", "p2")]).expect("ok");
        let keys: Vec<&str> = accounts.iter().map(|a| a.access_key.as_str()).collect();
        assert_eq!(keys, ["AK1", "AK2"]);
        assert_eq!(accounts.project("p2").map(|p| p.id.as_str()), Some("p2"));
        assert_eq!(accounts.project("p1").map(|p| p.id.as_str()), Some("p1"));
        assert!(accounts.project("p3").is_none());
    }
}
