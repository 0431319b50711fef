//! Command-line arguments, as README's "Command line" section documents them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about = "Multi-tenant OAuth 2.0 / OpenID Connect server")]
pub struct Cli {
    /// Configuration file (default: ./portcullis.toml when it exists).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the token server (public listener) and the admin listener.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Create the `system` brand and a platform-admin client; print its secret once.
    Bootstrap(BootstrapArgs),
    /// Manage brands.
    #[command(subcommand)]
    Brand(BrandCommand),
    /// Manage clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage a brand's end users.
    #[command(subcommand)]
    User(PrincipalCommand),
    /// Manage a brand's operators (staff).
    #[command(subcommand)]
    Operator(PrincipalCommand),
    /// Manage issued tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage a brand's signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage the master key that encrypts signing keys at rest.
    #[command(subcommand)]
    MasterKey(MasterKeyCommand),
    /// Report identifiers that could be mistaken for others (brand keys that are not lowercase,
    /// usernames that clash after case folding or hold invisible characters); exits non-zero
    /// when any is found.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print the findings as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Re-encrypt every signing key under a new master key, in one transaction. Stop every
    /// server first, then start them again configured with the new key.
    Rotate(MasterKeyRotateArgs),
}

#[derive(Debug, Args)]
pub struct MasterKeyRotateArgs {
    /// A file holding the new key: base64 of 32 random bytes (`openssl rand -base64 32`).
    #[arg(long)]
    pub new_key_file: std::path::PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// What to do to an existing client, user or operator. Disabling and deleting revoke its live
/// tokens at once, in every server sharing the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Allow it again (tokens revoked meanwhile stay revoked).
    Enable,
    /// Refuse it and revoke its tokens.
    Disable,
    /// Remove it and revoke its tokens.
    Delete,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Revoke one access token by its `jti`.
    Revoke(TokenRevokeArgs),
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Withdraw a compromised signing key at once: it leaves the brand's JWKS now (rotated out
    /// first if it signs; replaced if it is the next key), so every token it signed is refused.
    Withdraw(KeyWithdrawArgs),
}

