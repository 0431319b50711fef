//! The server under soak: a release `portcullis serve` on a fresh SQLite file or on a fresh
//! database in the bench's throwaway PostgreSQL cluster, with the brand, clients and user the
//! workload needs ([`Accounts`]).

use std::net::SocketAddr;

use crate::bench::postgres::Cluster;
use crate::bench::server::{Binary, Credentials, Database, Server};

/// The brand every request goes to.
pub(crate) const BRAND: &str = "soak";
/// The scope of the token clients and the user.
const SCOPE: &str = "read";
/// The scope that lets a token read its own brand over the management API.
const ADMIN_SCOPE: &str = "brand:admin";
/// The user of the password grant.
pub(crate) const USERNAME: &str = "soak-user";
/// Their password (a throwaway database).
pub(crate) const PASSWORD: &str = "soak password, not a secret";

/// A running server and, on Postgres, the cluster it uses. Fields drop in order: the server
/// stops before its cluster does.
#[derive(Debug)]
pub(crate) struct Target {
    pub(crate) server: Server,
    _cluster: Option<Cluster>,
    /// What the database is, in words.
    pub(crate) database: String,
}

impl Target {
    /// Starts the server on a fresh SQLite file, or on a fresh Postgres database when `postgres`.
    pub(crate) fn start(binary: &Binary, postgres: bool) -> anyhow::Result<Self> {
        let cluster = if postgres { Some(Cluster::start()?) } else { None };
        let (database, description) = match &cluster {
            None => (Database::Sqlite, "a fresh SQLite file".to_owned()),
            Some(cluster) => (
                Database::Postgres(cluster.url().to_owned()),
                format!("a fresh database in a throwaway PostgreSQL {} cluster on the same machine", cluster.major()),
            ),
        };
        let server = Server::start(binary, &database, BRAND)?;
        Ok(Self { server, _cluster: cluster, database: description })
    }
}

/// Where the workload sends its requests, and as whom.
#[derive(Debug, Clone)]
pub(crate) struct Accounts {
    /// The public listener (OAuth endpoints).
    pub(crate) public: SocketAddr,
    /// The admin listener (GraphQL).
    pub(crate) admin: SocketAddr,
    /// A `client_credentials` client: its tokens are introspected and revoked.
    pub(crate) machine: Credentials,
    /// A `password` + `refresh_token` client for the user's chains.
    pub(crate) web: Credentials,
    /// A `client_credentials` client with `brand:admin`, for the management API.
    pub(crate) admin_client: Credentials,
}

impl Accounts {
    /// Creates the clients and the user on `server` (offline CLI calls beside it).
    pub(crate) fn provision(server: &Server) -> anyhow::Result<Self> {
        let machine = server.client(BRAND, "soak-machine", &["client_credentials"], SCOPE)?;
        let web = server.client(BRAND, "soak-web", &["password", "refresh_token"], SCOPE)?;
        let admin_client = server.client(BRAND, "soak-admin", &["client_credentials"], ADMIN_SCOPE)?;
        server.user(BRAND, USERNAME, PASSWORD, SCOPE)?;
        Ok(Self { public: server.public_addr(), admin: server.admin_addr(), machine, web, admin_client })
    }

    /// A path under the brand: `/brands/soak/{rest}`.
    pub(crate) fn path(rest: &str) -> String {
        format!("/brands/{BRAND}/{rest}")
    }
}
