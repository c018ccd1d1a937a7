// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RebalanceIntent, TokenAmount, AllowancePermit} from "../interfaces/IIntentTypes.sol";

/// @title EIP-712 struct hashes of intents and permits
/// @notice The type strings here are the contract's half of the off-chain/on-chain agreement;
/// keeper/intents/types.py holds the same strings, and a test compares the digests.
library IntentHashing {
    bytes internal constant TOKEN_AMOUNT_TYPE = "TokenAmount(address token,uint256 amount)";
    bytes32 internal constant TOKEN_AMOUNT_TYPEHASH = keccak256(TOKEN_AMOUNT_TYPE);

    bytes32 internal constant REBALANCE_INTENT_TYPEHASH = keccak256(
        abi.encodePacked(
            "RebalanceIntent(address owner,address executor,address keeper,uint256 nonce,",
            "uint256 validAfter,uint256 deadline,TokenAmount[] sells,TokenAmount[] buys,",
            "address feeToken,uint256 maxFee)",
            TOKEN_AMOUNT_TYPE
        )
    );

    bytes32 internal constant ALLOWANCE_PERMIT_TYPEHASH = keccak256(
        "AllowancePermit(address owner,address token,uint160 amount,uint48 expiration,uint48 nonce,uint256 deadline)"
    );

    /// @notice hashStruct(intent) per EIP-712 (arrays of structs hash the concatenated struct hashes).
    function hash(RebalanceIntent calldata intent) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                REBALANCE_INTENT_TYPEHASH,
                intent.owner,
                intent.executor,
                intent.keeper,
                intent.nonce,
                intent.validAfter,
                intent.deadline,
                hashLegs(intent.sells),
                hashLegs(intent.buys),
                intent.feeToken,
                intent.maxFee
            )
        );
    }

    /// @notice keccak256 of the concatenated TokenAmount struct hashes.
    function hashLegs(TokenAmount[] calldata legs) internal pure returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](legs.length);
        for (uint256 i; i < legs.length; ++i) {
            hashes[i] = keccak256(abi.encode(TOKEN_AMOUNT_TYPEHASH, legs[i].token, legs[i].amount));
        }
        return keccak256(abi.encodePacked(hashes));
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
