// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IAllowanceVaultErrors} from "../../interfaces/IAllowanceVault.sol";
import {IBatchExecutorErrors} from "../../interfaces/IBatchExecutor.sol";

/// @notice A keeper contract that settles, then makes one more call in the same transaction:
/// what uses an allowance the executor granted for the transaction only (ERC-7674 temporary
/// approvals), after settle's own checks have passed. It inherits the executor's and the vault's
/// errors only so that its ABI decodes what it bubbles. Test-only.
contract SettleThenCall is IBatchExecutorErrors, IAllowanceVaultErrors {
    /// @notice Calls `executor` with `settle`, then `target` with `data`; bubbles the first failure.
    function run(address executor, bytes calldata settle, address target, bytes calldata data) external {
        _call(executor, settle);
        _call(target, data);
    }

    function _call(address to, bytes calldata data) private {
        (bool ok, bytes memory reason) = to.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(reason, 0x20), mload(reason))
            }
        }
    }
}
