// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IBatchExecutor} from "../interfaces/IBatchExecutor.sol";

/// @title Executor administration
/// @notice Two-step ownership; the owner manages keepers, interaction targets and the guardian;
/// the guardian (or the owner) can pause settlement, only the owner resumes it. None of these
/// roles can move user funds: that needs a valid intent signed by the user.
abstract contract ExecutorAdmin is IBatchExecutor, Ownable2Step, Pausable {
    address private _guardian;
    mapping(address account => bool) private _keepers;
    mapping(address target => bool) private _targets;

    constructor(address initialOwner, address guardian_) Ownable(initialOwner) {
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
    function isAllowedTarget(address target) public view returns (bool) {
        return _targets[target];
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
    function setKeeper(address account, bool allowed) external onlyOwner {
        if (account == address(0)) revert ZeroAddress();
        _keepers[account] = allowed;
        emit KeeperSet(account, allowed);
    }

    /// @inheritdoc IBatchExecutor
    function setTarget(address target, bool allowed) external onlyOwner {
        if (target == address(0)) revert ZeroAddress();
        if (_isForbiddenTarget(target)) revert ForbiddenTarget(target);
        _targets[target] = allowed;
        emit TargetSet(target, allowed);
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

    /// @dev The executor itself and its vault: never callable from an interaction.
    function _isForbiddenTarget(address target) internal view virtual returns (bool);
}
