// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The recipient of a Uniswap V2 flash swap that makes a call of the attacker's choice
/// from inside the pair's `swap` (its `uniswapV2Call` callback), then keeps the swap's output.
/// Test-only.
contract FlashSwapCallback {
    error CallbackFailed(bytes reason);

    /// @notice Uniswap V2's flash-swap callback: `data` is abi.encode(target, callData).
    function uniswapV2Call(address, uint256, uint256, bytes calldata data) external {
        (address target, bytes memory callData) = abi.decode(data, (address, bytes));
        (bool ok, bytes memory reason) = target.call(callData);
        if (!ok) revert CallbackFailed(reason);
    }
}
