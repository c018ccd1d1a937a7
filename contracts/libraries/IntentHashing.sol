// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RebalanceIntent, TokenAmount, AllowancePermit} from "../interfaces/IIntentTypes.sol";

/// @title EIP-712 struct hashes of intents and permits
/// @notice The type strings here are the contract's half of the off-chain/on-chain agreement;
/// keeper/intents/types.py holds the same strings, and a test compares the digests.
library IntentHashing {
    // Single string literals, so the optimizer folds each keccak256 at compile time (a
    // concatenation would be re-hashed on every use: constants are inlined expressions).
    bytes32 internal constant TOKEN_AMOUNT_TYPEHASH =
        keccak256("TokenAmount(address token,uint256 amount)");

    bytes32 internal constant EMPTY_ARRAY_HASH = keccak256("");

    bytes32 internal constant REBALANCE_INTENT_TYPEHASH =
        keccak256(
            "RebalanceIntent(address owner,address executor,address keeper,uint256 nonce,uint256 validAfter,uint256 deadline,TokenAmount[] sells,TokenAmount[] buys,address feeToken,uint256 maxFee)TokenAmount(address token,uint256 amount)"
        );

    bytes32 internal constant ALLOWANCE_PERMIT_TYPEHASH = keccak256(
        "AllowancePermit(address owner,address token,uint160 amount,uint48 expiration,uint48 nonce,uint256 deadline)"
    );

    /// @notice hashStruct(intent) per EIP-712 (arrays of structs hash the concatenated struct hashes).
    function hash(RebalanceIntent calldata intent) internal pure returns (bytes32) {
        return hash(intent, intent.sells, intent.buys);
    }

    /// @notice hash(intent), given its sells and buys already located in calldata.
    function hash(
        RebalanceIntent calldata intent,
        TokenAmount[] calldata sells,
        TokenAmount[] calldata buys
    ) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                REBALANCE_INTENT_TYPEHASH,
                intent.owner,
                intent.executor,
                intent.keeper,
                intent.nonce,
                intent.validAfter,
                intent.deadline,
                hashLegs(sells),
                hashLegs(buys),
                intent.feeToken,
                intent.maxFee
            )
        );
    }

    /// @notice keccak256 of the concatenated TokenAmount struct hashes.
    /// @dev Zero and one leg (the common cases) skip the array allocation.
    function hashLegs(TokenAmount[] calldata legs) internal pure returns (bytes32) {
        uint256 count = legs.length;
        if (count == 0) return EMPTY_ARRAY_HASH;
        if (count == 1) return keccak256(abi.encode(hashLeg(legs[0])));
        bytes32[] memory hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            hashes[i] = hashLeg(legs[i]);
        }
        return keccak256(abi.encodePacked(hashes));
    }

    /// @notice hashStruct(leg) per EIP-712.
    function hashLeg(TokenAmount calldata leg) internal pure returns (bytes32) {
        return keccak256(abi.encode(TOKEN_AMOUNT_TYPEHASH, leg.token, leg.amount));
    }

    /// @notice hashStruct(permit) per EIP-712.
    function hash(AllowancePermit calldata permit) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                ALLOWANCE_PERMIT_TYPEHASH,
                permit.owner,
                permit.token,
                permit.amount,
                permit.expiration,
                permit.nonce,
                permit.deadline
            )
        );
    }
}
