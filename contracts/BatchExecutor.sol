// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {AllowanceVault} from "./AllowanceVault.sol";
import {ExecutorAdmin} from "./base/ExecutorAdmin.sol";
import {NonceBitmap} from "./base/NonceBitmap.sol";
import {IAllowanceVault, IAllowanceVaultErrors} from "./interfaces/IAllowanceVault.sol";
import {IBatchExecutor} from "./interfaces/IBatchExecutor.sol";
import {RebalanceIntent, Order, Execution, Interaction, TokenAmount} from "./interfaces/IIntentTypes.sol";
import {IntentHashing} from "./libraries/IntentHashing.sol";
import {OrderCheck} from "./libraries/OrderCheck.sol";
import {TokenLedger} from "./libraries/TokenLedger.sol";

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

    using TokenLedger for TokenLedger.Ledger;

    /// @dev Distinct tokens a ledger holds before it first grows (most batches touch few).
    uint256 private constant LEDGER_CAPACITY = 8;

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
        uint256 orderCount = orders.length;
        TokenLedger.Ledger memory ledger = TokenLedger.create(LEDGER_CAPACITY);
        bytes32 domainSeparator = _domainSeparatorV4();
        for (uint256 i; i < orderCount; ++i) {
            _verifyAndPull(orders[i], domainSeparator, ledger);
        }
        for (uint256 k; k < interactions.length; ++k) {
            _interact(k, interactions[k]);
        }
        for (uint256 i; i < orderCount; ++i) {
            _deliver(orders[i]);
        }
        ledger.checkNoDeficit();
        emit Settlement(msg.sender, orderCount, interactions.length);
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

    /// @dev Verifies the intent, spends its nonce, records new tokens, pulls the sells. Each
    /// nested calldata member is located once (the compiler re-validates on every access).
    function _verifyAndPull(
        Order calldata order,
        bytes32 domainSeparator,
        TokenLedger.Ledger memory ledger
    ) private {
        RebalanceIntent calldata intent = order.intent;
        TokenAmount[] calldata sells = intent.sells;
        TokenAmount[] calldata buys = intent.buys;
        _verifyIntent(intent, sells, buys, order.signature, domainSeparator);
        _checkAndPull(intent, sells, buys, order.execution, ledger);
    }

    /// @dev Executor, keeper, time window, signature (digest in `domainSeparator`); spends the nonce.
    function _verifyIntent(
        RebalanceIntent calldata intent,
        TokenAmount[] calldata sells,
        TokenAmount[] calldata buys,
        bytes calldata signature,
        bytes32 domainSeparator
    ) private {
        bytes4 status = OrderCheck.checkIntent(intent, msg.sender);
        if (status != bytes4(0)) OrderCheck.revertIntent(status, intent, msg.sender);
        bytes32 structHash = IntentHashing.hash(intent, sells, buys);
        bytes32 digest = MessageHashUtils.toTypedDataHash(domainSeparator, structHash);
        address owner = intent.owner;
        if (!OrderCheck.isValidSignature(owner, digest, signature)) revert InvalidSignature(owner);
        _useNonce(owner, intent.nonce);
    }

    /// @dev Checks the execution against the intent's limits, pulls the sells, records tokens.
    function _checkAndPull(
        RebalanceIntent calldata intent,
        TokenAmount[] calldata sells,
        TokenAmount[] calldata buys,
        Execution calldata execution,
        TokenLedger.Ledger memory ledger
    ) private {
        uint256 buyCount = buys.length;
        uint256 buyAmounts = execution.buyAmounts.length;
        if (buyAmounts != buyCount) revert ExecutionLengthMismatch(buyCount, buyAmounts);
        uint256 fee = execution.fee;
        if (fee > intent.maxFee) revert FeeAboveCap(fee, intent.maxFee);
        _pullSells(intent.owner, sells, execution.sellAmounts, ledger);
        for (uint256 j; j < buyCount; ++j) {
            ledger.track(buys[j].token);
        }
        if (fee != 0) ledger.track(intent.feeToken);
    }

    /// @dev Checks each keeper-chosen sell amount against its signed maximum and pulls it.
    function _pullSells(
        address owner,
        TokenAmount[] calldata sells,
        uint256[] calldata amounts,
        TokenLedger.Ledger memory ledger
    ) private {
        uint256 legCount = sells.length;
        if (amounts.length != legCount) revert ExecutionLengthMismatch(legCount, amounts.length);
        for (uint256 j; j < legCount; ++j) {
            TokenAmount calldata leg = sells[j];
            address token = leg.token;
            uint256 amount = amounts[j];
            if (amount > leg.amount) revert SellAboveMaximum(token, amount, leg.amount);
            ledger.track(token);
            if (amount != 0) _vault.pull(owner, token, amount);
        }
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
        TokenAmount[] calldata buys = intent.buys;
        Execution calldata execution = order.execution;
        uint256[] calldata amounts = execution.buyAmounts;
        address owner = intent.owner;
        uint256 legCount = amounts.length;
        uint256[] memory received = new uint256[](legCount);
        for (uint256 j; j < legCount; ++j) {
            TokenAmount calldata leg = buys[j];
            address token = leg.token;
            uint256 amount = amounts[j];
            uint256 got;
            if (amount != 0) {
                uint256 before = IERC20(token).balanceOf(owner);
                IERC20(token).safeTransfer(owner, amount);
                uint256 afterBalance = IERC20(token).balanceOf(owner);
                // A balance that shrank on receipt counts as nothing received.
                unchecked {
                    got = afterBalance > before ? afterBalance - before : 0;
                }
                received[j] = got;
            }
            if (got < leg.amount) revert BuyBelowMinimum(token, got, leg.amount);
        }
        uint256 fee = execution.fee;
        if (fee != 0) IERC20(intent.feeToken).safeTransfer(msg.sender, fee);
        emit IntentSettled(owner, intent.nonce, execution.sellAmounts, received, fee);
    }

    function _isForbiddenTarget(address target) internal view override returns (bool) {
        return target == address(this) || target == address(_vault);
    }
}
