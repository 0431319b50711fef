//! The offline commands: migrate, bootstrap, brand create, client create, user and operator
//! create; the ones that end tokens are in [`crate::lifecycle`].

use anyhow::Context;
use portcullis_core::{BrandKey, GrantType, ScopeSet, SigningAlgorithm};
use portcullis_grants::provision::{self, Actor, CreatedClient, PrincipalSpec, ProvisionError};
use portcullis_store::{PoolSettings, SeaStore};
use portcullis_tenancy::{BrandScope, BrandSettings, Branding, ClientProfile, PrincipalKind, resolve_brand};
use serde::Serialize;

use crate::cli::{
    BootstrapArgs, BrandCommand, BrandCreateArgs, Change, Cli, ClientCommand, ClientCreateArgs, Command, KeyCommand,
    MasterKeyCommand, PrincipalCommand, PrincipalCreateArgs, TokenCommand,
};
use crate::platform::Platform;
use crate::{check, lifecycle, logging, output, serve};

/// Runs one command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Serve(args) => serve::run(Platform::open(config, args.dev).await?, args).await,
        Command::Migrate => migrate(config).await,
        Command::Bootstrap(args) => bootstrap(&Platform::open(config, true).await?, args).await,
        Command::Brand(BrandCommand::Create(args)) => create_brand(&Platform::open(config, true).await?, args).await,
        Command::Client(command) => {
            let platform = Platform::open(config, true).await?;
            match command {
                ClientCommand::Create(args) => create_client(&platform, args).await,
                ClientCommand::Enable(args) => lifecycle::change_client(&platform, Change::Enable, args).await,
                ClientCommand::Disable(args) => lifecycle::change_client(&platform, Change::Disable, args).await,
                ClientCommand::Delete(args) => lifecycle::change_client(&platform, Change::Delete, args).await,
            }
        }
        Command::User(command) => principal_command(config, PrincipalKind::User, command).await,
        Command::Operator(command) => principal_command(config, PrincipalKind::Operator, command).await,
        Command::Check(args) => check::run(&Platform::open(config, true).await?, args).await,
        Command::MasterKey(MasterKeyCommand::Rotate(args)) => {
            crate::rotate_master_key::run(&Platform::open(config, true).await?, &args).await
        }
        Command::Token(TokenCommand::Revoke(args)) => {
            lifecycle::revoke_token(&Platform::open(config, true).await?, args).await
        }
        Command::Key(KeyCommand::Withdraw(args)) => {
            lifecycle::withdraw_key(&Platform::open(config, true).await?, args).await
        }
    }
}

async fn principal_command(
    config: Option<&std::path::Path>,
    kind: PrincipalKind,
    command: PrincipalCommand,
) -> anyhow::Result<()> {
    let platform = Platform::open(config, true).await?;
    let (change, args) = match command {
        PrincipalCommand::Create(args) => return create_principal(&platform, kind, args).await,
        PrincipalCommand::Enable(args) => (Change::Enable, args),
        PrincipalCommand::Disable(args) => (Change::Disable, args),
        PrincipalCommand::Delete(args) => (Change::Delete, args),
    };
    lifecycle::change_principal(&platform, kind, change, args).await
}

fn cli_actor() -> Actor {
    Actor::new("cli")
}

async fn migrate(config: Option<&std::path::Path>) -> anyhow::Result<()> {
    let settings = portcullis_config::load(config, true)?;
    logging::init(&settings.log);
    let pool = PoolSettings {
        max_connections: 2,
        acquire_timeout: settings.database.acquire_timeout,
        statement_timeout: settings.database.statement_timeout,
    };
    let store = SeaStore::connect(&settings.database.url, pool).await.context("opening the database")?;
    store.migrate().await.context("applying database migrations")?;
    output::lines(&["migrations applied".into()]);
    Ok(())
}

#[derive(Serialize)]
struct RevealedClient<'a> {
    brand_key: &'a str,
    client_id: &'a str,
    /// Absent for a public client, which has no secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant_types: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audiences: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_uris: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_logout_redirect_uris: Option<&'a [String]>,
}

/// Prints a newly created client with its one-time secret.
pub fn reveal_client(brand: &str, created: &CreatedClient, json: bool, detailed: bool) -> anyhow::Result<()> {
    let c = &created.client;
    let revealed = RevealedClient {
        brand_key: brand,
        client_id: c.client_id.as_str(),
        client_secret: created.secret.as_ref().map(|s| s.expose()),
        public: detailed.then_some(c.profile.public),
        name: detailed.then_some(c.profile.name.as_str()),
        grant_types: detailed.then(|| c.profile.grant_types.iter().map(|g| g.as_str()).collect()),
        scopes: detailed.then(|| c.profile.scopes.to_strings()),
        default_scopes: detailed.then(|| c.profile.default_scopes.to_strings()),
        audiences: detailed.then_some(c.profile.audiences.as_slice()),
        redirect_uris: detailed.then_some(c.profile.redirect_uris.as_slice()),
        post_logout_redirect_uris: detailed.then_some(c.profile.post_logout_redirect_uris.as_slice()),
    };
    if json {
        return output::json(&revealed);
    }
    match &created.secret {
        Some(secret) => output::lines(&[
            format!("brand_key:     {brand}"),
            format!("client_id:     {}", c.client_id),
            format!("client_secret: {}", secret.expose()),
            "The secret is shown only now: store it safely; it cannot be shown again.".into(),
        ]),
        None => output::lines(&[
            format!("brand_key:     {brand}"),
            format!("client_id:     {}", c.client_id),
            "A public client: it has no secret and must use PKCE.".into(),
        ]),
    }
    Ok(())
}

