// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {AllowedCall, IBatchExecutor} from "../interfaces/IBatchExecutor.sol";
import {AdminDelay} from "./AdminDelay.sol";

/// @title Executor administration
/// @notice Two-step ownership; the owner manages keepers, the interaction allow-list and the
/// guardian; the guardian (or the owner) can pause settlement, only the owner resumes it. Adding
/// a keeper or an allowed call waits the admin delay (AdminDelay); removing one, pausing and
/// replacing the guardian apply at once. None of these roles can move user funds: that needs a
/// valid intent signed by the user.
/// @dev The allow-list is positive: (target, selector) pairs. ERC-20 `approve` and `transfer`
/// entries are special (see Interactions): their spender or recipient must be an entry point,
/// i.e. a target with at least one other allowed selector (a pool's swap, a router's entry).
abstract contract ExecutorAdmin is IBatchExecutor, AdminDelay, Ownable2Step, Pausable {
    /// @dev ERC-20 `approve(address,uint256)` (ERC-721's approve shares it).
    bytes4 internal constant APPROVE = 0x095ea7b3;
    /// @dev ERC-20 `transfer(address,uint256)`.
    bytes4 internal constant TRANSFER = 0xa9059cbb;

    address private _guardian;
    mapping(address account => bool) private _keepers;
    mapping(address target => mapping(bytes4 selector => bool)) private _calls;
    /// @dev Per target, how many allowed selectors other than approve/transfer it has.
    mapping(address target => uint256) private _entrySelectors;

    constructor(
        address initialOwner,
        address guardian_,
        uint256 adminDelay_
    ) Ownable(initialOwner) AdminDelay(adminDelay_) {
        if (guardian_ == address(0)) revert ZeroAddress();
        _guardian = guardian_;
        emit GuardianSet(address(0), guardian_);
    }

    modifier onlyKeeper() {
        if (!_keepers[msg.sender]) revert NotKeeper(msg.sender);
        _;
    }

    /// @inheritdoc IBatchExecutor
    function isKeeper(address account) public view returns (bool) {
        return _keepers[account];
    }

    /// @inheritdoc IBatchExecutor
    function isAllowedCall(address target, bytes4 selector) public view returns (bool) {
        return _calls[target][selector];
    }

    /// @inheritdoc IBatchExecutor
    function isEntryPoint(address target) public view returns (bool) {
        return _entrySelectors[target] != 0;
    }

    /// @inheritdoc IBatchExecutor
    function guardian() external view returns (address) {
        return _guardian;
    }

    /// @notice Disabled (reverts `RenounceDisabled`): hand ownership over with
    /// `transferOwnership` + `acceptOwnership` instead.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    /// @inheritdoc IBatchExecutor
    function scheduleKeeper(address account) external onlyOwner {
        if (account == address(0)) revert ZeroAddress();
        bytes32 id = keeperChange(account);
        emit KeeperScheduled(account, id, _schedule(id));
    }

    /// @inheritdoc IBatchExecutor
    function scheduleCall(address target, bytes4 selector) external onlyOwner {
        _checkTarget(target);
        bytes32 id = callChange(target, selector);
        emit CallScheduled(target, selector, id, _schedule(id));
    }

    /// @inheritdoc IBatchExecutor
    function cancel(bytes32 id) external onlyOwner {
        _cancel(id);
    }

    /// @inheritdoc IBatchExecutor
    function setKeeper(address account, bool allowed) external onlyOwner {
        if (account == address(0)) revert ZeroAddress();
        if (_keepers[account] == allowed) return;
        if (allowed) _consume(keeperChange(account));
        _setKeeper(account, allowed);
    }

    /// @inheritdoc IBatchExecutor
    function setCall(address target, bytes4 selector, bool allowed) external onlyOwner {
        _checkTarget(target);
        if (_calls[target][selector] == allowed) return;
        if (allowed) _consume(callChange(target, selector));
        _setCall(target, selector, allowed);
    }

    /// @inheritdoc IBatchExecutor
    function setGuardian(address newGuardian) external onlyOwner {
        if (newGuardian == address(0)) revert ZeroAddress();
        emit GuardianSet(_guardian, newGuardian);
        _guardian = newGuardian;
    }

    /// @inheritdoc IBatchExecutor
    function pause() external {
        if (msg.sender != _guardian && msg.sender != owner()) revert NotGuardian(msg.sender);
        _pause();
    }

    /// @inheritdoc IBatchExecutor
    function unpause() external onlyOwner {
        _unpause();
    }

    /// @dev The deployment's initial keepers and calls, applied without delay: nobody can have
    /// approved the vault of a contract that does not exist yet.
    function _configure(address[] memory keepers, AllowedCall[] memory calls) internal {
        for (uint256 i; i < keepers.length; ++i) {
            if (keepers[i] == address(0)) revert ZeroAddress();
            if (!_keepers[keepers[i]]) _setKeeper(keepers[i], true);
        }
        for (uint256 i; i < calls.length; ++i) {
            _checkTarget(calls[i].target);
            if (!_calls[calls[i].target][calls[i].selector]) {
                _setCall(calls[i].target, calls[i].selector, true);
            }
        }
    }

    function _setKeeper(address account, bool allowed) private {
        _keepers[account] = allowed;
        emit KeeperSet(account, allowed);
    }

    function _setCall(address target, bytes4 selector, bool allowed) private {
        _calls[target][selector] = allowed;
        if (selector != APPROVE && selector != TRANSFER) {
            if (allowed) ++_entrySelectors[target];
            else --_entrySelectors[target];
        }
        emit CallSet(target, selector, allowed);
    }

    function _checkTarget(address target) private view {
        if (target == address(0)) revert ZeroAddress();
        if (_isForbiddenTarget(target)) revert ForbiddenTarget(target);
    }

    /// @dev The executor itself and its vault: never callable from an interaction.
    function _isForbiddenTarget(address target) internal view virtual returns (bool);
}
