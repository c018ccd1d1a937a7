// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice One token reachable at two addresses over one set of balances (like TUSD and SNX
/// once were: a legacy address forwarding to the current one). The alias is deployed by the
/// token; both addresses' balanceOf, transfer and transferFrom act on the same balances.
/// Test-only.
contract DoubleEntryToken is ERC20 {
    address public immutable alias_;

    error NotAlias(address caller);

    constructor() ERC20("Double", "DBL") {
        alias_ = address(new DoubleEntryAlias(this));
    }

    /// @notice Mints `amount` to `to`. Test-only: anyone may mint.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice The alias's transfer, on behalf of `from` (the alias's caller).
    function aliasTransfer(address from, address to, uint256 amount) external returns (bool) {
        if (msg.sender != alias_) revert NotAlias(msg.sender);
        _transfer(from, to, amount);
        return true;
    }

    /// @notice The alias's transferFrom, spending `spender`'s allowance (the alias's caller).
    function aliasTransferFrom(
        address spender,
        address from,
        address to,
        uint256 amount
    ) external returns (bool) {
        if (msg.sender != alias_) revert NotAlias(msg.sender);
        _spendAllowance(from, spender, amount);
        _transfer(from, to, amount);
        return true;
    }

    /// @notice The alias's approve, for `owner` (the alias's caller).
    function aliasApprove(address owner, address spender, uint256 amount) external returns (bool) {
        if (msg.sender != alias_) revert NotAlias(msg.sender);
        _approve(owner, spender, amount);
        return true;
    }
}

/// @notice The second address of a DoubleEntryToken: forwards everything to it. Test-only.
contract DoubleEntryAlias {
    DoubleEntryToken public immutable token;

    constructor(DoubleEntryToken token_) {
        token = token_;
    }

    function balanceOf(address account) external view returns (uint256) {
        return token.balanceOf(account);
    }

    function allowance(address owner, address spender) external view returns (uint256) {
        return token.allowance(owner, spender);
    }

    function totalSupply() external view returns (uint256) {
        return token.totalSupply();
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        return token.aliasTransfer(msg.sender, to, amount);
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        return token.aliasTransferFrom(msg.sender, from, to, amount);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        return token.aliasApprove(msg.sender, spender, amount);
    }
}
