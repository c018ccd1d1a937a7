// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IAllowanceVault, IAllowanceVaultErrors} from "../interfaces/IAllowanceVault.sol";
import {IBatchExecutorErrors as E} from "../interfaces/IBatchExecutor.sol";
import {PackedOrders} from "./PackedOrders.sol";

/// @title Per-order checks shared by settle (reverting) and checkOrder (status codes)
/// @dev One code path decides; settle turns a status into the custom error with its values, so
/// checkOrder and settle cannot disagree about these rules.
library OrderCheck {
    /// @notice Checks the order's designated keeper, time window and keeper fee (packed order
    /// at `p`; the executor is bound by the signature's digest, which uses address(this)).
    /// @return status bytes4(0) or the selector of the failing custom error
    function checkIntent(uint256 p, address keeper) internal view returns (bytes4) {
        address designated = PackedOrders.keeper(p);
        if (designated != address(0) && designated != keeper) return E.WrongKeeper.selector;
        if (block.timestamp < PackedOrders.validAfter(p)) return E.IntentNotYetValid.selector;
        if (block.timestamp > PackedOrders.deadline(p)) return E.IntentExpired.selector;
        if (PackedOrders.fee(p) > PackedOrders.maxFee(p)) return E.FeeAboveCap.selector;
        return bytes4(0);
    }

    /// @notice Reverts with the custom error named by a non-zero checkIntent status.
    function revertIntent(bytes4 status, uint256 p, address keeper) internal view {
        if (status == E.WrongKeeper.selector) revert E.WrongKeeper(PackedOrders.keeper(p), keeper);
        if (status == E.IntentNotYetValid.selector) {
            revert E.IntentNotYetValid(PackedOrders.validAfter(p));
        }
        if (status == E.FeeAboveCap.selector) {
            revert E.FeeAboveCap(PackedOrders.fee(p), PackedOrders.maxFee(p));
        }
        revert E.IntentExpired(PackedOrders.deadline(p));
    }

    /// @notice Checks each sell amount against its signed maximum, the owner's vault allowance,
    /// token balance and token approval to the vault (per leg; several orders of one owner in
    /// one batch draw on the same allowance and balance). Buy minimums are not checked here:
    /// settle measures what the owner receives, from the executor and from direct legs.
    function checkSells(
        address owner,
        uint256 sells,
        uint256 sellCount,
        IAllowanceVault vault
    ) internal view returns (bytes4) {
        for (uint256 j; j < sellCount; ++j) {
            bytes4 status = _checkSell(owner, sells + j * PackedOrders.SELL_SIZE, vault);
            if (status != bytes4(0)) return status;
        }
        return bytes4(0);
    }

    function _checkSell(address owner, uint256 q, IAllowanceVault vault) private view returns (bytes4) {
        address token = PackedOrders.legToken(q);
        uint256 amount = PackedOrders.legAmount(q);
        if (amount > PackedOrders.legLimit(q)) return E.SellAboveMaximum.selector;
        if (amount == 0) return bytes4(0);
        // The permit nonce is not needed here (docs/SECURITY.md, slither).
        // slither-disable-next-line unused-return
        (uint160 allowed, uint48 expiration, ) = vault.allowance(owner, token);
        if (block.timestamp > expiration) return IAllowanceVaultErrors.AllowanceExpired.selector;
        if (allowed != type(uint160).max && amount > allowed) {
            return IAllowanceVaultErrors.AllowanceExceeded.selector;
        }
        if (IERC20(token).balanceOf(owner) < amount) return E.OwnerBalanceTooLow.selector;
        if (IERC20(token).allowance(owner, address(vault)) < amount) {
            return E.VaultApprovalTooLow.selector;
        }
        return bytes4(0);
    }
}
