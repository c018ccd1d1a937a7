// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

import {Interaction} from "../interfaces/IIntentTypes.sol";
import {TokenLedger} from "../libraries/TokenLedger.sol";
import {ExecutorAdmin} from "./ExecutorAdmin.sol";

/// @title A settlement's interactions
/// @notice Runs the keeper's interactions as plain CALLs (never DELEGATECALL) of allow-listed
/// (target, selector) pairs only, and ends with no approval the executor granted left unspent.
/// @dev A positive allow-list, like CoW's settlement: what a call may do is what its exact
/// function on its exact contract does, so no wrapper (multicall, ERC-1363 `...AndCall`) and no
/// alternative name for spending or granting an allowance (`increaseApproval`,
/// `setApprovalForAll`, `authorizeOperator`, `temporaryApprove`, `burn(address,uint256)`...) is
/// reachable unless the owner lists it. Three listed selectors get argument checks:
/// - ERC-20 `approve(spender, amount)`: the spender must be an entry point, and when the
///   interactions end the allowance must be 0 again (approve exactly what the next call spends);
/// - ERC-20 `transfer(to, amount)`: the recipient must be an entry point;
/// - ERC-4626 `withdraw`/`redeem(amount, receiver, owner)`: the owner must be the executor
///   (otherwise they spend a share allowance someone granted the executor).
/// The token these send or let be spent (the target) joins the settlement's ledger before any
/// interaction runs, so the no-deficit check covers it: an interaction can pass on what the
/// batch brought in (a pull, or an earlier swap's output, as in a multi-hop route), never what
/// rested in the executor before the batch.
abstract contract Interactions is ExecutorAdmin {
    using TokenLedger for TokenLedger.Ledger;

    bytes4 private constant ERC4626_WITHDRAW = IERC4626.withdraw.selector;
    bytes4 private constant ERC4626_REDEEM = IERC4626.redeem.selector;

    /// @dev Checks every interaction (allow-list, argument rules) and records the tokens they
    /// may move, then runs them in order, then checks that every allowance an `approve` among
    /// them granted is spent.
    function _interactAll(
        Interaction[] calldata interactions,
        TokenLedger.Ledger memory ledger
    ) internal {
        uint256 count = interactions.length;
        bool approved = false;
        for (uint256 k; k < count; ++k) {
            approved = _check(interactions[k], ledger) || approved;
        }
        for (uint256 k; k < count; ++k) {
            _run(k, interactions[k]);
        }
        if (approved) _checkApprovalsSpent(interactions);
    }

    /// @dev One interaction's allow-list entry and argument rules; records the token it may
    /// move (before any interaction runs). Returns whether it is an `approve`.
    function _check(
        Interaction calldata interaction,
        TokenLedger.Ledger memory ledger
    ) private view returns (bool isApprove) {
        address target = interaction.target;
        bytes calldata data = interaction.callData;
        bytes4 selector = _selectorOf(data);
        if (!isAllowedCall(target, selector)) revert CallNotAllowed(target, selector);
        isApprove = selector == APPROVE;
        if (isApprove || selector == TRANSFER) {
            address spender = _addressArg(data, 0);
            if (!isEntryPoint(spender)) revert SpenderNotAllowed(target, spender);
            ledger.track(target);
        } else if (selector == ERC4626_WITHDRAW || selector == ERC4626_REDEEM) {
            if (_addressArg(data, 2) != address(this)) revert ForbiddenSelector(target, selector);
            ledger.track(target);
        }
    }

    /// @dev One interaction's plain CALL.
    function _run(uint256 index, Interaction calldata interaction) private {
        address target = interaction.target;
        bytes calldata data = interaction.callData;
        (bool ok, bytes memory reason) = target.call{value: interaction.value}(data);
        if (!ok) revert InteractionFailed(index, target, reason);
        emit InteractionExecuted(target, interaction.value, _selectorOf(data));
    }

    /// @dev The first four bytes of `data` (0 if shorter).
    function _selectorOf(bytes calldata data) private pure returns (bytes4) {
        return data.length >= 4 ? bytes4(data[:4]) : bytes4(0);
    }

    /// @dev Every (token, spender) an `approve` interaction named must have allowance 0 now:
    /// an allowance left standing would let the spender take the executor's tokens after the
    /// batch and its no-deficit check, even after the keeper that granted it was removed.
    function _checkApprovalsSpent(Interaction[] calldata interactions) private view {
        for (uint256 k; k < interactions.length; ++k) {
            bytes calldata data = interactions[k].callData;
            if (_selectorOf(data) != APPROVE) continue;
            address token = interactions[k].target;
            address spender = _addressArg(data, 0);
            uint256 remaining = IERC20(token).allowance(address(this), spender);
            if (remaining != 0) revert ApprovalOutlivesBatch(token, spender, remaining);
        }
    }

    /// @dev Static argument `index` of `data` (after the selector) as an address: its low 20
    /// bytes, as a masking ABI decoder reads it (a strict one reverts on dirty bits). address(0)
    /// if `data` is too short to hold it.
    function _addressArg(bytes calldata data, uint256 index) private pure returns (address) {
        uint256 end = 36 + 32 * index;
        if (data.length < end) return address(0);
        return address(uint160(uint256(bytes32(data[end - 32:end]))));
    }
}
