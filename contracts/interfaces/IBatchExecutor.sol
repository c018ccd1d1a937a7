// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RebalanceIntent, Interaction} from "./IIntentTypes.sol";

/// @notice One entry of the interaction allow-list: interactions may call `selector` on `target`.
struct AllowedCall {
    address target;
    bytes4 selector;
}

/// @notice Events and errors of the batch executor.
interface IBatchExecutorEvents {
    /// @notice One intent settled: what left the owner (per sell leg), what the owner received
    /// (per buy leg: its direct legs and the executor's delivery, each measured by the owner's
    /// balance delta around that transfer), and the keeper fee. The keeper is in Settlement.
    event IntentSettled(
        address indexed owner,
        uint256 indexed nonce,
        uint256[] sold,
        uint256[] received,
        uint256 fee
    );
    /// @notice A settlement ran, with this many orders and interactions.
    event Settlement(address indexed keeper, uint256 orders, uint256 interactions);
    /// @notice The executor made an interaction call.
    event InteractionExecuted(address indexed target, uint256 value, bytes4 selector);
    /// @notice A user cancelled the nonces set in `mask` of bitmap word `word`.
    event NoncesInvalidated(address indexed owner, uint256 word, uint256 mask);
    /// @notice The owner added or removed a keeper.
    event KeeperSet(address indexed keeper, bool allowed);
    /// @notice The owner allowed or disallowed interactions calling `selector` on `target`.
    event CallSet(address indexed target, bytes4 indexed selector, bool allowed);
    /// @notice The owner replaced the guardian.
    event GuardianSet(address indexed previous, address indexed guardian);
    /// @notice The owner scheduled adding `account` as keeper: possible from `readyAt` on.
    event KeeperScheduled(address indexed account, bytes32 id, uint256 readyAt);
    /// @notice The owner scheduled allowing `selector` on `target`: possible from `readyAt` on.
    event CallScheduled(address indexed target, bytes4 indexed selector, bytes32 id, uint256 readyAt);
    /// @notice The owner cancelled scheduled change `id`.
    event ChangeCancelled(bytes32 indexed id);
}

/// @notice Errors of the batch executor (custom errors with the values that failed).
interface IBatchExecutorErrors {
    /// @notice The caller is not an allow-listed keeper.
    error NotKeeper(address caller);
    /// @notice The caller is neither the guardian nor the owner.
    error NotGuardian(address caller);
    /// @notice An address argument must not be zero.
    error ZeroAddress();
    /// @notice Ownership cannot be renounced: an ownerless executor could never remove a
    /// compromised keeper or target, nor resume after a pause.
    error RenounceDisabled();
    /// @notice The intent designates another keeper.
    error WrongKeeper(address designated, address caller);
    /// @notice The intent's deadline has passed.
    error IntentExpired(uint256 deadline);
    /// @notice The intent's start time has not come yet.
    error IntentNotYetValid(uint256 validAfter);
    /// @notice The nonce was already settled or cancelled.
    error NonceAlreadyUsed(address owner, uint256 nonce);
    /// @notice The signature is not the owner's (ECDSA low-s, or ERC-1271 for contract wallets).
    error InvalidSignature(address owner);
    /// @notice settle's packed orders (or checkOrder's order) are malformed: order `index`
    /// overruns the bytes (index == count: bytes follow the last order, or no count).
    error MalformedOrders(uint256 index);
    /// @notice A sell leg names as its direct recipient an order or buy leg that does not
    /// exist in the batch, or a buy leg in another token.
    error InvalidRecipient(uint256 toOrder, uint256 toLeg);
    /// @notice The keeper asked to take more than the owner signed for.
    error SellAboveMaximum(address token, uint256 amount, uint256 maximum);
    /// @notice A buy leg received less than its signed minimum: `received` is what its direct
    /// legs and the executor's delivery brought, each measured around its own transfer.
    error BuyBelowMinimum(address token, uint256 received, uint256 minimum);
    /// @notice The keeper fee is above the signed cap.
    error FeeAboveCap(uint256 fee, uint256 maxFee);
    /// @notice The settlement would leave the executor with less of `token` than it started with.
    error TokenDeficit(address token, uint256 balanceBefore, uint256 balanceAfter);
    /// @notice The (target, selector) pair is not allow-listed (calldata shorter than 4 bytes
    /// has selector 0).
    error CallNotAllowed(address target, bytes4 selector);
    /// @notice Interactions may never call the executor or the vault: neither can be allow-listed.
    error ForbiddenTarget(address target);
    /// @notice An allow-listed ERC-4626 `withdraw`/`redeem` named an owner other than the
    /// executor: it would spend a share allowance someone granted the executor.
    error ForbiddenSelector(address target, bytes4 selector);
    /// @notice An ERC-20 `approve` or `transfer` interaction named a spender or recipient that
    /// is not an entry point (a target with an allowed selector other than approve/transfer).
    error SpenderNotAllowed(address target, address spender);
    /// @notice An approval the executor granted during the batch was not used up by its end.
    error ApprovalOutlivesBatch(address token, address spender, uint256 remaining);
    /// @notice An interaction call reverted; `reason` is its revert data.
    error InteractionFailed(uint256 index, address target, bytes reason);
    /// @notice A grant (new keeper or allowed call) was not scheduled (scheduleKeeper /
    /// scheduleCall), or its schedule was used up or cancelled.
    error ChangeNotScheduled(bytes32 id);
    /// @notice A grant's admin delay has not passed yet.
    error ChangeNotReady(bytes32 id, uint256 readyAt);
    /// @notice The grant is already scheduled.
    error ChangeAlreadyScheduled(bytes32 id);
    /// @notice The deployment chose an admin delay above the ceiling.
    error AdminDelayTooLong(uint256 delay, uint256 maximum);
    /// @notice checkOrder status only: the owner holds less of a sell token than the keeper
    /// wants to take (settle would revert with the token's own error).
    error OwnerBalanceTooLow(address token, uint256 balance, uint256 needed);
    /// @notice checkOrder status only: the owner's ERC20 approval to the vault is too low.
    error VaultApprovalTooLow(address token, uint256 approved, uint256 needed);
}