#[derive(Debug, Args)]
pub struct KeyWithdrawArgs {
    /// The brand key.
    #[arg(long)]
    pub brand: String,
    /// The key's `kid` (it may begin with `-`).
    #[arg(allow_hyphen_values = true)]
    pub kid: String,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    /// The brand key.
    #[arg(long)]
    pub brand: String,
    /// The token's `jti` claim (it may begin with `-`).
    #[arg(allow_hyphen_values = true)]
    pub jti: String,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ClientChangeArgs {
    /// The brand key.
    #[arg(long)]
    pub brand: String,
    /// The client id (it may begin with `-`).
    #[arg(allow_hyphen_values = true)]
    pub client_id: String,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PrincipalChangeArgs {
    /// The brand key.
    #[arg(long)]
    pub brand: String,
    /// Login name.
    #[arg(long)]
    pub username: String,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum PrincipalCommand {
    /// Create one; the password is read from standard input.
    Create(PrincipalCreateArgs),
    /// Allow sign-in again.
    Enable(PrincipalChangeArgs),
    /// Refuse sign-in and revoke every token issued to them.
    Disable(PrincipalChangeArgs),
    /// Delete and revoke every token issued to them.
    Delete(PrincipalChangeArgs),
}

#[derive(Debug, Args)]
pub struct PrincipalCreateArgs {
    /// The brand key.
    #[arg(long)]
    pub brand: String,
    /// Login name, unique in the brand.
    #[arg(long)]
    pub username: String,
    /// Read the password from the first line of standard input (the only way to give it, so
    /// that it never appears in a process list or shell history).
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// A permission (scope) the principal may be granted; repeat or space-separate for several.
    #[arg(long = "permission", num_args = 1..)]
    pub permissions: Vec<String>,
    /// Email address (the `email` claim of OpenID Connect).
    #[arg(long)]
    pub email: Option<String>,
    /// Full name (the `name` claim of OpenID Connect).
    #[arg(long)]
    pub name: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Which listeners to run.
    #[arg(value_enum, default_value_t = Listeners::All)]
    pub listeners: Listeners,
    /// Allow a plain http:// public URL on a non-loopback host (development only).
    #[arg(long)]
    pub dev: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Listeners {
    /// Public and admin.
    All,
    /// Only the public OAuth endpoints.
    Public,
    /// Only the admin listener.
    Admin,
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Create another platform admin even if one exists.
    #[arg(long)]
    pub force_new_admin: bool,
}

#[derive(Debug, Subcommand)]
pub enum BrandCommand {
    /// Create a brand with its first signing key.
    Create(BrandCreateArgs),
}

#[derive(Debug, Args)]
pub struct BrandCreateArgs {
    /// The brand key (letters, digits, '.', '_', '-').
    pub key: String,
    /// Display name (defaults to the key).
    #[arg(long)]
    pub name: Option<String>,
    /// Signing algorithm of the brand's keys.
    #[arg(long, default_value = "EdDSA", value_parser = ["EdDSA", "ES256", "RS256"])]
    pub algorithm: String,
    /// Require an explicit audience at the token endpoint.
    #[arg(long)]
    pub require_audience: bool,
    /// The name shown on the brand's login page (defaults to the name).
    #[arg(long)]
    pub display_name: Option<String>,
    /// An https:// URL of the logo shown on the brand's login page.
    #[arg(long)]
    pub logo_url: Option<String>,
    /// The login page's primary colour, as #rrggbb.
    #[arg(long)]
    pub primary_color: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create a client; its secret is printed once.
    Create(ClientCreateArgs),
    /// Allow the client to authenticate again.
    Enable(ClientChangeArgs),
    /// Refuse the client and revoke its tokens.
    Disable(ClientChangeArgs),
    /// Delete the client and revoke its tokens.
    Delete(ClientChangeArgs),
}

#[derive(Debug, Args)]
pub struct ClientCreateArgs {
    /// The brand key.
    #[arg(long)]
    pub brand: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Enabled grant type (repeat or space-separate for several).
    #[arg(long = "grant", required = true, num_args = 1..)]
    pub grants: Vec<String>,
    /// Allowed scope (repeat or space-separate for several).
    #[arg(long = "scope", num_args = 1..)]
    pub scopes: Vec<String>,
    /// Default scope, granted when none is requested.
    #[arg(long = "default-scope", num_args = 1..)]
    pub default_scopes: Vec<String>,
    /// Allowed audience.
    #[arg(long = "audience", num_args = 1..)]
    pub audiences: Vec<String>,
    /// Access-token lifetime in seconds.
    #[arg(long)]
    pub access_ttl: Option<u32>,
    /// Refresh-token lifetime in seconds.
    #[arg(long)]
    pub refresh_ttl: Option<u32>,
    /// Where the authorization endpoint may send users back to (exact match; repeat for
    /// several). Required with the authorization_code grant.
    #[arg(long = "redirect-uri", num_args = 1..)]
    pub redirect_uris: Vec<String>,
    /// Where logout may send users back to (exact match; repeat for several).
    #[arg(long = "post-logout-redirect-uri", num_args = 1..)]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (browser or native app): no secret, PKCE only; authorization_code and
    /// refresh_token grants only.
    #[arg(long)]
    pub public: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// Server-generated ids are base64url and may begin with `-`: they are values, not flags.
    #[test]
    fn ids_beginning_with_a_dash_are_values() {
        let cli = Cli::try_parse_from(["portcullis", "token", "revoke", "--brand", "acme", "-vngrZGMfbDuYA7U4bUG4A"])
            .expect("a jti beginning with '-'");
        assert!(
            matches!(cli.command, Command::Token(TokenCommand::Revoke(args)) if args.jti == "-vngrZGMfbDuYA7U4bUG4A")
        );
        let cli = Cli::try_parse_from(["portcullis", "client", "disable", "--brand", "acme", "-x1", "--json"])
            .expect("a client id beginning with '-'");
        assert!(
            matches!(cli.command, Command::Client(ClientCommand::Disable(args)) if args.client_id == "-x1" && args.json)
        );
    }
}
