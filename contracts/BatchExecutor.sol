// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {AllowanceVault} from "./AllowanceVault.sol";
import {ExecutorAdmin} from "./base/ExecutorAdmin.sol";
import {NonceBitmap} from "./base/NonceBitmap.sol";
import {IAllowanceVault, IAllowanceVaultErrors} from "./interfaces/IAllowanceVault.sol";
import {IBatchExecutor} from "./interfaces/IBatchExecutor.sol";
import {RebalanceIntent, Order, Interaction, TokenAmount} from "./interfaces/IIntentTypes.sol";
import {IntentHashing} from "./libraries/IntentHashing.sol";
import {OrderCheck} from "./libraries/OrderCheck.sol";

/// @title BatchExecutor
/// @notice Settles batches of user-signed rebalance intents, CoW-style: transfer in (pull sells
/// through the vault) -> interact (plain CALLs) -> transfer out (deliver buys, pay fees) -> check
/// that no token ended below its starting balance. See IBatchExecutor and docs/INTENTS.md.
contract BatchExecutor is
    NonceBitmap,
    ExecutorAdmin,
    EIP712,
    ReentrancyGuardTransient,
    IAllowanceVaultErrors
{
    using SafeERC20 for IERC20;

    /// @dev Every token a settlement touches, with the executor's balance before it moved.
    struct Ledger {
        address[] tokens;
        uint256[] before;
        uint256 count;
    }

    IAllowanceVault private immutable _vault;

    /// @param initialOwner manages keepers, targets and the guardian (two-step transfer)
    /// @param guardian_ may pause settlement
    constructor(
        address initialOwner,
        address guardian_
    ) ExecutorAdmin(initialOwner, guardian_) EIP712("IntentRebalancer", "1") {
        _vault = new AllowanceVault(address(this));
    }

    /// @inheritdoc IBatchExecutor
    function vault() external view returns (address) {
        return address(_vault);
    }

    /// @inheritdoc IBatchExecutor
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc IBatchExecutor
    function hashIntent(RebalanceIntent calldata intent) public view returns (bytes32) {
        return _hashTypedDataV4(IntentHashing.hash(intent));
    }

    /// @inheritdoc IBatchExecutor
    function settle(
        Order[] calldata orders,
        Interaction[] calldata interactions
    ) external nonReentrant onlyKeeper whenNotPaused {
        Ledger memory ledger = _newLedger(orders);
        for (uint256 i; i < orders.length; ++i) {
            _verifyAndPull(orders[i], ledger);
        }
        for (uint256 k; k < interactions.length; ++k) {
            _interact(k, interactions[k]);
        }
        for (uint256 i; i < orders.length; ++i) {
            _deliver(orders[i]);
        }
        for (uint256 t; t < ledger.count; ++t) {
            uint256 afterBalance = IERC20(ledger.tokens[t]).balanceOf(address(this));
            if (afterBalance < ledger.before[t]) {
                revert TokenDeficit(ledger.tokens[t], ledger.before[t], afterBalance);
            }
        }
        emit Settlement(msg.sender, orders.length, interactions.length);
    }

    /// @inheritdoc IBatchExecutor
    function checkOrder(Order calldata order, address keeper) external view returns (bytes4) {
        if (paused()) return EnforcedPause.selector;
        if (!isKeeper(keeper)) return NotKeeper.selector;
        RebalanceIntent calldata intent = order.intent;
        bytes4 status = OrderCheck.checkIntent(intent, keeper);
        if (status != bytes4(0)) return status;
        if (isNonceUsed(intent.owner, intent.nonce)) return NonceAlreadyUsed.selector;
        if (!OrderCheck.isValidSignature(intent.owner, hashIntent(intent), order.signature)) {
            return InvalidSignature.selector;
        }
        return OrderCheck.checkAmounts(order, _vault);
    }

    /// @dev Verifies the intent, spends its nonce, records new tokens, pulls the sells.
    function _verifyAndPull(Order calldata order, Ledger memory ledger) private {
        RebalanceIntent calldata intent = order.intent;
        address owner = intent.owner;
        bytes4 status = OrderCheck.checkIntent(intent, msg.sender);
        if (status != bytes4(0)) OrderCheck.revertIntent(status, intent, msg.sender);
        if (!OrderCheck.isValidSignature(owner, hashIntent(intent), order.signature)) {
            revert InvalidSignature(owner);
        }
        _useNonce(owner, intent.nonce);

        TokenAmount[] calldata sells = intent.sells;
        TokenAmount[] calldata buys = intent.buys;
        uint256[] calldata amounts = order.execution.sellAmounts;
        if (amounts.length != sells.length) revert ExecutionLengthMismatch(sells.length, amounts.length);
        uint256 buyCount = order.execution.buyAmounts.length;
        if (buyCount != buys.length) revert ExecutionLengthMismatch(buys.length, buyCount);
        uint256 fee = order.execution.fee;
        if (fee > intent.maxFee) revert FeeAboveCap(fee, intent.maxFee);
        for (uint256 j; j < amounts.length; ++j) {
            address token = sells[j].token;
            uint256 amount = amounts[j];
            if (amount > sells[j].amount) revert SellAboveMaximum(token, amount, sells[j].amount);
            _track(ledger, token);
            if (amount != 0) _vault.pull(owner, token, amount);
        }
        for (uint256 j; j < buyCount; ++j) {
            _track(ledger, buys[j].token);
        }
        if (fee != 0) _track(ledger, intent.feeToken);
    }

    /// @dev One interaction: a plain CALL to an allow-listed target, never the executor or the
    /// vault, never `transferFrom` (so standing approvals to anything cannot be used).
    function _interact(uint256 index, Interaction calldata interaction) private {
        address target = interaction.target;
        if (_isForbiddenTarget(target)) revert ForbiddenTarget(target);
        if (!isAllowedTarget(target)) revert TargetNotAllowed(target);
        bytes4 selector = interaction.callData.length >= 4 ? bytes4(interaction.callData[:4]) : bytes4(0);
        if (selector == IERC20.transferFrom.selector) revert ForbiddenSelector(target, selector);
        (bool ok, bytes memory reason) = target.call{value: interaction.value}(interaction.callData);
        if (!ok) revert InteractionFailed(index, target, reason);
        emit InteractionExecuted(target, interaction.value, selector);
    }

    /// @dev Delivers the buys (checking the owner's measured balance growth against the signed
    /// minimum, so fee-on-transfer tokens cannot short the user) and pays the keeper fee.
    function _deliver(Order calldata order) private {
        RebalanceIntent calldata intent = order.intent;
        address owner = intent.owner;
        TokenAmount[] calldata buys = intent.buys;
        uint256[] calldata amounts = order.execution.buyAmounts;
        uint256[] memory received = new uint256[](amounts.length);
        for (uint256 j; j < amounts.length; ++j) {
            address token = buys[j].token;
            uint256 amount = amounts[j];
            uint256 got;
            if (amount != 0) {
                uint256 before = IERC20(token).balanceOf(owner);
                IERC20(token).safeTransfer(owner, amount);
                uint256 afterBalance = IERC20(token).balanceOf(owner);
                got = afterBalance > before ? afterBalance - before : 0;
                received[j] = got;
            }
            if (got < buys[j].amount) revert BuyBelowMinimum(token, got, buys[j].amount);
        }
        uint256 fee = order.execution.fee;
        if (fee != 0) IERC20(intent.feeToken).safeTransfer(msg.sender, fee);
        emit IntentSettled(owner, intent.nonce, order.execution.sellAmounts, received, fee);
    }

    /// @dev A ledger sized for every leg and fee token of the batch (tokens are deduplicated).
    function _newLedger(Order[] calldata orders) private pure returns (Ledger memory ledger) {
        uint256 size;
        for (uint256 i; i < orders.length; ++i) {
            size += orders[i].intent.sells.length + orders[i].intent.buys.length + 1;
        }
        ledger.tokens = new address[](size);
        ledger.before = new uint256[](size);
    }

    /// @dev Records `token`'s balance the first time the settlement sees it (before it moves).
    function _track(Ledger memory ledger, address token) private view {
        for (uint256 t; t < ledger.count; ++t) {
            if (ledger.tokens[t] == token) return;
        }
        ledger.tokens[ledger.count] = token;
        ledger.before[ledger.count] = IERC20(token).balanceOf(address(this));
        ++ledger.count;
    }

    function _isForbiddenTarget(address target) internal view override returns (bool) {
        return target == address(this) || target == address(_vault);
    }
}
