// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// The shapes a user signs and a keeper submits. Mirrored field for field by
// keeper/intents/types.py; the EIP-712 type string is in libraries/IntentHashing.sol and
// docs/INTENTS.md. settle takes orders (intent + signature + the keeper's amounts) packed,
// not as ABI structs: see libraries/PackedOrders.sol.

/// @notice One leg of an intent: a token and an amount (a maximum for sells, a minimum for buys).
struct TokenAmount {
    address token;
    uint256 amount;
}

/// @notice What a user signs: the limits of one multi-asset rebalance.
/// @dev Why each field is signed:
/// - owner: whose tokens move; the signature must come from this address (or its ERC-1271 code).
/// - executor: binds the intent to one BatchExecutor deployment (the domain binds it too; the
///   explicit field lets wallets show it and keeps the struct meaningful outside the domain).
/// - keeper: lets a user pick who may settle (address(0) = any allow-listed keeper).
/// - nonce: one intent settles at most once, and the user can cancel it (unordered bitmap).
/// - validAfter / deadline: the time window; a stale intent cannot be replayed at a bad price.
/// - sells: per token, the most that may leave the owner's wallet.
/// - buys: per token, the least the owner's balance must grow by (measured, not trusted).
/// - feeToken / maxFee: the cap on the explicit keeper fee, so the keeper cannot name its price.
struct RebalanceIntent {
    address owner;
    address executor;
    address keeper;
    uint256 nonce;
    uint256 validAfter;
    uint256 deadline;
    TokenAmount[] sells;
    TokenAmount[] buys;
    address feeToken;
    uint256 maxFee;
}

/// @notice A plain CALL made by the executor between pulling sells and delivering buys.
struct Interaction {
    address target;
    uint256 value;
    bytes callData;
}

/// @notice A signed allowance for the vault, so a user can set one without sending a transaction.
/// @dev nonce must equal the stored per-(owner, token) nonce, which then increments; deadline
/// bounds when the permit may be submitted (expiration bounds the allowance itself).
struct AllowancePermit {
    address owner;
    address token;
    uint160 amount;
    uint48 expiration;
    uint48 nonce;
    uint256 deadline;
}
