//! The operations of the soak and how often each connection runs them: a fixed cycle built from
//! [`WEIGHTS`] by smooth weighted round-robin, so that every operation recurs evenly.

/// One kind of request the soak sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// `grant_type=client_credentials` at the token endpoint.
    ClientCredentials,
    /// `grant_type=password` for the provisioned user (an Argon2id check each): starts a
    /// refresh-token chain.
    Password,
    /// `grant_type=refresh_token` with the newest refresh token of the connection's chain.
    Refresh,
    /// Introspection of the connection's newest `client_credentials` access token.
    Introspection,
    /// Revocation of the connection's oldest `client_credentials` access token (and of the
    /// chain's refresh token when a `password` grant replaces the chain).
    Revocation,
    /// A GraphQL read on the admin listener: the brand's clients.
    AdminRead,
}

impl Operation {
    /// Every operation, in report order.
    pub(crate) const ALL: [Self; 6] = [
        Self::ClientCredentials,
        Self::Password,
        Self::Refresh,
        Self::Introspection,
        Self::Revocation,
        Self::AdminRead,
    ];

    /// The operation's position in [`Operation::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The operation's name in reports.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::ClientCredentials => "client_credentials",
            Self::Password => "password",
            Self::Refresh => "refresh_token",
            Self::Introspection => "introspection",
            Self::Revocation => "revocation",
            Self::AdminRead => "admin read",
        }
    }

    /// A short column heading.
    pub(crate) fn short(self) -> &'static str {
        match self {
            Self::ClientCredentials => "cc",
            Self::Password => "pw",
            Self::Refresh => "refresh",
            Self::Introspection => "introspect",
            Self::Revocation => "revoke",
            Self::AdminRead => "admin",
        }
    }
}

/// How many of each operation one cycle holds. A `password` grant is far slower than the rest
/// (the Argon2id check), so it is rare; it also revokes the chain it replaces.
pub(crate) const WEIGHTS: [(Operation, u32); 6] = [
    (Operation::ClientCredentials, 10),
    (Operation::Password, 1),
    (Operation::Refresh, 8),
    (Operation::Introspection, 12),
    (Operation::Revocation, 5),
    (Operation::AdminRead, 4),
];

/// One connection's cycle: [`WEIGHTS`] interleaved by smooth weighted round-robin (each step
/// every operation gains its weight, the richest is picked and pays the total).
pub(crate) fn cycle() -> Vec<Operation> {
    let total: i64 = WEIGHTS.iter().map(|&(_, weight)| i64::from(weight)).sum();
    let mut credit = [0i64; WEIGHTS.len()];
    let mut cycle = Vec::new();
    for _ in 0..total {
        for (credit, &(_, weight)) in credit.iter_mut().zip(&WEIGHTS) {
            *credit += i64::from(weight);
        }
        let Some((richest, _)) = credit.iter().enumerate().max_by_key(|&(i, c)| (*c, std::cmp::Reverse(i))) else {
            break;
        };
        credit[richest] -= total;
        cycle.push(WEIGHTS[richest].0);
    }
    cycle
}

/// The mix in words, for the report: `client_credentials 10, password 1, …` per cycle.
pub(crate) fn describe() -> String {
    let total: u32 = WEIGHTS.iter().map(|&(_, weight)| weight).sum();
    let parts: Vec<String> = WEIGHTS.iter().map(|&(op, weight)| format!("`{}` {weight}", op.label())).collect();
    format!("{} of every {total} requests", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::{Operation, WEIGHTS, cycle};

    #[test]
    fn the_cycle_holds_each_operation_by_its_weight() {
        let cycle = cycle();
        assert_eq!(cycle.len(), 40);
        for (op, weight) in WEIGHTS {
            assert_eq!(cycle.iter().filter(|&&o| o == op).count(), weight as usize, "{op:?}");
        }
        // Spread out: the commonest operation never runs three times in a row.
        assert!(cycle.windows(3).all(|w| !(w[0] == w[1] && w[1] == w[2])), "{cycle:?}");
    }

    #[test]
    fn indexes_follow_all() {
        for (i, op) in Operation::ALL.iter().enumerate() {
            assert_eq!(op.index(), i);
        }
    }
}
