// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice An ERC-20 that, once armed, makes a call of the attacker's choice in the middle of
/// every transfer (a hook like ERC-777's), and reverts with HookFailed(reason) if that call fails. Test-only.
contract ReentrantToken is ERC20 {
    address public hookTarget;
    bytes public hookData;
    bool private _inHook;

    /// @notice The hook's call reverted with `reason`.
    error HookFailed(bytes reason);

    constructor() ERC20("Reentrant", "REENT") {}

    /// @notice Mints `amount` to `to`. Test-only: anyone may mint.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the hook: every later transfer calls `target` with `data`.
    function arm(address target, bytes calldata data) external {
        hookTarget = target;
        hookData = data;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (hookTarget == address(0) || _inHook || from == address(0)) return;
        _inHook = true;
        (bool ok, bytes memory reason) = hookTarget.call(hookData);
        _inHook = false;
        if (!ok) revert HookFailed(reason);
    }
}
