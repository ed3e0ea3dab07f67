//! `stockade user`: the people who sign in to the console. There is no
//! default user or password: the first admin is created here.

use crate::cli::UserCommand;
use anyhow::{Context, Result, bail};
use std::io::BufRead;
use std::sync::Arc;
use stockade_app::users::{NewUser, UserError};
use stockade_model::clock::Clock;
use stockade_store::Role;

fn when(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us).map(|t| t.to_rfc3339()).unwrap_or_default()
}

pub async fn run(command: UserCommand, clock: Arc<dyn Clock>) -> Result<()> {
    match command {
        UserCommand::Create { name, role, sites, password_stdin, data } => {
            let role = match Role::parse(&role) {
                Some(r) if r != Role::Ingest => r,
                Some(_) => bail!("role ingest: integrations get an ingest token, not a user"),
                None => bail!("unknown role {role:?}: use one of {}", Role::names()),
            };
            let (password, shown) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (stockade_app::users::generate_password(), true)
            };
            let opened = crate::open(&data.data).await?;
            let new = NewUser { name: name.clone(), role, sites, password: password.clone() };
            let created = stockade_app::users::create_user(
                &*opened.store,
                Some(&opened.ledger),
                &*clock,
                &crate::cli_actor(),
                new,
            )
            .await;
            if created.is_ok() {
                opened.ledger.sign_checkpoint()?;
            }
            opened.store.close().await;
            let user = match created {
                Ok(u) => u,
                Err(UserError::Exists(n)) => bail!("user {n:?} already exists"),
                Err(e) => return Err(e.into()),
            };
            let scope = if user.sites.is_empty() { "every site".to_owned() } else { user.sites.join(", ") };
            if shown {
                eprintln!("created {} user {} ({scope}); the password is shown only once:", role.as_str(), user.name);
                println!("{password}");
            } else {
                eprintln!("created {} user {} ({scope})", role.as_str(), user.name);
            }
        }
        UserCommand::List { data } => {
            let store = crate::open_store(&data.data).await?;
            let users = store.users().await?;
            store.close().await;
            println!("{:<24} {:<8} {:<24} {:<34} disabled", "name", "role", "sites", "created");
            for u in &users {
                let sites = if u.sites.is_empty() { "*".to_owned() } else { u.sites.join(",") };
                println!(
                    "{:<24} {:<8} {:<24} {:<34} {}",
                    u.name,
                    u.role.as_str(),
                    sites,
                    when(u.created_us),
                    u.disabled_us.map_or("-".to_owned(), when)
                );
            }
        }
        UserCommand::Disable { name, data } => {
            let opened = crate::open(&data.data).await?;
            let done = stockade_app::users::disable_user(
                &*opened.store,
                Some(&opened.ledger),
                &*clock,
                &crate::cli_actor(),
                &name,
            )
            .await;
            opened.store.close().await;
            let user = done?;
            eprintln!("disabled user {}; their sessions have ended", user.name);
        }
    }
    Ok(())
}
