// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {AllowanceVault} from "./AllowanceVault.sol";
import {ExecutorAdmin} from "./base/ExecutorAdmin.sol";
import {Interactions} from "./base/Interactions.sol";
import {NonceBitmap} from "./base/NonceBitmap.sol";
import {IAllowanceVault, IAllowanceVaultErrors} from "./interfaces/IAllowanceVault.sol";
import {AllowedCall, IBatchExecutor} from "./interfaces/IBatchExecutor.sol";
import {RebalanceIntent, Interaction} from "./interfaces/IIntentTypes.sol";
import {IntentHashing} from "./libraries/IntentHashing.sol";
import {OrderCheck} from "./libraries/OrderCheck.sol";
import {OwnerSignature} from "./libraries/OwnerSignature.sol";
import {PackedOrders} from "./libraries/PackedOrders.sol";
import {TokenLedger} from "./libraries/TokenLedger.sol";

/// @title BatchExecutor
/// @notice Settles batches of user-signed rebalance intents, CoW-style: transfer in (pull sells
/// through the vault, to the executor or, for a coincidence of wants, straight to a buyer of the
/// batch) -> interact (plain CALLs) -> transfer out (deliver buys, pay fees) -> check that no
/// token the executor moved ended below its starting balance. A buy counts only the transfers
/// made for it (the executor's delivery and direct legs), each measured by the owner's balance
/// delta around that transfer alone: whatever else pays the owner during the batch never counts.
/// Orders arrive packed (libraries/PackedOrders.sol). See IBatchExecutor and docs/INTENTS.md.
contract BatchExecutor is
    NonceBitmap,
    Interactions,
    EIP712,
    ReentrancyGuardTransient,
    IAllowanceVaultErrors
{
    using SafeERC20 for IERC20;

    using TokenLedger for TokenLedger.Ledger;

    /// @dev Distinct tokens a ledger holds before it first grows (most batches touch few).
    uint256 private constant LEDGER_CAPACITY = 8;

    /// @dev One settle call's orders, read once: each order's calldata position, the batch-wide
    /// index of its first buy leg, and per buy leg what direct legs brought its owner so far.
    struct Batch {
        uint256[] at;
        uint256[] firstLeg;
        uint256[] credited;
    }

    IAllowanceVault private immutable _vault;

    /// @param initialOwner manages keepers, the allow-list and the guardian (two-step transfer)
    /// @param guardian_ may pause settlement
    /// @param adminDelay_ seconds a new keeper or allowed call waits after being scheduled
    /// (at most MAX_ADMIN_DELAY; 0 = at once, for a fully trusted owner)
    /// @param keepers_ the initial keepers, allowed without delay
    /// @param calls_ the initial interaction allow-list, allowed without delay
    constructor(
        address initialOwner,
        address guardian_,
        uint256 adminDelay_,
        address[] memory keepers_,
        AllowedCall[] memory calls_
    ) ExecutorAdmin(initialOwner, guardian_, adminDelay_) EIP712("IntentRebalancer", "1") {
        _vault = new AllowanceVault(address(this));
        _configure(keepers_, calls_);
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
        bytes calldata orders,
        Interaction[] calldata interactions
    ) external nonReentrant onlyKeeper whenNotPaused {
        (uint256[] memory at, uint256[] memory firstLeg, uint256 buyLegs) = PackedOrders.index(
            orders
        );
        Batch memory batch = Batch(at, firstLeg, new uint256[](buyLegs));
        TokenLedger.Ledger memory ledger = TokenLedger.create(LEDGER_CAPACITY);
        bytes32 domainSeparator = _domainSeparatorV4();
        uint256 orderCount = batch.at.length;
        for (uint256 i; i < orderCount; ++i) {
            _verifyAndPull(batch, i, domainSeparator, ledger);
        }
        _interactAll(interactions, ledger);
        for (uint256 i; i < orderCount; ++i) {
            _deliver(batch.at[i], batch.credited, batch.firstLeg[i]);
        }
        ledger.checkNoDeficit();
        emit Settlement(msg.sender, orderCount, interactions.length);
    }

    /// @inheritdoc IBatchExecutor
    function checkOrder(bytes calldata order, address keeper) external view returns (bytes4) {
        if (paused()) return EnforcedPause.selector;
        if (!isKeeper(keeper)) return NotKeeper.selector;
        uint256 p = PackedOrders.single(order);
        bytes4 status = OrderCheck.checkIntent(p, keeper);
        if (status != bytes4(0)) return status;
        address owner = PackedOrders.owner(p);
        if (isNonceUsed(owner, PackedOrders.nonce(p))) return NonceAlreadyUsed.selector;
        (uint256 sellCount, uint256 buyCount, uint256 sigLength) = PackedOrders.counts(p);
        uint256 sells = PackedOrders.sellLegs(p, sigLength);
        uint256 buys = PackedOrders.buyLegs(sells, sellCount);
        bytes32 digest = _hashTypedDataV4(PackedOrders.structHash(p, sells, sellCount, buys, buyCount));
        if (!OwnerSignature.isValid(owner, digest, PackedOrders.signature(p, sigLength))) {
            return InvalidSignature.selector;
        }
        return OrderCheck.checkSells(owner, sells, sellCount, _vault);
    }

    /// @dev Verifies order `i` (keeper, window, fee cap, signature with the digest in
    /// `domainSeparator`), spends its nonce, pulls its sells and records its tokens.
    function _verifyAndPull(
        Batch memory batch,
        uint256 i,
        bytes32 domainSeparator,
        TokenLedger.Ledger memory ledger
    ) private {
        uint256 p = batch.at[i];
        (uint256 sellCount, uint256 buyCount, uint256 sigLength) = PackedOrders.counts(p);
        uint256 sells = PackedOrders.sellLegs(p, sigLength);
        uint256 buys = PackedOrders.buyLegs(sells, sellCount);
        address owner = PackedOrders.owner(p);
        {
            bytes4 status = OrderCheck.checkIntent(p, msg.sender);
            if (status != bytes4(0)) OrderCheck.revertIntent(status, p, msg.sender);
            bytes32 digest = MessageHashUtils.toTypedDataHash(
                domainSeparator,
                PackedOrders.structHash(p, sells, sellCount, buys, buyCount)
            );
            bytes calldata signature = PackedOrders.signature(p, sigLength);
            if (!OwnerSignature.isValid(owner, digest, signature)) revert InvalidSignature(owner);
            _useNonce(owner, PackedOrders.nonce(p));
        }
        for (uint256 j; j < sellCount; ++j) {
            _pull(batch, owner, PackedOrders.sellLeg(sells, j), ledger);
        }
        for (uint256 j; j < buyCount; ++j) {
            uint256 q = PackedOrders.buyLeg(buys, j);
            if (PackedOrders.legAmount(q) != 0) ledger.track(PackedOrders.legToken(q));
        }
        if (PackedOrders.fee(p) != 0) ledger.track(PackedOrders.feeToken(p));
    }

    /// @dev Checks one sell leg's amount against its signed maximum and pulls it through the
    /// vault: to the executor, or straight to the owner of the buy leg it names (a direct leg),
    /// crediting that leg with the buyer's balance delta around this pull alone.
    function _pull(
        Batch memory batch,
        address owner,
        uint256 q,
        TokenLedger.Ledger memory ledger
    ) private {
        address token = PackedOrders.legToken(q);
        uint256 amount = PackedOrders.legAmount(q);
        uint256 maximum = PackedOrders.legLimit(q);
        if (amount > maximum) revert SellAboveMaximum(token, amount, maximum);
        if (amount == 0) return;
        (uint256 toOrder, uint256 toLeg) = PackedOrders.sellDestination(q);
        if (toOrder == PackedOrders.TO_EXECUTOR) {
            ledger.track(token);
            _pullVia(owner, token, amount, address(this));
            return;
        }
        (address to, uint256 leg) = _directRecipient(batch, toOrder, toLeg, token);
        uint256 balanceBefore = _balanceOf(token, to);
        _pullVia(owner, token, amount, to);
        batch.credited[leg] += _received(token, to, balanceBefore, amount);
    }

    /// @dev The owner of order `toOrder` and the batch-wide index of its buy leg `toLeg`, which
    /// must be in `token` (a direct leg can only reach a buy leg it counts toward).
    function _directRecipient(
        Batch memory batch,
        uint256 toOrder,
        uint256 toLeg,
        address token
    ) private pure returns (address, uint256) {
        if (toOrder >= batch.at.length) revert InvalidRecipient(toOrder, toLeg);
        uint256 r = batch.at[toOrder];
        (uint256 sellCount, uint256 buyCount, uint256 sigLength) = PackedOrders.counts(r);
        if (toLeg >= buyCount) revert InvalidRecipient(toOrder, toLeg);
        uint256 q = PackedOrders.buyLeg(
            PackedOrders.buyLegs(PackedOrders.sellLegs(r, sigLength), sellCount),
            toLeg
        );
        if (PackedOrders.legToken(q) != token) revert InvalidRecipient(toOrder, toLeg);
        unchecked {
            return (PackedOrders.owner(r), batch.firstLeg[toOrder] + toLeg); // < credited.length
        }
    }

    /// @dev What a transfer of `sent` brought `account`: its balance delta around that transfer
    /// alone, at most `sent` (a payment someone slips in during the transfer, e.g. from a token
    /// hook, can at most make up the transfer's own fee) and 0 if the balance shrank.
    function _received(
        address token,
        address account,
        uint256 balanceBefore,
        uint256 sent
    ) private view returns (uint256) {
        uint256 balanceAfter = _balanceOf(token, account);
        if (balanceAfter <= balanceBefore) return 0;
        unchecked {
            uint256 grown = balanceAfter - balanceBefore;
            return grown < sent ? grown : sent;
        }
    }

    /// @dev Delivers order `p`'s buys from the executor and checks each against its signed
    /// minimum: what its direct legs brought plus the executor's delivery, each measured around
    /// its own transfer (so fee-on-transfer tokens cannot short the owner, and nothing else paid
    /// to the owner during the batch counts); pays the keeper fee and emits IntentSettled.
    /// @param leg the batch-wide index of the order's first buy leg in `credited`
    function _deliver(uint256 p, uint256[] memory credited, uint256 leg) private {
        (uint256 sellCount, uint256 buyCount, uint256 sigLength) = PackedOrders.counts(p);
        uint256 sells = PackedOrders.sellLegs(p, sigLength);
        uint256 buys = PackedOrders.buyLegs(sells, sellCount);
        address owner = PackedOrders.owner(p);
        uint256 fee = PackedOrders.fee(p);
        // IntentSettled's data, ABI-encoded in place as (uint256[] sold, uint256[] received,
        // uint256 fee): three head words, then each array's length and items. The memory is
        // taken above the free pointer and given back after the log (no growth per order).
        uint256 data;
        uint256 received;
        uint256 size;
        unchecked {
            size = 0xa0 + 0x20 * (sellCount + buyCount);
        }
        assembly ("memory-safe") {
            data := mload(0x40)
            mstore(0x40, add(data, size))
            mstore(data, 0x60)
            mstore(add(data, 0x20), add(0x80, shl(5, sellCount)))
            mstore(add(data, 0x40), fee)
            mstore(add(data, 0x60), sellCount)
            received := add(data, add(0x80, shl(5, sellCount)))
            mstore(received, buyCount)
        }
        for (uint256 j; j < sellCount; ++j) {
            uint256 sold = PackedOrders.legAmount(PackedOrders.sellLeg(sells, j));
            assembly ("memory-safe") {
                mstore(add(data, add(0x80, shl(5, j))), sold)
            }
        }
        for (uint256 j; j < buyCount; ++j) {
            uint256 got = _deliverLeg(owner, PackedOrders.buyLeg(buys, j), credited[leg + j]);
            assembly ("memory-safe") {
                mstore(add(received, shl(5, add(j, 1))), got)
            }
        }
        if (fee != 0) IERC20(PackedOrders.feeToken(p)).safeTransfer(msg.sender, fee);
        bytes32 topic = IntentSettled.selector;
        uint256 nonce = PackedOrders.nonce(p);
        assembly ("memory-safe") {
            log3(data, size, topic, owner, nonce)
            mstore(0x40, data)
        }
    }

    /// @dev One buy leg: `credited` (its direct legs) plus the executor's transfer as measured
    /// around that transfer, against the signed minimum.
    function _deliverLeg(address owner, uint256 q, uint256 credited) private returns (uint256 got) {
        address token = PackedOrders.legToken(q);
        uint256 amount = PackedOrders.legAmount(q);
        got = credited;
        if (amount != 0) {
            uint256 balanceBefore = _balanceOf(token, owner);
            IERC20(token).safeTransfer(owner, amount);
            got += _received(token, owner, balanceBefore, amount);
        }
        uint256 minimum = PackedOrders.legLimit(q);
        if (got < minimum) revert BuyBelowMinimum(token, got, minimum);
    }

    /// @dev `token.balanceOf(account)`, as a high-level call but without its code-size check and
    /// ABI decoder: a failed call bubbles its revert data, a short answer reverts.
    function _balanceOf(address token, address account) private view returns (uint256 amount) {
        assembly ("memory-safe") {
            mstore(0x00, 0x70a08231) // balanceOf(address), right-aligned: the call reads from 0x1c
            mstore(0x20, account)
            if iszero(staticcall(gas(), token, 0x1c, 0x24, 0x00, 0x20)) {
                let m := mload(0x40)
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
            if lt(returndatasize(), 0x20) {
                revert(0, 0)
            }
            amount := mload(0x00)
        }
    }

    /// @dev `_vault.pull(owner, token, amount, to)`: the vault is this executor's own deployment
    /// (no code-size check needed); a revert bubbles (AllowanceExceeded, the token's error...).
    function _pullVia(address owner, address token, uint256 amount, address to) private {
        address vault_ = address(_vault);
        bytes4 selector = IAllowanceVault.pull.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 0x04), owner)
            mstore(add(m, 0x24), token)
            mstore(add(m, 0x44), amount)
            mstore(add(m, 0x64), to)
            if iszero(call(gas(), vault_, 0, m, 0x84, 0, 0)) {
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
        }
    }

    function _isForbiddenTarget(address target) internal view override returns (bool) {
        return target == address(this) || target == address(_vault);
    }
}
