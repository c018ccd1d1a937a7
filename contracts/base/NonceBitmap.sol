// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IBatchExecutor} from "../interfaces/IBatchExecutor.sol";

/// @title Unordered nonces (permit2-style bitmap)
/// @notice Nonce n of an owner is bit (n & 0xff) of word (n >> 8). Intents can settle in any
/// order, each at most once; a user cancels any set of them with one invalidateNonces call.
abstract contract NonceBitmap is IBatchExecutor {
    mapping(address owner => mapping(uint256 word => uint256 bits)) private _nonceBitmap;

    /// @inheritdoc IBatchExecutor
    function invalidateNonces(uint256 word, uint256 mask) external {
        _nonceBitmap[msg.sender][word] |= mask;
        emit NoncesInvalidated(msg.sender, word, mask);
    }

    /// @inheritdoc IBatchExecutor
    function nonceBitmap(address owner, uint256 word) external view returns (uint256) {
        return _nonceBitmap[owner][word];
    }

    /// @inheritdoc IBatchExecutor
    function isNonceUsed(address owner, uint256 nonce) public view returns (bool) {
        return _nonceBitmap[owner][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @dev Marks `nonce` used; reverts if it already was (settled or cancelled).
    function _useNonce(address owner, uint256 nonce) internal {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 flipped = _nonceBitmap[owner][nonce >> 8] ^= bit;
        if (flipped & bit == 0) revert NonceAlreadyUsed(owner, nonce);
    }
}
