// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice Forwards any call: stands for an allow-listed interaction target that turns out to
/// be malicious (it tries to reach the vault or the executor on the keeper's behalf). Test-only.
contract CallForwarder {
    error ForwardFailed(bytes reason);

    /// @notice Calls `target` with `data`; reverts with the callee's revert data wrapped.
    function forward(address target, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) revert ForwardFailed(ret);
        return ret;
    }
}
