// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20, ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC1363} from "@openzeppelin/contracts/token/ERC20/extensions/ERC1363.sol";
import {ERC20TemporaryApproval} from "@openzeppelin/contracts/token/ERC20/extensions/draft-ERC20TemporaryApproval.sol";
import {Multicall} from "@openzeppelin/contracts/utils/Multicall.sol";

/// @notice An ERC-20 with every side door real tokens have for spending or granting allowances
/// under another name: OpenZeppelin Multicall, ERC-1363 `transferFromAndCall`, ERC-7674
/// `temporaryApprove`, LINK-style `increaseApproval`, ERC-777-style `authorizeOperator` with
/// `operatorTransfer`, and `burn(address,uint256)` spending the caller's allowance. Each is what
/// an interaction could reach on a token the executor allow-lists. Test-only.
contract LooseToken is ERC20, ERC1363, ERC20TemporaryApproval, Multicall {
    mapping(address holder => mapping(address operator => bool)) public isOperatorFor;

    error NotOperator(address operator, address holder);

    constructor() ERC20("Loose", "LOOSE") {}

    /// @notice Mints `amount` to `to`. Test-only: anyone may mint.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice LINK's name for increaseAllowance.
    function increaseApproval(address spender, uint256 added) external returns (bool) {
        _approve(msg.sender, spender, allowance(msg.sender, spender) + added);
        return true;
    }

    /// @notice ERC-777: lets `operator` move all of the caller's tokens, with no amount limit.
    function authorizeOperator(address operator) external {
        isOperatorFor[msg.sender][operator] = true;
    }

    /// @notice An operator's transfer of `holder`'s tokens (ERC-777 operatorSend, simplified).
    function operatorTransfer(address holder, address to, uint256 amount) external {
        if (!isOperatorFor[holder][msg.sender]) revert NotOperator(msg.sender, holder);
        _transfer(holder, to, amount);
    }

    /// @notice Burns `amount` of `from`'s tokens out of the caller's allowance (the
    /// `burn(address,uint256)` some tokens have beside burnFrom).
    function burn(address from, uint256 amount) external {
        _spendAllowance(from, msg.sender, amount);
        _burn(from, amount);
    }

    function allowance(
        address owner,
        address spender
    ) public view override(IERC20, ERC20, ERC20TemporaryApproval) returns (uint256) {
        return super.allowance(owner, spender);
    }

    function _spendAllowance(
        address owner,
        address spender,
        uint256 value
    ) internal override(ERC20, ERC20TemporaryApproval) {
        super._spendAllowance(owner, spender, value);
    }
}
