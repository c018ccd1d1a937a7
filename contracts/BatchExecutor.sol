// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
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

    // Calls that spend an allowance someone granted their caller (here: the executor), refused on
    // every target so that even a user who wrongly approved the executor is not exposed.
    /// @dev ERC-20 and ERC-721 `transferFrom(address,address,uint256)`.
    bytes4 private constant TRANSFER_FROM = IERC20.transferFrom.selector;
    /// @dev MCD DAI's aliases of transferFrom: `pull(address,uint256)`, `move(address,address,uint256)`.
    bytes4 private constant DAI_PULL = 0xf2d5d56b;
    bytes4 private constant DAI_MOVE = 0xbb35783b;
    /// @dev ERC20Burnable `burnFrom(address,uint256)`: destroys the owner's tokens.
    bytes4 private constant BURN_FROM = 0x79cc6790;
    /// @dev Permit2 `transferFrom(address,address,uint160,address)` and its batch form
    /// `transferFrom((address,address,uint160,address)[])`.
    bytes4 private constant PERMIT2_TRANSFER_FROM = 0x36c78516;
    bytes4 private constant PERMIT2_BATCH_TRANSFER_FROM = 0x0d58b1db;
    /// @dev ERC-4626 `withdraw`/`redeem(amount, receiver, owner)` spend the owner's share
    /// allowance to the caller: allowed only when the owner is the executor.
    bytes4 private constant ERC4626_WITHDRAW = IERC4626.withdraw.selector;
    bytes4 private constant ERC4626_REDEEM = IERC4626.redeem.selector;
    /// @dev Allowance grants (`approve`, `increaseAllowance(address,uint256)`): only to an
    /// allow-listed target, as an allowance outlives the batch and its no-deficit check.
    bytes4 private constant APPROVE = IERC20.approve.selector;
    bytes4 private constant INCREASE_ALLOWANCE = 0x39509351;

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
    /// vault, never a call that spends an allowance granted to the executor (see _checkCall).
    function _interact(uint256 index, Interaction calldata interaction) private {
        address target = interaction.target;
        if (_isForbiddenTarget(target)) revert ForbiddenTarget(target);
        if (!isAllowedTarget(target)) revert TargetNotAllowed(target);
        bytes calldata data = interaction.callData;
        bytes4 selector = data.length >= 4 ? bytes4(data[:4]) : bytes4(0);
        _checkCall(target, selector, data);
        (bool ok, bytes memory reason) = target.call{value: interaction.value}(data);
        if (!ok) revert InteractionFailed(index, target, reason);
        emit InteractionExecuted(target, interaction.value, selector);
    }

    /// @dev Refuses `transferFrom` and its look-alikes (ForbiddenSelector), ERC-4626 withdraw or
    /// redeem of shares the executor does not own (ForbiddenSelector), and an allowance granted
    /// to anything but an allow-listed target (SpenderNotAllowed): the granted balance does not
    /// move during the batch, so the no-deficit check cannot see it, and the spender could take
    /// the executor's tokens at any later time, even after its keeper was removed.
    function _checkCall(address target, bytes4 selector, bytes calldata data) private view {
        if (selector == APPROVE || selector == INCREASE_ALLOWANCE) {
            address spender = _addressArg(data, 0);
            if (!isAllowedTarget(spender)) revert SpenderNotAllowed(target, spender);
        } else if (selector == ERC4626_WITHDRAW || selector == ERC4626_REDEEM) {
            if (_addressArg(data, 2) != address(this)) revert ForbiddenSelector(target, selector);
        } else if (
            selector == TRANSFER_FROM ||
            selector == DAI_PULL ||
            selector == DAI_MOVE ||
            selector == BURN_FROM ||
            selector == PERMIT2_TRANSFER_FROM ||
            selector == PERMIT2_BATCH_TRANSFER_FROM
        ) {
            revert ForbiddenSelector(target, selector);
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
