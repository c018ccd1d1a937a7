// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AllowancePermit} from "./IIntentTypes.sol";

/// @notice Errors of the allowance vault (also part of the executor's ABI, as pulls bubble them).
interface IAllowanceVaultErrors {
    /// @notice Only the executor that deployed the vault may pull.
    error NotExecutor(address caller);
    /// @notice The pull is larger than what the owner allows for this token.
    error AllowanceExceeded(address owner, address token, uint256 requested, uint256 available);
    /// @notice The owner's allowance for this token has expired.
    error AllowanceExpired(address owner, address token, uint256 expiration);
    /// @notice The permit was submitted after its deadline.
    error PermitExpired(uint256 deadline);
    /// @notice The permit's nonce is not the owner's current nonce for this token.
    error InvalidPermitNonce(address owner, address token, uint256 expected, uint256 given);
    /// @notice The permit's signature is not the owner's.
    error InvalidPermitSignature(address owner);
}

/// @title Allowance vault
/// @notice Users `ERC20.approve` this vault, then grant per-token allowances (amount + expiry)
/// in it. Only the executor can pull, only within those allowances, and only to itself or to a
/// buyer of the same settlement whose received amount it measures (a direct leg). No
/// interaction of a settlement can call the vault (the executor refuses it as a target), so a
/// malicious interaction list cannot touch standing token approvals (CoW's vault-relayer idea).
interface IAllowanceVault is IAllowanceVaultErrors {
    /// @notice An allowance was set (directly or by permit). `nonce` is the next permit nonce.
    event AllowanceSet(
        address indexed owner, address indexed token, uint160 amount, uint48 expiration, uint48 nonce
    );
    /// @notice The owner revoked the allowance for `token` and every outstanding permit for it.
    event Lockdown(address indexed owner, address indexed token);

    /// @notice The executor allowed to pull (fixed at deployment).
    function executor() external view returns (address);

    /// @notice The owner's allowance for `token`.
    /// @return amount left to pull (type(uint160).max = unlimited, never spent down)
    /// @return expiration unix seconds after which pulls fail (0 = never set)
    /// @return nonce the next permit nonce for this (owner, token)
    function allowance(
        address owner,
        address token
    ) external view returns (uint160 amount, uint48 expiration, uint48 nonce);

    /// @notice Sets the caller's allowance for `token` and invalidates every permit for it the
    /// caller signed and nobody submitted yet (the permit nonce moves on).
    /// @param amount the most the executor may pull in total (type(uint160).max = unlimited)
    /// @param expiration unix seconds; pulls after it fail
    function approve(address token, uint160 amount, uint48 expiration) external;

    /// @notice Sets an allowance from the owner's EIP-712 signature (anyone may submit it). The
    /// signature rule is settle's for intents: ECDSA by the owner's key, else ERC-1271.
    /// @dev Reverts with PermitExpired, InvalidPermitNonce or InvalidPermitSignature.
    function permit(AllowancePermit calldata permit_, bytes calldata signature) external;

    /// @notice Revokes the caller's allowances for `tokens` and every outstanding permit for them.
    function lockdown(address[] calldata tokens) external;

    /// @notice EIP-712 digest of a permit in this vault's domain.
    function hashPermit(AllowancePermit calldata permit_) external view returns (bytes32);

    /// @notice Moves `amount` of `token` from `owner` to `to`, spending the allowance.
    /// @dev Only the executor; it calls this only while settling a verified intent, with `to`
    /// itself or the owner of a buy leg of that settlement in `token` (a direct leg).
    function pull(address owner, address token, uint256 amount, address to) external;
}
