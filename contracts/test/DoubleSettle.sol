// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAllowanceVaultErrors} from "../interfaces/IAllowanceVault.sol";
import {IBatchExecutorErrors} from "../interfaces/IBatchExecutor.sol";

/// @notice A keeper contract that calls the executor twice in one transaction (what a keeper
/// batching settlements on-chain would do), bubbling reverts. It inherits the executor's and the
/// vault's errors only so that its ABI decodes what it bubbles. Test-only.
contract DoubleSettle is IBatchExecutorErrors, IAllowanceVaultErrors {
    /// @notice Calls `executor` with `first`, then with `second`; reverts with the first failure.
    function run(address executor, bytes calldata first, bytes calldata second) external {
        _call(executor, first);
        _call(executor, second);
    }

    function _call(address executor, bytes calldata data) private {
        (bool ok, bytes memory reason) = executor.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(reason, 0x20), mload(reason))
            }
        }
    }
}