/// @title Batch executor
/// @notice Settles batches of user-signed rebalance intents: pulls sells through the allowance
/// vault, runs keeper-supplied interactions (plain CALLs of allow-listed (target, selector)
/// pairs), delivers buys, pays capped keeper fees, and ends with no deficit in any token it
/// touched and no approval it granted left unspent.
interface IBatchExecutor is IBatchExecutorEvents, IBatchExecutorErrors {
    /// @notice Settles `orders` atomically (any failure reverts the whole batch; the keeper
    /// pre-validates with checkOrder and simulates, dropping failing orders before sending).
    /// @param orders the batch's signed intents with the keeper's amounts, packed (layout in
    /// libraries/PackedOrders.sol and docs/INTENTS.md): a 2-byte count, then the orders
    /// @param interactions plain CALLs made between pulling the sells and delivering the buys
    /// @dev onlyKeeper, whenNotPaused, nonReentrant.
    function settle(bytes calldata orders, Interaction[] calldata interactions) external;

    /// @notice Pre-validates one packed order (no count prefix) as `keeper` would settle it,
    /// without state changes. Buy minimums and direct recipients depend on the whole batch and
    /// are left to settle (and the keeper's simulation of it).
    /// @return status bytes4(0) if the order would pass every per-order check, else the selector
    /// of the custom error settle would revert with (e.g. IntentExpired.selector).
    function checkOrder(bytes calldata order, address keeper) external view returns (bytes4 status);

    /// @notice The EIP-712 digest of `intent` in this executor's domain (what the owner signs).
    function hashIntent(RebalanceIntent calldata intent) external view returns (bytes32);

    /// @notice The EIP-712 domain separator (rebuilt if the chain id changes).
    function DOMAIN_SEPARATOR() external view returns (bytes32);

    /// @notice Cancels the caller's nonces: sets the bits of `mask` in bitmap word `word`.
    /// @dev nonce n lives in word n >> 8, bit n & 0xff.
    function invalidateNonces(uint256 word, uint256 mask) external;

    /// @notice The caller-independent nonce bitmap word of `owner`.
    function nonceBitmap(address owner, uint256 word) external view returns (uint256);

    /// @notice Whether `nonce` of `owner` was settled or cancelled.
    function isNonceUsed(address owner, uint256 nonce) external view returns (bool);

    /// @notice The allowance vault users approve (deployed by this executor).
    function vault() external view returns (address);

    /// @notice Whether `account` may settle.
    function isKeeper(address account) external view returns (bool);

    /// @notice Whether interactions may call `selector` on `target`.
    function isAllowedCall(address target, bytes4 selector) external view returns (bool);

    /// @notice Whether `target` has an allowed selector other than ERC-20 approve/transfer, so
    /// that interactions may approve it or transfer to it.
    function isEntryPoint(address target) external view returns (bool);

    /// @notice The address that may pause settlement (besides the owner).
    function guardian() external view returns (address);

    /// @notice Seconds a grant (new keeper, new allowed call) waits after being scheduled;
    /// fixed at deployment. 0: grants apply at once (a fully trusted owner).
    function adminDelay() external view returns (uint256);

    /// @notice When scheduled change `id` may apply (0: not scheduled).
    function changeReadyAt(bytes32 id) external view returns (uint256);

    /// @notice The id of the change "add `account` as keeper": keccak256("keeper" ‖ account).
    function keeperChange(address account) external pure returns (bytes32);

    /// @notice The id of the change "allow `selector` on `target`":
    /// keccak256("call" ‖ target ‖ selector).
    function callChange(address target, bytes4 selector) external pure returns (bytes32);

    /// @notice Owner: schedules adding `account` as keeper (setKeeper(account, true) after the
    /// admin delay). Emits KeeperScheduled, which users watch.
    function scheduleKeeper(address account) external;

    /// @notice Owner: schedules allowing `selector` on `target` (setCall(target, selector, true)
    /// after the admin delay). Emits CallScheduled, which users watch.
    function scheduleCall(address target, bytes4 selector) external;

    /// @notice Owner: drops scheduled change `id` (at once).
    function cancel(bytes32 id) external;

    /// @notice Owner: adds a keeper (once its schedule has waited the admin delay, which it uses
    /// up) or removes one (at once).
    function setKeeper(address account, bool allowed) external;

    /// @notice Owner: allows interactions calling `selector` on `target` (once scheduled and the
    /// admin delay has passed; never the executor or the vault) or disallows it (at once). List
    /// only what the keeper routes through: a pool's `swap`, a router's swap entry points, and
    /// per routed token `approve` and `transfer`.
    function setCall(address target, bytes4 selector, bool allowed) external;

    /// @notice Owner: replaces the guardian (at once: a guardian can only pause).
    function setGuardian(address newGuardian) external;

    /// @notice Guardian or owner: stops settlement.
    function pause() external;

    /// @notice Owner: resumes settlement.
    function unpause() external;
}