async fn bootstrap(platform: &Platform, args: BootstrapArgs) -> anyhow::Result<()> {
    let g = &platform.grants;
    let created = provision::bootstrap(&g.store, &g.keys, args.force_new_admin, &cli_actor(), g.clock.now()).await?;
    reveal_client(portcullis_core::SYSTEM_BRAND, &created, args.json, false)
}

#[derive(Serialize)]
struct BrandOut<'a> {
    brand_key: &'a str,
    name: &'a str,
    issuer: String,
    signing_algorithm: &'a str,
    require_audience: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logo_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_color: Option<&'a str>,
}

async fn create_brand(platform: &Platform, args: BrandCreateArgs) -> anyhow::Result<()> {
    let g = &platform.grants;
    let key = BrandKey::parse(args.key.as_str())?;
    let algorithm: SigningAlgorithm = args.algorithm.parse()?;
    let settings = BrandSettings {
        signing_algorithm: algorithm,
        require_audience: args.require_audience,
        branding: Branding {
            display_name: args.display_name,
            logo_url: args.logo_url,
            primary_color: args.primary_color,
        },
        ..BrandSettings::default()
    };
    let name = args.name.unwrap_or_else(|| key.to_string());
    let brand = provision::create_brand(&g.store, &g.keys, key, name, settings, &cli_actor(), g.clock.now()).await?;
    let scope = portcullis_tenancy::BrandScope::new(brand);
    let out = BrandOut {
        brand_key: scope.key().as_str(),
        name: &scope.brand().name,
        issuer: g.issuer(&scope),
        signing_algorithm: algorithm.as_str(),
        require_audience: scope.brand().settings.require_audience,
        display_name: scope.brand().settings.branding.display_name.as_deref(),
        logo_url: scope.brand().settings.branding.logo_url.as_deref(),
        primary_color: scope.brand().settings.branding.primary_color.as_deref(),
    };
    if args.json {
        return output::json(&out);
    }
    output::lines(&[format!("created brand '{}' with issuer {}", out.brand_key, out.issuer)]);
    Ok(())
}

/// Accepts `--scope a b` and `--scope "a b"` alike.
fn scope_set(flag: &str, values: &[String]) -> anyhow::Result<ScopeSet> {
    ScopeSet::parse_delimited(&values.join(" ")).with_context(|| format!("--{flag}"))
}

/// The brand named by `--brand`.
pub(crate) async fn brand_scope(platform: &Platform, brand: &str) -> anyhow::Result<BrandScope> {
    let key = BrandKey::parse_existing(brand).context("--brand")?;
    Ok(resolve_brand(&platform.grants.store, &key)
        .await?
        .ok_or_else(|| ProvisionError::UnknownBrand(key.to_string()))?)
}

async fn create_client(platform: &Platform, args: ClientCreateArgs) -> anyhow::Result<()> {
    let g = &platform.grants;
    let scope = brand_scope(platform, &args.brand).await?;
    let key = scope.key().clone();
    let grant_types = args
        .grants
        .iter()
        .flat_map(|g| g.split_whitespace())
        .map(|g| g.parse::<GrantType>())
        .collect::<Result<Vec<_>, _>>()
        .context("--grant")?;
    let profile = ClientProfile {
        name: args.name,
        grant_types,
        scopes: scope_set("scope", &args.scopes)?,
        default_scopes: scope_set("default-scope", &args.default_scopes)?,
        audiences: args.audiences,
        access_ttl: args.access_ttl,
        refresh_ttl: args.refresh_ttl,
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        public: args.public,
    };
    let created = provision::create_client(&g.store, &scope, profile, &cli_actor(), g.clock.now()).await?;
    reveal_client(key.as_str(), &created, args.json, true)
}

/// Reads the password from the first line of standard input.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
    let password = line.strip_suffix('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).unwrap_or(&line);
    if password.is_empty() {
        anyhow::bail!("no password on standard input (--password-stdin reads its first line)");
    }
    Ok(password.to_owned())
}

async fn create_principal(platform: &Platform, kind: PrincipalKind, args: PrincipalCreateArgs) -> anyhow::Result<()> {
    let g = &platform.grants;
    let scope = brand_scope(platform, &args.brand).await?;
    let spec = PrincipalSpec {
        kind,
        username: args.username,
        password: password_from_stdin()?,
        permissions: scope_set("permission", &args.permissions)?,
        email: args.email,
        name: args.name,
    };
    let principal = provision::create_principal(&g.store, &scope, spec, &cli_actor(), g.clock.now()).await?;
    let id_field = match kind {
        PrincipalKind::User => "user_id",
        PrincipalKind::Operator => "operator_id",
    };
    let out = serde_json::json!({
        "brand_key": scope.key().as_str(),
        id_field: principal.id,
        "username": principal.username,
        "permissions": principal.permissions.to_strings(),
        "email": principal.email,
        "name": principal.name,
    });
    if args.json {
        return output::json(&out);
    }
    output::lines(&[format!("created {} '{}' with id {}", kind.as_str(), principal.username, principal.id)]);
    Ok(())
}
