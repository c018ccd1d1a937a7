// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IBatchExecutorErrors as E} from "../interfaces/IBatchExecutor.sol";

/// @title The executor's books for one settlement
/// @notice Every token a settlement touches, with the executor's own balance before the token
/// first moved, so the settlement can end by checking that no token ended below it.
/// @dev One balanceOf per token per batch (not per order). The arrays start small and double
/// when full, so a batch needs no counting pass over its orders.
library TokenLedger {
    struct Ledger {
        address[] tokens;
        uint256[] before;
        uint256 count;
    }

    /// @notice An empty ledger with room for `capacity` tokens (it grows past that).
    function create(uint256 capacity) internal pure returns (Ledger memory ledger) {
        ledger.tokens = new address[](capacity);
        ledger.before = new uint256[](capacity);
    }

    /// @notice Records `token`'s balance the first time the settlement sees it (before it moves).
    function track(Ledger memory ledger, address token) internal view {
        address[] memory tokens = ledger.tokens;
        uint256 count = ledger.count;
        for (uint256 t; t < count; ++t) {
            if (tokens[t] == token) return;
        }
        if (count == tokens.length) tokens = _grow(ledger);
        tokens[count] = token;
        ledger.before[count] = IERC20(token).balanceOf(address(this));
        ledger.count = count + 1;
    }

    /// @notice Reverts with TokenDeficit if any tracked token ended below its starting balance.
    function checkNoDeficit(Ledger memory ledger) internal view {
        address[] memory tokens = ledger.tokens;
        uint256[] memory before = ledger.before;
        uint256 count = ledger.count;
        for (uint256 t; t < count; ++t) {
            uint256 afterBalance = IERC20(tokens[t]).balanceOf(address(this));
            if (afterBalance < before[t]) revert E.TokenDeficit(tokens[t], before[t], afterBalance);
        }
    }

    function _grow(Ledger memory ledger) private pure returns (address[] memory tokens) {
        uint256 count = ledger.count;
        tokens = new address[](2 * count + 1);
        uint256[] memory before = new uint256[](2 * count + 1);
        for (uint256 t; t < count; ++t) {
            tokens[t] = ledger.tokens[t];
            before[t] = ledger.before[t];
        }
        ledger.tokens = tokens;
        ledger.before = before;
    }
}
