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
import {RebalanceIntent, Interaction} from "./interfaces/IIntentTypes.sol";
import {IntentHashing} from "./libraries/IntentHashing.sol";
import {OrderCheck} from "./libraries/OrderCheck.sol";
import {PackedOrders} from "./libraries/PackedOrders.sol";
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

    /// @dev Mixed into the transient slots of (owner, buy token) claims:
    /// uint256(keccak256("IntentRebalancer.buyClaim")) - 1.
    uint256 private constant _BUY_CLAIM_SEED =
        0xc6441bc5254da68d237e200aec4ed98b1e04de40ce05a17423287ba8099c63b0;

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
        bytes calldata orders,
        Interaction[] calldata interactions
    ) external nonReentrant onlyKeeper whenNotPaused {
        (uint256[] memory at, uint256 buyLegs) = PackedOrders.index(orders);
        uint256[] memory before = _openBuys(at, buyLegs);
        TokenLedger.Ledger memory ledger = TokenLedger.create(LEDGER_CAPACITY);
        bytes32 domainSeparator = _domainSeparatorV4();
        uint256 orderCount = at.length;
        for (uint256 i; i < orderCount; ++i) {
            _verifyAndPull(at, i, domainSeparator, ledger);
        }
        for (uint256 k; k < interactions.length; ++k) {
            _interact(k, interactions[k]);
        }
        uint256 leg;
        for (uint256 i; i < orderCount; ++i) {
            leg = _deliver(at[i], before, leg);
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
        bytes32 digest = _hashTypedDataV4(
            PackedOrders.structHash(p, sells, sellCount, PackedOrders.buyLegs(sells, sellCount), buyCount)
        );
        if (!OrderCheck.isValidSignature(owner, digest, PackedOrders.signature(p, sigLength))) {
            return InvalidSignature.selector;
        }
        return OrderCheck.checkSells(owner, sells, sellCount, _vault);
    }

    /// @dev Before any token moves: claims each (owner, buy token) for this batch (DuplicateBuy
    /// if taken: an owner's balance growth is measured over the whole batch, so two legs on the
    /// same balance would both count it) and records the owner's balance, flat over all legs.
    function _openBuys(
        uint256[] memory at,
        uint256 buyLegs
    ) private returns (uint256[] memory before) {
        before = new uint256[](buyLegs);
        uint256 leg;
        for (uint256 i; i < at.length; ++i) {
            uint256 p = at[i];
            address owner = PackedOrders.owner(p);
            (uint256 sellCount, uint256 buyCount, uint256 sigLength) = PackedOrders.counts(p);
            uint256 q = PackedOrders.buyLegs(PackedOrders.sellLegs(p, sigLength), sellCount);
            for (uint256 j; j < buyCount; ++j) {
                address token = PackedOrders.legToken(q);
                if (!_claimBuy(owner, token, 1)) revert DuplicateBuy(owner, token);
                before[leg++] = IERC20(token).balanceOf(owner);
                q += PackedOrders.BUY_SIZE;
            }
        }
    }

    /// @dev Verifies order `i` (keeper, window, fee cap, signature with the digest in
    /// `domainSeparator`), spends its nonce, pulls its sells and records its tokens.
    function _verifyAndPull(
        uint256[] memory at,
        uint256 i,
        bytes32 domainSeparator,
        TokenLedger.Ledger memory ledger
    ) private {
        uint256 p = at[i];
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
            if (!OrderCheck.isValidSignature(owner, digest, signature)) revert InvalidSignature(owner);
            _useNonce(owner, PackedOrders.nonce(p));
        }
        for (uint256 j; j < sellCount; ++j) {
            _pull(at, owner, sells + j * PackedOrders.SELL_SIZE, ledger);
        }
        for (uint256 j; j < buyCount; ++j) {
            ledger.track(PackedOrders.legToken(buys + j * PackedOrders.BUY_SIZE));
        }
        if (PackedOrders.fee(p) != 0) ledger.track(PackedOrders.feeToken(p));
    }

    /// @dev Checks one sell leg's amount against its signed maximum and pulls it through the
    /// vault: to the executor, or straight to the owner of the buy leg it names.
    function _pull(
        uint256[] memory at,
        address owner,
        uint256 q,
        TokenLedger.Ledger memory ledger
    ) private {
        address token = PackedOrders.legToken(q);
        uint256 amount = PackedOrders.legAmount(q);
        uint256 maximum = PackedOrders.legLimit(q);
        if (amount > maximum) revert SellAboveMaximum(token, amount, maximum);
        ledger.track(token);
        if (amount == 0) return;
        (uint256 toOrder, uint256 toLeg) = PackedOrders.sellDestination(q);
        address to = toOrder == PackedOrders.TO_EXECUTOR
            ? address(this)
            : _directRecipient(at, toOrder, toLeg, token);
        _vault.pull(owner, token, amount, to);
    }

    /// @dev The owner of order `toOrder`, whose buy leg `toLeg` must be in `token`: its balance
    /// growth is measured over the whole batch, so what it receives here counts toward its
    /// signed minimum and nothing else (a direct leg can only reach a measured buyer).
    function _directRecipient(
        uint256[] memory at,
        uint256 toOrder,
        uint256 toLeg,
        address token
    ) private pure returns (address) {
        if (toOrder >= at.length) revert InvalidRecipient(toOrder, toLeg);
        uint256 r = at[toOrder];
        (uint256 sellCount, uint256 buyCount, uint256 sigLength) = PackedOrders.counts(r);
        if (toLeg >= buyCount) revert InvalidRecipient(toOrder, toLeg);
        uint256 q = PackedOrders.buyLegs(PackedOrders.sellLegs(r, sigLength), sellCount) +
            toLeg * PackedOrders.BUY_SIZE;
        if (PackedOrders.legToken(q) != token) revert InvalidRecipient(toOrder, toLeg);
        return PackedOrders.owner(r);
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

    /// @dev Delivers order `p`'s buys from the executor, then checks each against its signed
    /// minimum by the owner's balance growth since _openBuys (so fee-on-transfer tokens cannot
    /// short the user, and direct legs count), pays the keeper fee, and emits IntentSettled.
    /// @return next index of the next order's first leg in `before`
    function _deliver(uint256 p, uint256[] memory before, uint256 leg) private returns (uint256 next) {
        uint256 freeMemory;
        assembly ("memory-safe") {
            freeMemory := mload(0x40)
        }
        (uint256 sellCount, uint256 buyCount, uint256 sigLength) = PackedOrders.counts(p);
        uint256 sells = PackedOrders.sellLegs(p, sigLength);
        uint256 q = PackedOrders.buyLegs(sells, sellCount);
        address owner = PackedOrders.owner(p);
        uint256[] memory sold = new uint256[](sellCount);
        for (uint256 j; j < sellCount; ++j) {
            sold[j] = PackedOrders.legAmount(sells + j * PackedOrders.SELL_SIZE);
        }
        uint256[] memory received = new uint256[](buyCount);
        for (uint256 j; j < buyCount; ++j) {
            received[j] = _deliverLeg(owner, q, before[leg++]);
            q += PackedOrders.BUY_SIZE;
        }
        uint256 fee = PackedOrders.fee(p);
        if (fee != 0) IERC20(PackedOrders.feeToken(p)).safeTransfer(msg.sender, fee);
        emit IntentSettled(owner, PackedOrders.nonce(p), sold, received, fee);
        // The event's arrays are dead: give their memory back (no memory growth per order).
        assembly ("memory-safe") {
            mstore(0x40, freeMemory)
        }
        return leg;
    }

    /// @dev One buy leg: the executor's transfer, the owner's measured growth against the signed
    /// minimum (a balance that shrank counts as nothing received); releases the batch's claim.
    function _deliverLeg(address owner, uint256 q, uint256 balanceBefore) private returns (uint256 got) {
        address token = PackedOrders.legToken(q);
        uint256 amount = PackedOrders.legAmount(q);
        if (amount != 0) IERC20(token).safeTransfer(owner, amount);
        uint256 balanceAfter = IERC20(token).balanceOf(owner);
        unchecked {
            got = balanceAfter > balanceBefore ? balanceAfter - balanceBefore : 0;
        }
        uint256 minimum = PackedOrders.legLimit(q);
        if (got < minimum) revert BuyBelowMinimum(token, got, minimum);
        _claimBuy(owner, token, 0);
    }

    /// @dev Sets the transient claim on (owner, token) to `value`; false if claiming (value 1)
    /// one already claimed. Transient: it lasts the transaction, and deliveries reset it.
    function _claimBuy(address owner, address token, uint256 value) private returns (bool) {
        bool free = true;
        assembly ("memory-safe") {
            mstore(0x00, owner)
            mstore(0x20, token)
            let slot := xor(keccak256(0x00, 0x40), _BUY_CLAIM_SEED)
            if value {
                free := iszero(tload(slot))
            }
            tstore(slot, value)
        }
        return free;
    }

    function _isForbiddenTarget(address target) internal view override returns (bool) {
        return target == address(this) || target == address(_vault);
    }
}
