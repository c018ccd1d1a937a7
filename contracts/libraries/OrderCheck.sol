// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IAllowanceVault, IAllowanceVaultErrors} from "../interfaces/IAllowanceVault.sol";
import {IBatchExecutorErrors as E} from "../interfaces/IBatchExecutor.sol";
import {RebalanceIntent, Order, TokenAmount} from "../interfaces/IIntentTypes.sol";

/// @title Per-order checks shared by settle (reverting) and checkOrder (status codes)
/// @dev One code path decides; settle turns a status into the custom error with its values, so
/// checkOrder and settle cannot disagree about these rules.
library OrderCheck {
    /// @notice Checks the intent's executor, designated keeper and time window.
    /// @return status bytes4(0) or the selector of the failing custom error
    function checkIntent(RebalanceIntent calldata intent, address keeper) internal view returns (bytes4) {
        if (intent.executor != address(this)) return E.WrongExecutor.selector;
        if (intent.keeper != address(0) && intent.keeper != keeper) return E.WrongKeeper.selector;
        if (block.timestamp < intent.validAfter) return E.IntentNotYetValid.selector;
        if (block.timestamp > intent.deadline) return E.IntentExpired.selector;
        return bytes4(0);
    }

    /// @notice Whether `signature` over `digest` is the owner's: an ECDSA signature (OpenZeppelin
    /// tryRecover: 65 bytes, low-s, never address(0)) or, if the owner has code, ERC-1271.
    /// @dev ECDSA is tried first so EOAs skip the cold EXTCODESIZE (2,600 gas); a contract
    /// address has no private key, so accepting a recovered match for it is safe.
    function isValidSignature(
        address owner,
        bytes32 digest,
        bytes calldata signature
    ) internal view returns (bool) {
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == owner) return true;
        return
            owner.code.length != 0 &&
            SignatureChecker.isValidERC1271SignatureNowCalldata(owner, digest, signature);
    }

    /// @notice Reverts with the custom error named by a non-zero checkIntent status.
    function revertIntent(bytes4 status, RebalanceIntent calldata intent, address keeper) internal view {
        if (status == E.WrongExecutor.selector) revert E.WrongExecutor(address(this), intent.executor);
        if (status == E.WrongKeeper.selector) revert E.WrongKeeper(intent.keeper, keeper);
        if (status == E.IntentNotYetValid.selector) revert E.IntentNotYetValid(intent.validAfter);
        revert E.IntentExpired(intent.deadline);
    }

    /// @notice Checks the keeper's amounts against the signed limits, and each sell against the
    /// owner's vault allowance, token balance and token approval to the vault (per leg; several
    /// orders of one owner in one batch draw on the same allowance and balance).
    function checkAmounts(Order calldata order, IAllowanceVault vault) internal view returns (bytes4) {
        RebalanceIntent calldata intent = order.intent;
        uint256[] calldata sells = order.execution.sellAmounts;
        uint256[] calldata buys = order.execution.buyAmounts;
        if (sells.length != intent.sells.length || buys.length != intent.buys.length) {
            return E.ExecutionLengthMismatch.selector;
        }
        if (order.execution.fee > intent.maxFee) return E.FeeAboveCap.selector;
        for (uint256 j; j < sells.length; ++j) {
            bytes4 status = _checkSell(intent.owner, intent.sells[j], sells[j], vault);
            if (status != bytes4(0)) return status;
        }
        for (uint256 j; j < buys.length; ++j) {
            // Necessary, not sufficient: settle measures what the owner actually receives.
            if (buys[j] < intent.buys[j].amount) return E.BuyBelowMinimum.selector;
        }
        return bytes4(0);
    }

    function _checkSell(
        address owner,
        TokenAmount calldata leg,
        uint256 amount,
        IAllowanceVault vault
    ) private view returns (bytes4) {
        if (amount > leg.amount) return E.SellAboveMaximum.selector;
        if (amount == 0) return bytes4(0);
        (uint160 allowed, uint48 expiration, ) = vault.allowance(owner, leg.token);
        if (block.timestamp > expiration) return IAllowanceVaultErrors.AllowanceExpired.selector;
        if (allowed != type(uint160).max && amount > allowed) {
            return IAllowanceVaultErrors.AllowanceExceeded.selector;
        }
        if (IERC20(leg.token).balanceOf(owner) < amount) return E.OwnerBalanceTooLow.selector;
        if (IERC20(leg.token).allowance(owner, address(vault)) < amount) {
            return E.VaultApprovalTooLow.selector;
        }
        return bytes4(0);
    }
}
