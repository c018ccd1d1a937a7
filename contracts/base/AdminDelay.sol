// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IBatchExecutor} from "../interfaces/IBatchExecutor.sol";

/// @title The admin delay
/// @notice A change that widens what a settlement can do (a new keeper, a new allow-listed call)
/// must be scheduled, in public, `adminDelay` seconds before it can apply, so users can see it
/// coming and `lockdown` their vault allowances first. Changes that narrow it need no schedule.
/// @dev The delay is fixed at deployment (no function changes it). Zero means grants apply at
/// once: the owner is then fully trusted (local chains and tests; see docs/SECURITY.md).
abstract contract AdminDelay is IBatchExecutor {
    /// @notice The longest delay a deployment may choose (a typo must not lock the owner out
    /// of every future grant).
    uint256 public constant MAX_ADMIN_DELAY = 30 days;

    uint256 private immutable _adminDelay;
    mapping(bytes32 id => uint256 readyAt) private _readyAt;

    constructor(uint256 adminDelay_) {
        if (adminDelay_ > MAX_ADMIN_DELAY) revert AdminDelayTooLong(adminDelay_, MAX_ADMIN_DELAY);
        _adminDelay = adminDelay_;
    }

    /// @inheritdoc IBatchExecutor
    function adminDelay() external view returns (uint256) {
        return _adminDelay;
    }

    /// @inheritdoc IBatchExecutor
    function changeReadyAt(bytes32 id) external view returns (uint256) {
        return _readyAt[id];
    }

    /// @inheritdoc IBatchExecutor
    function keeperChange(address account) public pure returns (bytes32) {
        return keccak256(abi.encodePacked("keeper", account));
    }

    /// @inheritdoc IBatchExecutor
    function callChange(address target, bytes4 selector) public pure returns (bytes32) {
        return keccak256(abi.encodePacked("call", target, selector));
    }

    /// @dev Schedules grant `id`; returns when it may apply.
    function _schedule(bytes32 id) internal returns (uint256 readyAt) {
        if (_readyAt[id] != 0) revert ChangeAlreadyScheduled(id);
        readyAt = block.timestamp + _adminDelay;
        _readyAt[id] = readyAt;
    }

    /// @dev Drops the schedule of grant `id`.
    function _cancel(bytes32 id) internal {
        if (_readyAt[id] == 0) revert ChangeNotScheduled(id);
        delete _readyAt[id];
        emit ChangeCancelled(id);
    }

    /// @dev Uses up the schedule of grant `id`, which must have waited the delay (with a zero
    /// delay, grants need no schedule).
    function _consume(bytes32 id) internal {
        uint256 readyAt = _readyAt[id];
        if (_adminDelay == 0) {
            if (readyAt != 0) delete _readyAt[id];
            return;
        }
        if (readyAt == 0) revert ChangeNotScheduled(id);
        if (block.timestamp < readyAt) revert ChangeNotReady(id, readyAt);
        delete _readyAt[id];
    }
}
