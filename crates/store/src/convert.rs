//! Conversions between rows and tenancy records.

use portcullis_core::{ActType, BrandKey, ClientId, GrantType, Jti, KeyId, Scope, ScopeSet, SigningAlgorithm};
use portcullis_tenancy::{
    AuditEvent, Brand, BrandId, BrandSettings, Branding, Client, ClientProfile, IssuedToken, KeyStatus, Principal,
    PrincipalKind, RefreshStatus, RefreshToken, StoreResult, StoredKey, TokenAttribute, TokenStatus,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::entity::{audit_events, brands, clients, issued_tokens, principals, refresh_tokens, signing_keys};
use crate::error::corrupt;

/// Serialises a list column.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    // Serialising plain strings and enums cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

/// Parses a list column.
pub(crate) fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

pub(crate) fn ttl_to_db(ttl: Option<u32>) -> Option<i32> {
    ttl.map(|t| i32::try_from(t).unwrap_or(i32::MAX))
}

fn ttl_from_db(ttl: Option<i32>) -> Option<u32> {
    ttl.and_then(|t| u32::try_from(t).ok())
}

pub(crate) fn act_type_str(act: ActType) -> &'static str {
    act.as_str()
}

fn act_type_parse(text: &str) -> StoreResult<ActType> {
    match text {
        "client" => Ok(ActType::Client),
        "user" => Ok(ActType::User),
        "operator" => Ok(ActType::Operator),
        other => Err(corrupt("act_type", other)),
    }
}

pub(crate) fn brand(row: brands::Model) -> StoreResult<Brand> {
    Ok(Brand {
        id: BrandId(row.id),
        key: BrandKey::parse_existing(row.key).map_err(|e| corrupt("brand key", e))?,
        name: row.name,
        settings: BrandSettings {
            signing_algorithm: row.signing_algorithm.parse::<SigningAlgorithm>().map_err(|e| corrupt("brand", e))?,
            require_audience: row.require_audience,
            access_ttl: ttl_from_db(row.access_ttl),
            refresh_ttl: ttl_from_db(row.refresh_ttl),
            allowed_grants: row
                .allowed_grants
                .as_deref()
                .map(|g| from_json::<Vec<GrantType>>("allowed grants", g))
                .transpose()?,
            scope_catalog: from_json::<Vec<Scope>>("scope catalog", &row.scope_catalog)?,
            branding: Branding {
                display_name: row.display_name,
                logo_url: row.logo_url,
                primary_color: row.primary_color,
            },
        },
        created_at: row.created_at,
    })
}

pub(crate) fn client(row: clients::Model) -> StoreResult<Client> {
    Ok(Client {
        client_id: ClientId::parse(row.client_id).map_err(|e| corrupt("client", e))?,
        profile: ClientProfile {
            name: row.name,
            grant_types: from_json("grant types", &row.grant_types)?,
            scopes: from_json::<ScopeSet>("scopes", &row.scopes)?,
            default_scopes: from_json::<ScopeSet>("default scopes", &row.default_scopes)?,
            audiences: from_json("audiences", &row.audiences)?,
            access_ttl: ttl_from_db(row.access_ttl),
            refresh_ttl: ttl_from_db(row.refresh_ttl),
            redirect_uris: from_json("redirect URIs", &row.redirect_uris)?,
            post_logout_redirect_uris: from_json("post-logout redirect URIs", &row.post_logout_redirect_uris)?,
            public: row.public,
        },
        secret_hash: row.secret_hash,
        previous_secret_hash: row.previous_secret_hash,
        previous_secret_expires_at: row.previous_secret_expires_at,
        enabled: row.enabled,
        created_at: row.created_at,
    })
}

pub(crate) fn principal(row: principals::Model) -> StoreResult<Principal> {
    Ok(Principal {
        id: row.principal_id,
        kind: PrincipalKind::parse(&row.kind).ok_or_else(|| corrupt("principal kind", &row.kind))?,
        username: row.username,
        password_hash: row.password_hash,
        permissions: from_json("permissions", &row.permissions)?,
        enabled: row.enabled,
        created_at: row.created_at,
        api_token_issued_at: row.api_token_issued_at,
        email: row.email,
        name: row.name,
    })
}

pub(crate) fn refresh(row: refresh_tokens::Model) -> StoreResult<RefreshToken> {
    Ok(RefreshToken {
        token_hash: row.token_hash,
        family_id: row.family_id,
        client_id: ClientId::parse(row.client_id).map_err(|e| corrupt("refresh token", e))?,
        subject: row.subject,
        act_type: act_type_parse(&row.act_type)?,
        scopes: from_json("refresh scopes", &row.scopes)?,
        audience: from_json("refresh audience", &row.audience)?,
        issued_at: row.issued_at,
        expires_at: row.expires_at,
        status: RefreshStatus::parse(&row.status).ok_or_else(|| corrupt("refresh status", &row.status))?,
        rotated_at: row.rotated_at,
    })
}

pub(crate) fn key(row: signing_keys::Model) -> StoreResult<StoredKey> {
    Ok(StoredKey {
        kid: KeyId::parse(row.kid).map_err(|e| corrupt("key", e))?,
        algorithm: row.algorithm.parse().map_err(|e| corrupt("key", e))?,
        status: KeyStatus::parse(&row.status).ok_or_else(|| corrupt("key status", &row.status))?,
        sealed_private_key: row.sealed_private_key,
        public_jwk: row.public_jwk,
        created_at: row.created_at,
        activated_at: row.activated_at,
        retired_at: row.retired_at,
        publish_until: row.publish_until,
    })
}

pub(crate) fn token(row: issued_tokens::Model) -> StoreResult<IssuedToken> {
    Ok(IssuedToken {
        jti: Jti::parse(row.jti).map_err(|e| corrupt("token", e))?,
        client_id: ClientId::parse(row.client_id).map_err(|e| corrupt("token", e))?,
        subject: row.subject,
        act_type: act_type_parse(&row.act_type)?,
        grant_type: row.grant_type.parse().map_err(|e| corrupt("token", e))?,
        scopes: from_json("token scopes", &row.scopes)?,
        audience: from_json("token audience", &row.audience)?,
        issued_at: row.issued_at,
        expires_at: row.expires_at,
        status: TokenStatus::parse(&row.status).ok_or_else(|| corrupt("token status", &row.status))?,
        family_id: row.family_id,
        attributes: from_json::<Vec<Attribute>>("token attributes", &row.attributes)?
            .into_iter()
            .map(|a| TokenAttribute { name: a.name, value: a.value })
            .collect(),
    })
}

/// The stored form of a token attribute.
#[derive(Serialize, serde::Deserialize)]
struct Attribute {
    name: String,
    value: String,
}

/// Token attributes as stored.
pub(crate) fn attributes_json(attributes: &[TokenAttribute]) -> String {
    let stored: Vec<Attribute> =
        attributes.iter().map(|a| Attribute { name: a.name.clone(), value: a.value.clone() }).collect();
    to_json(&stored)
}

pub(crate) fn audit(row: audit_events::Model) -> AuditEvent {
    AuditEvent {
        at: row.at,
        actor: row.actor,
        action: row.action,
        target: row.target,
        source: row.source,
        detail: row.detail,
    }
}
